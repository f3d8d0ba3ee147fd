//! Each media server's identity rules, in one place: how the server reads the token of a
//! request, and how cachearr sends a request with the owner's token.
//!
//! * [`identity`] — who a request is, as the server will see it: no token, one token, or
//!   **ambiguous** (two different tokens in any forms). Every part of cachearr that needs the
//!   requesting user (proxy, index answers, matching, keys, logs) calls it.
//! * [`plex`] / [`jellyfin`] — each server's own reading, with its precedence and quoting.
//! * [`nested`] — tokens hidden in query values (a whole URL with `?X-Plex-Token=` inside
//!   `url=`, at any percent-encoding depth): found for [`identity`], removed from keys and logs.
//! * [`owner_request`] — the request cachearr itself makes with the owner's token (start-up
//!   checks, the library crawl).
//!
//! Why "ambiguous" exists: a cache keyed on one reading of the token while the server uses
//! another reading answers one user with another user's entry. Instead of betting on which
//! reading a given server version uses, every value that *any* reading could take is
//! collected (the server's forms, the other server's forms, names the server ignores,
//! authorization parameters read with and without quoting, nested tokens); two different
//! values and the request is passed through uncached.

pub mod jellyfin;
pub mod nested;
pub mod plex;

use std::borrow::Cow;

use http::{HeaderMap, HeaderName};

use crate::policy::Profile;

/// Who a request is, as the server will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity<'a> {
    /// No token the server reads (a value only in a form the server ignores counts as none).
    Anonymous,
    /// One token, read the server's way.
    Token(Cow<'a, str>),
    /// Two different tokens in one request (or a value too deeply encoded to read): which
    /// one the server uses is not something a cache may guess.
    Ambiguous,
}

impl Identity<'_> {
    /// The token, when there is exactly one.
    pub fn token(&self) -> Option<&str> {
        match self {
            Identity::Token(t) => Some(t),
            _ => None,
        }
    }
}

/// Reads the identity of a request the way `profile`'s server does.
pub fn identity<'a>(
    profile: Profile,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Identity<'a> {
    let mut seen = Candidates::default();
    collect_every_form(headers, query, &mut seen);
    let server = match profile {
        Profile::Plex => plex::server_token(headers, query, &mut seen),
        Profile::Jellyfin => jellyfin::server_token(headers, query, &mut seen),
    };
    if let Some(t) = &server {
        seen.add(t.clone());
    }
    if seen.ambiguous {
        return Identity::Ambiguous;
    }
    match server {
        Some(t) if !t.is_empty() => Identity::Token(t),
        _ => Identity::Anonymous,
    }
}

/// Every distinct token value any reading could take from a request: the users a write with
/// an ambiguous identity may have changed (their play state is invalidated).
pub fn every_token(headers: &HeaderMap, query: Option<&str>) -> Vec<String> {
    let mut seen = Candidates {
        all: Some(Vec::new()),
        ..Candidates::default()
    };
    collect_every_form(headers, query, &mut seen);
    for profile in [Profile::Plex, Profile::Jellyfin] {
        let mut ignored = Candidates::default();
        let server = match profile {
            Profile::Plex => plex::server_token(headers, query, &mut ignored),
            Profile::Jellyfin => jellyfin::server_token(headers, query, &mut ignored),
        };
        if let Some(t) = server {
            seen.add(t);
        }
    }
    seen.all.unwrap_or_default()
}

/// The token of a request, if it carries exactly one (see [`identity`]).
pub fn token_of<'a>(
    profile: Profile,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Option<Cow<'a, str>> {
    match identity(profile, headers, query) {
        Identity::Token(t) => Some(t),
        _ => None,
    }
}

/// Whether `profile`'s server checks the token on routes of `class`: only a 2xx from such a
/// route proves a token (Plex `/identity`, Jellyfin `/System/Info/Public` and Jellyfin images
/// answer anyone, so their 2xx says nothing about who asked).
pub fn authenticates(profile: Profile, class: crate::policy::Class) -> bool {
    use crate::policy::Class;
    match class {
        Class::Identity | Class::Pass => false,
        Class::Images => profile == Profile::Plex,
        _ => true,
    }
}

/// The header a request made on a user's behalf carries their token in.
pub fn token_header(profile: Profile) -> HeaderName {
    match profile {
        Profile::Plex => HeaderName::from_static("x-plex-token"),
        Profile::Jellyfin => HeaderName::from_static("x-emby-token"),
    }
}

/// Query parameter names that carry a token on either server (any case).
pub fn is_token_param(name: &str) -> bool {
    name.eq_ignore_ascii_case("x-plex-token")
        || name.eq_ignore_ascii_case("api_key")
        || name.eq_ignore_ascii_case("apikey")
        || name.eq_ignore_ascii_case("x-emby-token")
        || name.eq_ignore_ascii_case("x-mediabrowser-token")
}

/// What replaces a token in keys and log lines.
pub(crate) const REDACTED_VALUE: &str = "REDACTED";

/// Headers that carry a token on either server.
const TOKEN_HEADERS: [&str; 3] = ["x-plex-token", "x-emby-token", "x-mediabrowser-token"];

/// Headers holding `Scheme key=value, …` authorization parameters.
const AUTH_HEADERS: [&str; 2] = ["authorization", "x-emby-authorization"];

/// Every token value any reading could take from a request.
#[derive(Default)]
pub(crate) struct Candidates<'a> {
    first: Option<Cow<'a, str>>,
    ambiguous: bool,
    /// Every distinct value, kept only when asked for ([`every_token`]).
    all: Option<Vec<String>>,
}

impl<'a> Candidates<'a> {
    /// A value one reading takes; empty values carry no token.
    pub(crate) fn add(&mut self, value: Cow<'a, str>) {
        if value.is_empty() {
            return;
        }
        if let Some(all) = &mut self.all
            && !all.iter().any(|v| *v == *value)
        {
            all.push(value.to_string());
        }
        match &self.first {
            None => self.first = Some(value),
            Some(first) if *first != value => self.ambiguous = true,
            Some(_) => {}
        }
    }

    /// The request cannot be read with certainty.
    pub(crate) fn give_up(&mut self) {
        self.ambiguous = true;
    }

    /// Whether any value was seen.
    pub(crate) fn any(&self) -> bool {
        self.first.is_some()
    }
}

/// Adds every value any server, any version or any lenient reader could take as a token.
fn collect_every_form<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    seen: &mut Candidates<'a>,
) {
    for name in TOKEN_HEADERS {
        for v in headers.get_all(name) {
            match v.to_str() {
                Ok(s) => seen.add(Cow::Borrowed(s.trim())),
                // A token header that is not text: no reading of it can be trusted.
                Err(_) => seen.give_up(),
            }
        }
    }
    for name in AUTH_HEADERS {
        for v in headers.get_all(name) {
            let Ok(s) = v.to_str() else {
                seen.give_up();
                continue;
            };
            // Any scheme: one server ignores `Foo Token="…"`, a lenient reader would not.
            let params = s.trim_start().split_once(' ').map_or(s, |(_, p)| p);
            for (key, value) in jellyfin::auth_params(params) {
                if key.eq_ignore_ascii_case("token") {
                    seen.add(value);
                }
            }
            for (key, value) in jellyfin::auth_params_quoted(params) {
                if key.eq_ignore_ascii_case("token") {
                    seen.add(value);
                }
            }
            for part in params.split(',') {
                if let Some((key, value)) = part.split_once('=')
                    && key.trim().eq_ignore_ascii_case("token")
                {
                    seen.add(form_decode(value.trim().trim_matches('"')));
                }
            }
        }
    }
    let Some(q) = query else { return };
    for pair in q.split('&') {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = form_decode(raw_name);
        if is_token_param(&name) {
            seen.add(form_decode(raw_value));
        } else if nested::worth_a_look(raw_value) {
            match nested::find(raw_value) {
                Ok(tokens) => tokens.into_iter().for_each(|t| seen.add(Cow::Owned(t))),
                Err(nested::TooDeep) => seen.give_up(),
            }
        }
    }
}

/// `application/x-www-form-urlencoded` decoding of one name or value (`+` is a space, `%XX`
/// a byte), as both servers read query strings; borrowed when there is nothing to decode.
pub fn form_decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let spaced = s.replace('+', " ");
    Cow::Owned(
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// The query values named `name` (server rule: case-insensitive or exact), decoded.
pub(crate) fn query_values<'a>(
    query: Option<&'a str>,
    matches: impl Fn(&str) -> bool + 'a,
) -> impl Iterator<Item = Cow<'a, str>> + 'a {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(move |pair| {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            matches(&form_decode(n)).then(|| form_decode(v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(list: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in list {
            h.append(*n, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn read(profile: Profile, list: &[(&'static str, &str)], q: Option<&str>) -> Identity<'static> {
        let h = headers(list);
        match identity(profile, &h, q) {
            Identity::Token(t) => Identity::Token(Cow::Owned(t.into_owned())),
            Identity::Anonymous => Identity::Anonymous,
            Identity::Ambiguous => Identity::Ambiguous,
        }
    }

    fn tok(t: &str) -> Identity<'static> {
        Identity::Token(Cow::Owned(t.to_string()))
    }

    const J: Profile = Profile::Jellyfin;
    const P: Profile = Profile::Plex;

    #[test]
    fn jellyfin_reads_every_single_form() {
        let mb =
            r#"MediaBrowser Client="c", Device="d", DeviceId="TWF==", Version="1", Token="T1""#;
        assert_eq!(read(J, &[("authorization", mb)], None), tok("T1"));
        assert_eq!(
            read(J, &[("authorization", r#"Emby Token="T1""#)], None),
            tok("T1")
        );
        assert_eq!(read(J, &[("x-emby-authorization", mb)], None), tok("T1"));
        assert_eq!(read(J, &[("x-emby-token", "T1")], None), tok("T1"));
        assert_eq!(read(J, &[("x-mediabrowser-token", "T1")], None), tok("T1"));
        assert_eq!(read(J, &[], Some("a=1&ApiKey=T1")), tok("T1"));
        assert_eq!(read(J, &[], Some("apikey=T1")), tok("T1"));
        assert_eq!(read(J, &[], Some("api_key=T1")), tok("T1"));
        assert_eq!(read(J, &[], Some("API_KEY=T1")), tok("T1"));
        assert_eq!(read(J, &[], Some("a=1")), Identity::Anonymous);
        // The same token twice in two forms is one identity.
        assert_eq!(
            read(
                J,
                &[("x-emby-token", "T1"), ("authorization", mb)],
                Some("api_key=T1")
            ),
            tok("T1")
        );
        // A comma inside quotes is not a separator.
        assert_eq!(
            read(
                J,
                &[(
                    "authorization",
                    r#"MediaBrowser Device="my, phone", Token="T1""#
                )],
                None
            ),
            tok("T1")
        );
    }

    #[test]
    fn jellyfin_ignores_forms_it_does_not_read() {
        // Another scheme, a token name the server does not read: no token.
        assert_eq!(
            read(J, &[("authorization", r#"Foo Token="T1""#)], None),
            Identity::Anonymous
        );
        assert_eq!(read(J, &[], Some("X-Plex-Token=T1")), Identity::Anonymous);
    }

    #[test]
    fn two_different_tokens_are_ambiguous_in_every_combination() {
        let admin_auth = r#"MediaBrowser Client="c", Token="ADMIN""#;
        type Case<'a> = (&'a [(&'static str, &'a str)], Option<&'a str>);
        let cases: [Case<'_>; 9] = [
            (
                &[("x-emby-token", "KID"), ("authorization", admin_auth)],
                None,
            ),
            (
                &[(
                    "authorization",
                    r#"MediaBrowser Client="a,Token=KID", Token="ADMIN""#,
                )],
                None,
            ),
            (&[], Some("api_key=KID&ApiKey=ADMIN")),
            (&[], Some("X-Plex-Token=KID&ApiKey=ADMIN")),
            (
                &[
                    ("authorization", r#"Foo Token="KID""#),
                    ("x-emby-authorization", admin_auth),
                ],
                None,
            ),
            (
                &[("x-emby-token", "KID"), ("x-mediabrowser-token", "ADMIN")],
                None,
            ),
            (&[("x-emby-token", "KID"), ("x-emby-token", "ADMIN")], None),
            (&[("x-plex-token", "KID")], Some("api_key=ADMIN")),
            (
                &[("x-emby-token", "KID")],
                Some("url=%2Fa%3Fapi_key%3DADMIN"),
            ),
        ];
        for profile in [J, P] {
            for (h, q) in cases {
                assert_eq!(
                    read(profile, h, q),
                    Identity::Ambiguous,
                    "{profile:?} {h:?} {q:?}"
                );
            }
        }
    }

    #[test]
    fn jellyfin_parameter_parsing_follows_the_server() {
        // The server's parser: keys are exact (`Token`), later keys win, values are
        // URL-decoded.
        assert_eq!(
            read(
                J,
                &[("authorization", r#"MediaBrowser Token="a%2Bb""#)],
                None
            ),
            tok("a+b")
        );
        // `Token=` with an empty value then a bare value: the server reads "x" for Token.
        // A lenient reader reads nothing; only one value exists, so this is "x".
        assert_eq!(
            read(J, &[("authorization", "MediaBrowser Token=,x")], None),
            tok("x")
        );
    }

    #[test]
    fn plex_reads_header_then_query() {
        assert_eq!(read(P, &[("x-plex-token", "T1")], None), tok("T1"));
        assert_eq!(read(P, &[], Some("a=1&X-Plex-Token=T1")), tok("T1"));
        assert_eq!(read(P, &[], Some("x-plex-token=T1")), tok("T1"));
        assert_eq!(
            read(P, &[("x-plex-token", "T1")], Some("X-Plex-Token=T1")),
            tok("T1")
        );
        assert_eq!(
            read(P, &[("x-plex-token", "T1")], Some("X-Plex-Token=T2")),
            Identity::Ambiguous
        );
        // An empty header next to a query token: one server reading takes the empty header.
        assert_eq!(
            read(P, &[("x-plex-token", "")], Some("X-Plex-Token=T1")),
            Identity::Ambiguous
        );
        assert_eq!(
            read(P, &[("x-emby-token", "T1")], None),
            Identity::Anonymous
        );
        assert_eq!(read(P, &[], Some("a=1")), Identity::Anonymous);
    }

    #[test]
    fn nested_tokens_count() {
        let q = "width=10&url=%2Flibrary%2Fmetadata%2F1%2Fthumb%3FX-Plex-Token%3DT1";
        assert_eq!(read(P, &[("x-plex-token", "T1")], Some(q)), tok("T1"));
        assert_eq!(
            read(P, &[("x-plex-token", "T2")], Some(q)),
            Identity::Ambiguous
        );
        // Only nested: the server reads no token from the request itself.
        assert_eq!(read(P, &[], Some(q)), Identity::Anonymous);
        let deeper = "url=%252Fa%253FX-Plex-Token%253DT9";
        assert_eq!(
            read(P, &[("x-plex-token", "T1")], Some(deeper)),
            Identity::Ambiguous
        );
    }
}
