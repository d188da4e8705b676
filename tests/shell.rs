//! `socklab completions SHELL` and `socklab man [DIR]`: the bash script
//! really completes in bash, every shell gets a script, and every man page
//! renders with `man -l`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{run_limited, socklab, stderr, stdout};

/// What bash's completion function offers for the words typed so far.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _socklab socklab '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = run_limited(
        "bash",
        &["--norc", "--noprofile", "-c", &program],
        Duration::from_secs(10),
    );
    assert!(out.status.success(), "bash failed: {}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

#[test]
fn bash_completion_completes_subcommands_and_values() {
    if !common::have_tool("bash", "--version") {
        return;
    }
    let out = socklab(&["completions", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = tempdir("bash");
    let script = dir.join("socklab.bash");
    std::fs::write(&script, &out.stdout).expect("write script");

    assert_eq!(bash_complete(&script, &["socklab", "la"]), ["lab"]);
    let r = bash_complete(&script, &["socklab", "re"]);
    assert!(
        r.contains(&"replay".to_string()) && r.contains(&"resolve".to_string()),
        "{r:?}"
    );
    assert_eq!(
        bash_complete(&script, &["socklab", "udp-calc", "se"]),
        ["serve"]
    );
    assert_eq!(
        bash_complete(&script, &["socklab", "completions", "fi"]),
        ["fish"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_shell_gets_a_script_naming_the_subcommands() {
    for (shell, marker) in [
        ("bash", "_socklab()"),
        ("zsh", "#compdef socklab"),
        ("fish", "complete -c socklab"),
        ("elvish", "edit:completion:arg-completer[socklab]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = socklab(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains(marker), "{shell} script lacks {marker:?}");
        for sub in ["lab", "udp-calc", "hexdump", "replay"] {
            assert!(text.contains(sub), "{shell} script lacks {sub}");
        }
    }
    let out = socklab(&["completions", "tcsh"]);
    common::assert_teaching_error(&out, &["invalid value 'tcsh'", "bash"]);
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("socklab-shell-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `man -l FILE` as plain text (no pager, no formatting escapes).
fn man_render(page: &str) -> (String, String) {
    let out = Command::new("man")
        .args(["-l", page])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "0")
        .env("GROFF_NO_SGR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run man");
    assert!(
        out.status.success(),
        "man -l {page} failed: {}",
        stderr(&out)
    );
    // Remove overstrike bold/underline (x\bx, _\bx) that man may leave.
    let text = stdout(&out);
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if chars.peek() == Some(&'\u{8}') {
            chars.next();
            continue;
        }
        plain.push(c);
    }
    (plain, stderr(&out))
}

#[test]
fn man_pages_render_with_man_l_one_per_command() {
    if !common::have_tool("man", "--version") {
        return;
    }
    let dir = tempdir("man");
    let out = socklab(&["man", dir.to_str().expect("utf-8 temp dir")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    for name in [
        "socklab.1",
        "socklab-lab.1",
        "socklab-udp-calc-serve.1",
        "socklab-hexdump.1",
        "socklab-completions.1",
    ] {
        let path = dir.join(name);
        assert!(
            listed.contains(&path.display().to_string()),
            "{name} not listed: {listed:?}"
        );
        let (text, warnings) = man_render(path.to_str().expect("utf-8"));
        assert!(text.contains("NAME"), "{name}: no NAME section:\n{text}");
        assert!(text.contains("SYNOPSIS"), "{name}: no SYNOPSIS:\n{text}");
        assert!(warnings.trim().is_empty(), "{name}: man warned: {warnings}");
    }
    let (lab, _) = man_render(dir.join("socklab-lab.1").to_str().expect("utf-8"));
    assert!(lab.contains("socklab-lab"), "{lab}");
    assert!(lab.contains("--json"), "{lab}");
    let (top, _) = man_render(dir.join("socklab.1").to_str().expect("utf-8"));
    for sub in ["udp-calc", "lab", "hexdump", "man"] {
        assert!(top.contains(sub), "top page lacks {sub}:\n{top}");
    }
    // No hidden help subcommand pages.
    assert!(!dir.join("socklab-help.1").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn man_without_dir_prints_the_main_page() {
    let out = socklab(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(
        page.contains(".TH socklab 1"),
        "not a section-1 page:\n{page}"
    );
}

#[test]
fn man_into_a_missing_directory_says_so() {
    let out = socklab(&["man", "/nonexistent/socklab-man"]);
    common::assert_teaching_error(
        &out,
        &[
            "/nonexistent/socklab-man: cannot write man pages",
            "(ENOENT)",
        ],
    );
}

#[test]
fn help_fits_on_one_screen_with_examples_that_exist() {
    let out = socklab(&["--help"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let help = stdout(&out);
    assert!(
        help.lines().count() <= 40,
        "socklab --help is {} lines, more than a 40-line screen:\n{help}",
        help.lines().count()
    );
    let examples: Vec<&str> = help
        .split("Examples:\n")
        .nth(1)
        .expect("an Examples section")
        .lines()
        .filter_map(|l| l.trim_start().split("  ").next())
        .filter(|cmd| cmd.starts_with("socklab ") || cmd.starts_with("sudo socklab "))
        .collect();
    assert!(examples.len() >= 5, "{examples:?}");
    // Every example names a real command (its --help works).
    for ex in examples {
        let words: Vec<&str> = ex.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "socklab").expect("socklab") + 1;
        let mut args = vec![words[at]];
        if let Some(sub) = words.get(at + 1).filter(|w| matches!(**w, "serve" | "ask")) {
            args.push(sub);
        }
        args.push("--help");
        let o = socklab(&args);
        assert!(o.status.success(), "example {ex:?}: {}", stderr(&o));
    }
    let lab = stdout(&socklab(&["lab", "--help"]));
    assert!(
        lab.contains("Examples:\n  socklab lab ") && lab.contains("  socklab lab handshake "),
        "{lab}"
    );
}
