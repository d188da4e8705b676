//! The ptrace loop: start the program (and `--with` peers) under ptrace
//! with the seccomp filter, follow every fork, vfork, clone and thread,
//! decode each socket call at its entry and exit stops, pass signals on,
//! and report everything as [`TraceEvent`]s on a channel.
//!
//! Rules: every ptrace request must come from the thread that started the
//! tracees, so [`Tracer::run`] runs on the thread that called
//! [`Tracer::spawn`]. Tracees are set up with `PTRACE_O_EXITKILL`: if
//! socklab dies, they die too, and no process is left behind.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::{self, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use thiserror::Error;

use crate::capture::Timestamp;

use super::decode::{Decoder, Entry};
use super::event::{CallEvent, ProcKind, TraceEvent};
use super::oneshot::{OneShot, Outcome};
use super::procs::{self, Ended, Root, Table};
use super::seccomp;
use super::spin::Spin;
use super::syscalls::{Sys, When, TABLE};
use super::watermark::Watermark;

/// Why tracing could not start or go on.
#[derive(Debug, Error)]
pub enum TraceError {
    /// The command line is not usable.
    #[error("cannot run {cmd:?}: {why}")]
    Command {
        /// The command.
        cmd: String,
        /// What was wrong.
        why: String,
    },
    /// A system call socklab needs failed.
    #[error("{what} failed: {err}")]
    Os {
        /// Which step.
        what: &'static str,
        /// The OS error, described.
        err: String,
    },
}

fn os(what: &'static str, e: Errno) -> TraceError {
    TraceError::Os {
        what,
        err: crate::error::describe_io(&std::io::Error::from(e)),
    }
}

/// How the tracees are stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The seccomp filter stops only the socket calls (started programs).
    Seccomp,
    /// Stop at every call (`-p PID`: a filter cannot be added from outside).
    EverySyscall,
}

/// `PTRACE_EVENT_STOP` (not in libc): the stops of a seized tracee.
const PTRACE_EVENT_STOP: i32 = 128;

/// Signals socklab got (Ctrl-C, SIGTERM), counted by the handler.
static SIGNALS: AtomicUsize = AtomicUsize::new(0);
static LAST_SIGNAL: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::SeqCst);
    LAST_SIGNAL.store(sig as usize, Ordering::SeqCst);
}

/// Catch SIGINT and SIGTERM without `SA_RESTART`, so that a `waitpid`
/// in the tracer thread returns `EINTR` and the loop can pass the signal
/// on. Other threads must block these signals (see [`block_signals`]).
pub fn catch_signals() -> Result<(), TraceError> {
    let act = signal::SigAction::new(
        signal::SigHandler::Handler(on_signal),
        signal::SaFlags::empty(),
        signal::SigSet::empty(),
    );
    for s in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only touches atomics (async-signal-safe).
        unsafe { signal::sigaction(s, &act) }.map_err(|e| os("sigaction", e))?;
    }
    Ok(())
}

/// Block SIGINT and SIGTERM in the calling thread (and the threads it
/// starts after this); returns a guard that unblocks them when dropped.
pub fn block_signals() -> SignalsBlocked {
    let mut set = signal::SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    let _ = signal::pthread_sigmask(signal::SigmaskHow::SIG_BLOCK, Some(&set), None);
    SignalsBlocked(set)
}

/// While alive, SIGINT and SIGTERM are blocked in this thread.
#[derive(Debug)]
pub struct SignalsBlocked(signal::SigSet);

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        let _ = signal::pthread_sigmask(signal::SigmaskHow::SIG_UNBLOCK, Some(&self.0), None);
    }
}

/// Who the started program runs as (under sudo: the invoking user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// A thread adding the full filter: what to put back at its exit stop.
struct Injecting {
    regs: libc::user_regs_struct,
    at: u64,
    saved: Vec<u8>,
}

/// Everything prepared before `fork`, so the child does not allocate.
struct Prepared {
    argv: Vec<CString>,
    ptrs: Vec<*const libc::c_char>,
    groups: Vec<libc::gid_t>,
}

/// The tracer: its tracees, the decoder, and where events go.
pub struct Tracer {
    mode: Mode,
    /// The full filter, added to a process at its first stop.
    filter: Vec<libc::sock_filter>,
    /// The filter a program starts with (`seccomp::first_program`).
    first_filter: Vec<libc::sock_filter>,
    /// Processes (thread group ids) that have the full filter.
    full: std::collections::HashSet<i32>,
    /// Threads running the `seccomp` call that adds it.
    injecting: std::collections::HashMap<Pid, Injecting>,
    table: Table,
    decoder: Decoder,
    tx: Sender<TraceEvent>,
    /// Exec-failure pipes of roots that have not exec'd yet.
    exec_errors: Vec<(Pid, OwnedFd)>,
    /// Signals already passed on to the roots.
    forwarded: usize,
    /// When socklab's own Ctrl-C was first noticed, not passed on yet.
    forward_at: Option<Instant>,
    /// A root got SIGINT/SIGTERM straight from the terminal.
    root_signalled: bool,
    /// When the main command ended (peers are stopped after it).
    main_done: Option<Instant>,
    /// Syscall stops handled (for the closing statistics).
    pub stops: u64,
    /// Attached with `-p` (detach, never kill).
    attached: bool,
    /// How far the stops have been handled (for the printer).
    watermark: Watermark,
    /// Until the capture is ready: the first socket call waits for it.
    gate: Option<Receiver<Result<(), String>>>,
    /// Tells a deferred capture to open (at the first socket call).
    go: Option<SyncSender<()>>,
    /// The capture could not start (the tracees were killed): why.
    pub gate_failed: Option<String>,
    /// Looking for the next stop before sleeping, in busy phases.
    spin: Spin,
    /// Sends and receives done at their entry stop (one stop, not two).
    pub oneshot: OneShot,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer").field("mode", &self.mode).finish()
    }
}

fn now() -> Timestamp {
    Timestamp::now()
}

impl Tracer {
    /// A tracer sending events to `tx`, showing `snap` payload bytes,
    /// telling the printer its progress through `watermark`.
    pub fn new(mode: Mode, tx: Sender<TraceEvent>, snap: usize, watermark: Watermark) -> Self {
        Tracer {
            mode,
            filter: seccomp::program(),
            first_filter: seccomp::first_program(),
            full: std::collections::HashSet::new(),
            injecting: std::collections::HashMap::new(),
            table: Table::new(),
            decoder: Decoder::new(snap),
            tx,
            exec_errors: Vec::new(),
            forwarded: 0,
            forward_at: None,
            root_signalled: false,
            main_done: None,
            stops: 0,
            attached: false,
            watermark,
            gate: None,
            go: None,
            gate_failed: None,
            spin: Spin::new(),
            oneshot: OneShot::new(),
        }
    }

    /// Hold the first socket call of any tracee until `ready` says the
    /// capture is on (so no packet is missed); on an error, or after 10 s,
    /// kill the tracees and keep the reason in [`Tracer::gate_failed`].
    /// With `go`, that first call is also what tells the capture to open
    /// (dropped with the tracer if no call ever comes).
    pub fn gate(&mut self, ready: Receiver<Result<(), String>>, go: Option<SyncSender<()>>) {
        self.gate = Some(ready);
        self.go = go;
    }

    /// Wait at the gate, once. False if tracing must end.
    fn pass_gate(&mut self) -> bool {
        let Some(g) = self.gate.take() else {
            return true;
        };
        if let Some(go) = self.go.take() {
            let _ = go.send(());
        }
        let why = match g.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => return true,
            Ok(Err(e)) => e,
            Err(_) => "the capture did not start within 10 s".into(),
        };
        self.gate_failed = Some(why);
        for t in self.table.tids() {
            let _ = signal::kill(t, Signal::SIGKILL);
        }
        false
    }

    /// Decode call bytes on the table's ports as its protocols (`--decode`).
    pub fn decode_as(&mut self, table: &crate::wire::decode_as::DecodeTable) {
        self.decoder.decode = table.clone();
    }

    fn options() -> Options {
        Options::PTRACE_O_TRACESYSGOOD
            | Options::PTRACE_O_TRACESECCOMP
            | Options::PTRACE_O_EXITKILL
            | Options::PTRACE_O_TRACECLONE
            | Options::PTRACE_O_TRACEFORK
            | Options::PTRACE_O_TRACEVFORK
            | Options::PTRACE_O_TRACEEXEC
    }

    /// Start `argv` under ptrace and the seccomp filter, as `run_as` if
    /// given. `main` marks the command whose status socklab returns.
    pub fn spawn(
        &mut self,
        argv: &[String],
        run_as: Option<RunAs>,
        main: bool,
        stdio: Option<(i32, i32)>,
    ) -> Result<Pid, TraceError> {
        let cmd = argv.join(" ");
        let bad = |why: &str| TraceError::Command {
            cmd: cmd.clone(),
            why: why.into(),
        };
        if argv.is_empty() {
            return Err(bad("no command given (put it after --)"));
        }
        let cstrs: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|_| bad("an argument contains a NUL byte"))?;
        let mut prep = Prepared {
            ptrs: cstrs.iter().map(|c| c.as_ptr()).collect(),
            argv: cstrs,
            groups: Vec::new(),
        };
        prep.ptrs.push(std::ptr::null());
        if let Some(r) = run_as {
            prep.groups = user_groups(r);
        }
        let (rd, wr) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| os("pipe2", e))?;
        // SAFETY: the child only makes async-signal-safe calls on data
        // prepared above (no allocation) and ends in exec or _exit.
        // A program that inherits a socket (fd 3 and up) may use it from
        // its first call: it starts with the full filter.
        let inherits = inherits_a_socket();
        let filter = if inherits {
            &self.filter
        } else {
            &self.first_filter
        };
        match unsafe { nix::unistd::fork() }.map_err(|e| os("fork", e))? {
            nix::unistd::ForkResult::Child => {
                child(&prep, run_as, filter, self.mode, wr.as_raw_fd(), stdio)
            }
            nix::unistd::ForkResult::Parent { child } => {
                drop(wr);
                // The child stops itself before exec: wait for that stop,
                // then seize it (PTRACE_SEIZE, so that a later SIGSTOP or
                // Ctrl-Z can leave it stopped with PTRACE_LISTEN).
                match waitpid(child, Some(WaitPidFlag::__WALL | WaitPidFlag::WUNTRACED)) {
                    Ok(WaitStatus::Stopped(_, Signal::SIGSTOP)) => {}
                    Ok(other) => {
                        return Err(TraceError::Os {
                            what: "starting the program",
                            err: format!("it did not stop as expected ({other:?})"),
                        })
                    }
                    Err(e) => return Err(os("waitpid", e)),
                }
                ptrace::seize(child, Self::options()).map_err(|e| {
                    let _ = signal::kill(child, Signal::SIGKILL);
                    let _ = waitpid(child, Some(WaitPidFlag::__WALL));
                    os("PTRACE_SEIZE", e)
                })?;
                // Seizing a stopped process reports its group-stop; SIGCONT
                // then lets it go on (the loop passes the SIGCONT on).
                match waitpid(child, Some(WaitPidFlag::__WALL)) {
                    Ok(WaitStatus::PtraceEvent(_, _, PTRACE_EVENT_STOP)) => {}
                    Ok(other) => {
                        let _ = signal::kill(child, Signal::SIGKILL);
                        return Err(TraceError::Os {
                            what: "starting the program",
                            err: format!(
                                "it did not stop as expected after PTRACE_SEIZE ({other:?})"
                            ),
                        });
                    }
                    Err(e) => return Err(os("waitpid", e)),
                }
                let _ = signal::kill(child, Signal::SIGCONT);
                if inherits {
                    self.full.insert(child.as_raw());
                }
                self.table.add(child, child);
                self.table.roots.push(Root {
                    pid: child,
                    cmd,
                    main,
                    status: None,
                    execed: false,
                });
                self.exec_errors.push((child, rd));
                self.resume(child, None);
                Ok(child)
            }
        }
    }

    /// Attach to every thread of a running process (`-p`), without the
    /// seccomp filter and without EXITKILL: it must survive socklab.
    pub fn attach(&mut self, pid: Pid) -> Result<(), TraceError> {
        let opts = Self::options() - Options::PTRACE_O_EXITKILL - Options::PTRACE_O_TRACESECCOMP;
        let tasks: Vec<Pid> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .map_err(|e| TraceError::Os {
                what: "reading the process's threads",
                err: format!("/proc/{pid}/task: {}", crate::error::describe_io(&e)),
            })?
            .filter_map(|d| d.ok()?.file_name().to_str()?.parse().ok())
            .map(Pid::from_raw)
            .collect();
        for tid in tasks {
            if let Err(e) = ptrace::seize(tid, opts) {
                let hint = if e == Errno::EPERM {
                    " (only root may attach here, or set /proc/sys/kernel/yama/ptrace_scope to 0)"
                } else {
                    ""
                };
                self.detach_all();
                return Err(TraceError::Os {
                    what: "attaching (PTRACE_SEIZE)",
                    err: format!(
                        "{}{hint}",
                        crate::error::describe_io(&std::io::Error::from(e))
                    ),
                });
            }
            self.table.add(tid, pid);
            let _ = ptrace::interrupt(tid);
        }
        self.table.roots.push(Root {
            pid,
            cmd: format!("process {pid}"),
            main: true,
            status: None,
            execed: true,
        });
        self.attached = true;
        Ok(())
    }

    /// Leave every tracee running untraced (`-p` and Ctrl-C).
    fn detach_all(&mut self) {
        for tid in self.table.tids() {
            // It must be stopped to be detached: interrupt, wait, detach.
            if ptrace::detach(tid, None).is_err() {
                let _ = ptrace::interrupt(tid);
                let end = Instant::now() + Duration::from_millis(500);
                loop {
                    match waitpid(tid, Some(WaitPidFlag::__WALL | WaitPidFlag::WNOHANG)) {
                        Ok(WaitStatus::StillAlive) if Instant::now() < end => {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        Ok(WaitStatus::Stopped(_, sig)) => {
                            // A real signal: give it back on detach.
                            let _ = ptrace::detach(tid, Some(sig));
                            break;
                        }
                        _ => {
                            let _ = ptrace::detach(tid, None);
                            break;
                        }
                    }
                }
            }
            self.table.remove(tid);
        }
    }

    fn resume(&self, pid: Pid, sig: Option<Signal>) {
        // A thread between a call's entry and exit stops must stop at the exit.
        let pending = self.table.get(pid).is_some_and(|t| t.pending.is_some());
        // ESRCH: it died meanwhile (killed); its exit is reported by waitpid.
        let _ = match self.mode {
            Mode::Seccomp if !pending => ptrace::cont(pid, sig),
            _ => ptrace::syscall(pid, sig),
        };
    }

    /// A group-stop (SIGSTOP, SIGTSTP...): leave the thread stopped, as it
    /// would be untraced, but still traced; SIGCONT wakes it and it reports
    /// a `PTRACE_EVENT_STOP` again (strace does the same).
    fn listen(&mut self, tid: Pid, sig: Signal) {
        // SAFETY: PTRACE_LISTEN takes no address or data; nix has no wrapper.
        let r = unsafe {
            libc::ptrace(
                libc::PTRACE_LISTEN,
                tid.as_raw(),
                std::ptr::null_mut::<libc::c_void>(),
                std::ptr::null_mut::<libc::c_void>(),
            )
        };
        if r != 0 {
            // Not in a group-stop after all (e.g. already continued): go on.
            return self.resume(tid, None);
        }
        let tgid = self.table.tgid(tid);
        let first = match self.table.get_mut(tid) {
            Some(t) => !std::mem::replace(&mut t.listening, true),
            None => false,
        };
        if first && tid == tgid {
            self.job_event(
                tgid,
                format!(
                    "stopped by {} (it stays stopped until SIGCONT)",
                    sig.as_str()
                ),
            );
        }
    }

    fn job_event(&self, tgid: Pid, text: String) {
        let root = self.table.roots.iter().any(|r| r.pid == tgid);
        self.send(TraceEvent::Process {
            kind: ProcKind::Job { root },
            ts: now(),
            pid: tgid.as_raw(),
            tid: tgid.as_raw(),
            text,
        });
    }

    fn send(&self, e: TraceEvent) {
        let _ = self.tx.send(e);
    }

    /// True once the main command ended (or there is none).
    pub fn main_finished(&self) -> bool {
        self.table
            .roots
            .iter()
            .filter(|r| r.main)
            .all(|r| r.status.is_some())
    }

    /// The main command's outcome.
    pub fn main_status(&self) -> Option<Ended> {
        self.table
            .roots
            .iter()
            .find(|r| r.main)
            .and_then(|r| r.status)
    }

    /// Run until every tracee has ended; `until` is polled between stops
    /// (e.g. "a --with peer listens") and may return early with `true`.
    pub fn run_until(
        &mut self,
        mut until: impl FnMut(&[CallEvent]) -> bool,
        limit: Duration,
    ) -> bool {
        let end = Instant::now() + limit;
        let mut seen = Vec::new();
        while self.table.any() && Instant::now() < end {
            if let Some(c) = self.step(Some(Duration::from_millis(20))) {
                seen.push(c);
                if until(&seen) {
                    return true;
                }
            }
        }
        false
    }

    /// Run until every tracee has ended (or socklab is told to stop
    /// twice). Peers (`--with`) are stopped once the main command ends.
    pub fn run(&mut self) {
        while self.table.any() {
            self.step(None);
        }
    }

    /// Wait for one stop and handle it; returns the call it finished, if
    /// any. With `poll`, waits at most about that long.
    fn step(&mut self, poll: Option<Duration>) -> Option<CallEvent> {
        self.signals();
        self.stop_peers();
        let busy = poll.is_some() || self.forward_at.is_some() || self.main_done.is_some();
        // Look without blocking first: when no stop is waiting, every stop
        // before `t0` has been handled, and the printer may know it.
        let t0 = now();
        let mut st = waitpid(None, Some(WaitPidFlag::__WALL | WaitPidFlag::WNOHANG));
        if matches!(
            st,
            Ok(WaitStatus::Stopped(..)
                | WaitStatus::PtraceEvent(..)
                | WaitStatus::PtraceSyscall(..))
        ) {
            // A stop was already waiting: the program is busy.
            self.spin.slept(Duration::ZERO);
        } else if matches!(st, Ok(WaitStatus::StillAlive)) {
            self.watermark.set(t0);
            let watermark = &self.watermark;
            // Each look that finds nothing says every stop before it is handled.
            let looked_at = std::cell::Cell::new(t0);
            if let Some(found) = self.spin.look(
                || {
                    looked_at.set(now());
                    waitpid(None, Some(WaitPidFlag::__WALL | WaitPidFlag::WNOHANG))
                },
                || watermark.set(looked_at.get()),
            ) {
                st = found;
            } else if !busy {
                let began = Instant::now();
                st = waitpid(None, Some(WaitPidFlag::__WALL));
                self.spin.slept(began.elapsed());
            }
        }
        let st = match st {
            Ok(WaitStatus::StillAlive) => {
                std::thread::sleep(Duration::from_millis(2));
                return None;
            }
            Ok(st) => st,
            Err(Errno::EINTR) => return None,
            Err(_) => {
                // ECHILD: nothing left to wait for.
                for t in self.table.tids() {
                    self.table.remove(t);
                }
                return None;
            }
        };
        self.stops += 1;
        match st {
            WaitStatus::PtraceEvent(pid, _, ev) if ev == libc::PTRACE_EVENT_SECCOMP => {
                self.on_seccomp(pid);
                None
            }
            // Only a polling caller (run_until) wants the finished call back.
            WaitStatus::PtraceSyscall(pid) => self.on_syscall(pid, poll.is_some()),
            WaitStatus::PtraceEvent(pid, sig, ev) => {
                self.on_event(pid, sig, ev);
                None
            }
            WaitStatus::Exited(pid, code) => {
                self.on_exit(pid, Ended::Code(code));
                None
            }
            WaitStatus::Signaled(pid, sig, _) => {
                self.on_exit(pid, Ended::Signal(sig as i32));
                None
            }
            WaitStatus::Stopped(pid, sig) => {
                // A signal on its way to the program: pass it on (a stop
                // signal then shows up as a group-stop, see on_event).
                self.table.add_new(pid);
                if self.table.roots.iter().any(|r| r.pid == pid)
                    && matches!(sig, Signal::SIGINT | Signal::SIGTERM)
                {
                    self.root_signalled = true;
                }
                self.resume(pid, Some(sig));
                None
            }
            _ => None,
        }
    }

    /// Pass socklab's Ctrl-C / SIGTERM on to the roots (unless the terminal
    /// already delivered it to them); a second one kills them.
    fn signals(&mut self) {
        let got = SIGNALS.load(Ordering::SeqCst);
        if got == 0 || got == self.forwarded {
            return;
        }
        if self.attached {
            self.forwarded = got;
            return self.detach_all();
        }
        if got >= 2 && self.forwarded >= 1 {
            for r in self.table.roots.iter().filter(|r| r.status.is_none()) {
                let _ = signal::kill(r.pid, Signal::SIGKILL);
            }
            self.forwarded = got;
            return;
        }
        let at = *self.forward_at.get_or_insert_with(Instant::now);
        // Give the terminal's copy 50 ms to show up as a signal stop.
        if self.root_signalled {
            self.forwarded = got;
            self.forward_at = None;
            self.root_signalled = false;
        } else if at.elapsed() > Duration::from_millis(50) {
            let sig = match LAST_SIGNAL.load(Ordering::SeqCst) as i32 {
                libc::SIGTERM => Signal::SIGTERM,
                _ => Signal::SIGINT,
            };
            for r in self.table.roots.iter().filter(|r| r.status.is_none()) {
                let _ = signal::kill(r.pid, sig);
            }
            self.forwarded = got;
            self.forward_at = None;
        }
    }

    /// Once the main command has ended: SIGTERM the peers, SIGKILL after 1 s.
    fn stop_peers(&mut self) {
        let Some(t) = self.main_done else {
            return;
        };
        let sig = if t.elapsed() > Duration::from_secs(1) {
            Signal::SIGKILL
        } else {
            Signal::SIGTERM
        };
        for r in self
            .table
            .roots
            .iter_mut()
            .filter(|r| !r.main && r.status.is_none())
        {
            let _ = signal::kill(r.pid, sig);
        }
        if sig == Signal::SIGKILL {
            self.main_done = Some(Instant::now() - Duration::from_secs(2));
        }
    }

    fn on_seccomp(&mut self, tid: Pid) {
        let start = now();
        // The registers hold the call and its arguments (the filter stops
        // only the x86_64 ABI), and a call socklab makes itself needs them
        // anyway: one request instead of two.
        let Ok(r) = ptrace::getregs(tid) else {
            return self.resume(tid, None);
        };
        self.table.add_new(tid);
        let tgid = self.table.tgid(tid);
        if !self.full.contains(&tgid.as_raw()) {
            // The process's first socket call: add the full filter, then
            // let the call run again (it stops again, under both).
            return self.add_full_filter(tid, tgid, r);
        }
        let args = [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9];
        self.entry(tid, r.orig_rax, args, start, Some(r));
    }

    /// Make the stopped thread `tid` add the full filter to its whole
    /// process (`seccomp(SECCOMP_SET_MODE_FILTER, TSYNC)`, the program
    /// written below its stack, whose bytes are put back afterwards); its
    /// exit stop ([`Tracer::injected`]) re-executes the call it stopped at.
    fn add_full_filter(&mut self, tid: Pid, tgid: Pid, r: libc::user_regs_struct) {
        self.full.insert(tgid.as_raw());
        let n = self.filter.len();
        // SAFETY: viewing the filter's instructions (plain data) as bytes.
        let code = unsafe {
            std::slice::from_raw_parts(
                self.filter.as_ptr().cast::<u8>(),
                n * std::mem::size_of::<libc::sock_filter>(),
            )
        };
        // Below the red zone, 16-byte aligned: a sock_fprog, then the code.
        let at = r
            .rsp
            .checked_sub(1024 + code.len() as u64 + 16)
            .map(|a| a & !15);
        let fail = |why: &str| {
            crate::render::out::note(&format!(
                "socklab trace: process {tgid}: {why}: its read, write and close calls \
                 on sockets are not shown"
            ));
        };
        let Some(at) = at.filter(|_| r.rip >= 2) else {
            fail("no room for the read/write/close filter");
            return self.resume(tid, None);
        };
        let saved = super::mem::read(tgid, at, 16 + code.len());
        let mut fprog = [0u8; 16];
        fprog[..2].copy_from_slice(&(n as u16).to_ne_bytes());
        fprog[8..].copy_from_slice(&(at + 16).to_ne_bytes());
        let written = saved.len() == 16 + code.len()
            && super::mem::write(tgid, at, &fprog) == 16
            && super::mem::write(tgid, at + 16, code) == code.len();
        let mut call = r;
        call.orig_rax = libc::SYS_seccomp as u64;
        call.rdi = libc::SECCOMP_SET_MODE_FILTER as u64;
        call.rsi = libc::SECCOMP_FILTER_FLAG_TSYNC;
        call.rdx = at;
        if !written || ptrace::setregs(tid, call).is_err() || ptrace::syscall(tid, None).is_err() {
            if written {
                super::mem::write(tgid, at, &saved);
            }
            fail("could not add the read/write/close filter");
            let _ = ptrace::setregs(tid, r);
            return self.resume(tid, None);
        }
        self.injecting.insert(tid, Injecting { regs: r, at, saved });
    }

    /// The exit stop of the `seccomp` call [`Tracer::add_full_filter`] made:
    /// put the stack's bytes and the registers back, with the instruction
    /// pointer on the `syscall` instruction, so the program's call runs again.
    fn injected(&mut self, tid: Pid, inj: Injecting) {
        let tgid = self.table.tgid(tid);
        let ok = ptrace::getregs(tid).is_ok_and(|x| x.rax == 0);
        super::mem::write(tgid, inj.at, &inj.saved);
        if !ok {
            crate::render::out::note(&format!(
                "socklab trace: process {tgid} refused the read/write/close filter: its read, \
                 write and close calls on sockets are not shown"
            ));
        }
        let mut back = inj.regs;
        back.rip -= 2;
        back.rax = inj.regs.orig_rax;
        let _ = ptrace::setregs(tid, back);
        self.resume(tid, None);
    }

    fn entry(
        &mut self,
        tid: Pid,
        nr: u64,
        args: [u64; 6],
        start: Timestamp,
        regs: Option<libc::user_regs_struct>,
    ) {
        self.table.add_new(tid);
        let tgid = self.table.tgid(tid);
        let Some(sys) = Sys::from_nr(nr) else {
            return self.resume(tid, None);
        };
        match self.decoder.enter(tgid, sys, args, start) {
            Entry::Skip => self.resume(tid, None),
            Entry::Follow(..) if !self.pass_gate() => self.resume(tid, None),
            Entry::Follow(mut p, announce) => {
                // The registers first: once socklab has made the call, the
                // program's own must be skipped.
                let regs = match self.decoder.fds.get(tgid, args[0] as i32) {
                    Some(sock) if self.mode == Mode::Seccomp && OneShot::applies(sys, sock) => regs,
                    _ => None,
                };
                let outcome = match regs {
                    Some(_) => self.oneshot.attempt(tgid, sys, &args),
                    None => Outcome::Program,
                };
                match (outcome, regs) {
                    (Outcome::Done(ret), Some(regs)) => {
                        return self.done_here(tid, tgid, p, ret, regs)
                    }
                    (Outcome::Partial(n), Some(mut regs)) => {
                        // The program sends the rest: its buffer and length
                        // move past what was sent (it blocks as it would have).
                        regs.rsi += n as u64;
                        regs.rdx -= n as u64;
                        // Without SIGPIPE: after n bytes one blocking send
                        // returns n, with no signal (a `write` becomes the
                        // same `sendto`; the filter's recheck lets it run).
                        if sys == Sys::Write {
                            regs.orig_rax = libc::SYS_sendto as u64;
                            (regs.r10, regs.r8, regs.r9) = (0, 0, 0);
                        }
                        regs.r10 |= libc::MSG_NOSIGNAL as u64;
                        if ptrace::setregs(tid, regs).is_err() {
                            // It died meanwhile: its exit is reported by waitpid.
                            return;
                        }
                        p.sent = n;
                    }
                    _ => {}
                }
                let enter = announce.map(|text| TraceEvent::Enter {
                    id: p.id,
                    ts: start,
                    pid: tgid.as_raw(),
                    tid: tid.as_raw(),
                    text,
                    serial: self.decoder.fds.get(tgid, args[0] as i32).map(|s| s.serial),
                });
                if let Some(t) = self.table.get_mut(tid) {
                    t.pending = Some(p);
                }
                // Stop again when the call returns; the thread runs on
                // while its start is handed to the printer.
                let _ = ptrace::syscall(tid, None);
                if let Some(e) = enter {
                    self.send(e);
                }
            }
        }
    }

    /// The call was made here at its entry stop (`oneshot`): skip the
    /// program's own system call with result `ret`, report it, let it run.
    fn done_here(
        &mut self,
        tid: Pid,
        tgid: Pid,
        p: super::decode::Pending,
        ret: i64,
        mut regs: libc::user_regs_struct,
    ) {
        // Syscall number -1 skips the call; rax is what it returns. (If this
        // fails the thread is gone: killed while stopped.)
        regs.orig_rax = u64::MAX;
        regs.rax = ret as u64;
        let _ = ptrace::setregs(tid, regs);
        let p = super::decode::Pending {
            known: self.oneshot.take_seen().map(Box::new),
            ..p
        };
        let ev = self.decoder.exit(tgid, tid, &p, ret, ret < 0, now());
        self.resume(tid, None);
        if let Some(ev) = ev {
            self.send(TraceEvent::Call(Box::new(ev)));
        }
    }

    fn on_syscall(&mut self, tid: Pid, collect: bool) -> Option<CallEvent> {
        if let Some(inj) = self.injecting.remove(&tid) {
            self.injected(tid, inj);
            return None;
        }
        let end = now();
        let info = match ptrace::syscall_info(tid) {
            Ok(i) => i,
            Err(_) => {
                self.resume(tid, None);
                return None;
            }
        };
        if info.op == libc::PTRACE_SYSCALL_INFO_ENTRY {
            // SAFETY: op ENTRY says the entry member of the union is filled.
            let e = unsafe { info.u.entry };
            if self.mode == Mode::EverySyscall && wanted(e.nr, &e.args) {
                self.entry(tid, e.nr, e.args, end, None);
            } else {
                self.resume(tid, None);
            }
            return None;
        }
        let pending = self.table.get_mut(tid).and_then(|t| t.pending.take());
        let mut done = None;
        if let (Some(p), libc::PTRACE_SYSCALL_INFO_EXIT) = (pending, info.op) {
            // SAFETY: op EXIT says the exit member of the union is filled.
            let x = unsafe { info.u.exit };
            let tgid = self.table.tgid(tid);
            let (mut ret, mut is_error) = (x.sval, x.is_error != 0);
            if p.sent > 0 {
                // Part was sent at the entry stop: one blocking send returns
                // the whole count, or what was sent before an error.
                ret = if is_error {
                    p.sent as i64
                } else {
                    ret + p.sent as i64
                };
                is_error = false;
                if let Ok(mut regs) = ptrace::getregs(tid) {
                    regs.rax = ret as u64;
                    let _ = ptrace::setregs(tid, regs);
                }
            }
            let ev = self.decoder.exit(tgid, tid, &p, ret, is_error, end);
            // Everything read from the stopped thread: let it run while
            // the event is handed on.
            self.resume(tid, None);
            if let Some(ev) = ev {
                if collect {
                    done = Some(ev.clone());
                }
                self.send(TraceEvent::Call(Box::new(ev)));
            }
            return done;
        }
        self.resume(tid, None);
        done
    }

    fn on_event(&mut self, pid: Pid, sig: Signal, ev: i32) {
        self.table.add_new(pid);
        let tgid = self.table.tgid(pid);
        match ev {
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                if let Ok(new) = ptrace::getevent(pid) {
                    let new = Pid::from_raw(new as i32);
                    let thread = ev == libc::PTRACE_EVENT_CLONE
                        && procs::tgid_of(new).is_some_and(|g| g == tgid);
                    let new_tgid = if thread { tgid } else { new };
                    if !thread {
                        self.decoder.forked(tgid, new);
                        // (The child adds the full filter at its own first
                        // stop: it may have forked before its parent added it.)
                    }
                    // Its first stop may already have been seen (and it was
                    // added as its own process): correct the process id.
                    self.table.remove(new);
                    self.table.add(new, new_tgid);
                    let what = match ev {
                        libc::PTRACE_EVENT_FORK => "fork",
                        libc::PTRACE_EVENT_VFORK => "vfork",
                        _ if thread => "thread",
                        _ => "clone",
                    };
                    let text = if thread {
                        format!("new thread {new} in process {tgid}")
                    } else {
                        format!("new process {new} ({what} of {tgid})")
                    };
                    self.send(TraceEvent::Process {
                        kind: ProcKind::Born {
                            parent: tgid.as_raw(),
                        },
                        ts: now(),
                        pid: new_tgid.as_raw(),
                        tid: new.as_raw(),
                        text,
                    });
                }
            }
            // A group-stop: stays stopped until SIGCONT.
            PTRACE_EVENT_STOP
                if matches!(
                    sig,
                    Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU
                ) =>
            {
                return self.listen(pid, sig);
            }
            // PTRACE_SEIZE's other stops (a new thread or child's first
            // stop, PTRACE_INTERRUPT, SIGCONT after a group-stop): go on.
            PTRACE_EVENT_STOP => {
                let was = self
                    .table
                    .get_mut(pid)
                    .is_some_and(|t| std::mem::replace(&mut t.listening, false));
                if was && pid == tgid {
                    self.job_event(tgid, "continued (SIGCONT)".into());
                }
            }
            libc::PTRACE_EVENT_EXEC => {
                self.decoder.forget(tgid);
                self.oneshot.forget(tgid);
                self.exec_errors.retain(|(p, _)| *p != pid);
                if let Some(r) = self.table.root_mut(pid) {
                    r.execed = true;
                }
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|b| {
                        String::from_utf8_lossy(&b)
                            .trim_end_matches('\0')
                            .replace('\0', " ")
                    })
                    .unwrap_or_default();
                self.send(TraceEvent::Process {
                    kind: ProcKind::Exec,
                    ts: now(),
                    pid: tgid.as_raw(),
                    tid: pid.as_raw(),
                    text: format!("exec {cmd}"),
                });
            }
            _ => {}
        }
        self.resume(pid, None);
    }

    fn on_exit(&mut self, tid: Pid, how: Ended) {
        self.injecting.remove(&tid);
        let tgid = self.table.tgid(tid);
        let gone = self.table.remove(tid);
        if let Some(p) = gone.and_then(|t| t.pending) {
            // The process ended inside a call (killed while blocked).
            if let Some(mut ev) = self.decoder.exit(tgid, tid, &p, 0, false, now()) {
                ev.ret = 0;
                ev.result = "? (the process ended inside this call)".into();
                ev.unfinished = true;
                self.send(TraceEvent::Call(Box::new(ev)));
            }
        }
        if tid != tgid && !self.table.process_gone(tgid) {
            return;
        }
        self.decoder.forget(tgid);
        self.oneshot.forget(tgid);
        self.full.remove(&tgid.as_raw());
        let text = match how {
            Ended::Code(c) => format!("exited with status {c}"),
            Ended::Signal(s) => format!(
                "killed by {}",
                Signal::try_from(s)
                    .map(|s| s.as_str())
                    .unwrap_or("a signal")
            ),
        };
        let root = self.table.roots.iter().any(|r| r.pid == tid);
        self.send(TraceEvent::Process {
            kind: ProcKind::Ended { root },
            ts: now(),
            pid: tgid.as_raw(),
            tid: tid.as_raw(),
            text,
        });
        let mut exec_failed = None;
        if let Some(i) = self.exec_errors.iter().position(|(p, _)| *p == tid) {
            let (_, fd) = self.exec_errors.remove(i);
            let mut b = [0u8; 4];
            if nix::unistd::read(&fd, &mut b) == Ok(4) {
                exec_failed = Some(i32::from_ne_bytes(b));
            }
        }
        if let Some(r) = self.table.root_mut(tid) {
            r.status = Some(how);
            if let Some(e) = exec_failed {
                let msg = format!(
                    "socklab trace: cannot run {}: {}",
                    r.cmd,
                    crate::error::describe_io(&std::io::Error::from_raw_os_error(e))
                );
                r.status = Some(Ended::Code(if e == libc::ENOENT { 127 } else { 126 }));
                crate::render::out::note(&msg);
            }
            if r.main {
                self.main_done = Some(Instant::now());
            }
        }
    }

    /// Kill every tracee (socklab is failing); EXITKILL would do it too.
    pub fn kill_all(&mut self) {
        for t in self.table.tids() {
            let _ = signal::kill(t, Signal::SIGKILL);
        }
        while self.table.any() {
            match waitpid(None, Some(WaitPidFlag::__WALL)) {
                Ok(WaitStatus::Exited(p, _)) | Ok(WaitStatus::Signaled(p, _, _)) => {
                    self.table.remove(p);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
}

/// In `EverySyscall` mode: the filter's decision, made in the tracer.
fn wanted(nr: u64, a: &[u64; 6]) -> bool {
    TABLE.iter().any(|(_, n, when)| {
        u64::from(*n) == nr
            && match when {
                When::Always => true,
                When::FdAtLeast3 => a[0] as u32 >= 3,
                When::Arg1In(v) => v.contains(&(a[1] as u32)),
            }
    })
}

/// True if this process has a socket that a child would inherit (not
/// close-on-exec), stdin, stdout and stderr included (a `dup` of one would
/// not stop under the first filter).
fn inherits_a_socket() -> bool {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return true;
    };
    dir.filter_map(|d| d.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .any(|fd| {
            // SAFETY: F_GETFD on a number; a closed one gives -1.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            flags >= 0
                && flags & libc::FD_CLOEXEC == 0
                && std::fs::read_link(format!("/proc/self/fd/{fd}"))
                    .is_ok_and(|l| l.as_os_str().as_encoded_bytes().starts_with(b"socket:"))
        })
}

/// The supplementary groups of the user `r` runs as.
fn user_groups(r: RunAs) -> Vec<libc::gid_t> {
    let name = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(r.uid))
        .ok()
        .flatten()
        .map(|u| u.name);
    name.and_then(|n| CString::new(n).ok())
        .and_then(|c| nix::unistd::getgrouplist(&c, nix::unistd::Gid::from_raw(r.gid)).ok())
        .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_else(|| vec![r.gid])
}

/// The forked child: become the user, stop until socklab has seized it,
/// load the filter, exec. Only raw async-signal-safe calls on prepared data.
fn child(
    p: &Prepared,
    run_as: Option<RunAs>,
    filter: &[libc::sock_filter],
    mode: Mode,
    err_fd: i32,
    stdio: Option<(i32, i32)>,
) -> ! {
    let fail = |e: i32| -> ! {
        let b = e.to_ne_bytes();
        // SAFETY: write of 4 bytes from a stack buffer; _exit never returns.
        unsafe {
            libc::write(err_fd, b.as_ptr().cast(), 4);
            libc::_exit(127)
        }
    };
    let errno = || std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    // SAFETY: plain system calls on prepared values.
    unsafe {
        if let Some((o, e)) = stdio {
            if libc::dup2(o, 1) < 0 || libc::dup2(e, 2) < 0 {
                fail(errno());
            }
        }
        if let Some(r) = run_as {
            if libc::setgroups(p.groups.len(), p.groups.as_ptr()) != 0
                || libc::setgid(r.gid) != 0
                || libc::setuid(r.uid) != 0
            {
                fail(errno());
            }
        }
        // Should socklab die before it has seized the child, do not leave
        // it stopped forever (after the user switch, which clears this).
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // socklab seizes the stopped child (PTRACE_SEIZE), then continues it.
        libc::raise(libc::SIGSTOP);
    }
    if mode == Mode::Seccomp {
        if let Err(e) = seccomp::install(filter) {
            fail(e);
        }
    }
    // SAFETY: argv is a NUL-terminated array of C strings prepared before fork.
    unsafe {
        libc::execvp(p.argv[0].as_ptr(), p.ptrs.as_ptr());
    }
    fail(errno())
}
