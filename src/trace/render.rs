//! Lines for people and objects for programs: one call, a blocking call's
//! start and resumption, a process event, a line of the program's output.
//!
//! Text looks like strace with socklab's time column and the socket's
//! identity: `12:00:00.000001 [4242] connect(3, 127.0.0.1:10009) = 0
//! fd 3 = TCP 127.0.0.1:41234 -> 127.0.0.1:10009`. Pure formatting into
//! `String`s; no I/O.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use serde_json::{json, Value};

use crate::capture::Timestamp;
use crate::render::hexdump::HexDump;
use crate::render::json::record;
use crate::render::packet::write_time;

use super::event::{CallEvent, Dir};
use super::names;

const CALL: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
const ERR: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
const NOTE: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
const INDENT: &str = "        ";

/// How calls are written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Look {
    /// ANSI colours.
    pub color: bool,
    /// `-T`: time spent in every call.
    pub timing: bool,
    /// `-X`: hex dump of each call's bytes.
    pub hex: bool,
}

fn paint(out: &mut String, on: bool, style: Style, text: &str) {
    if on {
        let _ = write!(out, "{style}{text}{style:#}");
    } else {
        out.push_str(text);
    }
}

fn head(out: &mut String, ts: Timestamp, pid: i32, tid: i32) {
    write_time(out, ts);
    if pid == tid {
        let _ = write!(out, " [{pid}] ");
    } else {
        let _ = write!(out, " [{pid}/{tid}] ");
    }
}

fn secs(ns: i128) -> String {
    format!("<{:.6} s>", ns as f64 / 1e9)
}

/// `= 0`, `= -1 ECONNREFUSED (Connection refused)`, plus the result text.
fn outcome(out: &mut String, c: &CallEvent, color: bool) {
    if c.unfinished {
        out.push_str(" = ?");
    } else if let Some(e) = c.errno {
        let _ = write!(out, " = -1 ");
        let text = format!("{} ({})", names::errno(e), names::errno_desc(e));
        paint(out, color, ERR, &text);
    } else {
        let _ = write!(out, " = {}", c.ret);
    }
    if !c.result.is_empty() {
        let _ = write!(out, " {}", c.result);
    }
}

fn identity(out: &mut String, c: &CallEvent) {
    if let (Some(fd), Some(s)) = (c.fd, &c.socket) {
        let _ = write!(out, "  fd {fd} = {s}");
    }
}

/// The lines under a call: course decoding, teaching note, hex dump.
fn extras(out: &mut String, c: &CallEvent, look: Look) {
    if let Some(course) = &c.course {
        out.push_str(INDENT);
        paint(out, look.color, NOTE, course);
        out.push('\n');
    }
    if let Some(n) = c.note {
        out.push_str(INDENT);
        paint(out, look.color, NOTE, &format!("note: {n}"));
        out.push('\n');
    }
    if look.hex {
        if let Some(d) = &c.data {
            out.push_str(&HexDump::new().indent(8).color(look.color).to_text(&d.bytes));
        }
    }
}

/// A whole call on one line (plus its extras).
pub fn call(out: &mut String, c: &CallEvent, look: Look) {
    head(out, c.start, c.pid, c.tid);
    let text = format!("{}({})", c.call, c.args);
    paint(out, look.color, CALL, &text);
    outcome(out, c, look.color);
    if look.timing {
        let _ = write!(out, " {}", secs(c.nanos()));
    }
    identity(out, c);
    out.push('\n');
    extras(out, c, look);
}

/// The start of a call that is still waiting: `accept(3) ...`.
pub fn enter(out: &mut String, ts: Timestamp, pid: i32, tid: i32, text: &str, look: Look) {
    head(out, ts, pid, tid);
    paint(out, look.color, CALL, text);
    out.push_str(" ...\n");
}

/// The end of a call whose start was printed earlier: `... accept(3) = 4 <2.004 s>`.
pub fn resumed(out: &mut String, c: &CallEvent, look: Look) {
    head(out, c.end, c.pid, c.tid);
    out.push_str("... ");
    let text = format!("{}({})", c.call, c.args);
    paint(out, look.color, CALL, &text);
    outcome(out, c, look.color);
    let _ = write!(out, " {}", secs(c.nanos()));
    identity(out, c);
    out.push('\n');
    extras(out, c, look);
}

/// `+++ exited with status 0 +++`.
pub fn process(out: &mut String, ts: Timestamp, pid: i32, tid: i32, text: &str) {
    head(out, ts, pid, tid);
    let _ = writeln!(out, "+++ {text} +++");
}

/// A line of the program's own output (`--inline-output`).
pub fn output(out: &mut String, ts: Timestamp, line: &str, stderr: bool) {
    write_time(out, ts);
    let _ = writeln!(out, " {} {line}", if stderr { "err|" } else { "out|" });
}

/// The JSON object of a call (`--json`).
pub fn call_json(c: &CallEvent) -> Value {
    let socket = c.socket.as_ref().map(|s| {
        json!({
            "proto": s.proto(),
            "local": s.local.as_ref().map(|a| a.to_string()),
            "peer": s.peer.as_ref().map(|a| a.to_string()),
            "nonblocking": s.nonblocking,
        })
    });
    let data = c.data.as_ref().map(|d| {
        json!({
            "dir": if d.dir == Dir::Out { "out" } else { "in" },
            "bytes": d.total,
            "hex": hex::encode(&d.bytes),
        })
    });
    let fields = json!({
        "dur_ns": c.nanos() as i64,
        "pid": c.pid,
        "tid": c.tid,
        "call": c.call,
        "fd": c.fd,
        "socket": socket,
        "args": c.args,
        "ret": if c.unfinished { None } else { Some(c.ret) },
        "errno": c.errno.map(names::errno),
        "result": c.result,
        "data": data,
        "course": c.course,
        "note": c.note,
    });
    record("call", Some(c.start), fields)
}

/// The JSON object of a process event.
pub fn process_json(ts: Timestamp, pid: i32, tid: i32, text: &str) -> Value {
    record(
        "process",
        Some(ts),
        json!({"pid": pid, "tid": tid, "event": text}),
    )
}

/// The JSON object of an output line.
pub fn output_json(ts: Timestamp, line: &str, stderr: bool) -> Value {
    record(
        "output",
        Some(ts),
        json!({"stream": if stderr { "stderr" } else { "stdout" }, "line": line}),
    )
}

/// The JSON object of a call that has started and not returned yet.
pub fn enter_json(ts: Timestamp, pid: i32, tid: i32, text: &str) -> Value {
    record(
        "enter",
        Some(ts),
        json!({"pid": pid, "tid": tid, "call": text}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::addr::Addr;
    use crate::trace::sockets::SocketInfo;

    fn connect() -> CallEvent {
        CallEvent {
            fd: Some(3),
            socket: Some(SocketInfo {
                serial: 1,
                family: libc::AF_INET,
                kind: libc::SOCK_STREAM,
                local: Some(Addr::Inet("127.0.0.1:41234".parse().unwrap())),
                peer: None,
                nonblocking: false,
                name_service: false,
            }),
            args: "3, 127.0.0.1:10009".into(),
            errno: Some(libc::ECONNREFUSED),
            note: names::errno_note(libc::ECONNREFUSED, false),
            ..CallEvent::new(
                1,
                (42, 42),
                "connect",
                (Timestamp::new(3600, 1_000), Timestamp::new(3600, 51_000)),
                -1,
            )
        }
    }

    #[test]
    fn golden_lines() {
        let c = connect();
        let mut s = String::new();
        call(&mut s, &c, Look::default());
        assert_eq!(
            s.lines().next().unwrap(),
            "01:00:00.000001 [42] connect(3, 127.0.0.1:10009) = -1 ECONNREFUSED (Connection refused)  fd 3 = TCP 127.0.0.1:41234"
        );
        assert!(s
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("        note: nobody listens"));
        let mut r = String::new();
        resumed(&mut r, &c, Look::default());
        assert!(
            r.starts_with("01:00:00.000051 [42] ... connect(3, 127.0.0.1:10009) = -1 ECONNREFUSED")
        );
        assert!(r.contains("<0.000050 s>"));
        let mut e = String::new();
        enter(&mut e, c.start, 42, 43, "accept(3)", Look::default());
        assert_eq!(e, "01:00:00.000001 [42/43] accept(3) ...\n");
    }

    #[test]
    fn json_has_the_fields() {
        let v = call_json(&connect());
        assert_eq!(v["call"], "connect");
        assert_eq!(v["errno"], "ECONNREFUSED");
        assert_eq!(v["socket"]["local"], "127.0.0.1:41234");
        assert_eq!(v["fd"], 3);
        assert_eq!(v["dur_ns"], 50_000);
    }
}
