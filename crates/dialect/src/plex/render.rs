//! Plex documents answered from the index (`upstream_index::answer`): the Plex names of kinds and
//! type numbers. The document tree ([`El`](cachearr_serverfmt::tree::El)) and its writers —
//! XML by default, the JSON Plex writes for `Accept: application/json` — are
//! `cachearr-serverfmt`'s, the very code the
//! simulator answers with. The item elements themselves are the server's own, kept by
//! `upstream_index::elements`.

use cachearr_library::ItemKind;

/// Plex's type name of a kind.
pub fn type_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Track => "track",
        ItemKind::Album => "album",
        ItemKind::Artist => "artist",
        ItemKind::Movie => "movie",
        ItemKind::Episode => "episode",
        ItemKind::Show => "show",
        ItemKind::Season => "season",
    }
}

/// Plex's `type=` number of a kind.
pub fn type_number(kind: ItemKind) -> u8 {
    match kind {
        ItemKind::Movie => 1,
        ItemKind::Show => 2,
        ItemKind::Season => 3,
        ItemKind::Episode => 4,
        ItemKind::Artist => 8,
        ItemKind::Album => 9,
        ItemKind::Track => 10,
    }
}

/// The kind of a Plex `type=` number, if the index holds that kind (shows, seasons, photos:
/// `None`).
pub fn kind_of_type(n: &str) -> Option<ItemKind> {
    match n.trim() {
        "1" => Some(ItemKind::Movie),
        "2" => Some(ItemKind::Show),
        "3" => Some(ItemKind::Season),
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
        "show" => &[ItemKind::Show, ItemKind::Season, ItemKind::Episode],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The document format itself is tested where it lives (cachearr-serverfmt).
    #[test]
    fn kinds_and_type_numbers() {
        assert_eq!(kind_of_type("10"), Some(ItemKind::Track));
        assert_eq!(kind_of_type(" 1 "), Some(ItemKind::Movie));
        assert_eq!(kind_of_type("2"), Some(ItemKind::Show));
        assert_eq!(kind_of_type("5"), None);
        assert_eq!(type_name(ItemKind::Episode), "episode");
        assert_eq!(top_kind("artist"), Some(ItemKind::Artist));
        assert_eq!(
            section_kinds("show"),
            &[ItemKind::Show, ItemKind::Season, ItemKind::Episode]
        );
    }
}
