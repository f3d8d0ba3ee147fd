//! The asking user's `UserData` in a Jellyfin answer from the index (`library::answer`), as
//! the server writes it for them: every item they touched, from two listings read as that user
//! ([`user_data`]), and a page of kept documents written with it ([`write_documents`]); how a
//! listing is read (through the cache, as the user, parsed once per version) is the
//! library's, handed in as a [`ReadAsUser`].

use rustc_hash::FxHashMap;

use std::sync::Arc;

use super::doc::{CutDocument, Doc, DtoOptions};
use crate::ReadAsUser;
use crate::answers::Documents;

/// One user's `UserData` for one type of item in one library: every item they
/// touched (played, started, resumed or favourited), as the server writes it for them.
///
/// It holds the listings it was read from, each parsed once per version of its answer
/// (through the cache): an answer looks its items up in them instead of gathering them.
#[derive(Debug, Default)]
pub struct UserData {
    listings: Vec<Arc<Touched>>,
}

impl UserData {
    /// The user's `UserData` of item `id` as the server would write it (JSON), where they
    /// touched the item; `None`: they never did (the kept document's untouched data is
    /// theirs, [`CutDocument::untouched`]).
    pub fn of(&self, id: &str) -> Option<&str> {
        // The later listing's where two hold an item (read a moment apart).
        self.listings
            .iter()
            .rev()
            .find_map(|listing| listing.data.get(id))
            .map(String::as_str)
    }
}

/// The item type whose listings a kept document's `UserData` is read from ([`user_data`]):
/// its `Type` as the crawl reads that type (`Audio`, `MusicAlbum` … in the server's case), or
/// `Season` (kept for a series' seasons, not indexed); `None` for a type the copy keeps no
/// listing of.
pub fn listing_type(doc: &Doc) -> Option<&'static str> {
    let name = doc.get("Type")?.as_str()?;
    if name == "Season" {
        return Some("Season");
    }
    Some(super::render::type_name(super::render::kind_of_type(name)?))
}

/// Kept document `kept` (its JSON text) written for `options` and cut where the user's data
/// goes ([`DtoOptions::cut`]); `None` when it cannot be (not a document, a type the copy reads
/// no listing of, not projected for the options): the server answers.
pub fn cut_document(options: &DtoOptions, kept: &[u8]) -> Option<CutDocument> {
    let doc: Doc = serde_json::from_slice(kept).ok()?;
    options.cut(&doc, listing_type(&doc)?)
}

/// Writes a page of `/Items` (`page`) from the server's kept documents, each written for the
/// request's options and cut where the user's data goes (`documents`: item id to its
/// [`CutDocument`]), with the asking user's `UserData` (read through `read`); `None` when a
/// document is not kept or the user's data cannot be read (the server answers).
pub async fn write_documents<D: std::ops::Deref<Target = CutDocument>>(
    page: &Documents,
    documents: impl Fn(&str) -> Option<D>,
    read: &impl ReadAsUser,
) -> Option<String> {
    let docs: Vec<(D, &str, &str)> = page
        .items
        .iter()
        .map(|(id, library)| Some((documents(id)?, id.as_str(), library.as_str())))
        .collect::<Option<_>>()?;
    // The user's data of each library and type on the page, read once: one type at a
    // time, the query the crawl read that type with, so it spans the items the index
    // holds of it (artists are not children of a music library's folder; how a server
    // lists them under it is its own).
    let mut data: Vec<((&str, &str), UserData)> = Vec::new();
    let mut uid = None;
    for (doc, _, library) in &docs {
        let Some(listing) = doc.listing else {
            continue;
        };
        let key = (*library, listing);
        if data.iter().any(|(k, _)| *k == key) {
            continue;
        }
        if uid.is_none() {
            uid = Some(read.own_id().await?);
        }
        let got = user_data(uid.as_deref()?, key.0, key.1, read).await?;
        data.push((key, got));
    }
    let weight: usize = docs.iter().map(|(doc, ..)| doc.len()).sum();
    let mut text = String::with_capacity(weight + 64);
    text.push_str("{\"Items\":[");
    for (n, (doc, id, library)) in docs.iter().enumerate() {
        if n > 0 {
            text.push(',');
        }
        let theirs = doc.listing.and_then(|listing| {
            let key = (*library, listing);
            let (_, read) = data.iter().find(|(k, _)| *k == key)?;
            read.of(id)
        });
        doc.write_onto(&mut text, theirs);
    }
    text.push_str(&format!(
        "],\"TotalRecordCount\":{},\"StartIndex\":{}}}",
        page.total, page.start
    ));
    Some(text)
}

/// Items per page of the played listing.
const PLAYED_PAGE: usize = 500;

/// The `UserData` of user `uid` (the token's own) for the items of type `item_type`
/// in `library`, or `None` when it cannot be read (the index must not answer).
///
/// Two listings as that user, read by `read` (through the cache): the favourites and liked items
/// (`Filters=IsFavoriteOrLikes`), and the items by date played, newest first
/// (`SortBy=DatePlayed&SortOrder=Descending`), read page by page until an item without a
/// `LastPlayedDate`: a play, a progress report and marking played all set it, so every item
/// played, started or resumable is before that point. An item in neither list has the user
/// data of an item never touched — except one the user only disliked (a rating under the
/// server's like threshold with no play and no favourite), which no listing can find but a
/// scan of the whole library.
pub async fn user_data(
    uid: &str,
    library: &str,
    item_type: &str,
    read: &impl ReadAsUser,
) -> Option<UserData> {
    let base = format!(
        "/Users/{uid}/Items?ParentId={library}&Recursive=true&IncludeItemTypes={item_type}\
         &EnableImages=false"
    );
    let mut out = UserData::default();
    out.listings.push(
        read.read(
            format!("{base}&Filters=IsFavoriteOrLikes"),
            parse_favourites,
        )
        .await?,
    );
    let mut start = 0;
    loop {
        let path = format!(
            "{base}&SortBy=DatePlayed&SortOrder=Descending&EnableTotalRecordCount=false\
             &StartIndex={start}&Limit={PLAYED_PAGE}"
        );
        let page = read.read(path, parse_played).await?;
        let ended = page.ended;
        out.listings.push(page);
        if ended {
            return Some(out);
        }
        start += PLAYED_PAGE;
    }
}

/// The items a listing read as a user says they touched: by id, the JSON text of their
/// `UserData`.
#[derive(Debug, Default)]
struct Touched {
    data: FxHashMap<String, String>,
    /// Whether the listing read by date played reached an item never played, or its end:
    /// no later page holds a played item.
    ended: bool,
}

/// Every item of the favourites listing.
fn parse_favourites(body: &[u8]) -> Option<Touched> {
    let mut out = Touched::default();
    for (id, data) in listing_data(body)? {
        out.data.insert(id, data.to_text());
    }
    Some(out)
}

/// A page of the listing by date played, up to its first item never played.
fn parse_played(body: &[u8]) -> Option<Touched> {
    let items = listing_data(body)?;
    let mut out = Touched {
        ended: items.len() < PLAYED_PAGE,
        ..Touched::default()
    };
    for (id, data) in items {
        if data.get("LastPlayedDate").is_none() {
            out.ended = true;
            break;
        }
        out.data.insert(id, data.to_text());
    }
    Some(out)
}

/// Each item's id and `UserData` of a listing, in order; `None` when an item has none (a
/// listing without user data cannot say what the user has).
fn listing_data(body: &[u8]) -> Option<Vec<(String, Doc)>> {
    Doc::items_of(body)?
        .into_iter()
        .map(|item| {
            let id = item.get("Id").and_then(Doc::as_str)?.to_owned();
            let data = item.get("UserData")?.clone();
            Some((id, data))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kept document of a type the copy reads no listing of, or text that is not one, is
    /// not cut: the server answers.
    #[test]
    fn a_document_is_cut_only_where_its_users_data_can_be_read() {
        let options = DtoOptions::parse(&[]).unwrap();
        let doc = |kind: &str| {
            format!(
                r#"{{"Name":"a","Id":"a1","Type":"{kind}","UserData":{{"Played":false,"Key":"k","ItemId":"a1"}},"Etag":"e"}}"#
            )
        };
        let cut = cut_document(&options, doc("Audio").as_bytes()).unwrap();
        assert_eq!(cut.listing, Some("Audio"));
        assert_eq!(
            cut_document(&options, doc("Season").as_bytes())
                .unwrap()
                .listing,
            Some("Season")
        );
        assert!(cut_document(&options, doc("Trailer").as_bytes()).is_none());
        assert!(cut_document(&options, b"{").is_none());
    }
}
