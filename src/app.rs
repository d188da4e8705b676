//! Dispatch: one command line to the code that runs it.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Run a parsed command; `Ok` carries the exit code to return.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Pack(a) => crate::workbench::pack::run(a),
        Command::Unpack(a) => crate::workbench::unpack::run(a),
        Command::Hexdump(a) => crate::workbench::hexdump::run(a),
        Command::Order(a) => crate::workbench::order::run(a),
        Command::Addr(a) => crate::workbench::addr::run(a),
        other => anyhow::bail!("not implemented yet: {other:?}"),
    }
}
