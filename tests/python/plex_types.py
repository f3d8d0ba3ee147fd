#!/usr/bin/env python3
"""Every attribute of the simulated Plex server's JSON answers, checked against the types the
vendored Plex OpenAPI document gives it (/work/shared/specs, copied to tests/peer/).

    plex_types.py PLEX_URL OWNER_TOKEN [--spec FILE]

A strict client (one generated from that document) rejects a whole answer when one attribute
has the wrong JSON type, e.g. `Media.aspectRatio` as the string "1.78" where the document and
Plex give the number 1.78. Two checks, over the answers of the main routes:

* by route: the answer is walked beside the route's response schema (`$ref`, `allOf`,
  `oneOf`, `anyOf`, `items`, `properties`, `additionalProperties` followed);
* by element: every object in an answer is also checked against the component schema its
  array is named after (`Metadata`, `Media`, `Part`, `Stream`, `Image`, `Hub`, `Genre` … as
  `Tag`), so routes the document describes loosely, or not at all, are checked too.

* where the document is silent: an attribute the document names nowhere for that element is
  checked against the type python-plexapi casts it to when it reads that element (`int` →
  integer, `float` → number, `bool` → boolean; read from the installed `plexapi` package's
  source, `utils.cast(T, data.attrib.get('name'))`), so no attribute that either knows goes
  unjudged.

Only JSON types are judged (string, integer, number, boolean, array, object), not formats or
enums. Prints one JSON object: the routes fetched, attributes checked, and every mismatch;
exits 1 when there is a mismatch not listed in KNOWN with its reason.
"""

import argparse
import ast
import json
import os
import sys
import urllib.parse

import requests
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "peer", "plex-api-spec.yaml")

# The component schema each JSON array's elements are, by the array's name.
ELEMENTS = {
    "Metadata": "Metadata", "Media": "Media", "Part": "Part", "Stream": "Stream",
    "Image": "Image", "Hub": "Hub", "Setting": "Setting", "Device": "Device",
    "Player": "Player", "Session": "Session", "User": "User",
    **{tag: "Tag" for tag in ("Genre", "Director", "Writer", "Role", "Country", "Collection",
                              "Label", "Mood", "Style", "Similar", "Producer", "Autotag")},
}

# The python-plexapi classes (by their TAG, else their name) that read each JSON array's
# elements, for attributes the document does not describe; None is the answer's own
# MediaContainer.
PLEXAPI_CLASSES = {
    None: ("PlexServer", "MediaContainer", "LibraryTimeline", "PlayQueue", "Identity"),
    "Metadata": ("Video", "Directory", "Track", "Audio", "Photo", "Playlist", "Playable",
                 "PlexSession", "PlexHistory", "Common", "UserState", "Collection"),
    "Directory": ("Directory", "LibrarySection"),
    "Stream": ("Stream", "MediaPartStream"),
    **{tag: ("MediaTag",) for tag in ("Genre", "Director", "Writer", "Role", "Country",
                                       "Collection", "Label", "Mood", "Style", "Similar",
                                       "Producer", "Autotag")},
}
CAST_TYPES = {"int": "integer", "float": "number", "bool": "boolean"}

# (element or route, attribute path) where the simulator keeps an answer the document or
# python-plexapi types otherwise, with the reason.
KNOWN = {
    "MediaContainer.readOnlyLibraries: integer expected, boolean given":
        "python-plexapi casts the server's readOnlyLibraries to int, but Plex writes it as a "
        "boolean in JSON (false), as it writes the root's other switches",
    "Directory.key: integer expected, string given":
        "python-plexapi casts a library section's key to int, but a Directory's key is a path "
        "segment (\"1\", \"library\", \"playlists\") that Plex writes as a string, as the "
        "document types every other key",
    "Metadata.sessionKey: integer expected, string given":
        "python-plexapi casts a session's sessionKey to int; it is an identifier Plex writes as "
        "a string, as it writes ratingKey (which the document types as a string)",
    "Metadata.score: number expected, string given":
        "a hub search hit's score; the gateway's index answers write the same string "
        "(crates/dialect), so both change together or not at all",
}


def plexapi_casts():
    """{class TAG or name: {attribute: {JSON type}}} from python-plexapi's own source."""
    try:
        import plexapi
    except ImportError:
        return {}
    root = os.path.dirname(plexapi.__file__)
    casts = {}
    for name in sorted(os.listdir(root)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(root, name), encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            tag = cls.name
            for st in cls.body:
                if (isinstance(st, ast.Assign) and isinstance(st.value, ast.Constant)
                        and any(getattr(t, "id", None) == "TAG" for t in st.targets)):
                    tag = st.value.value
            for node in ast.walk(cls):
                if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "cast"
                        and len(node.args) >= 2):
                    continue
                kind, arg = getattr(node.args[0], "id", None), node.args[1]
                if (kind in CAST_TYPES and isinstance(arg, ast.Call)
                        and getattr(arg.func, "attr", None) == "get" and arg.args
                        and isinstance(arg.args[0], ast.Constant)):
                    casts.setdefault(tag, {}).setdefault(arg.args[0].value, set()).add(
                        CAST_TYPES[kind])
    return casts


def check_silent(schemas, casts, value, parent_key, out, counter):
    """Checks the scalar attributes the document describes nowhere for their element against
    python-plexapi's casts for it."""
    if isinstance(value, dict):
        name = ELEMENTS.get(parent_key)
        schema = {"$ref": f"#/components/schemas/{name}"} if name else None
        classes = PLEXAPI_CLASSES.get(parent_key, (parent_key,))
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                check_silent(schemas, casts, v, k, out, counter)
                continue
            if schema and schemas.prop(schema, k):
                continue
            declared = set()
            for cls in classes:
                declared |= casts.get(cls, {}).get(k, set())
            if not declared:
                continue
            counter[0] += 1
            if not any(JSON_TYPES[t](v) for t in declared):
                out.append((f"{parent_key or 'MediaContainer'}.{k}", sorted(declared),
                            json_type(v), v))
    elif isinstance(value, list):
        for v in value:
            check_silent(schemas, casts, v, parent_key, out, counter)

JSON_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def json_type(v):
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if JSON_TYPES[name](v):
            return name
    return type(v).__name__


class Schemas:
    def __init__(self, spec):
        self.spec = spec

    def resolve(self, s):
        seen = 0
        while isinstance(s, dict) and "$ref" in s and seen < 50:
            node = self.spec
            for part in s["$ref"].lstrip("#/").split("/"):
                node = node[part]
            s = node
            seen += 1
        return s if isinstance(s, dict) else {}

    def parts(self, s):
        """The schema and every schema it combines (allOf, oneOf, anyOf), resolved."""
        s = self.resolve(s)
        out = [s]
        for key in ("allOf", "oneOf", "anyOf"):
            for sub in s.get(key, []):
                out.extend(self.parts(sub))
        return out

    def types(self, s):
        declared = set()
        for p in self.parts(s):
            t = p.get("type")
            if isinstance(t, str):
                declared.add(t)
            elif isinstance(t, list):
                declared.update(t)
            if p.get("nullable"):
                declared.add("null")
        return declared

    def prop(self, s, name):
        found = []
        for p in self.parts(s):
            if name in p.get("properties", {}):
                found.append(p["properties"][name])
        if not found:
            for p in self.parts(s):
                extra = p.get("additionalProperties")
                if isinstance(extra, dict) and extra:
                    found.append(extra)
        return found

    def items(self, s):
        return [p["items"] for p in self.parts(s) if "items" in p]


def check(schemas, value, candidates, path, out, counter):
    """Checks `value` against the schemas `candidates` (it must fit one); appends
    (path, expected, actual, value) for each attribute that fits none."""
    if not candidates:
        return
    declared = set()
    for c in candidates:
        declared |= schemas.types(c)
    if declared:
        counter[0] += 1
        ok = any(JSON_TYPES.get(t, lambda v: True)(value) for t in declared)
        if not ok:
            out.append((path, sorted(declared), json_type(value), value))
            return
    if isinstance(value, dict):
        for k, v in value.items():
            subs = [p for c in candidates for p in schemas.prop(c, k)]
            check(schemas, v, subs, f"{path}.{k}" if path else k, out, counter)
    elif isinstance(value, list):
        subs = [i for c in candidates for i in schemas.items(c)]
        for v in value:
            check(schemas, v, subs, f"{path}[]", out, counter)


def check_elements(schemas, value, parent_key, out, counter):
    """Checks every object's own scalar attributes against the component schema named by the
    array it sits in."""
    if isinstance(value, dict):
        name = ELEMENTS.get(parent_key)
        if name:
            schema = {"$ref": f"#/components/schemas/{name}"}
            for k, v in value.items():
                if isinstance(v, (dict, list)):
                    continue
                subs = schemas.prop(schema, k)
                check(schemas, v, subs, f"{parent_key}.{k}", out, counter)
        for k, v in value.items():
            check_elements(schemas, v, k, out, counter)
    elif isinstance(value, list):
        for v in value:
            check_elements(schemas, v, parent_key, out, counter)


def route_schema(spec, template):
    op = spec["paths"].get(template, {}).get("get")
    if not op:
        return None
    resp = op.get("responses", {}).get("200") or op.get("responses", {}).get(200)
    if not resp:
        return None
    resp = Schemas(spec).resolve(resp)
    return resp.get("content", {}).get("application/json", {}).get("schema")


class Server:
    def __init__(self, base, token):
        self.base = base.rstrip("/")
        self.s = requests.Session()
        self.s.headers.update({"X-Plex-Token": token, "Accept": "application/json",
                               "X-Plex-Client-Identifier": "plex-types-check",
                               "X-Plex-Product": "plex-types-check"})

    def get(self, path):
        r = self.s.get(self.base + path, timeout=30)
        r.raise_for_status()
        return r.json()

    def send(self, method, path):
        r = self.s.request(method, self.base + path, timeout=30)
        r.raise_for_status()
        return r.json() if r.content and "json" in r.headers.get("Content-Type", "") else None


def first(doc, key="Metadata"):
    return doc["MediaContainer"][key][0]


def requests_to_check(plex):
    """(spec path template, concrete path) for every main route, after a few writes so that
    sessions, history, playlists, collections and play queues have something in them."""
    sections = plex.get("/library/sections")["MediaContainer"]["Directory"]
    by_type = {s["type"]: s["key"] for s in sections}
    movie = first(plex.get(f"/library/sections/{by_type['movie']}/all"))
    show = first(plex.get(f"/library/sections/{by_type['show']}/all"))
    artist = first(plex.get(f"/library/sections/{by_type['artist']}/all"))
    season = first(plex.get(f"/library/metadata/{show['ratingKey']}/children"))
    episode = first(plex.get(f"/library/metadata/{season['ratingKey']}/children"))
    album = first(plex.get(f"/library/metadata/{artist['ratingKey']}/children"))
    track = first(plex.get(f"/library/metadata/{album['ratingKey']}/children"))
    machine = plex.get("/identity")["MediaContainer"]["machineIdentifier"]
    uri = urllib.parse.quote(f"server://{machine}/com.plexapp.plugins.library/library/metadata/"
                             f"{movie['ratingKey']},{episode['ratingKey']}", safe="")
    playlist = first(plex.send("POST", f"/playlists?type=video&title=Types&smart=0&uri={uri}"))
    queue = plex.send("POST", f"/playQueues?type=video&uri={uri}")["MediaContainer"]
    plex.send("GET", f"/:/scrobble?key={movie['ratingKey']}&identifier=com.plexapp.plugins.library")
    plex.send("GET", f"/:/timeline?ratingKey={episode['ratingKey']}"
                     f"&key=/library/metadata/{episode['ratingKey']}&state=playing&time=60000")
    out = [("/identity", "/identity"), ("/", "/"), ("/library/sections/all", "/library/sections")]
    for key in by_type.values():
        out += [
            ("/library/sections/{sectionId}", f"/library/sections/{key}"),
            ("/library/sections/{sectionId}/all", f"/library/sections/{key}/all"),
            ("/library/sections/{sectionId}/recentlyAdded",
             f"/library/sections/{key}/recentlyAdded"),
            ("/hubs/sections/{sectionId}", f"/hubs/sections/{key}"),
            ("/library/sections/{sectionId}/collections", f"/library/sections/{key}/collections"),
        ]
    out += [("/library/sections/{sectionId}/all", f"/library/sections/{by_type['artist']}/all?type=9"),
            ("/library/sections/{sectionId}/all", f"/library/sections/{by_type['artist']}/all?type=10"),
            ("/library/sections/{sectionId}/all", f"/library/sections/{by_type['show']}/all?type=4")]
    for item in (movie, show, season, episode, artist, album, track):
        key = item["ratingKey"]
        out += [("/library/metadata/{ids}", f"/library/metadata/{key}"),
                ("/library/metadata/{ids}/children", f"/library/metadata/{key}/children")]
    for item in (show, artist):
        out.append(("/library/metadata/{ids}/allLeaves",
                    f"/library/metadata/{item['ratingKey']}/allLeaves"))
    title = urllib.parse.quote(movie["title"].split()[0])
    out += [
        ("/hubs/search", f"/hubs/search?query={title}&limit=10"),
        ("/library/sections/{sectionId}/search",
         f"/library/sections/{by_type['movie']}/search?type=1&query={title}"),
        ("/library/recentlyAdded", "/library/recentlyAdded"),
        ("/hubs/home/recentlyAdded", "/hubs/home/recentlyAdded?type=1"),
        ("/library/onDeck", "/library/onDeck"),
        ("/hubs/continueWatching", "/hubs/continueWatching"),
        ("/status/sessions", "/status/sessions"),
        ("/status/sessions/history/all", "/status/sessions/history/all"),
        ("/activities", "/activities"),
        ("/playlists", "/playlists"),
        ("/playlists/{playlistId}", f"/playlists/{playlist['ratingKey']}"),
        ("/playlists/{playlistId}/items", f"/playlists/{playlist['ratingKey']}/items"),
        ("/playQueues/{playQueueId}", f"/playQueues/{queue['playQueueID']}"),
        ("/:/prefs", "/:/prefs"),
        ("/butler", "/butler"),
        ("/accounts", "/accounts"),
        ("/devices", "/devices"),
    ]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plex_url")
    ap.add_argument("token")
    ap.add_argument("--spec", default=SPEC)
    args = ap.parse_args()
    with open(args.spec, encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    schemas = Schemas(spec)
    plex = Server(args.plex_url, args.token)
    mismatches, unknown, fetched, counter, silent_counter = {}, [], [], [0], [0]
    casts = plexapi_casts()
    for template, path in requests_to_check(plex):
        doc = plex.get(path)
        fetched.append(path)
        found = []
        schema = route_schema(spec, template)
        if schema:
            check(schemas, doc, [schema], "", found, counter)
        else:
            unknown.append(template)
        check_elements(schemas, doc, None, found, counter)
        check_silent(schemas, casts, doc.get("MediaContainer", doc), None, found, silent_counter)
        for where, expected, actual, value in found:
            key = f"{where}: {'|'.join(expected)} expected, {actual} given"
            mismatches.setdefault(key, {"example": value, "routes": []})
            if path not in mismatches[key]["routes"]:
                mismatches[key]["routes"].append(path)
    unexplained = {k: v for k, v in mismatches.items()
                   if not any(k.startswith(known) for known in KNOWN)}
    print(json.dumps({"routes": len(fetched), "attributes_checked": counter[0],
                      "undocumented_attributes_checked_against_plexapi": silent_counter[0],
                      "routes_without_schema": sorted(set(unknown)),
                      "mismatches": mismatches}, indent=1, default=str))
    sys.exit(1 if unexplained else 0)


if __name__ == "__main__":
    main()
