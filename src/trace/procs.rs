//! The traced threads: which process each belongs to, the call each is
//! in the middle of, and which ones socklab started itself (roots).
//!
//! Plain bookkeeping; no system calls except reading `/proc/TID/status`
//! for a new thread's process id.

use std::collections::HashMap;

use nix::unistd::Pid;

use super::decode::Pending;

/// One traced thread.
#[derive(Debug)]
pub struct Thread {
    /// Its process (thread group) id.
    pub tgid: Pid,
    /// The call between its entry and exit stops.
    pub pending: Option<Pending>,
    /// In a group-stop (SIGSTOP, Ctrl-Z), left stopped with `PTRACE_LISTEN`.
    pub listening: bool,
}

/// A process socklab started (the command, or a `--with` peer).
#[derive(Debug, Clone)]
pub struct Root {
    /// Its pid.
    pub pid: Pid,
    /// The command line, for messages.
    pub cmd: String,
    /// True for the main command (its status becomes socklab's).
    pub main: bool,
    /// How it ended, once it has.
    pub status: Option<Ended>,
    /// It reached `exec` (so a 127 exit is the program's own).
    pub execed: bool,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// `exit(code)`.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

impl Ended {
    /// The shell's status for it: the code, or 128 + signal.
    pub fn status(self) -> i32 {
        match self {
            Ended::Code(c) => c,
            Ended::Signal(s) => 128 + s,
        }
    }
}

/// Every traced thread, by thread id.
#[derive(Debug, Default)]
pub struct Table {
    threads: HashMap<Pid, Thread>,
    /// Processes socklab started.
    pub roots: Vec<Root>,
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a thread of process `tgid` (no-op if known).
    pub fn add(&mut self, tid: Pid, tgid: Pid) -> bool {
        if self.threads.contains_key(&tid) {
            return false;
        }
        self.threads.insert(
            tid,
            Thread {
                tgid,
                pending: None,
                listening: false,
            },
        );
        true
    }

    /// Add a thread not seen before, its process read from `/proc`
    /// (no-op, and no file read, if known). True if it was new.
    pub fn add_new(&mut self, tid: Pid) -> bool {
        if self.threads.contains_key(&tid) {
            return false;
        }
        self.add(tid, tgid_of(tid).unwrap_or(tid))
    }

    /// A thread by id.
    pub fn get(&self, tid: Pid) -> Option<&Thread> {
        self.threads.get(&tid)
    }

    /// A thread by id, to change.
    pub fn get_mut(&mut self, tid: Pid) -> Option<&mut Thread> {
        self.threads.get_mut(&tid)
    }

    /// The process of `tid` (itself if unknown).
    pub fn tgid(&self, tid: Pid) -> Pid {
        self.threads.get(&tid).map(|t| t.tgid).unwrap_or(tid)
    }

    /// Forget a thread; returns what it was doing.
    pub fn remove(&mut self, tid: Pid) -> Option<Thread> {
        self.threads.remove(&tid)
    }

    /// True while some thread is traced.
    pub fn any(&self) -> bool {
        !self.threads.is_empty()
    }

    /// Every traced thread id.
    pub fn tids(&self) -> Vec<Pid> {
        self.threads.keys().copied().collect()
    }

    /// True if no thread of process `tgid` is left.
    pub fn process_gone(&self, tgid: Pid) -> bool {
        !self.threads.values().any(|t| t.tgid == tgid)
    }

    /// The root with this pid.
    pub fn root_mut(&mut self, pid: Pid) -> Option<&mut Root> {
        self.roots.iter_mut().find(|r| r.pid == pid)
    }
}

/// The process id of thread `tid`, from `/proc/TID/status`.
pub fn tgid_of(tid: Pid) -> Option<Pid> {
    let s = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("Tgid:"))?;
    line[5..].trim().parse().ok().map(Pid::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_and_processes() {
        let mut t = Table::new();
        let (p, th) = (Pid::from_raw(100), Pid::from_raw(101));
        assert!(t.add(p, p));
        assert!(t.add(th, p));
        assert!(!t.add(th, p));
        assert_eq!(t.tgid(th), p);
        t.remove(p);
        assert!(!t.process_gone(p));
        t.remove(th);
        assert!(t.process_gone(p) && !t.any());
        assert_eq!(tgid_of(Pid::this()), Some(Pid::this()));
        assert_eq!(Ended::Signal(9).status(), 137);
    }
}
