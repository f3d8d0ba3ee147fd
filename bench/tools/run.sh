#!/usr/bin/env bash
# Real tools' passes over a library, direct to the server and through cachearr, counting what
# the server is asked. Tools replayed so far: python-plexapi's track lookup
# (`section.searchTracks(title=…)`, which adds `includeGuids=1`), for the owner and a shared
# user who sees every library.
#
#   bench/tools/run.sh                                   # release build, Markdown on stdout
#   CACHEARR=target/debug/cachearr TRACKS=5000 TITLES=100 bench/tools/run.sh
#
# For each user: (a) direct; (b) through cachearr, cold (cache empty, library index ready);
# (c) through cachearr again (warm). Each run's answers (every title's ratingKeys, titles and
# artists) are compared with the direct run's; the server's requests are the simulator's
# /_sim/stats, reset before each run. The index's own crawl is reported apart: it happens
# once per library, not per tool.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
TRACKS=${TRACKS:-10000}
TITLES=${TITLES:-200}
INDEX_WAIT=${INDEX_WAIT:-600}
WORK=$(mktemp -d /tmp/cachearr-tools.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
log() { echo "==> $*" >&2; }

if [ -z "${CACHEARR:-}" ]; then
  log "building cachearr (release)"
  cargo build --release -p cachearr --quiet
  CACHEARR=${CARGO_TARGET_DIR:-$ROOT/target}/release/cachearr
fi
PY=${PY:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || { echo "no $PY: run scripts/setup-test-env" >&2; exit 1; }
TOOL="$PY $ROOT/bench/tools/plexapi_search.py"

source bench/lib.sh
WAIT_HTTP_SECS=60
SIM_PORT=$(free_port); CA_PORT=$(free_port); ADMIN_PORT=$(free_port)
SIM=http://127.0.0.1:$SIM_PORT; PROXY=http://127.0.0.1:$CA_PORT; ADMIN=http://127.0.0.1:$ADMIN_PORT
reset() { curl -fs -X POST "$SIM/_sim/reset" -o /dev/null; }
total() { curl -fs "$SIM/_sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }

log "simulator: $TRACKS tracks"
"$CACHEARR" sim --plex-listen "127.0.0.1:$SIM_PORT" --tracks "$TRACKS" --movies 50 --shows 5 --seed 4 \
  --no-cost >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
wait_http "$SIM/identity"
read -r OWNER SHARED < <(curl -fs "$SIM/_sim/tokens" | python3 -c '
import json, sys
users = json.load(sys.stdin)["users"]
owner = next(u["plex_token"] for u in users if u["owner"])
# A shared user who sees every library (no section list, no restrictions in the name).
shared = next((u["plex_token"] for u in users if not u["owner"] and u.get("sections") is None), owner)
print(owner, shared)')
$TOOL titles "$SIM" "$OWNER" "$TITLES" >"$WORK/titles.json"
log "titles: $(python3 -c "import json; print(len(json.load(open('$WORK/titles.json'))))")"

run() { # NAME BASE TOKEN → prints "requests" and writes $WORK/NAME.json
  reset
  $TOOL search "$2" "$3" "$WORK/titles.json" >"$WORK/$1.json"
  total
}

log "cachearr serve in front of the server (index crawl with the owner's token)"
cat >"$WORK/cachearr.toml" <<TOML
data_dir = "$WORK/data"
admin_listen = "127.0.0.1:$ADMIN_PORT"
[[upstream]]
name = "plex"
profile = "plex"
url = "$SIM"
listen = "127.0.0.1:$CA_PORT"
token = "$OWNER"
TOML
reset
"$CACHEARR" serve --config "$WORK/cachearr.toml" >"$WORK/cachearr.log" 2>&1 &
PIDS+=($!)
wait_http "$ADMIN/health"
READY=yes
wait_index_ready "$ADMIN" "$INDEX_WAIT" || READY=no
CRAWL=$(total)
log "index ready: $READY ($CRAWL server requests for the crawl)"
[ "$READY" = yes ] || { echo "the index was not ready in ${INDEX_WAIT}s" >&2; exit 1; }

echo "| tool, user | direct | through cachearr, cold | warm | answers equal to direct |"
echo "|---|---:|---:|---:|---|"
for who in owner shared; do
  token=$OWNER; [ "$who" = shared ] && token=$SHARED
  d=$(run "direct-$who" "$SIM" "$token")
  c=$(run "cold-$who" "$PROXY" "$token")
  w=$(run "warm-$who" "$PROXY" "$token")
  same=$(python3 -c "
import json
d = json.load(open('$WORK/direct-$who.json'))
bad = [k for run in ('cold', 'warm') for k, v in json.load(open(f'$WORK/{run}-$who.json')).items() if d.get(k) != v]
print('all %d' % len(d) if not bad else '%d differ' % len(bad))")
  echo "| python-plexapi searchTracks(title=…), $who | $d | $c | $w | $same |"
done
echo
echo "Index crawl: $CRAWL server requests for $TRACKS tracks (once per library). Logs in $WORK."
