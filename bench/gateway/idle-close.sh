#!/usr/bin/env bash
# When the gateway closes client connections that send no request: one that sends nothing,
# one that sends half a request head (a slow or hostile client holding a descriptor), and one
# kept alive after a whole request. All three should close about 30 s after they went idle
# (`connections::IDLE_TIMEOUT`, checked by a sweep once a second). Takes ~35 s.
#
#   bench/gateway/idle-close.sh [CACHEARR_BIN]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-target/release/cachearr}
source bench/lib.sh
W=$(mktemp -d /tmp/cachearr-idle.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT
SP=$(free_port); CP=$(free_port); AP=$(free_port)
ON_CLIENT=() # unpinned: nothing here is timed finer than a second
start_bench_sim "$BIN" "$SP" 0 "$W/sim.log"
bench_cachearr_toml "$W/data" "$AP" "$SP" "$CP" >"$W/cachearr.toml"
RUST_LOG=error "$BIN" serve --config "$W/cachearr.toml" >"$W/cachearr.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$AP/health"
python3 - "$CP" "$(sim_owner_token "$SP")" <<'PY'
import socket, sys, threading, time
port, token = int(sys.argv[1]), sys.argv[2]

def watch(name, send):
    s = socket.create_connection(("127.0.0.1", port))
    start = time.monotonic()
    if send:
        s.sendall(send)
    s.settimeout(60)
    received = 0
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            print(f"{name}: still open after 60 s")
            return
        if not chunk:
            break
        received += len(chunk)
    print(f"{name}: closed after {time.monotonic() - start:.1f} s ({received} bytes answered)")

clients = [
    ("sends nothing", None),
    ("sends half a request head", b"GET /identity HTTP/1.1\r\nHost: gateway\r\n"),
    ("one request, then kept alive",
     f"GET /identity HTTP/1.1\r\nHost: gateway\r\nX-Plex-Token: {token}\r\n\r\n".encode()),
]
threads = [threading.Thread(target=watch, args=c) for c in clients]
for t in threads:
    t.start()
for t in threads:
    t.join()
PY
