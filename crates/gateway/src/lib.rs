//! cachearr-gateway: the caching proxy in front of Plex and Jellyfin.
//!
//! [`Gateway`] holds the configuration, the [`TieredCache`](cachearr_engine::TieredCache), the
//! upstreams and their guards;
//! [`Gateway::run`] serves one proxy listener per upstream and the admin listener.
//!
//! # What it builds on
//! * `cachearr-config` — [`cachearr_config::Config`]: the TOML file, flag/env overrides,
//!   validation with line numbers; its `policy` module compiles the server's built-in routes
//!   (its dialect's) and the overrides into a [`cachearr_config::policy::RouteTable`] (a radix
//!   tree; one walk per request) that returns a decision: cache, write (pass through and bump
//!   tags) or pass.
//! * `cachearr-dialect` — each server's rules (how it reads a request's token, its route
//!   table, key rules, prefetch triggers, client names, crawl paths, change events) and the
//!   vocabulary they share with the gateway ([`cachearr_dialect::Profile`], the words a route
//!   table is written in, the tags). This crate names no server, nor do `cachearr-upstream`
//!   below it and `cachearr-copy` above it (`scripts/server-names` checks them): the copy's
//!   answers ask the dialect for the server's rules rather than naming them.
//! * `cachearr-upstream` — what every read of a server shares below the request path: the
//!   installation secret and a token's keyed hash, cache keys, a cached read's entry, the
//!   guarded pooled client ([`cachearr_upstream::Upstream`]: concurrency caps, rate limits,
//!   timeouts, retries, circuit breaker), recently seen users, the change feed's validity, the
//!   notification sockets' subscriber, and token redaction for logs.
//!
//! # Layout
//! * [`fetch`] — the read-through service: the engine's loader, reads as a user (the library
//!   copy's among them), uncached reads; [`sampler`] — sampled revalidation, the feed's
//!   proof; [`batch`] — batched metadata and listing windows of section walks, and the pages
//!   the copy writes ahead; [`respond`] — the one writer of the cache's headers.
//! * `proxy` — the request path: validation, cached reads through the engine, pass-through
//!   streaming, websockets, `Cache-Status`/`X-Cache`/`Age`/`Server-Timing`. Its `Listener` is
//!   each proxy listener's [`cachearr_wire::Service`]: the wire (accept loop, connections, its
//!   own HTTP/1.1, hyper's, `sendfile`) hands it every request with how it came, and takes back
//!   the answer, a hit's head as bytes with it.
//! * `prepared` — what is prepared once per cache entry and reused by every answer from it:
//!   the header map, its head as bytes (`cachearr_wire::lines`), the `ETag`, the gzip copy and
//!   the body file (`cachearr_wire::sendfile`).
//! * `encoding` — `Accept-Encoding` (with weights), which types compress, gzip itself;
//!   `etag` — validators and `If-None-Match` (answered `304` from the cache).
//! * `image_check` — an image body is checked (declared type vs magic bytes, end markers,
//!   PNG CRCs) before it is stored; a broken one is passed on, never stored.
//! * [`metrics`] — the Prometheus metrics the request path updates; the admin listener (the
//!   crate `cachearr-admin`, which the binary hands [`BoundGateway::serve`] as an
//!   [`AdminRouter`]) renders them and serves the API, the webhooks and the dashboard.
//! * [`change_events`] — change events applied to the cache, the index and the feed, from the
//!   servers' notification sockets ([`change_events::EventSubscriptions`], started by
//!   [`BoundGateway::serve`] before the admin listener and stopped after it) and from the
//!   webhooks the admin side receives; the upstream crate's subscriber keeps each socket open,
//!   reading its frames with the server's `ServerEvents`. [`webhook_secret`] is the secret
//!   webhooks carry, kept in the data directory.
//! * [`allocator`] — what the process's allocator holds (live heap against resident pages),
//!   read through a probe the binary installs; a leaf.
//! * [`auth`] — the admin token check, a leaf: the admin API and the routes mounted beside it
//!   (index, matching) share it.
//! * [`error_answer`] — [`error_answer::ErrorAnswer`], the one JSON error answer of every
//!   listener (status, stable kind, message), a leaf.
//! * [`copy`] — the library copy as the gateway asks it ([`copy::LibraryCopy`]: walks and
//!   searches answered from it, writes and change events noted, its background work); the
//!   copy itself is the crate `cachearr-copy`, built on this one and handed over by
//!   [`GatewayBuilder::copy`]. [`data_files`] — where the copy's files and the refused
//!   tokens' marks live in the data directory.
//! * [`prefetch`] — after a listing, fetch what the user opens next; the proxy calls
//!   [`prefetch::after_listing`] once a cached read is answered.
//! * [`movable_clock`] — the clock of a measurement mode that the admin API moves on
//!   ([`GatewayBuilder::movable_clock`]), a leaf.
//!
//! # For the admin side
//! [`Gateway`] is cheap to clone. It offers [`Gateway::cache`], [`Gateway::upstreams`] (each
//! with its guard counters and breaker state), [`Gateway::invalidate_tags`],
//! [`Gateway::recent_users`] and [`Gateway::warm`] / [`Gateway::fetch_as`] (background budget).
//!
//! * [`gateway`] — the gateway's handle ([`Gateway`]), its builder ([`GatewayBuilder`]) and
//!   how it binds, serves and stops its listeners ([`BoundGateway`]).
//! * [`read_through`] — [`read_through::ReadThrough`], what every read through the cache uses
//!   (the configuration, the cache, its clock, the metrics, the secret, the feeds): what the
//!   read-through service, the batched walks and the library copy are handed instead of the
//!   gateway.
//!
//! * [`error`] — the crate's error, [`GatewayError`]: what building, binding and a read made
//!   on a user's behalf can fail with.

// The binary's allocator in the unit tests, whose per-thread counts measure what prepared
// answers hold (`prepared::tests`).
#[cfg(test)]
#[global_allocator]
static TEST_ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub mod allocator;
pub mod auth;
pub mod background;
pub mod batch;
pub mod change_events;
pub mod clients;
pub mod copy;
pub mod data_files;
mod encoding;
pub mod error;
pub mod error_answer;
mod etag;
pub mod fetch;
pub mod gateway;
mod image_check;
pub mod metrics;
pub mod movable_clock;
pub mod prefetch;
mod prepared;
mod proxy;
pub mod read_through;
pub mod respond;
pub mod sampler;
pub mod server_version;
pub mod startup;
pub mod webhook_secret;

pub use crate::error::GatewayError;
pub use crate::gateway::{
    AdminRouter, BoundGateway, CopyOpener, Gateway, GatewayBuilder, OpenCopy, check_startable,
};
// What prepared answers may hold and hold, for the admin side's reports.
pub use crate::prepared::{Budgets, VariantStats, gzip_budget_used};
