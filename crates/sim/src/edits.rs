//! Metadata edits made through a front end (Plex `PUT /library/sections/{id}/all`, artwork
//! uploads): field values, field locks, tag lists and artwork, kept beside the library's own
//! fields so that generated and described items are edited alike.
//!
//! Names come from fixed lists ([`EDITABLE_FIELDS`], [`TAG_ELEMENTS`]): a request can edit only
//! what a real server lets it edit, and hostile input cannot grow the set of names.

use std::collections::{BTreeMap, BTreeSet};

/// Attributes an edit may set (`{field}.value`) or lock (`{field}.locked`), as Plex names them.
/// `title`, `originalTitle`, `year` and `index` are also kept on the item itself (they are
/// searched and sorted on).
pub const EDITABLE_FIELDS: &[&str] = &[
    "title",
    "titleSort",
    "originalTitle",
    "summary",
    "tagline",
    "studio",
    "contentRating",
    "rating",
    "audienceRating",
    "userRating",
    "addedAt",
    "originallyAvailableAt",
    "editionTitle",
    "year",
    "index",
    "parentIndex",
    "thumb",
    "art",
    "theme",
];

/// Tag fields (`{tag}[0].tag.tag`, `{tag}[].tag.tag-`, `{tag}.locked`) and the element each
/// renders as.
pub const TAG_ELEMENTS: &[(&str, &str)] = &[
    ("collection", "Collection"),
    ("country", "Country"),
    ("director", "Director"),
    ("genre", "Genre"),
    ("label", "Label"),
    ("mood", "Mood"),
    ("producer", "Producer"),
    ("similar", "Similar"),
    ("style", "Style"),
    ("tag", "Tag"),
    ("writer", "Writer"),
];

/// The static name of an editable field.
pub fn field_name(name: &str) -> Option<&'static str> {
    EDITABLE_FIELDS.iter().copied().find(|&f| f == name)
}

/// The static (field, element) names of a tag field.
pub fn tag_names(name: &str) -> Option<(&'static str, &'static str)> {
    TAG_ELEMENTS.iter().copied().find(|&(f, _)| f == name)
}

/// Kinds of artwork an item has a choice of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArtKind {
    /// `thumb` (Plex posters).
    Poster,
    /// `art` (background).
    Art,
    /// `theme` (music).
    Theme,
}

impl ArtKind {
    /// Plural as in routes and upload keys (`posters`, `arts`, `themes`).
    pub fn plural(self) -> &'static str {
        match self {
            ArtKind::Poster => "posters",
            ArtKind::Art => "arts",
            ArtKind::Theme => "themes",
        }
    }
    /// The item attribute and lockable field it sets (`thumb`, `art`, `theme`).
    pub fn field(self) -> &'static str {
        match self {
            ArtKind::Poster => "thumb",
            ArtKind::Art => "art",
            ArtKind::Theme => "theme",
        }
    }
}

/// Everything edited on one item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemEdits {
    /// Attribute values: `Some(v)` is rendered as `v`, `None` drops the attribute.
    pub attrs: BTreeMap<&'static str, Option<String>>,
    /// Locked fields (Plex `<Field locked="1" name="…"/>`), attribute or tag field names.
    pub locked: BTreeSet<&'static str>,
    /// Tag lists by element (`Genre`, `Label`…), in place of the item's own.
    pub tags: BTreeMap<&'static str, Vec<String>>,
    /// Uploaded artwork by kind: the keys (`upload://posters/{sha1}`) in upload order.
    pub uploads: BTreeMap<ArtKind, Vec<String>>,
    /// The selected artwork by kind (no entry: the agent's).
    pub selected: BTreeMap<ArtKind, String>,
    /// Advanced settings changed from their defaults (Plex item `prefs`).
    pub prefs: BTreeMap<&'static str, String>,
}

impl ItemEdits {
    /// True when nothing is edited.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
