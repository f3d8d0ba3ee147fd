//! Items: rendering library objects as `BaseItemDto`s and answering item queries (`/Items`,
//! `/Users/{id}/Items`, `/Items/Latest`, `/Artists`, `/Search/Hints`, views, playlists' items).
//!
//! Everything here is synchronous and runs under the library read guard and the state mutex;
//! the caller charges the reported work (`scanned`, `returned`) after releasing them.
//!
//! **Cost model.** `scanned` is the work of the real server's SQL in row units (the core
//! charges each unit as one scanned item): selecting the candidates of the query, then the
//! `TotalRecordCount` COUNT over them. With `IncludeItemTypes` both go through the type index
//! and cost [`INDEXED_ROW_COST`] per candidate; without it a recursive query scans every item
//! (1 unit each) and its COUNT costs [`UNTYPED_COUNT_COST`] per item. The ratio follows the
//! reports (Jellyfin #17653: 4–5 s without the type, under 200 ms with it; Tauon #2286: 38.8 s
//! vs 1.12 s): an untyped count-and-page is about 20× a typed one.
//! `enableTotalRecordCount=false` skips the COUNT and answers the page's own item count as
//! `TotalRecordCount` (`LibraryManager.GetItemsResult`: `new QueryResult(start, null, list)`);
//! `/Artists` and the other name listings answer 0 then (`GetItemValues` leaves it unset). Listings under a parent item, playlist or `Ids` cost 1 unit per row.
//!
//! # Map
//! This file holds the costs, ids and the shared helpers; `render` makes `BaseItemDto`s,
//! `query` parses an item query, `rows` answers it, `lists` answers the other listings.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::library::{ItemId, ItemKind, Library, Section, SectionKind, id_from_guid};
use crate::rng::{mix, uuid_from};
use crate::state::{PlayState, Playlist, PlaylistKind, State, User};
use cachearr_serverfmt::search::fold;
use cachearr_serverfmt::search::jellyfin_relevance;

use super::ApiError;
use super::dto::{
    BaseItemDto, MediaSourceInfo, NameGuidPair, QueryResult, SearchHint, SearchHintResult,
    UserItemData, iso8601,
};
use super::ids::{IdSpace, JfId, jf_id};
use super::request::QueryParams;

mod lists;
mod query;
mod render;
mod rows;
pub(crate) use lists::*;
pub(crate) use query::*;
pub(crate) use rows::*;

/// Row units per candidate of a typed (index-backed) selection or COUNT, as a fraction.
pub(crate) const INDEXED_ROW_COST: (u64, u64) = (1, 5);

/// Row units per item of an untyped recursive `TotalRecordCount` (a full scan with joins).
pub(crate) const UNTYPED_COUNT_COST: u64 = 8;

/// The row units of `rows` index-backed rows (rounded up, so any work costs something).
fn indexed(rows: u64) -> u64 {
    (rows * INDEXED_ROW_COST.0).div_ceil(INDEXED_ROW_COST.1)
}

/// Ticks (100 ns) per millisecond.
const TICKS_PER_MS: i64 = 10_000;

/// The work a request did, for the cost model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Work {
    /// Rows examined (filters, sorts, counts).
    pub(crate) scanned: u64,
    /// Items serialised.
    pub(crate) returned: u64,
}

/// Sorted flat listings (every item of some kinds in some sections, in one sort order), kept
/// while the library is unchanged. Crawlers page through the same listing hundreds of times;
/// without this every page would sort the whole library again. Orders that depend on per-user
/// state (`DatePlayed`, `PlayCount`) are never cached.
#[derive(Debug, Default)]
pub(crate) struct SortCache {
    entries: std::sync::Mutex<HashMap<ListingKey, CachedListing>>,
}

/// A sorted listing and the library generation it was made from.
type CachedListing = (u64, Arc<Vec<Row>>);

/// What a cached listing holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ListingKey {
    sections: Vec<u32>,
    kinds: Vec<ItemKind>,
    sort: Vec<(SortKey, bool)>,
}

impl SortCache {
    /// Rows kept at most over all listings (12 bytes each: about 48 MiB); the cache is emptied
    /// when a new listing would exceed it (the next requests refill it).
    const MAX_ROWS: usize = 4_000_000;

    fn get(&self, key: &ListingKey, generation: u64) -> Option<Arc<Vec<Row>>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, rows)| Arc::clone(rows))
    }

    fn put(&self, key: ListingKey, generation: u64, rows: Arc<Vec<Row>>) {
        if rows.len() > Self::MAX_ROWS {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (g, _)| *g == generation);
        let held: usize = entries.values().map(|(_, rows)| rows.len()).sum();
        if held + rows.len() > Self::MAX_ROWS {
            entries.clear();
        }
        entries.insert(key, (generation, rows));
    }
}

/// The optional `Fields` of a request (lower-cased names).
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields(BTreeSet<String>);

impl Fields {
    /// Reads `Fields` (comma list, any case).
    pub(crate) fn parse(query: &QueryParams) -> Self {
        Fields(
            query
                .list("Fields")
                .into_iter()
                .map(str::to_ascii_lowercase)
                .collect(),
        )
    }

    /// Every `ItemFields` but the two `DtoOptions` leaves out by default (`SeasonUserData`,
    /// `RefreshState`): what the server's `new DtoOptions()` asks for, as a single item's
    /// answer (`GET /Items/{id}`) does whatever the request's `Fields`.
    pub(crate) fn all() -> Self {
        Fields(
            cachearr_serverfmt::jellyfin::ITEM_FIELDS
                .iter()
                .filter(|f| !matches!(**f, "SeasonUserData" | "RefreshState"))
                .map(|f| f.to_ascii_lowercase())
                .collect(),
        )
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains(&name.to_ascii_lowercase())
    }
}

/// Everything an item rendering needs: the data, who is asking, what they asked for.
pub(crate) struct Render<'a> {
    /// The library.
    pub(crate) lib: &'a Library,
    /// Per-user state.
    pub(crate) state: &'a State,
    /// The user the items are rendered for (their play state, their access).
    pub(crate) user: &'a User,
    /// The server's `Id`.
    pub(crate) server_id: &'a str,
    /// The library seed (item ids derive from it).
    pub(crate) seed: u64,
    /// Optional fields asked for.
    pub(crate) fields: Fields,
    /// `enableUserData` (default true).
    pub(crate) user_data: bool,
    /// `enableImages`, `imageTypeLimit`, `enableImageTypes`.
    pub(crate) images: ImageOptions,
    /// This request's salt of `SortBy=Random` ([`shuffle_salt`]).
    pub(crate) shuffle: u64,
}

/// A new salt for `SortBy=Random`: the server orders by `RANDOM()` in SQL, so every request
/// gets another order (reproducible here for a given seed and request count).
pub(crate) fn shuffle_salt(seed: u64) -> u64 {
    static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    mix(seed ^ mix(n.wrapping_add(0x005e_ed0f_5a1d)))
}

/// Every `ImageType` (the server's names, shared with the gateway).
use cachearr_serverfmt::jellyfin::IMAGE_TYPES;

/// The image part of the server's `DtoOptions`: `enableImages` (default true),
/// `imageTypeLimit` (default unlimited) and `enableImageTypes` (default every type). An image
/// type's limit is `imageTypeLimit` when images are enabled and the type is among the enabled
/// ones, else 0 (`DtoOptions.GetImageLimit`): `ImageTags` holds the single images whose limit
/// is above 0 (and is left out when images are off), `BackdropImageTags` is written only when
/// the backdrop limit is above 0, and holds at most that many.
#[derive(Debug, Clone)]
pub(crate) struct ImageOptions {
    enabled: bool,
    limit: usize,
    /// `None`: every type.
    types: Option<Vec<&'static str>>,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            enabled: true,
            limit: usize::MAX,
            types: None,
        }
    }
}

impl ImageOptions {
    /// Reads the request's image options (unknown type names are skipped, as the server's
    /// comma-delimited binder skips them; a malformed limit is a 400).
    pub(crate) fn parse(query: &QueryParams) -> Result<Self, ApiError> {
        let types: Vec<&'static str> = query
            .list("EnableImageTypes")
            .into_iter()
            .filter_map(|name| {
                IMAGE_TYPES
                    .iter()
                    .find(|t| t.eq_ignore_ascii_case(name))
                    .copied()
            })
            .collect();
        let limit = match query.int("ImageTypeLimit")? {
            None => usize::MAX,
            Some(n) => usize::try_from(n).unwrap_or(0),
        };
        Ok(ImageOptions {
            enabled: query.bool("EnableImages")?.unwrap_or(true),
            limit,
            types: (!types.is_empty()).then_some(types),
        })
    }

    /// `GetImageLimit(type)`.
    fn limit(&self, image_type: &str) -> usize {
        let listed = self
            .types
            .as_ref()
            .is_none_or(|types| types.contains(&image_type));
        if self.enabled && listed {
            self.limit
        } else {
            0
        }
    }

    /// `ImageTags` of an item whose only image is a primary one tagged `primary`.
    fn tags(&self, primary: String) -> Option<BTreeMap<String, String>> {
        if !self.enabled {
            return None;
        }
        let mut tags = BTreeMap::new();
        if self.limit("Primary") > 0 {
            tags.insert("Primary".to_owned(), primary);
        }
        Some(tags)
    }

    /// `BackdropImageTags` of an item without backdrops.
    fn backdrops(&self) -> Option<Vec<String>> {
        (self.limit("Backdrop") > 0).then(Vec::new)
    }
}

/// What a Jellyfin id names in the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A library item.
    Item(ItemId),
    /// A library view (section).
    View(u32),
    /// A playlist.
    Playlist(u32),
    /// A track artist known only by name (hash of the folded name).
    ArtistName(u64),
}

/// Decodes an id: malformed is a 400 naming `field`, well-formed but unknown is `None`.
pub(crate) fn decode_id(seed: u64, text: &str, field: &str) -> Result<Option<Target>, ApiError> {
    if !JfId::is_guid_syntax(text) {
        return Err(ApiError::invalid_value(field, text));
    }
    if let Some(id) = id_from_guid(seed, text) {
        return Ok(Some(Target::Item(id)));
    }
    Ok(JfId::decode(text).and_then(|id| match id.space {
        IdSpace::View => u32::try_from(id.number).ok().map(Target::View),
        IdSpace::Playlist => u32::try_from(id.number).ok().map(Target::Playlist),
        IdSpace::ArtistName => Some(Target::ArtistName(id.number)),
        IdSpace::PlaylistEntry | IdSpace::Session | IdSpace::Name => None,
    }))
}

/// The id of a library view.
pub(crate) fn view_id(section: u32) -> String {
    jf_id(IdSpace::View, u64::from(section))
}

/// The id of a playlist.
pub(crate) fn playlist_id(playlist: u32) -> String {
    jf_id(IdSpace::Playlist, u64::from(playlist))
}

/// The id of a playlist entry.
pub(crate) fn entry_id(entry: u32) -> String {
    jf_id(IdSpace::PlaylistEntry, u64::from(entry))
}

/// The id Jellyfin gives an artist known by `name` only.
fn artist_name_id(name: &str) -> String {
    jf_id(IdSpace::ArtistName, artist_name_hash(name))
}

fn artist_name_hash(name: &str) -> u64 {
    fold(name).bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Jellyfin's `CollectionType` of a section.
pub(crate) fn collection_type(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::Music => "music",
        SectionKind::Movies => "movies",
        SectionKind::Shows => "tvshows",
        SectionKind::Photos => "homevideos",
    }
}

/// The image tag of an item: changes whenever its content or update time does.
fn image_tag(content_hash: u64, updated_at: u32) -> String {
    format!("{:016x}", mix(content_hash ^ u64::from(updated_at)))
}

/// The item if it exists and `user` may see its section.
pub(crate) fn visible_item<'l>(
    lib: &'l Library,
    user: &User,
    id: ItemId,
) -> Option<crate::library::Item<'l>> {
    lib.item(id).filter(|item| user.jellyfin_sees(item))
}

/// The section if it exists and `user` may see it.
pub(crate) fn visible_section<'l>(lib: &'l Library, user: &User, id: u32) -> Option<&'l Section> {
    lib.section(id)
        .filter(|section| user.can_see_section(section.id))
}

/// A user's state for an item, as `UserItemDataDto`.
pub(crate) fn user_item_data(state: &PlayState, item_guid: &str, duration_ms: u32) -> UserItemData {
    let played_percentage = (state.view_offset_ms > 0 && duration_ms > 0)
        .then(|| f64::from(state.view_offset_ms) * 100.0 / f64::from(duration_ms));
    UserItemData {
        played_percentage,
        unplayed_item_count: None,
        playback_position_ticks: i64::from(state.view_offset_ms) * TICKS_PER_MS,
        play_count: u64::from(state.view_count),
        is_favorite: state.favorite,
        last_played_date: (state.last_viewed_at > 0)
            .then(|| iso8601(i64::from(state.last_viewed_at))),
        played: state.view_count > 0,
        key: item_guid.to_owned(),
        item_id: item_guid.to_owned(),
    }
}
