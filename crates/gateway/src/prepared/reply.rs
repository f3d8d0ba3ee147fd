//! A cached read's answer written from its entry's prepared one: the respond phase of the
//! proxy's cached read ([`PreparedHeaders::reply`]). It chooses the representation
//! (identity or gzip, a body file for a shared large body), answers `304` to a matching
//! validator, and writes the cache's headers (`respond`) into the head: as bytes kept per
//! entry ([`WireHead`]) for a hit the own HTTP/1.1 loop writes, else as a header map.
//!
//! The chosen answer's own questions — its representation's headers, its head, the kept
//! head's bytes, the `304` check — are answered here too ([`Answer`]'s methods), so that the
//! respond phase enters this module once and asks `prepared` only for the answer.

use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use cachearr_engine::{Lookup, Outcome};
use cachearr_wire::{EncodedHead, Reply, ResponseBody, SendSlot};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{Either, Full};

use cachearr_wire::lines;

use super::{Answer, HeadState, KeptHead, PreparedHeaders, Want, WireLines};
use crate::clients::Served;
use crate::etag::{self, NoneMatch};
use crate::respond;
use crate::respond::{
    elapsed_us, mark_cache_state, mark_cached, mark_copy_state, mark_copy_timing, mark_timing,
};

/// The head as bytes: `status`'s line and every line of `head` but `Server-Timing` (each
/// answer writes its own) and the framing the connection writes.
fn wire_of(status: StatusCode, head: &HeaderMap) -> WireLines {
    let mut out = Vec::with_capacity(64 + head.len() * 48);
    let has_date = lines::push_head(&mut out, status, head, &[respond::SERVER_TIMING]);
    WireLines {
        bytes: Bytes::from(out),
        has_date,
    }
}

impl KeptHead {
    /// The head's wire bytes for `state`: the kept ones if they are for `state`, otherwise
    /// written from the map `make` makes (and kept, but for a miss).
    pub(super) fn wire_or_make(
        &self,
        state: HeadState,
        status: StatusCode,
        make: impl FnOnce() -> HeaderMap,
    ) -> WireLines {
        // A miss (or a value handed on unstored) is answered once from its entry; later
        // answers are hits, with another head. An entry never read again holds no head
        // (3.9 MB of the soak's live heap at its peak).
        if matches!(state.0, Outcome::Miss | Outcome::Passed) {
            return wire_of(status, &make());
        }
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((kept_for, wire)) = &*kept
            && *kept_for == state
        {
            return wire.clone();
        }
        let wire = wire_of(status, &make());
        *kept = Some((state, wire.clone()));
        wire
    }
}

impl Answer {
    /// The representation's own headers (the stored ones, its `ETag`, `Vary`, and
    /// `Content-Encoding` for the gzip copy).
    pub(crate) fn headers(&self) -> &HeaderMap {
        match &self.reps.gzip {
            Some(slot) if self.gzip => &slot.headers,
            _ => &self.reps.identity,
        }
    }

    /// The answer's head: [`Self::headers`] plus what `mark` writes (the cache's headers
    /// for its outcome, age and time to live).
    pub(crate) fn head(&self, mark: impl FnOnce(&mut HeaderMap)) -> HeaderMap {
        let mut head = self.headers().clone();
        head.reserve(4);
        mark(&mut head);
        head
    }

    /// Where this representation's last head is kept.
    fn kept_head(&self) -> &KeptHead {
        match &self.reps.gzip {
            Some(slot) if self.gzip => &slot.head,
            _ => &self.reps.identity_head,
        }
    }

    /// [`Self::head`] as bytes on the wire for `outcome` at `age_s` seconds old with `ttl_s`
    /// to live, after `status`'s line: every line but `Server-Timing`, which each answer
    /// writes with its own time, and the framing, which the connection writes. Kept until one
    /// of the three changes, so a hit copies nothing but a reference.
    pub(crate) fn wire_head(
        &self,
        status: StatusCode,
        outcome: Outcome,
        age_s: u64,
        ttl_s: i64,
        mark: impl FnOnce(&mut HeaderMap),
    ) -> WireLines {
        self.kept_head()
            .wire_or_make((outcome, age_s, ttl_s), status, || self.head(mark))
    }

    /// The validator to put on a `304 Not Modified` if the request's `If-None-Match` names a
    /// current representation of the entry; `None` means answer in full.
    ///
    /// Current are the identity representation and, for a client that accepts gzip, the gzip
    /// one: either is a valid choice of the server for this request, so a client holding either
    /// learns that its copy is still good. `*` gets the tag of the answer that would be sent.
    pub(crate) fn not_modified(&self, request: &HeaderMap) -> Option<HeaderValue> {
        let id = self.reps.etag.as_ref()?;
        let gz = self
            .reps
            .gzip
            .as_ref()
            .filter(|_| self.client_gzip)
            .map(|g| &g.etag);
        let candidates = [id, gz.unwrap_or(id)];
        match etag::none_match(request, &candidates) {
            NoneMatch::Names(i) => Some(candidates[i].clone()),
            NoneMatch::Any => Some((if self.gzip { candidates[1] } else { id }).clone()),
            NoneMatch::Absent | NoneMatch::NoMatch => None,
        }
    }
}

/// A hit's head as bytes ([`Answer::wire_head`]) and what its
/// `Server-Timing` says; the writer adds that line, the framing and the `Date`.
pub(crate) struct WireHead {
    pub(crate) head: WireLines,
    pub(crate) outcome: Outcome,
    pub(crate) total_us: u64,
    pub(crate) upstream_us: u64,
    /// Whether a `Server-Timing` line follows the kept ones (the media profiles' answers; the
    /// `http` profile's send none).
    pub(crate) server_timing: bool,
}

impl EncodedHead for WireHead {
    /// The kept lines, then this answer's `Server-Timing`.
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) -> bool {
        out.extend_from_slice(&self.head.bytes);
        if self.server_timing {
            out.extend_from_slice(b"server-timing: ");
            crate::respond::push_timing(out, self.outcome, self.total_us, self.upstream_us);
            out.extend_from_slice(b"\r\n");
        }
        self.head.has_date
    }
}

/// What a cached read's own load did, as its answer's head says it.
#[derive(Clone, Copy)]
pub(crate) struct Load {
    /// Its time waiting for the server (none for a hit, which made no loader).
    pub(crate) upstream_us: u64,
    /// The library copy answered it: the server was not asked.
    pub(crate) by_copy: bool,
}

/// How a cached read asks to be answered.
pub(crate) struct Asked<'a> {
    /// The request's headers (its validators).
    pub(crate) headers: &'a HeaderMap,
    /// The client takes gzip.
    pub(crate) gzip: bool,
    /// The read's time on the cache's clock, for the entry's age.
    pub(crate) now: u64,
    /// When the request arrived.
    pub(crate) started: Instant,
    /// The connection writes a hit's head from bytes (the own HTTP/1.1 loop).
    pub(crate) head_bytes: bool,
    /// Where a body with a sealed file is registered, to be sent without copying.
    pub(crate) slot: &'a SendSlot,
}

impl PreparedHeaders {
    /// Respond: `304` when the client's validator matches, else the entry's prepared answer
    /// (its head as bytes for a hit the own loop writes). Gives the answer and the read's time
    /// so far.
    pub(crate) fn reply(
        &self,
        lookup: &Lookup,
        asked: &Asked<'_>,
        load: Load,
    ) -> (Reply<WireHead>, u64) {
        // A fill that other clients waited for is answered like a hit: every waiter gets the
        // body from its sealed copy instead of a copy of its own (a cold burst of a thousand
        // waiters is answered at once, from one entry).
        let shared = matches!(
            lookup.outcome,
            Outcome::Hit(_) | Outcome::Stale | Outcome::Coalesced
        );
        // A value handed over without storing is answered as it came: no validator, no gzip
        // copy (it would be made for one answer and thrown away).
        let cached = !matches!(lookup.outcome, Outcome::Passed);
        let want = Want {
            shared,
            cached,
            gzip: cached && asked.gzip,
        };
        let answer = self.answer(&lookup.entry, want);
        // One clock reading for the answer's Server-Timing and the read's metric.
        let total_us = elapsed_us(asked.started);
        let reply = match answer.not_modified(asked.headers) {
            Some(tag) => {
                self.stats().not_modified.fetch_add(1, Ordering::Relaxed);
                let head = answer.headers();
                let (now, started) = (asked.now, asked.started);
                not_modified_response(lookup, head, tag, now, started, load.upstream_us).into()
            }
            None => {
                if let Some(file) = &answer.file {
                    asked.slot.register(answer.body.clone(), file.clone());
                }
                let head_bytes = shared && asked.head_bytes;
                cached_response(lookup, &answer, asked.now, total_us, load, head_bytes)
            }
        };
        (reply, total_us)
    }
}

/// A cached answer: the entry's status, the prepared answer's head and body (identity or gzip).
/// With `head_bytes`, the head is given as bytes (its [`WireHead`], kept per entry as written)
/// and the response carries the status and body only: no header map, and no [`Served`] on it,
/// since the head says where the answer came from.
fn cached_response(
    lookup: &Lookup,
    answer: &Answer,
    now: u64,
    total_us: u64,
    load: Load,
    head_bytes: bool,
) -> Reply<WireHead> {
    let (age_s, ttl_s) = lookup.entry.age_and_ttl(now);
    let (outcome, upstream_us) = (lookup.outcome, load.upstream_us);
    let mark = |h: &mut HeaderMap| mark_cache_state(h, outcome, age_s, ttl_s);
    let status = StatusCode::from_u16(lookup.entry.value.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = Response::new(Either::Left(Full::new(answer.body.clone())));
    *response.status_mut() = status;
    if load.by_copy {
        // Written by the library copy: a miss of the cache the server never saw. A miss is
        // not shared, so its head is written here, never kept for later answers.
        let mut headers = answer.head(|h| mark_copy_state(h, ttl_s));
        mark_copy_timing(&mut headers, total_us);
        *response.headers_mut() = headers;
        response.extensions_mut().insert(Served::Copy);
        return response.into();
    }
    if head_bytes {
        let head = answer.wire_head(status, outcome, age_s, ttl_s, mark);
        return Reply {
            response,
            head: Some(WireHead {
                head,
                outcome,
                total_us,
                upstream_us,
                server_timing: true,
            }),
        };
    }
    response.extensions_mut().insert(Served::of(outcome));
    let mut headers = answer.head(mark);
    mark_timing(&mut headers, outcome, total_us, upstream_us);
    *response.headers_mut() = headers;
    response.into()
}

/// Headers a `304 Not Modified` repeats from the full answer (RFC 9110 §15.4.5: those that
/// guide caches; `ETag` is set from the matched representation).
const NOT_MODIFIED_KEEPS: [HeaderName; 5] = [
    header::CACHE_CONTROL,
    header::CONTENT_LOCATION,
    header::EXPIRES,
    header::LAST_MODIFIED,
    header::VARY,
];

/// `304 Not Modified` for a cached entry: no body, the matched validator `tag`, the cache
/// headers of the full answer (`headers`) and ours (`Cache-Status`, `Age`, …).
fn not_modified_response(
    lookup: &Lookup,
    headers: &HeaderMap,
    tag: HeaderValue,
    now: u64,
    started: Instant,
    upstream_us: u64,
) -> Response<ResponseBody> {
    let mut h = HeaderMap::with_capacity(10);
    for name in NOT_MODIFIED_KEEPS {
        for v in headers.get_all(&name) {
            h.append(name.clone(), v.clone());
        }
    }
    h.insert(header::ETAG, tag);
    let mut resp = Response::new(Either::Left(Full::new(Bytes::new())));
    *resp.status_mut() = StatusCode::NOT_MODIFIED;
    *resp.headers_mut() = h;
    mark_cached(resp.headers_mut(), lookup, now, started, upstream_us);
    resp.extensions_mut().insert(Served::of(lookup.outcome));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use cachearr_engine::TierKind;

    #[test]
    fn a_head_as_bytes_is_the_kept_lines_and_this_answer_s_timing() {
        let hit = WireHead {
            head: WireLines {
                bytes: Bytes::from_static(b"HTTP/1.1 200 OK\r\nx-cache: HIT\r\nage: 3\r\n"),
                has_date: false,
            },
            outcome: Outcome::Hit(TierKind::Memory),
            total_us: 1_234,
            upstream_us: 0,
            server_timing: true,
        };
        let mut out = Vec::new();
        assert!(!hit.encode(&mut out));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nx-cache: HIT\r\nage: 3\r\nserver-timing: cache;dur=1.234\r\n"
        );
        // A miss's time upstream is its own part; the stored answer's Date is said to be there.
        let miss = WireHead {
            head: WireLines {
                bytes: Bytes::from_static(
                    b"HTTP/1.1 200 OK\r\ndate: Tue, 24 Nov 2026 10:00:00 GMT\r\n",
                ),
                has_date: true,
            },
            outcome: Outcome::Miss,
            total_us: 5_000,
            upstream_us: 4_000,
            server_timing: true,
        };
        let mut out = Vec::new();
        assert!(miss.encode(&mut out));
        assert!(
            String::from_utf8(out)
                .unwrap()
                .ends_with("GMT\r\nserver-timing: cache;dur=1.000, upstream;dur=4.000\r\n")
        );
    }
}
