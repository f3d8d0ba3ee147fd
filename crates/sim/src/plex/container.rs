//! Plex's response documents: one element tree rendered as XML (the default) or as the JSON
//! Plex produces for `Accept: application/json` (`{"MediaContainer": {attrs…, "Metadata": […]}}`).

use std::fmt::Write as _;

/// An attribute value. XML renders everything as text; JSON keeps numbers and booleans typed,
/// as Plex does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    S(String),
    I(i64),
    F(f64),
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
        V::I(n as i64)
    }
}
impl From<i64> for V {
    fn from(n: i64) -> Self {
        V::I(n)
    }
}
impl From<usize> for V {
    fn from(n: usize) -> Self {
        V::I(n as i64)
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
pub(crate) struct El {
    pub(crate) tag: &'static str,
    pub(crate) json_key: &'static str,
    pub(crate) attrs: Vec<(&'static str, V)>,
    pub(crate) kids: Vec<El>,
}

impl El {
    pub(crate) fn new(tag: &'static str) -> Self {
        let json_key = match tag {
            "Track" | "Video" | "Photo" | "Playlist" => "Metadata",
            _ => tag,
        };
        Self {
            tag,
            json_key,
            attrs: Vec::new(),
            kids: Vec::new(),
        }
    }

    /// A `Directory` that is a metadata item (artist, album, show, season): JSON puts it in
    /// `Metadata`, while section lists keep `Directory`.
    pub(crate) fn metadata_directory() -> Self {
        Self {
            tag: "Directory",
            json_key: "Metadata",
            attrs: Vec::new(),
            kids: Vec::new(),
        }
    }

    pub(crate) fn container() -> Self {
        Self::new("MediaContainer")
    }

    pub(crate) fn a(mut self, k: &'static str, v: impl Into<V>) -> Self {
        self.attrs.push((k, v.into()));
        self
    }

    pub(crate) fn set(&mut self, k: &'static str, v: impl Into<V>) {
        let v = v.into();
        if let Some(slot) = self.attrs.iter_mut().find(|(key, _)| *key == k) {
            slot.1 = v;
        } else {
            self.attrs.push((k, v));
        }
    }

    pub(crate) fn opt(self, k: &'static str, v: Option<impl Into<V>>) -> Self {
        match v {
            Some(v) => self.a(k, v),
            None => self,
        }
    }

    pub(crate) fn kid(mut self, e: El) -> Self {
        self.kids.push(e);
        self
    }

    pub(crate) fn to_xml(&self) -> String {
        let mut out = String::with_capacity(256 + self.kids.len() * 600);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        self.write_xml(&mut out);
        out.push('\n');
        out
    }

    /// The XML declaration and the opening tag (for streamed documents).
    pub(crate) fn xml_open(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
        out.push_str(self.tag);
        self.write_attrs(&mut out);
        out.push('>');
        out
    }

    /// The closing tag matching [`El::xml_open`].
    pub(crate) fn xml_close(&self) -> String {
        format!("\n</{}>\n", self.tag)
    }

    /// `{"Tag":{attrs…,"key":[` — the start of a streamed JSON document whose children go in
    /// `key`; close it with `]}}`.
    pub(crate) fn json_open(&self, key: &str) -> String {
        let mut obj = self.json_value().to_string();
        obj.pop(); // the closing brace of the attributes object
        let sep = if obj.ends_with('{') { "" } else { "," };
        format!("{{\"{}\":{obj}{sep}\"{key}\":[", self.tag)
    }

    /// This element as one JSON object (an array entry of a streamed document).
    pub(crate) fn json_fragment(&self) -> String {
        self.json_value().to_string()
    }

    pub(crate) fn write_xml_into(&self, out: &mut String) {
        self.write_xml(out);
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

    pub(crate) fn to_json(&self) -> String {
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
                V::F(f) => serde_json::Value::from(*f),
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
    // Copy runs of ordinary text at once; only the (ASCII) special bytes are replaced, so the
    // slices always fall on character boundaries.
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
    use super::*;

    #[test]
    fn renders_both_formats() {
        let c = El::container().a("size", 1u32).kid(
            El::new("Track")
                .a("title", "Rock & \"Roll\"")
                .a("index", 3u32),
        );
        let xml = c.to_xml();
        assert!(
            xml.contains("<Track title=\"Rock &amp; &quot;Roll&quot;\" index=\"3\"/>"),
            "{xml}"
        );
        let json: serde_json::Value = serde_json::from_str(&c.to_json()).expect("json");
        assert_eq!(json["MediaContainer"]["Metadata"][0]["index"], 3);
        assert_eq!(json["MediaContainer"]["size"], 1);
    }

    #[test]
    fn escapes_only_what_xml_needs() {
        let mut out = String::new();
        escape_into("été <b>\n\u{1}x\"&", &mut out);
        assert_eq!(out, "été &lt;b&gt;&#10;x&quot;&amp;");
    }
}
