"""Tautulli's polling of Plex, as Tautulli/Tautulli makes it (plexpy/pmsconnect.py, XML through
plexpy/http_handler.py), for CYCLES rounds (TAUTULLI_CYCLES, default 3). One round:

- current activity (`get_current_activity`): `/status/sessions`;
- the home page's recently added, 50 of each kind (`get_recently_added_details` with no type
  asks each of movie, show, artist and other video): `/hubs/home/recentlyAdded?
  X-Plex-Container-Start=0&X-Plex-Container-Size=50&type=1|2|8` and `type=1&personal=1`;
- the libraries' statistics (`libraries.refresh_libraries` → `get_library_details`):
  `/library/sections`, then per section a count with `X-Plex-Container-Size=1` in the query
  (`/library/sections/{id}/all?X-Plex-Container-Start=0&X-Plex-Container-Size=1&type=N`), and
  for shows the seasons' and episodes' counts (type 3, 4), for music the albums' and tracks'
  (type 9, 10).
"""
import os
import xml.etree.ElementTree as ET

from common import plex_headers

SERVER = "plex"
CYCLES = int(os.environ.get("TAUTULLI_CYCLES", "3"))
KIND_TYPES = {"movie": [1], "show": [2, 3, 4], "artist": [8, 9, 10]}


def replay(http, base, user, ctx=None):
    heads = plex_headers(user["plex_token"], "Tautulli")

    def get(path):
        resp = http.get(base + path, headers=heads)
        return ET.fromstring(resp.content) if resp.ok else ET.Element("MediaContainer")

    for _ in range(CYCLES):
        get("/status/sessions")
        for kind in ("1", "2", "8", "1&personal=1"):
            get(f"/hubs/home/recentlyAdded?X-Plex-Container-Start=0&X-Plex-Container-Size=50&type={kind}")
        for section in get("/library/sections").iter("Directory"):
            for t in KIND_TYPES.get(section.get("type"), []):
                get(f"/library/sections/{section.get('key')}/all?X-Plex-Container-Start=0&X-Plex-Container-Size=1&type={t}")
