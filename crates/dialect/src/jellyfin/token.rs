//! Jellyfin's reading of a request's token, as `AuthorizationContext` does it
//! (`Jellyfin.Server.Implementations/Security/AuthorizationContext.cs`), with
//! `EnableLegacyAuthorization` on (the 10.x default; without it the server reads a subset of
//! these forms, and a request carrying one token in a form it ignores is refused, never
//! answered as someone else):
//!
//! 1. the parameters of `Authorization` — or, only when that header is absent or empty, of
//!    `X-Emby-Authorization` — if its scheme is `MediaBrowser` or `Emby` (any case); the
//!    parameter named exactly `Token`;
//! 2. then the `X-Emby-Token` header, then `X-MediaBrowser-Token`;
//! 3. then the query parameter `ApiKey`, then `api_key` (ASP.NET query names are
//!    case-insensitive; several values of one name are joined with commas).
//!
//! The parameter list is split the server's way ([`auth_params`]): a double quote toggles
//! "inside a value", a comma outside quotes ends a parameter, `=` outside quotes ends a key,
//! a value is stripped of surrounding quotes and URL-decoded, and a later key replaces an
//! earlier one.

use std::borrow::Cow;

use http::HeaderMap;

use super::super::{Candidates, Named, WhoAnswer, form_decode, query_values};

/// The token Jellyfin takes from this request (`None`: it reads none).
pub(crate) fn server_token<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    _seen: &mut Candidates<'a>,
) -> Option<Cow<'a, str>> {
    let auth = ["authorization", "x-emby-authorization"]
        .into_iter()
        .find_map(|name| {
            let joined = joined_header(headers, name)?;
            (!joined.is_empty()).then(|| headers.get(name))?
        });
    if let Some(value) = auth.and_then(|v| v.to_str().ok())
        && let Some((scheme, params)) = value.split_once(' ')
        && (scheme.eq_ignore_ascii_case("MediaBrowser") || scheme.eq_ignore_ascii_case("Emby"))
    {
        let token = auth_params(params)
            .into_iter()
            .rev()
            .find(|(k, _)| *k == "Token")
            .map(|(_, v)| v);
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            return Some(t);
        }
    }
    for name in ["x-emby-token", "x-mediabrowser-token"] {
        if let Some(v) = joined_header(headers, name).filter(|v| !v.is_empty()) {
            return Some(v);
        }
    }
    for name in ["ApiKey", "api_key"] {
        let joined = join(query_values(query, move |n| n.eq_ignore_ascii_case(name)));
        if let Some(v) = joined.filter(|v| !v.is_empty()) {
            return Some(v);
        }
    }
    None
}

/// The token Jellyfin 12 takes from this request, legacy forms refused (its
/// `EnableLegacyAuthorization` off): the `Token` parameter of `Authorization` with the
/// `MediaBrowser` scheme, then the `ApiKey` query parameter. `None`: it reads none.
pub(crate) fn current_token<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Option<Cow<'a, str>> {
    let auth = joined_header(headers, "authorization")
        .filter(|joined| !joined.is_empty())
        .and_then(|_| headers.get(http::header::AUTHORIZATION));
    if let Some(value) = auth.and_then(|v| v.to_str().ok())
        && let Some((scheme, params)) = value.split_once(' ')
        && scheme.eq_ignore_ascii_case("MediaBrowser")
        && let Some(t) = auth_params(params)
            .into_iter()
            .rev()
            .find(|(k, _)| *k == "Token")
            .map(|(_, v)| v)
            .filter(|t| !t.is_empty())
    {
        return Some(t);
    }
    join(query_values(query, |n| n.eq_ignore_ascii_case("ApiKey"))).filter(|v| !v.is_empty())
}

/// Whether a server at release `version` refuses the legacy credential forms: 12 and later
/// (the setting's default is off and the upgrade's migration turns it off).
pub(crate) fn refuses_legacy(version: &str) -> bool {
    version
        .split('.')
        .next()
        .and_then(|major| major.trim().parse::<u32>().ok())
        .is_some_and(|major| major >= 12)
}

/// Whether a 2xx answer to `method path` tells whose a token is: a sign-in's
/// (`POST /Users/AuthenticateByName`, `POST /Users/AuthenticateWithQuickConnect`, an
/// `AuthenticationResult`) or `GET /Users/Me` (the asking token's own `UserDto`). Paths in any
/// case, as ASP.NET routes them.
pub(crate) fn who_answer(method: &http::Method, path: &str) -> Option<WhoAnswer> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let is = |route: &str| path.eq_ignore_ascii_case(route);
    if method == http::Method::POST
        && (is("/Users/AuthenticateByName") || is("/Users/AuthenticateWithQuickConnect"))
    {
        Some(WhoAnswer::SignIn)
    } else if method == http::Method::GET && is("/Users/Me") {
        Some(WhoAnswer::OwnUser)
    } else {
        None
    }
}

/// The user such an answer names (`User.Id` and `AccessToken` of an `AuthenticationResult`,
/// `Id` of a `UserDto`; in the server's PascalCase or the camelCase it answers when asked),
/// its id in one form: the server matches ids in any case, with or without dashes, so the
/// 32 hex digits lower-cased. An id that is not a GUID names no one.
pub(crate) fn read_who(kind: WhoAnswer, body: &[u8]) -> Option<Named> {
    fn field<'v>(v: &'v serde_json::Value, pascal: &str) -> Option<&'v serde_json::Value> {
        v.get(pascal).or_else(|| {
            let mut camel = pascal.to_owned();
            camel[..1].make_ascii_lowercase();
            v.get(camel.as_str())
        })
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let (user, token) = match kind {
        WhoAnswer::SignIn => {
            let token = field(&v, "AccessToken")?.as_str()?;
            (field(&v, "User")?, Some(token.to_owned()))
        }
        WhoAnswer::OwnUser => (&v, None),
    };
    let id: String = field(user, "Id")?
        .as_str()?
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let guid = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let token = token.filter(|t| !t.is_empty());
    (guid && (kind == WhoAnswer::OwnUser || token.is_some()))
        .then_some(Named { user_id: id, token })
}

/// A header's values the ASP.NET way: one value as is, several joined with commas.
fn joined_header<'a>(headers: &'a HeaderMap, name: &str) -> Option<Cow<'a, str>> {
    join(
        headers
            .get_all(name)
            .iter()
            .map(|v| Cow::Borrowed(v.to_str().unwrap_or(""))),
    )
}

fn join<'a>(mut values: impl Iterator<Item = Cow<'a, str>>) -> Option<Cow<'a, str>> {
    let first = values.next()?;
    let mut rest = values.peekable();
    if rest.peek().is_none() {
        return Some(first);
    }
    let mut out = first.into_owned();
    for v in rest {
        out.push(',');
        out.push_str(&v);
    }
    Some(Cow::Owned(out))
}

/// The server's own split of `key=value, …` (`AuthorizationContext.GetParts`): pairs in order,
/// a later key replacing an earlier one is left to the caller (take the last).
pub(crate) fn auth_params(text: &str) -> Vec<(&str, Cow<'_, str>)> {
    let mut out = Vec::new();
    let mut escaped = false;
    let mut start = 0;
    let mut key = "";
    for (i, b) in text.bytes().enumerate() {
        if b == b'"' || b == b',' {
            // A quote toggles; a comma leaves the state as it is.
            if b == b'"' {
                escaped = !escaped;
            }
            if b == b',' && !escaped {
                if start < i {
                    out.push((key, decode_value(&text[start..i])));
                    key = "";
                }
                start = i + 1;
            }
        } else if !escaped && b == b'=' {
            key = text[start..i].trim();
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push((key, decode_value(&text[start..])));
    }
    out
}

/// `MediaBrowser Token="…"` for `token`: every byte but letters, digits and `-._~`
/// percent-encoded, as the server URL-decodes each value (a `"`, `,` or `+` in a token then
/// reads back as itself). `None` if no header value can hold it (it cannot: the encoding leaves
/// only visible ASCII).
pub(crate) fn own_credential(token: &[u8]) -> Option<http::HeaderValue> {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let encoded = percent_encoding::percent_encode(token, KEEP);
    http::HeaderValue::from_str(&format!("MediaBrowser Token=\"{encoded}\"")).ok()
}

/// `/System/Info/Public`'s `Version`, the release the server runs (`None`: not there, empty,
/// or not the server's JSON).
pub(crate) fn server_version(identity: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct PublicInfo {
        #[serde(rename = "Version")]
        version: Option<String>,
    }
    let info: PublicInfo = serde_json::from_slice(identity).ok()?;
    info.version.filter(|v| !v.trim().is_empty())
}

/// A value as the server keeps it: surrounding double quotes trimmed (not spaces), then
/// `WebUtility.UrlDecode`.
fn decode_value(raw: &str) -> Cow<'_, str> {
    form_decode(raw.trim_matches('"'))
}

/// A lenient split that honours quotes and backslash escapes (what many clients and proxies
/// do): another reading the token could be taken by.
pub(crate) fn auth_params_quoted(text: &str) -> Vec<(&str, Cow<'_, str>)> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut backslash = false;
    let mut start = 0;
    for (i, ch) in text.char_indices() {
        match ch {
            '\\' if in_quotes => {
                backslash = !backslash;
                continue;
            }
            '"' if !backslash => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        backslash = false;
    }
    parts.push(&text[start..]);
    parts
        .into_iter()
        .filter_map(|part| {
            let (k, v) = part.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            let v = if v.contains("\\\"") {
                Cow::Owned(form_decode(&v.replace("\\\"", "\"")).into_owned())
            } else {
                form_decode(v)
            };
            Some((k.trim(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_and_the_own_record_name_the_user_in_one_form() {
        let post = http::Method::POST;
        assert_eq!(
            who_answer(&post, "/users/authenticatebyname/"),
            Some(WhoAnswer::SignIn)
        );
        assert_eq!(
            who_answer(&http::Method::GET, "/Users/AuthenticateByName"),
            None
        );
        assert_eq!(
            who_answer(&http::Method::GET, "/Users/Me"),
            Some(WhoAnswer::OwnUser)
        );
        let signed =
            br#"{"User":{"Id":"ABCDEF01-2345-6789-abcd-ef0123456789"},"AccessToken":"QQsecretQQ"}"#;
        let named = read_who(WhoAnswer::SignIn, signed).unwrap();
        assert_eq!(named.user_id, "abcdef0123456789abcdef0123456789");
        assert_eq!(named.token.as_deref(), Some("QQsecretQQ"));
        assert!(
            !format!("{named:?}").contains("QQsecretQQ"),
            "a token in a debug line"
        );
        let camel = br#"{"user":{"id":"abcdef0123456789abcdef0123456789"},"accessToken":"t"}"#;
        assert_eq!(
            read_who(WhoAnswer::SignIn, camel).unwrap().user_id,
            named.user_id
        );
        let own = br#"{"Id":"abcdef0123456789ABCDEF0123456789","Name":"a"}"#;
        assert_eq!(
            read_who(WhoAnswer::OwnUser, own).unwrap().user_id,
            named.user_id
        );
        // No token handed out, or an id that is no GUID: nothing is named.
        let tokenless = br#"{"User":{"Id":"abcdef0123456789abcdef0123456789"},"AccessToken":""}"#;
        assert_eq!(read_who(WhoAnswer::SignIn, tokenless), None);
        assert_eq!(read_who(WhoAnswer::OwnUser, br#"{"Id":"admin"}"#), None);
        assert_eq!(read_who(WhoAnswer::OwnUser, b"not json"), None);
    }

    #[test]
    fn the_servers_split_honours_quotes_and_keeps_the_last_key() {
        let p = auth_params(r#"Client="a,Token=KID", Token="ADMIN""#);
        let token: Vec<_> = p.iter().filter(|(k, _)| *k == "Token").collect();
        assert_eq!(token.len(), 1);
        assert_eq!(token[0].1, "ADMIN");
        let p = auth_params(r#"Token="A", Token="B""#);
        assert_eq!(p.iter().rev().find(|(k, _)| *k == "Token").unwrap().1, "B");
        // Spaces before a quote are kept (the server trims quotes only).
        let p = auth_params(r#"Token= "A""#);
        assert_eq!(p[0].1, r#" "A"#);
    }

    /// The credential cachearr's own requests carry reads back, as the server reads it, as
    /// the token it was made from: a plain one and one with the characters the server's split
    /// and URL-decoding would change.
    #[test]
    fn an_own_credential_reads_back_as_its_token() {
        for token in ["0123abcdef", r#"a"b,c+d e%41=f"#] {
            let value = own_credential(token.as_bytes()).unwrap();
            let text = value.to_str().unwrap();
            assert!(text.starts_with("MediaBrowser Token=\""), "{text}");
            let mut h = HeaderMap::new();
            h.insert(http::header::AUTHORIZATION, value);
            assert_eq!(
                server_token(&h, None, &mut Candidates::default()).as_deref(),
                Some(token)
            );
        }
    }

    /// On 12 only `Authorization: MediaBrowser …` and `ApiKey` carry a token; the forms 10.x
    /// also read carry none.
    #[test]
    fn twelve_reads_only_the_current_forms() {
        assert!(refuses_legacy("12.0.0") && refuses_legacy("13.0.0"));
        assert!(!refuses_legacy("10.11.11") && !refuses_legacy("") && !refuses_legacy("x"));
        let one = |name: &'static str, value: &str| {
            let mut h = HeaderMap::new();
            h.insert(name, value.parse().unwrap());
            h
        };
        let current = one("authorization", r#"MediaBrowser Client="c", Token="T""#);
        assert_eq!(current_token(&current, None).as_deref(), Some("T"));
        assert_eq!(
            current_token(&HeaderMap::new(), Some("apikey=K")).as_deref(),
            Some("K")
        );
        for legacy in [
            one("authorization", r#"Emby Token="T""#),
            one("x-emby-authorization", r#"MediaBrowser Token="T""#),
            one("x-emby-token", "T"),
            one("x-mediabrowser-token", "T"),
        ] {
            assert!(server_token(&legacy, None, &mut Candidates::default()).is_some());
            assert_eq!(current_token(&legacy, None), None);
        }
        assert_eq!(current_token(&HeaderMap::new(), Some("api_key=T")), None);
    }

    #[test]
    fn the_release_is_read_from_the_public_identity() {
        let info = br#"{"LocalAddress":"http://h","ServerName":"jf","Version":"12.0.0","ProductName":"Jellyfin Server"}"#;
        assert_eq!(server_version(info).as_deref(), Some("12.0.0"));
        assert_eq!(server_version(br#"{"Version":""}"#), None);
        assert_eq!(server_version(br#"{"ServerName":"jf"}"#), None);
        assert_eq!(server_version(b"<html>"), None);
    }

    #[test]
    fn the_lenient_split_reads_escaped_quotes() {
        let p = auth_params_quoted(r#"Device="a \"b, c\"", Token="T""#);
        assert_eq!(p[0].1, r#"a "b, c""#);
        assert_eq!(p[1], ("Token", Cow::Borrowed("T")));
    }

    #[test]
    fn authorization_wins_and_x_emby_authorization_is_read_only_without_it() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Basic abc".parse().unwrap());
        h.insert(
            "x-emby-authorization",
            r#"MediaBrowser Token="T""#.parse().unwrap(),
        );
        // `Authorization` is present, so `X-Emby-Authorization` is never read.
        assert_eq!(server_token(&h, None, &mut Candidates::default()), None);
        h.remove("authorization");
        assert_eq!(
            server_token(&h, None, &mut Candidates::default()).as_deref(),
            Some("T")
        );
    }
}
