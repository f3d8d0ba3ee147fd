//! cachearr-serverfmt: what the media servers write and how they compare text, in one place
//! for the two crates that must agree on it byte for byte — the simulator (which plays the
//! servers) and the gateway (which answers from its library index in their place). The
//! gateway's index answers are checked field by field against the simulator's own, so a
//! second copy of any piece would only be a second chance to drift.
//!
//! # Map
//! - [`tree`] — the element tree response documents are built as ([`tree::El`]), rendered as
//!   XML (Plex's default) or as the JSON Plex writes for `Accept: application/json`, whole or
//!   streamed.
//! - [`plex`] — [`plex::title_sort`], Plex's `titleSort`.
//! - [`search`] — the case and accent folding both servers (Plex and Jellyfin) apply to
//!   titles and queries before a substring search.
//! - [`jellyfin`] — Jellyfin's dates: .NET's UTC `DateTime` text, written and read.
//!
//! Only `serde_json` is a dependency, which both users already have.

pub mod jellyfin;
pub mod plex;
pub mod search;
pub mod tree;
