//! A library walk's listings of kinds a library holds none of, answered from the copy: a real
//! gateway in front of the simulator's Emby (its notification socket connected), over a
//! described library whose films carry no genre, tag or studio. The copy's empty page is the
//! server's byte for byte and costs the server nothing; an item of a kind the library held
//! none of, added on the server, makes the next answer the server's.

#![allow(clippy::unwrap_used)] // a test's set-up panics where it fails, by design

use std::time::Duration;

use cachearr_copy::GatewayLibrary as _;
use cachearr_copy::upstream_index::status::IndexState;
use cachearr_dialect::Profile;
use cachearr_gateway::Gateway;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::{ItemFields, ItemKind, NewItem, SectionKind};
use cachearr_sim::library_file::LibrarySpec;
use cachearr_testkit::eventually;
use cachearr_testkit::http::get_json;
use cachearr_testkit::sim_gateway;

const WAIT: Duration = Duration::from_secs(30);

/// Two films with no genre, tag or studio, and one artist's album of two tracks.
const LIBRARY: &str = r#"{"sections": [
    {"type": "movie", "title": "Films", "items": [
        {"title": "First Film", "year": 2001},
        {"title": "Second Film", "year": 2002}
    ]},
    {"type": "artist", "title": "Music", "items": [
        {"title": "An Artist", "children": [
            {"title": "An Album", "year": 2003, "children": [{"title": "One"}, {"title": "Two"}]}
        ]}
    ]}
]}"#;

struct Running {
    sim: Sim,
    gateway: Gateway,
    proxy: String,
    sim_url: String,
    admin: String,
    token: String,
    user_id: String,
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

async fn start() -> Running {
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
    let data = tempfile::tempdir().unwrap();
    let spec: LibrarySpec = serde_json::from_str(LIBRARY).unwrap();
    let sim = Sim::builder()
        .library_spec(spec)
        .cost(CostModel::zero())
        .build()
        .unwrap();
    let owner = sim.state().owner().clone();
    let mut config = sim_gateway::loopback_config(Profile::Emby, &sim_url, data.path());
    config.upstreams[0].token = Some(owner.emby_token());
    let gateway = sim_gateway::gateway_builder(config).build().await.unwrap();
    let bound = gateway.bind().await.unwrap();
    let proxy = format!("http://{}", bound.proxy_addrs()[0].1);
    let admin = format!("http://{}", bound.admin_addr().unwrap());
    let serving = sim.serve_emby(sim_listener, JellyfinOptions::default());
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
        proxy,
        sim_url,
        admin,
        token: owner.emby_token(),
        user_id: owner.jellyfin_id.clone(),
        client: sim_gateway::admin_client(),
        stop: Some(stop),
        sim_task,
        _data: data,
    };
    eventually("the change feed is healthy", WAIT, || async {
        get_json(&gw.client, &format!("{}/api/stats", gw.admin)).await["feed"][0]["healthy"] == true
    })
    .await;
    // The crawl, its counts and the frame probes that follow it are done: none of their
    // requests lands among those a test counts.
    eventually("the index is built and its frames probed", WAIT, || async {
        gw.gateway.index("emby").is_some_and(|index| {
            let status = index.status();
            status.state == IndexState::Ready && !status.copy.probing
        })
    })
    .await;
    gw
}

/// An answer: its status, content type and body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

impl Running {
    async fn read(&self, base: &str, path: &str) -> Answer {
        let response = (self.client.get(format!("{base}{path}")))
            .header("X-Emby-Token", &self.token)
            .send()
            .await
            .unwrap();
        let content_type = (response.headers().get("content-type"))
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Answer {
            status: response.status().as_u16(),
            content_type,
            body: response.text().await.unwrap(),
        }
    }

    /// Requests the simulator counted on its item listings.
    fn item_listings(&self) -> u64 {
        (self.sim.stats().routes.iter())
            .filter(|(route, _)| route.ends_with("/Items"))
            .map(|(_, stats)| stats.requests)
            .sum()
    }

    /// The owner's library of `collection_type`, by its id.
    async fn library(&self, collection_type: &str) -> String {
        let views = self
            .read(&self.proxy, &format!("/emby/Users/{}/Views", self.user_id))
            .await;
        let views: serde_json::Value = serde_json::from_str(&views.body).unwrap();
        let view = (views["Items"].as_array().unwrap().iter())
            .find(|v| v["CollectionType"] == collection_type)
            .unwrap();
        view["Id"].as_str().unwrap().to_owned()
    }

    /// A library walk's first page of `kind` (in `library`, or every one), as Emby's clients
    /// write it.
    fn walk_page(&self, library: Option<&str>, kind: &str) -> String {
        let parent = library.map_or(String::new(), |id| format!("&ParentId={id}"));
        format!(
            "/emby/Users/{}/Items?EnableTotalRecordCount=False\
             &LocationTypes=FileSystem%2CRemote%2COffline&Recursive=True&Limit=5000\
             &Fields=Path%2CGenres%2CSortName%2CChapters&IncludeItemTypes={kind}{parent}\
             &StartIndex=0",
            self.user_id
        )
    }
}

/// The empty listings of a library walk — kinds a film or music library holds none of, and
/// people across the server — are the copy's, each the server's own answer byte for byte,
/// with no request to the server; a kind the library holds is still the server's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_library_walks_empty_listings_are_the_copys_as_the_server_writes_them() {
    let gw = start().await;
    let (films, music) = (gw.library("movies").await, gw.library("music").await);
    let empty = [
        (Some(films.as_str()), "BoxSet"),
        (Some(films.as_str()), "Tag"),
        (Some(films.as_str()), "Studio"),
        (Some(films.as_str()), "Folder"),
        (Some(music.as_str()), "MusicGenre"),
        (Some(music.as_str()), "Studio"),
        (None, "Person"),
    ];
    for (library, kind) in empty {
        let page = gw.walk_page(library, kind);
        let direct = gw.read(&gw.sim_url, &page).await;
        assert_eq!(direct.status, 200, "{page}");
        assert!(
            direct.body.contains(r#""Items":[]"#),
            "{page}: {}",
            direct.body
        );
        let before = gw.item_listings();
        let through = gw.read(&gw.proxy, &page).await;
        assert_eq!(through, direct, "{page}");
        assert_eq!(gw.item_listings(), before, "{page}: the server was asked");
    }
    // Films are held: the listing is the server's.
    let page = gw.walk_page(Some(&films), "Movie");
    let before = gw.item_listings();
    let through = gw.read(&gw.proxy, &page).await;
    assert!(through.body.contains("First Film"), "{}", through.body);
    assert_eq!(gw.item_listings(), before + 1);
}

/// A film given a tag on the server, in a library whose films had none: the tag listing the
/// copy answered empty is the server's again, with the new tag, as soon as the server has
/// announced the film.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_of_a_kind_a_library_held_none_of_ends_the_copys_empty_answer() {
    let gw = start().await;
    let films = gw.library("movies").await;
    let page = gw.walk_page(Some(&films), "Tag");
    let before = gw.item_listings();
    let empty = gw.read(&gw.proxy, &page).await;
    assert!(empty.body.contains(r#""Items":[]"#), "{}", empty.body);
    assert_eq!(gw.item_listings(), before, "the copy answered");
    let section = (gw.sim.library().sections().iter())
        .find(|s| s.kind == SectionKind::Movies)
        .unwrap()
        .id;
    let added = NewItem {
        kind: ItemKind::Movie,
        section: Some(section),
        parent: None,
        title: "Tagged Film".into(),
        added_at: gw.sim.now(),
    };
    let fields = ItemFields {
        labels: vec!["Late Night".into()],
        ..ItemFields::default()
    };
    gw.sim.add_item_with(added, fields).unwrap();
    // Read only once the copy has the new film: an answer of the server's while it was being
    // read again would prove nothing of what the copy answers after.
    eventually("the copy holds the new film", WAIT, || async {
        gw.gateway.index("emby").is_some_and(|index| {
            index.status().items_by_kind.get("movie") == Some(&3) && !index.has_stale()
        })
    })
    .await;
    let before = gw.item_listings();
    let after_add = gw.read(&gw.proxy, &page).await;
    assert!(after_add.body.contains("Late Night"), "{}", after_add.body);
    assert_eq!(gw.item_listings(), before + 1, "the server answered");
    assert_eq!(after_add, gw.read(&gw.sim_url, &page).await);
}

/// A tag given on the server to a film the copy holds, in a library whose films had none: the
/// edit's event voids what was counted at once, with no pass to count again, and the tag
/// listing the copy answered empty is the server's again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_given_to_a_film_ends_the_copys_empty_tag_listing() {
    let gw = start().await;
    let films = gw.library("movies").await;
    let page = gw.walk_page(Some(&films), "Tag");
    let before = gw.item_listings();
    assert!(
        gw.read(&gw.proxy, &page)
            .await
            .body
            .contains(r#""Items":[]"#)
    );
    assert_eq!(gw.item_listings(), before, "the copy answered");
    let film = (gw.sim.library().sections().iter())
        .find(|s| s.kind == SectionKind::Movies)
        .unwrap()
        .items(ItemKind::Movie)[0];
    let tagged = gw.sim.edit_meta(film, |edits| {
        edits.tags.insert("Label", vec!["Late Night".to_owned()]);
        true
    });
    assert!(tagged.unwrap());
    eventually("the copy has read the film again", WAIT, || async {
        let index = gw.gateway.index("emby").unwrap();
        !index.has_stale()
            && index
                .status()
                .last_build
                .is_some_and(|b| b.kind == "events")
    })
    .await;
    let before = gw.item_listings();
    let answer = gw.read(&gw.proxy, &page).await;
    assert!(answer.body.contains("Late Night"), "{}", answer.body);
    assert_eq!(gw.item_listings(), before + 1, "the server answered");
}

/// The page after a listing's last: the copy proved how the server writes a page of no item
/// (its empty listings' frame, proven by the probes), so the first page after a short one is
/// stored ahead as the short page comes back, with no request of its own, and it is the
/// server's byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_after_a_listings_last_is_stored_ahead_on_the_copys_proof() {
    let gw = start().await;
    let music = gw.library("music").await;
    let first = gw.walk_page(Some(&music), "Audio");
    let before = gw.item_listings();
    let songs = gw.read(&gw.proxy, &first).await;
    assert!(songs.body.contains(r#""Name":"Two""#), "{}", songs.body);
    let next = first.replace("StartIndex=0", "StartIndex=5000");
    let through = gw.read(&gw.proxy, &next).await;
    assert_eq!(
        gw.item_listings(),
        before + 1,
        "only the listing's page reached the server"
    );
    assert_eq!(through, gw.read(&gw.sim_url, &next).await);
}

impl Running {
    /// `path` read with `token` through `base`.
    async fn read_as(&self, base: &str, path: &str, token: &str) -> Answer {
        let response = (self.client.get(format!("{base}{path}")))
            .header("X-Emby-Token", token)
            .send()
            .await
            .unwrap();
        let content_type = (response.headers().get("content-type"))
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Answer {
            status: response.status().as_u16(),
            content_type,
            body: response.text().await.unwrap(),
        }
    }

    /// Requests the simulator counted on `template` (its route as its router names it).
    fn route_requests(&self, template: &str) -> u64 {
        (self.sim.stats().routes.iter())
            .filter(|(route, _)| route.strip_prefix("GET ") == Some(template))
            .map(|(_, stats)| stats.requests)
            .sum()
    }

    /// `user` signed in through `base`: the token the server handed out.
    async fn sign_in(&self, base: &str, user: &cachearr_sim::state::User) -> String {
        let signed_in: serde_json::Value = (self.client)
            .post(format!("{base}/emby/Users/AuthenticateByName"))
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
    }

    /// A user who is no administrator and sees every library.
    fn alice(&self) -> cachearr_sim::state::User {
        let state = self.sim.state();
        (state.users().iter())
            .find(|u| !u.is_owner && !u.jellyfin_restricted())
            .unwrap()
            .clone()
    }

    /// `user`'s walk page of tags in the films library (which holds none), as Emby's clients
    /// write it: the copy answers it once it knows the token is `user`'s and their libraries.
    fn tags_page(&self, films: &str, user: &str) -> String {
        self.walk_page(Some(films), "Tag").replace(
            &format!("/Users/{}/", self.user_id),
            &format!("/Users/{user}/"),
        )
    }
}

/// A token that signed in through cachearr is its user's from the sign-in's answer: the copy
/// answers that user's walk with no other question to the server of whose the token is (Emby
/// has no `/Users/Me`: it answers a 500) and reads their libraries at `/Users/{id}/Views`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_in_through_cachearr_is_its_users_own() {
    let gw = start().await;
    let films = gw.library("movies").await;
    let alice = gw.alice();
    let token = gw.sign_in(&gw.proxy, &alice).await;
    let page = gw.tags_page(&films, &alice.jellyfin_id);
    let (listings, users) = (gw.item_listings(), gw.route_requests("/Users"));
    let through = gw.read_as(&gw.proxy, &page, &token).await;
    assert_eq!(gw.item_listings(), listings, "the copy answered");
    assert_eq!(gw.route_requests("/Users"), users, "no question of whose");
    assert_eq!(gw.route_requests("/Users/Me"), 0);
    assert!(through.body.contains(r#""Items":[]"#), "{}", through.body);
    assert_eq!(through, gw.read_as(&gw.sim_url, &page, &token).await);
}

/// A token that never signed in through cachearr, answered a route naming one user
/// (`/Users/{id}/…`, which Emby answers that user and administrators), is that user's once the
/// server refuses it the user list only administrators are shown: the copy then answers its
/// walk. An administrator's token, answered the same user's route, is no proof: the user
/// list is shown to it, and that user's walk stays the server's (and the list is not asked
/// again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_answered_one_users_routes_and_refused_the_user_list_is_theirs() {
    let gw = start().await;
    let films = gw.library("movies").await;
    let alice = gw.alice();
    let token = alice.emby_token();
    let latest = format!("/emby/Users/{}/Items/Latest", alice.jellyfin_id);
    let page = gw.tags_page(&films, &alice.jellyfin_id);
    assert_eq!(gw.read_as(&gw.proxy, &latest, &token).await.status, 200);
    let (listings, users) = (gw.item_listings(), gw.route_requests("/Users"));
    let through = gw.read_as(&gw.proxy, &page, &token).await;
    assert_eq!(gw.item_listings(), listings, "the copy answered");
    assert_eq!(
        gw.route_requests("/Users"),
        users + 1,
        "the proof's one question"
    );
    assert_eq!(through, gw.read_as(&gw.sim_url, &page, &token).await);
    // Known now: the next walk page asks nothing more.
    let music = gw.library("music").await;
    let studios = gw.walk_page(Some(&music), "Studio").replace(
        &format!("/Users/{}/", gw.user_id),
        &format!("/Users/{}/", alice.jellyfin_id),
    );
    let (listings, users) = (gw.item_listings(), gw.route_requests("/Users"));
    let again = gw.read_as(&gw.proxy, &studios, &token).await;
    assert_eq!(gw.item_listings(), listings, "the copy answered");
    assert_eq!(gw.route_requests("/Users"), users);
    assert_eq!(again, gw.read_as(&gw.sim_url, &studios, &token).await);

    // An administrator's token that read only alice's routes is not alice's: the user list
    // is shown to it. (Signed in on the server itself, so cachearr learnt nothing of it.)
    let owner = gw.sim.state().owner().clone();
    let admin = gw.sign_in(&gw.sim_url, &owner).await;
    assert_eq!(gw.read_as(&gw.proxy, &latest, &admin).await.status, 200);
    let (listings, users) = (gw.item_listings(), gw.route_requests("/Users"));
    let theirs = gw.read_as(&gw.proxy, &page, &admin).await;
    assert_eq!(gw.item_listings(), listings + 1, "the server answered");
    assert_eq!(
        gw.route_requests("/Users"),
        users + 1,
        "the proof's one question"
    );
    assert_eq!(theirs, gw.read_as(&gw.sim_url, &page, &admin).await);
    // Not asked again.
    let listings = gw.item_listings();
    gw.read_as(&gw.proxy, &studios, &admin).await;
    assert_eq!(gw.item_listings(), listings + 1, "the server answered");
    assert_eq!(gw.route_requests("/Users"), users + 1);
}

/// Warming reads each recent user's own routes as Emby has them, naming the user
/// (`/Users/{id}/Views`, `…/Items/Latest`, `…/Items/Resume`: Emby has none that name no user),
/// for a user whose id the server's answers gave; none fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warming_reads_each_users_routes_by_their_id() {
    let gw = start().await;
    let alice = gw.alice();
    let views = format!("/emby/Users/{}/Views", alice.jellyfin_id);
    assert_eq!(
        gw.read_as(&gw.proxy, &views, &alice.emby_token())
            .await
            .status,
        200
    );
    let latest = gw.route_requests("/Users/{userId}/Items/Latest");
    let resume = gw.route_requests("/Users/{userId}/Items/Resume");
    let (done, failed) = gw.gateway.warm(Duration::from_secs(3600)).await;
    assert_eq!(failed, 0);
    assert!(done >= 3, "{done}");
    assert!(gw.route_requests("/Users/{userId}/Items/Latest") > latest);
    assert!(gw.route_requests("/Users/{userId}/Items/Resume") > resume);
}

/// An administrator's token that never signed in through cachearr and named no user is its
/// server's one administrator's once the server shows it the user list (only administrators
/// and API keys are shown it; one administrator there) and its list of API keys does not hold
/// it: the copy then answers that administrator's walk, asking each list once for the
/// token's life.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrators_token_is_the_one_administrators_when_no_api_key() {
    let gw = start().await;
    let films = gw.library("movies").await;
    let owner = gw.sim.state().owner().clone();
    // Signed in on the server itself: cachearr learnt nothing of it.
    let admin = gw.sign_in(&gw.sim_url, &owner).await;
    let page = gw.walk_page(Some(&films), "Tag");
    let (listings, users) = (gw.item_listings(), gw.route_requests("/Users"));
    let through = gw.read_as(&gw.proxy, &page, &admin).await;
    assert_eq!(gw.item_listings(), listings, "the copy answered");
    assert_eq!(
        gw.route_requests("/Users"),
        users + 1,
        "the user list, once"
    );
    assert_eq!(gw.route_requests("/Auth/Keys"), 1, "the API keys, once");
    assert!(through.body.contains(r#""Items":[]"#), "{}", through.body);
    assert_eq!(through, gw.read_as(&gw.sim_url, &page, &admin).await);
    // Known now: the next walk page asks nothing more.
    let music = gw.library("music").await;
    let studios = gw.walk_page(Some(&music), "Studio");
    let (listings, users) = (gw.item_listings(), gw.route_requests("/Users"));
    let again = gw.read_as(&gw.proxy, &studios, &admin).await;
    assert_eq!(gw.item_listings(), listings, "the copy answered");
    assert_eq!(gw.route_requests("/Users"), users);
    assert_eq!(gw.route_requests("/Auth/Keys"), 1);
    assert_eq!(again, gw.read_as(&gw.sim_url, &studios, &admin).await);
}
