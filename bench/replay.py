#!/usr/bin/env python3
"""Replay benchmark: `socklab replay` against `tcpdump -nn -r` on the same
capture, in one run, both printing to /dev/null, with and without -X; and
socklab's peak memory on a 1M-packet file and on a 10x larger one
(GNU time's maximum resident set size, /usr/bin/time).

usage: python3 bench/replay.py [--quick]

The captures come from ../shared/bench/make_pcap.py (deterministic course
traffic): /tmp/big.pcap (1,000,000 packets, 71 MB) and /tmp/big10.pcap
(10,000,000 packets, ~710 MB), generated once if missing (--quick skips the
10x file). Each timing is the best of 3 runs (wall clock). Peak RSS is the
kernel's ru_maxrss for the child process. Needs tcpdump.
"""
import os, shutil, subprocess, sys

from common import best, timed
from socklab_bin import ROOT, need_file, release_binary

BIN = None  # set by main() from cargo
MAKE = os.path.join(ROOT, "..", "shared", "bench", "make_pcap.py")
QUICK = "--quick" in sys.argv


def ensure(path, packets):
    if os.path.exists(path):
        return True
    free = shutil.disk_usage(os.path.dirname(path)).free
    need = packets * 75
    if free < need * 1.2:
        print(f"skipping {path}: needs ~{need >> 20} MB, {free >> 20} MB free on {os.path.dirname(path)}")
        return False
    print(f"generating {path} ({packets:,} packets) ...", flush=True)
    need_file(MAKE, "the capture generator make_pcap.py")
    subprocess.run([sys.executable, MAKE, path, str(packets)], check=True, stdout=subprocess.DEVNULL)
    return True


def main():
    if not shutil.which("tcpdump"):
        sys.exit("needs tcpdump (apt-get install tcpdump)")
    global BIN
    BIN = release_binary()
    big, big10 = "/tmp/big.pcap", "/tmp/big10.pcap"
    ensure(big, 1_000_000)
    have10 = not QUICK and ensure(big10, 10_000_000)
    # Warm the page cache so both tools read from memory.
    for f in [big] + ([big10] if have10 else []):
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass

    print(f"\n{'run (1,000,000 packets, 71 MB)':<34} {'socklab':>9} {'tcpdump':>9} {'ratio':>7}   target")
    results = {}
    for mode, extra in (("text", []), ("-X", ["-X"])):
        ours, rss = best([BIN, "replay", big] + extra)
        theirs, _ = best(["tcpdump", "-nn"] + extra + ["-r", big])
        ratio = theirs / ours
        results[mode] = (ours, theirs, ratio, rss)
        ok = "met" if ratio >= 3 else "NOT met"
        label = f"replay {mode}".replace("replay text", "replay (lines + narration)")
        print(f"{label:<34} {ours:>8.2f}s {theirs:>8.2f}s {ratio:>6.1f}x   >= 3x: {ok}")

    print(f"\n{'peak RSS of socklab replay':<34} {'1M file':>9} {'10M file':>9}   target")
    rss1 = results["text"][3]
    if have10:
        _, rss10 = best([BIN, "replay", big10]) if not QUICK else (0, 0)
        _, rss10x = timed([BIN, "replay", "-X", big10])
        rss10 = max(rss10, rss10x)
    else:
        rss10 = None
    rss1 = max(rss1, results["-X"][3])
    flat = rss10 is not None and rss10 <= rss1 * 1.25
    ok = "met" if rss1 <= 16 * 1024 and (rss10 is None or rss10 <= 16 * 1024) else "NOT met"
    r10 = f"{rss10 / 1024:>8.1f}M" if rss10 is not None else f"{'-':>9}"
    print(f"{'text and -X, max':<34} {rss1 / 1024:>8.1f}M {r10}   <= 16 MB: {ok}"
          + ("" if rss10 is None else f", flat: {'yes' if flat else 'NO'}"))


if __name__ == "__main__":
    main()
