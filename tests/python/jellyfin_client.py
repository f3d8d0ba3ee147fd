"""Drives the simulated Jellyfin server with the real jellyfin-apiclient-python, unchanged.

Usage: jellyfin_client.py SERVER_URL USERNAME PASSWORD

Runs the calls a real tool makes (connect, authenticate, list the libraries, page through
every track, search, fetch one item, create and edit a playlist, mark an item played) and
prints one JSON object with what it saw, for the Rust test to check against the simulator.
Any failed expectation exits non-zero with a message on stderr.
"""

import json
import sys
import threading

from jellyfin_apiclient_python import JellyfinClient
from jellyfin_apiclient_python.connection_manager import CONNECTION_STATE

PAGE = 37  # deliberately not a divisor of the track count, so the last page is partial


def fail(message):
    print(f"jellyfin_client.py: {message}", file=sys.stderr)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def main():
    if len(sys.argv) != 4:
        fail("usage: jellyfin_client.py SERVER_URL USERNAME PASSWORD")
    server_url, username, password = sys.argv[1:4]
    report = {}

    client = JellyfinClient()
    client.config.app("cachearr-tests", "0.1.0", "ci-runner", "cachearr-ci-device")
    client.config.data["auth.ssl"] = False

    # 1. Connect: GET system/info/public (lower-case path, as the client sends it).
    state = client.auth.connect_to_address(server_url)
    expect(state["State"] == CONNECTION_STATE.ServerSignIn, f"connect state {state}")
    report["server_name"] = state["Servers"][0]["Name"]

    # 2. A wrong password is refused (login() answers {} on any non-200).
    expect(client.auth.login(server_url, username, password + "-wrong") == {},
           "a wrong password was accepted")

    # 3. Authenticate by name.
    auth = client.auth.login(server_url, username, password)
    expect(auth and auth.get("AccessToken"), f"login failed: {auth}")
    user_id = auth["User"]["Id"]
    report["user_id"] = user_id
    report["user_name"] = auth["User"]["Name"]
    report["server_id"] = auth["ServerId"]

    api = client.jellyfin
    me = api.get_user()
    expect(me["Id"] == user_id, "Users/{UserId} is not the logged-in user")

    # 4. Library views.
    views = api.get_views()
    report["views"] = sorted(v["Name"] for v in views["Items"])
    music = [v for v in views["Items"] if v.get("CollectionType") == "music"]
    expect(music, f"no music view in {report['views']}")

    # 5. Page through every track of the user's libraries.
    seen = []
    total = None
    start = 0
    pages = 0
    while True:
        page = api.get_user_items(include_item_types="Audio", recursive=True, sort_by="SortName",
                                  sort_order="Ascending", start_index=start, limit=PAGE,
                                  fields="ProviderIds,Path")
        pages += 1
        if total is None:
            total = page["TotalRecordCount"]
        expect(page["TotalRecordCount"] == total, "TotalRecordCount changed while paging")
        expect(page["StartIndex"] == start, f"StartIndex {page['StartIndex']} != {start}")
        for item in page["Items"]:
            expect(item["Type"] == "Audio", f"non-track {item['Type']} in an Audio listing")
            expect("Path" in item, "Fields=Path was ignored")
        seen.extend(item["Id"] for item in page["Items"])
        start += len(page["Items"])
        if not page["Items"] or start >= total:
            break
    expect(len(seen) == total, f"paged {len(seen)} tracks, TotalRecordCount {total}")
    expect(len(set(seen)) == len(seen), "a track appeared on two pages")
    report["tracks_total"] = total
    report["pages"] = pages

    # 6. Fetch one item, then search for its exact name.
    first = api.get_item(seen[0])
    expect(first["Id"] == seen[0], "get_item answered another item")
    name = first["Name"]
    found = api.search_media_items(term=name, media="Audio", limit=100)
    report["search_term"] = name
    report["search_hits"] = len(found["Items"])
    expect(any(item["Id"] == seen[0] for item in found["Items"]),
           f"searching {name!r} did not find the track")
    hints = api._get("Search/Hints", {"searchTerm": name, "userId": user_id, "limit": 10})
    expect(any(h["Id"] == seen[0] for h in hints["SearchHints"]),
           f"Search/Hints for {name!r} did not find the track")
    report["hint_hits"] = hints["TotalRecordCount"]

    # 7. Playlists: create with 3 tracks, append one, move it to the front, remove one entry.
    created = api.new_playlist("cachearr python test", item_ids=seen[:3], media_type="Audio")
    playlist_id = created["Id"]
    api.add_playlist_items(playlist_id, [seen[3]])
    entries = api.get_playlist_items(playlist_id)["Items"]
    expect([e["Id"] for e in entries] == seen[:4], "playlist order after create + add")
    api.move_playlist_item(playlist_id, entries[3]["PlaylistItemId"], 0)
    api.remove_playlist_items(playlist_id, [entries[1]["PlaylistItemId"]])
    entries = api.get_playlist_items(playlist_id)["Items"]
    report["playlist_id"] = playlist_id
    report["playlist_items"] = [e["Id"] for e in entries]
    expect(report["playlist_items"] == [seen[3], seen[0], seen[2]],
           f"playlist after move + remove: {report['playlist_items']}")
    playlists = api.get_playlists()
    expect(any(p["Id"] == playlist_id for p in playlists["Items"]),
           "the new playlist is not among the user's playlists")

    # 8. Sign in fully (the client validates the token on system/info) and open the
    #    websocket; then mark a track played: the user's data says so, and the socket tells.
    received = {}
    got_user_data = threading.Event()

    def on_message(message_type, data):
        received.setdefault(message_type, []).append(data)
        if message_type == "UserDataChanged":
            got_user_data.set()

    client.callback = on_message
    state = client.authenticate(client.get_credentials(), discover=False)
    expect(state["State"] == CONNECTION_STATE.SignedIn, f"sign-in state {state['State']}")
    client.start(websocket=True)
    try:
        connected = threading.Event()
        for _ in range(600):  # up to 30 s on a loaded machine
            if "WebSocketConnect" in received:
                connected.set()
                break
            connected.wait(0.05)
        expect(connected.is_set(), "the websocket did not connect")
        api.item_played(seen[0], True)
        after = api.get_item(seen[0])
        expect(after["UserData"]["Played"] and after["UserData"]["PlayCount"] >= 1,
               f"UserData after played: {after['UserData']}")
        expect(got_user_data.wait(30), f"no UserDataChanged on the socket; got {list(received)}")
        changed = received["UserDataChanged"][0]
        expect(changed["UserId"] == user_id, "UserDataChanged for another user")
        expect(changed["UserDataList"][0]["ItemId"] == seen[0], "UserDataChanged for another item")
        expect(changed["UserDataList"][0]["Played"] is True, "UserDataChanged says unplayed")
        report["socket_messages"] = sorted(received)
    finally:
        client.stop()
    report["played_item"] = seen[0]

    # 9. Recently added (a bare list, not a QueryResult).
    latest = api.get_recently_added(media="Audio", limit=5)
    expect(isinstance(latest, list) and 0 < len(latest) <= 5, f"Items/Latest: {latest!r}")

    print(json.dumps(report))


if __name__ == "__main__":
    main()
