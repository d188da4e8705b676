# A server that waits in accept() (for the blocking-call and Ctrl-C tests).
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(1)
print("ready", s.getsockname()[1], flush=True)
c, a = s.accept()
c.close()
