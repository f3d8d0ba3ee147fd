//! Any HTTP API (`profile = "http"`): no media server's rules, the HTTP caching standard's.
//!
//! What an answer is worth keeping for is not the route's but the response's own
//! (`Cache-Control`, `Expires`, validators, `Vary`):
//! [`DialectFacts::caches_by_the_standard`] says so, and the proxy then asks `cachearr_httpcache` for every decision. The rest of the dialect
//! is "none of that": no built-in routes, no change events, no library index, no prefetch,
//! no play state.
//!
//! The request's credential is its `Authorization` and `Cookie` fields: a request carrying
//! one is one user's, keyed by the keyed hash of those values as a media server's token is
//! (the value itself never enters a key, a log line or a file); its answers are shared only
//! when the response allows it.

use std::borrow::Cow;

use http::header::{AUTHORIZATION, COOKIE, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::{
    Candidates, Dialect, DialectFacts, KeyRules, ServerLibrary, ServerReading, StartupProbes,
    Trigger, UserRoutes,
};
use crate::Profile;
use crate::events::{
    ChangeEvent, EventError, ServerEvents, SocketMessage, SocketReader, WebhookBody,
};
use crate::model::library::{PlayStateItem, PlayStateProbe, SectionInfo, UserSections};
use crate::model::route::DefaultRoutes;
use crate::model::{Class, Scope};

/// The `http` profile's dialect.
#[derive(Debug)]
pub struct HttpApi;

/// No built-in routes: every request is decided by the standard.
static ROUTES: DefaultRoutes = DefaultRoutes {
    specs: &[],
    searches: &[],
    lowercase_paths: false,
    play_state: &[],
    random_sorts: &[],
};

/// Query parameters enter a key as they are, in the request's order and case: an API may
/// tell `a=1&b=2` from `b=2&a=1`.
static KEY_RULES: KeyRules = KeyRules {
    lowercase_names: false,
    client: None,
};

/// The credential fields, in the order they are combined.
const CREDENTIALS: [HeaderName; 2] = [AUTHORIZATION, COOKIE];

/// An HTTP API: the token in `Authorization`, no events, library or copy, cached as the
/// HTTP caching standard says; the startup check asks the API's root (any answer says it is
/// reachable; it has no owner token).
static FACTS: DialectFacts = DialectFacts {
    profile: Profile::Http,
    token_header: AUTHORIZATION,
    routes: &ROUTES,
    key_rules: &KEY_RULES,
    image_scope: Scope::User,
    default_warm: &[],
    events: &NoEvents,
    library: &NoLibrary,
    answers: None,
    search_routes: None,
    walk_batch: &NO_WALK,
    paged_listing: None,
    startup_probes: StartupProbes {
        identity: "/",
        token: "/",
        owner: "/",
    },
    user_routes: UserRoutes {
        own: None,
        admins_only: None,
        sole_administrator: None,
        sections: "/",
    },
    version_reader: None,
    ids_ignore_case: false,
    caches_by_the_standard: true,
    route_prefixes: &[],
};

impl Dialect for HttpApi {
    fn facts(&self) -> &'static DialectFacts {
        &FACTS
    }

    /// The request's `Authorization` and `Cookie` values together (one user is one pair of
    /// them); a field given twice with different values, or not as text, cannot be read
    /// with certainty.
    fn server_token<'a>(
        &self,
        headers: &'a HeaderMap,
        _query: Option<&'a str>,
        seen: &mut Candidates<'a>,
    ) -> Option<Cow<'a, str>> {
        credential(headers, seen)
    }

    fn authenticates(&self, _class: Class) -> bool {
        false
    }

    fn prefetch_trigger(&self, _path: &str) -> Option<Trigger> {
        None
    }

    fn follow_ups(
        &self,
        _trigger: Trigger,
        _path: &str,
        _query: Option<&str>,
        _body: &[u8],
        _max: usize,
    ) -> Vec<String> {
        Vec::new()
    }

    fn client_name(&self, headers: &HeaderMap) -> Option<String> {
        super::text_header(headers, &USER_AGENT)
            .and_then(|ua| ua.split(['/', ' ']).next())
            .map(str::to_owned)
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

    fn play_state_probes(&self, _sections: &UserSections) -> Vec<PlayStateProbe> {
        Vec::new()
    }

    fn play_state_items(&self, _body: &[u8]) -> Option<Vec<PlayStateItem>> {
        None
    }
}

/// An API has no listing pages to batch: no read is a page or a single item.
static NO_WALK: super::WalkBatch = super::WalkBatch {
    read: no_walk_read,
    window: 1,
    json_items: &[],
    id_name: "id",
    parent_names: &[],
    parents_listed_skipped: false,
    single_frame_fixed: false,
    items_max: 100,
};

fn no_walk_read<'a>(_path: &'a str, _query: Option<&'a str>) -> Option<super::WalkRead<'a>> {
    None
}

/// The credential of a request: each credential field's one value, joined by a line break
/// (which no field value holds), `None` when there is none.
fn credential<'a>(headers: &'a HeaderMap, seen: &mut Candidates<'a>) -> Option<Cow<'a, str>> {
    let mut parts: Vec<&'a str> = Vec::with_capacity(2);
    for name in &CREDENTIALS {
        let mut values = headers.get_all(name).iter();
        let Some(first) = values.next() else { continue };
        // Two lines of a field: which one the API reads is not a cache's guess.
        if values.next().is_some() {
            seen.give_up();
            return None;
        }
        match first.to_str() {
            Ok(v) if !v.trim().is_empty() => parts.push(v.trim()),
            Ok(_) => {}
            Err(_) => {
                seen.give_up();
                return None;
            }
        }
    }
    match parts.as_slice() {
        [] => None,
        [one] => Some(Cow::Borrowed(one)),
        _ => Some(Cow::Owned(parts.join("\n"))),
    }
}

/// An API announces no changes: entries live as long as their responses say.
#[derive(Debug)]
struct NoEvents;

/// The reader of a socket that is never opened.
struct NoMessages;

impl SocketReader for NoMessages {
    fn read(&mut self, _text: &str) -> Result<SocketMessage, EventError> {
        Ok(SocketMessage::default())
    }
}

impl ServerEvents for NoEvents {
    fn webhook_body(&self) -> WebhookBody {
        WebhookBody::Json
    }

    fn parse_webhook(&self, _json: &[u8]) -> Result<Option<ChangeEvent>, EventError> {
        Ok(None)
    }

    fn webhook_source(&self) -> &'static str {
        "http_webhook"
    }

    fn socket_source(&self) -> &'static str {
        "http_socket"
    }

    fn socket_path(&self) -> &'static str {
        "/"
    }

    fn socket_sign_in(
        &self,
        token: &str,
    ) -> Result<(HeaderName, HeaderValue), http::header::InvalidHeaderValue> {
        Ok((AUTHORIZATION, HeaderValue::from_str(token)?))
    }

    fn socket_reader(&self) -> Box<dyn SocketReader> {
        Box::new(NoMessages)
    }

    fn keep_alive_message(&self) -> Option<&'static str> {
        None
    }
}

/// An API has no library to index: every answer is empty, and the index is never built
/// (an `http` upstream has no owner token, which the index's crawl needs).
#[derive(Debug)]
struct NoLibrary;

impl ServerLibrary for NoLibrary {
    fn facts(&self) -> &'static super::library::LibraryFacts {
        &super::library::LibraryFacts {
            sections_path: "/",
            user_sections_in_server_form: false,
            keeps_elements: false,
            items_answer_is_kept: false,
        }
    }

    fn parse_sections(&self, _body: &serde_json::Value) -> Vec<SectionInfo> {
        Vec::new()
    }

    fn parse_user_sections(&self, _body: &[u8]) -> Option<UserSections> {
        None
    }

    fn section_word(&self, _kind: &str) -> &'static str {
        "other"
    }

    fn index_kinds(&self, _kind: &str) -> &'static [(cachearr_library::ItemKind, &'static str)] {
        &[]
    }

    fn page_path(
        &self,
        _section: &str,
        _type_param: &str,
        _start: u64,
        _size: u64,
        _since: Option<i64>,
    ) -> String {
        "/".to_owned()
    }

    fn listing_total(&self, _body: &serde_json::Value) -> Option<u64> {
        None
    }

    fn parse_items(
        &self,
        _body: &serde_json::Value,
        _section: Option<&str>,
    ) -> (u64, Vec<cachearr_library::ItemRecord>) {
        (0, Vec::new())
    }

    fn items_requests(
        &self,
        _ids: &[String],
        _sections: &[SectionInfo],
    ) -> Vec<super::library::ItemsRequest> {
        Vec::new()
    }

    fn listing_by_ids_path(
        &self,
        _section: &str,
        _kind: cachearr_library::ItemKind,
        _ids: &[&str],
    ) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn read(pairs: &[(&'static str, &'static str)]) -> (Option<String>, bool) {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, HeaderValue::from_static(v));
        }
        let mut seen = Candidates::default();
        let c = credential(&h, &mut seen).map(Cow::into_owned);
        (c, seen.ambiguous)
    }

    #[test]
    fn credential_is_authorization_and_cookie() {
        assert_eq!(read(&[]), (None, false));
        assert_eq!(
            read(&[("authorization", "Bearer a")]),
            (Some("Bearer a".into()), false)
        );
        assert_eq!(read(&[("cookie", "s=1")]), (Some("s=1".into()), false));
        // Both: one user is the pair, so another cookie is another user.
        let both = read(&[("authorization", "Bearer a"), ("cookie", "s=1")]).0;
        let other = read(&[("authorization", "Bearer a"), ("cookie", "s=2")]).0;
        assert_ne!(both, other);
        assert_ne!(both, Some("Bearer a".into()));
    }

    #[test]
    fn a_repeated_credential_is_not_guessed() {
        let (c, ambiguous) = read(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
        assert_eq!(c, None);
        assert!(ambiguous);
    }

    #[test]
    fn the_identity_of_a_request_is_its_credential() {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(
            super::super::identity(Profile::Http, &h, None).token(),
            Some("Bearer x")
        );
        assert_eq!(
            super::super::identity(Profile::Http, &HeaderMap::new(), None),
            super::super::Identity::Anonymous
        );
    }
}
