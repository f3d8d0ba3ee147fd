//! A connection's last cached read, kept so that the same request sent again on it skips the
//! work whose result cannot have changed.
//!
//! Dashboards, pollers and sync tools send the same request over and over on one kept-alive
//! connection. Between the bytes of a request and its cache lookup, most of the work is a pure
//! function of those bytes and of configuration fixed at start: the request checks, the route's
//! decision (class, scope, policy, tags), the reading of the token and its hash, the cache key,
//! the client's name and whether it takes gzip. When a request is byte for byte the one before
//! it on the same connection (same upstream, method, target, and header lines in the same
//! order), those results are reused ([`Reading`]).
//!
//! What depends on time or on the server is never reused: the user is looked up again by their
//! hash (and marked seen), a token the server refused since is refused, the trust a shared
//! entry needs is checked at the request's time, and the change feed's adjustment of the
//! policy is made again. Nothing here crosses connections or users: a request with another
//! token differs in its bytes and is read from scratch.

use std::sync::{Arc, Mutex};

use cachearr_engine::{Key, Policy};
use http::{HeaderMap, Method, Request};

use crate::fetch::LoaderState;
use crate::model::{Class, Scope};
use crate::upstream::Upstream;

/// What a cached read worked out from its request's bytes: the same bytes give the same.
#[derive(Debug)]
pub(crate) struct Reading {
    /// The route's class.
    pub(crate) class: Class,
    /// The route's scope.
    pub(crate) scope: Scope,
    /// The cache key.
    pub(crate) key: Key,
    /// The engine policy with the route's tags (the user's state tag included), before the
    /// change feed adjusts it for the moment of the request.
    pub(crate) engine: Policy,
    /// The client takes gzip.
    pub(crate) gzip: bool,
}

/// A connection's last cached read: its request's parts (kept by its loader), what was read
/// from them, and the client's name.
pub(crate) struct LastRead {
    request: Arc<LoaderState>,
    pub(crate) reading: Arc<Reading>,
    pub(crate) client: Arc<str>,
}

impl LastRead {
    pub(crate) fn new(request: Arc<LoaderState>, reading: Arc<Reading>, client: Arc<str>) -> Self {
        Self {
            request,
            reading,
            client,
        }
    }

    /// The user the request was read as.
    pub(crate) fn user(&self) -> Arc<crate::users::UserRecord> {
        self.request.user.clone()
    }
}

/// Where a connection keeps its [`LastRead`]. A mutex only because the service future must be
/// `Send`: one connection's requests run one after the other, so it is never contended.
#[derive(Default)]
pub(crate) struct LastReadSlot(Mutex<Option<LastRead>>);

impl LastReadSlot {
    /// Takes the last read out when `req` repeats it for `up`; otherwise drops it (a
    /// connection remembers one request, the latest).
    pub(crate) fn take_if_repeated<B>(
        &self,
        up: &Arc<Upstream>,
        req: &Request<B>,
    ) -> Option<LastRead> {
        let last = self.0.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        let before = &last.request;
        let repeated = req.method() == Method::GET
            && Arc::ptr_eq(&before.up, up)
            && before.uri == *req.uri()
            && same_header_lines(&before.client_headers, req.headers());
        repeated.then_some(last)
    }

    /// Keeps `last` for the connection's next request.
    pub(crate) fn keep(&self, last: LastRead) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(last);
    }
}

/// Whether two requests carry the same header lines, in the same order, with the same bytes:
/// the test is stricter than HTTP's equivalence on purpose, so that every reading of the
/// headers (token precedence among repeated names included) gives the same result.
fn same_header_lines(a: &HeaderMap, b: &HeaderMap) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((an, av), (bn, bv))| an == bn && av.as_bytes() == bv.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(lines: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in lines {
            h.append(*name, HeaderValue::from_static(value));
        }
        h
    }

    #[test]
    fn header_lines_must_match_in_order_and_bytes() {
        let a = headers(&[("x-plex-token", "alice"), ("accept", "application/json")]);
        assert!(same_header_lines(&a, &a.clone()));
        // Another token.
        let b = headers(&[("x-plex-token", "bob"), ("accept", "application/json")]);
        assert!(!same_header_lines(&a, &b));
        // One more line.
        let mut c = a.clone();
        c.append("x-plex-token", HeaderValue::from_static("bob"));
        assert!(!same_header_lines(&a, &c));
        // A repeated name's values in another order: servers read the first or the last.
        let d = headers(&[("x-plex-token", "alice"), ("x-plex-token", "bob")]);
        let e = headers(&[("x-plex-token", "bob"), ("x-plex-token", "alice")]);
        assert!(!same_header_lines(&d, &e));
        // Case in a value counts.
        let f = headers(&[("x-plex-token", "Alice"), ("accept", "application/json")]);
        assert!(!same_header_lines(&a, &f));
    }
}
