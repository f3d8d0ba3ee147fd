//! Where the request path's failures become HTTP answers: a load the engine could not make
//! ([`engine_error_response`]), an upstream that failed ([`upstream_error_response`]) and an
//! open circuit breaker ([`circuit_open_response`]), each a problem document
//! ([`crate::respond::problem`]) whose status comes from the error's kind
//! ([`ErrorKind::of_engine`], [`ErrorKind::of_load`]).

use std::time::Instant;

use cachearr_engine::{Chain, EngineError, LoadError};
use http::Response;
use http::header::{self, HeaderValue};

use crate::fetch::ProxyBody;
use crate::respond::{ErrorKind, mark, problem};
use cachearr_upstream::client::{Upstream, UpstreamError};

/// The answer to a cached read whose load failed with no stale copy to serve.
pub(super) fn engine_error_response(
    up: &Upstream,
    e: &EngineError,
    started: Instant,
) -> Response<ProxyBody> {
    let open = up.guard.breaker_state() == cachearr_upstream::client::BreakerState::Open;
    let mut resp = match (ErrorKind::of_engine(e), e) {
        // The breaker opened while this load waited: say so, whatever the load's own kind.
        (_, EngineError::Load(_)) if open => circuit_open_response(up),
        (ErrorKind::UpstreamUnavailable, _) => circuit_open_response(up),
        (kind, EngineError::Load(le)) => problem(kind, &load_detail(le)),
        (kind, EngineError::LoadTimeout(d)) => problem(
            kind,
            &format!("upstream {} did not answer within {d:?}", up.name),
        ),
        (kind, other) => problem(kind, &other.to_string()),
    };
    mark(
        &mut resp,
        "MISS",
        "cachearr; fwd=uri-miss; detail=upstream-failed",
        started,
        None,
    );
    resp
}

/// The answer while the circuit breaker keeps the upstream closed: when to try again.
fn circuit_open_response(up: &Upstream) -> Response<ProxyBody> {
    let retry = up.guard.retry_after().as_secs().max(1);
    let mut resp = problem(
        ErrorKind::UpstreamUnavailable,
        &format!(
            "upstream {} is failing and cachearr has no copy to serve; the circuit breaker \
             lets a probe through in {retry} s",
            up.name
        ),
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry));
    resp
}

/// The answer to a request the upstream failed.
pub(super) fn upstream_error_response(up: &Upstream, e: &UpstreamError) -> Response<ProxyBody> {
    match ErrorKind::of_load(e.kind()) {
        ErrorKind::UpstreamUnavailable => circuit_open_response(up),
        kind => problem(kind, &Chain(e).to_string()),
    }
}

/// What a client is told of a failed load: the error it failed on with its causes (an
/// upstream's, none of which names a URL), or the loader's own message when it has none.
fn load_detail(le: &LoadError) -> String {
    match std::error::Error::source(le) {
        Some(cause) => Chain(cause).to_string(),
        None => le.message.to_string(),
    }
}
