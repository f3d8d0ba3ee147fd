#!/usr/bin/env python3
"""A real playlist-sync tool, scripted: 8 search strategies per track against every music
library, one request each, as plexify/Cmdarr do — then one playlist creation.

  sync_tool.py make-playlist BASE TOKEN OUT.csv     # 238 tracks drawn from the server's library
  sync_tool.py sync BASE TOKEN PLAYLIST.csv NAME     # the tool's sync; prints JSON

BASE is the Plex server (the simulator) or cachearr's proxy listener in front of it. Only the
standard library is used (http.client, keep-alive, sequential like the tool, without its
1 req/s sleep).
"""
import csv
import http.client
import json
import random
import re
import sys
import time
import unicodedata
import urllib.parse

TRACKS = 238
MISSING = 18  # tracks of the playlist that are not in the library


class Plex:
    def __init__(self, base, token):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port or 80
        self.token = token
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.requests = 0

    def call(self, method, path, params=None):
        if params:
            path += "?" + urllib.parse.urlencode(params)
        headers = {"X-Plex-Token": self.token, "Accept": "application/json",
                   "X-Plex-Client-Identifier": "playlist-sync-bench", "X-Plex-Product": "playlist-sync"}
        for attempt in range(2):
            try:
                self.conn.request(method, path, headers=headers)
                r = self.conn.getresponse()
                body = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt:
                    raise
        self.requests += 1
        if r.status >= 400:
            raise RuntimeError(f"{method} {path.split('?')[0]} -> {r.status}")
        return json.loads(body) if body else {}


def music_sections(plex):
    mc = plex.call("GET", "/library/sections")["MediaContainer"]
    return [d["key"] for d in mc.get("Directory", []) if d.get("type") == "artist"]


def fold(s):
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if not unicodedata.combining(c))


def norm(s):
    return re.sub(r"[^a-z0-9 ]+", "", fold(s).lower()).strip()


def make_playlist(base, token, out):
    plex = Plex(base, token)
    tracks = []
    for key in music_sections(plex):
        mc = plex.call("GET", f"/library/sections/{key}/all", {"type": 10})["MediaContainer"]
        tracks += mc.get("Metadata", [])
    rng = random.Random(4)
    picks = rng.sample(tracks, TRACKS - MISSING)
    rows = []
    for t in picks:
        artist = t.get("originalTitle") or t.get("grandparentTitle", "")
        title, album = t["title"], t.get("parentTitle", "")
        duration = int(t.get("duration", 0))
        p = rng.random()
        # The perturbations real playlists have (docs/matching-quality.md).
        if p < 0.15:
            title = title.upper() if rng.random() < 0.5 else title.lower()
        elif p < 0.30:
            title, artist = fold(title), fold(artist)
        elif p < 0.40:
            title += rng.choice([" - Remastered 2011", " (2009 Remaster)", " [Deluxe Edition]"])
        elif p < 0.48 and artist.lower().startswith("the "):
            artist = artist[4:]
        elif p < 0.55 and len(title) > 6:
            i = rng.randrange(1, len(title) - 2)
            title = title[:i] + title[i + 1] + title[i] + title[i + 2:]
        elif p < 0.62:
            artist = artist.replace(" & ", " and ")
        if rng.random() < 0.4:
            album = ""
        if duration and rng.random() < 0.7:
            duration += rng.randint(-2000, 2000)
        else:
            duration = 0
        rows.append((artist, title, album, duration or ""))
    for n in range(MISSING):
        words = rng.sample(["Velvet", "Harbor", "Neon", "Quiet", "Orbit", "Lantern", "Paper",
                            "Glass", "Winter", "Echo", "Copper", "Tide", "Ember", "Falcon"], 3)
        rows.append((f"The {words[0]} Unknowns", f"{words[1]} {words[2]} No. {n + 1}", "", 200000))
    rng.shuffle(rows)
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["artist", "title", "album", "duration_ms"])
        w.writerows(rows)


def strategies(artist, title, album):
    """The tool's 8 search queries per track (plexify's matching order, in spirit)."""
    no_brackets = re.sub(r"\s*[\(\[].*?[\)\]]", "", title).strip()
    no_suffix = title.split(" - ")[0].strip()
    no_feat = re.split(r"\s+(?:feat\.?|ft\.?|featuring|with)\s+", no_brackets, flags=re.I)[0]
    first_artist = re.split(r",|&| and | feat\.? | ft\.? ", artist, flags=re.I)[0].strip()
    words = norm(no_feat).split()
    return [
        title,
        f"{artist} {title}",
        no_brackets or title,
        no_suffix or title,
        no_feat or title,
        norm(title) or title,
        f"{first_artist} {norm(no_feat)}".strip(),
        album or " ".join(words[:2]) or title,
    ]


def pick(results, artist, title):
    """The tool's own choice among the results: same normalised base title and artist."""
    want_t = norm(re.split(r"\s+-\s+|\s*[\(\[]", title)[0])
    want_a = norm(artist)
    for r in results:
        t = norm(re.split(r"\s+-\s+|\s*[\(\[]", r.get("title", ""))[0])
        a = norm(r.get("originalTitle") or r.get("grandparentTitle", ""))
        if t == want_t and (not want_a or a in want_a or want_a in a):
            return r.get("ratingKey")
    return None


def sync(base, token, playlist, name):
    plex = Plex(base, token)
    started = time.monotonic()
    sections = music_sections(plex)
    with open(playlist, newline="") as f:
        rows = list(csv.DictReader(f))
    found = []
    searches = 0
    for row in rows:
        chosen = None
        for query in strategies(row["artist"], row["title"], row["album"]):
            for key in sections:
                mc = plex.call("GET", f"/library/sections/{key}/search",
                               {"type": 10, "query": query})["MediaContainer"]
                searches += 1
                chosen = chosen or pick(mc.get("Metadata", []), row["artist"], row["title"])
        if chosen:
            found.append(str(chosen))
    machine = plex.call("GET", "/identity")["MediaContainer"]["machineIdentifier"]
    uri = f"server://{machine}/com.plexapp.plugins.library/library/metadata/{','.join(found)}"
    plex.call("POST", "/playlists", {"type": "audio", "title": name, "smart": 0, "uri": uri})
    print(json.dumps({"tracks": len(rows), "found": len(found), "searches": searches,
                      "requests": plex.requests, "seconds": time.monotonic() - started}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make-playlist":
        make_playlist(*sys.argv[2:5])
    elif cmd == "sync":
        sync(*sys.argv[2:6])
    else:
        sys.exit(__doc__)
