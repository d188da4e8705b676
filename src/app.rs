//! Dispatch: one command line to the code that runs it.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Run a parsed command; `Ok` carries the exit code to return.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Sniff(args) => crate::sniff::run(&args),
        other => anyhow::bail!("not implemented yet: {other:?}"),
    }
}
