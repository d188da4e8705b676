//! `-c`: one row per socket at the end: the calls the program made on it,
//! the bytes its calls moved, the segments and bytes on the wire each way,
//! and how the connection ended. Side by side they teach that one send is
//! not one segment and one recv is not one message.
//!
//! Pure bookkeeping and formatting; allocates per socket, not per event.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::SocketAddr;

use crate::track::tcp::ConnSummary;

use super::addr::Addr;
use super::event::{CallEvent, Dir};
use super::link::{self, Facts};
use super::sockets::SocketInfo;

#[derive(Debug, Default, Clone)]
struct Row {
    socket: Option<SocketInfo>,
    pid: i32,
    calls: u64,
    sent: u64,
    received: u64,
    wire: [(u64, u64); 2],
}

/// The per-socket counts.
#[derive(Debug, Default)]
pub struct Summary {
    rows: BTreeMap<u64, Row>,
}

impl Summary {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Count a call (on a socket).
    pub fn call(&mut self, c: &CallEvent) {
        let Some(s) = &c.socket else {
            return;
        };
        let row = self.rows.entry(s.serial).or_default();
        row.calls += 1;
        row.pid = c.pid;
        // Keep the most complete identity seen (close keeps the last one).
        let better = row
            .socket
            .as_ref()
            .is_none_or(|old| s.local.is_some() && (s.peer.is_some() || old.peer.is_none()));
        if better {
            row.socket = Some(s.clone());
        }
        if c.errno.is_none() && !c.unfinished {
            if let Some(d) = &c.data {
                match d.dir {
                    Dir::Out => row.sent += d.total as u64,
                    Dir::In => row.received += d.total as u64,
                }
            }
        }
    }

    /// Count a packet on the wire, for every socket it belongs to.
    pub fn packet(&mut self, p: &Facts) {
        for row in self.rows.values_mut() {
            if let Some(dir) = row.socket.as_ref().and_then(|s| link::direction(s, p)) {
                let i = usize::from(dir == Dir::In);
                row.wire[i].0 += 1;
                row.wire[i].1 += p.len as u64;
            }
        }
    }

    /// Write the table; `conns` are the TCP tracker's summaries (for how
    /// each connection ended); `wire` is false without a capture.
    pub fn write<W: Write>(&self, w: &mut W, conns: &[ConnSummary], wire: bool) -> io::Result<()> {
        writeln!(w, "socklab trace: per socket")?;
        writeln!(
            w,
            "{:<7} {:<48} {:>5} {:>9} {:>9} {:>14} {:>14}  ended",
            "pid", "socket", "calls", "sent", "received", "segs/bytes out", "segs/bytes in"
        )?;
        for row in self.rows.values() {
            let Some(s) = &row.socket else { continue };
            let wire_text = |(n, b): (u64, u64)| {
                if wire {
                    format!("{n}/{b}")
                } else {
                    "-".into()
                }
            };
            let end = ended(s, conns).unwrap_or_else(|| "-".into());
            writeln!(
                w,
                "{:<7} {:<48} {:>5} {:>9} {:>9} {:>14} {:>14}  {end}",
                row.pid,
                s.to_string(),
                row.calls,
                row.sent,
                row.received,
                wire_text(row.wire[0]),
                wire_text(row.wire[1]),
            )?;
        }
        Ok(())
    }
}

/// How the TCP connection of `s` ended, from the tracker's summary.
fn ended(s: &SocketInfo, conns: &[ConnSummary]) -> Option<String> {
    let local = s.local.as_ref().and_then(Addr::inet)?;
    let peer = s.peer.as_ref().and_then(Addr::inet)?;
    let eq = |e: &crate::track::Endpoint, a: SocketAddr| {
        e.port == a.port() && e.ip.to_canonical() == a.ip().to_canonical()
    };
    let c = conns.iter().rev().find(|c| {
        (eq(&c.client, local) && eq(&c.server, peer))
            || (eq(&c.client, peer) && eq(&c.server, local))
    })?;
    let text = c.to_string();
    text.split_once("; ").map(|(_, end)| end.to_string())
}
