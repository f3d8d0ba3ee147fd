//! Answers made from a stored response (whole, or the part a `Range` asks), and this cache's
//! `Cache-Status` member.

use bytes::Bytes;
use cachearr_httpcache::cache_status::{CacheStatus, Fwd, append};
use cachearr_httpcache::fields;
use cachearr_httpcache::range::Part;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{Either, Full};

use super::entries::Found;
use super::{Answered, NAME};
use crate::fetch::ProxyBody;
use crate::prepared::WireLines;
use crate::respond::CACHE_STATUS;

/// How an answer from a stored response came about, for its `Cache-Status`.
#[derive(Clone, Copy, Debug)]
pub(super) enum Via {
    /// Straight from the store.
    Hit,
    /// The answer another request's fill stored, waited for.
    Collapsed,
    /// The origin was asked (`fwd`); it confirmed the stored response (`304`) or failed.
    Forwarded(Fwd, Option<u16>),
}

/// A stored response's headers as an answer sends them: without the fields a qualified
/// `no-cache` names unless the origin just validated it (`validated`), with its `Age`, and
/// without `Content-Length` (the framing says the length of what is sent).
fn stored_head(found: &Found, now: u64, validated: bool) -> HeaderMap {
    let mut headers = HeaderMap::clone(&found.headers);
    if !validated {
        for name in found.stored.unvalidated_omits() {
            headers.remove(name);
        }
    }
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(header::AGE, HeaderValue::from(found.stored.age_secs(now)));
    headers
}

/// A hit on a stored response, straight from the store (`Via::Hit`): a `200` whose head a
/// connection that writes heads as bytes takes from the entry's memo ([`Answered::Hit`]),
/// else its answer as [`stored`] makes it (`HEAD`, a client's matching conditional, another
/// status, fields a qualified `no-cache` leaves out, a freshness read for another route).
pub(super) fn hit(
    found: Found,
    request: &HeaderMap,
    head: bool,
    now: u64,
    stale: bool,
) -> Answered {
    let whole = !head
        && found.entry.value.status == 200
        && found.stored.unvalidated_omits().is_empty()
        && found.prepared.holds(&found.stored)
        && !client_has_it(request, &found.headers);
    if whole {
        return Answered::Hit(Hit { found, now, stale });
    }
    Answered::Response(stored(&found, request, head, now, Via::Hit))
}

/// A stored `200` answered whole from the store, fresh or `stale`, at `now`.
pub(super) struct Hit {
    found: Found,
    now: u64,
    stale: bool,
}

impl Hit {
    /// The answer with its head as bytes: kept in the entry's memo while the hit's age and time
    /// to live (whole seconds) are the same, so a hit builds and encodes no header map.
    pub(super) fn wire(&self) -> (Response<ProxyBody>, WireLines) {
        let (found, now, stale) = (&self.found, self.now, self.stale);
        let state = (
            stale,
            found.stored.age_secs(now),
            found.stored.ttl_secs(now),
        );
        let head = found.prepared.hit_head(state, StatusCode::OK, || {
            let mut headers = self.headers();
            headers.insert(X_CACHE, HeaderValue::from_static(x_cache(stale)));
            headers
        });
        let body = found.entry.value.body.clone();
        (Response::new(Either::Left(Full::new(body))), head)
    }

    /// The answer with its head as a map (for hyper, which writes every head from its map).
    pub(super) fn response(&self) -> Response<ProxyBody> {
        let mut resp = Response::new(Either::Left(Full::new(self.found.entry.value.body.clone())));
        *resp.headers_mut() = self.headers();
        resp
    }

    /// The stored headers as a hit sends them, with `Age` and our `Cache-Status`.
    fn headers(&self) -> HeaderMap {
        let mut headers = stored_head(&self.found, self.now, false);
        let ttl = self.found.stored.ttl_secs(self.now);
        set_cache_status(&mut headers, &CacheStatus::hit(NAME).ttl(ttl));
        headers
    }
}

/// The `X-Cache` field's name.
pub(super) const X_CACHE: http::HeaderName = http::HeaderName::from_static("x-cache");

/// `X-Cache` of a hit, fresh or stale.
fn x_cache(stale: bool) -> &'static str {
    if stale { "STALE" } else { "HIT" }
}

/// Answers from a stored response: its status and headers, `Age`, our `Cache-Status`; no
/// body for `HEAD`, and `304` when the client's own conditional matches it.
pub(super) fn stored(
    found: &Found,
    request: &HeaderMap,
    head: bool,
    now: u64,
    via: Via,
) -> Response<ProxyBody> {
    let value = &found.entry.value;
    let mut headers = stored_head(found, now, matches!(via, Via::Forwarded(_, Some(304))));
    let status = if client_has_it(request, &headers) {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::from_u16(value.status).unwrap_or(StatusCode::BAD_GATEWAY)
    };
    let ttl = found.stored.ttl_secs(now);
    let ours = match via {
        Via::Hit => CacheStatus::hit(NAME).ttl(ttl),
        Via::Collapsed => CacheStatus::hit(NAME).ttl(ttl).collapsed(),
        Via::Forwarded(fwd, code) => {
            let s = CacheStatus::forward(NAME, fwd).stored().ttl(ttl);
            match code {
                Some(code) => s.fwd_status(code),
                None => s,
            }
        }
    };
    set_cache_status(&mut headers, &ours);
    let body = if head || status == StatusCode::NOT_MODIFIED {
        Bytes::new()
    } else {
        value.body.clone()
    };
    let mut resp = Response::new(Either::Left(Full::new(body)));
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp
}

/// Answers a `Range` request from a stored complete response: `206` with the part and its
/// `Content-Range`, or `416` with the length when no byte was asked that exists (RFC 9110
/// §14.4, §15.5.17); `None` for a range not read with certainty.
pub(super) fn stored_part(found: &Found, part: Part, now: u64) -> Option<Response<ProxyBody>> {
    let value = &found.entry.value;
    let len = value.body.len();
    let (status, body, content_range) = match part {
        Part::Bytes { first, last } => {
            let (first, last) = (usize::try_from(first).ok()?, usize::try_from(last).ok()?);
            let body = value.body.get(first..=last)?;
            (
                StatusCode::PARTIAL_CONTENT,
                value.body.slice_ref(body),
                format!("bytes {first}-{last}/{len}"),
            )
        }
        Part::Unsatisfiable => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            Bytes::new(),
            format!("bytes */{len}"),
        ),
        Part::Other => return None,
    };
    let mut headers = stored_head(found, now, false);
    if status == StatusCode::RANGE_NOT_SATISFIABLE {
        // The stored representation's own fields do not describe an empty error answer.
        for name in [header::CONTENT_TYPE, header::CONTENT_ENCODING, header::ETAG] {
            headers.remove(name);
        }
    }
    headers.insert(
        header::CONTENT_RANGE,
        HeaderValue::from_str(&content_range).ok()?,
    );
    let ttl = found.stored.ttl_secs(now);
    set_cache_status(&mut headers, &CacheStatus::hit(NAME).ttl(ttl));
    let mut resp = Response::new(Either::Left(Full::new(body)));
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    Some(resp)
}

/// Whether the client's own conditional says it holds the stored response already (RFC 9111
/// §4.3.2): `If-None-Match` against its `ETag` (weak comparison, RFC 9110 §13.1.2), else
/// `If-Modified-Since` against its `Last-Modified`, or its `Date` when it has none.
pub(super) fn client_has_it(request: &HeaderMap, response: &HeaderMap) -> bool {
    if request.contains_key(header::IF_NONE_MATCH) {
        let Some(etag) = response.get(header::ETAG).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let weak = |t: &str| t.trim().trim_start_matches("W/").to_owned();
        return request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim() == "*" || weak(t) == weak(etag));
    }
    let Ok(Some(since)) = fields::date_field(request, &header::IF_MODIFIED_SINCE) else {
        return false;
    };
    let modified = fields::last_modified(response).or_else(|| fields::date(response));
    modified.is_some_and(|m| m <= since)
}

/// Appends our member to the response's `Cache-Status`, after any upstream cache's.
pub(super) fn set_cache_status(headers: &mut HeaderMap, ours: &CacheStatus<'_>) {
    let upstream: Vec<u8> = headers
        .get_all(CACHE_STATUS)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect::<Vec<_>>()
        .join(&b", "[..]);
    let upstream = (!upstream.is_empty()).then_some(&upstream[..]);
    if let Ok(v) = HeaderValue::from_bytes(&append(upstream, ours)) {
        headers.insert(CACHE_STATUS, v);
    }
}

/// `504`: `only-if-cached` and nothing stored may answer (RFC 9111 §5.2.1.7).
pub(super) fn gateway_timeout() -> Response<ProxyBody> {
    let mut resp = Response::new(Either::Left(Full::new(Bytes::new())));
    *resp.status_mut() = StatusCode::GATEWAY_TIMEOUT;
    let mut h = HeaderMap::new();
    set_cache_status(
        &mut h,
        &CacheStatus::forward(NAME, Fwd::Miss).detail("only-if-cached"),
    );
    *resp.headers_mut() = h;
    resp
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn if_none_match_is_compared_weakly_and_wins_over_if_modified_since() {
        let response = map(&[
            ("etag", "\"v1\""),
            ("last-modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
        ]);
        assert!(client_has_it(
            &map(&[("if-none-match", "W/\"v1\"")]),
            &response
        ));
        assert!(client_has_it(
            &map(&[("if-none-match", "\"x\", \"v1\"")]),
            &response
        ));
        assert!(client_has_it(&map(&[("if-none-match", "*")]), &response));
        // A non-matching tag decides even when the date would match.
        let both = map(&[
            ("if-none-match", "\"v0\""),
            ("if-modified-since", "Tue, 02 Jan 2024 00:00:00 GMT"),
        ]);
        assert!(!client_has_it(&both, &response));
    }

    #[test]
    fn if_modified_since_takes_last_modified_then_date() {
        let response = map(&[("last-modified", "Mon, 01 Jan 2024 00:00:00 GMT")]);
        let later = map(&[("if-modified-since", "Tue, 02 Jan 2024 00:00:00 GMT")]);
        let same = map(&[("if-modified-since", "Mon, 01 Jan 2024 00:00:00 GMT")]);
        let earlier = map(&[("if-modified-since", "Sun, 31 Dec 2023 00:00:00 GMT")]);
        assert!(client_has_it(&later, &response));
        assert!(client_has_it(&same, &response));
        assert!(!client_has_it(&earlier, &response));
        let dated = map(&[("date", "Mon, 01 Jan 2024 00:00:00 GMT")]);
        assert!(client_has_it(&later, &dated));
        assert!(!client_has_it(&earlier, &dated));
        assert!(!client_has_it(
            &map(&[("if-modified-since", "yesterday")]),
            &response
        ));
        assert!(!client_has_it(&later, &HeaderMap::new()));
    }
}
