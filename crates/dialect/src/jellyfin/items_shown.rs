//! Which items a Jellyfin answer shows and which it names as parents, for the change feed's
//! tags (`cachearr-upstream`'s `feed::value_tags`). Jellyfin's answers are JSON only, with ids in
//! named fields, so they are read with serde_json.
//!
//! Every answer stored in the cache is read so, the copy's and the server's alike: the reading
//! keeps the ids and skips the rest without building it ([`IgnoredAny`]). A `serde_json::Value`
//! of a page of items (a map per item, a string per property) cost more than writing the page.

use std::fmt;

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Jellyfin fields naming an item whose own fields (name, artwork) an answer shows. Not
/// `ParentId`: the fields an item repeats of its parent come with the parent's own field
/// (`Album` with `AlbumId`, `SeasonName` with `SeasonId`, `SeriesName` with `SeriesId`, the
/// images with their owners'), and where `ParentId` names anything else — a film's library
/// folder, which every add announces in `FoldersAddedTo` — the answer shows nothing of it.
const PARENT_REFS: [&str; 8] = [
    "SeriesId",
    "SeasonId",
    "AlbumId",
    "ParentLogoItemId",
    "ParentBackdropItemId",
    "ParentThumbItemId",
    "ParentArtItemId",
    "ParentPrimaryImageItemId",
];

/// Jellyfin: the items of `Items` (or the answer itself, one item) are shown; their parent
/// fields and the artists they list (`AlbumArtists`, `ArtistItems`) are named.
pub(super) fn scan_json_ids(body: &[u8], shown: &mut Vec<String>, named: &mut Vec<String>) {
    let Ok(answer) = serde_json::from_slice::<ItemIds>(body) else {
        return;
    };
    let mut take = |item: ItemIds| {
        shown.extend(item.id);
        named.extend(item.named);
    };
    match answer.items {
        Some(items) => items.into_iter().for_each(&mut take),
        None => take(answer),
    }
}

/// The ids an item (or an answer of items) holds: its own `Id`, those it names, and its
/// `Items` when they are a list.
#[derive(Debug, Default)]
struct ItemIds {
    id: Option<String>,
    named: Vec<String>,
    items: Option<Vec<ItemIds>>,
}

/// A visitor's methods for the values that hold no id (scalars, and what `$skip` skips),
/// each giving `$none`.
macro_rules! nothing_in_scalars {
    ($out:ty, $none:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$out, E> {
            Ok($none)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$out, E> {
            Ok($none)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$out, E> {
            Ok($none)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$out, E> {
            Ok($none)
        }
        fn visit_unit<E: de::Error>(self) -> Result<$out, E> {
            Ok($none)
        }
    };
}

impl<'de> Deserialize<'de> for ItemIds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

/// Reads an object's id fields; any other value is skipped and holds none.
struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = ItemIds;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ItemIds, A::Error> {
        let mut out = ItemIds::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let key = key.0.as_ref();
            if key == "Id" {
                out.id = map.next_value::<Id>()?.0;
            } else if PARENT_REFS.contains(&key) {
                out.named.extend(map.next_value::<Id>()?.0);
            } else if key == "AlbumArtists" || key == "ArtistItems" {
                let artists = map.next_value::<List>()?.0.unwrap_or_default();
                out.named.extend(artists.into_iter().filter_map(|a| a.id));
            } else if key == "Items" {
                out.items = map.next_value::<List>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ItemIds, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| ItemIds::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<ItemIds, E> {
        Ok(ItemIds::default())
    }

    nothing_in_scalars!(ItemIds, ItemIds::default());
}

/// An object's key, borrowed from the answer where it holds no escape.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// An id field's value: the id when it is a string that is a valid one
/// ([`crate::events::valid_id`]), else nothing.
struct Id(Option<String>);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id(crate::events::valid_id(v).map(str::to_owned)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Id, A::Error> {
                IgnoredAny.visit_map(map).map(|_| Id(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Id, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Id(None))
            }
            nothing_in_scalars!(Id, Id(None));
        }
        d.deserialize_any(IdVisitor)
    }
}

/// A list's items, when the value is a list.
struct List(Option<Vec<ItemIds>>);

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = List;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<ItemIds>()? {
                    out.push(item);
                }
                Ok(List(Some(out)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List, A::Error> {
                IgnoredAny.visit_map(map).map(|_| List(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<List, E> {
                Ok(List(None))
            }
            nothing_in_scalars!(List, List(None));
        }
        d.deserialize_any(ListVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(body: &str) -> (Vec<String>, Vec<String>) {
        let (mut shown, mut named) = (Vec::new(), Vec::new());
        scan_json_ids(body.as_bytes(), &mut shown, &mut named);
        (shown, named)
    }

    /// The ids read are those a `serde_json::Value` of the answer gives, whatever the other
    /// values are: ids that are not strings or not valid are none, and lists that are not
    /// lists hold none.
    #[test]
    fn the_ids_of_items_and_of_what_they_name_are_read_and_nothing_else() {
        let page = r#"{"Items":[
            {"Name":"E1","Id":"e1","SeriesId":"s1","SeasonId":"x1","UserData":{"Id":"no"},
             "ImageTags":{"Primary":"t"},"People":[{"Id":"p1","Name":"P"}],"Number":1.5,
             "Flag":true,"Nothing":null},
            {"Id":"a\u0031","AlbumId":"al","AlbumArtists":[{"Name":"A","Id":"ar1"},{"Id":7}],
             "ArtistItems":"not a list","ParentId":"folder","Items":[{"Id":"nested"}]},
            {"Id":"bad id!","ParentThumbItemId":["list"]},
            7, "text", null
        ],"TotalRecordCount":3}"#;
        let (shown, named) = ids(page);
        assert_eq!(shown, ["e1", "a1"]);
        assert_eq!(named, ["s1", "x1", "al", "ar1"]);
        // One item answered alone.
        let (shown, named) = ids(r#"{"Name":"Film","Id":"m1","ParentBackdropItemId":"b1"}"#);
        assert_eq!(
            (shown, named),
            (vec!["m1".to_string()], vec!["b1".to_string()])
        );
        // `Items` that is not a list: the answer is the item.
        let (shown, _) = ids(r#"{"Id":"m2","Items":{"Id":"no"}}"#);
        assert_eq!(shown, ["m2"]);
        // Not JSON, or not an object: nothing.
        for body in ["{", "[1,2]", "\"Id\"", ""] {
            assert_eq!(ids(body), (vec![], vec![]), "{body}");
        }
    }
}
