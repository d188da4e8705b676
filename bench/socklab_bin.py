"""Shared by the benchmarks: the release binary as cargo built it, and
results that must be there.

`release_binary()` runs `cargo build --release` and takes the executable's
path from cargo's own build messages, so it is right wherever the target
directory is (`CARGO_TARGET_DIR`, `build.target-dir`, a workspace).
`need()` ends the run with the command's output when a figure is missing,
instead of printing a result for a load that never ran.
"""
import json, os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def release_binary():
    """Build socklab in release mode; return the path cargo reports."""
    r = subprocess.run(
        ["cargo", "build", "--release", "--message-format=json-render-diagnostics"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"cargo build --release failed (exit status {r.returncode}); see the errors above")
    for line in r.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if (msg.get("reason") == "compiler-artifact" and msg.get("executable")
                and msg.get("target", {}).get("name") == "socklab"):
            return msg["executable"]
    sys.exit("cargo build --release did not report a socklab executable")


def need(pattern, text, what):
    """The match of `pattern` in `text`, or exit naming `what` and showing `text`."""
    m = re.search(pattern, text)
    if not m:
        shown = text.strip() or "(no output)"
        sys.exit(f"benchmark failed: {what}: no line matching /{pattern}/ in its output:\n{shown}")
    return m


def need_file(path, what):
    """`path`, or exit saying which file is missing and what it is for."""
    if not os.path.exists(path):
        sys.exit(f"benchmark failed: {what} not found at {path}")
    return path
