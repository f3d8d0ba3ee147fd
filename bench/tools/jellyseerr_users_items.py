"""Jellyseerr's full Jellyfin library scan as releases before 2.5.0 make it, with per-user item
reads (bench/tools/jellyseerr.py replays the current release): Fallenbagel/jellyseerr
(server/lib/scanners/jellyfin/index.ts with server/api/jellyfin.ts and externalapi.ts:
`Authorization: MediaBrowser … Token=…` since seerr-team/seerr#2211, which every Jellyfin
release takes and 12 requires, `Accept: application/json`).

The libraries (`/Library/MediaFolders`, or `/Users/{uid}/Views` when that is refused, as for
a user who is no administrator; music, books and the like left out), then per library one
unpaged `/Users/{uid}/Items?…IncludeItemTypes=Series,Movie,Others…`, processed 20 at a time,
each bundle at once (the 4 s pause between bundles is left out). A movie asks
`/Users/{uid}/Items/{id}`; a series asks the same for itself and then, once TMDB knows it (a
Tmdb or Tvdb id), for each season TMDB lists — taken to be the seasons Jellyfin has —
`/Shows/{id}/Seasons` again (the scanner asks it inside the season loop) and
`/Shows/{id}/Episodes?seasonId=…`. Without a 4K Sonarr no episode is asked for by itself.
"""
from concurrent.futures import ThreadPoolExecutor

SERVER = "jellyfin"
BUNDLE = 20
EXCLUDED = {"music", "books", "musicvideos", "homevideos", "boxsets"}


def replay(http, base, user, ctx=None):
    uid = user["jellyfin_id"]
    auth = ('MediaBrowser Client="Jellyseerr", Device="Jellyseerr", DeviceId="cachearr-bench", '
            f'Version="2.5.0", Token="{user["jellyfin_token"]}"')
    heads = {"Authorization": auth, "Accept": "application/json", "Content-Type": "application/json"}

    def get(path, params=None):
        return http.get(base + path, params=params, headers=heads)

    def movie(item):
        get(f"/Users/{uid}/Items/{item['Id']}")

    def series(item):
        sid = item.get("SeriesId") or item.get("SeasonId") or item["Id"]
        meta = get(f"/Users/{uid}/Items/{sid}")
        ids = meta.json().get("ProviderIds", {}) if meta.ok else {}
        if not (ids.get("Tmdb") or ids.get("Tvdb")):
            return
        seasons = get(f"/Shows/{sid}/Seasons").json().get("Items", [])
        for n, season in enumerate(seasons):
            if n:  # the scanner asks for the seasons again on every turn of its loop
                get(f"/Shows/{sid}/Seasons")
            get(f"/Shows/{sid}/Episodes", {"seasonId": season["Id"]})

    def process(item):
        {"Movie": movie, "Series": series}.get(item["Type"], lambda _: None)(item)

    folders = get("/Library/MediaFolders")
    if not folders.ok:
        folders = get(f"/Users/{uid}/Views")
    libraries = [f for f in folders.json().get("Items", [])
                 if f.get("Type") == "CollectionFolder" and f.get("CollectionType") not in EXCLUDED]
    for library in libraries:
        listing = get(f"/Users/{uid}/Items", {
            "SortBy": "SortName", "SortOrder": "Ascending", "IncludeItemTypes": "Series,Movie,Others",
            "Recursive": "true", "StartIndex": "0", "ParentId": library["Id"], "collapseBoxSetItems": "false"})
        items = [i for i in listing.json().get("Items", []) if i.get("LocationType") != "Virtual"]
        for start in range(0, len(items), BUNDLE):
            bundle = items[start:start + BUNDLE]
            with ThreadPoolExecutor(len(bundle)) as pool:
                list(pool.map(process, bundle))
