//! Freshness (RFC 9111 §4.2) and the decision to reuse a stored response (§4, §4.2.4,
//! RFC 5861).
//!
//! [`Stored::new`] reads a response once, when it is stored or freshened: its lifetime
//! (§4.2.1: `s-maxage` in a shared cache, then `max-age`, then `Expires` − `Date`; without
//! any, the operator's lifetime or a heuristic one for the statuses that allow it, §4.2.2),
//! and its corrected initial age (§4.2.3, from `Age`, `Date` and the request and response
//! times). Everything after that is arithmetic on `now_ms`.
//!
//! [`Stored::reuse`] answers a request from it in this order:
//! 1. response `no-cache` (unqualified): validate first;
//! 2. fresh and `immutable` (RFC 8246): use it, whatever the request's reload directives;
//! 3. request `no-cache`, or `max-age` it is older than (`max-age=0` always): validate;
//! 4. fresh, and fresh for the request's `min-fresh` too: use it;
//! 5. stale where the response forbids serving stale (`must-revalidate`; in a shared cache
//!    also `proxy-revalidate` and `s-maxage`, §5.2.2.10): validate;
//! 6. stale within the request's `max-stale`: use it;
//! 7. stale within `stale-while-revalidate` (the response's or the operator's, the larger),
//!    and the request asks no `min-fresh`: use it and revalidate in the background;
//! 8. otherwise validate.
//!
//! [`Stored::usable_on_error`] says whether it may answer when validation fails (the origin
//! unreachable or answering 5xx): fresh (unless `no-cache`), or stale within `stale-if-error`
//! (the response's, the request's or the operator's, the largest) or the request's
//! `max-stale`, and never stale where the response forbids serving stale.

use http::{HeaderMap, StatusCode};

use crate::directives::{FieldList, MaxStale, RequestDirectives, ResponseDirectives, Source};
use crate::storable::heuristically_cacheable;
use crate::{DELTA_MAX, Options, Role, fields};

/// Where a stored response's lifetime came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifetimeSource {
    /// `s-maxage` (a shared cache).
    SMaxAge,
    /// `max-age`.
    MaxAge,
    /// `Expires` − `Date`.
    Expires,
    /// The operator's lifetime for responses without one ([`Options::fallback_lifetime`]).
    Operator,
    /// A fraction of the time since `Last-Modified` (§4.2.2).
    Heuristic,
    /// None: the response is stale from the start.
    None,
}

/// A stored response, as far as freshness is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its status.
    pub status: StatusCode,
    /// Its cache directives.
    pub directives: ResponseDirectives,
    /// Its freshness lifetime, seconds (at most 2^31).
    pub lifetime: u32,
    /// Where the lifetime came from.
    pub lifetime_source: LifetimeSource,
    /// Its corrected initial age (§4.2.3), milliseconds.
    pub initial_age_ms: u64,
    /// When it was received, milliseconds since the epoch.
    pub response_time_ms: u64,
    /// Whether it carries a validator (`ETag` or `Last-Modified`), so a conditional request
    /// can revalidate it.
    pub has_validator: bool,
    /// The role it was read for.
    pub role: Role,
}

/// What a request may do with a stored response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Fresh: answer with it.
    Fresh,
    /// Stale, within what the request's `max-stale` accepts: answer with it.
    StaleAccepted,
    /// Stale within `stale-while-revalidate`: answer with it and revalidate in the background.
    StaleWhileRevalidate,
    /// Validate with the origin first (conditionally when it has a validator).
    Validate(Why),
}

/// Why a stored response must be validated before use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The response's `no-cache`.
    NoCache,
    /// The request's `no-cache` (or `Pragma: no-cache`).
    RequestNoCache,
    /// Older than the request's `max-age`.
    RequestMaxAge,
    /// Not fresh for long enough for the request's `min-fresh`.
    RequestMinFresh,
    /// Stale, and nothing allows serving it so.
    Stale,
}

impl Reuse {
    /// Whether the stored response answers the request now (fresh or an allowed stale).
    pub fn answers(self) -> bool {
        !matches!(self, Reuse::Validate(_))
    }
}

/// A response's freshness lifetime in seconds and where it came from (§4.2.1, §4.2.2).
/// `date_ms` is its `Date`, or when it was received if it has none.
pub fn lifetime(
    status: StatusCode,
    headers: &HeaderMap,
    d: &ResponseDirectives,
    date_ms: u64,
    opts: &Options,
) -> (u32, LifetimeSource) {
    if opts.role == Role::Shared
        && let Some(s) = d.s_maxage
    {
        return (s, LifetimeSource::SMaxAge);
    }
    if let Some(m) = d.max_age {
        return (m, LifetimeSource::MaxAge);
    }
    if d.source == Source::CacheControl {
        match fields::expires(headers) {
            Ok(None) => {}
            Ok(Some(e)) => {
                let secs = e.saturating_sub(date_ms) / 1000;
                return (clamp(secs), LifetimeSource::Expires);
            }
            Err(fields::Invalid) => return (0, LifetimeSource::Expires),
        }
    }
    let may_guess = heuristically_cacheable(status)
        || d.public
        || (opts.role == Role::Private && d.private.is_present());
    if !may_guess {
        return (0, LifetimeSource::None);
    }
    if let Some(l) = opts.fallback_lifetime {
        return (l.min(DELTA_MAX), LifetimeSource::Operator);
    }
    match fields::last_modified(headers) {
        Some(lm) if lm <= date_ms && opts.heuristic.percent > 0 => {
            let since = (date_ms - lm) / 1000;
            let guess = since.saturating_mul(u64::from(opts.heuristic.percent)) / 100;
            let capped = guess.min(u64::from(opts.heuristic.max_secs));
            (clamp(capped), LifetimeSource::Heuristic)
        }
        _ => (0, LifetimeSource::None),
    }
}

fn clamp(secs: u64) -> u32 {
    u32::try_from(secs.min(u64::from(DELTA_MAX))).unwrap_or(DELTA_MAX)
}

/// The corrected initial age (RFC 9111 §4.2.3), milliseconds: the larger of the apparent age
/// (`response_time` − `Date`) and `Age` plus the time the request took.
pub fn initial_age_ms(headers: &HeaderMap, request_time_ms: u64, response_time_ms: u64) -> u64 {
    let date_ms = fields::date(headers).unwrap_or(response_time_ms);
    let apparent = response_time_ms.saturating_sub(date_ms);
    let delay = response_time_ms.saturating_sub(request_time_ms);
    let corrected = u64::from(fields::age(headers))
        .saturating_mul(1000)
        .saturating_add(delay);
    apparent.max(corrected)
}

impl Stored {
    /// Reads a response received at `response_time_ms` for a request sent at
    /// `request_time_ms`.
    pub fn new(
        status: StatusCode,
        headers: &HeaderMap,
        request_time_ms: u64,
        response_time_ms: u64,
        opts: &Options,
    ) -> Self {
        let directives = ResponseDirectives::from_headers(headers, &opts.targeted);
        Self::with_directives(
            status,
            headers,
            directives,
            request_time_ms,
            response_time_ms,
            opts,
        )
    }

    /// As [`Stored::new`], with the directives read already.
    pub fn with_directives(
        status: StatusCode,
        headers: &HeaderMap,
        directives: ResponseDirectives,
        request_time_ms: u64,
        response_time_ms: u64,
        opts: &Options,
    ) -> Self {
        let date_ms = fields::date(headers).unwrap_or(response_time_ms);
        let (lifetime, lifetime_source) = lifetime(status, headers, &directives, date_ms, opts);
        Self {
            status,
            lifetime,
            lifetime_source,
            initial_age_ms: initial_age_ms(headers, request_time_ms, response_time_ms),
            response_time_ms,
            has_validator: headers.contains_key(http::header::ETAG)
                || headers.contains_key(http::header::LAST_MODIFIED),
            role: opts.role,
            directives,
        }
    }

    /// Its current age (§4.2.3), milliseconds.
    pub fn current_age_ms(&self, now_ms: u64) -> u64 {
        self.initial_age_ms
            .saturating_add(now_ms.saturating_sub(self.response_time_ms))
    }

    /// Its current age in whole seconds, for the `Age` field (at most 2^31).
    pub fn age_secs(&self, now_ms: u64) -> u32 {
        clamp(self.current_age_ms(now_ms) / 1000)
    }

    /// Milliseconds of freshness left: negative once stale.
    pub fn remaining_ms(&self, now_ms: u64) -> i128 {
        i128::from(self.lifetime) * 1000 - i128::from(self.current_age_ms(now_ms))
    }

    /// Whether it is fresh (its lifetime exceeds its age).
    pub fn is_fresh(&self, now_ms: u64) -> bool {
        self.remaining_ms(now_ms) > 0
    }

    /// Seconds of freshness left, negative once stale: `Cache-Status`'s `ttl`.
    pub fn ttl_secs(&self, now_ms: u64) -> i64 {
        i64::try_from(self.remaining_ms(now_ms).div_euclid(1000)).unwrap_or(i64::MIN)
    }

    /// When it stops being fresh, milliseconds since the epoch.
    pub fn fresh_until_ms(&self) -> u64 {
        let until = i128::from(self.response_time_ms) + i128::from(self.lifetime) * 1000
            - i128::from(self.initial_age_ms);
        u64::try_from(until.max(0)).unwrap_or(u64::MAX)
    }

    /// Whether the response forbids serving it stale (§4.2.4): `must-revalidate`, or in a
    /// shared cache `proxy-revalidate` or `s-maxage`; and unqualified `no-cache`, which
    /// forbids serving it unvalidated at all.
    pub fn forbids_stale(&self) -> bool {
        let d = &self.directives;
        d.must_revalidate
            || d.no_cache == FieldList::All
            || (self.role == Role::Shared && (d.proxy_revalidate || d.s_maxage.is_some()))
    }

    /// The stale-while-revalidate window that applies, seconds (0 where stale is forbidden).
    pub fn stale_while_revalidate(&self, opts: &Options) -> u32 {
        if self.forbids_stale() {
            return 0;
        }
        self.directives
            .stale_while_revalidate
            .unwrap_or(0)
            .max(opts.stale_while_revalidate)
    }

    /// The stale-if-error window the response and the operator grant, seconds (0 where stale
    /// is forbidden); a request may widen it ([`Stored::usable_on_error`]).
    pub fn stale_if_error(&self, opts: &Options) -> u32 {
        if self.forbids_stale() {
            return 0;
        }
        self.directives
            .stale_if_error
            .unwrap_or(0)
            .max(opts.stale_if_error)
    }

    /// The last moment it may be served without validation in any case (fresh, then the
    /// larger stale window), milliseconds since the epoch. After it, only a validator makes
    /// keeping it worthwhile.
    pub fn usable_until_ms(&self, opts: &Options) -> u64 {
        let window = self
            .stale_while_revalidate(opts)
            .max(self.stale_if_error(opts));
        self.fresh_until_ms()
            .saturating_add(u64::from(window) * 1000)
    }

    /// Whether it may answer a request that carries `Authorization` (§3.5): always in one
    /// user's cache; in a shared cache only with `public`, `s-maxage` or `must-revalidate`. The
    /// same permission [`crate::storable::check`] asks of a response to such a request.
    pub fn answers_authorized(&self) -> bool {
        let d = &self.directives;
        self.role == Role::Private || d.public || d.s_maxage.is_some() || d.must_revalidate
    }

    /// The header fields a qualified `no-cache` names: left out of an answer that was not
    /// validated (§5.2.2.4).
    pub fn unvalidated_omits(&self) -> &[http::HeaderName] {
        match &self.directives.no_cache {
            FieldList::Fields(f) => f,
            _ => &[],
        }
    }

    /// Whether `req` may be answered from it at `now_ms` (see the module docs for the order).
    pub fn reuse(&self, req: &RequestDirectives, now_ms: u64, opts: &Options) -> Reuse {
        let d = &self.directives;
        if d.no_cache == FieldList::All {
            return Reuse::Validate(Why::NoCache);
        }
        let age_ms = self.current_age_ms(now_ms);
        let remaining = self.remaining_ms(now_ms);
        let min_fresh_ms = i128::from(req.min_fresh.unwrap_or(0)) * 1000;
        if d.immutable && remaining > 0 && remaining >= min_fresh_ms {
            return Reuse::Fresh;
        }
        if req.no_cache {
            return Reuse::Validate(Why::RequestNoCache);
        }
        if let Some(max_age) = req.max_age
            && (max_age == 0 || age_ms > u64::from(max_age) * 1000)
        {
            return Reuse::Validate(Why::RequestMaxAge);
        }
        if remaining > 0 {
            if remaining < min_fresh_ms {
                return Reuse::Validate(Why::RequestMinFresh);
            }
            return Reuse::Fresh;
        }
        if self.forbids_stale() {
            return Reuse::Validate(Why::Stale);
        }
        let stale_ms = -remaining;
        match req.max_stale {
            Some(MaxStale::Any) => return Reuse::StaleAccepted,
            Some(MaxStale::Secs(s)) if stale_ms <= i128::from(s) * 1000 => {
                return Reuse::StaleAccepted;
            }
            _ => {}
        }
        if req.min_fresh.is_some() {
            return Reuse::Validate(Why::RequestMinFresh);
        }
        let swr = self.stale_while_revalidate(opts);
        if swr > 0 && stale_ms <= i128::from(swr) * 1000 {
            return Reuse::StaleWhileRevalidate;
        }
        Reuse::Validate(Why::Stale)
    }

    /// Whether it may answer `req` when validation failed (the origin unreachable or
    /// answering 5xx): fresh (unless `no-cache`), or stale within `stale-if-error` or the
    /// request's `max-stale`, never stale where the response forbids it (§4.2.4; RFC 5861 §4).
    pub fn usable_on_error(&self, req: &RequestDirectives, now_ms: u64, opts: &Options) -> bool {
        // Unqualified `no-cache`: never used unvalidated, fresh or not.
        if self.directives.no_cache == FieldList::All {
            return false;
        }
        let remaining = self.remaining_ms(now_ms);
        // Fresh (the request's own `no-cache` or `max-age` asked for the validation): the
        // directives that forbid stale answers say nothing against it.
        if remaining > 0 {
            return true;
        }
        if self.forbids_stale() {
            return false;
        }
        let stale_ms = -remaining;
        let window = self
            .stale_if_error(opts)
            .max(req.stale_if_error.unwrap_or(0));
        if window > 0 && stale_ms <= i128::from(window) * 1000 {
            return true;
        }
        match req.max_stale {
            Some(MaxStale::Any) => true,
            Some(MaxStale::Secs(s)) => stale_ms <= i128::from(s) * 1000,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests;
