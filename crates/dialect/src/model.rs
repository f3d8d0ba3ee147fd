//! The vocabulary shared by the route table (the gateway's `policy`) and the servers' rules
//! ([`crate::Dialect`]): what kind of route a request is on ([`Class`], with each class's
//! default lifetimes and scope), whose entry an answer is ([`Scope`]), and the words a server's built-in route table is written in ([`route`]).
//! Also the library index's sections, which the dialects read out of their servers' answers
//! ([`library`]), one element of a server's document as the copy keeps it ([`element`]), and
//! what a server hides from a user inside their sections ([`restriction`]), and the shares of
//! a server as its account service keeps them ([`shares`]).
//! A leaf: it imports nothing of the crate, so every side may use it.

pub mod element;
pub mod library;
pub mod restriction;
pub mod route;
pub mod shares;

use std::time::Duration;

use serde::Deserialize;

/// Who may share a cached entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One entry per user (keyed hash of the token). The default.
    User,
    /// One entry for every user whose token the upstream accepted recently.
    Shared,
}

/// The route classes (docs/configuration.md, `[policy.<class>]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// `/identity`, `/System/Info/Public`.
    Identity,
    /// The list of sections / views.
    Sections,
    /// Section listings.
    Listing,
    /// Item metadata, children, leaves.
    Metadata,
    /// Searches.
    Search,
    /// Recently added.
    Recent,
    /// On deck / continue watching.
    #[serde(rename = "ondeck")]
    OnDeck,
    /// Watch history.
    History,
    /// Live sessions.
    Sessions,
    /// Server activities.
    Activities,
    /// Playlists.
    Playlists,
    /// Versioned images and image transcodes.
    Images,
    /// Never cached: streamed through unchanged.
    Pass,
}

impl Class {
    /// Every class, in table order.
    pub const ALL: [Class; 13] = [
        Class::Identity,
        Class::Sections,
        Class::Listing,
        Class::Metadata,
        Class::Search,
        Class::Recent,
        Class::OnDeck,
        Class::History,
        Class::Sessions,
        Class::Activities,
        Class::Playlists,
        Class::Images,
        Class::Pass,
    ];

    /// The class's name in config, statistics and `Cache-Status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Identity => "identity",
            Class::Sections => "sections",
            Class::Listing => "listing",
            Class::Metadata => "metadata",
            Class::Search => "search",
            Class::Recent => "recent",
            Class::OnDeck => "ondeck",
            Class::History => "history",
            Class::Sessions => "sessions",
            Class::Activities => "activities",
            Class::Playlists => "playlists",
            Class::Images => "images",
            Class::Pass => "pass",
        }
    }

    /// The class with this name.
    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The default policies, images shared as `image_scope` says (the server's dialect
    /// decides): (fresh, stale-while-revalidate, stale-if-error, scope).
    pub fn defaults(self, image_scope: Scope) -> (Duration, Duration, Duration, Scope) {
        const S: u64 = 1;
        const M: u64 = 60;
        const H: u64 = 3600;
        const D: u64 = 86_400;
        let d = Duration::from_secs;
        match self {
            Class::Identity => (d(H), d(D), d(7 * D), Scope::Shared),
            Class::Sections => (d(5 * M), d(H), d(D), Scope::User),
            Class::Listing => (d(H), d(H), d(D), Scope::User),
            Class::Metadata => (d(H), d(D), d(7 * D), Scope::User),
            // Until the library index answers searches, a short TTL.
            Class::Search => (d(5 * M), d(5 * M), d(D), Scope::User),
            Class::Recent => (d(5 * M), d(5 * M), d(D), Scope::User),
            Class::OnDeck => (d(M), d(5 * M), d(H), Scope::User),
            Class::History => (d(5 * M), d(5 * M), d(D), Scope::User),
            Class::Sessions => (d(10 * S), Duration::ZERO, d(M), Scope::User),
            Class::Activities => (d(5 * S), Duration::ZERO, d(30 * S), Scope::User),
            Class::Playlists => (d(5 * M), d(H), d(D), Scope::User),
            Class::Images => (d(7 * D), d(30 * D), d(30 * D), image_scope),
            Class::Pass => (Duration::ZERO, Duration::ZERO, Duration::ZERO, Scope::User),
        }
    }
}
