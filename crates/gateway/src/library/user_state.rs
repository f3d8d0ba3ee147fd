//! The asking user's play state for answers from the index, read from the server as that
//! user, a section and a kind at a time (Plex), or a library at a time (Jellyfin: see
//! [`jellyfin_user_data`]).
//!
//! The index keeps the server's elements less what differs per user (`viewCount`,
//! `viewOffset`, `lastViewedAt`, `userRating`, `lastRatedAt`, `skipCount`, and
//! `viewedLeafCount` kept at 0). An answer must carry the asking user's own values exactly as
//! the server would write them, so before it is given, the user's items of the section and
//! kind that have any of them are listed with the user's token, through the cache:
//!
//! * `…/all?type={t}&lastViewedAt>>=1` — everything the user has played or started (a play, a
//!   progress report or a skip sets `lastViewedAt`);
//! * `…/all?type={t}&userRating>>=1` — everything the user has rated;
//! * for albums and artists, the first of these for their tracks as well: an album's or an
//!   artist's `viewedLeafCount` is the number of its tracks with a `viewCount`.
//!
//! An item in neither list has no per-user value, as the server writes it. The listings are
//! user-scoped cache entries, fresh for at most [`FRESH`] (a play or a rating made through
//! cachearr drops them at once with the user's play-state tag), read once per answer and
//! parsed once per version: the parse is kept with the user, by a hash of the listing's body.
//! When a listing cannot be had, or the route would not be user-scoped, the answer is not
//! given from the index: the server answers.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use cachearr_library::ItemKind;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::Gateway;
use crate::dialect::jellyfin::doc::{Doc, default_user_data};
use crate::library::playstate::PlayState;
use crate::policy::{Decision, Scope};
use crate::upstream::Upstream;
use crate::users::UserRecord;

/// How stale a user's play state in an index answer may be, at most, when it changed on the
/// server without a word to cachearr (a play on a TV app, with no webhook): a listing older
/// than this is read again.
pub const FRESH: Duration = Duration::from_secs(10);

/// One user's play state in one section, for one kind of item.
#[derive(Debug, Default)]
pub struct PlexUserStates {
    /// Items with any per-user value, by rating key.
    states: FxHashMap<String, PlayState>,
    /// For albums and artists: how many of their tracks the user has played.
    viewed_leaves: FxHashMap<String, i64>,
    /// Whether `viewed_leaves` was read (albums and artists).
    counts_leaves: bool,
}

impl PlexUserStates {
    /// The user's state of item `id` as the server would write it (empty: none).
    pub fn of(&self, id: &str) -> PlayState {
        let mut state = self.states.get(id).cloned().unwrap_or_default();
        if self.counts_leaves {
            state.viewed_leaf_count = Some(self.viewed_leaves.get(id).copied().unwrap_or(0));
        }
        state
    }
}

/// Plex's `type=` number of a kind.
fn type_number(kind: ItemKind) -> u8 {
    match kind {
        ItemKind::Movie => 1,
        ItemKind::Episode => 4,
        ItemKind::Artist => 8,
        ItemKind::Album => 9,
        ItemKind::Track => 10,
    }
}

/// The user's play state of the items of `kind` in `section`, or `None` when it cannot be
/// read (the index must not answer then).
pub async fn plex_states(
    gw: &Gateway,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    section: &str,
    kind: ItemKind,
) -> Option<PlexUserStates> {
    let own = type_number(kind);
    let mut out = PlexUserStates::default();
    for filter in ["lastViewedAt%3E%3E=1", "userRating%3E%3E=1"] {
        let path = format!("/library/sections/{section}/all?type={own}&{filter}");
        let parsed = listing(gw, up, user, &path).await?;
        for (id, state) in &parsed.states {
            let held = out.states.entry(id.clone()).or_default();
            merge(held, state);
        }
    }
    if matches!(kind, ItemKind::Album | ItemKind::Artist) {
        let path = format!("/library/sections/{section}/all?type=10&lastViewedAt%3E%3E=1");
        let tracks = listing(gw, up, user, &path).await?;
        out.viewed_leaves = if kind == ItemKind::Album {
            tracks.viewed_by_parent.clone()
        } else {
            tracks.viewed_by_grandparent.clone()
        };
        out.counts_leaves = true;
    }
    Some(out)
}

/// Fills what `b` says and `a` does not (the two listings of an item agree where both speak).
fn merge(a: &mut PlayState, b: &PlayState) {
    a.view_count = a.view_count.or(b.view_count);
    a.view_offset = a.view_offset.or(b.view_offset);
    a.last_viewed_at = a.last_viewed_at.or(b.last_viewed_at);
    a.user_rating = a.user_rating.clone().or_else(|| b.user_rating.clone());
    a.last_rated_at = a.last_rated_at.or(b.last_rated_at);
    a.skip_count = a.skip_count.or(b.skip_count);
}

/// One listing, parsed.
#[derive(Debug, Default)]
struct Listing {
    states: FxHashMap<String, PlayState>,
    /// Played (`viewCount` ≥ 1) items per parent and per grandparent rating key.
    viewed_by_parent: FxHashMap<String, i64>,
    viewed_by_grandparent: FxHashMap<String, i64>,
}

/// Reads `path` as `user` through the cache (JSON, fresh for at most [`FRESH`]); the parse
/// is kept with the user by a hash of the body, so a listing is parsed once per version.
async fn listing(
    gw: &Gateway,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path: &str,
) -> Option<Arc<Listing>> {
    read_parsed(gw, up, user, path, parse).await
}

/// Reads `path` as `user` through the cache and parses it with `parse`, once per version of
/// the body (see [`listing`]).
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

fn parse(body: &[u8]) -> Option<Listing> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let container = v.get("MediaContainer")?;
    let mut out = Listing::default();
    let Some(items) = container.get("Metadata").and_then(Value::as_array) else {
        // An empty listing has no `Metadata`.
        return Some(out);
    };
    let text = |m: &Value, k: &str| -> Option<String> {
        match m.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    for m in items {
        let Some(id) = text(m, "ratingKey") else {
            continue;
        };
        let num = |k: &str| m.get(k).and_then(Value::as_i64);
        let state = PlayState {
            view_count: num("viewCount"),
            view_offset: num("viewOffset"),
            last_viewed_at: num("lastViewedAt"),
            user_rating: m.get("userRating").map(|r| match r {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            last_rated_at: num("lastRatedAt"),
            skip_count: num("skipCount"),
            viewed_leaf_count: None,
        };
        if state.view_count.is_some_and(|n| n > 0) {
            if let Some(parent) = text(m, "parentRatingKey") {
                *out.viewed_by_parent.entry(parent).or_default() += 1;
            }
            if let Some(grandparent) = text(m, "grandparentRatingKey") {
                *out.viewed_by_grandparent.entry(grandparent).or_default() += 1;
            }
        }
        out.states.insert(id, state);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_gives_each_items_values_and_the_played_tracks_per_album_and_artist() {
        let body = br#"{"MediaContainer":{"size":3,"Metadata":[
            {"ratingKey":"11","parentRatingKey":"5","grandparentRatingKey":"2","viewCount":3,
             "lastViewedAt":1700000000,"skipCount":1},
            {"ratingKey":"12","parentRatingKey":"5","grandparentRatingKey":"2","viewOffset":4000,
             "lastViewedAt":1700000100},
            {"ratingKey":"21","parentRatingKey":"6","grandparentRatingKey":"2","viewCount":1,
             "userRating":8.0,"lastRatedAt":1700000200}
        ]}}"#;
        let l = parse(body).unwrap();
        assert_eq!(l.states["11"].view_count, Some(3));
        assert_eq!(l.states["11"].skip_count, Some(1));
        assert_eq!(l.states["12"].view_offset, Some(4000));
        assert_eq!(l.states["12"].view_count, None);
        assert_eq!(l.states["21"].user_rating.as_deref(), Some("8.0"));
        assert_eq!(l.states["21"].last_rated_at, Some(1_700_000_200));
        // Only tracks with a play count count as viewed leaves.
        assert_eq!(l.viewed_by_parent.get("5"), Some(&1));
        assert_eq!(l.viewed_by_parent.get("6"), Some(&1));
        assert_eq!(l.viewed_by_grandparent.get("2"), Some(&2));
        let empty = parse(br#"{"MediaContainer":{"size":0}}"#).unwrap();
        assert!(empty.states.is_empty());
        assert!(parse(b"<MediaContainer/>").is_none());
    }

    #[test]
    fn an_item_in_no_listing_has_no_values_and_an_album_counts_its_played_tracks() {
        let mut states = PlexUserStates::default();
        assert_eq!(states.of("1"), PlayState::default());
        states.counts_leaves = true;
        states.viewed_leaves.insert("5".into(), 2);
        assert_eq!(states.of("5").viewed_leaf_count, Some(2));
        assert_eq!(states.of("6").viewed_leaf_count, Some(0));
    }
}
