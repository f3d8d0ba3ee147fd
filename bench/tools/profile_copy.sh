#!/usr/bin/env bash
# Where the gateway spends its time answering from the library copy, to profile it: the
# copy-latency set-up (bench/lib.sh's `start_copy_plex` or `start_copy_jellyfin`: the
# simulator with no per-request cost, cachearr in front of it with its library index built),
# then ROUNDS rounds of reads apart, each read a first answer written from the copy, with the
# cache cleared between rounds (`POST /api/clear`) so that every round is answered from the
# copy again. Plex reads every album's children (`/library/metadata/{id}/children`), Jellyfin
# every series' episodes (`/Shows/{id}/Episodes?UserId=…`, the owner's), in the order
# copy_latency*.sh reads them apart (every eleventh or seventh: no two reads make a walk, so
# nothing is written ahead). Prints the median of the gateway's own time per read (its
# Server-Timing `cache;dur=`) over all rounds, the spread of the rounds' medians and what the
# client waited; reads that were not the copy's answers (the server's, or hits) are counted
# apart and left out of the median.
#
#   bench/tools/profile_copy.sh                                # release build, Plex, ROUNDS=20
#   CACHEARR=target/release/cachearr ROUNDS=5 bench/tools/profile_copy.sh
#   PROFILE=jellyfin SHOWS=60 bench/tools/profile_copy.sh
#   PERF=1 bench/tools/profile_copy.sh                         # and record a profile
#
# PERF=1 records the gateway, and only during the rounds, with
# `perf record -F 2999 --call-graph dwarf,16384`, and prints where the data is and the
# `perf report` command that reads it. TRACKS (Plex, default 2000) and SHOWS (Jellyfin,
# default 60) size the library as in copy_latency*.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
PROFILE=${PROFILE:-plex}
ROUNDS=${ROUNDS:-20}
PERF=${PERF:-}
TRACKS=${TRACKS:-2000}
SHOWS=${SHOWS:-60}
case "$PROFILE" in
  plex | jellyfin) ;;
  *) echo "PROFILE must be plex or jellyfin, not $PROFILE" >&2; exit 2 ;;
esac
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null; then
  echo "PERF=1 needs perf (Debian: apt-get install linux-perf)" >&2; exit 2
fi
WORK=$(mktemp -d /tmp/cachearr-profile-copy.XXXXXX)
kill_pids_on_exit
ensure_cachearr
if [ "$PROFILE" = plex ]; then
  start_copy_plex "$WORK" "$TRACKS"
  OWNER_ID=
else
  start_copy_jellyfin "$WORK" "$SHOWS"
fi

# The recorder attaches to the running gateway, so the set-up and the index build stay out of
# the profile; the rounds start once perf has opened its output.
if [ "$PERF" = 1 ]; then
  perf record -F 2999 --call-graph dwarf,16384 -p "$GATEWAY_PID" -o "$WORK/perf.data" \
    >"$WORK/perf.log" 2>&1 &
  PERF_PID=$!
  PIDS+=("$PERF_PID")
  for _ in $(seq 1 100); do [ -s "$WORK/perf.data" ] && break; sleep 0.05; done
  sleep 0.5
fi

PYTHONPATH=bench/tools python3 - "$PROFILE" "$SIM_PORT" "$CA_PORT" "$ADMIN_PORT" "$OWNER" \
  "$OWNER_ID" "$ROUNDS" <<'PY'
import json, statistics, sys
from copy_latency import Reads, apart
profile, token, uid = sys.argv[1], sys.argv[5], sys.argv[6]
sim_port, proxy_port, admin_port = (int(a) for a in sys.argv[2:5])
rounds = int(sys.argv[7])
med = statistics.median
if profile == "plex":
    reads = Reads(proxy_port, admin_port, {"X-Plex-Token": token, "Accept": "application/json"})
    albums = [m["ratingKey"] for m in json.loads(
        reads.get(sim_port, "/library/sections/1/all?type=9")[0])["MediaContainer"]["Metadata"]]
    label = f"{len(albums)} album children listings"
    paths = [f"/library/metadata/{a}/children" for a in apart(albums)]
else:
    reads = Reads(proxy_port, admin_port, {"X-Emby-Token": token})
    listing = "/Items?IncludeItemTypes=Series&Recursive=true&SortBy=SortName"
    series = [s["Id"] for s in json.loads(reads.get(sim_port, listing)[0])["Items"]]
    label = f"{len(series)} series' episodes"
    paths = [f"/Shows/{s}/Episodes?UserId={uid}&EnableUserData=True" for s in apart(series)]
copy, server, other, round_medians = [], [], [], []
for r in range(rounds):
    if r:
        reads.clear()
    this_round = []
    for p in paths:
        _, ms, upstream, waited, status = reads.get(proxy_port, p)
        if upstream > 0:
            server.append(ms)
        elif status.endswith("detail=copy"):
            copy.append((ms, waited))
            this_round.append(ms)
        else:
            other.append(ms)
    if this_round:
        round_medians.append(med(this_round))
print(f"{profile}: {label}, read apart, {rounds} rounds, cache cleared between rounds")
if copy:
    print(f"answered from the copy: {len(copy)}, gateway median {med(g for g, _ in copy):.3f} ms "
          f"(rounds' medians {min(round_medians):.3f}-{max(round_medians):.3f} ms), "
          f"client median {med(w for _, w in copy):.3f} ms")
else:
    print("answered from the copy: 0")
if server:
    print(f"answered by the server (left out): {len(server)}, gateway median {med(server):.3f} ms")
if other:
    print(f"other answers, hits (left out): {len(other)}, gateway median {med(other):.3f} ms")
PY

if [ "$PERF" = 1 ]; then
  kill -INT "$PERF_PID"
  wait "$PERF_PID" || true
  echo "perf data: $WORK/perf.data (perf's output: $WORK/perf.log)"
  echo "read it:   perf report -i $WORK/perf.data --no-children"
fi
