//! How the keeper follows the server between full builds: a refresh reads what changed since
//! the `updatedAt` high-water mark and re-reads listings whose count disagrees with the index;
//! change events fetch the items they name again. Both install a new index made from the
//! current one ([`rebuild`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cachearr_library::index::{IndexBuilder, ItemNo};
use cachearr_library::{ItemKind, ItemRecord, LibraryIndex, Visibility};

use super::{Built, Keeper};
use crate::upstream_index::crawl::{self, Client, CrawlError, Stream};
use crate::upstream_index::status::BuildProgress;
use cachearr_dialect::events::{Change, ChangeEvent};
use cachearr_dialect::model::library::SectionInfo;

impl Keeper {
    /// Fetches what changed since the last build or refresh and installs the result.
    pub(super) async fn refresh(&mut self) {
        let Some(current) = self.handle.ready() else {
            return self.build(false).await;
        };
        let client = match Client::new(self.up.clone()) {
            Ok(c) => c.with_elements(self.handle.elements().cloned()),
            Err(e) => return self.fail(e.to_string()),
        };
        let started_ms = self.now_ms();
        // A change announced without its items (a scan) is read by this pass.
        let seen = self.handle.stale_mark();
        self.handle.update_status(|s| {
            s.progress = Some(BuildProgress {
                kind: "refresh".into(),
                started_at_ms: started_ms,
                ..BuildProgress::default()
            });
        });
        let stop = self.stop.clone();
        let result = tokio::select! {
            () = stop.cancelled() => return,
            r = tokio::time::timeout(self.config.build_timeout, self.changes_since(&client, &current)) => r,
        };
        match result {
            Ok(Ok(changes)) => {
                self.install_pass(&client, current, changes, started_ms, seen)
                    .await;
            }
            Ok(Err(e)) => self.fail(format!("refresh failed: {}", cachearr_engine::Chain(&e))),
            Err(_) => self.fail("refresh stopped after the build timeout".into()),
        }
    }

    /// Makes the index a pass found, refreshes the cached answers of what it found changed,
    /// and installs the index.
    async fn install_pass(
        &mut self,
        client: &Client,
        current: Arc<LibraryIndex>,
        changes: PassChanges,
        started_ms: u64,
        seen: u64,
    ) {
        let PassChanges {
            sections,
            upserts,
            replaced,
            repeating,
            fetched,
            none_of,
        } = changes;
        // The pass read everything the server had saved when it answered the pass's first
        // request: the next asks from then (by the server's clock), not from the newest stamp
        // read — a Jellyfin item's answer says when it was created, not when last saved, and
        // every item saved since the newest creation came back at every pass, its cached
        // answers dropped.
        let high_water = upserts
            .iter()
            .map(|r| r.updated_at)
            .max()
            .unwrap_or(0)
            .max(self.meta.high_water)
            .max(client.first_answered_at().unwrap_or(0));
        let crawled: HashSet<String> = crawl::streams(client.profile(), &sections)
            .into_iter()
            .map(|s| s.section)
            .collect();
        let upstream = self.up.name.to_string();
        let lowercase = cachearr_dialect::of(client.profile())
            .routes()
            .lowercase_paths;
        let rebuilt = tokio::task::spawn_blocking(move || {
            pass_index(
                &current, &upserts, &replaced, &repeating, &crawled, &upstream, lowercase,
            )
        })
        .await;
        match rebuilt {
            Ok(Ok(Pass { index, tags, moved })) => {
                // Changes no event announced reach the cache now: exactly their entries.
                self.reads.invalidate_tags(&self.up.name, &tags);
                if let Some(feed) = self.reads.feed(&self.up.name) {
                    feed.note_pass(self.now_ms(), tags.len());
                }
                if !tags.is_empty() {
                    tracing::info!(
                        upstream = %self.up.name,
                        tags = tags.len(),
                        "incremental pass: refreshing the cached answers of what changed"
                    );
                }
                self.finish(Built {
                    index,
                    sections,
                    moved,
                    kind: "refresh",
                    fetched,
                    requests: client.requests(),
                    high_water,
                    started_ms,
                    none_of: Some(none_of),
                })
                .await;
                self.handle
                    .read_again(Some(&[crate::upstream_index::ANY_ITEM.to_string()]), seen);
                self.catching_up = false;
            }
            Ok(Err(e)) => self.fail(format!("refresh failed: {}", cachearr_engine::Chain(&e))),
            Err(e) => self.fail(format!("refresh failed: {}", cachearr_engine::Chain(&e))),
        }
    }

    /// The sections, the records changed since the high-water mark, and the listings read
    /// again in full because their count disagreed with the index (deletions).
    async fn changes_since(
        &self,
        client: &Client,
        current: &LibraryIndex,
    ) -> Result<PassChanges, CrawlError> {
        let none_of_mark = self.handle.kinds_held().mark();
        let sections = client.sections().await?;
        let streams = crawl::streams(client.profile(), &sections);
        let counts = count_by_stream(current);
        // The parents the copy's children listings repeat (shows, seasons): read again whole,
        // a request per thousand, for the counts of children the streams' `since` misses.
        client
            .keep_parents(&sections, self.config.page_size as u64, false)
            .await?;
        let everything = Visibility::everything();
        let page_size = self.config.page_size as u64;
        let mut upserts = Vec::new();
        let mut replaced = HashSet::new();
        let mut fetched = 0u64;
        // Parents the pass found changed whose values their children repeat (not those of
        // listings read in full).
        let mut parents: HashSet<String> = HashSet::new();
        for stream in &streams {
            let (changed, count) =
                read_stream(client, stream, page_size, Some(self.meta.high_water)).await?;
            fetched += count;
            let new = changed
                .iter()
                .filter(|r| current.by_id(&r.id, &everything).is_none())
                .count() as u64;
            let known = counts
                .get(&(stream.section.clone(), stream.kind))
                .copied()
                .unwrap_or(0)
                + new;
            let total = client.total(stream).await?;
            if known == total {
                parents.extend(
                    changed
                        .iter()
                        .filter(|r| repeated_by_children(r.kind))
                        .filter(|r| current.by_id(&r.id, &everything).is_some())
                        .map(|r| r.id.clone()),
                );
                upserts.extend(changed);
            } else {
                tracing::info!(
                    upstream = %self.up.name,
                    section = %stream.section,
                    kind = stream.kind.name(),
                    index = known,
                    server = total,
                    "library index: counts disagree (items were removed); reading the listing again"
                );
                let (all, count) = read_stream(client, stream, page_size, None).await?;
                fetched += count;
                upserts.extend(all);
                replaced.insert((stream.section.clone(), stream.kind));
            }
            let snapshot_fetched = fetched;
            let requests = client.requests();
            self.handle.update_status(|s| {
                if let Some(p) = s.progress.as_mut() {
                    p.items = snapshot_fetched;
                    p.requests = requests;
                }
            });
        }
        // The items under a changed parent carry its values (see [`children_of`]): they are
        // read again with it, and their answers are refreshed though their own `updatedAt`
        // stays.
        let listed: HashSet<&str> = upserts.iter().map(|r| r.id.as_str()).collect();
        let parents: HashSet<&str> = parents.iter().map(String::as_str).collect();
        let children = children_of(current, &parents, &listed);
        let mut repeating = HashSet::new();
        if !children.is_empty() {
            let (records, _) = placed(client.items(&children, &sections).await?, current);
            fetched += records.len() as u64;
            repeating.extend(records.iter().map(|r| r.id.clone()));
            upserts.extend(records);
        }
        let none_of = (client.none_of(&sections).await?, none_of_mark);
        Ok(PassChanges {
            sections,
            upserts,
            replaced,
            repeating,
            fetched,
            none_of,
        })
    }

    /// Fetches the items change events name; those the server no longer has are removed
    /// (with their children). Scans and events without items start a refresh instead.
    pub(super) async fn apply_events(&mut self, events: Vec<ChangeEvent>) {
        // The handle voided the kinds held none of as an item's change came
        // (`UpstreamIndex::note_change`): a restart does not bring them back.
        if self.handle.kinds_held().current().is_none()
            && self.meta.none_of.take().is_some()
            && let Err(e) = super::write_meta(&self.path("meta.json"), &self.meta)
        {
            tracing::warn!(
                upstream = %self.up.name,
                error = %cachearr_engine::Chain(&e),
                "library index: the metadata could not be saved"
            );
        }
        // New items whose section the event did not name: their lists are refreshed here, once
        // the fetch says where they are (every list if it cannot).
        let unplaced: Vec<String> = events
            .iter()
            .filter(|e| e.change == Change::Added && e.section.is_none())
            .flat_map(|e| e.items.iter().cloned())
            .collect();
        let Some(current) = self.handle.ready() else {
            // No index yet: the running or next build reads everything anyway.
            self.place(&unplaced, None);
            return;
        };
        let (mut ids, mut refresh) = named_items(&events);
        // The items under an updated parent repeat its values; the event names the parent
        // alone, so their answers are refreshed here once they are read again.
        let repeating = children_of_changed(&current, &events, &ids);
        ids.extend(repeating.iter().cloned());
        if !ids.is_empty() {
            let started_ms = self.now_ms();
            let client = match Client::new(self.up.clone()) {
                Ok(c) => c.with_elements(self.handle.elements().cloned()),
                Err(e) => return self.fail(e.to_string()),
            };
            refresh |= self
                .fetch_named(&client, &current, &ids, &unplaced, started_ms)
                .await;
            self.refresh_answers_of(&repeating);
        }
        if refresh {
            self.refresh().await;
        }
    }

    /// Fetches the items `ids` again and installs an index with them (less those the server
    /// no longer has, and their children). Whether a refresh has to place some of them: a
    /// new item more than one library answered for.
    async fn fetch_named(
        &mut self,
        client: &Client,
        current: &Arc<LibraryIndex>,
        ids: &[String],
        unplaced: &[String],
        started_ms: u64,
    ) -> bool {
        let sections = self.handle.sections().to_vec();
        // Writes through cachearr marked before this read are seen by it.
        let seen = self.handle.stale_mark();
        let fetched = client.items(ids, &sections).await;
        self.place(unplaced, fetched.as_ref().ok().map(Vec::as_slice));
        let records = match fetched {
            Ok(records) => records,
            Err(e) => {
                self.fail(format!(
                    "fetching changed items: {}",
                    cachearr_engine::Chain(&e)
                ));
                return false;
            }
        };
        let everything = Visibility::everything();
        // A new item more than one library answered for: the next refresh reads each
        // library's changes on its own, which places it.
        let (records, unplaced) = placed(records, current);
        let found: HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
        let gone: HashSet<String> = ids
            .iter()
            .filter(|id| !found.contains(id.as_str()))
            .filter(|id| current.by_id(id, &everything).is_some())
            .cloned()
            .collect();
        if records.is_empty() && gone.is_empty() {
            // Nothing the index holds changed: its elements are as read now.
            self.handle.read_again(Some(ids), seen);
            return unplaced;
        }
        let fetched = records.len() as u64;
        let moved = sections_of(records.iter());
        let high_water = self.meta.high_water;
        let current = current.clone();
        let rebuilt = tokio::task::spawn_blocking(move || {
            rebuild(&current, &records, |record| {
                !gone.contains(&record.id)
                    && !record.parent_id.as_ref().is_some_and(|p| gone.contains(p))
                    && !record
                        .grandparent_id
                        .as_ref()
                        .is_some_and(|g| gone.contains(g))
            })
        })
        .await;
        match rebuilt {
            Ok(Ok(index)) => {
                self.finish(Built {
                    index,
                    sections,
                    moved,
                    kind: "events",
                    fetched,
                    requests: client.requests(),
                    high_water,
                    started_ms,
                    none_of: None,
                })
                .await;
                self.handle.read_again(Some(ids), seen);
            }
            Ok(Err(e)) => self.fail(format!(
                "applying change events: {}",
                cachearr_engine::Chain(&e)
            )),
            Err(e) => self.fail(format!(
                "applying change events: {}",
                cachearr_engine::Chain(&e)
            )),
        }
        unplaced
    }

    /// Refreshes the lists of the new items `unplaced` by where `records` (the fetch of
    /// them, `None` when there is none) places them: their library's lists, or every list
    /// when one cannot be placed.
    fn place(&self, unplaced: &[String], records: Option<&[ItemRecord]>) {
        if unplaced.is_empty() {
            return;
        }
        let up = &self.up.name;
        let lowercase = cachearr_dialect::of(self.up.profile)
            .routes()
            .lowercase_paths;
        let mut tags = Vec::new();
        let mut all_placed = records.is_some();
        for id in unplaced {
            let mut sections: Vec<&str> = records
                .into_iter()
                .flatten()
                .filter(|r| r.id == *id)
                .map(|r| r.section_id.as_str())
                .collect();
            sections.sort_unstable();
            sections.dedup();
            match sections.as_slice() {
                [section] => {
                    let section = if lowercase {
                        section.to_ascii_lowercase()
                    } else {
                        (*section).to_owned()
                    };
                    tags.push(cachearr_dialect::tags::section(up, &section));
                    tags.push(cachearr_dialect::tags::members(up, &section));
                }
                // A folder named with the item (Jellyfin's parent) is not an item.
                [] if records.is_some_and(|r| !r.is_empty()) => {}
                // Not found, or found under several libraries (a server that ignores
                // `ParentId` next to `Ids`): its lists cannot be told apart.
                _ => all_placed = false,
            }
        }
        if all_placed {
            tags.push(cachearr_dialect::tags::across(up));
        } else {
            tags.push(cachearr_dialect::tags::listings(up));
        }
        self.reads.invalidate_tags(up, &tags);
    }

    /// Drops the cached answers of the items `ids` (each one's own tag): read again because
    /// a parent whose values they repeat changed, they show its old values.
    fn refresh_answers_of(&self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        let up = &self.up.name;
        let lowercase = cachearr_dialect::of(self.up.profile)
            .routes()
            .lowercase_paths;
        let tags: Vec<String> = ids
            .iter()
            .map(|id| {
                let id = if lowercase {
                    id.to_ascii_lowercase()
                } else {
                    id.clone()
                };
                cachearr_dialect::tags::item(up, &id)
            })
            .collect();
        self.reads.invalidate_tags(up, &tags);
    }
}

/// What an incremental pass read: the sections, the records changed since the high-water
/// mark, the listings read again in full because their count disagreed with the index
/// (deletions), and how many items it fetched.
struct PassChanges {
    sections: Vec<SectionInfo>,
    upserts: Vec<ItemRecord>,
    replaced: HashSet<(String, ItemKind)>,
    /// Items read again because a parent whose values they repeat changed.
    repeating: HashSet<String>,
    fetched: u64,
    /// The kinds each library holds none of, and where the voids stood when the pass began.
    none_of: (crate::upstream_index::none_of::NoneOf, u64),
}

/// What a pass made: the index, the tags of what it found changed (for the cache), and the
/// sections of the items it found added or changed (in which an item may have moved in its
/// listings' orders).
struct Pass {
    index: LibraryIndex,
    tags: Vec<String>,
    moved: Vec<String>,
}

/// The sections of `records`, once each.
fn sections_of<'r>(records: impl Iterator<Item = &'r ItemRecord>) -> Vec<String> {
    let mut sections: Vec<String> = records.map(|r| r.section_id.clone()).collect();
    sections.sort();
    sections.dedup();
    sections
}

/// The index after a pass and the tags of what the pass found changed, for the cache: new
/// items, items whose `updatedAt` moved (the pass re-reads the newest second, so
/// unchanged records come back too) and items under a changed parent (`repeating`: they
/// repeat its values, their `updatedAt` stays), and items gone from listings read in full.
fn pass_index(
    current: &LibraryIndex,
    upserts: &[ItemRecord],
    replaced: &HashSet<(String, ItemKind)>,
    repeating: &HashSet<String>,
    crawled: &HashSet<String>,
    upstream: &str,
    lowercase: bool,
) -> Result<Pass, cachearr_library::LibraryError> {
    let known: HashMap<String, (i64, String, ItemKind)> = current
        .records()
        .map(|r| (r.id.clone(), (r.updated_at, r.section_id.clone(), r.kind)))
        .collect();
    let changed: Vec<&ItemRecord> = upserts
        .iter()
        .filter(|r| {
            repeating.contains(&r.id)
                || known
                    .get(&r.id)
                    .is_none_or(|(at, _, _)| *at != r.updated_at)
        })
        .collect();
    let listed: HashSet<&str> = upserts.iter().map(|r| r.id.as_str()).collect();
    let removed: Vec<String> = known
        .iter()
        .filter(|(id, (_, section, kind))| {
            replaced.contains(&(section.clone(), *kind)) && !listed.contains(id.as_str())
        })
        .map(|(id, _)| id.clone())
        .collect();
    let mut sections: Vec<String> = replaced.iter().map(|(s, _)| s.clone()).collect();
    sections.sort();
    sections.dedup();
    let added: HashSet<&str> = changed
        .iter()
        .filter(|r| !known.contains_key(&r.id))
        .map(|r| r.id.as_str())
        .collect();
    let tags = cachearr_upstream::feed::pass_tags(
        upstream,
        lowercase,
        &changed,
        &added,
        &removed,
        if removed.is_empty() { &[] } else { &sections },
    );
    let moved = sections_of(changed.iter().copied());
    let index = rebuild(current, upserts, |record| {
        crawled.contains(&record.section_id)
            && !replaced.contains(&(record.section_id.clone(), record.kind))
    });
    index.map(|index| Pass { index, tags, moved })
}

/// The items change events name, once each, and whether one of them asks for a refresh (a
/// scan, or a change without items).
fn named_items(events: &[ChangeEvent]) -> (Vec<String>, bool) {
    let mut ids: Vec<String> = Vec::new();
    let mut refresh = false;
    for event in events {
        match event.change {
            Change::Added | Change::Updated | Change::Removed => {
                if event.items.is_empty() {
                    refresh = true;
                }
                for id in &event.items {
                    if !ids.contains(id) {
                        ids.push(id.clone());
                    }
                }
            }
            Change::ScanFinished => refresh = true,
            // Play state, sessions and ratings are not part of the index.
            _ => {}
        }
    }
    (ids, refresh)
}

/// The records of items fetched by id, one per item: a server that ignores `ParentId` next to
/// `Ids` (Jellyfin) answers an item for every library asked, so an item can come back once
/// per library. An item the index holds keeps its library, a new one takes its parent's; one
/// that is neither cannot be placed and is left out (`true`: some were).
pub(super) fn placed(records: Vec<ItemRecord>, index: &LibraryIndex) -> (Vec<ItemRecord>, bool) {
    let everything = Visibility::everything();
    let mut libraries: HashMap<String, usize> = HashMap::new();
    for r in &records {
        *libraries.entry(r.id.clone()).or_default() += 1;
    }
    let mut unplaced = false;
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        if libraries.get(&r.id).is_some_and(|n| *n == 1) {
            out.push(r);
            continue;
        }
        // Its library: the index's, or for a new item its parent's (a track is in its
        // album's library, an album in its artist's).
        let library = index
            .by_id(&r.id, &everything)
            .map(|v| v.section_id())
            .or_else(|| {
                [&r.parent_id, &r.grandparent_id]
                    .into_iter()
                    .flatten()
                    .find_map(|p| index.by_id(p, &everything).map(|v| v.section_id()))
            });
        match library {
            Some(library) if library == r.section_id => {
                if seen.insert(r.id.clone()) {
                    out.push(r);
                }
            }
            Some(_) => {}
            None => unplaced = true,
        }
    }
    (out, unplaced)
}

/// Whether items under one of `kind` repeat its values (a track its album's title and
/// artist's name, a season its show's title, an episode its season's and show's): a change
/// of the parent is a change of their answers.
fn repeated_by_children(kind: ItemKind) -> bool {
    matches!(
        kind,
        ItemKind::Album | ItemKind::Artist | ItemKind::Show | ItemKind::Season
    )
}

/// The items under the parents an update names whose values they repeat (see
/// [`children_of`]).
pub(super) fn children_of_changed(
    index: &LibraryIndex,
    events: &[ChangeEvent],
    ids: &[String],
) -> Vec<String> {
    let everything = Visibility::everything();
    // The items updated, not the parents an event names beside them (an episode's edit
    // changes no value its show's other episodes repeat).
    let parents: HashSet<&str> = events
        .iter()
        .filter(|e| e.change == Change::Updated)
        .flat_map(ChangeEvent::own_items)
        .filter(|id| {
            index
                .by_id(id, &everything)
                .is_some_and(|v| repeated_by_children(v.kind()))
        })
        .map(String::as_str)
        .collect();
    let named: HashSet<&str> = ids.iter().map(String::as_str).collect();
    children_of(index, &parents, &named)
}

/// The items of `index` under `parents` (albums, artists, shows, seasons), less those in
/// `skip`: each carries some of its parent's values (a track its album's title and image
/// tag, its artist's name; an album its artist's; a season its show's title, image and guid;
/// an episode its season's and show's), in its record and in the server's document or
/// element the answers are written from, and the server announces or saves the parent alone.
/// They are read again with it.
pub(super) fn children_of(
    index: &LibraryIndex,
    parents: &HashSet<&str>,
    skip: &HashSet<&str>,
) -> Vec<String> {
    if parents.is_empty() {
        return Vec::new();
    }
    index
        .records()
        .filter(|r| {
            [&r.parent_id, &r.grandparent_id]
                .into_iter()
                .flatten()
                .any(|p| parents.contains(p.as_str()))
        })
        .map(|r| r.id)
        .filter(|id| !skip.contains(id.as_str()))
        .collect()
}

/// Reads a whole stream (or its changes since `since`): its records and the items seen.
async fn read_stream(
    client: &Client,
    stream: &Stream,
    page_size: u64,
    since: Option<i64>,
) -> Result<(Vec<ItemRecord>, u64), CrawlError> {
    let mut records = Vec::new();
    let mut start = 0u64;
    let mut seen = 0u64;
    loop {
        let page = client.page(stream, start, page_size, since).await?;
        if page.count == 0 {
            break;
        }
        start += page.count;
        seen += page.count;
        records.extend(page.records);
        if page.total.is_some_and(|total| start >= total) {
            break;
        }
    }
    Ok((records, seen))
}

/// Items per (section, kind) in an index.
pub(super) fn count_by_stream(index: &LibraryIndex) -> HashMap<(String, ItemKind), u64> {
    let everything = Visibility::everything();
    let mut counts = HashMap::new();
    for n in 0..index.len() {
        let Some(view) = u32::try_from(n)
            .ok()
            .and_then(|n| index.item(ItemNo(n), &everything))
        else {
            continue;
        };
        *counts
            .entry((view.section_id().to_string(), view.kind()))
            .or_insert(0) += 1;
    }
    counts
}

/// A new index: the records of `current` that `keep` accepts, then `upserts` (which replace
/// records with the same id).
pub(super) fn rebuild(
    current: &LibraryIndex,
    upserts: &[ItemRecord],
    keep: impl Fn(&ItemRecord) -> bool,
) -> Result<LibraryIndex, cachearr_library::LibraryError> {
    let mut builder = IndexBuilder::new();
    for record in current.records().filter(|r| keep(r)) {
        builder.push(&record)?;
    }
    for record in upserts {
        builder.push(record)?;
    }
    Ok(builder.finish())
}
