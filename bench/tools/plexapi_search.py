#!/usr/bin/env python3
"""A playlist tool's lookup as python-plexapi makes it: connect (`PlexServer`), find the music
sections, and for each title `section.searchTracks(title=...)` (python-plexapi adds
`includeGuids=1` to every search). Prints one JSON object: each title's answer as the ratingKeys
and titles the library returned, so two runs can be compared answer by answer.

    plexapi_search.py titles BASEURL TOKEN COUNT      # COUNT track titles of the library, JSON
    plexapi_search.py search BASEURL TOKEN TITLES.json
"""
import json
import sys

from plexapi.server import PlexServer


def music_sections(server):
    return [s for s in server.library.sections() if s.type == "artist"]


def titles(baseurl, token, count):
    server = PlexServer(baseurl, token)
    out = []
    for section in music_sections(server):
        for track in section.searchTracks(maxresults=count):
            out.append(track.title)
            if len(out) >= count:
                return out
    return out


def search(baseurl, token, wanted):
    server = PlexServer(baseurl, token)
    answers = {}
    for section in music_sections(server):
        for title in wanted:
            found = section.searchTracks(title=title)
            answers[f"{section.key}:{title}"] = [(t.ratingKey, t.title, t.grandparentTitle) for t in found]
    return answers


def main():
    mode, baseurl, token = sys.argv[1:4]
    if mode == "titles":
        print(json.dumps(titles(baseurl, token, int(sys.argv[4]))))
    else:
        with open(sys.argv[4]) as f:
            wanted = json.load(f)
        print(json.dumps(search(baseurl, token, wanted)))


if __name__ == "__main__":
    main()
