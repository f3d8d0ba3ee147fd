//! Which library sections a user may see, learnt from the upstream with the user's own token.
//!
//! Plex: `GET /library/sections` as that user (a shared user gets only the sections shared
//! with them); Jellyfin: `GET /UserViews` (the libraries the user's policy enables). Both are
//! read *through the cache*, under the sections route's own policy (user scope, 5 min fresh,
//! tagged with the upstream's sections tag, so a section change invalidates it), and in JSON
//! whatever the client asked for. The same entry serves a client that lists its sections.
//!
//! When the answer cannot be had (refused token, upstream down without a stale copy, garbage),
//! the caller does not answer from the index: the request goes to the server, which knows.
//!
//! # Whole sections
//! A section the user may open is not always one they see all of: a Plex share can filter
//! by label or content rating (and so can a managed Home user's profile), a Jellyfin policy
//! can cap the parental rating or block or allow tags. The index is the owner's view and does
//! not hold those fields, so it is used for a user only in the sections [`whole_sections`]
//! proves whole: for every kind the index holds of the section, the number of items the
//! server lists *to that user* equals the number it lists to the owner (or, without an owner
//! token, the number the index holds). The counts are read through the cache with each
//! token — the section listing's own route and tags (user scope, invalidated with the
//! section), fresh for 5 minutes like the sections list — as the crawl's first page with
//! room for no items. A user the server hides
//! anything from sees fewer, so their sections are not whole and their searches go to the
//! server; a count that cannot be had proves nothing.

use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use cachearr_library::ItemKind;

use crate::Gateway;
use crate::policy::Profile;
use crate::upstream::Upstream;
use crate::users::UserRecord;

/// One section (library) the user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSection {
    /// Plex section key / Jellyfin library id (as the index's `section_id`).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Plex `type` (`artist`, `movie`, `show`, `photo`) or Jellyfin `CollectionType`
    /// (`music`, `movies`, `tvshows` …).
    pub kind: String,
    /// Plex section `uuid`.
    pub uuid: Option<String>,
}

/// The sections a user may see.
#[derive(Debug, Clone, Default)]
pub struct UserSections {
    /// In the server's order.
    pub sections: Vec<UserSection>,
}

impl UserSections {
    /// The section with this id, if the user may see it.
    pub fn get(&self, id: &str) -> Option<&UserSection> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// Every visible section id.
    pub fn ids(&self) -> Vec<&str> {
        self.sections.iter().map(|s| s.id.as_str()).collect()
    }

    /// Parses Plex's `/library/sections` JSON.
    pub fn from_plex_json(body: &[u8]) -> Option<UserSections> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let dirs = v.get("MediaContainer")?;
        let list = match dirs.get("Directory") {
            Some(Value::Array(list)) => list.as_slice(),
            Some(_) => return None,
            None => &[],
        };
        let mut sections = Vec::with_capacity(list.len());
        for d in list {
            let id = match d.get("key")? {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            sections.push(UserSection {
                id,
                title: str_of(d, "title"),
                kind: str_of(d, "type"),
                uuid: d.get("uuid").and_then(Value::as_str).map(str::to_string),
            });
        }
        Some(UserSections { sections })
    }

    /// Parses Jellyfin's `/UserViews` JSON (`{"Items":[{"Id","Name","CollectionType"}]}`).
    pub fn from_jellyfin_json(body: &[u8]) -> Option<UserSections> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let items = v.get("Items")?.as_array()?;
        let mut sections = Vec::with_capacity(items.len());
        for it in items {
            sections.push(UserSection {
                // As the server writes it: the crawl records library ids the same way.
                id: it.get("Id")?.as_str()?.to_string(),
                title: str_of(it, "Name"),
                kind: str_of(it, "CollectionType"),
                uuid: None,
            });
        }
        Some(UserSections { sections })
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The sections `user` may see on `up`, or `None` when that cannot be determined.
pub async fn user_sections(
    gw: &Gateway,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
) -> Option<UserSections> {
    let path = crate::dialect::of(up.profile).user_sections_path();
    let mut extra = HeaderMap::new();
    extra.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let lookup = match crate::fetch::fetch_as_user(gw, up, user, path, extra, true).await {
        Ok(l) => l,
        Err(e) => {
            tracing::debug!(upstream = %up.name, error = %e, "user's sections unknown");
            return None;
        }
    };
    let value = &lookup.entry.value;
    if value.status != StatusCode::OK.as_u16() {
        return None;
    }
    match up.profile {
        Profile::Plex => UserSections::from_plex_json(&value.body),
        Profile::Jellyfin => UserSections::from_jellyfin_json(&value.body),
    }
}

/// The kinds the index holds of a section, each with the listing path that counts them.
fn count_paths(profile: Profile, section: &UserSection) -> Vec<(ItemKind, String)> {
    let dialect = crate::dialect::of(profile);
    dialect
        .index_kinds(dialect.section_word(&section.kind))
        .iter()
        .map(|&(k, t)| (k, dialect.crawl_page_path(&section.id, t, 0, 0, None)))
        .collect()
}

/// How long a count read for the proof stays fresh: as long as the user's list of sections.
/// No server event says that a share's filter or a user's parental policy changed, so this is
/// how soon a tightened restriction is seen.
const COUNT_FRESH: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// The number of items a listing path holds for `user` (through the cache, fresh for at most
/// [`COUNT_FRESH`]), `None` when it cannot be had.
async fn count_as(
    gw: &Gateway,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path: &str,
) -> Option<u64> {
    let mut extra = HeaderMap::new();
    extra.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let lookup =
        crate::fetch::fetch_as_user_within(gw, up, user, path, extra, true, Some(COUNT_FRESH))
            .await
            .ok()?;
    let value = &lookup.entry.value;
    if value.status != StatusCode::OK.as_u16() {
        return None;
    }
    let body: Value = serde_json::from_slice(&value.body).ok()?;
    match up.profile {
        Profile::Plex => super::crawl_plex::total_size(&body),
        Profile::Jellyfin => super::crawl_jellyfin::total_count(&body),
    }
}

/// The owner's configured token as an unlisted user record, if there is one.
fn owner_of(gw: &Gateway, up: &Arc<Upstream>) -> Option<Arc<UserRecord>> {
    let token = up.config.token.as_deref().filter(|t| !t.is_empty())?;
    Some(UserRecord::unlisted(
        &up.name,
        gw.secret().user_of(token),
        token,
    ))
}

/// The ids of `sections` (the user's) that `user` is shown to see whole: see the module
/// documentation. `index_count` gives what the index holds of a section and kind, the
/// yardstick when no owner token is configured.
pub async fn whole_sections(
    gw: &Gateway,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    sections: &UserSections,
    index_count: impl Fn(&str, ItemKind) -> u64,
) -> Vec<String> {
    let owner = owner_of(gw, up);
    if owner.as_ref().is_some_and(|o| o.hash == user.hash) {
        return sections.sections.iter().map(|s| s.id.clone()).collect();
    }
    let checks = sections.sections.iter().map(|section| {
        let owner = owner.clone();
        let index_count = &index_count;
        async move {
            let paths = count_paths(up.profile, section);
            if paths.is_empty() {
                return None;
            }
            for (kind, path) in paths {
                let theirs = match &owner {
                    Some(owner) => count_as(gw, up, owner, &path).await?,
                    None => index_count(&section.id, kind),
                };
                let mine = count_as(gw, up, user, &path).await?;
                if mine != theirs {
                    tracing::debug!(
                        upstream = %up.name,
                        section = %section.id,
                        user = %user.hash_hex,
                        "the server hides part of this section from the user: \
                         searches go to the server"
                    );
                    return None;
                }
            }
            Some(section.id.clone())
        }
    });
    futures_util::future::join_all(checks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_servers() {
        let plex = br#"{"MediaContainer":{"size":2,"Directory":[
            {"key":"3","title":"Music","type":"artist","uuid":"u-3"},
            {"key":4,"title":"Lossless","type":"artist"}]}}"#;
        let s = UserSections::from_plex_json(plex).unwrap();
        assert_eq!(s.ids(), vec!["3", "4"]);
        assert_eq!(s.get("3").unwrap().uuid.as_deref(), Some("u-3"));
        let empty = UserSections::from_plex_json(br#"{"MediaContainer":{"size":0}}"#).unwrap();
        assert!(empty.ids().is_empty());
        assert!(UserSections::from_plex_json(b"<MediaContainer/>").is_none());
        let jf = br#"{"Items":[{"Id":"ABC","Name":"Music","CollectionType":"music"}]}"#;
        let s = UserSections::from_jellyfin_json(jf).unwrap();
        assert_eq!(s.ids(), vec!["ABC"]);
        assert_eq!(s.sections[0].kind, "music");
    }
}
