//! The TCP calculator client: one request narrated, or load mode (one
//! connection per request, as the protocol closes after each reply).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::error::{NetError, Stage};
use crate::proto::calls::{self, Side};
use crate::proto::log::quoted;
use crate::proto::stats::LoadStats;
use crate::proto::{net, stop};
use crate::render::out;
use crate::wire::tcp_calc::{compute, decode_reply, encode_number, MAX_NUMBER_LEN};

/// Read the reply up to its first NUL (bounded), as the course's `readNumber`.
fn read_reply(
    stream: &mut std::net::TcpStream,
    peer: SocketAddr,
    timeout: Duration,
) -> Result<Vec<u8>, NetError> {
    let mut got = Vec::with_capacity(16);
    let mut buf = [0u8; 64];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(n) => {
                calls::report(Side::Client, || format!("recv() -> {n} {n_bytes}", n_bytes = crate::plural::noun(n, "byte")));
                n
            }
            Err(e) if net::is_timeout(&e) => {
                return Err(NetError::timeout(peer, "the result", timeout)
                    .with_hint("the server accepted the connection but did not answer: is it a tcp-calc server, and did it get all three NUL-terminated numbers?"))
            }
            Err(e) => return Err(NetError::os(Stage::Receive, peer, e)),
        };
        if n == 0 {
            return Err(NetError::msg(
                Stage::Protocol,
                peer,
                format!(
                    "the server closed the connection before a NUL-terminated result (got {})",
                    quoted(&got)
                ),
            ));
        }
        got.extend_from_slice(&buf[..n]);
        if got.contains(&0) {
            return Ok(got);
        }
        if got.len() > MAX_NUMBER_LEN + 2 {
            return Err(NetError::msg(
                Stage::Protocol,
                peer,
                format!(
                    "the reply is longer than {MAX_NUMBER_LEN} bytes without a NUL: {}",
                    quoted(&got[..got.len().min(64)])
                ),
            ));
        }
    }
}

fn parse(got: &[u8], peer: SocketAddr) -> Result<i128, NetError> {
    decode_reply(got).map_err(|e| {
        NetError::msg(
            Stage::Protocol,
            peer,
            format!("bad result {}: {e}", quoted(got)),
        )
    })
}

/// Send `a`, `b`, `op` each NUL-terminated in its own send; print and return the result.
pub fn ask(
    to: &[SocketAddr],
    a: i64,
    b: i64,
    op: u32,
    timeout: Duration,
) -> Result<i128, NetError> {
    let mut stream = net::tcp_connect(to, timeout)?;
    let peer = stream.peer_addr().unwrap_or(to[0]);
    let me = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    out::line(&format!("connected to {peer} from {me}"));
    for v in [a, b, i64::from(op)] {
        let bytes = encode_number(v);
        calls::report(Side::Client, || {
            format!("send({})", crate::plural::count(bytes.len(), "byte"))
        });
        stream
            .write_all(&bytes)
            .map_err(|e| NetError::os(Stage::Send, peer, e))?;
        out::line(&format!(
            "sent {}: {}",
            crate::plural::count(bytes.len(), "byte"),
            quoted(&bytes)
        ));
    }
    let got = read_reply(&mut stream, peer, timeout)?;
    out::line(&format!(
        "received {}: {}",
        crate::plural::count(got.len(), "byte"),
        quoted(&got)
    ));
    let res = parse(&got, peer)?;
    let expect = compute(a.into(), b.into(), op.into());
    if res != expect {
        out::line(&format!(
            "note: expected {expect}, the server answered {res}"
        ));
    }
    out::line(&format!("result: {res}"));
    calls::report(Side::Client, || "close()".into());
    drop(stream);
    Ok(res)
}

/// Load mode: `count` requests over `concurrency` threads; prints the report.
pub fn load(to: &[SocketAddr], count: u64, concurrency: usize, timeout: Duration) -> LoadStats {
    let k = concurrency.max(1);
    out::line(&format!(
        "tcp-calc load: {count} {count_requests} (one connection each) to {} from {k} {k_clients}",
        to[0],
        count_requests = crate::plural::noun(count, "request"),
        k_clients = crate::plural::noun(k, "client")
    ));
    let started = Instant::now();
    let handles: Vec<_> = (0..k)
        .map(|t| {
            let share = count / k as u64 + u64::from((t as u64) < count % k as u64);
            let to = to.to_vec();
            std::thread::spawn(move || load_thread(&to, t as i64, share, timeout))
        })
        .collect();
    let mut total = LoadStats::default();
    for h in handles {
        if let Ok(s) = h.join() {
            total.merge(s);
        }
    }
    for l in total.report(started.elapsed()) {
        out::line(&l);
    }
    total
}

fn load_thread(to: &[SocketAddr], id: i64, count: u64, timeout: Duration) -> LoadStats {
    let mut st = LoadStats::default();
    let mut req = Vec::with_capacity(32);
    for i in 0..count {
        if stop::requested() {
            break;
        }
        let (a, b) = (i as i64, id);
        req.clear();
        req.extend_from_slice(&encode_number(a));
        req.extend_from_slice(&encode_number(b));
        req.extend_from_slice(&encode_number(1));
        st.sent += 1;
        let t0 = Instant::now();
        let r = net::tcp_connect(to, timeout).and_then(|mut s| {
            let peer = s.peer_addr().unwrap_or(to[0]);
            s.write_all(&req)
                .map_err(|e| NetError::os(Stage::Send, peer, e))?;
            let got = read_reply(&mut s, peer, timeout)?;
            parse(&got, peer)
        });
        match r {
            Ok(v) if v == i128::from(a - b) => {
                st.ok += 1;
                st.latency(t0.elapsed());
            }
            Ok(_) => st.wrong += 1,
            Err(e) => {
                st.missing += 1;
                st.first_error
                    .get_or_insert_with(|| e.to_string().replace('\n', " "));
            }
        }
    }
    st
}
