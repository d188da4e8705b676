//! Shell completion scripts and man pages, generated from the clap
//! definitions so they can never disagree with the real flags.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap_complete::Shell;

/// The full command tree, built (subcommand display names filled in).
fn command() -> clap::Command {
    let mut cmd = super::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Write the completion script for `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    let mut cmd = super::command();
    clap_complete::generate(shell, &mut cmd, "socklab", out);
}

/// Write the top-level man page (`socklab.1`) to `out`.
pub fn man_page(out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(command()).render(out)
}

/// Write one man page per command and subcommand into `dir`
/// (`socklab.1`, `socklab-lab.1`, `socklab-udp-calc-serve.1`, ...); returns
/// the files written, parents before their subcommands.
pub fn man_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn walk(cmd: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let subs: Vec<clap::Command> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .cloned()
            .collect();
        written.push(clap_mangen::Man::new(cmd).generate_to(dir)?);
        for sub in subs {
            walk(sub, dir, written)?;
        }
        Ok(())
    }
    let mut written = Vec::new();
    walk(command(), dir, &mut written)?;
    Ok(written)
}
