use super::*;

#[test]
fn tokens_are_distinct_and_resolve() {
    let s = State::new(1);
    let tokens: BTreeSet<&str> = s.users().iter().map(|u| u.plex_token.as_str()).collect();
    assert_eq!(tokens.len(), 7);
    assert_eq!(
        s.user_by_plex_token(&s.users()[2].plex_token).map(|u| u.id),
        Some(3)
    );
    assert!(s.user_by_plex_token("").is_none());
    assert!(s.user_by_plex_token("nope").is_none());
    assert_ne!(State::new(2).owner().plex_token, s.owner().plex_token);
}

#[test]
fn play_state_is_per_user() {
    let mut s = State::new(1);
    s.scrobble(2, 10, 100);
    assert_eq!(s.play_state(2, 10).view_count, 1);
    assert_eq!(s.play_state(3, 10).view_count, 0);
    assert_eq!(s.history(Some(2)).len(), 1);
    assert!(s.history(Some(3)).is_empty());
}

#[test]
fn playlist_moves() {
    let mut s = State::new(1);
    let id = s.create_playlist(1, "p", PlaylistKind::Audio, false, &[10, 11, 12], 1);
    let entries: Vec<u32> = s
        .playlist(1, id)
        .map(|p| p.items.iter().map(|e| e.entry_id).collect())
        .unwrap_or_default();
    s.move_in_playlist(1, id, entries[2], None, 2)
        .expect("move");
    let items: Vec<ItemId> = s
        .playlist(1, id)
        .map(|p| p.items.iter().map(|e| e.item).collect())
        .unwrap_or_default();
    assert_eq!(items, vec![12, 10, 11]);
    s.move_in_playlist(1, id, entries[2], Some(entries[1]), 3)
        .expect("move");
    let items: Vec<ItemId> = s
        .playlist(1, id)
        .map(|p| p.items.iter().map(|e| e.item).collect())
        .unwrap_or_default();
    assert_eq!(items, vec![10, 11, 12]);
    assert_eq!(
        s.move_in_playlist(2, id, entries[0], None, 4),
        Err(StateError::NoSuchPlaylist(id))
    );
}
