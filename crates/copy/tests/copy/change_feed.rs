//! Cache validity from the change feed, end to end: the simulator behind a real gateway (real
//! HTTP on loopback, the disk store in a temp dir, cachearr's own notification socket and the
//! simulator's webhooks), time on a `ManualClock`. Once the feed is healthy, library answers
//! stay fresh past their class TTL; an edit, an add, a remove and a play-state change (of a
//! movie and of a track) each refresh exactly the answers that depend on them — the pages
//! that show the item, not the others; the album, not the sibling track — while the others
//! stay hits; a change whose event
//! is dropped is found by sampled revalidation, which drops the stale answer and puts its class
//! back on its TTL.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use cachearr_testkit::sim_gateway;

use cachearr_copy::GatewayLibrary as _;
use std::sync::Arc;
use std::time::Duration;

use cachearr_copy::play_watch;
use cachearr_copy::upstream_index::status::IndexState;
use cachearr_dialect::Profile;
use cachearr_engine::ManualClock;
use cachearr_gateway::Gateway;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::{ItemKind, NewItem};
use cachearr_sim::state::PlaybackState;
use cachearr_testkit::eventually;
use cachearr_testkit::http::{get_json, json_answer};
use cachearr_upstream::feed::Sampled;

const WAIT: Duration = Duration::from_secs(30);
const HOUR: Duration = Duration::from_secs(3600);

struct Running {
    sim: Sim,
    gateway: Gateway,
    clock: Arc<ManualClock>,
    profile: Profile,
    token: String,
    owner: u32,
    user_id: String,
    proxy: String,
    admin: String,
    /// The simulator itself, for what clients do without cachearr.
    sim_url: String,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    sim_task: tokio::task::JoinHandle<()>,
    _data: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.sim_task.abort();
    }
}

fn sim_builder() -> cachearr_sim::SimBuilder {
    Sim::builder()
        .tracks(40)
        .movies(8)
        .shows(1)
        .seed(16)
        .cost(CostModel::zero())
}

async fn start(profile: Profile) -> Running {
    start_with(profile, |_| {}).await
}

async fn start_with(
    profile: Profile,
    configure: impl FnOnce(&mut cachearr_config::Config),
) -> Running {
    start_hooked(profile, true, configure).await
}

/// [`start_with`], the simulator's Plex webhooks configured only when `webhooks`.
async fn start_hooked(
    profile: Profile,
    webhooks: bool,
    configure: impl FnOnce(&mut cachearr_config::Config),
) -> Running {
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
    let data = tempfile::tempdir().unwrap();
    let mut config = sim_gateway::loopback_config(profile, &sim_url, data.path());
    // Sampling is driven by hand here, so the test decides when it happens.
    config.feed.samples_per_minute = 0;
    config.feed.prove_after = 3;
    configure(&mut config);
    let owner = sim_builder().build().unwrap().state().owner().clone();
    let token = match profile {
        Profile::Plex => owner.plex_token.clone(),
        Profile::Jellyfin => owner.jellyfin_token.clone(),
        Profile::Emby => owner.emby_token(),
        Profile::Http => unreachable!("a media server's test"),
    };
    config.upstreams[0].token = Some(token.clone());
    let clock = Arc::new(ManualClock::default());
    clock.advance(Duration::from_secs(1_000_000));
    let gateway = sim_gateway::gateway_builder(config)
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    let bound = gateway.bind().await.unwrap();
    let proxy = format!("http://{}", bound.proxy_addrs()[0].1);
    let admin = format!("http://{}", bound.admin_addr().unwrap());
    let name = profile.as_str();
    let secret = gateway.webhook_secret().to_owned();
    // Plex announces play state only by webhook; Jellyfin's socket carries everything (its
    // webhook plugin does not name the library of a new item).
    let mut builder = sim_builder();
    if profile == Profile::Plex && webhooks {
        builder = builder.webhooks([format!("{name}={admin}/webhooks/{name}?secret={secret}")]);
    }
    let sim = builder.build().unwrap();
    let serving: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>> = match profile {
        Profile::Plex => Box::pin(sim.serve_plex(sim_listener)),
        Profile::Jellyfin => Box::pin(sim.serve_jellyfin(sim_listener, JellyfinOptions::default())),
        Profile::Emby => Box::pin(sim.serve_emby(sim_listener, JellyfinOptions::default())),
        Profile::Http => unreachable!("a media server's test"),
    };
    let sim_task = tokio::spawn(async move {
        let _ = serving.await;
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(sim_gateway::serve_bound(bound, async move {
        let _ = stopped.await;
    }));
    let gw = Running {
        sim,
        gateway,
        clock,
        profile,
        token,
        owner: owner.id,
        user_id: owner.jellyfin_id.clone(),
        proxy,
        admin,
        sim_url,
        client: sim_gateway::admin_client(),
        stop: Some(stop),
        sim_task,
        _data: data,
    };
    eventually("the change feed is healthy", WAIT, || async {
        gw.stats().await["feed"][0]["healthy"] == true
    })
    .await;
    // The index's crawl, and the frame probes that follow it, are done: their server requests
    // never land among those a test counts.
    eventually("the index is built and its frames probed", WAIT, || async {
        gw.gateway.index(name).is_none_or(|index| {
            let status = index.status();
            matches!(status.state, IndexState::Ready | IndexState::Disabled) && !status.copy.probing
        })
    })
    .await;
    gw
}

/// What a read answered.
struct Read {
    cache: String,
    titles: Vec<String>,
    plays: Vec<u64>,
}

impl Running {
    async fn stats(&self) -> serde_json::Value {
        get_json(&self.client, &format!("{}/api/stats", self.admin)).await
    }

    /// (section id, movie ids) of the movie section, and the music section's id.
    fn sections(&self) -> (u32, Vec<u32>, u32) {
        let library = self.sim.library();
        let movies = library
            .sections()
            .iter()
            .find(|s| !s.items(ItemKind::Movie).is_empty())
            .unwrap();
        let music = library
            .sections()
            .iter()
            .find(|s| !s.items(ItemKind::Track).is_empty())
            .unwrap();
        (movies.id, movies.items(ItemKind::Movie).to_vec(), music.id)
    }

    /// A second gateway started on a copy of this one's data directory, on the same clock:
    /// the gateway, its proxy's URL, what stops it, and the copy (kept while it runs).
    async fn restarted(
        &self,
    ) -> (
        Gateway,
        String,
        tokio::sync::oneshot::Sender<()>,
        tempfile::TempDir,
    ) {
        let data = tempfile::tempdir().unwrap();
        cachearr_testkit::copy_dir(self._data.path(), data.path());
        let mut config = self.gateway.config().clone();
        config.data_dir = data.path().to_path_buf();
        let restarted = sim_gateway::gateway_builder(config)
            .clock(self.clock.clone())
            .build()
            .await
            .unwrap();
        let bound = restarted.bind().await.unwrap();
        let proxy = format!("http://{}", bound.proxy_addrs()[0].1);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(sim_gateway::serve_bound(bound, async move {
            let _ = stopped.await;
        }));
        (restarted, proxy, stop, data)
    }

    fn path_id(&self, id: u32) -> String {
        match self.profile {
            Profile::Plex => id.to_string(),
            Profile::Jellyfin => self.sim.library().item_any(id).unwrap().guid_id(),
            // Emby's ids are the numbers themselves.
            Profile::Emby => id.to_string(),
            Profile::Http => unreachable!("a media server's test"),
        }
    }

    fn metadata(&self, id: u32) -> String {
        match self.profile {
            Profile::Plex => format!("/library/metadata/{}", self.path_id(id)),
            Profile::Jellyfin | Profile::Emby => {
                format!("/Items/{}?userId={}", self.path_id(id), self.user_id)
            }
            Profile::Http => unreachable!("a media server's test"),
        }
    }

    /// An album with two tracks: (album, track, its sibling).
    fn album(&self) -> (u32, u32, u32) {
        let library = self.sim.library();
        let music = library
            .sections()
            .iter()
            .find(|s| !s.items(ItemKind::Track).is_empty())
            .unwrap();
        let album = *music
            .items(ItemKind::Album)
            .iter()
            .find(|a| library.children(**a).len() >= 2)
            .unwrap();
        let tracks = library.children(album);
        (album, tracks[0], tracks[1])
    }

    /// An item's children listing.
    fn children(&self, id: u32) -> String {
        match self.profile {
            Profile::Plex => format!("/library/metadata/{}/children", self.path_id(id)),
            Profile::Jellyfin | Profile::Emby => format!(
                "/Users/{}/Items?ParentId={}",
                self.user_id,
                self.path_id(id)
            ),
            Profile::Http => unreachable!("a media server's test"),
        }
    }

    /// One page of `listing`.
    fn page(&self, listing: &str, start: usize, size: usize) -> String {
        let sep = if listing.contains('?') { '&' } else { '?' };
        match self.profile {
            Profile::Plex => {
                format!("{listing}{sep}X-Plex-Container-Start={start}&X-Plex-Container-Size={size}")
            }
            Profile::Jellyfin | Profile::Emby => {
                format!("{listing}{sep}StartIndex={start}&Limit={size}")
            }
            Profile::Http => unreachable!("a media server's test"),
        }
    }

    fn title(&self, id: u32) -> String {
        self.sim.library().item_any(id).unwrap().title().to_owned()
    }

    /// A section's listing (Plex section id; Jellyfin: the library view of that kind).
    async fn listing(&self, section: u32) -> String {
        match self.profile {
            Profile::Plex => format!("/library/sections/{section}/all"),
            Profile::Jellyfin | Profile::Emby => {
                let kind = self.sim.library().section(section).unwrap().kind;
                let want = match kind {
                    cachearr_sim::library::SectionKind::Movies => "movies",
                    cachearr_sim::library::SectionKind::Music => "music",
                    _ => "tvshows",
                };
                let views =
                    json_answer(self.request(&format!("/Users/{}/Views", self.user_id))).await;
                let view = views["Items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|v| v["CollectionType"] == want)
                    .unwrap()["Id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                format!(
                    "/Users/{}/Items?ParentId={view}&Recursive=true",
                    self.user_id
                )
            }
            Profile::Http => unreachable!("a media server's test"),
        }
    }

    fn request(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.get(format!("{}{path}", self.proxy));
        match self.profile {
            Profile::Plex => request
                .header("X-Plex-Token", &self.token)
                .header("Accept", "application/json"),
            Profile::Jellyfin | Profile::Emby => request.header(
                "Authorization",
                format!(
                    "MediaBrowser Client=\"t\", Device=\"t\", DeviceId=\"t1\", Version=\"1\", Token=\"{}\"",
                    self.token
                ),
            ),
            Profile::Http => unreachable!("a media server's test"),
        }
    }

    async fn get(&self, path: &str) -> Read {
        let response = self.request(path).send().await.unwrap();
        let cache = response
            .headers()
            .get("x-cache")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        if response.status() == 404 {
            return Read {
                cache,
                titles: Vec::new(),
                plays: Vec::new(),
            };
        }
        assert_eq!(response.status(), 200, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        let list: Vec<serde_json::Value> = match self.profile {
            Profile::Plex => body["MediaContainer"]["Metadata"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            Profile::Jellyfin | Profile::Emby => match body["Items"].as_array() {
                Some(items) => items.clone(),
                None => vec![body],
            },
            Profile::Http => unreachable!("a media server's test"),
        };
        let (title, plays) = match self.profile {
            Profile::Plex => ("title", "/viewCount"),
            Profile::Jellyfin | Profile::Emby => ("Name", "/UserData/PlayCount"),
            Profile::Http => unreachable!("a media server's test"),
        };
        Read {
            cache,
            titles: list
                .iter()
                .map(|m| m[title].as_str().unwrap_or_default().to_owned())
                .collect(),
            plays: list
                .iter()
                .map(|m| m.pointer(plays).and_then(|v| v.as_u64()).unwrap_or(0))
                .collect(),
        }
    }

    /// Reads every path once, so that what the last change refreshed is cached again.
    async fn refill(&self, paths: &[&str]) {
        for path in paths {
            self.get(path).await;
        }
    }

    async fn assert_hits(&self, paths: &[&str], why: &str) {
        for path in paths {
            assert_eq!(self.get(path).await.cache, "HIT", "{path}: {why}");
        }
    }
}

async fn edit_add_remove_play_and_a_dropped_event(profile: Profile) {
    let gw = start(profile).await;
    let (movies, ids, music) = gw.sections();
    let (a, b, c, d) = (ids[0], ids[1], ids[2], ids[3]);
    let (ma, mb, mc, md) = (
        gw.metadata(a),
        gw.metadata(b),
        gw.metadata(c),
        gw.metadata(d),
    );
    let l_movies = gw.listing(movies).await;
    let l_music = gw.listing(music).await;
    // The movie listing in two pages of four.
    let (p1, p2) = (gw.page(&l_movies, 0, 4), gw.page(&l_movies, 4, 4));
    // An album's metadata and children, and the metadata of two of its tracks.
    let (album, t, t2) = gw.album();
    let (m_album, c_album, mt, mt2) = (
        gw.metadata(album),
        gw.children(album),
        gw.metadata(t),
        gw.metadata(t2),
    );
    let tracks = [&m_album, &c_album, &mt, &mt2].map(String::as_str);
    let all = [
        &ma, &mb, &mc, &md, &l_movies, &l_music, &p1, &p2, &m_album, &c_album, &mt, &mt2,
    ]
    .map(String::as_str);
    for path in all {
        gw.get(path).await;
    }
    // A Jellyfin album's tracks read one after the other are a walk: the rest of them come
    // in a batch, which must be done before the server's requests are counted.
    eventually(
        "batches are done",
        std::time::Duration::from_secs(30),
        async || gw.gateway.batcher().idle(),
    )
    .await;
    // Past every class TTL (metadata and listings: 1 h): the feed vouches for all of them.
    gw.clock.advance(2 * HOUR);
    let requests = gw.sim.stats().total;
    gw.assert_hits(&all, "the feed is healthy and nothing changed")
        .await;
    assert_eq!(
        gw.sim.stats().total,
        requests,
        "no request reached the server"
    );

    // An edit: the item and its section's listing, nothing else.
    gw.sim.rename_item(a, "Edited On The Server").unwrap();
    eventually("the edit shows", WAIT, || async {
        gw.get(&ma).await.titles == ["Edited On The Server"]
    })
    .await;
    let listing = gw.get(&l_movies).await;
    assert!(
        listing.titles.iter().any(|t| t == "Edited On The Server"),
        "the section's listing was refreshed: {:?}",
        listing.titles
    );
    gw.assert_hits(
        &[&mb, &mc, &md, &m_album, &c_album, &mt, &mt2],
        "the edit touches only A and its lists",
    )
    .await;

    // An edit of a track: its own metadata and the album's children listing that shows it;
    // not the album's metadata, not its sibling, nothing of the movies.
    gw.refill(&all).await;
    gw.sim.rename_item(t, "Track Edited").unwrap();
    eventually("the track's edit shows", WAIT, || async {
        gw.get(&mt).await.titles == ["Track Edited"]
    })
    .await;
    eventually("the album's children show the edit", WAIT, || async {
        gw.get(&c_album)
            .await
            .titles
            .iter()
            .any(|t| t == "Track Edited")
    })
    .await;
    gw.assert_hits(
        &[&m_album, &mt2, &ma, &mb, &mc, &md, &l_movies, &p1, &p2],
        "a track's edit touches only the track and the lists that show it",
    )
    .await;

    gw.refill(&all).await;
    // An add: the section's listing.
    let added = gw
        .sim
        .add_item(NewItem {
            kind: ItemKind::Movie,
            section: Some(movies),
            parent: None,
            title: "Added On The Server".into(),
            added_at: gw.sim.now(),
        })
        .unwrap();
    eventually("the new item is listed", WAIT, || async {
        gw.get(&l_movies)
            .await
            .titles
            .iter()
            .any(|t| t == "Added On The Server")
    })
    .await;
    // A single Jellyfin item is written with every field, `ParentId` among them: for a film,
    // the library folder an add announces in `FoldersAddedTo`. It shows nothing of that
    // folder, so the add leaves it too.
    gw.assert_hits(
        &[&ma, &mb, &mc, &md, &l_music, &m_album, &c_album, &mt, &mt2],
        "an add touches only its lists",
    )
    .await;
    assert!(gw.get(&gw.metadata(added)).await.titles == ["Added On The Server"]);

    gw.refill(&all).await;
    // A remove: the item's own answer and its lists.
    gw.sim.remove_item(b).unwrap();
    eventually("the removed item is gone", WAIT, || async {
        let listing = gw.get(&l_movies).await;
        !listing.titles.is_empty()
            && !listing
                .titles
                .iter()
                .any(|t| gw.sim.library().item_any(b).is_some_and(|i| i.title() == t))
    })
    .await;
    eventually("the removed item's answer is refreshed", WAIT, || async {
        gw.get(&mb).await.titles.is_empty()
    })
    .await;
    let mut untouched = vec![ma.as_str(), mc.as_str(), md.as_str(), l_music.as_str()];
    untouched.extend(tracks);
    gw.assert_hits(&untouched, "a remove touches only B and its lists")
        .await;

    // A play-state change: the item and the answers that show it (of the two pages, only
    // the one D is on).
    gw.refill(&all).await;
    let d_title = gw.title(d);
    let (on_d, other) = if gw.get(&p1).await.titles.contains(&d_title) {
        (&p1, &p2)
    } else {
        (&p2, &p1)
    };
    assert!(gw.get(on_d).await.titles.contains(&d_title));
    gw.sim.scrobble(gw.owner, d);
    eventually("the play count shows", WAIT, || async {
        gw.get(&md).await.plays == [1]
    })
    .await;
    eventually("the listing shows the play count", WAIT, || async {
        let listing = gw.get(&l_movies).await;
        listing.plays.iter().sum::<u64>() == 1
    })
    .await;
    eventually("D's page shows the play count", WAIT, || async {
        gw.get(on_d).await.plays.iter().sum::<u64>() == 1
    })
    .await;
    let mut untouched = vec![ma.as_str(), mc.as_str(), l_music.as_str(), other.as_str()];
    untouched.extend(tracks);
    gw.assert_hits(&untouched, "a scrobble touches only D and its lists")
        .await;

    // A track's play: the track, the album's children (the track's count) and the album's
    // metadata (its viewed-leaf count); not the sibling track, nothing of the movies.
    gw.refill(&all).await;
    gw.sim.scrobble(gw.owner, t);
    eventually("the track's play count shows", WAIT, || async {
        gw.get(&mt).await.plays == [1]
    })
    .await;
    eventually("the album's children show the play", WAIT, || async {
        gw.get(&c_album).await.plays.iter().sum::<u64>() == 1
    })
    .await;
    eventually("the album's metadata is refreshed", WAIT, || async {
        gw.get(&m_album).await.cache == "MISS"
    })
    .await;
    gw.assert_hits(
        &[&mt2, &ma, &mc, &md, &p1, &p2],
        "a track's play touches only the track, its parents and the lists that show them",
    )
    .await;

    // Plex says who played: another user's play leaves the owner's answers alone, and
    // reaches that user's own.
    if profile == Profile::Plex {
        gw.refill(&all).await;
        let other = gw
            .sim
            .state()
            .users()
            .iter()
            .find(|u| !u.is_owner)
            .unwrap()
            .clone();
        let as_other = |path: &str| {
            gw.client
                .get(format!("{}{path}", gw.proxy))
                .header("X-Plex-Token", &other.plex_token)
                .header("Accept", "application/json")
        };
        let plays_of = |body: serde_json::Value| {
            body.pointer("/MediaContainer/Metadata/0/viewCount")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        };
        let before = plays_of(json_answer(as_other(&mt2)).await);
        gw.sim.scrobble(other.id, t2);
        eventually("the other user's answer shows the play", WAIT, || async {
            plays_of(json_answer(as_other(&mt2)).await) == before + 1
        })
        .await;
        gw.assert_hits(
            &all,
            "another user's play changes nothing the owner is answered",
        )
        .await;
    }

    // A dropped event: the server changes C and says nothing.
    gw.sim.drop_next_events(1);
    let old = gw.get(&mc).await.titles;
    gw.sim.rename_item(c, "Changed Silently").unwrap();
    assert_eq!(gw.sim.events_dropped(), 1);
    let read = gw.get(&mc).await;
    assert_eq!(
        (read.cache.as_str(), read.titles.clone()),
        ("HIT", old),
        "nothing told the gateway"
    );
    // Make every cached answer older than its TTL, so each sample tests the feed alone.
    gw.clock.advance(2 * HOUR);
    let feed = gw.gateway.feed(profile.as_str()).unwrap();
    // C's answer and its section's listing are stale; samples find them (and only them).
    let mut samples = 0;
    while gw.get(&mc).await.titles != ["Changed Silently"] {
        assert!(samples < 400, "sampled revalidation finds the stale answer");
        let sampled = cachearr_gateway::sampler::sample_once(&gw.gateway, feed).await;
        assert_ne!(sampled, Sampled::Failed);
        samples += 1;
    }
    let stats = gw.stats().await;
    let classes = stats["feed"][0]["classes"].as_array().unwrap();
    let metadata = classes.iter().find(|c| c["class"] == "metadata").unwrap();
    assert_eq!(metadata["trusted"], false, "{stats}");
    assert_eq!(
        metadata["mismatches"], 1,
        "only C's answer was stale: {stats}"
    );
    assert!(metadata["stale_age_max_secs"].as_f64().unwrap() >= 7200.0);
    for class in classes.iter().filter(|c| c["mismatches"] == 0) {
        assert_eq!(class["trusted"], true, "{stats}");
    }
    // Metadata follows its TTL now: A, older than 1 h, is served stale while it refreshes.
    assert_eq!(gw.get(&ma).await.cache, "STALE");
    // Samples that match, `prove_after` (3) in a row, restore the trust; clients keep reading
    // (what they fill becomes a candidate).
    eventually("the feed is proven again", WAIT, || async {
        for path in [&ma, &md, &l_movies, &l_music] {
            gw.get(path).await;
        }
        cachearr_gateway::sampler::sample_once(&gw.gateway, feed).await;
        let stats = gw.stats().await;
        stats["feed"][0]["classes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["trusted"] == true)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_change_feed_refreshes_exactly_what_changed() {
    edit_add_remove_play_and_a_dropped_event(Profile::Plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_change_feed_refreshes_exactly_what_changed() {
    edit_add_remove_play_and_a_dropped_event(Profile::Jellyfin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emby_change_feed_refreshes_exactly_what_changed() {
    edit_add_remove_play_and_a_dropped_event(Profile::Emby).await;
}

/// Without events (no owner token, no webhooks) the feed proves nothing: class TTLs apply.
#[tokio::test]
async fn without_events_the_class_ttl_applies() {
    let server = sim_gateway::serve_sim(&sim_builder().build().unwrap(), Profile::Plex).await;
    let data = tempfile::tempdir().unwrap();
    let config = sim_gateway::loopback_config(Profile::Plex, &server.base_url, data.path());
    let clock = Arc::new(ManualClock::default());
    let served =
        sim_gateway::serve(sim_gateway::gateway_builder(config).clock(clock.clone())).await;
    let client = sim_gateway::admin_client();
    let token = server.token.clone();
    let get = |path: &'static str| {
        let request = client
            .get(format!("{}{path}", served.proxy))
            .header("X-Plex-Token", &token);
        async move {
            request.send().await.unwrap().headers()["x-cache"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    get("/library/metadata/1").await;
    assert_eq!(get("/library/metadata/1").await, "HIT");
    clock.advance(2 * HOUR);
    assert_eq!(get("/library/metadata/1").await, "STALE");
    let stats = get_json(&client, &format!("{}/api/stats", served.admin)).await;
    assert_eq!(stats["feed"][0]["healthy"], false);
    assert!(
        stats["feed"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no change events")
    );
}

/// A socket that stays open but carries nothing (a relay on the way dropped it) is found dead
/// by its unanswered probes and made again, and what changed meanwhile is refreshed at the
/// reconnect; a server restarted with other state (its sockets closed) is revalidated at the
/// reconnect. Without probes the rename would never be seen (the clock stands still, so no
/// TTL runs out), and without the reconnect's revalidation the forgotten play would stay.
async fn a_dead_socket_and_a_restarted_server(profile: Profile) {
    let gw = start_with(profile, |config| {
        config.feed.socket_probe = Duration::from_millis(100);
        config.feed.socket_probe_misses = 3;
    })
    .await;
    let (_, ids, _) = gw.sections();
    let path = gw.metadata(ids[0]);
    gw.get(&path).await;
    assert_eq!(gw.get(&path).await.cache, "HIT");

    gw.sim.silence_sockets();
    let renamed = "Renamed Behind A Dead Socket";
    gw.sim.rename_item(ids[0], renamed).unwrap();
    eventually(
        "the rename made behind a dead socket is seen",
        WAIT,
        || async { gw.get(&path).await.titles == [renamed] },
    )
    .await;
    let stats = gw.stats().await;
    assert!(
        stats["upstreams"][0]["events_socket_silent"]
            .as_u64()
            .unwrap()
            >= 1,
        "{stats}"
    );
    eventually("the new socket is up", WAIT, || async {
        gw.stats().await["feed"][0]["healthy"] == true
    })
    .await;

    // A play, seen; then the server restarts having forgotten it.
    let played = gw.metadata(ids[1]);
    gw.get(&played).await;
    gw.sim.scrobble(gw.owner, ids[1]);
    eventually("the play is seen", WAIT, || async {
        gw.get(&played).await.plays == [1]
    })
    .await;
    eventually("the play is cached", WAIT, || async {
        gw.get(&played).await.cache == "HIT"
    })
    .await;
    gw.sim.reset_state();
    eventually("the restarted server's state is seen", WAIT, || async {
        gw.get(&played).await.plays == [0]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_dead_socket_and_restart_are_noticed() {
    a_dead_socket_and_a_restarted_server(Profile::Plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_dead_socket_and_restart_are_noticed() {
    a_dead_socket_and_a_restarted_server(Profile::Jellyfin).await;
}

/// A play, a mark as unplayed and a rating or favourite made on the server by a client
/// cachearr does not see (no webhook; Plex's socket says nothing of marks and ratings,
/// Jellyfin's tells only the changed user's own sessions) stay unseen until the user's own
/// probes are due, which then refresh the answers that show the changed item and no other;
/// a user not read for `play_state_active` is not probed (nor is anything else: an idle
/// gateway asks the server nothing), and what changed while they were away is found item by
/// item by the first round after their return, which drops nothing that did not change.
async fn plays_made_on_other_clients(profile: Profile) {
    const USER_PROBE: Duration = Duration::from_secs(120);
    let gw = start_hooked(profile, false, |config| {
        // Rounds are run by hand here.
        config.feed.play_state_probe = Duration::ZERO;
        config.feed.play_state_user_probe = USER_PROBE;
        config.feed.play_state_active = Duration::from_secs(180);
        config.feed.play_state_watch = Duration::from_secs(1800);
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let (_, ids, _) = gw.sections();
    let item = ids[0];
    let users = gw.sim.state().users().to_vec();
    let as_user = |user: &cachearr_sim::state::User, path: &str| {
        let request = gw.client.get(format!("{}{path}", gw.proxy));
        match profile {
            Profile::Plex => request
                .header("X-Plex-Token", &user.plex_token)
                .header("Accept", "application/json"),
            Profile::Jellyfin => request.header(
                "Authorization",
                format!(
                    "MediaBrowser Client=\"t\", Device=\"t\", DeviceId=\"t2\", Version=\"1\", Token=\"{}\"",
                    user.jellyfin_token
                ),
            ),
            Profile::Emby => request.header("X-Emby-Token", user.emby_token()),
            Profile::Http => unreachable!("a media server's test"),
        }
    };
    let path_of = |user: &cachearr_sim::state::User, id: u32| match profile {
        Profile::Plex => gw.metadata(id),
        Profile::Jellyfin | Profile::Emby => {
            format!("/Items/{}?userId={}", gw.path_id(id), user.jellyfin_id)
        }
        Profile::Http => unreachable!("a media server's test"),
    };
    // A user who is not the owner and sees the item.
    let mut chosen = None;
    for user in users.iter().filter(|u| !u.is_owner) {
        if as_user(user, &path_of(user, item))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            chosen = Some(user.clone());
            break;
        }
    }
    let user = chosen.expect("a user other than the owner sees the movies");
    let path = path_of(&user, item);
    let other_path = path_of(&user, ids[1]);
    // (cache status, play count, rated or favourite)
    let read_path = |path: String| {
        let request = as_user(&user, &path);
        async move {
            let response = request.send().await.unwrap();
            let cache = response.headers()["x-cache"].to_str().unwrap().to_owned();
            let body: serde_json::Value = response.json().await.unwrap();
            let (plays, marked) = match profile {
                Profile::Plex => {
                    let m = &body["MediaContainer"]["Metadata"][0];
                    (
                        m["viewCount"].as_u64().unwrap_or(0),
                        m.get("userRating").is_some(),
                    )
                }
                Profile::Jellyfin | Profile::Emby => (
                    body["UserData"]["PlayCount"].as_u64().unwrap_or(0),
                    body["UserData"]["IsFavorite"] == true,
                ),
                Profile::Http => unreachable!("a media server's test"),
            };
            (cache, plays, marked)
        }
    };
    let read = || read_path(path.clone());
    let probes_due = || gw.clock.advance(USER_PROBE);
    read().await;
    assert_eq!(read().await, ("HIT".to_owned(), 0, false));

    // The first reading in this process keeps what it read: nothing to compare with yet.
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.first, round.changed, round.failed),
        (1, 1, 0, 0),
        "{round:?}"
    );
    assert!(round.probes >= 2, "{round:?}");
    // The first reading probes the sections the user's answers come from (Plex: the movies';
    // each probe and its whole list), not every section they see.
    let first_reading = round.probes - round.signal;
    // What was filled before the first reading was in is read again once.
    assert_eq!(read().await.0, "MISS");
    assert_eq!(read().await.0, "HIT");
    // Not due again before `play_state_user_probe`: both servers list every user's plays
    // (Plex's play history, Jellyfin's activity log).
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(round.users, 0, "{round:?}");
    probes_due();
    read_path(other_path.clone()).await;
    assert_eq!(read_path(other_path.clone()).await.0, "HIT");
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.first, round.changed),
        (1, 0, 0),
        "nothing changed: {round:?}"
    );
    // A round of the user's probes: only where answers of theirs were filled from since
    // the first reading (Plex: the movies' two probes), not every section they see.
    let where_filled = round.probes - round.signal;
    if profile == Profile::Plex {
        assert_eq!(where_filled, 2, "{round:?}");
        assert!(first_reading <= 2 * where_filled, "{first_reading}");
    }

    // Marked played on another client: unseen until the user's probes are due.
    gw.sim.mark_played(user.id, item);
    assert_eq!(
        read().await,
        ("HIT".to_owned(), 0, false),
        "nothing told the gateway"
    );
    probes_due();
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!((round.changed, round.items), (1, 1), "{round:?}");
    assert_eq!(read().await.1, 1, "the play is seen after one round");
    assert_eq!(
        read_path(other_path.clone()).await.0,
        "HIT",
        "the other item's answer stays"
    );

    // Marked unplayed, which Plex's webhooks never announce.
    read().await;
    gw.sim.unscrobble(user.id, item);
    assert_eq!(read().await.1, 1);
    probes_due();
    assert_eq!(
        play_watch::probe_round(gw.gateway.library().unwrap(), &up)
            .await
            .changed,
        1
    );
    assert_eq!(
        read().await.1,
        0,
        "the mark as unplayed is seen after one round"
    );

    // Rated (Plex) or made a favourite (Jellyfin).
    read().await;
    match profile {
        Profile::Plex => gw.sim.rate(user.id, item, Some(8.0)),
        Profile::Jellyfin | Profile::Emby => gw.sim.set_favorite(user.id, item, true),
        Profile::Http => unreachable!("a media server's test"),
    };
    assert!(!read().await.2);
    probes_due();
    assert_eq!(
        play_watch::probe_round(gw.gateway.library().unwrap(), &up)
            .await
            .changed,
        1
    );
    assert!(
        read().await.2,
        "the rating or favourite is seen after one round"
    );

    // Another user's change leaves the owner's answers alone.
    let owner_path = gw.metadata(item);
    gw.get(&owner_path).await;
    assert_eq!(
        play_watch::probe_round(gw.gateway.library().unwrap(), &up)
            .await
            .first,
        1
    );
    gw.get(&owner_path).await;
    assert_eq!(gw.get(&owner_path).await.cache, "HIT");
    gw.sim.mark_played(user.id, ids[1]);
    read().await;
    probes_due();
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.changed, round.items),
        (2, 1, 1),
        "{round:?}"
    );
    assert_eq!(gw.get(&owner_path).await.cache, "HIT");
    // (the other item's answer, refreshed by that play, filled again)
    assert_eq!(read_path(other_path.clone()).await.0, "MISS");

    // Not read for `play_state_active`: nobody is probed, nothing is asked at all.
    gw.clock.advance(Duration::from_secs(181));
    let asked = gw.sim.stats().total;
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.lapsed, round.probes),
        (0, 2, 0),
        "{round:?}"
    );
    gw.clock.advance(Duration::from_secs(600));
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(round, play_watch::Round::default(), "idle: {round:?}");
    assert_eq!(gw.sim.stats().total, asked, "an idle gateway asks nothing");
    let stats = gw.stats().await;
    assert_eq!(stats["feed"][0]["play_state"]["lapsed"], 2, "{stats}");

    // Back: what they had is kept, so the first round after their return finds what
    // changed while they were away, and drops nothing else.
    gw.sim.mark_played(user.id, item);
    read().await;
    assert_eq!(read_path(other_path.clone()).await.0, "HIT");
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.first, round.changed),
        (1, 0, 1),
        "{round:?}"
    );
    if profile == Profile::Plex {
        // Probed only where their answers come from (the movies): its two probes and the
        // list the changed one pages, not every section.
        assert_eq!(round.probes - round.signal, 3, "{round:?}");
    }
    assert_eq!(read().await.1, 1, "the play made while away is seen");
    assert_eq!(
        read_path(other_path.clone()).await.0,
        "HIT",
        "a return drops nothing that did not change"
    );
}

/// Another account's play on a client cachearr does not see is in the server's play history,
/// which the watch reads with the owner's token while someone reads answers showing play
/// state: the played item's answers (and only theirs) are refreshed at the next round, long
/// before the user's own probes are due, and the owner's answers stay (not the owner's play).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_plays_of_every_account_are_read_from_the_history() {
    let gw = start_hooked(Profile::Plex, false, |config| {
        // Rounds by hand; the history is read at each, the users' own probes once an hour.
        config.feed.play_state_probe = Duration::ZERO;
        config.feed.play_state_user_probe = HOUR;
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let (_, ids, _) = gw.sections();
    let (item, other) = (ids[0], ids[1]);
    let users = gw.sim.state().users().to_vec();
    let ask = |token: &str, id: u32| {
        gw.client
            .get(format!("{}{}", gw.proxy, gw.metadata(id)))
            .header("X-Plex-Token", token)
            .header("Accept", "application/json")
    };
    let mut chosen = None;
    for user in users.iter().filter(|u| !u.is_owner) {
        if ask(&user.plex_token, item).send().await.unwrap().status() == 200 {
            chosen = Some(user.clone());
            break;
        }
    }
    let user = chosen.expect("a user other than the owner sees the movies");
    // (cache status, play count)
    let read = |id: u32| {
        let request = ask(&user.plex_token, id);
        async move {
            let response = request.send().await.unwrap();
            let cache = response.headers()["x-cache"].to_str().unwrap().to_owned();
            let body: serde_json::Value = response.json().await.unwrap();
            let plays = body["MediaContainer"]["Metadata"][0]["viewCount"]
                .as_u64()
                .unwrap_or(0);
            (cache, plays)
        }
    };
    read(item).await;
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.first, round.signal, round.plays),
        (1, 1, 0),
        "{round:?}"
    );
    for id in [item, other] {
        read(id).await;
        assert_eq!(read(id).await, ("HIT".to_owned(), 0));
    }
    gw.get(&gw.metadata(item)).await;
    assert_eq!(
        play_watch::probe_round(gw.gateway.library().unwrap(), &up)
            .await
            .first,
        1
    );
    assert_eq!(gw.get(&gw.metadata(item)).await.cache, "MISS");
    assert_eq!(gw.get(&gw.metadata(item)).await.cache, "HIT");

    // Played to the end on another client: a history entry of the user's account.
    gw.sim.scrobble(user.id, item);
    assert_eq!(
        read(item).await,
        ("HIT".to_owned(), 0),
        "nothing told the gateway"
    );
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.signal, round.plays),
        (0, 1, 1),
        "one reading of the history, no user's own probes: {round:?}"
    );
    assert_eq!(read(item).await.1, 1, "the play is seen after one round");
    assert_eq!(read(other).await, ("HIT".to_owned(), 0), "other items stay");
    assert_eq!(
        gw.get(&gw.metadata(item)).await.cache,
        "HIT",
        "the owner's answers stay: another account played"
    );
    // Read again from where it was: nothing new.
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!((round.signal, round.plays), (1, 0), "{round:?}");
    let stats = gw.stats().await;
    let background = &stats["feed"][0]["background"]["total"];
    assert!(background["signal"].as_u64().unwrap() >= 4, "{stats}");
    assert!(background["probes"].as_u64().unwrap() >= 2, "{stats}");
}

/// Another user's playback on a client cachearr does not see is in Jellyfin's activity log
/// (`VideoPlayback`, `VideoPlaybackStopped` with the user's and the item's ids), which the
/// watch reads with the owner's token while someone reads answers showing play state: the
/// played item's answers (and only theirs) are refreshed at the next round, long before the
/// user's own probes are due, and the owner's answers stay (not the owner's play).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_plays_of_every_user_are_read_from_the_activity_log() {
    let gw = start_hooked(Profile::Jellyfin, false, |config| {
        // Rounds by hand; the log is read at each, the users' own probes once an hour.
        config.feed.play_state_probe = Duration::ZERO;
        config.feed.play_state_user_probe = HOUR;
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let (_, ids, _) = gw.sections();
    let (item, other) = (ids[0], ids[1]);
    let users = gw.sim.state().users().to_vec();
    let ask = |user: &cachearr_sim::state::User, id: u32| {
        gw.client
            .get(format!(
                "{}/Items/{}?userId={}",
                gw.proxy,
                gw.path_id(id),
                user.jellyfin_id
            ))
            .header(
                "Authorization",
                format!(
                    "MediaBrowser Client=\"t\", Device=\"t\", DeviceId=\"t3\", Version=\"1\", Token=\"{}\"",
                    user.jellyfin_token
                ),
            )
    };
    let mut chosen = None;
    for user in users.iter().filter(|u| !u.is_owner) {
        if ask(user, item).send().await.unwrap().status() == 200 {
            chosen = Some(user.clone());
            break;
        }
    }
    let user = chosen.expect("a user other than the owner sees the movies");
    let owner = users.iter().find(|u| u.is_owner).unwrap().clone();
    // (cache status, play count)
    let read = |who: &cachearr_sim::state::User, id: u32| {
        let request = ask(who, id);
        async move {
            let response = request.send().await.unwrap();
            let cache = response.headers()["x-cache"].to_str().unwrap().to_owned();
            let body: serde_json::Value = response.json().await.unwrap();
            (cache, body["UserData"]["PlayCount"].as_u64().unwrap_or(0))
        }
    };
    read(&user, item).await;
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.first, round.signal, round.plays),
        (1, 1, 0),
        "{round:?}"
    );
    read(&owner, item).await;
    assert_eq!(
        play_watch::probe_round(gw.gateway.library().unwrap(), &up)
            .await
            .first,
        1
    );
    for id in [item, other] {
        read(&user, id).await;
        assert_eq!(read(&user, id).await, ("HIT".to_owned(), 0));
    }
    read(&owner, item).await;
    assert_eq!(read(&owner, item).await.0, "HIT");

    // Played to the end on the user's TV: its start and its stop are logged.
    let length = gw.sim.library().item(item).unwrap().duration_ms();
    for (state, at) in [
        (PlaybackState::Playing, 0),
        (PlaybackState::Stopped, length),
    ] {
        gw.sim
            .report_playback(user.id, item, state, at, "tv-1", "Jellyfin for TV");
    }
    assert_eq!(
        read(&user, item).await,
        ("HIT".to_owned(), 0),
        "nothing told the gateway"
    );
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.signal, round.plays),
        (0, 1, 2),
        "one reading of the log, no user's own probes: {round:?}"
    );
    assert_eq!(
        read(&user, item).await.1,
        1,
        "the play is seen after one round"
    );
    assert_eq!(
        read(&user, other).await,
        ("HIT".to_owned(), 0),
        "other items stay"
    );
    assert_eq!(
        read(&owner, item).await.0,
        "HIT",
        "the owner's answers stay: another user played"
    );
    // Read again from where it was: nothing new.
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!((round.signal, round.plays), (1, 0), "{round:?}");
    let stats = gw.stats().await;
    let background = &stats["feed"][0]["background"]["total"];
    assert!(background["signal"].as_u64().unwrap() >= 4, "{stats}");
}

/// What the watch read of each user is kept across a restart: the restarted gateway takes it
/// up instead of a first reading (no probe round for a user probed moments before the stop,
/// no watch-tag bump), and a change made since is found item by item when the user's probes
/// fall due, as if it had not stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_a_restart_takes_up_each_users_readings_without_a_round() {
    const USER_PROBE: Duration = Duration::from_secs(120);
    let gw = start_hooked(Profile::Jellyfin, false, |config| {
        config.feed.play_state_probe = Duration::ZERO;
        config.feed.play_state_user_probe = USER_PROBE;
    })
    .await;
    let (_, ids, _) = gw.sections();
    let item = ids[0];
    let users = gw.sim.state().users().to_vec();
    let ask = |proxy: &str, user: &cachearr_sim::state::User, id: u32| {
        gw.client
            .get(format!(
                "{proxy}/Items/{}?userId={}",
                gw.path_id(id),
                user.jellyfin_id
            ))
            .header(
                "Authorization",
                format!(
                    "MediaBrowser Client=\"t\", Device=\"t\", DeviceId=\"t4\", Version=\"1\", Token=\"{}\"",
                    user.jellyfin_token
                ),
            )
            .send()
    };
    let mut chosen = None;
    for user in users.iter().filter(|u| !u.is_owner) {
        if ask(&gw.proxy, user, item).await.unwrap().status() == 200 {
            chosen = Some(user.clone());
            break;
        }
    }
    let user = chosen.expect("a user other than the owner sees the movies");
    let up = gw.gateway.upstreams()[0].clone();
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!((round.users, round.first), (1, 1), "{round:?}");

    // Started again on a copy of its data directory, on the same clock.
    let (restarted, proxy, stop, _data) = gw.restarted().await;
    let up = restarted.upstreams()[0].clone();
    assert_eq!(ask(&proxy, &user, item).await.unwrap().status(), 200);
    let round = play_watch::probe_round(restarted.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.first),
        (0, 0),
        "probed moments before the stop: not due, nothing read again: {round:?}"
    );

    // Marked played since: found item by item when the user's probes fall due.
    gw.sim.mark_played(user.id, item);
    gw.clock.advance(USER_PROBE);
    assert_eq!(ask(&proxy, &user, item).await.unwrap().status(), 200);
    let round = play_watch::probe_round(restarted.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.first, round.changed, round.items),
        (1, 0, 1, 1),
        "{round:?}"
    );
    let _ = stop.send(());
}

/// A rating made through cachearr changes one item's rating for one user: the answers that
/// show that item are read again for that user, while the user's other answers and the
/// owner's answer of the same item stay (not every answer of the user's that shows play
/// state, nor the item's answers for everyone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_rating_through_cachearr_drops_only_that_items_answers() {
    let gw = start_hooked(Profile::Plex, false, |config| {
        config.feed.play_state_probe = Duration::ZERO;
    })
    .await;
    let (_, ids, _) = gw.sections();
    let (item, other) = (ids[0], ids[1]);
    let users = gw.sim.state().users().to_vec();
    let ask = |token: &str, path: &str| {
        gw.client
            .get(format!("{}{path}", gw.proxy))
            .header("X-Plex-Token", token)
            .header("Accept", "application/json")
    };
    let mut chosen = None;
    for user in users.iter().filter(|u| !u.is_owner) {
        if ask(&user.plex_token, &gw.metadata(item))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            chosen = Some(user.clone());
            break;
        }
    }
    let user = chosen.expect("a user other than the owner sees the movies");
    // (cache status, rated)
    let read = |id: u32| {
        let request = ask(&user.plex_token, &gw.metadata(id));
        async move {
            let response = request.send().await.unwrap();
            let cache = response.headers()["x-cache"].to_str().unwrap().to_owned();
            let body: serde_json::Value = response.json().await.unwrap();
            let rated = body["MediaContainer"]["Metadata"][0]
                .get("userRating")
                .is_some();
            (cache, rated)
        }
    };
    for id in [item, other] {
        read(id).await;
        assert_eq!(read(id).await, ("HIT".to_owned(), false));
    }
    gw.get(&gw.metadata(item)).await;
    assert_eq!(gw.get(&gw.metadata(item)).await.cache, "HIT");

    let rate = format!(
        "{}/:/rate?key={item}&identifier=com.plexapp.plugins.library&rating=8",
        gw.proxy
    );
    let response = gw
        .client
        .put(rate)
        .header("X-Plex-Token", &user.plex_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    assert_eq!(
        read(item).await,
        ("MISS".to_owned(), true),
        "the rated item is read again"
    );
    assert_eq!(
        read(other).await,
        ("HIT".to_owned(), false),
        "the user's other answers stay"
    );
    assert_eq!(
        gw.get(&gw.metadata(item)).await.cache,
        "HIT",
        "the owner's answer of the item stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_plays_made_on_other_clients_are_probed() {
    plays_made_on_other_clients(Profile::Plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_plays_made_on_other_clients_are_probed() {
    plays_made_on_other_clients(Profile::Jellyfin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emby_plays_made_on_other_clients_are_probed() {
    plays_made_on_other_clients(Profile::Emby).await;
}

/// An item renamed on the server while it heads a user's probed list (the item they played
/// last) changes the probe's answer but not the play state it shows: the round reads the
/// probes alone, not the whole list again, and finds nothing changed; a play made afterwards
/// is still found.
async fn a_rename_in_a_probe_is_no_play_state_change(profile: Profile) {
    const USER_PROBE: Duration = Duration::from_secs(120);
    let gw = start_hooked(profile, false, |config| {
        // Rounds are run by hand here.
        config.feed.play_state_probe = Duration::ZERO;
        config.feed.play_state_user_probe = USER_PROBE;
        config.feed.play_state_active = Duration::from_secs(180);
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let (_, ids, _) = gw.sections();
    let (item, other) = (ids[0], ids[1]);
    let owner = gw
        .sim
        .state()
        .users()
        .iter()
        .find(|u| u.is_owner)
        .cloned()
        .expect("the server has an owner");
    // The owner played the item last: it heads the probe of the last played.
    gw.sim.mark_played(owner.id, item);
    let read = || async { gw.get(&gw.metadata(other)).await };
    read().await;
    assert_eq!(
        play_watch::probe_round(gw.gateway.library().unwrap(), &up)
            .await
            .first,
        1
    );
    gw.clock.advance(USER_PROBE);
    read().await;
    let unchanged = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (unchanged.users, unchanged.changed),
        (1, 0),
        "{unchanged:?}"
    );

    gw.sim.rename_item(item, "Renamed While Watched").unwrap();
    gw.clock.advance(USER_PROBE);
    read().await;
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.changed, round.probes),
        (1, 0, unchanged.probes),
        "the probes alone, no whole list read for a title: {round:?}"
    );

    gw.sim.mark_played(owner.id, other);
    gw.clock.advance(USER_PROBE);
    read().await;
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!((round.changed, round.items), (1, 1), "{round:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_rename_in_a_probe_is_no_play_state_change() {
    a_rename_in_a_probe_is_no_play_state_change(Profile::Plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_a_rename_in_a_probe_is_no_play_state_change() {
    a_rename_in_a_probe_is_no_play_state_change(Profile::Jellyfin).await;
}

/// Jellyfin's live sessions follow cachearr's subscription on its socket (`SessionsStart`):
/// a playback started on the server without cachearr shows through it at once (the clock
/// stands still, so no lifetime ran out), a repeat read past the list's 10 s lifetime and
/// within the subscription's 60 s reaches the server not at all, and at 60 s the list is
/// read again. Another user's list is that user's own, never the owner's cached answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_live_sessions_follow_the_socket() {
    let gw = start(Profile::Jellyfin).await;
    let sessions_read = || {
        gw.sim
            .stats()
            .routes
            .get("GET /Sessions")
            .map_or(0, |r| r.requests)
    };
    let playing = |list: &serde_json::Value, device: &str, item: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .any(|s| s["DeviceId"] == device && s["NowPlayingItem"]["Id"].as_str() == Some(item))
    };
    let read = |token: String| {
        let request = gw.client.get(format!("{}/Sessions", gw.proxy)).header(
            "Authorization",
            format!(r#"MediaBrowser Client="t", Device="t", DeviceId="t1", Version="1", Token="{token}""#),
        );
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            let cache = response.headers()["x-cache"].to_str().unwrap().to_owned();
            (cache, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (_, ids, _) = gw.sections();
    let movie = gw.path_id(ids[0]);
    let (_, before) = read(gw.token.clone()).await;
    assert!(!playing(&before, "player", &movie));

    // A player reports its playback to the server itself.
    let started = gw
        .client
        .post(format!("{}/Sessions/Playing", gw.sim_url))
        .header(
            "Authorization",
            format!(r#"MediaBrowser Client="Player", Device="player", DeviceId="player", Version="1", Token="{}""#, gw.token),
        )
        .json(&serde_json::json!({"ItemId": movie, "PositionTicks": 0, "IsPaused": false}))
        .send()
        .await
        .unwrap();
    assert!(started.status().is_success());
    eventually("the playback shows through cachearr", WAIT, || async {
        playing(&read(gw.token.clone()).await.1, "player", &movie)
    })
    .await;
    eventually("the list is cached under the socket", WAIT, || async {
        read(gw.token.clone()).await.0 == "HIT"
    })
    .await;

    let asked = sessions_read();
    gw.clock.advance(Duration::from_secs(30));
    let (cache, again) = read(gw.token.clone()).await;
    assert_eq!(cache, "HIT", "30 s on, past the list's 10 s lifetime");
    assert!(playing(&again, "player", &movie));
    assert_eq!(
        sessions_read(),
        asked,
        "a repeat read reaches the server 0 times"
    );

    gw.clock.advance(Duration::from_secs(31));
    let (cache, _) = read(gw.token.clone()).await;
    assert_ne!(
        cache, "HIT",
        "61 s after it was filled, the list is read again"
    );
    assert_eq!(sessions_read(), asked + 1);

    // bob sees his own sessions only (`/Sessions` answers a non-administrator so), whatever
    // the owner's list holds in the cache.
    let bob = gw
        .sim
        .state()
        .users()
        .iter()
        .find(|u| u.name == "bob")
        .unwrap()
        .clone();
    let (_, bobs) = read(bob.jellyfin_token.clone()).await;
    assert!(!playing(&bobs, "player", &movie));
    for session in bobs.as_array().unwrap() {
        assert_eq!(session["UserId"], bob.jellyfin_id.as_str(), "{session}");
    }
}

/// A returning user's pass starts with their probes, then the copy's answers read the lists
/// of their play state the probes page: a list a probe found empty moments ago is not read
/// again — the probe's answer says it all. (The lists read for the pass's first answer have
/// gone stale meanwhile: an answer from the copy reads a user's lists again past `FRESH`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_list_its_probe_found_empty_is_not_read_again() {
    let gw = start(Profile::Plex).await;
    let up = gw.gateway.upstreams()[0].clone();
    let (movies, _, _) = gw.sections();
    let page = |start: usize| {
        format!(
            "/library/sections/{movies}/all?type=1&X-Plex-Container-Start={start}&X-Plex-Container-Size=2"
        )
    };
    let direct = |path: String| {
        let request = gw
            .client
            .get(format!("{}{path}", gw.sim_url))
            .header("X-Plex-Token", &gw.token)
            .header("Accept", "application/json");
        cachearr_testkit::http::text_answer(request)
    };
    let from_copy = |path: String| {
        let request = gw.request(&path);
        async move {
            let response = request.send().await.unwrap();
            let status = response.headers()["cache-status"]
                .to_str()
                .unwrap()
                .to_owned();
            (
                status.ends_with("detail=copy"),
                response.text().await.unwrap(),
            )
        }
    };
    // The owner walks the films two by two: the copy learns the listing's frame from the
    // server's answers and proves it (behind the answers).
    let proven = async || {
        let index = get_json(&gw.client, &format!("{}/api/index", gw.admin)).await;
        index["upstreams"][0]["copy"]["shapes_proven"]
            .as_u64()
            .unwrap()
    };
    let proven_before = proven().await;
    for start in [0, 2, 4, 6] {
        let (_, via) = from_copy(page(start)).await;
        sim_gateway::assert_same_answer(&via, &direct(page(start)).await, "a page");
    }
    eventually("the walk's frame proven", WAIT, async || {
        proven().await > proven_before
    })
    .await;
    // The owner has played and rated no film: the probes find both lists empty. (Their first
    // reading in this process drops what was filled before it, so the next round's probes
    // are the ones a pass meets.)
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!((round.users, round.first), (1, 1), "{round:?}");
    // A page filled after it: the films are where the owner's answers come from.
    let (copied, _) = from_copy(page(1)).await;
    assert!(copied, "a page of a proven shape is the copy's");
    gw.clock.advance(Duration::from_secs(120));
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.first, round.failed),
        (1, 0, 0),
        "{round:?}"
    );
    assert_eq!(
        round.probes - round.signal,
        2,
        "the films' two probes: {round:?}"
    );
    let all_lists = || {
        (gw.sim.stats().routes.iter())
            .filter(|(route, _)| route.contains("/all"))
            .map(|(_, r)| r.requests)
            .sum::<u64>()
    };
    let before = all_lists();
    // Another page of the walk's shape, not cached: the copy's, its play state written from
    // the probes' answers.
    // (Pages of three: none the copy wrote ahead of the walk two by two.)
    let other = page(4).replace("Size=2", "Size=3");
    let (copied, via) = from_copy(other.clone()).await;
    assert!(copied, "a page of a proven shape is the copy's");
    assert_eq!(all_lists(), before, "a list of play state read again");
    sim_gateway::assert_same_answer(&via, &direct(other).await, "the page");

    // A film marked played through the gateway, moments after the probes: what they found
    // empty is no longer known, and the next page shows the play as the server does.
    let films = keys_of(&direct(format!("/library/sections/{movies}/all?type=1")).await);
    let scrobble = format!(
        "/:/scrobble?key={}&identifier=com.plexapp.plugins.library",
        films[5]
    );
    assert!(
        gw.request(&scrobble)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let last = page(5).replace("Size=2", "Size=3");
    let via = cachearr_testkit::http::text_answer(gw.request(&last)).await;
    let server = direct(last).await;
    assert!(
        server.contains("\"viewCount\":1"),
        "the play is the server's: {server}"
    );
    sim_gateway::assert_same_answer(&via, &server, "the page with the film played");
}

/// A user's first reading in this process bumps their watch tag (what was filled before it
/// goes), and that bump is no news of the server: the lists the reading found empty stay
/// known empty, so the copy's next answer reads none of them — a user's first pass would
/// otherwise read again at once two lists a section the probes had just found empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_first_reading_keeps_the_lists_it_found_empty() {
    let gw = start(Profile::Plex).await;
    let up = gw.gateway.upstreams()[0].clone();
    let (movies, _, _) = gw.sections();
    let page = |start: usize, size: usize| {
        format!(
            "/library/sections/{movies}/all?type=1&X-Plex-Container-Start={start}&X-Plex-Container-Size={size}"
        )
    };
    let direct = |path: String| {
        let request = gw
            .client
            .get(format!("{}{path}", gw.sim_url))
            .header("X-Plex-Token", &gw.token)
            .header("Accept", "application/json");
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let from_copy = |path: String| {
        let request = gw.request(&path);
        async move {
            let response = request.send().await.unwrap();
            let status = response.headers()["cache-status"]
                .to_str()
                .unwrap()
                .to_owned();
            (
                status.ends_with("detail=copy"),
                response.text().await.unwrap(),
            )
        }
    };
    let proven = async || {
        let index = get_json(&gw.client, &format!("{}/api/index", gw.admin)).await;
        index["upstreams"][0]["copy"]["shapes_proven"]
            .as_u64()
            .unwrap()
    };
    let proven_before = proven().await;
    for start in [0, 2, 4, 6] {
        let (_, via) = from_copy(page(start, 2)).await;
        sim_gateway::assert_same_answer(&via, &direct(page(start, 2)).await, "a page");
    }
    eventually("the walk's frame proven", WAIT, async || {
        proven().await > proven_before
    })
    .await;
    // The owner's first reading: nothing played, nothing rated, every list empty.
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.first, round.failed),
        (1, 1, 0),
        "{round:?}"
    );
    let all_lists = || {
        (gw.sim.stats().routes.iter())
            .filter(|(route, _)| route.contains("/all"))
            .map(|(_, r)| r.requests)
            .sum::<u64>()
    };
    let before = all_lists();
    // A page of the walk's shape not cached (pages of three): the copy's, its play state
    // written from the first reading's answers.
    let other = page(4, 3);
    let (copied, via) = from_copy(other.clone()).await;
    assert!(copied, "a page of a proven shape is the copy's");
    assert_eq!(all_lists(), before, "a list of play state read again");
    sim_gateway::assert_same_answer(&via, &direct(other).await, "the page");
}

/// The rating keys of a Plex listing's answer.
fn keys_of(body: &str) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(body).unwrap();
    doc["MediaContainer"]["Metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["ratingKey"].as_str().unwrap().to_owned())
        .collect()
}

/// A film renamed on the server moves to where its new title sorts in its section's listing.
/// The copy, which writes that listing's pages from its own copy, proves one page against the
/// server's before it answers the listing's pages again: a tool mixing pages the server gave
/// with pages the copy gave (Overseerr's paging) would skip or repeat the film wherever the
/// two put it apart. After that one answer of the server's, the pages are the copy's again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_rename_has_a_listing_page_proven_again_before_the_copy_pages_it() {
    let gw = start(Profile::Plex).await;
    let (movies, films, _) = gw.sections();
    let page = |start: usize, size: usize| {
        format!(
            "/library/sections/{movies}/all?type=1&X-Plex-Container-Start={start}&X-Plex-Container-Size={size}"
        )
    };
    let direct = |path: String| {
        let request = gw
            .client
            .get(format!("{}{path}", gw.sim_url))
            .header("X-Plex-Token", &gw.token)
            .header("Accept", "application/json");
        cachearr_testkit::http::text_answer(request)
    };
    // Whether the copy wrote the gateway's answer, which must be the server's.
    let from_copy = async |path: String| {
        let response = gw.request(&path).send().await.unwrap();
        let status = response.headers()["cache-status"].to_str().unwrap();
        let by_copy = status.ends_with("detail=copy");
        let via = response.text().await.unwrap();
        sim_gateway::assert_same_answer(&via, &direct(path.clone()).await, &path);
        by_copy
    };
    let proven = async || {
        let index = get_json(&gw.client, &format!("{}/api/index", gw.admin)).await;
        index["upstreams"][0]["copy"]["shapes_proven"]
            .as_u64()
            .unwrap()
    };
    let proven_before = proven().await;
    for start in [0, 2, 4, 6] {
        from_copy(page(start, 2)).await;
    }
    eventually("the walk's frame proven", WAIT, async || {
        proven().await > proven_before
    })
    .await;
    assert!(from_copy(page(1, 2)).await, "a page from the copy");
    let walked = proven().await;

    // The last film in title order renamed to sort first.
    let renamed = *films.last().unwrap();
    gw.sim.rename_item(renamed, "Aardvark At Dawn").unwrap();
    let handle = gw.gateway.index("plex").unwrap().clone();
    let everything = cachearr_library::Visibility::everything();
    eventually("the copy holds the rename", WAIT, async || {
        let held = handle.ready().is_some_and(|index| {
            index
                .by_id(&renamed.to_string(), &everything)
                .is_some_and(|film| film.title() == "Aardvark At Dawn")
        });
        held && !handle.has_stale()
    })
    .await;
    let moved = proven().await;
    assert!(moved < walked, "the listing's shapes want a proof again");
    assert!(
        !from_copy(page(0, 3)).await,
        "the first page after the rename is the server's: the proof of the new order"
    );
    eventually("the listing's frame proven again", WAIT, async || {
        proven().await > moved
    })
    .await;
    assert!(
        from_copy(page(3, 3)).await,
        "proven again, the pages are the copy's"
    );
}

/// A reading's probes are read at once, not one after the other: a first reading's watch-tag
/// bump drops what the user's tool filled while the reading was being taken, so the shorter
/// it takes, the fewer answers the tool fills again. With every listing slowed at the
/// server, the probes are there together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_readings_probes_are_read_at_once() {
    let gw = start_hooked(Profile::Plex, false, |config| {
        // Rounds are run by hand here.
        config.feed.play_state_probe = Duration::ZERO;
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let (movies, _, music) = gw.sections();
    // Two sections read: the first reading probes both.
    gw.get(&format!("/library/sections/{movies}/all?type=1"))
        .await;
    gw.get(&format!("/library/sections/{music}/all?type=10"))
        .await;
    gw.sim.set_faults(cachearr_sim::control::Faults {
        latency_ms: 200,
        path_prefix: Some("/library/sections/".to_owned()),
        ..cachearr_sim::control::Faults::default()
    });
    gw.sim.reset_stats();
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    gw.sim.set_faults(cachearr_sim::control::Faults::default());
    assert_eq!(
        (round.users, round.first, round.failed),
        (1, 1, 0),
        "{round:?}"
    );
    let probes = round.probes - round.signal;
    assert!(probes >= 4, "{round:?}");
    let peak = gw.sim.stats().peak_in_flight;
    assert!(
        peak >= 2,
        "the probes were read one after the other: {peak} in flight at most"
    );
}

/// The sections the play-state watch has read for some user of `up` in this process.
fn sections_read(up: &cachearr_upstream::client::Upstream) -> Vec<String> {
    let mut read: Vec<String> = (up.users.all().iter())
        .flat_map(|user| {
            let book = user.play_lists.lock().unwrap();
            book.read.iter().cloned().collect::<Vec<_>>()
        })
        .collect();
    read.sort();
    read.dedup();
    read
}

/// A user's first reading probes only the sections their answers come from: a section they
/// never read is never probed for them. A section they read later is read then, for the
/// first time: its own answers, loaded before that reading, are read once more, and the other
/// sections' stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_first_reading_probes_only_the_sections_read() {
    let gw = start_hooked(Profile::Plex, false, |config| {
        // Rounds are run by hand here.
        config.feed.play_state_probe = Duration::ZERO;
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let library = gw.gateway.library().unwrap();
    let (movies, _, music) = gw.sections();
    let films = format!("{}?type=1", gw.listing(movies).await);
    let tracks = format!("{}?type=10", gw.listing(music).await);
    assert_eq!(gw.get(&films).await.cache, "MISS");
    let round = play_watch::probe_round(library, &up).await;
    assert_eq!(
        (round.users, round.first, round.failed),
        (1, 1, 0),
        "{round:?}"
    );
    // The movies' two probes (and the lists they page that hold something), none of another
    // section's.
    let probes = round.probes - round.signal;
    assert!((2..=4).contains(&probes), "{round:?}");
    assert_eq!(sections_read(&up), vec![movies.to_string()]);
    // The films' listing, loaded before its section's first reading, once more; then kept.
    assert_eq!(gw.get(&films).await.cache, "MISS");
    assert_eq!(gw.get(&films).await.cache, "HIT");
    // Nothing is due: no section waits for its first reading, the user's period has not come.
    let round = play_watch::probe_round(library, &up).await;
    assert_eq!(round.users, 0, "{round:?}");

    // The music, read later: its first reading then, of it alone.
    assert_eq!(gw.get(&tracks).await.cache, "MISS");
    let round = play_watch::probe_round(library, &up).await;
    assert_eq!(
        (round.users, round.first, round.failed),
        (1, 0, 0),
        "{round:?}"
    );
    let probes = round.probes - round.signal;
    assert!((2..=4).contains(&probes), "{round:?}");
    let mut both = vec![movies.to_string(), music.to_string()];
    both.sort();
    assert_eq!(sections_read(&up), both);
    assert_eq!(
        gw.get(&films).await.cache,
        "HIT",
        "another section's answer stays"
    );
    assert_eq!(gw.get(&tracks).await.cache, "MISS");
    assert_eq!(gw.get(&tracks).await.cache, "HIT");
}

/// An answer from a section the watch has not read for the user yet was loaded before any
/// reading it could be compared against: that section's first reading drops it, so a state
/// changed meanwhile on a client cachearr does not see shows at its next read, as it did when
/// the first reading probed every section.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_sections_first_reading_drops_what_was_filled_from_it_before() {
    let gw = start_hooked(Profile::Plex, false, |config| {
        // Rounds are run by hand here.
        config.feed.play_state_probe = Duration::ZERO;
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let library = gw.gateway.library().unwrap();
    let (movies, _, _) = gw.sections();
    let (_, track, _) = gw.album();
    let films = format!("{}?type=1", gw.listing(movies).await);
    gw.get(&films).await;
    let round = play_watch::probe_round(library, &up).await;
    assert_eq!((round.first, round.failed), (1, 0), "{round:?}");
    assert_eq!(sections_read(&up), vec![movies.to_string()]);

    // A track's answer, filled after the user's first reading but before its section's.
    let path = gw.metadata(track);
    assert_eq!(gw.get(&path).await.cache, "MISS");
    let read = gw.get(&path).await;
    assert_eq!((read.cache.as_str(), read.plays[0]), ("HIT", 0));
    gw.sim.mark_played(gw.owner, track);
    assert_eq!(gw.get(&path).await.plays[0], 0, "nothing told the gateway");
    // The music's first reading: nothing to compare with, its answers dropped.
    let round = play_watch::probe_round(library, &up).await;
    assert_eq!((round.users, round.failed), (1, 0), "{round:?}");
    assert_eq!(sections_read(&up).len(), 2);
    let read = gw.get(&path).await;
    assert_eq!((read.cache.as_str(), read.plays[0]), ("MISS", 1));
}

/// A read of a section the watch has not read for the user waits for that section's first
/// reading before it is loaded: loaded alongside it, its answer would be dropped by the
/// reading and read from the server again at its next read. With the sections' listings
/// slowed at the server, the listing read once is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_read_waits_for_its_sections_first_reading() {
    let gw = start_hooked(Profile::Plex, false, |config| {
        // The watch runs on its own here, as shipped.
        config.feed.play_state_probe = Duration::from_secs(15);
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let (movies, _, _) = gw.sections();
    let films = format!("{}?type=1", gw.listing(movies).await);
    gw.sim.set_faults(cachearr_sim::control::Faults {
        latency_ms: 200,
        path_prefix: Some("/library/sections/".to_owned()),
        ..cachearr_sim::control::Faults::default()
    });
    assert_eq!(gw.get(&films).await.cache, "MISS");
    gw.sim.set_faults(cachearr_sim::control::Faults::default());
    eventually("the films' first reading is in", WAIT, || async {
        sections_read(&up) == vec![movies.to_string()]
    })
    .await;
    assert_eq!(gw.get(&films).await.cache, "HIT");
}

/// Readings kept across a restart count for the sections they were taken in. An answer kept
/// from the last run in a section its user's watch had not read yet was compared against no
/// reading: taking the kept readings up drops it, so a state changed since shows at its next
/// read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_restart_drops_what_was_kept_from_sections_not_read() {
    let gw = start_hooked(Profile::Plex, false, |config| {
        // Rounds are run by hand here.
        config.feed.play_state_probe = Duration::ZERO;
        // What is cached outlives the process.
        config.cache.disk.enabled = true;
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let (movies, _, _) = gw.sections();
    let (_, track, _) = gw.album();
    let films = format!("{}?type=1", gw.listing(movies).await);
    gw.get(&films).await;
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!((round.first, round.failed), (1, 0), "{round:?}");
    // A track's answer, filled before the music's first reading.
    let path = gw.metadata(track);
    gw.get(&path).await;
    assert_eq!(gw.get(&path).await.cache, "HIT");

    // Started again on a copy of its data directory, on the same clock.
    gw.gateway.cache().flush().await;
    let (restarted, proxy, stop, _data) = gw.restarted().await;
    let up = restarted.upstreams()[0].clone();
    let ask = |path: &str| {
        let request = (gw.client.get(format!("{proxy}{path}")))
            .header("X-Plex-Token", &gw.token)
            .header("Accept", "application/json");
        async move {
            let response = request.send().await.unwrap();
            let cache = response.headers()["x-cache"].to_str().unwrap().to_owned();
            let body: serde_json::Value = response.json().await.unwrap();
            let plays = body["MediaContainer"]["Metadata"][0]["viewCount"]
                .as_u64()
                .unwrap_or(0);
            (cache, plays)
        }
    };
    gw.sim.mark_played(gw.owner, track);
    assert_eq!(
        ask(&path).await,
        ("HIT".to_owned(), 0),
        "kept from the last run"
    );
    let round = play_watch::probe_round(restarted.library().unwrap(), &up).await;
    assert_eq!((round.first, round.failed), (0, 0), "taken up: {round:?}");
    assert_eq!(ask(&path).await, ("MISS".to_owned(), 1));
    let _ = stop.send(());
}

/// A section named by a read is read (as nothing, where the user does not see it) even once
/// every section is wanted: a read of it then stops waiting for a first reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_section_not_seen_is_read_as_nothing_once_every_section_is_wanted() {
    let gw = start_hooked(Profile::Plex, false, |config| {
        // The watch runs on its own here, as shipped.
        config.feed.play_state_probe = Duration::from_secs(15);
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    // A list spanning sections: every section the user sees is read.
    gw.get("/library/recentlyAdded").await;
    eventually("every section is read", WAIT, || async {
        sections_read(&up).len() >= 2
    })
    .await;
    gw.get("/library/sections/999/all").await;
    eventually("the section named is read", WAIT, || async {
        sections_read(&up).contains(&"999".to_owned())
    })
    .await;
}

/// While a user's rounds fail (their probes refused, the server in trouble), a read of a
/// section not read yet does not wait for a first reading that is not coming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_read_does_not_wait_while_the_users_rounds_fail() {
    let gw = start_hooked(Profile::Plex, false, |config| {
        // The watch runs on its own here, as shipped.
        config.feed.play_state_probe = Duration::from_secs(15);
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let (movies, _, music) = gw.sections();
    gw.sim.set_faults(cachearr_sim::control::Faults {
        error_rate: 1.0,
        error_status: 503,
        path_prefix: Some("/library/sections/".to_owned()),
        ..cachearr_sim::control::Faults::default()
    });
    let films = format!("{}?type=1", gw.listing(movies).await);
    let _ = gw.request(&films).send().await.unwrap();
    eventually("the user's round failed", WAIT, || async {
        (up.users.all().iter()).any(|u| u.play_lists.lock().unwrap().failing)
    })
    .await;
    let tracks = format!("{}?type=10", gw.listing(music).await);
    // The wait would be the gateway's own 1 s bound, a timer of the runtime's.
    let read = gw.request(&tracks).send();
    let answered = tokio::time::timeout(Duration::from_millis(800), read).await;
    gw.sim.set_faults(cachearr_sim::control::Faults::default());
    assert!(answered.is_ok(), "the read waited for a first reading");
}

/// Emby's play-state probes span every library the user sees: a user's first reading reads
/// them and not the user's sections, which for a user new to cachearr (their sections not
/// read yet) would be a request of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emby_a_new_users_first_reading_reads_no_sections() {
    let gw = start_hooked(Profile::Emby, false, |config| {
        // Rounds are run by hand here.
        config.feed.play_state_probe = Duration::ZERO;
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let alice = (gw.sim.state().users().iter())
        .find(|u| u.name == "alice")
        .unwrap()
        .clone();
    let response = (gw.client)
        .get(format!(
            "{}/emby/Users/{}/Items?Recursive=true&Limit=1",
            gw.proxy, alice.jellyfin_id
        ))
        .header("X-Emby-Token", alice.emby_token())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    gw.sim.reset_stats();
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    let routes = gw.sim.stats().routes;
    assert_eq!((round.first, round.failed), (1, 0), "{round:?} {routes:?}");
    assert!(round.probes >= 3, "alice's probes were read: {round:?}");
    let views: Vec<_> = (routes.iter())
        .filter(|(route, _)| route.contains("Views"))
        .collect();
    assert!(
        views.is_empty(),
        "the reading read alice's sections: {views:?}"
    );
}

/// Emby's (and Jellyfin's) probes span every library, so a user's first reading is every
/// section's: a library read after it wants no reading of its own — the round asks nothing,
/// and the listing is kept (no section's watch tag bumped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emby_a_library_read_after_the_first_reading_wants_no_reading_of_its_own() {
    let gw = start_hooked(Profile::Emby, false, |config| {
        // Rounds are run by hand here.
        config.feed.play_state_probe = Duration::ZERO;
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let (movies, ids, _) = gw.sections();
    gw.get(&gw.metadata(ids[0])).await;
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!((round.first, round.failed), (1, 0), "{round:?}");
    let listing = gw.page(&gw.listing(movies).await, 0, 5);
    gw.get(&listing).await;
    assert_eq!(gw.get(&listing).await.cache, "HIT");
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!(
        (round.users, round.probes - round.signal),
        (0, 0),
        "the library's first read wanted a reading: {round:?}"
    );
    assert_eq!(gw.get(&listing).await.cache, "HIT", "the listing was kept");
}

/// Tokens of one user signed in on the server itself, never through cachearr, each reading
/// an answer showing play state once: the watch probes their user once, not each token (200
/// such tokens made 200 users' probes). Each token is named by the server's record of the
/// asking user (one request), once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_tokens_signed_in_on_the_server_are_one_user_to_the_watch() {
    const TOKENS: usize = 5;
    let gw = start_hooked(Profile::Jellyfin, false, |config| {
        // Rounds are run by hand here.
        config.feed.play_state_probe = Duration::ZERO;
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let (_, ids, _) = gw.sections();
    let alice = gw
        .sim
        .state()
        .users()
        .iter()
        .find(|u| u.name == "alice")
        .cloned()
        .expect("the simulator has alice");
    let authorization = |device: &str, token: Option<&str>| {
        let mut value = format!(
            "MediaBrowser Client=\"t\", Device=\"t\", DeviceId=\"{device}\", Version=\"1\""
        );
        if let Some(token) = token {
            value.push_str(&format!(", Token=\"{token}\""));
        }
        value
    };
    for (n, id) in ids.iter().take(TOKENS).enumerate() {
        let device = format!("signed-in-on-the-server-{n}");
        // Signed in on the server, not through cachearr.
        let signed: serde_json::Value = gw
            .client
            .post(format!("{}/Users/AuthenticateByName", gw.sim_url))
            .header("Authorization", authorization(&device, None))
            .json(&serde_json::json!({ "Username": "alice", "Pw": "alice-password" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = signed["AccessToken"].as_str().expect("a token").to_owned();
        let path = format!("/Items/{}?userId={}", gw.path_id(*id), alice.jellyfin_id);
        let read = gw
            .client
            .get(format!("{}{path}", gw.proxy))
            .header("Authorization", authorization(&device, Some(&token)))
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200, "{path}");
    }
    assert_eq!(up.users.all().len(), TOKENS, "a record for each token");
    let round = play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    assert_eq!((round.users, round.first), (1, 1), "{round:?}");
    // A request naming each token, and one user's three probes (16 before, a user's per token).
    let tokens = u64::try_from(TOKENS).unwrap();
    assert_eq!(round.probes - round.signal, tokens + 3, "{round:?}");
}

/// The users' probes have a budget of their own (`play_state_probes_per_minute`): users due
/// beyond it wait for a later round, the longest unprobed first (the stated staleness that
/// follows: `cachearr-upstream` `feed::tests::the_users_bound_is_a_turn_of_the_probes_budget`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_the_users_probes_keep_to_their_budget() {
    let gw = start_hooked(Profile::Jellyfin, false, |config| {
        // Rounds are run by hand here; three requests a minute, half a minute's worth at once.
        config.feed.play_state_probe = Duration::ZERO;
        config.feed.play_state_probes_per_minute = 3;
    })
    .await;
    let up = gw.gateway.upstreams()[0].clone();
    let users: Vec<_> = (gw.sim.state().users().iter())
        .filter(|u| ["alice", "bob", "dave"].contains(&u.name.as_str()))
        .cloned()
        .collect();
    assert_eq!(users.len(), 3);
    for user in &users {
        // Each token named by its user's own record first: the rounds below probe users.
        let me = (gw.client.get(format!("{}/Users/Me", gw.proxy)))
            .header("X-Emby-Token", &user.jellyfin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        let path = format!(
            "/Users/{}/Items?Recursive=true&IncludeItemTypes=Movie&Limit=2",
            user.jellyfin_id
        );
        let read = (gw.client.get(format!("{}{path}", gw.proxy)))
            .header("X-Emby-Token", &user.jellyfin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200, "{path}");
    }
    let round = async || play_watch::probe_round(gw.gateway.library().unwrap(), &up).await;
    // One user's three probes go (the bucket's one and a half, and a debt of as much).
    let first = round().await;
    assert_eq!(
        (first.users, first.probes - first.signal),
        (1, 3),
        "{first:?}"
    );
    let nothing = round().await;
    assert_eq!(nothing.users, 0, "no budget left: {nothing:?}");
    // The debt repaid (30 s at three a minute), the next user is probed, not the first.
    gw.clock.advance(Duration::from_secs(40));
    let second = round().await;
    assert_eq!((second.users, second.first), (1, 1), "{second:?}");
    assert_eq!(round().await.users, 0);
    // Its three requests take a minute's refill.
    gw.clock.advance(Duration::from_secs(50));
    assert_eq!(round().await.users, 0, "the debt is not repaid yet");
    gw.clock.advance(Duration::from_secs(10));
    assert_eq!(round().await.first, 1, "the third user's turn");
}
