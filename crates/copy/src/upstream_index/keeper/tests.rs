//! Tests of the index keeper: rebuilding an index from changes, totals, retry back-off, file names.

use std::collections::HashSet;

use super::refresh::{children_of, children_of_changed, count_by_stream, placed, rebuild};
use super::*;
use cachearr_dialect::events::{Change, ChangeEvent};
use cachearr_library::ItemRecord;

fn record(id: &str, section: &str, parent: Option<&str>) -> ItemRecord {
    let mut r = ItemRecord::track(id, section, "A", &format!("Song {id}"));
    r.parent_id = parent.map(str::to_string);
    r.duration_ms = Some(61_000);
    r
}

#[test]
fn rebuild_keeps_replaces_and_drops() {
    let current = LibraryIndex::build(&[
        record("1", "s", Some("10")),
        record("2", "s", Some("10")),
        record("3", "t", None),
    ])
    .unwrap();
    let mut changed = record("2", "s", Some("10"));
    changed.title = "Renamed".into();
    let index = rebuild(&current, &[changed, record("4", "s", None)], |r| {
        r.id != "1" && r.section_id != "t"
    })
    .unwrap();
    let all = Visibility::everything();
    assert_eq!(index.len(), 2);
    assert_eq!(index.by_id("2", &all).unwrap().title(), "Renamed");
    assert!(index.by_id("1", &all).is_none());
    assert_eq!(
        count_by_stream(&index)[&("s".to_string(), ItemKind::Track)],
        2
    );
}

#[test]
fn an_item_answered_for_several_libraries_keeps_its_own() {
    let current =
        LibraryIndex::build(&[record("1", "s", Some("10")), record("10", "s", None)]).unwrap();
    // "1" is known in "s"; "2" is new under "10" (in "s"); "3" is new with no known parent.
    let fetched = vec![
        record("1", "s", Some("10")),
        record("1", "t", Some("10")),
        record("2", "t", Some("10")),
        record("2", "s", Some("10")),
        record("3", "s", Some("99")),
        record("3", "t", Some("99")),
        record("4", "t", None),
    ];
    let (kept, unplaced) = placed(fetched, &current);
    let got: Vec<(&str, &str)> = kept
        .iter()
        .map(|r| (r.id.as_str(), r.section_id.as_str()))
        .collect();
    assert_eq!(got, [("1", "s"), ("2", "s"), ("4", "t")]);
    assert!(unplaced, "3 could not be placed");
}

#[test]
fn the_items_under_a_changed_parent() {
    let mut album_of_artist = record("10", "s", Some("100"));
    album_of_artist.kind = ItemKind::Album;
    let mut track = record("1", "s", Some("10"));
    track.grandparent_id = Some("100".into());
    let current = LibraryIndex::build(&[
        track,
        record("2", "s", Some("10")),
        record("3", "s", Some("11")),
        album_of_artist,
    ])
    .unwrap();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let none = HashSet::new();
    assert_eq!(
        sorted(children_of(&current, &HashSet::from(["10"]), &none)),
        ["1", "2"]
    );
    assert_eq!(
        sorted(children_of(
            &current,
            &HashSet::from(["100"]),
            &HashSet::from(["10"])
        )),
        ["1"]
    );
    assert!(children_of(&current, &HashSet::new(), &none).is_empty());
}

/// A show and a season renamed on the server: the event names the parent alone, but its
/// seasons and episodes repeat its title (`parentTitle`, `grandparentTitle`, Jellyfin's
/// `SeriesName`, `SeasonName`), so they are read again with it; an episode's own edit does not
/// read its siblings again.
#[test]
fn the_items_under_a_renamed_show_or_season_are_read_again() {
    let with = |id: &str, kind: ItemKind, parent: Option<&str>, grandparent: Option<&str>| {
        let mut r = record(id, "tv", parent);
        r.kind = kind;
        r.grandparent_id = grandparent.map(str::to_string);
        r
    };
    let current = LibraryIndex::build(&[
        with("100", ItemKind::Show, None, None),
        with("10", ItemKind::Season, Some("100"), None),
        with("11", ItemKind::Season, Some("100"), None),
        with("1", ItemKind::Episode, Some("10"), Some("100")),
        with("2", ItemKind::Episode, Some("11"), Some("100")),
        with("200", ItemKind::Show, None, None),
        with("20", ItemKind::Season, Some("200"), None),
        with("3", ItemKind::Episode, Some("20"), Some("200")),
    ])
    .unwrap();
    let updated = |own: &str, parents: &[&str]| {
        ChangeEvent::new(Change::Updated)
            .with_items([Some(own)])
            .with_parents(parents.iter().map(|p| Some(*p)))
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let show = [updated("100", &[])];
    assert_eq!(
        sorted(children_of_changed(&current, &show, &["100".into()])),
        ["1", "10", "11", "2"]
    );
    let season = [updated("20", &["200"])];
    assert_eq!(
        sorted(children_of_changed(&current, &season, &["20".into()])),
        ["3"]
    );
    let episode = [updated("1", &["10", "100"])];
    assert!(children_of_changed(&current, &episode, &["1".into()]).is_empty());
}

#[test]
fn totals_per_section() {
    let index = LibraryIndex::build(&[
        record("1", "s", None),
        record("2", "s", None),
        record("3", "t", None),
    ])
    .unwrap();
    let sections = vec![SectionInfo {
        id: "s".into(),
        title: "Music".into(),
        kind: "music".into(),
        changed_at: None,
    }];
    let totals = library_totals(&index, "plex", &sections, 7);
    assert_eq!(totals.items["track"], 3);
    assert_eq!(totals.sections.len(), 2);
    assert_eq!(totals.sections[0].title, "Music");
    assert_eq!(totals.sections[0].items["track"], 2);
    assert_eq!(totals.sections[0].duration_secs, 122);
    assert_eq!(totals.sections[1].title, "");
}

#[test]
fn retries_back_off_to_ten_minutes() {
    assert_eq!(retry_delay(1), Duration::from_secs(30));
    assert_eq!(retry_delay(2), Duration::from_secs(60));
    assert_eq!(retry_delay(3), Duration::from_secs(120));
    assert_eq!(retry_delay(6), Duration::from_secs(600));
    assert_eq!(retry_delay(u32::MAX), Duration::from_secs(600));
}

#[test]
fn file_names_are_safe() {
    let p = file_path(Path::new("/d"), "../x y", "idx");
    assert_eq!(p, Path::new("/d/library/___x_y.idx"));
}
