//! plex.tv as Plex's account service ([`ShareService`]): the owner's shares of the server
//! (`GET /api/servers/{machineIdentifier}/shared_servers`: one `SharedServer` per user, with
//! `userID`, the share's `accessToken` where it carries one, `allLibraries`, the
//! `filterMovies` / `filterTelevision` / `filterMusic` / `filterPhotos` / `filterAll` strings
//! and one `Section` per section of the server, `shared="1"` where it is shared), and the
//! asking token's own account (`GET /api/v2/user`: `id`).
//!
//! # Filters
//! python-plexapi writes a filter as `key=v1%2Cv2` clauses joined with `|`, the keys being
//! `label`, `label!`, `contentRating` and `contentRating!` (`label!=Explicit` reads as the key
//! `label!` and `=`); plex.tv gives the string back as it was written, commas as `%2C` or
//! `,`. Any other key (a year, a genre) is kept as an unmodelled clause.

use super::Plex;
use crate::model::shares::{FilteredKind, Share, ShareFilter};
use crate::shares::ShareService;

impl ShareService for Plex {
    fn default_url(&self) -> &'static str {
        "https://plex.tv"
    }

    fn config_key(&self) -> &'static str {
        "plextv_url"
    }

    fn identity_path(&self) -> &'static str {
        "/identity"
    }

    fn server_id(&self, body: &[u8]) -> Option<String> {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
            return v
                .pointer("/MediaContainer/machineIdentifier")
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
        }
        first_attr(body, b"MediaContainer", b"machineIdentifier")
    }

    fn shares_path(&self, server_id: &str) -> String {
        let id: String =
            percent_encoding::utf8_percent_encode(server_id, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        format!("/api/servers/{id}/shared_servers")
    }

    fn shares(&self, body: &[u8]) -> Option<Vec<Share>> {
        read_shares(body)
    }

    fn account_path(&self) -> &'static str {
        "/api/v2/user"
    }

    fn account_id(&self, body: &[u8]) -> Option<String> {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
            return match v.get("id")? {
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            };
        }
        first_attr(body, b"user", b"id")
    }

    fn filtered_kind(&self, section_kind: &str) -> Option<FilteredKind> {
        Some(match section_kind {
            "movie" => FilteredKind::Movies,
            "show" => FilteredKind::Television,
            "artist" => FilteredKind::Music,
            "photo" => FilteredKind::Photos,
            _ => return None,
        })
    }
}

/// Parses a share's filter string (see the module documentation).
pub fn parse_filter(s: &str) -> ShareFilter {
    let mut f = ShareFilter::default();
    for clause in s.split('|').filter(|c| !c.trim().is_empty()) {
        let Some((key, values)) = clause.split_once('=') else {
            f.unmodelled.push(clause.to_string());
            continue;
        };
        let values: Vec<String> = percent_encoding::percent_decode_str(values)
            .decode_utf8_lossy()
            .split(',')
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        match key {
            "label" => f.allow_labels.extend(values),
            "label!" => f.deny_labels.extend(values),
            "contentRating" => f.allow_ratings.extend(values),
            "contentRating!" => f.deny_ratings.extend(values),
            _ => f.unmodelled.push(clause.to_string()),
        }
    }
    f
}

/// The value of attribute `attr` of the first element named `tag`.
fn first_attr(body: &[u8], tag: &[u8], attr: &[u8]) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Eof => return None,
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == tag => {
                return e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == attr)
                    .and_then(|a| a.unescape_value().ok())
                    .map(|v| v.into_owned())
                    .filter(|v| !v.is_empty());
            }
            _ => {}
        }
        buf.clear();
    }
}

/// The shares of a `shared_servers` answer.
fn read_shares(body: &[u8]) -> Option<Vec<Share>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut shares = Vec::new();
    let mut container = false;
    let mut current: Option<Share> = None;
    loop {
        let event = reader.read_event_into(&mut buf).ok()?;
        let (e, empty) = match event {
            Event::Eof => break,
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                if e.name().as_ref() == b"SharedServer" {
                    shares.extend(current.take());
                }
                buf.clear();
                continue;
            }
            _ => {
                buf.clear();
                continue;
            }
        };
        let attrs: Vec<(Vec<u8>, String)> = e
            .attributes()
            .flatten()
            .filter_map(|a| {
                Some((
                    a.key.as_ref().to_vec(),
                    a.unescape_value().ok()?.into_owned(),
                ))
            })
            .collect();
        let get = |k: &[u8]| {
            attrs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        match e.name().as_ref() {
            b"MediaContainer" => container = true,
            b"SharedServer" => {
                shares.extend(current.take());
                let share = Share {
                    account_id: get(b"userID")?.to_string(),
                    server_token: get(b"accessToken")
                        .filter(|t| !t.is_empty())
                        .map(str::to_string),
                    all_sections: get(b"allLibraries").is_some_and(truthy),
                    sections: Vec::new(),
                    movies: parse_filter(get(b"filterMovies").unwrap_or("")),
                    television: parse_filter(get(b"filterTelevision").unwrap_or("")),
                    music: parse_filter(get(b"filterMusic").unwrap_or("")),
                    photos: parse_filter(get(b"filterPhotos").unwrap_or("")),
                    all: parse_filter(get(b"filterAll").unwrap_or("")),
                };
                if empty {
                    shares.push(share);
                } else {
                    current = Some(share);
                }
            }
            b"Section" => {
                if let (Some(share), Some(key)) = (current.as_mut(), get(b"key"))
                    && get(b"shared").is_some_and(truthy)
                {
                    share.sections.push(key.to_string());
                }
            }
            _ => {}
        }
        buf.clear();
    }
    shares.extend(current);
    container.then_some(shares)
}

fn truthy(v: &str) -> bool {
    matches!(v, "1" | "true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_as_python_plexapi_writes_them() {
        let f = parse_filter("label=Kids%2CFamily|label!=Explicit|contentRating=G,PG");
        assert_eq!(f.allow_labels, ["Kids", "Family"]);
        assert_eq!(f.deny_labels, ["Explicit"]);
        assert_eq!(f.allow_ratings, ["G", "PG"]);
        assert!(f.deny_ratings.is_empty() && f.is_modelled() && !f.is_open());
        let f = parse_filter("contentRating!=R%2CTV-MA");
        assert_eq!(f.deny_ratings, ["R", "TV-MA"]);
        assert!(parse_filter("").is_open());
        let odd = parse_filter("year<=2000|label=A");
        assert_eq!(odd.unmodelled, ["year<=2000"]);
        assert!(!odd.is_modelled());
    }

    #[test]
    fn shares_read_with_their_sections_filters_and_tokens() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<MediaContainer friendlyName="myPlex" identifier="com.plexapp.plugins.myplex" machineIdentifier="abc" size="2">
  <SharedServer id="40000005" username="carol" email="carol@example.com" userID="5" accessToken="" name="Sim" allowSync="0" owned="0" allLibraries="0" filterAll="" filterMovies="label!=Explicit" filterMusic="label!=Explicit" filterPhotos="" filterTelevision="">
    <Section id="70001" key="1" title="Music" type="artist" shared="1"/>
    <Section id="70002" key="2" title="Movies" type="movie" shared="0"/>
  </SharedServer>
  <SharedServer id="40000007" username="" email="" userID="7" accessToken="tok7" allLibraries="1" filterMovies="contentRating=G%2CPG" filterTelevision="" filterMusic="label=Family" filterPhotos="" filterAll=""/>
</MediaContainer>"#;
        let shares = Plex.shares(body).unwrap();
        assert_eq!(shares.len(), 2);
        assert_eq!(shares[0].account_id, "5");
        assert_eq!(shares[0].server_token, None);
        assert_eq!(shares[0].sections, ["1"]);
        assert!(shares[0].shares_section("1") && !shares[0].shares_section("2"));
        assert_eq!(shares[0].music.deny_labels, ["Explicit"]);
        assert_eq!(shares[1].server_token.as_deref(), Some("tok7"));
        assert!(shares[1].all_sections && shares[1].shares_section("9"));
        assert_eq!(shares[1].movies.allow_ratings, ["G", "PG"]);
        assert!(!format!("{:?}", shares[1]).contains("tok7"));
        assert!(Plex.shares(b"<errors/>").is_none());
        assert!(Plex.shares(b"garbage <<").is_none());
    }

    #[test]
    fn ids_read_from_json_and_xml() {
        assert_eq!(
            Plex.server_id(br#"{"MediaContainer":{"machineIdentifier":"m1"}}"#)
                .as_deref(),
            Some("m1")
        );
        assert_eq!(
            Plex.server_id(br#"<MediaContainer size="0" machineIdentifier="m2"/>"#)
                .as_deref(),
            Some("m2")
        );
        assert_eq!(
            Plex.account_id(br#"<user id="10000001" uuid="x"/>"#)
                .as_deref(),
            Some("10000001")
        );
        assert_eq!(Plex.account_id(br#"{"id":42}"#).as_deref(), Some("42"));
        assert_eq!(Plex.account_id(b"{}"), None);
        assert_eq!(
            Plex.shares_path("ab/c"),
            "/api/servers/ab%2Fc/shared_servers"
        );
    }
}
