//! Command-line definitions (clap derive). Never touches sockets or bytes:
//! it only says what the user asked for.

pub mod generate;
pub mod print;
pub mod replay;
pub mod sniff;
pub mod trace;
pub mod values;
pub mod workbench;

use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use values::{ColorArg, OrderArg};

/// socklab: speak, sniff and explain the socket-course protocols.
#[derive(Debug, Parser)]
#[command(
    name = "socklab",
    version,
    about,
    propagate_version = true,
    after_help = "Examples:
  socklab lab handshake            a lesson: both ends, captured, drawn and explained
  socklab demo                     both calculators talking in one process, no set-up
  socklab udp-calc serve           the course's UDP server on 127.0.0.1:10009
  socklab udp-calc ask 10 500 add  one request, every byte shown (--sniff: its packets too)
  sudo socklab sniff port 10009    watch the wire, narrated (tcpdump-style filters)
  socklab replay FILE.pcap --stats what a capture holds, in a table
  socklab pack '!III' 10 500 0     Python's struct.pack, annotated
'socklab COMMAND --help' shows a command's options and examples; 'socklab man | man -l -' the manual."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parse the command line (exits with clap's message and status 2 on a
    /// bad one, 0 after `--help`).
    pub fn parse_args() -> Cli {
        let m = command().get_matches();
        Cli::from_arg_matches(&m).unwrap_or_else(|e| e.exit())
    }
}

/// The command tree as socklab uses it: `-h` and `--help` print the short
/// page (one screen: the common options and examples), `--help-all` every
/// option in detail (what the man pages hold); help is wrapped to the
/// terminal, at most 100 columns.
pub fn command() -> clap::Command {
    fn short_help(c: clap::Command) -> clap::Command {
        c.disable_help_flag(true)
            .arg(
                clap::Arg::new("help")
                    .short('h')
                    .long("help")
                    .action(clap::ArgAction::HelpShort)
                    .help("Print help (--help-all: every option, in detail)"),
            )
            .arg(
                clap::Arg::new("help_all")
                    .long("help-all")
                    .action(clap::ArgAction::HelpLong)
                    .help("Print help with every option, in detail")
                    .hide_short_help(true),
            )
            .mut_subcommands(short_help)
    }
    short_help(Cli::command().max_term_width(100))
}

/// Every socklab command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// UDP calculator: struct.pack("III", a, b, op) -> struct.pack("I", res).
    #[command(subcommand)]
    UdpCalc(UdpCalc),
    /// TCP calculator: NUL-terminated decimal numbers, reply "res\x00\x00".
    #[command(subcommand)]
    TcpCalc(TcpCalc),
    /// Echo over TCP or UDP.
    #[command(subcommand)]
    Echo(Echo),
    /// Chat server: one poll loop, lines broadcast to everyone else.
    #[command(subcommand)]
    Chat(Chat),
    /// System monitor: fixed 67-byte text records over TCP.
    #[command(subcommand)]
    Monitor(Monitor),
    /// HTTP GET client: connect, send, shutdown(SHUT_WR), read to end.
    Get(GetArgs),
    /// Name and address lookups: gethostname, getaddrinfo, gethostbyaddr.
    Resolve(ResolveArgs),
    /// Both ends of the calculators in one process: a first look, no set-up.
    Demo,
    /// One-command lessons: both ends, captured, drawn and explained (no root needed).
    Lab(LabArgs),
    /// Print a Lua dissector for Wireshark/tshark showing the course protocols
    /// (`tshark -X lua_script:socklab.lua`).
    Dissector(DissectorArgs),
    /// Python struct.pack: values to bytes, with an annotated dump.
    Pack(workbench::PackArgs),
    /// Python struct.unpack: bytes to values, with an annotated dump.
    Unpack(workbench::UnpackArgs),
    /// Hex dump of a file or stdin: offset, hex, ASCII.
    Hexdump(workbench::HexdumpArgs),
    /// htons/htonl/ntohs/ntohl on a value: its bytes in memory and on the wire.
    Order(workbench::OrderArgs),
    /// Facts about an IPv4/IPv6 address: kind, packed bytes, inet_aton/inet_pton.
    Addr(workbench::AddrArgs),
    /// Watch the wire: capture packets, decode every header, narrate TCP.
    Sniff(sniff::SniffArgs),
    /// Read a pcap/pcapng file: the same lines, narration and filters as sniff.
    Replay(replay::ReplayArgs),
    /// Run a program and show its socket calls beside the packets they cause (no root needed).
    Trace(trace::TraceArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Write man pages: socklab.1 to stdout, or one page per command into DIR.
    Man(ManArgs),
}

/// `socklab completions SHELL`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  socklab completions bash > /etc/bash_completion.d/socklab
  socklab completions zsh > ~/.zfunc/_socklab      # with fpath+=(~/.zfunc)
  socklab completions fish > ~/.config/fish/completions/socklab.fish")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `socklab man [DIR]`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  socklab man | man -l -
  sudo socklab man /usr/local/share/man/man1 && man socklab-lab")]
pub struct ManArgs {
    /// Directory to write socklab.1, socklab-lab.1, socklab-udp-calc-serve.1, ... into.
    pub dir: Option<std::path::PathBuf>,
}

/// Options every server shares.
#[derive(Debug, Clone, Args)]
pub struct ServeOpts {
    /// Address and port to listen on (HOST:PORT, [V6]:PORT, or PORT).
    #[arg(long, short = 'b', value_name = "ADDR:PORT")]
    pub bind: Option<String>,
    /// Do not set SO_REUSEADDR (shows "Address already in use" while TIME_WAIT holds the port).
    #[arg(long)]
    pub no_reuseaddr: bool,
    /// UDP servers: set SO_REUSEADDR, so this socket may share a port another socket holds
    /// (off by default: a held port fails with "Address already in use").
    #[arg(long, conflicts_with = "no_reuseaddr")]
    pub reuseaddr: bool,
    /// Print only problems and the final summary, not one line per event.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `--sniff`: watch the wire while the command runs.
#[derive(Debug, Clone, Default, Args)]
pub struct SniffOpt {
    /// Capture lo while this runs and print the socket calls, the packets they
    /// caused and the narration in time order (needs CAP_NET_RAW: sudo).
    #[arg(long)]
    pub sniff: bool,
    /// With --sniff: hex and ASCII dump of each frame.
    #[arg(long, requires = "sniff")]
    pub sniff_hex: bool,
    /// With --sniff: also save the packets to FILE (pcap; pcapng if FILE ends in .pcapng).
    #[arg(short = 'w', long = "write", value_name = "FILE", requires = "sniff")]
    pub write: Option<std::path::PathBuf>,
    /// With -w: nanosecond timestamps (default: microseconds).
    #[arg(long, requires = "write")]
    pub nano: bool,
    /// With --sniff: also decode traffic on PORT as PROTO (udp-calc, udp-calc-net,
    /// tcp-calc, echo, monitor, chat, http); repeatable.
    #[arg(long = "decode", value_name = "PORT=PROTO", requires = "sniff")]
    pub decode: Vec<crate::wire::decode_as::DecodeAs>,
    /// When to colour the --sniff timeline: auto (a terminal, NO_COLOR unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
}

/// Client options for the request/response calculators.
#[derive(Debug, Clone, Args)]
pub struct LoadOpts {
    /// Load mode: send N requests and print requests/s and latency.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Load mode: parallel clients (threads).
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub concurrency: usize,
}

/// `socklab udp-calc ...`
#[derive(Debug, Subcommand)]
pub enum UdpCalc {
    /// Run the server.
    Serve {
        #[command(flatten)]
        opts: ServeOpts,
        #[command(flatten)]
        sniff: SniffOpt,
        /// Byte order the server expects and replies in.
        #[arg(long, value_enum, default_value_t = OrderArg::Native)]
        order: OrderArg,
    },
    /// Send one request (or many, with --count) and show the bytes.
    Ask {
        /// First operand, 0..4294967295.
        #[arg(value_parser = values::u32_operand, allow_hyphen_values = true)]
        a: u32,
        /// Second operand, 0..4294967295.
        #[arg(value_parser = values::u32_operand, allow_hyphen_values = true)]
        b: u32,
        /// Operation: 0/add or 1/sub.
        #[arg(value_parser = values::op)]
        op: u32,
        /// Server address.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:10009")]
        to: String,
        /// Byte order to pack the request in.
        #[arg(long, value_enum, default_value_t = OrderArg::Native)]
        order: OrderArg,
        /// Seconds to wait for the reply.
        #[arg(long, value_parser = values::timeout, default_value = "5")]
        timeout: Duration,
        #[command(flatten)]
        load: LoadOpts,
        #[command(flatten)]
        sniff: SniffOpt,
        /// Load mode: requests in flight per client (sent with one sendmmsg).
        #[arg(long, value_name = "W", default_value_t = 32)]
        window: usize,
    },
}

/// How a TCP server handles its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TcpMode {
    /// One client at a time, in the accept loop.
    Iterative,
    /// One thread per connection.
    Threads,
}

/// `socklab tcp-calc ...`
#[derive(Debug, Subcommand)]
pub enum TcpCalc {
    /// Run the server.
    Serve {
        #[command(flatten)]
        opts: ServeOpts,
        #[command(flatten)]
        sniff: SniffOpt,
        /// Server style.
        #[arg(long, value_enum, default_value_t = TcpMode::Threads)]
        mode: TcpMode,
        /// Close a client that sends nothing for this many seconds.
        #[arg(long, value_parser = values::secs, default_value = "10")]
        idle_timeout: Duration,
        /// Threads mode: most clients served at once; more are refused politely.
        #[arg(long, default_value_t = 1000)]
        max_clients: usize,
    },
    /// Send one request (or many, with --count).
    Ask {
        /// First operand (signed decimal).
        #[arg(allow_hyphen_values = true)]
        a: i64,
        /// Second operand (signed decimal).
        #[arg(allow_hyphen_values = true)]
        b: i64,
        /// Operation: 0/add or 1/sub.
        #[arg(value_parser = values::op)]
        op: u32,
        /// Server address.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:10009")]
        to: String,
        /// Seconds to wait for connect and for the reply.
        #[arg(long, value_parser = values::timeout, default_value = "5")]
        timeout: Duration,
        #[command(flatten)]
        load: LoadOpts,
        #[command(flatten)]
        sniff: SniffOpt,
    },
}

/// Echo server variants seen in the course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EchoStyle {
    /// Send back exactly what came.
    Plain,
    /// Send it back in upper case.
    Upper,
    /// Welcome line, then "OK..." + data (the telnet server).
    Ok,
}

/// `socklab echo ...`
#[derive(Debug, Subcommand)]
pub enum Echo {
    /// Run the server.
    Serve {
        #[command(flatten)]
        opts: ServeOpts,
        #[command(flatten)]
        sniff: SniffOpt,
        /// UDP instead of TCP.
        #[arg(long)]
        udp: bool,
        /// What the reply looks like.
        #[arg(long, value_enum, default_value_t = EchoStyle::Plain)]
        style: EchoStyle,
        /// Close a TCP client that sends nothing for this many seconds (0 = never).
        #[arg(long, value_parser = values::secs, default_value = "60")]
        idle_timeout: Duration,
        /// Most TCP clients served at once.
        #[arg(long, default_value_t = 1000)]
        max_clients: usize,
    },
    /// Send a message and print the reply.
    Send {
        /// The message.
        message: String,
        /// Server address.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:10000")]
        to: String,
        /// UDP instead of TCP.
        #[arg(long)]
        udp: bool,
        /// The course client: append a NUL and read the reply until a NUL.
        #[arg(long)]
        nul: bool,
        /// Seconds to wait for connect and for the reply.
        #[arg(long, value_parser = values::timeout, default_value = "5")]
        timeout: Duration,
        #[command(flatten)]
        sniff: SniffOpt,
    },
}

/// `socklab chat ...`
#[derive(Debug, Subcommand)]
pub enum Chat {
    /// Run the select/poll-loop chat server.
    Serve {
        #[command(flatten)]
        opts: ServeOpts,
        #[command(flatten)]
        sniff: SniffOpt,
        /// Close a client that sends nothing for this many seconds (0 = never).
        #[arg(long, value_parser = values::secs, default_value = "600")]
        idle_timeout: Duration,
        /// Most clients at once.
        #[arg(long, default_value_t = 1000)]
        max_clients: usize,
    },
}

/// How the monitor server handles its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MonitorMode {
    /// One poll loop for every client (the select() server).
    Poll,
    /// One thread per client.
    Threads,
}

/// `socklab monitor ...`
#[derive(Debug, Subcommand)]
pub enum Monitor {
    /// Run the server: one line per 67-byte record.
    Serve {
        #[command(flatten)]
        opts: ServeOpts,
        #[command(flatten)]
        sniff: SniffOpt,
        /// Server style.
        #[arg(long, value_enum, default_value_t = MonitorMode::Poll)]
        mode: MonitorMode,
        /// Close a client that sends nothing for this many seconds (0 = never).
        #[arg(long, value_parser = values::secs, default_value = "30")]
        idle_timeout: Duration,
        /// Most clients at once.
        #[arg(long, default_value_t = 20000)]
        max_clients: usize,
    },
    /// Send this machine's CPU and memory figures as 67-byte records.
    Report {
        /// Server address.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:5000")]
        to: String,
        /// Seconds between records (fractions allowed).
        #[arg(long, value_parser = values::secs, default_value = "3")]
        interval: Duration,
        /// Records per connection (default: until Ctrl-C).
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Load mode: open K concurrent connections.
        #[arg(long, value_name = "K", default_value_t = 1)]
        clients: usize,
        /// Seconds to wait for each connect.
        #[arg(long, value_parser = values::timeout, default_value = "5")]
        timeout: Duration,
        #[command(flatten)]
        sniff: SniffOpt,
    },
}

/// `socklab get HOST PORT|SERVICE [PATH]`, or `socklab get http://HOST[:PORT]/PATH`
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Server host name or address, or a whole http:// URL.
    pub host: String,
    /// Port number or service name (http = 80); not with a URL.
    pub port: Option<String>,
    /// Path to request (default /); not with a URL.
    pub path: Option<String>,
    /// Seconds to wait for connect and for each read.
    #[arg(long, value_parser = values::timeout, default_value = "10")]
    pub timeout: Duration,
    #[command(flatten)]
    pub sniff: SniffOpt,
}

/// `socklab lab [NAME] [-v] [--json]`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  socklab lab                       the lessons, one line each
  socklab lab handshake             connect()/accept() and the 3-way handshake, drawn
  socklab lab close -v              every packet in detail too
  socklab lab abort -w abort.pcap   save the packets for replay, tcpdump or Wireshark")]
pub struct LabArgs {
    /// The lesson (omit to list them).
    pub name: Option<String>,
    /// Also print every packet in detail (tcpdump line, narration, header tree).
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// One JSON object per line: calls, packets, facts, explanation.
    #[arg(long)]
    pub json: bool,
    /// Also draw the ladder diagram as an SVG picture into FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<std::path::PathBuf>,
    /// Save the lesson's packets: pcap (pcapng when FILE ends in .pcapng).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<std::path::PathBuf>,
    /// With -w: nanosecond timestamps in a pcap file.
    #[arg(long, requires = "write")]
    pub nano: bool,
    /// When to colour the output (-v packets): auto (a terminal, NO_COLOR unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
}

impl LabArgs {
    /// The lab's configuration.
    pub fn config(&self) -> crate::lab::Config {
        crate::lab::Config {
            name: self.name.clone(),
            verbose: self.verbose,
            json: self.json,
            svg: self.svg.clone(),
            write: self.write.clone(),
            nano: self.nano,
            color: self.color.into(),
        }
    }
}

/// `socklab resolve NAME|ADDRESS [SERVICE]`
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Host name or address to look up.
    pub name: String,
    /// Optional service name or port for getaddrinfo.
    pub service: Option<String>,
}

/// `socklab dissector`.
#[derive(Debug, Args)]
pub struct DissectorArgs {
    /// Also decode PORT as PROTO (udp-calc, udp-calc-net, tcp-calc, echo,
    /// monitor, chat, http); repeatable.
    #[arg(long = "decode", short = 'd', value_name = "PORT=PROTO")]
    pub decode: Vec<crate::wire::decode_as::DecodeAs>,
}
