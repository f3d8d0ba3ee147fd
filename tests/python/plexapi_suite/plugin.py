"""pytest plugin that lets python-plexapi's own test suite run, unchanged, against a server that
has the simulated plex.tv behind it (the simulator, or cachearr in front of it).

Loaded with ``-p plugin`` (this folder on PYTHONPATH), before the suite's conftest.py:

* python-plexapi writes plex.tv's address into its classes (``MyPlexAccount.key``,
  ``FRIENDINVITE`` …, ``https://clients.plex.tv`` for PINs) and reads no setting for it, so every
  ``requests.Session`` created from here on gets an adapter on ``https://plex.tv`` and
  ``https://clients.plex.tv`` that sends those requests to ``PLEXTV_URL`` (the simulator's
  ``--plextv-listen`` address). The suite's ``account`` and ``plex`` fixtures then sign in
  there with the owner's token (``PLEXAPI_AUTH_SERVER_TOKEN``) as they would on plex.tv.
  ``requests_mock`` still takes precedence where a test installs it.
* Tests that need what no test machine has (a service beyond plex.tv, real players, mobile
  sync, GDM discovery, the documentation build) are deselected by the rules in
  ``DESELECT``, each with its reason; ``--plexapi-deselected`` prints them.
* Every test's outcome is written as JSON lines to ``PLEXAPI_SUITE_RESULTS`` (when set), which
  ``report.py`` turns into the per-file table.
"""

import json
import os
import re

import pytest
import requests
from requests.adapters import HTTPAdapter

PLEXTV_HOSTS = ("https://plex.tv", "https://clients.plex.tv")


class ToSimulatedPlexTv(HTTPAdapter):
    """Sends what python-plexapi addresses to plex.tv to the simulated plex.tv."""

    def __init__(self, base):
        super().__init__()
        self.base = base.rstrip("/")

    def send(self, request, **kwargs):
        for host in PLEXTV_HOSTS:
            if request.url == host or request.url.startswith((host + "/", host + "?")):
                request.url = self.base + request.url[len(host):]
                break
        return super().send(request, **kwargs)


def _plextv_url():
    url = os.environ.get("PLEXTV_URL")
    if not url:
        raise pytest.UsageError("PLEXTV_URL (the simulated plex.tv's address) is not set")
    return url


_original_requests_init = requests.Session.__init__


def _requests_init(self, *args, **kwargs):
    _original_requests_init(self, *args, **kwargs)
    adapter = ToSimulatedPlexTv(_plextv_url())
    for host in PLEXTV_HOSTS:
        self.mount(host, adapter)


requests.Session.__init__ = _requests_init

# Fixtures that reach a sync target or a real player: a test that asks for one cannot run here.
# (The suite's ``mocked_account`` fixture is offline: requests_mock answers it.)
NEEDS_FIXTURE = {
    "account_synctarget": "needs a sync target device registered on plex.tv (not simulated)",
    "sync_device": "needs a sync target device registered on plex.tv (not simulated)",
    "clear_sync_device": "needs a sync target device registered on plex.tv (not simulated)",
    "client": "needs a real Plex player (PlexClient)",
}

# Whole files or single tests, by node id prefix, with the reason.
DESELECT = {
    "tests/test_myplex.py::test_myplex_watchlist":
        "reads the watchlist from metadata.provider.plex.tv, a service beyond plex.tv",
    "tests/test_myplex.py::test_myplex_searchDiscover":
        "searches discover.provider.plex.tv, a service beyond plex.tv",
    "tests/test_history.py::test_history_UserSection":
        "python-plexapi 4.16.1's Section.history asks the account for a server name it does not "
        "have (AttributeError before any request); fails against the real plex.tv too",
    "tests/test_sync.py": "mobile sync: a sync target device on plex.tv, its sync items and the "
                          "server's sync transcoder are not simulated",
    "tests/test_gdm.py": "GDM discovery (UDP multicast to real servers on the LAN)",
    "tests/test_client.py": "needs a real Plex player",
    "tests/test_misc.py::test_build_documentation": "builds the Sphinx docs (not shipped)",
    "tests/test_server.py::test_server_clients": "needs a real Plex player",
    "tests/test_video.py::test_video_Show_streamingServices":
        "asks metadata.provider.plex.tv which streaming services carry the show",
    "tests/test_video.py::test_video_Movie_on_demand_subtitles":
        "the server searches OpenSubtitles for subtitles, a service beyond plex.tv",
    "tests/test_video.py::test_video_Movie_extras":
        "extras (trailers) come from Plex's metadata provider, a service beyond plex.tv",
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

# A token in a failure message (a URL's `X-Plex-Token=…`, a header) is not written out.
_TOKEN = re.compile(r"(X-Plex-Token['\"]?\s*[=:]\s*['\"]?)[^&'\"\s,}]+", re.IGNORECASE)


def _redact(text):
    return _TOKEN.sub(r"\1…", text)


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("PLEXAPI_SUITE_RESULTS")
    if not out:
        return
    with open(out, "a", encoding="utf-8") as fh:
        for nodeid, outcome in _outcomes.items():
            rec = {"nodeid": nodeid, "outcome": outcome}
            if outcome == "failed":
                rec["message"] = _redact(_messages.get(nodeid, [""])[0])[:300]
            fh.write(json.dumps(rec) + "\n")
