//! `socklab demo`: both ends of two course protocols in one process, on
//! ephemeral loopback ports, so a new user sees a full exchange with one
//! command and no set-up.
//!
//! Each line says which end wrote it (`client |`, `server |`), and lines
//! come in the order things happened on the wire, not in the order two
//! threads happened to print: every line is filed under the last socket
//! call its thread made (sends are stamped just before the system call,
//! receives just after, see [`crate::proto::calls`]), so the server's
//! "sent 4 bytes" always precedes the client's "reply from", even when the
//! server thread prints it later.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Result;

use crate::proto::calls::{self, Call, Observer, Side};

use crate::proto::accept::Style;
use crate::proto::log::Log;
use crate::proto::{net, tcp_calc_client, tcp_calc_server, udp_calc_client, udp_calc_server};
use crate::render::out;
use crate::wire::order::Order;
use crate::wire::udp_calc::Request;

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Name of the server threads, by which their lines are recognised.
const SERVER_THREAD: &str = "demo server";

/// One line of output, filed for ordering.
struct Entry {
    /// The time of the last socket call its thread made before writing it.
    key: SystemTime,
    /// Order of writing, for lines filed under the same call.
    seq: u64,
    /// Who wrote it; `None` for the demo's own headings.
    side: Option<Side>,
    text: String,
}

/// Lines from both ends and the time of each end's last call.
struct Timeline {
    /// By thread: two server threads are one end but separate timelines.
    last_call: Mutex<HashMap<std::thread::ThreadId, SystemTime>>,
    heading_at: Mutex<SystemTime>,
    entries: Mutex<Vec<Entry>>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            last_call: Mutex::default(),
            heading_at: Mutex::new(SystemTime::UNIX_EPOCH),
            entries: Mutex::default(),
        }
    }
}

impl Observer for Timeline {
    fn call(&self, call: Call) {
        if let Ok(mut m) = self.last_call.lock() {
            m.insert(std::thread::current().id(), call.at);
        }
    }
}

impl Timeline {
    /// File `bytes` written at `at` by `side` (`None`: a heading).
    ///
    /// A line is filed under the last call its thread made. The client runs on the
    /// thread that writes the headings, so its lines also come after the
    /// last heading; a server line written late stays with its call.
    fn write(&self, at: SystemTime, bytes: &[u8], side: Option<Side>) {
        let last = self
            .last_call
            .lock()
            .ok()
            .and_then(|m| m.get(&std::thread::current().id()).copied());
        let heading = self.heading_at.lock().map(|h| *h).unwrap_or(at);
        let key = match side {
            Some(Side::Client) => last.unwrap_or(at).max(heading),
            Some(Side::Server) => last.unwrap_or(at),
            None => at,
        }
        .min(at);
        let text = String::from_utf8_lossy(bytes);
        if let Ok(mut e) = self.entries.lock() {
            for line in text.trim_end_matches('\n').split('\n') {
                let seq = e.len() as u64;
                e.push(Entry {
                    key,
                    seq,
                    side,
                    text: line.to_string(),
                });
            }
        }
    }

    /// A heading of the demo itself: everything the client writes after it
    /// comes after it.
    fn heading(&self, text: &str) {
        let now = SystemTime::now();
        if let Ok(mut h) = self.heading_at.lock() {
            *h = now;
        }
        self.write(now, text.as_bytes(), None);
    }

    /// Print what was filed, in order, prefixed by its end; then forget it.
    fn flush(&self) {
        let mut entries = self
            .entries
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default();
        entries.sort_by_key(|e| (e.key, e.seq));
        let mut text = String::new();
        for e in entries {
            match e.side {
                Some(side) if !e.text.is_empty() => {
                    text.push_str(&format!("{:<6} | {}\n", side.name(), e.text));
                }
                _ => {
                    text.push_str(&e.text);
                    text.push('\n');
                }
            }
        }
        out::raw(text.as_bytes());
    }
}

/// Which end the current thread is.
fn this_side() -> Side {
    if std::thread::current().name() == Some(SERVER_THREAD) {
        Side::Server
    } else {
        Side::Client
    }
}

/// Run the demo: UDP calculator in native and network order, then TCP
/// calculator, each end's lines marked and in the order things happened.
pub fn run() -> Result<()> {
    let timeline = Arc::new(Timeline::default());
    calls::install(timeline.clone());
    let sink = timeline.clone();
    out::redirect(Some(Arc::new(move |at, bytes: Vec<u8>| {
        sink.write(at, &bytes, Some(this_side()))
    })));
    let r = exchanges(&timeline);
    // Let the server threads finish their last lines.
    std::thread::sleep(Duration::from_millis(100));
    out::redirect(None);
    calls::uninstall();
    timeline.flush();
    r
}

fn exchanges(t: &Timeline) -> Result<()> {
    let timeout = Duration::from_secs(3);
    let udp = net::udp_bind(loopback(), false)?;
    let uaddr = udp.local_addr()?;
    let ucfg = udp_calc_server::Config {
        bind: uaddr,
        reuseaddr: false,
        order: Order::Native,
        log: Log::new(false),
    };
    std::thread::Builder::new()
        .name(SERVER_THREAD.into())
        .spawn(move || udp_calc_server::serve_on(udp, &ucfg))?;
    let tcp = net::tcp_listen(loopback(), true, 16)?;
    let taddr = tcp.local_addr()?;
    let tcfg = tcp_calc_server::Config {
        bind: taddr,
        reuseaddr: true,
        style: Style::Iterative,
        idle: timeout,
        log: Log::new(false),
    };
    std::thread::Builder::new()
        .name(SERVER_THREAD.into())
        .spawn(move || tcp_calc_server::serve_on(tcp, &tcfg))?;
    std::thread::sleep(Duration::from_millis(50));

    t.heading("\n== 1. UDP calculator, request packed in native order (Python's \"III\")");
    let req = Request {
        a: 10,
        b: 500,
        op: 0,
    };
    udp_calc_client::ask(&[uaddr], req, Order::Native, timeout)?;
    t.heading("\n== 2. a request packed in network order (\"!III\") sent to a native-order server\n   (watch what the server reads: 10 becomes 167772160, and the carry lands in the wrong byte)");
    udp_calc_client::ask(
        &[uaddr],
        Request {
            a: 10,
            b: 250,
            op: 0,
        },
        Order::Big,
        timeout,
    )?;
    t.heading("\n== 3. TCP calculator: NUL-terminated numbers, reply \"res\\x00\\x00\"");
    tcp_calc_client::ask(&[taddr], 5, 8, 1, timeout)?;
    std::thread::sleep(Duration::from_millis(50));
    std::thread::sleep(Duration::from_millis(50));
    t.heading("\nNext: run a server yourself (socklab udp-calc serve) and your own Python client against it.");
    Ok(())
}
