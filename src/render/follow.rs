//! `--follow N`: one TCP conversation as its two byte streams, rows in
//! stream order, each segment's bytes beside the messages it completed
//! (see [`crate::track::follow`]). Client rows red, server rows blue, as
//! in Wireshark's Follow TCP Stream, when colour is on.

use std::io::{self, Write};

use anstyle::{AnsiColor, Color, Style};

use crate::track::follow::{DirCounts, Follow, Row, What};
use crate::track::tcp::Side;
use crate::wire::escape::write_escaped;

const CLIENT: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Red)));
const SERVER: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Blue)));
/// Characters of escaped data per line (inside the quotes).
const DATA_WIDTH: usize = 32;
const LEFT: usize = 10 + 2 + 6 + 2 + 11 + 2 + 6 + 2;

/// Write the followed conversation (nothing when it was never seen).
pub fn write_follow<W: Write>(w: &mut W, f: &Follow, color: bool) -> io::Result<()> {
    let Some([client, server]) = f.ends() else {
        return Ok(());
    };
    let proto = match f.proto() {
        Some(p) => format!("decoded as {}", p.name()),
        None => format!(
            "no course protocol known on port {}: bytes only (try --decode {}=PROTO)",
            server.port, server.port
        ),
    };
    writeln!(
        w,
        "Follow TCP stream #{}: {client} (client) <-> {server} (server), {proto}",
        f.conn()
    )?;
    writeln!(
        w,
        "Each row: what one segment added to its sender's byte stream, in stream order;\n\
         on its right, the messages it completed and what a recv() loop still waits for."
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "{:>10}  {:<6}  {:<11}  {:>6}  {:<width$}  messages",
        "time",
        "from",
        "seq",
        "bytes",
        "data",
        width = DATA_WIDTH + 2
    )?;
    let t0 = f.first_ts().unwrap_or_default();
    for r in f.rows() {
        write_row(w, r, t0, color)?;
    }
    writeln!(w)?;
    let [c, s] = f.counts();
    writeln!(w, "client > server: {}", counts(c))?;
    writeln!(w, "server > client: {}", counts(s))?;
    if f.cut() {
        writeln!(
            w,
            "(only the first {} MiB of payload were kept; the rest is counted, not shown)",
            crate::track::follow::MAX_FOLLOW_BYTES >> 20
        )?;
    }
    Ok(())
}

fn counts(c: DirCounts) -> String {
    let mut s = format!(
        "{} in {}, {}",
        crate::plural::count(c.bytes, "byte"),
        crate::plural::count(c.segments, "segment"),
        crate::plural::count(c.messages, "message")
    );
    if c.retransmissions > 0 {
        s += &format!(
            ", {}",
            crate::plural::count(c.retransmissions, "retransmission")
        );
    }
    if c.early > 0 {
        s += &format!(", {} out of order", c.early);
    }
    s
}

/// The bytes as quoted lines of at most [`DATA_WIDTH`] escaped characters
/// (an escape is never split).
fn data_lines(bytes: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut one = String::new();
    for b in bytes {
        one.clear();
        let _ = write_escaped(&mut one, std::slice::from_ref(b), b'"');
        if cur.len() + one.len() > DATA_WIDTH {
            lines.push(format!("\"{cur}\""));
            cur.clear();
        }
        cur.push_str(&one);
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(format!("\"{cur}\""));
    }
    lines
}

fn write_row<W: Write>(
    w: &mut W,
    r: &Row,
    t0: crate::capture::Timestamp,
    color: bool,
) -> io::Result<()> {
    let from = r.side.name();
    let mut notes: Vec<String> = Vec::new();
    let (seq, len, data) = match &r.what {
        What::Data {
            seq,
            bytes,
            held,
            overlap,
        } => {
            if *held {
                notes.push("(this segment came early; in stream order only now)".into());
            }
            if *overlap > 0 {
                notes.push(format!(
                    "(its first {} had come already)",
                    crate::plural::count(u64::from(*overlap), "byte")
                ));
            }
            let end = seq.wrapping_add(bytes.len() as u32);
            (
                format!("{seq}:{end}"),
                bytes.len().to_string(),
                data_lines(bytes),
            )
        }
        What::Retransmission { seq, len } => (
            format!("{seq}:{}", seq.wrapping_add(*len)),
            len.to_string(),
            vec!["(retransmission: shown already)".into()],
        ),
        What::Early { seq, len } => (
            format!("{seq}:{}", seq.wrapping_add(*len)),
            len.to_string(),
            vec!["(out of order: held back)".into()],
        ),
        What::Gap { seq, len } => (
            format!("{seq}:{}", seq.wrapping_add(*len)),
            len.to_string(),
            vec!["(never captured)".into()],
        ),
        What::Fin => (
            "FIN".into(),
            String::new(),
            vec![format!("(end of the {from}'s stream)")],
        ),
        What::Rst => ("RST".into(), String::new(), vec!["(reset)".into()]),
    };
    notes.extend(r.notes.iter().cloned());
    let time = crate::duration::fmt_offset(r.ts.nanos_since(t0));
    let style = match r.side {
        Side::Client => CLIENT,
        Side::Server => SERVER,
    };
    let rows = data.len().max(notes.len());
    for i in 0..rows {
        let left = if i == 0 {
            format!("{time:>10}  {from:<6}  {seq:<11}  {len:>6}  ")
        } else {
            " ".repeat(LEFT)
        };
        let d = data.get(i).map_or("", String::as_str);
        let line = match notes.get(i) {
            Some(n) => format!("{left}{d:<width$}  {n}", width = DATA_WIDTH + 2),
            None => format!("{left}{d}"),
        };
        let line = crate::render::color::paint(line.trim_end(), style, color);
        writeln!(w, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_cut_between_escapes() {
        let mut b = vec![b'a'; 31];
        b.push(0);
        let l = data_lines(&b);
        assert_eq!(l[0], format!("\"{}\"", "a".repeat(31)));
        assert_eq!(l[1], "\"\\x00\"");
        assert_eq!(data_lines(b""), ["\"\""]);
    }
}
