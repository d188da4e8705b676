//! Output flags shared by `sniff` and `replay` (the same packet printer).

use clap::Args;

use super::values::ColorArg;
use crate::render::color;
use crate::render::packet::PrintOptions;
use crate::render::time::TimeStyle;
use crate::wire::decode_as::{DecodeAs, DecodeTable};

/// How packets are printed.
#[derive(Debug, Clone, Args)]
pub struct PrintArgs {
    /// Hex and ASCII dump of each packet, as tcpdump -X.
    ///
    /// From its network header; -XX from the link header.
    #[arg(short = 'X', action = clap::ArgAction::Count)]
    pub hex: u8,
    /// Hex dump without ASCII, as tcpdump -x; -xx from the link header.
    #[arg(short = 'x', action = clap::ArgAction::Count, hide_short_help = true)]
    pub hex_only: u8,
    /// Each packet's bytes as text (from its network header), as tcpdump -A.
    #[arg(short = 'A', hide_short_help = true)]
    pub ascii: bool,
    /// Every header field: offset, bytes, host value.
    ///
    /// A tree of every header field: its offset, its bytes as on the wire,
    /// its value on this host (-vv and -vvv as -v).
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Shorter lines, as tcpdump -q (`tcp 6` for a TCP segment), without the
    /// narration, the course lines and the connection summary.
    #[arg(short = 'q', long, hide_short_help = true)]
    pub quiet: bool,
    /// Accepted for tcpdump's -n and -nn: socklab never turns addresses or
    /// ports into names.
    #[arg(short = 'n', action = clap::ArgAction::Count, hide_short_help = true)]
    pub numeric: u8,
    /// Write each packet out as soon as it is printed (tcpdump -l), also
    /// into a pipe or a file.
    #[arg(short = 'l', hide_short_help = true)]
    pub line_buffered: bool,
    /// One JSON object per line (docs/json.md).
    ///
    /// Summaries for people go to stderr.
    #[arg(long)]
    pub json: bool,
    /// Raw sequence and acknowledgement numbers, as tcpdump -S.
    ///
    /// With -S each line equals `tcpdump -nn -S`'s. Without it,
    /// socklab numbers each side from its first sequence number, the SYN
    /// included (seq 0, as Wireshark does), where tcpdump prints the SYN's raw
    /// number and relative numbers only after it.
    #[arg(short = 'S', long, hide_short_help = true)]
    pub absolute_seq: bool,
    /// Time column as tcpdump: -t none, -tt seconds since 1970, -ttt since the
    /// previous packet, -tttt with the date, -ttttt since the first packet.
    #[arg(short = 't', action = clap::ArgAction::Count, hide_short_help = true)]
    pub time: u8,
    /// Print times in UTC (default: the local time zone, from TZ, as tcpdump).
    #[arg(long, hide_short_help = true)]
    pub utc: bool,
    /// Colour: auto (a terminal), always, never.
    ///
    /// auto colours on a terminal unless NO_COLOR is set (or TERM=dumb).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN",
          hide_possible_values = true, hide_default_value = true)]
    pub color: ColorArg,
    /// Decode PORT as PROTO, as tshark -d; repeatable.
    ///
    /// PROTO: udp-calc, udp-calc-net, tcp-calc, echo, monitor, chat, http
    /// (-d itself is tcpdump's).
    #[arg(long = "decode", value_name = "PORT=PROTO")]
    pub decode: Vec<DecodeAs>,
    /// Do not recognise course protocols by how a conversation goes.
    ///
    /// By default a 12-byte datagram answered by a 4-byte result, numbers
    /// answered by N\0\0, ... teach socklab what a port speaks; -v says why
    /// each port was recognised.
    #[arg(long, hide_short_help = true)]
    pub no_heuristics: bool,
}

impl PrintArgs {
    /// The printer's options; colour only for text on a terminal (or when forced).
    pub fn options(&self) -> PrintOptions {
        PrintOptions {
            color: color::stdout_enabled(self.color.into()) && !self.json,
            hex: self.hex > 0 || self.hex_only > 0,
            hex_only: self.hex == 0 && self.hex_only > 0,
            link_header: self.hex > 1 || self.hex_only > 1,
            ascii: self.ascii,
            quiet: self.quiet,
            verbose: self.verbose > 0,
            absolute_seq: self.absolute_seq,
            json: self.json,
            time: TimeStyle::from_count(self.time),
            utc: self.utc,
        }
    }

    /// The `--decode` rules as a table.
    pub fn decode_table(&self) -> DecodeTable {
        table_of(&self.decode)
    }
}

/// A decode table from `--decode` rules, in the order given (later ones win).
pub fn table_of(rules: &[DecodeAs]) -> DecodeTable {
    let mut t = DecodeTable::new();
    for r in rules {
        t.add(*r);
    }
    t
}
