"""PlexKodiConnect's first full sync, as croneter/PlexKodiConnect makes it
(resources/lib/library_sync/full_sync.py, fill_metadata_queue.py, get_metadata.py and
resources/lib/plex_functions.py; XML, `Accept: */*`; default settings: pages of 200
(`limitindex`), 10 download threads (`syncThreadNumber`), music on).

`/library/sections`; then for movies, shows, seasons, episodes, artists and albums in turn the
section's listing (`get_section_iterator`: `/library/sections/{id}/all?type=N&checkFiles=0&
includeExtras=0&includeReviews=0&includeRelated=0&skipRefresh=1&excludeAllLeaves=1&sort=id`,
albums `sort=addedAt:asc`, episodes `/library/sections/{id}/allLeaves` without a type, paged
by X-Plex-Container-Start/Size in the query), and for every item listed its metadata
(`GetPlexMetadata`: `/library/metadata/{id}?checkFiles=0&includeExtras=1&includeReviews=1&
includeRelated=0&skipRefresh=1`), an album's tracks too (`/library/metadata/{id}/children?
X-Plex-Container-Size=200&X-Plex-Container-Start=0&sort=id`), a movie in a collection the
section's collections (`/library/sections/{id}/all?type=18&includeCollections=1`, once) and the
collection's metadata. Then the play-state pass lists every kind again, songs included
(`…/allLeaves` of music sections).

The simulator answers `/library/sections/{id}/allLeaves` with 404; after that answer the replay
lists the same items with `…/all?type=4` (or 10), so the rest of the sync still happens.
"""
from concurrent.futures import ThreadPoolExecutor
import threading
import xml.etree.ElementTree as ET

from common import plex_headers

SERVER = "plex"
PAGE = 200
THREADS = 10
TYPES = {"movie": 1, "show": 2, "season": 3, "episode": 4, "artist": 8, "album": 9, "song": 10}
KINDS = [("movie", "movie"), ("show", "show"), ("season", "show"), ("episode", "show"),
         ("artist", "artist"), ("album", "artist")]
METADATA = {"checkFiles": 0, "includeExtras": 1, "includeReviews": 1, "includeRelated": 0, "skipRefresh": 1}
LISTING = {"checkFiles": 0, "includeExtras": 0, "includeReviews": 0, "includeRelated": 0,
           "skipRefresh": 1, "excludeAllLeaves": 1}


def replay(http, base, user, ctx=None):
    heads = {**plex_headers(user["plex_token"], "PlexKodiConnect"), "Accept": "*/*"}

    def get(path, params=None):
        resp = http.get(base + path, params=params, headers=heads)
        return ET.fromstring(resp.content) if resp.ok else None

    def listing(section, kind):
        if kind in ("episode", "song"):
            path, typed = f"/library/sections/{section}/allLeaves", ""
        else:
            path, typed = f"/library/sections/{section}/all", f"?type={TYPES[kind]}"
        args = {**LISTING, "sort": "addedAt:asc" if kind == "album" else "id"}
        first = get(path + typed, {**args, "X-Plex-Container-Start": 0, "X-Plex-Container-Size": PAGE})
        if first is None and not typed:  # no allLeaves on the simulator: the same items by type
            path, typed = f"/library/sections/{section}/all", f"?type={TYPES[kind]}"
            first = get(path + typed, {**args, "X-Plex-Container-Start": 0, "X-Plex-Container-Size": PAGE})
        if first is None:
            return []
        total = int(first.get("totalSize", len(first)))
        with ThreadPoolExecutor(THREADS) as pool:
            rest = pool.map(lambda start: get(path + typed, {**args, "X-Plex-Container-Start": start,
                                                             "X-Plex-Container-Size": PAGE}),
                            range(PAGE, total, PAGE))
            pages = [first] + [p for p in rest if p is not None]
        return [item for page in pages for item in page]

    collections, fetched, lock = {}, set(), threading.Lock()

    def metadata(section, kind, key):
        xml = get(f"/library/metadata/{key}", METADATA)
        if xml is None:
            return
        tags = [c.get("id") for item in xml for c in item if c.tag == "Collection"]
        with lock:  # as get_metadata.py's LOCK: each collection asked for once
            if kind == "movie" and tags and section not in collections:
                found = get(f"/library/sections/{section}/all", {"type": 18, "includeCollections": 1})
                listed = found if found is not None else []
                collections[section] = {c.get("index"): c.get("ratingKey") for c in listed}
            for tag in tags if kind == "movie" else []:
                ckey = collections[section].get(tag)
                if ckey and ckey not in fetched:
                    fetched.add(ckey)
                    get(f"/library/metadata/{ckey}", METADATA)
        if kind == "album":
            start = 0
            while True:
                page = get(f"/library/metadata/{key}/children",
                           {"X-Plex-Container-Size": PAGE, "X-Plex-Container-Start": start, "sort": "id"})
                if page is None or len(page) < PAGE:
                    break
                start += PAGE

    sections = [(d.get("key"), d.get("type")) for d in get("/library/sections").iter("Directory")]
    for kind, section_type in KINDS:
        for section in [key for key, t in sections if t == section_type]:
            items = listing(section, kind)
            with ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(lambda item: metadata(section, kind, item.get("ratingKey")), items))
    for kind, section_type in KINDS + [("song", "artist")]:
        for section in [key for key, t in sections if t == section_type]:
            listing(section, kind)
