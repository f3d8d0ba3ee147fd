//! What a user may see: [`Restrictions`] as each server states them — Plex's label and
//! content-rating filters ([`PlexFilter`]) and Jellyfin's policy ([`JellyfinPolicy`]) — and
//! [`parental_rating_value`], the age a rating stands for.

use super::*;

/// What a server hides from one user inside the sections that user may see.
///
/// Plex keeps one filter per kind of section on a share (or on a managed user's restricted
/// profile): `filterMovies`, `filterTelevision`, `filterMusic`. Jellyfin keeps one policy per
/// user: `MaxParentalRating`, `BlockedTags`, `AllowedTags` (10.9 and later). Section access
/// itself is [`User::sections`] on both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restrictions {
    /// Plex `filterMovies`.
    pub plex_movies: PlexFilter,
    /// Plex `filterTelevision`.
    pub plex_television: PlexFilter,
    /// Plex `filterMusic`.
    pub plex_music: PlexFilter,
    /// The Jellyfin user policy.
    pub jellyfin: JellyfinPolicy,
}

impl Restrictions {
    /// The Plex filter for a section of `kind`, `None` when it lets everything through.
    pub fn plex_filter(&self, kind: SectionKind) -> Option<&PlexFilter> {
        let f = match kind {
            SectionKind::Movies => &self.plex_movies,
            SectionKind::Shows => &self.plex_television,
            SectionKind::Music => &self.plex_music,
            // Plex's share filters cover movies, television and music only.
            SectionKind::Photos => return None,
        };
        (!f.is_open()).then_some(f)
    }

    pub(super) fn plex_filters(&self) -> impl Iterator<Item = &PlexFilter> {
        [&self.plex_movies, &self.plex_television, &self.plex_music].into_iter()
    }
}

/// One Plex share filter, as plex.tv stores it: `label=a,b` (only items carrying one of the
/// labels), `label!=a` (none carrying it), `contentRating=G,PG` (only these ratings; an item
/// without a rating does not match) and `contentRating!=R`, joined with `|`. Labels and the
/// content rating reach down: an album's label hides its tracks, a show's rating its episodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlexFilter {
    /// `label=`: only items carrying one of these.
    pub allow_labels: Vec<String>,
    /// `label!=`: no item carrying one of these.
    pub deny_labels: Vec<String>,
    /// `contentRating=`: only items rated one of these.
    pub allow_ratings: Vec<String>,
    /// `contentRating!=`: no item rated one of these.
    pub deny_ratings: Vec<String>,
}

impl PlexFilter {
    /// Parses plex.tv's filter string (`label!=Explicit|contentRating=G,PG`); unknown fields
    /// are ignored, as Plex ignores them.
    pub fn parse(s: &str) -> PlexFilter {
        let mut f = PlexFilter::default();
        for clause in s.split('|').filter(|c| !c.is_empty()) {
            let (field, negated, values) = match clause.split_once("!=") {
                Some((field, values)) => (field, true, values),
                None => match clause.split_once('=') {
                    Some((field, values)) => (field, false, values),
                    None => continue,
                },
            };
            let values = values
                .split(',')
                .filter(|v| !v.is_empty())
                .map(str::to_string);
            match (field, negated) {
                ("label", false) => f.allow_labels.extend(values),
                ("label", true) => f.deny_labels.extend(values),
                ("contentRating", false) => f.allow_ratings.extend(values),
                ("contentRating", true) => f.deny_ratings.extend(values),
                _ => {}
            }
        }
        f
    }

    /// The filter string plex.tv would show (`label!=Explicit|contentRating=G,PG`).
    pub fn to_plex_string(&self) -> String {
        let mut clauses = Vec::new();
        for (field, op, values) in [
            ("label", "=", &self.allow_labels),
            ("label", "!=", &self.deny_labels),
            ("contentRating", "=", &self.allow_ratings),
            ("contentRating", "!=", &self.deny_ratings),
        ] {
            if !values.is_empty() {
                clauses.push(format!("{field}{op}{}", values.join(",")));
            }
        }
        clauses.join("|")
    }

    /// True when the filter lets everything through.
    pub fn is_open(&self) -> bool {
        self.allow_labels.is_empty()
            && self.deny_labels.is_empty()
            && self.allow_ratings.is_empty()
            && self.deny_ratings.is_empty()
    }

    /// True when `item` passes (its own and its ancestors' labels, its effective rating).
    pub fn allows(&self, item: &Item<'_>) -> bool {
        let has = |wanted: &[String]| {
            item.lineage()
                .any(|i| i.labels().iter().any(|l| wanted.iter().any(|w| w == l)))
        };
        if !self.allow_labels.is_empty() && !has(&self.allow_labels) {
            return false;
        }
        if !self.deny_labels.is_empty() && has(&self.deny_labels) {
            return false;
        }
        let rating = item.effective_content_rating();
        if !self.allow_ratings.is_empty()
            && !rating.is_some_and(|r| self.allow_ratings.iter().any(|a| a == r))
        {
            return false;
        }
        !rating.is_some_and(|r| self.deny_ratings.iter().any(|d| d == r))
    }
}

/// A Jellyfin user's parental policy. `BlockedTags` and `AllowedTags` match an item's own tags
/// and those it inherits from its ancestors (a blocked album hides its tracks; an allowed
/// show lets its episodes through); `MaxParentalRating` compares the rating's value, an
/// episode taking its series' rating, and lets unrated items through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JellyfinPolicy {
    /// `MaxParentalRating` (a rating value: PG 10, PG-13 13, TV-14 14, R 17).
    pub max_parental_rating: Option<u32>,
    /// `BlockedTags`.
    pub blocked_tags: Vec<String>,
    /// `AllowedTags`: when not empty, only items reached by one of these.
    pub allowed_tags: Vec<String>,
}

impl JellyfinPolicy {
    /// True when the policy lets everything through.
    pub fn is_open(&self) -> bool {
        self.max_parental_rating.is_none()
            && self.blocked_tags.is_empty()
            && self.allowed_tags.is_empty()
    }

    /// True when `item` passes.
    pub fn allows(&self, item: &Item<'_>) -> bool {
        let has = |wanted: &[String]| {
            item.lineage().any(|i| {
                i.labels()
                    .iter()
                    .any(|l| wanted.iter().any(|w| w.eq_ignore_ascii_case(l)))
            })
        };
        if !self.allowed_tags.is_empty() && !has(&self.allowed_tags) {
            return false;
        }
        if !self.blocked_tags.is_empty() && has(&self.blocked_tags) {
            return false;
        }
        match (self.max_parental_rating, item.effective_content_rating()) {
            (Some(max), Some(rating)) => parental_rating_value(rating).is_none_or(|v| v <= max),
            _ => true,
        }
    }
}

/// The value Jellyfin gives a US content rating (`None`: unrated, as `NR` is).
pub fn parental_rating_value(rating: &str) -> Option<u32> {
    match rating {
        "G" | "TV-Y" | "TV-G" => Some(0),
        "TV-Y7" => Some(7),
        "PG" | "TV-PG" => Some(10),
        "PG-13" => Some(13),
        "TV-14" => Some(14),
        "R" | "TV-MA" => Some(17),
        "NC-17" => Some(18),
        _ => None,
    }
}
