//! The asking user's `UserData` in a Jellyfin answer from the index (`library::answer`), as
//! the server writes it for them: every item they touched, from two listings read as that user
//! ([`user_data`]), and a page of kept documents written with it ([`write_documents`]); how a
//! listing is read (through the cache, as the user, parsed once per version) is the
//! library's, handed in as a [`ReadAsUser`].

use rustc_hash::FxHashMap;

use super::doc::{Doc, DtoOptions, default_user_data};
use crate::ReadAsUser;
use crate::answers::Documents;

/// One user's `UserData` for one type of item in one library: every item they
/// touched (played, started, resumed or favourited), as the server writes it for them.
#[derive(Debug, Default)]
pub struct UserData {
    data: FxHashMap<String, Doc>,
}

impl UserData {
    /// The user's `UserData` of item `id` as the server would write it: their own where they
    /// touched the item, else that of a user who never did (`kept`, the crawl's document's).
    pub fn of(&self, id: &str, kept: &Doc) -> Doc {
        match self.data.get(id) {
            Some(data) => data.clone(),
            None => default_user_data(kept),
        }
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

/// Writes a page of `/Items` (`page`) from the server's kept documents (`documents`), each
/// projected to the request's `options` with the asking user's `UserData` (read through
/// `read`); `None` when a document is not kept or the user's data cannot be read (the server
/// answers).
pub async fn write_documents(
    page: &Documents,
    options: &DtoOptions,
    documents: impl Fn(&str) -> Option<Doc>,
    read: &impl ReadAsUser,
) -> Option<String> {
    let docs: Vec<(Doc, &str)> = page
        .items
        .iter()
        .map(|(id, library)| Some((documents(id)?, library.as_str())))
        .collect::<Option<_>>()?;
    // The user's data of each library and type on the page, read once: one type at a
    // time, the query the crawl read that type with, so it spans the items the index
    // holds of it (artists are not children of a music library's folder; how a server
    // lists them under it is its own).
    let mut data: Vec<((&str, &str), UserData)> = Vec::new();
    if options.user_data && !docs.is_empty() {
        let uid = read.own_id().await?;
        for (doc, library) in &docs {
            let key = (*library, listing_type(doc)?);
            if data.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let got = user_data(&uid, key.0, key.1, read).await?;
            data.push((key, got));
        }
    }
    let mut text = String::from("{\"Items\":[");
    for (n, (doc, library)) in docs.iter().enumerate() {
        let key = (*library, listing_type(doc)?);
        let user_data = match data.iter().find(|(k, _)| *k == key) {
            Some((_, read)) => {
                let id = doc.get("Id").and_then(Doc::as_str)?;
                Some(read.of(id, doc.get("UserData")?))
            }
            None => None,
        };
        if n > 0 {
            text.push(',');
        }
        text.push_str(&options.project(doc, user_data)?.to_text());
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
    let favourites = read
        .read(format!("{base}&Filters=IsFavoriteOrLikes"), parse_listing)
        .await?;
    for (id, data) in &favourites.items {
        out.data.insert(id.clone(), data.clone());
    }
    let mut start = 0;
    loop {
        let path = format!(
            "{base}&SortBy=DatePlayed&SortOrder=Descending&EnableTotalRecordCount=false\
             &StartIndex={start}&Limit={PLAYED_PAGE}"
        );
        let page = read.read(path, parse_listing).await?;
        let mut ended = page.items.len() < PLAYED_PAGE;
        for (id, data) in &page.items {
            if data.get("LastPlayedDate").is_none() {
                ended = true;
                break;
            }
            out.data.insert(id.clone(), data.clone());
        }
        if ended {
            return Some(out);
        }
        start += PLAYED_PAGE;
    }
}

/// A Jellyfin listing with user data: each item's id and `UserData`, in order.
#[derive(Debug, Default)]
struct Listing {
    items: Vec<(String, Doc)>,
}

fn parse_listing(body: &[u8]) -> Option<Listing> {
    let mut out = Listing::default();
    for item in Doc::items_of(body)? {
        let id = item.get("Id").and_then(Doc::as_str)?.to_owned();
        // A listing without user data cannot say what the user has.
        let data = item.get("UserData")?.clone();
        out.items.push((id, data));
    }
    Some(out)
}
