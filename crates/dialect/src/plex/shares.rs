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
use crate::model::restriction::{ItemFilter, Restriction};
use crate::model::shares::Share;
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
}

/// Parses a share's filter string (see the module documentation) into `f`; a clause of
/// another field is pushed to `unmodelled`, named by `name` (`filterMovies`).
pub fn parse_filter(s: &str, name: &str, f: &mut ItemFilter, unmodelled: &mut Vec<String>) {
    for clause in s.split('|').filter(|c| !c.trim().is_empty()) {
        let Some((key, values)) = clause.split_once('=') else {
            unmodelled.push(format!("{name}: {clause}"));
            continue;
        };
        let values: Vec<String> = percent_encoding::percent_decode_str(values)
            .decode_utf8_lossy()
            .split(',')
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        match key {
            "label" => f.allowed_labels.extend(values),
            "label!" => f.blocked_labels.extend(values),
            "contentRating" => f.allowed_content_ratings.extend(values),
            "contentRating!" => f.blocked_content_ratings.extend(values),
            _ => unmodelled.push(format!("{name}: {clause}")),
        }
    }
}

/// A share's restriction from its `SharedServer` attributes (`get`) and shared sections.
/// Photo sections and `filterAll` are filtered by rules the copy does not model: a share with
/// either is unmodelled.
fn restriction(
    get: &dyn Fn(&[u8]) -> Option<String>,
    sections: Option<Vec<String>>,
) -> Restriction {
    let mut r = Restriction {
        sections,
        ..Restriction::default()
    };
    let mut unmodelled = Vec::new();
    for (attr, name, filter) in [
        (&b"filterMovies"[..], "filterMovies", &mut r.movies),
        (b"filterTelevision", "filterTelevision", &mut r.television),
        (b"filterMusic", "filterMusic", &mut r.music),
    ] {
        parse_filter(
            &get(attr).unwrap_or_default(),
            name,
            filter,
            &mut unmodelled,
        );
    }
    for (attr, name) in [
        (&b"filterPhotos"[..], "filterPhotos"),
        (b"filterAll", "filterAll"),
    ] {
        if let Some(v) = get(attr).filter(|v| !v.is_empty()) {
            unmodelled.push(format!("{name}: {v}"));
        }
    }
    r.unmodelled = unmodelled;
    r
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

/// A `SharedServer` being read: its attributes, whether it shares every section, the
/// sections shared so far.
struct Reading(Vec<(Vec<u8>, String)>, bool, Vec<String>);

/// The shares of a `shared_servers` answer.
fn read_shares(body: &[u8]) -> Option<Vec<Share>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut shares = Vec::new();
    let mut container = false;
    let mut current: Option<Reading> = None;
    let finish = |Reading(attrs, all, sections): Reading| {
        let get = |k: &[u8]| {
            attrs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        Some(Share {
            account_id: get(b"userID").filter(|v| !v.is_empty())?,
            server_token: get(b"accessToken").filter(|t| !t.is_empty()),
            restriction: restriction(&get, (!all).then_some(sections)),
        })
    };
    loop {
        let event = reader.read_event_into(&mut buf).ok()?;
        let (e, empty) = match event {
            Event::Eof => break,
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                if e.name().as_ref() == b"SharedServer"
                    && let Some(share) = current.take()
                {
                    shares.push(finish(share)?);
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
                if let Some(share) = current.take() {
                    shares.push(finish(share)?);
                }
                let all = get(b"allLibraries").is_some_and(truthy);
                let share = Reading(attrs.clone(), all, Vec::new());
                if empty {
                    shares.push(finish(share)?);
                } else {
                    current = Some(share);
                }
            }
            b"Section" => {
                if let (Some(Reading(_, _, sections)), Some(key)) = (current.as_mut(), get(b"key"))
                    && get(b"shared").is_some_and(truthy)
                {
                    sections.push(key.to_string());
                }
            }
            _ => {}
        }
        buf.clear();
    }
    if let Some(share) = current {
        shares.push(finish(share)?);
    }
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
        let parse = |s: &str| {
            let (mut f, mut odd) = (ItemFilter::default(), Vec::new());
            parse_filter(s, "filterMovies", &mut f, &mut odd);
            (f, odd)
        };
        let (f, odd) = parse("label=Kids%2CFamily|label!=Explicit|contentRating=G,PG");
        assert_eq!(f.allowed_labels, ["Kids", "Family"]);
        assert_eq!(f.blocked_labels, ["Explicit"]);
        assert_eq!(f.allowed_content_ratings, ["G", "PG"]);
        assert!(f.blocked_content_ratings.is_empty() && odd.is_empty() && !f.is_open());
        let (f, _) = parse("contentRating!=R%2CTV-MA");
        assert_eq!(f.blocked_content_ratings, ["R", "TV-MA"]);
        assert!(parse("").0.is_open());
        let (f, odd) = parse("year<=2000|label=A");
        assert_eq!(odd, ["filterMovies: year<=2000"]);
        assert_eq!(f.allowed_labels, ["A"]);
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
        let carol = &shares[0].restriction;
        assert_eq!(shares[0].account_id, "5");
        assert_eq!(shares[0].server_token, None);
        assert_eq!(carol.sections.as_deref(), Some(&["1".to_string()][..]));
        assert!(carol.opens_section("1") && !carol.opens_section("2"));
        assert_eq!(carol.music.blocked_labels, ["Explicit"]);
        assert!(carol.is_modelled() && carol.television.is_open());
        let emma = &shares[1].restriction;
        assert_eq!(shares[1].server_token.as_deref(), Some("tok7"));
        assert!(emma.sections.is_none() && emma.opens_section("9"));
        assert_eq!(emma.movies.allowed_content_ratings, ["G", "PG"]);
        assert!(!format!("{:?}", shares[1]).contains("tok7"));
        assert!(Plex.shares(b"<errors/>").is_none());
        let photos = br#"<MediaContainer><SharedServer userID="3" allLibraries="1" filterPhotos="label=A"/></MediaContainer>"#;
        assert!(!Plex.shares(photos).unwrap()[0].restriction.is_modelled());
        let nobody = br#"<MediaContainer><SharedServer allLibraries="1"/></MediaContainer>"#;
        assert!(Plex.shares(nobody).is_none());
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
