"""Sends and receives socklab may make itself at the call's entry stop
(src/trace/oneshot.rs) must end exactly as the kernel's own would: this
program prints the same lines untraced and traced.

usage: oneshot.py          every check, one "ok NAME" line each
       oneshot.py sigpipe  send after an RST with SIGPIPE at its default:
                           the process must die of SIGPIPE (exit 3 if not)
       oneshot.py loop N   N round trips of 16 bytes between two sockets of
                           this process (each receive finds its bytes there)
"""
import ctypes, errno, mmap, os, signal, socket, struct, sys, threading, time

libc = ctypes.CDLL(None, use_errno=True)
libc.recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.recv.restype = ctypes.c_ssize_t
libc.recvfrom.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                          ctypes.c_void_p, ctypes.c_void_p]
libc.recvfrom.restype = ctypes.c_ssize_t
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.mmap.restype = ctypes.c_void_p
SETTLE = 0.05  # lets sent bytes arrive, so a receive finds them waiting


def check(name, got, want):
    if got != want:
        print(f"FAIL {name}: got {got!r}, want {want!r}", flush=True)
        sys.exit(1)
    print(f"ok {name}", flush=True)


def pair():
    """A connected blocking TCP pair on loopback: (client, server side)."""
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(1)
    c = socket.socket()
    c.connect(l.getsockname())
    s, _ = l.accept()
    l.close()
    return c, s


def later(delay, f):
    t = threading.Timer(delay, f)
    t.start()
    return t


def raw_recv(fd, addr, n, flags=0):
    r = libc.recv(fd, addr, n, flags)
    return r, (ctypes.get_errno() if r < 0 else 0)


def rst(c, s):
    """s closes with SO_LINGER 0 (an RST); c has seen it afterwards."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    time.sleep(SETTLE)


if sys.argv[1:] == ["sigpipe"]:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    c, s = pair()
    rst(c, s)
    for _ in range(10):
        try:
            c.send(b"x")
        except OSError:
            pass
        time.sleep(0.01)
    print("not killed by SIGPIPE", flush=True)
    sys.exit(3)

if sys.argv[1:2] == ["loop"]:
    c, s = pair()
    for _ in range(int(sys.argv[2])):
        c.sendall(b"x" * 16)
        check_n = len(s.recv(16))
        s.sendall(b"y" * check_n)
        c.recv(16)
    print("looped", flush=True)
    sys.exit(0)

c, s = pair()

c.sendall(b"hello")
time.sleep(SETTLE)
check("recv", s.recv(100), b"hello")

c.sendall(b"abcdef")
time.sleep(SETTLE)
buf = bytearray(b"." * 10)
n = s.recv_into(buf, 3)
check("recv_into takes only what was asked", (n, bytes(buf)), (3, b"abc......."))
check("the rest stays", s.recv(100), b"def")

c.sendall(b"peek")
time.sleep(SETTLE)
check("MSG_PEEK", s.recv(10, socket.MSG_PEEK), b"peek")
check("after a peek", s.recv(10), b"peek")

c.sendall(b"12345")
time.sleep(SETTLE)
t = later(0.2, lambda: c.sendall(b"67890"))
check("MSG_WAITALL waits for all", s.recv(10, socket.MSG_WAITALL), b"1234567890")
t.join()

# (With a receive timeout: a blocking recv was seen not to wake when the
# low-water mark was reached, only at its timeout, with all 10 bytes.)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 1, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 10)
c.sendall(b"abcde")
time.sleep(SETTLE)
t = later(0.2, lambda: c.sendall(b"fghij"))
check("SO_RCVLOWAT waits for 10", s.recv(100), b"abcdefghij")
t.join()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))

c.sendall(b"keep")
time.sleep(SETTLE)
check("a NULL buffer fails", raw_recv(s.fileno(), None, 10), (-1, errno.EFAULT))
check("and the bytes stay", s.recv(10), b"keep")

ro = libc.mmap(None, 4096, mmap.PROT_READ, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
c.sendall(b"kept")
time.sleep(SETTLE)
check("a read-only buffer fails", raw_recv(s.fileno(), ro, 10), (-1, errno.EFAULT))
check("and the bytes stay there too", s.recv(10), b"kept")

c.sendall(b"discard")
time.sleep(SETTLE)
junk = ctypes.create_string_buffer(b"\xee" * 8, 8)
check("MSG_TRUNC on TCP discards", raw_recv(s.fileno(), junk, 7, socket.MSG_TRUNC), (7, 0))
check("without writing the buffer", junk.raw, b"\xee" * 8)

os.write(c.fileno(), b"wr")
time.sleep(SETTLE)
check("write and read on sockets", os.read(s.fileno(), 10), b"wr")

t = later(0.2, lambda: c.sendall(b"late"))
check("a blocking recv waits", s.recv(10), b"late")
t.join()

s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 200000))
t0 = time.monotonic()
try:
    s.recv(10)
    got = "data"
except BlockingIOError as e:
    got = errno.errorcode[e.errno]
check("SO_RCVTIMEO times out", (got, time.monotonic() - t0 >= 0.15), ("EAGAIN", True))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))

s.setblocking(False)
try:
    s.recv(10)
    got = "data"
except BlockingIOError as e:
    got = errno.errorcode[e.errno]
check("non-blocking recv with nothing there", got, "EAGAIN")
s.setblocking(True)

# A blocking send into a full buffer waits for room (it does not fail).
c2, s2 = pair()
c2.setblocking(False)
queued = 0
try:
    while True:
        queued += c2.send(b"f" * 65536)
except BlockingIOError:
    pass
c2.setblocking(True)
drained = []


def drain():
    time.sleep(0.2)
    n = 0
    while n < queued + 100:
        n += len(s2.recv(1 << 20))
    drained.append(n)


t = threading.Thread(target=drain)
t.start()
check("a blocking send into a full buffer waits", c2.send(b"z" * 100), 100)
t.join()
check("and everything arrives", drained, [queued + 100])
c2.close()
s2.close()

# A blocking send larger than the socket buffers: one send call returns
# the whole length once the reader has taken enough.
c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
big = bytes(range(256)) * 3500
got = bytearray()


def reader():
    time.sleep(0.2)
    while len(got) < len(big):
        d = s.recv(65536)
        if not d:
            break
        got.extend(d)


t = threading.Thread(target=reader)
t.start()
n = c.send(big)
t.join()
check("a blocking send sends it all", (n, len(got), bytes(got) == big), (len(big), len(big), True))

u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u1.bind(("127.0.0.1", 0))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2.bind(("127.0.0.1", 0))
u1.sendto(b"0123456789AB", u2.getsockname())
time.sleep(SETTLE)
check("recvfrom truncates a datagram", u2.recvfrom(4), (b"0123", u1.getsockname()))
u1.sendto(b"second", u2.getsockname())
time.sleep(SETTLE)
check("the rest of it is gone", u2.recv(100), b"second")

u1.sendto(b"0123456789AB", u2.getsockname())
time.sleep(SETTLE)
data = ctypes.create_string_buffer(b"\xee" * 8, 8)
check("MSG_TRUNC gives the real length", raw_recv(u2.fileno(), data, 4, socket.MSG_TRUNC), (12, 0))
check("and writes only what fits", data.raw, b"0123" + b"\xee" * 4)

u1.sendto(b"addr", u2.getsockname())
time.sleep(SETTLE)
name = ctypes.create_string_buffer(b"\xee" * 16, 16)
size = ctypes.c_uint32(4)
r = libc.recvfrom(u2.fileno(), data, 8, 0, name, ctypes.byref(size))
port = struct.pack("!H", u1.getsockname()[1])
check("a short address buffer", (r, size.value, name.raw),
      (4, 16, struct.pack("=H", socket.AF_INET) + port + b"\xee" * 12))

u1.sendto(b"stays", u2.getsockname())
time.sleep(SETTLE)
size = ctypes.c_int32(-1)
r = libc.recvfrom(u2.fileno(), data, 8, 0, name, ctypes.byref(size))
check("a negative address length", (r, ctypes.get_errno()), (-1, errno.EINVAL))
# (The kernel took the datagram before it found the length bad.)
u1.sendto(b"next", u2.getsockname())
time.sleep(SETTLE)
check("and takes the datagram", u2.recv(100), b"next")

u1.sendto(b"zero", u2.getsockname())
time.sleep(SETTLE)
check("read of 0 bytes", os.read(u2.fileno(), 0), b"")
check("takes no datagram", u2.recv(100), b"zero")

u1.sendto(b"nolen", u2.getsockname())
time.sleep(SETTLE)
r = libc.recvfrom(u2.fileno(), data, 8, 0, name, None)
check("an address without its length", (r, ctypes.get_errno()), (-1, errno.EFAULT))

# AF_UNIX passes the sender's credentials: they must be the program's.
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
a.send(b"who")
time.sleep(SETTLE)
msg, anc, _, _ = b.recvmsg(10, socket.CMSG_SPACE(12))
pid = struct.unpack("iII", anc[0][2])[0] if anc else None
check("AF_UNIX credentials are the sender's", (msg, pid == os.getpid()), (b"who", True))

gone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
gone.bind(("127.0.0.1", 0))
u3 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u3.connect(gone.getsockname())
gone.close()
u3.send(b"x")
time.sleep(SETTLE)
try:
    u3.recv(10)
    got = "data"
except ConnectionRefusedError:
    got = "ECONNREFUSED"
check("a UDP port unreachable", got, "ECONNREFUSED")

rst(c, s)
errs = []
for _ in range(5):
    try:
        c.send(b"x", socket.MSG_NOSIGNAL)
    except OSError as e:
        errs.append(errno.errorcode[e.errno])
check("after an RST with MSG_NOSIGNAL", errs[-1:], ["EPIPE"])
print("done", flush=True)
