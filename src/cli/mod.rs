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

/// The top help page: the commands in groups, so that it fits on a screen
/// (tests/help.rs checks that every command is named).
const TOP_HELP: &str = "\
{about}

{usage-heading} {usage}     ('socklab COMMAND -h': its options)

Learn      lab (lessons, no root needed), demo, trace (a program's calls)
Protocols  udp-calc, tcp-calc, echo, chat, monitor: serve, and ask, send or
           report; get (HTTP GET), resolve (getaddrinfo, gethostbyaddr)
The wire   sniff (live, tcpdump filters), replay (pcap, pcapng), dissector
Workbench  pack, unpack (Python struct), hexdump, order (htons...), addr
Set-up     completions SHELL, man [DIR]; -V, --version
{after-help}";

/// socklab: speak, sniff and explain the socket-course protocols.
#[derive(Debug, Parser)]
#[command(
    name = "socklab",
    version,
    about,
    help_template = TOP_HELP,
    after_help = "Examples:
  socklab lab handshake           a lesson: both ends, captured and drawn
  socklab demo                    both calculators in one process, no set-up
  socklab udp-calc serve          the course's UDP server on 127.0.0.1:10009
  socklab udp-calc ask 10 500 add one request, every byte shown
  sudo socklab sniff port 10009   watch the wire, narrated (tcpdump filters)
  socklab replay run.pcap --stats what a capture holds, in a table
  socklab pack '!III' 10 500 0    Python's struct.pack, annotated
The manual: socklab man | man -l -"
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
                    .help("Print help (--help-all: every option)"),
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
    // trace's page has its own options first; -X stays in --help-all.
    let cmd = Cli::command()
        .max_term_width(100)
        .mut_subcommand("trace", |t| t.mut_arg("hex", |a| a.hide_short_help(true)));
    short_help(cmd)
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
    #[command(after_help = "Examples:\n  socklab demo")]
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
    /// Run a program: its socket calls beside the packets they cause (no root needed).
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
    /// Listen on HOST:PORT, [V6]:PORT, or PORT.
    #[arg(long, short = 'b', value_name = "ADDR:PORT")]
    pub bind: Option<String>,
    /// Do not set SO_REUSEADDR.
    ///
    /// A restart then shows "Address already in use" while TIME_WAIT holds the port.
    #[arg(long, hide_short_help = true)]
    pub no_reuseaddr: bool,
    /// UDP servers: set SO_REUSEADDR.
    ///
    /// This socket may then share a port another socket holds (off by
    /// default: a held port fails with "Address already in use").
    #[arg(long, conflicts_with = "no_reuseaddr", hide_short_help = true)]
    pub reuseaddr: bool,
    /// Only problems and the final summary.
    ///
    /// Without it, one line per event.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `--sniff`: watch the wire while the command runs.
#[derive(Debug, Clone, Default, Args)]
pub struct SniffOpt {
    /// Show the calls and the packets they cause (sudo).
    ///
    /// Captures lo while this runs and prints the socket calls, the packets
    /// they caused and the narration in time order (needs CAP_NET_RAW: sudo).
    #[arg(long)]
    pub sniff: bool,
    /// With --sniff: hex and ASCII dump of each frame.
    #[arg(long, requires = "sniff", hide_short_help = true)]
    pub sniff_hex: bool,
    /// With --sniff: save the packets (pcap, or .pcapng).
    #[arg(short = 'w', long = "write", value_name = "FILE", requires = "sniff")]
    pub write: Option<std::path::PathBuf>,
    /// With -w: nanosecond timestamps (default: microseconds).
    #[arg(long, requires = "write", hide_short_help = true)]
    pub nano: bool,
    /// With --sniff: also decode traffic on PORT as PROTO; repeatable.
    ///
    /// PROTO: udp-calc, udp-calc-net, tcp-calc, echo, monitor, chat, http.
    #[arg(
        long = "decode",
        value_name = "PORT=PROTO",
        requires = "sniff",
        hide_short_help = true
    )]
    pub decode: Vec<crate::wire::decode_as::DecodeAs>,
    /// Colour with --sniff: auto (a terminal), always, never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN",
          hide_possible_values = true, hide_default_value = true)]
    pub color: ColorArg,
}

/// Client options for the request/response calculators.
#[derive(Debug, Clone, Args)]
pub struct LoadOpts {
    /// Load mode: N requests; requests/s and latency.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Load mode: parallel clients (threads).
    #[arg(long, value_name = "K", default_value_t = 1, hide_short_help = true)]
    pub concurrency: usize,
}

/// `socklab udp-calc ...`
#[derive(Debug, Subcommand)]
pub enum UdpCalc {
    #[command(
        after_help = "Examples:\n  socklab udp-calc serve                   the course server, 127.0.0.1:10009\n  socklab udp-calc serve -b 0.0.0.0:10009  on every interface\n  sudo socklab udp-calc serve --sniff      each call with its packets"
    )]
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
    #[command(
        after_help = "Examples:\n  socklab udp-calc ask 10 500 add\n  socklab udp-calc ask 10 500 add --order big   \"!III\", network order\n  socklab udp-calc ask 1 2 sub --count 100000   load: requests/s, latency"
    )]
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
        #[arg(long, value_parser = values::timeout, default_value = "5", value_name = "SECS")]
        timeout: Duration,
        #[command(flatten)]
        load: LoadOpts,
        #[command(flatten)]
        sniff: SniffOpt,
        /// Load mode: requests in flight per client (sent with one sendmmsg).
        #[arg(long, value_name = "W", default_value_t = 32, hide_short_help = true)]
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
    #[command(
        after_help = "Examples:\n  socklab tcp-calc serve\n  socklab tcp-calc serve --mode iterative   one client at a time\n  sudo socklab tcp-calc serve --sniff"
    )]
    /// Run the server.
    Serve {
        #[command(flatten)]
        opts: ServeOpts,
        #[command(flatten)]
        sniff: SniffOpt,
        /// Server style.
        #[arg(long, value_enum, default_value_t = TcpMode::Threads)]
        mode: TcpMode,
        /// Close a client silent this long.
        #[arg(long, value_parser = values::secs, default_value = "10", value_name = "SECS")]
        idle_timeout: Duration,
        /// Threads mode: most clients served at once; more are refused politely.
        #[arg(long, default_value_t = 1000, hide_short_help = true)]
        max_clients: usize,
    },
    #[command(
        after_help = "Examples:\n  socklab tcp-calc ask 10 500 add\n  socklab tcp-calc ask 7 2 sub --count 10000 --concurrency 4"
    )]
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
        #[arg(long, value_parser = values::timeout, default_value = "5", value_name = "SECS")]
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
    #[command(
        after_help = "Examples:\n  socklab echo serve                      TCP on 127.0.0.1:10000\n  socklab echo serve --udp --style upper"
    )]
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
        /// Close a TCP client silent this long (0 = never).
        #[arg(long, value_parser = values::secs, default_value = "60", value_name = "SECS")]
        idle_timeout: Duration,
        /// Most TCP clients served at once.
        #[arg(long, default_value_t = 1000, hide_short_help = true)]
        max_clients: usize,
    },
    #[command(
        after_help = "Examples:\n  socklab echo send hello\n  socklab echo send hello --nul     the course client: NUL-terminated\n  sudo socklab echo send hi --udp --sniff"
    )]
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
        #[arg(long, value_parser = values::timeout, default_value = "5", value_name = "SECS")]
        timeout: Duration,
        #[command(flatten)]
        sniff: SniffOpt,
    },
}

/// `socklab chat ...`
#[derive(Debug, Subcommand)]
pub enum Chat {
    #[command(
        after_help = "Examples:\n  socklab chat serve -b 127.0.0.1:8888   then nc 127.0.0.1 8888, twice"
    )]
    /// Run the select/poll-loop chat server.
    Serve {
        #[command(flatten)]
        opts: ServeOpts,
        #[command(flatten)]
        sniff: SniffOpt,
        /// Close a client silent this long (0 = never).
        #[arg(long, value_parser = values::secs, default_value = "600", value_name = "SECS")]
        idle_timeout: Duration,
        /// Most clients at once.
        #[arg(long, default_value_t = 1000, hide_short_help = true)]
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
    #[command(
        after_help = "Examples:\n  socklab monitor serve\n  socklab monitor serve --mode threads"
    )]
    /// Run the server: one line per 67-byte record.
    Serve {
        #[command(flatten)]
        opts: ServeOpts,
        #[command(flatten)]
        sniff: SniffOpt,
        /// Server style.
        #[arg(long, value_enum, default_value_t = MonitorMode::Poll)]
        mode: MonitorMode,
        /// Close a client silent this long (0 = never).
        #[arg(long, value_parser = values::secs, default_value = "30", value_name = "SECS")]
        idle_timeout: Duration,
        /// Most clients at once.
        #[arg(long, default_value_t = 20000, hide_short_help = true)]
        max_clients: usize,
    },
    #[command(
        after_help = "Examples:\n  socklab monitor report --interval 1 --count 5\n  socklab monitor report --clients 1000 --count 10   load"
    )]
    /// Send this machine's CPU and memory figures as 67-byte records.
    Report {
        /// Server address.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:5000")]
        to: String,
        /// Seconds between records (fractions allowed).
        #[arg(long, value_parser = values::secs, default_value = "3", value_name = "SECS")]
        interval: Duration,
        /// Records per connection (default: until Ctrl-C).
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Load mode: open K concurrent connections.
        #[arg(long, value_name = "K", default_value_t = 1)]
        clients: usize,
        /// Seconds to wait for each connect.
        #[arg(long, value_parser = values::timeout, default_value = "5", value_name = "SECS")]
        timeout: Duration,
        #[command(flatten)]
        sniff: SniffOpt,
    },
}

/// `socklab get HOST PORT|SERVICE [PATH]`, or `socklab get http://HOST[:PORT]/PATH`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  socklab get example.com 80 /\n  socklab get http://127.0.0.1:8080/index.html\n  sudo socklab get example.com http --sniff"
)]
pub struct GetArgs {
    /// Server host name or address, or a whole http:// URL.
    pub host: String,
    /// Port number or service name (http = 80); not with a URL.
    pub port: Option<String>,
    /// Path to request (default /); not with a URL.
    pub path: Option<String>,
    /// Seconds to wait for connect and for each read.
    #[arg(long, value_parser = values::timeout, default_value = "10", value_name = "SECS")]
    pub timeout: Duration,
    #[command(flatten)]
    pub sniff: SniffOpt,
}

/// `socklab lab [NAME] [-v] [--json]`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  socklab lab                      the lessons, one line each
  socklab lab handshake            connect(), accept() and the handshake
  socklab lab close -v             every packet in detail too
  socklab lab abort -w abort.pcap  save the packets for replay or Wireshark")]
pub struct LabArgs {
    /// The lesson (omit to list them).
    pub name: Option<String>,
    /// Every packet in detail too (line, narration, fields).
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// One JSON object per line (docs/json.md).
    #[arg(long)]
    pub json: bool,
    /// Also draw the ladder diagram as SVG into FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<std::path::PathBuf>,
    /// Save the lesson's packets: pcap, or .pcapng.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<std::path::PathBuf>,
    /// With -w: nanosecond timestamps in a pcap file.
    #[arg(long, requires = "write", hide_short_help = true)]
    pub nano: bool,
    /// Colour of -v: auto (a terminal), always, never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN",
          hide_possible_values = true, hide_default_value = true)]
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
#[command(
    after_help = "Examples:\n  socklab resolve localhost\n  socklab resolve example.com http"
)]
pub struct ResolveArgs {
    /// Host name or address to look up.
    pub name: String,
    /// Optional service name or port for getaddrinfo.
    pub service: Option<String>,
}

/// `socklab dissector`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  socklab dissector > socklab.lua\n  tshark -X lua_script:socklab.lua -r run.pcapng"
)]
pub struct DissectorArgs {
    /// Also decode PORT as PROTO (udp-calc, udp-calc-net, tcp-calc, echo,
    /// monitor, chat, http); repeatable.
    #[arg(long = "decode", short = 'd', value_name = "PORT=PROTO")]
    pub decode: Vec<crate::wire::decode_as::DecodeAs>,
}
