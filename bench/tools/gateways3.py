#!/usr/bin/env python3
"""Three gateways on one Redis against one: what their starts cost the server and what a
Tautulli-style poller spread over them costs a minute (bench/tools/gateways3.sh starts it).

cachearr runs in its default configuration with a shared Redis tier (a `redis-server` started
here on a free port, or REDIS_URL; it is emptied before each part), every gateway holding the
same installation secret (docs/redis.md). Whether the gateways share
their background work (one holder per upstream) is theirs to decide: the harness only counts.

1. One gateway: started on an empty data directory and an empty Redis; its start is every
   request the simulator counted until its index is ready and the server has been asked
   nothing for a second. Then the poller of bench/tools/steady.py (every PAUSE s, 5) runs
   through it for MINUTES (10).
2. Three gateways: the same, all three started at once (each its own empty data directory, the
   one Redis emptied), their starts counted together; then the poller's rounds go to each
   gateway in turn, for MINUTES.

Each minute's server requests are split into the poller's requests the gateways sent on
(`/api/stats` of each, counted at its proxy listener) and their own (the rest). The poller
runs as AS (owner). The direct cost is bench/tools/steady.sh's.
"""
import json
import os
import shutil
import subprocess
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(__file__))
from run import FEED, VARIANT, WORK, Gateway, Sim, free_port, log, wait_http  # noqa: E402
from steady import MINUTES, PAUSE, poll, steady  # noqa: E402

AS = os.environ.get("AS", "owner")


class Redis:
    """REDIS_URL, or a private `redis-server` on a free loopback port, nothing saved."""

    def __init__(self):
        self.proc = None
        self.url = os.environ.get("REDIS_URL")
        if self.url:
            return
        port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=open(f"{WORK}/redis.log", "w"), stderr=subprocess.STDOUT, cwd=WORK)
        self.url = f"redis://127.0.0.1:{port}"
        for _ in range(100):
            if self.cli("PING") == "PONG":
                return
            time.sleep(0.1)
        raise SystemExit("redis-server did not answer")

    def cli(self, *args):
        run = subprocess.run(["redis-cli", "-u", self.url, *args], capture_output=True, text=True)
        return run.stdout.strip()

    def flush(self):
        self.cli("FLUSHALL")

    def stop(self):
        if self.proc:
            self.proc.terminate()


def index_state(gw):
    try:
        return requests.get(gw.admin + "/api/index", timeout=5).json()["upstreams"][0]["state"]
    except (requests.RequestException, ValueError, KeyError, IndexError):
        return "unknown"


def ready(gateways):
    """Waits until every gateway answers and one has its index ready, then up to FOLLOWER_WAIT
    seconds (60) for the others' (a gateway that follows another's background may load the
    copy later, or answer from the server meanwhile: the harness counts either way). The
    names of those whose index is not ready."""
    for gw in gateways:
        wait_http(gw.admin + "/health")
    deadline = time.monotonic() + float(os.environ.get("INDEX_WAIT", "600"))
    while not any(index_state(gw) == "ready" for gw in gateways):
        if time.monotonic() > deadline:
            raise SystemExit("no gateway's index was ready")
        time.sleep(0.5)
    deadline = time.monotonic() + float(os.environ.get("FOLLOWER_WAIT", "60"))
    while time.monotonic() < deadline and any(index_state(gw) != "ready" for gw in gateways):
        time.sleep(0.5)
    return [gw.name for gw in gateways if index_state(gw) != "ready"]


def group(sim, redis, count, user):
    """`count` gateways on the one Redis, started at once, then polled: their start's server
    requests and the poll's minutes."""
    redis.flush()
    gateways = [Gateway("plex", sim, name=f"g{count}-{n + 1}", redis=redis.url) for n in range(count)]
    # One installation secret for all, as docs/redis.md asks of gateways sharing a Redis:
    # records (and the background the holder publishes) are sealed with a key derived from it.
    secret = os.urandom(16).hex()
    for gw in gateways:
        shutil.rmtree(f"{WORK}/{gw.name}-data", ignore_errors=True)
        os.makedirs(f"{WORK}/{gw.name}-data", mode=0o700)
        with open(os.open(f"{WORK}/{gw.name}-data/secret", os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(secret + "\n")
    sim.reset()
    try:
        started = time.monotonic()
        for gw in gateways:
            gw.launch()
        not_ready = ready(gateways)
        sim.settle()
        start = {"requests": sim.stats()["total"], "secs": round(time.monotonic() - started, 1),
                 "index_not_ready": not_ready}
        log(f"{count} gateway(s) started: {start['requests']} server requests"
            + (f"; index not ready on {', '.join(not_ready)}" if not_ready else ""))
        sim.reset()
        polled = poll(sim, None, user, MINUTES, gateways=gateways)
        return {"start": start, "poll": polled}
    finally:
        for gw in gateways:
            if gw.proc:
                gw.stop()


def main():
    sim = Sim()
    redis = Redis()
    try:
        user = sim.user(AS)
        log(f"one gateway, then three, on {redis.url}; the poller as {AS} ({user['name']}) for {MINUTES:g} min each")
        one = group(sim, redis, 1, user)
        three = group(sim, redis, 3, user)
    finally:
        redis.stop()
        sim.proc.terminate()
    with open(f"{WORK}/gateways3.json", "w") as f:
        json.dump({"one": one, "three": three}, f, indent=1)
    s1, s3 = steady(one["poll"]), steady(three["poll"])
    minutes = lambda r: ", ".join(f"{m['all']} ({m['tool']}/{m['own']})" for m in r["poll"]["minutes"])  # noqa: E731
    print(f"cachearr in its {FEED} configuration{VARIANT}, a shared Redis; the poller every "
          f"{PAUSE:g} s as {AS}. Server requests: all (the poller's sent on / the gateways' own).\n")
    print("| gateways | start | index not ready after the start | minute by minute | steady state a minute (after minute 1) |")
    print("|---|---:|---|---|---:|")
    for label, r, s in (("one", one, s1), ("three on one Redis", three, s3)):
        late = ", ".join(r["start"]["index_not_ready"]) or "—"
        print(f"| {label} | {r['start']['requests']} | {late} | {minutes(r)} | {s['all']:.1f} ({s['tool']:.1f}/{s['own']:.1f}) |")
    if one["start"]["requests"] and s1["all"]:
        print(f"\nThree against one: starts {three['start']['requests'] / one['start']['requests']:.2f}×, "
              f"steady state {s3['all'] / s1['all']:.2f}× ({s3['all'] - s1['all']:+.1f} a minute).")


if __name__ == "__main__":
    main()
