#!/usr/bin/env bash
# Real tools' passes over a library, direct to the server and through cachearr, counting what
# the server is asked and comparing every answer. Each replay makes the requests its tool's
# own source makes, in its order, with its paths, query parameters, paging and headers
# (bench/tools/<name>.py says what and where it deviates):
#
#   overseerr        Overseerr's full Plex scan: section pages of 50, show metadata with
#                    children, each season's episodes (sct/overseerr
#                    server/lib/scanners/plex/index.ts, server/api/plexapi.ts)
#   jellyseerr       Jellyseerr's full Jellyfin scan as the current release makes it: the
#                    unpaged /Items listing per library, /Items?ids=… per item,
#                    /Shows/{id}/Seasons once and /Shows/{id}/Episodes per season
#                    (seerr-team/seerr 3.1.0 server/lib/scanners/jellyfin/index.ts,
#                    server/api/jellyfin.ts); jellyseerr_users_items, run only when TOOLS
#                    names it, is the scan of releases before 2.5.0 (/Users/{uid}/Items/{id})
#   kometa           Kometa's library operations through python-plexapi: connect, settings,
#                    get_all in pages of 100, each item reloaded (Kometa-Team/Kometa
#                    modules/plex.py, modules/operations.py)
#   tautulli         Tautulli's polling, TAUTULLI_CYCLES rounds (3): what is playing,
#                    recently added, section counts with X-Plex-Container-Size=1
#                    (Tautulli/Tautulli plexpy/pmsconnect.py, plexpy/libraries.py)
#   plexkodiconnect  PlexKodiConnect's first full sync with music: listings of 200, every
#                    item's metadata, album tracks, then the play-state listings
#                    (croneter/PlexKodiConnect resources/lib/library_sync/full_sync.py,
#                    get_metadata.py, resources/lib/plex_functions.py)
#   jellyfin_kodi    Jellyfin for Kodi's first full sync: counts and pages of 15, 3 at a time,
#                    seasons and episodes per series, artists, albums, songs
#                    (jellyfin/jellyfin-kodi jellyfin_kodi/full_sync.py, downloader.py)
#   plexist          Plexist's track index: library.search(libtype="track") in pages of 100,
#                    then track.artist() and track.album() for PLEXIST_TRACKS tracks (1000)
#                    (Gyarbij/Plexist plexist/modules/plex.py)
#   plexapi_search   python-plexapi's section.searchTracks(title=…) for SEARCH_TITLES titles
#                    (100) in each music section, as playlist tools look tracks up
#
# SERVER=emby replays the Jellyfin tools against the simulator's Emby 4.9 server (`cachearr sim
# --emby-listen`; cachearr with `profile = "emby"` and the owner's `emby_token`), each by its
# Emby counterpart (TOOLS names the Jellyfin tools; by default both):
#
#   jellyseerr       → jellyseerr_emby: the same scan with the media server type Emby (in a
#                    full scan nothing differs by server type)
#   jellyfin_kodi    → emby_kodi: Emby for Kodi Next Gen's first sync: under /emby/ with
#                    X-Emby-Token, each kind of each library (people, genres, tags, studios,
#                    movies, series, seasons, episodes, artists, albums, songs, folders) in
#                    pages of 5000 to 100000 until one is empty, then what an item names that
#                    is not synced yet by /Users/{uid}/Items?Ids=… (MediaBrowser/plugin.video.emby
#                    next-gen-dev-python3 9.4.20: database/library.py, emby/api.py, core/)
#
# One simulator serves Plex and Jellyfin (and Emby with SERVER=emby); one `cachearr serve` per
# server, each with its library index built by its own crawl (counted once, apart), after which
# its data directory is kept. cachearr runs with its default configuration: the change feed's
# sampled revalidations and play-state probes run as shipped, and what the server is asked
# through cachearr is shown as the tool's requests cachearr sent on (counted at its proxy
# listener) and cachearr's own (everything else the simulator counted meanwhile). FEED=off is a
# labelled extra variant with them off (the passes' own cost alone), never the headline. For
# each tool and user kind — new (SHARED_USER, alice, making their first request), owner, shared
# (SHARED_USER, who sees every library, having made one request before), restricted
# (RESTRICTED_USER, carol: Plex label filters, Jellyfin blocked tags; one request before), an
# invited Plex user with their plex.tv account token as since 2026 (PLEX_SHARED_TOKENS=server:
# a server-scoped token, as before), the simulator's plex.tv holding their share — the
# pass runs (a) direct, (b) through cachearr cold: restarted on a copy of the kept data
# directory, so the index loads from its snapshot and nothing is cached, and (c) warm: the same
# pass again. The server's requests are the simulator's /_sim/stats, reset before each run and
# read once it has been asked nothing for a second; "server s" is what those requests cost under
# the simulator's default cost model (10 ms a request, 5 ms an item returned). Every answer
# through cachearr is compared with the direct one for the same request and user (digests of the
# normalised bodies: bench/tools/common.py). Sizes: TRACKS (5000), MOVIES (200), SHOWS (30),
# SEED (4); TOOLS and KINDS pick a subset. JELLYFIN_VERSION (10.11.11) is the Jellyfin release
# the simulator follows (10.10.7, 10.11.11, 12.0.0: `cachearr sim --jellyfin-version`).
#
#   bench/tools/run.sh                         # release build; Markdown on stdout
#   CACHEARR=/work/bin/cachearr TOOLS=kometa,tautulli bench/tools/run.sh
#   FEED=off TOOLS=kometa bench/tools/run.sh    # the variant: probes and sampling off
#   JELLYFIN_VERSION=12.0.0 TOOLS=jellyseerr,jellyfin_kodi KINDS=owner,shared bench/tools/run.sh
#   SERVER=emby TOOLS=jellyseerr,jellyfin_kodi KINDS=owner,shared bench/tools/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK_NAME=cachearr-tools
source bench/tools/env.sh
echo "==> logs and results.json in $WORK" >&2
"$PY" bench/tools/run.py
