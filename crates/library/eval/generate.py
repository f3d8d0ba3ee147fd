#!/usr/bin/env python3
"""Builds the real-world matching evaluation set from the hand-written recording lists.

Inputs (hand-written, real recordings):
  recordings.psv  recordings in the library, with the library's other versions of each
  absent.psv      real recordings that are not in the library (traps)

Outputs (deterministic; re-running reproduces them byte for byte):
  library.json    the library's tracks (ids, titles, artists, album artists, albums, durations,
                  some ISRCs and MusicBrainz recording ids)
  queries.json    playlist entries spelled the way exports spell them, each with its expected
                  library ids (empty for traps), its failure class, its export source and its
                  part (`dev` or `held-out`)

The part of a query is decided by a hash of its recording id (SHA-256, first byte: 0-76 is
held-out, about 30 %), so a recording, its versions and every query about it stay on one side.

Run from anywhere: python3 crates/library/eval/generate.py
"""

import hashlib
import json
import random
import re
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 13

VERSION_KINDS = ["live", "demo", "acoustic", "remix", "instrumental", "karaoke"]


def digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def part_of(recording_id):
    return "held-out" if int(digest(recording_id)[:2], 16) < 77 else "dev"


def seconds(mmss):
    minutes, secs = mmss.split(":")
    return int(minutes) * 60 + int(secs)


def fold(text):
    """A rough fold used only to classify traps (not the matcher's normaliser)."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"\(.*?\)|\[.*?\]", " ", text)
    text = re.sub(r"[^\w]+", " ", text)
    return " ".join(w for w in text.split() if w != "the")


def read_recordings():
    recordings = []
    for line in (HERE / "recordings.psv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("|")
        if line.startswith("+"):
            kind, artist, title, album, duration = fields
            recordings[-1]["versions"].append(
                {
                    "kind": kind[1:],
                    "artist": artist or recordings[-1]["artist"],
                    "title": title,
                    "album": album,
                    "seconds": seconds(duration),
                }
            )
            continue
        artist, title, album, year, duration, genre, lang, classes, alts = fields
        alt_artists = [a[2:] for a in alts.split(";") if a.startswith("a:")]
        alt_titles = [a[2:] for a in alts.split(";") if a.startswith("t:")]
        recordings.append(
            {
                "id": "r" + digest(artist + "|" + title)[:10],
                "artist": artist,
                "title": title,
                "album": album,
                "year": int(year),
                "seconds": seconds(duration),
                "genre": genre,
                "lang": lang,
                "classes": classes.split(","),
                "alt_artists": alt_artists,
                "alt_titles": alt_titles,
                "versions": [],
            }
        )
    return recordings


def read_absent():
    absent = []
    for line in (HERE / "absent.psv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cls, artist, title, album, year, duration, genre, lang = line.split("|")
        absent.append(
            {
                "id": "a" + digest(artist + "|" + title)[:10],
                "class": cls,
                "artist": artist,
                "title": title,
                "album": album,
                "seconds": seconds(duration),
                "lang": lang,
            }
        )
    return absent


def fake_uuid(text):
    h = digest("mbid|" + text)
    return f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def fake_isrc(text):
    h = int(digest("isrc|" + text)[:12], 16)
    country = ["US", "GB", "DE", "FR", "JP", "KR", "SE", "RU"][h % 8]
    return f"{country}{'ABCDEFGHJK'[h % 10]}{h % 97:02d}{h % 89 + 10:02d}{h % 100000:05d}"


# ---------------------------------------------------------------------------------------------
# The library


def build_library(recordings, rng):
    tracks = []
    counter = [0]

    def add(recording, kind, artist, title, album, secs, album_artist=None, section="1"):
        counter[0] += 1
        track = {
            "id": f"t{counter[0]:05d}",
            "section_id": section,
            "recording": recording["id"],
            "kind": kind,
            "title": title,
            "artists": [artist],
            "album_artist": album_artist or artist,
            "album": album,
            "duration_ms": secs * 1000 + rng.randrange(0, 1000),
        }
        # Tagged libraries carry MusicBrainz recording ids (Picard) on some tracks and
        # ISRCs on fewer.
        if rng.random() < 0.3:
            track["musicbrainz_ids"] = [fake_uuid(recording["id"] + kind + title)]
        if rng.random() < 0.15:
            track["isrc"] = fake_isrc(recording["id"] + kind + title)
        tracks.append(track)
        return track

    for recording in recordings:
        original = add(
            recording,
            "original",
            recording["artist"],
            recording["title"],
            recording["album"],
            recording["seconds"],
        )
        recording["library"] = {"original": [original["id"]]}
        # Compilation copies of the same recording: a "Various Artists" album whose track
        # artist is the real one, or a second (lossless) section.
        if rng.random() < 0.12:
            copy = add(
                recording,
                "original",
                recording["artist"],
                recording["title"],
                rng.choice(["Now That's What I Call Music!", "The Greatest Hits Collection",
                            "Ultimate Hits", "Pure Anthems", "Best of the Decade"]),
                recording["seconds"],
                album_artist="Various Artists",
            )
            copy["duration_ms"] = original["duration_ms"] + rng.randrange(-900, 900)
            copy.pop("musicbrainz_ids", None)
            if "musicbrainz_ids" in original and rng.random() < 0.5:
                copy["musicbrainz_ids"] = original["musicbrainz_ids"]
            recording["library"]["original"].append(copy["id"])
        if rng.random() < 0.05:
            copy = dict(original, id=None, section_id="2")
            counter[0] += 1
            copy["id"] = f"t{counter[0]:05d}"
            tracks.append(copy)
            recording["library"]["original"].append(copy["id"])
        for version in recording["versions"]:
            track = add(
                recording,
                version["kind"],
                version["artist"],
                version["title"],
                version["album"],
                version["seconds"],
            )
            version["library_id"] = track["id"]
            if version["kind"] == "remaster":
                # The same recording on another release.
                recording["library"]["original"].append(track["id"])
    return tracks


# ---------------------------------------------------------------------------------------------
# Export spellings


def featured_of(recording):
    """Featured artists named by an alternate credit "A feat. B" or "A, B"."""
    for alt in recording["alt_artists"]:
        if " feat. " in alt:
            rest = alt.split(" feat. ", 1)[1]
            return [n.strip() for n in re.split(r",| & ", rest) if n.strip()]
    return []


SPOTIFY_SUFFIX = {
    "live": ["Live", "Live at {venue}", "Live {year}", "Live / Remastered"],
    "demo": ["Demo", "Demo Version", "Home Demo", "Demo / Remastered {year}"],
    "acoustic": ["Acoustic", "Acoustic Version"],
    "instrumental": ["Instrumental", "Instrumental Version"],
    "karaoke": ["Karaoke Version", "Karaoke"],
}
VENUES = ["Wembley Stadium", "Madison Square Garden", "the BBC", "Budokan", "Glastonbury",
          "the Royal Albert Hall", "Red Rocks", "Montreux"]


KIND_WORDS = {
    "live": ["live"],
    "demo": ["demo"],
    "acoustic": ["acoustic", "unplugged"],
    "instrumental": ["instrumental"],
    "karaoke": ["karaoke"],
}


def respell_version(version, rng):
    """A version's title spelled the way a store would, from its library title."""
    title = version["title"]
    kind = version["kind"]
    trailing = re.search(r"\s*[\(\[]([^\(\)\[\]]*)[\)\]]\s*$", title)
    base = title[: trailing.start()].strip() if trailing else title
    inner = trailing.group(1) if trailing else ""
    if kind in SPOTIFY_SUFFIX:
        if not any(word in inner.lower() for word in KIND_WORDS[kind]):
            # The library names this version its own way ("Take 2", "Various Sessions"):
            # stores use those words too.
            words = inner
        elif kind == "acoustic" and ("Live" in title or "Unplugged" in title):
            words = rng.choice(["Live Acoustic", "Acoustic Live", "MTV Unplugged", "Unplugged"])
        elif kind == "acoustic":
            words = rng.choice(["Acoustic", "Acoustic Version"])
        elif kind == "live" and rng.random() < 0.4:
            words = inner
        else:
            words = rng.choice(SPOTIFY_SUFFIX[kind]).format(
                venue=rng.choice(VENUES), year=rng.choice([1974, 1986, 1994, 2003, 2011])
            )
        if not words:
            return title
        style = rng.random()
        if style < 0.45:
            return f"{base} - {words}"
        if style < 0.8:
            return f"{base} ({words})"
        return f"{base} [{words}]"
    if kind in ("remix", "edit") and inner:
        return f"{base} - {inner}" if rng.random() < 0.5 else title
    return title


def youtube_title(artist, title, rng):
    return rng.choice(
        [
            f"{artist} - {title} (Official Video)",
            f"{artist} - {title} [Official Music Video]",
            f"{artist} - {title} (Official Audio)",
            f"{artist} - {title} (Lyrics)",
            f"{artist} - {title} (Official HD Video)",
            f"{title} (Official Video)",
            f"{artist} – {title} (Visualizer)",
        ]
    )


def m3u_text(artist, title, album, secs, rng):
    style = rng.random()
    number = rng.randrange(1, 15)
    safe_title = title.replace("/", "_").replace("?", "").replace(":", " -")
    safe_artist = artist.replace("/", "_")
    safe_album = album.replace("/", "_").replace(":", " -")
    if style < 0.5:
        return f"#EXTM3U\n#EXTINF:{secs},{artist} - {title}\n/music/{safe_artist}/{safe_album}/{number:02d} {safe_title}.flac\n"
    if style < 0.75:
        return f"/home/me/Music/{safe_artist}/{safe_album}/{number:02d} - {safe_title}.mp3\n"
    return f"D:\\Music\\{safe_artist} - {safe_title}.mp3\n"


def spell(recording, source, rng, title=None, artist=None, album=None, secs=None, extra=None):
    """One query as `source` would export it."""
    title = title or recording["title"]
    artist = artist or recording["artist"]
    album = album if album is not None else recording["album"]
    secs = secs if secs is not None else recording["seconds"]
    query = {"source": source}
    if source == "spotify":
        query.update(
            artist=artist,
            title=title,
            album=album + rng.choice(["", "", "", " (Remastered)", " (Deluxe Edition)",
                                      " (Expanded Edition)"]),
            duration_ms=secs * 1000 + rng.randrange(-1500, 1500),
        )
    elif source == "apple":
        query.update(
            artist=artist,
            title=title,
            album=album + rng.choice(["", "", " - Single", " (Deluxe Version)"]),
            duration_ms=secs * 1000 + rng.randrange(-1000, 1000),
        )
    elif source == "lastfm":
        query.update(artist=artist, title=title)
        if rng.random() < 0.5:
            query["album"] = album
        if rng.random() < 0.15:
            query["artist"] = artist.lower()
            query["title"] = title.lower()
    elif source == "youtube":
        if rng.random() < 0.45:
            query.update(
                artist=f"{artist} - Topic",
                title=title,
                album=album,
                duration_ms=secs * 1000 + rng.randrange(-1000, 1000),
            )
        else:
            channel = rng.choice([artist, artist.replace(" ", "") + "VEVO", artist + " Official"])
            query.update(artist=channel, title=youtube_title(artist, title, rng))
            if rng.random() < 0.5:
                query["duration_ms"] = (secs + rng.randrange(0, 4)) * 1000
    elif source == "m3u":
        query["m3u"] = m3u_text(artist, title, album, secs + rng.randrange(-1, 2), rng)
    if extra:
        query.update(extra)
    return query


# Failure classes, from the recording lists' short names.
CLASS_NAMES = {
    "plain": "plain",
    "stylised": "stylised-names",
    "duo": "duo-alias",
    "paren": "parenthetical",
    "number": "numbers",
    "nonlatin": "non-latin",
    "diacritics": "diacritics",
    "feat": "featured",
    "cover": "cover",
}

SOURCES = ["spotify", "spotify", "apple", "lastfm", "youtube", "m3u"]


def pick_source(rng):
    return rng.choice(SOURCES)


# ---------------------------------------------------------------------------------------------
# Queries


def positive_queries(recording, tracks_by_id, rng):
    queries = []
    classes = recording["classes"]
    primary = CLASS_NAMES[classes[0]]
    expected = recording["library"]["original"]
    featured = featured_of(recording)
    n = 3
    for i in range(n):
        source = pick_source(rng)
        title = recording["title"]
        artist = recording["artist"]
        cls = primary
        # Alternate spellings (stylised names, alias forms, parenthetical parts, numbers
        # written differently, transliterations) for the queries that test them.
        if recording["alt_artists"] and (i == 0 or rng.random() < 0.4):
            artist = rng.choice(recording["alt_artists"])
        if recording["alt_titles"] and (i == 1 or rng.random() < 0.35):
            title = rng.choice(recording["alt_titles"])
        if featured and source in ("spotify", "apple") and " feat. " in artist:
            lead = artist.split(" feat. ")[0]
            if source == "spotify":
                artist = ", ".join([lead] + featured)
                title = f"{title} (feat. {' & '.join(featured)})" if rng.random() < 0.5 else title
            else:
                artist = lead
                title = f"{title} (feat. {' & '.join(featured)})"
        if source == "spotify" and recording["year"] < 2000 and rng.random() < 0.3:
            title = f"{title} - Remastered {rng.choice([2001, 2009, 2011, 2015, 2018])}"
        if source == "apple" and recording["year"] < 2000 and rng.random() < 0.2:
            title = f"{title} ({rng.choice([2001, 2011, 2015])} Remaster)"
        if primary in ("plain", "cover") and source in ("youtube", "m3u"):
            cls = "export-" + source
        if primary == "plain" and source == "lastfm" and rng.random() < 0.3:
            # Scrobbles with a typo in the title happen when files are hand-tagged.
            title = typo(title, rng)
            cls = "typo"
        extra = {}
        library = tracks_by_id[expected[0]]
        if source == "spotify" and "isrc" in library and rng.random() < 0.5:
            extra["isrc"] = library["isrc"]
            cls = "ids"
        elif source == "spotify" and rng.random() < 0.3:
            # Another release's ISRC, unknown to the library.
            extra["isrc"] = fake_isrc("other release " + recording["id"] + str(i))
        if source == "lastfm" and "musicbrainz_ids" in library and rng.random() < 0.5:
            extra["musicbrainz_id"] = library["musicbrainz_ids"][0]
            cls = "ids"
        query = spell(recording, source, rng, title=title, artist=artist, extra=extra)
        query.update(cls=cls, expected=expected)
        queries.append(query)
    for version in recording["versions"]:
        kind = version["kind"]
        if kind == "remaster":
            continue
        for i in range(2):
            source = rng.choice(["spotify", "apple", "lastfm", "youtube"])
            title = respell_version(version, rng)
            artist = version["artist"]
            cls = {"edit": "edit-duration", "rerecord": "parenthetical",
                   "featversion": "featured", "cover": "cover"}.get(kind, "version-kind")
            if kind == "remix":
                inner = re.findall(r"[\(\[]([^\)\]]*)[\)\]]\s*$", version["title"])
                remixer = re.sub(r"\s*(Remix|Mix|Edit)$", "", inner[-1]).strip() if inner else ""
                named = remixer and not re.search(
                    r"\b(Speed|Tropical|Afrobeat|Pump|Masse|Vs\.|Extended|Club|Radio)\b", remixer)
                if named and remixer != inner[-1] and i == 1:
                    # The remixer in the artist credit, the title saying only "Remix".
                    base = re.sub(r"\s*[\(\[][^\(\)\[\]]*[\)\]]\s*$", "",
                                  version["title"]).strip()
                    artist = rng.choice([f"{artist}, {remixer}", f"{artist} feat. {remixer}",
                                         f"{artist} & {remixer}"])
                    title = f"{base} - Remix" if rng.random() < 0.5 else f"{base} (Remix)"
                    cls = "remixer-credit"
            extra = {}
            if kind == "edit" and source in ("spotify", "apple") and rng.random() < 0.5:
                # Stores often spell the single edit like the album track; the duration
                # tells them apart.
                title = recording["title"]
            query = spell(recording, source, rng, title=title, artist=artist,
                          album=version["album"], secs=version["seconds"], extra=extra)
            if kind == "edit" and "duration_ms" not in query and title == recording["title"]:
                continue
            query.update(cls=cls, expected=[version["library_id"]])
            queries.append(query)
    return queries


def typo(title, rng):
    words = title.split(" ")
    longest = max(range(len(words)), key=lambda k: len(words[k]))
    word = words[longest]
    if len(word) < 5:
        return title
    at = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2:]
    else:
        word = word[:at] + word[at + 1:]
    words[longest] = word
    return " ".join(words)


TRAP_SUFFIX = {
    "live": ["Live", "Live at {venue}", "Live {year}"],
    "demo": ["Demo", "Demo Version"],
    "acoustic": ["Acoustic", "Acoustic Version", "MTV Unplugged"],
    "remix": ["{who} Remix", "Extended Mix", "Club Mix"],
    "instrumental": ["Instrumental"],
    "karaoke": ["Karaoke Version"],
}
REMIXERS = ["Kaskade", "Tiësto", "Armand van Helden", "Purple Disco Machine", "Dimitri Vegas",
            "R3HAB", "Oliver Heldens"]


def version_traps(recording, rng):
    """Queries for a version of the recording that the library does not have."""
    have = {v["kind"] for v in recording["versions"]}
    # A version titled "(Live)" counts as live whatever its kind ("Nutshell (Live)" from an
    # unplugged album), so the trap never asks for something the library has.
    for version in recording["versions"]:
        lowered = version["title"].lower()
        for kind, words in (("live", ["live"]), ("acoustic", ["acoustic", "unplugged"]),
                            ("demo", ["demo"]), ("remix", ["remix", " mix"]),
                            ("instrumental", ["instrumental"]), ("karaoke", ["karaoke"])):
            if any(word in lowered for word in words):
                have.add(kind)
    missing = [k for k in TRAP_SUFFIX if k not in have]
    rng.shuffle(missing)
    queries = []
    for kind in missing[:1]:
        words = rng.choice(TRAP_SUFFIX[kind]).format(
            venue=rng.choice(VENUES), year=rng.choice([1979, 1994, 2005]),
            who=rng.choice(REMIXERS))
        title = re.sub(r"\s*[\(\[][^\)\]]*(Remaster|Version)[^\)\]]*[\)\]]$", "",
                       recording["title"])
        title = f"{title} - {words}" if rng.random() < 0.5 else f"{title} ({words})"
        source = rng.choice(["spotify", "apple", "lastfm"])
        secs = recording["seconds"] + rng.choice([-40, -25, 20, 35, 60, 95])
        query = spell(recording, source, rng, title=title, secs=max(secs, 60))
        query.update(cls="other-version", expected=[])
        queries.append(query)
    return queries


def edit_traps(recording, rng):
    """A radio edit asked for when the library has only the long album version."""
    if recording["seconds"] < 330 or any(v["kind"] == "edit" for v in recording["versions"]):
        return []
    secs = int(recording["seconds"] * rng.uniform(0.45, 0.7))
    title = f"{recording['title']} - {rng.choice(['Radio Edit', 'Single Edit', 'Edit'])}"
    source = rng.choice(["spotify", "apple"])
    query = spell(recording, source, rng, title=title, secs=secs)
    query.update(cls="edit-duration", expected=[])
    return [query]


def absent_queries(trap, library_titles, library_artists, rng):
    queries = []
    cls = trap["class"]
    folded = fold(trap["title"])
    if cls == "same-title" and folded not in library_titles:
        cls = "absent"
    if cls == "absent" and fold(trap["artist"]) in library_artists and numbers_differ(
        folded, library_titles
    ):
        cls = "numbers"
    record = {
        "artist": trap["artist"],
        "title": trap["title"],
        "album": trap["album"],
        "seconds": trap["seconds"],
        "alt_artists": [],
    }
    for _ in range(2):
        source = rng.choice(["spotify", "apple", "lastfm", "youtube", "m3u"])
        query = spell(record, source, rng)
        query.update(cls={"other-version": "other-version", "numbers": "numbers"}.get(
            cls, "trap-" + cls), expected=[])
        queries.append(query)
    return queries


def numbers_differ(folded, library_titles):
    strip = lambda t: re.sub(r"\b(\d+|[ivx]+)\b", "#", t)
    return any(strip(folded) == strip(t) and folded != t for t in library_titles)


def main():
    rng = random.Random(SEED)
    recordings = read_recordings()
    absent = read_absent()
    tracks = build_library(recordings, rng)
    tracks_by_id = {t["id"]: t for t in tracks}
    library_titles = {fold(t["title"]) for t in tracks}
    library_artists = {fold(t["artists"][0]) for t in tracks}
    queries = []
    for recording in recordings:
        made = positive_queries(recording, tracks_by_id, rng)
        if rng.random() < 0.6:
            made += version_traps(recording, rng)
        if rng.random() < 0.6 and recording["genre"] not in ("classical", "jazz"):
            made += edit_traps(recording, rng)
        for query in made:
            query["recording"] = recording["id"]
        queries += made
    for trap in absent:
        made = absent_queries(trap, library_titles, library_artists, rng)
        for query in made:
            query["recording"] = trap["id"]
        queries += made
    out = []
    for n, query in enumerate(queries):
        entry = {
            "id": f"q{n + 1:05d}",
            "part": part_of(query["recording"]),
            "class": query["cls"],
            "source": query["source"],
            "recording": query["recording"],
        }
        for key in ("artist", "title", "album", "duration_ms", "isrc", "musicbrainz_id", "m3u"):
            if key in query and query[key] is not None:
                entry[key] = query[key]
        entry["expected"] = query["expected"]
        out.append(entry)
    library = []
    for track in tracks:
        entry = {k: v for k, v in track.items() if k not in ("recording", "kind")}
        library.append(entry)
    (HERE / "library.json").write_text(
        json.dumps(library, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    (HERE / "queries.json").write_text(
        json.dumps(out, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    positives = sum(1 for q in out if q["expected"])
    print(f"{len(recordings)} recordings, {len(absent)} absent, {len(tracks)} library tracks, "
          f"{len(out)} queries ({positives} positive, {len(out) - positives} traps = "
          f"{100 * (len(out) - positives) / len(out):.1f} %)")
    for part in ("dev", "held-out"):
        n = [q for q in out if q["part"] == part]
        print(f"  {part}: {len(n)} queries, {sum(1 for q in n if q['expected'])} positive")
    counts = {}
    for q in out:
        counts[q["class"]] = counts.get(q["class"], 0) + 1
    print("  classes:", dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
