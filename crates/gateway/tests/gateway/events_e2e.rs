//! Change events end to end: the simulator behind a real gateway (real HTTP on loopback, the
//! embedded disk store in a temp dir). A change made on the server is invisible through the
//! cache until its event arrives — by webhook (posted by the simulator itself, or by hand) on
//! the admin listener, or over cachearr's own websocket subscription with the owner's token —
//! and then exactly the touched entries are refreshed while the others stay cached.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use cachearr_testkit::sim_gateway;

use std::time::Duration;

use cachearr_dialect::Profile;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::ItemKind;
use cachearr_testkit::eventually;
use cachearr_testkit::http::get_json;

/// What a test wants from its gateway.
#[derive(Clone, Copy)]
struct Setup {
    profile: Profile,
    /// Give the upstream the owner's token: cachearr subscribes to notifications.
    subscribe: bool,
    /// Make the simulator post webhooks to cachearr's admin listener.
    webhooks: bool,
}

struct Running {
    sim: Sim,
    profile: Profile,
    token: String,
    user_id: String,
    proxy: String,
    admin: String,
    client: reqwest::Client,
    webhook_secret: String,
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

async fn start(setup: Setup) -> Running {
    // The simulator's listener first, so the gateway can point at it; the gateway's admin
    // address next, so the simulator can post webhooks to it.
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
    let data = tempfile::tempdir().unwrap();
    let mut config = sim_gateway::loopback_config(setup.profile, &sim_url, data.path());
    let mut builder = Sim::builder()
        .tracks(300)
        .movies(10)
        .shows(2)
        .seed(42)
        .cost(CostModel::zero());
    let profile_name = setup.profile.as_str();
    // Tokens are deterministic per seed, so a throwaway build tells us the owner's token.
    let probe = Sim::builder()
        .tracks(300)
        .movies(10)
        .shows(2)
        .seed(42)
        .build()
        .unwrap();
    let owner = probe.state().owner().clone();
    let token = match setup.profile {
        Profile::Plex => owner.plex_token.clone(),
        Profile::Jellyfin => owner.jellyfin_token.clone(),
        Profile::Emby => owner.emby_token(),
        Profile::Http => unreachable!("a media server's test"),
    };
    if setup.subscribe {
        config.upstreams[0].token = Some(token.clone());
    }
    let gateway = sim_gateway::gateway_builder(config).build().await.unwrap();
    let bound = gateway.bind().await.unwrap();
    let proxy = format!("http://{}", bound.proxy_addrs()[0].1);
    let admin = format!("http://{}", bound.admin_addr().unwrap());
    let webhook_secret = gateway.webhook_secret().to_owned();
    if setup.webhooks {
        builder = builder.webhooks([format!(
            "{profile_name}={admin}/webhooks/{profile_name}?secret={webhook_secret}"
        )]);
    }
    let sim = builder.build().unwrap();
    assert_eq!(
        sim.state().owner().plex_token,
        owner.plex_token,
        "deterministic tokens"
    );
    let serving: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>> = match setup
        .profile
    {
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
    Running {
        sim,
        profile: setup.profile,
        token,
        user_id: owner.jellyfin_id.clone(),
        proxy,
        admin,
        client: sim_gateway::admin_client(),
        webhook_secret,
        stop: Some(stop),
        sim_task,
        _data: data,
    }
}

/// How long an event may take to show: events travel asynchronously (server → socket or
/// webhook → cachearr), so the tests wait for their effect, never for a fixed time.
const WAIT: Duration = Duration::from_secs(30);

impl Running {
    /// Two tracks of the library: (numeric id, the id the front end uses in paths).
    fn tracks(&self) -> Vec<(u32, String)> {
        let library = self.sim.library();
        let music = library
            .sections()
            .iter()
            .find(|s| !s.items(ItemKind::Track).is_empty());
        let ids: Vec<u32> = music
            .unwrap()
            .items(ItemKind::Track)
            .iter()
            .take(2)
            .copied()
            .collect();
        ids.into_iter()
            .map(|id| {
                let path_id = match self.profile {
                    Profile::Plex => id.to_string(),
                    Profile::Jellyfin => library.item(id).unwrap().guid_id(),
                    // Emby's ids are the numbers themselves.
                    Profile::Emby => id.to_string(),
                    Profile::Http => unreachable!("a media server's test"),
                };
                (id, path_id)
            })
            .collect()
    }

    fn item_path(&self, path_id: &str) -> String {
        match self.profile {
            Profile::Plex => format!("/library/metadata/{path_id}"),
            Profile::Jellyfin => format!("/Items/{path_id}?userId={}", self.user_id),
            // Emby's clients ask under `/emby/`.
            Profile::Emby => format!("/emby/Items/{path_id}?userId={}", self.user_id),
            Profile::Http => unreachable!("a media server's test"),
        }
    }

    /// GETs `path` through cachearr as the owner; returns (X-Cache, title, play count).
    async fn get(&self, path: &str) -> (String, String, u64) {
        let request = self.client.get(format!("{}{path}", self.proxy));
        let request = match self.profile {
            Profile::Plex => {
                request.header("X-Plex-Token", &self.token).header("Accept", "application/json")
            }
            Profile::Jellyfin => request.header(
                "Authorization",
                format!(
                    "MediaBrowser Client=\"t\", Device=\"t\", DeviceId=\"t1\", Version=\"1\", Token=\"{}\"",
                    self.token
                ),
            ),
            Profile::Emby => request.header("X-Emby-Token", &self.token),
            Profile::Http => unreachable!("a media server's test"),
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let cache = response
            .headers()
            .get("x-cache")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body: serde_json::Value = response.json().await.unwrap();
        let (title, plays) = match self.profile {
            Profile::Plex => {
                let m = &body["MediaContainer"]["Metadata"][0];
                (m["title"].as_str(), m["viewCount"].as_u64())
            }
            Profile::Jellyfin | Profile::Emby => (
                body["Name"].as_str(),
                body["UserData"]["PlayCount"].as_u64(),
            ),
            Profile::Http => unreachable!("a media server's test"),
        };
        (
            cache,
            title.unwrap_or_default().to_owned(),
            plays.unwrap_or(0),
        )
    }

    /// Caches both tracks and checks they are hits.
    async fn cache_both(&self) -> (String, String) {
        let tracks = self.tracks();
        let (a, b) = (self.item_path(&tracks[0].1), self.item_path(&tracks[1].1));
        for path in [&a, &b] {
            self.get(path).await;
            assert_eq!(self.get(path).await.0, "HIT", "{path} is cached");
        }
        (a, b)
    }

    async fn events_connected(&self) -> bool {
        let stats = get_json(&self.client, &format!("{}/api/stats", self.admin)).await;
        stats["upstreams"][0]["events_connected"] == true
    }
}

/// A scrobble made on the server is invisible through the cache until the webhook arrives;
/// then the scrobbled item is refreshed and the other stays cached.
async fn scrobble_webhook_from_the_server(profile: Profile) {
    let gw = start(Setup {
        profile,
        subscribe: false,
        webhooks: true,
    })
    .await;
    let (a, b) = gw.cache_both().await;
    let owner = gw.sim.state().owner().id;
    let first = gw.tracks()[0].0;
    gw.sim.scrobble(owner, first);
    eventually("the scrobble webhook refreshes the item", WAIT, || async {
        let (cache, _, plays) = gw.get(&a).await;
        cache != "HIT" && plays == 1
    })
    .await;
    assert_eq!(
        gw.get(&b).await.0,
        "HIT",
        "an item the event did not touch stays cached"
    );
}

#[tokio::test]
async fn plex_webhook_from_the_server_invalidates_exactly_the_scrobbled_item() {
    scrobble_webhook_from_the_server(Profile::Plex).await;
}

#[tokio::test]
async fn jellyfin_webhook_from_the_server_invalidates_exactly_the_played_item() {
    scrobble_webhook_from_the_server(Profile::Jellyfin).await;
}

#[tokio::test]
async fn hand_posted_plex_webhook_invalidates_and_malformed_changes_nothing() {
    let gw = start(Setup {
        profile: Profile::Plex,
        subscribe: false,
        webhooks: false,
    })
    .await;
    let (a, b) = gw.cache_both().await;
    let owner = gw.sim.state().owner().id;
    let tracks = gw.tracks();
    gw.sim.scrobble(owner, tracks[0].0);
    let (cache, _, plays) = gw.get(&a).await;
    assert_eq!(
        (cache.as_str(), plays),
        ("HIT", 0),
        "without an event the cached answer stands"
    );

    let bad = reqwest::multipart::Form::new().text("payload", "{\"event\": ");
    let url = format!("{}/webhooks/plex?secret={}", gw.admin, gw.webhook_secret);
    assert_eq!(
        gw.client
            .post(&url)
            .multipart(bad)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        gw.get(&a).await.0,
        "HIT",
        "a malformed webhook changes nothing"
    );

    let payload = serde_json::json!({
        "event": "media.scrobble",
        "Account": {"id": 1, "title": "owner"},
        "Metadata": {"ratingKey": tracks[0].1, "librarySectionID": "1", "type": "track"}
    });
    let form = reqwest::multipart::Form::new()
        .text("payload", payload.to_string())
        .part(
            "thumb",
            reqwest::multipart::Part::bytes(vec![0xff, 0xd8, 0xff]).file_name("t.jpg"),
        );
    let response = gw.client.post(&url).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (cache, _, plays) = gw.get(&a).await;
    assert_ne!(cache, "HIT");
    assert_eq!(plays, 1);
    assert_eq!(gw.get(&b).await.0, "HIT");
}

/// A rename on the server reaches cachearr over its own notification socket.
async fn rename_over_the_socket(profile: Profile) {
    let gw = start(Setup {
        profile,
        subscribe: true,
        webhooks: false,
    })
    .await;
    let (a, b) = gw.cache_both().await;
    eventually("cachearr's notification socket connects", WAIT, || {
        gw.events_connected()
    })
    .await;
    gw.sim
        .rename_item(gw.tracks()[0].0, "Renamed By The Server")
        .unwrap();
    eventually(
        "the rename becomes visible through the cache",
        WAIT,
        || async { gw.get(&a).await.1 == "Renamed By The Server" },
    )
    .await;
    assert_eq!(gw.get(&b).await.0, "HIT", "the other item stays cached");
}

#[tokio::test]
async fn plex_websocket_notifications_invalidate_renamed_items() {
    rename_over_the_socket(Profile::Plex).await;
}

#[tokio::test]
async fn jellyfin_socket_notifications_invalidate_renamed_items() {
    rename_over_the_socket(Profile::Jellyfin).await;
}

#[tokio::test]
async fn emby_socket_notifications_invalidate_renamed_items() {
    rename_over_the_socket(Profile::Emby).await;
}

/// An Emby user's policy changed (its `user.policyupdated` webhook names the user): that
/// user's cached answers go, the owner's stay, and so does the library's shared state.
#[tokio::test]
async fn emby_a_users_policy_change_drops_that_users_answers_only() {
    let gw = start(Setup {
        profile: Profile::Emby,
        subscribe: false,
        webhooks: false,
    })
    .await;
    let (owner, alice, alice_id) = {
        let state = gw.sim.state();
        let alice = (state.users().iter())
            .find(|u| u.id != state.owner().id && !u.jellyfin_restricted())
            .unwrap();
        (
            state.owner().clone(),
            alice.clone(),
            alice.jellyfin_id.clone(),
        )
    };
    // Each signs in through cachearr, as a tool does: the server's answer names the user
    // (Emby has no `/Users/Me` to ask).
    let sign_in = async |user: &cachearr_sim::state::User| -> String {
        let signed_in: serde_json::Value = (gw.client)
            .post(format!("{}/emby/Users/AuthenticateByName", gw.proxy))
            .header(
                "X-Emby-Authorization",
                r#"Emby Client="t", Device="d", DeviceId="x", Version="1""#,
            )
            .json(&serde_json::json!({"Username": user.name, "Pw": user.password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        signed_in["AccessToken"].as_str().unwrap().to_owned()
    };
    let (owner_token, alice_token) = (sign_in(&owner).await, sign_in(&alice).await);
    let tracks = gw.tracks();
    let owners = gw.item_path(&tracks[0].1);
    let alices = format!("/emby/Items/{}?userId={alice_id}", tracks[0].1);
    let read = async |path: &str, token: &str| -> String {
        let response = (gw.client.get(format!("{}{path}", gw.proxy)))
            .header("X-Emby-Token", token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        (response.headers().get("x-cache"))
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let as_alice = async || read(&alices, &alice_token).await;
    let as_owner = async || read(&owners, &owner_token).await;
    for _ in 0..2 {
        as_owner().await;
        as_alice().await;
    }
    assert_eq!(as_owner().await, "HIT");
    assert_eq!(as_alice().await, "HIT");

    let url = format!("{}/webhooks/emby?secret={}", gw.admin, gw.webhook_secret);
    let policy = serde_json::json!({
        "Event": "user.policyupdated",
        "User": {"Name": "alice", "Id": alice_id},
    });
    let response = gw.client.post(&url).json(&policy).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_ne!(as_alice().await, "HIT", "the user's answers are dropped");
    assert_eq!(as_owner().await, "HIT", "the owner's stay");
}
