"""Validates Plex search answers against the community Plex OpenAPI spec, straight from the
server and through cachearr (where cachearr answers them from its library index).

Usage: spec_through_gateway.py SPEC_YAML DIRECT_URL GATEWAY_URL TOKEN < requests

Reads one request path per line on standard input (`/hubs/search?…`,
`/library/sections/{id}/all?…`: the routes of the spec that cachearr's index answers), gets each
as JSON (`Accept: application/json`) from both, and validates each body against the spec's
schema for that route's 200 answer (JSON Schema 2020-12, as OpenAPI 3.1 writes it, with the
spec's `#/components` references resolved). It also compares what each answer's items carry:
every attribute the server's item has that the gateway's lacks is counted by name.

Prints one JSON object: {"requests", "from_index", "direct_errors", "gateway_errors",
"index_only_errors" (schema errors of an index answer that the server's answer to the same
request does not have), "errors": [first few messages], "left_out": {attribute: count}}.
"""

import json
import sys
import urllib.parse
import urllib.request

import jsonschema
import referencing
import referencing.jsonschema
import yaml

def route_of(path):
    bare = urllib.parse.urlsplit(path).path.rstrip("/")
    if bare == "/hubs/search":
        return "/hubs/search"
    if bare.startswith("/library/sections/") and bare.endswith("/all"):
        return "/library/sections/{sectionId}/all"
    return None


def get(base, path, token):
    req = urllib.request.Request(base + path, headers={
        "Accept": "application/json", "X-Plex-Token": token,
        "X-Plex-Client-Identifier": "spec-through-gateway"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.headers.get("Cache-Status", ""), json.loads(resp.read())


def items(doc):
    container = doc.get("MediaContainer", {})
    out = list(container.get("Metadata", []))
    for hub in container.get("Hub", []):
        out.extend(hub.get("Metadata", []))
    return out


def main():
    spec_path, direct, gateway, token = sys.argv[1:5]
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    resource = referencing.Resource.from_contents(
        spec, default_specification=referencing.jsonschema.DRAFT202012)
    registry = referencing.Registry().with_resource("urn:plex-spec", resource)

    def validator(route):
        schema_path = ["paths", route, "get", "responses", "200", "content",
                       "application/json", "schema"]
        pointer = "/".join(p.replace("~", "~0").replace("/", "~1") for p in schema_path)
        return jsonschema.Draft202012Validator({"$ref": f"urn:plex-spec#/{pointer}"},
                                               registry=registry)

    validators = {}
    report = {"requests": 0, "from_index": 0, "direct_errors": 0, "gateway_errors": 0,
              "index_only_errors": 0, "errors": [], "left_out": {}}
    for line in sys.stdin:
        path = line.strip()
        route = route_of(path)
        if not path or route is None:
            continue
        check = validators.setdefault(route, validator(route))
        _, direct_doc = get(direct, path, token)
        answered_by, gateway_doc = get(gateway, path, token)
        report["requests"] += 1
        report["from_index"] += int("detail=index" in answered_by)
        seen = {}
        for way, doc in (("direct", direct_doc), ("gateway", gateway_doc)):
            seen[way] = set()
            for error in check.iter_errors(doc):
                where = "/".join(str(p) for p in error.absolute_path)
                seen[way].add((where, error.message))
                report[f"{way}_errors"] += 1
                if len(report["errors"]) < 10:
                    report["errors"].append(f"{way} {path}: {where}: {error.message[:200]}")
        if "detail=index" in answered_by:
            # What the server's own answer to the same request does not break.
            report["index_only_errors"] += len(seen["gateway"] - seen["direct"])
        server_items = {i.get("ratingKey"): i for i in items(direct_doc)}
        for item in items(gateway_doc):
            for key in server_items.get(item.get("ratingKey"), {}):
                if key not in item:
                    report["left_out"][key] = report["left_out"].get(key, 0) + 1
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main()
