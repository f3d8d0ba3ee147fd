# shellcheck shell=bash
# Shared by the bench/*/run.sh drivers and the bench/tools scripts (source it from the
# repository's root; it defines functions and, through `pin_cores`, the pinning variables).
# Keeping one copy means every benchmark pins, waits, picks ports and cleans up the same way.

# A free TCP port on loopback.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits (up to WAIT_HTTP_SECS, default 10 s) for URL to answer 2xx.
wait_http() { # URL
  local tries=$(( ${WAIT_HTTP_SECS:-10} * 20 ))
  for _ in $(seq 1 "$tries"); do curl -fs -o /dev/null "$1" && return 0; sleep 0.05; done
  echo "timed out waiting for $1" >&2; return 1
}

# Cores in a taskset list such as "1" or "0,1" or "2-3".
count_cpus() { python3 -c 'import sys; n=0
for part in sys.argv[1].split(","):
    a,_,b=part.partition("-"); n+=int(b or a)-int(a)+1
print(n)' "$1"; }

# Pinning: the server under test on SERVER_CPUS (default 1), load generators and the simulator
# on CLIENT_CPUS (default 0); PIN=0, or a single core, turns it off. Sets PIN, SERVER_CPUS,
# CLIENT_CPUS, ON_SERVER and ON_CLIENT (command prefixes), SERVER_N, CLIENT_N and WRK_THREADS.
pin_cores() {
  PIN=${PIN:-1}
  if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
    SERVER_CPUS=${SERVER_CPUS:-1}
    CLIENT_CPUS=${CLIENT_CPUS:-0}
    ON_SERVER=(taskset -c "$SERVER_CPUS")
    ON_CLIENT=(taskset -c "$CLIENT_CPUS")
  else
    PIN=0
    SERVER_CPUS=$(seq -s, 0 $(($(nproc) - 1)))
    CLIENT_CPUS=$SERVER_CPUS
    ON_SERVER=()
    ON_CLIENT=()
  fi
  SERVER_N=$(count_cpus "$SERVER_CPUS")
  CLIENT_N=$(count_cpus "$CLIENT_CPUS")
  WRK_THREADS=${WRK_THREADS:-$CLIENT_N}
}

# Starts the gateway benchmarks' simulated Plex server (2,000 tracks, 50 movies, 5 shows, seed 7,
# no per-item or scan cost, LATENCY_MS per request) from BIN on 127.0.0.1:PORT, on the client's
# CPUs when `pin_cores` pinned them; sets SIM_PID, adds it to the caller's PIDS and waits until
# it answers.
start_bench_sim() { # BIN PORT LATENCY_MS LOG
  "${ON_CLIENT[@]}" "$1" sim --plex-listen "127.0.0.1:$2" --tracks 2000 --movies 50 --shows 5 --seed 7 \
    --latency-ms "$3" --item-cost-us 0 --scan-cost-us 0 >"$4" 2>&1 &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  wait_http "http://127.0.0.1:$2/identity"
}

# Starts the bare hyper floor (crates/gateway/examples/bare_hit.rs) from BIN on 127.0.0.1:PORT,
# answering every request with a BYTES-byte body, pinned and with the workers of the proxies
# under test (`pin_cores`); sets BARE_PID, adds it to the caller's PIDS and waits until it
# answers.
start_bare_floor() { # BIN PORT BYTES LOG
  TOKIO_WORKER_THREADS=$SERVER_N setsid "${ON_SERVER[@]}" "$1" "127.0.0.1:$2" "$3" >"$4" 2>&1 &
  BARE_PID=$!
  PIDS+=("$BARE_PID")
  wait_http "http://127.0.0.1:$2/"
}

# The simulator's owner token (Plex) and the key of its first music section, for benchmarks that
# drive the simulator listening on 127.0.0.1:PORT.
sim_owner_token() { # PORT
  curl -fs "http://127.0.0.1:$1/_sim/tokens" | python3 -c 'import json,sys; d=json.load(sys.stdin); u=d["users"] if isinstance(d,dict) else d; print([x for x in u if x.get("is_owner", x.get("owner"))][0]["plex_token"])'
}
sim_music_section() { # PORT TOKEN
  curl -fs -H "X-Plex-Token: $2" -H "Accept: application/json" "http://127.0.0.1:$1/library/sections" \
    | python3 -c 'import json,sys; print([d["key"] for d in json.load(sys.stdin)["MediaContainer"]["Directory"] if d["type"]=="artist"][0])'
}

# The rating keys of COUNT albums of the music section MUSIC from the 41st on, space-separated:
# the gateway benchmarks' burst keys (an album's track listing, /library/metadata/KEY/children).
sim_albums() { # PORT TOKEN MUSIC COUNT
  curl -fs -H "X-Plex-Token: $2" -H "Accept: application/json" -H "X-Plex-Container-Start: 40" \
    -H "X-Plex-Container-Size: $4" "http://127.0.0.1:$1/library/sections/$3/all?type=9" \
    | python3 -c 'import json,sys; print(" ".join(str(m["ratingKey"]) for m in json.load(sys.stdin)["MediaContainer"]["Metadata"]))'
}

# Waits up to SECS for the gateway whose admin API is ADMIN (a URL) to have its library index
# ready: `POST /api/match` answers 200 once it is. Returns 1 if it never was.
wait_index_ready() { # ADMIN SECS
  local code
  for _ in $(seq 1 $(( $2 * 2 ))); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-Cachearr-Request: 1' \
      "$1/api/match?format=csv" --data-binary $'artist,title\nx,y\n' || true)
    # The library copy's frame probes follow a build: part of it (`copy.probing`).
    if [ "$code" = 200 ] && ! curl -s "$1/api/index" | grep -q '"probing":true'; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

# The gateway benchmarks' cachearr configuration on standard output: one Plex upstream (the
# simulator on SIM_PORT) served on LISTEN_PORT, a 1 GiB memory tier, and a guard that never
# queues a benchmark's requests. Callers append what their scenario adds (routes, `[index]`).
# BENCH_SENDFILE_MIN (e.g. 16KiB) turns zero-copy answers on (`[cache] sendfile_min`).
bench_cachearr_toml() { # DATA_DIR ADMIN_PORT SIM_PORT LISTEN_PORT
  cat <<EOF
data_dir = "$1"
admin_listen = "127.0.0.1:$2"
[cache]
memory_max = "1GiB"
sendfile_min = "${BENCH_SENDFILE_MIN:-off}"
[[upstream]]
name = "plex"
profile = "plex"
url = "http://127.0.0.1:$3"
listen = "127.0.0.1:$4"
[upstream.guard]
max_concurrent = 256
rate_per_sec = 100000
burst = 100000
EOF
}

# bench/gateway/nginx.conf.in filled in, on standard output: nginx serving PORT in front of
# the simulator on SIM_PORT from DIR, with SERVER_N workers (set by `pin_cores`), library data
# kept 1 h and item metadata TTL_SHORT seconds, and GZIP's directives (may be empty).
render_nginx_conf() { # DIR PORT SIM_PORT TTL_SHORT GZIP
  local user=""; [ "$(id -u)" = 0 ] && user="user root;"
  sed -e "s#@USER@#$user#" -e "s#@DIR@#$1#g" -e "s#@PORT@#$2#g" -e "s#@UPSTREAM@#127.0.0.1:$3#g" \
      -e "s#@TTL@#3600#g" -e "s#@TTL_SHORT@#$4#g" -e "s#@WORKERS@#$SERVER_N#g" -e "s#@GZIP@#$5#" \
      bench/gateway/nginx.conf.in
}

# Kills the processes the caller added to PIDS and waits for them, so that a run that ends,
# fails or is interrupted leaves no simulator or gateway holding a port.
kill_pids() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# Starts an empty PIDS and runs `kill_pids` when the script exits.
kill_pids_on_exit() { PIDS=(); trap kill_pids EXIT; }

# The cachearr binary a benchmark runs: CACHEARR when it is set, else a release build made now
# (in CARGO_TARGET_DIR, or ./target), so a plain run measures what the source says. Sets CACHEARR.
ensure_cachearr() {
  if [ -z "${CACHEARR:-}" ]; then
    echo "==> building cachearr (release)" >&2
    cargo build --release -p cachearr --quiet
    CACHEARR=${CARGO_TARGET_DIR:-$PWD/target}/release/cachearr
  fi
}

# The library-copy set-up of bench/tools/copy_latency*.sh and profile_copy.sh: the simulator
# from CACHEARR with no per-request cost (`--no-cost`: what is timed is the gateway's own work)
# and a fixed library (seed 4, 20 movies), and `cachearr serve` in front of it with its library
# index built, so that reads can be answered from the library copy. `start_copy_plex` and
# `start_copy_jellyfin` pick free ports, leave their logs (sim.log, cachearr.log) in WORK and
# set SIM_PORT (the simulated server), CA_PORT (cachearr's proxy), ADMIN_PORT (its admin API,
# on loopback without a token), OWNER (the owner's token on that server), SIM_PID and
# GATEWAY_PID; both processes are also added to PIDS.

# Starts the simulator with ARGS (its listeners and the sizes the scenario needs).
start_copy_sim() { # WORK ARGS...
  local work=$1; shift
  # No cost unless SIM_LATENCY_MS asks for a server that takes its time per request.
  local cost=(--no-cost)
  if [ -n "${SIM_LATENCY_MS:-}" ]; then cost=(--latency-ms "$SIM_LATENCY_MS"); fi
  "$CACHEARR" sim "$@" --movies 20 --seed 4 "${cost[@]}" >"$work/sim.log" 2>&1 &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
}

# Starts `cachearr serve` with ARGS (its upstream and listeners, ADMIN_PORT's among them) and
# waits until it is healthy and its library index is built (up to 5 min: a large library takes
# a while), so that the first timed read can already be answered from the copy.
start_copy_gateway() { # WORK ARGS...
  local work=$1; shift
  "$CACHEARR" serve "$@" >"$work/cachearr.log" 2>&1 &
  GATEWAY_PID=$!
  PIDS+=("$GATEWAY_PID")
  wait_http "http://127.0.0.1:$ADMIN_PORT/health" || return 1
  wait_index_ready "http://127.0.0.1:$ADMIN_PORT" 300 || { echo "index not ready" >&2; return 1; }
}

# Plex: a music section of TRACKS tracks (and 5 shows), cachearr configured with one Plex
# upstream that holds the owner's token, so it can build the index of the whole library.
start_copy_plex() { # WORK TRACKS
  SIM_PORT=$(free_port); CA_PORT=$(free_port); ADMIN_PORT=$(free_port)
  start_copy_sim "$1" --plex-listen "127.0.0.1:$SIM_PORT" --tracks "$2" --shows 5
  wait_http "http://127.0.0.1:$SIM_PORT/identity" || return 1
  OWNER=$(sim_owner_token "$SIM_PORT") || return 1
  cat >"$1/cachearr.toml" <<TOML
data_dir = "$1/data"
admin_listen = "127.0.0.1:$ADMIN_PORT"
[[upstream]]
name = "plex"
profile = "plex"
url = "http://127.0.0.1:$SIM_PORT"
listen = "127.0.0.1:$CA_PORT"
token = "$OWNER"
TOML
  start_copy_gateway "$1" --config "$1/cachearr.toml"
}

# Jellyfin: SHOWS series (and a small music library of 200 tracks) on the simulator's Jellyfin
# listener, cachearr started with the owner's Jellyfin token. The owner's token is read from
# the simulator's control routes, served on its Plex listener (PLEX_PORT); also sets OWNER_ID,
# the owner's Jellyfin user id (episode listings are a user's view).
start_copy_jellyfin() { # WORK SHOWS
  PLEX_PORT=$(free_port); SIM_PORT=$(free_port); CA_PORT=$(free_port); ADMIN_PORT=$(free_port)
  start_copy_sim "$1" --plex-listen "127.0.0.1:$PLEX_PORT" --jellyfin-listen "127.0.0.1:$SIM_PORT" \
    --tracks 200 --shows "$2"
  wait_http "http://127.0.0.1:$SIM_PORT/System/Info/Public" || return 1
  # shellcheck disable=SC2034 # OWNER_ID is the caller's
  read -r OWNER OWNER_ID < <(curl -fs "http://127.0.0.1:$PLEX_PORT/_sim/tokens" | python3 -c '
import json, sys
u = next(u for u in json.load(sys.stdin)["users"] if u["owner"])
print(u["jellyfin_token"], u["jellyfin_id"])') || return 1
  start_copy_gateway "$1" --jellyfin "http://127.0.0.1:$SIM_PORT" --jellyfin-token "$OWNER" \
    --listen "127.0.0.1:$CA_PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" --data-dir "$1/data"
}
