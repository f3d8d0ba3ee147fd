"""Plexist's track index, as Gyarbij/Plexist builds it (plexist/modules/plex.py
`fetch_and_cache_tracks`, python-plexapi 4.18): connect (`PlexServer`: `/`), then
`plex.library.search(libtype="track", container_start=0, container_size=500)`. python-plexapi
takes those two arguments as filters, so the request is `/library/all?type=10&
container_start=0&container_size=500` and it reads the whole library in pages of 100
(X-Plex-Container-Start/Size headers). For every track Plexist then calls `track.artist()` and
`track.album()` (`/library/metadata/{artist}`, `/library/metadata/{album}`) to build its
`title|artist|album` keys.

Plexist asks again at offset 500, 1000 … until a call comes back empty; since each call reads
the whole library, that would never end, so the replay stops after the first. The per-track
lookups are made for the first PLEXIST_TRACKS tracks listed (default 1000; 0 for all).
"""
import os

from plexapi.server import PlexServer

SERVER = "plex"
LIMIT = int(os.environ.get("PLEXIST_TRACKS", "1000"))


def replay(http, base, user, ctx=None):
    plex = PlexServer(base, user["plex_token"], session=http)
    tracks = plex.library.search(libtype="track", container_start=0, container_size=500)
    for track in tracks[:LIMIT or None]:
        track.artist()
        track.album()
