//! The TCP calculator server: reads three NUL-terminated numbers in any
//! split, replies `res\0\0`, closes. Bad or missing input is logged with a
//! hex dump and only that connection is closed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::duration::fmt_secs;
use crate::error::{describe_io, NetError};
use crate::proto::accept::{self, Style};
use crate::proto::calls::{self, Side};
use crate::proto::log::{quoted, Log};
use crate::proto::net;
use crate::wire::tcp_calc::{compute, encode_reply, NumberReader};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub bind: SocketAddr,
    /// Set SO_REUSEADDR.
    pub reuseaddr: bool,
    /// Iterative or threads.
    pub style: Style,
    /// Close a client silent for this long (zero = never).
    pub idle: Duration,
    /// Event log.
    pub log: Log,
}

/// Listen, then serve until Ctrl-C.
pub fn serve(cfg: &Config) -> Result<(), NetError> {
    let listener = net::tcp_listen(cfg.bind, cfg.reuseaddr, 1024)?;
    serve_on(listener, cfg)
}

/// Serve on an already listening socket until Ctrl-C.
pub fn serve_on(listener: std::net::TcpListener, cfg: &Config) -> Result<(), NetError> {
    let local = listener.local_addr().unwrap_or(cfg.bind);
    let log = cfg.log.counting("requests");
    let style = match cfg.style {
        Style::Iterative => "iterative: one client at a time".to_string(),
        Style::Threads(max) => format!("one thread per connection, at most {max}"),
    };
    log.always(&format!(
        "tcp-calc server listening on {local} (TCP, {style}, {}); numbers end with NUL, reply is res\\x00\\x00",
        net::reuse_note(cfg.reuseaddr)
    ));
    let idle = cfg.idle;
    let n = accept::serve(&listener, cfg.style, log, move |s, p| {
        handle(s, p, idle, log)
    });
    log.always(&format!(
        "tcp-calc server stopped after {n} {n_connections}",
        n_connections = crate::plural::noun(n, "connection")
    ));
    Ok(())
}

fn handle(conn: Arc<TcpStream>, peer: SocketAddr, idle: Duration, log: Log) {
    let mut stream = &*conn;
    log.event(&format!("connection from {peer}"));
    if let Err(e) = net::set_timeouts_stream(stream, idle) {
        log.problem(&format!("{peer}: {e}"));
    }
    let mut reader = NumberReader::new();
    let mut nums: Vec<i128> = Vec::with_capacity(3);
    let mut buf = [0u8; 64];
    while nums.len() < 3 {
        let n = match stream.read(&mut buf) {
            Ok(0) => {
                let k = nums.len() + 1;
                if nums.is_empty() && reader.pending().is_empty() {
                    log.problem(&format!(
                        "{peer} closed the connection without sending a number"
                    ));
                } else {
                    log.bad_input(
                        peer,
                        &format!(
                            "the stream ended in the middle of the request: number {k} of 3 has {} byte(s) and no NUL",
                            reader.pending().len()
                        ),
                        reader.pending(),
                    );
                }
                log.event(&format!("closed connection with {peer}"));
                return;
            }
            Ok(n) => n,
            Err(e) if net::is_timeout(&e) => {
                log.problem(&format!(
                    "{peer} sent nothing for {} while number {} of 3 was expected: closing",
                    fmt_secs(idle),
                    nums.len() + 1
                ));
                return;
            }
            Err(e) => {
                log.problem(&format!("receive from {peer} failed: {}", describe_io(&e)));
                return;
            }
        };
        calls::report(Side::Server, || {
            format!(
                "recv() -> {n} {n_bytes} from {peer}",
                n_bytes = crate::plural::noun(n, "byte")
            )
        });
        log.event(&format!(
            "received {n} {n_bytes} from {peer}: {}",
            quoted(&buf[..n]),
            n_bytes = crate::plural::noun(n, "byte")
        ));
        if let Err((error, text)) = reader.read_into(&buf[..n], &mut nums, 3) {
            log.bad_input(
                peer,
                &format!("number {} of 3: {error}", nums.len() + 1),
                &text,
            );
            log.event(&format!("closed connection with {peer}"));
            return;
        }
    }
    let res = compute(nums[0], nums[1], nums[2]);
    let sym = if nums[2] == 0 { '+' } else { '-' };
    log.event(&format!(
        "request from {peer}: {} {sym} {} = {res}",
        nums[0], nums[1]
    ));
    let reply = encode_reply(res);
    calls::report(Side::Server, || {
        format!(
            "send({}) to {peer}",
            crate::plural::count(reply.len(), "byte")
        )
    });
    match stream.write_all(&reply) {
        Ok(()) => log.event(&format!(
            "sent {} to {peer}: {}",
            crate::plural::count(reply.len(), "byte"),
            quoted(&reply)
        )),
        Err(e) => log.problem(&format!("send to {peer} failed: {}", describe_io(&e))),
    }
    calls::report(Side::Server, || format!("close() {peer}"));
    drop(conn);
    log.event(&format!("closed connection with {peer}"));
}
