//! `socklab trace -- CMD`: a program's socket calls, the packets they
//! cause and socklab's narration on one timeline.
//!
//! Data flows one way: [`tracer`] (ptrace + [`seccomp`] filter, [`spin`]
//! between stops, on the thread that started the program) -> [`decode`]
//! (with [`syscalls`], [`names`], [`mem`], [`addr`], [`sockets`]) ->
//! [`event`]s on a channel -> [`session`] (its own thread, on the one
//! packet loop [`crate::sniff::driver`]: holds the capture's packets until
//! the calls that caused them are in, ties packets to calls with [`link`]
//! and [`linkable`], prints with [`render`], counts for [`summary`]). Only
//! x86_64 Linux (5.6 or later) is supported.
//!
//! Privileges: with CAP_NET_RAW the host's interface is captured; without
//! it the program runs in a private user + network namespace (as the lab
//! does) where capturing its `lo` is allowed; where that is refused, calls
//! are traced without packets. Under sudo the program runs as the user.

pub mod addr;
pub mod decode;
pub mod epoll;
pub mod event;
pub mod link;
pub mod linkable;
pub mod mem;
pub mod names;
pub mod oneshot;
pub mod procs;
pub mod render;
pub mod seccomp;
pub mod session;
pub mod sockets;
pub mod spin;
pub mod summary;
pub mod syscalls;
pub mod tracer;
pub mod watermark;

use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::capture::background::BackgroundCapture;
use crate::capture::live::{self, LiveConfig};
use crate::filter::Filter;
use crate::render::out;
use crate::render::packet::PrintOptions;
use crate::sniff::Pipeline;

use event::TraceEvent;
use session::{Printer, Session, Show};
use tracer::{Mode, RunAs, Tracer};

/// What `socklab trace` was asked to do (validated).
#[derive(Debug, Clone)]
pub struct TraceConfig {
    /// The program and its arguments (empty with `pid`).
    pub command: Vec<String>,
    /// Attach to this process instead.
    pub pid: Option<i32>,
    /// Peers to start first (shell command lines).
    pub with: Vec<String>,
    /// `-c`: per-socket table.
    pub summary: bool,
    /// `-w FILE`.
    pub write: Option<PathBuf>,
    /// `-T`.
    pub timing: bool,
    /// `-s N`: payload bytes shown per call.
    pub snap: usize,
    /// `--inline-output`.
    pub inline_output: bool,
    /// `--all-packets`.
    pub all_packets: bool,
    /// `--dns`.
    pub dns: bool,
    /// `--filter`.
    pub filter: Option<Filter>,
    /// `-i`.
    pub iface: String,
    /// `--no-packets`.
    pub no_packets: bool,
    /// `--follow N`: that TCP conversation at the end instead of its packets.
    pub follow: Option<u32>,
    /// How packets print (`-X`, `-v`, `--json`, colour).
    pub print: PrintOptions,
    /// `--decode PORT=PROTO`: for the packets and the calls' bytes.
    pub decode: crate::wire::decode_as::DecodeTable,
    /// Recognise course protocols on packets by conversation (`--no-heuristics` off).
    pub heuristics: bool,
}

/// Where packets come from.
enum Packets {
    /// Capturing this interface on the host, on the socket that showed
    /// capturing is allowed if one was opened to learn it (so at most one
    /// packet socket is ever closed).
    Host(String, Option<OwnedFd>),
    /// Capturing `lo` of the private namespace socklab entered.
    Private,
    /// No capture; the reason was said.
    None,
}

/// Size of trace's capture ring: 32 blocks. A block is handed over when
/// full or 10 ms after its first packet, so at a trickle of packets this
/// rides out a capture thread kept off the CPU for 320 ms (a loaded
/// machine) without a drop.
const TRACE_RING: usize = 16 << 20;

/// How the program's status maps to socklab's.
fn exit_code(status: i32) -> ExitCode {
    ExitCode::from(status.clamp(0, 255) as u8)
}

/// The invoking user under sudo (`SUDO_UID`/`SUDO_GID`), when root.
fn sudo_user() -> Option<RunAs> {
    if !nix::unistd::Uid::effective().is_root() {
        return None;
    }
    let uid = std::env::var("SUDO_UID").ok()?.parse::<u32>().ok()?;
    let gid = std::env::var("SUDO_GID").ok()?.parse::<u32>().ok()?;
    (uid != 0).then_some(RunAs { uid, gid })
}

/// Decide where packets come from; may enter a namespace, so this runs
/// while the process still has a single thread.
fn plan(cfg: &TraceConfig) -> Packets {
    if cfg.no_packets {
        return Packets::None;
    }
    // Without a socket if the capability says enough: closing a packet
    // socket costs an RCU grace period (10-20 ms) on the way out.
    if crate::capture::privs::net_raw_here() {
        return Packets::Host(cfg.iface.clone(), None);
    }
    if let Some(probe) = live::probe() {
        return Packets::Host(cfg.iface.clone(), Some(probe));
    }
    if cfg.pid.is_some() {
        out::note(
            "socklab trace: no CAP_NET_RAW, so no packets (a running process cannot be moved into a private network); \
             for packets too: sudo socklab trace -p PID",
        );
        return Packets::None;
    }
    match crate::lab::netns::enter_private_net() {
        Ok(()) => {
            out::note(
                "socklab trace: no CAP_NET_RAW here, so the program runs in a private network namespace \
                 (its own lo, no outside network; start its peers with --with 'CMD')",
            );
            Packets::Private
        }
        Err(e) => {
            out::note(&format!(
                "socklab trace: socket calls only, no packets: no CAP_NET_RAW, and {e}. \
                 For packets: sudo socklab trace ..., or once `sudo setcap cap_net_raw+ep $(which socklab)`, \
                 or enable user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
            ));
            Packets::None
        }
    }
}

/// Run `socklab trace`.
pub fn run(cfg: &TraceConfig) -> Result<ExitCode> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        bail!(
            "socklab trace works only on x86_64 Linux (its seccomp filter and system call \
             tables are x86_64's); use strace -f -e trace=network here"
        );
    }
    let (live, probe) = match plan(cfg) {
        Packets::Host(i, probe) => (Some(i), probe),
        Packets::Private => (Some("lo".to_string()), None),
        Packets::None => (None, None),
    };
    let live = live.map(|iface| {
        let mut lc = LiveConfig::new(&iface);
        // A short poll: the capture's last drain (one idle poll) is part
        // of every traced run's time.
        lc.poll = Duration::from_millis(10);
        // A ring: the kernel hands packets over a block at a time (at the
        // latest after the ring's block timeout, 10 ms, well within the
        // printer's horizon), so the capture thread wakes once per block,
        // not once per packet, and reads with no system call per packet.
        lc.ring = Some(TRACE_RING);
        lc
    });
    if cfg.write.is_some() && live.is_none() {
        bail!("-w needs packets, and this run captures none (see above)");
    }
    if let (Some(n), None) = (cfg.follow, &live) {
        bail!("--follow {n} needs packets, and this run captures none (see above)");
    }
    let mut pipe = Pipeline::new(cfg.filter.clone().unwrap_or_else(Filter::all), cfg.print)
        .decode(&cfg.decode)
        .heuristics(cfg.heuristics);
    if let Some(n) = cfg.follow {
        pipe = pipe.follow_only(n);
    }
    if let Some(lc) = &live {
        live::check_iface(&lc.iface).with_context(|| format!("cannot capture on {}", lc.iface))?;
    }
    let iface = live.as_ref().map(|l| l.iface.clone()).unwrap_or_default();
    let show = Show {
        look: render::Look {
            color: cfg.print.color,
            timing: cfg.timing,
            hex: cfg.print.hex,
        },
        json: cfg.print.json,
        all_packets: cfg.all_packets,
        dns: cfg.dns,
        summary: cfg.summary,
    };
    let (tx, rx) = mpsc::channel::<TraceEvent>();
    // The capture opens on its own thread at the program's first socket
    // call, which waits until it is ready (Tracer::gate): a program that
    // makes none costs no packet socket (whose close alone takes 10-20 ms).
    // With --all-packets or -p every packet counts: it opens at once.
    let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), String>>(1);
    let (go_tx, go_rx) = mpsc::sync_channel::<()>(1);
    let watermark = watermark::Watermark::new();
    let caught_up = watermark.clone();

    // Threads started from here on do not take SIGINT/SIGTERM: the tracer
    // thread (this one) must, to pass them on to the program.
    let blocked = tracer::block_signals();
    let cap = match live {
        Some(lc) => Some(BackgroundCapture::deferred(lc, probe, go_rx, ready_tx)?),
        None => None,
    };
    let go = if cfg.all_packets || cfg.pid.is_some() {
        let _ = go_tx.send(());
        None
    } else {
        Some(go_tx)
    };
    let gated = cap.is_some();
    // The packet loop, the session as its merger; the -w file is created here.
    let session = Session::new(show, gated, rx, caught_up);
    // Dropped once the program and its output readers are done (wakes a
    // calls-only printer at once).
    let (wake_tx, wake_rx) = mpsc::channel::<()>();
    let work = Printer::new(session, pipe, cap, cfg.write.as_deref(), &iface, wake_rx)?;
    let printer = std::thread::Builder::new()
        .name("socklab-trace-print".into())
        .spawn(move || -> Result<_> { work.run().context("writing the trace") })
        .context("cannot start the printer thread")?;
    let mut readers = Vec::new();
    let stdio = if cfg.inline_output {
        let (o, e) = (pipe_pair()?, pipe_pair()?);
        for (rd, stderr) in [(o.0, false), (e.0, true)] {
            let tx = tx.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(std::fs::File::from(rd)).lines() {
                    let Ok(line) = line else { break };
                    let ts = crate::capture::Timestamp::now();
                    let _ = tx.send(TraceEvent::Output { ts, line, stderr });
                }
            }));
        }
        Some((o.1, e.1))
    } else {
        None
    };
    drop(blocked);
    tracer::catch_signals()?;

    let mode = if cfg.pid.is_some() {
        Mode::EverySyscall
    } else {
        Mode::Seccomp
    };
    let mut t = Tracer::new(mode, tx, cfg.snap, watermark);
    if gated {
        t.gate(ready_rx, go);
    }
    t.decode_as(&cfg.decode);
    let run_as = sudo_user();
    let stdio_fds = stdio.as_ref().map(|(o, e)| {
        use std::os::fd::AsRawFd;
        (o.as_raw_fd(), e.as_raw_fd())
    });
    let started = (|| -> Result<()> {
        if let Some(pid) = cfg.pid {
            t.attach(nix::unistd::Pid::from_raw(pid))?;
            out::note(&format!(
                "socklab trace: attached to process {pid}; every system call stops it, so it runs slower \
                 than a program started by socklab trace; Ctrl-C detaches and leaves it running"
            ));
            return Ok(());
        }
        let mut peers = Vec::new();
        for w in &cfg.with {
            let argv = vec!["/bin/sh".to_string(), "-c".into(), format!("exec {w}")];
            peers.push(t.spawn(&argv, run_as, false, stdio_fds)?);
        }
        if !peers.is_empty() {
            wait_ready(&mut t, &peers);
        }
        t.spawn(&cfg.command, run_as, true, stdio_fds)?;
        Ok(())
    })();
    if let Err(e) = started {
        t.kill_all();
        drop(t);
        drop(stdio);
        drop(wake_tx);
        let _ = printer.join();
        return Err(e);
    }
    t.run();
    let stops = t.stops;
    let one_stop = t.oneshot.done;
    let gate_failed = t.gate_failed.take();
    let status = t.main_status();
    let detached = cfg.pid.is_some();
    drop(t);
    drop(stdio);
    for r in readers {
        let _ = r.join();
    }
    drop(wake_tx);
    let session::Printed {
        session,
        saved,
        dropped,
        unfollowed,
    } = match printer.join() {
        Ok(r) => r?,
        Err(_) => bail!("the printer thread failed"),
    };
    if let Some(e) = gate_failed {
        bail!("{e}");
    }
    use crate::plural::count;
    let mut msg = format!(
        "socklab trace: {}, {} ({} tied to the call that caused them), {}",
        count(session.calls_shown, "call"),
        count(session.packets_shown, "packet"),
        session.packets_linked,
        count(stops, "ptrace stop")
    );
    if one_stop > 0 {
        msg.push_str(&format!(
            " ({} done in one stop by socklab)",
            count(one_stop, "call")
        ));
    }
    if dropped > 0 {
        msg.push_str(&format!(
            ", {} dropped by the kernel",
            count(dropped, "packet")
        ));
    }
    msg.push_str(&saved);
    if detached && status.is_none() {
        msg.push_str("; detached, the process goes on");
    } else if let Some(s) = status {
        match s {
            procs::Ended::Code(c) => msg.push_str(&format!("; the program exited with status {c}")),
            procs::Ended::Signal(_) => msg.push_str(&format!(
                "; the program was killed by a signal (status {})",
                s.status()
            )),
        }
    }
    out::note(&msg);
    if let Some((n, seen)) = cfg.follow.zip(unfollowed) {
        bail!(
            "--follow {n}: the program had no TCP conversation #{n} ({}); its conversations \
             are numbered in the order they start, from 1, as the -c table shows them",
            match seen {
                0 => "it had none at all".to_string(),
                k => format!("it had {k}"),
            }
        );
    }
    Ok(exit_code(status.map(|s| s.status()).unwrap_or(0)))
}

/// Wait (at most 5 s) until every `--with` peer listens (TCP) or has
/// bound a UDP socket, so the program does not connect too early.
fn wait_ready(t: &mut Tracer, peers: &[nix::unistd::Pid]) {
    let mut waiting: Vec<i32> = peers.iter().map(|p| p.as_raw()).collect();
    t.run_until(
        |calls| {
            if let Some(c) = calls.last() {
                let ready = c.errno.is_none()
                    && (c.call == "listen"
                        || (c.call == "bind"
                            && c.socket.as_ref().is_some_and(|s| s.proto() == "UDP")));
                if ready {
                    waiting.retain(|p| *p != c.pid);
                }
            }
            waiting.is_empty()
        },
        Duration::from_secs(5),
    );
}

fn pipe_pair() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .context("cannot make a pipe for --inline-output")
}
