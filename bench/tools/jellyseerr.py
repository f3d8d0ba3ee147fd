"""Jellyseerr's full Jellyfin library scan, as the current release makes it: seerr-team/seerr
3.1.0 (formerly Fallenbagel/jellyseerr), server/lib/scanners/jellyfin/index.ts with
server/api/jellyfin.ts and externalapi.ts. Releases since 2.5.0 read each item by
`/Items?ids=…` on Jellyfin as on Emby; bench/tools/jellyseerr_users_items.py replays the
older per-user reads (`/Users/{uid}/Items/{id}`).

The client (axios) sends `Authorization: MediaBrowser Client="Seerr", Device="Seerr",
DeviceId=…, Version="3.1.0", Token="…"` (seerr-team/seerr#2211), which every Jellyfin release
takes and 12 requires, `Accept` and `Content-Type: application/json`. Query values keep their
commas, as axios writes them.

The libraries (`/Library/MediaFolders`, or `/Users/{uid}/Views` when that is refused, as for a
user who is no administrator; the scanner itself reads them from its settings, which the
settings page fills with this same request), music, books and the like left out; then per
library one unpaged `/Items?SortBy=SortName&…&IncludeItemTypes=Series,Movie,Others&…&ParentId=…`,
processed 20 at a time, each bundle at once (the 4 s pause between bundles is left out). Each
item asks `/Items?ids=…&fields=ProviderIds,MediaSources,Width,Height,IsHD,DateCreated`; a
series that TMDB knows (a Tmdb or Tvdb id) asks `/Shows/{id}/Seasons` once and
`/Shows/{id}/Episodes?seasonId=…` for each season TMDB lists — taken to be the seasons the
server has, specials left out as `enableSpecialEpisodes` is off by default. Without a 4K Sonarr
no media info is asked for. In a full scan nothing differs by media server type (only the
recently-added scan does), so bench/tools/jellyseerr_emby.py replays this same scan on Emby.
"""
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

SERVER = "jellyfin"
BUNDLE = 20
VERSION = "3.1.0"
EXCLUDED = {"music", "books", "musicvideos", "homevideos", "boxsets"}
ITEM_FIELDS = "ProviderIds,MediaSources,Width,Height,IsHD,DateCreated"


def query(params):
    """A query string as axios writes it: commas left as they are."""
    return urlencode(params, safe=",")


def replay(http, base, user, ctx=None):
    scan(http, base, user, user["jellyfin_token"])


def scan(http, base, user, token):
    """The scan of every library `user` sees, with `token` (the server's own for the user)."""
    uid = user["jellyfin_id"]
    auth = ('MediaBrowser Client="Seerr", Device="Seerr", DeviceId="cachearr-bench", '
            f'Version="{VERSION}", Token="{token}"')
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
