//! `socklab trace` arguments, and their validation into a
//! [`crate::trace::TraceConfig`].

use std::path::PathBuf;

use clap::Args;

use super::print::PrintArgs;
use crate::trace::TraceConfig;

/// `socklab trace [OPTIONS] -- CMD [ARGS...]` or `socklab trace -p PID`
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  socklab trace -- python3 client.py 127.0.0.1 10009\n  \
                  socklab trace --with 'python3 server.py 10009' -- python3 client.py\n  \
                  socklab trace -c -w run.pcapng -- ./myprogram"
)]
pub struct TraceArgs {
    /// Attach to this running process.
    ///
    /// Slower: no seccomp filter.
    #[arg(short = 'p', long = "pid", value_name = "PID", conflicts_with = "with")]
    pub pid: Option<i32>,
    /// Start this peer first (traced too); repeatable.
    ///
    /// A shell command line.
    #[arg(long = "with", value_name = "CMD")]
    pub with: Vec<String>,
    /// End with a table per socket.
    ///
    /// Calls, bytes, segments on the wire, how the connection ended.
    #[arg(short = 'c', long = "summary")]
    pub summary: bool,
    /// Save the packets shown to FILE: pcapng, or pcap.
    ///
    /// In pcapng, a comment names the call behind each packet.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Show the time spent in each call.
    #[arg(short = 'T', hide_short_help = true)]
    pub timing: bool,
    /// Payload bytes shown per call.
    #[arg(
        hide_short_help = true,
        short = 's',
        long = "strsize",
        value_name = "BYTES",
        default_value_t = 32
    )]
    pub strsize: usize,
    /// The program's output lines on the timeline.
    ///
    /// Its stdout and stderr lines, marked out| and err|.
    #[arg(long)]
    pub inline_output: bool,
    /// Show every packet on the interface, not only the program's own.
    #[arg(long, hide_short_help = true)]
    pub all_packets: bool,
    /// Show name-service traffic too (DNS, nscd): hidden by default.
    #[arg(long, hide_short_help = true)]
    pub dns: bool,
    /// Only packets matching this filter (same syntax as `sniff`, e.g. `tcp and port 10009`).
    #[arg(long, value_name = "EXPR", hide_short_help = true)]
    pub filter: Option<String>,
    /// Interface to capture on.
    #[arg(
        hide_short_help = true,
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        default_value = "lo"
    )]
    pub iface: String,
    /// Socket calls only: no packet capture.
    #[arg(long)]
    pub no_packets: bool,
    /// TCP conversation N's two byte streams at the end, instead of its packets.
    ///
    /// Numbered as in the -c table (the program's own conversations, from
    /// 1 as they start); in stream order, each segment beside the messages
    /// it completes (see replay --follow). The calls are still shown.
    #[arg(long, hide_short_help = true, value_name = "N", conflicts_with_all = ["json", "no_packets"], value_parser = clap::value_parser!(u32).range(1..))]
    pub follow: Option<u32>,
    /// How calls and packets are printed.
    #[command(flatten)]
    pub print: PrintArgs,
    /// The program and its arguments (after `--`).
    #[arg(
        value_name = "CMD",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

impl TraceArgs {
    /// Check the combination and build the configuration.
    pub fn config(&self) -> Result<TraceConfig, String> {
        match (&self.pid, self.command.is_empty()) {
            (Some(_), false) => {
                return Err("give either -p PID or a command after --, not both".into())
            }
            (None, true) => {
                return Err(
                    "no command to trace: put it after --, e.g. `socklab trace -- python3 client.py 127.0.0.1 10009`"
                        .into(),
                )
            }
            _ => {}
        }
        if let Some(p) = self.pid {
            if p <= 0 {
                return Err(format!("-p {p}: a process id is a positive number"));
            }
        }
        if self.with.iter().any(|w| w.trim().is_empty()) {
            return Err(
                "--with needs a command line, e.g. --with 'python3 server.py 10009'".into(),
            );
        }
        let filter = match &self.filter {
            Some(f) => {
                Some(crate::filter::Filter::parse(f).map_err(|e| format!("--filter {f:?}: {e}"))?)
            }
            None => None,
        };
        Ok(TraceConfig {
            command: self.command.clone(),
            pid: self.pid,
            with: self.with.clone(),
            summary: self.summary,
            write: self.write.clone(),
            timing: self.timing,
            snap: self.strsize,
            inline_output: self.inline_output,
            all_packets: self.all_packets,
            dns: self.dns,
            filter,
            iface: self.iface.clone(),
            no_packets: self.no_packets,
            follow: self.follow,
            print: self.print.options(),
            decode: self.print.decode_table(),
            heuristics: !self.print.no_heuristics,
        })
    }
}
