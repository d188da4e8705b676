//! The accept loop shared by the TCP servers, in the course's two styles:
//! iterative (serve one client, then accept the next) and one thread per
//! connection (bounded: past `max` clients a newcomer is told and closed).

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::error::describe_io;
use crate::proto::log::Log;
use crate::proto::stop;

/// Stack for connection threads: the handlers keep small fixed buffers.
const THREAD_STACK: usize = 128 * 1024;

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

/// Accept until Ctrl-C, handing each connection to `handler`.
/// Returns how many connections were accepted.
pub fn serve<H>(listener: &TcpListener, style: Style, log: Log, handler: H) -> u64
where
    H: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    let active = Arc::new(AtomicUsize::new(0));
    let mut accepted = 0u64;
    while !stop::requested() {
        let (stream, peer) = match accept_tick(listener) {
            None => continue,
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                log.problem(&format!("accept failed: {}", describe_io(&e)));
                // EMFILE and friends: back off instead of spinning.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        accepted += 1;
        crate::proto::calls::report(crate::proto::calls::Side::Server, || {
            format!("accept() -> {peer}")
        });
        match style {
            Style::Iterative => handler(stream, peer),
            Style::Threads(max) => {
                if active.load(Ordering::SeqCst) >= max {
                    log.problem(&format!(
                        "refusing {peer}: {max} {max_clients} already connected (--max-clients)",
                        max_clients = crate::plural::noun(max, "client")
                    ));
                    let mut s = stream;
                    let _ = s.write_all(b"busy: too many clients, try again later\n");
                    continue;
                }
                active.fetch_add(1, Ordering::SeqCst);
                let (h, a) = (Arc::clone(&handler), Arc::clone(&active));
                let spawned =
                    std::thread::Builder::new()
                        .stack_size(THREAD_STACK)
                        .spawn(move || {
                            h(stream, peer);
                            a.fetch_sub(1, Ordering::SeqCst);
                        });
                if let Err(e) = spawned {
                    active.fetch_sub(1, Ordering::SeqCst);
                    log.problem(&format!("cannot start a thread for {peer}: {e}"));
                }
            }
        }
    }
    accepted
}
