"""Kometa's library operations pass, as Kometa-Team/Kometa makes it through python-plexapi
(modules/plex.py `Plex.__init__`, `get_all`, `reload`/`item_reload`; modules/operations.py
`run_operations` with an item operation configured).

Connect (`PlexServer`: `/`), the server settings (`/:/prefs`), the sections
(`/library`, `/library/sections`), and for each movie and show library: its settings
(`/library/sections/{id}/prefs`), every item through `get_all` (`/library/sections/{id}/all?
includeGuids=1&type=N` in pages of plexapi's X_PLEX_CONTAINER_SIZE, 100, by headers), then each
item reloaded with Kometa's reload arguments (`/library/metadata/{id}?checkFiles=0&…`).
Kometa stops on a refused call (a shared user's `/:/prefs`); the replay goes on, keeping the
refusal as that request's answer.
"""
import plexapi
from plexapi.exceptions import PlexApiException
from plexapi.server import PlexServer

SERVER = "plex"
RELOAD = dict.fromkeys(
    ["checkFiles", "includeAllConcerts", "includeBandwidths", "includeChapters", "includeChildren",
     "includeConcerts", "includeExternalMedia", "includeExtras", "includeFields", "includeGeolocation",
     "includeLoudnessRamps", "includeMarkers", "includeOnDeck", "includePopularLeaves", "includeRelated",
     "includeReviews", "includeStations"], False)
RELOAD["includeRelatedCount"] = 0


def attempt(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except PlexApiException:
        return None


def get_all(section):
    key = f"/library/sections/{section.key}/all?includeGuids=1&type={plexapi.utils.searchType(section.TYPE)}"
    start, size, total, results = 0, plexapi.X_PLEX_CONTAINER_SIZE, 1, []
    while total > len(results) and start <= total:
        data = section._server.query(key, headers={"X-Plex-Container-Start": str(start),
                                                   "X-Plex-Container-Size": str(size)})
        found = section.findItems(data, initpath=key)
        total = int(data.attrib.get("totalSize") or data.attrib.get("size") or len(found))
        results.extend(found)
        start += size
    return results


def replay(http, base, user, ctx=None):
    server = PlexServer(base, user["plex_token"], session=http)
    attempt(lambda: server.settings)
    for section in server.library.sections():
        if section.type not in ("movie", "show"):
            continue
        attempt(section.settings)
        for item in get_all(section):
            attempt(item.reload, **RELOAD)
