"""A jellyfin-apiclient-python flow, run unchanged against Jellyfin or cachearr in front of it.

Usage: jellyfin_flow.py BASE_URL USERNAME PASSWORD

Connects, signs in, lists the libraries, pages through every track, opens an item, searches,
reads recently added and resume items, then marks an item played and reads it again (a write
that must be visible at once, also through a cache). Prints one JSON object; the Rust test runs
it directly and through cachearr, each against a fresh simulator with the same seed, and
requires identical output.
"""

import json
import sys

from jellyfin_apiclient_python import JellyfinClient

PAGE = 50


def fail(message):
    print(f"jellyfin_flow.py: {message}", file=sys.stderr)
    sys.exit(1)


def brief(item):
    user_data = item.get("UserData") or {}
    return {
        "Id": item["Id"],
        "Name": item.get("Name"),
        "Type": item.get("Type"),
        "Played": user_data.get("Played"),
        "PlayCount": user_data.get("PlayCount"),
    }


def main():
    if len(sys.argv) != 4:
        fail("usage: jellyfin_flow.py BASE_URL USERNAME PASSWORD")
    base_url, username, password = sys.argv[1:4]
    client = JellyfinClient()
    client.config.app("cachearr-flow", "0.1.0", "ci-runner", "cachearr-flow-device")
    client.config.data["auth.ssl"] = False
    state = client.auth.connect_to_address(base_url)
    report = {"server_name": state["Servers"][0]["Name"]}
    auth = client.auth.login(base_url, username, password)
    if not auth or not auth.get("AccessToken"):
        fail(f"login failed: {auth}")
    report["user"] = auth["User"]["Name"]
    api = client.jellyfin

    views = api.get_views()
    report["views"] = sorted(v["Name"] for v in views["Items"])

    ids = []
    start = 0
    while True:
        page = api.get_user_items(include_item_types="Audio", recursive=True, sort_by="SortName",
                                  sort_order="Ascending", start_index=start, limit=PAGE)
        ids.extend(item["Id"] for item in page["Items"])
        start += len(page["Items"])
        if not page["Items"] or start >= page["TotalRecordCount"]:
            break
    report["tracks"] = len(ids)
    report["first_tracks"] = ids[:10]

    if not ids:
        fail("no tracks")
    first = api.get_item(ids[0])
    report["first"] = brief(first)
    found = api.search_media_items(term=first["Name"], media="Audio", limit=20)
    report["search"] = [brief(i) for i in found["Items"]]
    report["latest"] = [brief(i) for i in api.get_recently_added(media="Audio", limit=10)]
    report["resume"] = [brief(i) for i in api.get_resume_items(limit=10)["Items"]]

    before = api.get_item(ids[1])["UserData"]
    api.item_played(ids[1], True)
    after = api.get_item(ids[1])["UserData"]
    if not after.get("Played"):
        fail(f"item not played after item_played (a stale cached read?): {after}")
    report["played"] = [ids[1], before.get("Played"), after.get("Played"), after.get("PlayCount")]

    # Tools re-read what they listed before (a dashboard refresh): the same answers again.
    report["views_again"] = sorted(v["Name"] for v in api.get_views()["Items"])
    report["first_again"] = brief(api.get_item(ids[0]))

    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main()
