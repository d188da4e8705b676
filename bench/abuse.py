#!/usr/bin/env python3
"""Abuse benchmark: every socklab server under a mix of abusive clients while
one valid client asks every 100 ms (issue 13). Loopback only, bounded in
time and count, stops by itself.

usage: python3 bench/abuse.py [--clients N] [--seconds S] [--server-nice N]
                              [--keep-logs DIR] [SERVER...]

SERVER is one of: udp-calc echo-udp echo-tcp tcp-calc-threads
tcp-calc-iterative monitor-poll monitor-threads chat (default: all).

The mix (TCP): garbage (random bytes, replies read and thrown away), silent
(connect and say nothing), slow (1 byte a second), half-open (half a
request, then shutdown(SHUT_WR) and nothing more), oversized (an endless
line or number), and RST (connect, send, close with SO_LINGER 0, again).
For UDP: wrong-size, oversized (65,000-byte) and garbage datagrams.
Each abuser reconnects at most 10 times a second. The abusers run in one
process, the valid client in another (forked): a client sharing the
abusers' CPU-bound process would wait for its own process to get the CPU
back after each reply, and that wait, not the server, would be measured.

For each server it prints: valid requests answered in time (1 s) during the
abuse, the valid client's p99 during the abuse against its idle p99, the
server's peak RSS (VmHWM), log bytes per minute during the abuse, the share
answered in the 5 s after the abuse stops, threads/fds left over
against the idle server, the server's CPU use during the abuse (100% = one
core), and the 1-minute load average after the idle phase / after the
abuse. The idle p99 is measured in the same run, just before the abuse, so
the ratio compares like with like; the load average says how much of the
2 cores other work took while it ran. Needs a release build (it runs cargo build).
"""
import argparse, errno, json, os, random, selectors, signal, socket, struct, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("SOCKLAB_BIN") or os.path.join(TARGET, "release", "socklab")
IN_TIME = 1.0
VALID_EVERY = 0.1
RECONNECTS_PER_SEC = 10
SERVER_NICE = 0  # --server-nice
KEEP_LOGS = None  # --keep-logs DIR
VALID_NICE = -10
TCP_KINDS = ["garbage", "silent", "slow", "half-open", "oversized", "rst"]
UDP_KINDS = ["wrong-size", "oversized", "garbage"]


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def proc_field(pid, name):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_secs(pid):
    """CPU time (user + system) the process has used, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


# ---------------------------------------------------------------- valid clients

def tcp_exchange(port, payload, done):
    """Send payload, read until done(reply) or close; True if done in time."""
    s = socket.create_connection(("127.0.0.1", port), timeout=IN_TIME)
    try:
        s.settimeout(IN_TIME)
        s.sendall(payload)
        got = b""
        end = time.time() + IN_TIME
        while time.time() < end:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
            if done(got):
                return True
        return done(got)
    finally:
        s.close()


class Valid:
    """One request of the valid client; returns True when answered."""

    def __init__(self, name, port, log_path):
        self.name, self.port, self.log_path = name, port, log_path
        self.n = 0
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.settimeout(IN_TIME)
        self.chat = None

    def ask(self):
        self.n += 1
        n = self.n
        try:
            if self.name == "udp-calc":
                self.udp.sendto(struct.pack("III", n, 2, 0), ("127.0.0.1", self.port))
                while True:
                    data, _ = self.udp.recvfrom(64)
                    if data == struct.pack("I", n + 2):
                        return True
            if self.name == "echo-udp":
                msg = b"valid %d" % n
                self.udp.sendto(msg, ("127.0.0.1", self.port))
                while True:
                    data, _ = self.udp.recvfrom(64)
                    if data == msg:
                        return True
            if self.name == "echo-tcp":
                msg = b"valid %d\n" % n
                return tcp_exchange(self.port, msg, lambda g: g == msg)
            if self.name.startswith("tcp-calc"):
                want = b"%d\0\0" % (n + 2)
                return tcp_exchange(self.port, b"%d\0002\0000\0" % n, lambda g: g.endswith(want) or len(g) > 64)
            if self.name.startswith("monitor"):
                host = f"valid{n}"
                rec = f"Hostname:{host} Carga de CPU: 1.0% Memória Disponível: 2.0%".encode()
                rec = rec.ljust(67, b" ")
                with socket.create_connection(("127.0.0.1", self.port), timeout=IN_TIME) as s:
                    s.sendall(rec)
                needle = f"host {host} ".encode()
                end = time.time() + IN_TIME
                while time.time() < end:
                    if self._log_has(needle):
                        return True
                    time.sleep(0.01)
                return False
            if self.name == "chat":
                return self._chat(n)
        except OSError:
            return False
        return False

    @staticmethod
    def _drain(s):
        """Read and drop what waits on `s`; False once it is closed."""
        while True:
            try:
                if not s.recv(1 << 20):
                    return False
            except BlockingIOError:
                return True
            except OSError:
                return False

    def _log_has(self, needle):
        # Only the tail: the log is bounded, but read little anyway.
        with open(self.log_path, "rb") as f:
            f.seek(max(0, os.path.getsize(self.log_path) - 65536))
            return needle in f.read()

    def _chat(self, n):
        """Send on one connection, wait for the relay on the other. Both are
        read, as a real chat client reads what it is sent: the server drops
        a client that lets more than 64 KiB wait (a slow reader), so a sender
        that never read would be measured being dropped, not relayed."""
        if self.chat is None:
            tx = socket.create_connection(("127.0.0.1", self.port), timeout=IN_TIME)
            rx = socket.create_connection(("127.0.0.1", self.port), timeout=IN_TIME)
            rx.setblocking(False)
            tx.setblocking(False)
            self.chat = (tx, rx, bytearray())
        tx, rx, buf = self.chat
        line = b"valid line %d" % n
        if not self._drain(tx):
            self.chat = None
            return False
        tx.settimeout(IN_TIME)
        try:
            tx.sendall(line + b"\n")
        except OSError:
            self.chat = None
            return False
        tx.setblocking(False)
        end = time.time() + IN_TIME
        while time.time() < end:
            try:
                chunk = rx.recv(1 << 20)
                if not chunk:
                    self.chat = None
                    return False
                buf.extend(chunk)
                if line + b"\n" in buf:
                    del buf[: buf.index(line + b"\n") + len(line) + 1]
                    return True
                if len(buf) > 1 << 20:
                    del buf[: len(buf) - 4096]
            except BlockingIOError:
                if not self._drain(tx):
                    self.chat = None
                    return False
                time.sleep(0.002)
            except OSError:
                self.chat = None
                return False
        return False


def p99(xs):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))]


# ---------------------------------------------------------------- abusers

class Abuser:
    def __init__(self, kind, port, server):
        self.kind, self.port, self.server = kind, port, server
        self.sock = None
        self.next_connect = 0.0
        self.next_byte = 0.0

    def garbage(self):
        return os.urandom(4096)

    def oversized_chunk(self):
        if self.server.startswith("tcp-calc"):
            return b"7" * 65536  # an endless number, never a NUL
        return b"A" * 65536  # an endless line / record stream

    def connect(self, now, sel):
        if now < self.next_connect:
            return
        self.next_connect = now + 1.0 / RECONNECTS_PER_SEC
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        self.sock = s
        sel.register(s, selectors.EVENT_READ, self)
        if self.kind == "half-open":
            try:
                s.send(b"12\0" if self.server.startswith("tcp-calc") else b"Hostname:half")
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def drop(self, sel):
        if self.sock is not None:
            try:
                sel.unregister(self.sock)
            except (KeyError, ValueError):
                pass
            self.sock.close()
            self.sock = None

    def step(self, now, sel):
        if self.sock is None:
            self.connect(now, sel)
            return
        s = self.sock
        try:
            if self.kind == "garbage":
                s.send(self.garbage())
            elif self.kind == "oversized":
                s.send(self.oversized_chunk())
            elif self.kind == "slow" and now >= self.next_byte:
                self.next_byte = now + 1.0
                s.send(b"1")
            elif self.kind == "rst":
                s.send(b"hello\0" if self.server.startswith("tcp-calc") else b"hello")
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.drop(sel)
        except BlockingIOError:
            pass
        except OSError as e:
            if e.errno not in (errno.ENOTCONN, errno.EINPROGRESS):
                self.drop(sel)

    def readable(self, sel):
        try:
            data = self.sock.recv(65536)
            if not data:
                self.drop(sel)
        except BlockingIOError:
            pass
        except OSError:
            self.drop(sel)


class UdpAbuser:
    def __init__(self, kind, port):
        self.kind, self.port = kind, port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)

    def step(self, now, sel):
        data = {"wrong-size": b"junk!", "oversized": b"A" * 65000, "garbage": os.urandom(random.randint(1, 200))}[self.kind]
        try:
            self.sock.sendto(data, ("127.0.0.1", self.port))
            self.sock.recv(65536)  # echo replies: drop them
        except OSError:
            pass

    def drop(self, sel):
        self.sock.close()


# ---------------------------------------------------------------- one server

SERVERS = {
    "udp-calc": (["udp-calc", "serve"], socket.SOCK_DGRAM),
    "echo-udp": (["echo", "serve", "--udp"], socket.SOCK_DGRAM),
    "echo-tcp": (["echo", "serve"], socket.SOCK_STREAM),
    "tcp-calc-threads": (["tcp-calc", "serve", "--mode", "threads"], socket.SOCK_STREAM),
    "tcp-calc-iterative": (["tcp-calc", "serve", "--mode", "iterative"], socket.SOCK_STREAM),
    "monitor-poll": (["monitor", "serve", "--mode", "poll"], socket.SOCK_STREAM),
    "monitor-threads": (["monitor", "serve", "--mode", "threads"], socket.SOCK_STREAM),
    "chat": (["chat", "serve"], socket.SOCK_STREAM),
}


def run_valid_for(valid, seconds):
    """Ask every 100 ms for `seconds`; returns (answered, asked, latencies)."""
    lat, ok, asked = [], 0, 0
    end = time.time() + seconds
    while time.time() < end:
        t0 = time.time()
        asked += 1
        if valid.ask():
            ok += 1
            lat.append(time.time() - t0)
        time.sleep(max(0.0, VALID_EVERY - (time.time() - t0)))
    return ok, asked, lat


def bench(name, clients, seconds):
    args, kind = SERVERS[name]
    port = free_port(kind)
    log_path = f"/tmp/socklab-abuse-{name}-{os.getpid()}.log"
    log = open(log_path, "wb")
    srv = subprocess.Popen(
        [BIN] + args + ["--bind", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=(lambda: os.nice(SERVER_NICE)) if SERVER_NICE else None,
    )
    try:
        return bench_running(name, clients, seconds, port, kind, srv, log_path)
    finally:
        if srv.poll() is None:
            srv.send_signal(signal.SIGINT)
            try:
                srv.wait(timeout=10)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()
        log.close()
        if KEEP_LOGS:
            kept = os.path.join(KEEP_LOGS, f"{name}.log")
            os.replace(log_path, kept)
            print(f"({name}: server log kept in {kept})", file=sys.stderr)
        else:
            os.unlink(log_path)


def valid_child(name, port, log_path, seconds, to_parent, from_parent):
    """The valid client, in its own process: asking from the abusers' busy
    process would measure that process's own wake-up latency (a CPU-bound
    process waits for the CPU after each reply), not the server's. Phases:
    warm-up, idle, abuse (until told), recovery; then the figures as JSON."""
    try:
        os.nice(VALID_NICE)  # the measuring instrument must not wait for the CPU
    except OSError:
        pass  # not root: measured at the default niceness
    say = lambda msg: os.write(to_parent, (msg + "\n").encode())
    hear = os.fdopen(from_parent, "r")
    valid = Valid(name, port, log_path)
    run_valid_for(valid, 1.0)  # warm up
    say("idle")
    _, _, idle_lat = run_valid_for(valid, 3.0)
    say("abuse")
    ok, asked, lat = run_valid_for(valid, seconds)
    say("stop")
    hear.readline()  # the abusers are gone
    rec_ok, rec_asked, _ = run_valid_for(valid, 5.0)
    say(json.dumps({
        "answered": 100.0 * ok / max(asked, 1),
        "asked": asked,
        "p99": p99(lat) * 1000,
        "idle_p99": p99(idle_lat) * 1000,
        "recovery": 100.0 * rec_ok / max(rec_asked, 1),
    }))
    hear.readline()  # leftovers counted: now close the valid connections


def bench_running(name, clients, seconds, port, kind, srv, log_path):
    time.sleep(0.5)
    child_r, parent_w = os.pipe()
    parent_r, child_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(parent_r)
        os.close(parent_w)
        code = 1
        try:
            valid_child(name, port, log_path, seconds, child_w, child_r)
            code = 0
        finally:
            os._exit(code)
    os.close(child_r)
    os.close(child_w)
    from_child = os.fdopen(parent_r, "r")
    to_child = lambda msg: os.write(parent_w, (msg + "\n").encode())
    try:
        return bench_abuse(name, clients, kind, port, srv, log_path, from_child, to_child)
    finally:
        os.close(parent_w)
        from_child.close()
        os.waitpid(pid, 0)


def bench_abuse(name, clients, kind, port, srv, log_path, from_child, to_child):
    assert from_child.readline().strip() == "idle"
    base_threads, base_fds = proc_field(srv.pid, "Threads"), open_fds(srv.pid)
    assert from_child.readline().strip() == "abuse"
    idle_load = os.getloadavg()[0]
    # The abuse, in one loop, until the valid client says its time is up.
    sel = selectors.DefaultSelector()
    sel.register(from_child, selectors.EVENT_READ, None)
    if kind == socket.SOCK_DGRAM:
        abusers = [UdpAbuser(UDP_KINDS[i % len(UDP_KINDS)], port) for i in range(clients)]
    else:
        abusers = [Abuser(TCP_KINDS[i % len(TCP_KINDS)], port, name) for i in range(clients)]
    log_before = os.path.getsize(log_path)
    cpu_before = cpu_secs(srv.pid)
    t_start = time.time()
    running = True
    while running:
        now = time.time()
        for a in abusers:
            a.step(now, sel)
        for key, _ in sel.select(timeout=0):
            if key.data is None:
                running = False
            else:
                key.data.readable(sel)
        time.sleep(0.005)
    abuse_secs = time.time() - t_start
    load = os.getloadavg()[0]
    cpu = (cpu_secs(srv.pid) - cpu_before) / abuse_secs * 100
    log_rate = (os.path.getsize(log_path) - log_before) / abuse_secs * 60
    sel.unregister(from_child)
    assert from_child.readline().strip() == "stop"
    for a in abusers:
        a.drop(sel)
    sel.close()
    stopped = time.time()
    to_child("dropped")
    r = json.loads(from_child.readline())
    time.sleep(1.0)
    left_threads = proc_field(srv.pid, "Threads") - base_threads
    left_fds = open_fds(srv.pid) - base_fds
    to_child("bye")
    peak_mb = proc_field(srv.pid, "VmHWM") / 1024
    r.update({
        "server": name,
        "peak_mb": peak_mb,
        "log_kb_min": log_rate / 1024,
        "threads": left_threads,
        "fds": left_fds,
        "alive": srv.poll() is None,
        "recovery_window": time.time() - stopped,
        "load": load,
        "idle_load": idle_load,
        "cpu": cpu,
    })
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument(
        "--server-nice",
        type=int,
        default=0,
        help="run the server at this niceness (e.g. -10, root only): shows what the server does "
        "when other work on the machine does not take its CPU",
    )
    ap.add_argument(
        "--keep-logs",
        metavar="DIR",
        help="keep each server's log as DIR/SERVER.log (to see what the log/min column counts)",
    )
    ap.add_argument("servers", nargs="*", default=list(SERVERS))
    a = ap.parse_args()
    global SERVER_NICE, KEEP_LOGS
    SERVER_NICE = a.server_nice
    if a.keep_logs:
        if not os.path.isdir(a.keep_logs):
            sys.exit(f"--keep-logs {a.keep_logs}: not a directory")
        KEEP_LOGS = a.keep_logs
    if not 1 <= a.clients <= 2000 or not 1 <= a.seconds <= 120:
        sys.exit("--clients 1..2000, --seconds 1..120 (the bench is bounded)")
    for s in a.servers:
        if s not in SERVERS:
            sys.exit(f"unknown server {s}; one of {' '.join(SERVERS)}")
    if not os.environ.get("SOCKLAB_BIN"):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    print(
        f"{a.clients} abusive clients for {a.seconds:g} s per server; valid client every 100 ms, in time = {IN_TIME:g} s; "
        f"{os.cpu_count()} CPUs; server niceness {a.server_nice}"
    )
    head = f"{'server':<19} {'valid answered':>14} {'p99 ms':>8} {'idle p99':>9} {'ratio':>6} {'peak RSS':>9} {'log/min':>9} {'recovery':>9} {'left thr/fd':>12} {'srv cpu':>8} {'load':>10}"
    print(head)
    print("-" * len(head))
    for s in a.servers:
        r = bench(s, a.clients, a.seconds)
        ratio = r["p99"] / r["idle_p99"] if r["idle_p99"] > 0 else float("nan")
        print(
            f"{r['server']:<19} {r['answered']:>13.1f}% {r['p99']:>8.1f} {r['idle_p99']:>9.1f} {ratio:>6.1f} "
            f"{r['peak_mb']:>7.1f}MB {r['log_kb_min']:>6.0f} kB {r['recovery']:>8.1f}% {r['threads']:>5}/{r['fds']:<6}"
            f" {r['cpu']:>7.0f}% {r['idle_load']:>4.1f}/{r['load']:<5.1f}"
            + ("" if r["alive"] else "  SERVER DIED"),
            flush=True,
        )


if __name__ == "__main__":
    main()
