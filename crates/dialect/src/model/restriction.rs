//! What a server hides from one user inside the sections that user may open, as the library
//! copy models it: a [`Restriction`] (the sections, and one [`ItemFilter`] for every section
//! or per kind of section), the marks of an item the filters read ([`ItemMarks`], the item's
//! own and each of its ancestors'), and the one function that decides whether an item is
//! shown ([`Restriction::verdict`]).
//!
//! Both servers' rules map onto it, each field keeping its own server's reading:
//! * **Plex** keeps a share's (or a managed user's) restriction on plex.tv: the sections shared
//!   ([`Restriction::sections`]) and one filter per kind of section — `filterMovies`
//!   ([`Restriction::movies`]), `filterTelevision` ([`Restriction::television`]),
//!   `filterMusic` ([`Restriction::music`]), each `label=` / `label!=` / `contentRating=` /
//!   `contentRating!=` clauses ([`ItemFilter::allowed_labels`], [`ItemFilter::blocked_labels`],
//!   [`ItemFilter::allowed_content_ratings`], [`ItemFilter::blocked_content_ratings`]). Labels
//!   and the content rating reach down: an album's label hides its tracks, a show's rating
//!   its episodes. Labels and ratings compare as written.
//! * **Jellyfin** keeps one policy per user (`GET /Users` with the administrator's key,
//!   `Policy`): `EnableAllFolders` / `EnabledFolders` ([`Restriction::sections`]) and, for
//!   every section ([`Restriction::all`]), `BlockedTags`, `AllowedTags` (tags of the item
//!   *and of its parents*, compared as the server's clean values: case and accents folded),
//!   `MaxParentalRating` (the value of the rating the item inherits: its own `CustomRating`,
//!   else its `OfficialRating`, else its nearest ancestor's) and `BlockUnratedItems` (an item
//!   without a rating the server can value is shown unless its kind is blocked). This is
//!   `BaseItem.IsParentalAllowed` / `IsVisibleViaTags` and the item query's
//!   `ExcludeInheritedTags`, `IncludeInheritedTags`, `MaxParentalRating` and
//!   `BlockUnratedItems` (`InternalItemsQuery.SetUser`).
//!
//! A restriction holding anything else the server applies ([`Restriction::unmodelled`]: an
//! access schedule, a rating the value table does not know) cannot be modelled: the copy
//! declines, and the server answers. A [`Verdict::Unknown`] says the same for one item.
//!
//! Here, in the dialects' leaf, so that whoever reads a restriction (a dialect from a server's
//! answer, the upstream from plex.tv) and the copy that applies it share the one type.

/// What one server hides from one user (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restriction {
    /// The ids of the sections the user may open; `None`: every one.
    pub sections: Option<Vec<String>>,
    /// The filter of every section (a Jellyfin policy's).
    pub all: ItemFilter,
    /// The filter of movie sections on top of [`Self::all`] (Plex `filterMovies`).
    pub movies: ItemFilter,
    /// The filter of show sections on top of [`Self::all`] (Plex `filterTelevision`).
    pub television: ItemFilter,
    /// The filter of music sections on top of [`Self::all`] (Plex `filterMusic`).
    pub music: ItemFilter,
    /// What the server applies that the model does not (named for logs): a user with any is
    /// answered by the server.
    pub unmodelled: Vec<String>,
}

/// One filter of items (see the module documentation for each server's reading).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFilter {
    /// Plex `label=`: only items (or ancestors) carrying one of these labels.
    pub allowed_labels: Vec<String>,
    /// Plex `label!=`: no item (or ancestor) carrying one of these labels.
    pub blocked_labels: Vec<String>,
    /// Plex `contentRating=`: only items whose inherited rating is one of these (an item
    /// without a rating does not match).
    pub allowed_content_ratings: Vec<String>,
    /// Plex `contentRating!=`: no item whose inherited rating is one of these.
    pub blocked_content_ratings: Vec<String>,
    /// Jellyfin `MaxParentalRating`: the highest rating value shown.
    pub max_parental_rating: Option<u32>,
    /// Jellyfin `BlockUnratedItems`: the kinds (`Movie`, `Series`, `Music`, `Book`, `Trailer`,
    /// `ChannelContent`, `LiveTvChannel`, `LiveTvProgram`, `Other`) whose unrated items are
    /// hidden.
    pub block_unrated: Vec<String>,
    /// Jellyfin `AllowedTags`: when not empty, only items (or ancestors) tagged one of these.
    pub allowed_tags: Vec<String>,
    /// Jellyfin `BlockedTags`: no item (or ancestor) tagged one of these.
    pub blocked_tags: Vec<String>,
}

impl ItemFilter {
    /// True when the filter lets every item through.
    pub fn is_open(&self) -> bool {
        self == &ItemFilter::default()
    }
}

/// What a filter reads of one item or ancestor: its labels or tags as the server writes them,
/// and its own rating (none when it carries none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// Plex labels, Jellyfin tags.
    pub tags: Vec<String>,
    /// Its own rating (Plex `contentRating`; Jellyfin `CustomRating`, else `OfficialRating`).
    pub rating: Option<String>,
}

/// An item as the filters read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemMarks {
    /// The kind of its section, as the index words it: `music`, `movies`, `shows`, `other`.
    pub section_kind: String,
    /// The kind Jellyfin's `BlockUnratedItems` counts it as (`Movie`, `Series`, `Music` …).
    pub unrated_kind: String,
    /// The item's own marks first, then its parent's, then its grandparent's.
    pub lineage: Vec<Marks>,
}

impl ItemMarks {
    /// The rating the item inherits: its own, else its nearest ancestor's.
    fn rating(&self) -> Option<&str> {
        self.lineage
            .iter()
            .find_map(|m| m.rating.as_deref().filter(|r| !r.is_empty()))
    }

    /// Its own and its ancestors' labels or tags.
    fn tags(&self) -> impl Iterator<Item = &str> {
        self.lineage
            .iter()
            .flat_map(|m| m.tags.iter().map(String::as_str))
    }
}

/// Whether an item is shown to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The server lists it to the user.
    Shown,
    /// The server hides it from the user.
    Hidden,
    /// The model cannot tell (a rating without a known value under a rating rule): the
    /// server answers.
    Unknown,
}

impl Restriction {
    /// True when the model holds everything the server applies.
    pub fn is_modelled(&self) -> bool {
        self.unmodelled.is_empty()
    }

    /// True when nothing inside the user's sections is hidden (only the sections are
    /// restricted, if anything).
    pub fn filters_nothing(&self) -> bool {
        [&self.all, &self.movies, &self.television, &self.music]
            .iter()
            .all(|f| f.is_open())
    }

    /// True when a filter reads labels (Plex `label=` / `label!=`): the copy must know each
    /// item's labels to apply it.
    pub fn reads_labels(&self) -> bool {
        self.labels_named().next().is_some()
    }

    /// The labels the filters name (each as often as named).
    pub fn labels_named(&self) -> impl Iterator<Item = &str> {
        [&self.all, &self.movies, &self.television, &self.music]
            .into_iter()
            .flat_map(|f| f.allowed_labels.iter().chain(&f.blocked_labels))
            .map(String::as_str)
    }

    /// Whether the user may open the section `id` (Jellyfin ids compared without dashes and
    /// case, as the server reads them).
    pub fn opens_section(&self, id: &str) -> bool {
        self.sections
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|s| bare(s) == bare(id)))
    }

    /// Whether `item` (in a section the user may open) is shown to the user.
    pub fn verdict(&self, item: &ItemMarks) -> Verdict {
        let by_kind = match item.section_kind.as_str() {
            "movies" => Some(&self.movies),
            "shows" => Some(&self.television),
            "music" => Some(&self.music),
            _ => None,
        };
        let mut verdict = self.all.verdict(item);
        if let Some(filter) = by_kind
            && verdict == Verdict::Shown
        {
            verdict = filter.verdict(item);
        }
        verdict
    }
}

impl ItemFilter {
    /// Whether `item` passes this filter.
    pub fn verdict(&self, item: &ItemMarks) -> Verdict {
        if !self.labels_pass(item) || !self.content_ratings_pass(item) {
            return Verdict::Hidden;
        }
        if !self.tags_pass(item) {
            return Verdict::Hidden;
        }
        self.parental_verdict(item)
    }

    /// Plex labels: exact, over the lineage.
    fn labels_pass(&self, item: &ItemMarks) -> bool {
        let has = |wanted: &[String]| item.tags().any(|t| wanted.iter().any(|w| w == t));
        (self.allowed_labels.is_empty() || has(&self.allowed_labels))
            && (self.blocked_labels.is_empty() || !has(&self.blocked_labels))
    }

    /// Plex content ratings: the inherited rating, exact; an unrated item matches no
    /// `contentRating=`.
    fn content_ratings_pass(&self, item: &ItemMarks) -> bool {
        let rating = item.rating();
        let is_one_of = |list: &[String]| rating.is_some_and(|r| list.iter().any(|l| l == r));
        (self.allowed_content_ratings.is_empty() || is_one_of(&self.allowed_content_ratings))
            && !is_one_of(&self.blocked_content_ratings)
    }

    /// Jellyfin tags: clean values (case and accents folded), over the lineage.
    fn tags_pass(&self, item: &ItemMarks) -> bool {
        if self.allowed_tags.is_empty() && self.blocked_tags.is_empty() {
            return true;
        }
        let tags: Vec<String> = item.tags().map(clean).collect();
        let has = |wanted: &[String]| wanted.iter().any(|w| tags.contains(&clean(w)));
        (self.allowed_tags.is_empty() || has(&self.allowed_tags))
            && (self.blocked_tags.is_empty() || !has(&self.blocked_tags))
    }

    /// Jellyfin `MaxParentalRating` and `BlockUnratedItems` on the inherited rating's value.
    fn parental_verdict(&self, item: &ItemMarks) -> Verdict {
        if self.max_parental_rating.is_none() && self.block_unrated.is_empty() {
            return Verdict::Shown;
        }
        let unrated_shown = || {
            if self
                .block_unrated
                .iter()
                .any(|k| k.eq_ignore_ascii_case(&item.unrated_kind))
            {
                Verdict::Hidden
            } else {
                Verdict::Shown
            }
        };
        match item.rating().map(parental_rating_value) {
            None | Some(RatingValue::Unrated) => unrated_shown(),
            Some(RatingValue::Unknown) => Verdict::Unknown,
            Some(RatingValue::Value(v)) => match self.max_parental_rating {
                Some(max) if v > max => Verdict::Hidden,
                _ => Verdict::Shown,
            },
        }
    }
}

/// What a rating is worth to Jellyfin's parental control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatingValue {
    /// A rating of this value (an age).
    Value(u32),
    /// A rating that says the item is not rated (`NR`, `Unrated`, `Not Rated`, `N/A`).
    Unrated,
    /// A rating the table does not know: the server's value cannot be told.
    Unknown,
}

/// The value Jellyfin gives a rating: its United States table (`us.csv`), compared without
/// case, a `US-` prefix allowed; the words for "not rated" are unrated.
pub fn parental_rating_value(rating: &str) -> RatingValue {
    let r = rating.trim();
    let r = r
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("us-"))
        .map_or(r, |_| &r[3..]);
    let upper = r.to_ascii_uppercase();
    let value = match upper.as_str() {
        "NR" | "UNRATED" | "NOT RATED" | "N/A" => return RatingValue::Unrated,
        "APPROVED" | "G" | "E" | "EC" | "TV-G" | "TV-Y" => 0,
        "TV-Y7" | "TV-Y7-FV" => 7,
        "PG" | "TV-PG" => 10,
        "PG-13" | "T" => 13,
        "TV-14" => 14,
        "R" | "M" | "TV-MA" => 17,
        "NC-17" | "AO" | "RP" | "X" | "XXX" => 18,
        _ => return RatingValue::Unknown,
    };
    RatingValue::Value(value)
}

/// A tag as the server compares it: lower-cased, accents stripped.
fn clean(tag: &str) -> String {
    cachearr_serverfmt::search::fold(tag.trim())
}

/// An id without dashes, lower-cased.
fn bare(id: &str) -> String {
    id.chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(tags: &[&str], rating: Option<&str>) -> Marks {
        Marks {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            rating: rating.map(str::to_owned),
        }
    }

    fn item(kind: &str, lineage: Vec<Marks>) -> ItemMarks {
        ItemMarks {
            section_kind: kind.to_owned(),
            unrated_kind: match kind {
                "movies" => "Movie",
                "shows" => "Series",
                _ => "Music",
            }
            .to_owned(),
            lineage,
        }
    }

    fn jellyfin(f: impl FnOnce(&mut ItemFilter)) -> Restriction {
        let mut r = Restriction::default();
        f(&mut r.all);
        r
    }

    #[test]
    fn blocked_tags_reach_down_from_any_ancestor_without_case_or_accents() {
        let r = jellyfin(|f| f.blocked_tags = vec!["explicit".into(), "Ecole".into()]);
        let track = item(
            "music",
            vec![
                marks(&[], None),
                marks(&["EXPLICIT"], None),
                marks(&[], None),
            ],
        );
        assert_eq!(r.verdict(&track), Verdict::Hidden);
        let episode = item(
            "shows",
            vec![marks(&[], None), marks(&[], None), marks(&["École"], None)],
        );
        assert_eq!(r.verdict(&episode), Verdict::Hidden);
        let clean = item("music", vec![marks(&["Family"], None)]);
        assert_eq!(r.verdict(&clean), Verdict::Shown);
    }

    #[test]
    fn allowed_tags_need_one_in_the_lineage() {
        let r = jellyfin(|f| f.allowed_tags = vec!["Family".into()]);
        let under_family = item("music", vec![marks(&[], None), marks(&["family"], None)]);
        let untagged = item("music", vec![marks(&[], None), marks(&[], None)]);
        assert_eq!(r.verdict(&under_family), Verdict::Shown);
        assert_eq!(r.verdict(&untagged), Verdict::Hidden);
    }

    #[test]
    fn the_parental_rating_is_inherited_and_unrated_items_pass_unless_blocked() {
        let mut r = jellyfin(|f| f.max_parental_rating = Some(13));
        let mature_show_episode = item(
            "shows",
            vec![
                marks(&[], None),
                marks(&[], None),
                marks(&[], Some("TV-MA")),
            ],
        );
        assert_eq!(r.verdict(&mature_show_episode), Verdict::Hidden);
        // Its own rating wins over its series'.
        let own = item(
            "shows",
            vec![marks(&[], Some("TV-PG")), marks(&[], Some("TV-MA"))],
        );
        assert_eq!(r.verdict(&own), Verdict::Shown);
        let pg13 = item("movies", vec![marks(&[], Some("pg-13"))]);
        assert_eq!(r.verdict(&pg13), Verdict::Shown);
        let unrated = item("movies", vec![marks(&[], Some("NR"))]);
        let bare = item("movies", vec![marks(&[], None)]);
        assert_eq!(r.verdict(&unrated), Verdict::Shown);
        assert_eq!(r.verdict(&bare), Verdict::Shown);
        r.all.block_unrated = vec!["Movie".into()];
        assert_eq!(r.verdict(&unrated), Verdict::Hidden);
        assert_eq!(r.verdict(&bare), Verdict::Hidden);
        let unknown = item("movies", vec![marks(&[], Some("FSK-16"))]);
        assert_eq!(r.verdict(&unknown), Verdict::Unknown);
    }

    #[test]
    fn a_plex_filter_applies_to_its_kind_of_section_only() {
        let r = Restriction {
            movies: ItemFilter {
                allowed_content_ratings: vec!["G".into(), "PG".into()],
                ..ItemFilter::default()
            },
            music: ItemFilter {
                blocked_labels: vec!["Explicit".into()],
                ..ItemFilter::default()
            },
            ..Restriction::default()
        };
        assert_eq!(
            r.verdict(&item("movies", vec![marks(&[], Some("R"))])),
            Verdict::Hidden
        );
        assert_eq!(
            r.verdict(&item("movies", vec![marks(&[], None)])),
            Verdict::Hidden,
            "an unrated film matches no contentRating="
        );
        assert_eq!(
            r.verdict(&item("shows", vec![marks(&["Explicit"], Some("R"))])),
            Verdict::Shown
        );
        let album_explicit = item("music", vec![marks(&[], None), marks(&["Explicit"], None)]);
        assert_eq!(r.verdict(&album_explicit), Verdict::Hidden);
        // Plex labels compare as written.
        let other_case = item("music", vec![marks(&["explicit"], None)]);
        assert_eq!(r.verdict(&other_case), Verdict::Shown);
    }

    #[test]
    fn sections_compare_as_the_server_reads_ids() {
        let r = Restriction {
            sections: Some(vec!["ABCD-ef01".into()]),
            ..Restriction::default()
        };
        assert!(r.opens_section("abcdef01"));
        assert!(!r.opens_section("abcdef02"));
        assert!(Restriction::default().opens_section("anything"));
        assert!(r.filters_nothing() && r.is_modelled());
    }
}
