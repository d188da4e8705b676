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
    /// Hex and ASCII dump of each frame.
    #[arg(short = 'X')]
    pub hex: bool,
    /// Tree of every header field: offset, bytes as on the wire, value on this host.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// One JSON object per packet per line (summaries go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Raw sequence and acknowledgement numbers instead of relative ones, as
    /// tcpdump -S (with -S each line equals `tcpdump -nn -S`'s). Without it,
    /// socklab numbers each side from its first sequence number, the SYN
    /// included (seq 0, as Wireshark does), where tcpdump prints the SYN's raw
    /// number and relative numbers only after it.
    #[arg(short = 'S', long)]
    pub absolute_seq: bool,
    /// Time column as tcpdump: -t none, -tt seconds since 1970, -ttt since the
    /// previous packet, -tttt with the date, -ttttt since the first packet.
    #[arg(short = 't', action = clap::ArgAction::Count)]
    pub time: u8,
    /// Print times in UTC (default: the local time zone, from TZ, as tcpdump).
    #[arg(long)]
    pub utc: bool,
    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Decode traffic on PORT as PROTO (udp-calc, udp-calc-net, tcp-calc, echo, monitor,
    /// chat, http), like tshark's -d (-d itself is tcpdump's); repeatable.
    #[arg(long = "decode", value_name = "PORT=PROTO")]
    pub decode: Vec<DecodeAs>,
    /// Do not recognise course protocols by how a conversation goes (a 12-byte
    /// datagram answered by a 4-byte result, numbers answered by N\0\0, ...); -v says why
    /// each port was recognised.
    #[arg(long)]
    pub no_heuristics: bool,
}

impl PrintArgs {
    /// The printer's options; colour only for text on a terminal (or when forced).
    pub fn options(&self) -> PrintOptions {
        PrintOptions {
            color: color::stdout_enabled(self.color.into()) && !self.json,
            hex: self.hex,
            verbose: self.verbose,
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
