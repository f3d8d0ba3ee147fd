//! Emby's rules: Jellyfin's ancestor, whose API Jellyfin forked, so everything that is the
//! same is Jellyfin's (`jellyfin/`) and only what differs is written here.
//!
//! * **Routes** — Jellyfin's table; every route also answers under `/emby/`
//!   ([`DialectFacts::route_prefixes`]): a request's path is read without it, so both
//!   spellings are one route, one key and one answer.
//! * **Tokens** — the forms Jellyfin 10.x reads (`X-Emby-Token`, `api_key`, the `Emby` and
//!   `MediaBrowser` schemes of `Authorization` / `X-Emby-Authorization`) at every release:
//!   Emby never dropped them. cachearr's own requests carry `X-Emby-Token`.
//! * **Ids** — item ids are short numbers (the database's `InternalId`), not GUIDs: a single
//!   item's read is `/Items/{number}` (`WALK_BATCH`). User ids stay 32-hex GUIDs.
//! * **Identity** — `/System/Info/Public` names no `ProductName`; its `Version` is Emby's
//!   (`4.9.x`), followed as Jellyfin's is.
//! * **Users** — none of the routes Jellyfin added for the token's own user without naming
//!   it (`/Users/Me` is a 500 on Emby, `/UserViews`, `/Items/Latest`, `/UserItems/Resume`
//!   404s): a user's libraries are `/Users/{id}/Views`, warming reads each user's
//!   `/Users/{id}/…`, and a token's user is learnt from a sign-in seen through cachearr or
//!   proven by what the server answered it ([`UserRoutes::admins_only`]); the startup check
//!   reads `/System/Info`.
//! * **Copy** — walks as on Jellyfin (each proven on the server's answers); searches are
//!   not answered from the index yet (the [`SearchRoutes`] impl says why).
//! * `events.rs` — the notification socket at `/embywebsocket` (the token in `api_key` as well,
//!   which ties a socket to a session), its `UserUpdated` and `UserDeleted`, and Emby's own
//!   webhooks (`Event`: `library.new`, `item.markplayed` …).

pub mod events;

use std::borrow::Cow;

use http::{HeaderMap, HeaderName};

use crate::answers::{SearchRoute, SearchRoutes};
use crate::jellyfin::{self, Jellyfin};
use crate::model::library::{PlayCursor, PlayStateItem, PlayStateProbe, PlayedEntry, UserSections};
use crate::model::route::IndexSearch;
use crate::model::{Class, Scope};
use crate::{
    Candidates, Dialect, DialectFacts, Named, Profile, ServerReading, SoleAdministrator,
    StartupProbes, Trigger, UserRoutes, WhoAnswer,
};

/// Emby.
#[derive(Debug, Clone, Copy)]
pub struct Emby;

/// Emby: Jellyfin's facts, but its own profile, events, walk batch and `/emby/` prefix.
/// Images are shared as on Jellyfin (Emby's image routes answer without a token too).
static FACTS: DialectFacts = DialectFacts {
    profile: Profile::Emby,
    token_header: HeaderName::from_static("x-emby-token"),
    routes: &jellyfin::routes::ROUTES,
    key_rules: &jellyfin::KEY_RULES,
    image_scope: Scope::Shared,
    // Each user's, by their id on the server: Emby has no routes of the token's own user
    // that name none (`/UserViews`, `/Items/Latest`, `/UserItems/Resume` are 404s there).
    default_warm: &[
        "/Users/{user}/Views",
        "/Users/{user}/Items/Latest",
        "/Users/{user}/Items/Resume",
    ],
    events: &Emby,
    library: &Jellyfin,
    answers: Some(&Jellyfin),
    search_routes: Some(&Emby),
    walk_batch: &WALK_BATCH,
    paged_listing: Some(&jellyfin::paging::PAGED_LISTING),
    startup_probes: StartupProbes {
        identity: "/System/Info/Public",
        // Any user's token and an API key are answered here; Emby has no `/Users/Me` (a 500
        // to every token: no verdict on it).
        token: "/System/Info",
        owner: "/Users",
    },
    user_routes: UserRoutes {
        own: None,
        admins_only: Some(jellyfin::policy::USERS_PATH),
        sole_administrator: Some(SoleAdministrator {
            keys: "/Auth/Keys",
            administrators,
            lists_key,
        }),
        sections: "/Users/{user}/Views",
    },
    version_reader: Some(jellyfin::token::server_version),
    ids_ignore_case: true,
    caches_by_the_standard: false,
    route_prefixes: &["/emby"],
};

/// Jellyfin's walk batch with Emby's numeric ids for a single item's read (`/Items/{id}`,
/// `/Items?ids={id}`), and the walks of what a page's items name: Emby for Kodi syncs a
/// library's songs (albums, films…), then reads each genre, studio and artist they name that
/// it has not synced yet by `/Users/{uid}/Items?Ids={id}`, one at a time in the page's order
/// (its `set_MetaItems`, `set_ItemsDependencies`). On Emby each is an item of its own. The
/// last named here wins where an id is in two (a song's artists after its album's). What the
/// add-on listed it has synced (the library's artists, genres, studios), so a walk of what a
/// page names leaves those out: it looks up only the rest (an artist a song names by a
/// "feat." credit, no library artist). Ids are numbers of at most 20 digits: 200 in one
/// batch make a request line of a few kilobytes, where Jellyfin's GUIDs hold it to 100.
static WALK_BATCH: crate::WalkBatch = crate::WalkBatch {
    read: walk_read,
    window: 32,
    json_items: &["Items"],
    id_name: "Id",
    parent_names: &[
        "GenreItems[].Id",
        "Studios[].Id",
        "AlbumArtists[].Id",
        "Composers[].Id",
        "ArtistItems[].Id",
    ],
    parents_listed_skipped: true,
    single_frame_fixed: true,
    items_max: 200,
};

fn walk_read<'a>(path: &'a str, query: Option<&'a str>) -> Option<crate::WalkRead<'a>> {
    jellyfin::walk_read_of(path, query, is_item_number)
}

/// `{id}` of `/Users/{id}/{more}` (any case), where `{id}` is a user id (32 hex digits) and
/// something follows it: `/Users/{id}` alone and the `/Users/…` routes that are no user's
/// (`/Users/Public`, `/Users/AuthenticateByName`) name none.
fn named_user(path: &str) -> Option<&str> {
    let mut parts = path.strip_prefix('/')?.splitn(3, '/');
    let (users, id, more) = (parts.next()?, parts.next()?, parts.next()?);
    let user_id = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    (users.eq_ignore_ascii_case("users") && user_id && !more.is_empty()).then_some(id)
}

/// The ids of the administrators (`Policy.IsAdministrator`) in `/Users`' answer, an array of
/// users each with their policy; `None` when it is not one, or a user's policy is missing
/// (whether they administer is then not said).
fn administrators(body: &[u8]) -> Option<Vec<String>> {
    let users: Vec<serde_json::Value> = serde_json::from_slice(body).ok()?;
    let mut ids = Vec::new();
    for user in &users {
        let admin = user.get("Policy")?.get("IsAdministrator")?.as_bool()?;
        if admin {
            ids.push(user.get("Id")?.as_str()?.to_owned());
        }
    }
    Some(ids)
}

/// Whether `/Auth/Keys`' answer (`{"Items":[{"AccessToken":…},…]}`, every API key of the
/// server) lists `token`; `None` when it is not such a list.
fn lists_key(body: &[u8], token: &str) -> Option<bool> {
    let keys: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut listed = false;
    for key in keys.get("Items")?.as_array()? {
        listed |= key.get("AccessToken")?.as_str()? == token;
    }
    Some(listed)
}

/// Whether `id` is an Emby item id: a number of at most 20 digits.
fn is_item_number(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

/// `id` of `/Users/{uid}/Items/{id}` or `/Items/{id}`: an item number, nothing after it.
#[cfg(test)]
pub(crate) fn single_id(path: &str) -> Option<&str> {
    jellyfin::item_path_id(path, is_item_number)
}

/// No search is answered from the index yet: a search's results that tie on its sort (two
/// albums of one title) are written in the order Jellyfin's GUIDs give them, and which order
/// Emby gives them, with its numeric ids, is not proven. Every search goes to the server
/// (`copy_declined{reason="unmodelled_parameter"}`). The copy's walks (a series' seasons and
/// episodes, pages of a listing) stay: each is proven on the server's own answers byte for byte
/// before the copy gives one.
impl SearchRoutes for Emby {
    fn search_route(
        &self,
        _search: IndexSearch,
        _raw_path: &str,
        _query: Option<&str>,
    ) -> Option<SearchRoute> {
        None
    }
}

impl Dialect for Emby {
    fn facts(&self) -> &'static DialectFacts {
        &FACTS
    }

    fn who_answer(&self, method: &http::Method, path: &str) -> Option<WhoAnswer> {
        Jellyfin.who_answer(method, path)
    }

    fn read_who(&self, kind: WhoAnswer, body: &[u8]) -> Option<Named> {
        Jellyfin.read_who(kind, body)
    }

    /// `/Users/{id}/…`: Emby answers a user's routes for that user and its administrators
    /// (the others get a 403), and has no `/Users/Me` to say whose a token is.
    fn named_user<'a>(&self, path: &'a str) -> Option<&'a str> {
        named_user(path)
    }

    fn items_shown(&self, body: &[u8], shown: &mut Vec<String>, named: &mut Vec<String>) {
        Jellyfin.items_shown(body, shown, named);
    }

    /// Jellyfin 10.x's reading, which is Emby's: Emby never refused a legacy form, so no
    /// release reads fewer (`server_token_at` stays the default).
    fn server_token<'a>(
        &self,
        headers: &'a HeaderMap,
        query: Option<&'a str>,
        seen: &mut Candidates<'a>,
    ) -> Option<Cow<'a, str>> {
        Jellyfin.server_token(headers, query, seen)
    }

    /// As on Jellyfin: `/System/Info/Public` and images answer anyone. (cachearr's own
    /// requests carry `X-Emby-Token`, what Emby's own clients send: the default
    /// [`Dialect::own_credential`].)
    fn authenticates(&self, class: Class) -> bool {
        Jellyfin.authenticates(class)
    }

    fn prefetch_trigger(&self, path: &str) -> Option<Trigger> {
        Jellyfin.prefetch_trigger(path)
    }

    fn follow_ups(
        &self,
        trigger: Trigger,
        path: &str,
        query: Option<&str>,
        body: &[u8],
        max: usize,
    ) -> Vec<String> {
        Jellyfin.follow_ups(trigger, path, query, body, max)
    }

    fn client_name(&self, headers: &HeaderMap) -> Option<String> {
        Jellyfin.client_name(headers)
    }

    fn player_id(&self, headers: &HeaderMap, query: Option<&str>) -> Option<String> {
        Jellyfin.player_id(headers, query)
    }

    fn read_request<'a>(
        &self,
        path: &str,
        headers: &'a HeaderMap,
        query: Option<&'a str>,
        seen: &mut Candidates<'a>,
    ) -> ServerReading<'a> {
        ServerReading::of(self, path, headers, query, seen)
    }

    fn play_state_probes(&self, sections: &UserSections) -> Vec<PlayStateProbe> {
        Jellyfin.play_state_probes(sections)
    }

    fn play_state_probes_by_section(&self) -> bool {
        Jellyfin.play_state_probes_by_section()
    }

    fn play_state_items(&self, body: &[u8]) -> Option<Vec<PlayStateItem>> {
        Jellyfin.play_state_items(body)
    }

    fn play_state_digest(&self, body: &[u8]) -> Option<crate::model::library::ProbeDigest> {
        Jellyfin.play_state_digest(body)
    }

    fn plays_since(&self, cursor: Option<&PlayCursor>, start: usize) -> Option<String> {
        Jellyfin.plays_since(cursor, start)
    }

    fn played_entries(&self, body: &[u8]) -> Option<Vec<PlayedEntry>> {
        Jellyfin.played_entries(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emby_prefixed_paths_read_as_the_routes_themselves() {
        let emby = crate::of(Profile::Emby);
        assert_eq!(emby.api_path("/emby/Items"), Some("/Items"));
        assert_eq!(emby.api_path("/EMBY/Users/Me"), Some("/Users/Me"));
        assert_eq!(emby.api_path("/embywebsocket"), None);
        assert_eq!(emby.api_path("/emby"), None);
        assert_eq!(emby.api_path("/Items"), None);
        assert_eq!(crate::of(Profile::Jellyfin).api_path("/emby/Items"), None);
    }

    #[test]
    fn a_users_routes_name_the_user() {
        let id = "5ac00e92043c8c466e7a83a900001a96";
        let emby = crate::of(Profile::Emby);
        for path in [
            format!("/Users/{id}/Views"),
            format!("/users/{id}/Items/Latest"),
            format!("/Users/{id}/Items?ParentId=3"),
        ] {
            assert_eq!(emby.named_user(&path), Some(id), "{path}");
        }
        for path in [
            format!("/Users/{id}"),
            format!("/Users/{id}/"),
            "/Users/Me/Views".to_owned(),
            "/Users/AuthenticateByName".to_owned(),
            format!("/Items/{id}/Views"),
        ] {
            assert_eq!(emby.named_user(&path), None, "{path}");
        }
        assert_eq!(
            crate::of(Profile::Jellyfin).named_user(&format!("/Users/{id}/Views")),
            None,
            "Jellyfin says whose a token is at /Users/Me"
        );
    }

    #[test]
    fn a_single_item_is_a_number() {
        assert_eq!(single_id("/Users/abc/Items/1234"), Some("1234"));
        assert_eq!(single_id("/items/77"), Some("77"));
        assert_eq!(single_id("/Items/77/Images"), None);
        assert_eq!(single_id("/Items/Latest"), None);
        assert_eq!(single_id("/Items/5ac00e92043c8c466e7a83a900001a96"), None);
        assert_eq!(single_id("/Items/123456789012345678901"), None);
    }

    #[test]
    fn own_requests_carry_x_emby_token() {
        let emby = crate::of(Profile::Emby);
        let value = http::HeaderValue::from_static("secret");
        let (name, written) = emby.own_credential(&value).expect("a header");
        assert_eq!(name.as_str(), "x-emby-token");
        assert_eq!(written, value);
    }

    #[test]
    fn every_legacy_form_counts_at_every_release() {
        let emby = crate::of(Profile::Emby);
        let mut headers = HeaderMap::new();
        headers.insert("x-emby-token", "abc".parse().unwrap());
        assert!(
            emby.server_token_at("4.9.5.0", &headers, None).is_none(),
            "no release reads fewer forms"
        );
        let mut seen = Candidates::default();
        assert_eq!(
            emby.server_token(&headers, None, &mut seen).as_deref(),
            Some("abc")
        );
        let mut seen = Candidates::default();
        assert_eq!(
            emby.server_token(&HeaderMap::new(), Some("api_key=xyz"), &mut seen)
                .as_deref(),
            Some("xyz")
        );
    }

    /// The user list's administrators are read from their policies; a user whose policy is
    /// not there leaves the list unread, so one administrator is never counted for two.
    /// A key list lists a token only by its whole token.
    #[test]
    fn the_one_administrator_and_the_api_keys_are_read_from_their_lists() {
        let users = br#"[{"Id":"a1","Policy":{"IsAdministrator":true}},
            {"Id":"b2","Policy":{"IsAdministrator":false}}]"#;
        assert_eq!(administrators(users), Some(vec!["a1".to_owned()]));
        let two = br#"[{"Id":"a1","Policy":{"IsAdministrator":true}},
            {"Id":"b2","Policy":{"IsAdministrator":true}}]"#;
        assert_eq!(administrators(two).map(|ids| ids.len()), Some(2));
        let unsaid = br#"[{"Id":"a1","Policy":{"IsAdministrator":true}},{"Id":"b2"}]"#;
        assert_eq!(administrators(unsaid), None);
        assert_eq!(administrators(b"{}"), None);

        let keys = br#"{"Items":[{"AccessToken":"k1","AppName":"Tool"}],"TotalRecordCount":1}"#;
        assert_eq!(lists_key(keys, "k1"), Some(true));
        assert_eq!(lists_key(keys, "k"), Some(false));
        assert_eq!(
            lists_key(br#"{"Items":[],"TotalRecordCount":0}"#, "k1"),
            Some(false)
        );
        assert_eq!(lists_key(br#"{"Items":[{"AppName":"Tool"}]}"#, "k1"), None);
        assert_eq!(lists_key(b"[]", "k1"), None);
    }
}
