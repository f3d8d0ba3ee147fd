"""Jellyseerr's full library scan of an Emby server, as seerr-team/seerr 3.1.0 (formerly
Fallenbagel/jellyseerr) makes it with the media server type Emby (`JELLYFIN_TYPE=emby` before
its settings migration 0003): server/lib/scanners/jellyfin/index.ts with
server/api/jellyfin.ts and externalapi.ts. Emby and Jellyfin share the client; in a full scan
nothing differs by server type (only the recently-added scan asks `/Users/{uid}/Items/Latest`
on Emby), so this is what every Emby user of the current release sends.

The client (axios) sends `Authorization: MediaBrowser Client="Seerr", Device="Seerr",
DeviceId=…, Version="3.1.0", Token="…"` (seerr-team/seerr#2211), `Accept` and `Content-Type:
application/json`, under the server's root (no `/emby` base). Query values keep their commas,
as axios writes them.

The libraries (`/Library/MediaFolders`, or `/Users/{uid}/Views` when that is refused; the
scanner itself reads them from its settings, which the settings page fills with this same
request), music, books and the like left out; then per library one unpaged
`/Items?SortBy=SortName&…&IncludeItemTypes=Series,Movie,Others&…&ParentId=…`, processed 20 at a
time, each bundle at once (the 4 s pause between bundles is left out). Each item asks
`/Items?ids=…&fields=ProviderIds,MediaSources,Width,Height,IsHD,DateCreated`; a series that TMDB
knows (a Tmdb or Tvdb id) asks `/Shows/{id}/Seasons` once and `/Shows/{id}/Episodes?seasonId=…`
for each season TMDB lists — taken to be the seasons the server has, specials left out as
`enableSpecialEpisodes` is off by default. Without a 4K Sonarr no media info is asked for.

It differs from bench/tools/jellyseerr.py, which follows an older release (per-user
`/Users/{uid}/Items` routes, the seasons asked again on every turn of the loop).
"""
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

SERVER = "emby"
BUNDLE = 20
VERSION = "3.1.0"
EXCLUDED = {"music", "books", "musicvideos", "homevideos", "boxsets"}
ITEM_FIELDS = "ProviderIds,MediaSources,Width,Height,IsHD,DateCreated"


def query(params):
    """A query string as axios writes it: commas left as they are."""
    return urlencode(params, safe=",")


def replay(http, base, user, ctx=None):
    uid = user["jellyfin_id"]
    auth = ('MediaBrowser Client="Seerr", Device="Seerr", DeviceId="cachearr-bench", '
            f'Version="{VERSION}", Token="{user["emby_token"]}"')
    heads = {"Authorization": auth, "Accept": "application/json", "Content-Type": "application/json"}

    def get(path, params=None):
        return http.get(base + path + ("?" + query(params) if params else ""), headers=heads)

    def item_data(item_id):
        """jellyfin.ts getItemData: one item by id, with the fields the scanner reads."""
        resp = get("/Items", {"ids": item_id, "fields": ITEM_FIELDS})
        items = resp.json().get("Items") if resp.ok else None
        return items[0] if items else None

    def movie(item):
        item_data(item["Id"])

    def series(item):
        sid = item.get("SeriesId") or item.get("SeasonId") or item["Id"]
        meta = item_data(sid)
        ids = (meta or {}).get("ProviderIds") or {}
        if not (ids.get("Tmdb") or ids.get("Tvdb")):
            return
        seasons = get(f"/Shows/{sid}/Seasons").json().get("Items", [])
        for season in seasons:
            if season.get("IndexNumber"):
                get(f"/Shows/{sid}/Episodes", {"seasonId": season["Id"]})

    def process(item):
        {"Movie": movie, "Series": series}.get(item["Type"], lambda _: None)(item)

    folders = get("/Library/MediaFolders")
    if not folders.ok:
        folders = get(f"/Users/{uid}/Views")
    libraries = [f for f in folders.json().get("Items", [])
                 if f.get("Type") == "CollectionFolder" and f.get("CollectionType") not in EXCLUDED]
    for library in libraries:
        listing = get("/Items", {
            "SortBy": "SortName", "SortOrder": "Ascending", "IncludeItemTypes": "Series,Movie,Others",
            "Recursive": "true", "StartIndex": "0", "ParentId": library["Id"], "collapseBoxSetItems": "false"})
        items = [i for i in listing.json().get("Items", []) if i.get("LocationType") != "Virtual"]
        for start in range(0, len(items), BUNDLE):
            bundle = items[start:start + BUNDLE]
            with ThreadPoolExecutor(len(bundle)) as pool:
                list(pool.map(process, bundle))
