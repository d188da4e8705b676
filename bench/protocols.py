#!/usr/bin/env python3
"""Protocol benchmark: socklab's servers against the Python course servers,
driven by socklab's own load mode, side by side in one run.

usage: python3 bench/protocols.py [--quick]

Prints, for each pair, both rates and the ratio; then the monitor poll server
with 10,000 concurrent clients: records sent/received (none may be lost) and
the server's peak RSS (VmHWM). Needs a release build (it runs cargo build).
"""
import os, re, signal, socket, subprocess, sys, time

from socklab_bin import ROOT, need, need_file, release_binary

PEERS = os.path.join(ROOT, "..", "shared", "peers")
BIN = None  # set by main() from cargo
QUICK = "--quick" in sys.argv


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(cmd, ready):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=dict(os.environ, PYTHONUNBUFFERED="1"))
    deadline = time.time() + 10
    while time.time() < deadline:
        line = p.stdout.readline()
        if ready in line:
            return p
        if not line and p.poll() is not None:
            break
    p.kill()
    sys.exit(f"server did not start: {cmd}")


def stop(p):
    p.send_signal(signal.SIGINT)
    try:
        out, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return out


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(args, timeout=600):
    r = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=timeout)
    out = r.stdout + r.stderr
    what = "load generator `socklab " + " ".join(args) + f"` (exit status {r.returncode})"
    rate = need(r"requests/s: (\d+)", out, what)
    counts = need(r"sent: (\d+)\s+ok: (\d+)\s+wrong: (\d+)\s+missing: (\d+)", out, what)
    lat = re.search(r"latency: p50 (\d+) us\s+p99 (\d+) us", out)
    if r.returncode != 0 or int(counts.group(2)) == 0:
        sys.exit(f"benchmark failed: {what} answered no request:\n{out.strip()}")
    return int(rate.group(1)), counts.groups(), lat.groups() if lat else ("?", "?")


def pair(name, ours_cmd, py_cmd, load_args, n_ours, n_py):
    rows = []
    for who, cmd, n in (("socklab", ours_cmd, n_ours), ("python", py_cmd, n_py)):
        port = cmd[1]
        srv = start([c.format(port=port) for c in cmd[0]], cmd[2])
        try:
            cpu0 = cpu_seconds(srv.pid)
            rate, counts, lat = load([a.format(port=port, n=n) for a in load_args])
            cpu = cpu_seconds(srv.pid) - cpu0
        finally:
            stop(srv)
        per_req = cpu * 1e6 / max(int(counts[1]), 1)
        rows.append((who, rate, counts, lat, per_req))
        print(f"  {who:8} {rate:>9} req/s   server CPU {per_req:6.2f} us/request   sent {counts[0]} ok {counts[1]} wrong {counts[2]} missing {counts[3]}   p50 {lat[0]} us p99 {lat[1]} us", flush=True)
    ratio = rows[0][1] / max(rows[1][1], 1)
    cpu_ratio = rows[1][4] / max(rows[0][4], 1e-9)
    print(f"  ratio socklab/python: {ratio:.1f}x requests/s, {cpu_ratio:.1f}x less server CPU per request")
    return rows[0][1], rows[1][1], ratio, cpu_ratio


def main():
    global BIN
    BIN = release_binary()
    for peer in ("udp_calc_server.py", "tcp_calc_server.py"):
        need_file(os.path.join(PEERS, peer), "the Python course server")
    print(f"machine: {os.cpu_count()} cores; load generator: socklab's own load mode on the same machine")
    results = {}

    print("\nUDP calculator (socklab udp-calc serve vs udp_calc_server.py)")
    up = free_port(socket.SOCK_DGRAM)
    results["udp"] = pair(
        "udp",
        ([BIN, "udp-calc", "serve", "-q", "--bind", "127.0.0.1:{port}"], up, "listening on"),
        (["python3", os.path.join(PEERS, "udp_calc_server.py"), "{port}"], up, "ready"),
        ["udp-calc", "ask", "0", "0", "0", "--to", "127.0.0.1:{port}", "--count", "{n}",
         "--concurrency", "2", "--window", "64", "--timeout", "1"],
        200_000 if QUICK else 2_000_000, 50_000 if QUICK else 300_000)

    print("\nTCP calculator, one thread per connection (socklab tcp-calc serve --mode threads vs tcp_calc_server.py)")
    tp = free_port(socket.SOCK_STREAM)
    results["tcp"] = pair(
        "tcp",
        ([BIN, "tcp-calc", "serve", "-q", "--mode", "threads", "--bind", "127.0.0.1:{port}"], tp, "listening on"),
        (["python3", os.path.join(PEERS, "tcp_calc_server.py"), "{port}"], tp, "ready"),
        ["tcp-calc", "ask", "0", "0", "0", "--to", "127.0.0.1:{port}", "--count", "{n}", "--concurrency", "4"],
        5_000 if QUICK else 40_000, 5_000 if QUICK else 20_000)

    clients = 1000 if QUICK else 10_000
    rounds = 3
    print(f"\nMonitor poll server with {clients} concurrent clients, {rounds} records each")
    mp = free_port(socket.SOCK_STREAM)
    srv = start([BIN, "monitor", "serve", "-q", "--mode", "poll", "--bind", f"127.0.0.1:{mp}"], "listening on")
    t0 = time.time()
    r = subprocess.run([BIN, "monitor", "report", "--to", f"127.0.0.1:{mp}", "--clients", str(clients),
                        "--count", str(rounds), "--interval", "1"], capture_output=True, text=True, timeout=600)
    elapsed = time.time() - t0
    what = f"load generator `socklab monitor report --clients {clients}` (exit status {r.returncode})"
    need(r"monitor load", r.stdout + r.stderr, what)
    if r.returncode != 0:
        sys.exit(f"benchmark failed: {what}:\n{(r.stdout + r.stderr).strip()}")
    time.sleep(0.5)
    with open(f"/proc/{srv.pid}/status") as f:
        status = f.read()
    hwm = int(need(r"VmHWM:\s+(\d+) kB", status, "the monitor server's /proc status").group(1))
    out = stop(srv)
    print("  client: " + " / ".join(l for l in r.stdout.splitlines() if "monitor load" in l))
    m = need(r"(\d+) records from (\d+) clients, (\d+) bad", out, "the monitor server's summary")
    got = int(m.group(1))
    want = clients * rounds
    print(f"  server: {m.group(0)}")
    print(f"  records lost: {want - got}   server peak RSS: {hwm / 1024:.1f} MB   run time: {elapsed:.1f} s")
    ok_mon = got == want and hwm <= 64 * 1024

    print("\nSummary")
    print(f"  UDP calc: socklab {results['udp'][0]} req/s, python {results['udp'][1]} req/s, {results['udp'][2]:.1f}x rate, {results['udp'][3]:.1f}x CPU/request  (targets: >= 200000 req/s and >= 20x)")
    print(f"  TCP calc: socklab {results['tcp'][0]} req/s, python {results['tcp'][1]} req/s, {results['tcp'][2]:.1f}x rate, {results['tcp'][3]:.1f}x CPU/request")
    print(f"  monitor:  {clients} clients, {want - got} records lost, peak RSS {hwm / 1024:.1f} MB  (target: 0 lost, <= 64 MB)")
    ok_udp = results["udp"][0] >= 200_000 and results["udp"][2] >= 20
    print("  targets: " + ("met" if ok_udp and ok_mon else "NOT met"))


if __name__ == "__main__":
    main()
