use super::search::rank_title;
use super::*;

fn track(id: &str, section: &str, artist: &str, title: &str, album: &str) -> ItemRecord {
    ItemRecord {
        album: Some(album.to_string()),
        album_artist: Some(artist.to_string()),
        duration_ms: Some(200_000),
        file_path: Some(format!("/music/{artist}/{album}/{title}.flac")),
        ..ItemRecord::track(id, section, artist, title)
    }
}

fn sample() -> LibraryIndex {
    let mut records = vec![
        track("1", "music", "The Beatles", "Hey Jude", "Hey Jude"),
        track(
            "2",
            "music",
            "The Beatles",
            "Hey Jude (Live)",
            "Live at the BBC",
        ),
        track(
            "3",
            "music",
            "Jay-Z",
            "Empire State of Mind (feat. Alicia Keys)",
            "Blueprint 3",
        ),
        track("4", "private", "Secret Band", "Hey Jude", "Covers"),
        track("5", "music", "Queen", "Don't Stop Me Now", "Jazz"),
    ];
    records[0].musicbrainz_ids = vec!["mbid://0E8A7F6B-9E0A-4C0B-8C77-5A6F1E1D2C3B".into()];
    records[0].isrc = Some("GB-AYE-68-00001".into());
    records[0].parent_id = Some("a1".into());
    records[0].grandparent_id = Some("artist-1".into());
    records[0].index = Some(7);
    records[0].parent_index = Some(2);
    let mut album = ItemRecord::track("a1", "music", "The Beatles", "Hey Jude");
    album.kind = ItemKind::Album;
    records.push(album);
    LibraryIndex::build(&records).unwrap()
}

#[test]
fn lookups_by_id_path_mbid_and_isrc() {
    let index = sample();
    let all = Visibility::everything();
    assert_eq!(
        index.by_id("3", &all).unwrap().title(),
        "Empire State of Mind (feat. Alicia Keys)"
    );
    assert!(index.by_id("99", &all).is_none());
    let view = index
        .by_path("/music/Queen/Jazz/Don't Stop Me Now.flac", &all)
        .unwrap();
    assert_eq!(view.id(), "5");
    assert!(
        index
            .by_path("/music/Queen/Jazz/Don't Stop Me Now.mp3", &all)
            .is_none()
    );
    let found = index.by_musicbrainz_id("0e8a7f6b9e0a4c0b8c775a6f1e1d2c3b", &all);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id(), "1");
    assert_eq!(index.by_isrc("gbaye6800001", &all)[0].id(), "1");
    assert!(index.by_musicbrainz_id("garbage", &all).is_empty());
}

#[test]
fn records_round_trip_through_the_index() {
    let index = sample();
    let all = Visibility::everything();
    let record = index.by_id("1", &all).unwrap().to_record();
    assert_eq!(record.title, "Hey Jude");
    assert_eq!(record.artists, ["The Beatles"]);
    assert_eq!(record.album.as_deref(), Some("Hey Jude"));
    assert_eq!(record.isrc.as_deref(), Some("GBAYE6800001"));
    assert_eq!(
        record.musicbrainz_ids,
        ["0e8a7f6b-9e0a-4c0b-8c77-5a6f1e1d2c3b"]
    );
    assert_eq!(
        record.file_path.as_deref(),
        Some("/music/The Beatles/Hey Jude/Hey Jude.flac")
    );
    assert_eq!(record.parent_id.as_deref(), Some("a1"));
    assert_eq!(record.grandparent_id.as_deref(), Some("artist-1"));
    assert_eq!((record.index, record.parent_index), (Some(7), Some(2)));
    let other = index.by_id("2", &all).unwrap();
    assert_eq!((other.parent_id(), other.index()), (None, None));
    let rebuilt = LibraryIndex::build(&index.records().collect::<Vec<_>>()).unwrap();
    assert_eq!(rebuilt.len(), index.len());
    assert_eq!(rebuilt.by_id("1", &all).unwrap().to_record(), record);
}

#[test]
fn a_later_record_with_the_same_id_replaces_the_earlier() {
    let mut builder = IndexBuilder::new();
    builder
        .push(&ItemRecord::track("1", "s", "A", "Old title"))
        .unwrap();
    builder
        .push(&ItemRecord::track("1", "s", "A", "New title"))
        .unwrap();
    assert_eq!(builder.replaced(), 1);
    let index = builder.finish();
    assert_eq!(index.len(), 1);
    let all = Visibility::everything();
    assert_eq!(index.by_id("1", &all).unwrap().title(), "New title");
    assert!(index.search("old", &[], &all, 10).is_empty());
}

#[test]
fn nothing_outside_the_visible_sections_is_returned() {
    let index = sample();
    let music = Visibility::sections(["music"]);
    let hits = index.search("hey jude", &[ItemKind::Track], &music, 10);
    assert_eq!(hits.len(), 2);
    for hit in &hits {
        assert_eq!(index.item(hit.item, &music).unwrap().section_id(), "music");
    }
    assert!(index.by_id("4", &music).is_none());
    assert!(
        index
            .by_path("/music/Secret Band/Covers/Hey Jude.flac", &music)
            .is_none()
    );
    let nothing = Visibility::sections(Vec::<String>::new());
    assert!(index.search("hey", &[], &nothing, 10).is_empty());
    assert!(
        index
            .by_musicbrainz_id("0e8a7f6b9e0a4c0b8c775a6f1e1d2c3b", &nothing)
            .is_empty()
    );
    let unknown = Visibility::sections(["no-such-section"]);
    assert!(index.by_id("1", &unknown).is_none());
    let private = Visibility::sections(["private"]);
    assert_eq!(index.search("jude", &[], &private, 10).len(), 1);
}

#[test]
fn search_ranks_exact_then_prefix_then_substring() {
    let index = sample();
    let all = Visibility::everything();
    let hits = index.search("HEY JUDE", &[], &all, 10);
    let ids: Vec<&str> = hits
        .iter()
        .map(|hit| index.item(hit.item, &all).unwrap().id())
        .collect();
    // Exact titles first (tracks before the album), the live version has the same base.
    assert_eq!(ids.len(), 4);
    assert!(hits[0].score >= hits[3].score);
    let hits = index.search("mind empire", &[], &all, 10);
    assert_eq!(hits.len(), 1, "words in any order");
    let hits = index.search("dont st", &[], &all, 10);
    assert_eq!(index.item(hits[0].item, &all).unwrap().id(), "5");
    assert!(index.search("zzzz", &[], &all, 10).is_empty());
    assert!(index.search("", &[], &all, 10).is_empty());
    assert_eq!(index.search("h", &[], &all, 2).len(), 2, "the limit holds");
    let short = index.search("e", &[], &all, 10);
    assert_eq!(
        short.len(),
        1,
        "one letter: titles with a word starting with it"
    );
    assert_eq!(index.item(short[0].item, &all).unwrap().id(), "3");
    assert_eq!(
        index.search("ju", &[], &all, 10).len(),
        4,
        "two letters: word starts"
    );
    let albums = index.search("hey jude", &[ItemKind::Album], &all, 10);
    assert_eq!(albums.len(), 1);
}

#[test]
fn exact_keys_cover_featured_and_album_artists() {
    let index = sample();
    let jay = index.artist_id("jay z").unwrap();
    let alicia = index.artist_id("alicia keys").unwrap();
    let title = "empire state of mind";
    assert_eq!(index.exact_items(title, VersionTags::NONE, jay).count(), 1);
    assert_eq!(
        index.exact_items(title, VersionTags::NONE, alicia).count(),
        1
    );
    let beatles = index.artist_id("beatles").unwrap();
    assert_eq!(
        index
            .exact_items("hey jude", VersionTags::NONE, beatles)
            .count(),
        1
    );
    assert_eq!(
        index
            .exact_items("hey jude", VersionTags::LIVE, beatles)
            .count(),
        1
    );
    assert_eq!(index.artist_block(beatles).len(), 2);
    // "hey jude" has 8 characters: both tracks' base titles do.
    assert_eq!(index.artist_block_within(beatles, 8, 8).len(), 2);
    assert!(index.artist_block_within(beatles, 9, 255).is_empty());
}

proptest::proptest! {
    #[test]
    fn title_shapes_never_rule_out_a_similar_title(
        a in "[a-f ]{0,14}", b in "[a-f ]{0,14}", floor in 0.0f32..1.0,
    ) {
        if normalize::similarity(&a, &b) >= floor {
            proptest::prop_assert!(TitleShape::of(&a).could_reach(TitleShape::of(&b), floor));
        }
    }
}

#[test]
fn the_prefix_fast_path_returns_what_the_full_search_returns() {
    let mut records = Vec::new();
    for n in 0..300 {
        let title = match n % 4 {
            0 => format!("Storm {n}"),
            1 => format!("Stormy Weather {n}"),
            2 => format!("The Storm Inside {n}"),
            _ => "Storm".to_string(),
        };
        records.push(ItemRecord::track(
            &n.to_string(),
            if n % 5 == 0 { "b" } else { "a" },
            "X",
            &title,
        ));
    }
    let index = LibraryIndex::build(&records).unwrap();
    let visible = Visibility::sections(["a"]);
    for limit in [1, 10, 50, 200, 1000] {
        let fast = index.search("storm", &[], &visible, limit);
        // The same ranking, computed without the fast path: rank every visible item.
        let mut all: Vec<(f32, u32)> = (0..index.len() as u32)
            .filter_map(|item| {
                let view = index.item(ItemNo(item), &visible)?;
                let score = rank_title(view.title_norm(), "storm", &["storm"])?;
                Some((score, item))
            })
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        all.truncate(limit);
        let fast: Vec<(f32, u32)> = fast.iter().map(|hit| (hit.score, hit.item.0)).collect();
        assert_eq!(fast, all, "limit {limit}");
    }
}

#[test]
fn stats_count_kinds_and_bytes() {
    let stats = sample().stats();
    assert_eq!(stats.items_by_kind[0], 5);
    assert_eq!(stats.items_by_kind[1], 1);
    assert_eq!(stats.sections, 2);
    assert!(stats.heap_bytes > stats.text_bytes);
}
