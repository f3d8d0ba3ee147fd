#!/usr/bin/env bash
# The outside judge for the generic HTTP profile: the HTTP caching test suite of the http-tests
# project (npm `http-cache-tests`, 0.4.5) run against nginx, Varnish and cachearr in front of
# the suite's own origin server, in one run, with passes printed by kind side by side.
#
#   bench/cache-tests/run.sh                  # everything; the table on stdout, logs in $WORK
#   FAILED=1 bench/cache-tests/run.sh         # also list each required/optimal test not passed
#   ONLY="nginx varnish" bench/cache-tests/run.sh    # a subset (cachearr nginx varnish)
#   CACHEARR_BIN=/path/to/cachearr bench/cache-tests/run.sh   # use this binary, don't build
#   CACHEARR=skip bench/cache-tests/run.sh    # leave cachearr out without building it
#   TEST=freshness-max-age bench/cache-tests/run.sh  # one test, its requests and responses
#                                             # as each cache's client and the origin saw them
#
# The suite is installed from the npm registry into a cache directory outside the repository
# ($HCT_CACHE, default ~/.cache/cachearr/http-cache-tests-0.4.5), once. nginx and Varnish come
# from Debian's packages (installed if missing, when apt-get is usable).
#
# How each cache is set up. The suite's maintainers publish their runs with the configurations
# in the package's docker/ directory; the same ones here keep our figures comparable with the
# published ones:
#   nginx    the documented caching reverse proxy: `proxy_cache` on a `proxy_cache_path` zone
#            and `proxy_cache_revalidate on` (conditional requests to refresh stale entries),
#            nothing else (docker/nginx/nginx.conf).
#   Varnish  the packaged default.vcl (empty subroutines: the builtin VCL decides) pointed at the
#            origin, with `-p default_ttl=0 -p default_grace=0 -p default_keep=3600` so that a
#            response without freshness information is not cached for the default 120 s and
#            stale objects are kept for revalidation (docker/serve.sh).
#   cachearr `cachearr serve --http URL`, the generic HTTP profile with its defaults; skipped with
#            a message while the binary has no such option.
#
# Scoring (bench/cache-tests/score.mjs): the tests of the suite's index by their `kind`
# (required, optimal, check), a test passing when its result is `true` — the way the published
# figures are counted. "required*" also fails a test whose dependency failed, as the suite's
# own pages show it.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
source bench/lib.sh
VERSION=0.4.5
HCT_CACHE=${HCT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cachearr/http-cache-tests-$VERSION}
SUITE=$HCT_CACHE/node_modules/http-cache-tests
ONLY=${ONLY:-"cachearr nginx varnish"}
want() { [[ " $ONLY " == *" $1 "* ]]; }
WORK=$(mktemp -d /tmp/cachearr-cache-tests.XXXXXX)
PIDS=()
log() { echo "==> $*" >&2; }
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx/nginx.pid" ] && kill "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
  [ -f "$WORK/varnish/varnishd.pid" ] && kill "$(cat "$WORK/varnish/varnishd.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

# --- prerequisites -----------------------------------------------------------------------
command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are needed" >&2; exit 1; }
if [ ! -f "$SUITE/package.json" ] || ! grep -q "\"version\": \"$VERSION\"" "$SUITE/package.json"; then
  log "installing http-cache-tests $VERSION into $HCT_CACHE"
  mkdir -p "$HCT_CACHE"
  npm install --prefix "$HCT_CACHE" --no-audit --no-fund --no-save "http-cache-tests@$VERSION" >"$WORK/npm.log" 2>&1 \
    || { cat "$WORK/npm.log" >&2; exit 1; }
fi
need=()
want nginx && ! command -v nginx >/dev/null && need+=(nginx-light)
want varnish && ! command -v varnishd >/dev/null && need+=(varnish)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    log "installing ${need[*]} from Debian's packages"
    apt-get install -y "${need[@]}" >"$WORK/apt.log" 2>&1 \
      || { apt-get update >/dev/null && apt-get install -y "${need[@]}" >>"$WORK/apt.log" 2>&1; } \
      || log "could not install ${need[*]} (see $WORK/apt.log)"
  else
    log "${need[*]} missing and apt-get is not usable here: those columns are skipped"
  fi
fi

# --- the suite's origin server -------------------------------------------------------------
ORIGIN_PORT=$(free_port)
# server.mjs reads its settings from npm's environment (what `npm run server --port=N` sets).
(cd "$SUITE" && exec env npm_config_protocol=http npm_config_port="$ORIGIN_PORT" \
  npm_config_pidfile="$WORK/origin.pid" node server/server.mjs) >"$WORK/origin.log" 2>&1 &
PIDS+=($!)

# Runs the suite against BASE_URL and writes its JSON results to FILE.
run_suite() { # NAME BASE_URL FILE
  log "running the suite against $1 ($2)"
  (cd "$SUITE" && exec env npm_config_base="$2" npm_package_config_id="${TEST:-}" \
    node --no-warnings cli.mjs) >"$3" 2>"$WORK/$1.suite.log" \
    || log "the suite failed against $1 (see $WORK/$1.suite.log)"
  if [ -n "${TEST:-}" ]; then
    echo "## $1"
    cat "$3"
  fi
}

# Waits until a proxy passes requests to the origin.
wait_proxy() { # URL
  for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done
  log "timed out waiting for $1"; return 1
}

wait_proxy "http://127.0.0.1:$ORIGIN_PORT/"

COLUMNS_ARGS=()
VERSIONS=()

# --- cachearr -------------------------------------------------------------------------------
if want cachearr; then
  CA_RESULT=$WORK/cachearr.json
  CA_SKIP=""
  if [ "${CACHEARR:-}" = skip ]; then
    CA_SKIP="left out (CACHEARR=skip)"
  else
    if [ -z "${CACHEARR_BIN:-}" ]; then
      log "building cachearr (debug: conformance, not speed)"
      cargo build -p cachearr --quiet
      CACHEARR_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/cachearr
    fi
    if ! "$CACHEARR_BIN" serve --help 2>/dev/null | grep -qE -- '--http([ =]|$)'; then
      CA_SKIP="$CACHEARR_BIN has no \`serve --http URL\` yet (the generic HTTP profile): skipped"
    fi
  fi
  if [ -z "$CA_SKIP" ]; then
    CA_PORT=$(free_port); CA_ADMIN=$(free_port)
    # The profile's defaults but one: the suite's origin fails on purpose (closed
    # connections, 5xx answers) many tests in a row, and the upstream guard's circuit breaker,
    # which nginx and Varnish do not have, would shut the upstream for its cool-down in the
    # middle of the run and fail every test after it with a 503.
    cat >"$WORK/cachearr.toml" <<TOML
[[upstream]]
name = "origin"
profile = "http"
url = "http://127.0.0.1:$ORIGIN_PORT"
[upstream.guard]
breaker_failures = 1000000
TOML
    RUST_LOG=warn "$CACHEARR_BIN" serve --config "$WORK/cachearr.toml" \
      --listen "127.0.0.1:$CA_PORT" --admin-listen "127.0.0.1:$CA_ADMIN" \
      --data-dir "$WORK/cachearr-data" >"$WORK/cachearr.log" 2>&1 &
    CA_PID=$!; PIDS+=("$CA_PID")
    wait_http "http://127.0.0.1:$CA_ADMIN/health"
    run_suite cachearr "http://127.0.0.1:$CA_PORT" "$CA_RESULT"
    kill "$CA_PID" 2>/dev/null || true
    VERSIONS+=("cachearr $("$CACHEARR_BIN" --version 2>/dev/null | awk '{print $2}')")
  else
    log "cachearr: $CA_SKIP"
    rm -f "$CA_RESULT"
  fi
  COLUMNS_ARGS+=("cachearr=$CA_RESULT")
fi

# --- nginx ------------------------------------------------------------------------------------
if want nginx; then
  if command -v nginx >/dev/null; then
    NG_PORT=$(free_port)
    mkdir -p "$WORK/nginx/cache" "$WORK/nginx/tmp"
    user=""; [ "$(id -u)" = 0 ] && user="user root;"
    cat >"$WORK/nginx/nginx.conf" <<NGINX
# http-cache-tests' docker/nginx/nginx.conf in a private prefix.
$user
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    proxy_cache_path $WORK/nginx/cache levels=1:2 keys_zone=my-cache:8m max_size=1000m inactive=600m;
    server {
        listen 127.0.0.1:$NG_PORT;
        location / {
            proxy_pass http://127.0.0.1:$ORIGIN_PORT;
            proxy_cache my-cache;
            proxy_cache_revalidate on;
        }
    }
}
NGINX
    nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/nginx.log"
    wait_proxy "http://127.0.0.1:$NG_PORT/"
    run_suite nginx "http://127.0.0.1:$NG_PORT" "$WORK/nginx.json"
    kill "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
    VERSIONS+=("nginx $(nginx -v 2>&1 | cut -d/ -f2)")
  fi
  COLUMNS_ARGS+=("nginx=$WORK/nginx.json")
fi

# --- Varnish ----------------------------------------------------------------------------------
if want varnish; then
  if command -v varnishd >/dev/null; then
    VA_PORT=$(free_port)
    mkdir -p "$WORK/varnish"
    # The packaged default.vcl (its subroutines are empty: the builtin VCL decides), pointed at
    # the origin.
    cat >"$WORK/varnish/default.vcl" <<VCL
vcl 4.1;
backend default {
    .host = "127.0.0.1";
    .port = "$ORIGIN_PORT";
}
sub vcl_recv {
}
sub vcl_backend_response {
}
sub vcl_deliver {
}
VCL
    varnishd -a "127.0.0.1:$VA_PORT" -f "$WORK/varnish/default.vcl" -n "$WORK/varnish/n" \
      -p default_ttl=0 -p default_grace=0 -p default_keep=3600 -s malloc,64M \
      -P "$WORK/varnish/varnishd.pid" -j none -T 127.0.0.1:0 >"$WORK/varnish.log" 2>&1
    wait_proxy "http://127.0.0.1:$VA_PORT/"
    run_suite varnish "http://127.0.0.1:$VA_PORT" "$WORK/varnish.json"
    kill "$(cat "$WORK/varnish/varnishd.pid")" 2>/dev/null || true
    VERSIONS+=("varnish $(varnishd -V 2>&1 | head -1 | grep -o '[0-9][0-9.]*' | head -1)")
  fi
  COLUMNS_ARGS+=("varnish=$WORK/varnish.json")
fi

# --- the table -------------------------------------------------------------------------------
[ -n "${TEST:-}" ] && exit 0
echo "# http-cache-tests $VERSION, passes by kind ($(date -u +%Y-%m-%dT%H:%MZ); ${VERSIONS[*]:-})"
echo
node "$ROOT/bench/cache-tests/score.mjs" "$SUITE" "${COLUMNS_ARGS[@]}"
[ -n "${CA_SKIP:-}" ] && { echo; echo "cachearr: $CA_SKIP"; }
echo
echo "Results and logs: $WORK"
