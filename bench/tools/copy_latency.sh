#!/usr/bin/env bash
# What an answer written from the library copy costs the gateway, beside a miss the server
# answers and a cache hit of the same answer: every album's children of a music section, then
# the section's tracks in pages of 50, each read twice through cachearr, timed by the
# gateway's own Server-Timing (`cache;dur=`, its time
# from the request to the answer; `upstream;dur=` marks a miss the server answered).
#
#   bench/tools/copy_latency.sh                     # release build, TRACKS=2000
#   CACHEARR=target/release/cachearr TRACKS=10000 bench/tools/copy_latency.sh
#
# The simulator runs with --no-cost, so a server miss here is far cheaper than on a real
# server: compare the copy with the hit, and read the server's figure as a floor.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
TRACKS=${TRACKS:-2000}
WORK=$(mktemp -d /tmp/cachearr-copy-latency.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
if [ -z "${CACHEARR:-}" ]; then
  echo "==> building cachearr (release)" >&2
  cargo build --release -p cachearr --quiet
  CACHEARR=${CARGO_TARGET_DIR:-$ROOT/target}/release/cachearr
fi
source bench/lib.sh
SIM_PORT=$(free_port); CA_PORT=$(free_port); ADMIN_PORT=$(free_port)
"$CACHEARR" sim --plex-listen "127.0.0.1:$SIM_PORT" --tracks "$TRACKS" --movies 20 --shows 5 \
  --seed 4 --no-cost >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$SIM_PORT/identity"
OWNER=$(curl -fs "http://127.0.0.1:$SIM_PORT/_sim/tokens" | python3 -c '
import json, sys
print(next(u["plex_token"] for u in json.load(sys.stdin)["users"] if u["owner"]))')
cat >"$WORK/cachearr.toml" <<TOML
data_dir = "$WORK/data"
admin_listen = "127.0.0.1:$ADMIN_PORT"
[[upstream]]
name = "plex"
profile = "plex"
url = "http://127.0.0.1:$SIM_PORT"
listen = "127.0.0.1:$CA_PORT"
token = "$OWNER"
TOML
"$CACHEARR" serve --config "$WORK/cachearr.toml" >"$WORK/cachearr.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$ADMIN_PORT/health"
wait_index_ready "http://127.0.0.1:$ADMIN_PORT" 300 || { echo "index not ready" >&2; exit 1; }
python3 - "$SIM_PORT" "$CA_PORT" "$OWNER" <<'PY'
import json, re, statistics, sys, urllib.request
sim, proxy, token = (f"http://127.0.0.1:{sys.argv[1]}", f"http://127.0.0.1:{sys.argv[2]}",
                     sys.argv[3])
def get(base, path, extra=None):
    req = urllib.request.Request(base + path, headers={"X-Plex-Token": token,
                                                        "Accept": "application/json",
                                                        **(extra or {})})
    with urllib.request.urlopen(req) as r:
        body = r.read()
        timing = dict(re.findall(r"(\w+);dur=([\d.]+)", r.headers.get("Server-Timing", "")))
    return body, float(timing.get("cache", 0)), float(timing.get("upstream", 0))
albums = [m["ratingKey"] for m in
          json.loads(get(sim, "/library/sections/1/all?type=9")[0])["MediaContainer"]["Metadata"]]
server, copy, hit, sizes = [], [], [], []
for a in albums:
    body, ms, upstream = get(proxy, f"/library/metadata/{a}/children")
    (server if upstream > 0 else copy).append(ms)
    sizes.append(len(body))
for a in albums:
    hit.append(get(proxy, f"/library/metadata/{a}/children")[1])
med = statistics.median
print(f"{len(albums)} album children listings, median {med(sizes):.0f} bytes")
print(f"answered by the server (frame proofs, first misses): {len(server)}, median {med(server):.3f} ms")
print(f"answered from the copy: {len(copy)}, median {med(copy):.3f} ms")
print(f"cache hits of the same answers: {len(hit)}, median {med(hit):.3f} ms")
print(f"copy / hit: {med(copy) / med(hit):.1f}x")
# A section's track listing read in pages of 50, as PlexKodiConnect and Plexist page it.
PAGE = 50
total = int(json.loads(get(sim, "/library/sections/1/all?type=10&X-Plex-Container-Start=0"
                           "&X-Plex-Container-Size=0")[0])["MediaContainer"]["totalSize"])
paths = [f"/library/sections/1/all?type=10&X-Plex-Container-Start={s}&X-Plex-Container-Size={PAGE}"
         for s in range(0, total, PAGE)]
server, copy, hit, sizes = [], [], [], []
for p in paths:
    body, ms, upstream = get(proxy, p)
    (server if upstream > 0 else copy).append(ms)
    sizes.append(len(body))
for p in paths:
    hit.append(get(proxy, p)[1])
print(f"{len(paths)} pages of {PAGE} of {total} tracks, median {med(sizes):.0f} bytes")
print(f"answered by the server: {len(server)}" + (f", median {med(server):.3f} ms" if server else ""))
print(f"answered from the copy: {len(copy)}, median {med(copy):.3f} ms")
print(f"cache hits of the same answers: {len(hit)}, median {med(hit):.3f} ms")
print(f"copy / hit: {med(copy) / med(hit):.1f}x")
PY
