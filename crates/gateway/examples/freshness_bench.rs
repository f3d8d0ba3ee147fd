//! Measures how stale an answer through cachearr can be (`docs/change-feed.md` "Stated
//! staleness"): changes made directly on the simulator (not through cachearr), with the
//! default configuration (notification socket, no webhooks, sampling on, real time), each
//! followed by reads of the changed answer through the gateway every 20 ms until it shows the
//! change:
//!
//! - `rename`: an item renamed on the server, the socket up;
//! - `dead`: the same behind a socket that went silent (`Sim::silence_sockets`: open, carrying
//!   nothing), and when the gateway noticed the socket was dead;
//! - `restart`: a server restarted having forgotten its play state (`Sim::reset_state`, which
//!   closes its sockets as a restart does);
//! - `play`: an item played to the end by the owner on a client cachearr does not see
//!   (Plex announces it on no socket; Jellyfin's socket carries the owner's
//!   `UserDataChanged`, and its activity log the playback's start and stop);
//! - `other`: the same by a user who is not the owner (announced to cachearr by neither
//!   server: found in the list of every user's plays), and a mark as unplayed by them (found
//!   by that user's own play-state probes).
//!
//! ```sh
//! cargo run --release -p cachearr-gateway --example freshness_bench -- [plex|jellyfin] [TRIALS] [SCENARIO…]
//! ```
//! Without scenarios, all run (`rename dead restart play other`).
//! `bench/freshness/run.sh` runs both servers. Not part of the test suite; figures go to
//! `docs/benchmarks.md` "Freshness".

#![allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use cachearr_copy::GatewayLibrary as _;
use std::time::{Duration, Instant};

use cachearr_gateway::Gateway;

use cachearr_config::Config;

use cachearr_dialect::Profile;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::{ItemKind, MOVIES_SECTION};

/// Longest wait for one change to show.
const GIVE_UP: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(20);

/// A user the bench reads as.
#[derive(Clone)]
struct Who {
    id: u32,
    token: String,
    user_id: String,
}

struct Setup {
    sim: Sim,
    gateway: Gateway,
    profile: Profile,
    proxy: String,
    owner: Who,
    other: Who,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _data: tempfile::TempDir,
}

fn builder() -> cachearr_sim::SimBuilder {
    Sim::builder()
        .tracks(200)
        .movies(200)
        .shows(2)
        .seed(2026)
        .cost(CostModel::zero())
}

async fn setup(profile: Profile) -> Setup {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_url = format!("http://{}", listener.local_addr().unwrap());
    let data = tempfile::tempdir().unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    let mut config = Config::single(profile, &sim_url, any).unwrap();
    config.admin_listen = any;
    config.data_dir = data.path().to_path_buf();
    let sim = builder().build().unwrap();
    let who = |u: &cachearr_sim::state::User| Who {
        id: u.id,
        token: match profile {
            Profile::Plex => u.plex_token.clone(),
            _ => u.jellyfin_token.clone(),
        },
        user_id: u.jellyfin_id.clone(),
    };
    let owner = who(sim.state().owner());
    // A user who is not the owner and sees every section (the movies are read).
    let other = who(sim
        .state()
        .users()
        .iter()
        .find(|u| !u.is_owner && u.sections.is_none() && !u.home)
        .expect("a shared user who sees everything"));
    config.upstreams[0].token = Some(owner.token.clone());
    let gateway = cachearr_copy::builder(config).build().await.unwrap();
    let bound = gateway.bind().await.unwrap();
    let proxy = format!("http://{}", bound.proxy_addrs()[0].1);
    let serving: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>> = match profile {
        Profile::Plex => Box::pin(sim.serve_plex(listener)),
        _ => Box::pin(sim.serve_jellyfin(listener, JellyfinOptions::default())),
    };
    tokio::spawn(async move {
        let _ = serving.await;
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve(cachearr_admin::router, async move {
        let _ = stopped.await;
    }));
    let s = Setup {
        sim,
        gateway,
        profile,
        proxy,
        owner,
        other,
        client: reqwest::Client::new(),
        _stop: stop,
        _data: data,
    };
    s.wait_healthy().await;
    s
}

impl Setup {
    fn name(&self) -> &'static str {
        self.profile.as_str()
    }

    fn healthy(&self) -> bool {
        let feed = self.gateway.feed(self.name()).unwrap();
        feed.unhealthy(self.gateway.clock().now_ms()).is_none()
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while !self.healthy() || self.gateway.index(self.name()).unwrap().ready().is_none() {
            assert!(
                Instant::now() < deadline,
                "the change feed never became healthy"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn path(&self, who: &Who, id: u32) -> String {
        match self.profile {
            Profile::Plex => format!("/library/metadata/{id}"),
            _ => {
                let guid = self.sim.library().item_any(id).unwrap().guid_id();
                format!("/Items/{guid}?userId={}", who.user_id)
            }
        }
    }

    /// `user` plays `id` to the end on a client cachearr does not see: on Plex a play that
    /// the history lists; on Jellyfin the player's start and stop reports, which the server
    /// writes in its activity log as a real client's do.
    fn play_elsewhere(&self, user: u32, id: u32) {
        if self.profile == Profile::Plex {
            self.sim.scrobble(user, id);
            return;
        }
        let length = self.sim.library().item(id).unwrap().duration_ms();
        for (state, at) in [
            (cachearr_sim::state::PlaybackState::Playing, 0),
            (cachearr_sim::state::PlaybackState::Stopped, length),
        ] {
            self.sim
                .report_playback(user, id, state, at, "bench-tv", "Jellyfin for TV");
        }
    }

    /// (title, play count) as the gateway answers `who`.
    async fn read(&self, who: &Who, id: u32) -> (String, u64) {
        let request = self
            .client
            .get(format!("{}{}", self.proxy, self.path(who, id)));
        let request = match self.profile {
            Profile::Plex => request
                .header("X-Plex-Token", &who.token)
                .header("Accept", "application/json"),
            _ => request.header(
                "Authorization",
                format!(
                    "MediaBrowser Client=\"bench\", Device=\"b\", DeviceId=\"b1\", Version=\"1\", Token=\"{}\"",
                    who.token
                ),
            ),
        };
        let body: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
        let item = match self.profile {
            Profile::Plex => body["MediaContainer"]["Metadata"][0].clone(),
            _ => body,
        };
        let (title, plays) = match self.profile {
            Profile::Plex => ("/title", "/viewCount"),
            _ => ("/Name", "/UserData/PlayCount"),
        };
        (
            item.pointer(title)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
            item.pointer(plays)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0),
        )
    }

    /// Reads `id` as `who` until `done` holds; the time from `since`, or `None` after
    /// [`GIVE_UP`].
    async fn until(
        &self,
        who: &Who,
        id: u32,
        since: Instant,
        done: impl Fn(&(String, u64)) -> bool,
    ) -> Option<Duration> {
        loop {
            if done(&self.read(who, id).await) {
                return Some(since.elapsed());
            }
            if since.elapsed() > GIVE_UP {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Waits a random part of a play-state probe period, so that a change is not made at the
/// same point of the probes' cycle each time (a trial starts just after the last was seen,
/// which is just after a round).
async fn off_phase() {
    let period = cachearr_config::FeedConfig::default().play_state_probe;
    let ms = u64::try_from(period.as_millis()).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(fastrand::u64(..ms.max(1)))).await;
}

fn summary(label: &str, times: &[Option<Duration>]) {
    let mut seen: Vec<Duration> = times.iter().flatten().copied().collect();
    seen.sort();
    let missed = times.len() - seen.len();
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    if seen.is_empty() {
        println!("{label}: none of {} seen within {GIVE_UP:?}", times.len());
        return;
    }
    println!(
        "{label}: n={} median {} max {}{}",
        times.len(),
        ms(seen[seen.len() / 2]),
        ms(*seen.last().unwrap()),
        if missed > 0 {
            format!(", {missed} not seen within {GIVE_UP:?}")
        } else {
            String::new()
        }
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let profile = match args.get(1).map(String::as_str) {
        Some("jellyfin") => Profile::Jellyfin,
        _ => Profile::Plex,
    };
    let trials: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);
    let chosen: Vec<&str> = args.iter().skip(3).map(String::as_str).collect();
    let runs = |scenario: &str| chosen.is_empty() || chosen.contains(&scenario);
    let s = setup(profile).await;
    let movies: Vec<u32> = s
        .sim
        .library()
        .section(MOVIES_SECTION)
        .unwrap()
        .items(ItemKind::Movie)
        .to_vec();
    let mut next = movies.into_iter();
    println!("{} simulator, {trials} trials each", s.name());

    let ids = &mut next;
    if runs("rename") {
        rename(&s, ids, trials).await;
    }
    if runs("dead") {
        dead_socket(&s, ids, trials).await;
    }
    if runs("restart") {
        restart(&s, ids, trials).await;
    }
    if runs("play") {
        owner_plays(&s, ids, trials).await;
    }
    if runs("other") {
        other_user_plays(&s, ids, trials).await;
    }
}

/// A rename on the server while the notification socket is up.
async fn rename(s: &Setup, ids: &mut impl Iterator<Item = u32>, trials: usize) {
    let mut renames = Vec::new();
    for n in 0..trials {
        let id = ids.next().unwrap();
        s.read(&s.owner, id).await;
        let title = format!("Renamed On The Server {n}");
        let t0 = Instant::now();
        s.sim.rename_item(id, &title).unwrap();
        renames.push(s.until(&s.owner, id, t0, |r| r.0 == title).await);
    }
    summary("rename, socket up", &renames);
}

/// A rename while the socket stays open but silent: how soon the gateway notices, and
/// when the rename shows.
async fn dead_socket(s: &Setup, ids: &mut impl Iterator<Item = u32>, trials: usize) {
    let (mut dead, mut noticed) = (Vec::new(), Vec::new());
    for n in 0..trials {
        let id = ids.next().unwrap();
        s.read(&s.owner, id).await;
        let title = format!("Renamed Behind A Dead Socket {n}");
        let t0 = Instant::now();
        s.sim.silence_sockets();
        s.sim.rename_item(id, &title).unwrap();
        let watch = async {
            while s.healthy() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            t0.elapsed()
        };
        let (seen, down) = tokio::join!(s.until(&s.owner, id, t0, |r| r.0 == title), watch);
        dead.push(seen);
        noticed.push(Some(down));
        s.wait_healthy().await;
    }
    summary("dead socket noticed", &noticed);
    summary("rename behind a dead socket seen", &dead);
}

/// A server restart that forgot play state.
async fn restart(s: &Setup, ids: &mut impl Iterator<Item = u32>, trials: usize) {
    let mut restarts = Vec::new();
    for _ in 0..trials {
        // Restarts are rare: the socket's connection is older than the 30 s after which a
        // reconnect starts again at the first back-off step.
        tokio::time::sleep(Duration::from_secs(31)).await;
        let id = ids.next().unwrap();
        s.sim.scrobble(s.owner.id, id);
        s.until(&s.owner, id, Instant::now(), |r| r.1 == 1).await;
        s.read(&s.owner, id).await;
        let t0 = Instant::now();
        s.sim.reset_state();
        restarts.push(s.until(&s.owner, id, t0, |r| r.1 == 0).await);
        s.wait_healthy().await;
    }
    summary("restart with forgotten play state seen", &restarts);
}

/// The owner plays on another client, no webhooks.
async fn owner_plays(s: &Setup, ids: &mut impl Iterator<Item = u32>, trials: usize) {
    let mut plays = Vec::new();
    for _ in 0..trials {
        let id = ids.next().unwrap();
        s.read(&s.owner, id).await;
        off_phase().await;
        let t0 = Instant::now();
        s.play_elsewhere(s.owner.id, id);
        plays.push(s.until(&s.owner, id, t0, |r| r.1 == 1).await);
    }
    summary("played on another client (owner, no webhooks)", &plays);
}

/// Another user plays, then marks unplayed, on another client.
async fn other_user_plays(s: &Setup, ids: &mut impl Iterator<Item = u32>, trials: usize) {
    let (mut played, mut unplayed) = (Vec::new(), Vec::new());
    for _ in 0..trials {
        let id = ids.next().unwrap();
        let other = s.other.clone();
        s.read(&other, id).await;
        off_phase().await;
        let t0 = Instant::now();
        s.play_elsewhere(other.id, id);
        played.push(s.until(&other, id, t0, |r| r.1 == 1).await);
        off_phase().await;
        let t0 = Instant::now();
        s.sim.unscrobble(other.id, id);
        unplayed.push(s.until(&other, id, t0, |r| r.1 == 0).await);
    }
    summary("played on another client (another user)", &played);
    summary(
        "marked unplayed on another client (another user)",
        &unplayed,
    );
}
