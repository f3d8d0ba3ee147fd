//! Index records from the simulator's synthetic library (feature `sim`).
//!
//! Until the gateway's crawler exists, this is how `cachearr match --sim-*`, the evaluation
//! set and the benchmarks get a library: [`cachearr_sim::library::Library::generate`] builds
//! the same deterministic library the simulated Plex and Jellyfin servers serve, and
//! [`records`] turns it into [`ItemRecord`]s the way a crawler would read the Plex fields
//! (`originalTitle` → track artist, `grandparentTitle` → album artist, `parentTitle` →
//! album, `Guid mbid://` → MusicBrainz id, `Part@file` → path).

use cachearr_sim::library::{Item, ItemKind as SimKind, Library, LibraryConfig};

use crate::record::{ItemKind, ItemRecord};

/// Generates a music-only simulator library of about `tracks` tracks (both music sections).
pub fn music_library(tracks: u32, seed: u64) -> Library {
    Library::generate(LibraryConfig {
        tracks,
        movies: 0,
        shows: 0,
        seed,
    })
}

/// The record a crawler would make of one simulator item (`None` for photos, which the index
/// does not hold).
pub fn record_of(item: &Item<'_>) -> Option<ItemRecord> {
    let kind = match item.kind() {
        SimKind::Track => ItemKind::Track,
        SimKind::Album => ItemKind::Album,
        SimKind::Artist => ItemKind::Artist,
        SimKind::Movie => ItemKind::Movie,
        SimKind::Episode => ItemKind::Episode,
        SimKind::Show => ItemKind::Show,
        SimKind::Season => ItemKind::Season,
        SimKind::Photo | SimKind::PhotoAlbum => return None,
    };
    let parent = item.parent();
    let grandparent = item.grandparent();
    let (artists, album_artist, album) = match kind {
        ItemKind::Track => {
            let album_artist = grandparent.map(|artist| artist.title().to_string());
            let track_artist = item
                .original_title()
                .map(str::to_string)
                .or_else(|| album_artist.clone());
            (
                track_artist.into_iter().collect(),
                album_artist,
                parent.map(|a| a.title().to_string()),
            )
        }
        ItemKind::Album => {
            let artist = parent.map(|artist| artist.title().to_string());
            (artist.clone().into_iter().collect(), artist, None)
        }
        ItemKind::Episode => (
            Vec::new(),
            None,
            grandparent.map(|show| show.title().to_string()),
        ),
        ItemKind::Season => (
            Vec::new(),
            None,
            parent.map(|show| show.title().to_string()),
        ),
        ItemKind::Artist | ItemKind::Movie | ItemKind::Show => (Vec::new(), None, None),
    };
    Some(ItemRecord {
        kind,
        id: item.id().to_string(),
        section_id: item.section().id.to_string(),
        title: item.title().to_string(),
        artists,
        album_artist,
        album,
        duration_ms: Some(item.duration_ms()).filter(|ms| *ms > 0),
        year: u16::try_from(item.year()).ok().filter(|year| *year > 0),
        file_path: item.kind().is_playable().then(|| item.file_path()),
        musicbrainz_ids: item.musicbrainz_id().into_iter().collect(),
        isrc: None,
        added_at: i64::from(item.added_at()),
        updated_at: i64::from(item.updated_at()),
        parent_id: parent.map(|p| p.id().to_string()),
        grandparent_id: match kind {
            ItemKind::Track | ItemKind::Episode => grandparent.map(|g| g.id().to_string()),
            _ => None,
        },
        index: match kind {
            ItemKind::Track | ItemKind::Episode | ItemKind::Season => {
                Some(item.index()).filter(|n| *n > 0)
            }
            _ => None,
        },
        parent_index: match kind {
            ItemKind::Track => Some(item.disc()).filter(|n| *n > 0),
            ItemKind::Episode => parent.map(|season| season.index()),
            _ => None,
        },
    })
}

/// Every indexable item of the library as a record, in id order.
pub fn records(library: &Library) -> impl Iterator<Item = ItemRecord> + '_ {
    (1..=library.len() as u32)
        .filter_map(|id| library.item(id))
        .filter_map(|item| record_of(&item))
}
