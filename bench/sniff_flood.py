#!/usr/bin/env python3
"""Capture benchmark: `socklab sniff` and `tcpdump -i lo -nn`, both printing
to /dev/null, side by side under the same UDP flood on lo, in one run.

usage: sudo python3 bench/sniff_flood.py [SECONDS]   (default 5)

The flood is `iperf3 -u -b 0 -l 64` when iperf3 is installed, else
socklab's own udp-calc load mode against a socklab udp-calc server.
Prints packets captured and dropped by the kernel for each, and the ratio
of their losses. Needs root (CAP_NET_RAW) and tcpdump.
"""
import re, shutil, subprocess, sys, time

from common import counts, free_port, iperf3_flood, need_root, start_sniffers, stop
from socklab_bin import release_binary

SECS = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0


def main():
    need_root("tcpdump")
    BIN = release_binary()
    port = free_port()
    devnull = subprocess.DEVNULL
    ours, theirs = start_sniffers([BIN, "sniff", "-i", "lo", "udp", "port", str(port)],
                                  ["tcpdump", "-i", "lo", "-nn", "udp", "port", str(port)])
    helpers = []
    if shutil.which("iperf3"):
        flood = "iperf3 -u -b 0 -l 64"
        what = "load generator `iperf3 -c ... -u -b 0 -l 64`"
        sent, said = iperf3_flood(port, SECS)
    else:
        flood = "socklab udp-calc load"
        helpers.append(subprocess.Popen([BIN, "udp-calc", "serve", "-q", "--bind", f"127.0.0.1:{port}"],
                                        stdout=devnull, stderr=devnull))
        time.sleep(0.5)
        r = subprocess.run([BIN, "udp-calc", "ask", "0", "0", "0", "--to", f"127.0.0.1:{port}", "--count",
                            str(int(SECS * 300_000)), "--concurrency", "2", "--window", "64", "--timeout", "1"],
                           capture_output=True, text=True)
        what = f"load generator `socklab udp-calc ask --count ...` (exit status {r.returncode})"
        m = re.search(r"sent: (\d+)\s+ok: (\d+)", r.stdout)
        sent = int(m.group(1)) if m else None
        said = (r.stdout + r.stderr).strip()
        time.sleep(1.0)
    for h in helpers:
        h.kill()
        h.wait()
    err_ours, err_theirs = stop(ours)[0], stop(theirs)[0]
    if not sent:
        sys.exit(f"benchmark failed: {what} sent nothing, so there is nothing to compare:\n"
                 + (said or "(no output)"))
    oc, od, tc, td = counts(err_ours, err_theirs)
    if oc == 0 or tc == 0:
        sys.exit(f"benchmark failed: a sniffer captured nothing (socklab {oc}, tcpdump {tc}) "
                 f"although {sent} datagrams were sent")
    print(f"flood: {flood} for {SECS:g} s on lo ({sent} datagrams sent)")
    print(f"  socklab sniff  : {oc:>9} captured, {od:>9} dropped by the kernel")
    print(f"  tcpdump -nn    : {tc:>9} captured, {td:>9} dropped by kernel")
    if td > 0:
        print(f"  socklab loses {od / td:.2f}x what tcpdump loses (target: <= 0.5x)")
    else:
        print("  tcpdump lost nothing in this run" + ("; socklab lost nothing either" if od == 0 else f"; socklab lost {od}"))


if __name__ == "__main__":
    main()
