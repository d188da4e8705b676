# selectors on Linux is epoll: a socket and a pipe watched in two sets;
# only the socket's epoll_ctl and epoll_wait are socket calls.
import os, selectors, socket
a, b = socket.socketpair()
sel = selectors.DefaultSelector()
sel.register(a, selectors.EVENT_READ)
r, w = os.pipe()
pipes = selectors.DefaultSelector()
pipes.register(r, selectors.EVENT_READ)
os.write(w, b"p")
print("pipe ready", len(pipes.select(5)), flush=True)
b.send(b"hi")
print("socket ready", [k.fd for k, _ in sel.select(5)], flush=True)
sel.unregister(a)
