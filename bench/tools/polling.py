#!/usr/bin/env python3
"""A polling tool's first minutes through cachearr in its default configuration (play-state
probes every 15 s, sampled revalidations), as a user cachearr has never seen.
bench/tools/polling.sh starts it.

Tautulli's round (bench/tools/tautulli.py: what is playing, recently added, the libraries'
counts) is made every PAUSE seconds (5), ROUNDS times (12), as SHARED_USER (alice) making
their first request, or (POLL_AS=owner) as the owner, whose token Tautulli is usually given. Each round prints the requests cachearr did not answer from its cache
(sent to the server), and the play-state probes cachearr made meanwhile (`/api/stats` →
`feed` → `play_state`); at the end, everything the server was asked in that time, in all, by
route and minute by minute (`ROUNDS=36`: three minutes, the later ones what cachearr costs the
server while the tool keeps polling). A user's first probe round marks what they were answered
before it as possibly stale (docs/change-feed.md "Play state changed on other clients"): what
the tool asks again after it goes to the server once more.
"""
import os
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(__file__))
os.environ["TAUTULLI_CYCLES"] = "1"
import tautulli  # noqa: E402
from common import Recorder  # noqa: E402
from run import Gateway, Sim, log, NAMES  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "12"))
POLL_AS = os.environ.get("POLL_AS", "new")
PAUSE = float(os.environ.get("PAUSE", "5"))


def routes_since(before, after):
    """The routes the server was asked between two of its stats, most asked first."""
    asked = {route: n["requests"] - before["routes"].get(route, {}).get("requests", 0)
             for route, n in after["routes"].items()}
    return "; ".join(f"`{r}` {n}" for r, n in sorted(asked.items(), key=lambda x: -x[1]) if n)


def play_state(admin):
    return requests.get(admin + "/api/stats").json()["feed"][0]["play_state"]


def main():
    sim = Sim()
    gateway = Gateway("plex", sim)
    gateway.start()
    base, admin = gateway.url, gateway.admin
    try:
        user = sim.user(POLL_AS)
        who = "the owner" if POLL_AS == "owner" else f"{NAMES[POLL_AS]} ({POLL_AS})"
        log(f"{ROUNDS} rounds of Tautulli's polling, one every {PAUSE:g} s, as {who}")
        print(f"| round | at (s) | sent to the server | probes so far |")
        print("|---|---|---|---|")
        asked_before = sim.stats()
        served_before = gateway.served()
        start = time.monotonic()
        sent_by_round = []
        # What the server was asked in each minute (every 60 / PAUSE rounds): the first
        # minute holds the user's first requests; the later ones are what cachearr costs the
        # server while the tool keeps polling.
        per_minute = max(1, round(60 / PAUSE))
        minute_marks = [asked_before["total"]]
        for n in range(ROUNDS):
            due = start + n * PAUSE
            time.sleep(max(0.0, due - time.monotonic()))
            # Read when the minute begins, not when the last round of the one before ended.
            if n and n % per_minute == 0:
                minute_marks.append(sim.stats()["total"])
            http = Recorder()
            tautulli.replay(http, base, user)
            sent = sum(http.misses.values())
            made = sum(len(v) for v in http.answers.values())
            sent_by_round.append(sent)
            print(f"| {n + 1} | {time.monotonic() - start:.1f} | {sent} | {play_state(admin)['probes']} |",
                  flush=True)
        time.sleep(max(0.0, start + ROUNDS * PAUSE - time.monotonic()))
        asked_after = sim.stats()
        served_after = gateway.served()
        print()
        print(f"The tool's requests sent to the server: {sum(sent_by_round)} in all, "
              f"{sum(sent_by_round[1:])} after its first round; the play-state probes: "
              f"{play_state(admin)['probes']}; everything the server was asked meanwhile "
              f"(these, the users' sections the probes read, the feed's sampled "
              f"revalidations): {asked_after['total'] - asked_before['total']}, by route: "
              f"{routes_since(asked_before, asked_after)}.")
        asked = asked_after["total"] - asked_before["total"]
        tool = served_after["to_server"] - served_before["to_server"]
        if served_after["requests"] > served_before["requests"]:
            print(f"Of those, the tool's requests cachearr sent on (counted at its proxy listener): "
                  f"{tool}; cachearr's own: {asked - tool} (by its own count: "
                  f"{served_after['own'] - served_before['own']}).")
        minute_marks.append(asked_after["total"])
        minutes = [b - a for a, b in zip(minute_marks, minute_marks[1:])]
        print(f"The server was asked, minute by minute: "
              f"{', '.join(map(str, minutes))}; direct, {made * per_minute} a minute "
              f"({made} a round).")
    finally:
        gateway.stop()
        sim.proc.terminate()


if __name__ == "__main__":
    main()
