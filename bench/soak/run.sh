#!/usr/bin/env bash
# Soak: cachearr under mixed multi-user load for a long time, against `cachearr sim` with no
# cost (the gateway is the bottleneck), with small limits, sampling every INTERVAL seconds.
# Not part of the test suite (crates/cli/tests/cli/soak_bounds.rs is its short, bounded version).
#
#   cargo build --release --workspace --bins     # once
#   bench/soak/run.sh                            # 15 minutes, defaults below
#   SECS=120 MEMORY_MAX=64MiB DISK_MAX=256MiB bench/soak/run.sh
#
# Settings (environment): SECS (900), CONNS (64), INTERVAL (10), MEMORY_MAX (64MiB),
# DISK_MAX (256MiB), TRACKS (90000), MOVIES (8000), SHOWS (60), ITEMS (100000: ids asked for),
# RATE (unset: the guard's default rate_per_sec), BIN (target/release/cachearr), OUT (a new
# directory under /tmp). Writes OUT/soak.csv (one row per sample, with the allocator's live heap,
# active and resident bytes, the data directory's size and its parts, and the writes the
# write-behind queue dropped) and OUT/summary.txt: the peaks, whether the data directory stayed
# within disk_max + 10 % at every sample, dropped writes, RSS before load, at the end, and 30 s
# after a cache clear, and the allocator's account then.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh

SECS=${SECS:-900}
CONNS=${CONNS:-64}
INTERVAL=${INTERVAL:-10}
MEMORY_MAX=${MEMORY_MAX:-64MiB}
DISK_MAX=${DISK_MAX:-256MiB}
TRACKS=${TRACKS:-90000}
MOVIES=${MOVIES:-8000}
SHOWS=${SHOWS:-60}
ITEMS=${ITEMS:-100000}
BIN=${BIN:-target/release/cachearr}
OUT=${OUT:-$(mktemp -d /tmp/cachearr-soak.XXXXXX)}
mkdir -p "$OUT"
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release --workspace --bins" >&2; exit 1; }

rustc -O --edition 2024 -o "$OUT/soak" bench/soak/soak.rs
# DISK_MAX in bytes, as the config file reads it (KiB/MiB/GiB are powers of 1024).
DISK_MAX_BYTES=$(python3 -c 'import re,sys; m=re.fullmatch(r"(\d+)\s*([KMG]i?B?)?", sys.argv[1].strip()); u={"":1,"K":1<<10,"M":1<<20,"G":1<<30}[(m.group(2) or "")[:1]]; print(int(m.group(1))*u)' "$DISK_MAX")

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

SIM_PORT=$(free_port); PROXY_PORT=$(free_port); ADMIN_PORT=$(free_port)
"$BIN" sim --plex-listen "127.0.0.1:$SIM_PORT" --tracks "$TRACKS" --movies "$MOVIES" \
  --shows "$SHOWS" --no-cost --json > "$OUT/sim.json" 2> "$OUT/sim.log" &
PIDS+=($!)
for _ in $(seq 1 600); do [ -s "$OUT/sim.json" ] && break; sleep 0.1; done
TOKENS=$(python3 -c 'import json,sys; print(",".join(u["plex_token"] for u in json.load(open(sys.argv[1]))["users"]))' "$OUT/sim.json")
OWNER=${TOKENS%%,*}

DATA="$OUT/data"
{
  echo "data_dir = \"$DATA\""
  echo "admin_listen = \"127.0.0.1:$ADMIN_PORT\""
  echo "[cache]"
  echo "memory_max = \"$MEMORY_MAX\""
  echo "disk_max = \"$DISK_MAX\""
  echo "[[upstream]]"
  echo "name = \"plex\""
  echo "profile = \"plex\""
  echo "url = \"http://127.0.0.1:$SIM_PORT\""
  echo "listen = \"127.0.0.1:$PROXY_PORT\""
  if [ -n "${RATE:-}" ]; then
    echo "[upstream.guard]"
    echo "rate_per_sec = $RATE"
    echo "burst = $RATE"
  fi
} > "$OUT/cachearr.toml"
CACHEARR_PLEX_TOKEN="$OWNER" RUST_LOG=warn "$BIN" serve --config "$OUT/cachearr.toml" \
  > "$OUT/serve.log" 2>&1 &
GW=$!
PIDS+=("$GW")
WAIT_HTTP_SECS=120 wait_http "http://127.0.0.1:$ADMIN_PORT/health"
# The library index is built after the listener answers: "ready" is once it is, so what the
# load adds is told apart from the index itself.
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$ADMIN_PORT/api/stats" | grep -q '"state":"ready"' && break
  sleep 1
done
sleep 2
rss() { awk '/VmRSS/ {printf "%d", $2/1024}' "/proc/$GW/status"; }
READY_RSS=$(rss)
READY_DIR=$(du -sm "$DATA" | cut -f1)
stats() { curl -fs "http://127.0.0.1:$ADMIN_PORT/api/stats"; }
READY_STATS=$(stats)

echo "soak: ${SECS}s, $CONNS connections, memory_max $MEMORY_MAX, disk_max $DISK_MAX, ${TRACKS} tracks + $MOVIES movies + $SHOWS shows; out $OUT"
"$OUT/soak" --proxy "127.0.0.1:$PROXY_PORT" --admin "127.0.0.1:$ADMIN_PORT" --pid "$GW" \
  --data-dir "$DATA" --tokens "$TOKENS" --items "$ITEMS" --secs "$SECS" --conns "$CONNS" \
  --interval "$INTERVAL" --disk-max "$DISK_MAX_BYTES" > "$OUT/soak.csv" 2> "$OUT/soak.err"
END_RSS=$(rss)
END_DIR=$(du -sm "$DATA" | cut -f1)
END_STATS=$(stats)
curl -fs -X POST -H "X-Cachearr-Request: 1" "http://127.0.0.1:$ADMIN_PORT/api/clear" > /dev/null
sleep 30
CLEARED_RSS=$(rss)
STATS=$(curl -fs "http://127.0.0.1:$ADMIN_PORT/api/stats")
{
  cat "$OUT/soak.err"
  echo "RSS: ready $READY_RSS MiB, end of load $END_RSS MiB, 30 s after a cache clear $CLEARED_RSS MiB"
  echo "data dir: ready $READY_DIR MiB, end of load $END_DIR MiB (disk_max $DISK_MAX)"
  python3 - "$STATS" "$READY_STATS" "$END_STATS" "$READY_RSS" "$END_RSS" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
# What grew between ready and the end of load: each part of memory the gateway accounts for,
# then the rest of the heap (connections, the runtime, the library index's working sets) and
# what is resident outside the heap (thread stacks, the binary).
MIB = 1048576
def parts(st, rss_mib):
    m, t = st.get("memory", {}), st.get("tiers", {})
    a = m.get("allocator") or {}
    out = {
        "memory tier (entries)": t.get("memory", {}).get("bytes", 0),
        "disk block cache (share)": m.get("disk_block_cache", 0),
        "disk memtables (share)": m.get("disk_memtables", 0),
        "write queue (held)": m.get("write_queue_used", 0),
        "gzip copies (held)": m.get("gzip_copies_used", 0),
        "body files (held)": m.get("body_files_used", 0),
        "index elements (share)": m.get("index_elements", 0),
        "index written items (held)": m.get("index_written_used", 0),
        "tags interned": m.get("tags_interned", 0),
    }
    if a:
        accounted = sum(out.values())
        out["rest of the live heap"] = max(a["allocated"] - accounted, 0)
        out["allocator slack (active - live)"] = a["active"] - a["allocated"]
        out["allocator pages not yet purged + metadata"] = a["resident"] - a["active"]
        out["outside the heap (RSS - allocator resident)"] = max(rss_mib * MIB - a["resident"], 0)
    return out
ready = parts(json.loads(sys.argv[2]), int(sys.argv[4]))
end = parts(json.loads(sys.argv[3]), int(sys.argv[5]))
print("what RSS is made of, ready -> end of load (MiB; shares are limits, held is use):")
for k in end:
    r, e = ready.get(k, 0) / MIB, end[k] / MIB
    print(f"  {k:46s} {r:8.1f} -> {e:8.1f}  ({e - r:+.1f})")
a = s.get("memory", {}).get("allocator")
if a:
    mib = lambda k: a[k] / 1048576
    print(f"heap 30 s after the clear: allocated {mib('allocated'):.0f} MiB, in active pages {mib('active'):.0f}, "
          f"resident {mib('resident'):.0f} (metadata {mib('metadata'):.0f})")
for name, t in s["tiers"].items():
    print(f"tier {name}: hits {t['hits']}, misses {t['misses']}, entries {t['entries']}, bytes {t['bytes']}")
for u in s["upstreams"]:
    print(f"upstream {u['name']}: made {u['requests_made']}, saved {u['requests_saved']}, "
          f"queued {u.get('queued_ms_per_request', 0):.1f} ms per request, background by floor {u.get('background_floor', 0)}")
for i in s.get("index", []):
    print(f"index {i['upstream']}: {i['state']}, {i['items']} items, searches to server {i['searches_to_server']}")
PY
} | tee "$OUT/summary.txt"
echo "CSV: $OUT/soak.csv"
