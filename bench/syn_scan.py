#!/usr/bin/env python3
"""SYN-scan benchmark: a capture of 1,000,000 distinct unanswered SYNs (a
port scan, or a SYN flood: the worst case for a connection tracker, every
packet a new connection that never ends) against the 1,000,000-packet
course capture, both replayed by socklab in one run; tcpdump -nn -r on the
same files beside it (with -S: without it tcpdump's own relative-sequence
table takes minutes on the scan).

usage: python3 bench/syn_scan.py [PACKETS]   (default 1,000,000)

Targets (issue 9): per-packet replay time on the SYN scan at most 2x that
on the course file, and socklab's peak RSS at most 64 MB. The tracker keeps
at most track::tcp::MAX_CONNECTIONS connections, evicting the least
recently active one in O(1).

Files: /tmp/synscan-N.pcap (generated here, deterministic) and /tmp/big.pcap
(../shared/bench/make_pcap.py, shared with bench/replay.py), generated once
if missing. socklab's timings are the best of 3 runs, tcpdump's one run (at most
10 minutes), output to /dev/null; peak RSS is GNU time's %M.
"""
import os, shutil, struct, subprocess, sys, time

from common import best

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "socklab")
MAKE = os.path.join(ROOT, "..", "shared", "bench", "make_pcap.py")


def csum(data):
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def make_syn_scan(path, n):
    """n SYNs from distinct (10.x.y.z, port) clients to 127.0.0.1, none answered."""
    eth = b"\0" * 12 + b"\x08\x00"
    dst = bytes([127, 0, 0, 1])
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i in range(n):
            src = bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
            sport = 1024 + (i * 7919) % 60000
            dport = 1 + i % 1024
            tcp = struct.pack("!HHIIBBHHH", sport, dport, (i * 2654435761) & 0xFFFFFFFF, 0, 5 << 4, 0x02, 64240, 0, 0)
            c = csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
            tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xFFFF, 0x4000, 64, 6, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            frame = eth + ip + tcp
            f.write(struct.pack("<IIII", 1_763_703_627 + i // 100_000, (i % 100_000) * 10, len(frame), len(frame)))
            f.write(frame)


def tcpdump_once(path, limit=600):
    """One run of tcpdump -nn -S -r (slow on a scan: once is enough), or nan after `limit` s."""
    t0 = time.perf_counter()
    try:
        subprocess.run(["tcpdump", "-nn", "-S", "-r", path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=limit)
    except subprocess.TimeoutExpired:
        return float("nan")
    return time.perf_counter() - t0


def packets_in(path):
    with open(path, "rb") as f:
        f.seek(24)
        n = 0
        while True:
            h = f.read(16)
            if len(h) < 16:
                return n
            f.seek(struct.unpack("<IIII", h)[2], 1)
            n += 1


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    syn, course = f"/tmp/synscan-{n}.pcap", "/tmp/big.pcap"
    if not os.path.exists(syn):
        print(f"generating {syn} ({n:,} SYNs) ...", flush=True)
        make_syn_scan(syn, n)
    if not os.path.exists(course):
        print(f"generating {course} (1,000,000 packets) ...", flush=True)
        subprocess.run([sys.executable, MAKE, course, "1000000"], check=True, stdout=subprocess.DEVNULL)
    counts = {syn: n, course: packets_in(course)}
    for fpath in (syn, course):
        with open(fpath, "rb") as fh:
            while fh.read(1 << 24):
                pass
    have_tcpdump = shutil.which("tcpdump") is not None
    print(f"\n{'file':<40} {'packets':>9} {'socklab s':>10} {'ns/pkt':>7} {'peak RSS':>9} {'tcpdump -S s':>13}")
    per = {}
    for name, fpath in (("SYN scan (distinct, unanswered)", syn), ("course traffic (make_pcap.py)", course)):
        wall, rss = best([BIN, "replay", "--color", "never", fpath])
        # tcpdump -S: tcpdump's relative-sequence table is a fixed hash with
        # chains, quadratic on a scan (minutes); -S turns it off.
        td = tcpdump_once(fpath) if have_tcpdump else float("nan")
        per[fpath] = (wall / counts[fpath], rss)
        print(f"{name:<40} {counts[fpath]:>9,} {wall:>10.2f} {wall / counts[fpath] * 1e9:>7.0f} {rss / 1024:>7.1f} MB {td:>13.2f}", flush=True)
    ratio = per[syn][0] / per[course][0]
    rss_mb = per[syn][1] / 1024
    print(f"\nSYN scan per-packet time / course per-packet time: {ratio:.2f}x   (target <= 2x: {'ok' if ratio <= 2 else 'MISSED'})")
    print(f"SYN scan peak RSS: {rss_mb:.1f} MB   (target <= 64 MB: {'ok' if rss_mb <= 64 else 'MISSED'})")


if __name__ == "__main__":
    main()
