//! The labels each item carries, on a server whose listings do not say them (Plex: the
//! section listings the crawl keeps carry a few genres and people, never a `Label`), for the
//! restrictions that filter on them (a Plex share's `label=` / `label!=`,
//! [`Restriction::reads_labels`](cachearr_dialect::model::restriction::Restriction::reads_labels)).
//!
//! **Reading.** Only the labels a restriction names are read, each once, with the owner's
//! token: for each crawled section and type the index keeps, the labels its items carry (the
//! dialect's [`labels_path`](cachearr_dialect::ServerLibrary::labels_path): Plex
//! `/library/sections/{id}/label?type=N`, which gives each label's key), then, for each label
//! named, the listing of the items carrying it
//! ([`labelled_path`](cachearr_dialect::ServerLibrary::labelled_path)). The labels the shares
//! name are read after a build (the index keeper, when the server's shares are read), so that
//! a restricted user's first answer does not wait for them; a label a share names later is
//! read when a user it restricts first asks. A section with more than [`LABELS_MAX`] labels
//! of one type is not read: its label-filtered users are the server's. What was read is kept
//! beside the snapshot (`{upstream}.labels.json`): a restart reads nothing again.
//!
//! **Following changes.** What was read holds as of the server's time of the read (its
//! `Date`). An item the index says was updated or added at or after it (Plex sets `updatedAt`
//! on an edit of its labels, as on an add) may carry other labels: its verdict is unknown
//! (the answer is the server's) and it is noted; the next answer that needs labels reads the
//! noted items again by id first ([`labels_by_ids_path`](cachearr_dialect::ServerLibrary::labels_by_ids_path),
//! one read per hundred), so a change costs one answer and one read. A read that fails leaves
//! label-filtered users to the server until one succeeds.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use cachearr_dialect::model::library::SectionInfo;
use cachearr_upstream::client::{Budget, Upstream};

/// Labels of one type in one section read at most; more, and the section is not read.
pub const LABELS_MAX: usize = 64;

/// The largest answer read (a listing of every item carrying a label).
const BODY_MAX: usize = 64 << 20;

/// Items read again by id per request.
const IDS_PER_READ: usize = 100;

/// The items carrying each label read, as of the server's time of the read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ItemLabels {
    /// Each labelled item's labels, by id; an item not here carries none of [`Self::names`].
    by_item: HashMap<String, Vec<String>>,
    /// The labels whose items were read.
    names: BTreeSet<String>,
    /// The server's time of the read (Unix seconds): an item updated since may carry others.
    as_of: i64,
    /// The items read again by id since, each with the server's time of its read.
    read_again: HashMap<String, i64>,
    /// Which read this is, in this process (lists filtered with it are kept under it).
    #[serde(skip)]
    generation: u64,
}

/// The number of the last read of labels, in this process.
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn next_generation() -> u64 {
    GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
}

impl ItemLabels {
    /// Which read this is (see [`ItemLabels::generation`]).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The labels of item `id`, updated last at `updated_at` (the index's record); `None`
    /// when it changed since they were read.
    pub fn of(&self, id: &str, updated_at: i64) -> Option<&[String]> {
        let as_of = self.read_again.get(id).copied().unwrap_or(self.as_of);
        if updated_at >= as_of {
            return None;
        }
        Some(self.by_item.get(id).map_or(&[], Vec::as_slice))
    }
}

/// The labels of one upstream's items (see the module documentation).
#[derive(Debug, Default)]
pub struct Labels {
    held: Mutex<Option<Arc<ItemLabels>>>,
    /// Where what was read is kept (`{upstream}.labels.json`), once the keeper says.
    path: std::sync::OnceLock<PathBuf>,
    /// Items found changed since the read: read again before the labels are given.
    changed: Mutex<HashSet<String>>,
    /// One read at a time: waiters then find it done.
    reading: tokio::sync::Mutex<()>,
}

impl Labels {
    /// Forgets what was read (the index was built anew).
    pub fn forget(&self) {
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.changed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Item `id` was found changed since the labels were read: it is read again before the
    /// next answer that needs labels.
    pub fn note_changed(&self, id: &str) {
        let mut changed = self.changed.lock().unwrap_or_else(|e| e.into_inner());
        if changed.len() < IDS_PER_READ * 10 {
            changed.insert(id.to_owned());
        } else {
            drop(changed);
            // Too many to read by id: every label is read again.
            self.forget();
        }
    }

    /// Keeps what is read in the file at `path`, and takes what was kept there.
    pub fn keep_at(&self, path: PathBuf) {
        let kept: Option<ItemLabels> = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if let Some(mut kept) = kept {
            kept.generation = next_generation();
            *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(kept));
        }
        let _ = self.path.set(path);
    }

    /// The items carrying the labels `names` in `sections`, read from `up` where not read
    /// yet, the items found changed read again first; `None` when they cannot be had.
    pub async fn current(
        &self,
        up: &Arc<Upstream>,
        sections: &[SectionInfo],
        names: &BTreeSet<String>,
    ) -> Option<Arc<ItemLabels>> {
        if let Some(held) = self.ready(names) {
            return Some(held);
        }
        let _reading = self.reading.lock().await;
        if let Some(held) = self.ready(names) {
            return Some(held);
        }
        let mut labels = (self.held.lock().unwrap_or_else(|e| e.into_inner()))
            .as_deref()
            .cloned()
            .unwrap_or_else(|| ItemLabels {
                as_of: i64::MAX,
                ..ItemLabels::default()
            });
        let changed: Vec<String> = (self.changed.lock().unwrap_or_else(|e| e.into_inner()))
            .iter()
            .cloned()
            .collect();
        let missing: BTreeSet<String> = names.difference(&labels.names).cloned().collect();
        let read = async {
            read_again(up, &mut labels, &changed).await?;
            read_names(up, sections, &missing, &mut labels).await
        };
        if read.await.is_none() {
            tracing::debug!(
                upstream = %up.name,
                "items' labels could not be read: label-filtered users are answered by the server"
            );
            return None;
        }
        labels.generation = next_generation();
        let labels = Arc::new(labels);
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(labels.clone());
        self.changed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        if let Some(path) = self.path.get() {
            keep(path, &labels, &up.name);
        }
        Some(labels)
    }

    /// What was read, when it holds `names` and nothing was found changed since.
    fn ready(&self, names: &BTreeSet<String>) -> Option<Arc<ItemLabels>> {
        let changed = !self
            .changed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        if changed {
            return None;
        }
        let held = self
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        names.is_subset(&held.names).then_some(held)
    }
}

/// Writes `labels` to `path` (through a temporary file); a failure is logged, and a restart
/// reads them again.
fn keep(path: &Path, labels: &ItemLabels, upstream: &str) {
    let written = serde_json::to_vec(labels)
        .map_err(std::io::Error::other)
        .and_then(|bytes| {
            let temporary = path.with_extension("labels.json.tmp");
            std::fs::write(&temporary, bytes)?;
            std::fs::rename(&temporary, path)
        });
    if let Err(e) = written {
        tracing::warn!(
            upstream,
            path = %path.display(),
            error = %e,
            "items' labels could not be kept; a restart reads them again"
        );
    }
}

/// The items of `sections` carrying the labels `names`, read from `up` into `labels`.
async fn read_names(
    up: &Arc<Upstream>,
    sections: &[SectionInfo],
    names: &BTreeSet<String>,
    labels: &mut ItemLabels,
) -> Option<()> {
    if names.is_empty() {
        return Some(());
    }
    let library = cachearr_dialect::of(up.profile).library();
    for section in sections {
        for &(_, type_param) in library.index_kinds(&section.kind) {
            let path = library.labels_path(&section.id, type_param)?;
            let (body, date) = read_json(up, &path).await?;
            labels.as_of = labels.as_of.min(date);
            let keys = library.parse_labels(&body);
            if keys.len() > LABELS_MAX {
                return None;
            }
            for (key, name) in keys.into_iter().filter(|(_, n)| names.contains(n)) {
                let path = library.labelled_path(&section.id, type_param, &key)?;
                let (body, _) = read_json(up, &path).await?;
                let (_, items) = library.parse_items(&body, Some(&section.id));
                for item in items {
                    let kept = labels.by_item.entry(item.id).or_default();
                    if !kept.contains(&name) {
                        kept.push(name.clone());
                    }
                }
            }
        }
    }
    labels.names.extend(names.iter().cloned());
    Some(())
}

/// The labels of the items `ids` read again into `labels`.
async fn read_again(up: &Arc<Upstream>, labels: &mut ItemLabels, ids: &[String]) -> Option<()> {
    let library = cachearr_dialect::of(up.profile).library();
    for chunk in ids.chunks(IDS_PER_READ) {
        let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let path = library.labels_by_ids_path(&ids)?;
        let (body, date) = read_json(up, &path).await?;
        // An item no longer there is not answered, whatever its labels.
        for id in chunk {
            labels.by_item.remove(id);
            labels.read_again.insert(id.clone(), date);
        }
        for (id, item_labels) in library.parse_item_labels(&body) {
            if !item_labels.is_empty() {
                labels.by_item.insert(id, item_labels);
            }
        }
    }
    Some(())
}

/// A JSON answer of `path` read with the owner's token, and the server's time of it (its
/// `Date`, Unix seconds); `None` when it cannot be had.
async fn read_json(up: &Arc<Upstream>, path: &str) -> Option<(Value, i64)> {
    let token = up.config.token.as_deref().filter(|t| !t.is_empty())?;
    let token = HeaderValue::from_str(token).ok()?;
    let uri = up.uri_for(path).ok()?;
    let make = || Ok(up.owner_request(&uri, Some(&token), "cachearr"));
    let response = up.send_idempotent(&make, Budget::Client).await.ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    let date = (response.headers().get(http::header::DATE))
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_secs()).ok())?;
    let body = http_body_util::BodyExt::collect(http_body_util::Limited::new(
        response.into_body(),
        BODY_MAX,
    ))
    .await
    .ok()?
    .to_bytes();
    Some((serde_json::from_slice(&body).ok()?, date))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What was read outlives a restart: the labels kept beside the snapshot are what the
    /// next process answers with, for the labels they hold and no others, and an item
    /// updated since the read is not taken from them.
    #[test]
    fn kept_labels_are_read_back_for_the_names_they_hold() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plex.labels.json");
        let read = ItemLabels {
            by_item: HashMap::from([("7".to_owned(), vec!["Explicit".to_owned()])]),
            names: BTreeSet::from(["Explicit".to_owned()]),
            as_of: 1_000,
            read_again: HashMap::from([("9".to_owned(), 2_000)]),
            generation: next_generation(),
        };
        keep(&path, &read, "plex");

        let labels = Labels::default();
        labels.keep_at(path);
        let explicit = BTreeSet::from(["Explicit".to_owned()]);
        let held = labels.ready(&explicit).unwrap();
        assert_eq!(held.of("7", 999), Some(&["Explicit".to_owned()][..]));
        assert_eq!(
            held.of("8", 999),
            Some(&[][..]),
            "an item not listed carries none"
        );
        assert_eq!(held.of("7", 1_000), None, "updated at the read: read again");
        assert_eq!(held.of("9", 1_500), Some(&[][..]), "read again by id later");
        let family = BTreeSet::from(["Family".to_owned()]);
        assert!(labels.ready(&family).is_none(), "a label never read");
        labels.note_changed("7");
        assert!(
            labels.ready(&explicit).is_none(),
            "a changed item is read first"
        );
    }
}
