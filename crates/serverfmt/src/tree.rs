//! The element tree response documents are built as, and its two renderings: XML (Plex's
//! default) and the JSON Plex produces for `Accept: application/json` (`{"MediaContainer":
//! {attrs…, "Metadata": […]}}`, numbers and booleans typed), whole ([`El::to_xml`],
//! [`El::to_json`]) or streamed a child at a time ([`El::xml_open`] … [`El::xml_close`],
//! [`El::json_open`] … `]}}`). It is named for what it is, not for the server whose documents
//! it first wrote: the library copy builds its answers as such trees whichever dialect
//! renders them.

use std::fmt::Write as _;

/// An attribute value. XML renders everything as text; JSON keeps numbers and booleans typed,
/// as Plex does.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    /// Text.
    S(String),
    /// A whole number.
    I(i64),
    /// A fraction (ratings, aspect ratios).
    F(f64),
    /// A boolean (`1`/`0` in XML, `true`/`false` in JSON).
    B(bool),
}

impl From<&str> for V {
    fn from(s: &str) -> Self {
        V::S(s.to_string())
    }
}
impl From<String> for V {
    fn from(s: String) -> Self {
        V::S(s)
    }
}
impl From<u32> for V {
    fn from(n: u32) -> Self {
        V::I(i64::from(n))
    }
}
impl From<u64> for V {
    fn from(n: u64) -> Self {
        V::I(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
impl From<i64> for V {
    fn from(n: i64) -> Self {
        V::I(n)
    }
}
impl From<usize> for V {
    fn from(n: usize) -> Self {
        V::I(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
impl From<bool> for V {
    fn from(b: bool) -> Self {
        V::B(b)
    }
}
impl From<f32> for V {
    fn from(f: f32) -> Self {
        V::F(f64::from(f))
    }
}

/// One element: XML tag, the JSON array it goes into, attributes, children.
#[derive(Debug, Clone, PartialEq)]
pub struct El {
    /// The XML tag (and the root key of a JSON document).
    pub tag: &'static str,
    /// The JSON array the element goes into inside its parent.
    pub json_key: &'static str,
    /// Attributes, in the order they are written.
    pub attrs: Vec<(&'static str, V)>,
    /// Children, in order.
    pub kids: Vec<El>,
    /// JSON writes this element as one object under its tag (`"Player":{…}`), not inside an
    /// array: what Plex does with the single children of a session (`User`, `Player`,
    /// `Session`), see [`El::object`].
    pub json_object: bool,
}

impl El {
    /// An element `tag`. Items (`Track`, `Video`, `Photo`, `Playlist`) go into JSON's
    /// `Metadata` array, as Plex puts them; everything else into an array named after its tag.
    pub fn new(tag: &'static str) -> Self {
        let json_key = match tag {
            "Track" | "Video" | "Photo" | "Playlist" => "Metadata",
            _ => tag,
        };
        Self::keyed(tag, json_key)
    }

    /// An element `tag` that goes into the JSON array `json_key`.
    pub fn keyed(tag: &'static str, json_key: &'static str) -> Self {
        Self {
            tag,
            json_key,
            attrs: Vec::new(),
            kids: Vec::new(),
            json_object: false,
        }
    }

    /// A single child that JSON writes as an object under its tag rather than as an array of
    /// one, as Plex writes a playing item's `User`, `Player` and `Session`.
    pub fn object(tag: &'static str) -> Self {
        Self {
            json_object: true,
            ..Self::keyed(tag, tag)
        }
    }

    /// A `Directory` that is a metadata item (artist, album, show, season): JSON puts it in
    /// `Metadata`, while section lists keep `Directory`.
    pub fn metadata_directory() -> Self {
        Self::keyed("Directory", "Metadata")
    }

    /// The `MediaContainer` every answer is wrapped in.
    pub fn container() -> Self {
        Self::new("MediaContainer")
    }

    /// Adds an attribute.
    #[must_use]
    pub fn a(mut self, k: &'static str, v: impl Into<V>) -> Self {
        self.attrs.push((k, v.into()));
        self
    }

    /// Sets an attribute: replaces its value where it already is, else adds it at the end.
    pub fn set(&mut self, k: &'static str, v: impl Into<V>) {
        let v = v.into();
        if let Some(slot) = self.attrs.iter_mut().find(|(key, _)| *key == k) {
            slot.1 = v;
        } else {
            self.attrs.push((k, v));
        }
    }

    /// Adds an attribute if there is a value.
    #[must_use]
    pub fn opt(self, k: &'static str, v: Option<impl Into<V>>) -> Self {
        match v {
            Some(v) => self.a(k, v),
            None => self,
        }
    }

    /// Adds a child.
    #[must_use]
    pub fn kid(mut self, e: El) -> Self {
        self.kids.push(e);
        self
    }

    /// The document as XML, with the declaration and a final newline, as Plex writes it.
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(64 + self.written_len());
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        self.write_xml(&mut out);
        out.push('\n');
        out
    }

    /// The XML declaration and the opening tag (for streamed documents).
    pub fn xml_open(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
        out.push_str(self.tag);
        self.write_attrs(&mut out);
        out.push('>');
        out
    }

    /// The closing tag matching [`El::xml_open`].
    pub fn xml_close(&self) -> String {
        format!("\n</{}>\n", self.tag)
    }

    /// `{"Tag":{attrs…,"key":[` — the start of a streamed JSON document whose children go in
    /// `key`; close it with `]}}`.
    pub fn json_open(&self, key: &str) -> String {
        let mut obj = String::new();
        self.write_json(&mut obj);
        obj.pop(); // the closing brace of the attributes object
        let sep = if obj.ends_with('{') { "" } else { "," };
        format!("{{\"{}\":{obj}{sep}\"{key}\":[", self.tag)
    }

    /// This element as one JSON object (an array entry of a streamed document).
    pub fn json_fragment(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends this element as XML (no declaration) to `out`: a child of a streamed document.
    pub fn write_xml_into(&self, out: &mut String) {
        self.write_xml(out);
    }

    /// The document as JSON: `{"Tag":{attrs…, "Key":[children…]}}`.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 + self.written_len());
        out.push('{');
        json_str(self.tag, &mut out);
        out.push(':');
        self.write_json(&mut out);
        out.push('}');
        out
    }

    /// About how long the document is written, in either format (a little more, rather than
    /// less): a document grown as it is written was copied again at every doubling, a tenth
    /// of writing a large answer.
    fn written_len(&self) -> usize {
        let attrs: usize = self
            .attrs
            .iter()
            .map(|(k, v)| {
                k.len()
                    + 8
                    + match v {
                        V::S(s) => s.len() + s.len() / 8,
                        _ => 24,
                    }
            })
            .sum();
        let kids: usize = self.kids.iter().map(El::written_len).sum();
        2 * self.tag.len() + 16 + attrs + kids
    }

    fn write_attrs(&self, out: &mut String) {
        for (k, v) in &self.attrs {
            push_xml_attr(out, k, v);
        }
    }

    /// This element as a child of a document (`json`: as JSON, else XML), cut in two just
    /// before attribute `at`: attributes written between the halves with [`push_attr`] come
    /// out as if they had been in the tree at that place. The library copy keeps items written
    /// this way and puts each user's play state between the halves, without a tree per
    /// answer. `None` when the cut cannot be made alike: no attribute before it (JSON would
    /// need no comma), or a name set twice (JSON writes it once).
    pub fn halves(&self, at: usize, json: bool) -> Option<(String, String)> {
        if at == 0 || at > self.attrs.len() {
            return None;
        }
        let (before, after) = self.attrs.split_at(at);
        let mut head = String::with_capacity(16 + self.written_len() / 4);
        let mut tail = String::with_capacity(16 + self.written_len());
        if json {
            if has_repeated_name(&self.attrs) {
                return None;
            }
            let ((k, v), rest) = before.split_first()?;
            head.push('{');
            json_str(k, &mut head);
            head.push(':');
            json_value(v, &mut head);
            for (k, v) in rest {
                push_attr(&mut head, k, v, true);
            }
        } else {
            head.push('<');
            head.push_str(self.tag);
            for (k, v) in before {
                push_xml_attr(&mut head, k, v);
            }
        }
        for (k, v) in after {
            push_attr(&mut tail, k, v, json);
        }
        if json {
            self.write_json_kids(false, &mut tail);
        } else {
            self.write_xml_rest(&mut tail);
        }
        Some((head, tail))
    }

    fn write_xml(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.tag);
        self.write_attrs(out);
        self.write_xml_rest(out);
    }

    /// What follows an element's attributes in XML: its end, or its children and closing tag.
    fn write_xml_rest(&self, out: &mut String) {
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

    /// This element as a JSON object: the attributes in their order (an attribute set twice
    /// once, with its last value), then the children grouped into their arrays, in the order
    /// the arrays first appear — the order Plex writes, which clients reading the text (not
    /// a parsed map) see.
    fn write_json(&self, out: &mut String) {
        out.push('{');
        let mut first = true;
        if !has_repeated_name(&self.attrs) {
            // Each name once (every element the servers write): no look-back per attribute,
            // which was a tenth of writing an answer from the library copy.
            for (k, v) in &self.attrs {
                if !first {
                    out.push(',');
                }
                first = false;
                json_str(k, out);
                out.push(':');
                json_value(v, out);
            }
            self.write_json_kids(first, out);
            return;
        }
        for (i, (k, _)) in self.attrs.iter().enumerate() {
            if self.attrs[..i].iter().any(|(seen, _)| seen == k) {
                continue;
            }
            let v = self
                .attrs
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map_or(&self.attrs[i].1, |(_, v)| v);
            if !first {
                out.push(',');
            }
            first = false;
            json_str(k, out);
            out.push(':');
            json_value(v, out);
        }
        self.write_json_kids(first, out);
    }

    /// The children of [`Self::write_json`]'s object, grouped into their arrays, and the
    /// object's end (`first`: no attribute was written).
    fn write_json_kids(&self, mut first: bool, out: &mut String) {
        let mut keys: Vec<&str> = Vec::new();
        for kid in &self.kids {
            if !keys.contains(&kid.json_key) {
                keys.push(kid.json_key);
            }
        }
        for key in keys {
            if !first {
                out.push(',');
            }
            first = false;
            json_str(key, out);
            if let Some(single) = self
                .kids
                .iter()
                .find(|k| k.json_key == key && k.json_object)
            {
                out.push(':');
                single.write_json(out);
                continue;
            }
            out.push_str(":[");
            let mut first_kid = true;
            for kid in self.kids.iter().filter(|k| k.json_key == key) {
                if !first_kid {
                    out.push(',');
                }
                first_kid = false;
                kid.write_json(out);
            }
            out.push(']');
        }
        out.push('}');
    }
}

/// Appends one attribute as an element's writer writes it after another: ` k="v"` in XML,
/// `,"k":v` in JSON (between the halves of [`El::halves`]).
pub fn push_attr(out: &mut String, k: &str, v: &V, json: bool) {
    if json {
        out.push(',');
        json_str(k, out);
        out.push(':');
        json_value(v, out);
    } else {
        push_xml_attr(out, k, v);
    }
}

/// ` k="v"`, the value escaped as XML needs.
fn push_xml_attr(out: &mut String, k: &str, v: &V) {
    out.push(' ');
    out.push_str(k);
    out.push_str("=\"");
    match v {
        V::S(s) => escape_into(s, out),
        V::I(n) => push_i64(out, *n),
        V::F(f) => {
            let _ = write!(out, "{f}");
        }
        V::B(b) => out.push(if *b { '1' } else { '0' }),
    }
    out.push('"');
}

/// `s` as a JSON string literal, escaped as `serde_json` escapes it: `"`, `\\` and control
/// characters; anything else as it is.
fn json_str(s: &str, out: &mut String) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        // Nearly every name and value: written without a string of its own.
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    match serde_json::to_string(s) {
        Ok(lit) => out.push_str(&lit),
        Err(_) => out.push_str("\"\""),
    }
}

/// An attribute's value in JSON: text as a string, numbers and booleans typed.
fn json_value(v: &V, out: &mut String) {
    match v {
        V::S(s) => json_str(s, out),
        V::I(n) => push_i64(out, *n),
        V::F(f) => out.push_str(&serde_json::Value::from(*f).to_string()),
        V::B(b) => out.push_str(if *b { "true" } else { "false" }),
    }
}

/// `n` in decimal, as `{n}` writes it, without the formatting machinery.
fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut n = n.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Whether an attribute name appears twice (then the JSON writes it once, with its last
/// value). Compares short hashes of the names first, so the usual answer — no — costs no
/// comparison of the names themselves.
fn has_repeated_name(attrs: &[(&'static str, V)]) -> bool {
    const MOST: usize = 96;
    if attrs.len() > MOST {
        return true;
    }
    let mut hashes = [0u64; MOST];
    for (slot, (k, _)) in hashes.iter_mut().zip(attrs) {
        // FNV-1a: a few nanoseconds for a name.
        *slot = k.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    }
    let hashes = &hashes[..attrs.len()];
    hashes.iter().enumerate().any(|(i, h)| {
        hashes[..i]
            .iter()
            .enumerate()
            .any(|(j, seen)| seen == h && attrs[j].0 == attrs[i].0)
    })
}

fn escape_into(s: &str, out: &mut String) {
    // Copy runs of ordinary text at once; only the (ASCII) special bytes are replaced, so the
    // slices always fall on character boundaries. Other control characters are dropped: XML
    // 1.0 cannot carry them at all.
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

#[cfg(test)]
mod tests {

    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn json_keeps_the_attribute_order_and_groups_children() {
        let doc = El::container()
            .a("size", 2u32)
            .a("allowSync", true)
            .a("title", "a \"b\"")
            .kid(
                El::new("Track")
                    .a("ratingKey", "9")
                    .kid(El::new("Media").a("id", 1u32)),
            )
            .kid(El::new("Hub").a("x", 1.5f32))
            .kid(El::new("Track").a("ratingKey", "10"))
            .a("size", 3u32);
        assert_eq!(
            doc.to_json(),
            r#"{"MediaContainer":{"size":3,"allowSync":true,"title":"a \"b\"","Metadata":[{"ratingKey":"9","Media":[{"id":1}]},{"ratingKey":"10"}],"Hub":[{"x":1.5}]}}"#
        );
    }

    #[test]
    fn text_and_numbers_are_written_as_serde_json_writes_them() {
        for text in [
            "",
            "plain",
            "Beyoncé – “Halo”",
            "a \"quoted\" \\ path",
            "tab\tline\nreturn\r",
            "\u{1}\u{1f}\u{7f}",
            "/library/metadata/1",
        ] {
            let mut out = String::new();
            json_str(text, &mut out);
            assert_eq!(out, serde_json::to_string(text).unwrap(), "{text:?}");
        }
        for n in [0, 7, -7, 1_700_000_000, i64::MAX, i64::MIN] {
            let mut out = String::new();
            push_i64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn a_name_set_twice_is_written_once_with_its_last_value() {
        let mut el = El::new("Track").a("ratingKey", "1");
        for i in 0..40u32 {
            el = el.a(["a", "b", "c", "d", "e", "f", "g", "h"][i as usize % 8], i);
        }
        assert!(has_repeated_name(&el.attrs));
        assert_eq!(
            el.json_fragment(),
            r#"{"ratingKey":"1","a":32,"b":33,"c":34,"d":35,"e":36,"f":37,"g":38,"h":39}"#
        );
        let once = El::new("Track").a("ratingKey", "1").a("title", "x");
        assert!(!has_repeated_name(&once.attrs));
    }

    #[test]
    fn renders_both_formats() {
        let c = El::container()
            .a("size", 1u32)
            .a("allowSync", true)
            .kid(
                El::new("Track")
                    .a("title", "Rock & \"Roll\"")
                    .a("index", 3u32)
                    .a("rating", 7.5f32),
            )
            .kid(El::new("Hub").a("size", 0usize));
        let xml = c.to_xml();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MediaContainer"));
        assert!(xml.contains("allowSync=\"1\""), "{xml}");
        assert!(
            xml.contains(
                "<Track title=\"Rock &amp; &quot;Roll&quot;\" index=\"3\" rating=\"7.5\"/>"
            ),
            "{xml}"
        );
        assert!(
            xml.ends_with("<Hub size=\"0\"/>\n</MediaContainer>\n"),
            "{xml}"
        );
        let json: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
        let container = &json["MediaContainer"];
        assert_eq!(container["size"], 1);
        assert_eq!(container["allowSync"], true);
        assert_eq!(container["Metadata"][0]["index"], 3);
        assert_eq!(container["Metadata"][0]["rating"], 7.5);
        assert_eq!(container["Hub"][0]["size"], 0);
    }

    #[test]
    fn an_object_child_is_written_as_an_object_in_json_and_as_an_element_in_xml() {
        let doc = El::new("Video")
            .a("ratingKey", "1")
            .kid(El::object("Player").a("local", true))
            .kid(El::new("Media").a("id", 2u32));
        assert_eq!(
            doc.to_json(),
            r#"{"Video":{"ratingKey":"1","Player":{"local":true},"Media":[{"id":2}]}}"#
        );
        assert!(doc.to_xml().contains("<Player local=\"1\"/>"));
    }

    #[test]
    fn json_keys_of_items_and_directories() {
        assert_eq!(El::new("Video").json_key, "Metadata");
        assert_eq!(El::new("Directory").json_key, "Directory");
        assert_eq!(El::metadata_directory().json_key, "Metadata");
        assert_eq!(El::keyed("Directory", "Metadata"), El::metadata_directory());
    }

    #[test]
    fn set_replaces_in_place() {
        let mut e = El::new("Track").a("a", 1u32).a("b", 2u32);
        e.set("a", "x");
        e.set("c", false);
        let names: Vec<&str> = e.attrs.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(e.attrs[0].1, V::S("x".into()));
    }

    #[test]
    fn streamed_pieces_make_the_whole_document() {
        let head = El::container().a("size", 2u32);
        let kids = [El::new("Track").a("k", 1u32), El::new("Track").a("k", 2u32)];
        let mut xml = head.xml_open();
        for kid in &kids {
            xml.push('\n');
            kid.write_xml_into(&mut xml);
        }
        xml.push_str(&head.xml_close());
        let whole = kids.iter().cloned().fold(head.clone(), El::kid);
        assert_eq!(xml, whole.to_xml());

        let fragments: Vec<String> = kids.iter().map(El::json_fragment).collect();
        let json = format!("{}{}]}}}}", head.json_open("Metadata"), fragments.join(","));
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        let expected: serde_json::Value = serde_json::from_str(&whole.to_json()).unwrap();
        assert_eq!(parsed, expected);
        // No attributes: no comma before the array.
        assert_eq!(
            El::container().json_open("Metadata"),
            "{\"MediaContainer\":{\"Metadata\":["
        );
    }

    #[test]
    fn halves_with_attributes_between_make_the_element_written_whole() {
        let track = El::new("Track")
            .a("ratingKey", "7")
            .a("title", "Rock & \"Roll\"")
            .a("year", 1999u32)
            .kid(
                El::new("Media")
                    .a("id", 1u32)
                    .kid(El::new("Part").a("id", 2u32)),
            )
            .kid(El::new("Guid").a("id", "mbid://x"));
        let between = [("viewCount", V::I(2)), ("userRating", V::F(7.5))];
        for at in 1..=track.attrs.len() {
            let mut whole = track.clone();
            whole.attrs.splice(at..at, between.iter().cloned());
            for json in [true, false] {
                let (head, tail) = track.halves(at, json).unwrap();
                let mut written = head;
                for (k, v) in &between {
                    push_attr(&mut written, k, v, json);
                }
                written.push_str(&tail);
                let expected = if json {
                    whole.json_fragment()
                } else {
                    let mut out = String::new();
                    whole.write_xml_into(&mut out);
                    out
                };
                assert_eq!(written, expected, "cut at {at}, json {json}");
            }
        }
        // An element without children closes itself in XML.
        let bare = El::new("Track").a("ratingKey", "1");
        let (head, tail) = bare.halves(1, false).unwrap();
        assert_eq!(format!("{head}{tail}"), "<Track ratingKey=\"1\"/>");
        // No cut before the first attribute, nor past the last, nor around a repeated name.
        assert!(bare.halves(0, true).is_none());
        assert!(bare.halves(2, true).is_none());
        let twice = El::new("Track").a("a", 1u32).a("a", 2u32);
        assert!(twice.halves(1, true).is_none());
        assert!(twice.halves(1, false).is_some());
    }

    #[test]
    fn escapes_only_what_xml_needs() {
        let mut out = String::new();
        escape_into("été <b>\n\u{1}x\"&", &mut out);
        assert_eq!(out, "été &lt;b&gt;&#10;x&quot;&amp;");
    }
}
