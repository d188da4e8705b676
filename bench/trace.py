#!/usr/bin/env python3
"""Tracing benchmark: a Python client doing 10,000 send/recv round trips
against a local echo server, untraced, under `socklab trace` (capture on,
and calls only), and under `strace -f --seccomp-bpf -e trace=network`, in
one run; and `python3 -c 'import socket'` start-up under each.

usage: python3 bench/trace.py [RUNS]   (default 5; medians are printed;
start-up runs max(15, 3 x RUNS) rounds, the modes taking turns)

Targets (issue 10): socklab trace no slower than strace, at most 3x the
untraced time, and start-up at most 20 ms slower traced. The capture needs
root (CAP_NET_RAW); without it the capture-on row is left out. strace is
installed here (apt-get) when missing: it is the benchmark's peer, not a
dependency of socklab.
"""
import os, re, shutil, socket, statistics, subprocess, sys, threading, time

from socklab_bin import need, release_binary

if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
    print(__doc__)
    sys.exit(0)
try:
    RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    if RUNS < 1:
        raise ValueError
except ValueError:
    sys.exit(f"bench/trace.py: RUNS must be a whole number of at least 1, not {sys.argv[1]!r} (try --help)")
N = 10000
# Start-up rounds: more than RUNS, each is short and the spread is wide.
STARTS = max(15, 3 * RUNS)

CLIENT = r"""
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
msg = b'x' * 16
n = int(sys.argv[2])
t = time.perf_counter()
for _ in range(n):
    s.sendall(msg)
    got = 0
    while got < 16:
        got += len(s.recv(16 - got))
dt = time.perf_counter() - t
s.close()
print(f"round trips {dt:.4f} s", file=sys.stderr)
"""


def echo_server():
    """An echo server in this process (threads), on an ephemeral port."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)

    def serve(c):
        with c:
            while True:
                d = c.recv(4096)
                if not d:
                    return
                c.sendall(d)

    def accept_loop():
        while True:
            c, _ = srv.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    return srv.getsockname()[1]


def ensure_strace():
    if shutil.which("strace"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "strace"], capture_output=True)
    return bool(shutil.which("strace"))


def can_capture():
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
        return True
    except (PermissionError, AttributeError, OSError):
        return False


def main():
    binary = release_binary()
    port = echo_server()
    modes = [("untraced", [])]
    if can_capture():
        modes.append(("socklab trace (capture on)", [binary, "trace", "--"]))
    else:
        print("note: no CAP_NET_RAW, so the capture-on row is left out (run as root)")
    modes.append(("socklab trace --no-packets", [binary, "trace", "--no-packets", "--"]))
    if ensure_strace():
        modes.append(("strace -f --seccomp-bpf -e trace=network",
                      ["strace", "-f", "--seccomp-bpf", "-e", "trace=network", "-o", "/dev/null"]))
    else:
        print("note: strace is not installed and could not be; its row is left out")
    # The real interpreter, not a version-manager shim (a shell script).
    py = [sys.executable]
    loops = {}
    # A capture that cannot keep up would look fast: count what the kernel
    # dropped (socklab's closing line says it; the capture sees all of lo,
    # so other traffic on the machine counts too).
    drops = {}
    stolen0, wall0 = stolen(), time.monotonic()
    # The modes take turns within each round (as for start-up below), so a
    # change in the machine's load hits them alike.
    loop = {name: [] for name, _ in modes}
    for _ in range(RUNS):
        for name, pre in modes:
            r = subprocess.run(pre + py + ["-c", CLIENT, str(port), str(N)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            loop[name].append(float(need(r"round trips ([\d.]+) s", r.stderr, name).group(1)))
            m = re.search(r"([\d,]+) packets? dropped by the kernel", r.stderr)
            drops[name] = drops.get(name, 0) + (int(m.group(1).replace(",", "")) if m else 0)
    loops = {name: statistics.median(v) for name, v in loop.items()}
    # Start-up: the modes take turns within each round, so a change in the
    # machine's load hits them alike; each mode's cost is the median of its
    # per-round difference to the untraced run of the same round.
    starts = {name: [] for name, _ in modes}
    for _ in range(STARTS):
        for name, pre in modes:
            t = time.perf_counter()
            r = subprocess.run(pre + py + ["-c", "import socket"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            starts[name].append(time.perf_counter() - t)
            if r.returncode != 0:
                sys.exit(f"benchmark failed: {name}: python3 -c 'import socket' exited {r.returncode}")
    base = loops["untraced"]
    print(f"{N} round trips (median of {RUNS}); python3 -c 'import socket' start-up "
          f"(median of {STARTS} rounds, and of the per-round difference to untraced):")
    for name, _ in modes:
        extra = statistics.median(a - b for a, b in zip(starts[name], starts["untraced"]))
        dropped = f"   {drops[name]} dropped" if name.startswith("socklab trace (capture") else ""
        print(f"  {name:42s} {loops[name]:6.3f} s  x{loops[name] / base:4.2f} untraced"
              f"   start-up {statistics.median(starts[name]) * 1e3:6.1f} ms ({extra * 1e3:+6.1f} ms)"
              f"{dropped}")
    st = next((n for n, _ in modes if n.startswith("strace")), None)
    for name, _ in modes:
        if name.startswith("socklab") and st:
            print(f"  {name} / strace: x{loops[name] / loops[st]:4.2f}")
    stolen1 = stolen()
    if stolen0 is not None and stolen1 is not None:
        wall = time.monotonic() - wall0
        share = (stolen1 - stolen0) / (wall * (os.cpu_count() or 1))
        print(f"CPU time stolen by the host during the run: {stolen1 - stolen0:.1f} s "
              f"in {wall:.1f} s on {os.cpu_count()} CPUs ({share:.0%})")
        if share > 0.05:
            print("  the machine was contended: the figures above are not reliable; "
                  "run again when it is quiet (steal near 0)")


def stolen():
    """CPU time the hypervisor has taken from this machine since boot, in
    seconds (the steal column of /proc/stat), or None where unknown."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


if __name__ == "__main__":
    main()
