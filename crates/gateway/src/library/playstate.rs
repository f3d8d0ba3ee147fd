//! Per-user play state: what the server writes of it ([`PlayState`], read out of Plex
//! answers and written into elements), and the Jellyfin user's `UserData` taken from their
//! cached item.
//!
//! The index is shared by every user and holds no play state. Plex answers from the index get
//! the asking user's state from listings read as that user ([`super::user_state`]). Jellyfin
//! answers copy the `UserData` of the user's own cached `GET /Users/{uid}/Items/{id}` when it
//! is in the cache, and otherwise leave it out; the cache is only looked at, never filled.

use std::sync::Arc;

use cachearr_engine::Key;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method};
use serde_json::Value;

use crate::Gateway;
use crate::dialect::plex::render::El;
use crate::keys::{KeyInput, build_key};
use crate::upstream::Upstream;
use crate::users::UserRecord;

/// What the server said about one user and one item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlayState {
    /// Plex `viewCount`.
    pub view_count: Option<i64>,
    /// Plex `viewOffset` (ms).
    pub view_offset: Option<i64>,
    /// Plex `lastViewedAt` (epoch s).
    pub last_viewed_at: Option<i64>,
    /// Plex `userRating`, as the server wrote it.
    pub user_rating: Option<String>,
    /// Plex `lastRatedAt` (epoch s).
    pub last_rated_at: Option<i64>,
    /// Plex `skipCount`.
    pub skip_count: Option<i64>,
    /// Plex `viewedLeafCount` of an album, artist, show or season.
    pub viewed_leaf_count: Option<i64>,
}

impl PlayState {
    fn is_empty(&self) -> bool {
        *self == PlayState::default()
    }

    /// Adds the attributes the server would have written (`viewedLeafCount` is not added
    /// here: an element that has it keeps it in place, see [`PlayState::viewed_leaf_count`]).
    pub fn plex_attrs(&self, mut e: El) -> El {
        e = e
            .opt("viewCount", self.view_count)
            .opt("viewOffset", self.view_offset)
            .opt("lastViewedAt", self.last_viewed_at);
        if let Some(r) = &self.user_rating {
            e = match r.parse::<i64>() {
                Ok(n) => e.a("userRating", n),
                Err(_) => match r.parse::<f64>() {
                    Ok(f) => e.a("userRating", crate::dialect::plex::render::V::F(f)),
                    Err(_) => e.a("userRating", r.as_str()),
                },
            };
        }
        e.opt("lastRatedAt", self.last_rated_at)
            .opt("skipCount", self.skip_count)
    }

    /// From a Plex metadata document (JSON or XML) describing `id`.
    pub fn from_plex_body(body: &[u8], id: &str) -> Option<PlayState> {
        let trimmed = body.trim_ascii_start();
        let state = if trimmed.starts_with(b"{") {
            let v: Value = serde_json::from_slice(body).ok()?;
            let item = v
                .get("MediaContainer")?
                .get("Metadata")?
                .as_array()?
                .iter()
                .find(|m| m.get("ratingKey").and_then(Value::as_str) == Some(id))?;
            let num = |k: &str| item.get(k).and_then(Value::as_i64);
            PlayState {
                view_count: num("viewCount"),
                view_offset: num("viewOffset"),
                last_viewed_at: num("lastViewedAt"),
                user_rating: item.get("userRating").map(|r| match r {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
                last_rated_at: num("lastRatedAt"),
                skip_count: num("skipCount"),
                viewed_leaf_count: num("viewedLeafCount"),
            }
        } else {
            from_plex_xml(body, id)?
        };
        (!state.is_empty()).then_some(state)
    }
}

fn from_plex_xml(body: &[u8], id: &str) -> Option<PlayState> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Eof => return None,
            Event::Start(e) | Event::Empty(e) => {
                let mut state = PlayState::default();
                let mut ours = false;
                for attr in e.attributes().flatten() {
                    let value = attr.unescape_value().ok()?;
                    match attr.key.as_ref() {
                        b"ratingKey" => ours = value == id,
                        b"viewCount" => state.view_count = value.parse().ok(),
                        b"viewOffset" => state.view_offset = value.parse().ok(),
                        b"lastViewedAt" => state.last_viewed_at = value.parse().ok(),
                        b"userRating" => state.user_rating = Some(value.into_owned()),
                        b"lastRatedAt" => state.last_rated_at = value.parse().ok(),
                        b"skipCount" => state.skip_count = value.parse().ok(),
                        b"viewedLeafCount" => state.viewed_leaf_count = value.parse().ok(),
                        _ => {}
                    }
                }
                if ours {
                    return Some(state);
                }
            }
            _ => {}
        }
        buf.clear();
    }
}

/// The body of `user`'s cached `GET {path}` (status 200), if it is in the cache. The entry is
/// looked for under the asking client's own `Accept` (the key holds it), then under the two
/// usual forms (JSON, and no `Accept`).
async fn cached_user_body(
    gw: &Gateway,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path: &str,
    client_accept: Option<&HeaderValue>,
) -> Option<bytes::Bytes> {
    let json = HeaderValue::from_static("application/json");
    let mut accepts: Vec<Option<&HeaderValue>> = vec![client_accept];
    for usual in [Some(&json), None] {
        if !accepts.contains(&usual) {
            accepts.push(usual);
        }
    }
    for accept in accepts {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(header::ACCEPT, a.clone());
        }
        let Ok(key) = build_key(&KeyInput {
            upstream: &up.name,
            profile: up.profile,
            method: &Method::GET,
            path,
            query: None,
            headers: &headers,
            user: Some(user.hash),
        }) else {
            continue;
        };
        if let Some(lookup) = gw.cache().get(&Key::new(key)).await
            && lookup.entry.value.status == 200
        {
            return Some(lookup.entry.value.body.clone());
        }
    }
    None
}

/// The `UserData` of item `id` for `user` as the server wrote it in the user's cached
/// `GET /Users/{uid}/Items/{id}` (Jellyfin), if that is in the cache.
pub async fn cached_jellyfin(
    gw: &Gateway,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    uid: &str,
    id: &str,
    client_accept: Option<&HeaderValue>,
) -> Option<Value> {
    let path = format!("/Users/{uid}/Items/{id}");
    let body = cached_user_body(gw, up, user, &path, client_accept).await?;
    let v: Value = serde_json::from_slice(&body).ok()?;
    let same = v
        .get("Id")
        .and_then(Value::as_str)
        .is_some_and(|got| got.eq_ignore_ascii_case(id));
    same.then(|| v.get("UserData").cloned()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_formats() {
        let json = br#"{"MediaContainer":{"size":1,"Metadata":[{"ratingKey":"12","viewCount":2,"viewOffset":3000,"lastViewedAt":1700000000}]}}"#;
        let s = PlayState::from_plex_body(json, "12").unwrap();
        assert_eq!(s.view_count, Some(2));
        assert_eq!(s.view_offset, Some(3000));
        assert!(PlayState::from_plex_body(json, "13").is_none());
        let xml = br#"<?xml version="1.0"?><MediaContainer size="1"><Track ratingKey="12" viewCount="1" userRating="8.0"><Media id="1"/></Track></MediaContainer>"#;
        let s = PlayState::from_plex_body(xml, "12").unwrap();
        assert_eq!(s.view_count, Some(1));
        assert_eq!(s.user_rating.as_deref(), Some("8.0"));
        let unplayed = br#"<MediaContainer><Track ratingKey="12"/></MediaContainer>"#;
        assert!(PlayState::from_plex_body(unplayed, "12").is_none());
    }
}
