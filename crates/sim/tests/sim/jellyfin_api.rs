//! The simulated Jellyfin API over real HTTP: authentication in every form the server accepts,
//! paging, casing, search, per-user state, section restrictions, playlists, sessions, images,
//! bad input and the cost model's accounting.
//!
//! Over 800 lines on purpose: one module per server's API, whose tests share the helpers
//! below; they are grouped by endpoint, in the order above. `fidelity` holds the answers
//! published clients were seen to trip on, `versions` each release's own rules, `emby` the
//! Emby dialect over the same handlers.

use cachearr_serverfmt::search::fold;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::{Item, ItemKind};
use cachearr_sim::{Sim, SimBuilder, TestServer};
use cachearr_testkit::http::json_answer;
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

mod emby;
mod fidelity;
mod versions;

/// A server over `library`, with a zero cost model so that accounting is exact.
async fn serve(library: SimBuilder, options: JellyfinOptions) -> TestServer {
    let sim = library.cost(CostModel::zero()).build().expect("sim builds");
    sim.start_jellyfin_test_server(options)
        .await
        .expect("server starts")
}

async fn start() -> TestServer {
    let library = Sim::builder().tracks(240).movies(12).shows(2).seed(7);
    serve(library, JellyfinOptions::default()).await
}

fn token_of(server: &TestServer, name: &str) -> String {
    let state = server.sim.state();
    let user = state
        .users()
        .iter()
        .find(|u| u.name == name)
        .expect("user exists");
    user.jellyfin_token.clone()
}

fn user_id_of(server: &TestServer, name: &str) -> String {
    let state = server.sim.state();
    state
        .users()
        .iter()
        .find(|u| u.name == name)
        .expect("user exists")
        .jellyfin_id
        .clone()
}

fn auth_header(token: &str) -> String {
    format!(
        r#"MediaBrowser Client="tests", Device="cargo", DeviceId="dev-1", Version="1.0", Token="{token}""#
    )
}

fn url(server: &TestServer, path_and_query: &str) -> String {
    format!("{}{path_and_query}", server.base_url)
}

async fn get_json(server: &TestServer, token: &str, path_and_query: &str) -> (StatusCode, Value) {
    let response = send(
        Client::new()
            .get(url(server, path_and_query))
            .header("Authorization", auth_header(token)),
    )
    .await;
    let status = response.status();
    let body = response.bytes().await.expect("body read");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A request carrying the token in `X-Emby-Token`; [`get_json`] sends it in `Authorization`,
/// which also names a device and so a session.
fn request(
    server: &TestServer,
    method: Method,
    token: &str,
    path_and_query: &str,
) -> RequestBuilder {
    Client::new()
        .request(method, url(server, path_and_query))
        .header("X-Emby-Token", token)
}

async fn send(request: RequestBuilder) -> Response {
    request.send().await.expect("sent")
}

async fn status_of(
    server: &TestServer,
    method: Method,
    token: &str,
    path_and_query: &str,
) -> StatusCode {
    send(request(server, method, token, path_and_query))
        .await
        .status()
}

async fn get_anonymous(server: &TestServer, path_and_query: &str) -> Response {
    send(Client::new().get(url(server, path_and_query))).await
}

/// A `/Sessions/Playing…` report; by `Authorization`, as the device (`dev-1`) names the
/// session.
async fn report_playback(server: &TestServer, token: &str, path: &str, body: Value) -> StatusCode {
    let report = Client::new()
        .post(url(server, path))
        .header("Authorization", auth_header(token))
        .json(&body);
    send(report).await.status()
}

fn form_encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn array(value: &Value) -> &[Value] {
    value.as_array().expect("an array")
}

/// The page of a `QueryResult`.
fn items(result: &Value) -> &[Value] {
    result["Items"].as_array().expect("items")
}

fn ids(result: &Value) -> Vec<&str> {
    items(result)
        .iter()
        .map(|i| i["Id"].as_str().expect("id"))
        .collect()
}

fn names(result: &Value) -> Vec<&str> {
    items(result)
        .iter()
        .map(|i| i["Name"].as_str().expect("name"))
        .collect()
}

/// Guids of the tracks/movies the library holds, in section order.
fn guids(server: &TestServer, kind: ItemKind) -> Vec<String> {
    let lib = server.sim.library();
    lib.sections()
        .iter()
        .flat_map(|s| s.items(kind).to_vec())
        .filter_map(|id| lib.item(id).map(|i| i.guid_id()))
        .collect()
}

/// What `read` takes from the library's `n`th item of `kind`, in section order.
fn nth_item<T>(
    server: &TestServer,
    kind: ItemKind,
    n: usize,
    read: impl FnOnce(Item<'_>) -> T,
) -> T {
    let lib = server.sim.library();
    let id = lib
        .sections()
        .iter()
        .flat_map(|s| s.items(kind).iter().copied())
        .nth(n)
        .expect("the library holds enough items");
    read(lib.item(id).expect("item"))
}

#[tokio::test]
async fn public_endpoints_need_no_token_and_the_rest_do() {
    let server = start().await;
    // The python client asks in lower case.
    let public = json_answer(Client::new().get(url(&server, "/system/info/public"))).await;
    assert_eq!(
        public["Id"],
        server.sim.identity().jellyfin_server_id.as_str()
    );
    assert_eq!(public["ProductName"], "Jellyfin Server");
    let users = json_answer(Client::new().get(url(&server, "/Users/Public"))).await;
    assert!(
        users
            .as_array()
            .is_some_and(|u| u.iter().any(|u| u["Name"] == "alice"))
    );
    assert!(
        users[0].get("Policy").is_none(),
        "public users carry no policy"
    );

    for path in [
        "/System/Info",
        "/Users/Me",
        "/Items",
        "/Sessions",
        "/Search/Hints?searchTerm=a",
    ] {
        let status = get_anonymous(&server, path).await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} without a token");
    }
    let (status, info) = get_json(&server, &server.token, "/System/Info").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        info["Id"],
        server.sim.identity().jellyfin_server_id.as_str()
    );
}

#[tokio::test]
async fn every_credential_form_is_accepted_and_bad_ones_are_not() {
    let server = start().await;
    let token = token_of(&server, "alice");
    let url = url(&server, "/Users/Me");
    let client = Client::new();
    let requests = vec![
        (
            "Authorization",
            client
                .get(&url)
                .header("Authorization", auth_header(&token)),
        ),
        (
            "Emby scheme",
            client
                .get(&url)
                .header("Authorization", format!(r#"Emby Token="{token}""#)),
        ),
        (
            "X-Emby-Authorization",
            client.get(&url).header(
                "X-Emby-Authorization",
                format!(r#"MediaBrowser Client="x", Token="{token}""#),
            ),
        ),
        (
            "X-Emby-Token",
            client.get(&url).header("X-Emby-Token", &token),
        ),
        (
            "X-MediaBrowser-Token",
            client.get(&url).header("X-MediaBrowser-Token", &token),
        ),
        ("api_key", client.get(format!("{url}?api_key={token}"))),
        ("ApiKey", client.get(format!("{url}?ApiKey={token}"))),
        ("apikey", client.get(format!("{url}?apikey={token}"))),
    ];
    for (form, request) in requests {
        let response = send(request).await;
        assert_eq!(response.status(), StatusCode::OK, "{form}");
        let me: Value = response.json().await.expect("json");
        assert_eq!(me["Name"], "alice", "{form}");
        assert_eq!(me["Policy"]["IsAdministrator"], false, "{form}");
    }
    let refused = vec![
        client.get(&url).header(
            "Authorization",
            auth_header("0123456789abcdef0123456789abcdef"),
        ),
        client
            .get(&url)
            .header("Authorization", format!("Basic {token}")),
        client
            .get(&url)
            .header("Authorization", r#"MediaBrowser Client="x""#),
        client.get(format!("{url}?api_key=")),
    ];
    for request in refused {
        assert_eq!(send(request).await.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn authenticate_by_name_issues_a_working_token() {
    let server = start().await;
    let client = Client::new();
    let url = url(&server, "/Users/AuthenticateByName");
    let login = |body: &str| {
        client
            .post(&url)
            .header(
                "Authorization",
                r#"MediaBrowser Client="t", Device="d", DeviceId="login-dev", Version="1""#,
            )
            .header("Content-Type", "application/json")
            .body(body.to_owned())
    };
    let response = send(login(
        &json!({"Username": "bob", "Pw": "bob-password"}).to_string(),
    ))
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let result: Value = response.json().await.expect("json");
    assert_eq!(result["User"]["Name"], "bob");
    assert_eq!(
        result["ServerId"],
        server.sim.identity().jellyfin_server_id.as_str()
    );
    assert_eq!(result["SessionInfo"]["DeviceId"], "login-dev");
    let token = result["AccessToken"].as_str().expect("token").to_owned();
    let (status, me) = get_json(&server, &token, "/Users/Me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["Id"], result["User"]["Id"]);

    for (body, expected) in [
        // Property names bind case-insensitively, as System.Text.Json does for the server.
        (
            r#"{"username":"BOB","pw":"bob-password"}"#.to_owned(),
            StatusCode::OK,
        ),
        (
            json!({"Username": "bob", "Pw": "nope"}).to_string(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"Username": "mallory", "Pw": ""}).to_string(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"Pw": "bob-password"}).to_string(),
            StatusCode::BAD_REQUEST,
        ),
        ("{not json".to_owned(), StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(send(login(&body)).await.status(), expected, "{body}");
    }
}

#[tokio::test]
async fn paging_returns_every_track_exactly_once() {
    let server = start().await;
    let expected = guids(&server, ItemKind::Track);
    let mut seen = Vec::new();
    let mut start = 0;
    loop {
        let (status, page) = get_json(
            &server,
            &server.token,
            &format!("/Items?IncludeItemTypes=Audio&Recursive=true&SortBy=SortName&StartIndex={start}&Limit=50"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["TotalRecordCount"], expected.len());
        assert_eq!(page["StartIndex"], start);
        let items = items(&page);
        if items.is_empty() {
            break;
        }
        assert!(items.len() <= 50);
        for item in items {
            assert_eq!(item["Type"], "Audio");
            assert_eq!(item["MediaType"], "Audio");
            assert!(item["RunTimeTicks"].as_i64().is_some_and(|t| t > 0));
            assert!(item.get("Path").is_none(), "Path only with Fields=Path");
            seen.push(item["Id"].as_str().expect("id").to_owned());
        }
        start += items.len();
    }
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    sorted_seen.dedup();
    assert_eq!(sorted_seen.len(), seen.len(), "no track on two pages");
    let mut sorted_expected = expected.clone();
    sorted_expected.sort();
    assert_eq!(sorted_seen, sorted_expected);

    // Past the end: no items, the total still right.
    let (_, past) = get_json(
        &server,
        &server.token,
        &format!(
            "/Items?IncludeItemTypes=Audio&Recursive=true&StartIndex={}",
            expected.len() + 5
        ),
    )
    .await;
    assert_eq!(items(&past).len(), 0);
    assert_eq!(past["TotalRecordCount"], expected.len());
    // Without the count, the server answers the page's own item count
    // (`LibraryManager.GetItemsResult`), the last page's too.
    let (_, uncounted) = get_json(
        &server,
        &server.token,
        "/Items?IncludeItemTypes=Audio&Recursive=true&Limit=3&EnableTotalRecordCount=false",
    )
    .await;
    assert_eq!(uncounted["TotalRecordCount"], 3);
    assert_eq!(items(&uncounted).len(), 3);
    let (_, last) = get_json(
        &server,
        &server.token,
        &format!(
            "/Items?IncludeItemTypes=Audio&Recursive=true&StartIndex={}&Limit=3&EnableTotalRecordCount=false",
            expected.len() - 2
        ),
    )
    .await;
    assert_eq!(last["TotalRecordCount"], 2);
    assert_eq!(items(&last).len(), 2);
}

#[tokio::test]
async fn parameter_names_ignore_case_and_camel_case_is_on_request() {
    let server = start().await;
    let (_, canonical) = get_json(
        &server,
        &server.token,
        "/Items?IncludeItemTypes=Audio&Recursive=true&Limit=5&Fields=Path,ProviderIds",
    )
    .await;
    let (_, shouted) = get_json(
        &server,
        &server.token,
        "/items?INCLUDEITEMTYPES=audio&recursive=TRUE&limit=5&fields=path,providerids",
    )
    .await;
    assert_eq!(canonical, shouted);
    assert!(
        canonical["Items"][0]["Path"]
            .as_str()
            .is_some_and(|p| p.starts_with('/'))
    );
    assert!(canonical["Items"][0]["ProviderIds"].is_object());

    let camel = json_answer(
        Client::new()
            .get(url(
                &server,
                "/Items?IncludeItemTypes=Audio&Recursive=true&Limit=5&Fields=ProviderIds",
            ))
            .header("Authorization", auth_header(&server.token))
            .header("Accept", r#"application/json; profile="CamelCase""#),
    )
    .await;
    assert_eq!(camel["totalRecordCount"], canonical["TotalRecordCount"]);
    assert_eq!(camel["items"][0]["id"], canonical["Items"][0]["Id"]);
    assert_eq!(camel["items"][0]["userData"]["played"], false);
    // Dictionary keys keep their case in both profiles.
    let provider_keys = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .flat_map(|item| {
                item.get("ProviderIds")
                    .or(item.get("providerIds"))
                    .and_then(Value::as_object)
                    .map(|m| m.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
            })
            .collect()
    };
    assert_eq!(
        provider_keys(&camel["items"]),
        provider_keys(&canonical["Items"])
    );
}

#[tokio::test]
async fn bad_input_is_a_400_or_404_never_a_crash() {
    let server = start().await;
    let bad = [
        "/Items?Limit=abc",
        "/Items?StartIndex=-1",
        "/Items?Recursive=maybe",
        "/Items?ParentId=xyz",
        "/Items/not-a-guid",
        "/Search/Hints",
        "/Users/not-a-guid/Items",
    ];
    for path in bad {
        let response = send(request(&server, Method::GET, &server.token, path)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .is_ok_and(|c| c.contains("problem+json")),
            "{path}"
        );
        let problem: Value = response.json().await.expect("problem json");
        assert_eq!(problem["status"], 400, "{path}");
    }
    let unknown = "00000000000000000000000000000001";
    for (method, path) in [
        (Method::GET, format!("/Items/{unknown}")),
        (Method::GET, format!("/Items?ParentId={unknown}")),
        (Method::GET, format!("/Users/{unknown}/Items")),
        (Method::POST, format!("/UserPlayedItems/{unknown}")),
        (Method::GET, "/Definitely/Not/A/Route".to_owned()),
    ] {
        let status = status_of(&server, method, &server.token, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // Comma-delimited lists skip what does not parse, as the server's binder does: an
    // unknown type filters nothing, an unknown sort key sorts by nothing.
    let (_, all) = get_json(&server, &server.token, "/Items?Recursive=true&Limit=1").await;
    for path in [
        "/Items?Recursive=true&Limit=1&IncludeItemTypes=Bogus",
        "/Items?Recursive=true&Limit=1&SortBy=Nope&SortOrder=Sideways",
        "/Items?Recursive=true&Limit=1&Ids=not-a-guid",
        "/Items?Recursive=true&Limit=1&Filters=IsShiny&Fields=Sparkle",
    ] {
        let (status, page) = get_json(&server, &server.token, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(page["TotalRecordCount"], all["TotalRecordCount"], "{path}");
    }
    let (_, mixed) = get_json(
        &server,
        &server.token,
        "/Items?Recursive=true&IncludeItemTypes=Bogus,Movie",
    )
    .await;
    assert_eq!(
        mixed["TotalRecordCount"],
        guids(&server, ItemKind::Movie).len()
    );
    let (_, unknown_ids) = get_json(
        &server,
        &server.token,
        "/Items?Recursive=true&Ids=00000000000000000000000000000001,junk",
    )
    .await;
    assert_eq!(
        unknown_ids["TotalRecordCount"], 0,
        "well-formed unknown ids match nothing"
    );
    let wrong_method = status_of(&server, Method::DELETE, &server.token, "/Items").await;
    assert_eq!(wrong_method, StatusCode::METHOD_NOT_ALLOWED);
    // Still alive.
    let (status, _) = get_json(&server, &server.token, "/System/Info").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn search_finds_items_by_any_case_and_ranks_exact_matches_first() {
    let server = start().await;
    let (name, guid) = nth_item(&server, ItemKind::Track, 3, |track| {
        (track.title().to_owned(), track.guid_id())
    });
    let (status, found) = get_json(
        &server,
        &server.token,
        &format!(
            "/Items?SearchTerm={}&Recursive=true&IncludeItemTypes=Audio",
            form_encoded(&name.to_uppercase())
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let items = items(&found);
    assert!(
        items.iter().any(|i| i["Id"] == guid.as_str()),
        "{name} found by /Items search"
    );
    for item in items {
        let title = item["Name"].as_str().unwrap_or_default().to_lowercase();
        assert!(title.contains(&name.to_lowercase()) || !title.is_empty());
    }
    let (status, hints) = get_json(
        &server,
        &server.token,
        &format!("/Search/Hints?searchTerm={}", form_encoded(&name)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let first = &hints["SearchHints"][0];
    assert_eq!(
        first["Name"].as_str().map(str::to_lowercase),
        Some(name.to_lowercase())
    );
    assert!(
        array(&hints["SearchHints"])
            .iter()
            .any(|h| h["Id"] == guid.as_str())
    );
    assert!(hints["TotalRecordCount"].as_u64().is_some_and(|n| n >= 1));
    let (_, none) = get_json(
        &server,
        &server.token,
        "/Search/Hints?searchTerm=zzzqqqxxx-nothing",
    )
    .await;
    assert_eq!(none["TotalRecordCount"], 0);
}

#[tokio::test]
async fn play_state_and_favourites_belong_to_each_user() {
    let server = start().await;
    let alice = token_of(&server, "alice");
    let track = guids(&server, ItemKind::Track)[0].clone();
    let played = json_answer(request(
        &server,
        Method::POST,
        &alice,
        &format!("/UserPlayedItems/{track}"),
    ))
    .await;
    assert_eq!(played["Played"], true);
    assert_eq!(played["PlayCount"], 1);
    assert_eq!(played["ItemId"], track.as_str());

    let (_, as_alice) = get_json(&server, &alice, &format!("/Items/{track}")).await;
    let (_, as_admin) = get_json(&server, &server.token, &format!("/Items/{track}")).await;
    assert_eq!(as_alice["UserData"]["Played"], true);
    assert_eq!(
        as_admin["UserData"]["Played"], false,
        "one user's play state never shows to another"
    );

    // The old route, with the user in the path, and favourites.
    let alice_id = user_id_of(&server, "alice");
    let status = status_of(
        &server,
        Method::POST,
        &alice,
        &format!("/Users/{alice_id}/FavoriteItems/{track}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, favs) = get_json(
        &server,
        &alice,
        "/Items?Recursive=true&IncludeItemTypes=Audio&Filters=IsFavorite",
    )
    .await;
    assert_eq!(favs["TotalRecordCount"], 1);
    assert_eq!(favs["Items"][0]["Id"], track.as_str());
    let (_, admin_favs) = get_json(
        &server,
        &server.token,
        "/Items?Recursive=true&IncludeItemTypes=Audio&IsFavorite=true",
    )
    .await;
    assert_eq!(admin_favs["TotalRecordCount"], 0);

    let unplayed = json_answer(request(
        &server,
        Method::DELETE,
        &alice,
        &format!("/Users/{alice_id}/PlayedItems/{track}"),
    ))
    .await;
    assert_eq!(unplayed["Played"], false);
    // Alice may not act for the admin.
    let admin_id = user_id_of(&server, "admin");
    let forbidden = status_of(
        &server,
        Method::POST,
        &alice,
        &format!("/UserPlayedItems/{track}?userId={admin_id}"),
    )
    .await;
    assert_eq!(forbidden, StatusCode::FORBIDDEN);
    assert_eq!(server.sim.state().play_state(1, 1).view_count, 0);
}

#[tokio::test]
async fn restricted_users_see_only_their_libraries() {
    let server = start().await;
    let bob = token_of(&server, "bob"); // music only
    let kid = token_of(&server, "kid"); // movies and shows only
    let (_, views) = get_json(&server, &bob, "/UserViews").await;
    let types: Vec<&str> = items(&views)
        .iter()
        .filter_map(|v| v["CollectionType"].as_str())
        .collect();
    assert!(
        !types.is_empty() && types.iter().all(|t| *t == "music"),
        "{types:?}"
    );

    let (_, movies) = get_json(
        &server,
        &bob,
        "/Items?Recursive=true&IncludeItemTypes=Movie",
    )
    .await;
    assert_eq!(movies["TotalRecordCount"], 0);
    let (_, tracks) = get_json(
        &server,
        &kid,
        "/Items?Recursive=true&IncludeItemTypes=Audio",
    )
    .await;
    assert_eq!(tracks["TotalRecordCount"], 0);
    let (_, everything) = get_json(&server, &kid, "/Items?Recursive=true").await;
    assert!(
        items(&everything).iter().all(|i| i["Type"] != "Audio"
            && i["Type"] != "MusicAlbum"
            && i["Type"] != "MusicArtist")
    );

    let movie = guids(&server, ItemKind::Movie)[0].clone();
    let (status, _) = get_json(&server, &bob, &format!("/Items/{movie}")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a hidden item looks like a missing one"
    );
    let (_, admin_view) = get_json(&server, &server.token, &format!("/Items/{movie}")).await;
    let name = admin_view["Name"].as_str().expect("name");
    let (_, hints) = get_json(
        &server,
        &bob,
        &format!("/Search/Hints?searchTerm={}", form_encoded(name)),
    )
    .await;
    assert!(
        array(&hints["SearchHints"])
            .iter()
            .all(|h| h["Id"] != movie.as_str())
    );
    let status = status_of(
        &server,
        Method::POST,
        &bob,
        &format!("/UserPlayedItems/{movie}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = get_json(&server, &bob, "/Users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin_id = user_id_of(&server, "admin");
    let (status, _) = get_json(&server, &bob, &format!("/Users/{admin_id}/Items")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, users) = get_json(&server, &server.token, "/Users").await;
    assert_eq!(status, StatusCode::OK);
    let bob_dto = array(&users)
        .iter()
        .find(|u| u["Name"] == "bob")
        .expect("bob listed");
    assert_eq!(bob_dto["Policy"]["EnableAllFolders"], false);
    let folders = bob_dto["Policy"]["EnabledFolders"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(folders, items(&views).len());
}

#[tokio::test]
async fn playlists_can_be_created_filled_reordered_and_emptied() {
    let server = start().await;
    let alice = token_of(&server, "alice");
    let tracks = guids(&server, ItemKind::Track);
    let road_trip =
        json!({"Name": "Road trip", "Ids": [tracks[0], tracks[1]], "MediaType": "Audio"});
    let created =
        json_answer(request(&server, Method::POST, &alice, "/Playlists").json(&road_trip)).await;
    let id = created["Id"].as_str().expect("playlist id").to_owned();
    let status = status_of(
        &server,
        Method::POST,
        &alice,
        &format!("/Playlists/{id}/Items?ids={},{}", tracks[2], tracks[3]),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listing) = get_json(&server, &alice, &format!("/Playlists/{id}/Items")).await;
    assert_eq!(ids(&listing), tracks[..4].to_vec());
    let entries: Vec<String> = items(&listing)
        .iter()
        .map(|i| i["PlaylistItemId"].as_str().expect("entry id").to_owned())
        .collect();
    let status = status_of(
        &server,
        Method::POST,
        &alice,
        &format!("/Playlists/{id}/Items/{}/Move/0", entries[2]),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let status = status_of(
        &server,
        Method::DELETE,
        &alice,
        &format!("/Playlists/{id}/Items?EntryIds={}", entries[0]),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listing) = get_json(&server, &alice, &format!("/Playlists/{id}/Items")).await;
    assert_eq!(
        ids(&listing),
        vec![tracks[2].clone(), tracks[1].clone(), tracks[3].clone()]
    );
    let (_, playlist) = get_json(&server, &alice, &format!("/Playlists/{id}")).await;
    assert_eq!(playlist["ItemIds"].as_array().map(Vec::len), Some(3));
    let (_, mine) = get_json(
        &server,
        &alice,
        "/Items?IncludeItemTypes=Playlist&Recursive=true",
    )
    .await;
    assert_eq!(mine["TotalRecordCount"], 1);
    assert_eq!(mine["Items"][0]["Name"], "Road trip");
    assert_eq!(mine["Items"][0]["MediaType"], "Audio");

    // Someone else's playlist does not exist for you.
    let (status, _) = get_json(
        &server,
        &token_of(&server, "bob"),
        &format!("/Playlists/{id}/Items"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, theirs) = get_json(
        &server,
        &server.token,
        "/Items?IncludeItemTypes=Playlist&Recursive=true",
    )
    .await;
    assert_eq!(theirs["TotalRecordCount"], 0);
    // Bad input.
    let nameless =
        request(&server, Method::POST, &alice, "/Playlists").json(&json!({"Ids": [tracks[0]]}));
    assert_eq!(
        send(nameless).await.status(),
        StatusCode::BAD_REQUEST,
        "a playlist needs a name"
    );
    let status = status_of(
        &server,
        Method::POST,
        &alice,
        &format!("/Playlists/{id}/Items/{}/Move/x", entries[1]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn playback_reports_make_sessions_and_move_the_resume_point() {
    let server = start().await;
    let alice = token_of(&server, "alice");
    let track = guids(&server, ItemKind::Track)[5].clone();
    for (path, report) in [
        (
            "/Sessions/Playing",
            json!({"ItemId": track, "PositionTicks": 0}),
        ),
        (
            "/Sessions/Playing/Progress",
            json!({"ItemId": track, "PositionTicks": 300_000_000, "IsPaused": true}),
        ),
    ] {
        let status = report_playback(&server, &alice, path, report).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
    }
    let (_, sessions) = get_json(&server, &alice, "/Sessions").await;
    let session = array(&sessions)
        .iter()
        .find(|s| s["DeviceId"] == "dev-1")
        .expect("alice's device has a session");
    assert_eq!(session["UserName"], "alice");
    assert_eq!(session["NowPlayingItem"]["Id"], track.as_str());
    assert_eq!(session["PlayState"]["IsPaused"], true);
    assert_eq!(session["PlayState"]["PositionTicks"], 300_000_000);

    let status = report_playback(
        &server,
        &alice,
        "/Sessions/Playing/Stopped",
        json!({"ItemId": track, "PositionTicks": 310_000_000}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, item) = get_json(&server, &alice, &format!("/Items/{track}")).await;
    assert_eq!(item["UserData"]["PlaybackPositionTicks"], 310_000_000);
    let (_, sessions) = get_json(&server, &alice, "/Sessions").await;
    assert!(
        array(&sessions)
            .iter()
            .all(|s| s.get("NowPlayingItem").is_none())
    );
    // Bob sees neither alice's session nor, as a non-admin, anyone else's.
    let (_, bobs) = get_json(&server, &token_of(&server, "bob"), "/Sessions").await;
    assert!(array(&bobs).iter().all(|s| s["UserName"] == "bob"));
    let bad = report_playback(
        &server,
        &alice,
        "/Sessions/Playing",
        json!({"PositionTicks": 1}),
    )
    .await;
    assert_eq!(bad, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn images_are_small_deterministic_pngs_for_anyone() {
    let server = start().await;
    let album = guids(&server, ItemKind::Album).remove(0);
    let (_, dto) = get_json(&server, &server.token, &format!("/Items/{album}")).await;
    let tag = dto["ImageTags"]["Primary"].as_str().expect("primary tag");
    let path = format!("/Items/{album}/Images/Primary?maxWidth=120&tag={tag}");
    let first = get_anonymous(&server, &path).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["content-type"], "image/png");
    assert!(
        first.headers()["cache-control"]
            .to_str()
            .is_ok_and(|c| c.contains("immutable"))
    );
    let bytes = first.bytes().await.expect("body");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    assert_eq!((width, height), (120, 120));
    let again = get_anonymous(&server, &path).await.bytes().await;
    assert_eq!(bytes, again.expect("body"));

    let missing = get_anonymous(&server, &format!("/Items/{album}/Images/Backdrop")).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let bogus = get_anonymous(&server, &format!("/Items/{album}/Images/Sparkles")).await;
    assert_eq!(bogus.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn latest_groups_tracks_into_albums_and_respects_access() {
    let server = start().await;
    let (status, latest) = get_json(
        &server,
        &server.token,
        "/Items/Latest?IncludeItemTypes=Audio&Limit=4",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let list = latest.as_array().expect("a bare array, not a QueryResult");
    assert!(!list.is_empty() && list.len() <= 4);
    assert!(list.iter().all(|i| i["Type"] == "MusicAlbum"));
    let (_, kid_latest) = get_json(
        &server,
        &token_of(&server, "kid"),
        "/Items/Latest?IncludeItemTypes=Audio",
    )
    .await;
    assert_eq!(kid_latest.as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn counts_without_item_types_cost_far_more_than_typed_ones() {
    let server = start().await;
    let scanned_by = |path: &'static str, expected: StatusCode| {
        let server = &server;
        async move {
            server.sim.reset_stats();
            let (status, _) = get_json(server, &server.token, path).await;
            assert_eq!(status, expected, "{path}");
            server.sim.stats().items_scanned
        }
    };
    let ok = StatusCode::OK;
    let typed = scanned_by("/Items?Recursive=true&IncludeItemTypes=Audio&Limit=1", ok).await;
    let untyped = scanned_by("/Items?Recursive=true&Limit=1", ok).await;
    let uncounted = scanned_by(
        "/Items?Recursive=true&Limit=1&EnableTotalRecordCount=false",
        ok,
    )
    .await;
    let paged_small = scanned_by(
        "/Items?ParentId=00000000000000000000000000000000&Limit=1",
        StatusCode::NOT_FOUND,
    )
    .await;
    let (tracks, items) = {
        let lib = server.sim.library();
        let kinds = [
            ItemKind::Artist,
            ItemKind::Album,
            ItemKind::Track,
            ItemKind::Movie,
            ItemKind::Show,
            ItemKind::Season,
            ItemKind::Episode,
        ];
        let count = |kinds: &[ItemKind]| -> u64 {
            lib.sections()
                .iter()
                .flat_map(|s| kinds.iter().map(move |k| s.items(*k).len() as u64))
                .sum()
        };
        (count(&[ItemKind::Track]), count(&kinds))
    };
    // Typed: selection and COUNT through the type index, a fifth of a row unit each.
    assert_eq!(typed, 2 * tracks.div_ceil(5));
    // Untyped: every item scanned, and the COUNT costs 8 units per item.
    assert_eq!(untyped, items * 9);
    assert_eq!(uncounted, items, "skipping the count skips its cost");
    assert!(untyped > typed * 15, "untyped {untyped} vs typed {typed}");
    // A 404 answer scans nothing.
    assert_eq!(paged_small, 0);
    // Route labels ignore the case of the request path.
    server.sim.reset_stats();
    for path in ["/Items?Limit=1", "/items?limit=1", "/ITEMS?Limit=1"] {
        get_json(&server, &server.token, path).await;
    }
    let stats = server.sim.stats();
    assert_eq!(
        stats.routes.get("GET /Items").map(|r| r.requests),
        Some(3),
        "{:?}",
        stats.routes
    );
}

#[tokio::test]
async fn library_refresh_is_for_administrators() {
    let server = start().await;
    let alice = token_of(&server, "alice");
    let as_alice = status_of(&server, Method::POST, &alice, "/Library/Refresh").await;
    assert_eq!(as_alice, StatusCode::FORBIDDEN);
    let as_admin = status_of(&server, Method::POST, &server.token, "/Library/Refresh").await;
    assert_eq!(as_admin, StatusCode::NO_CONTENT);
    assert!(
        !server.sim.state().activities().is_empty(),
        "a scan is running"
    );
}

#[tokio::test]
async fn sorted_listings_follow_library_changes() {
    let server = start().await;
    let path = "/Items?IncludeItemTypes=Audio&Recursive=true&SortBy=SortName&Limit=3";
    let (_, before) = get_json(&server, &server.token, path).await;
    let total = before["TotalRecordCount"].as_u64().expect("total");
    // The same page twice (the second from the sorted-listing cache) is the same answer.
    let (_, again) = get_json(&server, &server.token, path).await;
    assert_eq!(before, again);
    let (last_id, last_guid) = {
        let lib = server.sim.library();
        let id = *lib.sections()[0]
            .items(ItemKind::Track)
            .last()
            .expect("tracks");
        (id, lib.item(id).expect("track").guid_id())
    };
    server
        .sim
        .rename_item(last_id, "!!! First Of All")
        .expect("renamed");
    let (_, after) = get_json(&server, &server.token, path).await;
    assert_eq!(after["Items"][0]["Id"], last_guid.as_str());
    assert_eq!(after["Items"][0]["Name"], "!!! First Of All");
    server.sim.remove_item(last_id).expect("removed");
    let (_, removed) = get_json(&server, &server.token, path).await;
    assert_eq!(removed["TotalRecordCount"].as_u64(), Some(total - 1));
    assert_ne!(removed["Items"][0]["Id"], last_guid.as_str());
    let (_, descending) = get_json(
        &server,
        &server.token,
        "/Items?IncludeItemTypes=Audio&Recursive=true&SortBy=SortName&SortOrder=Descending&Limit=3",
    )
    .await;
    assert_ne!(descending["Items"][0]["Id"], removed["Items"][0]["Id"]);
}

#[tokio::test]
async fn album_artist_sorts_by_the_artists_name_and_sort_name_ties_by_name() {
    let server = start().await;
    // The server's album artist key is the artist's name folded (`CleanValue`), not its sort
    // name: "The Aardvarks" sorts under "t", not first.
    let artist = {
        let lib = server.sim.library();
        *lib.sections()
            .iter()
            .find_map(|s| s.items(ItemKind::Artist).last())
            .expect("artists")
    };
    server
        .sim
        .rename_item(artist, "The Aardvarks")
        .expect("renamed");
    let (_, albums) = get_json(
        &server,
        &server.token,
        "/Items?IncludeItemTypes=MusicAlbum&Recursive=true&SortBy=AlbumArtist",
    )
    .await;
    let keys: Vec<String> = albums["Items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| fold(a["AlbumArtist"].as_str().expect("album artist")))
        .collect();
    assert!(keys.len() > 2, "albums listed");
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "by artist: {keys:?}");
    assert!(keys.contains(&"the aardvarks".to_owned()));
    assert_ne!(keys[0], "the aardvarks");
    // Two films whose sort names tie ("The Dune" sorts as "Dune") follow by name, whatever
    // their ids.
    let (low, high) = {
        let lib = server.sim.library();
        let mut ids: Vec<_> = lib
            .sections()
            .iter()
            .flat_map(|s| s.items(ItemKind::Movie).to_vec())
            .collect();
        ids.sort_unstable();
        (ids[0], ids[1])
    };
    server.sim.rename_item(low, "The Dune").expect("renamed");
    server.sim.rename_item(high, "Dune").expect("renamed");
    for (order, expected) in [
        ("Ascending", ["Dune", "The Dune"]),
        ("Descending", ["The Dune", "Dune"]),
    ] {
        let (_, films) = get_json(
            &server,
            &server.token,
            &format!(
                "/Items?IncludeItemTypes=Movie&Recursive=true&SortBy=SortName&SortOrder={order}"
            ),
        )
        .await;
        let names: Vec<&str> = films["Items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|f| f["Name"].as_str())
            .filter(|n| n.ends_with("Dune"))
            .collect();
        assert_eq!(names, expected, "{order}");
    }
}

#[tokio::test]
async fn hostile_requests_never_get_a_server_error() {
    let server = start().await;
    let track = guids(&server, ItemKind::Track)[0].clone();
    let long = "9".repeat(5_000);
    let paths = [
        "/Items?Limit=99999999999".to_owned(),
        "/Items?StartIndex=2147483647&Limit=2147483647&Recursive=true".to_owned(),
        "/Items?SearchTerm=%ZZ%00%FF&Recursive=true".to_owned(),
        "/Items?SearchTerm=%E2%9C%93%F0%9F%8E%B5&Recursive=true".to_owned(),
        "/Items?Ids=,,,&Fields=,,".to_owned(),
        format!("/Items?Ids={track},{track},{track}"),
        format!("/Items?ParentId={track}&Recursive=true&SortBy=Random,DatePlayed,Runtime"),
        format!("/Items?ParentId={long}"),
        format!("/Items/{long}"),
        "//Items//?&&&=&".to_owned(),
        "/Items?SortBy=SortName&SortOrder=Descending,Ascending,Descending".to_owned(),
        "/Items?Years=abc".to_owned(),
        "/Items?NameStartsWith=%C3%A9&Recursive=true".to_owned(),
        format!("/Items/{track}/Images/Primary?maxWidth=0&maxHeight=0"),
        format!("/Items/{track}/Images/Primary?fillWidth=99999999&fillHeight=99999999"),
        format!("/Items/{track}/Images/Primary/7"),
        "/Items/Latest?Limit=-5".to_owned(),
        "/Search/Hints?searchTerm=%20%20".to_owned(),
        "/Artists?StartIndex=100000".to_owned(),
        "/Shows/abc/Episodes".to_owned(),
        format!("/Shows/{track}/Seasons"),
        "/Sessions?ActiveWithinSeconds=-1".to_owned(),
        "/Users/Me/Items".to_owned(),
        "/UserViews?userId=".to_owned(),
    ];
    for path in &paths {
        let status = status_of(&server, Method::GET, &server.token, path).await;
        assert!(status.as_u16() < 500, "{path} → {status}");
    }
    let bodies = [
        "",
        "null",
        "[]",
        "\"x\"",
        "{\"ItemId\": 5}",
        "{\"Name\": 7, \"Ids\": \"a,b\"}",
    ];
    for endpoint in [
        "/Playlists",
        "/Sessions/Playing",
        "/Users/AuthenticateByName",
    ] {
        for body in bodies {
            let post = request(&server, Method::POST, &server.token, endpoint)
                .header("Content-Type", "application/json")
                .body(body);
            let status = send(post).await.status();
            assert!(status.as_u16() < 500, "{endpoint} {body:?} → {status}");
        }
    }
    let head =
        send(Client::new().head(url(&server, &format!("/Items/{track}/Images/Primary")))).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn legacy_credentials_can_be_switched_off_like_jellyfin_12() {
    let options = JellyfinOptions {
        legacy_authorization: false,
        ..JellyfinOptions::default()
    };
    let server = serve(
        Sim::builder().tracks(20).movies(2).shows(1).seed(3),
        options,
    )
    .await;
    let url = url(&server, "/Users/Me");
    let client = Client::new();
    let modern = [
        client
            .get(&url)
            .header("Authorization", auth_header(&server.token)),
        client.get(format!("{url}?ApiKey={}", server.token)),
    ];
    for request in modern {
        assert_eq!(send(request).await.status(), StatusCode::OK);
    }
    let legacy = [
        client.get(&url).header("X-Emby-Token", &server.token),
        client
            .get(&url)
            .header("Authorization", format!(r#"Emby Token="{}""#, server.token)),
        client.get(format!("{url}?api_key={}", server.token)),
    ];
    for request in legacy {
        assert_eq!(send(request).await.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn media_streams_serve_ranges_to_those_who_may_see_them() {
    let server = start().await;
    let (track, size, hash) = nth_item(&server, ItemKind::Track, 0, |track| {
        (track.guid_id(), track.file_size(), track.content_hash())
    });
    let admin = &server.token;
    let stream = format!("/Audio/{track}/stream");
    let whole = send(request(
        &server,
        Method::GET,
        admin,
        &format!("/Audio/{track}/stream.mp3?static=true"),
    ))
    .await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.bytes().await.expect("body").len() as u64, size);
    let ranged = |path: &str, range: &str| {
        send(request(&server, Method::GET, admin, path).header("Range", range))
    };
    let part = ranged(&format!("/Audio/{track}/universal"), "bytes=100-199").await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"].to_str().ok(),
        Some(format!("bytes 100-199/{size}").as_str())
    );
    let bytes = part.bytes().await.expect("body");
    assert_eq!(
        bytes.to_vec(),
        cachearr_sim::media::synthetic_bytes(hash, 100, 100)
    );
    let download = ranged(&format!("/Items/{track}/Download"), "bytes=0-0").await;
    assert_eq!(download.status(), StatusCode::PARTIAL_CONTENT);
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .is_ok_and(|d| d.starts_with("attachment"))
    );

    let anonymous = get_anonymous(&server, &stream).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let hidden = status_of(&server, Method::GET, &token_of(&server, "kid"), &stream).await;
    assert_eq!(hidden, StatusCode::NOT_FOUND);
    let album = guids(&server, ItemKind::Album).remove(0);
    let folder = status_of(
        &server,
        Method::GET,
        admin,
        &format!("/Audio/{album}/stream"),
    )
    .await;
    assert_eq!(folder, StatusCode::NOT_FOUND);
    let unsatisfiable = ranged(&stream, &format!("bytes={}-", size + 10)).await;
    assert_eq!(unsatisfiable.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn resume_and_next_up_follow_each_users_playback() {
    let server = start().await;
    let alice = token_of(&server, "alice");
    let movie = guids(&server, ItemKind::Movie).remove(0);
    let show = nth_item(&server, ItemKind::Show, 0, |show| show.id());
    let episodes: Vec<String> = {
        let lib = server.sim.library();
        lib.leaves(show)
            .iter()
            .filter_map(|id| lib.item(*id))
            .map(|e| e.guid_id())
            .collect()
    };
    let report = report_playback(
        &server,
        &alice,
        "/Sessions/Playing/Stopped",
        json!({"ItemId": movie, "PositionTicks": 600_000_000}),
    )
    .await;
    assert_eq!(report, StatusCode::NO_CONTENT);
    let played = status_of(
        &server,
        Method::POST,
        &alice,
        &format!("/UserPlayedItems/{}", episodes[0]),
    )
    .await;
    assert!(played.is_success());

    let (status, resume) = get_json(&server, &alice, "/UserItems/Resume?MediaTypes=Video").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resume["TotalRecordCount"], 1);
    assert_eq!(resume["Items"][0]["Id"], movie.as_str());
    assert_eq!(
        resume["Items"][0]["UserData"]["PlaybackPositionTicks"],
        600_000_000
    );
    let (_, audio) = get_json(&server, &alice, "/UserItems/Resume?MediaTypes=Audio").await;
    assert_eq!(audio["TotalRecordCount"], 0);
    let (_, next) = get_json(&server, &alice, "/Shows/NextUp").await;
    assert_eq!(next["Items"][0]["Id"], episodes[1].as_str());
    let (_, admin_resume) = get_json(&server, &server.token, "/UserItems/Resume").await;
    assert_eq!(
        admin_resume["TotalRecordCount"], 0,
        "alice's resume points are hers"
    );
    let (_, admin_next) = get_json(&server, &server.token, "/Shows/NextUp").await;
    assert_eq!(admin_next["TotalRecordCount"], 0);
    let (status, any) = get_json(&server, &alice, "/UserItems/Resume?MediaTypes=Hologram").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        any["TotalRecordCount"], 1,
        "an unknown media type is skipped, not a filter"
    );
}

#[tokio::test]
async fn same_seed_same_bytes_and_faults_reach_the_jellyfin_listener() {
    let make = || {
        let library = Sim::builder().tracks(90).movies(5).shows(1).seed(99);
        serve(library, JellyfinOptions::default())
    };
    let (a, b) = (make().await, make().await);
    assert_eq!(a.token, b.token);
    let path =
        "/Items?Recursive=true&Limit=40&Fields=Path,ProviderIds,SortName&SortBy=Album,SortName";
    let bytes = async |server: &TestServer| {
        let response = send(request(server, Method::GET, &server.token, path)).await;
        response.bytes().await.expect("body")
    };
    let (first, second) = (bytes(&a).await, bytes(&b).await);
    assert!(first.len() > 1_000);
    assert_eq!(
        first, second,
        "two simulators with one seed answer byte for byte alike"
    );

    a.sim.set_faults(cachearr_sim::control::Faults {
        error_rate: 1.0,
        error_status: 503,
        path_prefix: Some("/Items".to_owned()),
        ..Default::default()
    });
    let (status, _) = get_json(&a, &a.token, "/Items?Limit=1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = get_json(&a, &a.token, "/Users/Me").await;
    assert_eq!(status, StatusCode::OK, "faults only where the prefix says");
    let stats = json_answer(Client::new().get(url(&a, "/_sim/stats"))).await;
    assert!(stats["faults_injected"].as_u64().is_some_and(|n| n >= 1));
}

#[tokio::test]
async fn genres_studios_similar_and_virtual_folders() {
    let server = start().await;
    let (movie, genre, studio) = nth_item(&server, ItemKind::Movie, 0, |movie| {
        (
            movie.guid_id(),
            movie.genre().expect("genre").to_owned(),
            movie.studio().expect("studio").to_owned(),
        )
    });
    let (status, genres) = get_json(&server, &server.token, "/Genres").await;
    assert_eq!(status, StatusCode::OK);
    let genre_names = names(&genres);
    assert!(genre_names.contains(&genre.as_str()), "{genre_names:?}");
    assert!(items(&genres).iter().all(|g| g["Type"] == "Genre"));
    let (_, studios) = get_json(&server, &server.token, "/Studios").await;
    assert!(names(&studios).contains(&studio.as_str()));
    // Bob sees no films, so no film genres.
    let (_, bobs) = get_json(&server, &token_of(&server, "bob"), "/Genres").await;
    assert_eq!(bobs["TotalRecordCount"], 0);

    let (status, similar) =
        get_json(&server, &server.token, &format!("/Items/{movie}/Similar")).await;
    assert_eq!(status, StatusCode::OK);
    for item in items(&similar) {
        assert_ne!(item["Id"], movie.as_str());
        assert_eq!(item["Type"], "Movie");
    }
    let (status, _) = get_json(
        &server,
        &token_of(&server, "bob"),
        &format!("/Items/{movie}/Similar"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, folders) = get_json(&server, &server.token, "/Library/VirtualFolders").await;
    assert_eq!(status, StatusCode::OK);
    let folders = array(&folders);
    assert_eq!(folders.len(), server.sim.library().sections().len());
    assert!(
        folders
            .iter()
            .all(|f| f["RefreshStatus"] == "Idle" && f["Locations"][0].is_string())
    );
    let (status, _) = get_json(
        &server,
        &token_of(&server, "alice"),
        "/Library/VirtualFolders",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn track_artists_without_an_item_of_their_own_still_resolve() {
    let server = start().await;
    // A track whose artist tag differs from its album artist ("A feat. B", compilations).
    let (track, artist) = {
        let lib = server.sim.library();
        let found = lib
            .sections()
            .iter()
            .flat_map(|s| s.items(ItemKind::Track).to_vec())
            .filter_map(|id| lib.item(id))
            .find_map(|t| t.original_title().map(|a| (t.guid_id(), a.to_owned())));
        found.expect("a track with its own artist tag")
    };
    let (_, dto) = get_json(&server, &server.token, &format!("/Items/{track}")).await;
    assert_eq!(dto["Artists"][0], artist.as_str());
    let artist_id = dto["ArtistItems"][0]["Id"]
        .as_str()
        .expect("artist id")
        .to_owned();
    let (status, item) = get_json(&server, &server.token, &format!("/Items/{artist_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(item["Type"], "MusicArtist");
    assert_eq!(item["Name"], artist.as_str());
    let (_, tracks) = get_json(
        &server,
        &server.token,
        &format!("/Items?Recursive=true&IncludeItemTypes=Audio&ArtistIds={artist_id}"),
    )
    .await;
    assert!(ids(&tracks).contains(&track.as_str()));
    let image = get_anonymous(
        &server,
        &format!("/Items/{artist_id}/Images/Primary?maxWidth=10"),
    )
    .await;
    assert_eq!(image.status(), StatusCode::OK);
    let (status, _) = get_json(
        &server,
        &token_of(&server, "kid"),
        &format!("/Items/{artist_id}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "kid sees no music");
}

/// `/Artists` lists every artist an item credits (Jellyfin's `GetArtists` reads the
/// `ItemValueType.Artist` values: an album's artist, a track's own "A feat. B"), sorted by
/// name; `/Artists/AlbumArtists` only the album artists.
#[tokio::test]
async fn artists_list_every_credited_name_and_album_artists_only_album_artists() {
    let server = start().await;
    // Names only tracks credit: no library artist bears them.
    let credited: Vec<String> = {
        let lib = server.sim.library();
        let items = |kind| {
            lib.sections()
                .iter()
                .flat_map(|s| s.items(kind).to_vec())
                .filter_map(|id| lib.item(id))
                .collect::<Vec<_>>()
        };
        let library_artists: Vec<&str> =
            items(ItemKind::Artist).iter().map(|a| a.title()).collect();
        items(ItemKind::Track)
            .iter()
            .filter_map(|t| t.original_title())
            .filter(|credit| !library_artists.contains(credit))
            .map(str::to_owned)
            .collect()
    };
    assert!(
        !credited.is_empty(),
        "the library credits some tracks apart"
    );
    let (_, artists) = get_json(&server, &server.token, "/Artists").await;
    let (_, album_artists) = get_json(&server, &server.token, "/Artists/AlbumArtists").await;
    let (artists, album_artists) = (names(&artists), names(&album_artists));
    for credit in &credited {
        assert!(artists.contains(&credit.as_str()), "{credit} in /Artists");
        assert!(
            !album_artists.contains(&credit.as_str()),
            "{credit} not an album artist"
        );
    }
    assert!(album_artists.iter().all(|a| artists.contains(a)));
    let (_, first) = get_json(&server, &server.token, "/Artists?StartIndex=0&Limit=1").await;
    assert_eq!(first["TotalRecordCount"], artists.len());
}

#[tokio::test]
async fn deleting_playlists_and_items() {
    let server = start().await;
    let alice = token_of(&server, "alice");
    let tracks = guids(&server, ItemKind::Track);
    let created = json_answer(
        request(&server, Method::POST, &alice, "/Playlists")
            .json(&json!({"Name": "Short-lived", "Ids": [tracks[0]]})),
    )
    .await;
    let playlist = created["Id"].as_str().expect("id").to_owned();
    let delete = async |token: &str, id: &str| {
        status_of(&server, Method::DELETE, token, &format!("/Items/{id}")).await
    };
    let status = delete(&server.token, &playlist).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not the admin's playlist");
    let status = delete(&alice, &playlist).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = get_json(&server, &alice, &format!("/Playlists/{playlist}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let status = delete(&alice, &tracks[1]).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only administrators delete media"
    );
    let status = delete(&server.token, &tracks[1]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = get_json(&server, &server.token, &format!("/Items/{}", tracks[1])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// `GET /Items/{id}` is answered with the server's `new DtoOptions()`: every field, every
/// image and the user's data, whatever `Fields`, `EnableImages`, `ImageTypeLimit`,
/// `EnableImageTypes` or `EnableUserData` say (`UserLibraryController.GetItem` binds only
/// `userId`).
#[tokio::test]
async fn a_single_item_has_every_field_whatever_the_query() {
    let server = start().await;
    for kind in [ItemKind::Track, ItemKind::Album, ItemKind::Movie] {
        let id = guids(&server, kind).remove(0);
        let (status, plain) = get_json(&server, &server.token, &format!("/Items/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        for field in ["SortName", "Path", "DateCreated", "ProviderIds", "Etag"] {
            assert!(plain.get(field).is_some(), "{kind:?} {id} lacks {field}");
        }
        assert!(plain.get("UserData").is_some() && plain.get("ImageTags").is_some());
        let (_, narrowed) = get_json(
            &server,
            &server.token,
            &format!(
                "/Items/{id}?Fields=Overview&EnableImages=false&ImageTypeLimit=0\
                 &EnableImageTypes=Logo&EnableUserData=false"
            ),
        )
        .await;
        assert_eq!(narrowed, plain, "{kind:?}: the query changes nothing");
    }
}
