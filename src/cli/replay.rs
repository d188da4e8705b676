//! `socklab replay` arguments.

use std::path::PathBuf;

use clap::Args;

use crate::render::color::ColorWhen;

/// `socklab replay FILE [FILTER...] [-c COUNT] [-X] [-v] [--json] [--stats] [--absolute-seq]`
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The capture file: pcap (either byte order, micro- or nanosecond) or pcapng.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Stop after showing this many packets (after the filter).
    #[arg(short = 'c', long, value_name = "COUNT")]
    pub count: Option<u64>,
    /// Hex and ASCII dump of each frame.
    #[arg(short = 'X')]
    pub hex: bool,
    /// Tree of every header field: offset, bytes as on the wire, value on this host.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// One JSON object per packet per line (summaries go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Instead of the packets: counts per protocol and a table of conversations
    /// with each TCP connection's outcome (handshake, close, reset).
    #[arg(long)]
    pub stats: bool,
    /// Raw sequence and acknowledgement numbers instead of relative ones.
    #[arg(long)]
    pub absolute_seq: bool,
    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// Filter, as for sniff: tcp, udp, icmp, icmp6, arp, ip, ip6, [src|dst] host A,
    /// [src|dst] port N, combined with and/or/not and parentheses.
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}
