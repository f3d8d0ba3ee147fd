//! The release each server runs, followed (for a server whose dialect reads it:
//! `cachearr_dialect::DialectFacts::version_reader`).
//!
//! It is read from the server's identity route when the gateway starts its background work for
//! the upstream, again whenever the change feed's socket comes back (a server restarts to
//! upgrade, which drops every socket), and from every answer of that route that passes through.
//! A server found at another release than before answers some requests otherwise (Jellyfin 12
//! lists `GetItems` by other rules than 10.11 and writes its users otherwise), so nothing cached
//! from the earlier release is served again: every entry of the upstream is dropped and the
//! library copy reads the server again, as after a scan.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt as _;

use cachearr_upstream::client::{Budget, Upstream};

use cachearr_engine::TieredCache;

/// Reads the release `up`'s server runs from its identity route (no token: it answers anyone)
/// on the background budget, and follows it in `cache` ([`follow`]): whether the release
/// changed, which the caller tells the library copy. Nothing happens for a server whose
/// release is not followed or that does not answer.
pub async fn read(cache: &TieredCache, up: &Arc<Upstream>) -> bool {
    let dialect = cachearr_dialect::of(up.profile);
    if dialect.version_reader().is_none() {
        return false;
    }
    let Ok(uri) = up.uri_for(dialect.startup_probes().identity) else {
        return false;
    };
    let make = || Ok(up.owner_request(&uri, None, "cachearr-version"));
    let Ok(response) = up.send_idempotent(&make, Budget::Background).await else {
        return false;
    };
    if !response.status().is_success() {
        return false;
    }
    let body: Bytes = match response.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return false,
    };
    follow(cache, up, &body)
}

/// Notes the release an answer `identity` of `up`'s identity route names; when it is another
/// than the one read before, drops every entry cached from the server. Returns whether the
/// release changed: the caller then has the library copy read the server again
/// (`fetch::WalkSources::server_changed`).
pub fn follow(cache: &TieredCache, up: &Upstream, identity: &[u8]) -> bool {
    let Some(reader) = cachearr_dialect::of(up.profile).version_reader() else {
        return false;
    };
    let Some(version) = reader(identity) else {
        return false;
    };
    let Some(before) = up.note_server_version(&version) else {
        return false;
    };
    tracing::warn!(
        upstream = %up.name,
        from = %before,
        to = %version,
        "the server runs another release: every answer cached from it is dropped and the \
         library copy reads it again"
    );
    // Keys start with the upstream's name and a space (`cachearr_upstream::keys`).
    cache.clear_prefix(&format!("{} ", up.name));
    true
}
