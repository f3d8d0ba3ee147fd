//! The XML elements plex.tv answers with, named and typed as python-plexapi reads them
//! (`MyPlexAccount`, `MyPlexUser`, `MyPlexServerShare`, `Section`, `MyPlexResource`,
//! `MyPlexDevice`).

use crate::Identity;
use crate::library::Library;
use crate::plextv::{AccountKind, PlexTv, SECTION_ID_BASE, SHARE_ID_BASE};
use crate::state::{State, User};
use cachearr_serverfmt::tree::El;

/// When every simulated account joined plex.tv and the server was first seen (2020-01-01).
pub(crate) const JOINED_AT: u32 = 1_577_836_800;

/// What a Plex Pass subscription unlocks, as python-plexapi's Plex Pass test expects.
const FEATURES: &[&str] = &[
    "sync",
    "premium_music_metadata",
    "webhooks",
    "camera_upload",
];
/// Platforms a lifetime pass is entitled to.
const ENTITLEMENTS: &[&str] = &[
    "ios",
    "roku",
    "android",
    "xbox_one",
    "xbox_360",
    "windows",
    "windows_phone",
];

/// An account's e-mail address (managed users have none).
pub(crate) fn email(user: &User) -> String {
    if user.home && !user.is_owner {
        String::new()
    } else {
        format!("{}@example.com", user.name)
    }
}

/// An account's login name (managed users have none).
pub(crate) fn username(user: &User) -> &str {
    if user.home && !user.is_owner {
        ""
    } else {
        &user.name
    }
}

fn thumb(tv: &PlexTv, user: &User) -> String {
    format!(
        "https://plex.tv/users/{}/avatar?c={JOINED_AT}",
        tv.account_uuid(user)
    )
}

/// `GET /api/v2/user`: the caller's own account, with its token.
pub(crate) fn account(tv: &PlexTv, state: &State, user: &User) -> El {
    let kind = AccountKind::of(user);
    let in_home = kind != AccountKind::Invited;
    let home_size = 1 + state.users().iter().filter(|u| u.home).count();
    let e = El::new("user")
        .a("id", PlexTv::account_id(user))
        .a("uuid", tv.account_uuid(user))
        .a("username", username(user))
        .a("title", user.name.as_str())
        .a("email", email(user))
        .a("friendlyName", user.name.as_str())
        .a("locale", "")
        .a("confirmed", true)
        .a("joinedAt", JOINED_AT)
        .a("emailOnlyAuth", false)
        .a("hasPassword", kind != AccountKind::Managed)
        .a("protected", tv.pin(PlexTv::account_id(user)).is_some())
        .a("thumb", thumb(tv, user))
        .a("authToken", tv.account_token(user))
        .a("mailingListStatus", "unsubscribed")
        .a("mailingListActive", false)
        .a("scrobbleTypes", "1,4,10")
        .a("country", "US")
        .a("restricted", kind == AccountKind::Managed)
        .a("anonymous", "")
        .a("home", in_home)
        .a("guest", false)
        .a("homeSize", if in_home { home_size } else { 1 })
        .a("homeAdmin", kind == AccountKind::Owner)
        .a("maxHomeSize", 15u32)
        .a("rememberExpiresAt", JOINED_AT + 20 * 365 * 86_400)
        .a("experimentalFeatures", false)
        .a("twoFactorEnabled", false)
        .a("backupCodesCreated", false);
    let owner = kind == AccountKind::Owner;
    let mut features = El::new("features");
    if owner {
        for f in FEATURES {
            features = features.kid(El::new("feature").a("id", *f));
        }
    }
    let subscription = El::new("subscription")
        .a("active", owner)
        .a(
            "subscribedAt",
            if owner { "2020-01-01 00:00:00 UTC" } else { "" },
        )
        .a("status", if owner { "Active" } else { "Inactive" })
        .a("paymentService", "")
        .a("plan", if owner { "lifetime" } else { "" })
        .kid(features);
    let profile = El::new("profile")
        .a("autoSelectAudio", true)
        .a("defaultAudioLanguage", "en")
        .a("defaultSubtitleLanguage", "en")
        .a("autoSelectSubtitle", 0u32)
        .a("defaultSubtitleAccessibility", 0u32)
        .a("defaultSubtitleForces", 0u32);
    let mut entitlements = El::new("entitlements").a("all", false);
    let mut roles = El::new("roles");
    if owner {
        for id in ENTITLEMENTS {
            entitlements = entitlements.kid(El::new("entitlement").a("id", *id));
        }
        roles = roles.kid(El::new("role").a("id", "plexpass"));
    }
    e.kid(subscription)
        .kid(profile)
        .kid(entitlements)
        .kid(roles)
}

/// The shared sections of a share: every section of the server, `shared` when the user may
/// see it.
fn sections(mut parent: El, lib: &Library, user: &User) -> El {
    for s in lib.sections() {
        parent = parent.kid(
            El::new("Section")
                .a("id", SECTION_ID_BASE + s.id)
                .a("key", s.id)
                .a("title", s.title.as_str())
                .a("type", s.kind.plex_type())
                .a("shared", user.can_see_section(s.id)),
        );
    }
    parent
}

fn shared_count(lib: &Library, user: &User) -> usize {
    lib.sections()
        .iter()
        .filter(|s| user.can_see_section(s.id))
        .count()
}

/// A user's `Server` element inside `/api/users`: one share of the server.
pub(crate) fn user_server(id: &Identity, lib: &Library, user: &User) -> El {
    El::new("Server")
        .a("id", SHARE_ID_BASE + user.id)
        .a("serverId", SECTION_ID_BASE)
        .a("machineIdentifier", id.machine_identifier.as_str())
        .a("name", id.friendly_name.as_str())
        .a("lastSeenAt", JOINED_AT)
        .a("numLibraries", shared_count(lib, user))
        .a("allLibraries", user.sections.is_none())
        .a("owned", true)
        .a("pending", false)
}

/// The filters of a share, as plex.tv names them.
fn with_filters(e: El, user: &User) -> El {
    let r = &user.restrictions;
    e.a("filterAll", "")
        .a("filterMovies", r.plex_movies.to_plex_string())
        .a("filterMusic", r.plex_music.to_plex_string())
        .a("filterPhotos", "")
        .a("filterTelevision", r.plex_television.to_plex_string())
}

/// A `User` of `/api/users`: a friend or a managed user, with their share of the server while
/// it stands.
pub(crate) fn user(tv: &PlexTv, id: &Identity, lib: &Library, user: &User) -> El {
    let s = tv.settings(user.id);
    let managed = AccountKind::of(user) == AccountKind::Managed;
    let mut e = El::new("User")
        .a("id", PlexTv::account_id(user))
        .a("title", user.name.as_str())
        .a("username", username(user))
        .a("email", email(user))
        .a("recommendationsPlaylistId", "")
        .a("thumb", thumb(tv, user))
        .a("protected", tv.pin(PlexTv::account_id(user)).is_some())
        .a("home", managed || tv.home_invited(user.id))
        .a("allowTuners", 0u32)
        .a("allowSync", s.allow_sync)
        .a("allowCameraUpload", s.allow_camera_upload)
        .a("allowChannels", s.allow_channels)
        .a("allowSubtitleAdmin", false);
    e = with_filters(e, user).a("restricted", managed);
    if managed {
        e = e.a(
            "restrictionProfile",
            tv.profile(user.id).map_or("", |p| p.name()),
        );
    }
    if tv.admits(user) {
        e = e.kid(user_server(id, lib, user));
    }
    e
}

/// A `SharedServer` of `/api/servers/{id}/shared_servers`: the share, its settings, filters
/// and sections. Invited users' shares carry no server-scoped token since 2026; a managed
/// user's still does.
pub(crate) fn shared_server(tv: &PlexTv, id: &Identity, lib: &Library, user: &User) -> El {
    let s = tv.settings(user.id);
    let token = match AccountKind::of(user) {
        AccountKind::Managed => user.plex_token.as_str(),
        _ => "",
    };
    let e = El::new("SharedServer")
        .a("id", SHARE_ID_BASE + user.id)
        .a("username", username(user))
        .a("email", email(user))
        .a("userID", PlexTv::account_id(user))
        .a("accessToken", token)
        .a("name", id.friendly_name.as_str())
        .a("acceptedAt", JOINED_AT)
        .a("invitedAt", JOINED_AT)
        .a("allowSync", s.allow_sync)
        .a("allowCameraUpload", s.allow_camera_upload)
        .a("allowChannels", s.allow_channels)
        .a("allowTuners", 0u32)
        .a("allowSubtitleAdmin", false)
        .a("owned", false);
    sections(with_filters(e, user), lib, user)
}

/// `GET /api/servers/{id}`: the server with all its sections.
pub(crate) fn server(id: &Identity, lib: &Library, server_url: Option<&str>) -> El {
    let (host, port) = host_port(server_url);
    let mut e = El::new("Server")
        .a("accessToken", "")
        .a("name", id.friendly_name.as_str())
        .a("address", host)
        .a("port", port)
        .a("version", id.plex_version.as_str())
        .a("scheme", "http")
        .a("host", host)
        .a("localAddresses", host)
        .a("machineIdentifier", id.machine_identifier.as_str())
        .a("createdAt", JOINED_AT)
        .a("updatedAt", JOINED_AT)
        .a("owned", true)
        .a("synced", false);
    for s in lib.sections() {
        e = e.kid(
            El::new("Section")
                .a("id", SECTION_ID_BASE + s.id)
                .a("key", s.id)
                .a("type", s.kind.plex_type())
                .a("title", s.title.as_str()),
        );
    }
    El::container()
        .a("friendlyName", "myPlex")
        .a("identifier", "com.plexapp.plugins.myplex")
        .a("machineIdentifier", id.machine_identifier.as_str())
        .a("size", 1u32)
        .kid(e)
}

/// Host and port of `http://host:port`, or `("", 0)`.
pub(crate) fn host_port(url: Option<&str>) -> (&str, u32) {
    let Some(rest) = url.and_then(|u| u.split_once("://")).map(|(_, r)| r) else {
        return ("", 0);
    };
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().unwrap_or(0)),
        None => (rest, 80),
    }
}

/// A `resource` of `/api/v2/resources`: the server as `user` reaches it, with the token
/// they use there.
pub(crate) fn resource(
    tv: &PlexTv,
    id: &Identity,
    owner: &User,
    user: &User,
    server_url: Option<&str>,
) -> El {
    let kind = AccountKind::of(user);
    let token = match kind {
        AccountKind::Managed => user.plex_token.clone(),
        _ => tv.account_token(user),
    };
    let owned = kind == AccountKind::Owner;
    let mut e = El::new("resource")
        .a("name", id.friendly_name.as_str())
        .a("product", "Plex Media Server")
        .a("productVersion", id.plex_version.as_str())
        .a("platform", "Linux")
        .a("platformVersion", "")
        .a("device", "PC")
        .a("clientIdentifier", id.machine_identifier.as_str())
        .a("createdAt", "2020-01-01T00:00:00Z")
        .a("lastSeenAt", "2020-01-01T00:00:00Z")
        .a("provides", "server")
        .a("publicAddress", "127.0.0.1")
        .a("accessToken", token)
        .a("owned", owned)
        .a("home", kind != AccountKind::Invited)
        .a("synced", false)
        .a("relay", false)
        .a("presence", true)
        .a("httpsRequired", false)
        .a("publicAddressMatches", true)
        .a("dnsRebindingProtection", false)
        .a("natLoopbackSupported", false);
    if !owned {
        e = e
            .a("ownerId", PlexTv::account_id(owner))
            .a("sourceTitle", owner.name.as_str());
    }
    let mut connections = El::new("connections");
    if let Some(url) = server_url {
        let (host, port) = host_port(Some(url));
        connections = connections.kid(
            El::new("connection")
                .a("protocol", "http")
                .a("address", host)
                .a("port", port)
                .a("uri", url.trim_end_matches('/'))
                // python-plexapi tries only the remote connections of a server it does not
                // own: the one address is local to its owner and remote to everyone else.
                .a("local", owned)
                .a("relay", false)
                .a("IPv6", false),
        );
    }
    e.kid(connections)
}

/// The server as a `Device` of `/devices.xml`.
pub(crate) fn device(id: &Identity, token: &str, server_url: Option<&str>) -> El {
    let mut e = El::new("Device")
        .a("name", id.friendly_name.as_str())
        .a("publicAddress", "127.0.0.1")
        .a("product", "Plex Media Server")
        .a("productVersion", id.plex_version.as_str())
        .a("platform", "Linux")
        .a("platformVersion", "")
        .a("device", "PC")
        .a("model", "x86_64")
        .a("vendor", "")
        .a("provides", "server")
        .a("clientIdentifier", id.machine_identifier.as_str())
        .a("version", id.plex_version.as_str())
        .a("id", SECTION_ID_BASE + 1)
        .a("token", token)
        .a("createdAt", JOINED_AT)
        .a("lastSeenAt", JOINED_AT)
        .a("screenResolution", "")
        .a("screenDensity", "");
    if let Some(url) = server_url {
        e = e.kid(El::new("Connection").a("uri", url.trim_end_matches('/')));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_come_from_the_url() {
        assert_eq!(
            host_port(Some("http://127.0.0.1:32400")),
            ("127.0.0.1", 32400)
        );
        assert_eq!(host_port(Some("http://h/")), ("h", 80));
        assert_eq!(host_port(None), ("", 0));
    }
}
