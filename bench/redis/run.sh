#!/usr/bin/env bash
# The Redis tier at HTTP level, through real gateways in front of one simulated Plex server and
# one redis-server (started here on a free port). Installs wrk and redis-server from Debian's
# packages if missing.
#
#   bench/redis/run.sh                 # a Markdown report on stdout, logs in $WORK
#   DURATION=10 ROUNDS=5 bench/redis/run.sh
#   CACHEARR_BIN=/path/to/cachearr bench/redis/run.sh   # use this binary, don't build
#   PIN=0 bench/redis/run.sh           # no pinning
#
# Three gateways: "plain" (memory + disk, no Redis), and A and B (memory + disk + the same
# Redis, the same installation secret). Pinning as in bench/gateway/run.sh: the gateway under
# test on SERVER_CPUS, wrk / the sequential client / the simulator / redis-server on
# CLIENT_CPUS; each gateway gets as many tokio workers as it has cores.
#
# 1. Cached hits (memory), ~20 KB JSON, wrk with CONNECTIONS connections: "plain" vs A, in
#    ROUNDS interleaved rounds; medians and the ratio. During A's runs the Redis commands are
#    counted (INFO commandstats): a memory hit must send Redis nothing, so what is left is the
#    two gateways' once-a-second version poll.
# 2. Latency of one request, sequential on one keep-alive connection, over KEYS distinct
#    listing pages per round (fresh keys every round): A fetches them (misses, written behind
#    to Redis), then B fetches them (Redis hits: B's memory and disk are cold for them), then B
#    again (memory hits); the same pages through "plain" are misses to the upstream (zero
#    simulated latency and cost: the gateway's own miss path), for scale. The sequential
#    client reads each answer's Cache-Status, so the report says what was measured.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-64}
KEYS=${KEYS:-1000}
source bench/lib.sh
pin_cores
WORK=$(mktemp -d /tmp/cachearr-redis-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
log() { echo "==> $*" >&2; }

# --- prerequisites -----------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} from Debian's packages"
  apt-get install -y "${need[@]}" >"$WORK/apt.log" 2>&1 || { apt-get update >/dev/null && apt-get install -y "${need[@]}" >>"$WORK/apt.log" 2>&1; }
fi
if [ -n "${CACHEARR_BIN:-}" ]; then
  CACHEARR=$CACHEARR_BIN
else
  log "building cachearr (release)"
  cargo build --release -p cachearr --quiet
  CACHEARR=${CARGO_TARGET_DIR:-$ROOT/target}/release/cachearr
fi
rustc -O -o "$WORK/seq" bench/redis/seq.rs


SIM_PORT=$(free_port); REDIS_PORT=$(free_port)
start_bench_sim "$CACHEARR" "$SIM_PORT" 0 "$WORK/sim.log"
"${ON_CLIENT[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 200); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

declare -A GW_PORT GW_ADMIN
start_gw() { # NAME REDIS(0/1)
  local name=$1 port admin
  port=$(free_port); admin=$(free_port)
  GW_PORT[$name]=$port; GW_ADMIN[$name]=$admin
  mkdir -p "$WORK/$name"
  # B shares A's installation secret, as docs/redis.md asks of gateways sharing one Redis.
  [ "$name" = b ] && cp "$WORK/a/secret" "$WORK/b/secret"
  {
    echo "data_dir = \"$WORK/$name\""
    echo "admin_listen = \"127.0.0.1:$admin\""
    echo "[cache]"
    echo "memory_max = \"1GiB\""
    if [ "$2" = 1 ]; then
      echo "redis = \"redis://127.0.0.1:$REDIS_PORT/0\""
      echo "redis_namespace = \"bench\""
    fi
    echo "[index]"
    echo "enabled = false"
    echo "[[upstream]]"
    echo "name = \"plex\""
    echo "profile = \"plex\""
    echo "url = \"http://127.0.0.1:$SIM_PORT\""
    echo "listen = \"127.0.0.1:$port\""
    echo "[upstream.guard]"
    echo "max_concurrent = 256"
    echo "rate_per_sec = 100000"
    echo "burst = 100000"
  } >"$WORK/$name.toml"
  RUST_LOG=warn TOKIO_WORKER_THREADS=$SERVER_N setsid "${ON_SERVER[@]}" "$CACHEARR" serve --config "$WORK/$name.toml" >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  wait_http "http://127.0.0.1:$admin/health"
}
start_gw plain 0
start_gw a 1
start_gw b 1

TOKEN=$(sim_owner_token "$SIM_PORT")
MUSIC=$(sim_music_section "$SIM_PORT" "$TOKEN")
HDR=(-H "X-Plex-Token: $TOKEN" -H "Accept: application/json")

echo "# The Redis tier at HTTP level ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(redis-server --version | grep -o 'v=[0-9.]*'))"
echo
if [ "$PIN" = 1 ]; then
  echo "Pinned: gateways on CPU $SERVER_CPUS ($SERVER_N worker(s) each), wrk, the sequential client, the simulator and redis-server on CPU $CLIENT_CPUS; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
else
  echo "Not pinned; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
fi
echo

# --- 1. memory hits with and without Redis -------------------------------------------------
log "scenario 1: memory hits, plain vs with Redis, $ROUNDS rounds of ${DURATION}s"
SIZE=1
for n in $(seq 10 2 80); do
  bytes=$(curl -fs "${HDR[@]}" "http://127.0.0.1:$SIM_PORT/library/sections/$MUSIC/all?type=10&X-Plex-Container-Start=0&X-Plex-Container-Size=$n" | wc -c)
  SIZE=$n; [ "$bytes" -ge 20000 ] && break
done
HIT_PATH="/library/sections/$MUSIC/all?type=10&X-Plex-Container-Start=0&X-Plex-Container-Size=$SIZE"
for gw in plain a; do
  for _ in 1 2 3; do curl -fs -o /dev/null "${HDR[@]}" "http://127.0.0.1:${GW_PORT[$gw]}$HIT_PATH"; done
done
sleep 1 # write-behind settles before the first count
for round in $(seq 1 "$ROUNDS"); do
  for gw in plain a; do
    rcli INFO commandstats >"$WORK/cmd-$gw-$round.before"
    "${ON_CLIENT[@]}" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${HDR[@]}" \
      "http://127.0.0.1:${GW_PORT[$gw]}$HIT_PATH" >"$WORK/wrk-$gw-$round.txt"
    rcli INFO commandstats >"$WORK/cmd-$gw-$round.after"
  done
done
python3 - "$WORK" "$ROUNDS" "$bytes" "$CONNECTIONS" "$DURATION" <<'PY'
import re, statistics, sys
work, rounds, size, conns, dur = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def ms(v):
    m = re.match(r"([0-9.]+)(us|ms|s)", v)
    n, unit = float(m.group(1)), m.group(2)
    return n / 1000 if unit == "us" else n * 1000 if unit == "s" else n
def calls(path):
    out = {}
    for line in open(path):
        m = re.match(r"cmdstat_(\S+):calls=(\d+)", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out
rows, ratios, cmds = {}, [], []
for gw in ("plain", "a"):
    rps, p50, p99, reqs = [], [], [], []
    for r in range(1, rounds + 1):
        t = open(f"{work}/wrk-{gw}-{r}.txt").read()
        rps.append(float(re.search(r"Requests/sec:\s+([0-9.]+)", t).group(1)))
        p50.append(ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1)))
        p99.append(ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1)))
        reqs.append(int(re.search(r"([0-9]+) requests in", t).group(1)))
        if gw == "a":
            b, a = calls(f"{work}/cmd-a-{r}.before"), calls(f"{work}/cmd-a-{r}.after")
            # INFO itself is counted once in "before"'s own call; leave it out.
            delta = {k: a.get(k, 0) - b.get(k, 0) for k in a if k != "info" and a.get(k, 0) != b.get(k, 0)}
            cmds.append((reqs[-1], delta))
    rows[gw] = (rps, p50, p99)
for r in range(rounds):
    ratios.append(rows["a"][0][r] / rows["plain"][0][r])
print(f"## Memory hits with and without the Redis tier: {size}-byte JSON, {conns} connections, {dur} s per run, {rounds} interleaved rounds (wrk; medians)")
print()
print("| gateway | req/s (median) | p50 | p99 | req/s of each round |")
print("|---|---|---|---|---|")
for gw, label in (("plain", "memory + disk (no Redis)"), ("a", "memory + disk + Redis")):
    rps, p50, p99 = rows[gw]
    print(f"| {label} | {statistics.median(rps):,.0f} | {statistics.median(p50):.2f} ms | {statistics.median(p99):.2f} ms | {', '.join(f'{x:,.0f}' for x in rps)} |")
print()
print(f"with Redis / without, per round: {', '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.2f}×")
print()
print("Redis commands during each run with Redis (`INFO commandstats` before and after; both A and B poll `{ns}:ver` once a second):")
print()
print("| round | requests served | Redis commands | which |")
print("|---|---|---|---|")
for r, (n, d) in enumerate(cmds, 1):
    total = sum(d.values())
    print(f"| {r} | {n:,} | {total} | {', '.join(f'{k} {v}' for k, v in sorted(d.items())) or 'none'} |")
print()
PY

# --- 2. latency of one request: Redis hit on a second gateway ------------------------------
log "scenario 2: one request at a time, $KEYS fresh keys per round"
for round in $(seq 1 "$ROUNDS"); do
  # Fresh keys each round: the page size changes the key.
  for k in $(seq 0 $((KEYS - 1))); do
    echo "/library/sections/$MUSIC/all?type=10&X-Plex-Container-Start=$((k % 1990))&X-Plex-Container-Size=$((2 + round * 3 + k / 1990))"
  done >"$WORK/paths-$round"
  "${ON_CLIENT[@]}" "$WORK/seq" "127.0.0.1:${GW_PORT[a]}" "$WORK/paths-$round" "X-Plex-Token: $TOKEN" "Accept: application/json" >"$WORK/seq-a-$round.json"
  # A's records reach Redis behind its answers: wait (bounded) until the count stops moving.
  prev=-1
  for _ in $(seq 1 50); do now=$(rcli DBSIZE); [ "$now" = "$prev" ] && break; prev=$now; sleep 0.3; done
  "${ON_CLIENT[@]}" "$WORK/seq" "127.0.0.1:${GW_PORT[b]}" "$WORK/paths-$round" "X-Plex-Token: $TOKEN" "Accept: application/json" >"$WORK/seq-b-redis-$round.json"
  "${ON_CLIENT[@]}" "$WORK/seq" "127.0.0.1:${GW_PORT[b]}" "$WORK/paths-$round" "X-Plex-Token: $TOKEN" "Accept: application/json" >"$WORK/seq-b-memory-$round.json"
  "${ON_CLIENT[@]}" "$WORK/seq" "127.0.0.1:${GW_PORT[plain]}" "$WORK/paths-$round" "X-Plex-Token: $TOKEN" "Accept: application/json" >"$WORK/seq-plain-miss-$round.json"
done
python3 - "$WORK" "$ROUNDS" "$KEYS" <<'PY'
import json, statistics, sys
work, rounds, keys = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print(f"## One request at a time: {keys} distinct listing pages (~1-5 KB) per round, fresh each round, {rounds} rounds (medians of the rounds' figures)")
print()
print("| what | answered from (Cache-Status detail, all rounds) | p50 | p90 | p99 | p50 of each round |")
print("|---|---|---|---|---|---|")
for name, label in (("a", "miss on A (upstream, written behind to Redis)"),
                    ("b-redis", "first request on B: Redis hit"),
                    ("b-memory", "second request on B: memory hit"),
                    ("plain-miss", "miss on the gateway without Redis (upstream)")):
    runs = [json.load(open(f"{work}/seq-{name}-{r}.json")) for r in range(1, rounds + 1)]
    detail = {}
    for run in runs:
        for k, v in run["detail"].items():
            detail[k] = detail.get(k, 0) + v
    med = lambda f: statistics.median(run[f] for run in runs) / 1000
    print(f"| {label} | {', '.join(f'{k} {v}' for k, v in sorted(detail.items()))} | {med('p50_us'):.2f} ms | {med('p90_us'):.2f} ms | {med('p99_us'):.2f} ms | {', '.join('%.2f' % (run['p50_us'] / 1000) for run in runs)} |")
print()
PY
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
log "done; logs and configs in $WORK"
