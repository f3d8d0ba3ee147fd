//! One element of a server's document as the library copy keeps it: a tree of typed
//! attributes and children ([`Element`]), read from the server's JSON, stored with postcard
//! and read back borrowed ([`ElementRef`], [`AttrsRef`]). Which names an element carries,
//! what of it is one user's and how it is written back are the server's (`plex/kept.rs`);
//! the copy's words for what it keeps are [`crate::kept`]'s.
//! A leaf: it imports nothing of the crate.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

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
