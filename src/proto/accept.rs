//! The accept loop shared by the TCP servers, in the course's two styles:
//! iterative (serve one client, then accept the next) and one thread per
//! connection (bounded: past `max` clients a newcomer is told and closed).
//!
//! Connection threads come from [`crate::proto::workers`] (a thread whose
//! client left serves the next one, idle ones end after a second). Threads
//! are reaped: finished ones are joined every tick, and on Ctrl-C every
//! connection is shut down and every thread joined (for at most
//! [`REAP_LIMIT`]). The client cap is lowered to what `ulimit -n` carries,
//! and a spare descriptor turns EMFILE into a refused client instead of a
//! wedged loop.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::error::describe_io;
use crate::proto::limits::{
    accept_error_is_per_connection, emfile_lesson, fd_cap, fd_cap_note, out_of_fds, Spare,
};
use crate::proto::log::Log;
use crate::proto::stop;
use crate::proto::workers::{Handed, Workers};
/// Longest wait for connection threads after Ctrl-C.
pub const REAP_LIMIT: Duration = Duration::from_secs(2);

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    /// In the accept loop, one at a time.
    Iterative,
    /// One thread each, at most this many at once.
    Threads(usize),
}

/// Wait up to [`stop::TICK`] for a connection; `None` on timeout.
pub fn accept_tick(listener: &TcpListener) -> Option<std::io::Result<(TcpStream, SocketAddr)>> {
    let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
    let tick = PollTimeout::try_from(stop::TICK.as_millis() as i32).unwrap_or(PollTimeout::NONE);
    match poll(&mut fds, tick) {
        Ok(0) => None,
        Ok(_) => Some(listener.accept()),
        Err(nix::errno::Errno::EINTR) => None,
        Err(e) => Some(Err(e.into())),
    }
}

/// True if connections are waiting in the backlog right now.
fn waiting(listener: &TcpListener) -> bool {
    let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
}

/// How long to wait after a failed accept() (other than EMFILE) before the
/// next one: none when only that connection failed (reset or refused
/// before it was taken: ECONNABORTED...), so a storm of resets does not
/// slow the others down; 50 ms for the rest (out of memory or buffers),
/// so the loop does not spin.
fn pause_after(e: &std::io::Error) -> Option<Duration> {
    if accept_error_is_per_connection(e) {
        None
    } else {
        Some(Duration::from_millis(50))
    }
}

/// Accept until Ctrl-C, handing each connection to `handler`.
/// Returns how many connections were accepted.
pub fn serve<H>(listener: &TcpListener, style: Style, log: Log, handler: H) -> u64
where
    H: Fn(Arc<TcpStream>, SocketAddr) + Send + Sync + 'static,
{
    let mut workers = Workers::new(handler);
    // Joining finished threads walks the list: often enough to keep it
    // short, not at every connection of a storm.
    let mut reaped = Instant::now();
    let mut spare = Spare::new();
    let style = match style {
        Style::Threads(max) => {
            let (cap, soft) = fd_cap(max, 1);
            if let Some(note) = fd_cap_note(max, cap, soft) {
                log.always(&note);
            }
            Style::Threads(cap)
        }
        s => s,
    };
    let mut accepted = 0u64;
    while !stop::requested() {
        log.tick();
        if reaped.elapsed() >= Duration::from_millis(100) {
            workers.reap();
            reaped = Instant::now();
        }
        let (stream, peer) = match accept_tick(listener) {
            None => continue,
            Some(Ok(c)) => c,
            Some(Err(e)) if out_of_fds(&e) => {
                let refused = spare.refuse_one(|| listener.accept().map(|(_, p)| p));
                let soft = fd_cap(usize::MAX, 1).1;
                log.problem(&emfile_lesson(refused, soft));
                continue;
            }
            Some(Err(e)) => {
                log.problem(&format!("accept failed: {}", describe_io(&e)));
                if let Some(pause) = pause_after(&e) {
                    std::thread::sleep(pause);
                }
                continue;
            }
        };
        accepted += 1;
        crate::proto::calls::report(crate::proto::calls::Side::Server, || {
            format!("accept() -> {peer}")
        });
        match style {
            Style::Iterative => {
                let began = Instant::now();
                workers.serve_here(stream, peer);
                let held = began.elapsed();
                if held >= Duration::from_millis(100) && waiting(listener) {
                    log.problem(&format!(
                        "iterative server: {peer} held the only server thread for {} while other clients waited in the backlog; that is the lesson of an iterative server (one slow or silent client blocks everyone); --mode threads serves them at once",
                        crate::duration::fmt_secs(held)
                    ));
                }
            }
            Style::Threads(max) => match workers.serve(stream, peer, max) {
                Handed::Reused | Handed::Started => {}
                Handed::Full(mut s) => {
                    log.problem(&format!(
                        "refusing {peer}: {max} {max_clients} already connected (--max-clients)",
                        max_clients = crate::plural::noun(max, "client")
                    ));
                    let _ = s.set_write_timeout(Some(Duration::from_millis(100)));
                    let _ = s.write_all(b"busy: too many clients, try again later\n");
                }
                Handed::Failed(e) => {
                    log.problem(&format!("cannot start a thread for {peer}: {e}"));
                }
            },
        }
    }
    let left = workers.close(REAP_LIMIT);
    if left > 0 {
        log.problem(&format!(
            "{left} connection thread(s) still running {} after Ctrl-C",
            crate::duration::fmt_secs(REAP_LIMIT)
        ));
    }
    accepted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_reset_in_the_backlog_does_not_pause_the_loop() {
        let err = |n| std::io::Error::from_raw_os_error(n);
        for n in [libc::ECONNABORTED, libc::EPROTO, libc::EPERM, libc::EINTR] {
            assert_eq!(pause_after(&err(n)), None, "errno {n}");
        }
        for n in [libc::ENOBUFS, libc::ENOMEM] {
            assert_eq!(
                pause_after(&err(n)),
                Some(Duration::from_millis(50)),
                "errno {n}"
            );
        }
    }
}
