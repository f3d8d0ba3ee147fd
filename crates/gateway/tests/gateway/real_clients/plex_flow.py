"""A python-plexapi flow, run unchanged against a Plex server or cachearr in front of one.

Usage: plex_flow.py BASE_URL TOKEN

Does what real tools do (Tautulli, Kometa, playlist-sync scripts): reads the server identity,
lists the sections, pages through every section (python-plexapi pages with the
X-Plex-Container-Start/Size headers), opens albums and their tracks, a show's seasons and
episodes, a movie's metadata, searches, reads on deck, recently added, sessions, history and
playlists, then marks a track played and reads it again (a write that must be visible at once,
also through a cache). Prints one JSON object; the Rust test runs this twice — directly and
through cachearr, each against a fresh simulator with the same seed — and requires identical
output.
"""

import json
import sys

from plexapi.server import PlexServer


def fail(message):
    print(f"plex_flow.py: {message}", file=sys.stderr)
    sys.exit(1)


def brief(item):
    return {
        "ratingKey": str(item.ratingKey),
        "type": item.type,
        "title": item.title,
        "viewCount": getattr(item, "viewCount", None),
    }


def main():
    if len(sys.argv) != 3:
        fail("usage: plex_flow.py BASE_URL TOKEN")
    base_url, token = sys.argv[1:3]
    plex = PlexServer(base_url, token, timeout=60)
    report = {
        "friendlyName": plex.friendlyName,
        "machineIdentifier": plex.machineIdentifier,
        "version": plex.version,
    }

    sections = plex.library.sections()
    report["sections"] = [[str(s.key), s.title, s.type] for s in sections]
    some_track = None
    for section in sections:
        entry = {}
        everything = section.all()  # paged by headers, 100 at a time
        entry["count"] = len(everything)
        entry["first"] = [brief(i) for i in everything[:5]]
        if section.type == "artist":
            albums = section.searchAlbums()  # /all?type=9
            entry["albums"] = len(albums)
            if albums:
                album = albums[0]
                tracks = album.tracks()
                entry["album_tracks"] = [brief(t) for t in tracks]
                if tracks:
                    some_track = tracks[0]
                    entry["track_album"] = some_track.album().title
                    entry["track_artist"] = some_track.artist().title
        elif section.type == "show" and everything:
            show = everything[0]
            seasons = show.seasons()
            entry["seasons"] = [brief(s) for s in seasons]
            if seasons:
                entry["episodes"] = [brief(e) for e in seasons[0].episodes()]
        elif section.type == "movie" and everything:
            movie = plex.fetchItem(everything[0].ratingKey)
            entry["movie"] = brief(movie)
        if everything:
            title = everything[0].title
            entry["search"] = [brief(i) for i in section.search(title=title)][:10]
        report[f"section_{section.key}"] = entry

    report["onDeck"] = [brief(i) for i in plex.library.onDeck()]
    report["recentlyAdded"] = [brief(i) for i in plex.library.recentlyAdded()][:20]
    report["sessions"] = len(plex.sessions())
    report["playlists"] = sorted(p.title for p in plex.playlists())
    report["hubsearch"] = [brief(i) for i in plex.search(report["sections"][0][1][:4])][:10]

    # Tools re-read what they looked at before (a dashboard refresh): the same answers again.
    if some_track is not None:
        report["track_again"] = [brief(plex.fetchItem(some_track.ratingKey)) for _ in range(2)]

    if some_track is not None:
        before = plex.fetchItem(some_track.ratingKey).viewCount or 0
        some_track.markPlayed()  # GET /:/scrobble: a write sent as GET
        after = plex.fetchItem(some_track.ratingKey).viewCount or 0
        if after != before + 1:
            fail(f"viewCount {before} -> {after} after markPlayed (a stale cached read?)")
        report["scrobbled"] = [str(some_track.ratingKey), before, after]

    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main()
