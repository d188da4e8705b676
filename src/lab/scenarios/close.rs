//! Ending connections: orderly close, abortive close (RST), half-close, and
//! the TIME_WAIT that makes bind() fail without SO_REUSEADDR.

use std::net::{SocketAddr, SocketAddrV4};
use std::time::Duration;

use anyhow::{anyhow, Result};

use crate::error::describe_io;
use crate::lab::act;
use crate::lab::procnet;
use crate::lab::scenario::{Ctx, Scenario};
use crate::proto::calls::{report, Side};
use crate::proto::net;

fn v4(a: SocketAddr) -> Option<SocketAddrV4> {
    match a {
        SocketAddr::V4(v) => Some(v),
        SocketAddr::V6(_) => None,
    }
}

/// Record what the kernel says about `local` -> `remote` (for TIME_WAIT).
fn kernel_state(ctx: &Ctx, who: &str, local: SocketAddr, remote: SocketAddr) {
    if let (Some(l), Some(r)) = (v4(local), v4(remote)) {
        match procnet::state(l, r) {
            Some(st) => ctx.fact(format!(
                "the kernel lists the {who}'s side {l} -> {r} as {st} (/proc/net/tcp)"
            )),
            None => ctx.fact(format!("the kernel no longer lists {l} -> {r}")),
        }
    }
}

/// Orderly close.
pub const CLOSE: Scenario = Scenario {
    name: "close",
    title: "orderly close: FIN and ACK both ways, and who ends in TIME_WAIT",
    run: close,
    explain: "The client called close() first: its kernel sent FIN (\"I will send no more\"), \
and the server's kernel acknowledged it. The server's recv() then returned 0 bytes - end of file - \
which is how a program learns that the peer closed. When the server closed too, its FIN was \
acknowledged by the client. The side that closed first (here the client) stays in TIME_WAIT for \
60 s on Linux, so that late packets of this connection cannot be mistaken for a new one: that is \
why a server restarted right after closing connections needs SO_REUSEADDR (see `lab reuseaddr`).",
};

fn close(ctx: &Ctx) -> Result<()> {
    let l = act::listen(ctx)?;
    let addr = l.local_addr()?;
    let (client_addr, server_addr) =
        std::thread::scope(|sc| -> Result<(SocketAddr, SocketAddr)> {
            let server = sc.spawn(|| -> Result<SocketAddr> {
                let mut s = act::accept(&l)?;
                let mut buf = [0u8; 64];
                act::recv(Side::Server, &mut s, &mut buf)?;
                let n = act::recv(Side::Server, &mut s, &mut buf)?;
                if n == 0 {
                    ctx.fact(
                        "the server's recv() returned 0 bytes: end of file, the client closed",
                    );
                }
                // Give the kernel time to acknowledge the FIN on its own.
                std::thread::sleep(Duration::from_millis(200));
                let me = s.local_addr()?;
                act::close(Side::Server, s);
                Ok(me)
            });
            let mut c = act::connect(addr)?;
            let me = c.local_addr()?;
            act::send(Side::Client, &mut c, b"bye\n")?;
            std::thread::sleep(Duration::from_millis(50));
            act::close(Side::Client, c);
            let srv = server
                .join()
                .map_err(|_| anyhow!("server thread failed"))??;
            Ok((me, srv))
        })?;
    std::thread::sleep(Duration::from_millis(50));
    kernel_state(ctx, "client", client_addr, server_addr);
    ctx.keep(l);
    Ok(())
}

/// Abortive close.
pub const ABORT: Scenario = Scenario {
    name: "abort",
    title: "RST from close() with unread data, and from SO_LINGER 0",
    run: abort,
    explain: "Two aborts. First, the server closed its socket while the client's data sat unread in \
its receive buffer: the kernel cannot pretend the data was delivered, so instead of FIN it sends \
RST, and the client's next recv() fails with ECONNRESET (\"Connection reset by peer\"). Second, the \
client set SO_LINGER to {on, 0 s} and closed: that asks for an abortive close, so the kernel sends \
RST at once, discards anything unsent, and skips TIME_WAIT; the server's recv() fails with \
ECONNRESET. An RST ends a connection immediately, in one packet, with no acknowledgement.",
};

fn abort(ctx: &Ctx) -> Result<()> {
    let l = act::listen(ctx)?;
    let addr = l.local_addr()?;
    std::thread::scope(|sc| -> Result<()> {
        // 1. close() with unread data.
        let server = sc.spawn(|| -> Result<()> {
            let s = act::accept(&l)?;
            std::thread::sleep(Duration::from_millis(100));
            act::close(Side::Server, s);
            Ok(())
        });
        let mut c = act::connect(addr)?;
        act::send(Side::Client, &mut c, b"data the server never reads\n")?;
        server
            .join()
            .map_err(|_| anyhow!("server thread failed"))??;
        std::thread::sleep(Duration::from_millis(50));
        let mut buf = [0u8; 64];
        match act::recv(Side::Client, &mut c, &mut buf) {
            Ok(n) => ctx.fact(format!(
                "after the server's close, the client's recv() returned {n} {n_bytes}",
                n_bytes = crate::plural::noun(n, "byte")
            )),
            Err(e) => ctx.fact(format!(
                "server closed with unread data; the client's recv() failed: {}",
                describe_io(&e)
            )),
        }
        act::close(Side::Client, c);
        std::thread::sleep(Duration::from_millis(100));

        // 2. SO_LINGER 0.
        let server = sc.spawn(|| -> Result<()> {
            let mut s = act::accept(&l)?;
            let mut buf = [0u8; 64];
            match act::recv(Side::Server, &mut s, &mut buf) {
                Ok(n) => ctx.fact(format!(
                    "after SO_LINGER 0, the server's recv() returned {n} {n_bytes}",
                    n_bytes = crate::plural::noun(n, "byte")
                )),
                Err(e) => ctx.fact(format!(
                    "client closed with SO_LINGER 0; the server's recv() failed: {}",
                    describe_io(&e)
                )),
            }
            act::close(Side::Server, s);
            Ok(())
        });
        let c = act::connect(addr)?;
        std::thread::sleep(Duration::from_millis(100));
        report(Side::Client, || "setsockopt(SO_LINGER, {on, 0 s})".into());
        socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO))?;
        act::close(Side::Client, c);
        server.join().map_err(|_| anyhow!("server thread failed"))?
    })?;
    ctx.keep(l);
    Ok(())
}

/// Half-close.
pub const HALF_CLOSE: Scenario = Scenario {
    name: "half-close",
    title: "shutdown(SHUT_WR): FIN one way while data still flows back (the HTTP GET lesson)",
    run: half_close,
    explain: "The client sent its request and then called shutdown(SHUT_WR): its kernel sent FIN, \
meaning \"no more data from me\", but the socket can still receive. The server read until recv() \
returned 0 - that end of file is how it knew the request was complete - and then sent its reply \
over the half-closed connection. Data flowing after a FIN is what makes this a half-close. The \
server then closed, and the client read the reply up to end of file. HTTP/1.0 clients like the \
course's GET program work exactly this way.",
};

fn half_close(ctx: &Ctx) -> Result<()> {
    let l = act::listen(ctx)?;
    let addr = l.local_addr()?;
    std::thread::scope(|sc| -> Result<()> {
        let server = sc.spawn(|| -> Result<()> {
            let mut s = act::accept(&l)?;
            let req = act::recv_to_end(Side::Server, &mut s)?;
            ctx.fact(format!(
                "the server read the whole {}-byte request, then recv() returned 0 (the client's FIN)",
                req.len()
            ));
            act::send(Side::Server, &mut s, b"HTTP/1.0 200 OK\r\n\r\nhello\n")?;
            act::close(Side::Server, s);
            Ok(())
        });
        let mut c = act::connect(addr)?;
        act::send(Side::Client, &mut c, b"GET / HTTP/1.0\r\n\r\n")?;
        act::shutdown_write(Side::Client, &c)?;
        let reply = act::recv_to_end(Side::Client, &mut c)?;
        ctx.fact(format!(
            "after its shutdown(SHUT_WR) the client still received {}",
            crate::plural::count(reply.len(), "byte")
        ));
        act::close(Side::Client, c);
        server.join().map_err(|_| anyhow!("server thread failed"))?
    })?;
    ctx.keep(l);
    Ok(())
}

/// TIME_WAIT and SO_REUSEADDR.
pub const REUSEADDR: Scenario = Scenario {
    name: "reuseaddr",
    title: "bind() fails with \"Address already in use\" while TIME_WAIT holds the port; SO_REUSEADDR fixes it",
    run: reuseaddr,
    explain: "The server closed its connection first, so its side (the server's port) went into \
TIME_WAIT, and then the listening socket was closed too - as when a server is stopped. A new \
socket binding the same port without SO_REUSEADDR fails with EADDRINUSE (\"Address already in \
use\"): the old connection still holds it for 60 s. With SO_REUSEADDR set before bind(), the bind \
succeeds at once, which is why servers (and socklab, unless given --no-reuseaddr) set it. The \
port is not really in use by a program: only by the TIME_WAIT memory of a closed connection.",
};

fn reuseaddr(ctx: &Ctx) -> Result<()> {
    let l = act::listen(ctx)?;
    let addr = l.local_addr()?;
    std::thread::scope(|sc| -> Result<()> {
        let server = sc.spawn(|| -> Result<()> {
            let mut s = act::accept(&l)?;
            act::send(Side::Server, &mut s, b"bye\n")?;
            act::close(Side::Server, s);
            Ok(())
        });
        let mut c = act::connect(addr)?;
        let me = c.local_addr()?;
        let _ = act::recv_to_end(Side::Client, &mut c)?;
        std::thread::sleep(Duration::from_millis(50));
        act::close(Side::Client, c);
        server
            .join()
            .map_err(|_| anyhow!("server thread failed"))??;
        std::thread::sleep(Duration::from_millis(50));
        kernel_state(ctx, "server", addr, me);
        Ok(())
    })?;
    act::close(Side::Server, l);
    // The same port again, first without SO_REUSEADDR, then with it.
    match net::tcp_listen(addr, false, 8) {
        Ok(l2) => {
            ctx.fact(format!(
                "bind({addr}) without SO_REUSEADDR unexpectedly succeeded"
            ));
            ctx.keep(l2);
        }
        Err(e) => {
            let what = e
                .errno()
                .map(|c| describe_io(&std::io::Error::from_raw_os_error(c)))
                .unwrap_or_else(|| e.to_string());
            report(Side::Server, || format!("bind() failed: {what}"));
            ctx.fact(format!("bind({addr}) without SO_REUSEADDR failed: {what}"));
        }
    }
    match net::tcp_listen(addr, true, 8) {
        Ok(l3) => {
            ctx.fact(format!("bind({addr}) with SO_REUSEADDR succeeded"));
            ctx.keep(l3);
        }
        Err(e) => ctx.fact(format!("bind({addr}) with SO_REUSEADDR failed too: {e}")),
    }
    Ok(())
}
