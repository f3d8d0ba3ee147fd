//! The asking user's play state for answers from the index, read from the server as that
//! user through the cache: the listings a Plex answer's play state is written from (their
//! paths and reading are the dialect's, `dialect::plex::user_state`; `ListingsAsUser` reads
//! them), and a library's Jellyfin `UserData` at a time ([`jellyfin_user_data`]).
//!
//! The listings are user-scoped cache entries, fresh for at most [`FRESH`] (a play or a
//! rating made through cachearr drops them at once with the user's play-state tag), read once
//! per answer and parsed once per version: the parse is kept with the user, by a hash of the
//! listing's body. When a listing cannot be had, or the route would not be user-scoped, the
//! answer is not given from the index: the server answers.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use rustc_hash::FxHashMap;

use crate::Gateway;
use crate::dialect::jellyfin::doc::{Doc, default_user_data};
use crate::dialect::plex::user_state::{Listing, ReadListing, parse_listing};
use crate::policy::{Decision, Scope};
use crate::upstream::Upstream;
use crate::users::UserRecord;

/// How stale a user's play state in an index answer may be, at most, when it changed on the
/// server without a word to cachearr (a play on a TV app, with no webhook): a listing older
/// than this is read again.
pub const FRESH: Duration = Duration::from_secs(10);

/// Reads the listings a Plex answer's play state is written from as `user`, through the cache
/// (JSON, fresh for at most [`FRESH`]), each parsed once per version of its body.
pub(crate) struct ListingsAsUser<'a> {
    pub(crate) gw: &'a Gateway,
    pub(crate) up: &'a Arc<Upstream>,
    pub(crate) user: &'a Arc<UserRecord>,
}

impl ReadListing for ListingsAsUser<'_> {
    async fn read(&self, path: String) -> Option<Arc<Listing>> {
        read_parsed(self.gw, self.up, self.user, &path, parse_listing).await
    }
}

/// Reads `path` as `user` through the cache (JSON, fresh for at most [`FRESH`]) and parses it
/// with `parse`, once per version of the body: the parse is kept with the user by a hash of
/// the body.
async fn read_parsed<T: Any + Send + Sync>(
    gw: &Gateway,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path: &str,
    parse: fn(&[u8]) -> Option<T>,
) -> Option<Arc<T>> {
    let (route_path, query) = path.split_once('?').unwrap_or((path, ""));
    // Play state is per user: a route an operator made shared must not carry it.
    match up.routes.classify(&Method::GET, route_path, Some(query)) {
        Decision::Cache { policy, .. } | Decision::AnswerFromIndex { policy, .. }
            if policy.scope == Scope::User => {}
        _ => return None,
    }
    let mut extra = HeaderMap::new();
    extra.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let lookup = crate::fetch::fetch_as_user_within(gw, up, user, path, extra, true, Some(FRESH))
        .await
        .ok()?;
    let value = &lookup.entry.value;
    if value.status != StatusCode::OK.as_u16() {
        return None;
    }
    user.parsed(path, &value.body, parse)
}

/// One user's Jellyfin `UserData` for one type of item in one library: every item they
/// touched (played, started, resumed or favourited), as the server writes it for them.
#[derive(Debug, Default)]
pub struct JellyfinUserData {
    data: FxHashMap<String, Doc>,
}

impl JellyfinUserData {
    /// The user's `UserData` of item `id` as the server would write it: their own where they
    /// touched the item, else that of a user who never did (`kept`, the crawl's document's).
    pub fn of(&self, id: &str, kept: &Doc) -> Doc {
        match self.data.get(id) {
            Some(data) => data.clone(),
            None => default_user_data(kept),
        }
    }
}

/// Items per page of the played listing.
const PLAYED_PAGE: usize = 500;

/// The `UserData` of user `uid` (the token's own) for the items of Jellyfin type `item_type`
/// in `library`, or `None` when it cannot be read (the index must not answer).
///
/// Two listings as that user, through the cache: the favourites and liked items
/// (`Filters=IsFavoriteOrLikes`), and the items by date played, newest first
/// (`SortBy=DatePlayed&SortOrder=Descending`), read page by page until an item without a
/// `LastPlayedDate`: a play, a progress report and marking played all set it, so every item
/// played, started or resumable is before that point. An item in neither list has the user
/// data of an item never touched — except one the user only disliked (a rating under the
/// server's like threshold with no play and no favourite), which no listing can find but a
/// scan of the whole library.
pub async fn jellyfin_user_data(
    gw: &Gateway,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    uid: &str,
    library: &str,
    item_type: &str,
) -> Option<JellyfinUserData> {
    let base = format!(
        "/Users/{uid}/Items?ParentId={library}&Recursive=true&IncludeItemTypes={item_type}\
         &EnableImages=false"
    );
    let mut out = JellyfinUserData::default();
    let favourites = read_parsed(
        gw,
        up,
        user,
        &format!("{base}&Filters=IsFavoriteOrLikes"),
        parse_jf,
    )
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
        let page = read_parsed(gw, up, user, &path, parse_jf).await?;
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
struct JfListing {
    items: Vec<(String, Doc)>,
}

fn parse_jf(body: &[u8]) -> Option<JfListing> {
    let mut out = JfListing::default();
    for item in Doc::items_of(body)? {
        let id = item.get("Id").and_then(Doc::as_str)?.to_owned();
        // A listing without user data cannot say what the user has.
        let data = item.get("UserData")?.clone();
        out.items.push((id, data));
    }
    Some(out)
}
