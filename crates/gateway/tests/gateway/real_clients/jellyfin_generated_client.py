"""Calls every Jellyfin route the simulator implements through `jellyfin-api-client`, the client
generated from Jellyfin's OpenAPI document, and parses each answer with its models.

Usage: jellyfin_generated_client.py SERVER_URL USERNAME PASSWORD

A route passes when its status is the one the server documents and its body parses into the
generated model with every value of the type the model declares (the generated `from_dict`
converts enums, dates and nested objects but takes strings and numbers as they come, so the
types are checked here, field by field, against the models' annotations), and no property is
one the model does not know. Routes the generated client has no function for (older
`/Users/{userId}/…` forms the server still answers, newer routes) are called with the
client's own HTTP session and parsed with the model of the answer they share.

Prints one JSON object: {"routes": [{"route", "method", "status", "ok", "error", "index"}, …]}
("index": cachearr answered from its library index, per its `Cache-Status`).
Exits non-zero only when the script itself cannot run (a failed login, no items).
"""

import datetime
import enum
import json
import sys
import traceback
import typing

import attrs
import jellyfin_api_client.models as models
import jellyfin_api_client.types as jtypes
from jellyfin_api_client import AuthenticatedClient, Client
from jellyfin_api_client.api.artists import get_album_artists, get_artists
from jellyfin_api_client.api.audio import get_audio_stream
from jellyfin_api_client.api.genres import get_genres
from jellyfin_api_client.api.image import get_item_image
from jellyfin_api_client.api.items import get_items, get_resume_items
from jellyfin_api_client.api.library import (delete_item, get_download, get_item_counts,
                                             get_media_folders, get_similar_items,
                                             refresh_library)
from jellyfin_api_client.api.library_structure import get_virtual_folders
from jellyfin_api_client.api.music_genres import get_music_genres
from jellyfin_api_client.api.playlists import (add_item_to_playlist, create_playlist,
                                               get_playlist_items, move_item,
                                               remove_item_from_playlist, update_playlist)
from jellyfin_api_client.api.playstate import (mark_played_item, mark_unplayed_item,
                                               ping_playback_session, report_playback_progress,
                                               report_playback_start, report_playback_stopped)
from jellyfin_api_client.api.search import get_search_hints
from jellyfin_api_client.api.session import get_sessions, post_capabilities
from jellyfin_api_client.api.studios import get_studios
from jellyfin_api_client.api.system import (get_ping_system, get_public_system_info,
                                            get_system_info, post_ping_system)
from jellyfin_api_client.api.tv_shows import get_episodes, get_next_up, get_seasons
from jellyfin_api_client.api.user import (authenticate_user_by_name, get_current_user,
                                          get_public_users, get_user_by_id, get_users)
from jellyfin_api_client.api.user_library import (get_item, get_latest_media,
                                                  mark_favorite_item, unmark_favorite_item)
from jellyfin_api_client.api.user_views import get_user_views
from jellyfin_api_client.models import BaseItemKind, ItemFields

AUTH = ('MediaBrowser Client="cachearr-tests", Device="ci", DeviceId="generated-client", '
        'Version="1.0"')

NAMESPACE = dict(vars(models))
NAMESPACE.update(vars(jtypes))
NAMESPACE["datetime"] = datetime


def type_errors(value, hint, path):
    """Where `value` is not of the type `hint` declares (recursively), as messages."""
    origin = typing.get_origin(hint)
    if origin is typing.Union:
        options = typing.get_args(hint)
        best = None
        for option in options:
            errors = type_errors(value, option, path)
            if not errors:
                return []
            if option not in (type(None), jtypes.Unset):
                best = best or errors
        return best or [f"{path}: {value!r} is none of {options}"]
    if hint is type(None):
        return [] if value is None else [f"{path}: {value!r} is not null"]
    if hint is jtypes.Unset:
        return [] if isinstance(value, jtypes.Unset) else [f"{path}: set"]
    if origin in (list, typing.List):
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__} where a list is declared"]
        (inner,) = typing.get_args(hint) or (typing.Any,)
        out = []
        for i, v in enumerate(value):
            out.extend(type_errors(v, inner, f"{path}[{i}]"))
        return out
    if hint is typing.Any:
        return []
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not a number"]
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not an integer"]
    if isinstance(hint, type) and attrs.has(hint):
        return model_errors(value, path) if isinstance(value, hint) else [
            f"{path}: {type(value).__name__} where {hint.__name__} is declared"]
    if isinstance(hint, type):
        if issubclass(hint, enum.Enum):
            return [] if isinstance(value, hint) else [f"{path}: {value!r} not a {hint.__name__}"]
        return [] if isinstance(value, hint) else [
            f"{path}: {value!r} is not {hint.__name__}"]
    return []


def model_errors(model, path):
    """Type errors and unknown properties of a parsed model (maps of free keys aside)."""
    cls = type(model)
    hints = typing.get_type_hints(cls, globalns=NAMESPACE)
    out = []
    for name, hint in hints.items():
        if name == "additional_properties":
            continue
        out.extend(type_errors(getattr(model, name), hint, f"{path}.{name}"))
    return out


def dropped(raw, kept, path):
    """Properties of the server's JSON that parsing dropped (the model does not know them)."""
    out = []
    if isinstance(raw, dict) and isinstance(kept, dict):
        for key, value in raw.items():
            if key not in kept:
                out.append(f"{path}: property {key!r} is not in the model")
            else:
                out.extend(dropped(value, kept[key], f"{path}.{key}"))
    elif isinstance(raw, list) and isinstance(kept, list):
        for i, (r, k) in enumerate(zip(raw, kept)):
            out.extend(dropped(r, k, f"{path}[{i}]"))
    return out


def round_trip(parsed):
    if isinstance(parsed, list):
        return [round_trip(p) for p in parsed]
    return parsed.to_dict() if attrs.has(type(parsed)) else parsed


class Run:
    def __init__(self, base):
        self.base = base
        self.results = []

    def record(self, method, route, status, error, headers=None):
        answered_by = (headers or {}).get("cache-status", "")
        self.results.append({"method": method, "route": route, "status": status,
                             "ok": error is None, "error": error,
                             "index": "detail=index" in answered_by})

    def call(self, method, route, fn, expect=200, **kwargs):
        """Calls a generated operation; checks the status and the parsed model."""
        try:
            resp = fn.sync_detailed(**kwargs)
        except Exception as exc:  # a parse failure raises inside the client
            self.record(method, route, None, f"{type(exc).__name__}: {exc}")
            return None
        error = None
        if resp.status_code != expect:
            error = f"status {int(resp.status_code)}, expected {expect}"
        elif resp.parsed is not None and expect == 200:
            errors = errors_of(resp.parsed, route)
            if attrs.has(type(resp.parsed)) or isinstance(resp.parsed, list):
                errors += dropped(json.loads(resp.content), round_trip(resp.parsed), route)
            error = "; ".join(errors[:5]) or None
        self.record(method, route, int(resp.status_code), error, resp.headers)
        return resp.parsed

    def raw(self, client, method, route, path, model=None, expect=200, params=None,
            headers=None):
        """A route the generated client has no function for, parsed with `model`."""
        try:
            resp = client.get_httpx_client().request(method, path, params=params,
                                                     headers=headers)
        except Exception as exc:
            self.record(method, route, None, f"{type(exc).__name__}: {exc}")
            return None
        error, parsed = None, None
        if resp.status_code != expect:
            error = f"status {resp.status_code}, expected {expect}"
        elif model is not None:
            try:
                body = resp.json()
                parsed = ([model.from_dict(x) for x in body] if isinstance(body, list)
                          else model.from_dict(body))
                errors = errors_of(parsed, route) + dropped(body, round_trip(parsed), route)
                error = "; ".join(errors[:5]) or None
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
        self.record(method, route, resp.status_code, error, resp.headers)
        return parsed


def errors_of(parsed, route):
    if isinstance(parsed, list):
        out = []
        for i, p in enumerate(parsed):
            out.extend(errors_of(p, f"{route}[{i}]"))
        return out
    if attrs.has(type(parsed)):
        return model_errors(parsed, route)
    return []


def items_of(result):
    return result.items if result and not isinstance(result.items, jtypes.Unset) else []


def main():
    if len(sys.argv) != 4:
        print("usage: jellyfin_generated_client.py SERVER_URL USERNAME PASSWORD", file=sys.stderr)
        sys.exit(2)
    base, username, password = sys.argv[1:4]
    run = Run(base)
    anon = Client(base_url=base, headers={"Authorization": AUTH}, timeout=60.0)
    run.call("GET", "/System/Info/Public", get_public_system_info, client=anon)
    run.call("GET", "/Users/Public", get_public_users, client=anon)
    auth = run.call("POST", "/Users/AuthenticateByName", authenticate_user_by_name, client=anon,
                    body=models.AuthenticateUserByName(username=username, pw=password))
    if auth is None or isinstance(auth.access_token, jtypes.Unset):
        print(json.dumps({"routes": run.results}))
        sys.exit("login failed")
    uid = auth.user.id
    api = AuthenticatedClient(base_url=base, token=auth.access_token, prefix="",
                              auth_header_name="X-Emby-Token", timeout=60.0)

    run.call("GET", "/System/Info", get_system_info, client=api)
    run.call("GET", "/System/Ping", get_ping_system, client=api)
    run.call("POST", "/System/Ping", post_ping_system, client=api)
    run.call("GET", "/Users", get_users, client=api)
    run.call("GET", "/Users/Me", get_current_user, client=api)
    run.call("GET", "/Users/{userId}", get_user_by_id, client=api, user_id=uid)
    views = run.call("GET", "/UserViews", get_user_views, client=api, user_id=uid)
    run.raw(api, "GET", "/Users/{userId}/Views", f"/Users/{uid}/Views",
            models.BaseItemDtoQueryResult)
    run.call("GET", "/Library/MediaFolders", get_media_folders, client=api)
    run.call("GET", "/Library/VirtualFolders", get_virtual_folders, client=api)

    every_field = [f for f in ItemFields]
    tracks = run.call("GET", "/Items", get_items, client=api, user_id=uid, recursive=True,
                      include_item_types=[BaseItemKind.AUDIO], limit=30, fields=every_field,
                      sort_by=[models.ItemSortBy.SORTNAME])
    tracks = items_of(tracks)
    if not tracks:
        print(json.dumps({"routes": run.results}))
        sys.exit("no tracks listed")
    for kinds in ([BaseItemKind.MUSICALBUM], [BaseItemKind.MUSICARTIST], [BaseItemKind.MOVIE],
                  [BaseItemKind.SERIES], [BaseItemKind.EPISODE], [BaseItemKind.PLAYLIST]):
        run.call("GET", "/Items", get_items, client=api, user_id=uid, recursive=True,
                 include_item_types=kinds, limit=20, fields=every_field)
    for view in items_of(views):
        run.call("GET", "/Items", get_items, client=api, user_id=uid, parent_id=view.id,
                 limit=20)
    term = tracks[0].name[:3]
    run.call("GET", "/Items", get_items, client=api, user_id=uid, search_term=term,
             recursive=True, limit=20)
    run.raw(api, "GET", "/Users/{userId}/Items", f"/Users/{uid}/Items",
            models.BaseItemDtoQueryResult,
            params={"SearchTerm": term, "Recursive": "true", "Limit": "20",
                    "IncludeItemTypes": "Audio,MusicAlbum,MusicArtist"})
    music = [BaseItemKind.AUDIO, BaseItemKind.MUSICALBUM, BaseItemKind.MUSICARTIST]
    # Searches of the kinds cachearr's library index holds (it answers those itself).
    run.call("GET", "/Items", get_items, client=api, user_id=uid, search_term=term,
             recursive=True, include_item_types=music, limit=20, fields=every_field)
    run.call("GET", "/Search/Hints", get_search_hints, client=api, search_term=term, limit=20)
    run.call("GET", "/Search/Hints", get_search_hints, client=api, search_term=term, limit=20,
             include_item_types=music)
    run.call("GET", "/Items/Counts", get_item_counts, client=api, user_id=uid)
    run.call("GET", "/Items/Latest", get_latest_media, client=api, user_id=uid, limit=10)
    run.raw(api, "GET", "/Users/{userId}/Items/Latest", f"/Users/{uid}/Items/Latest",
            models.BaseItemDto, params={"Limit": "10"})
    run.call("GET", "/UserItems/Resume", get_resume_items, client=api, user_id=uid)
    run.raw(api, "GET", "/Users/{userId}/Items/Resume", f"/Users/{uid}/Items/Resume",
            models.BaseItemDtoQueryResult)
    run.call("GET", "/Shows/NextUp", get_next_up, client=api, user_id=uid)
    run.call("GET", "/Artists", get_artists, client=api, user_id=uid, limit=20)
    run.call("GET", "/Artists/AlbumArtists", get_album_artists, client=api, user_id=uid,
             limit=20)
    run.call("GET", "/Genres", get_genres, client=api, user_id=uid)
    run.call("GET", "/MusicGenres", get_music_genres, client=api, user_id=uid)
    run.call("GET", "/Studios", get_studios, client=api, user_id=uid)

    track = tracks[0]
    run.call("GET", "/Items/{itemId}", get_item, client=api, item_id=track.id, user_id=uid)
    run.raw(api, "GET", "/Users/{userId}/Items/{itemId}", f"/Users/{uid}/Items/{track.id}",
            models.BaseItemDto)
    run.call("GET", "/Items/{itemId}/Similar", get_similar_items, client=api, item_id=track.id,
             user_id=uid, limit=5)
    run.call("GET", "/Items/{itemId}/Images/{imageType}", get_item_image, client=api,
             item_id=track.album_id if isinstance(track.album_id, str) else track.id,
             image_type=models.ImageType.PRIMARY)
    run.call("GET", "/Audio/{itemId}/stream", get_audio_stream, client=api, item_id=track.id,
             static=True)
    run.call("GET", "/Items/{itemId}/Download", get_download, client=api, item_id=track.id)

    movies = items_of(run.call("GET", "/Items", get_items, client=api, user_id=uid,
                               recursive=True, include_item_types=[BaseItemKind.MOVIE],
                               limit=2))
    if movies:
        run.raw(api, "GET", "/Videos/{itemId}/stream", f"/Videos/{movies[0].id}/stream",
                params={"static": "true"}, headers={"Range": "bytes=0-1023"}, expect=206)
    series = items_of(run.call("GET", "/Items", get_items, client=api, user_id=uid,
                               recursive=True, include_item_types=[BaseItemKind.SERIES],
                               limit=2))
    if series:
        run.call("GET", "/Shows/{seriesId}/Seasons", get_seasons, client=api,
                 series_id=series[0].id, user_id=uid)
        run.call("GET", "/Shows/{seriesId}/Episodes", get_episodes, client=api,
                 series_id=series[0].id, user_id=uid)

    # Play state and favourites, both route forms.
    run.call("POST", "/UserPlayedItems/{itemId}", mark_played_item, client=api,
             item_id=track.id, user_id=uid)
    run.call("DELETE", "/UserPlayedItems/{itemId}", mark_unplayed_item, client=api,
             item_id=track.id, user_id=uid)
    run.call("POST", "/UserFavoriteItems/{itemId}", mark_favorite_item, client=api,
             item_id=track.id, user_id=uid)
    run.call("DELETE", "/UserFavoriteItems/{itemId}", unmark_favorite_item, client=api,
             item_id=track.id, user_id=uid)
    run.raw(api, "POST", "/Users/{userId}/PlayedItems/{itemId}",
            f"/Users/{uid}/PlayedItems/{track.id}", models.UserItemDataDto)
    run.raw(api, "DELETE", "/Users/{userId}/PlayedItems/{itemId}",
            f"/Users/{uid}/PlayedItems/{track.id}", models.UserItemDataDto)
    run.raw(api, "POST", "/Users/{userId}/FavoriteItems/{itemId}",
            f"/Users/{uid}/FavoriteItems/{track.id}", models.UserItemDataDto)
    run.raw(api, "DELETE", "/Users/{userId}/FavoriteItems/{itemId}",
            f"/Users/{uid}/FavoriteItems/{track.id}", models.UserItemDataDto)

    # Sessions and playback reports.
    run.call("POST", "/Sessions/Capabilities", post_capabilities, client=api,
             playable_media_types=[models.MediaType.AUDIO], expect=204)
    run.call("GET", "/Sessions", get_sessions, client=api)
    run.call("POST", "/Sessions/Playing", report_playback_start, client=api,
             body=models.PlaybackStartInfo(item_id=track.id, play_session_id="ps1"), expect=204)
    run.call("POST", "/Sessions/Playing/Progress", report_playback_progress, client=api,
             body=models.PlaybackProgressInfo(item_id=track.id, position_ticks=10_000_000,
                                              play_session_id="ps1"), expect=204)
    run.call("POST", "/Sessions/Playing/Ping", ping_playback_session, client=api,
             play_session_id="ps1", expect=204)
    run.call("POST", "/Sessions/Playing/Stopped", report_playback_stopped, client=api,
             body=models.PlaybackStopInfo(item_id=track.id, position_ticks=20_000_000,
                                          play_session_id="ps1"), expect=204)

    # Playlists.
    ids = [t.id for t in tracks[:4]]
    created = run.call("POST", "/Playlists", create_playlist, client=api,
                       body=models.CreatePlaylistDto(name="generated client", ids=ids[:3],
                                                     user_id=uid,
                                                     media_type=models.MediaType.AUDIO))
    if created is not None and isinstance(created.id, str):
        pid = created.id
        run.raw(api, "GET", "/Playlists/{id}", f"/Playlists/{pid}")
        run.call("POST", "/Playlists/{id}", update_playlist, client=api, playlist_id=pid,
                 body=models.UpdatePlaylistDto(name="generated client, renamed"), expect=204)
        run.call("POST", "/Playlists/{id}/Items", add_item_to_playlist, client=api,
                 playlist_id=pid, ids=[ids[3]], user_id=uid, expect=204)
        entries = items_of(run.call("GET", "/Playlists/{id}/Items", get_playlist_items,
                                    client=api, playlist_id=pid, user_id=uid))
        if len(entries) >= 2:
            run.call("POST", "/Playlists/{id}/Items/{entryId}/Move/{newIndex}", move_item,
                     client=api, playlist_id=pid, item_id=entries[-1].playlist_item_id,
                     new_index=0, expect=204)
            run.call("DELETE", "/Playlists/{id}/Items", remove_item_from_playlist, client=api,
                     playlist_id=pid, entry_ids=[entries[0].playlist_item_id], expect=204)

    run.call("POST", "/Library/Refresh", refresh_library, client=api, expect=204)
    # Last: deleting an item (the last track listed, so a second run deletes another).
    run.call("DELETE", "/Items/{itemId}", delete_item, client=api, item_id=tracks[-1].id,
             expect=204)

    print(json.dumps({"routes": run.results}))


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception:
        traceback.print_exc()
        sys.exit(1)
