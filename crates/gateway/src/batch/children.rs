//! Where the items of an answer are, without parsing it: the byte ranges of the root
//! element's children (XML) or of the entries of the array a property path leads to (JSON)
//! ([`Children`]), and an item's id, its own attribute or property. A batch's answer is cut
//! along these ranges into single answers. What the path and the id's name are is the
//! server's ([`cachearr_dialect::WalkBatch`]).
//!
//! Why a scanner of its own and not quick-xml (already a dependency) or serde_json: the cut
//! needs each item's exact bytes, to answer with the server's own text, so a parser would only
//! be asked where elements start and end. Both can say it (quick-xml's `buffer_position`
//! around its events, serde_json's borrowed `RawValue`, behind a feature this build does not
//! enable) and gave the same ranges on a 100-track Plex answer, but slower: 88 µs against
//! 77 µs for 50 KB of XML, 83 µs against 54 µs for 34 KB of JSON (release build, best of five
//! runs of 2,000, on the loaded 2-core build machine; a scratch comparison, not committed).
//! The scanner is small, knows the two shapes a batch answer has (quoted `>` in attributes,
//! comments and declarations, escaped quotes in JSON strings), and answers `None` to anything
//! else, which sends the request on unbatched: a body it misreads costs a request, never a
//! wrong answer (`super::tests`).

use super::is_json;

/// The id of one item's bytes: its own property `name` (JSON, not one of a nested object's)
/// or its attribute `name` (XML: attributes come before any child element).
pub(super) fn item_id<'a>(item: &'a [u8], name: &str) -> Option<&'a str> {
    if item.first() == Some(&b'{') {
        let mut key = Vec::with_capacity(name.len() + 2);
        key.push(b'"');
        key.extend_from_slice(name.as_bytes());
        key.push(b'"');
        let at = json_property(item, 0, &key)?;
        if item.get(at) != Some(&b'"') {
            return None;
        }
        let end = json_string_end(item, at)?;
        return std::str::from_utf8(item.get(at + 1..end - 1)?).ok();
    }
    let needle = format!(" {name}=\"");
    let start = item
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())?
        + needle.len();
    let len = item[start..].iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&item[start..start + len]).ok()
}

/// The ids one item's bytes name under `name`: its own id or property ([`item_id`]), or,
/// for a `name` written `Property[].Key` (JSON), the `Key` of each object in the item's array
/// `Property` (`ArtistItems[].Id`: every artist a track names), in order. Read with
/// serde_json: only the ids are wanted, not their bytes.
pub(super) fn named_ids(item: &[u8], name: &str) -> Vec<Box<str>> {
    let Some((array, key)) = name.split_once("[].") else {
        return item_id(item, name).map(Box::from).into_iter().collect();
    };
    let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(item) else {
        return Vec::new();
    };
    let Some(serde_json::Value::Array(entries)) = object.get(array) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| entry.get(key)?.as_str().map(Box::from))
        .collect()
}

/// Where the items of an answer are: XML child elements of the root element, or the entries
/// of a JSON array.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Children {
    pub(crate) items: Vec<std::ops::Range<usize>>,
}

impl Children {
    /// The items of `body`: a JSON answer's entries of the array at property path `json_path`,
    /// or an XML answer's root element's children.
    pub(crate) fn of(body: &[u8], json_path: &[&str]) -> Option<Children> {
        if is_json(body) {
            json_array_at(body, json_path).map(|items| Children { items })
        } else {
            xml_children(body)
        }
    }

    /// The bytes before and after the only item (a single answer's frame).
    pub(crate) fn frame<'a>(&self, body: &'a [u8]) -> Option<(&'a [u8], &'a [u8])> {
        match self.items.as_slice() {
            [one] => Some((&body[..one.start], &body[one.end..])),
            _ => None,
        }
    }
}

#[derive(PartialEq, Eq)]
enum TagKind {
    Open,
    Close,
    Empty,
    /// Declaration, comment, processing instruction.
    Other,
}

/// The tag starting at `at` (a `<`): where it ends (after `>`) and its kind.
fn xml_tag(body: &[u8], at: usize) -> Option<(usize, TagKind)> {
    let next = *body.get(at + 1)?;
    if body[at..].starts_with(b"<!--") {
        let end = body[at..].windows(3).position(|w| w == b"-->")? + at + 3;
        return Some((end, TagKind::Other));
    }
    let mut i = at + 1;
    while i < body.len() {
        let b = body[i];
        match b {
            b'"' | b'\'' => {
                // Straight past the quoted value (an item's attributes are most of its tag).
                i += 1 + memchr::memchr(b, body.get(i + 1..)?)?;
            }
            b'>' => {
                let kind = match next {
                    b'/' => TagKind::Close,
                    b'?' | b'!' => TagKind::Other,
                    _ if body[i - 1] == b'/' => TagKind::Empty,
                    _ => TagKind::Open,
                };
                return Some((i + 1, kind));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn xml_children(body: &[u8]) -> Option<Children> {
    let mut pos = 0;
    // The root element's start tag.
    let root_open = loop {
        let at = pos + body[pos..].iter().position(|&b| b == b'<')?;
        let (end, kind) = xml_tag(body, at)?;
        pos = end;
        match kind {
            TagKind::Other => continue,
            TagKind::Open => break true,
            TagKind::Empty => break false,
            TagKind::Close => return None,
        }
    };
    let mut items = Vec::new();
    if !root_open {
        return Some(Children { items });
    }
    let mut depth = 0usize;
    let mut start = 0;
    loop {
        let rel = body[pos..].iter().position(|&b| b == b'<')?;
        // Text directly in the container is not something this splitter knows.
        if depth == 0 && !body[pos..pos + rel].iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let at = pos + rel;
        let (end, kind) = xml_tag(body, at)?;
        match kind {
            TagKind::Other => {}
            TagKind::Open => {
                if depth == 0 {
                    start = at;
                }
                depth += 1;
            }
            TagKind::Empty => {
                if depth == 0 {
                    items.push(at..end);
                }
            }
            TagKind::Close => {
                if depth == 0 {
                    return Some(Children { items });
                }
                depth -= 1;
                if depth == 0 {
                    items.push(start..end);
                }
            }
        }
        pos = end;
    }
}

fn skip_ws(body: &[u8], mut pos: usize) -> usize {
    while body.get(pos).is_some_and(u8::is_ascii_whitespace) {
        pos += 1;
    }
    pos
}

/// The end of the string starting at `pos` (a `"`), after its closing quote.
fn json_string_end(body: &[u8], pos: usize) -> Option<usize> {
    let mut i = pos + 1;
    loop {
        // Straight to the next quote or escape: strings are most of a listing's bytes, and
        // a page is split on every answer that may start a walk.
        i += memchr::memchr2(b'"', b'\\', body.get(i..)?)?;
        match body[i] {
            b'\\' => i += 2,
            _ => return Some(i + 1),
        }
    }
}

/// The end of the JSON value starting at `pos`.
fn json_value_end(body: &[u8], pos: usize) -> Option<usize> {
    match *body.get(pos)? {
        b'"' => json_string_end(body, pos),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = pos;
            while i < body.len() {
                match body[i] {
                    b'"' => {
                        i = json_string_end(body, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let mut i = pos;
            while i < body.len() && !matches!(body[i], b',' | b'}' | b']') {
                i += 1;
            }
            Some(i)
        }
    }
}

/// Where the value of property `key` (quoted) of the JSON object at `pos` starts.
fn json_property(body: &[u8], pos: usize, key: &[u8]) -> Option<usize> {
    let mut pos = skip_ws(body, pos);
    if body.get(pos) != Some(&b'{') {
        return None;
    }
    pos = skip_ws(body, pos + 1);
    while body.get(pos) != Some(&b'}') {
        let key_end = json_string_end(body, pos)?;
        let wanted = &body[pos..key_end] == key;
        pos = skip_ws(body, key_end);
        if body.get(pos) != Some(&b':') {
            return None;
        }
        pos = skip_ws(body, pos + 1);
        if wanted {
            return Some(pos);
        }
        pos = skip_ws(body, json_value_end(body, pos)?);
        match body.get(pos)? {
            b',' => pos = skip_ws(body, pos + 1),
            b'}' => {}
            _ => return None,
        }
    }
    None
}

/// The entries of the JSON array that property path `path` leads to from the root object.
fn json_array_at(body: &[u8], path: &[&str]) -> Option<Vec<std::ops::Range<usize>>> {
    let mut pos = 0;
    for name in path {
        let key = format!("\"{name}\"");
        pos = json_property(body, pos, key.as_bytes())?;
    }
    if body.get(pos) != Some(&b'[') {
        return None;
    }
    let mut found = Vec::new();
    pos = skip_ws(body, pos + 1);
    while body.get(pos) != Some(&b']') {
        let end = json_value_end(body, pos)?;
        found.push(pos..end);
        pos = skip_ws(body, end);
        match body.get(pos)? {
            b',' => pos = skip_ws(body, pos + 1),
            b']' => {}
            _ => return None,
        }
    }
    Some(found)
}
