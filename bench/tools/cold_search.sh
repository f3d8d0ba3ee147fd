#!/usr/bin/env bash
# What an index search costs when the asking user's play state must be read from the server:
# the simulator with a base latency per request (SIM_LATENCY_MS, default 20 ms) and cachearr
# in front of it with its library index built (bench/lib.sh's `start_copy_plex`), then ROUNDS
# rounds, each the cache cleared (`POST /api/clear`) and one search as the owner
# (`/hubs/search?query=TITLE&limit=10`, a different track title each round). The index
# answers it (`Cache-Status: …; detail=index`) after reading the owner's play-state listings
# of each section and kind the answer shows, through the cache and so from the server.
# Prints the median time the client waited, the server requests each search cost, and the
# answers the index did not give.
#
#   bench/tools/cold_search.sh                                  # release build, 15 rounds
#   CACHEARR=target/release/cachearr ROUNDS=30 bench/tools/cold_search.sh
#   SIM_LATENCY_MS=50 TRACKS=5000 bench/tools/cold_search.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
TRACKS=${TRACKS:-2000}
ROUNDS=${ROUNDS:-15}
export SIM_LATENCY_MS=${SIM_LATENCY_MS:-20}
WORK=$(mktemp -d /tmp/cachearr-cold-search.XXXXXX)
kill_pids_on_exit
ensure_cachearr
start_copy_plex "$WORK" "$TRACKS"
python3 - "$SIM_PORT" "$CA_PORT" "$OWNER" "$ADMIN_PORT" "$ROUNDS" "$SIM_LATENCY_MS" <<'PY'
import http.client, json, statistics, sys, time, urllib.parse
sim_port, ca_port, owner, admin_port, rounds, latency = sys.argv[1:7]
rounds = int(rounds)
headers = {"X-Plex-Token": owner, "Accept": "application/json"}

def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", int(port))
    t = time.perf_counter()
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    body = r.read()
    waited = (time.perf_counter() - t) * 1000
    conn.close()
    return body, waited, r.getheader("Cache-Status") or ""

def sim_total():
    return json.loads(get(sim_port, "/_sim/stats")[0])["total"]

sections = json.loads(get(sim_port, "/library/sections")[0])["MediaContainer"]["Directory"]
music = next(s["key"] for s in sections if s["type"] == "artist")
tracks = json.loads(get(sim_port, f"/library/sections/{music}/all?type=10")[0])
titles = [m["title"] for m in tracks["MediaContainer"]["Metadata"]]
step = max(1, len(titles) // (rounds + 1))
waited, asked, other = [], [], 0
for i in range(rounds):
    conn = http.client.HTTPConnection("127.0.0.1", int(admin_port))
    conn.request("POST", "/api/clear", headers={"X-Cachearr-Request": "1"})
    assert conn.getresponse().status == 200
    conn.close()
    query = urllib.parse.quote(titles[(i + 1) * step])
    before = sim_total()
    _, ms, status = get(ca_port, f"/hubs/search?query={query}&limit=10")
    if "detail=index" not in status:
        other += 1
        continue
    waited.append(ms)
    asked.append(sim_total() - before)
print(f"cold index searches as the owner, server latency {latency} ms: {len(waited)} of {rounds} "
      f"answered by the index ({other} otherwise)")
if waited:
    print(f"client median {statistics.median(waited):.1f} ms "
          f"(min {min(waited):.1f}, max {max(waited):.1f}); "
          f"server requests per search: median {statistics.median(asked):.0f}")
PY
