//! Opening connections: the handshake, a refused connect, a receive timeout.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::error::describe_io;
use crate::lab::act::{self, STEP};
use crate::lab::scenario::{Ctx, Scenario};
use crate::proto::calls::{report, Side};
use crate::proto::net;

/// connect/accept and the 3-way handshake.
pub const HANDSHAKE: Scenario = Scenario {
    name: "handshake",
    title: "connect() and accept(): the 3-way handshake SYN, SYN-ACK, ACK",
    run: handshake,
    explain: "The server called listen(), so the kernel answers SYNs on that port by itself. \
The client's connect() sent a SYN (handshake 1/3) carrying its initial sequence number; the \
server's kernel answered SYN-ACK (2/3), acknowledging it and sending its own; the client's ACK \
(3/3) completed the handshake. connect() returned when the SYN-ACK arrived; accept() only hands \
over a connection that is already established - it sends nothing itself. Sequence numbers are \
shown relative: the real ones start at random values.",
};

fn handshake(ctx: &Ctx) -> Result<()> {
    let l = act::listen(ctx)?;
    let addr = l.local_addr()?;
    std::thread::scope(|sc| -> Result<()> {
        let server = sc.spawn(|| act::accept(&l));
        let client = act::connect(addr)?;
        let conn = server
            .join()
            .map_err(|_| anyhow::anyhow!("server thread failed"))??;
        ctx.fact(format!(
            "connect() returned; accept() returned a new socket for {}",
            client.local_addr()?
        ));
        ctx.keep((client, conn));
        Ok(())
    })?;
    ctx.keep(l);
    Ok(())
}

/// connect to a port with no listener.
pub const REFUSED: Scenario = Scenario {
    name: "refused",
    title: "connect() to a port nobody listens on: SYN answered by RST-ACK, \"Connection refused\"",
    run: refused,
    explain: "Nothing listens on the port (a socket is bound to it but never called listen()). The \
client's SYN reached the kernel, which found no listening socket and answered at once with RST-ACK: \
it acknowledges the SYN (ack 1) and resets. connect() fails with ECONNREFUSED, which Python \
raises as ConnectionRefusedError. No data was ever exchanged; there is nothing to close.",
};

fn refused(ctx: &Ctx) -> Result<()> {
    // Hold a port without listening, so nobody else can take it.
    let holder = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    holder.bind(&act::loopback().into())?;
    let addr = holder
        .local_addr()?
        .as_socket()
        .ok_or_else(|| anyhow::anyhow!("no address"))?;
    ctx.server_port(addr.port());
    match net::tcp_connect(&[addr], STEP) {
        Ok(s) => {
            ctx.fact("connect() unexpectedly succeeded");
            ctx.keep(s);
        }
        Err(e) => {
            let what = match e.errno() {
                Some(code) => describe_io(&std::io::Error::from_raw_os_error(code)),
                None => e.to_string(),
            };
            report(Side::Client, || format!("connect() failed: {what}"));
            ctx.fact(format!("connect() failed: {what}"));
        }
    }
    ctx.keep(holder);
    Ok(())
}

/// A receive timeout on a peer that says nothing.
pub const TIMEOUT: Scenario = Scenario {
    name: "timeout",
    title: "a receive timeout (SO_RCVTIMEO) on a peer that says nothing",
    run: timeout,
    explain: "The connection is up but the server never sends. The client set SO_RCVTIMEO \
(Python: sock.settimeout(0.5)), so recv() gave up after 0.5 s with EAGAIN (Python raises \
socket.timeout / TimeoutError). Nothing crosses the wire while it waits: a timeout is a local \
decision, not a packet. The client then closed, and the server, which was waiting in recv(), read \
end-of-file and closed too.",
};

fn timeout(ctx: &Ctx) -> Result<()> {
    let l = act::listen(ctx)?;
    let addr = l.local_addr()?;
    std::thread::scope(|sc| -> Result<()> {
        let server = sc.spawn(|| -> Result<()> {
            let mut s = act::accept(&l)?;
            // Say nothing; wait for the client to give up and close.
            let _ = act::recv_to_end(Side::Server, &mut s)?;
            act::close(Side::Server, s);
            Ok(())
        });
        let mut c = act::connect(addr)?;
        let limit = Duration::from_millis(500);
        report(Side::Client, || "setsockopt(SO_RCVTIMEO, 0.5 s)".into());
        c.set_read_timeout(Some(limit))?;
        let t = Instant::now();
        let mut buf = [0u8; 64];
        match act::recv(Side::Client, &mut c, &mut buf) {
            Ok(n) => ctx.fact(format!(
                "recv() unexpectedly returned {n} {n_bytes}",
                n_bytes = crate::plural::noun(n, "byte")
            )),
            // The setting, not the measurement, names the lesson: a loaded
            // machine wakes the thread late (0.56 s is still "after 0.5 s").
            Err(e) if net::is_timeout(&e) => ctx.fact(format!(
                "recv() timed out after {} (SO_RCVTIMEO; it returned after {}): {}",
                crate::duration::fmt_secs(limit),
                crate::duration::fmt_ns(i64::try_from(t.elapsed().as_nanos()).unwrap_or(i64::MAX)),
                describe_io(&e)
            )),
            Err(e) => ctx.fact(format!("recv() failed: {}", describe_io(&e))),
        }
        act::close(Side::Client, c);
        server
            .join()
            .map_err(|_| anyhow::anyhow!("server thread failed"))?
    })
}
