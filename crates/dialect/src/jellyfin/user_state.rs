//! The asking user's `UserData` in a Jellyfin answer from the index (`library::answer`), as
//! the server writes it for them: every item they touched, from two listings read as that user
//! ([`user_data`]); how a listing is read (through the cache, as the user, parsed once per
//! version) is the library's, handed in as a [`ReadAsUser`].

use rustc_hash::FxHashMap;

use super::doc::{Doc, default_user_data};
use crate::ReadAsUser;

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
