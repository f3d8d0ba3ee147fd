"""pytest plugin that runs python-plexapi's own plex.tv tests (tests/test_myplex.py, unchanged)
against the simulated plex.tv and server.

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
