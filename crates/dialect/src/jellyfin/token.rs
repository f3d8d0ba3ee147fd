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

use super::super::{Candidates, form_decode, query_values};

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
