"""Emby for Kodi Next Gen's first sync of every library, as MediaBrowser/plugin.video.emby
(branch next-gen-dev-python3, plugin.video.emby-next-gen 9.4.20) makes it: the Emby
counterpart of Jellyfin for Kodi, which forked the older Emby for Kodi 4.x (the master branch,
Python 2, Kodi 18 only; Next Gen is the add-on Emby ships for Kodi 19 and later).

Its requests (emby/http.py): every route under `/emby/`, `Authorization: Emby Client=…,
Device=…, DeviceId=…, Version=…, UserId=…` with the token in `X-Emby-Token`, `requests`
query encoding, default settings (emby/api.py `get_Limit`, helper/utils.py paging sizes).

`/Users/{uid}/Views` (emby/views.py; the views' artwork it caches is left out), then every
library is added (database/library.py `select_libraries`, "All"): the people once for the
whole server (`Person`, no `ParentId`) when a video library is among them, then per library
the kinds its type syncs — movies: Genre, Tag, Studio, Video, Movie, BoxSet; tvshows: Tag,
Studio, Genre, Series, Season, Episode, BoxSet; music: MusicGenre, Studio, MusicArtist,
MusicAlbum, Audio — and its folders (`Folder`), in that order (`worker_library`). Each kind is
`/Users/{uid}/Items?EnableTotalRecordCount=False&LocationTypes=…&Recursive=True&Limit=…&
Fields=…&IncludeItemTypes=…&ParentId=…&StartIndex=…` in pages of its paging size (5000 to
100000), until a page comes back empty (emby/api.py `get_Items`, `async_get_Items`).

Each item synced asks for what it names that is not synced yet (core/*.py `change`:
common.py `set_MetaItems`, `set_ItemsDependencies`, `set_people`), one id at a time by
`/Users/{uid}/Items?Ids=…&Fields=<its kind's fields>&EnableTotalRecordCount=False&
LocationTypes=…` (`get_Item`): genres, studios, tags and people of movies, series and
episodes, the series and season of a season or episode, the album artists and genres of an
album, the album, artists, composers and genres of a song; and local trailers, special
features and additional parts when the item counts some. Emby's Genre, Studio, Tag and
Person listings sync those names first, as the simulator's Emby lists them (no item names
people there); what is left are the artists a song names that the MusicArtist listing does
not hold (a track's "A feat. B"), found by id. An id asked for and not found is remembered
as if synced (the add-on would ask again for every item naming it).
"""

SERVER = "emby"
ADDON = "Emby for Kodi Next Gen"
VERSION = "9.4.20"
GLOBAL = "999999999"  # the add-on's id for the whole server's people
LOCATIONS = "FileSystem,Remote,Offline"
# emby/api.py EmbyFields (the kinds replayed here).
FIELDS = {
    "musicartist": ("Genres", "SortName", "ProductionYear", "DateCreated", "ProviderIds", "Overview", "Path",
                    "PresentationUniqueKey", "UserDataPlayCount", "UserDataLastPlayedDate"),
    "musicalbum": ("Genres", "SortName", "ProductionYear", "DateCreated", "ProviderIds", "Overview", "Path", "Studios",
                   "PremiereDate", "UserDataPlayCount", "UserDataLastPlayedDate"),
    "audio": ("Genres", "SortName", "ProductionYear", "DateCreated", "MediaStreams", "ProviderIds", "Overview", "Path",
              "PremiereDate", "UserDataPlayCount", "UserDataLastPlayedDate"),
    "movie": ("Path", "Genres", "SortName", "Studios", "Writer", "Taglines", "LocalTrailerCount", "Video3DFormat",
              "OfficialRating", "PremiereDate", "ProductionYear", "DateCreated", "People", "Overview",
              "CommunityRating", "CriticRating", "ShortOverview", "ProductionLocations", "ProviderIds", "ParentId",
              "RemoteTrailers", "MediaSources", "PresentationUniqueKey", "OriginalTitle", "AlternateMediaSources",
              "PartCount", "SpecialFeatureCount", "Chapters", "Tags", "UserDataPlayCount", "UserDataLastPlayedDate"),
    "trailer": ("Path", "Genres", "SortName", "Studios", "Writer", "Taglines", "Video3DFormat", "OfficialRating",
                "PremiereDate", "ProductionYear", "DateCreated", "People", "Overview", "CommunityRating",
                "CriticRating", "ShortOverview", "ProductionLocations", "ProviderIds", "ParentId", "MediaSources",
                "PresentationUniqueKey", "OriginalTitle", "AlternateMediaSources", "Chapters", "Tags"),
    "boxset": ("Overview", "SortName", "DateCreated", "UserDataPlayCount", "UserDataLastPlayedDate"),
    "series": ("Path", "Genres", "SortName", "Studios", "Writer", "Taglines", "OfficialRating", "PremiereDate",
               "ProductionYear", "DateCreated", "People", "Overview", "CommunityRating", "CriticRating",
               "ShortOverview", "ProviderIds", "ParentId", "Status", "PresentationUniqueKey", "OriginalTitle", "Tags",
               "LocalTrailerCount", "RemoteTrailers", "UserDataPlayCount", "UserDataLastPlayedDate"),
    "season": ("PresentationUniqueKey", "SortName", "Tags", "DateCreated", "UserDataPlayCount",
               "UserDataLastPlayedDate"),
    "episode": ("SpecialEpisodeNumbers", "Path", "Genres", "SortName", "Studios", "Writer", "Taglines",
                "LocalTrailerCount", "Video3DFormat", "OfficialRating", "PremiereDate", "ProductionYear",
                "DateCreated", "People", "Overview", "CommunityRating", "CriticRating", "ShortOverview", "Tags",
                "ProviderIds", "RemoteTrailers", "MediaSources", "PresentationUniqueKey", "OriginalTitle",
                "AlternateMediaSources", "PartCount", "SpecialFeatureCount", "Chapters", "UserDataPlayCount",
                "UserDataLastPlayedDate"),
    "video": ("Path", "Genres", "SortName", "Studios", "Writer", "Taglines", "Video3DFormat", "OfficialRating",
              "PremiereDate", "ProductionYear", "DateCreated", "People", "Overview", "CommunityRating",
              "CriticRating", "ShortOverview", "ProductionLocations", "ProviderIds", "ParentId", "MediaSources",
              "PresentationUniqueKey", "OriginalTitle", "AlternateMediaSources", "Chapters", "Tags",
              "UserDataPlayCount", "UserDataLastPlayedDate"),
    "folder": ("Path",),
    "genre": (), "musicgenre": (), "person": (), "tag": (), "studio": (),
}
# helper/utils.py paging defaults, by kind.
PAGING = {"musicartist": 10000, "musicalbum": 10000, "audio": 20000, "movie": 5000, "series": 5000,
          "season": 5000, "episode": 5000, "video": 5000, "genre": 5000, "musicgenre": 5000, "boxset": 20000,
          "tag": 20000, "studio": 20000, "folder": 100000, "person": 100000}
# database/library.py select_libraries: the kinds each type of library syncs, in order.
KINDS = {"movies": ["Genre", "Tag", "Studio", "Video", "Movie", "BoxSet"],
         "tvshows": ["Tag", "Studio", "Genre", "Series", "Season", "Episode", "BoxSet"],
         "music": ["MusicGenre", "Studio", "MusicArtist", "MusicAlbum", "Audio"]}
MUSIC = {"MusicArtist", "MusicAlbum", "Audio", "MusicGenre"}
# core/*.py change(): (kind, property) an item of each kind names; a list property holds
# {"Id": …} entries, an `…Id` property one id.
NAMES = {
    "Movie": [("Genre", "GenreItems"), ("Studio", "Studios"), ("Tag", "TagItems"), ("Person", "People")],
    "Video": [("Genre", "GenreItems"), ("Studio", "Studios"), ("Tag", "TagItems"), ("Person", "People")],
    "Series": [("Person", "People"), ("Genre", "GenreItems"), ("Studio", "Studios"), ("Tag", "TagItems")],
    "Season": [("Series", "SeriesId")],
    "Episode": [("Genre", "GenreItems"), ("Studio", "Studios"), ("Person", "People"), ("Series", "SeriesId"),
                ("Season", "SeasonId")],
    "MusicArtist": [("MusicGenre", "GenreItems")],
    "MusicAlbum": [("Studio", "Studios"), ("MusicGenre", "GenreItems"), ("MusicArtist", "AlbumArtists")],
    "Audio": [("MusicGenre", "GenreItems"), ("MusicArtist", "Composers"), ("MusicArtist", "ArtistItems"),
              ("MusicAlbum", "AlbumId")],
}


def fields(kind):
    return ",".join(FIELDS[kind.lower()])


def replay(http, base, user, ctx=None):
    uid = user["jellyfin_id"]
    auth = f"Emby Client={ADDON},Device=cachearr-bench,DeviceId=cachearr-bench,Version={VERSION},UserId={uid}"
    heads = {"Content-type": "application/json", "Accept-Charset": "UTF-8,*", "Accept-encoding": "gzip",
             "User-Agent": f"{ADDON}/{VERSION}", "Authorization": auth, "X-Emby-Token": user["emby_token"]}
    synced = set()

    def get(path, params=None):
        resp = http.get(f"{base}/emby/{path}", params=params, headers=heads)
        return resp.json() if resp.ok else {}

    def get_items(library, kind):
        """api.get_Items: one kind of a library in pages of its size until one is empty."""
        params = {"EnableTotalRecordCount": False, "LocationTypes": LOCATIONS, "Recursive": True,
                  "Limit": PAGING[kind.lower()], "Fields": fields(kind), "IncludeItemTypes": kind}
        if library != GLOBAL:
            params["ParentId"] = library
        start = 0
        while True:
            params["StartIndex"] = start
            page = get(f"Users/{uid}/Items", params).get("Items") or []
            if not page:
                return
            yield from page
            start += params["Limit"]

    def key(kind, item_id, library):
        return (kind, item_id, library if kind in MUSIC else None)

    def get_item(kind, item_id, library):
        """common.set_MetaItems / set_ItemsDependencies: one named item not synced yet."""
        synced.add(key(kind, item_id, library))
        found = get(f"Users/{uid}/Items", {"Ids": item_id, "Fields": fields(kind), "EnableTotalRecordCount": False,
                                            "LocationTypes": LOCATIONS}).get("Items") or []
        if found:
            change(kind, found[0], library)

    def change(kind, item, library):
        """What syncing one item asks the server for besides the item itself."""
        synced.add(key(kind, item["Id"], library))
        if kind in ("Movie", "Series") and item.get("LocalTrailerCount"):
            get(f"Users/{uid}/Items/{item['Id']}/LocalTrailers",
                {"Fields": fields("trailer"), "EnableTotalRecordCount": False, "LocationTypes": LOCATIONS})
        for named, prop in NAMES.get(kind, []):
            value = item.get(prop)
            ids = [value] if isinstance(value, str) else [v["Id"] for v in value or [] if v.get("Id")]
            for named_id in ids:
                if key(named, named_id, library) not in synced:
                    get_item(named, named_id, library)
        if kind in ("Movie", "Episode", "Video") and (item.get("PartCount") or 0) >= 2:
            get(f"Videos/{item['Id']}/AdditionalParts", {"Fields": "Path,MediaSources"})
        if kind == "Movie" and item.get("SpecialFeatureCount"):
            get(f"Users/{uid}/Items/{item['Id']}/SpecialFeatures",
                {"Fields": "Path,MediaSources,PresentationUniqueKey", "EnableTotalRecordCount": False,
                 "LocationTypes": LOCATIONS})

    libraries = [v for v in get(f"Users/{uid}/Views").get("Items", []) if v.get("CollectionType") in KINDS]
    pending = []
    if any(v["CollectionType"] in ("movies", "tvshows") for v in libraries):
        pending.append((GLOBAL, "Person"))
    for view in libraries:
        pending += [(view["Id"], kind) for kind in KINDS[view["CollectionType"]]] + [(view["Id"], "Folder")]
    for library, kind in pending:
        for item in get_items(library, kind):
            change(kind, item, library)
