//! `--help` fits on one screen (issue 15 point 1): every page at most 24
//! lines of at most 80 columns, with examples; `--help-all` has every
//! option in detail; the top page names every command.

mod common;

use std::process::Command;

use clap::CommandFactory;

/// One screen: 80 columns, 24 lines.
const COLUMNS: usize = 80;
const LINES: usize = 24;

fn help(path: &[&str], flag: &str) -> String {
    let o = Command::new(common::bin())
        .args(path)
        .arg(flag)
        // No terminal on any stream: clap wraps to COLUMNS.
        .stdin(std::process::Stdio::null())
        .env("COLUMNS", COLUMNS.to_string())
        .output()
        .expect("run socklab");
    assert!(o.status.success(), "{path:?} {flag}: {:?}", o.status);
    String::from_utf8(o.stdout).expect("utf-8 help")
}

/// Every command and subcommand, as argument lists (`[]` is the top).
fn all_paths() -> Vec<Vec<String>> {
    fn walk(c: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for s in c.get_subcommands() {
            let mut p = path.clone();
            p.push(s.get_name().to_string());
            walk(s, p, out);
        }
    }
    let mut out = Vec::new();
    walk(&socklab::cli::Cli::command(), Vec::new(), &mut out);
    out
}

#[test]
fn every_help_page_fits_on_one_screen_with_examples() {
    let mut bad = Vec::new();
    let paths = all_paths();
    assert!(paths.len() >= 25, "{paths:?}");
    for p in &paths {
        let p: Vec<&str> = p.iter().map(String::as_str).collect();
        let text = help(&p, "--help");
        let name = format!("socklab {} --help", p.join(" "));
        let lines = text.lines().count();
        if lines > LINES {
            bad.push(format!("{name}: {lines} lines"));
        }
        if let Some(l) = text.lines().find(|l| l.chars().count() > COLUMNS) {
            bad.push(format!("{name}: a line wider than {COLUMNS}: {l:?}"));
        }
        // Pages of commands that run something show how (a group of
        // subcommands lists them instead).
        let group = text.contains("\nCommands:\n") && !p.is_empty();
        if !group && !text.lines().any(|l| l.starts_with("Examples")) {
            bad.push(format!("{name}: no Examples"));
        }
        assert_eq!(text, help(&p, "-h"), "{name}: -h and --help differ");
    }
    assert!(
        bad.is_empty(),
        "help pages too big or without examples:\n{}",
        bad.join("\n")
    );
}

#[test]
fn help_all_has_every_option_in_detail() {
    let short = help(&["sniff"], "--help");
    let all = help(&["sniff"], "--help-all");
    assert!(short.contains("--help-all"), "{short}");
    assert!(all.lines().count() > short.lines().count());
    // Options kept off the one-screen page are still documented.
    for opt in [
        "--buffer-size",
        "--relinquish-privileges",
        "--nano",
        "--no-heuristics",
        "--utc",
    ] {
        assert!(!short.contains(opt), "{opt} on the short page:\n{short}");
        assert!(all.contains(opt), "{opt} not in --help-all:\n{all}");
    }
    for opt in [
        "--interface",
        "--count",
        "--write",
        "--json",
        "--color",
        "-X",
        "--verbose",
    ] {
        assert!(
            short.contains(opt),
            "{opt} missing from the short page:\n{short}"
        );
    }
}

#[test]
fn the_top_page_names_every_command() {
    let text = help(&[], "--help");
    for c in socklab::cli::Cli::command().get_subcommands() {
        let name = c.get_name();
        assert!(
            text.split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '-'))
                .any(|w| w == name),
            "{name} not on the top page:\n{text}"
        );
    }
}
