#!/usr/bin/env python3
"""Runs python-plexapi's own test suite (tests/peer/python-plexapi-4.16.1, unchanged) against
`cachearr sim --library plexapi-bootstrap` directly, then through `cachearr serve` in front of a
fresh simulator, and writes both runs' per-test outcomes as JSON.

    run.py --cachearr target/debug/cachearr --out results.json [--only direct|cachearr]
           [-k EXPR] [--pytest-arg ARG]...

Each run gets its own simulator (the suite edits the library and the owner's shares, so a run
must not see the previous run's writes), with its simulated plex.tv (`--plextv-listen`), and its
own data directory for cachearr. cachearr fronts only the Plex server: in both runs the harness
plugin (plugin.py) sends what python-plexapi addresses to plex.tv straight to the simulated
plex.tv, where the suite signs in as the server's owner, and deselects what needs another
service, real players, sync or GDM. `report.py results.json` prints the per-file table.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SUITE = os.path.join(ROOT, "tests", "peer", "python-plexapi-4.16.1")
VENV_PY = os.path.join(ROOT, ".venv-plexapi-suite", "bin", "python")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ok(url, token, deadline_s=60):
    """Polls until `url` answers 200 (a guard against a hang, not a timing assertion)."""
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        try:
            req = urllib.request.Request(url, headers={"X-Plex-Token": token})
            with urllib.request.urlopen(req, timeout=5) as r:
                if r.status == 200:
                    return
        except Exception as err:  # noqa: BLE001 - any failure means "not yet"
            last = err
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up: {last}")


def start_sim(cachearr, log):
    proc = subprocess.Popen(
        [cachearr, "sim", "--library", "plexapi-bootstrap", "--plex-listen", "127.0.0.1:0",
         "--plextv-listen", "127.0.0.1:0", "--no-cost", "--json"],
        stdout=subprocess.PIPE, stderr=log, text=True,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    banner = json.loads(proc.stdout.readline())
    owner = next(u for u in banner["users"] if u["owner"])
    return proc, banner["plex_url"], banner["plextv_url"], owner


def play_something(sim_url, token):
    """The owner has played a file before, as on the suite's own test server: the dashboard's
    bandwidth statistics (test_server's `dashboard_bandwidth` tests) have a transfer to show."""
    req = urllib.request.Request(sim_url + "/library/parts/1/1/file.mkv",
                                 headers={"X-Plex-Token": token})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


def start_gateway(cachearr, upstream, token, data_dir, log):
    # Two ports apart from each other and from the upstream's: a port the system hands out
    # free a moment ago may be handed out again, and cachearr refuses to start on a clash.
    taken = {int(upstream.rsplit(":", 1)[1].split("/")[0])}
    ports = []
    while len(ports) < 2:
        port = free_port()
        if port not in taken:
            taken.add(port)
            ports.append(port)
    port, admin = ports
    proc = subprocess.Popen(
        [cachearr, "serve", "--plex", upstream, "--listen", f"127.0.0.1:{port}",
         "--admin-listen", f"127.0.0.1:{admin}", "--data-dir", data_dir,
         "--log-level", "warn"],
        stdout=log, stderr=log,
        env={**os.environ, "CACHEARR_PLEX_TOKEN": token},
    )
    url = f"http://127.0.0.1:{port}"
    wait_ok(url + "/library/sections", token)
    return proc, url


def run_suite(base_url, plextv_url, owner, results_path, extra, log):
    env = {
        **os.environ,
        "PLEXAPI_AUTH_SERVER_BASEURL": base_url,
        # The owner's plex.tv account token (the server takes it too): the suite's `account`
        # and `plex` fixtures sign in to the simulated plex.tv with it.
        "PLEXAPI_AUTH_SERVER_TOKEN": owner["plextv_account_token"],
        "PLEXAPI_AUTH_MYPLEX_USERNAME": owner["name"],
        "PLEXAPI_AUTH_MYPLEX_PASSWORD": owner["password"],
        "PLEXTV_URL": plextv_url,
        # A friend the owner shares the server with (the suite's `shared_username`).
        "SHARED_USERNAME": "alice",
        # The account-wide tests (privacy opt-outs) may always run on a simulated account.
        "TEST_ACCOUNT_ONCE": "1",
        # A request the simulator does not answer fails fast instead of waiting 30 s.
        "PLEXAPI_PLEXAPI_TIMEOUT": "10",
        "PLEXAPI_SUITE_RESULTS": results_path,
        "PYTHONPATH": HERE,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    # Tests that download write into the working directory: keep it out of the repository.
    with tempfile.TemporaryDirectory(prefix="plexapi-suite-") as cwd:
        cmd = [VENV_PY, "-m", "pytest", "-p", "plugin", "-p", "no:cacheprovider",
               "--rootdir", SUITE, os.path.join(SUITE, "tests"), "-q", "--timeout", "60",
               "-o", "console_output_style=classic", "-W", "ignore",
               "--durations", "8"] + extra
        subprocess.run(cmd, cwd=cwd, env=env, stdout=log, stderr=log, check=False)


def outcomes(path):
    out = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                out[rec["nodeid"]] = rec
    return out


# Tokens the runs handed out, blanked in the log: pytest's tracebacks show request URLs and
# headers, and a token is never kept in a file.
TOKENS = set()
TOKEN_IN_TEXT = re.compile(r"(?i)(x-plex-token[\"']?\s*[=:]\s*[\"']?)([A-Za-z0-9_~.\-]{8,})")


def redacted(text):
    """`text` with every token the runs handed out, and any X-Plex-Token value, blanked."""
    for token in sorted(TOKENS, key=len, reverse=True):
        text = text.replace(token, "<token>")
    return TOKEN_IN_TEXT.sub(lambda m: m.group(1) + "<token>", text)


def one_run(mode, args, extra, tmp, log_path, result):
    started = time.monotonic()
    procs = []
    results = os.path.join(tmp, f"{mode}.jsonl")
    with open(os.path.join(tmp, f"{mode}.log"), "w", encoding="utf-8") as log:
        try:
            sim, sim_url, plextv_url, owner = start_sim(args.cachearr, log)
            procs.append(sim)
            TOKENS.update(v for k, v in owner.items() if "token" in k and isinstance(v, str) and v)
            play_something(sim_url, owner["plex_token"])
            url = sim_url
            if mode == "cachearr":
                gw, url = start_gateway(args.cachearr, sim_url, owner["plex_token"],
                                        os.path.join(tmp, "gateway"), log)
                procs.append(gw)
            log.write(f"==> {mode}: {url} (plex.tv: {plextv_url})\n")
            log.flush()
            run_suite(url, plextv_url, owner, results, extra, log)
        finally:
            for p in reversed(procs):
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
    result["runs"][mode] = {
        "seconds": round(time.monotonic() - started, 1),
        "tests": outcomes(results),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cachearr", default=os.path.join(ROOT, "target", "debug", "cachearr"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", choices=["direct", "cachearr"])
    ap.add_argument("-k", dest="keyword")
    ap.add_argument("--pytest-arg", action="append", default=[])
    ap.add_argument("--log", help="pytest and server output (default: a temporary file)")
    args = ap.parse_args()
    if not os.path.exists(VENV_PY):
        raise SystemExit(f"{VENV_PY} is missing: run scripts/setup-test-env")
    extra = list(args.pytest_arg) + (["-k", args.keyword] if args.keyword else [])
    log_path = args.log or tempfile.mktemp(prefix="plexapi-suite-", suffix=".log")
    result = {"suite": "python-plexapi 4.16.1", "runs": {}}
    modes = [m for m in ("direct", "cachearr") if not args.only or args.only == m]
    with tempfile.TemporaryDirectory(prefix="plexapi-suite-data-") as tmp:
        # The two runs are independent (each its own simulator): run them side by side, the
        # suite spends much of its time waiting (the alert listener test alone waits 30 s).
        threads = [threading.Thread(target=one_run, args=(m, args, extra, tmp, log_path, result))
                   for m in modes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with open(log_path, "w", encoding="utf-8") as log:
            for m in modes:
                part = os.path.join(tmp, f"{m}.log")
                if os.path.exists(part):
                    with open(part, encoding="utf-8") as fh:
                        log.write(f"==> {m}\n" + redacted(fh.read()))
    result["log"] = log_path
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=1, sort_keys=True)
    print(f"wrote {args.out} (log: {log_path})", file=sys.stderr)


if __name__ == "__main__":
    main()
