//! Thin entry point: parse arguments, run, turn the outcome into an exit code.

use std::process::ExitCode;

/// A second Ctrl-C or SIGTERM: stop at once.
fn exit_now() -> ! {
    std::process::exit(i32::from(socklab::proto::stop::SECOND_SIGNAL_STATUS))
}

fn main() -> ExitCode {
    let cli = socklab::cli::Cli::parse_args();
    socklab::proto::stop::on_second_signal(exit_now);
    let result = socklab::app::run(cli);
    // A failed write to stdout stops every loop, so whatever failed after
    // it is a consequence: the write failure is what gets reported.
    let result = match socklab::render::out::check() {
        Err(w) => Err(w.into()),
        Ok(()) => result,
    };
    match result {
        Ok(code) => code,
        // `socklab ... | head`: the reader has all it wanted; every writer
        // was finished on the way up.
        Err(e) if socklab::render::out::is_broken_pipe(&e) => ExitCode::SUCCESS,
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
