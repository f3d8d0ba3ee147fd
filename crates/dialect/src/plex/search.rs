//! How a Plex search answered from the index (`cachearr-copy`'s `upstream_index::answer`) reads, once
//! its route is read (`search_route.rs`): the kind it asks of a section ([`kind_asked`]), the parameters that change nothing ([`ignorable`]) or ask
//! for `Guid`s ([`guids_asked`]), and the fixed parts of its answer (hub titles, section
//! numbers, the content type). The answers themselves, and how they page, are written in
//! `answer.rs` from the copy's title search and the kept elements, which the copy hands
//! in.

use cachearr_library::ItemKind;

use super::render;
use crate::answers::{RecentRequest, WalkOrder, WalkRequest, param};
use crate::model::library::UserSection;
use cachearr_serverfmt::tree::V;

/// What a Plex `type=` (or a section's default) asks a title search for.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    /// A kind the title search holds.
    Item(ItemKind),
    /// Shows, which the title search knows from their episodes (and the server renders).
    Show,
}

/// The kind a Plex search asks of section `s`: its `type=`, or the section's top level.
/// Seasons are searched by the server: the title search holds none.
pub fn kind_asked(params: &[(String, String)], s: &UserSection) -> Option<Kind> {
    let kind = match param(params, "type").filter(|t| !t.is_empty()) {
        Some(t) if t.trim() == "2" => Kind::Show,
        Some(t) => match render::kind_of_type(t)? {
            ItemKind::Season => return None,
            k => Kind::Item(k),
        },
        None if s.kind == "show" => Kind::Show,
        None => Kind::Item(render::top_kind(&s.kind)?),
    };
    let ok = match kind {
        Kind::Show => s.kind == "show",
        Kind::Item(k) => render::section_kinds(&s.kind).contains(&k),
    };
    ok.then_some(kind)
}

/// The kind a Plex section listing asks of section `s` (its `type=`, or the section's top
/// level: a show section lists its shows), when the section holds it.
pub fn listing_kind(params: &[(String, String)], s: &UserSection) -> Option<ItemKind> {
    let kind = match param(params, "type").filter(|t| !t.is_empty()) {
        Some(t) => render::kind_of_type(t)?,
        None if s.kind == "show" => ItemKind::Show,
        None => render::top_kind(&s.kind)?,
    };
    render::section_kinds(&s.kind)
        .contains(&kind)
        .then_some(kind)
}

/// Whether the request asks for `Guid` children (`includeGuids=1`, python-plexapi's
/// `searchTracks` and `section.get`): the kept elements hold them, in the server's order.
/// `None` (the server answers) for a value the server may read otherwise. Edits made through
/// cachearr keep the index from answering until the items are read again
/// (`UpstreamIndex::note_write`), so such a search right after an edit is the server's.
pub fn guids_asked(params: &[(String, String)]) -> Option<bool> {
    match param(params, "includeGuids").map(str::trim) {
        None | Some("" | "0") => Some(false),
        Some("1") => Some(true),
        Some(_) => None,
    }
}

/// The kind a listing's query names, as written: `type=`.
pub fn kind_named(params: &[(String, String)]) -> Option<&str> {
    param(params, "type")
}

/// How a tree walk's query reads (`CopyAnswers::walk_request`): `type=` (the kind itself is
/// [`kind_asked`]'s), `includeGuids` ([`guids_asked`]) and a sort by rating key —
/// `sort=id`, `id:asc`, `id:desc`, `ratingKey…`, as PlexKodiConnect pages an album's tracks —
/// beside what every client sends ([`ignorable`]). Any other parameter or sort is the
/// server's.
pub fn walk_request(params: &[(String, String)]) -> Option<WalkRequest> {
    let understood = params
        .iter()
        .all(|(k, _)| ignorable(k) || matches!(k.as_str(), "type" | "includeGuids" | "sort"));
    if !understood {
        return None;
    }
    let order = match param(params, "sort") {
        None => WalkOrder::Natural,
        Some("id" | "id:asc" | "ratingKey" | "ratingKey:asc") => WalkOrder::ById,
        Some("id:desc" | "ratingKey:desc") => WalkOrder::ByIdDescending,
        Some(_) => return None,
    };
    Some(WalkRequest {
        kind_named: kind_named(params).is_some(),
        guids: guids_asked(params)?,
        order,
    })
}

/// The most items a recently-added list holds when no page size is asked for (a size lifts
/// the cap; a start alone pages the capped list).
pub const RECENT_MAX: usize = 50;

/// A home hub of recently added items (`/hubs/home/recentlyAdded`): the kind its `type=`
/// names, which it must, and [`RECENT_MAX`]. `personal=1` (Tautulli sends it) lists the
/// same items, a server's home hub holding its own libraries only; it is a variant of its
/// own, so that the copy writes it only once a server's answers of it proved the frame. A
/// section (`sectionID`), external ids or anything else: `None`.
pub fn recent_request(params: &[(String, String)]) -> Option<RecentRequest> {
    let mut variant = "";
    for (k, v) in params {
        match k.as_str() {
            "type" => {}
            "personal" if v == "1" && variant.is_empty() => variant = "personal=1",
            k if ignorable(k) => {}
            _ => return None,
        }
    }
    Some(RecentRequest {
        kind: render::kind_of_type(param(params, "type")?)?,
        unpaged_max: RECENT_MAX,
        variant,
    })
}

/// Parameters every Plex client sends that do not change the answer.
pub fn ignorable(name: &str) -> bool {
    name.starts_with("X-Plex-")
        || (name.starts_with("include") && name != "includeGuids" && name != "includeMeta")
        || name.starts_with("exclude")
}

/// The title of a hub search's hub of `kind`.
pub fn hub_title(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Movie => "Movies",
        ItemKind::Episode => "Episodes",
        ItemKind::Artist => "Artists",
        ItemKind::Album => "Albums",
        ItemKind::Track => "Tracks",
        ItemKind::Show => "Shows",
        ItemKind::Season => "Seasons",
    }
}

/// A section id as the server writes it in an attribute: a number when it is one.
pub fn number(id: &str) -> V {
    id.parse::<i64>()
        .map_or_else(|_| V::S(id.to_string()), V::I)
}

/// The content type of an answer in JSON.
pub const JSON_TYPE: &str = "application/json";

/// The content type of an answer in XML.
pub const XML_TYPE: &str = "text/xml;charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_walks_query_reads_its_kind_guids_and_order() {
        let plain = walk_request(&params(&[
            ("X-Plex-Container-Start", "0"),
            ("includeCollections", "1"),
        ]));
        assert_eq!(
            plain,
            Some(WalkRequest {
                kind_named: false,
                guids: false,
                order: WalkOrder::Natural,
            })
        );
        let asked = walk_request(&params(&[
            ("type", "10"),
            ("includeGuids", "1"),
            ("sort", "ratingKey:desc"),
        ]));
        assert_eq!(
            asked,
            Some(WalkRequest {
                kind_named: true,
                guids: true,
                order: WalkOrder::ByIdDescending,
            })
        );
        let by_id = walk_request(&params(&[("sort", "id")])).map(|w| w.order);
        assert_eq!(by_id, Some(WalkOrder::ById));
    }

    #[test]
    fn a_walk_with_a_filter_another_sort_or_an_odd_value_is_the_servers() {
        for query in [
            &[("year", "1999")][..],
            &[("sort", "titleSort")],
            &[("includeGuids", "2")],
            &[("includeMeta", "1")],
        ] {
            assert_eq!(walk_request(&params(query)), None, "{query:?}");
        }
    }
}
