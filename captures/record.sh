#!/usr/bin/env bash
# Re-record the capture library: every file here is written by socklab's own
# `--sniff -w` while socklab (or, for `get`, Python's http.server) plays the
# other end on lo. Run from anywhere, as root (capturing needs CAP_NET_RAW):
#
#   cargo build --release && sudo captures/record.sh
#
# Idempotent: each file is replaced; the servers it starts are stopped by
# their process id when it ends, whatever happens. The course's default
# ports are used (10009 calculators, 10000 echo, 5000 monitor) so that a
# replay decodes the course payloads without being told the protocol; the
# script refuses to run if one of them is already taken.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${SOCKLAB:-$here/../target/release/socklab}"
[ -x "$bin" ] || { echo "record.sh: build first: cargo build --release" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "record.sh: run as root (sudo): capturing needs CAP_NET_RAW" >&2; exit 1; }

HTTP_PORT=8000
CLOSED_PORT=10099
for p in 10009 10000 5000 $HTTP_PORT $CLOSED_PORT; do
  if ss -Htanu "( sport = :$p )" | grep -q .; then
    echo "record.sh: port $p is in use; stop what uses it and run again" >&2
    exit 1
  fi
done

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# start CMD...: run a server in the background, give it time to listen.
start() { "$@" >/dev/null 2>&1 & pids+=($!); sleep 0.5; }
# stop: stop the servers started so far.
stop() { cleanup; pids=(); sleep 0.3; }
# rec FILE CMD...: run a client with --sniff -w captures/FILE (failure allowed for RST lessons).
rec() {
  local file="$1"; shift
  rm -f "$here/$file"
  echo "== $file: socklab $* --sniff -w captures/$file" >&2
  "$bin" "$@" --sniff -w "$here/$file" >/dev/null 2>&1 || true
  [ -s "$here/$file" ] || { echo "record.sh: $file was not written" >&2; exit 1; }
}

# TCP calculator: handshake, numbers, reply, FIN both ways, TIME_WAIT.
start "$bin" tcp-calc serve
rec tcp-calc-handshake-fin.pcap tcp-calc ask 5 8 1
stop

# UDP calculator in native order, in network order, and the two mixed.
start "$bin" udp-calc serve
rec udp-calc-native.pcap udp-calc ask 10 500 add
rec udp-calc-big-to-native-server.pcap udp-calc ask 10 250 add --order big
stop
start "$bin" udp-calc serve --order big
rec udp-calc-network-order.pcap udp-calc ask 10 500 add --order big
stop

# Echo: send, shutdown(SHUT_WR) (half-close), read to the end; then the course client (NUL).
start "$bin" echo serve
rec echo-half-close.pcap echo send "hello, echo"
rec echo-nul.pcap echo send "hello, echo" --nul
stop

# HTTP GET: request, shutdown(SHUT_WR), the server answers and closes.
start python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$here"
rec get-half-close.pcap get 127.0.0.1 "$HTTP_PORT" /README.md
stop

# Connection refused: nothing listens, the kernel answers the SYN with RST.
rec rst-closed-port.pcap tcp-calc ask 1 2 add --to "127.0.0.1:$CLOSED_PORT" --timeout 1

# Monitor: 67-byte records over one connection.
start "$bin" monitor serve
rec monitor-records.pcap monitor report --count 3 --interval 0.2
stop

# The lab's lessons: both ends inside socklab (abort, pieces, TIME_WAIT).
for lesson in abort split reuseaddr; do
  "$bin" lab "$lesson" -w "$here/lab-$lesson.pcap" >/dev/null
done

chmod 644 "$here"/*.pcap
echo "record.sh: done" >&2
