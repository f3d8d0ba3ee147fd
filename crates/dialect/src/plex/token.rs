//! Plex's reading of a request's token: the `X-Plex-Token` header, else the `X-Plex-Token`
//! query parameter (every `X-Plex-*` header may be sent as a query parameter; clients such as
//! python-plexapi put it in the query of image and stream URLs). Query names are compared
//! without case: a reader that is stricter sees no token where this one sees one, and a token
//! the server does not read is at worst refused by it, never answered as another user.
//!
//! A present but empty header next to a token elsewhere is ambiguous: one reading takes the
//! empty header (no token), another the query token.

use std::borrow::Cow;

use http::HeaderMap;

use super::super::{Candidates, query_values};

pub(super) const X_PLEX_TOKEN: http::HeaderName = http::HeaderName::from_static("x-plex-token");

/// The token Plex takes from this request (`None`: it reads none).
pub(crate) fn server_token<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    seen: &mut Candidates<'a>,
) -> Option<Cow<'a, str>> {
    if let Some(v) = headers.get(&X_PLEX_TOKEN) {
        let v = v.to_str().unwrap_or("").trim();
        if v.is_empty() {
            if seen.any() {
                seen.give_up();
            }
            return None;
        }
        return Some(Cow::Borrowed(v));
    }
    query_values(query, |n| n.eq_ignore_ascii_case("x-plex-token")).find(|v| !v.is_empty())
}
