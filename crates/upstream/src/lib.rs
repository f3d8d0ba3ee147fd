//! cachearr-upstream: what every read of a media server shares below the request path —
//! who asks, where the answer is kept, the server behind its guard, and how long an answer
//! stays valid. It knows no request path, no library copy and no server by name: each
//! server's rules are its dialect's (`cachearr-dialect`), handed in by [`Profile`](cachearr_dialect::Profile).
//!
//! # Layout
//! * [`secret`] — the installation [`Secret`] and a token's keyed hash by it
//!   ([`secret::UserHash`]): who a token is, without the token.
//! * [`users`] — recently seen users of an upstream: token trust for shared scope, tokens for
//!   warming (memory only), refusals kept across a restart by their hashes.
//! * [`parsed`] — what was parsed of a user's cached answers, kept beside the user and made
//!   again only when an answer changes.
//! * [`keys`] — cache keys, built in one pass by the dialect's key rules.
//! * [`entry`] — a cached read's key and engine policy with its tags, shared by a client's
//!   read, a read as a user and a batch's part so that they find each other's entries.
//! * [`client`] — [`Upstream`]: the pooled client and its [`client::Guard`] (concurrency
//!   caps, rate limits, timeouts, retries with jitter, circuit breaker, client vs background
//!   budget), owner requests, prefetch's ledger.
//! * [`feed`] — cache validity from the server's change feed: library answers stay fresh
//!   while the feed is healthy and nothing they depend on changed; what sampled revalidation
//!   judges.
//! * [`subscriber`] — the server's notification socket: connect, read each frame with the
//!   dialect's reader, reconnect with backoff.
//! * [`shares`] — [`shares::ShareBook`]: what each user may see, read where the server reads
//!   it (its account service, with the owner's token), refreshed on a schedule and on a
//!   change seen; `None` (the server answers) whenever it cannot be had.
//! * [`redact`] — tokens taken out of anything that is logged.
//!
//! The request path and its reads through the cache (`cachearr-gateway`) and the library
//! copy (`cachearr-copy`) name these modules by this crate's paths.

pub mod client;
pub mod entry;
pub mod feed;
pub mod keys;
pub mod parsed;
pub mod redact;
pub mod secret;
pub mod shares;
pub mod subscriber;
pub mod users;

pub use crate::client::Upstream;
pub use crate::secret::Secret;
