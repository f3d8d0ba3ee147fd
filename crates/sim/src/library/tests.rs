use super::*;

fn small() -> Library {
    Library::generate(LibraryConfig {
        tracks: 3_000,
        movies: 50,
        shows: 5,
        seed: 7,
    })
}

#[test]
fn generates_exactly_the_requested_counts() {
    let lib = small();
    assert_eq!(lib.count(ItemKind::Track), 3_000);
    assert_eq!(lib.count(ItemKind::Movie), 50);
    assert_eq!(lib.count(ItemKind::Show), 5);
    assert!(
        lib.section(LOSSLESS_MUSIC_SECTION)
            .is_some_and(|s| s.items(ItemKind::Track).len() == 500)
    );
}

#[test]
fn same_seed_same_library_other_seed_other_library() {
    assert_eq!(small().fingerprint(), small().fingerprint());
    let other = Library::generate(LibraryConfig {
        tracks: 3_000,
        movies: 50,
        shows: 5,
        seed: 8,
    });
    assert_ne!(small().fingerprint(), other.fingerprint());
}

#[test]
fn names_are_messy_like_real_ones() {
    let lib = small();
    let titles: Vec<&str> = lib.sections()[0]
        .items(ItemKind::Track)
        .iter()
        .filter_map(|&id| lib.item(id).map(|i| i.title()))
        .collect();
    let any = |needle: &str| titles.iter().any(|t| t.contains(needle));
    assert!(any("(Live)") || any("Live at"), "live versions");
    assert!(any("Remix") || any("Acoustic"), "remix/acoustic versions");
    assert!(
        any("feat.")
            || lib
                .items
                .iter()
                .any(|r| lib.strings.get(r.original_title).contains("feat."))
    );
    assert!(titles.iter().any(|t| !t.is_ascii()), "accents");
    let va = lib.sections()[0]
        .items(ItemKind::Artist)
        .iter()
        .any(|&a| lib.item(a).is_some_and(|i| i.title() == "Various Artists"));
    assert!(va, "compilations");
    // The same song title appears on several albums.
    let mut sorted = titles.clone();
    sorted.sort();
    assert!(sorted.windows(2).any(|w| w[0] == w[1]));
    let with_mbid = lib.sections()[0]
        .items(ItemKind::Track)
        .iter()
        .filter(|&&id| lib.item(id).is_some_and(|i| i.musicbrainz_id().is_some()))
        .count();
    assert!(
        with_mbid > 500 && with_mbid < 2_500,
        "MusicBrainz ids on part of the tracks: {with_mbid}"
    );
}

#[test]
fn lossless_section_mirrors_albums_of_the_main_one() {
    let lib = small();
    let main: std::collections::HashSet<(String, String)> = lib.sections()[0]
        .items(ItemKind::Album)
        .iter()
        .filter_map(|&a| lib.item(a))
        .map(|a| {
            (
                a.parent()
                    .map(|p| p.title().to_string())
                    .unwrap_or_default(),
                a.title().to_string(),
            )
        })
        .collect();
    let shared = lib.sections()[3]
        .items(ItemKind::Album)
        .iter()
        .filter_map(|&a| lib.item(a))
        .filter(|a| {
            main.contains(&(
                a.parent()
                    .map(|p| p.title().to_string())
                    .unwrap_or_default(),
                a.title().to_string(),
            ))
        })
        .count();
    assert!(shared > 10, "{shared}");
}

#[test]
fn guid_ids_round_trip() {
    let lib = small();
    let item = lib.item(42).expect("item 42");
    assert_eq!(id_from_guid(7, &item.guid_id()), Some(42));
    assert_eq!(id_from_guid(8, &item.guid_id()), None);
    assert_eq!(id_from_guid(7, "nonsense"), None);
}

#[test]
fn mutations_update_lists_and_generation() {
    let mut lib = small();
    let album = lib.sections()[0].items(ItemKind::Album)[0];
    let n = lib.children(album).len();
    let g = lib.generation();
    let id = lib
        .add_item(NewItem {
            kind: ItemKind::Track,
            section: None,
            parent: Some(album),
            title: "New".into(),
            added_at: 1,
        })
        .expect("add");
    assert_eq!(lib.children(album).len(), n + 1);
    assert!(lib.generation() > g);
    let removed = lib.remove_item(album, 2).expect("remove");
    assert!(removed.contains(&id));
    assert!(lib.item(id).is_none());
    assert!(!lib.sections()[0].items(ItemKind::Track).contains(&id));
    assert_eq!(
        lib.remove_item(album, 3),
        Err(LibraryError::NoSuchItem(album))
    );
    assert!(
        lib.add_item(NewItem {
            kind: ItemKind::Track,
            section: None,
            parent: Some(1_000_000),
            title: "x".into(),
            added_at: 1
        })
        .is_err()
    );
}

#[test]
fn a_renamed_film_moves_to_where_its_new_title_sorts() {
    let mut lib = small();
    let section = lib
        .sections()
        .iter()
        .position(|s| s.items(ItemKind::Movie).len() > 3)
        .expect("a film section");
    let titles = |lib: &Library| -> Vec<String> {
        lib.sections()[section]
            .items(ItemKind::Movie)
            .iter()
            .map(|id| fold(lib.item_any(*id).expect("listed").title_sort()))
            .collect()
    };
    let before = titles(&lib);
    assert!(
        before.is_sorted(),
        "a generated section lists films by title sort"
    );
    let first = lib.sections()[section].items(ItemKind::Movie)[0];
    lib.rename_item(first, "Zzyzx Road Revisited", 10)
        .expect("rename");
    let after = titles(&lib);
    assert!(
        after.is_sorted(),
        "renamed through the rename path: {after:?}"
    );
    assert_eq!(
        *lib.sections()[section]
            .items(ItemKind::Movie)
            .last()
            .expect("films"),
        first
    );
    let second = lib.sections()[section].items(ItemKind::Movie)[1];
    assert!(
        lib.edit_field(second, "title", "Aaardvark Dawn", 11)
            .expect("edit")
    );
    assert!(titles(&lib).is_sorted(), "renamed through an edit");
    assert_eq!(lib.sections()[section].items(ItemKind::Movie)[0], second);

    // Two films renamed to one title stand in the generated order's tie-break (year, then
    // id), not in the order they were renamed.
    let films = lib.sections()[section].items(ItemKind::Movie).to_vec();
    let key = |lib: &Library, id: ItemId| (lib.item_any(id).expect("listed").rec.year, id);
    let mut pair = [films[3], films[4]];
    pair.sort_by_key(|id| key(&lib, *id));
    let [first_in_order, second_in_order] = pair;
    // Renamed in the other order.
    lib.rename_item(second_in_order, "Twice The Same", 12)
        .expect("rename");
    lib.rename_item(first_in_order, "Twice The Same", 13)
        .expect("rename");
    let listed: Vec<ItemId> = (lib.sections()[section].items(ItemKind::Movie).iter())
        .copied()
        .filter(|id| pair.contains(id))
        .collect();
    assert_eq!(listed, pair);
}
