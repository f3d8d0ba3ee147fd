//! The simulated Emby 4.9 server over the same library: its identity (no `ProductName`), its
//! credentials (`X-Emby-Token`, `api_key`, each user's `emby_token`), every route under
//! `/emby/` too, numeric item ids in and out, and the `/embywebsocket` change feed.

use std::time::Duration;

use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::jellyfin::emby::EMBY_VERSION;
use cachearr_sim::library::{ItemKind, SectionKind};
use cachearr_sim::{Sim, TestServer};
use futures_util::StreamExt;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Bound against hanging, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(20);

async fn start() -> TestServer {
    let sim = Sim::builder()
        .tracks(120)
        .movies(12)
        .shows(2)
        .seed(5)
        .cost(CostModel::zero())
        .build()
        .expect("sim builds");
    sim.start_emby_test_server(JellyfinOptions::default())
        .await
        .expect("server starts")
}

async fn get(server: &TestServer, token: &str, path: &str) -> (StatusCode, Value) {
    let response = Client::new()
        .get(format!("{}{path}", server.base_url))
        .header("X-Emby-Token", token)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let body = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn is_number(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

#[tokio::test]
async fn emby_names_itself_without_a_product_name() {
    let server = start().await;
    for path in ["/System/Info/Public", "/emby/System/Info/Public"] {
        let response = Client::new()
            .get(format!("{}{path}", server.base_url))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let info: Value = response.json().await.expect("json");
        assert_eq!(info["Version"], EMBY_VERSION);
        assert!(info.get("ProductName").is_none(), "{info}");
        assert!(info["Id"].as_str().is_some_and(|id| id.len() == 32));
    }
}

#[tokio::test]
async fn emby_tokens_work_in_every_legacy_form_and_jellyfin_tokens_do_not() {
    let server = start().await;
    let owner = server.sim.state().owner().clone();
    let token = owner.emby_token();
    assert_eq!(server.token, token);
    let me = format!("/Users/{}", owner.jellyfin_id);
    let (status, record) = get(&server, &token, &format!("/emby{me}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record["Name"], owner.name);
    let by_query = Client::new()
        .get(format!("{}/emby{me}?api_key={token}", server.base_url))
        .send()
        .await
        .expect("request");
    assert_eq!(by_query.status(), StatusCode::OK);
    let (status, _) = get(&server, &owner.jellyfin_token, &me).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The control API lists every user's Emby token.
    let tokens: Value = Client::new()
        .get(format!("{}/_sim/tokens", server.base_url))
        .send()
        .await
        .expect("tokens")
        .json()
        .await
        .expect("json");
    assert_eq!(tokens["users"][0]["emby_token"], token);
    // A sign-in issues a token that works.
    let signed_in: Value = Client::new()
        .post(format!("{}/emby/Users/AuthenticateByName", server.base_url))
        .header(
            "X-Emby-Authorization",
            r#"Emby Client="t", Device="d", DeviceId="x", Version="1""#,
        )
        .json(&json!({"Username": owner.name, "Pw": owner.password}))
        .send()
        .await
        .expect("sign-in")
        .json()
        .await
        .expect("json");
    let issued = signed_in["AccessToken"].as_str().expect("token");
    assert_eq!(get(&server, issued, &me).await.0, StatusCode::OK);
}

/// `GET path` with the owner's token: its status, content type and body.
async fn raw(server: &TestServer, path: &str) -> (StatusCode, String, String) {
    let response = Client::new()
        .get(format!("{}{path}", server.base_url))
        .header("X-Emby-Token", &server.token)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let kind = (response.headers().get("content-type"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, response.text().await.expect("body"))
}

#[tokio::test]
async fn users_me_is_read_as_a_user_id_that_is_no_guid() {
    let server = start().await;
    for path in ["/Users/Me", "/emby/Users/Me", "/emby/users/me"] {
        let (status, kind, body) = raw(&server, path).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_eq!(kind, "text/plain", "{path}");
        assert_eq!(body, "Unrecognized Guid format.", "{path}");
    }
    // The token is checked first: without one it is a 401.
    let anonymous = Client::new()
        .get(format!("{}/emby/Users/Me", server.base_url))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// `own` (a route Jellyfin has for the token's own user, naming none) is an unknown path on
/// Emby, at the root and under `/emby/`, while `named` (the same route naming the user, with
/// `{uid}` for the owner's id) answers.
async fn only_the_named_form_answers(own: &str, named: &str) {
    let server = start().await;
    for prefix in ["", "/emby"] {
        let (status, ..) = raw(&server, &format!("{prefix}{own}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{prefix}{own}");
    }
    let uid = server.sim.state().owner().jellyfin_id.clone();
    let named = named.replace("{uid}", &uid);
    let (status, kind, body) = raw(&server, &format!("/emby{named}")).await;
    assert_eq!(status, StatusCode::OK, "{named}");
    assert!(kind.starts_with("application/json"), "{named}: {kind}");
    assert!(serde_json::from_str::<Value>(&body).is_ok(), "{named}");
}

#[tokio::test]
async fn user_views_is_an_unknown_path() {
    only_the_named_form_answers("/UserViews", "/Users/{uid}/Views").await;
}

#[tokio::test]
async fn items_latest_is_an_unknown_path() {
    only_the_named_form_answers("/Items/Latest", "/Users/{uid}/Items/Latest").await;
}

#[tokio::test]
async fn user_items_resume_is_an_unknown_path() {
    only_the_named_form_answers("/UserItems/Resume", "/Users/{uid}/Items/Resume").await;
}

#[tokio::test]
async fn item_ids_are_short_numbers_both_ways() {
    let server = start().await;
    let token = server.token.clone();
    let (status, page) = get(
        &server,
        &token,
        "/emby/Items?Recursive=true&IncludeItemTypes=Audio&Limit=5&Fields=ParentId",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let items = page["Items"].as_array().expect("items");
    assert_eq!(items.len(), 5);
    for item in items {
        for field in ["Id", "AlbumId", "ParentId"] {
            assert!(is_number(&item[field]), "{field} of {item}");
        }
        assert!(is_number(&item["UserData"]["Key"]) || item["UserData"].get("Key").is_none());
        assert_eq!(item["ServerId"].as_str().map(str::len), Some(32));
    }
    let id = items[0]["Id"].as_str().expect("id");
    let (status, one) = get(&server, &token, &format!("/Items/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["Id"], id);
    assert_eq!(one["Name"], items[0]["Name"]);
    // Views are numbers too, and a view's number lists its contents.
    let user = server.sim.state().owner().jellyfin_id.clone();
    let (_, views) = get(&server, &token, &format!("/Users/{user}/Views")).await;
    let music = views["Items"]
        .as_array()
        .expect("views")
        .iter()
        .find(|v| v["CollectionType"] == "music")
        .expect("a music view");
    assert!(is_number(&music["Id"]));
    let (status, tracks) = get(
        &server,
        &token,
        &format!(
            "/Users/{user}/Items?ParentId={}&Recursive=true&IncludeItemTypes=Audio&Limit=1",
            music["Id"].as_str().unwrap_or_default()
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let in_music: usize = server
        .sim
        .library()
        .sections()
        .iter()
        .filter(|s| s.kind == SectionKind::Music)
        .take(1)
        .map(|s| s.items(ItemKind::Track).len())
        .sum();
    assert_eq!(tracks["TotalRecordCount"], in_music);
    // A number that names nothing is a 404.
    let (status, _) = get(&server, &token, "/Items/3999999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The ids a listing's items name in `property` (`GenreItems`, `Studios`), sorted, unique.
fn named_ids(items: &[Value], property: &str) -> Vec<String> {
    let mut ids: Vec<String> = items
        .iter()
        .flat_map(|item| item[property].as_array().cloned().unwrap_or_default())
        .filter_map(|pair| pair["Id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn sorted_ids(page: &Value) -> Vec<String> {
    let mut ids: Vec<String> = page["Items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["Id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn genres_and_studios_are_items_listed_and_found_by_id() {
    let server = start().await;
    let token = server.token.clone();
    let user = server.sim.state().owner().jellyfin_id.clone();
    let (_, views) = get(&server, &token, &format!("/emby/Users/{user}/Views")).await;
    let movies = views["Items"]
        .as_array()
        .expect("views")
        .iter()
        .find(|v| v["CollectionType"] == "movies")
        .and_then(|v| v["Id"].as_str())
        .expect("a movie library")
        .to_owned();
    let listing = |kind: &str, fields: &str| {
        format!(
            "/emby/Users/{user}/Items?EnableTotalRecordCount=False&Recursive=True&Limit=5000\
             &IncludeItemTypes={kind}&ParentId={movies}&StartIndex=0&Fields={fields}"
        )
    };
    let (status, films) = get(&server, &token, &listing("Movie", "Genres,Studios")).await;
    assert_eq!(status, StatusCode::OK);
    let films = films["Items"].as_array().expect("items").clone();
    for (kind, property) in [("Genre", "GenreItems"), ("Studio", "Studios")] {
        let named = named_ids(&films, property);
        assert!(!named.is_empty(), "the films name {property}");
        let (status, page) = get(&server, &token, &listing(kind, "")).await;
        assert_eq!(status, StatusCode::OK, "{kind}");
        assert_eq!(
            sorted_ids(&page),
            named,
            "{kind}: the names the films carry"
        );
        let first = &page["Items"][0];
        assert_eq!(first["Type"], kind, "{first}");
        assert!(is_number(&first["Id"]), "{first}");
        assert_eq!(
            page["TotalRecordCount"],
            json!(named.len()),
            "uncounted: the page's own"
        );
        // Each is an item of its own, found by its id.
        let id = first["Id"].as_str().expect("id");
        let (status, found) = get(
            &server,
            &token,
            &format!("/emby/Users/{user}/Items?Ids={id}&EnableTotalRecordCount=False"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(found["Items"].as_array().map(Vec::len), Some(1), "{found}");
        assert_eq!(found["Items"][0]["Name"], first["Name"]);
        assert_eq!(found["Items"][0]["Type"], kind);
    }
    // Tags are items too: the films' tags, by name.
    let mut tags: Vec<String> = films
        .iter()
        .flat_map(|f| f["Tags"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    tags.sort();
    tags.dedup();
    let (_, fields_tags) = get(&server, &token, &listing("Movie", "Tags")).await;
    let mut tags_of: Vec<String> = fields_tags["Items"]
        .as_array()
        .expect("items")
        .iter()
        .flat_map(|f| f["Tags"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    tags_of.sort();
    tags_of.dedup();
    assert!(tags.is_empty(), "no Tags without Fields=Tags");
    let (status, page) = get(&server, &token, &listing("Tag", "")).await;
    assert_eq!(status, StatusCode::OK);
    let mut listed: Vec<String> = page["Items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| {
            assert_eq!(t["Type"], "Tag", "{t}");
            t["Name"].as_str().expect("name").to_owned()
        })
        .collect();
    listed.sort();
    assert!(!tags_of.is_empty(), "the films carry tags");
    assert_eq!(listed, tags_of, "the films' tags, not the films");
    // Music carries no genre tags here: its MusicGenre listing is empty, as is a listing of
    // people (no item names any).
    for kind in ["MusicGenre", "Person"] {
        let (status, page) = get(&server, &token, &listing(kind, "")).await;
        assert_eq!(status, StatusCode::OK, "{kind}");
        assert_eq!(page["Items"], json!([]), "{kind}");
    }
}

#[tokio::test]
async fn an_artist_known_by_name_only_is_found_by_id() {
    let server = start().await;
    let token = server.token.clone();
    let user = server.sim.state().owner().jellyfin_id.clone();
    let listing = |kind: &str| {
        format!("/emby/Users/{user}/Items?Recursive=True&IncludeItemTypes={kind}&Fields=SortName")
    };
    let (_, tracks) = get(&server, &token, &listing("Audio")).await;
    let (_, artists) = get(&server, &token, &listing("MusicArtist")).await;
    let listed = sorted_ids(&artists);
    let tracks = tracks["Items"].as_array().expect("items");
    let (id, name) = tracks
        .iter()
        .flat_map(|t| t["ArtistItems"].as_array().cloned().unwrap_or_default())
        .find(|a| !listed.iter().any(|l| *l == a["Id"]))
        .map(|a| (a["Id"].as_str().expect("id").to_owned(), a["Name"].clone()))
        .expect("a track names an artist that is no library artist");
    let (status, found) = get(
        &server,
        &token,
        &format!("/emby/Users/{user}/Items?Ids={id}&Fields=SortName&EnableTotalRecordCount=False"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["Items"].as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found["Items"][0]["Id"], id.as_str());
    assert_eq!(found["Items"][0]["Name"], name);
    assert_eq!(found["Items"][0]["Type"], "MusicArtist");
    // With a library artist in the same list, both are found.
    let both = format!("{},{id}", listed[0]);
    let (status, found) = get(
        &server,
        &token,
        &format!("/emby/Users/{user}/Items?Ids={both}&Fields=SortName"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut expected = vec![listed[0].clone(), id];
    expected.sort();
    assert_eq!(sorted_ids(&found), expected, "{found}");
    assert_eq!(found["TotalRecordCount"], 2);
}

#[tokio::test]
async fn jellyfin_keeps_genres_out_of_item_listings() {
    let sim = Sim::builder()
        .tracks(120)
        .movies(12)
        .shows(2)
        .seed(5)
        .cost(CostModel::zero())
        .build()
        .expect("sim builds");
    let server = sim
        .start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .expect("server starts");
    let token = server.token.clone();
    let (status, page) = get(
        &server,
        &token,
        "/Items?Recursive=true&IncludeItemTypes=Genre",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["Items"], json!([]));
    let (_, genres) = get(&server, &token, "/Genres").await;
    let id = genres["Items"][0]["Id"]
        .as_str()
        .expect("a genre")
        .to_owned();
    let (status, page) = get(&server, &token, &format!("/Items?Ids={id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["Items"], json!([]));
}

#[tokio::test]
async fn playlists_take_and_give_numbers() {
    let server = start().await;
    let token = server.token.clone();
    let (_, page) = get(
        &server,
        &token,
        "/Items?Recursive=true&IncludeItemTypes=Audio&Limit=3",
    )
    .await;
    let ids: Vec<String> = page["Items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["Id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let created: Value = Client::new()
        .post(format!("{}/emby/Playlists", server.base_url))
        .header("X-Emby-Token", &token)
        .json(&json!({"Name": "Numbers", "Ids": ids, "MediaType": "Audio"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    assert!(is_number(&created["Id"]), "{created}");
    let playlist = created["Id"].as_str().expect("id");
    let (status, entries) = get(&server, &token, &format!("/Playlists/{playlist}/Items")).await;
    assert_eq!(status, StatusCode::OK);
    let got: Vec<&str> = entries["Items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            assert!(is_number(&i["PlaylistItemId"]), "{i}");
            i["Id"].as_str().unwrap_or_default()
        })
        .collect();
    assert_eq!(got, ids);
}

#[tokio::test]
async fn the_emby_socket_speaks_with_numbers() {
    let server = start().await;
    let token = server.token.clone();
    let url = format!(
        "ws://{}/embywebsocket?api_key={token}&deviceId=emby-test",
        server.addr
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(url)
        .await
        .expect("socket opens");
    assert_eq!(response.status().as_u16(), 101);
    // The Jellyfin path is not Emby's.
    let wrong = format!("ws://{}/socket?api_key={token}", server.addr);
    assert!(tokio_tungstenite::connect_async(wrong).await.is_err());

    let track = server.sim.library().sections()[0].items(ItemKind::Track)[0];
    let user = server.sim.state().owner().jellyfin_id.clone();
    let marked = Client::new()
        .post(format!(
            "{}/emby/Users/{user}/PlayedItems/{track}",
            server.base_url
        ))
        .header("X-Emby-Token", &token)
        .send()
        .await
        .expect("mark");
    assert_eq!(marked.status(), StatusCode::OK);
    let data = next_of(&mut socket, "UserDataChanged").await;
    assert_eq!(data["Data"]["UserId"], user);
    assert_eq!(data["Data"]["UserDataList"][0]["ItemId"], track.to_string());

    server
        .sim
        .rename_item(track, "Renamed For Emby")
        .expect("renamed");
    let changed = next_of(&mut socket, "LibraryChanged").await;
    assert_eq!(changed["Data"]["ItemsUpdated"][0], track.to_string());
    assert!(
        is_number(&changed["Data"]["CollectionFolders"][0])
            || changed["Data"].get("CollectionFolders").is_none()
    );
}

async fn next_of(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    kind: &str,
) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let frame = socket.next().await.expect("socket open").expect("frame");
            if let Message::Text(text) = frame {
                let value: Value = serde_json::from_str(text.as_str()).expect("json frame");
                if value["MessageType"] == kind {
                    return value;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} message arrived"))
}

/// What tells an administrator's token apart, as on Emby: the user list (`/Users`) and the
/// API keys with their tokens (`/Auth/Keys`) are shown to administrators only (a 403 to any
/// other user), the list saying who administers; the simulator mints no API key, so the key
/// list is empty.
#[tokio::test]
async fn the_user_list_and_the_api_keys_are_shown_to_administrators_only() {
    let server = start().await;
    let (status, users) = get(&server, &server.token, "/emby/Users").await;
    assert_eq!(status, StatusCode::OK);
    let admins: Vec<&Value> = (users.as_array().expect("an array").iter())
        .filter(|u| u["Policy"]["IsAdministrator"] == true)
        .collect();
    let owner = server.sim.state().owner().clone();
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0]["Id"], owner.jellyfin_id.as_str());
    let (status, keys) = get(&server, &server.token, "/emby/Auth/Keys").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys["Items"], json!([]));
    assert_eq!(keys["TotalRecordCount"], 0);

    // Taken out of the state first: the server reads it to answer.
    let other = (server.sim.state().users().iter())
        .find(|u| !u.is_owner)
        .expect("a user")
        .clone();
    for path in ["/emby/Users", "/emby/Auth/Keys"] {
        assert_eq!(
            get(&server, &other.emby_token(), path).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
}
