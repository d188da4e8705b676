//! socklab: a packet-level protocol explorer for socket-programming courses.
//!
//! How a command runs, data flowing one way:
//!
//! 1. `main` parses the command line with [`cli`] (clap structs live only
//!    there) and calls [`app::run`].
//! 2. `cli` turns the raw flags into a validated configuration (for example
//!    [`cli::sniff::SniffArgs::config`] parses the filter into a
//!    [`sniff::Config`]); [`app`] hands it to the command's runner. Runners
//!    and the libraries below them never see clap.
//! 3. The protocol commands ([`proto`]) speak the course protocols on real
//!    sockets, using [`wire`] (pure codecs, no I/O) and reporting their
//!    socket calls through `proto::calls`.
//! 4. Everything that looks at packets goes through one loop,
//!    [`sniff::driver::Driver`]: a [`capture::source::PacketSource`] (live
//!    capture, capture file, a capture thread for `--sniff` and traced
//!    programs, a lesson's packets in memory) -> decode ([`wire::packet`])
//!    -> filter ([`filter`]) -> track ([`track`]) -> render ([`render`])
//!    -> write (`-w`, [`capture::file::Writer`]). Events from other threads
//!    (socket calls, a traced program's system calls, program output) are
//!    merged into the same time-ordered timeline through a
//!    [`sniff::driver::Inbox`], or a [`sniff::driver::Merger`] that holds
//!    packets back until the calls that caused them are in (`trace`). The driver owns stopping (Ctrl-C, SIGTERM,
//!    `-c N`), flushing, the summary, kernel statistics, and finishing the
//!    `-w` file whatever ends the run.
//! 5. Errors travel back up to `main` as values: a closed stdout pipe is a
//!    quiet success, any other write error ([`render::out::WriteError`])
//!    status 1 with the errno name. Nothing below `main` exits the process.

pub mod app;
pub mod capture;
pub mod cli;
pub mod demo;
pub mod dissector;
pub mod duration;
pub mod error;
pub mod filter;
pub mod lab;
pub mod plural;
pub mod proto;
pub mod render;
pub mod sniff;
pub mod suggest;
pub mod trace;
pub mod track;
pub mod wire;
pub mod workbench;
