//! Plex users' shares read where the server reads them: the simulator's plex.tv
//! (`cachearr_sim::plextv`), asked by the gateway with the owner's token
//! (`cachearr_upstream::shares`). Invited users reach the server with their plex.tv account
//! tokens, managed users with the server-scoped token their share carries. A section whose
//! kind a user's share filters nothing of is answered from the copy without the server
//! counting it; one it filters by label or content rating is answered from the copy with the
//! filter applied (the labels read from the server); a share changed on plex.tv is followed;
//! with plex.tv away (or a token it does not know) the counts decide, as before.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use cachearr_copy::GatewayLibrary as _;
use cachearr_dialect::Profile;
use cachearr_engine::ManualClock;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library::ItemKind;
use cachearr_sim::plextv::{PlexTvOptions, ShareChange};
use cachearr_sim::state::PlexFilter;
use cachearr_sim::{Sim, TestServer};
use cachearr_testkit::eventually;
use cachearr_testkit::sim_gateway::{self, Running};
use serde_json::Value;

fn sim() -> Sim {
    Sim::builder()
        .tracks(600)
        .movies(60)
        .shows(4)
        .seed(11)
        .cost(CostModel::zero())
        .build()
        .unwrap()
}

/// The simulator's Plex server and its plex.tv, a gateway in front of the server that reads
/// shares from that plex.tv on `clock`, its crawl finished.
async fn start(clock: Arc<ManualClock>) -> Running {
    let run = start_with_index(clock.clone(), true).await;
    let handle = run.gateway.index("plex").unwrap();
    // A guard against a hang, not a timing assertion; the manual clock moves on with the
    // crawl so that its budget refills.
    eventually("the crawl finished", Duration::from_secs(60), async || {
        clock.advance(Duration::from_millis(200));
        handle.ready().is_some()
    })
    .await;
    run
}

/// The simulator's Plex server and its plex.tv, a gateway in front of the server that reads
/// shares from that plex.tv on `clock`, with or without its library index (not waited for).
async fn start_with_index(clock: Arc<ManualClock>, index: bool) -> Running {
    let server: TestServer = sim().start_plex_test_server().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plextv = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(cachearr_sim::plextv::serve(
        &server.sim,
        listener,
        PlexTvOptions::default(),
    ));
    let owner = server.token.clone();
    sim_gateway::start_built(
        server,
        Profile::Plex,
        |config| {
            config.index.enabled = index;
            config.upstreams[0].token = Some(owner);
            config.upstreams[0].account_service_url = Some(plextv.parse().unwrap());
        },
        |builder| builder.clock(clock),
    )
    .await
}

/// A user's plex.tv account token (what an invited user reaches the server with).
fn account_token(run: &Running, name: &str) -> String {
    let state = run.sim.sim.state();
    let user = state.user_by_name(name).unwrap().clone();
    drop(state);
    run.sim.sim.plextv().account_token(&user)
}

/// A user's server-scoped token (a managed user's; an invited user's from before 2026).
fn server_token(run: &Running, name: &str) -> String {
    run.sim
        .sim
        .state()
        .user_by_name(name)
        .unwrap()
        .plex_token
        .clone()
}

/// GET through the gateway as `token`, JSON: status, `cache-status`, body.
async fn get(run: &Running, path: &str, token: &str) -> (u16, String, Value) {
    get_from(run, &run.proxy, path, token).await
}

/// GET straight from the simulated server as `token`, JSON: its body.
async fn direct(run: &Running, path: &str, token: &str) -> Value {
    get_from(run, &run.sim.base_url, path, token).await.2
}

async fn get_from(run: &Running, base: &str, path: &str, token: &str) -> (u16, String, Value) {
    let r = run
        .client
        .get(format!("{base}{path}"))
        .header("X-Plex-Token", token)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let cs = r
        .headers()
        .get("cache-status")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = r.text().await.unwrap();
    (
        status,
        cs,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    )
}

/// The rating keys of an answer's items.
fn ids(v: &Value) -> BTreeSet<String> {
    v["MediaContainer"]["Metadata"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["ratingKey"].as_str().map(str::to_string))
        .collect()
}

/// The section key, title and rating key of a track of section `section` that `name` may
/// not see (the simulator's own rule), and of one they may.
fn hidden_and_shown(run: &Running, name: &str, kind: ItemKind) -> (u32, String, String, String) {
    let state = run.sim.sim.state();
    let user = state.user_by_name(name).unwrap();
    let lib = run.sim.sim.library();
    for section in lib.sections() {
        let items: Vec<_> = section
            .items(kind)
            .iter()
            .filter_map(|&id| lib.item(id))
            .collect();
        let hidden = items.iter().find(|i| !user.plex_sees(i));
        let shown = items.iter().find(|i| user.plex_sees(i));
        if let (Some(h), Some(s)) = (hidden, shown) {
            return (
                section.id,
                h.title().to_string(),
                h.id().to_string(),
                s.id().to_string(),
            );
        }
    }
    panic!("{name} sees every {kind:?} or none");
}

fn shares_read(run: &Running) -> u64 {
    run.gateway.upstreams()[0].shares.as_ref().unwrap().reads()
}

#[tokio::test]
async fn plex_shares_read_from_plextv_decide_which_sections_the_copy_answers() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let run = start(clock.clone()).await;
    let music_search = "/library/sections/1/search?type=10&query=e";

    // alice (invited, everything shared, nothing filtered), with her plex.tv account token:
    // answered from the copy.
    let alice = account_token(&run, "alice");
    let (status, cs, found) = get(&run, music_search, &alice).await;
    assert_eq!(status, 200, "{cs}");
    assert!(cs.contains("detail=index"), "alice: {cs}");
    assert!(!ids(&found).is_empty());
    assert_eq!(shares_read(&run), 1);
    let asked = run.sim.sim.plextv().requests().clone();
    assert!(
        asked.keys().any(|r| r.contains("shared_servers")),
        "{asked:?}"
    );

    // carol's share hides what is labelled Explicit in music (a track by its album's or
    // artist's label too): the copy applies it, with the labels read from the server, and
    // answers her what the server would, never a hidden track.
    let carol = account_token(&run, "carol");
    let (section, title, hidden, _) = hidden_and_shown(&run, "carol", ItemKind::Track);
    let path = format!(
        "/library/sections/{section}/search?type=10&query={}",
        sim_gateway::search::enc(&title)
    );
    let (status, cs, found) = get(&run, &path, &carol).await;
    assert_eq!(status, 200, "{cs}");
    assert!(cs.contains("detail=index"), "carol: {cs}");
    assert!(!ids(&found).contains(&hidden), "carol was shown {hidden}");
    assert_eq!(
        ids(&found),
        ids(&direct(&run, &path, &carol).await),
        "carol"
    );

    // emma (managed) is known by the server-scoped token her share carries; her music is
    // filtered to what is labelled Family: only that, from the copy.
    let emma = server_token(&run, "emma");
    let (status, cs, found) = get(&run, music_search, &emma).await;
    assert_eq!(status, 200, "{cs}");
    assert!(cs.contains("detail=index"), "emma: {cs}");
    assert_eq!(
        ids(&found),
        ids(&direct(&run, music_search, &emma).await),
        "emma"
    );
    // The list was read once for all three.
    assert_eq!(shares_read(&run), 1);

    // It is the share that decides, not the counts: a filter that happens to hide nothing
    // here (no item carries the label) is applied to bob's music as any other, where his
    // counts would have matched the owner's.
    let bob_id = run.sim.sim.state().user_by_name("bob").unwrap().id;
    {
        let mut state = run.sim.sim.state();
        let change = ShareChange {
            filter_music: Some(PlexFilter::parse("label!=NoSuchLabel")),
            ..ShareChange::default()
        };
        run.sim
            .sim
            .plextv()
            .change_share(&mut state, bob_id, change)
            .unwrap();
    }
    clock.advance(cachearr_upstream::shares::REFRESH + Duration::from_secs(1));
    let bob = account_token(&run, "bob");
    let (status, cs, found) = get(&run, music_search, &bob).await;
    assert_eq!(status, 200, "{cs}");
    assert!(cs.contains("detail=index"), "bob: {cs}");
    assert!(!ids(&found).is_empty());
    assert_eq!(
        ids(&found),
        ids(&direct(&run, music_search, &bob).await),
        "bob"
    );
    assert_eq!(shares_read(&run), 2);
}

#[tokio::test]
async fn plex_a_share_changed_on_plextv_is_followed_and_plextv_away_falls_back() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let run = start(clock.clone()).await;
    let alice = account_token(&run, "alice");
    let (section, title, hidden, _) = {
        // What a music filter hiding Explicit would hide from alice: carol's filter.
        hidden_and_shown(&run, "carol", ItemKind::Track)
    };
    let path = format!(
        "/library/sections/{section}/search?type=10&query={}",
        sim_gateway::search::enc(&title)
    );
    let (_, cs, found) = get(&run, &path, &alice).await;
    assert!(cs.contains("detail=index"), "{cs}");
    assert!(ids(&found).contains(&hidden), "{cs}");

    // The owner tightens alice's share on plex.tv: no event says so. Within the refresh the
    // old share stands; after it, her music is answered under the new one, without the
    // hidden track.
    let alice_id = run.sim.sim.state().user_by_name("alice").unwrap().id;
    {
        let mut state = run.sim.sim.state();
        let change = ShareChange {
            filter_music: Some(PlexFilter::parse("label!=Explicit")),
            ..ShareChange::default()
        };
        run.sim
            .sim
            .plextv()
            .change_share(&mut state, alice_id, change)
            .unwrap();
    }
    clock.advance(cachearr_upstream::shares::REFRESH + Duration::from_secs(1));
    let (status, cs, found) = get(&run, &path, &alice).await;
    assert_eq!(status, 200);
    assert!(
        !ids(&found).contains(&hidden),
        "alice was shown {hidden}: {cs}"
    );
    assert_eq!(ids(&found), ids(&direct(&run, &path, &alice).await), "{cs}");
    assert_eq!(shares_read(&run), 2);

    // bob is shared music only; the owner shares him the films too, filtered to G. The
    // server lists him the films section before the shares are due again: the shares are
    // read again at once, and his films are the server's to answer.
    let bob = account_token(&run, "bob");
    let bob_id = run.sim.sim.state().user_by_name("bob").unwrap().id;
    let movies = {
        let lib = run.sim.sim.library();
        lib.sections()
            .iter()
            .find(|s| !s.items(ItemKind::Movie).is_empty())
            .unwrap()
            .id
    };
    let (_, cs, _) = get(&run, "/library/sections/1/search?type=10&query=e", &bob).await;
    assert!(cs.contains("detail=index"), "{cs}");
    {
        let mut state = run.sim.sim.state();
        let mut sections: Vec<u32> = state
            .user(bob_id)
            .unwrap()
            .sections
            .clone()
            .unwrap_or_default();
        sections.push(movies);
        let change = ShareChange {
            sections: Some(Some(sections)),
            filter_movies: Some(PlexFilter::parse("contentRating=G")),
            ..ShareChange::default()
        };
        run.sim
            .sim
            .plextv()
            .change_share(&mut state, bob_id, change)
            .unwrap();
    }
    // The user's sections list is cached for its own freshness: past it, not past the
    // shares' refresh.
    clock.advance(Duration::from_secs(5 * 60 + 1));
    let before = shares_read(&run);
    let (status, cs, found) = get(
        &run,
        &format!("/library/sections/{movies}/search?type=1&query=e"),
        &bob,
    )
    .await;
    assert_eq!(status, 200, "{cs}");
    assert!(!cs.contains("detail=index"), "{cs}");
    {
        let lib = run.sim.sim.library();
        for id in ids(&found) {
            let item = lib.item(id.parse().unwrap()).unwrap();
            assert_eq!(item.effective_content_rating(), Some("G"), "{id}");
        }
    }
    assert!(shares_read(&run) > before);

    // plex.tv away: the shares cannot be read, and the counts decide as before. A server
    // token plex.tv does not know (alice's own, from before 2026) is found in no share
    // either. Both still get what the server would show them.
    run.sim.sim.plextv().set_down(true);
    clock.advance(cachearr_upstream::shares::REFRESH + Duration::from_secs(1));
    let emma = server_token(&run, "emma");
    let (status, cs, _) = get(&run, "/library/sections/1/search?type=10&query=e", &emma).await;
    assert_eq!(status, 200, "{cs}");
    assert!(!cs.contains("detail=index"), "emma: {cs}");
    let book = run.gateway.upstreams()[0].shares.as_ref().unwrap();
    let record = cachearr_upstream::users::UserRecord::unlisted(
        "plex",
        run.gateway.secret().user_of(&emma),
        &emma,
    );
    let up = &run.gateway.upstreams()[0];
    let identity = up.read_anonymous("/identity");
    assert!(
        book.share_of(run.gateway.secret(), &record, identity)
            .await
            .is_none()
    );
    let old = server_token(&run, "alice");
    let (status, cs, found) = get(&run, &path, &old).await;
    assert_eq!(status, 200, "{cs}");
    assert!(!ids(&found).contains(&hidden), "{cs}");
    run.sim.sim.plextv().set_down(false);
}

/// The start-up check reads the server's identity in any case: the server's id at plex.tv is
/// taken from that answer, so the first read of the shares (a restricted user's first answer
/// waits for it) does not ask the server for it again.
#[tokio::test]
async fn plex_the_start_up_check_names_the_server_to_the_shares() {
    // No library copy: nothing reads the shares before the check.
    let run = start_with_index(Arc::new(ManualClock::new(1_700_000_000_000)), false).await;
    let up = &run.gateway.upstreams()[0];
    let check = cachearr_gateway::startup::check_upstream(up).await;
    assert!(check.reachable.is_ok(), "{:?}", check.reachable);
    let carol = account_token(&run, "carol");
    let record = cachearr_upstream::users::UserRecord::unlisted(
        "plex",
        run.gateway.secret().user_of(&carol),
        &carol,
    );
    let book = up.shares.as_ref().unwrap();
    // The identity the shares' read would ask the server for, if it still needed it: none.
    let identity = std::future::ready(None);
    let share = book.share_of(run.gateway.secret(), &record, identity).await;
    assert!(
        share.is_some(),
        "carol's share, read from plex.tv with the server's id known"
    );
}

/// A share tightened on plex.tv drops the answers kept for its user on the keeper's schedule,
/// though they ask nothing meanwhile (no event says a share changed): their next answer is
/// the server's for the new share, not one kept under the old.
#[tokio::test]
async fn plex_a_tightened_share_drops_the_answers_kept_for_its_user() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let run = start(clock.clone()).await;
    let alice = account_token(&run, "alice");
    // What a music filter hiding Explicit would hide from alice: carol's filter.
    let (section, title, hidden, _) = hidden_and_shown(&run, "carol", ItemKind::Track);
    let listing = format!("/library/sections/{section}/all?type=10");
    get(&run, &listing, &alice).await;
    let (_, cs, kept) = get(&run, &listing, &alice).await;
    assert!(cs.contains("hit"), "{cs}");
    assert!(ids(&kept).contains(&hidden));
    // A search from the copy has the shares read once: the schedule follows them from then on.
    let search = format!(
        "/library/sections/{section}/search?type=10&query={}",
        sim_gateway::search::enc(&title)
    );
    let (_, cs, _) = get(&run, &search, &alice).await;
    assert!(cs.contains("detail=index"), "{cs}");
    assert_eq!(shares_read(&run), 1);

    let alice_id = run.sim.sim.state().user_by_name("alice").unwrap().id;
    {
        let mut state = run.sim.sim.state();
        let change = ShareChange {
            filter_music: Some(PlexFilter::parse("label!=Explicit")),
            ..ShareChange::default()
        };
        run.sim
            .sim
            .plextv()
            .change_share(&mut state, alice_id, change)
            .unwrap();
    }
    clock.advance(cachearr_upstream::shares::REFRESH + Duration::from_secs(1));
    assert!(run.gateway.index("plex").unwrap().look_now().await);
    assert_eq!(shares_read(&run), 2, "the schedule read the shares again");

    let (status, cs, now) = get(&run, &listing, &alice).await;
    assert_eq!(status, 200);
    assert!(
        !cs.contains("hit"),
        "an answer kept under the old share: {cs}"
    );
    assert!(
        !ids(&now).contains(&hidden),
        "alice was shown {hidden}: {cs}"
    );
}

/// A GET of `path` in XML as `token` through the gateway and directly: whether the copy
/// answered it, its answer asserted equal to the server's.
async fn from_copy_xml(run: &Running, path: &str, token: &str) -> bool {
    let xml = |base: &str| {
        let request = run.client.get(format!("{base}{path}"));
        request.header("X-Plex-Token", token.to_owned()).send()
    };
    let via = xml(&run.proxy).await.unwrap();
    assert_eq!(via.status(), 200, "{path}");
    let status = via.headers()["cache-status"].to_str().unwrap().to_owned();
    let via = via.text().await.unwrap();
    let direct = xml(&run.sim.base_url).await.unwrap().text().await.unwrap();
    sim_gateway::assert_same_answer(&via, &direct, path);
    status.ends_with("detail=copy")
}

/// A Tautulli-style round (each section's count of each kind, the home screen's recently
/// added lists; XML) as an invited user whose share filters nothing, and as one whose share
/// filters her music and films by label: once the probes proved the shapes, every answer is
/// the copy's from her first request, as the owner's are — no count of hers is sent to prove
/// her sections whole, her share says what she sees — and the server's own for her.
#[tokio::test]
async fn plex_shared_users_counts_and_recent_lists_are_the_copys_at_once() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let run = start(clock.clone()).await;
    let frames = run.data.path().join("library").join("plex.frames.json");
    eventually(
        "the probes' frames are kept",
        Duration::from_secs(60),
        async || {
            clock.advance(Duration::from_millis(200));
            frames.exists()
        },
    )
    .await;
    let mut round: Vec<String> = ["1", "2", "8"]
        .iter()
        .map(|t| format!("/hubs/home/recentlyAdded?X-Plex-Container-Start=0&X-Plex-Container-Size=50&type={t}"))
        .collect();
    for (section, types) in [("1", &[8, 9, 10][..]), ("2", &[1]), ("3", &[2, 3, 4])] {
        for t in types {
            round.push(format!(
                "/library/sections/{section}/all?X-Plex-Container-Start=0&X-Plex-Container-Size=1&type={t}"
            ));
        }
    }
    for name in ["alice", "carol"] {
        let token = account_token(&run, name);
        for path in &round {
            assert!(from_copy_xml(&run, path, &token).await, "{name} {path}");
        }
    }
}

/// carol's share hides what is labelled Explicit. An album she sees is labelled Explicit on
/// the server (an edit the copy hears of, which moves the album's `updatedAt`): its tracks
/// must leave her answers. The labels the copy read before the edit do not hold for the album
/// any more, so its verdict is read again; every answer meanwhile is the server's for her, and
/// once the copy answers her again, without the album's tracks.
#[tokio::test]
async fn plex_an_album_labelled_on_the_server_leaves_a_filtered_users_copy_answers() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let run = start(clock.clone()).await;
    let carol = account_token(&run, "carol");
    // A track carol sees, on an album of more than one track.
    let (section, album, title, track) = {
        let state = run.sim.sim.state();
        let user = state.user_by_name("carol").unwrap().clone();
        let lib = run.sim.sim.library();
        let found = lib.sections().iter().find_map(|s| {
            s.items(ItemKind::Track).iter().find_map(|&id| {
                let t = lib.item(id)?;
                let album = t.parent()?;
                (user.plex_sees(&t) && album.children().len() > 1)
                    .then(|| (s.id, album.id(), t.title().to_string(), t.id().to_string()))
            })
        });
        found.unwrap()
    };
    let path = format!(
        "/library/sections/{section}/search?type=10&query={}",
        sim_gateway::search::enc(&title)
    );
    let (_, cs, found) = get(&run, &path, &carol).await;
    assert!(cs.contains("detail=index"), "{cs}");
    assert!(ids(&found).contains(&track), "{cs}");

    // The owner labels the album on the server, directly.
    let edit = format!(
        "{}/library/sections/{section}/all?type=9&id={album}&label%5B0%5D.tag.tag=Explicit",
        run.sim.base_url
    );
    let edited = run
        .client
        .put(edit)
        .header("X-Plex-Token", &run.sim.token)
        .send()
        .await
        .unwrap();
    assert!(edited.status().is_success(), "{}", edited.status());
    assert!(!ids(&direct(&run, &path, &carol).await).contains(&track));

    // Every answer, until the copy answers again, is the server's for her. A guard against a
    // hang, not a timing assertion: the copy hears of the edit and reads the album again.
    eventually(
        "the copy answers carol again",
        Duration::from_secs(60),
        async || {
            clock.advance(Duration::from_millis(200));
            let (status, cs, found) = get(&run, &path, &carol).await;
            assert_eq!(status, 200, "{cs}");
            assert!(
                !ids(&found).contains(&track),
                "carol was shown {track}: {cs}"
            );
            cs.contains("detail=index")
        },
    )
    .await;
    let (_, _, found) = get(&run, &path, &carol).await;
    assert_eq!(ids(&found), ids(&direct(&run, &path, &carol).await));
}
