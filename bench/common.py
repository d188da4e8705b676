"""Shared by the benchmarks that time a command and by those that flood lo.

Timing (bench/replay.py, bench/syn_scan.py): `timed()` runs a command with
its output to /dev/null and returns its wall time and peak RSS (GNU time's
%M: os.wait4's ru_maxrss would include the memory of the forked Python
interpreter before exec, tens of MB); `best()` is the fastest of RUNS runs
with the largest RSS seen.

Flooding (bench/sniff_flood.py, bench/sniff_kernel.py): `need_root()`,
`free_port()`, `start_sniffers()` (socklab and tcpdump, side by side, given
time to open their sockets), `iperf3_flood()` (a one-shot iperf3 server and
`iperf3 -c -u -b 0 -l 64` for SECONDS; the datagrams sent), `stop()` (SIGINT,
then stderr and CPU seconds from wait4) and `counts()` (captured and dropped
from both sniffers' summaries).
"""
import os, re, shutil, signal, socket, subprocess, sys, time

from socklab_bin import need

TIME = "/usr/bin/time"
RUNS = 3


def timed(cmd, rss_file="/tmp/socklab-bench.rss"):
    """Wall time and peak RSS (KB, 0 without GNU time) of one run, output to /dev/null."""
    full = [TIME, "-f", "%M", "-o", rss_file] + cmd if os.path.exists(TIME) else cmd
    t0 = time.perf_counter()
    p = subprocess.run(full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}")
    rss = 0
    if full is not cmd:
        with open(rss_file) as f:
            rss = int(f.read().split()[-1])
    return wall, rss


def best(cmd, runs=RUNS):
    """The fastest wall time of `runs` runs, and the largest peak RSS."""
    results = [timed(cmd) for _ in range(runs)]
    return min(w for w, _ in results), max(r for _, r in results)


def need_root(*tools):
    """Exit unless root (both sniffers open packet sockets) with every tool installed."""
    if os.geteuid() != 0:
        sys.exit("needs root: both sniffers open packet sockets")
    for tool in tools:
        if not shutil.which(tool):
            sys.exit(f"needs {tool} (apt-get install {tool})")


def free_port():
    """A UDP port on 127.0.0.1 nothing is bound to now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_sniffers(ours_cmd, theirs_cmd):
    """Start socklab's and tcpdump's command lines, stdout to /dev/null and
    stderr (their summaries) piped; return both once they had time to open
    their sockets."""
    ours = subprocess.Popen(ours_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    theirs = subprocess.Popen(theirs_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.5)
    return ours, theirs


def iperf3_flood(port, secs):
    """`iperf3 -u -b 0 -l 64` to a one-shot iperf3 server on `port` for
    `secs` seconds; the datagrams the client sent (None if it failed), and
    the client's output."""
    server = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    r = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-u", "-b", "0",
                        "-l", "64", "-t", f"{secs:g}"], capture_output=True, text=True)
    m = re.findall(r"(\d+)/(\d+) \([\d.e+-]+%\)\s+sender", r.stdout)
    sent = int(m[-1][1]) if m and r.returncode == 0 else None
    time.sleep(1.0)
    server.kill()
    server.wait()
    return sent, (r.stdout + r.stderr).strip()


def stop(p):
    """SIGINT, then its stderr and CPU seconds (user + system, from wait4)."""
    p.send_signal(signal.SIGINT)
    deadline = time.time() + 20
    ru = None
    while time.time() < deadline:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    else:
        p.kill()
        _, status, ru = os.wait4(p.pid, 0)
    p.returncode = status
    err = p.stderr.read().decode(errors="replace")
    return err, ru.ru_utime + ru.ru_stime


def counts(err_ours, err_theirs):
    """(captured, dropped) from socklab's summary, then from tcpdump's."""
    oc = int(need(r"(\d+) packets? captured", err_ours, "socklab sniff's summary").group(1))
    od = int(need(r"(\d+) packets? dropped by the kernel", err_ours, "socklab sniff's summary").group(1))
    tc = int(need(r"(\d+) packets? captured", err_theirs, "tcpdump's summary").group(1))
    td = int(need(r"(\d+) packets? dropped by kernel", err_theirs, "tcpdump's summary").group(1))
    return oc, od, tc, td
