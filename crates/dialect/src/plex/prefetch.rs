//! Plex listings whose follow-ups are prefetched (the gateway's `prefetch`):
//! `/library/metadata/{show}/children` answering seasons → each
//! `/library/metadata/{season}/children`; `/hubs/continueWatching`,
//! `/hubs/home/continueWatching`, `/library/onDeck` → each `/library/metadata/{ratingKey}`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::super::{Trigger, is_id};

/// Whether a GET of `path` is a prefetch trigger (a few string comparisons, no allocation).
pub(super) fn trigger(path: &str) -> Option<Trigger> {
    if path == "/hubs/continueWatching"
        || path == "/hubs/home/continueWatching"
        || path == "/library/onDeck"
    {
        return Some(Trigger::ContinueWatching);
    }
    let rest = path.strip_prefix("/library/metadata/")?;
    let id = rest.strip_suffix("/children")?;
    is_id(id).then_some(Trigger::Seasons)
}

/// The paths to prefetch after a `trigger` listing answered `body`, at most `max`.
pub(super) fn follow_ups(trigger: Trigger, body: &[u8], max: usize) -> Vec<String> {
    let mut out = Vec::new();
    // Every item's children answer a seasons trigger's path (an album's tracks, an artist's
    // albums), and only a show's list seasons: a body without the word, nor a JSON escape
    // that could spell it (`\u0073`; XML values are read as written), cannot name one, and
    // is not parsed (a walk of a music library would parse every album's tracks).
    if trigger == Trigger::Seasons
        && [&b"season"[..], b"\\u"]
            .iter()
            .all(|word| memchr::memmem::find(body, word).is_none())
    {
        return out;
    }
    for item in items(body) {
        if out.len() >= max {
            break;
        }
        let target = match trigger {
            Trigger::Seasons if item.kind.as_deref() == Some("season") => {
                format!("/library/metadata/{}/children", item.id)
            }
            Trigger::Seasons => continue,
            Trigger::ContinueWatching => format!("/library/metadata/{}", item.id),
        };
        if !out.contains(&target) {
            out.push(target);
        }
    }
    out
}

/// A Plex JSON listing, as far as prefetching reads it.
#[derive(Deserialize)]
struct Listing<'a> {
    #[serde(rename = "MediaContainer", borrow)]
    container: Option<Container<'a>>,
}

#[derive(Deserialize)]
struct Container<'a> {
    #[serde(rename = "Metadata", borrow, default)]
    metadata: Option<Vec<Listed<'a>>>,
    #[serde(rename = "Hub", borrow, default)]
    hubs: Option<Vec<Hub<'a>>>,
}

#[derive(Deserialize)]
struct Hub<'a> {
    #[serde(rename = "Metadata", borrow, default)]
    metadata: Option<Vec<Listed<'a>>>,
}

/// A listed item: its rating key (text or a number) and type.
#[derive(Deserialize)]
struct Listed<'a> {
    #[serde(rename = "ratingKey", default)]
    rating_key: Option<Value>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
}

/// An item of a Plex listing: its rating key and type.
#[derive(Debug, PartialEq, Eq)]
struct Item {
    id: String,
    kind: Option<String>,
}

/// The items of a Plex listing, JSON (`MediaContainer.Metadata[]`, `MediaContainer.Hub[].Metadata[]`)
/// or XML (`<Directory|Video|Track|Photo ratingKey= type=>` at any depth).
fn items(body: &[u8]) -> Vec<Item> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        // Only the two fields read are kept; everything else is skipped as it is read (a
        // whole `Value` tree of a listing cost more than answering it from the copy).
        let Ok(Listing {
            container: Some(container),
        }) = serde_json::from_slice::<Listing<'_>>(body)
        else {
            return Vec::new();
        };
        let from_hubs = container
            .hubs
            .into_iter()
            .flatten()
            .flat_map(|hub| hub.metadata.unwrap_or_default());
        container
            .metadata
            .unwrap_or_default()
            .into_iter()
            .chain(from_hubs)
            .filter_map(|m| {
                let id = super::events::id_of(m.rating_key.as_ref())?;
                is_id(&id).then(|| Item {
                    id,
                    kind: m.kind.map(Cow::into_owned),
                })
            })
            .collect()
    } else {
        xml_items(body)
    }
}

fn xml_items(body: &[u8]) -> Vec<Item> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut items = Vec::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let name = e.name();
                if matches!(name.as_ref(), b"Directory" | b"Video" | b"Track" | b"Photo") {
                    let mut id = None;
                    let mut kind = None;
                    for attr in e.attributes().flatten() {
                        let value = String::from_utf8_lossy(&attr.value).into_owned();
                        match attr.key.as_ref() {
                            b"ratingKey" => id = Some(value),
                            b"type" => kind = Some(value),
                            _ => {}
                        }
                    }
                    if let Some(id) = id.filter(|i| is_id(i)) {
                        items.push(Item { id, kind });
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
        buf.clear();
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shows_seasons_are_followed_from_json_and_xml_alike() {
        let json = br#"{"MediaContainer":{"size":3,"title1":"Show","Metadata":[
            {"ratingKey":"11","type":"season","title":"Season 1","Media":[{"id":1}]},
            {"ratingKey":12,"type":"sea\u0073on","summary":"a \"quoted\" one"},
            {"ratingKey":"13","type":"episode"},
            {"ratingKey":"x/../1","type":"season"}]}}"#;
        let xml = br#"<?xml version="1.0"?><MediaContainer size="3">
            <Directory ratingKey="11" type="season" title="Season 1"/>
            <Directory ratingKey="12" type="season"/>
            <Video ratingKey="13" type="episode"/>
            <Directory ratingKey="x/../1" type="season"/></MediaContainer>"#;
        let want = [
            "/library/metadata/11/children",
            "/library/metadata/12/children",
        ];
        assert_eq!(follow_ups(Trigger::Seasons, json, 10), want);
        assert_eq!(follow_ups(Trigger::Seasons, xml, 10), want);
        assert_eq!(follow_ups(Trigger::Seasons, json, 1), want[..1]);
    }

    #[test]
    fn seasons_written_only_as_escapes_are_followed_too() {
        // Whether the body is parsed at all is decided by the word "season" or an escape.
        let json = br#"{"MediaContainer":{"Metadata":[{"ratingKey":"21","type":"sea\u0073on"}]}}"#;
        assert_eq!(
            follow_ups(Trigger::Seasons, json, 10),
            ["/library/metadata/21/children"]
        );
        let tracks = br#"{"MediaContainer":{"Metadata":[{"ratingKey":"31","type":"track"}]}}"#;
        assert!(follow_ups(Trigger::Seasons, tracks, 10).is_empty());
    }

    #[test]
    fn continue_watching_hubs_name_their_items_once() {
        let json = br#"{"MediaContainer":{"Hub":[
            {"title":"Continue","Metadata":[{"ratingKey":"5","type":"episode"},{"ratingKey":"6"}]},
            {"title":"Empty"},
            {"title":"Again","Metadata":[{"ratingKey":"5","type":"episode"}]}],
            "Metadata":[{"ratingKey":"7","type":"movie"}]}}"#;
        assert_eq!(
            follow_ups(Trigger::ContinueWatching, json, 10),
            [
                "/library/metadata/7",
                "/library/metadata/5",
                "/library/metadata/6"
            ]
        );
        assert!(follow_ups(Trigger::ContinueWatching, b"{\"MediaContainer\":null}", 10).is_empty());
        assert!(follow_ups(Trigger::ContinueWatching, b"{not json", 10).is_empty());
    }
}
