//! `socklab sniff` arguments.

use std::path::PathBuf;

use clap::Args;

use super::print::PrintArgs;

/// `socklab sniff [-i IFACE | -r FILE | -D] [FILTER...] [-c COUNT] [-w FILE] [-X] [-v] [-S] ...`
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples (options before or after the filter words, as with tcpdump):
  sudo socklab sniff -i lo tcp port 10009 -c 5
  socklab sniff -r lesson.pcap udp -S          as socklab replay lesson.pcap
  sudo socklab sniff -w - udp | tcpdump -r -   a pcap stream on standard output
  socklab sniff -D                             the interfaces, their link types"
)]
pub struct SniffArgs {
    /// Interface to capture on.
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        default_value = "lo"
    )]
    pub iface: String,
    /// Read a capture file instead, as tcpdump -r.
    ///
    /// `-` reads standard input; the same as `socklab replay FILE`.
    #[arg(short = 'r', long = "read", value_name = "FILE", conflicts_with_all = ["user", "list"])]
    pub read: Option<PathBuf>,
    /// List the interfaces a capture can open, with their link types, and exit
    /// (tcpdump -D).
    #[arg(short = 'D', long = "list-interfaces", hide_short_help = true)]
    pub list: bool,
    /// Stop after this many packets (after the filter).
    #[arg(short = 'c', long, value_name = "COUNT", value_parser = super::values::count)]
    pub count: Option<u64>,
    /// TCP conversation N's two byte streams instead of the packets.
    ///
    /// Shown at the end (-c or Ctrl-C), in stream order, each segment beside
    /// the messages it completes (see replay --follow).
    #[arg(long, hide_short_help = true, value_name = "N", conflicts_with = "json", value_parser = clap::value_parser!(u32).range(1..))]
    pub follow: Option<u32>,
    /// Keep at most this many bytes of each packet (0 = whole packets).
    ///
    /// Cut packets are marked.
    #[arg(
        hide_short_help = true,
        short = 's',
        long = "snaplen",
        value_name = "BYTES",
        default_value_t = 0
    )]
    pub snaplen: usize,
    /// Also save the packets shown: pcap, or .pcapng.
    ///
    /// pcapng if FILE ends in .pcapng; `-w -` writes a pcap stream to standard
    /// output instead of the lines (`| tcpdump -r -`).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// After opening the capture socket as root, run as USER (tcpdump -Z).
    ///
    /// Default: nobody, or the invoking user under sudo; -Z root keeps uid 0 with
    /// every capability cleared. -w files are created after the switch.
    #[arg(
        short = 'Z',
        long = "relinquish-privileges",
        value_name = "USER",
        hide_short_help = true
    )]
    pub user: Option<String>,
    /// With -w: nanosecond timestamps (default: microseconds, what every tool reads).
    #[arg(long, requires = "write", hide_short_help = true)]
    pub nano: bool,
    /// Kernel buffer in KiB (tcpdump's -B).
    ///
    /// The memory-mapped ring packets are read from (default 32 MiB, about
    /// 250,000 small packets of burst).
    #[arg(
        hide_short_help = true,
        short = 'B',
        long = "buffer-size",
        value_name = "KiB",
        default_value_t = 32 * 1024,
        value_parser = clap::value_parser!(u32).range(1024..=4_194_304)
    )]
    pub buffer_kib: u32,
    /// Print the filter compiled to classic BPF and exit (tcpdump's -d).
    ///
    /// -d as `tcpdump -d`, -dd as a C array, -ddd as decimal numbers.
    #[arg(short = 'd', action = clap::ArgAction::Count, hide_short_help = true)]
    pub dump_bpf: u8,
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

/// What `socklab sniff` was asked to do.
#[derive(Debug, Clone)]
pub enum SniffConfig {
    /// Capture live.
    Live(crate::sniff::Config),
    /// `-r FILE`: read a capture file, as `replay`.
    Read(crate::sniff::replay::Config),
    /// `-D`: list the interfaces.
    List,
}

impl SniffArgs {
    /// Validate: parse the filter (before anything privileged is asked for).
    pub fn config(&self) -> Result<SniffConfig, crate::filter::FilterError> {
        if self.list {
            return Ok(SniffConfig::List);
        }
        if let Some(file) = &self.read {
            return Ok(SniffConfig::Read(crate::sniff::replay::Config {
                file: file.clone(),
                filter: crate::filter::Filter::parse_words(&self.filter)?,
                filter_text: self.filter.join(" "),
                dump_bpf: self.dump_bpf,
                print: self.print.options(),
                decode: self.print.decode_table(),
                heuristics: !self.print.no_heuristics,
                stats: false,
                follow: self.follow,
                count: self.count,
                max_connections: crate::track::tcp::MAX_CONNECTIONS,
                write: self.write.clone(),
                nano: self.nano,
                line_buffered: self.print.line_buffered,
            }));
        }
        Ok(SniffConfig::Live(crate::sniff::Config {
            iface: self.iface.clone(),
            filter: crate::filter::Filter::parse_words(&self.filter)?,
            filter_text: self.filter.join(" "),
            dump_bpf: self.dump_bpf,
            snaplen: self.snaplen,
            print: self.print.options(),
            decode: self.print.decode_table(),
            heuristics: !self.print.no_heuristics,
            count: self.count,
            follow: self.follow,
            write: self.write.clone(),
            nano: self.nano,
            user: self.user.clone(),
            buffer_kib: self.buffer_kib,
            line_buffered: self.print.line_buffered,
        }))
    }
}
