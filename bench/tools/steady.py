#!/usr/bin/env python3
"""A dashboard poller at steady state, direct and through cachearr in its default
configuration: what the server is asked a minute (bench/tools/steady.sh starts it).

SERVER=plex (the default) is a Tautulli-style poller. One round, every PAUSE seconds (5): what
is playing (`/status/sessions`), the sections (`/library/sections`), a count per section
(`/library/sections/{id}/all?type=N` with `X-Plex-Container-Start=0&X-Plex-Container-Size=1`,
N the section's kind), and three recently added lists (`/hubs/home/recentlyAdded?type=1|2|8`,
50 each).

SERVER=jellyfin is a Jellyfin dashboard as Homepage's and Homarr's widgets poll: what is
playing (`/Sessions`), how many items of each kind (`/Items/Counts`), the user's libraries
(`/UserViews`) and each library's latest items (`/Items/Latest?ParentId={id}&Limit=16`).

It runs for DIRECT_MINUTES (1) straight to the simulator, then for MINUTES (10) through a
gateway that has crawled its index and was restarted on it with nothing cached, once per user
kind of AS (`owner,shared`: the owner, a dashboard's usual token, and SHARED_USER, alice, who
sees every library).
"""
import json
import os
import sys
import time
import xml.etree.ElementTree as ET

import requests

sys.path.insert(0, os.path.dirname(__file__))
from common import plex_headers  # noqa: E402
from run import FEED, VARIANT, WORK, Gateway, Sim, log  # noqa: E402

MINUTES = float(os.environ.get("MINUTES", "10"))
DIRECT_MINUTES = float(os.environ.get("DIRECT_MINUTES", "1"))
PAUSE = float(os.environ.get("PAUSE", "5"))
AS = os.environ.get("AS", "owner,shared").split(",")
KIND_TYPES = {"movie": 1, "show": 2, "artist": 8}
SERVER = os.environ.get("SERVER", "plex")


def poll_round(base, user):
    """One round of the poller; the number of requests it made."""
    if SERVER == "jellyfin":
        return jellyfin_round(base, user)
    return plex_round(base, user)


def jellyfin_round(base, user):
    """One round of the Jellyfin dashboard; the number of requests it made."""
    auth = ('MediaBrowser Client="Homepage", Device="dashboard", DeviceId="cachearr-steady", '
            f'Version="1.0", Token="{user["jellyfin_token"]}"')
    http = requests.Session()
    http.headers.update({"Authorization": auth, "Accept": "application/json"})

    def get(path):
        resp = http.get(base + path)
        return resp.json() if resp.ok else {}

    get("/Sessions?ActiveWithinSeconds=960")
    get("/Items/Counts")
    views = get("/UserViews").get("Items", [])
    for view in views:
        get(f"/Items/Latest?ParentId={view['Id']}&Limit=16&Fields=PrimaryImageAspectRatio"
            "&EnableImageTypes=Primary")
    return 3 + len(views)


def plex_round(base, user):
    """One round of the Tautulli-style poller; the number of requests it made."""
    heads = plex_headers(user["plex_token"], "Tautulli")
    http = requests.Session()

    def get(path):
        resp = http.get(base + path, headers=heads)
        return ET.fromstring(resp.content) if resp.ok else ET.Element("MediaContainer")

    get("/status/sessions")
    made = 1
    for section in get("/library/sections").iter("Directory"):
        kind = KIND_TYPES.get(section.get("type"))
        if kind:
            get(f"/library/sections/{section.get('key')}/all?X-Plex-Container-Start=0"
                f"&X-Plex-Container-Size=1&type={kind}")
            made += 1
    made += 1
    for kind in ("1", "2", "8"):
        get(f"/hubs/home/recentlyAdded?X-Plex-Container-Start=0&X-Plex-Container-Size=50&type={kind}")
        made += 1
    return made


def poll(sim, base, user, minutes, gateways=()):
    """Polls `base` (or, round by round, each of `gateways` in turn) for `minutes`; each
    minute's server requests: all of them and, through cachearr, the poller's sent on and
    cachearr's own."""
    rounds = max(1, round(minutes * 60 / PAUSE))
    per_minute = max(1, round(60 / PAUSE))
    marks = []

    def mark(rounds_done):
        served = [gw.served() for gw in gateways]
        marks.append({"all": sim.stats()["total"], "tool": sum(s["to_server"] for s in served),
                      "rounds": rounds_done})

    mark(0)
    start = time.monotonic()
    made = 0
    for n in range(rounds):
        time.sleep(max(0.0, start + n * PAUSE - time.monotonic()))
        if n and n % per_minute == 0:
            mark(n)
        target = gateways[n % len(gateways)].url if gateways else base
        made += poll_round(target, user)
    time.sleep(max(0.0, start + rounds * PAUSE - time.monotonic()))
    mark(rounds)
    minutes_out = []
    for a, b in zip(marks, marks[1:]):
        total = b["all"] - a["all"]
        tool = b["tool"] - a["tool"] if gateways else total
        # A last part shorter than a minute is counted a minute's worth.
        scale = per_minute / max(1, b["rounds"] - a["rounds"])
        minutes_out.append({"all": round(total * scale), "tool": round(tool * scale),
                            "own": round((total - tool) * scale)})
    return {"minutes": minutes_out, "rounds": rounds, "requests_made": made}


def steady(run):
    """The mean a minute after the first minute (the only one when the run is a minute)."""
    later = run["minutes"][1:] or run["minutes"]
    return {k: sum(m[k] for m in later) / len(later) for k in ("all", "tool", "own")}


def main():
    sim = Sim()
    results = {}
    gateway = Gateway(SERVER, sim, name=f"steady-{SERVER}")
    try:
        log("the index crawled once (kept; each run starts on it with nothing cached)")
        gateway.start()
        sim.settle()
        gateway.keep()
        gateway.stop()
        for kind in AS:
            user = sim.user(kind)
            who = f"{kind} ({user['name']})"
            sim.reset()
            log(f"direct, {DIRECT_MINUTES:g} min, as {who}")
            direct = poll(sim, sim.url[SERVER], user, DIRECT_MINUTES)
            gateway.fresh()
            sim.reset()
            log(f"through cachearr, {MINUTES:g} min, as {who}")
            through = poll(sim, None, user, MINUTES, gateways=[gateway])
            gateway.stop()
            results[kind] = {"user": user["name"], "direct": direct, "cachearr": through}
    finally:
        if gateway.proc:
            gateway.stop()
        sim.proc.terminate()
    with open(f"{WORK}/steady.json", "w") as f:
        json.dump(results, f, indent=1)
    poller = "A Jellyfin dashboard" if SERVER == "jellyfin" else "A Tautulli-style poller"
    print(f"{poller} every {PAUSE:g} s; cachearr in its {FEED} configuration{VARIANT}. "
          f"Server requests a minute: all (the poller's sent on / cachearr's own).\n")
    print("| as | direct a minute | through cachearr, minute by minute | steady state (after minute 1) | of direct |")
    print("|---|---:|---|---:|---:|")
    for kind, r in results.items():
        d = steady(r["direct"])["all"]
        s = steady(r["cachearr"])
        minutes = ", ".join(f"{m['all']} ({m['tool']}/{m['own']})" for m in r["cachearr"]["minutes"])
        share = f"{100 * s['all'] / d:.1f} %" if d else "–"
        print(f"| {kind} ({r['user']}) | {d:.0f} | {minutes} | {s['all']:.1f} ({s['tool']:.1f}/{s['own']:.1f}) | {share} |")


if __name__ == "__main__":
    main()
