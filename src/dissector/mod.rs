//! `socklab dissector`: a Lua dissector for Wireshark and tshark that shows
//! the course protocols with the fields socklab shows (`udpcalc.a`, `.b`,
//! `.op`, `.result`; `tcpcalc.number`; `monitor.host`, `.cpu`, `.mem`;
//! `echo.text`), registered on the course ports and as heuristics, plus
//! the `--decode PORT=PROTO` rules given. The script itself is
//! `socklab.lua` beside this file.

use crate::wire::decode_as::{CourseProto, DecodeTable};

/// The script, course ports and heuristics only.
pub const SCRIPT: &str = include_str!("socklab.lua");

/// The script with `table`'s rules registered too.
pub fn script(table: &DecodeTable) -> String {
    let mut s = SCRIPT.to_string();
    if table.is_empty() {
        return s;
    }
    s.push_str("\n-- socklab dissector --decode rules\n");
    for r in table.rules() {
        for (udp, transport) in [(true, "udp"), (false, "tcp")] {
            if !r.proto.runs_on(udp) {
                continue;
            }
            let line = match r.proto {
                // Wireshark's own HTTP dissector.
                CourseProto::Http => format!(
                    "DissectorTable.get(\"tcp.port\"):add({}, Dissector.get(\"http\"))\n",
                    r.port
                ),
                // Chat is plain text lines: Wireshark's line-based text view.
                CourseProto::Chat => format!(
                    "DissectorTable.get(\"tcp.port\"):add({}, Dissector.get(\"data-text-lines\"))\n",
                    r.port
                ),
                p => format!("decode_as(\"{transport}\", {}, \"{}\")\n", r.port, p.name()),
            };
            s.push_str(&line);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_registered_after_the_defaults() {
        assert_eq!(script(&DecodeTable::new()), SCRIPT);
        let mut t = DecodeTable::new();
        for r in ["21009=tcp-calc", "9999=udp-calc-net", "8000=http", "7=echo"] {
            t.add(r.parse().unwrap());
        }
        let s = script(&t);
        assert!(s.ends_with(
            "decode_as(\"tcp\", 21009, \"tcp-calc\")\n\
             decode_as(\"udp\", 9999, \"udp-calc-net\")\n\
             DissectorTable.get(\"tcp.port\"):add(8000, Dissector.get(\"http\"))\n\
             decode_as(\"udp\", 7, \"echo\")\n\
             decode_as(\"tcp\", 7, \"echo\")\n"
        ));
        assert!(SCRIPT.contains("local function decode_as(transport, port, name)"));
    }
}
