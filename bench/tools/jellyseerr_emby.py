"""Jellyseerr's full library scan of an Emby server, as seerr-team/seerr 3.1.0 makes it with
the media server type Emby (`JELLYFIN_TYPE=emby` before its settings migration 0003). Emby and
Jellyfin share the client, and in a full scan nothing differs by server type (only the
recently-added scan asks `/Users/{uid}/Items/Latest` on Emby), so this is
bench/tools/jellyseerr.py's scan with the user's Emby token, under the server's root (no
`/emby` base): what every Emby user of the current release sends.
"""
from jellyseerr import scan

SERVER = "emby"


def replay(http, base, user, ctx=None):
    scan(http, base, user, user["emby_token"])
