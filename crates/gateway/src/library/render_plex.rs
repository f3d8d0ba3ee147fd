//! Plex documents rendered from the index: the item elements of a `MediaContainer`, and the
//! Plex names of kinds and type numbers. The document tree ([`El`]) and its writers — XML by
//! default, the JSON Plex writes for `Accept: application/json` — are `cachearr-serverfmt`'s,
//! the very code the simulator answers with.
//!
//! Item elements carry what the index knows (ids, titles, parents' titles, section, year,
//! duration, dates, derived keys and thumbs) plus the user's play state when it is in the
//! cache; see docs/library-index.md "Answering from the index" for what a server answer
//! has that these do not.

use cachearr_library::ItemKind;
use cachearr_library::index::ItemView;

use super::playstate::PlayState;
use super::visibility::UserSection;

/// The document tree and `titleSort`, shared with the simulator: an answer from the index is
/// written by the same code as the server's own answers it is compared with.
pub use cachearr_serverfmt::plex::{El, V, title_sort};

/// Plex's type name of a kind.
pub fn type_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Track => "track",
        ItemKind::Album => "album",
        ItemKind::Artist => "artist",
        ItemKind::Movie => "movie",
        ItemKind::Episode => "episode",
    }
}

/// The kind of a Plex `type=` number, if the index holds that kind (shows, seasons, photos:
/// `None`).
pub fn kind_of_type(n: &str) -> Option<ItemKind> {
    match n.trim() {
        "1" => Some(ItemKind::Movie),
        "4" => Some(ItemKind::Episode),
        "8" => Some(ItemKind::Artist),
        "9" => Some(ItemKind::Album),
        "10" => Some(ItemKind::Track),
        _ => None,
    }
}

/// The kind a section lists by default (its top level), if the index holds it.
pub fn top_kind(section_type: &str) -> Option<ItemKind> {
    match section_type {
        "artist" => Some(ItemKind::Artist),
        "movie" => Some(ItemKind::Movie),
        _ => None,
    }
}

/// The kinds a section of this Plex type holds that the index holds too.
pub fn section_kinds(section_type: &str) -> &'static [ItemKind] {
    match section_type {
        "artist" => &[ItemKind::Artist, ItemKind::Album, ItemKind::Track],
        "movie" => &[ItemKind::Movie],
        "show" => &[ItemKind::Episode],
        _ => &[],
    }
}

/// The section attributes every item element carries (the id typed as Plex types it: a
/// number when it is one).
fn with_section(e: El, section: &UserSection) -> El {
    e.a("librarySectionTitle", section.title.as_str())
        .a(
            "librarySectionID",
            section
                .id
                .parse::<i64>()
                .map_or_else(|_| V::S(section.id.clone()), V::I),
        )
        .a(
            "librarySectionKey",
            format!("/library/sections/{}", section.id),
        )
}

/// The element of one item as `section`'s user sees it.
pub fn item_el(view: &ItemView<'_>, section: &UserSection, play: Option<&PlayState>) -> El {
    let kind = view.kind();
    let id = view.id();
    let playable = matches!(kind, ItemKind::Track | ItemKind::Movie | ItemKind::Episode);
    let mut e = match kind {
        ItemKind::Track => El::keyed("Track", "Metadata"),
        ItemKind::Movie | ItemKind::Episode => El::keyed("Video", "Metadata"),
        ItemKind::Album | ItemKind::Artist => El::keyed("Directory", "Metadata"),
    };
    e = e.a("ratingKey", id).a(
        "key",
        if playable {
            format!("/library/metadata/{id}")
        } else {
            format!("/library/metadata/{id}/children")
        },
    );
    e = e
        .opt("parentRatingKey", view.parent_id())
        .opt("grandparentRatingKey", view.grandparent_id());
    let title = view.title();
    e = e.a("type", type_name(kind)).a("title", title);
    if title_sort(title) != title {
        e = e.a("titleSort", title_sort(title));
    }
    e = e
        .opt(
            "grandparentKey",
            view.grandparent_id()
                .map(|id| format!("/library/metadata/{id}")),
        )
        .opt(
            "parentKey",
            view.parent_id().map(|id| format!("/library/metadata/{id}")),
        );
    e = with_section(e, section);
    match kind {
        ItemKind::Track => {
            e = e
                .opt("grandparentTitle", view.album_artist())
                .opt("parentTitle", view.album())
                .opt("originalTitle", super::titles::original_title(view));
        }
        ItemKind::Album => {
            e = e.opt("parentTitle", view.album_artist());
        }
        ItemKind::Episode => {
            e = e.opt("grandparentTitle", view.album());
        }
        ItemKind::Artist | ItemKind::Movie => {}
    }
    if matches!(kind, ItemKind::Track | ItemKind::Episode) {
        e = e
            .opt("index", view.index())
            .opt("parentIndex", view.parent_index());
    }
    if let Some(p) = play {
        e = p.plex_attrs(e);
    }
    if kind != ItemKind::Artist {
        e = e.opt("year", view.year().map(u32::from));
    }
    let updated = view.updated_at();
    if kind != ItemKind::Track {
        e = e.a("thumb", format!("/library/metadata/{id}/thumb/{updated}"));
    }
    if matches!(kind, ItemKind::Movie | ItemKind::Artist) {
        e = e.a("art", format!("/library/metadata/{id}/art/{updated}"));
    }
    e = e
        .opt("duration", view.duration_ms().filter(|d| *d > 0))
        .a("addedAt", view.added_at())
        .a("updatedAt", updated);
    if section.kind == "artist" {
        e = e.a("musicAnalysisVersion", 1u32);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    // The document format itself is tested where it lives (cachearr-serverfmt).
    #[test]
    fn kinds_and_type_numbers() {
        assert_eq!(kind_of_type("10"), Some(ItemKind::Track));
        assert_eq!(kind_of_type(" 1 "), Some(ItemKind::Movie));
        assert_eq!(kind_of_type("2"), None);
        assert_eq!(type_name(ItemKind::Episode), "episode");
        assert_eq!(top_kind("artist"), Some(ItemKind::Artist));
        assert_eq!(section_kinds("show"), &[ItemKind::Episode]);
    }
}
