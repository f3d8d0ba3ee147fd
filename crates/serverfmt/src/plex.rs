//! Plex's response documents: one element tree rendered as XML (the default) or as the JSON
//! Plex produces for `Accept: application/json` (`{"MediaContainer": {attrs…, "Metadata": […]}}`,
//! numbers and booleans typed), whole ([`El::to_xml`], [`El::to_json`]) or streamed a child at
//! a time ([`El::xml_open`] … [`El::xml_close`], [`El::json_open`] … `]}}`).

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
        let mut out = String::with_capacity(256 + self.kids.len() * 600);
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
        let mut out = String::with_capacity(256 + self.kids.len() * 700);
        out.push('{');
        json_str(self.tag, &mut out);
        out.push(':');
        self.write_json(&mut out);
        out.push('}');
        out
    }

    fn write_attrs(&self, out: &mut String) {
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            match v {
                V::S(s) => escape_into(s, out),
                V::I(n) => {
                    let _ = write!(out, "{n}");
                }
                V::F(f) => {
                    let _ = write!(out, "{f}");
                }
                V::B(b) => out.push(if *b { '1' } else { '0' }),
            }
            out.push('"');
        }
    }

    fn write_xml(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.tag);
        self.write_attrs(out);
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
            match v {
                V::S(s) => json_str(s, out),
                V::I(n) => {
                    let _ = write!(out, "{n}");
                }
                V::F(f) => out.push_str(&serde_json::Value::from(*f).to_string()),
                V::B(b) => out.push_str(if *b { "true" } else { "false" }),
            }
        }
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

/// `s` as a JSON string literal.
fn json_str(s: &str, out: &mut String) {
    match serde_json::to_string(s) {
        Ok(lit) => out.push_str(&lit),
        Err(_) => out.push_str("\"\""),
    }
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

/// Plex's `titleSort`: the title without a leading English article ("The Wall" → "Wall"); a
/// title that is only the article keeps it.
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
    fn escapes_only_what_xml_needs() {
        let mut out = String::new();
        escape_into("été <b>\n\u{1}x\"&", &mut out);
        assert_eq!(out, "été &lt;b&gt;&#10;x&quot;&amp;");
    }

    #[test]
    fn title_sort_drops_a_leading_article() {
        assert_eq!(title_sort("The Wall"), "Wall");
        assert_eq!(title_sort("An Apple"), "Apple");
        assert_eq!(title_sort("The "), "The ");
        assert_eq!(title_sort("Theory"), "Theory");
    }
}
