//! What the tracer reports: one value per socket call (with its decoded
//! arguments, result and socket identity), blocking calls' start, the
//! program's output lines, and processes starting and ending.
//!
//! Plain data, made by `decode`/`tracer`, consumed by `session` and the
//! renderers.

use crate::capture::Timestamp;

use super::addr::Addr;
use super::sockets::SocketInfo;

/// Which way a call's bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// The program sent them.
    Out,
    /// The program received them.
    In,
}

/// The bytes a send or receive moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// Which way.
    pub dir: Dir,
    /// The first bytes (at most [`super::decode::KEEP`]).
    pub bytes: Vec<u8>,
    /// How many bytes the call moved in all.
    pub total: usize,
}

/// One finished socket call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEvent {
    /// Unique per call (a blocking call's start line carries it too).
    pub id: u64,
    /// When the program entered the call (tracer's clock, CLOCK_REALTIME).
    pub start: Timestamp,
    /// When it returned.
    pub end: Timestamp,
    /// Process id (thread group).
    pub pid: i32,
    /// Thread id.
    pub tid: i32,
    /// The call as the program wrote it (`send` for `sendto` without an address).
    pub call: &'static str,
    /// The fd the call is about.
    pub fd: Option<i32>,
    /// That fd's socket, as it is after the call (before, for close).
    pub socket: Option<SocketInfo>,
    /// Decoded arguments, without the parentheses.
    pub args: String,
    /// Return value (-1 on error).
    pub ret: i64,
    /// errno on failure.
    pub errno: Option<i32>,
    /// What the result means (`peer 127.0.0.1:5000`, `[3 POLLIN]`...).
    pub result: String,
    /// Bytes moved, for sends and receives.
    pub data: Option<Payload>,
    /// Where a connect or sendto went.
    pub target: Option<Addr>,
    /// Course-protocol meaning of the bytes.
    pub course: Option<String>,
    /// A teaching note.
    pub note: Option<&'static str>,
    /// The process ended inside the call (no result).
    pub unfinished: bool,
}

impl CallEvent {
    /// A call `call` (id `id`) of thread `tid` in process `pid` from `start`
    /// to `end` that returned `ret`, with nothing decoded yet: no fd, socket,
    /// arguments, result, bytes, target or note.
    pub fn new(
        id: u64,
        (pid, tid): (i32, i32),
        call: &'static str,
        (start, end): (Timestamp, Timestamp),
        ret: i64,
    ) -> CallEvent {
        CallEvent {
            id,
            start,
            end,
            pid,
            tid,
            call,
            fd: None,
            socket: None,
            args: String::new(),
            ret,
            errno: None,
            result: String::new(),
            data: None,
            target: None,
            course: None,
            note: None,
            unfinished: false,
        }
    }

    /// Time spent in the call, in nanoseconds.
    pub fn nanos(&self) -> i128 {
        self.end.nanos_since(self.start).max(0)
    }

    /// True for calls whose socket is used for name lookups.
    pub fn name_service(&self) -> bool {
        self.socket.as_ref().is_some_and(|s| s.name_service)
            || self.target.as_ref().is_some_and(Addr::is_name_service)
    }
}

/// What happened to a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcKind {
    /// Forked (or a thread started) from this process.
    Born {
        /// The process it came from.
        parent: i32,
    },
    /// Ran `exec`.
    Exec,
    /// Ended; `root` for a process socklab started.
    Ended {
        /// Started by socklab.
        root: bool,
    },
    /// Stopped by a stop signal (SIGSTOP, Ctrl-Z's SIGTSTP) or continued
    /// by SIGCONT; `root` for a process socklab started.
    Job {
        /// Started by socklab.
        root: bool,
    },
}

/// Everything the tracer reports, in the order it saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceEvent {
    /// A call that may block has started (its [`CallEvent`] follows).
    Enter {
        /// The call's id.
        id: u64,
        /// Entry time.
        ts: Timestamp,
        /// Process id.
        pid: i32,
        /// Thread id.
        tid: i32,
        /// `accept(3)`, `recv(4, 1024)`...
        text: String,
        /// The call's socket (to hide name-service calls).
        serial: Option<u64>,
    },
    /// A call returned.
    Call(Box<CallEvent>),
    /// A line the program printed (with `--inline-output`).
    Output {
        /// When socklab read it.
        ts: Timestamp,
        /// The line, without its newline.
        line: String,
        /// From stderr.
        stderr: bool,
    },
    /// A process or thread was born, exec'd or ended.
    Process {
        /// What happened.
        kind: ProcKind,
        /// When.
        ts: Timestamp,
        /// Process id.
        pid: i32,
        /// Thread id.
        tid: i32,
        /// `started by fork of 4242`, `exited with status 0`, ...
        text: String,
    },
}

impl TraceEvent {
    /// When the event happened (a call: its start).
    pub fn ts(&self) -> Timestamp {
        match self {
            TraceEvent::Enter { ts, .. } => *ts,
            TraceEvent::Call(c) => c.start,
            TraceEvent::Output { ts, .. } => *ts,
            TraceEvent::Process { ts, .. } => *ts,
        }
    }
}
