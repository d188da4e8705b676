# Sends a UDP datagram to the port given every 50 ms for 60 s (so a test
# can tell a stopped program from a running one); prints its pid first.
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("ready", os.getpid(), flush=True)
for _ in range(1200):
    s.sendto(b"tick", ("127.0.0.1", int(sys.argv[1])))
    time.sleep(0.05)
