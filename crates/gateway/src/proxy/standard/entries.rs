//! Stored responses of the standard-following profile: their keys, the value kept for each
//! (the response's storable headers and a line of what the standard's arithmetic needs),
//! and the variants `Vary` selects.
//!
//! Keys read `{upstream} {resource} {scope}` — `resource` is `GET {path?query}` (credential
//! parameters removed) or `POST {path} g={hash}` for a GraphQL query; `scope` is `s` or
//! `u={keyed hash of the credential}` — so `POST /api/clear?prefix=sonarr GET /api/v3/`
//! clears a path's entries in every scope. A response with `Vary` is kept under
//! `{key} v={variant}`, and the key itself holds a marker naming the fields `Vary` lists, so
//! one URL keeps one entry per variant.

use std::time::Duration;

use cachearr_engine::{CachedValue, Entry, Key, Policy};
use cachearr_httpcache::{RequestDirectives, Reuse, Stored, Vary};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use std::sync::Arc;

use super::prepared::{Prepared, prepared};
use super::{Ask, CLASS};
use cachearr_upstream::keys::UserHash;

/// The stored line holding what the standard's arithmetic needs beside the response's own
/// headers: `request_ms response_ms variant` (the variant a keyed hash of the request's
/// `Vary` values, or `-`). A header name cannot hold `:`, so no response carries it.
const META: &str = ":http-cache";

/// The stored line of a variants marker: the `Vary` value its responses were stored under.
const VARIANTS: &str = ":http-vary";

/// How long an entry with a validator is kept past its freshness (and stale windows) to be
/// validated instead of fetched whole again.
const KEEP_FOR_VALIDATION: Duration = Duration::from_secs(24 * 3600);

/// A stored response, read back (once per entry: [`prepared`]).
pub(super) struct Found {
    pub(super) entry: Arc<Entry>,
    pub(super) key: Key,
    /// Its headers, shared with the entry's memo until a `304` changes them.
    pub(super) headers: Arc<HeaderMap>,
    pub(super) stored: Arc<Stored>,
    /// Whether it is one credential's (the private options apply).
    pub(super) private: bool,
    /// What was read once from the entry, with a hit's kept head.
    pub(super) prepared: Arc<Prepared>,
}

impl Found {
    /// What the request may do with it (the standard's [`Stored::reuse`]).
    pub(super) fn reuse(&self, ask: &Ask, directives: &RequestDirectives, now: u64) -> Reuse {
        self.stored
            .reuse(directives, now, &ask.options(self.private))
    }

    /// Re-reads it after its headers or times changed.
    pub(super) fn reread(&mut self, ask: &Ask, request_ms: u64, response_ms: u64) {
        self.stored = Arc::new(Stored::new(
            self.stored.status,
            &ask.effective(&self.headers),
            request_ms,
            response_ms,
            &ask.options(self.private),
        ));
    }
}

/// What [`META`] holds.
pub(super) struct Meta {
    pub(super) request_ms: u64,
    pub(super) response_ms: u64,
    pub(super) variant: Option<String>,
}

/// A stored value read back.
pub(super) enum Read {
    /// A response: its headers (without [`META`]) and its meta line.
    Response(Arc<HeaderMap>, Meta),
    /// A variants marker: the `Vary` its responses were selected by.
    Variants(HeaderMap),
}

/// The base key of the request's resource in a scope (`None`: shared).
pub(super) fn key_of(ask: &Ask, user: Option<&UserHash>) -> String {
    // Written piece by piece into one buffer of the right size: made on every request.
    let hex = user.map(UserHash::hex);
    let scope_len = hex.as_ref().map_or(1, |h| 2 + h.len());
    let mut key = String::with_capacity(ask.up.name.len() + ask.resource.len() + 2 + scope_len);
    key.push_str(&ask.up.name);
    key.push(' ');
    key.push_str(&ask.resource);
    key.push(' ');
    match hex {
        None => key.push('s'),
        Some(hex) => {
            key.push_str("u=");
            key.push_str(&String::from_utf8_lossy(&hex));
        }
    }
    key
}

/// The key concurrent misses of one request coalesce on.
pub(super) fn flight_key(ask: &Ask) -> String {
    key_of(ask, ask.user.as_ref())
}

/// The tag every scope's and variant's entry of a target carries, so a write drops them all.
pub(super) fn target_tag(upstream: &str, target: &str) -> String {
    format!("{upstream}|std-target|{target}")
}

/// The stored response that may answer the request: its user's, else the shared one if it
/// may answer a credentialed request (`public`, `s-maxage`, `must-revalidate`); of the
/// request's variant.
pub(super) async fn look_up(ask: &Ask) -> Option<Found> {
    let scopes = [ask.user, None];
    let tried = if ask.user.is_some() {
        &scopes[..]
    } else {
        &scopes[1..]
    };
    for scope in tried {
        let base = key_of(ask, scope.as_ref());
        let Some(found) = look_up_scope(ask, scope.as_ref(), base).await else {
            continue;
        };
        if scope.is_none() && ask.user.is_some() && !found.stored.answers_authorized() {
            // §3.5 holds for using a shared entry too, whichever credential the request
            // carries (`Authorization`, a cookie, an API key header or parameter): the
            // shared entry may be an anonymous client's answer, which the origin would not
            // give a logged-in user.
            continue;
        }
        return Some(found);
    }
    None
}

async fn look_up_scope(ask: &Ask, scope: Option<&UserHash>, base: String) -> Option<Found> {
    let cache = ask.reads.cache();
    let mut key = Key::new(base);
    let mut lookup = cache.get(&key).await?;
    let mut read = prepared(&lookup.entry)?;
    if let Read::Variants(vary) = &read.read {
        let variant = variant_of(ask, vary, &ask.headers)?;
        key = Key::new(format!("{} v={variant}", key.as_str()));
        lookup = cache.get(&key).await?;
        read = prepared(&lookup.entry)?;
    }
    let Read::Response(headers, meta) = &read.read else {
        return None;
    };
    // Without `Vary` every request is the one variant (`-`): nothing to hash.
    let same_variant = if headers.contains_key(header::VARY) {
        variant_of(ask, headers, &ask.headers) == meta.variant
    } else {
        meta.variant.as_deref() == Some("-")
    };
    if !same_variant {
        return None;
    }
    let private = scope.is_some();
    let status = StatusCode::from_u16(lookup.entry.value.status).ok()?;
    let stored = read.stored(ask, private, || {
        Some(Stored::new(
            status,
            &ask.effective(headers),
            meta.request_ms,
            meta.response_ms,
            &ask.options(private),
        ))
    })?;
    Some(Found {
        entry: lookup.entry,
        key,
        headers: headers.clone(),
        stored,
        private,
        prepared: read.clone(),
    })
}

/// The keyed hash of the request's values of the fields the response's `Vary` names (`-`
/// without `Vary`; `None` for one that never matches). The values may be credentials: only
/// their keyed hash is kept.
pub(super) fn variant_of(ask: &Ask, response: &HeaderMap, request: &HeaderMap) -> Option<String> {
    let key = Vary::from_headers(response).key(request)?;
    if key.is_empty() {
        return Some("-".to_owned());
    }
    let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    Some(String::from_utf8_lossy(&ask.reads.secret().user_of(&hex).hex()).into_owned())
}

/// A stored value's headers and meta line, or the `Vary` of a variants marker.
pub(super) fn read_entry(value: &CachedValue) -> Option<Read> {
    let mut headers = HeaderMap::with_capacity(value.headers.len());
    let mut meta = None;
    let mut marker = false;
    for (n, v) in &value.headers {
        if n == META {
            let mut parts = v.split(' ');
            meta = Some(Meta {
                request_ms: parts.next()?.parse().ok()?,
                response_ms: parts.next()?.parse().ok()?,
                variant: parts.next().map(str::to_owned),
            });
            continue;
        }
        if n == VARIANTS {
            marker = true;
            headers.append(header::VARY, HeaderValue::from_str(v).ok()?);
            continue;
        }
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_str(v),
        ) else {
            return None;
        };
        headers.append(name, value);
    }
    if marker {
        return Some(Read::Variants(headers));
    }
    Some(Read::Response(Arc::new(headers), meta?))
}

/// The value to store for a response: its storable headers, then [`META`].
fn stored_value(
    status: StatusCode,
    headers: &HeaderMap,
    body: bytes::Bytes,
    meta: &Meta,
) -> Option<CachedValue> {
    let mut lines = Vec::with_capacity(headers.len() + 1);
    // A cookie the origin set was for the client that asked, never for a later one: the
    // shared scope keeps no such response, a user's keeps it without the cookie.
    for (n, v) in headers.iter().filter(|(n, _)| **n != header::SET_COOKIE) {
        lines.push((n.as_str().to_owned(), v.to_str().ok()?.to_owned()));
    }
    lines.push((
        META.to_owned(),
        format!(
            "{} {} {}",
            meta.request_ms,
            meta.response_ms,
            meta.variant.as_deref().unwrap_or("-")
        ),
    ));
    Some(CachedValue {
        status: status.as_u16(),
        headers: lines,
        body,
    })
}

/// The engine times of a stored response: fresh for its own freshness lifetime, then kept
/// while it may still answer stale or be validated; tagged with its target and its route.
fn engine_policy(ask: &Ask, target: &str, stored: &Stored, private: bool, now: u64) -> Policy {
    let opts = ask.options(private);
    let fresh = Duration::from_millis(stored.fresh_until_ms().saturating_sub(now));
    let stale = Duration::from_secs(u64::from(
        stored
            .stale_while_revalidate(&opts)
            .max(stored.stale_if_error(&opts)),
    ));
    let keep = if stored.has_validator {
        stale.max(KEEP_FOR_VALIDATION)
    } else {
        // A request's `max-stale` may still take it: kept a while after it goes stale.
        stale.max(Duration::from_secs(3600))
    };
    let mut policy = Policy::new(CLASS, fresh)
        .with_stale_if_error(keep)
        .with_tag(target_tag(&ask.up.name, target));
    for tag in &ask.route.tags {
        policy = policy.with_tag(tag.clone());
    }
    policy
}

/// Stores a response in a scope: under its variant's key with a marker at the base key when
/// it has `Vary`, at the base key otherwise. Returns whether it was stored.
pub(super) async fn store(
    ask: &Ask,
    scope: Option<&UserHash>,
    status: StatusCode,
    headers: &HeaderMap,
    body: bytes::Bytes,
    meta: Meta,
    stored: &Stored,
) -> bool {
    let Some(value) = stored_value(status, headers, body, &meta) else {
        return false;
    };
    let target = ask
        .resource
        .split_once(' ')
        .map_or(ask.resource.as_str(), |(_, t)| t);
    let target = target.split(" g=").next().unwrap_or(target);
    let now = meta.response_ms;
    let policy = engine_policy(ask, target, stored, scope.is_some(), now);
    let cache = ask.reads.cache();
    let base = key_of(ask, scope);
    let vary: Vec<&str> = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    match meta.variant.as_deref() {
        Some(variant) if variant != "-" && !vary.is_empty() => {
            let marker = CachedValue {
                status: 200,
                headers: vec![(VARIANTS.to_owned(), vary.join(", "))],
                body: bytes::Bytes::new(),
            };
            // The marker lives as long as the longest-kept variant may.
            let marker_policy = Policy::new(CLASS, Duration::ZERO)
                .with_stale_if_error(
                    KEEP_FOR_VALIDATION.max(policy.fresh.saturating_add(policy.stale_if_error)),
                )
                .with_tag(target_tag(&ask.up.name, target));
            let variant_key = Key::new(format!("{base} v={variant}"));
            cache.insert(&variant_key, &policy, value).await;
            cache.insert(&Key::new(base), &marker_policy, marker).await;
        }
        _ => cache.insert(&Key::new(base), &policy, value).await,
    }
    true
}

/// Stores a response again under the key it was found at (after a `304` changed it).
pub(super) async fn restore(ask: &Ask, found: &Found, meta: Meta) -> Option<Arc<Entry>> {
    let value = stored_value(
        found.stored.status,
        &found.headers,
        found.entry.value.body.clone(),
        &meta,
    )?;
    let target = ask
        .resource
        .split_once(' ')
        .map_or(ask.resource.as_str(), |(_, t)| t);
    let target = target.split(" g=").next().unwrap_or(target);
    let policy = engine_policy(ask, target, &found.stored, found.private, meta.response_ms);
    let cache = ask.reads.cache();
    cache.insert(&found.key, &policy, value).await;
    cache.get(&found.key).await.map(|l| l.entry)
}
