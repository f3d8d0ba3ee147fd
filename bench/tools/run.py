#!/usr/bin/env python3
"""The tools' passes, direct and through cachearr (bench/tools/run.sh says what each replays
and starts this). Prints the Markdown table and the index crawls' cost; writes every run's
server routes, the requests cachearr did not answer from its cache and the answers' digests to
$WORK/results.json.

cachearr runs with its default configuration. FEED=off runs the labelled extra variant with
the change feed's sampled revalidations and play-state probes off (what the passes alone
cost, without the background that runs while they do); it is never the headline. What the
server is asked through cachearr is told apart: the tool's requests cachearr sent on (counted
at its proxy listener, `/api/stats` → `headline.clients.to_server`) and cachearr's own (every
other request the simulator counted meanwhile: its background, proofs, nested reads).

SERVER=emby starts the simulator's Emby 4.9 server too and replays the Jellyfin tools' Emby
counterparts (`EMBY`) against it, through a gateway with `profile = "emby"`."""
import importlib
import json
import os
import shutil
import subprocess
import sys
import time

import requests

from common import Recorder

ENV = os.environ
BIN, WORK, ROOT = ENV["CACHEARR"], ENV["WORK"], ENV["ROOT"]
LABELS = {"overseerr": "Overseerr library scan", "jellyseerr": "Jellyseerr library scan",
          "jellyseerr_users_items": "Jellyseerr library scan (before 2.5.0)",
          "kometa": "Kometa library operations",
          "tautulli": "Tautulli polling (%s rounds)" % ENV.get("TAUTULLI_CYCLES", "3"),
          "plexkodiconnect": "PlexKodiConnect full sync",
          "jellyfin_kodi": "Jellyfin for Kodi full sync", "plexist": "Plexist track index",
          "plexapi_search": "python-plexapi searchTracks",
          "jellyseerr_emby": "Jellyseerr library scan", "emby_kodi": "Emby for Kodi Next Gen full sync"}
# SERVER=emby: the Jellyfin tools' passes against the simulator's Emby 4.9 server instead, each
# replayed by its Emby counterpart (the same tool in its Emby mode, or the Emby add-on).
SERVER = ENV.get("SERVER", "jellyfin")
EMBY = {"jellyseerr": "jellyseerr_emby", "jellyfin_kodi": "emby_kodi"}
if SERVER not in ("jellyfin", "emby"):
    raise SystemExit(f"SERVER={SERVER}: jellyfin or emby")
# Replays of older releases, run only when TOOLS names them.
OLDER = {"jellyseerr_users_items"}
DEFAULT_TOOLS = list(EMBY) if SERVER == "emby" else \
    [t for t in LABELS if t not in EMBY.values() and t not in OLDER]
TOOLS = [EMBY.get(t, t) if SERVER == "emby" else t for t in ENV.get("TOOLS", ",".join(DEFAULT_TOOLS)).split(",")]
KINDS = ENV.get("KINDS", "new,owner,shared,restricted").split(",")
# The Jellyfin release the simulator follows (`cachearr sim --jellyfin-version`).
JELLYFIN_VERSION = ENV.get("JELLYFIN_VERSION", "10.11.11")
# The simulator's Emby server runs when a tool replays against it.
WITH_EMBY = SERVER == "emby" or any(t in EMBY.values() for t in TOOLS)
NAMES = {"shared": ENV.get("SHARED_USER", "alice"), "new": ENV.get("SHARED_USER", "alice"),
         "restricted": ENV.get("RESTRICTED_USER", "carol")}
# What an invited Plex user reaches the server with: `account`, their plex.tv account token (as
# Plex has given invited users since 2026), or `server`, a server-scoped token (before it).
PLEX_SHARED_TOKENS = ENV.get("PLEX_SHARED_TOKENS", "account")
if PLEX_SHARED_TOKENS not in ("account", "server"):
    raise SystemExit(f"PLEX_SHARED_TOKENS={PLEX_SHARED_TOKENS}: account or server")


def log(msg):
    print("==> " + msg, file=sys.stderr, flush=True)


def free_port():
    return int(subprocess.check_output(["bash", "-c", "source bench/lib.sh; free_port"], cwd=ROOT))


def wait_http(url, secs=60):
    for _ in range(secs * 10):
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {url}")


class Sim:
    def __init__(self):
        self.ports = {"plex": free_port(), "jellyfin": free_port()}
        if WITH_EMBY:
            self.ports["emby"] = free_port()
        self.url = {k: f"http://127.0.0.1:{p}" for k, p in self.ports.items()}
        # The simulator's plex.tv, where cachearr reads the Plex server's shares (never the
        # real one from a benchmark).
        self.plextv = f"http://127.0.0.1:{free_port()}"
        args = [BIN, "sim", "--plex-listen", f"127.0.0.1:{self.ports['plex']}",
                "--plextv-listen", self.plextv.removeprefix("http://"),
                "--jellyfin-listen", f"127.0.0.1:{self.ports['jellyfin']}", "--no-cost", "--seed", ENV.get("SEED", "4"),
                "--jellyfin-version", JELLYFIN_VERSION]
        if WITH_EMBY:
            args += ["--emby-listen", f"127.0.0.1:{self.ports['emby']}"]
        for size in ("tracks", "movies", "shows"):
            args += [f"--{size}", ENV[size.upper()]]
        self.proc = subprocess.Popen(args, stdout=open(f"{WORK}/sim.log", "w"), stderr=subprocess.STDOUT)
        wait_http(self.url["plex"] + "/identity")
        self.users = requests.get(self.url["plex"] + "/_sim/tokens").json()["users"]
        # The release the Emby server reports (`/System/Info/Public` → `Version`).
        self.emby_version = requests.get(self.url["emby"] + "/System/Info/Public").json()["Version"] \
            if WITH_EMBY else None

    def user(self, kind):
        if kind == "owner":
            return next(u for u in self.users if u["owner"])
        user = next(u for u in self.users if u["name"] == NAMES[kind])
        if PLEX_SHARED_TOKENS == "account" and not user["home"] and user.get("plex_account_token"):
            user = dict(user, plex_token=user["plex_account_token"])
        return user

    def stats(self):
        return requests.get(self.url["plex"] + "/_sim/stats").json()

    def settle(self):
        """Waits until the server has been asked nothing for a second (prefetches, proofs)."""
        last = self.stats()["total"]
        for _ in range(30):
            time.sleep(1)
            now = self.stats()["total"]
            if now == last:
                return
            last = now

    def reset(self):
        self.settle()
        requests.post(self.url["plex"] + "/_sim/reset")


FEED_OFF = """[feed]
samples_per_minute = 0
play_state_probe = "0s"
"""
# The shipped configuration unless FEED=off asks for the labelled variant.
FEED = ENV.get("FEED", "default")
VARIANT = "" if FEED == "default" else \
    " — VARIANT: sampled revalidations and play-state probes off, not the shipped configuration"


class Gateway:
    """One `cachearr serve` in front of one of the simulator's servers, in its default
    configuration; `probes=False` turns the change feed's sampled revalidations and play-state
    probes off (a labelled variant only: they are part of what cachearr costs). `name` keeps
    several gateways of one server apart (their data directories, logs and configuration);
    `redis` gives them a shared Redis tier."""

    def __init__(self, server, sim, probes=None, name=None, redis=None):
        if probes is None:
            probes = FEED != "off"
        self.server = server
        self.name = name or server
        self.port, admin = free_port(), free_port()
        self.url, self.admin = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{admin}"
        owner = sim.user("owner")
        plextv = f'plextv_url = "{sim.plextv}"\n' if server == "plex" else ""
        self.config = f"{WORK}/{self.name}.toml"
        shared = f'[cache]\nredis = "{redis}"\n' if redis else ""
        with open(self.config, "w") as f:
            f.write(f'''data_dir = "{WORK}/{self.name}-data"
admin_listen = "127.0.0.1:{admin}"
{shared}{"" if probes else FEED_OFF}[[upstream]]
name = "{server}"
profile = "{server}"
url = "{sim.url[server]}"
listen = "127.0.0.1:{self.port}"
token = "{owner[server + '_token']}"
{plextv}[upstream.guard]
max_concurrent = 256
rate_per_sec = 100000
burst = 100000
''')
        self.proc = None

    def start(self):
        self.launch()
        self.ready()

    def launch(self):
        """Starts `cachearr serve` and returns at once (several gateways start together)."""
        self.proc = subprocess.Popen([BIN, "serve", "--config", self.config],
                                     stdout=open(f"{WORK}/{self.name}-cachearr.log", "a"), stderr=subprocess.STDOUT)

    def ready(self):
        """Waits until the gateway answers and its library index is ready."""
        wait_http(self.admin + "/health")
        self.wait_index()

    def wait_index(self):
        wait = ENV.get("INDEX_WAIT", "600")
        cmd = f'source bench/lib.sh; wait_index_ready "{self.admin}" {wait}'
        if subprocess.run(["bash", "-c", cmd], cwd=ROOT).returncode:
            raise SystemExit(f"the {self.name} index was not ready in {wait} s")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()

    def keep(self):
        """Keeps the data directory as the crawl left it: the index, an empty cache."""
        self.stop()
        shutil.copytree(f"{WORK}/{self.name}-data", f"{WORK}/{self.name}-crawled")
        self.start()

    def fresh(self):
        """Starts again on the kept data directory: the index loaded, nothing cached, no user seen."""
        self.stop()
        shutil.rmtree(f"{WORK}/{self.name}-data")
        shutil.copytree(f"{WORK}/{self.name}-crawled", f"{WORK}/{self.name}-data")
        self.start()

    def served(self):
        """What this gateway counted so far: the clients' requests and those it sent on, and
        its own server requests (`/api/stats`; zeros from a build without the headline)."""
        stats = requests.get(self.admin + "/api/stats").json()
        head = stats.get("headline", {})
        clients, own = head.get("clients", {}), head.get("own", {})
        return {"requests": clients.get("requests", 0), "to_server": clients.get("to_server", 0),
                "own": own.get("server_requests", 0)}

    def touch(self, user):
        """One request as USER that no replay makes, so that cachearr has seen the user."""
        if self.server == "plex":
            requests.get(self.url + "/activities", headers={"X-Plex-Token": user["plex_token"]})
        elif self.server == "emby":
            requests.get(self.url + "/System/Info", headers={"X-Emby-Token": user["emby_token"]})
        else:
            # The credential every release takes (12 refuses `X-Emby-Token`).
            auth = f'MediaBrowser Token="{user["jellyfin_token"]}"'
            requests.get(self.url + "/System/Info", headers={"Authorization": auth})


def sent_on(http):
    """The requests a replay's answers say cachearr sent to the server (not a hit of the cache,
    the copy or the index)."""
    return sum(http.misses.values())


def measure(sim, tool, base, user, ctx, gw=None):
    """One pass: what the server was asked in all and, through `gw`, of that the tool's
    requests cachearr sent on (counted at its listener; by the answers' `X-Cache` when the
    build does not say) and cachearr's own (the rest)."""
    sim.reset()
    before = gw.served() if gw else None
    http = Recorder()
    started = time.monotonic()
    tool.replay(http, base, user, ctx)
    secs = time.monotonic() - started
    sim.settle()
    s = sim.stats()
    routes = {r: v["requests"] for r, v in s["routes"].items()}
    run = {"requests": s["total"], "scanned": s["items_scanned"], "returned": s["items_returned"],
           "secs": round(secs, 1), "routes": routes, "misses": dict(http.misses), "answers": http.result()}
    if gw:
        after = gw.served()
        counted = after["requests"] - before["requests"]
        run["tool"] = after["to_server"] - before["to_server"] if counted else sent_on(http)
        run["own"] = s["total"] - run["tool"]
        run["own_by_gateway"] = after["own"] - before["own"]
    return run


def differ(direct, other):
    keys = set(direct) | set(other)
    return sorted(k for k in keys if direct.get(k) != other.get(k))


def model_secs(run):
    """The server's time for the run under the simulator's default cost model (10 ms a
    request, 5 ms an item returned, 10 µs an item scanned; docs/simulator.md)."""
    return run["requests"] * 0.010 + run["returned"] * 0.005 + run["scanned"] * 0.00001


def shapes(results):
    """Per tool, the server routes its cold passes still asked for, summed over the users."""
    out = ["", "Cold passes: what still reached the server (simulator routes, requests summed over the users)", ""]
    for name in TOOLS:
        total = {}
        for r in (r for r in results if r["tool"] == name):
            for route, n in r["runs"]["cold"]["routes"].items():
                total[route] = total.get(route, 0) + n
        top = sorted(total.items(), key=lambda kv: -kv[1])[:6]
        out.append(f"- {LABELS[name]}: " + ("; ".join(f"`{r}` {n}" for r, n in top) or "nothing"))
    return "\n".join(out)


def passes(sim, gateways):
    results, rows = [], []
    for name in TOOLS:
        tool = importlib.import_module(name)
        gw = gateways[tool.SERVER]
        ctx = tool.prepare(sim.url[tool.SERVER], sim.user("owner")) if hasattr(tool, "prepare") else None
        for kind in KINDS:
            user = sim.user(kind)
            log(f"{name}, {kind} ({user['name']})")
            gw.stop()  # nothing of cachearr's own lands in the direct run
            runs = {"direct": measure(sim, tool, sim.url[tool.SERVER], user, ctx)}
            gw.fresh()
            if kind != "new":
                gw.touch(user)
            runs["cold"] = measure(sim, tool, gw.url, user, ctx, gw)
            runs["warm"] = measure(sim, tool, gw.url, user, ctx, gw)
            bad = {p: differ(runs["direct"]["answers"], runs[p]["answers"]) for p in ("cold", "warm")}
            results.append({"tool": name, "kind": kind, "user": user["name"], "runs": runs, "differ": bad})
            d, c, w = (runs[p]["requests"] for p in ("direct", "cold", "warm"))
            split = {p: f"{runs[p]['requests']} ({runs[p]['tool']} / {runs[p]['own']})" for p in ("cold", "warm")}
            n = len(runs["direct"]["answers"])
            same = f"all {n}" if not bad["cold"] and not bad["warm"] else \
                f"{len(bad['cold'])} cold, {len(bad['warm'])} warm of {n} differ"
            cut = f"{round(100 * (d - c) / d)} %" if d else "–"
            secs = f"{model_secs(runs['direct']):.1f} / {model_secs(runs['cold']):.1f}"
            rows.append(f"| {LABELS[name]} | {tool.SERVER} | {kind} ({user['name']}) | {d} | {split['cold']} | "
                        f"{split['warm']} | {cut} | {secs} | {same} |")
    return results, rows


def main():
    sim = Sim()
    gateways = {}
    try:
        log(f"simulator: {ENV['TRACKS']} tracks, {ENV['MOVIES']} movies, {ENV['SHOWS']} shows")
        crawls = {}
        # Only the servers the chosen tools replay against are crawled.
        servers = [s for s in ("plex", "jellyfin", "emby") if any(importlib.import_module(t).SERVER == s for t in TOOLS)]
        for server in servers:
            sim.reset()
            gateways[server] = Gateway(server, sim)
            gateways[server].start()
            sim.settle()
            crawls[server] = sim.stats()["total"]
            gateways[server].keep()
            log(f"{server} index ready: {crawls[server]} server requests for the crawl")
        results, rows = passes(sim, gateways)
    finally:
        for proc in [gw.proc for gw in gateways.values()] + [sim.proc]:
            if proc:
                proc.terminate()
    with open(f"{WORK}/results.json", "w") as f:
        json.dump({"crawls": crawls, "results": results}, f, indent=1)
    release = f"Emby {sim.emby_version}" if SERVER == "emby" else f"Jellyfin {JELLYFIN_VERSION}"
    print(f"{release}; cachearr {FEED} configuration{VARIANT}; through cachearr: all the server was asked "
          f"(the tool's requests cachearr sent on / cachearr's own)\n")
    print("| tool | server | user | direct | cold (tool's / own) | warm (tool's / own) | cold reduction | server s direct / cold (model) | answers equal |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))
    print("\nIndex crawls (once per library, not per tool): "
          + ", ".join(f"{s.capitalize()} {n} server requests" for s, n in crawls.items()) + ".")
    print(shapes(results))


if __name__ == "__main__":
    main()
