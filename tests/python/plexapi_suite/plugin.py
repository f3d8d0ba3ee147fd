"""pytest plugin that lets python-plexapi's own test suite run, unchanged, against a server that
has no plex.tv behind it (the simulator, or cachearr in front of it).

Loaded with ``-p plugin`` (this folder on PYTHONPATH), before the suite's conftest.py:

* The suite's ``plex`` fixture logs in to plex.tv to get a token
  (``MyPlexAccount(session=sess).authenticationToken``). plex.tv cannot be reached, so
  ``plexapi.myplex.MyPlexAccount`` is replaced, before conftest.py imports it, by a factory that
  answers the token-less call with an offline account holding the server owner's token
  (``PLEXAPI_AUTH_SERVER_TOKEN``). Calls that pass a token (the suite's mocked-account unit
  tests) still get the real class.
* Tests that need what no test machine has (plex.tv accounts, real players, mobile sync,
  Sonos, GDM discovery, the documentation build) are deselected by the rules in
  ``DESELECT``, each with its reason; ``--plexapi-deselected`` prints them.
* Every test's outcome is written as JSON lines to ``PLEXAPI_SUITE_RESULTS`` (when set), which
  ``report.py`` turns into the per-file table.
"""

import json
import os

import plexapi.myplex
import pytest

_RealAccount = plexapi.myplex.MyPlexAccount


class OfflineAccount:
    """What the suite's ``plex`` fixture reads from a plex.tv login: the owner's token."""

    def __init__(self, token):
        self.authenticationToken = token
        self._token = token


def _account_factory(*args, **kwargs):
    if args or kwargs.get("token") or kwargs.get("username"):
        return _RealAccount(*args, **kwargs)
    return OfflineAccount(os.environ.get("PLEXAPI_AUTH_SERVER_TOKEN", ""))


plexapi.myplex.MyPlexAccount = _account_factory

# Fixtures that reach plex.tv, a real player or a sync target: a test that asks for one cannot
# run here. (The suite's ``mocked_account`` fixture is offline: requests_mock answers it.)
NEEDS_FIXTURE = {
    "account": "logs in to plex.tv (MyPlexAccount)",
    "account_once": "logs in to plex.tv (MyPlexAccount)",
    "account_plexpass": "needs a plex.tv account with a Plex Pass subscription",
    "account_synctarget": "needs a plex.tv account with a sync target device",
    "sync_device": "needs a plex.tv sync target device",
    "clear_sync_device": "needs a plex.tv sync target device",
    "shared_username": "needs a plex.tv friend shared with the server",
    "client": "needs a real Plex player (PlexClient)",
}

# Whole files or single tests, by node id prefix, with the reason.
DESELECT = {
    "tests/test_myplex.py": "plex.tv account API (users, devices, webhooks, resources)",
    "tests/test_sync.py": "mobile sync needs plex.tv and a sync target device",
    "tests/test_sonos.py": "Sonos speakers via plex.tv",
    "tests/test_gdm.py": "GDM discovery (UDP multicast to real servers on the LAN)",
    "tests/test_client.py": "needs a real Plex player",
    "tests/test_misc.py::test_build_documentation": "builds the Sphinx docs (not shipped)",
    "tests/test_server.py::test_server_claim_unclaim": "claims the server on plex.tv",
    "tests/test_server.py::test_server_myPlexAccount": "reads the owner's plex.tv account",
    "tests/test_server.py::test_server_clients": "needs a real Plex player",
    "tests/test_server.py::test_server_account": "reads the owner's plex.tv account",
    "tests/test_server.py::test_server_Server_sharing_settings":
        "changes plex.tv sharing settings",
    "tests/test_library.py::test_library_MovieSection_PlexWebURL": "opens app.plex.tv URLs",
    "tests/test_video.py::test_video_Movie_PlexWebURL": "opens app.plex.tv URLs",
    "tests/test_video.py::test_video_Show_streamingServices":
        "asks plex.tv which streaming services carry the show",
    "tests/test_video.py::test_video_Movie_matadataDirectory":
        "reads the server's data directory on the test machine's own disk",
}


def _rel(nodeid):
    # Node ids are relative to the rootdir, which the harness sets to the suite's folder.
    return nodeid


def deselect_reason(item):
    nodeid = _rel(item.nodeid)
    for prefix, reason in DESELECT.items():
        if nodeid == prefix or nodeid.startswith(prefix + "::") or nodeid.startswith(
            prefix + "["
        ):
            return reason
    for name, reason in NEEDS_FIXTURE.items():
        if name in getattr(item, "fixturenames", ()):
            return reason
    if "client" in item.keywords and "test_client" not in nodeid:
        if item.get_closest_marker("client") is not None:
            return "needs a real Plex player"
    return None


def pytest_addoption(parser):
    parser.addoption(
        "--plexapi-deselected",
        action="store_true",
        default=False,
        help="print the deselected tests and the reasons, then stop",
    )


def pytest_collection_modifyitems(session, config, items):
    keep, dropped = [], []
    for item in items:
        reason = deselect_reason(item)
        if reason is None:
            keep.append(item)
        else:
            dropped.append((item, reason))
    if dropped:
        config.hook.pytest_deselected(items=[i for i, _ in dropped])
    items[:] = keep
    out = os.environ.get("PLEXAPI_SUITE_RESULTS")
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            for item, reason in dropped:
                fh.write(json.dumps({"nodeid": item.nodeid, "outcome": "deselected",
                                     "reason": reason}) + "\n")
    if config.getoption("--plexapi-deselected"):
        for item, reason in dropped:
            print(f"{item.nodeid}\t{reason}")
        items[:] = []


_outcomes = {}


def pytest_runtest_logreport(report):
    # A test's outcome: failed if any phase failed, skipped if setup skipped it, else passed.
    prev = _outcomes.get(report.nodeid)
    if report.failed:
        outcome = "failed"
    elif report.skipped:
        outcome = "skipped"
    elif report.when == "call":
        outcome = "passed"
    else:
        return
    if prev == "failed":
        return
    _outcomes[report.nodeid] = outcome
    if report.failed and prev is None:
        crash = getattr(report.longrepr, "reprcrash", None)
        text = crash.message if crash is not None else (report.longreprtext or "")
        _messages[report.nodeid] = text.strip().splitlines()[:1] or [""]


_messages = {}


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("PLEXAPI_SUITE_RESULTS")
    if not out:
        return
    with open(out, "a", encoding="utf-8") as fh:
        for nodeid, outcome in _outcomes.items():
            rec = {"nodeid": nodeid, "outcome": outcome}
            if outcome == "failed":
                rec["message"] = _messages.get(nodeid, [""])[0][:300]
            fh.write(json.dumps(rec) + "\n")
