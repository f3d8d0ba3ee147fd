//! Per-user play state: what Plex writes of it ([`PlayState`], read out of Plex answers and
//! written into elements).
//!
//! The index is shared by every user and holds no play state. Answers from the index get the
//! asking user's state from listings read as that user ([`super::user_state`]).

use serde_json::Value;

use crate::dialect::plex::render::El;

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
