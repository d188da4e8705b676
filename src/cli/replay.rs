//! `socklab replay` arguments.

use std::path::PathBuf;

use clap::Args;

use super::print::PrintArgs;

/// `socklab replay FILE [FILTER...] [-c COUNT] [-w FILE] [-X] [-v] [--json] [--stats] [--absolute-seq]`
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The capture file: pcap (either byte order, micro- or nanosecond) or pcapng.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Stop after showing this many packets (after the filter).
    #[arg(short = 'c', long, value_name = "COUNT")]
    pub count: Option<u64>,
    /// Instead of the packets: counts per protocol and a table of conversations
    /// with each TCP connection's outcome (handshake, close, reset).
    #[arg(long)]
    pub stats: bool,
    /// Also save the packets shown to FILE: pcap, or pcapng if FILE ends in .pcapng.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// With -w: nanosecond timestamps (default: microseconds, what every tool reads).
    #[arg(long, requires = "write")]
    pub nano: bool,
    /// How packets are printed.
    #[command(flatten)]
    pub print: PrintArgs,
    /// Filter, as for sniff: tcp, udp, icmp, icmp6, arp, ip, ip6, [src|dst] host A,
    /// [src|dst] port N, combined with and/or/not and parentheses.
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}
