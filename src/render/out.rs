//! Writing lines to stdout/stderr where a closed pipe (`socklab ... | head`)
//! ends the program quietly with success instead of a panic.
//!
//! While `--sniff` runs, [`redirect`] sends every line (stdout and stderr)
//! to a sink with its wall-clock time instead, so the program's own output
//! can be merged in time order with the packets it caused.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// Receives redirected output: when it was written, and the bytes (newline included).
pub type Sink = Arc<dyn Fn(SystemTime, Vec<u8>) + Send + Sync>;

static REDIRECTED: AtomicBool = AtomicBool::new(false);
static SINK: OnceLock<Mutex<Option<Sink>>> = OnceLock::new();

fn sink_slot() -> &'static Mutex<Option<Sink>> {
    SINK.get_or_init(|| Mutex::new(None))
}

/// Send all output to `sink` (or back to the terminal with `None`).
pub fn redirect(sink: Option<Sink>) {
    if let Ok(mut s) = sink_slot().lock() {
        REDIRECTED.store(sink.is_some(), Ordering::SeqCst);
        *s = sink;
    }
}

/// Hand `bytes` to the sink if output is redirected; true if it was.
fn redirected(bytes: &[u8]) -> bool {
    if !REDIRECTED.load(Ordering::Relaxed) {
        return false;
    }
    let sink = sink_slot().lock().ok().and_then(|s| s.clone());
    match sink {
        Some(f) => {
            f(SystemTime::now(), bytes.to_vec());
            true
        }
        None => false,
    }
}

/// Write `text` plus a newline to stdout and flush; exit 0 on a broken pipe.
pub fn line(text: &str) {
    let mut buf = Vec::with_capacity(text.len() + 1);
    buf.extend_from_slice(text.as_bytes());
    buf.push(b'\n');
    raw(&buf);
}

/// Write raw bytes to stdout and flush; exit 0 on a broken pipe.
pub fn raw(bytes: &[u8]) {
    if redirected(bytes) {
        return;
    }
    let mut o = io::stdout().lock();
    let r = o.write_all(bytes).and_then(|_| o.flush());
    exit_if_broken(r);
}

/// Write `text` plus a newline to stderr (errors there are ignored).
pub fn note(text: &str) {
    let mut buf = Vec::with_capacity(text.len() + 1);
    buf.extend_from_slice(text.as_bytes());
    buf.push(b'\n');
    if redirected(&buf) {
        return;
    }
    let _ = io::stderr().lock().write_all(&buf);
}

/// Exit with success if `r` failed because the reader went away.
pub fn exit_if_broken(r: io::Result<()>) {
    if let Err(e) = r {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// `line!("...", args)`: formatted [`line`].
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => { $crate::render::out::line(&format!($($t)*)) };
}

/// `noteln!("...", args)`: formatted [`note`] to stderr.
#[macro_export]
macro_rules! noteln {
    ($($t:tt)*) => { $crate::render::out::note(&format!($($t)*)) };
}
