//! Thin entry point: parse arguments, run, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = socklab::cli::Cli::parse();
    match socklab::app::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Errors are written for people: the chain of causes, no debug dump.
            let mut msg = format!("socklab: error: {e}");
            for cause in e.chain().skip(1) {
                msg.push_str(&format!("\n  caused by: {cause}"));
            }
            socklab::render::out::note(&msg);
            ExitCode::FAILURE
        }
    }
}
