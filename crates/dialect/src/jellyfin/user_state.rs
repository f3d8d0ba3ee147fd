//! The asking user's `UserData` in a Jellyfin answer from the index (`upstream_index::answer`), as
//! the server writes it for them: every item they touched, from two listings read as that user
//! ([`user_data`]), and a page of kept documents written with it ([`write_documents`]); how a
//! listing is read (through the cache, as the user, parsed once per version) is the
//! library's, handed in as a [`ReadAsUser`].

use rustc_hash::FxHashMap;

use std::sync::Arc;

use super::doc::{CutDocument, Doc, DtoOptions};
use crate::ReadAsUser;
use crate::answers::{Documents, ItemsShown};

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
    let mut cut = options.cut(&doc, listing_type(&doc)?)?;
    // Read as the feed reads a page holding it (no user's data names an item).
    let page = format!("{{\"Items\":[{}]}}", cut.untouched_text());
    let ItemsShown { shown, named } = &mut cut.ids;
    super::items_shown::scan_json_ids(page.as_bytes(), shown, named);
    Some(cut)
}

/// Writes a page of `/Items` (`page`) from the server's kept documents, each written for the
/// request's options and cut where the user's data goes (`documents`: item id to its
/// [`CutDocument`]), with the asking user's `UserData` (read through `read`); `None` when a
/// document is not kept or the user's data cannot be read (the server answers). With the text,
/// the ids it shows and names.
pub async fn write_documents<D: std::ops::Deref<Target = CutDocument>>(
    page: &Documents,
    documents: impl Fn(&str) -> Option<D>,
    read: &impl ReadAsUser,
) -> Option<(String, ItemsShown)> {
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
    let mut ids = ItemsShown::default();
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
        ids.extend(&doc.ids);
    }
    text.push_str(&format!(
        "],\"TotalRecordCount\":{},\"StartIndex\":{}}}",
        page.total, page.start
    ));
    Some((text, ids))
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
    let played_page = |start: usize| {
        let path = format!(
            "{base}&SortBy=DatePlayed&SortOrder=Descending&EnableTotalRecordCount=false\
             &StartIndex={start}&Limit={PLAYED_PAGE}"
        );
        read.read(path, parse_played)
    };
    // The favourites and the first page played are read at once: on a cold cache each is a
    // round trip to the server. Later pages follow only when the one before did not end.
    let favourites = read.read(
        format!("{base}&Filters=IsFavoriteOrLikes"),
        parse_favourites,
    );
    let (favourites, first) = futures_util::future::join(favourites, played_page(0)).await;
    let mut out = UserData::default();
    out.listings.push(favourites?);
    let mut page = first?;
    let mut start = 0;
    loop {
        let ended = page.ended;
        out.listings.push(page);
        if ended {
            return Some(out);
        }
        start += PLAYED_PAGE;
        page = played_page(start).await?;
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
    use crate::in_flight::TestReads;

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

    /// Listings read as a user, by the kind of listing the path asks for.
    fn listings() -> TestReads<impl Fn(&str) -> String + Sync> {
        TestReads::new(|path: &str| {
            if path.contains("IsFavoriteOrLikes") {
                r#"{"Items":[{"Id":"0000000000000000000000000000000b","UserData":{"IsFavorite":true,"Key":"kb"}}]}"#
            } else {
                r#"{"Items":[{"Id":"0000000000000000000000000000000a","UserData":{"PlayCount":4,"Played":true,"LastPlayedDate":"2026-01-01T00:00:00Z","Key":"ka"}}]}"#
            }
            .to_string()
        })
    }

    /// A user's listings: a favourite, and the items played in two pages, the first full.
    fn played_pages() -> TestReads<impl Fn(&str) -> String + Sync> {
        let played = |n: usize, at: usize| {
            format!(
                r#"{{"Id":"{:032x}","UserData":{{"Played":true,"LastPlayedDate":"2026-01-01T00:00:00Z","Key":"k{n}"}}}}"#,
                at + n
            )
        };
        TestReads::new(move |path: &str| {
            if path.contains("IsFavoriteOrLikes") {
                r#"{"Items":[{"Id":"f0000000000000000000000000000000","UserData":{"IsFavorite":true,"Key":"kf"}}]}"#.to_string()
            } else if path.contains("StartIndex=0&") {
                // A full first page: the listing goes on.
                let items: Vec<String> = (0..PLAYED_PAGE).map(|n| played(n, 0x100)).collect();
                format!(r#"{{"Items":[{}]}}"#, items.join(","))
            } else {
                format!(r#"{{"Items":[{}]}}"#, played(0, 0x1000))
            }
        })
    }

    /// The favourites and the first page played are read at once; a full first page is
    /// followed by the next, and every listing's items are the user's.
    #[tokio::test]
    async fn a_users_favourites_and_first_played_page_are_read_at_once() {
        let read = played_pages();
        let data = user_data("u1", "lib", "Audio", &read).await.unwrap();
        assert_eq!(read.in_flight.most(), 2);
        let paths = read.paths.lock().unwrap().clone();
        assert_eq!(paths.len(), 3, "{paths:?}");
        assert!(
            paths[2].contains(&format!("StartIndex={PLAYED_PAGE}&")),
            "{paths:?}"
        );
        assert!(data.of("f0000000000000000000000000000000").is_some());
        assert!(data.of(&format!("{:032x}", 0x100)).is_some());
        assert!(data.of(&format!("{:032x}", 0x1000)).is_some());
        assert!(data.of(&format!("{:032x}", 0x2000)).is_none());
    }

    /// A page written from cut documents is each document with the user's own data (or an
    /// untouched item's), and the ids it says it shows are those its text shows.
    #[tokio::test]
    async fn a_page_of_cut_documents_carries_the_users_data_and_says_its_ids() {
        let doc = |id: &str, album: &str| {
            format!(
                r#"{{"Name":"t","Id":"{id}","AlbumId":"{album}","Type":"Audio","AlbumArtists":[{{"Name":"A","Id":"ar"}}],"UserData":{{"PlaybackPositionTicks":0,"PlayCount":0,"IsFavorite":false,"Played":false,"Key":"k{id}","ItemId":"{id}"}},"Etag":"e"}}"#
            )
        };
        let ids = [
            "0000000000000000000000000000000a",
            "0000000000000000000000000000000b",
            "0000000000000000000000000000000c",
        ];
        let options = DtoOptions::parse(&[]).unwrap();
        let cuts: Vec<Arc<CutDocument>> = ids
            .iter()
            .map(|id| Arc::new(cut_document(&options, doc(id, "al").as_bytes()).unwrap()))
            .collect();
        let page = Documents {
            items: ids
                .iter()
                .map(|id| (id.to_string(), "lib".to_string()))
                .collect(),
            total: 9,
            start: 3,
        };
        let of = |id: &str| cuts.iter().find(|c| c.head.contains(id)).cloned();
        let (text, said) = write_documents(&page, of, &listings()).await.unwrap();
        assert!(
            text.contains(r#""PlayCount":4,"Played":true,"LastPlayedDate""#),
            "{text}"
        );
        assert!(text.contains(r#"{"IsFavorite":true,"Key":"kb"}"#), "{text}");
        assert!(text.contains(r#""PlayCount":0,"IsFavorite":false,"Played":false,"Key":"k0000000000000000000000000000000c""#));
        assert!(text.ends_with(r#"],"TotalRecordCount":9,"StartIndex":3}"#));
        let mut read = ItemsShown::default();
        super::super::items_shown::scan_json_ids(text.as_bytes(), &mut read.shown, &mut read.named);
        assert_eq!(said, read);
        assert_eq!(said.shown, ids);
    }
}
