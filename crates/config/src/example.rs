//! The commented example printed by `cachearr config example`: every section with its
//! defaults. It parses (a test checks), so it cannot drift from the format.
//!
//! The text is `crates/config/example.toml`, a file of its own: it names the servers as an
//! operator writes them (`profile = "plex"`, an upstream called `jellyfin`, a `*.plex.direct`
//! name), text for people rather than rules, and it reads and edits as the TOML it is.

/// The commented example printed by `cachearr config example`. It parses (a test checks).
pub const EXAMPLE: &str = include_str!("../example.toml");
