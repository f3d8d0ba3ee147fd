#!/usr/bin/env python3
"""A pass repeated: a Kometa-style pass and a library-walking tool run through cachearr in its
default configuration, then again DELAYS seconds after the first pass ended (8 and 60), each
repeat's server requests as a share of the same pass direct (bench/tools/repeat.sh starts it).

TOOLS (kometa,overseerr) are bench/tools' replays: Kometa's library operations (a listing and
every item reloaded) and Overseerr's library scan (section pages, each show with its children,
each season's episodes). For each, as the user kind KIND (owner): the pass direct, then through
a gateway restarted on its crawled index with nothing cached (the first pass), then each
repeat. A run's server requests are the simulator's count from its start until the server has
been asked nothing for a second, split into the tool's requests cachearr sent on (counted at
its proxy listener) and cachearr's own (its background and reads for the copy meanwhile);
what the server was asked between runs is in no run.

Neither the simulator nor `cachearr serve` has a clock that can be moved on, so "20 minutes"
and "a day" later are real waits: DELAYS=8,60,1200 waits 20 minutes; a day is not measured.
"""
import importlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from run import FEED, LABELS, VARIANT, WORK, Gateway, Sim, differ, log, measure  # noqa: E402

TOOLS = os.environ.get("TOOLS", "kometa,overseerr").split(",")
KIND = os.environ.get("KIND", "owner")
DELAYS = [float(d) for d in os.environ.get("DELAYS", "8,60").split(",")]


def main():
    sim = Sim()
    gateways = {}
    results = []
    try:
        for name in TOOLS:
            tool = importlib.import_module(name)
            server = tool.SERVER
            if server not in gateways:
                gw = gateways[server] = Gateway(server, sim, name=f"repeat-{server}")
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
            first = measure(sim, tool, gw.url, user, ctx, gw)
            ended = time.monotonic()
            runs = [("first", first)]
            for delay in DELAYS:
                time.sleep(max(0.0, ended + delay - time.monotonic()))
                log(f"{name}: again {delay:g} s after the first")
                runs.append((f"{delay:g} s after", measure(sim, tool, gw.url, user, ctx, gw)))
            results.append({"tool": name, "kind": KIND, "user": user["name"], "direct": direct,
                            "runs": runs, "differ": {label: differ(direct["answers"], r["answers"])
                                                     for label, r in runs}})
    finally:
        for gw in gateways.values():
            if gw.proc:
                gw.stop()
        sim.proc.terminate()
    with open(f"{WORK}/repeat.json", "w") as f:
        json.dump(results, f, indent=1)
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


if __name__ == "__main__":
    main()
