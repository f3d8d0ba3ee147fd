//! Answering search routes from the library index (section search, hub search, Jellyfin search).
//!
//! Routes: Plex `/library/sections/{id}/search`, `/hubs/search` and
//! `/library/sections/{id}/all` with a `title=` (contains) or `title==` (exact) filter;
//! Jellyfin `/Items` and `/Users/{id}/Items` with `SearchTerm=`, and `/Search/Hints`.
//!
//! [`try_answer`] is called by the proxy for every cacheable GET of the search and listing
//! classes. It answers only when everything needed is at hand: the index is ready, the route
//! and every parameter are understood, the user's sections are known (see [`visibility`]),
//! the index holds every section the answer spans and the user is shown to see each of them
//! whole (the server hides none of its items from them: see [`visibility`]). Otherwise it
//! returns `None` and the request goes on to the cache and the server unchanged — a playlist tool's
//! fallback. An answer is never
//! wrong about visibility: only sections the server listed for this user's token, in which it
//! lists that user as many items as the owner, are searched.
//!
//! Matching follows the servers (case- and accent-insensitive substring of the title; see
//! [`titles`]), ranking the simple exact / prefix / contains order. A Plex answer's items are
//! the server's own elements as the crawl kept them ([`elements`]): an item whose element is
//! not kept sends the request to the server. Jellyfin items are rendered by
//! [`render_jellyfin`].
//!
//! [`visibility`]: super::visibility
//! [`titles`]: super::titles
//! [`elements`]: super::elements
//! [`render_jellyfin`]: super::render_jellyfin

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use cachearr_library::index::ItemView;
use cachearr_library::{ItemKind, LibraryIndex, Visibility};
use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{Either, Full};

use super::elements::{self, ElementStore};
use super::playstate;
use super::render_jellyfin;
use super::render_plex::{self as plex, El};
use super::titles::{self, FoldedTitles, Rank, TitleHit};
use super::visibility::{UserSection, UserSections, user_sections, whole_sections};
use crate::Gateway;
use crate::dialect::token_of;
use crate::fetch::ProxyBody;
use crate::policy::Profile;
use crate::upstream::Upstream;
use crate::users::UserRecord;

/// Answers `req` from the index if it can; `None` sends it on to the cache and the server.
pub(crate) async fn try_answer<B>(
    gw: &Gateway,
    up: &Arc<Upstream>,
    req: &Request<B>,
    started: Instant,
) -> Option<Response<ProxyBody>> {
    let route = match up.profile {
        Profile::Plex => Route::Plex(PlexRoute::parse(req.uri().path(), req.uri().query())?),
        Profile::Jellyfin => {
            Route::Jellyfin(JellyfinRoute::parse(req.uri().path(), req.uri().query())?)
        }
    };
    let handle = gw.index(&up.name)?;
    let Some(index) = handle.ready().filter(|_| handle.enabled()) else {
        // Off or not built yet: counted, and logged (a warning when off) at most once a
        // minute by the handle.
        handle.note_search_to_server();
        return None;
    };
    let token = token_of(up.profile, req.headers(), req.uri().query())?;
    let now = gw.clock().now_ms();
    let user = up
        .users
        .touch(&up.name, gw.secret().user_of(&token), &token, now);
    drop(token);
    // Index answers are cached answers: none goes to a token the server refused last.
    if user.is_refused() {
        return None;
    }
    let sections = user_sections(gw, up, &user).await?;
    let folded = titles::folded(&index).await?;
    let whole = whole_sections(gw, up, &user, &sections, |id, kind| folded.count(id, kind)).await;
    let crawled = handle.sections();
    let elements = handle.elements().cloned();
    if matches!(route, Route::Plex(_)) && elements.is_none() {
        // Nothing to render the server's elements from: the server answers.
        return None;
    }
    let ctx = Ctx {
        elements,
        whole: &whole,
        crawled: &crawled,
        gw,
        up,
        user: &user,
        index: &index,
        folded: &folded,
        sections: &sections,
        headers: req.headers(),
    };
    let answer = match route {
        Route::Plex(PlexRoute::SectionSearch { section, params }) => {
            ctx.plex_section_search(&section, &params)
        }
        Route::Plex(PlexRoute::HubSearch { params }) => ctx.plex_hub_search(&params),
        Route::Plex(PlexRoute::SectionAll { section, params }) => {
            ctx.plex_section_all(&section, &params)
        }
        Route::Jellyfin(JellyfinRoute::Items { params, uid }) => {
            let server_id = jellyfin_server_id(gw, up, &user).await?;
            ctx.jellyfin_items(&params, &server_id, uid)
        }
        Route::Jellyfin(JellyfinRoute::Hints { params }) => ctx.jellyfin_hints(&params),
    }?;
    let answer = ctx.fill_play_state(answer).await;
    let resp = respond(answer, started);
    gw.metrics().observe_request(
        &up.metrics_name,
        "search",
        "hit",
        started.elapsed().as_secs_f64(),
    );
    Some(resp)
}

/// One Plex result: an item of the index, or a show known from its episodes (which only
/// tells that the server has something to say: see `plex_page`).
enum PlexHit {
    Item(TitleHit),
    Show,
}

/// What a Plex `type=` (or a section's default) asks for.
#[derive(Clone, Copy, PartialEq)]
enum PlexKind {
    Item(ItemKind),
    Show,
}

/// The kind a Plex request asks of section `s`: its `type=`, or the section's top level.
fn plex_kind(params: &[(String, String)], s: &UserSection) -> Option<PlexKind> {
    let kind = match param(params, "type").filter(|t| !t.is_empty()) {
        Some(t) if t.trim() == "2" => PlexKind::Show,
        Some(t) => PlexKind::Item(plex::kind_of_type(t)?),
        None if s.kind == "show" => PlexKind::Show,
        None => PlexKind::Item(plex::top_kind(&s.kind)?),
    };
    let ok = match kind {
        PlexKind::Show => s.kind == "show",
        PlexKind::Item(k) => plex::section_kinds(&s.kind).contains(&k),
    };
    ok.then_some(kind)
}

/// A recognised route.
enum Route {
    Plex(PlexRoute),
    Jellyfin(JellyfinRoute),
}

/// A recognised Jellyfin route; parameter names lower-cased (Jellyfin ignores their case).
enum JellyfinRoute {
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
    fn parse(raw_path: &str, query: Option<&str>) -> Option<JellyfinRoute> {
        let query = query?;
        // Every Jellyfin listing passes here: decide without allocating when it is no search.
        let searches = query
            .as_bytes()
            .windows(10)
            .any(|w| w.eq_ignore_ascii_case(b"searchterm"));
        if !searches {
            return None;
        }
        let path = raw_path
            .strip_suffix('/')
            .unwrap_or(raw_path)
            .to_ascii_lowercase();
        let params = || -> Vec<(String, String)> {
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
                .collect()
        };
        if path == "/search/hints" {
            return Some(JellyfinRoute::Hints { params: params() });
        }
        let raw = raw_path.strip_suffix('/').unwrap_or(raw_path);
        let path_uid = raw
            .get(7..)
            .filter(|_| path.starts_with("/users/") && path.ends_with("/items"))
            .and_then(|rest| rest.get(..rest.len().saturating_sub(6)))
            .filter(|uid| !uid.is_empty() && !uid.contains('/'));
        let items = path == "/items" || path_uid.is_some();
        if !items || !query.to_ascii_lowercase().contains("searchterm") {
            return None;
        }
        let params = params();
        let uid = path_uid
            .map(str::to_string)
            .or_else(|| param(&params, "userid").map(str::to_string));
        Some(JellyfinRoute::Items { params, uid })
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
async fn jellyfin_server_id(
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

/// Where a Jellyfin search puts an item: relevance, folded sort name, name, id.
type JellyfinSearchKey<'a> = (u8, String, &'a str, &'a str);

/// A recognised Plex route and its decoded query.
enum PlexRoute {
    SectionSearch {
        section: String,
        params: Vec<(String, String)>,
    },
    HubSearch {
        params: Vec<(String, String)>,
    },
    SectionAll {
        section: String,
        params: Vec<(String, String)>,
    },
}

impl PlexRoute {
    fn parse(path: &str, query: Option<&str>) -> Option<PlexRoute> {
        let path = path.strip_suffix('/').unwrap_or(path);
        let params = || -> Vec<(String, String)> {
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect()
        };
        if path == "/hubs/search" {
            return Some(PlexRoute::HubSearch { params: params() });
        }
        let rest = path.strip_prefix("/library/sections/")?;
        let (section, tail) = rest.split_once('/')?;
        if section.is_empty() || !section.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match tail {
            "search" => Some(PlexRoute::SectionSearch {
                section: section.to_string(),
                params: params(),
            }),
            // Cheap test first: `/all` is the busiest listing route.
            "all" if query.is_some_and(|q| q.contains("title")) => Some(PlexRoute::SectionAll {
                section: section.to_string(),
                params: params(),
            }),
            _ => None,
        }
    }
}

/// Whether the request asks for `Guid` children: `Some(false)` when it does not; `None` (the
/// server answers) for `includeGuids=1`. The kept elements hold the Guid children, but such
/// requests (python-plexapi's `searchTracks`, `section.get`) follow edits made through
/// cachearr at once, and the index learns of an edit only from the server's change event a
/// moment later: until the index is brought up to date by the write itself, they go to the
/// server, as before.
fn guids_asked(params: &[(String, String)]) -> Option<bool> {
    match param(params, "includeGuids").map(str::trim) {
        None | Some("" | "0") => Some(false),
        Some(_) => None,
    }
}

/// Parameters every Plex client sends that do not change the answer.
fn plex_ignorable(name: &str) -> bool {
    name.starts_with("X-Plex-")
        || (name.starts_with("include") && name != "includeGuids" && name != "includeMeta")
        || name.starts_with("exclude")
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A ready answer: body, content type, paging headers.
pub(crate) struct Answer {
    body: AnswerBody,
    content_type: &'static str,
    /// Plex `(start, total)` for `X-Plex-Container-Start` / `-Total-Size`.
    plex_paging: Option<(usize, usize)>,
}

/// The document before play state is filled in and it is serialised.
enum AnswerBody {
    /// A Jellyfin JSON document, and the user id whose cached `UserData` to add to `Items`.
    Json(serde_json::Value, Option<String>),
    Plex {
        doc: El,
        json: bool,
        /// Item ids whose play state to look up, with their element's path in `doc`
        /// (hub index or `None` for the container itself, then child index).
        items: Vec<(Option<usize>, usize, String)>,
    },
}

struct Ctx<'a> {
    /// The server's elements of the items (Plex answers are written from them).
    elements: Option<Arc<ElementStore>>,
    gw: &'a Gateway,
    up: &'a Arc<Upstream>,
    user: &'a Arc<UserRecord>,
    index: &'a Arc<LibraryIndex>,
    folded: &'a FoldedTitles,
    sections: &'a UserSections,
    /// The sections the crawl went through (empty when the index was installed otherwise).
    crawled: &'a [super::SectionInfo],
    /// The user's sections shown to hold nothing the server hides from them (see
    /// [`whole_sections`]): the only ones the index answers for.
    whole: &'a [String],
    headers: &'a HeaderMap,
}

/// `Some(n)` for a number, `Some(None)` when absent or empty, `None` for garbage.
fn number(v: Option<&str>) -> Option<Option<usize>> {
    match v.map(str::trim) {
        None | Some("") => Some(None),
        Some(v) => v.parse().ok().map(Some),
    }
}

impl Ctx<'_> {
    fn json(&self) -> bool {
        self.headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json"))
    }

    /// Plex paging: `X-Plex-Container-Start` / `-Size` from the header or the query.
    fn plex_paging(&self, params: &[(String, String)]) -> Option<(Option<usize>, Option<usize>)> {
        let get = |name: &str| {
            let v = self
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .or_else(|| param(params, name));
            number(v)
        };
        Some((
            get("X-Plex-Container-Start")?,
            get("X-Plex-Container-Size")?,
        ))
    }

    /// The sections to search: the visible ones (optionally one), each of which the index
    /// must hold. `None` when the index cannot answer for them.
    fn indexed(&self, only: Option<&str>) -> Option<Vec<&UserSection>> {
        let held = self.held();
        let mut out = Vec::new();
        for s in &self.sections.sections {
            if only.is_some_and(|id| id != s.id) {
                continue;
            }
            if plex::section_kinds(&s.kind).is_empty() && self.up.profile == Profile::Plex {
                // Photo and other sections hold nothing the searched kinds include.
                continue;
            }
            if !held.contains(&s.id.as_str()) {
                return None;
            }
            out.push(s);
        }
        Some(out)
    }

    /// The sections the index answers for: those it holds items of, and those the crawl
    /// went through (an empty section is held too: it has nothing to find), each only when
    /// the user sees it whole.
    fn held(&self) -> Vec<&str> {
        let mut held = self.index.section_ids();
        held.extend(
            self.crawled
                .iter()
                .filter(|s| s.kind != "other")
                .map(|s| s.id.as_str()),
        );
        held.retain(|id| self.whole.iter().any(|w| w.eq_ignore_ascii_case(id)));
        held
    }

    fn view(&self, hit: &TitleHit) -> Option<ItemView<'_>> {
        let everything = Visibility::everything();
        // Visibility was applied by the section filter of the title search; the hit's
        // section is re-checked by the caller against the user's sections.
        self.index.item(hit.item, &everything)
    }

    /// The server's element of an item, as `section`'s user is shown it (play state is
    /// filled in later); `None` when it is not kept or older than the index's record of the
    /// item (then the server answers).
    fn plex_item(&self, view: &ItemView<'_>, section: &UserSection, guids: bool) -> Option<El> {
        let kept = self.elements.as_ref()?.get(view.id())?;
        let updated = match kept.attr("updatedAt") {
            Some(elements::Scalar::I(n)) => Some(*n),
            Some(elements::Scalar::S(s)) => s.parse().ok(),
            _ => None,
        };
        if updated.is_some_and(|u| u != view.updated_at()) {
            return None;
        }
        let mut e = elements::item_el(&kept, guids)?;
        // Search answers name each item's section (a listing's items may leave it to the
        // container).
        e.set("librarySectionTitle", section.title.as_str());
        e.set("librarySectionID", plex_number(&section.id));
        e.set(
            "librarySectionKey",
            format!("/library/sections/{}", section.id),
        );
        Some(e)
    }

    /// `/library/sections/{id}/search?type=&query=`.
    fn plex_section_search(&self, section: &str, params: &[(String, String)]) -> Option<Answer> {
        for (k, _) in params {
            if !(plex_ignorable(k)
                || matches!(
                    k.as_str(),
                    "type" | "query" | "title" | "limit" | "includeGuids"
                ))
            {
                return None;
            }
        }
        let s = self.sections.get(section)?;
        let kind = plex_kind(params, s)?;
        let query = param(params, "query").or_else(|| param(params, "title"))?;
        let limit = number(param(params, "limit"))?;
        let sections = self.indexed(Some(section))?;
        let ids: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
        let mut hits = self.plex_search(query.trim(), kind, &ids);
        if let Some(limit) = limit {
            hits.truncate(limit);
        }
        let container = El::new("MediaContainer")
            .a("allowSync", true)
            .a("identifier", "com.plexapp.plugins.library")
            .a("librarySectionID", plex_number(&s.id))
            .a("librarySectionTitle", s.title.as_str())
            .a("librarySectionUUID", s.uuid.clone().unwrap_or_default())
            .a("mediaTagPrefix", "/system/bundle/media/flags/")
            .a("title1", s.title.as_str())
            .a("title2", format!("Search for '{query}'"));
        self.plex_page(container, &hits, params)
    }

    /// `/library/sections/{id}/all?title=` / `title==` (with `type=`, paging, `limit=`).
    fn plex_section_all(&self, section: &str, params: &[(String, String)]) -> Option<Answer> {
        let mut filter: Option<(bool, &str)> = None;
        for (k, v) in params {
            match k.as_str() {
                "title" if filter.is_none() => {
                    filter = Some(match v.strip_prefix('=') {
                        Some(exact) => (true, exact),
                        None => (false, v.as_str()),
                    });
                }
                "title=" if filter.is_none() => filter = Some((true, v.as_str())),
                "type" | "limit" | "includeGuids" => {}
                k if plex_ignorable(k) => {}
                _ => return None,
            }
        }
        let (exact, value) = filter?;
        let s = self.sections.get(section)?;
        let kind = plex_kind(params, s)?;
        let limit = number(param(params, "limit"))?;
        let sections = self.indexed(Some(section))?;
        let ids: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
        // `a,b` means either, as Plex reads a filter value.
        let mut hits: Vec<TitleHit> = Vec::new();
        if value.split(',').any(str::is_empty) {
            // An empty alternative matches everything: the server's plain listing.
            return None;
        }
        let PlexKind::Item(kind) = kind else {
            return self.plex_all_shows(s, exact, value, limit, &ids, params);
        };
        for alt in value.split(',') {
            let found = if exact {
                self.folded.find_exact(alt, &[kind], &ids)
            } else {
                self.folded.find(alt, &[kind], &ids, false)
            };
            hits.extend(found);
        }
        hits.sort_by_key(|h| h.item);
        hits.dedup_by_key(|h| h.item);
        // Plex lists by sort title; the year and the id break ties.
        let mut keyed: Vec<(String, u16, u64, TitleHit)> = hits
            .drain(..)
            .filter_map(|h| {
                let v = self.view(&h)?;
                Some((
                    titles::fold(plex::title_sort(v.title())),
                    v.year().unwrap_or(0),
                    v.id().parse::<u64>().unwrap_or(u64::MAX),
                    h,
                ))
            })
            .collect();
        keyed.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
        let mut hits: Vec<PlexHit> = keyed.into_iter().map(|k| PlexHit::Item(k.3)).collect();
        if let Some(limit) = limit {
            hits.truncate(limit);
        }
        let container = self.all_container(s, plex::type_name(kind))?;
        self.plex_page(container, &hits, params)
    }

    /// `/all?type=2&title=`: answered only when no show matches (see `plex_page`).
    fn plex_all_shows(
        &self,
        s: &UserSection,
        exact: bool,
        value: &str,
        limit: Option<usize>,
        ids: &[&str],
        params: &[(String, String)],
    ) -> Option<Answer> {
        let mut found: Vec<&str> = Vec::new();
        for alt in value.split(',') {
            for (show, rank) in self.folded.find_shows(alt, ids) {
                if (!exact || rank == Rank::Exact) && !found.contains(&show.id.as_str()) {
                    found.push(&show.id);
                }
            }
        }
        // One entry per show, so that a page of none still has the server's total.
        let mut hits: Vec<PlexHit> = found.iter().map(|_| PlexHit::Show).collect();
        if let Some(limit) = limit {
            hits.truncate(limit);
        }
        self.plex_page(self.all_container(s, "show")?, &hits, params)
    }

    /// The server's own listing container of section `s` (kept by the crawl: its
    /// `mediaTagVersion` and the rest), for `view_group`; `None` when not kept.
    fn all_container(&self, s: &UserSection, view_group: &str) -> Option<El> {
        let kept = self.elements.as_ref()?.container(&s.id)?;
        let mut c = elements::container_el(&kept)?;
        c.set("title2", "All");
        c.set("viewGroup", view_group);
        Some(c)
    }

    /// A search of one kind: exact, then prefix, then contains; ties by id (numerically).
    fn plex_search(&self, query: &str, kind: PlexKind, ids: &[&str]) -> Vec<PlexHit> {
        match kind {
            PlexKind::Item(kind) => {
                let mut hits = self.folded.find(query, &[kind], ids, false);
                self.sort_plex_search(&mut hits);
                hits.into_iter().map(PlexHit::Item).collect()
            }
            PlexKind::Show => self
                .folded
                .find_shows(query, ids)
                .into_iter()
                .map(|_| PlexHit::Show)
                .collect(),
        }
    }

    /// Exact, then prefix, then contains; ties by id (numerically).
    fn sort_plex_search(&self, hits: &mut [TitleHit]) {
        let id_of = |h: &TitleHit| {
            self.view(h)
                .and_then(|v| v.id().parse::<u64>().ok())
                .unwrap_or(u64::MAX)
        };
        hits.sort_by_cached_key(|h| (h.rank, id_of(h), h.item));
    }

    /// The page of `hits` asked for, in `container` (`size`, and `totalSize`/`offset` when
    /// paged, first as Plex writes them).
    fn plex_page(
        &self,
        mut container: El,
        hits: &[PlexHit],
        params: &[(String, String)],
    ) -> Option<Answer> {
        let (start, size) = self.plex_paging(params)?;
        let total = hits.len();
        let from = start.unwrap_or(0).min(total);
        let to = size.map_or(total, |s| from.saturating_add(s).min(total));
        let paged = start.is_some() || size.is_some();
        let guids = guids_asked(params)?;
        let mut items = Vec::new();
        for hit in &hits[from..to] {
            match hit {
                PlexHit::Item(hit) => {
                    let view = self.view(hit)?;
                    let section = self.sections.get(view.section_id())?;
                    let e = self.plex_item(&view, section, guids)?;
                    items.push((None, container.kids.len(), view.id().to_string()));
                    container.kids.push(e);
                }
                // A show is known only from its episodes: its element would lack what the
                // server writes (`childCount`, `leafCount`, `summary` …), and a client missing
                // those fetches the show again. The server answers.
                PlexHit::Show => return None,
            }
        }
        let mut head = vec![("size", plex::V::from(container.kids.len()))];
        if paged {
            head.push(("totalSize", plex::V::from(total)));
            head.push(("offset", plex::V::from(from)));
        }
        container.attrs.splice(0..0, head);
        let json = self.json();
        Some(Answer {
            body: AnswerBody::Plex {
                doc: container,
                json,
                items,
            },
            content_type: plex_content_type(json),
            plex_paging: paged.then_some((from, total)),
        })
    }

    /// `/hubs/search?query=&limit=&sectionId=`: one hub per type with results, `limit` per
    /// hub (default 3).
    fn plex_hub_search(&self, params: &[(String, String)]) -> Option<Answer> {
        for (k, _) in params {
            if !(plex_ignorable(k)
                || matches!(k.as_str(), "query" | "limit" | "sectionId" | "includeGuids"))
            {
                return None;
            }
        }
        let query = param(params, "query")?;
        let limit = number(param(params, "limit"))?.unwrap_or(3);
        let only = param(params, "sectionId").filter(|s| !s.is_empty());
        if let Some(id) = only {
            id.parse::<u32>().ok()?;
        }
        let guids = guids_asked(params)?;
        let sections = self.indexed(only)?;
        let ids: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
        let mut doc = El::new("MediaContainer");
        let mut items = Vec::new();
        for kind in [
            PlexKind::Item(ItemKind::Movie),
            PlexKind::Show,
            PlexKind::Item(ItemKind::Episode),
            PlexKind::Item(ItemKind::Artist),
            PlexKind::Item(ItemKind::Album),
            PlexKind::Item(ItemKind::Track),
        ] {
            let hits = self.plex_search(query.trim(), kind, &ids);
            if hits.is_empty() {
                continue;
            }
            let (name, title) = match kind {
                PlexKind::Item(k) => (plex::type_name(k), hub_title(k)),
                PlexKind::Show => ("show", "Shows"),
            };
            let shown = hits.len().min(limit);
            let mut hub = El::new("Hub")
                .a("title", title)
                .a("type", name)
                .a("hubIdentifier", name)
                .a("context", format!("hub.{name}"))
                .a("size", shown)
                .a("more", hits.len() > limit)
                .a("style", "shelf");
            for hit in hits.iter().take(limit) {
                let (view, rank) = match hit {
                    PlexHit::Item(h) => (self.view(h)?, h.rank),
                    // See `plex_page`: the server renders shows.
                    PlexHit::Show => return None,
                };
                let section = self.sections.get(view.section_id())?;
                let mut e = self
                    .plex_item(&view, section, guids)?
                    .a("score", score_of(rank));
                if kind == PlexKind::Item(ItemKind::Track) {
                    e = e
                        .a("reason", "section")
                        .a("reasonTitle", section.title.as_str())
                        .a("reasonID", plex_number(&section.id));
                }
                items.push((Some(doc.kids.len()), hub.kids.len(), view.id().to_string()));
                hub.kids.push(e);
            }
            doc.kids.push(hub);
        }
        doc.attrs.insert(0, ("size", plex::V::from(doc.kids.len())));
        let json = self.json();
        Some(Answer {
            body: AnswerBody::Plex { doc, json, items },
            content_type: plex_content_type(json),
            plex_paging: None,
        })
    }

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
    fn jellyfin_items(
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
                        titles::fold(plex::title_sort(v.title())),
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
    fn jellyfin_hints(&self, params: &[(String, String)]) -> Option<Answer> {
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
                    titles::fold(plex::title_sort(v.title())),
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

    /// Copies the user's cached play state into the items of `answer`.
    async fn fill_play_state(&self, mut answer: Answer) -> Answer {
        match &mut answer.body {
            AnswerBody::Json(doc, Some(uid)) => {
                let accept = self.headers.get(header::ACCEPT);
                if let Some(items) = doc.get_mut("Items").and_then(|v| v.as_array_mut()) {
                    for item in items {
                        let Some(id) = item.get("Id").and_then(|v| v.as_str()) else {
                            continue;
                        };
                        let id = id.to_string();
                        if let Some(data) = playstate::cached_jellyfin(
                            self.gw, self.up, self.user, uid, &id, accept,
                        )
                        .await
                            && let Some(obj) = item.as_object_mut()
                        {
                            obj.insert("UserData".to_string(), data);
                        }
                    }
                }
            }
            AnswerBody::Json(_, None) => {}
            AnswerBody::Plex { doc, items, .. } => {
                for (hub, at, id) in items.iter() {
                    let accept = self.headers.get(header::ACCEPT);
                    let Some(state) =
                        playstate::cached_plex(self.gw, self.up, self.user, id, accept).await
                    else {
                        continue;
                    };
                    let el = match hub {
                        Some(h) => doc.kids.get_mut(*h).and_then(|hub| hub.kids.get_mut(*at)),
                        None => doc.kids.get_mut(*at),
                    };
                    if let Some(el) = el {
                        let taken = std::mem::replace(el, El::new("x"));
                        *el = insert_play_state(taken, &state);
                    }
                }
            }
        }
        answer
    }
}

/// Puts the play state where the server writes it: after `index`/`parentIndex` and before
/// `year` (i.e. before the first of the attributes that follow it).
fn insert_play_state(el: El, state: &playstate::PlayState) -> El {
    let at = el
        .attrs
        .iter()
        .position(|(k, _)| {
            matches!(
                *k,
                "year" | "thumb" | "art" | "duration" | "addedAt" | "parentYear"
            )
        })
        .unwrap_or(el.attrs.len());
    let mut tail = El::keyed(el.tag, el.json_key);
    tail = state.plex_attrs(tail);
    let mut el = el;
    let extra = std::mem::take(&mut tail.attrs);
    el.attrs.splice(at..at, extra);
    if let Some(n) = state.viewed_leaf_count
        && el.attrs.iter().any(|(k, _)| *k == "viewedLeafCount")
    {
        el.set("viewedLeafCount", n);
    }
    el
}

fn score_of(rank: Rank) -> &'static str {
    match rank {
        Rank::Exact => "1.00000",
        Rank::Prefix => "0.80000",
        Rank::Contains => "0.50000",
    }
}

fn hub_title(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Movie => "Movies",
        ItemKind::Episode => "Episodes",
        ItemKind::Artist => "Artists",
        ItemKind::Album => "Albums",
        ItemKind::Track => "Tracks",
    }
}

fn plex_number(id: &str) -> plex::V {
    id.parse::<i64>()
        .map_or_else(|_| plex::V::S(id.to_string()), plex::V::I)
}

fn plex_content_type(json: bool) -> &'static str {
    if json {
        "application/json"
    } else {
        "text/xml;charset=utf-8"
    }
}

fn respond(answer: Answer, started: Instant) -> Response<ProxyBody> {
    let (body, plex_protocol) = match answer.body {
        AnswerBody::Plex { doc, json, .. } => {
            let text = if json { doc.to_json() } else { doc.to_xml() };
            (text, true)
        }
        AnswerBody::Json(v, _) => (v.to_string(), false),
    };
    let mut resp = Response::new(Either::Left(Full::new(Bytes::from(body))));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    if plex_protocol {
        h.insert("x-plex-protocol", HeaderValue::from_static("1.0"));
    }
    if let Some((start, total)) = answer.plex_paging {
        h.insert("x-plex-container-start", HeaderValue::from(start));
        h.insert("x-plex-container-total-size", HeaderValue::from(total));
    }
    crate::respond::mark_index_answer(h, started);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_recognised() {
        assert!(matches!(
            PlexRoute::parse("/hubs/search", Some("query=a")),
            Some(PlexRoute::HubSearch { .. })
        ));
        assert!(matches!(
            PlexRoute::parse("/library/sections/3/search", Some("type=10&query=a")),
            Some(PlexRoute::SectionSearch { .. })
        ));
        assert!(matches!(
            PlexRoute::parse("/library/sections/3/all", Some("type=10&title=a")),
            Some(PlexRoute::SectionAll { .. })
        ));
        assert!(PlexRoute::parse("/library/sections/3/all", Some("type=10")).is_none());
        assert!(PlexRoute::parse("/library/sections/x/search", Some("query=a")).is_none());
        assert!(PlexRoute::parse("/library/sections/3/recentlyAdded", None).is_none());
    }

    #[test]
    fn play_state_goes_before_year() {
        let el = El::keyed("Track", "Metadata")
            .a("ratingKey", "1")
            .a("year", 2000u32)
            .a("addedAt", 5u32);
        let state = playstate::PlayState {
            view_count: Some(2),
            ..Default::default()
        };
        let el = insert_play_state(el, &state);
        let names: Vec<&str> = el.attrs.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, vec!["ratingKey", "viewCount", "year", "addedAt"]);
    }
}
