//! Bytes and boundaries: byte order in the UDP calculator, and why recv()
//! must loop on a stream (numbers and records arriving in pieces).

use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{anyhow, Result};

use crate::lab::act::{self, STEP};
use crate::lab::scenario::{Ctx, Scenario};
use crate::proto::calls::{report, Side};
use crate::proto::net;
use crate::wire::monitor::{self, RECORD_LEN};
use crate::wire::order::Order;
use crate::wire::tcp_calc::{compute, encode_reply, NumberReader};
use crate::wire::udp_calc::{decode_reply, encode_reply as udp_reply, Request};

/// Byte order in the UDP calculator.
pub const UDP_CALC: Scenario = Scenario {
    name: "udp-calc",
    title: "the same UDP calculator request in native and in network order, and what the server computes",
    run: udp_calc,
    explain: "The server unpacks requests with struct.unpack(\"III\"): native order, little-endian on \
this machine. The first request was packed the same way, so a=10 and b=250 arrive as sent and the \
reply is 260. The second was packed in network order (\"!III\"): the same numbers, bytes reversed. \
The server reads 00 00 00 0a as 167772160 and 00 00 00 fa as 4194304000, adds them, wraps the sum \
modulo 2^32 and packs it little-endian; the client reads those bytes big-endian and gets 4. Neither \
side can notice: both ends of a protocol must agree on the byte order, and network order (\"!\") is \
the convention. UDP has no handshake and no close: one datagram each way per request.",
};

fn udp_calc(ctx: &Ctx) -> Result<()> {
    // No SO_REUSEADDR: on UDP it would let two servers share the port.
    let srv = act::udp_course(ctx, 10009)?;
    let addr = srv.local_addr()?;
    ctx.speaks(addr.port(), 10009);
    srv.set_read_timeout(Some(STEP))?;
    std::thread::scope(|sc| -> Result<()> {
        let server = sc.spawn(|| -> Result<()> {
            let mut buf = [0u8; 64];
            for _ in 0..2 {
                let (n, from) = srv.recv_from(&mut buf)?;
                report(Side::Server, || {
                    format!(
                        "recvfrom() -> {n} {n_bytes} from {from}",
                        n_bytes = crate::plural::noun(n, "byte")
                    )
                });
                let req = Request::decode(&buf[..n], Order::Native)
                    .map_err(|e| anyhow!("bad request: {e}"))?;
                let out = req.compute();
                ctx.fact(format!(
                    "the server (native order) read a={} b={} op={} and computed {}{}",
                    req.a,
                    req.b,
                    req.op,
                    out.exact,
                    if out.wrapped() {
                        format!(", sent {} (wrapped modulo 2^32)", out.wire)
                    } else {
                        String::new()
                    }
                ));
                report(Side::Server, || format!("sendto(4 bytes, {from})"));
                srv.send_to(&udp_reply(out.wire, Order::Native), from)?;
            }
            Ok(())
        });
        let c = net::udp_connect(&[addr], STEP)?;
        for (order, name) in [
            (Order::Native, "native \"III\""),
            (Order::Big, "network \"!III\""),
        ] {
            let req = Request {
                a: 10,
                b: 250,
                op: 0,
            };
            report(Side::Client, || "send(12 bytes)".into());
            c.send(&req.encode(order))?;
            let mut buf = [0u8; 64];
            let n = c.recv(&mut buf)?;
            report(Side::Client, || {
                format!(
                    "recv() -> {n} {n_bytes}",
                    n_bytes = crate::plural::noun(n, "byte")
                )
            });
            let res = decode_reply(&buf[..n], order).map_err(|e| anyhow!("bad reply: {e}"))?;
            ctx.fact(format!(
                "request 10 + 250 packed in {name} order: the client read the result {res}"
            ));
        }
        act::close(Side::Client, c);
        server.join().map_err(|_| anyhow!("server thread failed"))?
    })?;
    ctx.keep(srv);
    Ok(())
}

/// recv() must loop.
pub const SPLIT: Scenario = Scenario {
    name: "split",
    title: "NUL-terminated numbers in separate segments and a 67-byte record in pieces: why recv() must loop",
    run: split,
    explain: "TCP delivers a stream of bytes, not messages: one send() is not one recv(). The client \
sent the number 123 as \"12\" and then \"3\\x00\", each in its own segment, so the server's first \
recv() returned only \"12\" - a reader that stopped there would compute with 12. The tcp-calc \
server keeps reading until the NUL. Then a 67-byte monitor record was sent in three pieces; the \
server asked for the 67 - len(buf) bytes still missing each time, exactly like the course's select \
server, and only after the third recv() did it have a whole record. Any protocol on TCP needs \
framing (a terminator or a fixed or announced length) and a loop around recv().",
};

fn nodelay_connect(addr: std::net::SocketAddr) -> Result<std::net::TcpStream> {
    let c = act::connect(addr)?;
    // Send each piece as its own segment (no Nagle coalescing).
    report(Side::Client, || "setsockopt(TCP_NODELAY, 1)".into());
    c.set_nodelay(true)?;
    Ok(c)
}

/// Wait (bounded) until the server thread's recv() returned; a server
/// that ended (with its error, reported at join) does not make us wait.
fn wait_read(was_read: &mpsc::Receiver<()>) -> Result<()> {
    match was_read.recv_timeout(PIECE_WAIT) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => Ok(()),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(anyhow!(
            "the server did not read the piece within {}",
            crate::duration::fmt_secs(PIECE_WAIT)
        )),
    }
}

/// Longest wait for the server to read one piece.
const PIECE_WAIT: Duration = Duration::from_secs(10);

fn split(ctx: &Ctx) -> Result<()> {
    let calc = act::listen_course(ctx, 10009)?;
    let mon = act::listen_course(ctx, 5000)?;
    let (calc_addr, mon_addr) = (calc.local_addr()?, mon.local_addr()?);
    ctx.speaks(calc_addr.port(), 10009);
    ctx.speaks(mon_addr.port(), 5000);
    let pause = Duration::from_millis(40);
    std::thread::scope(|sc| -> Result<()> {
        // tcp-calc: numbers split across segments. The client sends the
        // next piece only once the server's recv() returned the previous
        // one (lockstep), so a loaded machine cannot merge two pieces into
        // one recv() and the lesson is the same on every run.
        let (read, was_read) = mpsc::channel::<()>();
        let server = sc.spawn(|| -> Result<()> {
            let read = read; // moved in: dropped (disconnecting) when the server ends
            let mut s = act::accept(&calc)?;
            let mut reader = NumberReader::new();
            let mut nums = Vec::new();
            let mut sizes = Vec::new();
            let mut buf = [0u8; 64];
            while nums.len() < 3 {
                let n = act::recv(Side::Server, &mut s, &mut buf)?;
                if n == 0 {
                    return Err(anyhow!("the client closed early"));
                }
                sizes.push(n);
                let _ = read.send(());
                reader
                    .read_into(&buf[..n], &mut nums, 3)
                    .map_err(|(error, _)| anyhow!("bad number: {error}"))?;
            }
            ctx.fact(format!(
                "the tcp-calc server needed {} recv() {} ({} bytes) for three numbers: {:?}",
                sizes.len(),
                crate::plural::noun(sizes.len(), "call"),
                sizes
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(" + "),
                nums
            ));
            let reply = encode_reply(compute(nums[0], nums[1], nums[2]));
            act::send(Side::Server, &mut s, &reply)?;
            act::close(Side::Server, s);
            Ok(())
        });
        let mut c = nodelay_connect(calc_addr)?;
        for piece in [&b"12"[..], b"3\0", b"45\0", b"0\0"] {
            act::send(Side::Client, &mut c, piece)?;
            wait_read(&was_read)?;
            std::thread::sleep(pause);
        }
        let reply = act::recv_to_end(Side::Client, &mut c)?;
        ctx.fact(format!(
            "the client got {:?}",
            String::from_utf8_lossy(&reply)
        ));
        act::close(Side::Client, c);
        server
            .join()
            .map_err(|_| anyhow!("server thread failed"))??;

        // monitor: one 67-byte record in three pieces, in lockstep too.
        let (read, was_read) = mpsc::channel::<()>();
        let server = sc.spawn(|| -> Result<()> {
            let read = read; // moved in: dropped (disconnecting) when the server ends
            let mut s = act::accept(&mon)?;
            let mut rec = [0u8; RECORD_LEN];
            let mut have = 0;
            let mut sizes = Vec::new();
            while have < RECORD_LEN {
                let n = act::recv(Side::Server, &mut s, &mut rec[have..])?;
                if n == 0 {
                    return Err(anyhow!("the client left mid-record"));
                }
                sizes.push(n.to_string());
                have += n;
                let _ = read.send(());
            }
            let r = monitor::decode(&rec).map_err(|e| anyhow!("bad record: {e}"))?;
            ctx.fact(format!(
                "the monitor server needed {} recv() {} ({} bytes) for one {RECORD_LEN}-byte record from {}",
                sizes.len(),
                crate::plural::noun(sizes.len(), "call"),
                sizes.join(" + "),
                r.host
            ));
            let _ = act::recv_to_end(Side::Server, &mut s)?;
            act::close(Side::Server, s);
            Ok(())
        });
        let mut c = nodelay_connect(mon_addr)?;
        let rec = monitor::encode("pc-home", 0.5, 50.4);
        for piece in [&rec[..20], &rec[20..50], &rec[50..]] {
            report(Side::Client, || {
                format!("send({})", crate::plural::count(piece.len(), "byte"))
            });
            c.write_all(piece)?;
            wait_read(&was_read)?;
            std::thread::sleep(pause);
        }
        act::close(Side::Client, c);
        server.join().map_err(|_| anyhow!("server thread failed"))?
    })?;
    ctx.keep((calc, mon));
    Ok(())
}
