//! Cache keys.
//!
//! A key is one string built in one pass:
//!
//! ```text
//! {upstream} {METHOD} {path}?{canonical query} p={start},{size} a={accept} l={language} {scope}
//! ```
//!
//! - the canonical query is the client's query with tokens and client-identity parameters removed
//!   and the remaining `name=value` pairs sorted (names lower-cased for Jellyfin, whose parameter
//!   names are case-insensitive);
//! - paging (`X-Plex-Container-Start/Size`) is taken from the header or the query, whichever the
//!   client used, and written in one form;
//! - a request the server could read another way than the key — a parameter twice with two
//!   values, or paging in a header and in the query that disagree — is not keyed
//!   ([`KeyError::Ambiguous`]) and is passed through uncached;
//! - which parameters are which is the upstream's dialect's
//!   ([`cachearr_dialect::DialectFacts::key_rules`]): this file knows no server;
//! - the scope is `u={hash}` (user scope: SipHash-1-3/128 of the token keyed with the
//!   installation [`Secret`], [`crate::secret`]) or `s` (shared scope).
//!
//! A token never appears in a key: it is removed from the query (nested ones too, see
//! [`cachearr_dialect::nested`]) and only its keyed hash is used.
//! The layout makes prefix clears natural (`plex GET /library/metadata/`).

use std::borrow::Cow;

use http::{HeaderMap, HeaderName};

use cachearr_dialect::Profile;
use cachearr_dialect::{ClientParams, KeyRules, QueryParam};

pub use crate::secret::{Secret, UserHash};

/// What is escaped in a nested value's decoded text in a key: the key's own separators.
const KEY_ESCAPE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'%')
    .add(b'&')
    .add(b'=')
    .add(b'~');

/// Why a request cannot be keyed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A query parameter name is not valid percent-encoded UTF-8.
    #[error("a query parameter name is not valid UTF-8")]
    BadQueryName,
    /// A paging value (the dialect's [`ClientParams`] `start`
    /// or `size`, as a header or in the query) is not a number; `name` is the parameter's,
    /// as the dialect spells it, so the client is told which of its values is wrong.
    #[error("{name} must be a number")]
    BadPaging {
        /// The parameter's name.
        name: HeaderName,
    },
    /// A query value is percent-encoded more deeply than tokens are looked for in it.
    #[error("a query value is encoded too deeply")]
    TooDeep,
    /// A parameter given twice with different values (in the query, or as a header and in the
    /// query): the key would hold one reading and the server may take the other, so such a
    /// request is passed through, never keyed.
    #[error("a parameter is given twice with different values")]
    Ambiguous,
}

/// Sets `slot` to `value`, or fails if it holds another value already: a parameter the
/// server could read either way.
fn once<T: PartialEq>(slot: &mut Option<T>, value: T) -> Result<(), KeyError> {
    match slot {
        Some(held) if *held != value => Err(KeyError::Ambiguous),
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

/// The parts a key is made of.
#[derive(Debug)]
pub struct KeyInput<'a> {
    /// Upstream name.
    pub upstream: &'a str,
    /// Profile (its dialect's key rules decide parameter case and paging).
    pub profile: Profile,
    /// Method.
    pub method: &'a http::Method,
    /// Raw path.
    pub path: &'a str,
    /// Raw query.
    pub query: Option<&'a str>,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// `Some(user)` for user scope, `None` for shared scope.
    pub user: Option<UserHash>,
}

/// Builds the key text. See the module docs for the layout.
///
/// # Errors
/// [`KeyError`] for query parameter names that are not UTF-8 and non-numeric paging values.
pub fn build_key(k: &KeyInput<'_>) -> Result<String, KeyError> {
    let accept = accept_of(k.headers);
    // Sized once for everything below (paging, Accept, language, the user's 32 hex digits), so
    // the key is built without a reallocation: this runs on every cached request.
    let mut out = String::with_capacity(
        k.upstream.len()
            + k.path.len()
            + k.query.map_or(0, str::len)
            + accept.as_deref().map_or(0, str::len)
            + 128,
    );
    out.push_str(k.upstream);
    out.push(' ');
    out.push_str(k.method.as_str());
    out.push(' ');
    out.push_str(k.path);
    let rules = cachearr_dialect::of(k.profile).key_rules();
    let mut client = ClientValues::default();
    if let Some(q) = k.query {
        push_query(&mut out, q, rules, &mut client)?;
    }
    if let Some(params) = &rules.client {
        client.read_headers(k.headers, params)?;
        client.push_paging(&mut out);
    }
    out.push_str(" a=");
    if let Some(accept) = &accept {
        push_accept(&mut out, accept);
    }
    if let Some(l) = client.language {
        out.push_str(" l=");
        out.extend(
            l.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_'),
        );
    }
    match k.user {
        Some(u) => {
            out.push_str(" u=");
            out.push_str(std::str::from_utf8(&u.hex()).unwrap_or_default());
        }
        None => out.push_str(" s"),
    }
    Ok(out)
}

/// The query's parameters in one order, `?`-joined onto `out`, without tokens or the client
/// parameters `client` takes.
fn push_query<'a>(
    out: &mut String,
    q: &'a str,
    rules: &KeyRules,
    client: &mut ClientValues<'a>,
) -> Result<(), KeyError> {
    let mut pairs: Vec<Cow<'_, str>> = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_encoding::percent_decode_str(raw_name)
            .decode_utf8()
            .map_err(|_| KeyError::BadQueryName)?;
        // One question to the dialect per parameter.
        let kind = cachearr_dialect::query_param(&name, value);
        if kind == QueryParam::Token {
            continue;
        }
        if let Some(params) = &rules.client
            && client.take_from_query(params, &name, value)?
        {
            continue;
        }
        let may_nest = kind == QueryParam::MayNest;
        pairs.push(key_pair(pair, raw_name, &name, value, may_nest, rules)?);
    }
    pairs.sort_unstable();
    pairs.dedup();
    // After sorting and removing exact repeats, a name left twice has two values: which
    // one the server reads (first, last, or both in the order sent) is not the key's
    // guess.
    fn name_of(pair: &str) -> &str {
        pair.split_once('=').map_or(pair, |(name, _)| name)
    }
    if pairs.windows(2).any(|w| name_of(&w[0]) == name_of(&w[1])) {
        return Err(KeyError::Ambiguous);
    }
    for (i, p) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(p);
    }
    Ok(())
}

/// One query pair as the key writes it: as sent (borrowed), with its name lower-cased when
/// the server ignores case, or with a token nested in its value removed (`may_nest`: the
/// value could hold one, [`QueryParam::MayNest`]).
fn key_pair<'q>(
    pair: &'q str,
    raw_name: &str,
    name: &str,
    value: &str,
    may_nest: bool,
    rules: &KeyRules,
) -> Result<Cow<'q, str>, KeyError> {
    // A token nested in a value (a whole URL in `url=`) never reaches the key: the value
    // is replaced by its decoded text with the token removed, marked by a `~`.
    if may_nest
        && let Some(clean) =
            cachearr_dialect::nested::redacted(value).map_err(|_| KeyError::TooDeep)?
    {
        let name = if rules.lowercase_names {
            name.to_ascii_lowercase()
        } else {
            raw_name.to_string()
        };
        let escaped: String = percent_encoding::utf8_percent_encode(&clean, KEY_ESCAPE).collect();
        return Ok(Cow::Owned(format!("{name}=~{escaped}")));
    }
    if rules.lowercase_names {
        let mut lowered = name.to_ascii_lowercase();
        lowered.push('=');
        lowered.push_str(value);
        Ok(Cow::Owned(lowered))
    } else {
        Ok(Cow::Borrowed(pair))
    }
}

/// The client parameters a key writes in one form wherever the client sent them (query or
/// headers): paging and language. Sent twice, they must say the same.
#[derive(Default)]
struct ClientValues<'a> {
    start: Option<u64>,
    size: Option<u64>,
    language: Option<&'a str>,
}

impl<'a> ClientValues<'a> {
    /// Takes a query parameter with the client prefix: paging and language are kept here,
    /// the others identify the client and are dropped, except the `kept` ones. Whether the
    /// pair leaves the query.
    fn take_from_query(
        &mut self,
        params: &ClientParams,
        name: &str,
        value: &'a str,
    ) -> Result<bool, KeyError> {
        if name.len() <= params.prefix.len()
            || !name
                .get(..params.prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(params.prefix))
        {
            return Ok(false);
        }
        if name.eq_ignore_ascii_case(params.start.as_str()) {
            once(&mut self.start, parse_num(value, &params.start)?)?;
            return Ok(true);
        }
        if name.eq_ignore_ascii_case(params.size.as_str()) {
            once(&mut self.size, parse_num(value, &params.size)?)?;
            return Ok(true);
        }
        if name.eq_ignore_ascii_case(params.language.as_str()) {
            once(&mut self.language, value)?;
            return Ok(true);
        }
        Ok(!params
            .kept
            .iter()
            .any(|kept| name.eq_ignore_ascii_case(kept)))
    }

    /// Paging and language sent as headers. Paging in a header and in the query alike must
    /// say the same: the server reads the header where the query says otherwise.
    fn read_headers(
        &mut self,
        headers: &'a HeaderMap,
        params: &ClientParams,
    ) -> Result<(), KeyError> {
        for v in headers.get_all(&params.start) {
            once(&mut self.start, header_num(v, &params.start)?)?;
        }
        for v in headers.get_all(&params.size) {
            once(&mut self.size, header_num(v, &params.size)?)?;
        }
        for v in headers.get_all(&params.language) {
            if let Ok(v) = v.to_str() {
                once(&mut self.language, v)?;
            }
        }
        Ok(())
    }

    /// ` p=start,size` when the request pages.
    fn push_paging(&self, out: &mut String) {
        if self.start.is_some() || self.size.is_some() {
            out.push_str(" p=");
            push_u64(out, self.start.unwrap_or(0));
            out.push(',');
            if let Some(s) = self.size {
                push_u64(out, s);
            }
        }
    }
}

/// Every `Accept` value of the request (a server may read any of them), joined with commas;
/// borrowed in the common case of one header.
fn accept_of(headers: &HeaderMap) -> Option<std::borrow::Cow<'_, str>> {
    let mut values = headers.get_all(http::header::ACCEPT).iter();
    let first = values.next()?;
    let first = String::from_utf8_lossy(first.as_bytes());
    let Some(second) = values.next() else {
        return Some(first);
    };
    let mut all = first.into_owned();
    for v in std::iter::once(second).chain(values) {
        all.push(',');
        all.push_str(&String::from_utf8_lossy(v.as_bytes()));
    }
    Some(std::borrow::Cow::Owned(all))
}

/// Appends `Accept` with only the whitespace HTTP itself ignores removed: around the `,`
/// between media ranges, the `;` before a parameter and a parameter's `=`. Whitespace inside
/// a name or value (`application/js on`) selects another representation on the server, so it
/// stays: two values that differ there are two keys. Case stays too (servers compare media
/// types in different ways).
fn push_accept(out: &mut String, accept: &str) {
    if !accept.bytes().any(|b| b.is_ascii_whitespace()) {
        out.push_str(accept);
        return;
    }
    for (i, range) in accept.split(',').enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, part) in range.split(';').enumerate() {
            if j > 0 {
                out.push(';');
            }
            match part.split_once('=') {
                Some((name, value)) => {
                    out.push_str(name.trim());
                    out.push('=');
                    out.push_str(value.trim());
                }
                None => out.push_str(part.trim()),
            }
        }
    }
}

/// Appends `n` in decimal without `core::fmt`.
fn push_u64(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

fn parse_num(v: &str, name: &HeaderName) -> Result<u64, KeyError> {
    let name = name.clone();
    v.trim().parse().map_err(|_| KeyError::BadPaging { name })
}

/// A paging header's value as a number.
fn header_num(v: &http::HeaderValue, name: &HeaderName) -> Result<u64, KeyError> {
    let bad = || KeyError::BadPaging { name: name.clone() };
    parse_num(v.to_str().map_err(|_| bad())?, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderValue, Method};

    fn key(
        profile: Profile,
        q: Option<&str>,
        headers: &HeaderMap,
        user: Option<UserHash>,
    ) -> String {
        build_key(&KeyInput {
            upstream: "up",
            profile,
            method: &Method::GET,
            path: "/library/sections/1/all",
            query: q,
            headers,
            user,
        })
        .unwrap()
    }

    #[test]
    fn push_u64_writes_decimal() {
        for n in [0u64, 7, 10, 99, 12_345, u64::MAX] {
            let mut s = String::from("x");
            push_u64(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    #[test]
    fn user_hash_hex_is_the_zero_padded_lower_hex_of_the_hash() {
        for v in [
            0u128,
            1,
            0xabc,
            u128::MAX,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        ] {
            let u = UserHash(v);
            assert_eq!(u.to_string(), format!("{v:032x}"));
            let k = key(Profile::Plex, None, &HeaderMap::new(), Some(u));
            assert!(k.ends_with(&format!(" u={v:032x}")), "{k}");
        }
    }

    #[test]
    fn query_is_sorted_and_stripped_of_tokens_and_client_identity() {
        let h = HeaderMap::new();
        let u = Some(UserHash(1));
        let a = key(
            Profile::Plex,
            Some(
                "type=10&X-Plex-Token=SECRET&sort=titleSort&X-Plex-Client-Identifier=abc&X-Plex-Product=Kodi",
            ),
            &h,
            u,
        );
        let b = key(Profile::Plex, Some("sort=titleSort&type=10"), &h, u);
        assert_eq!(a, b);
        assert!(!a.contains("SECRET"));
        assert!(!a.contains("abc"));
        assert!(
            a.starts_with("up GET /library/sections/1/all?sort=titleSort&type=10"),
            "{a}"
        );
    }

    #[test]
    fn paging_in_header_or_query_is_one_key() {
        let mut h = HeaderMap::new();
        h.insert("x-plex-container-start", HeaderValue::from_static("100"));
        h.insert("x-plex-container-size", HeaderValue::from_static("50"));
        let by_header = key(Profile::Plex, Some("type=10"), &h, None);
        let by_query = key(
            Profile::Plex,
            Some("X-Plex-Container-Start=100&type=10&X-Plex-Container-Size=50"),
            &HeaderMap::new(),
            None,
        );
        assert_eq!(by_header, by_query);
        let other_page = key(
            Profile::Plex,
            Some("X-Plex-Container-Start=150&type=10&X-Plex-Container-Size=50"),
            &HeaderMap::new(),
            None,
        );
        assert_ne!(by_query, other_page);
        assert!(
            build_key(&KeyInput {
                upstream: "up",
                profile: Profile::Plex,
                method: &Method::GET,
                path: "/",
                query: Some("X-Plex-Container-Start=abc"),
                headers: &HeaderMap::new(),
                user: None,
            })
            .is_err()
        );
    }

    #[test]
    fn a_parameter_the_server_could_read_two_ways_is_not_keyed() {
        let build = |profile, query: &str, headers: &HeaderMap| {
            build_key(&KeyInput {
                upstream: "up",
                profile,
                method: &Method::GET,
                path: "/library/sections/1/all",
                query: Some(query),
                headers,
                user: None,
            })
        };
        let none = HeaderMap::new();
        let mut start_0 = HeaderMap::new();
        start_0.insert("x-plex-container-start", HeaderValue::from_static("0"));
        for (profile, query, headers) in [
            // Paging in the query and a header that says otherwise.
            (
                Profile::Plex,
                "type=10&X-Plex-Container-Start=50&X-Plex-Container-Size=5",
                &start_0,
            ),
            // Paging twice in the query.
            (
                Profile::Plex,
                "X-Plex-Container-Start=0&X-Plex-Container-Start=50",
                &none,
            ),
            // Any parameter twice with two values, in either order.
            (Profile::Plex, "type=10&type=9", &none),
            (Profile::Plex, "type=9&type=10", &none),
            (Profile::Jellyfin, "Limit=5&limit=50", &none),
            (Profile::Jellyfin, "SortBy=Name&SortBy=DatePlayed", &none),
        ] {
            assert_eq!(
                build(profile, query, headers),
                Err(KeyError::Ambiguous),
                "{query}"
            );
        }
        // The same value twice, in the query or in both places, reads one way.
        let mut start_50 = HeaderMap::new();
        start_50.insert("x-plex-container-start", HeaderValue::from_static("50"));
        let once = build(Profile::Plex, "type=10&X-Plex-Container-Start=50", &none).unwrap();
        for (query, headers) in [
            ("type=10&type=10&X-Plex-Container-Start=50", &none),
            ("type=10&X-Plex-Container-Start=50", &start_50),
            ("type=10", &start_50),
        ] {
            assert_eq!(
                build(Profile::Plex, query, headers).unwrap(),
                once,
                "{query}"
            );
        }
    }

    #[test]
    fn users_and_formats_separate_keys() {
        let s = Secret::from_bytes([7; 16]);
        let h = HeaderMap::new();
        let a = key(Profile::Plex, None, &h, Some(s.user_of("token-a")));
        let b = key(Profile::Plex, None, &h, Some(s.user_of("token-b")));
        assert_ne!(a, b);
        assert!(!a.contains("token-a"));
        let other_secret = Secret::from_bytes([8; 16]).user_of("token-a");
        assert_ne!(s.user_of("token-a"), other_secret);
        let mut json = HeaderMap::new();
        json.insert("accept", HeaderValue::from_static("application/json"));
        assert_ne!(
            key(Profile::Plex, None, &json, None),
            key(Profile::Plex, None, &h, None)
        );
    }

    #[test]
    fn jellyfin_names_are_case_insensitive_and_api_key_is_dropped() {
        let h = HeaderMap::new();
        let a = key(
            Profile::Jellyfin,
            Some("ParentId=ab&api_key=SECRET"),
            &h,
            None,
        );
        let b = key(
            Profile::Jellyfin,
            Some("parentid=ab&ApiKey=OTHER"),
            &h,
            None,
        );
        assert_eq!(a, b);
        assert!(!a.contains("SECRET"));
    }

    #[test]
    fn accept_keeps_what_selects_a_representation() {
        let with = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append("accept", HeaderValue::from_str(v).unwrap());
            }
            key(Profile::Jellyfin, None, &h, None)
        };
        // Whitespace HTTP ignores: one key.
        assert_eq!(
            with(&["application/json; profile=\"CamelCase\""]),
            with(&["application/json;profile=\"CamelCase\""])
        );
        assert_eq!(with(&["a/b , c/d"]), with(&["a/b,c/d"]));
        // Whitespace inside a token, a second header: another representation, another key.
        assert_ne!(with(&["application/js on"]), with(&["application/json"]));
        assert_ne!(
            with(&["application/json; pro file=\"CamelCase\""]),
            with(&["application/json; profile=\"CamelCase\""])
        );
        assert_ne!(
            with(&["application/json", "application/json; profile=CamelCase"]),
            with(&["application/json"])
        );
    }

    #[test]
    fn nested_tokens_never_reach_a_key() {
        let h = HeaderMap::new();
        for q in [
            "width=64&url=%2Flibrary%2Fmetadata%2F1%2Fthumb%3FX-Plex-Token%3DSECRET",
            "width=64&url=%252Flibrary%252Fmetadata%252F1%253Fapi_key%253DSECRET",
            "width=64&url=/library/metadata/1/thumb?X-Plex-Token=SECRET",
        ] {
            for profile in [Profile::Plex, Profile::Jellyfin] {
                let k = key(profile, Some(q), &h, Some(UserHash(3)));
                assert!(!k.contains("SECRET"), "{k}");
                assert!(k.contains("width=64"), "{k}");
            }
        }
        // Different images stay different keys.
        let a = key(
            Profile::Plex,
            Some("url=%2Flibrary%2Fmetadata%2F1%2Fthumb%3FX-Plex-Token%3DSECRET"),
            &h,
            None,
        );
        let b = key(
            Profile::Plex,
            Some("url=%2Flibrary%2Fmetadata%2F2%2Fthumb%3FX-Plex-Token%3DSECRET"),
            &h,
            None,
        );
        assert_ne!(a, b);
    }
}
