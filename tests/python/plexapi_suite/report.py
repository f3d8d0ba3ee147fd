#!/usr/bin/env python3
"""Per-file table of a python-plexapi suite run (run.py's output): passed / failed / skipped
directly against the simulator and through cachearr, the pass rate of the selected tests, and
the transparency regressions (tests that pass directly and fail through cachearr).

    report.py results.json [--json] [--check]

--check exits 1 when there is any transparency regression (the CI gate).
Pass rate = passed / (passed + failed) over the tests that ran: the suite itself skips the
anonymous variants of its tests when a token is given, and those skips are not failures.
"""

import argparse
import collections
import json
import sys


def tally(tests):
    per_file = collections.defaultdict(collections.Counter)
    for nodeid, rec in tests.items():
        per_file[nodeid.split("::")[0]][rec["outcome"]] += 1
    return per_file


def summary(result):
    runs = result["runs"]
    direct = runs.get("direct", {}).get("tests", {})
    through = runs.get("cachearr", {}).get("tests", {})
    regressions = sorted(
        n for n, r in direct.items()
        if r["outcome"] == "passed" and through.get(n, {}).get("outcome") == "failed"
    )
    files = sorted(set(tally(direct)) | set(tally(through)))
    td, tc = tally(direct), tally(through)
    rows = []
    for f in files:
        row = {"file": f}
        for mode, t in (("direct", td), ("cachearr", tc)):
            c = t.get(f, collections.Counter())
            row[mode] = {k: c.get(k, 0) for k in ("passed", "failed", "skipped", "deselected")}
        rows.append(row)

    def totals(t):
        c = collections.Counter()
        for v in t.values():
            c.update(v)
        ran = c["passed"] + c["failed"]
        return {"passed": c["passed"], "failed": c["failed"], "skipped": c["skipped"],
                "deselected": c["deselected"],
                "pass_rate": round(100.0 * c["passed"] / ran, 1) if ran else 0.0}

    return {
        "suite": result.get("suite"),
        "seconds": {m: r.get("seconds") for m, r in runs.items()},
        "files": rows,
        "total": {"direct": totals(td), "cachearr": totals(tc)},
        "transparency_regressions": [
            {"test": n, "cachearr_message": through[n].get("message", "")} for n in regressions
        ],
        "fixed_through_cachearr": sorted(
            n for n, r in direct.items()
            if r["outcome"] == "failed" and through.get(n, {}).get("outcome") == "passed"
        ),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    with open(args.results, encoding="utf-8") as fh:
        s = summary(json.load(fh))
    if args.json:
        print(json.dumps(s, indent=1))
    else:
        print("| file | direct pass / fail / skip | through cachearr pass / fail / skip | deselected |")
        print("|---|---|---|---|")
        for r in s["files"]:
            d, c = r["direct"], r["cachearr"]
            print(f"| {r['file'].removeprefix('tests/')} | {d['passed']} / {d['failed']} / "
                  f"{d['skipped']} | {c['passed']} / {c['failed']} / {c['skipped']} | "
                  f"{max(d['deselected'], c['deselected'])} |")
        d, c = s["total"]["direct"], s["total"]["cachearr"]
        print(f"| **total** | {d['passed']} / {d['failed']} / {d['skipped']} | "
              f"{c['passed']} / {c['failed']} / {c['skipped']} | "
              f"{max(d['deselected'], c['deselected'])} |")
        print()
        print(f"pass rate of the tests that ran: direct {d['pass_rate']} %, "
              f"through cachearr {c['pass_rate']} %")
        print(f"transparency regressions (pass direct, fail through cachearr): "
              f"{len(s['transparency_regressions'])}")
        for r in s["transparency_regressions"]:
            print(f"  {r['test']}: {r['cachearr_message']}")
    if args.check and s["transparency_regressions"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
