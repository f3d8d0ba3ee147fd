//! The asking user's play state in a Plex answer from the index (`upstream_index::answer`): the
//! per-user values of an item as the server writes them ([`PlayState`]), where in an element
//! it writes them ([`insert`]), and the listings, read as that user, that give them for a
//! section and a kind of item (`States`, every listing an answer needs read at once).
//!
//! The index keeps the server's elements less what differs per user (`viewCount`,
//! `viewOffset`, `lastViewedAt`, `userRating`, `lastRatedAt`, `skipCount`, and
//! `viewedLeafCount` kept at 0). An answer must carry the asking user's own values exactly as
//! the server would write them, so before it is given, the user's items of the section and
//! kind that have any of them are listed with the user's token, through the cache:
//!
//! * `…/all?type={t}&lastViewedAt>>=1` — everything the user has played or started (a play, a
//!   progress report or a skip sets `lastViewedAt`);
//! * `…/all?type={t}&userRating>>=-1` — everything the user has rated (a rating is 0 to 10;
//!   taking one away writes -1, and an item never rated has none);
//! * for albums and artists, the first of these for their tracks as well (for seasons and
//!   shows, for their episodes): a parent's `viewedLeafCount` is the number of its leaves
//!   with a `viewCount`.
//!
//! An item in neither list has no per-user value, as the server writes it. Where the copy
//! names one read that holds every item of the answer — the metadata of the heads of the
//! user's listings, `/library/metadata/{ids}`, for a count's one item
//! ([`ReadAsUser::items_read`]) — the state is read from it instead ([`parse_items`]): one
//! request for every count a tool makes of a user's sections, where the listings are two or
//! three per section and kind, each a scan of the section at the server. How a listing is
//! read (through the cache, as the user, how fresh, parsed once per version) is the
//! library's, handed in as a [`ReadAsUser`]; when a listing cannot be had, the answer is not
//! given from the index: the server answers.

use std::sync::Arc;

use cachearr_library::ItemKind;
use rustc_hash::FxHashMap;
use serde_json::Value;

use super::render::type_number;
use crate::ReadAsUser;
use cachearr_serverfmt::tree::El;
use cachearr_serverfmt::tree::V;

/// What the server said about one user and one item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlayState {
    /// Plex `viewCount`.
    pub view_count: Option<i64>,
    /// Plex `viewOffset` (ms).
    pub view_offset: Option<i64>,
    /// Plex `lastViewedAt` (epoch s).
    pub last_viewed_at: Option<i64>,
    /// Plex `userRating`, as the server wrote it.
    pub user_rating: Option<String>,
    /// Plex `lastRatedAt` (epoch s).
    pub last_rated_at: Option<i64>,
    /// Plex `skipCount`.
    pub skip_count: Option<i64>,
    /// Plex `viewedLeafCount` of an album, artist, show or season.
    pub viewed_leaf_count: Option<i64>,
}

impl PlayState {
    fn is_empty(&self) -> bool {
        *self == PlayState::default()
    }

    /// Adds the attributes the server would have written (`viewedLeafCount` is not added
    /// here: an element that has it keeps it in place, see [`PlayState::viewed_leaf_count`]).
    pub fn attrs(&self, mut e: El) -> El {
        e = e
            .opt("viewCount", self.view_count)
            .opt("viewOffset", self.view_offset)
            .opt("lastViewedAt", self.last_viewed_at);
        if let Some(r) = &self.user_rating {
            e = match r.parse::<i64>() {
                Ok(n) => e.a("userRating", n),
                Err(_) => match r.parse::<f64>() {
                    Ok(f) => e.a("userRating", V::F(f)),
                    Err(_) => e.a("userRating", r.as_str()),
                },
            };
        }
        e.opt("lastRatedAt", self.last_rated_at)
            .opt("skipCount", self.skip_count)
    }

    /// From a Plex metadata document (JSON or XML) describing `id`.
    pub fn from_body(body: &[u8], id: &str) -> Option<PlayState> {
        let trimmed = body.trim_ascii_start();
        let state = if trimmed.starts_with(b"{") {
            let v: Value = serde_json::from_slice(body).ok()?;
            let item = v
                .get("MediaContainer")?
                .get("Metadata")?
                .as_array()?
                .iter()
                .find(|m| m.get("ratingKey").and_then(Value::as_str) == Some(id))?;
            PlayState {
                viewed_leaf_count: item.get("viewedLeafCount").and_then(Value::as_i64),
                ..state_of(item)
            }
        } else {
            from_xml(body, id)?
        };
        (!state.is_empty()).then_some(state)
    }
}

fn from_xml(body: &[u8], id: &str) -> Option<PlayState> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Eof => return None,
            Event::Start(e) | Event::Empty(e) => {
                let mut state = PlayState::default();
                let mut ours = false;
                for attr in e.attributes().flatten() {
                    let value = attr.unescape_value().ok()?;
                    match attr.key.as_ref() {
                        b"ratingKey" => ours = value == id,
                        b"viewCount" => state.view_count = value.parse().ok(),
                        b"viewOffset" => state.view_offset = value.parse().ok(),
                        b"lastViewedAt" => state.last_viewed_at = value.parse().ok(),
                        b"userRating" => state.user_rating = Some(value.into_owned()),
                        b"lastRatedAt" => state.last_rated_at = value.parse().ok(),
                        b"skipCount" => state.skip_count = value.parse().ok(),
                        b"viewedLeafCount" => state.viewed_leaf_count = value.parse().ok(),
                        _ => {}
                    }
                }
                if ours {
                    return Some(state);
                }
            }
            _ => {}
        }
        buf.clear();
    }
}

/// Where the server writes an item's play state among its attributes: after
/// `index`/`parentIndex` and before `year` (i.e. before the first of the attributes that
/// follow it), or at the end.
pub fn insertion_point(el: &El) -> usize {
    el.attrs
        .iter()
        .position(|(k, _)| {
            matches!(
                *k,
                "year" | "thumb" | "art" | "duration" | "addedAt" | "parentYear"
            )
        })
        .unwrap_or(el.attrs.len())
}

/// Puts the play state where the server writes it ([`insertion_point`]).
pub fn insert(el: El, state: &PlayState) -> El {
    let at = insertion_point(&el);
    let mut tail = El::keyed(el.tag, el.json_key);
    tail = state.attrs(tail);
    let mut el = el;
    let extra = std::mem::take(&mut tail.attrs);
    el.attrs.splice(at..at, extra);
    if let Some(n) = state.viewed_leaf_count
        && el.attrs.iter().any(|(k, _)| *k == "viewedLeafCount")
    {
        el.set("viewedLeafCount", n);
    }
    el
}

/// Whether items of `kind` carry a count of their user's played leaves (`viewedLeafCount`,
/// written in place, not at the [`insertion_point`]): albums, artists, seasons and shows.
pub fn counts_leaves(kind: ItemKind) -> bool {
    leaf_kind(kind).is_some()
}

/// The kind of the leaves whose plays a parent of `kind` counts: an album's and an artist's
/// tracks, a season's and a show's episodes.
fn leaf_kind(kind: ItemKind) -> Option<ItemKind> {
    match kind {
        ItemKind::Album | ItemKind::Artist => Some(ItemKind::Track),
        ItemKind::Season | ItemKind::Show => Some(ItemKind::Episode),
        ItemKind::Track | ItemKind::Movie | ItemKind::Episode => None,
    }
}

/// Writes a document whose items were kept written in halves, cut at their
/// [`insertion_point`] (`serverfmt`'s `El::halves`): `container` (attributes only), then
/// each item's halves with the asking user's play state between them, exactly as the tree
/// with [`fill`] would be written. `None` when a listing the state comes from cannot be read
/// (the answer is then the server's to give), or for items that count their leaves, whose
/// state is not written at the cut.
pub async fn write_halves(
    container: &El,
    json: bool,
    items: &[(ItemRef, std::sync::Arc<(String, String)>)],
    read: &impl ReadAsUser,
) -> Option<String> {
    if items.iter().any(|(item, _)| counts_leaves(item.kind)) {
        return None;
    }
    let states = States::read(items.iter().map(|(item, _)| item), read).await?;
    // Every item's user values first, one after the other in one text (`values[n]` is item
    // n's range of it), so the answer is then copied into one buffer of its exact size: a
    // page is tens of kilobytes, and growing it as it is written copied it again each time.
    let mut values_text = String::new();
    let mut values = Vec::with_capacity(items.len());
    let mut attrs = El::keyed(container.tag, container.json_key);
    for (item, _) in items {
        let known = states.of(item);
        let from = values_text.len();
        if let Some(state) = known.states.get(&item.id) {
            attrs.attrs.clear();
            attrs = state.attrs(attrs);
            for (k, v) in &attrs.attrs {
                cachearr_serverfmt::tree::push_attr(&mut values_text, k, v, json);
            }
        }
        values.push(from..values_text.len());
    }
    let (open, close) = if json {
        (container.json_open("Metadata"), "]}}".to_owned())
    } else {
        (container.xml_open(), container.xml_close())
    };
    let written: usize = items.iter().map(|(_, h)| h.0.len() + h.1.len() + 1).sum();
    let mut out = String::with_capacity(open.len() + written + values_text.len() + close.len());
    out.push_str(&open);
    for (n, ((_, halves), values)) in items.iter().zip(values).enumerate() {
        match (json, n) {
            (true, 0) => {}
            (true, _) => out.push(','),
            (false, _) => out.push('\n'),
        }
        out.push_str(&halves.0);
        out.push_str(&values_text[values]);
        out.push_str(&halves.1);
    }
    out.push_str(&close);
    Some(out)
}

/// An item of an answer, where its element is in the document (the words the copy's
/// answers share: [`crate::answers`]).
pub use crate::answers::ItemRef;

/// Puts the asking user's play state into the `items` of `doc`, each where the server writes
/// it; `None` when a listing it needs cannot be read (the answer is then the server's to give).
/// Each section and kind in the answer is listed once.
pub async fn fill(doc: &mut El, items: &[ItemRef], read: &impl ReadAsUser) -> Option<()> {
    let states = States::read(items, read).await?;
    for item in items {
        let state = states.of(item).of(&item.id);
        let el = match item.hub {
            Some(h) => doc
                .kids
                .get_mut(h)
                .and_then(|hub| hub.kids.get_mut(item.at)),
            None => doc.kids.get_mut(item.at),
        };
        if let Some(el) = el {
            let taken = std::mem::replace(el, El::new("x"));
            *el = insert(taken, &state);
        }
    }
    Some(())
}

/// The user's states of each section and kind an answer's items are of.
struct States<'i> {
    by_place: Vec<((&'i str, ItemKind), UserStates)>,
}

impl<'i> States<'i> {
    /// Every state the answer's `items` need, read at once: from the one read that holds
    /// them where the copy names one ([`ReadAsUser::items_read`]), else every listing of
    /// every section and kind in one [`ReadAsUser::read_all`] — on a cold cache each is a
    /// round trip to the server, and none depends on another. `None` when one cannot be had.
    async fn read(
        items: impl IntoIterator<Item = &'i ItemRef>,
        read: &impl ReadAsUser,
    ) -> Option<States<'i>> {
        let mut places: Vec<((&'i str, ItemKind), Vec<&'i str>)> = Vec::new();
        for item in items {
            let place = (item.section.as_str(), item.kind);
            match places.iter_mut().find(|(p, _)| *p == place) {
                Some((_, ids)) => ids.push(&item.id),
                None => places.push((place, vec![&item.id])),
            }
        }
        let held = match read.items_read() {
            Some(path) => read.read(path.to_owned(), parse_items).await,
            None => None,
        };
        let mut by_place = Vec::with_capacity(places.len());
        let mut listed = Vec::new();
        for (place, ids) in places {
            match held
                .as_deref()
                .and_then(|held| held.states_of(place.1, &ids))
            {
                Some(states) => by_place.push((place, states)),
                None => listed.push(place),
            }
        }
        let paths: Vec<Vec<String>> = listed
            .iter()
            .map(|&(section, kind)| listing_paths(section, kind))
            .collect();
        let mut parsed = read
            .read_all(paths.iter().flatten().cloned().collect(), parse_listing)
            .await
            .into_iter();
        for (place, paths) in listed.into_iter().zip(&paths) {
            let listings: Vec<_> = parsed.by_ref().take(paths.len()).collect();
            by_place.push((place, from_listings(place.1, &listings)?));
        }
        Some(States { by_place })
    }

    /// The states of `item`'s section and kind.
    fn of(&self, item: &ItemRef) -> &UserStates {
        let place = (item.section.as_str(), item.kind);
        self.by_place
            .iter()
            .find(|(p, _)| *p == place)
            .map(|(_, states)| states)
            .unwrap_or(&NO_STATES)
    }
}

/// What [`States::of`] gives for a place it did not read (none: every item's place is read).
static NO_STATES: UserStates = UserStates {
    states: FxHashMap::with_hasher(rustc_hash::FxBuildHasher),
    viewed_leaves: FxHashMap::with_hasher(rustc_hash::FxBuildHasher),
    counts_leaves: false,
};

/// Items' metadata read as a user ([`parse_items`]): each item's per-user values, and the
/// played leaves the server counts for a parent (`viewedLeafCount`).
#[derive(Debug, Default)]
pub struct ItemsRead {
    states: FxHashMap<String, PlayState>,
    viewed_leaves: FxHashMap<String, i64>,
}

impl ItemsRead {
    /// The states of items `ids`, all of `kind`, when this read holds every one of them.
    fn states_of(&self, kind: ItemKind, ids: &[&str]) -> Option<UserStates> {
        if !ids.iter().all(|id| self.states.contains_key(*id)) {
            return None;
        }
        let counts_leaves = counts_leaves(kind);
        Some(UserStates {
            states: self.states.clone(),
            viewed_leaves: if counts_leaves {
                self.viewed_leaves.clone()
            } else {
                FxHashMap::default()
            },
            counts_leaves,
        })
    }
}

/// A metadata answer's (JSON) items read: each item's per-user values as a listing of the
/// user's gives them, and a parent's `viewedLeafCount`. `None` for an answer that is no
/// metadata document.
pub fn parse_items(body: &[u8]) -> Option<ItemsRead> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let items = v.get("MediaContainer")?.get("Metadata")?.as_array()?;
    let mut out = ItemsRead::default();
    for m in items {
        let Some(id) = text_of(m, "ratingKey") else {
            continue;
        };
        if let Some(n) = m.get("viewedLeafCount").and_then(Value::as_i64) {
            out.viewed_leaves.insert(id.clone(), n);
        }
        out.states.insert(id, state_of(m));
    }
    Some(out)
}

/// A JSON property's value as text (a number written as it is), `None` when absent or null.
fn text_of(m: &Value, k: &str) -> Option<String> {
    match m.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// An item's per-user values as a JSON answer writes them (`viewedLeafCount` apart).
fn state_of(m: &Value) -> PlayState {
    let num = |k: &str| m.get(k).and_then(Value::as_i64);
    PlayState {
        view_count: num("viewCount"),
        view_offset: num("viewOffset"),
        last_viewed_at: num("lastViewedAt"),
        user_rating: m.get("userRating").map(|r| match r {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        last_rated_at: num("lastRatedAt"),
        skip_count: num("skipCount"),
        viewed_leaf_count: None,
    }
}

/// One user's play state in one section, for one kind of item.
#[derive(Debug, Default)]
pub struct UserStates {
    /// Items with any per-user value, by rating key.
    states: FxHashMap<String, PlayState>,
    /// For albums, artists, seasons and shows: how many of their leaves the user has played.
    viewed_leaves: FxHashMap<String, i64>,
    /// Whether `viewed_leaves` was read (parents of leaves).
    counts_leaves: bool,
}

impl UserStates {
    /// The user's state of item `id` as the server would write it (empty: none).
    pub fn of(&self, id: &str) -> PlayState {
        let mut state = self.states.get(id).cloned().unwrap_or_default();
        if self.counts_leaves {
            state.viewed_leaf_count = Some(self.viewed_leaves.get(id).copied().unwrap_or(0));
        }
        state
    }
}

/// The listings the user's play state of the items of `kind` in `section` is read from:
/// everything played or started, everything rated, and for albums, artists, seasons and shows
/// their tracks or episodes played.
fn listing_paths(section: &str, kind: ItemKind) -> Vec<String> {
    let own = type_number(kind);
    let listing =
        |kind: u8, filter: &str| format!("/library/sections/{section}/all?type={kind}&{filter}");
    let mut paths = vec![
        listing(own, "lastViewedAt%3E%3E=1"),
        listing(own, "userRating%3E%3E=-1"),
    ];
    if let Some(leaves) = leaf_kind(kind) {
        paths.push(listing(type_number(leaves), "lastViewedAt%3E%3E=1"));
    }
    paths
}

/// The states of items of `kind` from their [`listing_paths`]' answers, in that order;
/// `None` when one is missing.
fn from_listings(kind: ItemKind, listings: &[Option<Arc<Listing>>]) -> Option<UserStates> {
    let mut out = UserStates::default();
    let [played, rated, rest @ ..] = listings else {
        return None;
    };
    for parsed in [played.as_ref()?, rated.as_ref()?] {
        for (id, state) in &parsed.states {
            let held = out.states.entry(id.clone()).or_default();
            merge(held, state);
        }
    }
    if counts_leaves(kind) {
        let leaves = rest.first()?.as_ref()?;
        out.viewed_leaves = if matches!(kind, ItemKind::Album | ItemKind::Season) {
            leaves.viewed_by_parent.clone()
        } else {
            leaves.viewed_by_grandparent.clone()
        };
        out.counts_leaves = true;
    }
    Some(out)
}

/// Fills what `b` says and `a` does not (the two listings of an item agree where both speak).
fn merge(a: &mut PlayState, b: &PlayState) {
    a.view_count = a.view_count.or(b.view_count);
    a.view_offset = a.view_offset.or(b.view_offset);
    a.last_viewed_at = a.last_viewed_at.or(b.last_viewed_at);
    a.user_rating = a.user_rating.clone().or_else(|| b.user_rating.clone());
    a.last_rated_at = a.last_rated_at.or(b.last_rated_at);
    a.skip_count = a.skip_count.or(b.skip_count);
}

/// One listing, parsed ([`parse_listing`]).
#[derive(Debug, Default)]
pub struct Listing {
    states: FxHashMap<String, PlayState>,
    /// Played (`viewCount` ≥ 1) items per parent and per grandparent rating key.
    viewed_by_parent: FxHashMap<String, i64>,
    viewed_by_grandparent: FxHashMap<String, i64>,
}

/// A listing's JSON answer read: each item's per-user values, and the played items per
/// parent and grandparent. `None` for an answer that is no listing.
pub fn parse_listing(body: &[u8]) -> Option<Listing> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let container = v.get("MediaContainer")?;
    let mut out = Listing::default();
    let Some(items) = container.get("Metadata").and_then(Value::as_array) else {
        // An empty listing has no `Metadata`.
        return Some(out);
    };
    let text = text_of;
    for m in items {
        let Some(id) = text(m, "ratingKey") else {
            continue;
        };
        let state = state_of(m);
        if state.view_count.is_some_and(|n| n > 0) {
            if let Some(parent) = text(m, "parentRatingKey") {
                *out.viewed_by_parent.entry(parent).or_default() += 1;
            }
            if let Some(grandparent) = text(m, "grandparentRatingKey") {
                *out.viewed_by_grandparent.entry(grandparent).or_default() += 1;
            }
        }
        out.states.insert(id, state);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::in_flight::TestReads;

    /// The user's play state of the items of `kind` in `section`, from its listings read at
    /// once, as [`States::read`] reads each section and kind it has no one read for.
    async fn user_states(
        section: &str,
        kind: ItemKind,
        read: &impl ReadAsUser,
    ) -> Option<UserStates> {
        let listings = read
            .read_all(listing_paths(section, kind), parse_listing)
            .await;
        from_listings(kind, &listings)
    }

    /// A user's listings: their played tracks, played items and rated items.
    fn listings() -> TestReads<impl Fn(&str) -> String + Sync> {
        TestReads::new(listing_body)
    }

    /// The answer of one of the user's listings ([`listings`]).
    fn listing_body(path: &str) -> String {
        if path.contains("type=10") {
            r#"{"MediaContainer":{"Metadata":[{"ratingKey":"100","parentRatingKey":"7","grandparentRatingKey":"3","viewCount":1},{"ratingKey":"101","parentRatingKey":"7","grandparentRatingKey":"3","viewCount":2}]}}"#
        } else if path.contains("lastViewedAt") {
            r#"{"MediaContainer":{"Metadata":[{"ratingKey":"7","viewCount":3,"lastViewedAt":1700000000}]}}"#
        } else {
            r#"{"MediaContainer":{"Metadata":[{"ratingKey":"7","userRating":8.0},{"ratingKey":"8","userRating":2.0}]}}"#
        }
        .to_string()
    }

    /// An album's state is its plays, its rating and its tracks played, from three listings
    /// read at once rather than one after the other.
    #[tokio::test]
    async fn a_users_listings_are_read_at_once_and_merged() {
        let read = listings();
        let states = user_states("4", ItemKind::Album, &read).await.unwrap();
        assert_eq!(read.in_flight.most(), 3);
        let album = states.of("7");
        assert_eq!(album.view_count, Some(3));
        assert_eq!(album.last_viewed_at, Some(1_700_000_000));
        assert_eq!(album.user_rating.as_deref(), Some("8.0"));
        assert_eq!(album.viewed_leaf_count, Some(2));
        assert_eq!(states.of("8").user_rating.as_deref(), Some("2.0"));
        assert_eq!(states.of("9").viewed_leaf_count, Some(0));
        // A track counts no leaves: two listings.
        let read = listings();
        let states = user_states("4", ItemKind::Track, &read).await.unwrap();
        assert_eq!(read.in_flight.most(), 2);
        assert_eq!(states.of("7").viewed_leaf_count, None);
    }

    /// An answer whose items are of several sections and kinds reads every listing they
    /// need at once, not one section after the other: on a cold cache each is a round trip.
    #[tokio::test]
    async fn an_answers_listings_of_every_section_and_kind_are_read_at_once() {
        let read = listings();
        let item = |id: &str, section: &str, kind| ItemRef {
            hub: None,
            at: 0,
            id: id.into(),
            section: section.into(),
            kind,
        };
        let items = [
            item("100", "4", ItemKind::Track),
            item("7", "4", ItemKind::Album),
            item("101", "5", ItemKind::Track),
        ];
        let mut doc = El::container();
        for item in &items {
            doc.kids
                .push(El::keyed("Track", "Metadata").a("ratingKey", item.id.as_str()));
        }
        let items: Vec<ItemRef> = items
            .into_iter()
            .enumerate()
            .map(|(at, item)| ItemRef { at, ..item })
            .collect();
        fill(&mut doc, &items, &read).await.unwrap();
        // Two listings per section of tracks, three for the albums: seven, all in flight.
        assert_eq!(read.paths.lock().unwrap().len(), 7);
        assert_eq!(read.in_flight.most(), 7);
        assert!(doc.to_xml().contains(r#"ratingKey="7" viewCount="3""#));
    }

    #[test]
    fn reads_both_formats() {
        let json = br#"{"MediaContainer":{"size":1,"Metadata":[{"ratingKey":"12","viewCount":2,"viewOffset":3000,"lastViewedAt":1700000000}]}}"#;
        let s = PlayState::from_body(json, "12").unwrap();
        assert_eq!(s.view_count, Some(2));
        assert_eq!(s.view_offset, Some(3000));
        assert!(PlayState::from_body(json, "13").is_none());
        let xml = br#"<?xml version="1.0"?><MediaContainer size="1"><Track ratingKey="12" viewCount="1" userRating="8.0"><Media id="1"/></Track></MediaContainer>"#;
        let s = PlayState::from_body(xml, "12").unwrap();
        assert_eq!(s.view_count, Some(1));
        assert_eq!(s.user_rating.as_deref(), Some("8.0"));
        let unplayed = br#"<MediaContainer><Track ratingKey="12"/></MediaContainer>"#;
        assert!(PlayState::from_body(unplayed, "12").is_none());
    }

    #[test]
    fn play_state_goes_before_year() {
        let el = El::keyed("Track", "Metadata")
            .a("ratingKey", "1")
            .a("year", 2000u32)
            .a("addedAt", 5u32);
        let state = PlayState {
            view_count: Some(2),
            ..Default::default()
        };
        let el = insert(el, &state);
        let names: Vec<&str> = el.attrs.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, vec!["ratingKey", "viewCount", "year", "addedAt"]);
    }

    #[test]
    fn a_listing_gives_each_items_values_and_the_played_tracks_per_album_and_artist() {
        let body = br#"{"MediaContainer":{"size":3,"Metadata":[
            {"ratingKey":"11","parentRatingKey":"5","grandparentRatingKey":"2","viewCount":3,
             "lastViewedAt":1700000000,"skipCount":1},
            {"ratingKey":"12","parentRatingKey":"5","grandparentRatingKey":"2","viewOffset":4000,
             "lastViewedAt":1700000100},
            {"ratingKey":"21","parentRatingKey":"6","grandparentRatingKey":"2","viewCount":1,
             "userRating":8.0,"lastRatedAt":1700000200}
        ]}}"#;
        let l = parse_listing(body).unwrap();
        assert_eq!(l.states["11"].view_count, Some(3));
        assert_eq!(l.states["11"].skip_count, Some(1));
        assert_eq!(l.states["12"].view_offset, Some(4000));
        assert_eq!(l.states["12"].view_count, None);
        assert_eq!(l.states["21"].user_rating.as_deref(), Some("8.0"));
        assert_eq!(l.states["21"].last_rated_at, Some(1_700_000_200));
        // Only tracks with a play count count as viewed leaves.
        assert_eq!(l.viewed_by_parent.get("5"), Some(&1));
        assert_eq!(l.viewed_by_parent.get("6"), Some(&1));
        assert_eq!(l.viewed_by_grandparent.get("2"), Some(&2));
        let empty = parse_listing(br#"{"MediaContainer":{"size":0}}"#).unwrap();
        assert!(empty.states.is_empty());
        assert!(parse_listing(b"<MediaContainer/>").is_none());
    }

    /// Where the copy names one read holding the answer's items, their state is read from it
    /// alone — an album's played tracks as the server counts them — and an item it does not
    /// hold has its state read from the listings.
    #[tokio::test]
    async fn the_items_state_comes_from_one_read_that_holds_them() {
        let items_path = "/library/metadata/7,40";
        let mut read = TestReads::new(|path: &str| {
            if path == "/library/metadata/7,40" {
                r#"{"MediaContainer":{"Metadata":[
                    {"ratingKey":"7","userRating":6.0,"leafCount":9,"viewedLeafCount":4},
                    {"ratingKey":"40","viewCount":2,"lastViewedAt":1700000000}]}}"#
                    .to_string()
            } else {
                listing_body(path)
            }
        });
        read.items_read = Some(items_path.to_owned());
        let item = |id: &str, kind| ItemRef {
            hub: None,
            at: 0,
            id: id.into(),
            section: "4".into(),
            kind,
        };
        let album = |id: &str| {
            El::keyed("Directory", "Metadata")
                .a("ratingKey", id)
                .a("viewedLeafCount", 0u32)
        };
        let mut doc = El::container();
        doc.kids.push(album("7"));
        fill(&mut doc, &[item("7", ItemKind::Album)], &read)
            .await
            .unwrap();
        assert_eq!(*read.paths.lock().unwrap(), vec![items_path.to_owned()]);
        let xml = doc.to_xml();
        assert!(xml.contains(r#"userRating="6""#), "{xml}");
        assert!(xml.contains(r#"viewedLeafCount="4""#), "{xml}");

        // Album 8 is not among the items read: its section's listings are.
        let mut doc = El::container();
        doc.kids.push(album("8"));
        read.paths.lock().unwrap().clear();
        fill(&mut doc, &[item("8", ItemKind::Album)], &read)
            .await
            .unwrap();
        let paths = read.paths.lock().unwrap().clone();
        assert_eq!(paths.len(), 4, "{paths:?}");
        assert!(doc.to_xml().contains(r#"userRating="2""#));
    }

    #[test]
    fn an_item_in_no_listing_has_no_values_and_an_album_counts_its_played_tracks() {
        let mut states = UserStates::default();
        assert_eq!(states.of("1"), PlayState::default());
        states.counts_leaves = true;
        states.viewed_leaves.insert("5".into(), 2);
        assert_eq!(states.of("5").viewed_leaf_count, Some(2));
        assert_eq!(states.of("6").viewed_leaf_count, Some(0));
    }
}
