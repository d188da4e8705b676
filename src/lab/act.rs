//! Socket calls for the scenarios, each reported to the call observer the
//! way a learner writes it (`send(4 bytes)`, `recv() -> 0 bytes`). Calls
//! that send are reported just before the system call, calls that receive
//! just after. Every socket has a timeout: a scenario cannot hang.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::error::{describe_io, NetError};
use crate::proto::accept::accept_tick;
use crate::proto::calls::{report, Side};
use crate::proto::net;

use super::scenario::Ctx;

/// Longest any single step may wait.
pub const STEP: Duration = Duration::from_secs(5);

/// The address every lab server binds: loopback, ephemeral port.
pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A listening TCP socket on an ephemeral loopback port, registered with the lesson.
pub fn listen(ctx: &Ctx) -> Result<TcpListener> {
    listen_at(ctx, loopback())
}

/// A listening TCP socket on `addr`, registered with the lesson.
pub fn listen_at(ctx: &Ctx, addr: SocketAddr) -> Result<TcpListener> {
    let l = net::tcp_listen(addr, true, 8)?;
    ctx.server_port(l.local_addr()?.port());
    Ok(l)
}

/// The course's default `port` on loopback, bound without SO_REUSEADDR so
/// that a port another program holds (a course server the learner left
/// running, with or without SO_REUSEADDR) is never shared: then an
/// ephemeral port, said in the lesson's facts. Binding is the check (no
/// probe-then-bind race).
fn course_port<T>(
    ctx: &Ctx,
    port: u16,
    what: &str,
    bind: impl Fn(SocketAddr) -> Result<T, NetError>,
    local: impl Fn(&T) -> std::io::Result<SocketAddr>,
) -> Result<T> {
    let want = SocketAddr::from(([127, 0, 0, 1], port));
    match bind(want) {
        Ok(t) => Ok(t),
        Err(e) if e.errno() == Some(libc::EADDRINUSE) => {
            let t = bind(loopback())?;
            let got = local(&t)?.port();
            ctx.fact(format!(
                "{what} port {port} is held by another program (a course server still running?), \
                 so the lesson used port {got} instead and left that program alone"
            ));
            Ok(t)
        }
        Err(e) => Err(e.into()),
    }
}

/// A UDP socket on the course's `port` (no SO_REUSEADDR), else an ephemeral one.
pub fn udp_course(ctx: &Ctx, port: u16) -> Result<UdpSocket> {
    course_port(
        ctx,
        port,
        "UDP",
        |a| net::udp_bind(a, false),
        UdpSocket::local_addr,
    )
}

/// A listening TCP socket on the course's `port`, else an ephemeral one;
/// registered with the lesson. SO_REUSEADDR is on (it lets the lesson
/// rebind past TIME_WAIT) but Linux still refuses a port another socket
/// listens on.
pub fn listen_course(ctx: &Ctx, port: u16) -> Result<TcpListener> {
    let l = course_port(
        ctx,
        port,
        "TCP",
        |a| net::tcp_listen(a, true, 8),
        TcpListener::local_addr,
    )?;
    ctx.server_port(l.local_addr()?.port());
    Ok(l)
}

/// `accept()`, bounded by [`STEP`].
pub fn accept(l: &TcpListener) -> Result<TcpStream> {
    let end = Instant::now() + STEP;
    while Instant::now() < end {
        if let Some(r) = accept_tick(l) {
            let (s, peer) = r.context("accept")?;
            report(Side::Server, || format!("accept() -> {peer}"));
            net::set_timeouts_stream(&s, STEP)?;
            return Ok(s);
        }
    }
    anyhow::bail!("no connection arrived within {} s", STEP.as_secs())
}

/// `socket()` + `connect()` (reported by `net::tcp_connect`).
pub fn connect(to: SocketAddr) -> Result<TcpStream> {
    Ok(net::tcp_connect(&[to], STEP)?)
}

/// `send(N bytes)`.
pub fn send(side: Side, s: &mut TcpStream, bytes: &[u8]) -> Result<()> {
    report(side, || {
        format!("send({})", crate::plural::count(bytes.len(), "byte"))
    });
    s.write_all(bytes).context("send")
}

/// `recv(max)`: reports what it returned, or the error with its errno name.
pub fn recv(side: Side, s: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    match s.read(buf) {
        Ok(n) => {
            report(side, || {
                format!(
                    "recv() -> {n} {n_bytes}",
                    n_bytes = crate::plural::noun(n, "byte")
                )
            });
            Ok(n)
        }
        Err(e) => {
            report(side, || format!("recv() failed: {}", describe_io(&e)));
            Err(e)
        }
    }
}

/// `shutdown(SHUT_WR)`.
pub fn shutdown_write(side: Side, s: &TcpStream) -> Result<()> {
    report(side, || "shutdown(SHUT_WR)".into());
    s.shutdown(Shutdown::Write).context("shutdown")
}

/// `close()`.
pub fn close<T>(side: Side, s: T) {
    report(side, || "close()".into());
    drop(s);
}

/// Read until the peer closes (recv returns 0), bounded by [`STEP`].
pub fn recv_to_end(side: Side, s: &mut TcpStream) -> Result<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = recv(side, s, &mut buf).context("recv")?;
        if n == 0 {
            return Ok(all);
        }
        all.extend_from_slice(&buf[..n]);
    }
}
