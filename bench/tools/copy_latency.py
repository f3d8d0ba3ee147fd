"""What copy_latency.sh and copy_latency_jellyfin.sh share: timed reads through cachearr and
their summary beside hits of the same answers.

    from copy_latency import Reads
    reads = Reads(proxy_port, admin_port, {"X-Plex-Token": token, "Accept": "application/json"})
    reads.measure("label", paths)
"""

import http.client
import re
import statistics
import time

med = statistics.median


def apart(items):
    """Every eleventh (or seventh) item, round and round: no two reads are one walk, so
    nothing is written ahead and each answer is the copy's own."""
    n = len(items)
    step = 11 if n % 11 else 7
    return [items[(i * step) % n] for i in range(n)]


class Reads:
    """Reads through cachearr's proxy on `proxy_port` with `headers`, one kept-alive
    connection per port as a tool's client keeps one; its admin listener on `admin_port`."""

    def __init__(self, proxy_port, admin_port, headers):
        self.proxy_port, self.admin_port, self.headers = proxy_port, admin_port, headers
        self.conns = {}

    def get(self, port, path):
        """GET `path` from `port`: the body, the gateway's own time (Server-Timing
        cache;dur), its upstream share, the time the client waited from sending the request to
        holding the whole body (ms), and the answer's Cache-Status."""
        conn = self.conns.setdefault(port, http.client.HTTPConnection("127.0.0.1", port))
        t = time.perf_counter()
        conn.request("GET", path, headers=self.headers)
        r = conn.getresponse()
        body = r.read()
        waited = (time.perf_counter() - t) * 1000
        timing = dict(re.findall(r"(\w+);dur=([\d.]+)", r.getheader("Server-Timing") or ""))
        return (body, float(timing.get("cache", 0)), float(timing.get("upstream", 0)), waited,
                r.getheader("Cache-Status") or "")

    def clear(self):
        """Empties cachearr's cache (the admin API, open on loopback without a token)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port)
        conn.request("POST", "/api/clear", headers={"X-Cachearr-Request": "1"})
        assert conn.getresponse().status == 200
        conn.close()

    def measure(self, label, paths):
        """Each path read once through the proxy (its first answer: the server's, the copy's,
        or a hit the copy wrote ahead), then all again (cache hits of the same answers);
        prints the medians and the ratios to the hits."""
        server, copy, ahead, hit, sizes = [], [], [], [], []
        for p in paths:
            body, ms, upstream, waited, status = self.get(self.proxy_port, p)
            if upstream > 0:
                server.append((ms, waited))
            elif status.endswith("detail=copy"):
                copy.append((ms, waited))
            else:
                ahead.append((ms, waited))
            sizes.append(len(body))
        for p in paths:
            hit.append(self.get(self.proxy_port, p)[1::2])
        print(f"{label}, median {med(sizes):.0f} bytes")
        for name, got in (("answered by the server (frame proofs, first misses)", server),
                          ("answered from the copy", copy),
                          ("hits the copy wrote ahead of the walk", ahead),
                          ("cache hits of the same answers", hit)):
            if got:
                print(f"{name}: {len(got)}, gateway median {med(g for g, _ in got):.3f} ms, "
                      f"client median {med(w for _, w in got):.3f} ms")
        for name, got in (("copy", copy), ("first read, copy or written ahead", copy + ahead)):
            if got:
                print(f"{name} / hit: gateway {med(g for g, _ in got) / med(g for g, _ in hit):.1f}x, "
                      f"client {med(w for _, w in got) / med(w for _, w in hit):.1f}x")
