//! Restricted Jellyfin users answered from the copy with their policies read from the server
//! (`upstream_index::restrictions`): through a gateway with the owner's key in front of the
//! simulator (which applies each user's `BlockedTags`, `AllowedTags` and `MaxParentalRating`),
//! every search and series walk the copy answers for a restricted user is the server's answer
//! to that user — the items it keeps, their count and page — and a policy changed on the
//! server is applied once it is read again.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;

use cachearr_copy::GatewayLibrary as _;
use cachearr_dialect::Profile;
use cachearr_engine::ManualClock;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::ItemKind;
use cachearr_sim::state::{JellyfinPolicy, Restrictions};
use cachearr_sim::{Sim, TestServer};
use cachearr_testkit::eventually;
use cachearr_testkit::sim_gateway::{self, Running};
use serde_json::Value;

const RESTRICTED: [&str; 3] = ["carol", "dave", "emma"];

struct Fixture {
    run: Running,
    clock: Arc<ManualClock>,
}

async fn start() -> Fixture {
    start_with(|_| {}).await
}

/// The fixture with `configure` applied to the gateway's configuration as well.
async fn start_with(configure: impl FnOnce(&mut cachearr_config::Config)) -> Fixture {
    let sim = Sim::builder()
        .tracks(400)
        .movies(40)
        .shows(10)
        .seed(11)
        .cost(CostModel::zero())
        .build()
        .unwrap();
    let server: TestServer = sim
        .start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .unwrap();
    let owner = server.sim.state().owner().jellyfin_token.clone();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let run = sim_gateway::start_built(
        server,
        Profile::Jellyfin,
        |config| {
            config.upstreams[0].token = Some(owner.clone());
            configure(config);
        },
        |builder| builder.clock(clock.clone()),
    )
    .await;
    let name = run.gateway.upstreams()[0].name.to_string();
    let handle = run.gateway.index(&name).unwrap().clone();
    // A guard against a hang, not a timing assertion: the crawl of ~600 items.
    eventually(
        "the crawl finished",
        std::time::Duration::from_secs(60),
        async || handle.ready().is_some(),
    )
    .await;
    Fixture { run, clock }
}

impl Fixture {
    fn user(&self, name: &str) -> (String, String) {
        let state = self.run.sim.sim.state();
        let u = state.users().iter().find(|u| u.name == name).unwrap();
        (u.jellyfin_token.clone(), u.jellyfin_id.clone())
    }

    /// Status, `Cache-Status` and JSON body of `path` read from `base` with `token`.
    async fn get(&self, base: &str, path: &str, token: &str) -> (u16, String, Value) {
        let r = (self.run.client.get(format!("{base}{path}")))
            .header("X-Emby-Token", token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let cs = (r.headers().get("cache-status"))
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = r.text().await.unwrap();
        (
            status,
            cs,
            serde_json::from_str(&body).unwrap_or(Value::Null),
        )
    }

    /// `path` through the gateway and from the server, as `token`: the same answer (the same
    /// status, and the same body for a 200). Returns
    /// the gateway's `Cache-Status`.
    async fn same(&self, who: &str, path: &str, token: &str) -> String {
        let (status, cs, via) = self.get(&self.run.proxy, path, token).await;
        let (direct_status, _, direct) = self.get(&self.run.sim.base_url, path, token).await;
        assert_eq!(status, direct_status, "{who} {path} ({cs})");
        // An error's body carries a trace id of its own each time.
        if status == 200 {
            // The items and count first, to say briefly where they differ.
            let ids = |v: &Value| -> Vec<String> {
                let list = v.get("Items").or_else(|| v.get("SearchHints"));
                (list.and_then(Value::as_array).into_iter().flatten())
                    .filter_map(|i| i["Id"].as_str().map(str::to_owned))
                    .collect()
            };
            assert_eq!(ids(&via), ids(&direct), "{who} {path} ({cs})");
            let total = |v: &Value| v["TotalRecordCount"].clone();
            assert_eq!(total(&via), total(&direct), "{who} {path} ({cs})");
            assert!(via == direct, "{who} {path} ({cs}): the documents differ");
        }
        cs
    }

    /// The series of the library (their ids as the server writes them).
    fn series(&self) -> Vec<String> {
        let lib = self.run.sim.sim.library();
        (lib.sections().iter())
            .flat_map(|s| s.items(ItemKind::Show).to_vec())
            .filter_map(|id| lib.item(id))
            .map(|item| item.guid_id())
            .collect()
    }
}

/// The searches each user makes: paged and whole, by kind, and the hints.
fn searches() -> Vec<String> {
    let mut out = Vec::new();
    for term in ["a", "e", "o", "in"] {
        for ty in ["Audio", "MusicAlbum", "MusicArtist", "Episode"] {
            out.push(format!(
                "/Items?Recursive=true&SearchTerm={term}&IncludeItemTypes={ty}"
            ));
            out.push(format!(
                "/Items?Recursive=true&SearchTerm={term}&IncludeItemTypes={ty}\
                 &StartIndex=3&Limit=5"
            ));
        }
        out.push(format!(
            "/Search/Hints?SearchTerm={term}&IncludeItemTypes=Audio,MusicAlbum&Limit=12"
        ));
    }
    out
}

/// Every search answered from the index for each restricted user is the server's answer to
/// that user; so is every series walk, which the copy answers from the user's third one on.
#[tokio::test]
async fn restricted_users_get_the_servers_answers_from_the_copy() {
    let f = start().await;
    let series = f.series();
    assert!(series.len() >= 5);
    for who in RESTRICTED {
        let (token, uid) = f.user(who);
        let mut indexed = 0;
        for path in searches() {
            let cs = f.same(who, &path, &token).await;
            indexed += usize::from(cs.contains("detail=index"));
        }
        assert_eq!(
            indexed,
            searches().len(),
            "{who}: every search from the index"
        );

        let (mut copied, mut shown) = (0, 0);
        for sid in &series {
            let seasons = format!("/Shows/{sid}/Seasons?userId={uid}");
            let cs = f.same(who, &seasons, &token).await;
            copied += usize::from(cs.contains("detail=copy"));
            let (status, _, direct) = f.get(&f.run.sim.base_url, &seasons, &token).await;
            shown += usize::from(status == 200);
            for season in direct["Items"].as_array().into_iter().flatten() {
                let id = season["Id"].as_str().unwrap();
                let episodes = format!("/Shows/{sid}/Episodes?seasonId={id}&userId={uid}");
                let cs = f.same(who, &episodes, &token).await;
                copied += usize::from(cs.contains("detail=copy"));
                let paged = format!("{episodes}&StartIndex=1&Limit=2");
                let cs = f.same(who, &paged, &token).await;
                copied += usize::from(cs.contains("detail=copy"));
            }
        }
        // (emma may not open the shows.)
        if shown >= 3 {
            assert!(copied > 0, "{who}: no series walk answered from the copy");
        }
    }
}

/// A policy changed on the server (no event says so) is applied once it is read again: the
/// copy's answers then follow the new policy.
#[tokio::test]
async fn a_changed_policy_is_applied_once_read_again() {
    let f = start().await;
    let (token, uid) = f.user("carol");
    let path = "/Items?Recursive=true&SearchTerm=e&IncludeItemTypes=Audio";
    let before = f.same("carol", path, &token).await;
    assert!(before.contains("detail=index"), "{before}");
    let (_, _, shown) = f.get(&f.run.proxy, path, &token).await;
    // Her views are kept (for days: they change with sections, not with items); their
    // counts follow her policy all the same.
    let views = format!("/UserViews?userId={uid}");
    f.same("carol", &views, &token).await;
    let kept = f.same("carol", &views, &token).await;
    assert!(kept.contains("hit"), "{kept}");
    let (_, _, views_before) = f.get(&f.run.proxy, &views, &token).await;

    // carol may now see only what is tagged Family.
    {
        let mut state = f.run.sim.sim.state();
        let id = state.users().iter().find(|u| u.name == "carol").unwrap().id;
        assert!(state.set_restrictions(
            id,
            Restrictions {
                jellyfin: JellyfinPolicy {
                    allowed_tags: vec!["Family".into()],
                    ..JellyfinPolicy::default()
                },
                ..Restrictions::default()
            }
        ));
    }
    f.clock
        .advance(cachearr_copy::upstream_index::restrictions::POLICIES_FRESH);
    let after = f.same("carol", path, &token).await;
    assert!(after.contains("detail=index"), "{after}");
    let (_, _, now) = f.get(&f.run.proxy, path, &token).await;
    assert_ne!(
        shown["TotalRecordCount"], now["TotalRecordCount"],
        "the new policy hides other tracks"
    );
    let (_, _, counted) = f.get(&f.run.sim.base_url, &views, &token).await;
    let counts = |v: &Value| -> Vec<Value> {
        (v["Items"].as_array().into_iter().flatten())
            .map(|view| view["ChildCount"].clone())
            .collect()
    };
    assert_ne!(
        counts(&counted),
        counts(&views_before),
        "the test needs a policy that changes the views' counts"
    );
    f.same("carol", &views, &token).await;
}

/// A policy changed on the server and, the moment after, a favourite made on a client cachearr
/// does not see: the user's count of favourites comes out as it was (the one the new policy
/// hides, the one just made), and still the item's answer shows the favourite after one round
/// of her probes: her lists, read over what she saw before, are read whole again.
#[tokio::test]
async fn a_favourite_made_as_the_policy_hid_another_is_seen_after_one_round() {
    let f = start_with(|config| {
        // Rounds are run by hand here.
        config.feed.play_state_probe = std::time::Duration::ZERO;
        config.feed.play_state_user_probe = std::time::Duration::from_secs(60);
    })
    .await;
    let new_policy = Restrictions {
        jellyfin: JellyfinPolicy {
            allowed_tags: vec!["Family".into()],
            ..JellyfinPolicy::default()
        },
        ..Restrictions::default()
    };
    // A track carol sees now and not under the new policy, and one she sees under both.
    let (carol, hidden, kept) = {
        let state = f.run.sim.sim.state();
        let lib = f.run.sim.sim.library();
        let carol = state.users().iter().find(|u| u.name == "carol").unwrap();
        let tracks: Vec<_> = (lib.sections().iter())
            .flat_map(|s| s.items(ItemKind::Track).to_vec())
            .filter_map(|id| lib.item(id))
            .filter(|track| carol.jellyfin_sees(track))
            .collect();
        let hidden = tracks.iter().find(|t| !new_policy.jellyfin.allows(t));
        let kept = tracks.iter().find(|t| new_policy.jellyfin.allows(t));
        (carol.id, hidden.unwrap().id(), kept.unwrap().id())
    };
    let (token, uid) = f.user("carol");
    let guid = |id| f.run.sim.sim.library().item(id).unwrap().guid_id();
    let path = format!("/Users/{uid}/Items/{}", guid(kept));
    let upstream = f.run.gateway.upstreams()[0].name.to_string();
    let round = async || sim_gateway::play_state_round(&f.run.gateway, &upstream).await;

    // The policies as the gateway holds them; her one favourite, then her first reading.
    sim_gateway::read_policies_again(&f.run.gateway, &upstream).await;
    f.run.sim.sim.set_favorite(carol, hidden, true);
    f.same("carol", &path, &token).await;
    assert_eq!(round().await.first, 1);

    // The policy hides that favourite; read again, it drops her answers.
    assert!(f.run.sim.sim.state().set_restrictions(carol, new_policy));
    sim_gateway::read_policies_again(&f.run.gateway, &upstream).await;
    f.same("carol", &path, &token).await;
    let kept_now = f.same("carol", &path, &token).await;
    assert!(kept_now.contains("hit"), "{kept_now}");

    // Made a favourite elsewhere: her count of favourites is one again.
    f.run.sim.sim.set_favorite(carol, kept, true);
    f.clock.advance(std::time::Duration::from_secs(60));
    let changed = round().await;
    assert_eq!(changed.changed, 1, "{changed:?}");
    let (_, cs, body) = f.get(&f.run.proxy, &path, &token).await;
    assert_eq!(
        body["UserData"]["IsFavorite"], true,
        "the favourite is seen after one round ({cs})"
    );
    f.same("carol", &path, &token).await;
}
