//! `socklab sniff -D`: the interfaces a capture can open, numbered as
//! `tcpdump -D` numbers them (the `any` pseudo-device among them), each with
//! the link type its frames have.

use std::process::ExitCode;

use anyhow::Result;

/// Print the list to standard output.
pub fn run() -> Result<ExitCode> {
    let all = crate::capture::ifaces::list();
    if all.iter().all(|i| i.name == crate::capture::live::ANY) {
        anyhow::bail!("no network interface found (is /sys mounted?)");
    }
    for (n, i) in all.iter().enumerate() {
        crate::render::out::line(&i.describe(n + 1));
    }
    Ok(ExitCode::SUCCESS)
}
