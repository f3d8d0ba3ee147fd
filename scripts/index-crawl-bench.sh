#!/bin/bash
# Crawl throughput of the gateway's index against the simulator (zero simulated cost).
set -e
BIN=${BIN:-target/release/cachearr}
TRACKS=${1:-10000}
PROFILE=${2:-plex}
D=$(mktemp -d)
$BIN sim --plex-listen 127.0.0.1:39400 --jellyfin-listen 127.0.0.1:39496 --tracks $TRACKS --latency-ms 0 --item-cost-us 0 --scan-cost-us 0 > $D/sim.log 2>&1 &
SIM=$!
for i in $(seq 1 600); do curl -sf http://127.0.0.1:39400/_sim/stats >/dev/null && break; sleep 0.5; done
if [ "$PROFILE" = plex ]; then PORT=39400; TOK=$(curl -s http://127.0.0.1:39400/_sim/tokens | python3 -c 'import sys,json; u=json.load(sys.stdin); u=u.get("users",u); print(u[0]["plex_token"])');
else PORT=39496; TOK=$(curl -s http://127.0.0.1:39400/_sim/tokens | python3 -c 'import sys,json; u=json.load(sys.stdin); u=u.get("users",u); print(u[0]["jellyfin_token"])'); fi
cat > $D/c.toml <<T
data_dir = "$D/data"
admin_listen = "127.0.0.1:39485"
[[upstream]]
profile = "$PROFILE"
url = "http://127.0.0.1:$PORT"
listen = "127.0.0.1:39484"
token = "$TOK"
T
curl -s -XPOST http://127.0.0.1:39400/_sim/reset >/dev/null
START=$(date +%s.%N)
$BIN serve --config $D/c.toml > $D/gw.log 2>&1 &
GW=$!
for i in $(seq 1 3000); do
  S=$(curl -sf http://127.0.0.1:39485/api/index 2>/dev/null | python3 -c 'import sys,json; s=json.load(sys.stdin)["upstreams"][0]; print(s["state"], s["progress"] is None)' 2>/dev/null || true)
  [ "$S" = "ready True" ] && break; sleep 0.2; done
END=$(date +%s.%N)
curl -s http://127.0.0.1:39485/api/index | python3 -c 'import sys,json; s=json.load(sys.stdin)["upstreams"][0]; b=s["last_build"]; print("items",s["items"],"kinds",s["items_by_kind"],"build",b)'
echo "sim requests: $(curl -s http://127.0.0.1:39400/_sim/stats | python3 -c 'import sys,json; s=json.load(sys.stdin); print(s["total"], {k:v["requests"] for k,v in s["routes"].items()}, "peak", s.get("peak_in_flight"))')"
echo "wall to ready: $(python3 -c "print(round($END-$START,2))") s"
kill $GW $SIM; wait 2>/dev/null; rm -rf $D
