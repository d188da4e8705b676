//! `--sniff` on the protocol commands: capture `lo` while the command runs
//! and print, in time order, the socket calls the program made, the packets
//! they caused (with the narration), and the program's own output.
//!
//! Three sources feed one [`Timeline`]: the background capture (kernel
//! timestamps), the socket-call observer (`proto::calls`), and the
//! program's output lines (`render::out::redirect`). A printer thread
//! flushes everything older than a short horizon, so the order is right
//! even though the capture thread lags behind the program.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;

use crate::capture::background::BackgroundCapture;
use crate::capture::file::{WriteOptions, Writer};
use crate::capture::live::LiveConfig;
use crate::capture::privs;
use crate::capture::Timestamp;
use crate::filter::Filter;
use crate::proto::calls::{self, Call, Observer};
use crate::render::color::{self, ColorWhen};
use crate::render::out;
use crate::render::packet::{PrintOptions, Timeline, TimelineItem};
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
}

fn ts(t: SystemTime) -> Timestamp {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::new(d.as_secs() as i64, d.subsec_nanos())
}

type Inbox = Arc<Mutex<Vec<(Timestamp, TimelineItem)>>>;

struct CallsToInbox(Inbox);

impl Observer for CallsToInbox {
    fn call(&self, c: Call) {
        if let Ok(mut q) = self.0.lock() {
            q.push((
                ts(c.at),
                TimelineItem::Call(format!("{}: {}", c.side.name(), c.text)),
            ));
        }
    }
}

/// Run `f` with the capture attached when `watch` is given; otherwise just run it.
pub fn run<T>(watch: Option<Watch>, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let Some(w) = watch else {
        return f();
    };
    let filter = Filter::parse(&format!("port {}", w.port))?;
    let cap = BackgroundCapture::start(&LiveConfig::new("lo"))?;
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
    // Created after dropping privileges, so the file belongs to the user.
    let save = match &w.write {
        Some((path, nano)) => {
            let mut o = WriteOptions::new(path, cap.link_type(), *nano);
            o.iface = Some("lo".into());
            Some((Writer::create_with(path, &o)?, path.clone()))
        }
        None => None,
    };
    out::note(&format!(
        "socklab --sniff: capturing lo, port {}; socket calls, packets and output in time order ({dropped}){}",
        w.port,
        match &save {
            Some((_, p)) => format!("; saving them to {}", p.display()),
            None => String::new(),
        }
    ));

    let inbox: Inbox = Arc::new(Mutex::new(Vec::new()));
    calls::install(Arc::new(CallsToInbox(Arc::clone(&inbox))));
    let out_inbox = Arc::clone(&inbox);
    out::redirect(Some(Arc::new(move |at, bytes| {
        if let Ok(mut q) = out_inbox.lock() {
            q.push((ts(at), TimelineItem::Rendered(bytes)));
        }
    })));

    let done = Arc::new(AtomicBool::new(false));
    let opts = PrintOptions {
        color: color::stdout_enabled(ColorWhen::Auto),
        hex: w.hex,
        ..PrintOptions::default()
    };
    let printer = {
        let (inbox, done) = (Arc::clone(&inbox), Arc::clone(&done));
        let mut pipe = Pipeline::new(filter, opts);
        if let Some(cp) = w.course_port {
            pipe = pipe.speaks(w.port, cp);
        }
        std::thread::spawn(move || print_loop(cap, pipe, save, inbox, done))
    };

    let result = f();

    calls::uninstall();
    // Let the last packets (a FIN, an RST) arrive before the capture stops.
    std::thread::sleep(Duration::from_millis(100));
    done.store(true, Ordering::SeqCst);
    let summary = printer.join();
    out::redirect(None);
    match summary {
        Ok(Ok(())) => {}
        Ok(Err(e)) => out::note(&format!("socklab --sniff: {e}")),
        Err(_) => out::note("socklab --sniff: the capture printer failed"),
    }
    result
}

fn print_loop(
    cap: BackgroundCapture,
    mut pipe: Pipeline,
    mut save: Option<(Writer, PathBuf)>,
    inbox: Inbox,
    done: Arc<AtomicBool>,
) -> Result<()> {
    let mut timeline = Timeline::new();
    let stdout = io::stdout();
    let take = |timeline: &mut Timeline,
                pipe: &mut Pipeline,
                save: &mut Option<(Writer, PathBuf)>,
                p: &crate::capture::OwnedPacket|
     -> Result<()> {
        // Each shown packet's text is kept by the timeline until it is
        // printed, so it gets its own buffer (handed over, not copied).
        let mut buf = Vec::with_capacity(512);
        if let Ok(true) = pipe.handle(&mut buf, &p.as_packet()) {
            timeline.push(p.ts, TimelineItem::Rendered(buf));
            if let Some((w, _)) = save {
                w.write(&p.as_packet())?;
            }
        }
        Ok(())
    };
    while !done.load(Ordering::SeqCst) {
        while let Some(p) = cap.try_next() {
            take(&mut timeline, &mut pipe, &mut save, &p)?;
        }
        if let Some((w, _)) = &mut save {
            w.flush()?;
        }
        drain(&inbox, &mut timeline);
        let horizon = ts(SystemTime::now() - HORIZON);
        let mut w = stdout.lock();
        out::exit_if_broken(
            timeline
                .flush_before(&mut w, pipe.printer(), horizon)
                .and_then(|_| w.flush()),
        );
        drop(w);
        std::thread::sleep(TICK);
    }
    let (rest, stats) = cap.stop()?;
    for p in &rest {
        take(&mut timeline, &mut pipe, &mut save, p)?;
    }
    let saved = match save {
        Some((w, path)) => {
            let (n, o) = (w.written(), w.options().clone());
            w.finish()?;
            format!(
                "; {n} written to {} ({})",
                path.display(),
                super::describe(&o)
            )
        }
        None => String::new(),
    };
    drain(&inbox, &mut timeline);
    let mut w = stdout.lock();
    out::exit_if_broken(
        timeline
            .flush_all(&mut w, pipe.printer())
            .and_then(|_| pipe.write_summary(&mut w))
            .and_then(|_| {
                writeln!(
                    w,
                    "--sniff: {} packets on port, {} dropped by the kernel{saved}",
                    pipe.shown, stats.dropped
                )
            })
            .and_then(|_| w.flush()),
    );
    Ok(())
}

fn drain(inbox: &Inbox, timeline: &mut Timeline) {
    let items = inbox
        .lock()
        .map(|mut q| std::mem::take(&mut *q))
        .unwrap_or_default();
    for (t, item) in items {
        timeline.push(t, item);
    }
}
