//! How the library index reads a Plex server ([`ServerLibrary`] for [`Plex`]): the section
//! list, one page of a section's items of one type, items by rating key (for change events),
//! the sections a user sees and a listing's total.
//!
//! Everything is read as Plex's JSON (`Accept: application/json`):
//! `{"MediaContainer": {"totalSize": N, "Metadata": [{…}]}}`. Numbers may come as strings or
//! numbers (Plex is not consistent across versions), so every field is read leniently; an item
//! without a rating key or a title is skipped, never guessed.

use cachearr_library::{ItemKind, ItemRecord};
use serde_json::Value;

use super::Plex;
use crate::library::{ItemsRequest, LibraryFacts, ProbeParent, ServerLibrary};
use crate::model::library::{SectionInfo, UserSection, UserSections};
use crate::model::restriction::Marks;
use crate::server_json::{json_number, json_text, records_of};

/// The server's sections: the owner's crawl and a user's own list read the same path.
pub const SECTIONS_PATH: &str = "/library/sections";

/// Plex's library: one path for the owner's sections and a user's, elements kept; a change
/// event's items are read again as a listing of the kept form.
static FACTS: LibraryFacts = LibraryFacts {
    sections_path: SECTIONS_PATH,
    // Python-plexapi and Tautulli read them in XML.
    user_sections_in_server_form: true,
    keeps_elements: true,
    items_answer_is_kept: false,
};

impl ServerLibrary for Plex {
    fn facts(&self) -> &'static LibraryFacts {
        &FACTS
    }

    fn parse_sections(&self, body: &Value) -> Vec<SectionInfo> {
        parse_sections(body)
    }

    fn parse_user_sections(&self, body: &[u8]) -> Option<UserSections> {
        user_sections(body)
    }

    fn section_word(&self, kind: &str) -> &'static str {
        section_word(kind)
    }

    fn index_kinds(&self, kind: &str) -> &'static [(ItemKind, &'static str)] {
        types_of_section(kind)
    }

    fn page_path(
        &self,
        section: &str,
        type_param: &str,
        start: u64,
        size: u64,
        since: Option<i64>,
    ) -> String {
        page_path(section, type_param, start, size, since)
    }

    fn listing_total(&self, body: &Value) -> Option<u64> {
        total_size(body)
    }

    fn parse_items(&self, body: &Value, section: Option<&str>) -> (u64, Vec<ItemRecord>) {
        parse_items(body, section)
    }

    /// One request per batch: each item names its section, and a 404 says that none of the
    /// keys exists any more.
    fn items_requests(&self, ids: &[String], _sections: &[SectionInfo]) -> Vec<ItemsRequest> {
        vec![ItemsRequest {
            path: items_path(ids),
            section: None,
            gone_when_not_found: true,
        }]
    }

    fn listing_by_ids_path(&self, section: &str, kind: ItemKind, ids: &[&str]) -> Option<String> {
        Some(listing_by_ids_path(section, kind, ids))
    }

    fn parent_types(&self, kind: &str) -> &'static [&'static str] {
        match kind {
            // Shows and seasons: their elements count their episodes (`leafCount`), which
            // changes with no word of the parent's own.
            "shows" => &["2", "3"],
            _ => &[],
        }
    }

    fn frame_probes(
        &self,
        section: &str,
        kind: &str,
        parents: &[ProbeParent<'_>],
    ) -> Vec<(String, bool)> {
        let ids: Vec<&str> = parents.iter().map(|p| p.id).collect();
        frame_probes(section, kind, &ids)
    }

    fn probe_page_from(&self, probe: &str, start: usize) -> Option<String> {
        probe_page_from(probe, start)
    }

    fn parents_by_ids_path(&self, section: &str, type_param: &str, ids: &[&str]) -> Option<String> {
        Some(format!(
            "/library/sections/{section}/all?type={type_param}&includeGuids=1&id={}",
            ids.join(",")
        ))
    }

    fn whole_listing_paths(&self, sections: &Value) -> Vec<String> {
        whole_listing_paths(sections)
    }

    /// A listing element's own `contentRating` (a season or a track carries none and takes
    /// its ancestors').
    fn element_marks(&self, el: &crate::model::element::Element) -> Option<Marks> {
        Some(Marks {
            tags: Vec::new(),
            rating: el.text("contentRating"),
        })
    }

    fn labels_path(&self, section: &str, type_param: &str) -> Option<String> {
        Some(format!(
            "/library/sections/{section}/label?type={type_param}"
        ))
    }

    fn parse_labels(&self, body: &Value) -> Vec<(String, String)> {
        let dirs = body
            .get("MediaContainer")
            .and_then(|c| c.get("Directory"))
            .and_then(Value::as_array);
        (dirs.into_iter().flatten())
            .filter_map(|d| Some((json_text(d, "key")?, json_text(d, "title")?)))
            .collect()
    }

    fn labelled_path(&self, section: &str, type_param: &str, key: &str) -> Option<String> {
        Some(format!(
            "/library/sections/{section}/all?type={type_param}&label={key}"
        ))
    }

    fn labels_by_ids_path(&self, ids: &[&str]) -> Option<String> {
        Some(format!("/library/metadata/{}", ids.join(",")))
    }

    fn parse_item_labels(&self, body: &Value) -> Vec<(String, Vec<String>)> {
        let items = body
            .get("MediaContainer")
            .and_then(|c| c.get("Metadata"))
            .and_then(Value::as_array);
        (items.into_iter().flatten())
            .filter_map(|item| {
                let id = json_text(item, "ratingKey")?;
                let labels = (item.get("Label").and_then(Value::as_array).into_iter())
                    .flatten()
                    .filter_map(|l| json_text(l, "tag"))
                    .collect();
                Some((id, labels))
            })
            .collect()
    }
}

/// The Plex `type` numbers the index reads per section kind.
pub fn types_of_section(kind: &str) -> &'static [(ItemKind, &'static str)] {
    match kind {
        "music" => &[
            (ItemKind::Artist, "8"),
            (ItemKind::Album, "9"),
            (ItemKind::Track, "10"),
        ],
        "movies" => &[(ItemKind::Movie, "1")],
        // Episodes first: a user's count of them is the one a share's filter changes most
        // often, so a proof that a section is whole fails on its first read.
        "shows" => &[
            (ItemKind::Episode, "4"),
            (ItemKind::Show, "2"),
            (ItemKind::Season, "3"),
        ],
        _ => &[],
    }
}

/// The path of one page of a section's items of one type; `since` asks only for items
/// updated at or after it (epoch seconds; Plex sets `updatedAt` when an item is added, too).
pub fn page_path(
    section: &str,
    plex_type: &str,
    start: u64,
    size: u64,
    since: Option<i64>,
) -> String {
    let mut path = format!(
        "/library/sections/{section}/all?type={plex_type}&includeGuids=1\
         &X-Plex-Container-Start={start}&X-Plex-Container-Size={size}"
    );
    if let Some(since) = since {
        // `updatedAt>=T`: Plex reads the `>` ending the key as "at least".
        path.push_str(&format!("&updatedAt%3E={since}"));
    }
    path
}

/// Items a listing probe's page holds (see [`frame_probes`]): a frame does not depend on it.
const PROBE_PAGE: u32 = 10;

/// The reads `ServerLibrary::frame_probes` names for Plex: those Overseerr's scan,
/// python-plexapi's `season.episodes()` and Tautulli's library statistics and home screen
/// start with. A movie section's first two pages as Overseerr pages it (JSON, `Guid`s, no
/// `type=`), a show section's seasons' episodes (`…/children`, JSON and XML), every
/// section's counts of each kind the index holds as Tautulli makes them (XML, `type=`, a page
/// of one item; proven on a page of none beside it, which costs no item's state), and the
/// home screen's recently added of the section's top level as Tautulli pages it (XML, and
/// for movies its `personal=1` too). Music's walks are left to their own proofs (its tools
/// read album tracks sorted by id, or whole listings in XML), which keeps the crawl's cost
/// down.
pub fn frame_probes(section: &str, kind: &str, parents: &[&str]) -> Vec<(String, bool)> {
    let mut probes = walk_probes(section, kind, parents);
    let pages = |path: String| {
        [0, 1].map(|size| {
            (
                format!("{path}&X-Plex-Container-Start=0&X-Plex-Container-Size={size}"),
                false,
            )
        })
    };
    for (_, number) in types_of_section(kind) {
        probes.extend(pages(format!(
            "/library/sections/{section}/all?type={number}"
        )));
    }
    let top = super::render::section_kinds(plex_type_of(kind)).first();
    if let Some(&top) = top {
        let number = super::render::type_number(top);
        let recent = format!("/hubs/home/recentlyAdded?type={number}");
        if top == ItemKind::Movie {
            probes.extend(pages(format!("{recent}&personal=1")));
        }
        probes.extend(pages(recent));
    }
    probes
}

/// The Plex type of a section of the index's `kind` (the inverse of [`section_word`]).
fn plex_type_of(kind: &str) -> &'static str {
    match kind {
        "music" => "artist",
        "movies" => "movie",
        "shows" => "show",
        _ => "",
    }
}

/// [`frame_probes`]' reads of the walks: a movie section's pages, as Overseerr pages it (JSON,
/// no `type=`) and as python-plexapi's `section.all()` does (XML, `type=1`: Kometa's passes);
/// a show section's seasons' episodes.
/// A listing page of [`walk_probes`] (its start and size in the query, as they write them),
/// paged from `start` instead; `None` for any other probe (a count's page of one item or
/// none among them: it shows no order).
fn probe_page_from(probe: &str, start: usize) -> Option<String> {
    const START: &str = "&X-Plex-Container-Start=";
    const SIZE: &str = "X-Plex-Container-Size=";
    let (path, rest) = probe.split_once(START)?;
    let (_, size) = rest.split_once('&')?;
    let items: usize = size.strip_prefix(SIZE)?.parse().ok()?;
    if !path.starts_with("/library/sections/") || items < 2 {
        return None;
    }
    Some(format!("{path}{START}{start}&{size}"))
}

fn walk_probes(section: &str, kind: &str, parents: &[&str]) -> Vec<(String, bool)> {
    let pages = |listing: &str, json: bool| {
        [0, PROBE_PAGE].map(|start| {
            (
                format!(
                    "/library/sections/{section}/all?{listing}includeGuids=1\
                     &X-Plex-Container-Start={start}&X-Plex-Container-Size={PROBE_PAGE}"
                ),
                json,
            )
        })
    };
    match kind {
        "movies" => pages("", true)
            .into_iter()
            .chain(pages("type=1&", false))
            .collect(),
        "shows" => [true, false]
            .iter()
            .flat_map(|&json| {
                parents
                    .iter()
                    .map(move |parent| (format!("/library/metadata/{parent}/children"), json))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The index's word for a section kind as `/library/sections` names it.
pub(super) fn section_word(kind: &str) -> &'static str {
    match kind {
        "artist" => "music",
        "movie" => "movies",
        "show" => "shows",
        _ => "other",
    }
}

/// The whole listing of each section and type the crawl reads, in its element-store form
/// (`includeGuids=1`, unpaged): what a tool that installs an index without a crawl (tests,
/// benchmarks) reads to fill the element store as the crawl would
/// (`upstream_index::elements::fill_kept`). `sections` is `GET /library/sections`.
pub fn whole_listing_paths(sections: &Value) -> Vec<String> {
    parse_sections(sections)
        .iter()
        .flat_map(|s| {
            types_of_section(&s.kind).iter().map(move |(_, number)| {
                format!(
                    "/library/sections/{}/all?type={number}&includeGuids=1",
                    s.id
                )
            })
        })
        .collect()
}

/// The path that fetches items by rating key (comma-separated).
pub fn items_path(ids: &[String]) -> String {
    format!("/library/metadata/{}?includeGuids=1", ids.join(","))
}

/// The listing of some items of a section by rating key (their listing form, which
/// `/library/metadata/{ids}` does not give).
pub fn listing_by_ids_path(section: &str, kind: ItemKind, ids: &[&str]) -> String {
    let number = super::render::type_number(kind);
    format!(
        "/library/sections/{section}/all?type={number}&includeGuids=1&id={}",
        ids.join(",")
    )
}

fn container(body: &Value) -> &Value {
    body.get("MediaContainer").unwrap_or(&Value::Null)
}

/// The sections of `GET /library/sections`.
pub fn parse_sections(body: &Value) -> Vec<SectionInfo> {
    let Some(list) = container(body).get("Directory").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|dir| {
            let id = json_text(dir, "key")?;
            let kind = section_word(dir.get("type").and_then(Value::as_str).unwrap_or(""));
            Some(SectionInfo {
                id,
                title: json_text(dir, "title").unwrap_or_default(),
                kind: kind.to_string(),
                changed_at: dir.get("contentChangedAt").and_then(|v| {
                    v.as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                }),
            })
        })
        .collect()
}

/// A user's sections, from `/library/sections` read with their token, in JSON or in the
/// server's XML (the form a tool read it in: the copy takes a fresh one of either).
fn user_sections(body: &[u8]) -> Option<UserSections> {
    if body.trim_ascii_start().starts_with(b"<") {
        return user_sections_xml(body);
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let dirs = v.get("MediaContainer")?;
    let list = match dirs.get("Directory") {
        Some(Value::Array(list)) => list.as_slice(),
        Some(_) => return None,
        None => &[],
    };
    let mut sections = Vec::with_capacity(list.len());
    for d in list {
        let id = match d.get("key")? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        sections.push(UserSection {
            id,
            title: str_of(d, "title"),
            kind: str_of(d, "type"),
            uuid: d.get("uuid").and_then(Value::as_str).map(str::to_string),
        });
    }
    Some(UserSections { sections })
}

/// [`user_sections`] from the XML form: each `Directory` the `MediaContainer` holds (not
/// those nested deeper); `None` when the answer is not one, or a directory has no key.
fn user_sections_xml(body: &[u8]) -> Option<UserSections> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut sections = Vec::new();
    // Elements open above the one read: the container at 1, its directories at 2.
    let mut depth = 0usize;
    let mut container = false;
    loop {
        let (e, empty) = match reader.read_event_into(&mut buf).ok()? {
            Event::Eof => break,
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                buf.clear();
                continue;
            }
            _ => {
                buf.clear();
                continue;
            }
        };
        match (depth, e.name().as_ref()) {
            (0, b"MediaContainer") => container = true,
            (0, _) => return None,
            (1, b"Directory") => {
                let attr = |name: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == name)
                        .and_then(|a| a.unescape_value().ok())
                        .map(|v| v.into_owned())
                };
                sections.push(UserSection {
                    id: attr(b"key")?,
                    title: attr(b"title").unwrap_or_default(),
                    kind: attr(b"type").unwrap_or_default(),
                    uuid: attr(b"uuid"),
                });
            }
            _ => {}
        }
        if !empty {
            depth += 1;
        }
        buf.clear();
    }
    container.then_some(UserSections { sections })
}

/// A string field, empty when absent or not a string.
fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `totalSize` of a paged listing (or `size` when the server did not page).
pub fn total_size(body: &Value) -> Option<u64> {
    let c = container(body);
    json_number(c, "totalSize")
        .or_else(|| json_number(c, "size"))
        .and_then(|n| u64::try_from(n).ok())
}

/// The items of a listing or metadata answer: how many the page held, and the records of the
/// kinds the index keeps. `section` is used when an item does not say its own.
pub fn parse_items(body: &Value, section: Option<&str>) -> (u64, Vec<ItemRecord>) {
    records_of(container(body).get("Metadata"), |item| {
        record(item, section)
    })
}

/// One Plex item as a record (`None` for kinds the index does not keep, or no id/title).
pub fn record(item: &Value, section: Option<&str>) -> Option<ItemRecord> {
    let kind = match item.get("type").and_then(Value::as_str)? {
        "track" => ItemKind::Track,
        "album" => ItemKind::Album,
        "artist" => ItemKind::Artist,
        "movie" => ItemKind::Movie,
        "episode" => ItemKind::Episode,
        "show" => ItemKind::Show,
        "season" => ItemKind::Season,
        _ => return None,
    };
    let id = json_text(item, "ratingKey")?;
    let title = json_text(item, "title")?;
    let section_id = json_text(item, "librarySectionID").or_else(|| section.map(str::to_string))?;
    let parent_title = json_text(item, "parentTitle");
    let grandparent_title = json_text(item, "grandparentTitle");
    let (artists, album_artist, album) = match kind {
        ItemKind::Track => {
            let credit = json_text(item, "originalTitle").or_else(|| grandparent_title.clone());
            (
                credit.into_iter().collect(),
                grandparent_title,
                parent_title,
            )
        }
        ItemKind::Album => (
            parent_title.clone().into_iter().collect(),
            parent_title,
            None,
        ),
        ItemKind::Episode => (Vec::new(), None, grandparent_title),
        // A season's show, as an episode names it.
        ItemKind::Season => (Vec::new(), None, parent_title),
        ItemKind::Artist | ItemKind::Movie | ItemKind::Show => (Vec::new(), None, None),
    };
    let file_path = item
        .get("Media")
        .and_then(Value::as_array)
        .and_then(|media| media.first())
        .and_then(|m| m.get("Part"))
        .and_then(Value::as_array)
        .and_then(|parts| parts.first())
        .and_then(|part| json_text(part, "file"));
    let musicbrainz_ids = item
        .get("Guid")
        .and_then(Value::as_array)
        .map(|guids| {
            guids
                .iter()
                .filter_map(|g| json_text(g, "id"))
                .filter(|g| g.starts_with("mbid://"))
                .collect()
        })
        .unwrap_or_default();
    let small = |key: &str| json_number(item, key).and_then(|n| u32::try_from(n).ok());
    let added_at = json_number(item, "addedAt").unwrap_or(0);
    Some(ItemRecord {
        kind,
        id,
        section_id,
        title,
        artists,
        album_artist,
        album,
        duration_ms: small("duration").filter(|ms| *ms > 0),
        year: json_number(item, "year")
            .or_else(|| json_number(item, "parentYear"))
            .and_then(|y| u16::try_from(y).ok())
            .filter(|y| *y > 0),
        file_path,
        musicbrainz_ids,
        isrc: None,
        added_at,
        updated_at: json_number(item, "updatedAt").unwrap_or(added_at),
        parent_id: json_text(item, "parentRatingKey"),
        grandparent_id: json_text(item, "grandparentRatingKey"),
        index: matches!(kind, ItemKind::Track | ItemKind::Episode | ItemKind::Season)
            .then(|| small("index"))
            .flatten(),
        parent_index: matches!(kind, ItemKind::Track | ItemKind::Episode)
            .then(|| small("parentIndex"))
            .flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A share's label filter reads what Plex says apart: each label's key from a section's
    /// label list, each item's labels from its details, its own rating from a listing
    /// element (none when it carries none: a season's or a track's comes from above).
    #[test]
    fn labels_and_ratings_read_as_plex_writes_them() {
        let labels = json!({"MediaContainer": {"size": 2, "Directory": [
            {"fastKey": "/library/sections/1/all?label=1001", "key": "1001", "title": "Explicit"},
            {"key": 1002, "title": "Family"},
            {"key": "1003"}
        ]}});
        assert_eq!(
            Plex.parse_labels(&labels),
            [
                ("1001".to_owned(), "Explicit".to_owned()),
                ("1002".to_owned(), "Family".to_owned())
            ]
        );
        let details = json!({"MediaContainer": {"Metadata": [
            {"ratingKey": "7", "Label": [{"id": 1, "tag": "Explicit"}, {"tag": "Live"}]},
            {"ratingKey": 8},
            {"title": "no key"}
        ]}});
        assert_eq!(
            Plex.parse_item_labels(&details),
            [
                (
                    "7".to_owned(),
                    vec!["Explicit".to_owned(), "Live".to_owned()]
                ),
                ("8".to_owned(), Vec::new())
            ]
        );
        let el =
            |attrs: Vec<(String, crate::model::element::Scalar)>| crate::model::element::Element {
                attrs,
                kids: Vec::new(),
            };
        let rated = el(vec![(
            "contentRating".to_owned(),
            crate::model::element::Scalar::S("PG-13".to_owned()),
        )]);
        assert_eq!(
            Plex.element_marks(&rated).unwrap().rating.as_deref(),
            Some("PG-13")
        );
        assert_eq!(Plex.element_marks(&el(Vec::new())).unwrap().rating, None);
        assert_eq!(
            Plex.labelled_path("3", "9", "1001").as_deref(),
            Some("/library/sections/3/all?type=9&label=1001")
        );
    }

    /// A user's sections read alike from the JSON the copy asks for and the XML a tool read:
    /// the container's directories only (a directory's own children are not sections).
    #[test]
    fn user_sections_from_json_and_xml_alike() {
        let json = br#"{"MediaContainer": {"size": 2, "Directory": [
            {"key": "1", "title": "Music & More", "type": "artist", "uuid": "u-1",
             "Location": [{"id": 9, "path": "/m"}]},
            {"key": 2, "title": "Films", "type": "movie"}
        ]}}"#;
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<MediaContainer size="2" title1="Plex Library">
<Directory key="1" title="Music &amp; More" type="artist" uuid="u-1"><Location id="9" path="/m" /></Directory>
<Directory key="2" title="Films" type="movie"></Directory>
</MediaContainer>"#;
        let (from_json, from_xml) = (user_sections(json).unwrap(), user_sections(xml).unwrap());
        assert_eq!(from_json, from_xml);
        let ids: Vec<_> = from_xml.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["1", "2"]);
        assert_eq!(from_xml.sections[0].title, "Music & More");
        assert_eq!(from_xml.sections[0].uuid.as_deref(), Some("u-1"));
        let empty = br#"<MediaContainer size="0"></MediaContainer>"#;
        assert!(user_sections(empty).unwrap().sections.is_empty());
        assert!(user_sections(br#"<Response code="401"/>"#).is_none());
        assert!(
            user_sections(br#"<MediaContainer><Directory title="no key"/></MediaContainer>"#)
                .is_none()
        );
    }

    #[test]
    fn sections_tracks_and_lenient_numbers() {
        let sections = json!({"MediaContainer": {"Directory": [
            {"key": "1", "title": "Music", "type": "artist", "contentChangedAt": 4711},
            {"key": 2, "title": "Films", "type": "movie", "contentChangedAt": "12"},
            {"key": "3", "title": "Photos", "type": "photo"},
            {"key": "4", "title": "TV", "type": "show"},
            {"title": "no key", "type": "show"}
        ]}});
        let parsed = parse_sections(&sections);
        assert_eq!(parsed.len(), 4);
        assert_eq!(
            (parsed[1].id.as_str(), parsed[1].kind.as_str()),
            ("2", "movies")
        );
        assert_eq!(parsed[2].kind, "other");
        // The content marks a restart compares, a number or its text; none where absent.
        let marks: Vec<_> = parsed.iter().map(|s| s.changed_at).collect();
        assert_eq!(marks, [Some(4711), Some(12), None, None]);
        assert_eq!(
            whole_listing_paths(&sections),
            [
                "/library/sections/1/all?type=8&includeGuids=1",
                "/library/sections/1/all?type=9&includeGuids=1",
                "/library/sections/1/all?type=10&includeGuids=1",
                "/library/sections/2/all?type=1&includeGuids=1",
                "/library/sections/4/all?type=4&includeGuids=1",
                "/library/sections/4/all?type=2&includeGuids=1",
                "/library/sections/4/all?type=3&includeGuids=1",
            ],
            "each indexed type of each music, movie and show section (episodes, shows, \
             seasons); not photos"
        );

        let page = json!({"MediaContainer": {"totalSize": "120", "Metadata": [
            {"type": "track", "ratingKey": "55", "title": "Song", "grandparentTitle": "Band",
             "originalTitle": "Band feat. Guest", "parentTitle": "Album", "duration": 200000,
             "parentYear": 1999, "index": "3", "parentIndex": 1, "parentRatingKey": 54,
             "grandparentRatingKey": "53", "addedAt": 100, "updatedAt": 150,
             "Media": [{"Part": [{"file": "/music/Band/Album/03.flac"}]}],
             "Guid": [{"id": "mbid://b1a9c0e9-d987-4042-ae91-78d6a3267d69"}, {"id": "imdb://tt1"}]},
            {"type": "season", "ratingKey": "9", "title": "Season 1", "index": 1,
             "parentRatingKey": "8", "parentTitle": "The Show"},
            {"type": "clip", "ratingKey": "10", "title": "Trailer"},
            {"type": "track", "title": "no rating key"}
        ]}});
        assert_eq!(total_size(&page), Some(120));
        let (count, records) = parse_items(&page, Some("1"));
        assert_eq!(count, 4);
        assert_eq!(records.len(), 2, "a track and a season; not a clip");
        let season = &records[1];
        assert_eq!(season.kind, ItemKind::Season);
        assert_eq!(
            (season.parent_id.as_deref(), season.album.as_deref()),
            (Some("8"), Some("The Show"))
        );
        assert_eq!(season.index, Some(1));
        let r = &records[0];
        assert_eq!(r.section_id, "1");
        assert_eq!(r.artists, ["Band feat. Guest"]);
        assert_eq!(r.album_artist.as_deref(), Some("Band"));
        assert_eq!(r.year, Some(1999));
        assert_eq!(r.file_path.as_deref(), Some("/music/Band/Album/03.flac"));
        assert_eq!(r.musicbrainz_ids.len(), 1);
        assert_eq!(
            (r.parent_id.as_deref(), r.grandparent_id.as_deref()),
            (Some("54"), Some("53"))
        );
        assert_eq!((r.index, r.parent_index), (Some(3), Some(1)));
        assert_eq!((r.added_at, r.updated_at), (100, 150));
    }

    #[test]
    fn user_sections_keep_the_servers_kinds() {
        let plex = br#"{"MediaContainer":{"size":2,"Directory":[
            {"key":"3","title":"Music","type":"artist","uuid":"u-3"},
            {"key":4,"title":"Lossless","type":"artist"}]}}"#;
        let s = Plex.parse_user_sections(plex).unwrap();
        assert_eq!(s.ids(), vec!["3", "4"]);
        assert_eq!(s.get("3").unwrap().uuid.as_deref(), Some("u-3"));
        assert_eq!(s.get("4").unwrap().kind, "artist");
        let empty = Plex
            .parse_user_sections(br#"{"MediaContainer":{"size":0}}"#)
            .unwrap();
        assert!(empty.ids().is_empty());
        // The server's XML reads alike (a tool's read of it); what is not its container, not.
        let xml = Plex.parse_user_sections(b"<MediaContainer/>").unwrap();
        assert!(xml.ids().is_empty());
        assert!(Plex.parse_user_sections(b"<html><body/></html>").is_none());
    }

    #[test]
    fn paths() {
        assert_eq!(
            page_path("4", "10", 0, 500, Some(1700)),
            "/library/sections/4/all?type=10&includeGuids=1&X-Plex-Container-Start=0\
             &X-Plex-Container-Size=500&updatedAt%3E=1700"
        );
        assert_eq!(
            items_path(&["1".into(), "2".into()]),
            "/library/metadata/1,2?includeGuids=1"
        );
    }

    /// A listing probe's page moves with its query left as it was; no other probe moves.
    #[test]
    fn a_listing_probes_page_moves_and_nothing_else_does() {
        let probes = frame_probes("2", "movies", &[]);
        let second = &probes[1].0;
        assert!(second.contains("X-Plex-Container-Start=10&"), "{second}");
        let moved = probe_page_from(second, 37).unwrap();
        assert_eq!(
            moved,
            second.replace("X-Plex-Container-Start=10&", "X-Plex-Container-Start=37&")
        );
        let count =
            "/library/sections/2/all?type=1&X-Plex-Container-Start=0&X-Plex-Container-Size=1";
        assert!(probes.iter().any(|(p, _)| p == count), "{probes:?}");
        assert_eq!(probe_page_from(count, 5), None, "a count is no page");
        assert_eq!(probe_page_from("/library/metadata/9/children", 5), None);
    }
}
