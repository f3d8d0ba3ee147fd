#!/usr/bin/env python3
"""What building the library copy costs the server, per upstream (bench/tools/crawl_cost.sh
starts this): the requests from `cachearr serve`'s start until the server has been asked
nothing for a second — the build's own (its record in `/api/index`: the sections and every
stream's count and pages) and the rest (the frame probes and what they read, the change
feed's connection, the user look-ups) — by route, with the items the index holds and the
requests per 100 items and the server's time per 1,000 items under the simulator's cost model
(bench/tools/run.py `model_secs`). Prints Markdown."""
import sys

import requests

from run import Gateway, Sim, log, model_secs


def main():
    sim = Sim()
    rows = []
    try:
        for server in ("plex", "jellyfin"):
            sim.reset()
            gateway = Gateway(server, sim)
            gateway.start()
            sim.settle()
            stats = sim.stats()
            index = requests.get(gateway.admin + "/api/index").json()
            gateway.stop()
            upstream = next(u for u in index["upstreams"] if u["upstream"] == server)
            items = upstream["items"]
            build = upstream["last_build"]["requests"]
            routes = sorted(((r, v["requests"]) for r, v in stats["routes"].items()),
                            key=lambda r: -r[1])
            total = stats["total"]
            secs = model_secs({"requests": total, "returned": stats["items_returned"],
                               "scanned": stats["items_scanned"]})
            log(f"{server}: {items} items, {total} requests, {build} the build's")
            rows.append((server, items, total, build, secs, routes))
    finally:
        if sim.proc:
            sim.proc.terminate()
    print("| server | items | requests | per 100 items | the build's | per 100 items "
          "| server s per 1,000 items (model) | every request, by route |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for server, items, total, build, secs, routes in rows:
        by_route = "; ".join(f"`{route}` {n}" for route, n in routes)
        print(f"| {server} | {items:,} | {total} | {100 * total / items:.2f} | {build} "
              f"| {100 * build / items:.2f} | {1000 * secs / items:.2f} | {by_route} |")


if __name__ == "__main__":
    sys.exit(main())
