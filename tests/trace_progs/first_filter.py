"""Programs for tests/trace_filter.rs: a process starts under a filter that
stops only the calls that need a socket, and gets the full one (read,
write, close...) at its first socket call, for all its threads.

usage: first_filter.py thread     a thread started before the first socket
                                  writes to it
       first_filter.py fork       a child forked before any socket makes its
                                  own and writes to it; then the parent does
       first_filter.py inherited  writes to fd 3, a socket it was given
"""
import os, socket, sys, threading

mode = sys.argv[1]
if mode == "thread":
    ready = threading.Event()
    fds = []

    def writer():
        ready.wait(10)
        os.write(fds[0], b"from the early thread")

    t = threading.Thread(target=writer)
    t.start()
    a, b = socket.socketpair()
    fds.append(a.fileno())
    ready.set()
    t.join(10)
    print(b.recv(100).decode())
elif mode == "fork":
    pid = os.fork()
    if pid == 0:
        a, b = socket.socketpair()
        os.write(a.fileno(), b"from the child")
        os.read(b.fileno(), 100)
        os._exit(0)
    os.waitpid(pid, 0)
    a, b = socket.socketpair()
    os.write(a.fileno(), b"from the parent")
    print(os.read(b.fileno(), 100).decode())
elif mode == "inherited":
    os.write(3, b"to the inherited socket")
else:
    sys.exit(f"unknown mode {mode!r}")
