//! The ladder diagram as an SVG picture, for slides: the same rows as the
//! text ladder, two lifelines, one slanted arrow per packet. Pure.

use std::fmt::Write as _;

use super::ladder::{rows, End, Step, Titles};

/// Escape text for XML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const ROW_H: usize = 44;
const TOP: usize = 60;
/// Width of one character of 13 px monospace, rounded up.
const CHAR_W: usize = 8;
/// Room for the time column.
const TIME_W: usize = 110;
/// Distance between the two lifelines.
const SPAN: usize = 380;

/// Render the steps as a standalone SVG document.
pub fn render(titles: &Titles, steps: &[Step]) -> String {
    let rows = rows(steps);
    let chars = |f: fn(&super::ladder::Row) -> &String| {
        rows.iter().map(|r| f(r).chars().count()).max().unwrap_or(0)
    };
    let left_x = TIME_W + chars(|r| &r.left) * CHAR_W + 20;
    let right_x = left_x + SPAN;
    let width = right_x + 20 + chars(|r| &r.right).max(titles.server.len() / 2) * CHAR_W + 20;
    let height = TOP + rows.len() * ROW_H + 30;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="13">"#
    );
    s.push_str(r##"<defs><marker id="head" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#333"/></marker></defs>"##);
    s.push('\n');
    let _ = writeln!(
        s,
        r#"<rect width="{width}" height="{height}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{left_x}" y="30" text-anchor="middle" font-weight="bold">{}</text>"#,
        esc(&titles.client)
    );
    let _ = writeln!(
        s,
        r#"<text x="{right_x}" y="30" text-anchor="middle" font-weight="bold">{}</text>"#,
        esc(&titles.server)
    );
    let bottom = height - 20;
    for x in [left_x, right_x] {
        let _ = writeln!(
            s,
            r##"<line class="lifeline" x1="{x}" y1="40" x2="{x}" y2="{bottom}" stroke="#999" stroke-width="2"/>"##
        );
    }
    let t0 = rows.first().map_or(0, |r| r.t_ns);
    for (i, r) in rows.iter().enumerate() {
        let y = TOP + i * ROW_H;
        let _ = writeln!(
            s,
            r##"<text x="8" y="{}" fill="#777">{:.3} ms</text>"##,
            y + 4,
            (r.t_ns - t0) as f64 / 1e6
        );
        if !r.left.is_empty() {
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" text-anchor="end" fill="#1f5fa8">{}</text>"##,
                left_x - 10,
                y + 4,
                esc(&r.left)
            );
        }
        if !r.right.is_empty() {
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" fill="#a8321f">{}</text>"##,
                right_x + 10,
                y + 4,
                esc(&r.right)
            );
        }
        if let Some((from, label)) = &r.arrow {
            let (x1, x2) = match from {
                End::Client => (left_x, right_x),
                End::Server => (right_x, left_x),
            };
            let _ = writeln!(
                s,
                r##"<line class="arrow" x1="{x1}" y1="{}" x2="{x2}" y2="{}" stroke="#333" stroke-width="1.5" marker-end="url(#head)"/>"##,
                y - 2,
                y + 8
            );
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                (left_x + right_x) / 2,
                y - 7,
                esc(label)
            );
            if !r.note.is_empty() {
                let _ = writeln!(
                    s,
                    r##"<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#2e7d32">{}</text>"##,
                    (left_x + right_x) / 2,
                    y + 21,
                    esc(&r.note)
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::ladder::Carries;

    #[test]
    fn one_arrow_per_packet_and_escaped_text() {
        let steps = vec![
            Step::Call {
                t_ns: 0,
                end: End::Client,
                text: "connect(<x>)".into(),
                consumes: None,
            },
            Step::Packet {
                t_ns: 10,
                from: End::Client,
                label: "[S] seq 0".into(),
                note: "handshake 1/3".into(),
                carries: Carries::Nothing,
            },
            Step::Packet {
                t_ns: 20,
                from: End::Server,
                label: "[R.] seq 0 ack 1".into(),
                note: String::new(),
                carries: Carries::Reset,
            },
        ];
        let t = Titles {
            client: "client".into(),
            server: "server & co".into(),
        };
        let svg = render(&t, &steps);
        assert!(svg.starts_with("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="arrow""#).count(), 2);
        assert!(svg.contains("connect(&lt;x&gt;)"));
        assert!(svg.contains("server &amp; co"));
        assert_eq!(svg.matches('<').count(), svg.matches('>').count());
    }
}
