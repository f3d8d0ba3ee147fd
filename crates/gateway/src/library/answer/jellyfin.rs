//! Jellyfin answers from the index: `/Items` (and `/Users/{id}/Items`) with `SearchTerm`,
//! and `/Search/Hints`, rendered by the dialect's
//! [`render`](crate::dialect::jellyfin::render).

use std::sync::Arc;

use cachearr_library::ItemKind;
use cachearr_serverfmt::plex::title_sort;
use http::HeaderMap;
use http::header::{self, HeaderValue};

use super::super::titles::{self, Rank, TitleHit};
use super::{Answer, AnswerBody, Ctx, number, param};
use crate::Gateway;
use crate::dialect::jellyfin::render as render_jellyfin;
use crate::policy::IndexSearch;
use crate::upstream::Upstream;
use crate::users::UserRecord;
/// A recognised Jellyfin route; parameter names lower-cased (Jellyfin ignores their case).
pub(super) enum JellyfinRoute {
    Items {
        params: Vec<(String, String)>,
        /// The user id of `/Users/{id}/Items` or `UserId=`, for play state from the cache.
        uid: Option<String>,
    },
    Hints {
        params: Vec<(String, String)>,
    },
}

impl JellyfinRoute {
    /// The route of a search the route table recognised, with its query decoded.
    pub(super) fn of(
        search: IndexSearch,
        raw_path: &str,
        query: Option<&str>,
    ) -> Option<JellyfinRoute> {
        let params: Vec<(String, String)> = form_urlencoded::parse(query?.as_bytes())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect();
        match search {
            IndexSearch::JellyfinHints => Some(JellyfinRoute::Hints { params }),
            IndexSearch::JellyfinItems => {
                // `/Users/{id}/Items`: the id, as the client wrote it, is the second segment
                // (`/Items` has none).
                let uid = raw_path
                    .split('/')
                    .nth(2)
                    .filter(|uid| !uid.is_empty())
                    .map(str::to_string)
                    .or_else(|| param(&params, "userid").map(str::to_string));
                Some(JellyfinRoute::Items { params, uid })
            }
            _ => None,
        }
    }
}

/// Parameters Jellyfin clients send that do not change which items an answer holds.
fn jellyfin_ignorable(name: &str) -> bool {
    matches!(
        name,
        "userid"
            | "api_key"
            | "fields"
            | "enableuserdata"
            | "enableimages"
            | "imagetypelimit"
            | "enableimagetypes"
            | "enabletotalrecordcount"
    )
}

/// The server's id (`/System/Info/Public` `Id`), read through the cache.
pub(super) async fn jellyfin_server_id(
    gw: &Gateway,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
) -> Option<String> {
    let mut extra = HeaderMap::new();
    extra.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let lookup = crate::fetch::fetch_as_user(gw, up, user, "/System/Info/Public", extra, true)
        .await
        .ok()?;
    if lookup.entry.value.status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&lookup.entry.value.body).ok()?;
    v.get("Id")?.as_str().map(str::to_string)
}

/// The token's own user id (`/Users/Me` `Id`): asked of the server once per token and kept
/// with the user (not through the cache: `/Users/Me` carries activity dates clients must get
/// fresh, so it is no cached route).
pub(super) async fn jellyfin_own_id(
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
) -> Option<Arc<str>> {
    if let Some(id) = user.server_user_id() {
        return Some(id);
    }
    let uri = up.uri_for("/Users/Me").ok()?;
    let token = HeaderValue::from_str(user.token()).ok()?;
    let make = || Ok(up.owner_request(&uri, Some(&token), "cachearr"));
    let response = up
        .send_idempotent(&make, crate::upstream::Budget::Client)
        .await
        .ok()?;
    if response.status() != http::StatusCode::OK {
        return None;
    }
    let body = http_body_util::BodyExt::collect(http_body_util::Limited::new(
        response.into_body(),
        1 << 20,
    ))
    .await
    .ok()?
    .to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    Some(user.learn_server_user_id(v.get("Id")?.as_str()?))
}

/// Whether two Jellyfin ids name the same user: Jellyfin reads a GUID with or without its
/// dashes and in either case.
pub(super) fn same_jellyfin_id(a: &str, b: &str) -> bool {
    let bare = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    bare(a) == bare(b)
}

/// Where a Jellyfin search puts an item: relevance, folded sort name, name, id.
type JellyfinSearchKey<'a> = (u8, String, &'a str, &'a str);

impl Ctx<'_> {
    /// The Jellyfin libraries to search for `kinds` (all visible ones that hold any of
    /// them), or `None` when one of them holds kinds the index does not (series, seasons)
    /// and those were asked for, or is not in the index.
    fn jellyfin_libraries(&self, kinds: &[ItemKind], others_asked: bool) -> Option<Vec<&str>> {
        let held = self.held();
        let mut out = Vec::new();
        for s in &self.sections.sections {
            let (have, more) = render_jellyfin::library_kinds(&s.kind);
            if more && others_asked && !have.is_empty() {
                return None;
            }
            if !have.iter().any(|k| kinds.contains(k)) {
                continue;
            }
            if !held.contains(&s.id.as_str()) {
                return None;
            }
            out.push(s.id.as_str());
        }
        Some(out)
    }

    /// The kinds of `IncludeItemTypes` / `ExcludeItemTypes`, and whether kinds the index
    /// does not hold are asked for. `None` for a list the index cannot answer.
    fn jellyfin_kinds(params: &[(String, String)]) -> Option<(Vec<ItemKind>, bool)> {
        const ALL: [ItemKind; 5] = [
            ItemKind::Artist,
            ItemKind::Album,
            ItemKind::Track,
            ItemKind::Movie,
            ItemKind::Episode,
        ];
        let list = |name: &str| -> Vec<&str> {
            param(params, name)
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        };
        let include = list("includeitemtypes");
        let (mut kinds, mut others) = if include.is_empty() {
            (ALL.to_vec(), true)
        } else {
            let mut kinds = Vec::new();
            for name in include {
                // Types the index does not hold (series, seasons, playlists …): the server.
                kinds.push(render_jellyfin::kind_of_type(name)?);
            }
            (kinds, false)
        };
        let (mut series, mut seasons) = (false, false);
        for name in list("excludeitemtypes") {
            match render_jellyfin::kind_of_type(name) {
                Some(k) => kinds.retain(|x| *x != k),
                None => match name.to_ascii_lowercase().as_str() {
                    "series" => series = true,
                    "season" => seasons = true,
                    _ => {}
                },
            }
        }
        // Excluding series and seasons leaves only what the index holds.
        others &= !(series && seasons);
        Some((kinds, others))
    }

    fn camel_asked(&self) -> bool {
        self.headers.get_all(header::ACCEPT).iter().any(|v| {
            v.to_str()
                .is_ok_and(|a| a.to_ascii_lowercase().contains("camelcase"))
        })
    }

    /// `/Items?SearchTerm=&Recursive=true` (and `/Users/{id}/Items`): a recursive search
    /// over the user's libraries, by sort name, paged by `StartIndex` / `Limit`.
    pub(super) fn jellyfin_items(
        &self,
        params: &[(String, String)],
        server_id: &str,
        uid: Option<String>,
    ) -> Option<Answer> {
        for (k, v) in params {
            let ok = jellyfin_ignorable(k)
                || matches!(
                    k.as_str(),
                    "searchterm"
                        | "includeitemtypes"
                        | "excludeitemtypes"
                        | "recursive"
                        | "startindex"
                        | "limit"
                )
                || (k == "sortby" && v.eq_ignore_ascii_case("sortname"))
                || (k == "sortorder" && v.eq_ignore_ascii_case("ascending"));
            if !ok {
                return None;
            }
        }
        if self.camel_asked() {
            return None;
        }
        let term = param(params, "searchterm")?;
        if term.trim().is_empty() {
            return None;
        }
        if !param(params, "recursive").is_some_and(|r| r.eq_ignore_ascii_case("true")) {
            return None;
        }
        let start = number(param(params, "startindex"))?.unwrap_or(0);
        let limit = number(param(params, "limit"))?;
        let counted = !param(params, "enabletotalrecordcount")
            .is_some_and(|v| v.eq_ignore_ascii_case("false"));
        let (kinds, others) = Self::jellyfin_kinds(params)?;
        let libraries = self.jellyfin_libraries(&kinds, others)?;
        // The server also matches (and ranks by) a film's original-language title, which the
        // index does not hold: a search that spans films would miss some. The server answers.
        let films = kinds.contains(&ItemKind::Movie)
            && self
                .sections
                .sections
                .iter()
                .any(|s| s.kind == "movies" && libraries.contains(&s.id.as_str()));
        if films {
            return None;
        }
        let hits = self.folded.find(term, &kinds, &libraries, true);
        // The server's order for a search: relevance, sort name, name (byte order), then —
        // where the server's database leaves ties in no defined order — the id.
        let folded_term = titles::fold(term);
        let mut keyed: Vec<(JellyfinSearchKey<'_>, TitleHit)> = hits
            .into_iter()
            .filter_map(|h| {
                let v = self.view(&h)?;
                let original = titles::original_title(&v).map(titles::fold);
                let relevance = cachearr_serverfmt::search::jellyfin_relevance(
                    &titles::fold(v.title()),
                    original.as_deref(),
                    &folded_term,
                );
                Some((
                    (
                        relevance,
                        titles::fold(title_sort(v.title())),
                        v.title(),
                        v.id(),
                    ),
                    h,
                ))
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let total = keyed.len();
        let fields = render_jellyfin::Fields::parse(param(params, "fields"));
        let items: Vec<serde_json::Value> = keyed
            .iter()
            .skip(start)
            .take(limit.unwrap_or(usize::MAX))
            .filter_map(|(_, h)| self.view(h))
            .map(|v| render_jellyfin::item_dto(&v, server_id, &fields))
            .collect();
        let doc = serde_json::json!({
            "Items": items,
            "TotalRecordCount": if counted { total } else { 0 },
            "StartIndex": start,
        });
        let user_data =
            !param(params, "enableuserdata").is_some_and(|v| v.eq_ignore_ascii_case("false"));
        Some(Answer {
            body: AnswerBody::Json(doc, uid.filter(|_| user_data)),
            content_type: "application/json; charset=utf-8",
            plex_paging: None,
        })
    }

    /// `/Search/Hints?SearchTerm=`: exact, then prefix, then contains; by sort name within.
    pub(super) fn jellyfin_hints(&self, params: &[(String, String)]) -> Option<Answer> {
        for (k, _) in params {
            let ok = jellyfin_ignorable(k)
                || matches!(
                    k.as_str(),
                    "searchterm"
                        | "includeitemtypes"
                        | "excludeitemtypes"
                        | "includemedia"
                        | "includeartists"
                        | "includepeople"
                        | "includegenres"
                        | "includestudios"
                        | "startindex"
                        | "limit"
                );
            if !ok {
                return None;
            }
        }
        if self.camel_asked() {
            return None;
        }
        let term = param(params, "searchterm")?;
        let flag = |name: &str| -> Option<bool> {
            match param(params, name) {
                None => Some(true),
                Some(v) if v.eq_ignore_ascii_case("true") => Some(true),
                Some(v) if v.eq_ignore_ascii_case("false") => Some(false),
                Some(_) => None,
            }
        };
        let (include_media, include_artists) = (flag("includemedia")?, flag("includeartists")?);
        let start = number(param(params, "startindex"))?.unwrap_or(0);
        let limit = number(param(params, "limit"))?;
        let (mut kinds, mut others) = Self::jellyfin_kinds(params)?;
        kinds.retain(|k| {
            if *k == ItemKind::Artist {
                include_artists
            } else {
                include_media
            }
        });
        others &= include_media;
        let libraries = self.jellyfin_libraries(&kinds, others)?;
        let hits = self.folded.find(term, &kinds, &libraries, false);
        let mut keyed: Vec<(Rank, String, String, TitleHit)> = hits
            .into_iter()
            .filter_map(|h| {
                let v = self.view(&h)?;
                Some((
                    h.rank,
                    titles::fold(title_sort(v.title())),
                    v.id().to_string(),
                    h,
                ))
            })
            .collect();
        keyed.sort_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
        let total = keyed.len();
        let hints: Vec<serde_json::Value> = keyed
            .iter()
            .skip(start)
            .take(limit.unwrap_or(usize::MAX))
            .filter_map(|(_, _, _, h)| self.view(h))
            .map(|v| render_jellyfin::search_hint(&v))
            .collect();
        let doc = serde_json::json!({ "SearchHints": hints, "TotalRecordCount": total });
        Some(Answer {
            body: AnswerBody::Json(doc, None),
            content_type: "application/json; charset=utf-8",
            plex_paging: None,
        })
    }
}
