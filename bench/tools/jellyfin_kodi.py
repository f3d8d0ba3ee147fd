"""Jellyfin for Kodi's first full sync of every library, as jellyfin/jellyfin-kodi makes it
(jellyfin_kodi/full_sync.py, downloader.py, jellyfin/api.py, objects/tvshows.py and music.py;
`Authorization: MediaBrowser Client=…, Token=…`; default settings: pages of 15
(`limitIndex`), 3 threads (`limitThreads`)).

`/Users/{uid}/Views`, then per library `/Users/{uid}/Items/{library}` and its items by
`_get_items`: a count (`Limit=1&EnableTotalRecordCount=True`) and the pages, 3 at a time, of
`/Users/{uid}/Items?ParentId=…&IncludeItemTypes=…&SortBy=SortName&…&Fields=<info()>`. Films:
`Movie`. Shows: `Series`, and per series `/Shows/{id}/Seasons?UserId=…&EnableImages=True&
Fields=…` and its episodes by `_get_items` of `/Shows/{id}/Episodes`. Music: the count of
artists, albums and songs, `/Artists` (`_get_items`), `MusicAlbum` and `Audio` sorted by album
artist, and `/Users/{uid}/Items/{id}` for an album artist, song artist or album not synced yet.
"""
from concurrent.futures import ThreadPoolExecutor

SERVER = "jellyfin"
LIMIT = 15
THREADS = 3
INFO = ("Path,Genres,SortName,Studios,Writer,Taglines,LocalTrailerCount,OfficialRating,"
        "CumulativeRunTimeTicks,ItemCounts,Metascore,AirTime,DateCreated,People,Overview,Etag,"
        "ShortOverview,ProductionLocations,Tags,ProviderIds,ParentId,RemoteTrailers,"
        "SpecialEpisodeNumbers,MediaSources,VoteCount,RecursiveItemCount,PrimaryImageAspectRatio")
MUSIC_INFO = ("Etag,Genres,SortName,Studios,Writer,OfficialRating,CumulativeRunTimeTicks,Metascore,"
              "AirTime,DateCreated,MediaStreams,People,ProviderIds,Overview,ItemCounts")
LISTED = {"CollapseBoxSetItems": False, "IsVirtualUnaired": False, "EnableTotalRecordCount": False,
          "LocationTypes": "FileSystem,Remote,Offline", "IsMissing": False, "Recursive": True}


def replay(http, base, user, ctx=None):
    uid = user["jellyfin_id"]
    auth = ("MediaBrowser Client=Jellyfin%20for%20Kodi, Device=cachearr-bench, DeviceId=cachearr-bench, "
            f"Version=1.0.0, UserId={uid}, Token={user['jellyfin_token']}")
    heads = {"Authorization": auth, "Content-type": "application/json", "Accept-Charset": "UTF-8,*"}

    def get(path, params=None):
        resp = http.get(base + "/" + path, params=params, headers=heads)
        return resp.json() if resp.ok else {}

    def get_items(path, params):
        """downloader._get_items: a count, then the pages, THREADS at a time."""
        total = get(path, {**params, "Limit": 1, "EnableTotalRecordCount": True}).get("TotalRecordCount", 0)
        pages = [{**params, "StartIndex": start, "Limit": LIMIT} for start in range(0, total, LIMIT)]
        with ThreadPoolExecutor(THREADS) as pool:
            return [item for page in pool.map(lambda p: get(path, p), pages) for item in page.get("Items", [])]

    def items(library, kind, **extra):
        params = {"ParentId": library, "IncludeItemTypes": kind, "SortBy": "SortName", "SortOrder": "Ascending",
                  "Fields": INFO, **LISTED, **extra}
        return get_items(f"Users/{uid}/Items", params)

    def movies(library):
        for movie in items(library, "Movie"):
            if movie.get("LocalTrailerCount"):
                get(f"Users/{uid}/Items/{movie['Id']}/LocalTrailers")

    def tvshows(library):
        for show in items(library, "Series"):
            get(f"Shows/{show['Id']}/Seasons", {"UserId": uid, "EnableImages": True, "Fields": INFO})
            get_items(f"Shows/{show['Id']}/Episodes",
                      {"EnableUserData": True, "EnableImages": True, "UserId": uid, "Fields": INFO})

    def music(library):
        get(f"Users/{uid}/Items", {"ParentId": library, "IncludeItemTypes": "MusicArtist,MusicAlbum,Audio",
                                    "EnableTotalRecordCount": True, "LocationTypes": "FileSystem,Remote,Offline",
                                    "Recursive": True, "Limit": 1})
        artists = get_items("Artists", {"UserId": uid, "ParentId": library, "SortBy": "SortName",
                                        "SortOrder": "Ascending", "Fields": MUSIC_INFO, **LISTED})
        synced = {a["Id"] for a in artists}

        def ensure(ids):
            for missing in [i for i in ids if i not in synced]:
                synced.add(missing)
                get(f"Users/{uid}/Items/{missing}")

        for album in items(library, "MusicAlbum", SortBy="AlbumArtist"):
            ensure([a["Id"] for a in album.get("AlbumArtists") or []])
            synced.add(album["Id"])
        for song in items(library, "Audio", SortBy="AlbumArtist"):
            ensure([song["AlbumId"]] if song.get("AlbumId") else [])
            ensure([a["Id"] for a in song.get("ArtistItems") or []])

    sync = {"movies": movies, "tvshows": tvshows, "music": music}
    for view in get(f"Users/{uid}/Views").get("Items", []):
        if view.get("CollectionType") in sync:
            get(f"Users/{uid}/Items/{view['Id']}")
            sync[view["CollectionType"]](view["Id"])
