//! The server's own `BaseItemDto`s, as the crawl keeps them and as an answer from the index
//! writes them: [`Doc`] holds a JSON document in the server's property order (an answer must
//! be the server's bytes, and `serde_json::Value` sorts its keys), and [`DtoOptions`]
//! projects a kept document to what a request asks for, as the server's `DtoService` shapes
//! an item for its `DtoOptions`.
//!
//! # What a kept document is
//! The crawl reads every item with [`CRAWL_FIELDS`] (every field whose properties depend on
//! the item alone, and the [`PER_USER`] ones as the server writes them for the crawl's own
//! token), images on with no limit, and user data on; the user data is kept as the
//! server writes it for a user with none ([`Doc::without_user_state`]: only its `Key` and
//! `ItemId` are the item's), and the asking user's is put back per answer.
//!
//! # What a request may ask for
//! * `Fields`: each name in [`GATED`] removes its properties from the kept document unless
//!   asked for. Those in [`PER_USER`] may be written otherwise for another user (a user's
//!   language and transcoding policy in `MediaSources`, the leaves they see in
//!   `RecursiveItemCount`): an answer asking them is written only where it was proven on the
//!   asking user's own server answers ([`DtoOptions::per_user`]). `ItemCounts` gates nothing
//!   but on an artist (whose counts the copy does not keep). A name the server does not know
//!   is skipped, as its comma-list binder skips a value it cannot read (Jellyfin for Kodi asks
//!   `Writer`, `Metascore` …). Any other field (`CanDelete`, `ChildCount` …) makes the request
//!   the server's.
//! * `EnableImages`, `ImageTypeLimit`, `EnableImageTypes`: an image type's limit is the
//!   `ImageTypeLimit` when images are on and the type is enabled, else 0
//!   (`DtoOptions.GetImageLimit`). `ImageTags` keeps the types whose limit is above 0 (and is
//!   left out with images off), `BackdropImageTags` is written only with a backdrop limit above
//!   0 and holds at most that many. A document with inherited images (`Parent…ImageTag`,
//!   `SeriesPrimaryImageTag` …) or blur hashes is answered only with the default image options:
//!   those depend on the limits in ways not projected here.
//! * `EnableUserData`: `UserData` is left out when `false`, else the asking user's.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::answers::ItemsShown;

/// A JSON value that keeps its objects' property order.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as the server wrote it (integer or float).
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Doc>),
    /// An object, in the server's order.
    Object(Vec<(String, Doc)>),
}

impl Doc {
    /// Property `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Doc> {
        match self {
            Doc::Object(props) => props.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Doc> {
        match self {
            Doc::Object(props) => props.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Doc::String(s) => Some(s),
            _ => None,
        }
    }

    /// The items of a `QueryResult` answer (`{"Items":[…],…}`), each in the server's order.
    pub fn items_of(body: &[u8]) -> Option<Vec<Doc>> {
        match serde_json::from_slice::<Doc>(body).ok()? {
            Doc::Object(props) => {
                props
                    .into_iter()
                    .find(|(k, _)| k == "Items")
                    .and_then(|(_, items)| match items {
                        Doc::Array(list) => Some(list),
                        _ => None,
                    })
            }
            _ => None,
        }
    }

    /// The document with the user data a user without any would have: `Key` and `ItemId`
    /// (the item's), nothing played, no position, not a favourite; the server writes
    /// `UserData` so for an item the user never touched.
    #[must_use]
    pub fn without_user_state(mut self) -> Doc {
        if let Some(data) = self.get_mut("UserData") {
            *data = default_user_data(data);
        }
        self
    }

    /// The JSON text.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// An item's document as the library copy keeps it ([`kept_documents`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptDocument {
    /// The item's id.
    pub id: String,
    /// The series a season belongs to (the copy lists a series' seasons by it).
    pub season_of: Option<String>,
    /// The document as kept: the server's, with the user data of a user who never touched
    /// the item ([`Doc::without_user_state`]).
    pub text: String,
}

/// The item documents of a server's `QueryResult` answer (`{"Items":[…]}`) as the library copy
/// keeps them, those without an `Id` left out; `None` when the body is not one.
pub fn kept_documents(body: &[u8]) -> Option<Vec<KeptDocument>> {
    let items = Doc::items_of(body)?;
    Some(
        items
            .into_iter()
            .filter_map(|item| {
                let id = item.get("Id").and_then(Doc::as_str)?.to_owned();
                let season_of = (item.get("Type").and_then(Doc::as_str) == Some("Season"))
                    .then(|| {
                        item.get("SeriesId")
                            .and_then(Doc::as_str)
                            .map(str::to_owned)
                    })
                    .flatten();
                Some(KeptDocument {
                    id,
                    season_of,
                    text: item.without_user_state().to_text(),
                })
            })
            .collect(),
    )
}

/// A user's `UserData` for an item they never touched, from any user's (`Key`, `ItemId`).
pub fn default_user_data(any: &Doc) -> Doc {
    let mut props = vec![
        (
            "PlaybackPositionTicks".to_owned(),
            Doc::Number(serde_json::Number::from(0)),
        ),
        (
            "PlayCount".to_owned(),
            Doc::Number(serde_json::Number::from(0)),
        ),
        ("IsFavorite".to_owned(), Doc::Bool(false)),
        ("Played".to_owned(), Doc::Bool(false)),
    ];
    for key in ["Key", "ItemId"] {
        if let Some(v) = any.get(key) {
            props.push((key.to_owned(), v.clone()));
        }
    }
    Doc::Object(props)
}

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Doc::Null => s.serialize_unit(),
            Doc::Bool(b) => s.serialize_bool(*b),
            Doc::Number(n) => n.serialize(s),
            Doc::String(t) => s.serialize_str(t),
            Doc::Array(list) => {
                let mut seq = s.serialize_seq(Some(list.len()))?;
                for v in list {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Doc::Object(props) => {
                let mut map = s.serialize_map(Some(props.len()))?;
                for (k, v) in props {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Doc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Doc;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Doc, E> {
                Ok(Doc::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Doc, E> {
                Ok(Doc::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Doc, E> {
                Ok(Doc::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Doc, E> {
                Ok(serde_json::Number::from_f64(v).map_or(Doc::Null, Doc::Number))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Doc, E> {
                Ok(Doc::String(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Doc, E> {
                Ok(Doc::String(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Doc, E> {
                Ok(Doc::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Doc, E> {
                Ok(Doc::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc, A::Error> {
                let mut list = Vec::new();
                while let Some(v) = seq.next_element()? {
                    list.push(v);
                }
                Ok(Doc::Array(list))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
                let mut props = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Doc>()? {
                    props.push((k, v));
                }
                Ok(Doc::Object(props))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `ItemFields` an answer from the index projects, and the `BaseItemDto` properties each
/// one gates in the server's `DtoService` (written only when the field is asked for). Each
/// depends on the item alone, so the crawl's document holds it for every user.
pub const GATED: &[(&str, &[&str])] = &[
    ("CustomRating", &["CustomRating"]),
    ("DateCreated", &["DateCreated"]),
    // A valid field that gates no property of a `BaseItemDto`.
    ("DateLastSaved", &[]),
    ("EnableMediaSourceDisplay", &["EnableMediaSourceDisplay"]),
    ("ExternalUrls", &["ExternalUrls"]),
    ("Genres", &["Genres", "GenreItems"]),
    ("OriginalTitle", &["OriginalTitle"]),
    ("Overview", &["Overview"]),
    ("ParentId", &["ParentId"]),
    ("Path", &["Path"]),
    ("PrimaryImageAspectRatio", &["PrimaryImageAspectRatio"]),
    ("ProductionLocations", &["ProductionLocations"]),
    ("ProviderIds", &["ProviderIds"]),
    ("RemoteTrailers", &["RemoteTrailers"]),
    ("SortName", &["SortName"]),
    ("Studios", &["Studios"]),
    ("Taglines", &["Taglines"]),
    ("Tags", &["Tags"]),
    ("Etag", &["Etag"]),
    ("People", &["People"]),
    ("LocalTrailerCount", &["LocalTrailerCount"]),
    ("AirTime", &["AirTime"]),
    (
        "SpecialEpisodeNumbers",
        &[
            "AirsBeforeSeasonNumber",
            "AirsAfterSeasonNumber",
            "AirsBeforeEpisodeNumber",
        ],
    ),
    ("MediaSources", &["MediaSources"]),
    ("RecursiveItemCount", &["RecursiveItemCount"]),
    ("CumulativeRunTimeTicks", &["CumulativeRunTimeTicks"]),
];

/// The [`GATED`] fields whose values may differ between users on the server (see the
/// module's documentation); with `Etag`, which the server derives per user.
pub const PER_USER: &[&str] = &[
    "Etag",
    "MediaSources",
    "RecursiveItemCount",
    "CumulativeRunTimeTicks",
];

/// The `Fields` the crawl asks for: every one in [`GATED`].
pub const CRAWL_FIELDS: &str = "CustomRating,DateCreated,DateLastSaved,EnableMediaSourceDisplay,\
ExternalUrls,Genres,OriginalTitle,Overview,ParentId,Path,PrimaryImageAspectRatio,\
ProductionLocations,ProviderIds,RemoteTrailers,SortName,Studios,Taglines,Tags,Etag,People,\
LocalTrailerCount,AirTime,SpecialEpisodeNumbers,MediaSources,RecursiveItemCount,\
CumulativeRunTimeTicks";

/// Every `ImageType` (the server's names, shared with the simulator).
use cachearr_serverfmt::jellyfin::IMAGE_TYPES;

/// Image properties an item inherits from its parents or series, and blur hashes: their
/// presence under other image options is not projected (see the module's documentation).
const INHERITED_IMAGES: &[&str] = &[
    "ParentLogoItemId",
    "ParentLogoImageTag",
    "ParentArtItemId",
    "ParentArtImageTag",
    "ParentThumbItemId",
    "ParentThumbImageTag",
    "ParentBackdropItemId",
    "ParentBackdropImageTags",
    "ParentPrimaryImageItemId",
    "ParentPrimaryImageTag",
    "SeriesPrimaryImageTag",
    "SeriesThumbImageTag",
    "ChannelPrimaryImageTag",
];

/// What a request asks of each item (the server's `DtoOptions`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DtoOptions {
    /// The [`GATED`] fields asked for (indexes into it).
    fields: Vec<usize>,
    /// `EnableImages`.
    images: bool,
    /// `ImageTypeLimit` (`None`: unlimited).
    limit: Option<usize>,
    /// `EnableImageTypes` (`None`: every type).
    types: Option<Vec<&'static str>>,
    /// `EnableUserData`.
    pub user_data: bool,
    /// `ItemCounts` asked for (it gates nothing but an artist's counts).
    item_counts: bool,
}

impl DtoOptions {
    /// From a request's parameters (names lower-cased); `None` for anything the projection
    /// does not do (a field outside [`GATED`], an unknown image type, a malformed value).
    pub fn parse(params: &[(String, String)]) -> Option<DtoOptions> {
        let flag = |name: &str| -> Option<bool> {
            match params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim())
            {
                None | Some("") => Some(true),
                Some(v) if v.eq_ignore_ascii_case("true") => Some(true),
                Some(v) if v.eq_ignore_ascii_case("false") => Some(false),
                Some(_) => None,
            }
        };
        let list = |name: &str| -> Vec<&str> {
            params
                .iter()
                .filter(|(k, _)| k == name)
                .flat_map(|(_, v)| v.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        };
        let mut fields = Vec::new();
        let mut item_counts = false;
        for name in list("fields") {
            if name.eq_ignore_ascii_case("ItemCounts") {
                item_counts = true;
                continue;
            }
            match GATED.iter().position(|(f, _)| f.eq_ignore_ascii_case(name)) {
                Some(at) => fields.push(at),
                // Not a field the server knows: skipped, as the server skips it.
                None if !cachearr_serverfmt::jellyfin::ITEM_FIELDS
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(name)) => {}
                None => return None,
            }
        }
        let mut types = Vec::new();
        for name in list("enableimagetypes") {
            types.push(*IMAGE_TYPES.iter().find(|t| t.eq_ignore_ascii_case(name))?);
        }
        let limit = match params
            .iter()
            .find(|(k, _)| k == "imagetypelimit")
            .map(|(_, v)| v.trim())
        {
            None | Some("") => None,
            Some(v) => Some(usize::try_from(v.parse::<i32>().ok()?).unwrap_or(0)),
        };
        Some(DtoOptions {
            fields,
            images: flag("enableimages")?,
            limit,
            types: (!types.is_empty()).then_some(types),
            user_data: flag("enableuserdata")?,
            item_counts,
        })
    }

    /// Whether a [`PER_USER`] field is asked for: the answer may be written otherwise for
    /// another user, so it is proven per user.
    pub fn per_user(&self) -> bool {
        self.fields
            .iter()
            .any(|&at| PER_USER.contains(&GATED[at].0))
    }

    /// `GetImageLimit(type)`.
    fn image_limit(&self, image_type: &str) -> usize {
        let listed = self
            .types
            .as_ref()
            .is_none_or(|types| types.contains(&image_type));
        if self.images && listed {
            self.limit.unwrap_or(usize::MAX)
        } else {
            0
        }
    }

    fn default_images(&self) -> bool {
        self.images && self.limit.is_none() && self.types.is_none()
    }

    /// The kept document `doc` as the server writes it for these options, with `user_data`
    /// (the asking user's) in place of the kept user data; `None` when this document cannot be
    /// projected for them (the server answers).
    pub fn project(&self, doc: &Doc, user_data: Option<Doc>) -> Option<Doc> {
        let Doc::Object(props) = doc else {
            return None;
        };
        if self.item_counts && doc.get("Type").and_then(Doc::as_str) == Some("MusicArtist") {
            return None;
        }
        // The server writes `Etag` whenever it is asked: a document without one was kept
        // before the crawl asked for it and the fields that came with it (an older data
        // directory, until its items are read again), and may lack what they write.
        doc.get("Etag")?;
        if !self.default_images() {
            let blur = doc
                .get("ImageBlurHashes")
                .is_some_and(|b| !matches!(b, Doc::Object(p) if p.is_empty()));
            if blur || INHERITED_IMAGES.iter().any(|k| doc.get(k).is_some()) {
                return None;
            }
        }
        let gated_off = |key: &str| -> bool {
            GATED
                .iter()
                .enumerate()
                .any(|(at, (_, gates))| gates.contains(&key) && !self.fields.contains(&at))
        };
        let mut out: Vec<(String, Doc)> = Vec::with_capacity(props.len());
        for (key, value) in props {
            if gated_off(key) {
                continue;
            }
            match key.as_str() {
                "UserData" => {
                    if self.user_data {
                        out.push((key.clone(), user_data.clone()?));
                    }
                }
                "ImageTags" => {
                    if !self.images {
                        continue;
                    }
                    let Doc::Object(tags) = value else {
                        return None;
                    };
                    let kept = tags
                        .iter()
                        .filter(|(t, _)| self.image_limit(t) > 0)
                        .cloned()
                        .collect();
                    out.push((key.clone(), Doc::Object(kept)));
                }
                "BackdropImageTags" => {
                    let limit = self.image_limit("Backdrop");
                    if limit == 0 {
                        continue;
                    }
                    let Doc::Array(tags) = value else {
                        return None;
                    };
                    let kept = tags.iter().take(limit).cloned().collect();
                    out.push((key.clone(), Doc::Array(kept)));
                }
                _ => out.push((key.clone(), value.clone())),
            }
        }
        Some(Doc::Object(out))
    }

    /// The kept document `doc` written for these options and cut where the asking user's
    /// `UserData` goes ([`CutDocument`]), that data read from the listings of `listing` (the
    /// document's type); `None` when it cannot be projected for them, or its user data
    /// cannot be written (no `UserData` kept): the server answers.
    pub fn cut(&self, doc: &Doc, listing: &'static str) -> Option<CutDocument> {
        if !self.user_data {
            let whole = self.project(doc, None)?.to_text();
            return Some(CutDocument::whole(whole));
        }
        let untouched = default_user_data(doc.get("UserData")?).to_text();
        let marked = self
            .project(doc, Some(Doc::String(USER_DATA_MARK.to_owned())))?
            .to_text();
        // The mark as JSON writes it: a string no server's document holds twice.
        let mark = serde_json::to_string(USER_DATA_MARK).ok()?;
        let at = marked.find(&mark)?;
        if marked[at + mark.len()..].contains(&mark) {
            return None;
        }
        Some(CutDocument {
            head: marked[..at].to_owned(),
            tail: marked[at + mark.len()..].to_owned(),
            untouched,
            listing: Some(listing),
            ids: ItemsShown::default(),
        })
    }
}

/// What stands for the user's `UserData` in a projection cut by [`DtoOptions::cut`]: control
/// characters a server's text escapes and never writes, around a name.
const USER_DATA_MARK: &str = "\u{1}cachearr-user-data\u{1}";

/// A kept document written for one request's options ([`DtoOptions::cut`]), cut where the
/// asking user's `UserData` goes: each answer in those options copies its two halves around
/// the user's own text ([`CutDocument::untouched`] for an item they never touched), where it
/// would parse the document, project it and write it (docs/benchmarks.md, "What an answer
/// from the copy costs the gateway").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutDocument {
    /// The text before the user's data (the whole text when no user data is written).
    pub head: String,
    /// The text after it.
    pub tail: String,
    /// The `UserData` of a user who never touched the item.
    pub untouched: String,
    /// The type of item the user's data is read from the listings of
    /// ([`super::user_state::listing_type`]); `None`: no user data is written.
    pub listing: Option<&'static str>,
    /// The ids the written document shows and names, as the change feed reads them from an
    /// answer holding it (filled by its writer).
    pub ids: ItemsShown,
}

impl CutDocument {
    fn whole(text: String) -> CutDocument {
        CutDocument {
            head: text,
            tail: String::new(),
            untouched: String::new(),
            listing: None,
            ids: ItemsShown::default(),
        }
    }

    /// The bytes it holds.
    pub fn len(&self) -> usize {
        self.head.len() + self.tail.len() + self.untouched.len()
    }

    /// Whether it holds no text.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The document as written for a user who never touched it.
    pub fn untouched_text(&self) -> String {
        let mut out = String::with_capacity(self.len());
        self.write_onto(&mut out, None);
        out
    }

    /// Writes it onto `out` with `user_data` (the asking user's own `UserData` text, `None`
    /// for an item they never touched).
    pub fn write_onto(&self, out: &mut String, user_data: Option<&str>) {
        out.push_str(&self.head);
        if self.listing.is_some() {
            out.push_str(user_data.unwrap_or(&self.untouched));
        }
        out.push_str(&self.tail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect()
    }

    const DOC: &str = r#"{"Name":"Song","ServerId":"s","Id":"a1","Path":"/m/a.flac",
        "RunTimeTicks":10,"IsFolder":false,"Type":"Audio","UserData":{"PlaybackPositionTicks":5,
        "PlayCount":2,"IsFavorite":true,"LastPlayedDate":"2024-01-01T00:00:00.0000000Z",
        "Played":true,"Key":"k1","ItemId":"a1"},"ImageTags":{"Primary":"p","Logo":"l"},
        "BackdropImageTags":["b1","b2"],"LocationType":"FileSystem","Etag":"e1"}"#;

    #[test]
    fn the_servers_order_survives_and_user_state_is_cleared() {
        let doc: Doc = serde_json::from_str(DOC).unwrap();
        let doc = doc.without_user_state();
        let text = doc.to_text();
        assert!(text.starts_with(r#"{"Name":"Song","ServerId":"s","Id":"a1""#));
        assert!(text.contains(
            r#""UserData":{"PlaybackPositionTicks":0,"PlayCount":0,"IsFavorite":false,"Played":false,"Key":"k1","ItemId":"a1"}"#
        ));
    }

    #[test]
    fn fields_and_image_options_project_as_the_server_shapes_them() {
        let doc: Doc = serde_json::from_str(DOC).unwrap();
        let plain = DtoOptions::parse(&params("EnableUserData=false")).unwrap();
        let out = plain.project(&doc, None).unwrap().to_text();
        assert!(!out.contains("Path") && !out.contains("UserData"));
        assert!(
            out.contains(
                r#""ImageTags":{"Primary":"p","Logo":"l"},"BackdropImageTags":["b1","b2"]"#
            )
        );
        let some = DtoOptions::parse(&params(
            "fields=path&ImageTypeLimit=1&EnableImageTypes=Primary,Backdrop",
        ))
        .unwrap();
        let data = Doc::Object(vec![("Played".into(), Doc::Bool(true))]);
        let out = some.project(&doc, Some(data)).unwrap().to_text();
        assert!(out.contains(r#""Path":"/m/a.flac""#));
        assert!(out.contains(r#""UserData":{"Played":true}"#));
        assert!(out.contains(r#""ImageTags":{"Primary":"p"},"BackdropImageTags":["b1"]"#));
        let off = DtoOptions::parse(&params("EnableImages=false&EnableUserData=false")).unwrap();
        let out = off.project(&doc, None).unwrap().to_text();
        assert!(!out.contains("ImageTags") && !out.contains("Backdrop"));
        let zero = DtoOptions::parse(&params("ImageTypeLimit=0&EnableUserData=false")).unwrap();
        assert!(
            zero.project(&doc, None)
                .unwrap()
                .to_text()
                .contains(r#""ImageTags":{}"#)
        );
        // User data asked for but not known: not projected.
        assert!(plain.project(&doc, None).is_some());
        assert!(
            DtoOptions::parse(&params(""))
                .unwrap()
                .project(&doc, None)
                .is_none()
        );
        for unknown in [
            "Fields=CanDelete",
            "Fields=Path,ChildCount",
            "EnableImageTypes=Nope",
            "ImageTypeLimit=x",
        ] {
            assert!(DtoOptions::parse(&params(unknown)).is_none(), "{unknown}");
        }
    }

    #[test]
    fn names_the_server_does_not_know_are_skipped_and_per_user_fields_said() {
        let doc: Doc = serde_json::from_str(DOC).unwrap();
        // Jellyfin for Kodi's list: names no `ItemFields` has are skipped by the server.
        let kodi = DtoOptions::parse(&params(
            "Fields=Path,Writer,Metascore,ShortOverview,VoteCount,OfficialRating,ItemCounts\
             &EnableUserData=false",
        ))
        .unwrap();
        assert_eq!(
            kodi,
            DtoOptions::parse(&params("Fields=Path&EnableUserData=false"))
                .map(|o| DtoOptions {
                    item_counts: true,
                    ..o
                })
                .unwrap()
        );
        assert!(!kodi.per_user());
        assert!(
            kodi.project(&doc, None)
                .unwrap()
                .to_text()
                .contains("\"Path\"")
        );
        // A document kept before the crawl asked for `Etag` and the fields with it.
        let older: Doc = serde_json::from_str(&DOC.replace(",\"Etag\":\"e1\"", "")).unwrap();
        assert!(kodi.project(&older, None).is_none());
        // An artist's counts are not kept.
        let artist: Doc =
            serde_json::from_str(&DOC.replace("\"Type\":\"Audio\"", "\"Type\":\"MusicArtist\""))
                .unwrap();
        assert!(kodi.project(&artist, None).is_none());
        for asked in [
            "MediaSources",
            "Etag",
            "RecursiveItemCount",
            "CumulativeRunTimeTicks",
        ] {
            let options =
                DtoOptions::parse(&params(&format!("Fields={asked}&EnableUserData=false")))
                    .unwrap();
            assert!(options.per_user(), "{asked}");
        }
        let people = DtoOptions::parse(&params("Fields=People&EnableUserData=false")).unwrap();
        assert!(!people.per_user());
    }

    /// An answer's documents are kept by id, a season with its series, each with the user
    /// data of a user who never touched it; an item without an id is left out.
    #[test]
    fn an_answers_documents_are_kept_by_id_without_user_state() {
        let body = format!(
            r#"{{"Items":[{DOC},{{"Name":"S1","Id":"s1","Type":"Season","SeriesId":"x"}},{{"Name":"no id"}}],"TotalRecordCount":3}}"#
        );
        let kept = kept_documents(body.as_bytes()).unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(
            (kept[0].id.as_str(), kept[0].season_of.as_deref()),
            ("a1", None)
        );
        assert!(
            kept[0].text.contains(r#""PlayCount":0,"IsFavorite":false"#),
            "{}",
            kept[0].text
        );
        assert_eq!(
            (kept[1].id.as_str(), kept[1].season_of.as_deref()),
            ("s1", Some("x"))
        );
        assert!(kept_documents(br#"{"MediaContainer":{}}"#).is_none());
        assert!(kept_documents(b"[").is_none());
    }

    /// A cut document written with a user's data is the projection written with it, for
    /// every form; with their data off it is the projection whole.
    #[test]
    fn a_cut_document_is_the_projection_with_the_users_data_between_its_halves() {
        let kept = serde_json::from_str::<Doc>(DOC)
            .unwrap()
            .without_user_state()
            .to_text();
        let doc: Doc = serde_json::from_str(&kept).unwrap();
        let theirs = r#"{"PlaybackPositionTicks":5,"PlayCount":2,"IsFavorite":true,"Played":true,"Key":"k1","ItemId":"a1"}"#;
        for query in [
            "",
            "fields=path&ImageTypeLimit=1",
            "EnableImages=false&Fields=Etag",
        ] {
            let options = DtoOptions::parse(&params(query)).unwrap();
            let cut = options.cut(&doc, "Audio").unwrap();
            assert_eq!(cut.listing, Some("Audio"), "{query}");
            for user_data in [None, Some(theirs)] {
                let mut written = String::new();
                cut.write_onto(&mut written, user_data);
                let data: Doc = match user_data {
                    Some(text) => serde_json::from_str(text).unwrap(),
                    None => default_user_data(doc.get("UserData").unwrap()),
                };
                let projected = options.project(&doc, Some(data)).unwrap().to_text();
                assert_eq!(written, projected, "{query} {user_data:?}");
            }
        }
        let off = DtoOptions::parse(&params("EnableUserData=false")).unwrap();
        let cut = off.cut(&doc, "Audio").unwrap();
        let mut written = String::new();
        cut.write_onto(&mut written, Some(theirs));
        assert_eq!(written, off.project(&doc, None).unwrap().to_text());
        assert_eq!(cut.listing, None);
        // Not written: a document without user data when it is asked, one not projected.
        let no_data = kept.replace(r#""UserData":"#, r#""Other":"#);
        assert!(
            DtoOptions::parse(&params(""))
                .unwrap()
                .cut(&serde_json::from_str(&no_data).unwrap(), "Audio")
                .is_none()
        );
        assert!(
            DtoOptions::parse(&params("ImageTypeLimit=1"))
                .unwrap()
                .cut(
                    &serde_json::from_str(&kept.replace(
                        r#""LocationType""#,
                        r#""SeriesPrimaryImageTag":"x","LocationType""#
                    ))
                    .unwrap(),
                    "Audio"
                )
                .is_none()
        );
    }
}
