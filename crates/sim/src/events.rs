//! Server-neutral change events and webhook delivery.
//!
//! Every mutation made through [`crate::Sim`] (library add/remove/rename/edit, scans, play
//! state, playback reports, playlist edits) is broadcast as an [`Event`]. Each front end turns
//! events into its own wire formats: Plex into `/:/websockets/notifications` frames and
//! multipart webhooks, Jellyfin into `/socket` messages and webhook-plugin JSON. A front end
//! calls [`spawn_webhook_dispatcher`] once with a renderer; delivery, ordering and counting are
//! handled here.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::Sim;
use crate::library::ItemId;
use crate::state::{PlayState, PlaybackState};

/// What changed.
#[derive(Debug, Clone, PartialEq)]
pub enum SimEvent {
    /// A new item (the item's section is `section`).
    ItemAdded {
        /// The item.
        item: ItemId,
        /// Its section.
        section: u32,
    },
    /// An item's metadata changed.
    ItemUpdated {
        /// The item.
        item: ItemId,
        /// Its section.
        section: u32,
    },
    /// An item was removed (it stays readable with [`crate::library::Library::item_any`]).
    ItemRemoved {
        /// The item.
        item: ItemId,
        /// Its section.
        section: u32,
    },
    /// A section scan began.
    ScanStarted {
        /// Section.
        section: u32,
        /// Activity UUID.
        activity: String,
    },
    /// A section scan progressed.
    ScanProgress {
        /// Section.
        section: u32,
        /// Activity UUID.
        activity: String,
        /// Percent.
        progress: u32,
    },
    /// A section scan finished.
    ScanFinished {
        /// Section.
        section: u32,
        /// Activity UUID.
        activity: String,
    },
    /// A user's state for an item changed.
    PlayStateChanged {
        /// User id.
        user: u32,
        /// Item.
        item: ItemId,
        /// The new state.
        state: PlayState,
        /// Why.
        reason: PlayStateReason,
    },
    /// A player reported playback (start, pause, resume, progress, stop).
    Playing {
        /// User id.
        user: u32,
        /// Item.
        item: ItemId,
        /// Session key.
        session_key: u32,
        /// Player state.
        state: PlaybackState,
        /// Previous state of this session (None when it just started).
        previous: Option<PlaybackState>,
        /// Position in ms.
        view_offset_ms: u32,
    },
    /// A playlist was created, edited or deleted.
    PlaylistChanged {
        /// Owner.
        user: u32,
        /// Playlist id.
        playlist: u32,
    },
}

/// Deliberately lost events, for tests and measurements of what a gateway does when a server
/// does not announce a change: the change is made, but no front end sends a notification or
/// webhook for it. [`Sim::drop_next_events`] drops the next `n`; [`Sim::drop_events_per_mille`]
/// drops a share of all events (deterministically, every k-th).
#[derive(Debug, Default)]
pub struct EventDrops {
    next: AtomicU64,
    per_mille: AtomicU32,
    seen: AtomicU64,
    dropped: AtomicU64,
}

impl EventDrops {
    /// Whether this event is lost (counts it).
    pub(crate) fn lose(&self) -> bool {
        let n = self.seen.fetch_add(1, Ordering::Relaxed);
        let lost = self
            .next
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1))
            .is_ok()
            || {
                let rate = u64::from(self.per_mille.load(Ordering::Relaxed));
                // Every event whose running share crosses a whole drop: `rate` of each 1,000.
                rate > 0 && (n + 1) * rate / 1000 > n * rate / 1000
            };
        if lost {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        lost
    }
}

impl Sim {
    /// The next `n` events are lost (the changes themselves are made).
    pub fn drop_next_events(&self, n: u64) {
        self.event_drops().next.store(n, Ordering::Relaxed);
    }

    /// From now on `per_mille` of every 1,000 events are lost (0 stops it).
    pub fn drop_events_per_mille(&self, per_mille: u32) {
        self.event_drops()
            .per_mille
            .store(per_mille.min(1000), Ordering::Relaxed);
    }

    /// Events lost so far.
    pub fn events_dropped(&self) -> u64 {
        self.event_drops().dropped.load(Ordering::Relaxed)
    }
}

/// Why a play state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayStateReason {
    /// Marked played.
    Scrobble,
    /// Marked unplayed.
    Unscrobble,
    /// Rated.
    Rate,
    /// Resume position reported.
    Progress,
    /// Favourite toggled (Jellyfin).
    Favorite,
}

/// An event with its sequence number and time.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Monotonic, from 1.
    pub seq: u64,
    /// Epoch seconds.
    pub at: u32,
    /// What happened.
    pub kind: SimEvent,
}

/// Which front end a webhook target or renderer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrontEnd {
    /// The Plex API.
    Plex,
    /// The Jellyfin API.
    Jellyfin,
}

/// A webhook URL; `plex=URL` or `jellyfin=URL` restricts it to one front end, a bare URL gets
/// the posts of both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// Where to POST.
    pub url: String,
    /// Only this front end's posts (None = both).
    pub only: Option<FrontEnd>,
}

impl WebhookTarget {
    /// True when `front` posts to this target.
    pub fn wants(&self, front: FrontEnd) -> bool {
        self.only.is_none_or(|f| f == front)
    }
}

impl FromStr for WebhookTarget {
    type Err = crate::SimError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (only, url) = if let Some(u) = s.strip_prefix("plex=") {
            (Some(FrontEnd::Plex), u)
        } else if let Some(u) = s.strip_prefix("jellyfin=") {
            (Some(FrontEnd::Jellyfin), u)
        } else {
            (None, s)
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(crate::SimError::BadWebhook(s.to_string()));
        }
        Ok(Self {
            url: url.to_string(),
            only,
        })
    }
}

/// One webhook post.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookBody {
    /// Plex: `multipart/form-data` with a `payload` JSON part and optionally a `thumb` JPEG.
    Multipart {
        /// The `payload` part.
        payload: String,
        /// The optional `thumb` part.
        thumb: Option<Vec<u8>>,
    },
    /// Jellyfin webhook plugin: a JSON body.
    Json(String),
}

/// Renders an event as zero or more webhook posts (for one front end).
pub type WebhookRenderer = dyn Fn(&Sim, &Event) -> Vec<WebhookBody> + Send + Sync;

/// Starts (once per front end and [`Sim`]) the task that posts `render`'s bodies to every
/// matching `--webhook` URL, in event order. Failed posts are counted in `/_sim/stats`
/// (`webhooks_failed`) and logged; they are not retried (Plex does not retry either).
pub fn spawn_webhook_dispatcher(sim: &Sim, front: FrontEnd, render: Arc<WebhookRenderer>) {
    if !sim.claim_dispatcher(front) {
        return;
    }
    let targets: Vec<WebhookTarget> = sim
        .webhook_targets()
        .iter()
        .filter(|t| t.wants(front))
        .cloned()
        .collect();
    if targets.is_empty() {
        return;
    }
    let mut rx = sim.subscribe();
    let sim = sim.clone();
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
        {
            Ok(c) => c,
            Err(err) => {
                tracing::warn!(%err, "cannot build the webhook client; webhooks disabled");
                return;
            }
        };
        loop {
            let event = match rx.recv().await {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "webhook dispatcher lagged behind events");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            for body in render(&sim, &event) {
                for target in &targets {
                    let request = match &body {
                        WebhookBody::Json(json) => client
                            .post(&target.url)
                            .header("content-type", "application/json")
                            .body(json.clone()),
                        WebhookBody::Multipart { payload, thumb } => {
                            let mut form =
                                reqwest::multipart::Form::new().text("payload", payload.clone());
                            if let Some(t) = thumb {
                                let part = reqwest::multipart::Part::bytes(t.clone())
                                    .file_name("thumb.jpg")
                                    .mime_str("image/jpeg");
                                if let Ok(part) = part {
                                    form = form.part("thumb", part);
                                }
                            }
                            client.post(&target.url).multipart(form)
                        }
                    };
                    let ok = match request.send().await {
                        Ok(resp) => resp.status().is_success(),
                        Err(err) => {
                            tracing::debug!(%err, "webhook post failed");
                            false
                        }
                    };
                    sim.count_webhook(ok);
                    if !ok {
                        tracing::warn!(front = ?front, "a webhook post failed");
                    }
                }
            }
        }
    });
}
