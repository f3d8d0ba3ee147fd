#!/usr/bin/env python3
"""A Jellyfin tool that signs in at every run, as the official TypeScript SDK's flow does
(jellyfin/jellyfin-sdk-typescript: `getUserApi(api).authenticateUserByName()` hands out a new
`AccessToken` each time, which the run then sends as `Authorization: MediaBrowser …,
Token="…"`): what the server is asked per run, direct and through cachearr in its default
configuration.

One run: `POST /Users/AuthenticateByName` (a new token), `/System/Info`, `/Users/Me`,
`/UserViews`, then per library a page of its items (`/Items?ParentId=…&StartIndex=0&Limit=20`,
with `Fields`, `EnableUserData`) and its latest items (`/Items/Latest?ParentId=…`), and the
first five items of each page by id (`/Items/{id}`). RUNS runs (4) are made PAUSE seconds (5)
apart, direct to the simulator, then through a gateway that crawled its index and was
restarted on it with nothing cached; each run is counted by the simulator (`/_sim/stats`,
reset before each run and read once it has been asked nothing for a second), the tool's part
apart from cachearr's own (`/api/stats` → `headline`).

Run from the repository's root (a debug build is fine for counts; without CACHEARR, env.sh
builds a release one):

  CACHEARR=target/debug/cachearr TRACKS=500 MOVIES=40 SHOWS=6 WORK_NAME=cachearr-signin \\
    bash -c 'source bench/tools/env.sh && "$PY" bench/tools/signin_runs.py'
"""
import json
import os
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(__file__))
from run import FEED, VARIANT, WORK, Gateway, Sim, log  # noqa: E402

RUNS = int(os.environ.get("RUNS", "4"))
PAUSE = float(os.environ.get("PAUSE", "5"))
USER = os.environ.get("SIGNIN_USER", "alice")
FIELDS = "PrimaryImageAspectRatio,DateCreated,Overview,Genres"


def authorization(device, token=None):
    value = f'MediaBrowser Client="sdk-tool", Device="bench", DeviceId="{device}", Version="0.1.0"'
    return value + (f', Token="{token}"' if token else "")


def one_run(base, device):
    """One run of the tool against `base`; the requests it made."""
    http = requests.Session()
    made = 0

    def ask(method, path, token=None, **kw):
        nonlocal made
        made += 1
        heads = {"Authorization": authorization(device, token), "Accept": "application/json"}
        r = http.request(method, base + path, headers=heads, **kw)
        r.raise_for_status()
        return r.json()

    signed = ask("POST", "/Users/AuthenticateByName",
                 json={"Username": USER, "Pw": f"{USER}-password"})
    token = signed["AccessToken"]
    ask("GET", "/System/Info", token)
    ask("GET", "/Users/Me", token)
    views = ask("GET", "/UserViews", token).get("Items", [])
    for view in views:
        page = ask("GET", "/Items", token, params={
            "ParentId": view["Id"], "StartIndex": "0", "Limit": "20", "Recursive": "true",
            "SortBy": "SortName", "SortOrder": "Ascending", "Fields": FIELDS,
            "EnableUserData": "true"})
        ask("GET", "/Items/Latest", token, params={"ParentId": view["Id"], "Limit": "16"})
        for item in page.get("Items", [])[:5]:
            ask("GET", f"/Items/{item['Id']}", token)
    return made


def runs(sim, base, gateway=None):
    out = []
    for n in range(RUNS):
        if n:
            time.sleep(PAUSE)
        sim.reset()
        before = gateway.served() if gateway else None
        made = one_run(base, device=f"bench-run-{n}")
        sim.settle()
        total = sim.stats()["total"]
        run = {"tool_requests": made, "server": total}
        if gateway:
            after = gateway.served()
            run["tool_sent_on"] = after["to_server"] - before["to_server"]
            run["own"] = total - run["tool_sent_on"]
        out.append(run)
    return out


def main():
    sim = Sim()
    gateway = Gateway("jellyfin", sim, name="signin")
    try:
        log(f"direct, {RUNS} runs as {USER}")
        direct = runs(sim, sim.url["jellyfin"])
        log("the index crawled once (kept; the runs start on it with nothing cached)")
        gateway.start()
        sim.settle()
        gateway.keep()
        gateway.fresh()
        log(f"through cachearr, {RUNS} runs as {USER}")
        through = runs(sim, gateway.url, gateway)
    finally:
        if gateway.proc:
            gateway.stop()
        sim.proc.terminate()
    with open(f"{WORK}/signin_runs.json", "w") as f:
        json.dump({"direct": direct, "cachearr": through}, f, indent=1)
    print(f"A Jellyfin tool signing in at every run ({USER}, {PAUSE:g} s apart); cachearr in its "
          f"{FEED} configuration{VARIANT}. Server requests per run.\n")
    print("| run | tool requests | direct | through cachearr (tool's sent on / cachearr's own) |")
    print("|---:|---:|---:|---|")
    for n, (d, c) in enumerate(zip(direct, through), 1):
        print(f"| {n} | {d['tool_requests']} | {d['server']} | {c['server']} "
              f"({c['tool_sent_on']} / {c['own']}) |")


if __name__ == "__main__":
    main()
