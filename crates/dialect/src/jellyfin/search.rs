//! How a Jellyfin search answered from the index (`upstream_index::answer`) reads once its route is
//! read (`search_route.rs`): the kinds it asks ([`kinds_asked`]), the parameters that change
//! nothing ([`ignorable`]), and how the server compares user ids. The
//! answers themselves are written in the library from the index's search and the kept
//! documents.

use cachearr_library::ItemKind;
use http::HeaderMap;
use http::header;

use super::render;
use crate::answers::param;

/// A query decoded with its names lower-cased, as Jellyfin reads them (it ignores their
/// case).
pub(super) fn params_lowered(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect()
}

/// Parameters Jellyfin clients send that do not change which items an answer holds.
pub fn ignorable(name: &str) -> bool {
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

/// Whether two Jellyfin ids name the same user: Jellyfin reads a GUID with or without its
/// dashes and in either case.
pub fn same_id(a: &str, b: &str) -> bool {
    let bare = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    bare(a) == bare(b)
}

/// Where Jellyfin puts an item among a search's results, compared field by field: its
/// relevance to the term, its folded sort name, its name (byte order), then — where the
/// server's database leaves ties in no defined order — its id.
pub type SearchKey<'a> = (u8, String, &'a str, &'a str);

/// The [`SearchKey`] of the item named `name` with id `id`, for the folded search `term`:
/// its relevance on the name and, when the search reads it, `original`, the original title
/// (`/Items` does, `/Search/Hints` does not).
pub fn search_key<'a>(
    name: &'a str,
    original: Option<&str>,
    id: &'a str,
    term: &str,
) -> SearchKey<'a> {
    let fold = cachearr_serverfmt::search::fold;
    let original = original.map(fold);
    (
        cachearr_serverfmt::search::jellyfin_relevance(&fold(name), original.as_deref(), term),
        fold(cachearr_serverfmt::plex::title_sort(name)),
        name,
        id,
    )
}

/// Parameters of `/Shows/{id}/Episodes` that change how its items are written (each proof
/// holds for the options it was made with); the others choose or page the items.
pub const EPISODE_OPTIONS: &[&str] = &[
    "fields",
    "enableuserdata",
    "enableimages",
    "imagetypelimit",
    "enableimagetypes",
];

/// The kinds of `IncludeItemTypes` / `ExcludeItemTypes`, and whether kinds the index
/// does not hold are asked for. `None` for a list the index cannot answer.
pub fn kinds_asked(params: &[(String, String)]) -> Option<(Vec<ItemKind>, bool)> {
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
            kinds.push(render::kind_of_type(name)?);
        }
        (kinds, false)
    };
    let (mut series, mut seasons) = (false, false);
    for name in list("excludeitemtypes") {
        match render::kind_of_type(name) {
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

/// Whether a request's `Accept` asks for camel-case property names (the index's documents
/// are the server's own, in Pascal case: the server answers).
pub fn camel_asked(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().any(|v| {
        v.to_str()
            .is_ok_and(|a| a.to_ascii_lowercase().contains("camelcase"))
    })
}
