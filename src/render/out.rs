//! Writing lines to stdout/stderr where a closed pipe (`socklab ... | head`)
//! ends the program quietly with success instead of a panic.

use std::io::{self, Write};

/// Write `text` plus a newline to stdout and flush; exit 0 on a broken pipe.
pub fn line(text: &str) {
    let mut o = io::stdout().lock();
    let r = o
        .write_all(text.as_bytes())
        .and_then(|_| o.write_all(b"\n"))
        .and_then(|_| o.flush());
    exit_if_broken(r);
}

/// Write raw bytes to stdout and flush; exit 0 on a broken pipe.
pub fn raw(bytes: &[u8]) {
    let mut o = io::stdout().lock();
    let r = o.write_all(bytes).and_then(|_| o.flush());
    exit_if_broken(r);
}

/// Write `text` plus a newline to stderr (errors there are ignored).
pub fn note(text: &str) {
    let mut e = io::stderr().lock();
    let _ = e.write_all(text.as_bytes());
    let _ = e.write_all(b"\n");
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
