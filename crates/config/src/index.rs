//! `[index]` (the library index: crawl, schedule) and `[feed]` (cache validity from the
//! change feed).

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::values::{Dur, above_zero, duration};

/// The library index of every upstream: `[index]` in the file, read straight into this type
/// (every key optional, the defaults from [`IndexConfig::default`]); a zero is refused at its
/// line, and values below the floors are raised to them.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// Whether the gateway builds and keeps an index (on by default; off makes every search go
    /// to the server, with a warning).
    pub enabled: bool,
    /// A crawl that has not finished after this long is stopped (its progress is kept, so the
    /// next one resumes). At least a second.
    #[serde(deserialize_with = "build_timeout")]
    pub build_timeout: Duration,
    /// How often the index is refreshed from the server (incrementally, by `updatedAt`). At
    /// least a minute.
    #[serde(deserialize_with = "refresh_interval")]
    pub refresh_interval: Duration,
    /// A gateway that starts from a saved index whose last build or refresh is older than this
    /// refreshes it (incrementally) at once: changes made on the server while the gateway was
    /// down reach no event stream. Zero (the default) catches up at every start: a change made
    /// during a restart, however quick, would otherwise be served stale until the next
    /// scheduled refresh (`refresh_interval`, a day). A larger value makes quicker restarts
    /// free for the server at that price.
    #[serde(deserialize_with = "duration")]
    pub catch_up_after: Duration,
    /// Items asked for per page (10 to 10,000).
    #[serde(deserialize_with = "page_size")]
    pub page_size: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            build_timeout: Duration::from_secs(180 * 60),
            refresh_interval: Duration::from_secs(24 * 3600),
            catch_up_after: Duration::ZERO,
            page_size: 500,
        }
    }
}

fn build_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let t: Dur = above_zero(d, "build_timeout")?;
    Ok(t.0.max(Duration::from_secs(1)))
}

fn refresh_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let t: Dur = above_zero(d, "refresh_interval")?;
    Ok(t.0.max(Duration::from_secs(60)))
}

fn page_size<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n: usize = above_zero(d, "page_size")?;
    Ok(n.clamp(10, 10_000))
}

/// Cache validity from the change feed: `[feed]` in the file, read straight into this type
/// (every key optional, the defaults from [`FeedConfig::default`]), then bounded
/// (`FeedConfig::bounded`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedConfig {
    /// Whether answers about library content stay fresh past their class TTL while the change
    /// feed is healthy (on by default; it only takes effect once the feed proves healthy).
    pub enabled: bool,
    /// How long such an answer stays fresh at most while nothing it depends on changed.
    #[serde(deserialize_with = "duration")]
    pub horizon: Duration,
    /// Sampled revalidations per minute at most (background budget): a random feed-validated
    /// entry is fetched again and compared, only in minutes in which clients read answers the
    /// feed keeps (an idle gateway samples nothing). 0 turns sampling off.
    pub samples_per_minute: u32,
    /// Matching samples in a row that prove a class's feed again after a mismatch.
    pub prove_after: u32,
    /// Without a webhook for this long (and no notification socket open), the feed cannot
    /// prove anything.
    #[serde(deserialize_with = "duration")]
    pub webhook_window: Duration,
    /// The notification socket is probed this often (websocket ping, and the server's own
    /// keep-alive message when it has one).
    #[serde(deserialize_with = "duration")]
    pub socket_probe: Duration,
    /// Probe periods without any frame from the server after which the socket is dead: closed,
    /// made again, and until then the classes follow their TTLs.
    pub socket_probe_misses: u32,
    /// How often the server's one list of every user's plays (Plex's play history, Jellyfin's
    /// activity log; one request as the owner, background budget) is read while some user's
    /// answers that show play state were read within `play_state_active`: the server
    /// announces no play made on another client to cachearr. `0s` turns the play-state watch
    /// off.
    #[serde(deserialize_with = "duration")]
    pub play_state_probe: Duration,
    /// How often each active user's own play state is probed for what no list of plays shows
    /// (a mark as played or unplayed, a rating, a favourite; a few one-item listings as that
    /// user, background budget). At least `play_state_probe`.
    #[serde(deserialize_with = "duration")]
    pub play_state_user_probe: Duration,
    /// The users' own probes' budget, requests a minute per upstream (the servers' records
    /// naming tokens included; the list of every user's plays apart): users whose probes are
    /// due beyond it wait for a later round, the longest unprobed first, and the stated
    /// staleness of their play state grows with the watch (`docs/change-feed.md`).
    pub play_state_probes_per_minute: u32,
    /// A user is active, and watched, while answers of theirs that show play state were read
    /// within this long; an idle gateway makes no play-state request at all.
    #[serde(deserialize_with = "duration")]
    pub play_state_active: Duration,
    /// Users seen within this long keep what the watch last read of them, so that their
    /// return is compared item by item with it.
    #[serde(deserialize_with = "duration")]
    pub play_state_watch: Duration,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            horizon: Duration::from_secs(7 * 24 * 3600),
            samples_per_minute: 1,
            prove_after: 20,
            webhook_window: Duration::from_secs(24 * 3600),
            socket_probe: Duration::from_secs(15),
            socket_probe_misses: 3,
            play_state_probe: Duration::from_secs(15),
            play_state_user_probe: Duration::from_secs(120),
            play_state_probes_per_minute: 120,
            play_state_active: Duration::from_secs(3 * 60),
            play_state_watch: Duration::from_secs(30 * 60),
        }
    }
}

impl FeedConfig {
    /// The same settings within bounds: at most 6000 samples a minute, at least one matching
    /// sample to prove a class again, a socket probe between 10 ms and 5 min, 1 to 100 missed
    /// probes, a play-state probe (unless off) between 1 s and 1 h, a user's own probe and the
    /// active window at least as long, watched at least as long as active, 1 to 60,000 probes a
    /// minute.
    pub(super) fn bounded(mut self) -> FeedConfig {
        self.samples_per_minute = self.samples_per_minute.min(6000);
        self.play_state_probes_per_minute = self.play_state_probes_per_minute.clamp(1, 60_000);
        self.prove_after = self.prove_after.max(1);
        self.socket_probe = self
            .socket_probe
            .clamp(Duration::from_millis(10), Duration::from_secs(300));
        self.socket_probe_misses = self.socket_probe_misses.clamp(1, 100);
        if !self.play_state_probe.is_zero() {
            self.play_state_probe = self
                .play_state_probe
                .clamp(Duration::from_secs(1), Duration::from_secs(3600));
        }
        self.play_state_user_probe = self
            .play_state_user_probe
            .clamp(self.play_state_probe, Duration::from_secs(24 * 3600));
        self.play_state_active = self
            .play_state_active
            .max(self.play_state_probe)
            .max(Duration::from_secs(1));
        self.play_state_watch = self
            .play_state_watch
            .max(self.play_state_active)
            .max(Duration::from_secs(1));
        self
    }
}
