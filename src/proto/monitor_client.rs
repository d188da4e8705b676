//! The system-monitor client: real figures of this machine, one exact
//! 67-byte record per interval; with `clients > 1`, load mode: K connections
//! from one thread, every connection sending each record.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::error::{NetError, Stage};
use crate::proto::calls::{self, Side};
use crate::proto::sysstat::{hostname, Sampler};
use crate::proto::{net, stop};
use crate::render::out;
use crate::wire::monitor::{encode, RECORD_LEN};

/// How to report.
#[derive(Debug, Clone)]
pub struct Config {
    /// Seconds between records.
    pub interval: Duration,
    /// Records per connection (None = until Ctrl-C).
    pub count: Option<u64>,
    /// Connections.
    pub clients: usize,
    /// Connect timeout.
    pub timeout: Duration,
}

/// Report until `count` records (per connection) or Ctrl-C. Returns records sent.
pub fn report(to: &[SocketAddr], cfg: &Config) -> anyhow::Result<u64> {
    let k = cfg.clients.max(1);
    let mut conns: Vec<Option<TcpStream>> = Vec::with_capacity(k);
    let started = Instant::now();
    for i in 0..k {
        if stop::requested() {
            break;
        }
        match net::tcp_connect(to, cfg.timeout) {
            Ok(s) => conns.push(Some(s)),
            // With one client a failure is the answer; in load mode say how far it got.
            Err(e) if i == 0 => return Err(e.into()),
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("monitor load: connection {} of {k} failed", i + 1)))
            }
        }
    }
    let peer = to[0];
    if k > 1 {
        out::line(&format!(
            "monitor load: {k} {k_connections} to {peer} open in {:.2} s",
            started.elapsed().as_secs_f64(),
            k_connections = crate::plural::noun(k, "connection")
        ));
    } else if let Some(Some(s)) = conns.first() {
        out::line(&format!(
            "connected to {peer} from {}",
            s.local_addr().map(|a| a.to_string()).unwrap_or_default()
        ));
    }
    let host = hostname();
    let mut sampler = Sampler::new().map_err(anyhow::Error::msg)?;
    // A first CPU interval so the first record is a real measurement.
    stop::sleep(Duration::from_millis(200).min(cfg.interval.max(Duration::from_millis(100))));
    let mut sent = 0u64;
    let mut lost = 0usize;
    let mut round = 0u64;
    let mut next = Instant::now();
    loop {
        if stop::requested() || cfg.count.is_some_and(|c| round >= c) {
            break;
        }
        let (cpu, mem) = sampler.sample();
        let rec = encode(&host, cpu, mem);
        for slot in conns.iter_mut() {
            let Some(s) = slot else { continue };
            calls::report(Side::Client, || format!("send({RECORD_LEN} bytes)"));
            match s.write_all(&rec) {
                Ok(()) => sent += 1,
                Err(e) => {
                    let e = NetError::os(Stage::Send, peer, e);
                    if k == 1 {
                        return Err(e.into());
                    }
                    if lost == 0 {
                        out::note(&format!("a connection failed: {e}"));
                    }
                    lost += 1;
                    *slot = None;
                }
            }
        }
        round += 1;
        if k == 1 {
            out::line(&format!(
                "record {round}: sent {RECORD_LEN} bytes: {}",
                String::from_utf8_lossy(&rec).trim_end()
            ));
        }
        if conns.iter().all(Option::is_none) {
            return Err(NetError::msg(Stage::Send, peer, "every connection failed").into());
        }
        if cfg.count.is_some_and(|c| round >= c) {
            break;
        }
        next += cfg.interval;
        let now = Instant::now();
        if next > now && !stop::sleep(next - now) {
            break;
        }
    }
    if k > 1 {
        out::line(&format!(
            "monitor load: sent {sent} {sent_records} of {RECORD_LEN} bytes on {k} {k_connections} ({lost} failed)", sent_records = crate::plural::noun(sent, "record"), k_connections = crate::plural::noun(k, "connection")));
    }
    for s in conns.into_iter().flatten() {
        calls::report(Side::Client, || "close()".into());
        drop(s);
    }
    Ok(sent)
}
