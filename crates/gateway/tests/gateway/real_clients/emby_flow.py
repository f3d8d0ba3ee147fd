"""Emby's own generated Python client (`embyclient`, module `emby_client`), run unchanged
against Emby or cachearr in front of it, as an application would use it.

Usage: emby_flow.py BASE_URL USERNAME PASSWORD

Discovers the server (`/System/Info/Public`), signs in (`AuthenticateByName`), lists the
user's views, pages through every track, opens an item, searches, reads latest, resume and next
up, then marks an item played and reads it again (a write that must be visible at once, also
through a cache). Every answer is parsed by the client's models and printed whole (less the
times a sign-in and a play write: they differ between two runs); the Rust test runs it directly
and through cachearr, each against a fresh simulator with the same seed, and requires identical
output.
"""

import json
import sys

import emby_client
from emby_client.rest import ApiException

PAGE = 50
CLIENT = 'Emby UserId="", Client="cachearr-flow", Device="ci-runner", DeviceId="cachearr-flow-device", Version="0.1.0"'
# Moments of this run, not of the library (a sign-in's, a play's), and the address the server
# says it is at (each run's own).
MOMENTS = {"last_login_date", "last_activity_date", "last_played_date", "local_address"}


def fail(message):
    print(f"emby_flow.py: {message}", file=sys.stderr)
    sys.exit(1)


def whole(model):
    """A parsed answer as plain data, without the moments of this run."""

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in MOMENTS and v is not None}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value

    data = model.to_dict() if hasattr(model, "to_dict") else model
    return clean(data)


def main():
    if len(sys.argv) != 4:
        fail("usage: emby_flow.py BASE_URL USERNAME PASSWORD")
    base_url, username, password = sys.argv[1:4]
    config = emby_client.Configuration()
    # The client's paths are Emby's own, under /emby.
    config.host = base_url.rstrip("/") + "/emby"
    api = emby_client.ApiClient(config)
    report = {}

    info = emby_client.SystemServiceApi(api).get_system_info_public()
    report["discovery"] = whole(info)

    body = emby_client.AuthenticateUserByName(username=username, pw=password)
    auth = emby_client.UserServiceApi(api).post_users_authenticatebyname(body, CLIENT)
    if not auth.access_token:
        fail(f"sign-in handed out no token: {auth}")
    user_id = auth.user.id
    report["user"] = auth.user.name
    config.api_key["api_key"] = auth.access_token
    api.set_default_header("X-Emby-Authorization", CLIENT.replace('UserId=""', f'UserId="{user_id}"'))

    views = emby_client.UserViewsServiceApi(api).get_users_by_userid_views(user_id, False)
    report["views"] = whole(views)

    items = emby_client.ItemsServiceApi(api)
    pages, ids, start = [], [], 0
    while True:
        page = items.get_users_by_userid_items(
            user_id,
            include_item_types="Audio",
            recursive=True,
            sort_by="SortName",
            sort_order="Ascending",
            start_index=start,
            limit=PAGE,
        )
        pages.append(whole(page))
        ids.extend(item.id for item in page.items)
        start += len(page.items)
        if not page.items or start >= page.total_record_count:
            break
    report["tracks"] = pages
    if len(ids) < 2:
        fail("fewer than two tracks")

    library = emby_client.UserLibraryServiceApi(api)
    first = library.get_users_by_userid_items_by_id(user_id, ids[0])
    report["first"] = whole(first)
    found = items.get_items(
        search_term=first.name, include_item_types="Audio", recursive=True, limit=20, user_id=user_id
    )
    report["search"] = whole(found)
    report["latest"] = [whole(i) for i in library.get_users_by_userid_items_latest(user_id, limit=10)]
    report["resume"] = whole(items.get_users_by_userid_items_resume(user_id, limit=10))
    report["next_up"] = whole(emby_client.TvShowsServiceApi(api).get_shows_nextup(user_id, limit=10))

    before = library.get_users_by_userid_items_by_id(user_id, ids[1]).user_data
    emby_client.PlaystateServiceApi(api).post_users_by_userid_playeditems_by_id(user_id, ids[1])
    after = library.get_users_by_userid_items_by_id(user_id, ids[1]).user_data
    if not after.played:
        fail(f"item not played after the played mark (a stale cached read?): {after}")
    report["played"] = [ids[1], before.played, after.played, after.play_count]
    # Back on the home screen: the views again.
    again = emby_client.UserViewsServiceApi(api).get_users_by_userid_views(user_id, False)
    if whole(again) != report["views"]:
        fail("the views changed between two reads")
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    try:
        main()
    except ApiException as e:
        fail(f"the server refused a call: {e.status} {e.reason}")
