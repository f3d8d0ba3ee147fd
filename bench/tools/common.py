"""What every replay shares: an HTTP client that keeps a digest of each answer, and the
request headers the tools send.

Each answer is kept under its request (method, path and query without the token, paging
headers, Accept) as a digest of its status and normalised body: JSON with sorted keys, XML
in canonical form (attributes sorted). Two runs of the same replay for the same user can then
be compared answer by answer, whatever order concurrent requests finished in. Through
cachearr the `X-Cache` of each answer is kept too: what was not a hit went to the server.
"""
import hashlib
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter

SECRET_PARAMS = {"x-plex-token", "api_key", "apikey"}
KEY_HEADERS = ("X-Plex-Container-Start", "X-Plex-Container-Size", "Accept")
HIT = {"HIT", "STALE"}
SHAPE_VALUES = {"type", "IncludeItemTypes"}


def digest(resp):
    body = resp.content
    kind = resp.headers.get("Content-Type", "")
    try:
        if "json" in kind:
            body = json.dumps(json.loads(body), sort_keys=True).encode()
        elif "xml" in kind:
            body = ET.canonicalize(body.decode(), strip_text=True).encode()
    except ValueError:
        pass
    return "%d:%s" % (resp.status_code, hashlib.sha1(body).hexdigest()[:16])


def request_key(req):
    url = urlsplit(req.url)
    query = [(k, v) for k, v in parse_qsl(url.query, keep_blank_values=True) if k.lower() not in SECRET_PARAMS]
    heads = " ".join(f"{h}={req.headers[h]}" for h in KEY_HEADERS if h in req.headers)
    return f"{req.method} {url.path}?{urlencode(query)} {heads}".strip()


def shape(key):
    """A request's shape: ids replaced by {id}, query values left out but for a few that say
    what is asked (`type`, `IncludeItemTypes`), paging headers left out."""
    method, rest = key.split(" ", 1)
    path, _, query = rest.split(" ")[0].partition("?")
    path = re.sub(r"/(?:[0-9]+|[0-9a-f]{32})(?=/|$)", "/{id}", path)
    params = [f"{k}={v}" if k in SHAPE_VALUES else k for k, v in parse_qsl(query, keep_blank_values=True)]
    return f"{method} {path}" + ("?" + "&".join(params) if params else "")


class Recorder(requests.Session):
    """A `requests` client keeping every answer's digest (`answers`) and, through cachearr,
    the shapes of the requests it did not answer from its cache (`misses`)."""

    def __init__(self):
        super().__init__()
        self.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=64))
        self.answers = defaultdict(list)
        self.misses = Counter()
        self._lock = threading.Lock()

    def request(self, method, url, *args, **kwargs):
        resp = super().request(method, url, *args, **kwargs)
        key = request_key(resp.request)
        with self._lock:
            self.answers[key].append(digest(resp))
            if resp.headers.get("X-Cache", "HIT") not in HIT:
                self.misses[shape(key)] += 1
        return resp

    def result(self):
        return {k: sorted(v) for k, v in self.answers.items()}


def plex_headers(token, product, accept=None):
    heads = {"X-Plex-Token": token, "X-Plex-Product": product, "X-Plex-Client-Identifier": f"cachearr-bench-{product}"}
    if accept:
        heads["Accept"] = accept
    return heads
