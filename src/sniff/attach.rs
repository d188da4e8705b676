//! `--sniff` on the protocol commands: capture `lo` while the command runs
//! and print, in time order, the socket calls the program made, the packets
//! they caused (with the narration), and the program's own output.
//!
//! Three sources feed one timeline: the background capture (kernel
//! timestamps), the socket-call observer (`proto::calls`), and the
//! program's output lines (`render::out::redirect`). The printer thread is
//! the one packet [`Driver`], merging the other two through its [`Inbox`]:
//! it prints everything older than a short horizon, so the order is right
//! even though the capture thread lags behind the program.

use crate::wire::decode_as::DecodeTable;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::driver::{Driver, DriverError, Inbox, Stop};
use crate::capture::background::BackgroundCapture;
use crate::capture::live::LiveConfig;
use crate::capture::privs;
use crate::capture::source::Background;
use crate::filter::Filter;
use crate::proto::calls::{self, Call, Observer};
use crate::render::color::{self, ColorWhen};
use crate::render::out::{self, WriteError};
use crate::render::packet::{PrintOptions, TimelineItem};
use crate::sniff::Pipeline;

/// How long an item waits before it is printed, so that packets stamped
/// earlier (but delivered later by the capture thread) go first.
const HORIZON: Duration = Duration::from_millis(150);
/// How often the printer wakes up.
const TICK: Duration = Duration::from_millis(40);

/// What `--sniff` should watch.
#[derive(Debug, Clone)]
pub struct Watch {
    /// Capture only this port (the server's).
    pub port: u16,
    /// The command binds this port itself (keep CAP_NET_BIND_SERVICE if < 1024).
    pub binds: bool,
    /// Hex dump of each frame.
    pub hex: bool,
    /// The course default port of the protocol spoken (10009, 10000, 5000).
    pub course_port: Option<u16>,
    /// `-w FILE` (and `--nano`): also save the packets shown.
    pub write: Option<(PathBuf, bool)>,
    /// `--decode` rules.
    pub decode: DecodeTable,
    /// `--color`.
    pub color: ColorWhen,
}

struct CallsToInbox(Inbox);

impl Observer for CallsToInbox {
    fn call(&self, c: Call) {
        self.0.push_at(
            c.at,
            TimelineItem::Call(format!("{}: {}", c.side.name(), c.text)),
        );
    }
}

/// Run `f` with the capture attached when `watch` is given; otherwise just run it.
pub fn run<T>(watch: Option<Watch>, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let Some(w) = watch else {
        return f();
    };
    let filter = Filter::parse(&format!("port {}", w.port))?;
    let mut cfg = LiveConfig::new("lo");
    // Only this port's packets leave the kernel.
    cfg.kernel_filter = filter
        .kernel_program(crate::capture::live::link_type_of("lo"))?
        .program()
        .map(<[_]>::to_vec);
    let cap = BackgroundCapture::start(&cfg)?;
    // Give up the capture privileges, unless a privileged port is still to be bound.
    let dropped = if w.binds && w.port < 1024 {
        "privileges kept to bind a port below 1024".to_string()
    } else {
        match privs::drop_privileges()? {
            privs::Dropped::ToUser(name, uid, _) => {
                format!("privileges dropped to {name} (uid {uid})")
            }
            privs::Dropped::Capabilities => "capabilities cleared".into(),
        }
    };
    let inbox = Inbox::new();
    let done = Arc::new(AtomicBool::new(false));
    let opts = PrintOptions {
        color: color::stdout_enabled(w.color),
        hex: w.hex,
        ..PrintOptions::default()
    };
    // What this command knows the port speaks, plus --decode: used to
    // decode and recorded in a -w pcapng so that replay decodes the same.
    let mut known = DecodeTable::new();
    if let Some(cp) = w.course_port {
        known.speaks(w.port, cp);
    }
    known.extend(&w.decode);
    let pipe = Pipeline::new(filter, opts).decode(&known);
    // The -w file is created after dropping privileges, so it belongs to the user.
    let mut driver = Driver::new(Background::new(cap), pipe)
        .stop(Stop::Flag(Arc::clone(&done)))
        .live(TICK)
        .merge(inbox.clone(), HORIZON);
    if let Some((path, nano)) = &w.write {
        driver = driver
            .save(path, *nano)
            .save_details(Some("lo".into()), None)
            .save_comment((!known.is_empty()).then(|| known.to_comment()))
            .create_file()?;
    }
    out::note(&format!(
        "socklab --sniff: capturing lo, port {}; socket calls, packets and output in time order ({dropped}){}",
        w.port,
        match &w.write {
            Some((p, _)) => format!("; saving them to {}", p.display()),
            None => String::new(),
        }
    ));

    calls::install(Arc::new(CallsToInbox(inbox.clone())));
    let out_inbox = inbox.clone();
    out::redirect(Some(Arc::new(move |at, bytes| {
        out_inbox.push_at(at, TimelineItem::Rendered(bytes));
    })));

    let port = w.port;
    let printer = std::thread::spawn(move || print(driver, port));

    let result = f();

    calls::uninstall();
    // Let the last packets (a FIN, an RST) arrive before the capture stops.
    std::thread::sleep(Duration::from_millis(100));
    done.store(true, Ordering::SeqCst);
    let printed = printer.join();
    out::redirect(None);
    let printed = match printed {
        Ok(r) => r,
        Err(_) => Err(anyhow::anyhow!(
            "socklab --sniff: the capture printer failed"
        )),
    };
    // The command's own failure first; then the capture's (a full disk, a closed pipe).
    let value = result?;
    printed?;
    Ok(value)
}

/// Run the capture to its end, then say what it saw.
fn print(driver: Driver<Background>, port: u16) -> Result<()> {
    // A closed pipe or a full disk also stops the command (out::Stdout
    // records it, and the command's loops look at stop::requested()).
    let end = driver.run(out::Stdout(io::stdout()));
    let saved = match &end.saved {
        Some(s) => format!(
            "; {} written to {} ({})",
            s.packets,
            s.path.display(),
            super::describe(&s.options)
        ),
        None => String::new(),
    };
    if !matches!(end.error, Some(DriverError::Output(_))) {
        let mut o = io::stdout().lock();
        writeln!(
            o,
            "--sniff: {} on port {port}, {} dropped by the kernel{saved}",
            crate::plural::count(end.shown, "packet"),
            end.kernel.unwrap_or_default().dropped
        )
        .and_then(|_| o.flush())
        .map_err(WriteError::stdout)?;
    }
    end.result()?;
    Ok(())
}
