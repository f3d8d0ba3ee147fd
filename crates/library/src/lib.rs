//! cachearr-library: the library index that answers searches locally and matches playlists.
//!
//! # Map
//! - [`record`]: [`ItemRecord`], the server-neutral track / album / artist / movie / episode
//!   record that crawlers (Plex, Jellyfin) produce and the index stores.
//! - [`normalize`]: the normaliser (NFKD, case, punctuation, `&`/`and`, leading "The",
//!   featured artists, edition noise) and [`VersionTags`] (live, remix, acoustic, …).
//! - [`index`]: [`LibraryIndex`], the compact in-memory index built from records: id, path,
//!   MusicBrainz and ISRC lookups, normalised exact keys, artist blocks, title trigram
//!   postings, ranked title search; every query is scoped by a [`Visibility`] (the sections a
//!   user may see).
//! - [`japanese`]: whether a romanised name or title reads a Japanese one written in kanji
//!   (each kanji by any of its readings, from the Unicode Han Database).
//! - [`korean`]: whether a name in Latin letters is written in Hangul as Korean writes
//!   foreign names (its letters spelt out, or the word transcribed).
//! - [`snapshot`]: the versioned on-disk snapshot (postcard, CRC-checked) loaded without a
//!   re-crawl.
//! - [`matcher`]: [`Matcher`], ids first, then exact keys, then fuzzy candidates scored on
//!   title, artist, album and duration, with accept / review / reject bands and a runner-up.
//! - [`store`]: [`MatchStore`], persisted match results, dropped when their item changes or
//!   disappears.
//! - [`playlist`]: reading playlist files (CSV, JSON, M3U/EXTM3U) into [`TrackQuery`]s.
//! - `sim` (feature `sim`): records built from the simulator's synthetic library.
//! - [`evaluation`]: the real-world evaluation set (`eval/`) and its precision / recall per
//!   part and failure class.
//! - [`LibraryError`]: the crate's error type.

pub mod error;
pub mod evaluation;
pub mod index;
pub mod japanese;
pub mod korean;
pub mod matcher;
pub mod normalize;
pub mod playlist;
pub mod record;
#[cfg(feature = "sim")]
pub mod sim;
pub mod snapshot;
pub mod store;

pub use error::LibraryError;
pub use index::{LibraryIndex, SearchHit, Visibility};
pub use matcher::{Band, MatchMethod, MatchOutcome, Matcher, MatcherConfig, TrackQuery};
pub use normalize::VersionTags;
pub use record::{ItemKind, ItemRecord};
pub use store::MatchStore;
