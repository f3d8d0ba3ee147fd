"""Overseerr's full Plex library scan, as sct/overseerr does it
(server/lib/scanners/plex/index.ts with server/api/plexapi.ts; node plex-api sends
`Accept: application/json`).

`/library/sections` (the Hama agent check), then for every movie and show section pages of 50
of `/library/sections/{id}/all?includeGuids=1` (X-Plex-Container-Start/Size headers), each
page's items processed at once (`Promise.all`). A movie whose `plex://` guid came with its
`Guid` list costs nothing more; one without asks `/library/metadata/{id}`. A show asks
`/library/metadata/{id}?includeChildren=1`, then, once TMDB knows it (any imdb, tmdb or tvdb
id), `/library/metadata/{season}/children` for each season TMDB lists: taken here to be the
seasons Plex has. The 4K checks read only what these answers hold.

The simulator leaves `Children` out of `includeChildren=1` answers, so the seasons Overseerr
would find there are read beforehand as the owner (`prepare`, not counted).
"""
from concurrent.futures import ThreadPoolExecutor

import requests

from common import plex_headers

SERVER = "plex"
BUNDLE = 50


def prepare(base, owner):
    """Each show's seasons: what the server's `includeChildren=1` answer would list."""
    heads = plex_headers(owner["plex_token"], "Overseerr", "application/json")
    seasons = {}
    for section in requests.get(base + "/library/sections", headers=heads).json()["MediaContainer"]["Directory"]:
        if section["type"] == "show":
            listing = requests.get(f"{base}/library/sections/{section['key']}/all?type=3", headers=heads).json()
            for season in listing["MediaContainer"].get("Metadata", []):
                seasons.setdefault(season["parentRatingKey"], []).append({"ratingKey": season["ratingKey"]})
    return seasons


def replay(http, base, user, seasons):
    heads = plex_headers(user["plex_token"], "Overseerr", "application/json")

    def get(path, **extra):
        resp = http.get(base + path, headers={**heads, **extra})
        return resp.json().get("MediaContainer", {}) if resp.ok else {}

    def ids(item):
        return [g["id"] for g in item.get("Guid", [])] + [item.get("guid", "")]

    def movie(item):
        if item.get("guid", "").startswith("plex://") and not item.get("Guid"):
            get(f"/library/metadata/{item['ratingKey']}")

    def show(item):
        meta = get(f"/library/metadata/{item['ratingKey']}?includeChildren=1").get("Metadata", [{}])[0]
        if not any(i.split("://")[0] in ("imdb", "tmdb", "tvdb") for i in ids(meta)):
            return
        for season in meta.get("Children", {}).get("Metadata") or seasons.get(meta.get("ratingKey"), []):
            get(f"/library/metadata/{season['ratingKey']}/children")

    def process(item):
        (movie if item["type"] == "movie" else show)(item)

    sections = get("/library/sections").get("Directory", [])
    for section in sections:
        if section["type"] not in ("movie", "show") or section.get("agent") == "com.plexapp.agents.none":
            continue
        start = 0
        while True:
            page = get(f"/library/sections/{section['key']}/all?includeGuids=1",
                       **{"X-Plex-Container-Start": str(start), "X-Plex-Container-Size": str(BUNDLE)})
            items = page.get("Metadata", [])
            if items:
                with ThreadPoolExecutor(len(items)) as pool:
                    list(pool.map(process, items))
            if len(items) < BUNDLE:
                break
            start += BUNDLE
