//! Plex answers from the index: section search, hub search and `…/all?title=`, written
//! from the server's own elements as the crawl kept them.

use cachearr_library::index::ItemView;
use cachearr_library::{ItemKind, Visibility};

use super::super::elements;
use super::super::titles::{self, Rank, TitleHit};
use super::{Answer, AnswerBody, Ctx, ItemRef, UserSection, number, param};
use crate::dialect::plex::render::{self as plex, El};
use crate::dialect::plex::search::{self, Kind};

/// One Plex result: an item of the index, or a show known from its episodes (which only
/// tells that the server has something to say: see `plex_page`).
enum PlexHit {
    Item(TitleHit),
    Show,
}

impl Ctx<'_> {
    /// The sections to search: the visible ones (optionally one), each of which the index
    /// must hold. `None` when the index cannot answer for them. Every section is a Plex
    /// section: a Plex route is only in a Plex upstream's route table.
    pub(super) fn indexed(&self, only: Option<&str>) -> Option<Vec<&UserSection>> {
        let held = self.held();
        let mut out = Vec::new();
        for s in &self.sections.sections {
            if only.is_some_and(|id| id != s.id) {
                continue;
            }
            if plex::section_kinds(&s.kind).is_empty() {
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

    /// The server's element of an item, as `section`'s user is shown it (play state is
    /// filled in later); `None` when it is not kept or older than the index's record of the
    /// item (then the server answers).
    fn plex_item(&self, view: &ItemView<'_>, section: &UserSection, guids: bool) -> Option<El> {
        let mut e = self
            .elements
            .as_ref()?
            .item_el(view.id(), view.updated_at(), guids)?;
        // Search answers name each item's section (a listing's items may leave it to the
        // container).
        e.set("librarySectionTitle", section.title.as_str());
        e.set("librarySectionID", search::number(&section.id));
        e.set(
            "librarySectionKey",
            format!("/library/sections/{}", section.id),
        );
        Some(e)
    }

    /// `/library/sections/{id}/search?type=&query=`.
    pub(super) fn plex_section_search(
        &self,
        section: &str,
        params: &[(String, String)],
    ) -> Option<Answer> {
        for (k, _) in params {
            if !(search::ignorable(k)
                || matches!(
                    k.as_str(),
                    "type" | "query" | "title" | "limit" | "includeGuids"
                ))
            {
                return None;
            }
        }
        let s = self.sections.get(section)?;
        let kind = search::kind_asked(params, s)?;
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
            .a("librarySectionID", search::number(&s.id))
            .a("librarySectionTitle", s.title.as_str())
            .a("librarySectionUUID", s.uuid.clone().unwrap_or_default())
            .a("mediaTagPrefix", "/system/bundle/media/flags/")
            .a("title1", s.title.as_str())
            .a("title2", format!("Search for '{query}'"));
        self.plex_page(container, &hits, params)
    }

    /// Where an item stands in its section's natural order ([`NaturalKey`]).
    pub(super) fn natural_key(&self, v: &ItemView<'_>) -> NaturalKey {
        let id = |v: &ItemView<'_>| v.id().parse::<u64>().unwrap_or(u64::MAX);
        let own = (
            titles::fold(plex::title_sort(v.title())),
            v.year().unwrap_or(0),
            id(v),
        );
        let everything = Visibility::everything();
        let by_id = |id: Option<&str>| id.and_then(|id| self.index.by_id(id, &everything));
        // An artist's place: its sort title and id.
        let artist = |a: Option<ItemView<'_>>| {
            a.map_or((String::new(), 0), |a| {
                (titles::fold(plex::title_sort(a.title())), id(&a))
            })
        };
        match v.kind() {
            ItemKind::Album => NaturalKey {
                artist: artist(by_id(v.parent_id())),
                album: (v.year().unwrap_or(0), id(v)),
                ..NaturalKey::default()
            },
            ItemKind::Track => {
                let album = by_id(v.parent_id());
                NaturalKey {
                    artist: artist(by_id(v.grandparent_id())),
                    album: album
                        .as_ref()
                        .map_or((0, 0), |a| (a.year().unwrap_or(0), id(a))),
                    place: (v.parent_index().unwrap_or(0), v.index().unwrap_or(0)),
                    own,
                }
            }
            // A show's episodes by season and number (the show named by its title, which
            // episodes carry, and its id).
            ItemKind::Episode => NaturalKey {
                artist: (
                    titles::fold(plex::title_sort(v.album().unwrap_or(""))),
                    v.grandparent_id()
                        .and_then(|g| g.parse().ok())
                        .unwrap_or(u64::MAX),
                ),
                place: (v.parent_index().unwrap_or(0), v.index().unwrap_or(0)),
                own,
                ..NaturalKey::default()
            },
            _ => NaturalKey {
                own,
                ..NaturalKey::default()
            },
        }
    }

    /// `/library/sections/{id}/all?title=` / `title==` (with `type=`, paging, `limit=`).
    pub(super) fn plex_section_all(
        &self,
        section: &str,
        params: &[(String, String)],
    ) -> Option<Answer> {
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
                k if search::ignorable(k) => {}
                _ => return None,
            }
        }
        let (exact, value) = filter?;
        let s = self.sections.get(section)?;
        let kind = search::kind_asked(params, s)?;
        let limit = number(param(params, "limit"))?;
        let sections = self.indexed(Some(section))?;
        let ids: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
        // `a,b` means either, as Plex reads a filter value.
        let mut hits: Vec<TitleHit> = Vec::new();
        if value.split(',').any(str::is_empty) {
            // An empty alternative matches everything: the server's plain listing.
            return None;
        }
        let Kind::Item(kind) = kind else {
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
        // Plex lists a section in its natural order: artists and movies by sort title (the
        // year and the id break ties), albums by their artist's sort title and then year,
        // tracks by album in that order, then disc and number.
        let mut keyed: Vec<(NaturalKey, TitleHit)> = hits
            .drain(..)
            .filter_map(|h| {
                let v = self.view(&h)?;
                Some((self.natural_key(&v), h))
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hits: Vec<PlexHit> = keyed.into_iter().map(|k| PlexHit::Item(k.1)).collect();
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
    fn plex_search(&self, query: &str, kind: Kind, ids: &[&str]) -> Vec<PlexHit> {
        match kind {
            Kind::Item(kind) => {
                let mut hits = self.folded.find(query, &[kind], ids, false);
                self.sort_plex_search(&mut hits);
                hits.into_iter().map(PlexHit::Item).collect()
            }
            Kind::Show => self
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
        let (start, size) = self.paging(params)?;
        let total = hits.len();
        let from = start.unwrap_or(0).min(total);
        let to = size.map_or(total, |s| from.saturating_add(s).min(total));
        let paged = start.is_some() || size.is_some();
        let guids = search::guids_asked(params)?;
        let mut items = Vec::new();
        for hit in &hits[from..to] {
            match hit {
                PlexHit::Item(hit) => {
                    let view = self.view(hit)?;
                    let section = self.sections.get(view.section_id())?;
                    let e = self.plex_item(&view, section, guids)?;
                    items.push(ItemRef {
                        hub: None,
                        at: container.kids.len(),
                        id: view.id().to_string(),
                        section: view.section_id().to_string(),
                        kind: view.kind(),
                    });
                    container.kids.push(e);
                }
                // A show is known only from its episodes: its element would lack what the
                // server writes (`childCount`, `leafCount`, `summary` …), and a client missing
                // those fetches the show again. The server answers.
                PlexHit::Show => return None,
            }
        }
        let head = self
            .answers
            .page_head(container.kids.len(), paged.then_some((total, from)));
        container.attrs.splice(0..0, head);
        let json = self.json();
        Some(Answer {
            body: AnswerBody::Plex {
                doc: container,
                json,
                items,
            },
            content_type: search::content_type(json),
            headers: self.whole_headers(paged.then_some((from, total))),
        })
    }

    /// `/hubs/search?query=&limit=&sectionId=`: one hub per type with results, `limit` per
    /// hub (default 3).
    pub(super) fn plex_hub_search(&self, params: &[(String, String)]) -> Option<Answer> {
        for (k, _) in params {
            if !(search::ignorable(k)
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
        let guids = search::guids_asked(params)?;
        let sections = self.indexed(only)?;
        let ids: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
        let mut doc = El::new("MediaContainer");
        let mut items = Vec::new();
        for kind in [
            Kind::Item(ItemKind::Movie),
            Kind::Show,
            Kind::Item(ItemKind::Episode),
            Kind::Item(ItemKind::Artist),
            Kind::Item(ItemKind::Album),
            Kind::Item(ItemKind::Track),
        ] {
            let hits = self.plex_search(query.trim(), kind, &ids);
            if hits.is_empty() {
                continue;
            }
            let (name, title) = match kind {
                Kind::Item(k) => (plex::type_name(k), search::hub_title(k)),
                Kind::Show => ("show", "Shows"),
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
                if kind == Kind::Item(ItemKind::Track) {
                    e = e
                        .a("reason", "section")
                        .a("reasonTitle", section.title.as_str())
                        .a("reasonID", search::number(&section.id));
                }
                items.push(ItemRef {
                    hub: Some(doc.kids.len()),
                    at: hub.kids.len(),
                    id: view.id().to_string(),
                    section: view.section_id().to_string(),
                    kind: view.kind(),
                });
                hub.kids.push(e);
            }
            doc.kids.push(hub);
        }
        let head = self.answers.page_head(doc.kids.len(), None);
        doc.attrs.splice(0..0, head);
        let json = self.json();
        Some(Answer {
            body: AnswerBody::Plex { doc, json, items },
            content_type: search::content_type(json),
            headers: self.whole_headers(None),
        })
    }
}

fn score_of(rank: Rank) -> &'static str {
    match rank {
        Rank::Exact => "1.00000",
        Rank::Prefix => "0.80000",
        Rank::Contains => "0.50000",
    }
}

/// An item's place in its section's natural order, compared field by field: its artist's
/// (sort title, id), its album's (year, id), its (disc, number), then its own (sort title,
/// year, id).
#[derive(Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct NaturalKey {
    artist: (String, u64),
    album: (u16, u64),
    place: (u32, u32),
    own: (String, u16, u64),
}
