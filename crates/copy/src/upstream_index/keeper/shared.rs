//! The library copy shared among gateways on one Redis: the gateway holding an upstream's
//! background (`cachearr_gateway::background`) publishes its index, the index's metadata,
//! the proven walk frames and the kept elements after every new version; the others load
//! that instead of crawling, so a gateway joining a warm group asks the server nothing for
//! its copy.
//!
//! The publication is one record, sealed like every record in Redis (its chunks' tags bound
//! to their keys and to the installation secret) and written only while the publisher's lease
//! is still its own: a holder cut off long enough to lose the lease publishes nothing over
//! its successor's copy.

use std::sync::Arc;

use cachearr_gateway::background::{copy_name, lease_name};
use cachearr_library::snapshot;
use serde::{Deserialize, Serialize};

use super::status::{IndexState, SnapshotInfo};
use super::{Keeper, Meta, items_by_kind, write_frames, write_meta};

/// What is published: the parts of the copy as the keeper keeps them on disk.
#[derive(Serialize, Deserialize)]
struct SharedCopy {
    /// `{upstream}.meta.json`'s content.
    meta: Vec<u8>,
    /// The index snapshot (`snapshot::to_bytes`).
    snapshot: Vec<u8>,
    /// `{upstream}.frames.json`'s content (empty: none proven).
    frames: Vec<u8>,
    /// The element store's keys and values.
    elements: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Keeper {
    /// Whether this gateway does the upstream's background work (alone, or as the holder).
    pub(super) fn works(&self) -> bool {
        self.role.as_ref().is_none_or(|r| r.works())
    }

    /// Publishes the copy as it stands, when this gateway holds the upstream's lease.
    pub(super) async fn publish_copy(&self) {
        let (Some(role), Some(tier)) = (&self.role, self.reads.cache().redis()) else {
            return;
        };
        let (Some(lease), Some(index)) = (role.held_lease(), self.handle.ready()) else {
            return;
        };
        let meta = serde_json::to_vec(&self.meta).unwrap_or_default();
        let frames = self.handle.frames().saved();
        let frames = if frames.is_empty() {
            Vec::new()
        } else {
            serde_json::to_vec(&frames).unwrap_or_default()
        };
        let elements = self.handle.elements().cloned();
        let encoded = tokio::task::spawn_blocking(move || {
            let copy = SharedCopy {
                meta,
                snapshot: snapshot::to_bytes(&index).ok()?,
                frames,
                elements: elements.map(|e| e.export()).unwrap_or_default(),
            };
            postcard::to_allocvec(&copy).ok()
        })
        .await
        .ok()
        .flatten();
        let Some(bytes) = encoded else {
            tracing::warn!(upstream = %self.up.name, "library copy: could not be encoded for the other gateways");
            return;
        };
        // A new number for every publication: this gateway's clock, past the last one.
        let generation = self.now_ms().max(role.copy_generation() + 1);
        let name = self.up.name.to_string();
        if tier
            .publish(
                &lease_name(&name),
                &lease,
                &copy_name(&name),
                generation,
                &bytes,
            )
            .await
        {
            role.note_copy(generation);
            tracing::info!(
                upstream = %self.up.name,
                generation,
                bytes = bytes.len(),
                "library copy published for the other gateways"
            );
        }
    }

    /// As a follower, loads the copy the holder published when it is newer than the one
    /// loaded.
    pub(super) async fn follow(&mut self) {
        let Some(role) = self.role.clone() else {
            return;
        };
        if role.works() {
            return;
        }
        if let Some(wanted) = role.copy_to_load() {
            self.load_published(Some(wanted)).await;
        }
    }

    /// Loads the copy published in Redis (the one the heartbeat names, `wanted`, or any):
    /// installs its index, elements and frames, and keeps them on disk as a crawl would.
    /// Nothing is asked of the server. Whether a copy was installed.
    pub(super) async fn load_published(&mut self, wanted: Option<u64>) -> bool {
        let (Some(role), Some(tier)) = (self.role.clone(), self.reads.cache().redis().cloned())
        else {
            return false;
        };
        let Some(published) = tier.read_published(&copy_name(&self.up.name)).await else {
            return false;
        };
        // A copy that does not decode is not asked for again until another is published.
        let give_up = |role: &cachearr_gateway::background::Role| {
            role.note_copy(wanted.unwrap_or(published.generation));
            false
        };
        let Ok(copy) = postcard::from_bytes::<SharedCopy>(&published.bytes) else {
            tracing::warn!(upstream = %self.up.name, "library copy: the published copy does not decode");
            return give_up(&role);
        };
        let Ok(meta) = serde_json::from_slice::<Meta>(&copy.meta) else {
            return give_up(&role);
        };
        let path = self.path("idx");
        let elements = self.handle.elements().cloned();
        let load_path = path.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            let index = snapshot::from_bytes(&copy.snapshot, &load_path).ok()?;
            if let Some(store) = elements {
                store.import(&copy.elements);
            }
            // Kept on disk as a build would: a restart starts from it.
            let _ = snapshot::save(&index, &load_path);
            Some((index, copy.frames))
        })
        .await
        .ok()
        .flatten();
        let Some((index, frames)) = loaded else {
            tracing::warn!(upstream = %self.up.name, "library copy: the published index does not load");
            return give_up(&role);
        };
        let index = Arc::new(index);
        if let Ok(saved) = serde_json::from_slice::<Vec<super::SavedFrame>>(&frames) {
            self.handle.frames().restore(&saved);
            let _ = write_frames(&self.path("frames.json"), &saved);
        }
        let _ = write_meta(&self.path("meta.json"), &meta);
        let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
        self.handle.set_sections(meta.sections.clone());
        let by_kind = items_by_kind(&index);
        let next = None;
        self.handle.update_status(|s| {
            s.state = IndexState::Ready;
            s.progress = None;
            s.items = index.len() as u64;
            s.items_by_kind = by_kind;
            s.last_build = meta.last_build.clone();
            s.next_refresh_at_ms = next;
            s.snapshot = Some(SnapshotInfo {
                path: path.display().to_string(),
                bytes,
            });
        });
        // The copy published replaces one installed: which items moved is not told, so any
        // may have (marked as `Keeper::finish` marks them).
        let moved: Vec<String> = match self.handle.ready() {
            Some(_) => meta.sections.iter().map(|s| s.id.clone()).collect(),
            None => Vec::new(),
        };
        self.handle.frames().moved_in(&moved);
        self.handle.install(index.clone());
        self.handle.frames().moved_in(&moved);
        self.meta = meta;
        role.note_copy(published.generation);
        tracing::info!(
            upstream = %self.up.name,
            generation = published.generation,
            fence = published.fence,
            items = index.len(),
            "library copy loaded from the gateway holding the background"
        );
        self.spawn_totals(index);
        true
    }
}
