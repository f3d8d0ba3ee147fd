//! Plex listings whose follow-ups are prefetched ([`crate::prefetch`]):
//! `/library/metadata/{show}/children` answering seasons → each
//! `/library/metadata/{season}/children`; `/hubs/continueWatching`,
//! `/hubs/home/continueWatching`, `/library/onDeck` → each `/library/metadata/{ratingKey}`.

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
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return Vec::new();
        };
        let container = value.get("MediaContainer");
        let direct = container
            .and_then(|c| c.get("Metadata"))
            .and_then(Value::as_array);
        let hubs = container
            .and_then(|c| c.get("Hub"))
            .and_then(Value::as_array);
        let from_hubs = hubs
            .into_iter()
            .flatten()
            .filter_map(|hub| hub.get("Metadata").and_then(Value::as_array))
            .flatten();
        direct
            .into_iter()
            .flatten()
            .chain(from_hubs)
            .filter_map(|m| {
                let id = super::events::id_of(m.get("ratingKey"))?;
                is_id(&id).then(|| Item {
                    id,
                    kind: m.get("type").and_then(Value::as_str).map(str::to_owned),
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
