//! Which fds each traced process watches with epoll, learned from its
//! `epoll_ctl` calls, so that `epoll_wait` is shown only for epoll sets
//! that hold a socket, and each ready event names the fd it is about even
//! when the program stored something else in the event's `data`.
//!
//! Keyed by (process, epoll fd): threads share their process's sets, a
//! forked child gets a copy, exec and exit forget them. An epoll fd never
//! seen in an `epoll_ctl` (inherited, or set up before `-p` attached) is
//! unknown, and its waits are shown. Pure bookkeeping: no I/O.

use std::collections::HashMap;

use nix::unistd::Pid;

/// `EPOLL_CTL_ADD`.
pub const CTL_ADD: i32 = 1;
/// `EPOLL_CTL_DEL`.
pub const CTL_DEL: i32 = 2;
/// `EPOLL_CTL_MOD`.
pub const CTL_MOD: i32 = 3;

/// One fd in an epoll set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Watch {
    fd: i32,
    data: u64,
    socket: bool,
}

/// The epoll sets of every traced process.
#[derive(Debug, Default)]
pub struct EpollSets {
    map: HashMap<(i32, i32), Vec<Watch>>,
}

/// `EPOLL_CTL_ADD`, `EPOLL_CTL_DEL`, `EPOLL_CTL_MOD`, or the number.
pub fn op_name(op: i32) -> String {
    match op {
        CTL_ADD => "EPOLL_CTL_ADD".into(),
        CTL_DEL => "EPOLL_CTL_DEL".into(),
        CTL_MOD => "EPOLL_CTL_MOD".into(),
        n => n.to_string(),
    }
}

impl EpollSets {
    /// `epoll_ctl(epfd, op, fd, {events, data})` in process `tgid`;
    /// `socket` says whether `fd` is a socket.
    pub fn ctl(&mut self, tgid: Pid, epfd: i32, op: i32, fd: i32, data: u64, socket: bool) {
        let set = self.map.entry((tgid.as_raw(), epfd)).or_default();
        set.retain(|w| w.fd != fd);
        if op == CTL_ADD || op == CTL_MOD {
            set.push(Watch { fd, data, socket });
        }
    }

    /// Should a wait on `epfd` be shown: it holds a socket, or socklab has
    /// not seen it being filled.
    pub fn shows_wait(&self, tgid: Pid, epfd: i32) -> bool {
        self.map
            .get(&(tgid.as_raw(), epfd))
            .is_none_or(|set| set.iter().any(|w| w.socket))
    }

    /// The fd a ready event with `data` is about (Python stores the fd
    /// itself; a C program may store a pointer or an index).
    pub fn fd_for(&self, tgid: Pid, epfd: i32, data: u64) -> Option<i32> {
        self.map
            .get(&(tgid.as_raw(), epfd))?
            .iter()
            .find(|w| w.data == data)
            .map(|w| w.fd)
    }

    /// `fd` was closed: as an epoll fd its set is gone, as a watched fd it
    /// leaves every set (the kernel drops it when its last alias closes;
    /// socklab assumes this was the last).
    pub fn closed(&mut self, tgid: Pid, fd: i32) {
        self.closed_range(tgid, fd, fd);
    }

    /// Every fd in `lo..=hi` was closed (`close_range`).
    pub fn closed_range(&mut self, tgid: Pid, lo: i32, hi: i32) {
        let p = tgid.as_raw();
        self.map
            .retain(|(q, epfd), _| *q != p || *epfd < lo || *epfd > hi);
        for ((q, _), set) in self.map.iter_mut() {
            if *q == p {
                set.retain(|w| w.fd < lo || w.fd > hi);
            }
        }
    }

    /// A forked child shares its parent's epoll sets.
    pub fn forked(&mut self, parent: Pid, child: Pid) {
        let copies: Vec<_> = self
            .map
            .iter()
            .filter(|((p, _), _)| *p == parent.as_raw())
            .map(|((_, e), s)| ((child.as_raw(), *e), s.clone()))
            .collect();
        self.map.extend(copies);
    }

    /// The process exec'd or ended.
    pub fn forget(&mut self, tgid: Pid) {
        self.map.retain(|(p, _), _| *p != tgid.as_raw());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_follow_ctl_close_fork_and_exec() {
        let (me, child) = (Pid::from_raw(100), Pid::from_raw(200));
        let mut e = EpollSets::default();
        // Unknown sets are shown: they may hold sockets socklab never saw added.
        assert!(e.shows_wait(me, 5));
        e.ctl(me, 5, CTL_ADD, 7, 7, false);
        assert!(!e.shows_wait(me, 5), "only a pipe is watched");
        e.ctl(me, 5, CTL_ADD, 3, 0xdead, true);
        assert!(e.shows_wait(me, 5));
        assert_eq!(e.fd_for(me, 5, 0xdead), Some(3));
        assert_eq!(e.fd_for(me, 5, 7), Some(7));
        e.ctl(me, 5, CTL_MOD, 3, 0xbeef, true);
        assert_eq!(e.fd_for(me, 5, 0xdead), None);
        assert_eq!(e.fd_for(me, 5, 0xbeef), Some(3));
        e.forked(me, child);
        e.ctl(me, 5, CTL_DEL, 3, 0, true);
        assert!(!e.shows_wait(me, 5));
        assert!(e.shows_wait(child, 5), "the child's copy keeps the socket");
        e.closed(child, 3);
        assert!(!e.shows_wait(child, 5));
        e.closed(me, 5);
        assert!(e.shows_wait(me, 5), "a closed epoll fd is unknown again");
        e.forget(child);
        assert_eq!(e.fd_for(child, 5, 7), None);
        assert_eq!(op_name(CTL_ADD), "EPOLL_CTL_ADD");
        assert_eq!(op_name(9), "9");
    }
}
