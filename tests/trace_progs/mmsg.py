# sendmmsg and recvmmsg through ctypes (Python's socket module has neither):
# two udp-calc requests leave in one sendmmsg and arrive in one recvmmsg.
import ctypes, socket, struct

# The interpreter's own libc (find_library would run ldconfig in a child).
libc = ctypes.CDLL(None, use_errno=True)


class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]


def vector(bufs, names=None):
    iovs = [iovec(ctypes.addressof(b), len(b)) for b in bufs]
    msgs = (mmsghdr * len(bufs))()
    for i, (m, v) in enumerate(zip(msgs, iovs)):
        m.hdr.iov = ctypes.pointer(v)
        m.hdr.iovlen = 1
        if names:
            m.hdr.name = ctypes.addressof(names[i])
            m.hdr.namelen = len(names[i])
    return msgs, iovs


rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 0))
rx.settimeout(5)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tx.connect(rx.getsockname())
out = [ctypes.create_string_buffer(struct.pack("III", 7, 5, 0), 12),
       ctypes.create_string_buffer(struct.pack("III", 2, 3, 1), 12)]
msgs, keep = vector(out)
n = libc.sendmmsg(tx.fileno(), msgs, 2, 0)
print("sent", n, flush=True)
inb = [ctypes.create_string_buffer(64), ctypes.create_string_buffer(64)]
froms = [ctypes.create_string_buffer(16), ctypes.create_string_buffer(16)]
msgs, keep = vector(inb, froms)
n = libc.recvmmsg(rx.fileno(), msgs, 2, 0, None)
print("received", n, [m.len for m in msgs[:max(n, 0)]], flush=True)
