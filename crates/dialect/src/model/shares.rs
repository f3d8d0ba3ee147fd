//! Who a server is shared with and what each share lets its user see, as the server's
//! account service keeps it (not the server: since 2026 a Plex server asks plex.tv). Read by
//! the dialect's [`ShareService`](crate::shares::ShareService); kept and refreshed by
//! `cachearr_upstream::shares`. A leaf.

/// One filter of a share, as the account service writes it: items whose labels or content
/// rating it keeps. An item passes when it carries one of `allow_labels` (if any), none of
/// `deny_labels`, a rating among `allow_ratings` (if any; an unrated item then does not
/// pass) and no rating among `deny_ratings`. Labels are matched on the item and its
/// ancestors (an album's label hides its tracks), the rating is the item's own or its show's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShareFilter {
    /// `label=`: only items carrying one of these.
    pub allow_labels: Vec<String>,
    /// `label!=`: no item carrying one of these.
    pub deny_labels: Vec<String>,
    /// `contentRating=`: only items rated one of these.
    pub allow_ratings: Vec<String>,
    /// `contentRating!=`: no item rated one of these.
    pub deny_ratings: Vec<String>,
    /// Clauses of any other field, as written: a filter the copy does not model (the server
    /// answers its user).
    pub unmodelled: Vec<String>,
}

impl ShareFilter {
    /// True when the filter lets everything through.
    pub fn is_open(&self) -> bool {
        self.allow_labels.is_empty()
            && self.deny_labels.is_empty()
            && self.allow_ratings.is_empty()
            && self.deny_ratings.is_empty()
            && self.unmodelled.is_empty()
    }

    /// True when every clause is one the copy models (labels, content ratings).
    pub fn is_modelled(&self) -> bool {
        self.unmodelled.is_empty()
    }
}

/// Which of a share's filters a section falls under, by the kind of the section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilteredKind {
    /// Film sections.
    Movies,
    /// Television sections.
    Television,
    /// Music sections.
    Music,
    /// Photo sections.
    Photos,
}

/// One user's share of the server.
#[derive(Clone, PartialEq, Eq)]
pub struct Share {
    /// The account service's id of the user's account.
    pub account_id: String,
    /// The server-scoped token the share carries (managed users', and invited users' from
    /// before 2026), memory only; `None` when the share carries none.
    pub server_token: Option<String>,
    /// Every section of the server is shared.
    pub all_sections: bool,
    /// The server's keys of the sections shared (all of them when `all_sections`).
    pub sections: Vec<String>,
    /// The filter of film sections.
    pub movies: ShareFilter,
    /// The filter of television sections.
    pub television: ShareFilter,
    /// The filter of music sections.
    pub music: ShareFilter,
    /// The filter of photo sections.
    pub photos: ShareFilter,
    /// A filter over every kind.
    pub all: ShareFilter,
}

impl Share {
    /// The filter that applies to a section of `kind`.
    pub fn filter(&self, kind: FilteredKind) -> &ShareFilter {
        match kind {
            FilteredKind::Movies => &self.movies,
            FilteredKind::Television => &self.television,
            FilteredKind::Music => &self.music,
            FilteredKind::Photos => &self.photos,
        }
    }

    /// Whether section `key` is shared.
    pub fn shares_section(&self, key: &str) -> bool {
        self.all_sections || self.sections.iter().any(|s| s == key)
    }
}

/// Never shows the token.
impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share")
            .field("account_id", &self.account_id)
            .field("server_token", &self.server_token.as_ref().map(|_| ".."))
            .field("all_sections", &self.all_sections)
            .field("sections", &self.sections)
            .field("movies", &self.movies)
            .field("television", &self.television)
            .field("music", &self.music)
            .field("photos", &self.photos)
            .field("all", &self.all)
            .finish()
    }
}
