//! Plex documents rendered from the index: the `MediaContainer` envelope and item elements,
//! as XML (the default) or as the JSON Plex writes for `Accept: application/json`
//! (`{"MediaContainer":{attrs…,"Metadata":[…]}}`, numbers and booleans typed).
//!
//! Item elements carry what the index knows (ids, titles, parents' titles, section, year,
//! duration, dates, derived keys and thumbs) plus the user's play state when it is in the
//! cache; see docs/library-index.md "Answering from the index" for what a server answer
//! has that these do not.

use std::fmt::Write as _;

use cachearr_library::ItemKind;
use cachearr_library::index::ItemView;

use super::playstate::PlayState;
use super::visibility::UserSection;

/// An attribute value (XML writes text; JSON keeps the type).
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    /// Text.
    S(String),
    /// A number.
    I(i64),
    /// A boolean (`1`/`0` in XML).
    B(bool),
}

impl From<&str> for V {
    fn from(s: &str) -> V {
        V::S(s.to_string())
    }
}
impl From<String> for V {
    fn from(s: String) -> V {
        V::S(s)
    }
}
impl From<i64> for V {
    fn from(n: i64) -> V {
        V::I(n)
    }
}
impl From<u32> for V {
    fn from(n: u32) -> V {
        V::I(i64::from(n))
    }
}
impl From<usize> for V {
    fn from(n: usize) -> V {
        V::I(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
impl From<bool> for V {
    fn from(b: bool) -> V {
        V::B(b)
    }
}

/// One element: XML tag, the JSON array it goes into, attributes, children.
#[derive(Debug, Clone, PartialEq)]
pub struct El {
    /// XML tag.
    pub tag: &'static str,
    /// The JSON array key the element goes into inside its parent.
    pub json_key: &'static str,
    /// Attributes in order.
    pub attrs: Vec<(&'static str, V)>,
    /// Children.
    pub kids: Vec<El>,
}

impl El {
    /// An element whose JSON array key is its tag.
    pub fn new(tag: &'static str) -> El {
        El::keyed(tag, tag)
    }

    /// An element going into the JSON array `json_key`.
    pub fn keyed(tag: &'static str, json_key: &'static str) -> El {
        El {
            tag,
            json_key,
            attrs: Vec::with_capacity(24),
            kids: Vec::new(),
        }
    }

    /// Adds an attribute.
    #[must_use]
    pub fn a(mut self, k: &'static str, v: impl Into<V>) -> El {
        self.attrs.push((k, v.into()));
        self
    }

    /// Adds an attribute if there is a value.
    #[must_use]
    pub fn opt(self, k: &'static str, v: Option<impl Into<V>>) -> El {
        match v {
            Some(v) => self.a(k, v),
            None => self,
        }
    }

    /// The document as XML, with the declaration, as Plex writes it.
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(256 + self.kids.len() * 512);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        self.write_xml(&mut out);
        out.push('\n');
        out
    }

    fn write_xml(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.tag);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            match v {
                V::S(s) => escape_into(s, out),
                V::I(n) => {
                    let _ = write!(out, "{n}");
                }
                V::B(b) => out.push(if *b { '1' } else { '0' }),
            }
            out.push('"');
        }
        if self.kids.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for k in &self.kids {
            out.push('\n');
            k.write_xml(out);
        }
        out.push_str("\n</");
        out.push_str(self.tag);
        out.push('>');
    }

    /// The document as JSON: `{"Tag":{attrs…, "Key":[children…]}}`.
    pub fn to_json(&self) -> String {
        let mut root = serde_json::Map::new();
        root.insert(self.tag.to_string(), self.json_value());
        serde_json::Value::Object(root).to_string()
    }

    fn json_value(&self) -> serde_json::Value {
        let mut obj = serde_json::Map::new();
        for (k, v) in &self.attrs {
            let v = match v {
                V::S(s) => serde_json::Value::String(s.clone()),
                V::I(n) => serde_json::Value::from(*n),
                V::B(b) => serde_json::Value::Bool(*b),
            };
            obj.insert((*k).to_string(), v);
        }
        for kid in &self.kids {
            let entry = obj
                .entry(kid.json_key.to_string())
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let serde_json::Value::Array(list) = entry {
                list.push(kid.json_value());
            }
        }
        serde_json::Value::Object(obj)
    }
}

fn escape_into(s: &str, out: &mut String) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\n' => "&#10;",
            b'\r' => "&#13;",
            b'\t' => "&#9;",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// Plex's type name of a kind.
pub fn type_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Track => "track",
        ItemKind::Album => "album",
        ItemKind::Artist => "artist",
        ItemKind::Movie => "movie",
        ItemKind::Episode => "episode",
    }
}

/// The kind of a Plex `type=` number, if the index holds that kind (shows, seasons, photos:
/// `None`).
pub fn kind_of_type(n: &str) -> Option<ItemKind> {
    match n.trim() {
        "1" => Some(ItemKind::Movie),
        "4" => Some(ItemKind::Episode),
        "8" => Some(ItemKind::Artist),
        "9" => Some(ItemKind::Album),
        "10" => Some(ItemKind::Track),
        _ => None,
    }
}

/// The kind a section lists by default (its top level), if the index holds it.
pub fn top_kind(section_type: &str) -> Option<ItemKind> {
    match section_type {
        "artist" => Some(ItemKind::Artist),
        "movie" => Some(ItemKind::Movie),
        _ => None,
    }
}

/// The kinds a section of this Plex type holds that the index holds too.
pub fn section_kinds(section_type: &str) -> &'static [ItemKind] {
    match section_type {
        "artist" => &[ItemKind::Artist, ItemKind::Album, ItemKind::Track],
        "movie" => &[ItemKind::Movie],
        "show" => &[ItemKind::Episode],
        _ => &[],
    }
}

/// Plex's `titleSort`: the title without a leading English article.
pub fn title_sort(title: &str) -> &str {
    for article in ["The ", "A ", "An "] {
        if let Some(rest) = title.strip_prefix(article)
            && !rest.is_empty()
        {
            return rest;
        }
    }
    title
}

/// The element of a show known from its episodes: what the index knows of it.
pub fn show_el(show: &super::titles::Show, section: &UserSection) -> El {
    let id = &show.id;
    let mut e = El::keyed("Directory", "Metadata")
        .a("ratingKey", id.as_str())
        .a("key", format!("/library/metadata/{id}/children"))
        .a("type", "show")
        .a("title", show.title.as_str());
    if title_sort(&show.title) != show.title {
        e = e.a("titleSort", title_sort(&show.title));
    }
    e.a("librarySectionTitle", section.title.as_str())
        .a(
            "librarySectionID",
            section
                .id
                .parse::<i64>()
                .map_or_else(|_| V::S(section.id.clone()), V::I),
        )
        .a(
            "librarySectionKey",
            format!("/library/sections/{}", section.id),
        )
}

/// The element of one item as `section`'s user sees it.
pub fn item_el(view: &ItemView<'_>, section: &UserSection, play: Option<&PlayState>) -> El {
    let kind = view.kind();
    let id = view.id();
    let playable = matches!(kind, ItemKind::Track | ItemKind::Movie | ItemKind::Episode);
    let mut e = match kind {
        ItemKind::Track => El::keyed("Track", "Metadata"),
        ItemKind::Movie | ItemKind::Episode => El::keyed("Video", "Metadata"),
        ItemKind::Album | ItemKind::Artist => El::keyed("Directory", "Metadata"),
    };
    e = e.a("ratingKey", id).a(
        "key",
        if playable {
            format!("/library/metadata/{id}")
        } else {
            format!("/library/metadata/{id}/children")
        },
    );
    e = e
        .opt("parentRatingKey", view.parent_id())
        .opt("grandparentRatingKey", view.grandparent_id());
    let title = view.title();
    e = e.a("type", type_name(kind)).a("title", title);
    if title_sort(title) != title {
        e = e.a("titleSort", title_sort(title));
    }
    e = e
        .opt(
            "grandparentKey",
            view.grandparent_id()
                .map(|id| format!("/library/metadata/{id}")),
        )
        .opt(
            "parentKey",
            view.parent_id().map(|id| format!("/library/metadata/{id}")),
        );
    e = e
        .a("librarySectionTitle", section.title.as_str())
        .a(
            "librarySectionID",
            section
                .id
                .parse::<i64>()
                .map_or_else(|_| V::S(section.id.clone()), V::I),
        )
        .a(
            "librarySectionKey",
            format!("/library/sections/{}", section.id),
        );
    match kind {
        ItemKind::Track => {
            e = e
                .opt("grandparentTitle", view.album_artist())
                .opt("parentTitle", view.album())
                .opt("originalTitle", super::titles::original_title(view));
        }
        ItemKind::Album => {
            e = e.opt("parentTitle", view.album_artist());
        }
        ItemKind::Episode => {
            e = e.opt("grandparentTitle", view.album());
        }
        ItemKind::Artist | ItemKind::Movie => {}
    }
    if matches!(kind, ItemKind::Track | ItemKind::Episode) {
        e = e
            .opt("index", view.index())
            .opt("parentIndex", view.parent_index());
    }
    if let Some(p) = play {
        e = p.plex_attrs(e);
    }
    if kind != ItemKind::Artist {
        e = e.opt("year", view.year().map(u32::from));
    }
    let updated = view.updated_at();
    if kind != ItemKind::Track {
        e = e.a("thumb", format!("/library/metadata/{id}/thumb/{updated}"));
    }
    if matches!(kind, ItemKind::Movie | ItemKind::Artist) {
        e = e.a("art", format!("/library/metadata/{id}/art/{updated}"));
    }
    e = e
        .opt("duration", view.duration_ms().filter(|d| *d > 0))
        .a("addedAt", view.added_at())
        .a("updatedAt", updated);
    if section.kind == "artist" {
        e = e.a("musicAnalysisVersion", 1u32);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats() {
        let doc = El::new("MediaContainer")
            .a("size", 1usize)
            .a("allowSync", true)
            .a("title2", "Search for 'a & b'")
            .kid_for_test(El::keyed("Track", "Metadata").a("ratingKey", "7"));
        let xml = doc.to_xml();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MediaContainer"));
        assert!(xml.contains("allowSync=\"1\""));
        assert!(xml.contains("&apos;") || xml.contains("'a &amp; b'"));
        assert!(xml.contains("<Track ratingKey=\"7\"/>"));
        let json: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
        assert_eq!(json["MediaContainer"]["size"], 1);
        assert_eq!(json["MediaContainer"]["allowSync"], true);
        assert_eq!(json["MediaContainer"]["Metadata"][0]["ratingKey"], "7");
        assert_eq!(title_sort("The Wall"), "Wall");
        assert_eq!(title_sort("The "), "The ");
        assert_eq!(kind_of_type("10"), Some(ItemKind::Track));
        assert_eq!(kind_of_type("2"), None);
    }

    impl El {
        fn kid_for_test(mut self, e: El) -> El {
            self.kids.push(e);
            self
        }
    }
}
