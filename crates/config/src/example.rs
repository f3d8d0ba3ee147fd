//! The commented example printed by `cachearr config example`: every section with its
//! defaults. It parses (a test checks), so it cannot drift from the format.
//!
//! It names the servers as an operator writes them (`profile = "plex"`, an upstream called
//! `jellyfin`, a `*.plex.direct` name): text for people, not rules, so its lines that name a
//! server stay outside the dialects (and in `scripts/server-names.allow`).

/// The commented example printed by `cachearr config example`. It parses (a test checks).
pub const EXAMPLE: &str = r#"# cachearr configuration. Every setting is optional unless marked otherwise.
# Precedence: built-in defaults < this file < CACHEARR_* environment variables < flags.
# Durations: "250ms", "30s", "5m", "1h", "7d" (or a number of seconds).
# Sizes: "64KiB", "512MiB", "4GiB" (or a number of bytes).

# Where the disk cache and the installation secret (owner-only permissions) live.
data_dir = "./data"

# The admin listener (dashboard, /api/*, /metrics, /health, webhooks). It refuses to bind beyond
# loopback unless admin_token is set (better: CACHEARR_ADMIN_TOKEN or CACHEARR_ADMIN_TOKEN_FILE,
# so it stays out of this file).
admin_listen = "127.0.0.1:8485"
# admin_token = "change-me"
# The admin listener answers only to localhost, IP addresses and these names (a guard against
# DNS rebinding): add the name you reach it by through a reverse proxy or on the LAN.
# admin_allowed_hosts = ["cachearr.home.lan"]

# How long after the media server accepted a token that token may read shared entries
# (identity, Jellyfin images). Requests with no token or an unknown one always go to the server.
token_trust = "1h"

[cache]
memory_max = "256MiB"
disk = true             # the embedded disk tier; survives restarts
disk_max = "4GiB"
# Optional tier shared by several gateways, below memory and disk (docs/redis.md). Give every
# gateway the same {data_dir}/secret: records in Redis are authenticated with it.
# redis = "redis://127.0.0.1:6379"    # rediss:// for TLS; a cluster: "redis://a:7000,redis://b:7001";
#                                    # Sentinel: "redis+sentinel://s1:26379,s2:26379/mymaster"
# redis_timeout = "250ms"            # a slower Redis answer counts as a miss
# redis_namespace = "cachearr"        # gateways sharing a cache use the same one
# redis_ca = "/etc/cachearr/redis-ca.pem"  # root certificate for rediss:// (default: system roots)
# redis_lock_wait = "5s"             # longest wait for another gateway's load of the same key

[limits]
max_uri = "8KiB"         # longer request targets get 414
max_header = "64KiB"     # larger header sections get 431
max_headers = 100
max_body = "64MiB"       # larger request bodies get 413
max_cached_body = "32MiB" # larger upstream answers are passed on but not stored
# max_connections = 4096  # open client connections per proxy listener; at the cap the one
#                         # idle the longest is closed. Default: sized from the open-file limit

# The library index: every configured upstream's music and video libraries, crawled on the
# background budget and kept in {data_dir}/library, so searches and playlist matching are
# answered without asking the server. Off: every search goes to the server (with a warning).
[index]
enabled = true
build_timeout = "180m"       # a longer crawl stops; the next one resumes where it stopped
refresh_interval = "24h"     # incremental refresh (only what changed since the last one)
catch_up_after = "10m"       # at start, a saved index older than this is refreshed at once
page_size = 500              # items per page asked of the server

# Cache validity from the change feed: answers about library content (sections, listings,
# metadata, searches, recently added) stay fresh past their class TTL while the server's change
# events arrive and the index's incremental pass is recent; a change refreshes exactly the
# answers that depend on it. A small sample is fetched again and compared; a mismatch puts the
# class back on its TTL until enough samples match again.
[feed]
enabled = true
horizon = "7d"               # longest freshness an answer gets from the feed
samples_per_minute = 6       # sampled revalidations (background budget); 0 = off
prove_after = 20             # matching samples in a row that restore trust after a mismatch
webhook_window = "24h"       # with webhooks only: the feed counts as alive this long after one
socket_probe = "15s"         # the notification socket is pinged this often
socket_probe_misses = 3      # probes without any answer after which the socket is dead (45 s)
play_state_probe = "15s"     # each recent user's play state is probed this often; "0s" = off
play_state_watch = "30m"     # users seen within this long are probed

# Policy overrides for every upstream, per class. The classes are: identity, sections, listing,
# metadata, search, recent, ondeck, history, sessions, activities, playlists, images, pass.
[policy.sessions]
fresh = "10s"
stale_if_error = "1m"

[policy.metadata]
fresh = "1h"
stale_while_revalidate = "1d"
stale_if_error = "7d"

# One table per media server; each gets its own proxy listener.
[[upstream]]
name = "plex"                       # first part of cache keys and tags
profile = "plex"                    # required: plex, jellyfin or http (any HTTP API)
url = "http://127.0.0.1:32400"      # required
listen = "127.0.0.1:8484"
# The owner's token: library index, change notifications, playlist sync. Better out of this file:
# CACHEARR_PLEX_TOKEN(_FILE), or CACHEARR_UPSTREAM_PLEX_TOKEN(_FILE) for the upstream named "plex".
# token = "..."
# token_file = "/run/secrets/plex_token"
# For an https:// url: extra root certificates, and the name the certificate carries when the
# URL holds an address (Plex's "Secure connections": 192-168-1-10.<hash>.plex.direct).
# ca = "/config/my-ca.pem"
# server_name = "192-168-1-10.0123abcd.plex.direct"

# Protect the server: client budget, then a smaller background budget (refresh, warm, prefetch).
[upstream.guard]
max_concurrent = 32
rate_per_sec = 200
burst = 400
connect_timeout = "3s"
read_timeout = "60s"
retries = 2                         # idempotent reads only, jittered back-off
retry_backoff = "50ms"
breaker_failures = 5                # consecutive failures that open the circuit
breaker_cooldown = "10s"
background_max_concurrent = 4
background_rate_per_sec = 20

# Class overrides for this upstream only (beat the global [policy.*] tables).
[upstream.policy.ondeck]
fresh = "30s"

# Per-path overrides: {name} matches one path segment, {*rest} the rest of the path.
[[upstream.route]]
path = "/library/sections/{id}/all"
class = "listing"
fresh = "2h"

[[upstream.route]]
path = "/butler"
cache = false                       # never cache

# Warmed for each recently seen user by POST /api/warm.
# warm = ["/library/sections", "/library/onDeck", "/library/recentlyAdded"]

[upstream.prefetch]
enabled = true
max_per_listing = 20
batch_metadata = true               # a walk's item metadata in one request per page (Plex, Jellyfin)

# A second server gets its own listener.
# [[upstream]]
# name = "jellyfin"
# profile = "jellyfin"
# url = "http://127.0.0.1:8096"
# listen = "127.0.0.1:8496"
"#;
