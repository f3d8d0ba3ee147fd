//! Where an index answer puts the user's play state.

use super::*;

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
