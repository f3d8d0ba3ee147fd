//! The admin token check, a leaf: the admin API and the routes mounted beside it (the library
//! index's and matching's) ask it whether a request may act, and import nothing above it.

use http::{HeaderMap, header};

use crate::error_answer::{ErrorAnswer, ErrorKind};

/// Compares a presented token with the configured one in constant time (for equal lengths; the
/// length itself is not secret enough to matter).
pub fn token_matches(configured: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    configured.len() == presented.len()
        && bool::from(configured.as_bytes().ct_eq(presented.as_bytes()))
}

/// The token a request presents, from `Authorization: Bearer`, `X-Cachearr-Token` or `?token=`.
pub fn presented_token<'a>(
    headers: &'a HeaderMap,
    query_token: Option<&'a str>,
) -> Option<&'a str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let custom = headers
        .get("x-cachearr-token")
        .and_then(|v| v.to_str().ok());
    bearer.or(custom).or(query_token)
}

/// `Ok` when no admin token is configured (`configured` is `None`) or the request presents the
/// configured one; else a 401 ([`ErrorKind::Unauthorized`]) that says what is missing. Used by
/// the admin API and by routes mounted beside it (`POST /api/match`, the index routes).
///
/// # Errors
/// The 401 to answer with.
pub fn authorize_token(
    configured: Option<&str>,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<(), ErrorAnswer> {
    let Some(configured) = configured else {
        return Ok(());
    };
    if configured.is_empty() {
        // An empty token is a configuration mistake, not "no token": fail closed, since the
        // listener may have been allowed beyond loopback because a token was "set".
        let message = "the configured admin token is empty: set a real one to use this endpoint";
        return Err(ErrorAnswer::new(ErrorKind::Unauthorized, message));
    }
    match presented_token(headers, query_token) {
        Some(presented) if token_matches(configured, presented) => Ok(()),
        presented => {
            let message = if presented.is_some() {
                "wrong admin token"
            } else {
                "this endpoint needs the admin token: send `Authorization: Bearer <token>`"
            };
            Err(ErrorAnswer::new(ErrorKind::Unauthorized, message).challenge())
        }
    }
}
