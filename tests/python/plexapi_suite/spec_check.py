#!/usr/bin/env python3
"""Validates the simulator's Plex JSON answers against the community Plex OpenAPI document
(tests/peer/plex-api-spec.yaml) with openapi-core: status codes, required fields, types, for
every route the simulator implements that the spec describes. Then the same requests through
`cachearr serve`: each answer must pass the same schema and carry the same attributes as the
simulator's answer for the same request.

    spec_check.py [--cachearr target/debug/cachearr] [--json] [--check]

--check exits 1 when an answer fails the schema in a way not listed in KNOWN_SPEC_ERRORS, or
when cachearr's answer differs in attributes from the server's.
"""

import argparse
import copy
import fnmatch
import json
import os
import re
import sys
import time

import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the harness: starts the simulator and the gateway)

SPEC = os.path.join(run.ROOT, "tests", "peer", "plex-api-spec.yaml")

# Where the spec and the real server (as python-plexapi and the simulator see it) disagree.
# Keyed by (route, the schema error's JSON path), each with the reason the simulator keeps
# its answer. docs/simulator.md lists them.
KNOWN_SPEC_ERRORS = {
    ("/library/sections/{sectionId}", "MediaContainer/Directory/*", "'addedAt' is a required property"):
        "a section's own answer lists its browse directories (key, title: All, On Deck, "
        "By Year …), which carry no addedAt or type on a real server; python-plexapi reads "
        "them that way",
    ("/library/sections/{sectionId}", "MediaContainer/Directory/*", "'type' is a required property"):
        "as above: browse directories have no type",
    ("*", "*/Stream/*", "'key' is a required property"):
        "only external (sidecar) subtitle streams have a key on a real server; embedded audio "
        "and video streams do not (python-plexapi's own test checks stream.key is None)",
    ("*", "*/Guid/*/id", "does not match '^(imdb|tmdb|tvdb)://.+$'"):
        "music items carry mbid:// guids (python-plexapi's test asserts mbid:// in album.guids)",
    ("/:/scrobble", "", "Content for the following mimetype not found: application/json"):
        "the spec declares text/html for an empty acknowledgement; the body is empty either "
        "way and clients read only the status",
    ("/:/rate", "", "Content for the following mimetype not found: application/json"):
        "as for /:/scrobble",
}

# Where cachearr's own (index-rendered) answer is known to differ from the server's, with the
# reason; any other difference fails --check. Index answers are written from the server's own
# item elements (crates/copy/src/library/elements.rs), so none is expected.
KNOWN_GATEWAY_GAPS = {}

def _match(known, route, path, message):
    for (r, p, m), reason in known.items():
        if r not in ("*", route):
            continue
        if p != "*" and not fnmatch.fnmatchcase(path, p) and p != path:
            continue
        if m in message:
            return reason
    return None


def requests_to_check(get):
    """The concrete requests: one per implemented route the spec covers, with ids read from
    the served library."""
    secs = get("/library/sections").json()["MediaContainer"]["Directory"]
    by_type = {s["type"]: s["key"] for s in secs}
    movie_sec, show_sec, music_sec = by_type["movie"], by_type["show"], by_type["artist"]
    movies = get(f"/library/sections/{movie_sec}/all").json()["MediaContainer"]["Metadata"]
    shows = get(f"/library/sections/{show_sec}/all").json()["MediaContainer"]["Metadata"]
    artists = get(f"/library/sections/{music_sec}/all").json()["MediaContainer"]["Metadata"]
    movie, show, artist = movies[0]["ratingKey"], shows[0]["ratingKey"], artists[0]["ratingKey"]
    season = get(f"/library/metadata/{show}/children").json()["MediaContainer"]["Metadata"][0]
    episode = get(f"/library/metadata/{season['ratingKey']}/children").json()[
        "MediaContainer"]["Metadata"][0]["ratingKey"]
    album = get(f"/library/metadata/{artist}/children").json()["MediaContainer"]["Metadata"][0]
    track = get(f"/library/metadata/{album['ratingKey']}/children").json()[
        "MediaContainer"]["Metadata"][0]["ratingKey"]
    return [
        ("GET", "/identity"),
        ("GET", "/"),
        ("GET", "/library/sections/all"),
        ("GET", f"/library/sections/{movie_sec}"),
        ("GET", f"/library/sections/{movie_sec}/all"),
        ("GET", f"/library/sections/{show_sec}/all?type=4"),
        ("GET", f"/library/sections/{music_sec}/all?type=10"),
        ("GET", f"/library/sections/{music_sec}/all?type=9&includeGuids=1"),
        ("GET", f"/library/metadata/{movie}"),
        ("GET", f"/library/metadata/{episode}"),
        ("GET", f"/library/metadata/{track}"),
        ("GET", f"/library/metadata/{show}/allLeaves"),
        ("GET", "/hubs/search?query=the&limit=10"),
    ] + [
        # One hub per kind the index answers (album and track, artist, movie, episode) and
        # one the server answers (show), each without and with Guid children.
        ("GET", f"/hubs/search?query={q}{extra}{guids}")
        for q, extra in (("layers", f"&sectionId={music_sec}"), ("broke", ""),
                         ("sintel", f"&sectionId={movie_sec}"),
                         ("winter", f"&sectionId={show_sec}"), ("game", ""))
        for guids in ("", "&includeGuids=1")
    ] + [
        # python-plexapi's searchTracks / searchAlbums (always with includeGuids=1).
        ("GET", f"/library/sections/{music_sec}/all?type=10&title=layers&includeGuids=1"),
        ("GET", f"/library/sections/{music_sec}/all?type=9&title=layers&includeGuids=1"),
        ("GET", f"/library/sections/{movie_sec}/all?type=1&title=sintel"),
    ] + [
        ("GET", "/hubs/continueWatching"),
        ("GET", "/status/sessions"),
        ("GET", "/status/sessions/history/all"),
        ("GET", "/activities"),
        ("GET", "/playlists"),
        ("PUT", f"/:/scrobble?key={movie}&identifier=com.plexapp.plugins.library"),
        ("PUT", f"/:/rate?key={movie}&identifier=com.plexapp.plugins.library&rating=8"),
        ("POST", f"/:/timeline?ratingKey={episode}&key=/library/metadata/{episode}"
                 f"&state=paused&time=1000&duration=3300000"),
    ]


def wait_for_index(sess, gw_url, reqs, limit=60.0):
    """Waits until cachearr answers the first hub search from its index (its crawl of the
    library has finished); the comparison is of index answers, not of proxied ones."""
    probe = next(p for m, p in reqs if p.startswith("/hubs/search?query=layers"))
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        r = sess.get(gw_url + probe, timeout=30)
        if "detail=index" in r.headers.get("cache-status", ""):
            return
        time.sleep(0.2)
    raise SystemExit(f"cachearr did not answer {probe} from its index within {limit} s")


def schema_errors(api, resp):
    """The schema errors of one answer, as (JSON path, message) pairs."""
    try:
        api.validate_response(RequestsOpenAPIRequest(resp.request),
                              RequestsOpenAPIResponse(resp))
        return []
    except Exception as err:  # noqa: BLE001 - openapi-core raises several kinds
        out = []
        cause = err.__cause__ or err
        for e in getattr(cause, "schema_errors", None) or []:
            path = "/".join(str(p) for p in e.absolute_path)
            out.append((path, e.message[:200]))
        if not out:
            out.append(("", f"{type(err).__name__}: {err}"[:300]))
        return out


def attr_shape(value):
    """The attribute names of every element of an answer (what cachearr must keep)."""
    names = set()

    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                if isinstance(x, (dict, list)):
                    walk(x, f"{path}.{k}")
                else:
                    names.add(f"{path}.{k}")
        elif isinstance(v, list):
            for x in v:
                walk(x, path + "[]")

    walk(value, "")
    return names


def value_diffs(a, b, path="", out=None):
    """Where two answers differ in value or order (for answers cachearr wrote itself, which
    must equal the server's, not only carry the same attribute names)."""
    out = [] if out is None else out
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            out.append(f"{path}: keys {list(a)} != {list(b)}")
        for k in a:
            if k in b:
                value_diffs(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} != {len(b)} elements")
        for i, (x, y) in enumerate(zip(a, b)):
            value_diffs(x, y, f"{path}[{i}]", out)
    elif a != b or type(a) is not type(b):
        out.append(f"{path}: {a!r} != {b!r}")
    return out


def check(base, token, api, reqs):
    s = requests.Session()
    s.headers.update({"X-Plex-Token": token, "Accept": "application/json",
                      "X-Plex-Client-Identifier": "spec-check"})
    rows = []
    for method, path in reqs:
        resp = s.request(method, base + path, timeout=30)
        body = None
        if resp.headers.get("content-type", "").startswith("application/json") and resp.text:
            body = resp.json()
        route = api_route(api.spec.accessor.lookup["paths"].keys(), path)
        rows.append({"method": method, "path": path, "route": route, "status": resp.status_code,
                     "errors": schema_errors(api, resp), "body": body,
                     "from_index": "detail=index" in resp.headers.get("cache-status", "")})
    return rows


def api_route(paths, path):
    """The spec's path template that `path` falls under (the one with the fewest parameters)."""
    path = path.split("?")[0]
    best = None
    for tmpl in paths:
        rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tmpl)) + "$"
        if re.match(rx, path):
            n = tmpl.count("{")
            if best is None or n < best[0]:
                best = (n, tmpl)
    return best[1] if best else path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cachearr", default=os.path.join(run.ROOT, "target", "debug", "cachearr"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    with open(SPEC, encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    started = time.monotonic()
    procs = []
    import tempfile
    with tempfile.TemporaryDirectory(prefix="spec-check-") as tmp, \
            open(os.path.join(tmp, "log"), "w", encoding="utf-8") as log:
        try:
            sim, sim_url, _plextv_url, owner = run.start_sim(args.cachearr, log)
            token = owner["plex_token"]
            procs.append(sim)
            gw, gw_url = run.start_gateway(args.cachearr, sim_url, token,
                                           os.path.join(tmp, "gw"), log)
            procs.append(gw)
            apis = {}
            for name, base in (("direct", sim_url), ("cachearr", gw_url)):
                doc = copy.deepcopy(spec)
                doc["servers"] = [{"url": base}]
                # The document itself does not pass openapi-spec-validator (it declares
                # X-Plex-Client-Identifier twice on some operations): validate answers anyway.
                apis[name] = (base, OpenAPI.from_dict(doc, config=Config(spec_validator_cls=None)))
            sess = requests.Session()
            sess.headers.update({"X-Plex-Token": token, "Accept": "application/json"})
            reqs = requests_to_check(lambda p: sess.get(sim_url + p, timeout=30))
            wait_for_index(sess, gw_url, reqs)
            # Each request straight to the server, then through cachearr, before the next one:
            # both see the same library and play state (the writes come last).
            results = {"direct": [], "cachearr": []}
            for req in reqs:
                for name, (base, api) in apis.items():
                    results[name].extend(check(base, token, api, [req]))
        finally:
            for p in reversed(procs):
                p.terminate()
                p.wait(timeout=10)
    report = {"seconds": round(time.monotonic() - started, 1), "routes": []}
    unexplained = 0
    differences = 0
    known_gaps = 0
    for d, c in zip(results["direct"], results["cachearr"]):
        def split(errors, known_lists):
            explained, unexplained_ = [], []
            for p, m in errors:
                norm = re.sub(r"/\d+", "/*", p)
                reason = None
                for known in known_lists:
                    reason = reason or _match(known, d["route"], norm, m)
                (explained if reason else unexplained_).append((p, m))
            return explained, unexplained_

        known, new = split(d["errors"], [KNOWN_SPEC_ERRORS])
        _, c_new = split(c["errors"], [KNOWN_SPEC_ERRORS, KNOWN_GATEWAY_GAPS])
        missing = sorted(attr_shape(d["body"]) - attr_shape(c["body"])) if d["body"] else []
        extra = sorted(attr_shape(c["body"]) - attr_shape(d["body"])) if c["body"] else []
        values = value_diffs(d["body"], c["body"])[:10] if c["from_index"] else []
        gap = any(r == d["route"] for (r, _, _) in KNOWN_GATEWAY_GAPS)
        unexplained += len(new) + len(c_new)
        differs = bool(missing or extra or values or d["status"] != c["status"])
        known_gaps += differs and gap
        differences += differs and not gap
        report["routes"].append({
            "request": f"{d['method']} {d['path']}", "route": d["route"],
            "status": [d["status"], c["status"]],
            "schema_errors_direct": new, "known_spec_errors": known,
            "schema_errors_cachearr": c_new,
            "attrs_missing_through_cachearr": missing, "attrs_added_by_cachearr": extra,
            "from_index": c["from_index"], "values_differing_in_index_answer": values,
        })
    report["unexplained_schema_errors"] = unexplained
    report["answers_differing_through_cachearr"] = differences
    report["answers_differing_through_cachearr_known"] = known_gaps
    report["answered_from_index"] = sum(r["from_index"] for r in report["routes"])
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print("| request | status (direct / cachearr) | schema errors direct | through cachearr | "
              "attributes lost / added by cachearr | from the index |")
        print("|---|---|---|---|---|---|")
        for r in report["routes"]:
            print(f"| `{r['request']}` | {r['status'][0]} / {r['status'][1]} | "
                  f"{len(r['schema_errors_direct'])} (+{len(r['known_spec_errors'])} known) | "
                  f"{len(r['schema_errors_cachearr'])} | "
                  f"{len(r['attrs_missing_through_cachearr'])} / "
                  f"{len(r['attrs_added_by_cachearr'])} | {'yes' if r['from_index'] else ''} |")
        print()
        print(f"{len(report['routes'])} requests ({report['answered_from_index']} answered by "
              f"cachearr from its index), {unexplained} unexplained schema errors, "
              f"{differences} answers differing through cachearr (+{known_gaps} known gaps) "
              f"({report['seconds']} s)")
        for r in report["routes"]:
            seen = {}
            for which in ("schema_errors_direct", "schema_errors_cachearr"):
                for p, m in r[which]:
                    key = (which, re.sub(r"/\d+", "/*", p), re.sub(r"^\S+ is not of", "value is not of", m))
                    seen[key] = seen.get(key, 0) + 1
            for (which, p, m), n in seen.items():
                where = "direct" if which.endswith("direct") else "through cachearr"
                print(f"  {r['request']} ({where}, {n}x): {p}: {m}")
            for p in r["attrs_missing_through_cachearr"]:
                print(f"  {r['request']}: cachearr lost {p}")
            for p in r["attrs_added_by_cachearr"]:
                print(f"  {r['request']}: cachearr added {p}")
            for p in r["values_differing_in_index_answer"]:
                print(f"  {r['request']}: index answer differs at {p}")
    if args.check and (unexplained or differences):
        sys.exit(1)


if __name__ == "__main__":
    main()
