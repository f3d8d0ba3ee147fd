#!/usr/bin/env python3
"""A pass repeated: a Kometa-style pass and a library-walking tool run through cachearr in its
default configuration, then again after each of DELAYS, each repeat's server requests as a
share of the same pass direct (bench/tools/repeat.sh starts it).

TOOLS (kometa,overseerr) are bench/tools' replays: Kometa's library operations (a listing and
every item reloaded), Overseerr's library scan (section pages, each show with its children,
each season's episodes), PlexKodiConnect's full sync (every listing and item). For each, as the
user kind KIND (owner): the pass direct, then through a gateway restarted on its crawled index
with nothing cached (the first pass), then each repeat. A run's server requests are the
simulator's count from its start until the server has been asked nothing for a second, split
into the tool's requests cachearr sent on (counted at its proxy listener) and cachearr's own
(its background and reads for the copy meanwhile).

DELAYS are seconds after the first pass ended (real waits: 8,60; 1200 waits 20 minutes), or
`day`: the clocks of the simulator (`/_sim/clock/advance`) and of the gateway (`cachearr serve
--movable-clock`, a measurement mode, `/api/clock/advance`) are moved a day on, so that the
pass meets every TTL expired and every proof a day old, and CHANGES (3) of the items the pass
reads are renamed on the server before it; what the server was asked between (the day's
background: the index's refresh, the renamed items fetched again) is reported apart, and the
answers are compared with the pass made direct after the changes. The gateway runs in that
mode for every delay; its clock moves only for `day`.
"""
import importlib
import json
import os
import subprocess
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(__file__))
from run import BIN, FEED, LABELS, VARIANT, WORK, Gateway, Sim, differ, log, measure  # noqa: E402

TOOLS = os.environ.get("TOOLS", "kometa,overseerr").split(",")
KIND = os.environ.get("KIND", "owner")
DELAYS = os.environ.get("DELAYS", "8,60").split(",")
CHANGES = int(os.environ.get("CHANGES", "3"))
DAY = 24 * 3600
# After the clocks move, the gateway's periodic work meets the new time: its keeper looks at
# the clock every 30 s and its notification socket is heard every 15 s.
DAY_SETTLE = float(os.environ.get("DAY_SETTLE", "75"))


class MovableGateway(Gateway):
    """A gateway whose clock a benchmark may move on (`serve --movable-clock`)."""

    def launch(self):
        self.proc = subprocess.Popen([BIN, "serve", "--config", self.config, "--movable-clock"],
                                     stdout=open(f"{WORK}/{self.name}-cachearr.log", "a"),
                                     stderr=subprocess.STDOUT)

    def advance(self, secs):
        resp = requests.post(f"{self.admin}/api/clock/advance", params={"secs": secs},
                             headers={"X-Cachearr-Request": "1"})
        resp.raise_for_status()
        return resp.json()["offset_secs"]

    def background(self):
        """`/api/stats` → `feed[].background` of this gateway's upstream."""
        stats = requests.get(self.admin + "/api/stats").json()
        feed = next((f for f in stats.get("feed", []) if f.get("upstream") == self.server), {})
        return feed.get("background", {})


def changed_items(sim, server, count):
    """The first `count` movies of the first movie section, as the owner sees them: items a
    Kometa-style pass and a library walk both read."""
    if server != "plex" or count == 0:
        return []
    heads = {"X-Plex-Token": sim.user("owner")["plex_token"], "Accept": "application/json"}
    base = sim.url["plex"]
    sections = requests.get(base + "/library/sections", headers=heads).json()["MediaContainer"]["Directory"]
    movies = next(s for s in sections if s["type"] == "movie")
    items = requests.get(f"{base}/library/sections/{movies['key']}/all", headers=heads).json()
    return [int(m["ratingKey"]) for m in items["MediaContainer"]["Metadata"][:count]]


def a_day_on(sim, gw, items):
    """Moves both clocks a day on, renames `items` on the server, lets the gateway meet the
    new time; returns what the server was asked meanwhile."""
    sim.reset()
    requests.post(sim.url[gw.server] + "/_sim/clock/advance", params={"secs": DAY}).raise_for_status()
    gw.advance(DAY)
    for n, item in enumerate(items):
        requests.post(sim.url[gw.server] + "/_sim/library/rename",
                      json={"id": item, "title": f"Renamed a day later {n}"}).raise_for_status()
    time.sleep(DAY_SETTLE)
    sim.settle()
    s = sim.stats()
    return {"requests": s["total"], "routes": {r: v["requests"] for r, v in s["routes"].items()}}


def repeats(sim, gw, tool, user, ctx, direct):
    first = measure(sim, tool, gw.url, user, ctx, gw)
    ended = time.monotonic()
    runs, compare, between = [("first", first)], {"first": direct}, {}
    for delay in DELAYS:
        if delay == "day":
            items = changed_items(sim, tool.SERVER, CHANGES)
            log(f"{tool.__name__}: a day on, {len(items)} items renamed")
            label = f"a day later, {len(items)} changed"
            between[label] = a_day_on(sim, gw, items)
            # The answers to compare with: the pass made direct after the changes.
            compare[label] = measure(sim, tool, sim.url[tool.SERVER], user, ctx)
            log(f"{tool.__name__}: again a day after ({between[label]['requests']} server requests between)")
        else:
            secs = float(delay)
            time.sleep(max(0.0, ended + secs - time.monotonic()))
            label = f"{secs:g} s after"
            compare[label] = direct
            log(f"{tool.__name__}: again {secs:g} s after the first")
        before = gw.background()
        run = measure(sim, tool, gw.url, user, ctx, gw)
        run["background"] = {"before": before, "after": gw.background()}
        runs.append((label, run))
    return runs, compare, between


def main():
    sim = Sim()
    gateways = {}
    results = []
    try:
        for name in TOOLS:
            tool = importlib.import_module(name)
            server = tool.SERVER
            if server not in gateways:
                gw = gateways[server] = MovableGateway(server, sim, name=f"repeat-{server}")
                gw.start()
                sim.settle()
                gw.keep()
            gw = gateways[server]
            user = sim.user(KIND)
            ctx = tool.prepare(sim.url[server], sim.user("owner")) if hasattr(tool, "prepare") else None
            log(f"{name} as {KIND} ({user['name']}): direct")
            gw.stop()
            direct = measure(sim, tool, sim.url[server], user, ctx)
            gw.fresh()
            log(f"{name}: the first pass through cachearr")
            runs, compare, between = repeats(sim, gw, tool, user, ctx, direct)
            results.append({"tool": name, "kind": KIND, "user": user["name"], "direct": direct,
                            "runs": runs, "between": between,
                            "differ": {label: differ(compare[label]["answers"], r["answers"])
                                       for label, r in runs}})
    finally:
        for gw in gateways.values():
            if gw.proc:
                gw.stop()
        sim.proc.terminate()
    with open(f"{WORK}/repeat.json", "w") as f:
        json.dump(results, f, indent=1)
    report(results)


def report(results):
    print(f"cachearr in its {FEED} configuration{VARIANT}; each pass: the server's requests "
          f"(the tool's sent on / cachearr's own), as a share of the pass direct.\n")
    labels = [label for label, _ in results[0]["runs"]] if results else []
    print("| tool | user | direct | " + " | ".join(labels) + " | answers equal |")
    print("|---|---|---:|" + "---:|" * len(labels) + "---|")
    for r in results:
        d = r["direct"]["requests"]
        cells = []
        for _, run in r["runs"]:
            share = f", {100 * run['requests'] / d:.1f} %" if d else ""
            cells.append(f"{run['requests']} ({run['tool']}/{run['own']}){share}")
        bad = {k: len(v) for k, v in r["differ"].items() if v}
        same = "all" if not bad else ", ".join(f"{n} differ {k}" for k, n in bad.items())
        print(f"| {LABELS[r['tool']]} | {r['kind']} ({r['user']}) | {d} | " + " | ".join(cells) + f" | {same} |")
    for r in results:
        for label, between in r["between"].items():
            top = sorted(between["routes"].items(), key=lambda kv: -kv[1])[:5]
            print(f"\n{LABELS[r['tool']]}, {label}: {between['requests']} server requests between the "
                  "passes (" + "; ".join(f"`{k}` {v}" for k, v in top) + ")")
        for label, run in r["runs"]:
            if label != "first" and run["requests"]:
                top = sorted(run["routes"].items(), key=lambda kv: -kv[1])[:6]
                print(f"- {label}: " + "; ".join(f"`{k}` {v}" for k, v in top))


if __name__ == "__main__":
    main()
