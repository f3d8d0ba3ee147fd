//! One element of a server's document as the library copy keeps it: a tree of typed
//! attributes and children ([`Element`]), read from the server's JSON, stored with postcard
//! and read back borrowed ([`ElementRef`], [`AttrsRef`]), and written into the document tree
//! answers are written in. Which names an element carries, and what of it is one user's, are
//! the server's (`plex/kept.rs`); the copy's words for what it keeps are [`crate::kept`]'s.
//! A leaf: it imports nothing of the crate.

use std::fmt;
use std::sync::{OnceLock, RwLock};

use cachearr_serverfmt::plex::{El, V};
use rustc_hash::FxHashMap;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// Distinct attribute and child names an answer written from kept elements uses (a server
/// uses a few hundred; the cap bounds what a misbehaving one could make the gateway keep).
const MAX_NAMES: usize = 4096;

/// One attribute value, typed as the server's JSON typed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Scalar {
    /// Text.
    S(String),
    /// A whole number.
    I(i64),
    /// A fraction.
    F(f64),
    /// A boolean.
    B(bool),
}

/// One element of a server document: its attributes and its children (grouped under the key
/// the JSON puts them in), each in the server's order. The derived form is the stored one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Element {
    /// Attributes in order.
    pub attrs: Vec<(String, Scalar)>,
    /// Children by key (`Media`, `Part`, `Guid`, `Genre` …), in order.
    pub kids: Vec<(String, Vec<Element>)>,
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&Scalar> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Attribute `name` as text: a non-empty string or a whole number.
    pub fn text(&self, name: &str) -> Option<String> {
        match self.attr(name)? {
            Scalar::S(s) if !s.is_empty() => Some(s.clone()),
            Scalar::I(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// An [`Element`] as read back from its stored bytes for an answer: the same stored form, its
/// text borrowed from the bytes instead of copied into strings of its own (the copy's answers
/// read an element per item, and the copies were a fifth of their time).
#[derive(Deserialize)]
pub struct ElementRef<'a> {
    /// Attributes in order.
    #[serde(borrow)]
    pub attrs: Vec<(&'a str, ScalarRef<'a>)>,
    /// Children by key, in order.
    #[serde(borrow)]
    pub kids: Vec<(&'a str, Vec<ElementRef<'a>>)>,
}

/// A [`Scalar`] borrowed from the stored bytes (the variants in the same order).
#[derive(Deserialize)]
pub enum ScalarRef<'a> {
    /// Text.
    S(&'a str),
    /// A whole number.
    I(i64),
    /// A fraction.
    F(f64),
    /// A boolean.
    B(bool),
}

/// The attributes of a stored [`Element`], read without its children: postcard writes the
/// attributes first, so reading them alone leaves the children's bytes unread.
#[derive(Deserialize)]
pub struct AttrsRef<'a> {
    /// Attributes in order.
    #[serde(borrow)]
    pub attrs: Vec<(&'a str, ScalarRef<'a>)>,
}

impl AttrsRef<'_> {
    /// The attributes as an [`Element`] without children.
    pub fn owned(&self) -> Element {
        let attrs = self
            .attrs
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    ScalarRef::S(s) => Scalar::S((*s).to_owned()),
                    ScalarRef::I(n) => Scalar::I(*n),
                    ScalarRef::F(f) => Scalar::F(*f),
                    ScalarRef::B(b) => Scalar::B(*b),
                };
                ((*k).to_owned(), v)
            })
            .collect();
        Element {
            attrs,
            kids: Vec::new(),
        }
    }
}

impl ElementRef<'_> {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&ScalarRef<'_>> {
        self.attrs.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

/// A value inside an element while it is read: an attribute, a list of children, or
/// something an element never holds (then the element is not kept).
enum Field {
    Scalar(Scalar),
    Kids(Vec<Element>),
    Null,
    Other,
}

/// An [`Element`] read from the server's JSON.
pub(crate) struct JsonElement(pub(crate) Element);

impl<'de> Deserialize<'de> for JsonElement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ElementVisitor;
        impl<'de> Visitor<'de> for ElementVisitor {
            type Value = JsonElement;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a kept element (JSON object)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonElement, A::Error> {
                let mut e = Element::default();
                while let Some(key) = map.next_key::<String>()? {
                    match map.next_value::<Field>()? {
                        Field::Scalar(v) => e.attrs.push((key, v)),
                        Field::Kids(kids) => e.kids.push((key, kids)),
                        // A null is left out, as the XML form of the element would.
                        Field::Null => {}
                        Field::Other => {
                            return Err(de::Error::custom(format!("unexpected value in {key}")));
                        }
                    }
                }
                Ok(JsonElement(e))
            }
        }
        d.deserialize_map(ElementVisitor)
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an attribute value or a list of elements")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Field, E> {
                Ok(Field::Scalar(Scalar::B(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field, E> {
                Ok(Field::Scalar(Scalar::I(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field, E> {
                Ok(i64::try_from(v).map_or(Field::Other, |n| Field::Scalar(Scalar::I(n))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Field, E> {
                Ok(Field::Scalar(Scalar::F(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(Field::Scalar(Scalar::S(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Field, E> {
                Ok(Field::Scalar(Scalar::S(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
                Ok(Field::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Field, E> {
                Ok(Field::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field, A::Error> {
                let mut kids = Vec::new();
                while let Some(JsonElement(kid)) = seq.next_element::<JsonElement>()? {
                    kids.push(kid);
                }
                Ok(Field::Kids(kids))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Field::Other)
            }
        }
        d.deserialize_any(FieldVisitor)
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
pub(crate) fn fill(mut el: El, e: &Element, left_out: Option<&str>) -> Option<El> {
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
pub(crate) fn fill_ref(mut el: El, e: &ElementRef<'_>, left_out: Option<&str>) -> Option<El> {
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
