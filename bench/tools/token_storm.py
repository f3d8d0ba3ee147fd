#!/usr/bin/env python3
"""Many tokens of one Jellyfin user, each signed in on the server itself (never through
cachearr), each reading one answer that shows play state through cachearr once: what cachearr
then asks the server of its own accord while those tokens stay active, against what the tokens
asked. A token the gateway has not seen named is a user of its own until the server says
whose it is; the play-state watch follows users, so what it costs should follow the one user,
not the number of tokens.

TOKENS tokens (200) of SIGNIN_USER (alice) sign in directly on the simulator; each reads
`/Items/{id}?userId=…` through a gateway that crawled its index and was restarted on it with
nothing cached; then for WATCH seconds (60) the gateway runs as shipped. Counted: the server's
requests in all (`/_sim/stats`), the tokens' own requests cachearr sent on, and cachearr's own
by kind (`/api/stats` → `feed` → `background` → `total`).

Run from the repository's root (a debug build is fine for counts):

  CACHEARR=target/debug/cachearr TRACKS=500 MOVIES=40 SHOWS=6 WORK_NAME=cachearr-storm \\
    bash -c 'source bench/tools/env.sh && "$PY" bench/tools/token_storm.py'
"""
import json
import os
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(__file__))
from run import FEED, VARIANT, WORK, Gateway, Sim, log  # noqa: E402

TOKENS = int(os.environ.get("TOKENS", "200"))
WATCH = float(os.environ.get("WATCH", "60"))
USER = os.environ.get("SIGNIN_USER", "alice")


def authorization(device, token=None):
    value = f'MediaBrowser Client="storm", Device="bench", DeviceId="{device}", Version="0.1.0"'
    return value + (f', Token="{token}"' if token else "")


def sign_in_directly(direct, n):
    """TOKENS tokens of USER, each signed in on the server on a device of its own."""
    tokens = []
    for i in range(n):
        r = requests.post(f"{direct}/Users/AuthenticateByName",
                          headers={"Authorization": authorization(f"storm-{i}")},
                          json={"Username": USER, "Pw": f"{USER}-password"})
        r.raise_for_status()
        tokens.append(r.json()["AccessToken"])
    return tokens


def background(gateway):
    """cachearr's own requests to the server so far, by kind."""
    stats = requests.get(f"{gateway.admin}/api/stats").json()
    return stats["feed"][0]["background"]["total"]


def main():
    sim = Sim()
    gateway = Gateway("jellyfin", sim, name="storm")
    direct = sim.url["jellyfin"]
    try:
        gateway.start()
        sim.settle()
        gateway.keep()
        gateway.fresh()
        user = next(u for u in sim.users if u["name"] == USER)
        tokens = sign_in_directly(direct, TOKENS)
        items = requests.get(f"{direct}/Users/{user['jellyfin_id']}/Items",
                             params={"Recursive": "true", "IncludeItemTypes": "Movie",
                                     "Limit": str(TOKENS)},
                             headers={"X-Emby-Token": tokens[0]}).json()["Items"]
        sim.settle()
        sim.reset()
        before = gateway.served()
        log(f"{TOKENS} tokens of {USER}, one read each through cachearr")
        for i, token in enumerate(tokens):
            item = items[i % len(items)]["Id"]
            r = requests.get(f"{gateway.url}/Items/{item}",
                             params={"userId": user["jellyfin_id"]},
                             headers={"Authorization": authorization(f"storm-{i}", token)})
            r.raise_for_status()
        log(f"watching for {WATCH:g} s")
        time.sleep(WATCH)
        sim.settle()
        stats = sim.stats()
        total = stats["total"]
        routes = {r: v["requests"] for r, v in stats["routes"].items()}
        sent_on = gateway.served()["to_server"] - before["to_server"]
        own = background(gateway)
    finally:
        if gateway.proc:
            gateway.stop()
        sim.proc.terminate()
    result = {"tokens": TOKENS, "watch_secs": WATCH, "server": total,
              "tokens_sent_on": sent_on, "own": own, "routes": routes}
    with open(f"{WORK}/token_storm.json", "w") as f:
        json.dump(result, f, indent=1)
    print(f"{TOKENS} tokens of one Jellyfin user signed in on the server, one read each through "
          f"cachearr, then {WATCH:g} s; cachearr in its {FEED} configuration{VARIANT}.\n")
    print("| tokens' requests | server requests in all | tokens' sent on | cachearr's own: "
          "probes / list of plays / other |")
    print("|---:|---:|---:|---|")
    print(f"| {TOKENS} | {total} | {sent_on} | {own.get('probes', 0)} / {own.get('signal', 0)} / "
          f"{own.get('other', 0)} |")
    print("\nThe server's requests by route: " +
          "; ".join(f"`{r}` {n}" for r, n in sorted(routes.items(), key=lambda x: -x[1])))


if __name__ == "__main__":
    main()
