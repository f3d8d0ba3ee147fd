//! What the index keeper reports: the state of one upstream's index, the progress of a build,
//! the sections it knows and the library totals (`GET /api/index`, `GET /api/library/stats`,
//! `cachearr index status`).
//!
//! Plain serialisable data, shared by the keeper (which writes it), the admin API and the CLI
//! (which read it); no token or URL is ever part of it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where an upstream's index stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IndexState {
    /// `[index] enabled = false`: searches go to the server.
    Disabled,
    /// Nothing built yet and no build running.
    #[default]
    Idle,
    /// A build (full or resumed) is running; searches go to the server until it ends.
    Building,
    /// An index is installed and answering (a refresh may be running).
    Ready,
    /// The last build failed and no index is installed.
    Failed,
}

/// One library section, as the server lists it (the dialects read it: its type is in the
/// leaf [`cachearr_dialect::model`]).
use cachearr_dialect::model::library::SectionInfo;

/// Progress of a running build or refresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct BuildProgress {
    /// `full`, `resumed`, `refresh` or `events`.
    pub kind: String,
    /// Items fetched so far (including those a resumed build found already fetched).
    pub items: u64,
    /// Items the server says there are, when known (sum of the listings' totals).
    pub total: Option<u64>,
    /// `items / total` in percent, when the total is known.
    pub percent: Option<f64>,
    /// Items per second in this run.
    pub rate_per_sec: f64,
    /// Seconds left at this rate, when the total is known.
    pub eta_secs: Option<f64>,
    /// Upstream requests made by this run.
    pub requests: u64,
    /// Items a resumed build did not fetch again.
    pub resumed_items: u64,
    /// The section being read now.
    pub section: Option<String>,
    /// When this run started (ms since the epoch, the gateway's clock).
    pub started_at_ms: u64,
}

/// The outcome of the last finished build or refresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct BuildRecord {
    /// `full`, `resumed`, `refresh` or `events`.
    pub kind: String,
    /// When it finished (ms since the epoch).
    pub finished_at_ms: u64,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Items in the installed index.
    pub items: u64,
    /// Items fetched from the server by this run.
    pub fetched: u64,
    /// Upstream requests made by this run.
    pub requests: u64,
}

/// The persisted snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// Its path.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// The state of one upstream's index: one entry of `GET /api/index`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct IndexStatus {
    /// The upstream's name.
    pub upstream: String,
    /// `plex` or `jellyfin`.
    pub profile: String,
    /// Whether the index is enabled.
    pub enabled: bool,
    /// Where it stands.
    pub state: IndexState,
    /// The running build or refresh, if any.
    pub progress: Option<BuildProgress>,
    /// Items in the installed index.
    pub items: u64,
    /// Items per kind (`track`, `album`, `artist`, `movie`, `episode`, `show`, `season`).
    pub items_by_kind: BTreeMap<String, u64>,
    /// The sections the server lists (crawled or not).
    pub sections: Vec<SectionInfo>,
    /// The last finished build or refresh.
    pub last_build: Option<BuildRecord>,
    /// When the next scheduled refresh is due (ms since the epoch).
    pub next_refresh_at_ms: Option<u64>,
    /// The snapshot on disk.
    pub snapshot: Option<SnapshotInfo>,
    /// The most recent errors (newest last, at most a few); a finished build clears them.
    pub errors: Vec<String>,
    /// When a failed first build is tried again (ms since the epoch): the server may have been
    /// down (both starting at boot); each failure doubles the wait, up to 10 minutes.
    #[serde(default)]
    pub next_retry_at_ms: Option<u64>,
    /// Searches that went to the server because the index was off or not ready.
    pub searches_to_server: u64,
    /// The walks the library copy answered instead of the server, and the frames it learned.
    #[serde(default)]
    pub copy: CopyReport,
    /// The requests the copy left to the server, per reason (`declined::Declined::label`):
    /// only the reasons seen at least once.
    #[serde(default)]
    pub declined: BTreeMap<String, u64>,
}

/// What the library copy did for walks (section listings, children): `GET /api/index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CopyReport {
    /// Cache misses the copy answered (the server was not asked).
    pub answered: u64,
    /// Server answers a frame was proven on.
    pub proofs: u64,
    /// Request shapes whose frame is proven: the copy answers them.
    pub shapes_proven: u64,
    /// Request shapes still being learned.
    pub shapes_learning: u64,
    /// Request shapes refused for good (their answers are the server's).
    pub shapes_refused: u64,
    /// The frames are being learnt from the probes that follow a build (a few reads of the
    /// server's): a benchmark waits for them as for the crawl.
    #[serde(default)]
    pub probing: bool,
}

/// Totals of one section: `GET /api/library/stats` (the numbers a server dashboard shows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SectionTotals {
    /// Section id.
    pub id: String,
    /// Section title (empty when the server no longer lists it).
    pub title: String,
    /// `music`, `movies`, `shows`.
    pub kind: String,
    /// Items per kind.
    pub items: BTreeMap<String, u64>,
    /// Sum of the durations of its playable items, in seconds.
    pub duration_secs: u64,
    /// Items with a file path.
    pub with_path: u64,
    /// Items carrying a MusicBrainz id.
    pub with_musicbrainz_id: u64,
    /// Newest `addedAt` (epoch seconds), 0 when unknown.
    pub last_added_at: i64,
}

/// Totals of one upstream's library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LibraryTotals {
    /// The upstream's name.
    pub upstream: String,
    /// Items per kind over every section.
    pub items: BTreeMap<String, u64>,
    /// Per section.
    pub sections: Vec<SectionTotals>,
    /// When these totals were computed (ms since the epoch).
    pub computed_at_ms: u64,
}

/// A short kind name for `items_by_kind` maps.
pub fn kind_name(kind: cachearr_library::ItemKind) -> &'static str {
    kind.name()
}

/// Fills `progress`'s percent, rate and ETA from its counters and `now_ms`.
pub fn update_rates(progress: &mut BuildProgress, fetched_this_run: u64, now_ms: u64) {
    let elapsed = now_ms.saturating_sub(progress.started_at_ms) as f64 / 1000.0;
    progress.rate_per_sec = if elapsed > 0.0 {
        fetched_this_run as f64 / elapsed
    } else {
        0.0
    };
    match progress.total {
        Some(total) if total > 0 => {
            let done = progress.items.min(total);
            progress.percent = Some((done as f64 * 100.0 / total as f64 * 10.0).round() / 10.0);
            progress.eta_secs = (progress.rate_per_sec > 0.0)
                .then(|| ((total - done) as f64 / progress.rate_per_sec).round());
        }
        _ => {
            progress.percent = None;
            progress.eta_secs = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_percent_and_eta() {
        let mut p = BuildProgress {
            items: 250,
            total: Some(1000),
            started_at_ms: 1_000,
            ..BuildProgress::default()
        };
        update_rates(&mut p, 200, 3_000);
        assert_eq!(p.percent, Some(25.0));
        assert!((p.rate_per_sec - 100.0).abs() < 1e-9);
        assert_eq!(p.eta_secs, Some(8.0));
        p.total = None;
        update_rates(&mut p, 200, 3_000);
        assert_eq!((p.percent, p.eta_secs), (None, None));
        let json = serde_json::to_value(IndexStatus::default()).unwrap();
        assert_eq!(json["state"], "idle");
    }
}
