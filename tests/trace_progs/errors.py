# The error cases a learner meets, one per argument.
import errno, socket, sys
case, port = sys.argv[1], int(sys.argv[2])
if case == "refused":
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
    except ConnectionRefusedError:
        print("refused", flush=True)
elif case == "timeout":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.3)
    try:
        s.recvfrom(100)
    except socket.timeout:
        print("timed out", flush=True)
elif case == "rcvtimeo":
    import struct
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 300000))
    try:
        s.recv(100)
    except OSError as e:
        print("recv failed", e.errno == errno.EAGAIN, flush=True)
elif case == "inuse":
    a = socket.socket()
    a.bind(("127.0.0.1", port))  # the test passes 0: a port nobody else has
    a.listen(1)
    b = socket.socket()
    try:
        b.bind(a.getsockname())
    except OSError as e:
        print("in use", e.errno == errno.EADDRINUSE, flush=True)
elif case == "nonblocking":
    s = socket.socket()
    s.setblocking(False)
    print("connect_ex", s.connect_ex(("127.0.0.1", port)), flush=True)
    import select
    select.select([], [s], [], 5)
    print("so_error", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), flush=True)
    s.close()
