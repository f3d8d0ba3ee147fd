"""A playlist tool's lookup as python-plexapi makes it: connect (`PlexServer`), find the music
sections, and for each title `section.searchTracks(title=...)` (python-plexapi adds
`includeGuids=1` to every search). The titles are SEARCH_TITLES (default 100) track titles of
the library, read once as the owner before any run.
"""
import os

from plexapi.server import PlexServer

SERVER = "plex"
TITLES = int(os.environ.get("SEARCH_TITLES", "100"))


def music_sections(server):
    return [s for s in server.library.sections() if s.type == "artist"]


def prepare(base, owner):
    server = PlexServer(base, owner["plex_token"])
    titles = []
    for section in music_sections(server):
        titles += [t.title for t in section.searchTracks(maxresults=TITLES - len(titles))]
        if len(titles) >= TITLES:
            break
    return titles


def replay(http, base, user, titles):
    server = PlexServer(base, user["plex_token"], session=http)
    for section in music_sections(server):
        for title in titles:
            section.searchTracks(title=title)
