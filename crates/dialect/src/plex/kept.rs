//! Plex's listing answers as the library copy keeps them, and its kept elements written
//! back as the server writes them (the words are [`crate::kept`]'s).
//!
//! A listing answer (`{"MediaContainer":{…,"Metadata":[…]}}`, JSON) is kept as its items'
//! elements by rating key, each less what differs per user (`viewCount`, `viewOffset`,
//! `lastViewedAt`, `userRating`, `lastRatedAt`, `skipCount`; `viewedLeafCount` kept at 0),
//! and its container less what describes the page (`size`, `totalSize`, `offset`). An item
//! is written back as `Track`, `Video`, `Photo` or `Directory` by its `type`, under JSON's
//! `Metadata`, with its `Guid` children only when the request asks for them
//! (`includeGuids=1`), as the server does; the names of the document tree it is written into
//! are interned once each ([`interned`]). The writing of an answer's items is all here, in
//! one module: it runs once per item.

use std::sync::{OnceLock, RwLock};

use rustc_hash::FxHashMap;

use crate::model::element::{Element, ElementRef, JsonElement, Scalar, ScalarRef};
use cachearr_serverfmt::tree::El;
use cachearr_serverfmt::tree::V;

/// Attributes that say something about one user, not the item: the play state a listing
/// shows.
const PER_USER: &[&str] = &super::play_state::STATE_FIELDS;

/// Container attributes that describe one page, not the section's listing.
const PAGE_ATTRS: &[&str] = &["size", "totalSize", "offset"];

/// The children an item carries only when the request asks for them (`includeGuids=1`).
const GUIDS: &str = "Guid";

/// Distinct attribute and child names an answer written from kept elements uses (a server
/// uses a few hundred; the cap bounds what a misbehaving one could make the gateway keep).
const MAX_NAMES: usize = 4096;

#[derive(serde::Deserialize)]
struct ListingDoc {
    #[serde(rename = "MediaContainer")]
    container: JsonElement,
}

/// A Plex listing answer (JSON) as kept: its container's attributes (less the page's own)
/// and its items by rating key. `None` when the body is not a listing that can be read whole.
pub fn listing_elements(body: &[u8]) -> Option<(Element, Vec<(String, Element)>)> {
    let ListingDoc {
        container: JsonElement(mut container),
    } = serde_json::from_slice(body).ok()?;
    let mut items = Vec::new();
    for (key, kids) in std::mem::take(&mut container.kids) {
        if key == "Metadata" {
            items.extend(
                kids.into_iter()
                    .filter_map(|e| Some((e.text("ratingKey")?, shared(e)))),
            );
        }
    }
    container
        .attrs
        .retain(|(k, _)| !PAGE_ATTRS.contains(&k.as_str()));
    Some((container, items))
}

/// A listing's elements as the copy keeps them ([`listing_elements`]), with the section its
/// container names, when `body` is a Plex answer.
pub(crate) type Listing = (Option<String>, Element, Vec<(String, Element)>);

/// [`Listing`] of `body`, when it is a Plex listing answer.
pub(crate) fn listing(body: &[u8]) -> Option<Listing> {
    if !body.starts_with(br#"{"MediaContainer""#) {
        return None;
    }
    let (container, items) = listing_elements(body)?;
    Some((container.text("librarySectionID"), container, items))
}

/// The element as kept: per-user attributes removed, `viewedLeafCount` zeroed.
fn shared(mut e: Element) -> Element {
    e.attrs.retain(|(k, _)| !PER_USER.contains(&k.as_str()));
    for (k, v) in &mut e.attrs {
        if k == "viewedLeafCount" {
            *v = Scalar::I(0);
        }
    }
    e
}

/// A kept listing container as a `MediaContainer` (attributes only).
pub fn container_el(e: &Element) -> Option<El> {
    fill(El::container(), e, Some(GUIDS))
}

/// The document element of a kept item read from its stored bytes: `Track`, `Video`,
/// `Photo` or `Directory` by its `type`, in JSON's `Metadata`, the `Guid` children only
/// when `guids`. `None` when it was kept as of another `updatedAt` than `updated_at` (the
/// index's record of the item) or cannot be written.
pub fn item_el(kept: &ElementRef<'_>, updated_at: i64, guids: bool) -> Option<El> {
    // Both read in one pass over the attributes: this runs once per item of an answer.
    let (mut kept_at, mut tag) = (None, None);
    for (name, value) in &kept.attrs {
        match (*name, value) {
            ("updatedAt", ScalarRef::I(n)) => kept_at = Some(*n),
            ("updatedAt", ScalarRef::S(s)) => kept_at = s.parse().ok(),
            ("type", ScalarRef::S(t)) => tag = Some(item_tag(t)),
            _ => {}
        }
    }
    if kept_at.is_some_and(|at| at != updated_at) {
        return None;
    }
    let tag = tag?;
    fill_ref(El::keyed(tag, "Metadata"), kept, (!guids).then_some(GUIDS))
}

/// The tag of an item of Plex type `t`.
fn item_tag(t: &str) -> &'static str {
    match t {
        "track" => "Track",
        "movie" | "episode" | "clip" => "Video",
        "photo" => "Photo",
        _ => "Directory",
    }
}

/// The container attributes of a server's answer (JSON or, `json` false, XML; XML's as
/// text), less those that describe the page; `None` when the body is not a `MediaContainer`
/// that can be read.
pub fn answer_container(body: &[u8], json: bool) -> Option<Vec<(String, Scalar)>> {
    let attrs = if json {
        listing_elements(body)?.0.attrs
    } else {
        xml_container_attrs(body)?
    };
    Some(
        attrs
            .into_iter()
            .filter(|(k, _)| !PAGE_ATTRS.contains(&k.as_str()))
            .collect(),
    )
}

/// The attributes of an XML answer's `MediaContainer`, as text.
fn xml_container_attrs(body: &[u8]) -> Option<Vec<(String, Scalar)>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e) => {
                if e.name().as_ref() != b"MediaContainer" {
                    return None;
                }
                let mut out = Vec::new();
                for a in e.attributes() {
                    let a = a.ok()?;
                    let key = std::str::from_utf8(a.key.as_ref()).ok()?.to_string();
                    let value = a.unescape_value().ok()?.into_owned();
                    out.push((key, Scalar::S(value)));
                }
                return Some(out);
            }
            Event::Eof => return None,
            _ => {}
        }
        buf.clear();
    }
}

/// `n` as a `&'static str` for the document tree: the common names are the tree's own
/// constants; others are kept once each, at most 4,096 of them (`None` past that).
pub fn interned(n: &str) -> Option<&'static str> {
    // Read for every attribute an answer writes: a shared read lock and a fast hash, the
    // write lock only for a name not seen before.
    static NAMES: OnceLock<RwLock<FxHashMap<String, &'static str>>> = OnceLock::new();
    let names = NAMES.get_or_init(|| RwLock::new(FxHashMap::default()));
    if let Some(s) = names.read().unwrap_or_else(|e| e.into_inner()).get(n) {
        return Some(s);
    }
    let mut names = names.write().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = names.get(n) {
        return Some(s);
    }
    if names.len() >= MAX_NAMES {
        return None;
    }
    let s: &'static str = Box::leak(n.to_string().into_boxed_str());
    names.insert(n.to_string(), s);
    Some(s)
}

/// `el` with `e`'s attributes and children; the children under `left_out` are not written.
fn fill(mut el: El, e: &Element, left_out: Option<&str>) -> Option<El> {
    for (k, v) in &e.attrs {
        el.attrs.push((interned(k)?, value(v)));
    }
    for (k, kids) in &e.kids {
        if Some(k.as_str()) == left_out {
            continue;
        }
        let tag = interned(k)?;
        for kid in kids {
            el.kids.push(fill(El::keyed(tag, tag), kid, None)?);
        }
    }
    Some(el)
}

/// [`fill`] from a borrowed element.
fn fill_ref(mut el: El, e: &ElementRef<'_>, left_out: Option<&str>) -> Option<El> {
    el.attrs.reserve_exact(e.attrs.len());
    for (k, v) in &e.attrs {
        let v = match v {
            ScalarRef::S(s) => V::S((*s).to_string()),
            ScalarRef::I(n) => V::I(*n),
            ScalarRef::F(f) => V::F(*f),
            ScalarRef::B(b) => V::B(*b),
        };
        el.attrs.push((interned(k)?, v));
    }
    for (k, kids) in &e.kids {
        if Some(*k) == left_out {
            continue;
        }
        let tag = interned(k)?;
        for kid in kids {
            el.kids.push(fill_ref(El::keyed(tag, tag), kid, None)?);
        }
    }
    Some(el)
}

fn value(v: &Scalar) -> V {
    match v {
        Scalar::S(s) => V::S(s.clone()),
        Scalar::I(n) => V::I(*n),
        Scalar::F(f) => V::F(*f),
        Scalar::B(b) => V::B(*b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kept::{Element, Kept, Scalar, kept_answer};

    const PAGE: &str = r#"{"MediaContainer":{"size":2,"totalSize":9,"Metadata":[
        {"ratingKey":"55","key":"/library/metadata/55","type":"track","title":"Song",
         "viewCount":3,"lastViewedAt":1700000000,"userRating":8.0,"index":2,"duration":200000,
         "Media":[{"id":7,"duration":200000,"audioCodec":"flac",
                   "Part":[{"id":8,"file":"/m/a.flac","size":123}]}],
         "Guid":[{"id":"mbid://x"}]},
        {"ratingKey":56,"type":"album","title":"Album","leafCount":9,"viewedLeafCount":4,
         "rating":7.5,"loudnessAnalysisVersion":"1","hasPremium":true}
    ]}}"#;

    /// `e` as the store reads it back (borrowed).
    fn borrowed(e: &Element) -> ElementRef<'_> {
        ElementRef {
            attrs: e
                .attrs
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Scalar::S(s) => ScalarRef::S(s),
                        Scalar::I(n) => ScalarRef::I(*n),
                        Scalar::F(f) => ScalarRef::F(*f),
                        Scalar::B(b) => ScalarRef::B(*b),
                    };
                    (k.as_str(), v)
                })
                .collect(),
            kids: e
                .kids
                .iter()
                .map(|(k, list)| (k.as_str(), list.iter().map(borrowed).collect()))
                .collect(),
        }
    }

    #[test]
    fn keeps_the_servers_order_and_types_less_play_state() {
        let (container, items) = listing_elements(PAGE.as_bytes()).unwrap();
        assert!(container.attrs.is_empty(), "page attributes are not kept");
        assert_eq!(items.len(), 2);
        let (id, track) = &items[0];
        assert_eq!(id, "55");
        let names: Vec<&str> = track.attrs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["ratingKey", "key", "type", "title", "index", "duration"]
        );
        let kids: Vec<&str> = track.kids.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kids, ["Media", "Guid"]);
        let (id, album) = &items[1];
        assert_eq!(id, "56");
        assert_eq!(album.attr("viewedLeafCount"), Some(&Scalar::I(0)));
        assert_eq!(album.attr("rating"), Some(&Scalar::F(7.5)));
        assert_eq!(album.attr("hasPremium"), Some(&Scalar::B(true)));
    }

    #[test]
    fn renders_xml_and_json_with_guids_only_when_asked() {
        let (_, items) = listing_elements(PAGE.as_bytes()).unwrap();
        let plain = item_el(&borrowed(&items[0].1), 0, false).unwrap();
        assert_eq!(plain.tag, "Track");
        let xml = plain.to_xml();
        assert!(
            xml.contains(r#"<Part id="8" file="/m/a.flac" size="123""#),
            "{xml}"
        );
        assert!(!xml.contains("Guid"), "{xml}");
        let with = item_el(&borrowed(&items[0].1), 0, true).unwrap().to_json();
        assert!(with.contains(r#""Guid":[{"id":"mbid://x"}]"#), "{with}");
        let album = item_el(&borrowed(&items[1].1), 0, false).unwrap();
        assert_eq!((album.tag, album.json_key), ("Directory", "Metadata"));
    }

    #[test]
    fn an_element_kept_as_of_another_update_is_not_written() {
        let (_, items) = listing_elements(
            br#"{"MediaContainer":{"Metadata":[{"ratingKey":"57","type":"movie","updatedAt":100}]}}"#,
        )
        .unwrap();
        let kept = borrowed(&items[0].1);
        assert_eq!(item_el(&kept, 100, false).unwrap().tag, "Video");
        assert!(item_el(&kept, 101, false).is_none());
    }

    #[test]
    fn what_is_not_a_listing_is_not_kept() {
        assert!(listing_elements(b"not json").is_none());
        assert!(listing_elements(br#"{"MediaContainer":{"Metadata":[{"a":{"b":1}}]}}"#).is_none());
        let (_, none) = listing_elements(br#"{"MediaContainer":{"size":0}}"#).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn an_answer_is_kept_as_elements_or_documents_by_its_format() {
        let section = br#"{"MediaContainer":{"size":0,"librarySectionID":3,"viewGroup":"track"}}"#;
        match kept_answer(section) {
            Some(Kept::Elements {
                section, container, ..
            }) => {
                assert_eq!(section.as_deref(), Some("3"));
                assert_eq!(container.attrs.len(), 2);
            }
            _ => panic!("a listing is kept as elements"),
        }
        let documents =
            br#"{"Items":[{"Name":"a","Id":"0123456789abcdef0123456789abcdef","Type":"Audio"}]}"#;
        assert!(matches!(kept_answer(documents), Some(Kept::Documents(d)) if d.len() == 1));
        assert!(kept_answer(b"<html/>").is_none());
    }

    #[test]
    fn an_answers_container_is_read_in_either_format_less_the_page() {
        let json = br#"{"MediaContainer":{"size":1,"totalSize":9,"key":"7","nocache":true,"Metadata":[{"ratingKey":"8"}]}}"#;
        let attrs = answer_container(json, true).unwrap();
        assert_eq!(
            attrs,
            [
                ("key".to_string(), Scalar::S("7".into())),
                ("nocache".to_string(), Scalar::B(true))
            ]
        );
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<MediaContainer size="2" totalSize="9" offset="0" key="7" title2="A &amp; B"><Track/></MediaContainer>"#;
        let attrs = answer_container(xml, false).unwrap();
        assert_eq!(
            attrs,
            [
                ("key".to_string(), Scalar::S("7".into())),
                ("title2".to_string(), Scalar::S("A & B".into()))
            ]
        );
        assert!(answer_container(b"<Other/>", false).is_none());
    }
}
