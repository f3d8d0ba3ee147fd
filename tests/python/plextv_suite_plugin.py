"""pytest plugin that runs python-plexapi's own plex.tv tests (unchanged) against the simulated
plex.tv and server: every test of the suite that signs in to plex.tv (its ``account``,
``account_once``, ``account_plexpass`` and ``shared_username`` fixtures: tests/test_myplex.py, the
users' history, sharing, claiming the server, Plex Pass features), selected from whatever paths
pytest is given; the others are left out (the main suite harness, plexapi_suite/, runs them).
Of the selected, ``DESELECT`` names those that need something no test machine has, each with
its reason; ``PLEXTV_SUITE_RESULTS`` receives them too (``"outcome": "deselected"``).

Loaded with ``-p plextv_suite_plugin`` (tests/python on PYTHONPATH). python-plexapi writes
plex.tv's address into its classes and reads no setting for it, so every ``requests.Session``
created from here on gets an adapter on ``https://plex.tv`` and ``https://clients.plex.tv``
that sends those requests to ``PLEXTV_URL`` (the simulator's ``--plextv-listen`` address).
``requests_mock`` and the suite's own patches still take precedence where a test installs them.
Outcomes go to ``PLEXTV_SUITE_RESULTS`` as JSON lines when it is set.
"""

import json
import os

import requests
from requests.adapters import HTTPAdapter

PLEXTV_HOSTS = ("https://plex.tv", "https://clients.plex.tv")


class ToSimulatedPlexTv(HTTPAdapter):
    def __init__(self, base):
        super().__init__()
        self.base = base.rstrip("/")

    def send(self, request, **kwargs):
        for host in PLEXTV_HOSTS:
            if request.url.startswith(host + "/"):
                request.url = self.base + request.url[len(host):]
        return super().send(request, **kwargs)


_original_init = requests.Session.__init__


def _init_with_simulated_plextv(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    adapter = ToSimulatedPlexTv(os.environ["PLEXTV_URL"])
    for host in PLEXTV_HOSTS:
        self.mount(host, adapter)


requests.Session.__init__ = _init_with_simulated_plextv

# The suite's fixtures that sign in to plex.tv: a test asking for one depends on plex.tv.
PLEXTV_FIXTURES = {"account", "account_once", "account_plexpass", "account_synctarget",
                   "sync_device", "clear_sync_device", "shared_username"}
# Tests that reach plex.tv through the server (the server asks plex.tv) without such a fixture.
PLEXTV_TESTS = {"tests/test_server.py::test_server_account"}

# Selected tests that cannot pass here, by node id prefix, with the reason.
DESELECT = {
    "tests/test_sync.py": "mobile sync (a sync-target device on plex.tv, its sync items, the "
                          "server's sync transcoder) is not simulated",
    "tests/test_client.py": "needs a real Plex player",
    "tests/test_myplex.py::test_myplex_watchlist":
        "reads the watchlist from Plex's metadata provider (metadata.provider.plex.tv), "
        "a service beyond plex.tv",
    "tests/test_myplex.py::test_myplex_searchDiscover":
        "searches Plex's discover provider (discover.provider.plex.tv), a service beyond plex.tv",
    "tests/test_video.py::test_video_Movie_on_demand_subtitles":
        "the server searches OpenSubtitles for subtitles, a service beyond plex.tv",
    "tests/test_video.py::test_video_Movie_extras":
        "extras (trailers) come from Plex's metadata provider, a service beyond plex.tv",
    "tests/test_history.py::test_history_UserSection":
        "python-plexapi 4.16.1's Section.history asks its account for a server name it does not "
        "have (AttributeError before any request); fails against the real plex.tv too",
}


def _needs_plextv(item):
    return bool(PLEXTV_FIXTURES & set(getattr(item, "fixturenames", ()))) or any(
        item.nodeid.endswith(t) or t in item.nodeid for t in PLEXTV_TESTS)


def _deselect_reason(item):
    for prefix, reason in DESELECT.items():
        at = item.nodeid.find(prefix)
        if at >= 0 and item.nodeid[at + len(prefix):][:1] in ("", ":", "["):
            return reason
    return None


def pytest_collection_modifyitems(session, config, items):
    keep, dropped = [], []
    for item in items:
        if not _needs_plextv(item):
            continue
        reason = _deselect_reason(item)
        if reason is None:
            keep.append(item)
        else:
            dropped.append((item, reason))
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep
    path = os.environ.get("PLEXTV_SUITE_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            for item, reason in dropped:
                fh.write(json.dumps({"nodeid": item.nodeid, "when": "collect",
                                     "outcome": "deselected", "reason": reason}) + "\n")


def pytest_runtest_logreport(report):
    path = os.environ.get("PLEXTV_SUITE_RESULTS")
    if not path or (report.when != "call" and report.outcome != "skipped" and not report.failed):
        return
    reason = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2]
    elif report.failed:
        reason = str(report.longrepr).splitlines()[-1][:300] if report.longrepr else ""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"nodeid": report.nodeid, "when": report.when,
                             "outcome": report.outcome, "reason": reason}) + "\n")
