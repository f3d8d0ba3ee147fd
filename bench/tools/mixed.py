#!/usr/bin/env python3
"""Several tools' first passes at the same time through one cold cachearr (bench/tools/mixed.sh
says what and starts this): what the server is asked when walks overlap, by route.

The simulator and one `cachearr serve` in front of its Plex server are started as
bench/tools/run.py starts them (the index crawled once and kept; the sampled revalidations
and play-state probes off unless PROBES=1). Then each tool of MIXED runs direct, alone (its
answers are the reference), and all of them run at once, each in its own thread, through a
gateway restarted cold on the kept data directory, as the user USER_KIND (owner). With
ALONE=1 each tool also runs alone through a cold gateway, for its own count beside the
mixed one. Prints a Markdown table of the server's requests by route and whether every
answer through cachearr equals the direct one; writes $WORK/mixed.json."""
import importlib
import json
import os
import threading
import time

import requests

from common import Recorder
from run import Gateway, Sim, differ, log, model_secs

ENV = os.environ
WORK = ENV["WORK"]
MIXED = ENV.get("MIXED", "kometa,overseerr,plexkodiconnect").split(",")
KIND = ENV.get("USER_KIND", "owner")
ALONE = ENV.get("ALONE", "0") == "1"
PROBES = ENV.get("PROBES", "0") == "1"
# The simulator's route of item reads, one item or many (a batch).
METADATA = "GET /library/metadata/{ids}"


def single_misses(misses):
    """A tool's reads of one item's metadata that cachearr sent on (the Recorder's misses,
    by shape)."""
    return sum(n for shape, n in misses.items()
               if shape.startswith("GET /library/metadata/{id}") and "/children" not in shape)


def stats_of(sim):
    s = sim.stats()
    return {"requests": s["total"], "scanned": s["items_scanned"], "returned": s["items_returned"],
            "routes": {r: v["requests"] for r, v in s["routes"].items()}}


def run_tools(sim, base, user, tools, ctxs):
    """Runs `tools` at once against `base`; their recorders and the server's stats after."""
    sim.reset()
    recorders = {name: Recorder() for name in tools}
    errors = {}

    def one(name):
        try:
            importlib.import_module(name).replay(recorders[name], base, user, ctxs.get(name))
        except Exception as e:  # a failed replay is reported, the others go on
            errors[name] = repr(e)

    started = time.monotonic()
    threads = [threading.Thread(target=one, args=(name,)) for name in tools]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - started
    sim.settle()
    out = stats_of(sim)
    out["secs"] = round(secs, 1)
    out["errors"] = errors
    return recorders, out


def summed(runs):
    """Several runs' server requests as one run's."""
    out = {"requests": 0, "scanned": 0, "returned": 0, "routes": {}}
    for run in runs:
        for k in ("requests", "scanned", "returned"):
            out[k] += run[k]
        for r, n in run["routes"].items():
            out["routes"][r] = out["routes"].get(r, 0) + n
    return out


def route_rows(runs):
    routes = sorted({r for run in runs.values() for r in run["routes"]},
                    key=lambda r: -max(run["routes"].get(r, 0) for run in runs.values()))
    heads = list(runs)
    lines = ["| server route | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
    for r in routes:
        lines.append(f"| `{r}` | " + " | ".join(str(runs[h]["routes"].get(r, 0)) for h in heads) + " |")
    lines.append("| **all** | " + " | ".join(f"**{runs[h]['requests']}**" for h in heads) + " |")
    lines.append("| server s (model) | " + " | ".join(f"{model_secs(runs[h]):.1f}" for h in heads) + " |")
    return lines


def main():
    sim = Sim()
    gw = None
    try:
        sim.reset()
        gw = Gateway("plex", sim, probes=PROBES)
        gw.start()
        sim.settle()
        crawl = sim.stats()["total"]
        gw.keep()
        log(f"plex index ready: {crawl} server requests for the crawl")
        user = sim.user(KIND)
        ctxs = {}
        for name in MIXED:
            tool = importlib.import_module(name)
            if hasattr(tool, "prepare"):
                ctxs[name] = tool.prepare(sim.url["plex"], sim.user("owner"))
        gw.stop()
        direct, runs, answers = {}, {}, {}
        for name in MIXED:
            log(f"{name} direct")
            rec, direct[name] = run_tools(sim, sim.url["plex"], user, [name], ctxs)
            answers[name] = rec[name].result()
        runs["direct, one after the other"] = summed(direct.values())
        if ALONE:
            for name in MIXED:
                log(f"{name} alone through a cold cachearr")
                gw.fresh()
                if KIND != "new":
                    gw.touch(user)
                _, runs[f"{name} alone"] = run_tools(sim, gw.url, user, [name], ctxs)
        log(f"{', '.join(MIXED)} at once through a cold cachearr")
        gw.fresh()
        if KIND != "new":
            gw.touch(user)
        recs, mixed = run_tools(sim, gw.url, user, MIXED, ctxs)
        runs["at once, cold"] = mixed
        bad = {name: differ(answers[name], recs[name].result()) for name in MIXED}
        batches = json_get(gw.admin + "/api/stats")
    finally:
        for proc in ([gw.proc] if gw and gw.proc else []) + [sim.proc]:
            proc.terminate()
    with open(f"{WORK}/mixed.json", "w") as f:
        json.dump({"crawl": crawl, "tools": MIXED, "user": KIND, "runs": runs, "differ": bad,
                   "misses": {n: dict(r.misses) for n, r in recs.items()}, "stats": batches}, f, indent=1)
    print(f"{', '.join(MIXED)} as {KIND} ({user['name']}), cold cachearr; "
          f"sampled revalidations and play-state probes {'on' if PROBES else 'off'}\n")
    print("\n".join(route_rows(runs)))
    metadata = mixed["routes"].get(METADATA, 0)
    singles = sum(single_misses(r.misses) for r in recs.values())
    print(f"\nAt once: {mixed['requests']} server requests in {mixed['secs']} s; of the "
          f"{metadata} `{METADATA}` requests, {singles} were the tools' own single item reads "
          f"sent on (not hits), the rest batches and cachearr's own reads.")
    for name in MIXED:
        n = len(answers[name])
        print(f"- {name}: " + (f"all {n} answers equal to direct" if not bad[name]
                               else f"{len(bad[name])} of {n} answers differ from direct"))
    if mixed["errors"]:
        print("- errors: " + "; ".join(f"{k}: {v}" for k, v in mixed["errors"].items()))
    b = (batches or {}).get("batches")
    if b:
        print(f"- batcher: {json.dumps(b)}")


def json_get(url):
    try:
        return requests.get(url, timeout=5).json()
    except (requests.RequestException, ValueError):
        return None


if __name__ == "__main__":
    main()
