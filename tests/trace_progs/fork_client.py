# A forking program: the child connects and sends, the parent waits for it.
import os, socket, sys
port = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"from the child\n")
    s.close()
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("child status", status, flush=True)
