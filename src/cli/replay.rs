//! `socklab replay` arguments.

use std::path::PathBuf;

use clap::Args;

use super::print::PrintArgs;

/// `socklab replay FILE [FILTER...] [-c COUNT] [-w FILE] [-X] [-v] [--json] [--stats] [-S]`
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples (options before or after the filter words, as with tcpdump):
  socklab replay lesson.pcap tcp port 10009 -c 5 -S
  socklab replay lesson.pcap --stats --json     counts and conversations
  cat lesson.pcap | socklab replay - udp        - reads standard input
  socklab replay big.pcap udp -w - | tcpdump -r -"
)]
pub struct ReplayArgs {
    /// The capture file: pcap or pcapng; - reads standard input.
    ///
    /// pcap in either byte order, with micro- or nanosecond timestamps.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Stop after this many packets (after the filter).
    #[arg(short = 'c', long, value_name = "COUNT", value_parser = super::values::count)]
    pub count: Option<u64>,
    /// Counts and conversations instead of the packets.
    ///
    /// Counts per protocol and a table of conversations with each TCP
    /// connection's outcome (handshake, close, reset); JSON with --json.
    #[arg(long)]
    pub stats: bool,
    /// TCP conversation N's two byte streams instead of the packets.
    ///
    /// Numbered as in the connection summary and --stats; in stream order
    /// (a retransmission shown once, out-of-order segments put back), each
    /// segment beside the application messages it completes, like tshark
    /// -z follow,tcp.
    #[arg(long, hide_short_help = true, value_name = "N", conflicts_with_all = ["stats", "json"], value_parser = clap::value_parser!(u32).range(1..))]
    pub follow: Option<u32>,
    /// Track at most N TCP connections at once.
    ///
    /// Beyond, the least recently active one is summarised as it stood and
    /// forgotten (memory stays flat on port scans and SYN floods).
    #[arg(long, hide_short_help = true, value_name = "N", default_value_t = crate::track::tcp::MAX_CONNECTIONS as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// Print the filter compiled to classic BPF and exit (tcpdump's -d).
    ///
    /// -d as `tcpdump -d`, -dd as a C array, -ddd as decimal numbers.
    #[arg(short = 'd', action = clap::ArgAction::Count, hide_short_help = true)]
    pub dump_bpf: u8,
    /// Also save the packets shown: pcap, or .pcapng.
    ///
    /// pcapng if FILE ends in .pcapng; `-w -` writes a pcap stream to standard
    /// output instead of the lines (`| tcpdump -r -`).
    #[arg(
        short = 'w',
        long = "write",
        value_name = "FILE",
        conflicts_with = "stats"
    )]
    pub write: Option<PathBuf>,
    /// With -w: nanosecond timestamps (default: microseconds, what every tool reads).
    #[arg(long, requires = "write", hide_short_help = true)]
    pub nano: bool,
    /// How packets are printed.
    #[command(flatten)]
    pub print: PrintArgs,
    /// Filter in tcpdump's language, e.g. tcp port 10009 (docs/sniff.md).
    ///
    /// Primitives: tcp, udp, icmp, arp, ip6, [src|dst] host A,
    /// net 10.0.0.0/8, port N, portrange A-B, less/greater N, vlan [ID], ether host MAC,
    /// ip proto N, tcp[tcpflags] & tcp-syn != 0, ... combined with and/or/not and
    /// parentheses (and/or have equal precedence, as in tcpdump). Options may come
    /// before or after the filter words.
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,
}

impl ReplayArgs {
    /// Validate: parse the filter.
    pub fn config(&self) -> Result<crate::sniff::replay::Config, crate::filter::FilterError> {
        Ok(crate::sniff::replay::Config {
            file: self.file.clone(),
            filter: crate::filter::Filter::parse_words(&self.filter)?,
            filter_text: self.filter.join(" "),
            dump_bpf: self.dump_bpf,
            print: self.print.options(),
            decode: self.print.decode_table(),
            heuristics: !self.print.no_heuristics,
            stats: self.stats,
            follow: self.follow,
            count: self.count,
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            write: self.write.clone(),
            nano: self.nano,
            line_buffered: self.print.line_buffered,
        })
    }
}
