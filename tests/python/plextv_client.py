#!/usr/bin/env python3
"""python-plexapi's MyPlexAccount, unchanged, against the simulated plex.tv and server.

    plextv_client.py PLEX_URL PLEXTV_URL OWNER_TOKEN

python-plexapi writes plex.tv's address into its classes (``MyPlexAccount.key`` is
``https://plex.tv/api/v2/user``, ``MyPlexResource.key``, ``FRIENDINVITE`` …) and reads no setting
for it. What it does take is a ``requests.Session``: an adapter mounted on ``https://plex.tv``
(and ``https://clients.plex.tv``) sends those requests to the simulator instead. That is the
whole override (docs/simulator.md).

Prints ``OK: …`` when every check passed; any failure raises.
"""

import sys

import requests
from requests.adapters import HTTPAdapter

from plexapi.exceptions import Unauthorized
from plexapi.myplex import MyPlexAccount
from plexapi.server import PlexServer

PLEXTV_HOSTS = ("https://plex.tv", "https://clients.plex.tv")


class ToSimulatedPlexTv(HTTPAdapter):
    """Sends what python-plexapi addresses to plex.tv to the simulated plex.tv."""

    def __init__(self, base):
        super().__init__()
        self.base = base.rstrip("/")

    def send(self, request, **kwargs):
        for host in PLEXTV_HOSTS:
            if request.url.startswith(host + "/"):
                request.url = self.base + request.url[len(host):]
        return super().send(request, **kwargs)


def session_for(plextv_url):
    session = requests.Session()
    adapter = ToSimulatedPlexTv(plextv_url)
    for host in PLEXTV_HOSTS:
        session.mount(host, adapter)
    return session


def movie_ratings(server):
    return {m.contentRating for m in server.library.section("Movies").all()}


def main():
    plex_url, plextv_url, owner_token = sys.argv[1:4]
    session = session_for(plextv_url)

    account = MyPlexAccount(token=owner_token, session=session)
    assert account.username == "admin", account.username
    assert account.email and account.authenticationToken == owner_token
    assert account.subscriptionActive and "plexpass" in account.roles
    assert account.homeAdmin and account.homeSize >= 2

    users = {u.title: u for u in account.users()}
    assert {"alice", "carol", "dave", "emma"} <= set(users), sorted(users)
    assert users["carol"].filterMusic == "label!=Explicit", users["carol"].filterMusic
    assert users["emma"].home and users["emma"].restricted == "1"
    share = users["bob"].servers[0]
    sections = share.sections()
    shared = sorted(s.title for s in sections if s.shared)
    assert len(shared) == 2 and len(sections) > 2, shared

    # The server through plex.tv's resources, as a client finds it.
    server = account.resource(account.resources()[0].name).connect()
    assert server.machineIdentifier == share.machineIdentifier
    everything = movie_ratings(server)

    # An invited friend signs in with their own plex.tv account; the server checks the token
    # with plex.tv and applies the share's filter, which the owner changes on plex.tv.
    alice = MyPlexAccount("alice", "alice-password", session=session)
    alice_server = PlexServer(plex_url, alice.authenticationToken, session=session)
    assert movie_ratings(alice_server) == everything
    account.updateFriend("alice", server, filterMovies={"contentRating": ["G", "PG"]})
    assert account.user("alice").filterMovies == "contentRating=G,PG"
    assert movie_ratings(alice_server) <= {"G", "PG"}, movie_ratings(alice_server)

    account.removeFriend("alice")
    try:
        PlexServer(plex_url, alice.authenticationToken, session=session)
        raise AssertionError("the server still takes a removed friend's token")
    except Unauthorized:
        pass
    assert not alice.resources(), "a removed share is no resource of hers"

    # A managed Home user: switched to from the owner's account, with a server token.
    emma = account.switchHomeUser("emma")
    emma_server = emma.resource(server.friendlyName).connect()
    assert emma_server.library.section("Movies").totalSize <= server.library.section("Movies").totalSize
    print(f"OK: {len(users)} users, {len(shared)} sections shared with bob, "
          f"alice refused after removal, emma through her Home")


if __name__ == "__main__":
    main()
