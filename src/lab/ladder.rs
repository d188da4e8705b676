//! The ladder (sequence) diagram: a client column and a server column, one
//! arrow per packet, and the socket call that caused each packet written
//! beside it. Pure: rows in, text out (golden-tested).

use std::fmt::Write as _;

/// Which end a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Left column.
    Client,
    /// Right column.
    Server,
}

/// What a packet hands to the receiving program (what a receiving call consumes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carries {
    /// The ACK that completes a handshake: a connection for accept().
    Connection,
    /// Payload: bytes for recv()/recvfrom().
    Data,
    /// FIN: end of file, recv() returns 0.
    Fin,
    /// RST: recv() fails with ECONNRESET.
    Reset,
    /// Nothing a call returns (SYN, pure ACK...).
    Nothing,
}

/// One step of the exchange, in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A socket call.
    Call {
        /// Nanoseconds since the first step.
        t_ns: i64,
        /// Who called.
        end: End,
        /// `connect(127.0.0.1:10009)`.
        text: String,
        /// For calls that return what arrived (accept, recv...): what they
        /// consume; they sit beside that packet rather than the next one sent.
        consumes: Option<Carries>,
    },
    /// A packet.
    Packet {
        /// Nanoseconds since the first step.
        t_ns: i64,
        /// Who sent it.
        from: End,
        /// `[S.] seq 0 ack 1`.
        label: String,
        /// Short narration (`handshake 2/3`), may be empty.
        note: String,
        /// What it hands to the receiver.
        carries: Carries,
    },
}

impl Step {
    fn t_ns(&self) -> i64 {
        match self {
            Step::Call { t_ns, .. } | Step::Packet { t_ns, .. } => *t_ns,
        }
    }
}

/// One line of the diagram: calls beside at most one packet.
#[derive(Debug, Default, Clone)]
pub struct Row {
    /// Nanoseconds since the first step (of the row's first item).
    pub t_ns: i64,
    /// The client's call.
    pub left: String,
    /// The packet: who sent it and its label.
    pub arrow: Option<(End, String)>,
    carries: Option<Carries>,
    /// The server's call.
    pub right: String,
    /// Short narration.
    pub note: String,
}

/// Column titles.
#[derive(Debug, Clone)]
pub struct Titles {
    /// `client 127.0.0.1:40312`.
    pub client: String,
    /// `server 127.0.0.1:10009`.
    pub server: String,
}

/// Merge calls into the packet rows they explain.
pub fn rows(steps: &[Step]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::with_capacity(steps.len());
    // A sending call waits for the next packet its side sends.
    let mut pending: [Option<usize>; 2] = [None, None];
    let idx = |e: End| match e {
        End::Client => 0,
        End::Server => 1,
    };
    for s in steps {
        match s {
            Step::Packet {
                t_ns,
                from,
                label,
                note,
                carries,
            } => {
                // The sender's call just before, if it is the row right above
                // and it is not already beside a packet: join them.
                if let Some(i) = pending[idx(*from)].take() {
                    if i + 1 == rows.len() && rows[i].arrow.is_none() {
                        rows[i].arrow = Some((*from, label.clone()));
                        rows[i].carries = Some(*carries);
                        rows[i].note = note.clone();
                        continue;
                    }
                }
                rows.push(Row {
                    t_ns: *t_ns,
                    arrow: Some((*from, label.clone())),
                    carries: Some(*carries),
                    note: note.clone(),
                    ..Row::default()
                });
            }
            Step::Call {
                t_ns,
                end,
                text,
                consumes,
            } => {
                // A receiving call sits beside the packet it consumed when
                // that packet is the last row above, not counting bare ACKs
                // its own kernel sent meanwhile, and its slot is free.
                if let Some(want) = consumes {
                    let mut i = rows.len();
                    while i > 0 {
                        let r = &rows[i - 1];
                        let own_ack = r.arrow.as_ref().is_some_and(|(f, _)| f == end)
                            && r.carries == Some(Carries::Nothing)
                            && r.left.is_empty()
                            && r.right.is_empty();
                        if !own_ack {
                            break;
                        }
                        i -= 1;
                    }
                    if i > 0 {
                        let r = &mut rows[i - 1];
                        let from_peer = r.arrow.as_ref().is_some_and(|(f, _)| f != end);
                        let slot = match end {
                            End::Client => &mut r.left,
                            End::Server => &mut r.right,
                        };
                        if from_peer && r.carries == Some(*want) && slot.is_empty() {
                            *slot = text.clone();
                            continue;
                        }
                    }
                }
                let mut r = Row {
                    t_ns: *t_ns,
                    ..Row::default()
                };
                match end {
                    End::Client => r.left = text.clone(),
                    End::Server => r.right = text.clone(),
                }
                rows.push(r);
                pending[idx(*end)] = consumes.is_none().then_some(rows.len() - 1);
            }
        }
    }
    rows
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(out: &mut String, s: &str, w: usize) {
    out.push_str(s);
    for _ in width(s)..w {
        out.push(' ');
    }
}

/// Render the diagram. Times are milliseconds since the first step.
pub fn render(titles: &Titles, steps: &[Step]) -> String {
    let rows = rows(steps);
    let left_w = rows
        .iter()
        .map(|r| width(&r.left))
        .chain([width(&titles.client)])
        .max()
        .unwrap_or(0);
    let label_w = rows
        .iter()
        .filter_map(|r| r.arrow.as_ref().map(|(_, l)| width(l)))
        .max()
        .unwrap_or(0);
    let arrow_w = (label_w + 10).max(30);
    let right_w = rows
        .iter()
        .map(|r| width(&r.right))
        .chain([width(&titles.server)])
        .max()
        .unwrap_or(0);
    let t0 = steps.first().map_or(0, Step::t_ns);
    let mut out = String::new();
    // Header: the two column titles over their lines.
    pad(&mut out, "", 10);
    pad(&mut out, &titles.client, left_w + 2);
    pad(&mut out, "", arrow_w + 2);
    out.push_str(&titles.server);
    out.push('\n');
    for r in &rows {
        let ms = (r.t_ns - t0) as f64 / 1e6;
        let _ = write!(out, "{ms:>8.3}  ");
        pad(&mut out, &r.left, left_w);
        out.push_str(" |");
        match &r.arrow {
            Some((from, label)) => {
                let body = arrow_w.saturating_sub(width(label) + 4);
                let (lead, tail) = (3usize, body.saturating_sub(2));
                let mut a = String::new();
                match from {
                    End::Client => {
                        a.push_str(&"-".repeat(lead));
                        a.push(' ');
                        a.push_str(label);
                        a.push(' ');
                        a.push_str(&"-".repeat(tail));
                        a.push('>');
                    }
                    End::Server => {
                        a.push('<');
                        a.push_str(&"-".repeat(tail));
                        a.push(' ');
                        a.push_str(label);
                        a.push(' ');
                        a.push_str(&"-".repeat(lead));
                    }
                }
                pad(&mut out, &a, arrow_w);
            }
            None => pad(&mut out, "", arrow_w),
        }
        out.push_str("| ");
        if r.note.is_empty() {
            out.push_str(&r.right);
        } else {
            pad(&mut out, &r.right, right_w);
            out.push_str("  ; ");
            out.push_str(&r.note);
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(t: i64, end: End, text: &str, consumes: Option<Carries>) -> Step {
        Step::Call {
            t_ns: t * 1000,
            end,
            text: text.into(),
            consumes,
        }
    }

    fn pkt(t: i64, from: End, label: &str, note: &str, carries: Carries) -> Step {
        Step::Packet {
            t_ns: t * 1000,
            from,
            label: label.into(),
            note: note.into(),
            carries,
        }
    }

    #[test]
    fn golden_handshake_and_data() {
        let steps = vec![
            call(0, End::Server, "listen(1)", None),
            call(10, End::Client, "connect(127.0.0.1:10009)", None),
            pkt(
                20,
                End::Client,
                "[S] seq 0",
                "handshake 1/3",
                Carries::Nothing,
            ),
            pkt(
                30,
                End::Server,
                "[S.] seq 0 ack 1",
                "handshake 2/3",
                Carries::Nothing,
            ),
            pkt(
                40,
                End::Client,
                "[.] ack 1",
                "handshake 3/3 (20 µs)",
                Carries::Connection,
            ),
            call(
                50,
                End::Server,
                "accept() -> 127.0.0.1:40312",
                Some(Carries::Connection),
            ),
            call(60, End::Client, "send(2 bytes)", None),
            pkt(
                70,
                End::Client,
                "[P.] seq 1:3 ack 1 len 2",
                "",
                Carries::Data,
            ),
            call(80, End::Server, "recv() -> 2 bytes", Some(Carries::Data)),
            pkt(90, End::Client, "[F.] seq 3 ack 1", "", Carries::Fin),
            call(
                95,
                End::Server,
                "accept() -> 127.0.0.1:40999",
                Some(Carries::Connection),
            ),
        ];
        let titles = Titles {
            client: "client 127.0.0.1:40312".into(),
            server: "server 127.0.0.1:10009".into(),
        };
        let got = render(&titles, &steps);
        assert_eq!(got.lines().count(), 8, "{got}");
        assert!(got.starts_with("          client 127.0.0.1:40312"), "{got}");
        // The client's connect() sits beside its SYN, the server's accept()
        // beside the ACK it consumed, recv() beside the data.
        let lines: Vec<&str> = got.lines().collect();
        assert!(lines[2].contains("connect(127.0.0.1:10009)") && lines[2].contains("[S] seq 0"));
        assert!(lines[4].contains("[.] ack 1") && lines[4].contains("accept() -> 127.0.0.1:40312"));
        assert!(lines[5].contains("send(2 bytes)") && lines[5].contains("[P.] seq 1:3"));
        assert!(lines[5].contains("recv() -> 2 bytes"));
        assert!(lines[3].contains("<") && lines[3].contains("[S.] seq 0 ack 1"));
        // An accept() right after a FIN did not consume that FIN: own row.
        assert!(!lines[6].contains("accept()"), "{got}");
        assert!(lines[7].contains("accept() -> 127.0.0.1:40999"), "{got}");
    }

    #[test]
    fn a_call_far_from_its_packet_gets_its_own_row() {
        let steps = vec![
            call(0, End::Client, "socket(AF_INET, SOCK_STREAM)", None),
            call(1, End::Server, "socket(AF_INET, SOCK_STREAM)", None),
            pkt(2, End::Client, "[S] seq 0", "", Carries::Nothing),
        ];
        let t = Titles {
            client: "client".into(),
            server: "server".into(),
        };
        let got = render(&t, &steps);
        assert_eq!(got.lines().count(), 4, "{got}");
    }
}
