//! The route table's classification of each server's routes, and its overrides.

use super::*;
use crate::UpstreamConfig;

fn table(profile: Profile) -> RouteTable {
    let up = UpstreamConfig::new(
        profile.as_str(),
        profile,
        "http://h:1".parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    );
    RouteTable::compile(&up.routing()).unwrap()
}

fn class_of(t: &RouteTable, m: Method, p: &str, q: Option<&str>) -> Option<Class> {
    match t.classify(&m, p, q) {
        Decision::Cache { policy, .. } | Decision::AnswerFromIndex { policy, .. } => {
            Some(policy.class)
        }
        _ => None,
    }
}

#[test]
fn plex_classes_follow_design() {
    let t = table(Profile::Plex);
    let g = Method::GET;
    assert_eq!(
        class_of(&t, g.clone(), "/identity", None),
        Some(Class::Identity)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/library/sections", None),
        Some(Class::Sections)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/library/sections/1/all", None),
        Some(Class::Listing)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/library/sections/1/albums", None),
        Some(Class::Listing)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/library/sections/1/search", None),
        Some(Class::Search)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/library/metadata/5,6", None),
        Some(Class::Metadata)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/library/metadata/5/children", None),
        Some(Class::Metadata)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/library/metadata/5/thumb/1700000000", None),
        Some(Class::Images)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/hubs/search", None),
        Some(Class::Search)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/library/onDeck", None),
        Some(Class::OnDeck)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/status/sessions", None),
        Some(Class::Sessions)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/status/sessions/history/all", None),
        Some(Class::History)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/activities", None),
        Some(Class::Activities)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/playlists/3/items", None),
        Some(Class::Playlists)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/photo/:/transcode", None),
        Some(Class::Images)
    );
    assert!(matches!(
        t.classify(&g, "/library/parts/1/2/file.mp3", None),
        Decision::Pass
    ));
    assert!(matches!(
        t.classify(&g, "/:/websockets/notifications", None),
        Decision::Pass
    ));
    assert!(matches!(t.classify(&g, "/butler", None), Decision::Pass));
    assert!(matches!(
        t.classify(&Method::HEAD, "/library/sections", None),
        Decision::Pass
    ));
}

#[test]
fn plex_collection_and_section_setting_writes_reach_the_listings_that_show_them() {
    let t = table(Profile::Plex);
    let tags_of = |method: Method, path: &str, query: Option<&str>| -> Vec<String> {
        match t.classify(&method, path, query) {
            Decision::Write { tags, .. }
            | Decision::Cache { tags, .. }
            | Decision::AnswerFromIndex { tags, .. } => {
                tags.iter().map(|t| t.to_string()).collect()
            }
            Decision::Pass | Decision::Upgrade | Decision::Range | Decision::Standard(_) => {
                panic!("{method} {path} passes")
            }
        }
    };
    // A section's collections are one of its listings, cached as such …
    let listing = tags_of(Method::GET, "/library/sections/2/collections", None);
    // … and every collection write invalidates them.
    for (method, path, query) in [
        (
            Method::POST,
            "/library/collections",
            Some("uri=server%3A%2F%2Fm%2Fx%2Flibrary%2Fmetadata%2F5&sectionId=2"),
        ),
        (Method::PUT, "/library/collections/7/items", Some("uri=x")),
        (Method::DELETE, "/library/collections/7/items/5", None),
        (Method::PUT, "/library/collections/7/items/5/move", None),
        (
            Method::PUT,
            "/library/collections/7/prefs",
            Some("collectionSort=1"),
        ),
        (Method::DELETE, "/library/collections/7", None),
    ] {
        let written = tags_of(method.clone(), path, query);
        assert!(
            written.iter().any(|w| listing.contains(w)),
            "{method} {path}: {written:?} misses {listing:?}"
        );
    }
    // Collections themselves are read straight from the server.
    for path in ["/library/collections/7", "/library/collections/7/children"] {
        assert!(matches!(
            t.classify(&Method::GET, path, None),
            Decision::Pass
        ));
    }
    // Section settings: cached with the section, invalidated by their write.
    let read = tags_of(Method::GET, "/library/sections/2/prefs", None);
    let written = tags_of(Method::PUT, "/library/sections/2/prefs", Some("hidden=1"));
    assert!(
        written.iter().any(|w| read.contains(w)),
        "{written:?} {read:?}"
    );
}

#[test]
fn an_items_edit_reaches_the_answers_showing_section_times_and_no_other_section_answer() {
    use cachearr_dialect::events::{Change, ChangeEvent};
    let tags_of = |t: &RouteTable, path: &str| -> Vec<String> {
        match t.classify(&Method::GET, path, None) {
            Decision::Cache { tags, .. } | Decision::AnswerFromIndex { tags, .. } => {
                tags.iter().map(|t| t.to_string()).collect()
            }
            _ => panic!("GET {path} is not cached"),
        }
    };
    let reaches = |bumped: &[String], read: &[String]| bumped.iter().any(|b| read.contains(b));
    // A film renamed: Plex moves its section's `updatedAt` and `contentChangedAt` (the
    // sections list, the root's `updatedAt`), not the library's fixed directory, a section's
    // own directory or its settings.
    let t = table(Profile::Plex);
    let renamed = ChangeEvent::new(Change::Updated)
        .with_section(Some("2"))
        .with_items([Some("10")])
        .tags("plex");
    for path in ["/", "/library/sections"] {
        assert!(reaches(&renamed, &tags_of(&t, path)), "{path}");
    }
    for path in [
        "/library",
        "/library/sections/2",
        "/library/sections/2/prefs",
    ] {
        assert!(
            !reaches(&renamed, &tags_of(&t, path)),
            "{path}: {:?} against {renamed:?}",
            tags_of(&t, path)
        );
    }
    // What adds, removes or rescans content still reaches every answer about the sections.
    for change in [Change::Added, Change::Removed, Change::ScanFinished] {
        let bumped = ChangeEvent::new(change)
            .with_section(Some("2"))
            .with_items([Some("10")])
            .tags("plex");
        for path in [
            "/",
            "/library",
            "/library/sections",
            "/library/sections/2",
            "/library/sections/2/prefs",
        ] {
            assert!(reaches(&bumped, &tags_of(&t, path)), "{change:?} {path}");
        }
    }
    // Jellyfin's views show image tags that follow each library's last change.
    let t = table(Profile::Jellyfin);
    let renamed = ChangeEvent::new(Change::Updated)
        .with_section(Some("lib"))
        .with_items([Some("abc")])
        .tags("jellyfin");
    assert!(reaches(&renamed, &tags_of(&t, "/Users/u1/Views")));
}

#[test]
fn plex_writes_by_path_even_as_get() {
    let t = table(Profile::Plex);
    let Decision::Write {
        tags, user_state, ..
    } = t.classify(
        &Method::GET,
        "/:/scrobble",
        Some("key=42&identifier=com.plexapp.plugins.library"),
    )
    else {
        panic!("scrobble is a write")
    };
    assert!(user_state);
    let tags: Vec<&str> = tags.iter().map(|t| &**t).collect();
    assert!(tags.contains(&"plex:item:42"), "{tags:?}");
    assert!(tags.contains(&"plex:ondeck"));
    assert!(tags.contains(&"plex:history"));
    let Decision::Write { tags, .. } = t.classify(
        &Method::PUT,
        "/library/sections/2/all",
        Some("type=10&id=7,8"),
    ) else {
        panic!()
    };
    let tags: Vec<&str> = tags.iter().map(|t| &**t).collect();
    assert!(
        tags.contains(&"plex:section:2") && tags.contains(&"plex:item:8"),
        "{tags:?}"
    );
    let Decision::Write { heartbeat, .. } = t.classify(
        &Method::GET,
        "/:/timeline",
        Some("ratingKey=3&state=playing"),
    ) else {
        panic!()
    };
    assert_eq!(heartbeat, Some(("3".to_string(), "playing".to_string())));
    // Without `ratingKey`, the item is `key`'s.
    let Decision::Write { heartbeat, .. } =
        t.classify(&Method::POST, "/:/timeline", Some("key=7&state=paused"))
    else {
        panic!()
    };
    assert_eq!(heartbeat, Some(("7".to_string(), "paused".to_string())));
}

#[test]
fn jellyfin_item_queries_name_playlists_and_narrow_to_a_parent() {
    let t = table(Profile::Jellyfin);
    let tags_of = |q: &str| -> Vec<String> {
        match t.classify(&Method::GET, "/Items", Some(q)) {
            Decision::Cache { tags, .. } | Decision::AnswerFromIndex { tags, .. } => {
                tags.iter().map(|t| t.to_string()).collect()
            }
            other => panic!("{q}: {other:?}"),
        }
    };
    let up = Profile::Jellyfin.as_str();
    let everything = tags_of("Recursive=true");
    assert!(everything.contains(&tags::across(up)), "{everything:?}");
    assert!(!everything.contains(&tags::playlists(up)), "{everything:?}");
    let playlists = tags_of("includeItemTypes=Playlist");
    assert!(playlists.contains(&tags::playlists(up)), "{playlists:?}");
    let one_parent = tags_of("parentId=AB12");
    assert!(
        one_parent.contains(&tags::item(up, "ab12")),
        "{one_parent:?}"
    );
    assert!(
        one_parent.contains(&tags::members(up, "ab12")),
        "{one_parent:?}"
    );
    assert!(!one_parent.contains(&tags::across(up)), "{one_parent:?}");
    // Filtered by play state, the parent's section tag (plays change it).
    let unplayed = tags_of("ParentId=ab12&Filters=IsUnplayed");
    assert!(
        unplayed.contains(&tags::section(up, "ab12")),
        "{unplayed:?}"
    );
    // An empty search term is no search.
    assert_eq!(
        class_of(&t, Method::GET, "/Items", Some("searchTerm=")),
        Some(Class::Listing)
    );
}

#[test]
fn jellyfin_is_case_insensitive_and_refines_by_query() {
    let t = table(Profile::Jellyfin);
    let g = Method::GET;
    assert_eq!(
        class_of(&t, g.clone(), "/System/Info/Public", None),
        Some(Class::Identity)
    );
    assert_eq!(
        class_of(
            &t,
            g.clone(),
            "/Items",
            Some("ParentId=ab&IncludeItemTypes=Audio")
        ),
        Some(Class::Listing)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/Items", Some("searchTerm=abba")),
        Some(Class::Search)
    );
    assert_eq!(
        class_of(&t, g.clone(), "/Items/ab12/Images/Primary", Some("tag=ff")),
        Some(Class::Images)
    );
    assert!(matches!(
        t.classify(&g, "/Items/ab12/Images/Primary", None),
        Decision::Pass
    ));
    assert!(matches!(t.classify(&g, "/socket", None), Decision::Pass));
    assert!(matches!(
        t.classify(&Method::POST, "/UserPlayedItems/ab12", None),
        Decision::Write {
            user_state: true,
            ..
        }
    ));
}

fn scope_of(t: &RouteTable, p: &str, q: Option<&str>) -> Scope {
    match t.classify(&Method::GET, p, q) {
        Decision::Cache { policy, .. } => policy.scope,
        other => panic!("{p} is not cached: {other:?}"),
    }
}

#[test]
fn plex_images_are_per_user_and_jellyfin_images_shared() {
    // Plex decides per user and item who may see an artwork; Jellyfin serves images to anyone.
    let plex = table(Profile::Plex);
    for (path, query) in [
        ("/library/metadata/5/thumb/1700000000", None),
        ("/library/metadata/5/art/1700000000", None),
        (
            "/photo/:/transcode",
            Some("url=%2Flibrary%2Fmetadata%2F5%2Fthumb%2F1&width=100"),
        ),
    ] {
        assert_eq!(scope_of(&plex, path, query), Scope::User, "{path}");
    }
    assert_eq!(scope_of(&plex, "/identity", None), Scope::Shared);
    let jellyfin = table(Profile::Jellyfin);
    assert_eq!(
        scope_of(&jellyfin, "/Items/ab12/Images/Primary", Some("tag=ff")),
        Scope::Shared
    );

    // An operator may still share Plex images.
    let mut up = UpstreamConfig::new(
        "plex",
        Profile::Plex,
        "http://h:1".parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    );
    up.classes.push((
        Class::Images,
        PolicyOverride {
            scope: Some(Scope::Shared),
            ..Default::default()
        },
    ));
    let shared = RouteTable::compile(&up.routing()).unwrap();
    assert_eq!(
        scope_of(&shared, "/library/metadata/5/thumb/1", None),
        Scope::Shared
    );
}

#[test]
fn overrides_change_policies() {
    let mut up = UpstreamConfig::new(
        "plex",
        Profile::Plex,
        "http://h:1".parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    );
    up.classes.push((
        Class::Metadata,
        PolicyOverride {
            fresh: Some(Duration::from_secs(7)),
            ..Default::default()
        },
    ));
    up.routes.push(RouteOverride {
        pattern: "/butler".into(),
        class: Some(Class::Sessions),
        policy: PolicyOverride::default(),
        standard: Default::default(),
        origin: String::new(),
    });
    up.routes.push(RouteOverride {
        pattern: "/activities".into(),
        class: None,
        policy: PolicyOverride {
            cache: Some(false),
            ..Default::default()
        },
        standard: Default::default(),
        origin: String::new(),
    });
    let t = RouteTable::compile(&up.routing()).unwrap();
    match t.classify(&Method::GET, "/library/metadata/1", None) {
        Decision::Cache { policy, .. } => {
            assert_eq!(policy.engine.fresh, Duration::from_secs(7))
        }
        d => panic!("{d:?}"),
    }
    assert_eq!(
        class_of(&t, Method::GET, "/butler", None),
        Some(Class::Sessions)
    );
    assert!(matches!(
        t.classify(&Method::GET, "/activities", None),
        Decision::Pass
    ));
}

fn search_of(t: &RouteTable, p: &str, q: Option<&str>) -> Option<IndexSearch> {
    match t.classify(&Method::GET, p, q) {
        Decision::AnswerFromIndex { search, .. } => Some(search),
        _ => None,
    }
}

#[test]
fn searches_the_index_may_answer_are_told_by_the_route_table() {
    let plex = table(Profile::Plex);
    let s = |p, q| search_of(&plex, p, q);
    assert_eq!(
        s("/hubs/search", Some("query=a")),
        Some(IndexSearch::HubSearch)
    );
    assert_eq!(
        s("/library/sections/3/search", Some("type=10&query=a")),
        Some(IndexSearch::SectionSearch)
    );
    assert_eq!(
        s("/library/sections/3/all", Some("type=10&title=a")),
        Some(IndexSearch::SectionListing)
    );
    // A listing without a title filter, and an item's children, are walks: cached reads
    // whose misses the library copy may answer.
    assert_eq!(
        s("/library/sections/3/all", Some("type=10")),
        Some(IndexSearch::SectionListing)
    );
    assert_eq!(
        s("/library/metadata/7/children", None),
        Some(IndexSearch::Children)
    );
    assert_eq!(
        s("/library/metadata/7/allLeaves", None),
        Some(IndexSearch::AllLeaves)
    );
    assert_eq!(
        class_of(
            &plex,
            Method::GET,
            "/library/sections/3/all",
            Some("type=10")
        ),
        Some(Class::Listing)
    );
    assert_eq!(s("/library/sections/3/recentlyAdded", None), None);
    assert_eq!(s("/hubs/search/voice", Some("query=a")), None);
    assert_eq!(s("/library/search", Some("query=a")), None);

    let jf = table(Profile::Jellyfin);
    let s = |p, q| search_of(&jf, p, q);
    assert_eq!(
        s("/Items", Some("SearchTerm=a&Recursive=true")),
        Some(IndexSearch::ItemSearch)
    );
    assert_eq!(
        s("/Users/AbC/Items/", Some("searchTerm=a")),
        Some(IndexSearch::ItemSearch)
    );
    assert_eq!(
        s("/Search/Hints", Some("searchTerm=a")),
        Some(IndexSearch::SearchHints)
    );
    assert_eq!(s("/Items", Some("ParentId=a")), None);
    // A listing of named kinds without a search term: a library walk's, which the copy
    // answers where the library holds none of them.
    assert_eq!(
        s(
            "/Users/AbC/Items",
            Some("ParentId=a&includeItemTypes=BoxSet")
        ),
        Some(IndexSearch::ItemListing)
    );
    assert_eq!(
        s("/Items", Some("IncludeItemTypes=Audio&SearchTerm=a")),
        Some(IndexSearch::ItemSearch)
    );
    assert_eq!(s("/Search/Hints", Some("IncludeItemTypes=Audio")), None);
    assert_eq!(s("/Search/Hints", None), None);
    assert_eq!(s("/Items/abc", Some("SearchTerm=a")), None);
}

#[test]
fn a_route_given_another_class_is_not_answered_from_the_index() {
    let mut up = UpstreamConfig::new(
        "up",
        Profile::Plex,
        "http://h:1".parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    );
    up.routes.push(RouteOverride {
        pattern: "/hubs/search".to_string(),
        class: Some(Class::Metadata),
        policy: PolicyOverride::default(),
        standard: Default::default(),
        origin: String::new(),
    });
    let t = RouteTable::compile(&up.routing()).unwrap();
    assert_eq!(search_of(&t, "/hubs/search", Some("query=a")), None);
    assert_eq!(
        class_of(&t, Method::GET, "/hubs/search", Some("query=a")),
        Some(Class::Metadata)
    );
}

#[test]
fn play_state_words_are_found_without_case_and_through_escapes() {
    let plex_play_state = cachearr_dialect::of(Profile::Plex).routes().play_state;
    let jellyfin_play_state = cachearr_dialect::of(Profile::Jellyfin).routes().play_state;
    assert!(by_play_state(Some("type=10&unwatched=1"), plex_play_state));
    assert!(by_play_state(Some("UnWatched=1"), plex_play_state));
    assert!(by_play_state(
        Some("sort=%6CastViewedAt:desc"),
        plex_play_state
    ));
    assert!(by_play_state(Some("Filters=IsPlayed"), jellyfin_play_state));
    assert!(!by_play_state(
        Some("type=10&sort=titleSort"),
        plex_play_state
    ));
    assert!(!by_play_state(Some(""), plex_play_state));
    assert!(!by_play_state(None, plex_play_state));
    assert!(contains_ignore_ascii_case(b"abc", b""));
    assert!(!contains_ignore_ascii_case(b"ab", b"abc"));
}

/// A listing sorted at random is a new shuffle at every request: it passes through, neither
/// cached nor answered from the index, on both servers; its other sorts stay cached.
#[test]
fn a_random_sort_passes_through() {
    let g = Method::GET;
    let plex = table(Profile::Plex);
    for query in ["sort=random", "type=1&sort=titleSort,Random:desc"] {
        let decision = plex.classify(&g, "/library/sections/1/all", Some(query));
        assert!(matches!(decision, Decision::Pass), "{query}");
    }
    assert!(matches!(
        plex.classify(&g, "/hubs/home/recentlyAdded", Some("sort=random")),
        Decision::Pass
    ));
    assert_eq!(
        class_of(
            &plex,
            g.clone(),
            "/library/sections/1/all",
            Some("sort=titleSort")
        ),
        Some(Class::Listing)
    );
    let jellyfin = table(Profile::Jellyfin);
    for path in ["/Items", "/Users/abc/Items"] {
        for query in ["SortBy=Random&Limit=20", "sortBy=SortName,Random"] {
            let decision = jellyfin.classify(&g, path, Some(query));
            assert!(matches!(decision, Decision::Pass), "{path}?{query}");
        }
        assert_eq!(
            class_of(&jellyfin, g.clone(), path, Some("SortBy=SortName")),
            Some(Class::Listing)
        );
    }
}

#[test]
fn a_clients_upgrade_or_range_is_decided_by_its_headers_before_its_route() {
    let t = table(Profile::Plex);
    let headers = |pairs: &[(&str, &str)]| {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    };
    let decide = |h: &http::HeaderMap, path: &str| t.decide(&Method::GET, h, path, None);
    let ws = headers(&[
        ("upgrade", "websocket"),
        ("connection", "keep-alive, Upgrade"),
    ]);
    assert!(matches!(
        decide(&ws, "/library/sections"),
        Decision::Upgrade
    ));
    assert!(matches!(
        decide(&ws, "/:/websockets/notifications"),
        Decision::Upgrade
    ));
    // Only a WebSocket is spliced: an `h2c` upgrade is an ordinary request.
    let h2c = headers(&[
        ("upgrade", "h2c"),
        ("connection", "Upgrade, HTTP2-Settings"),
    ]);
    assert!(matches!(
        decide(&h2c, "/library/sections"),
        Decision::Cache { .. }
    ));
    // `Upgrade` without `upgrade` among the connection tokens is no upgrade.
    let half = headers(&[("upgrade", "websocket"), ("connection", "keep-alive")]);
    assert!(matches!(
        decide(&half, "/library/sections"),
        Decision::Cache { .. }
    ));
    let range = headers(&[("range", "bytes=0-99")]);
    assert!(matches!(
        decide(&range, "/library/sections"),
        Decision::Range
    ));
    // An upgrade is told before a range, as the proxy always did.
    let both = headers(&[
        ("upgrade", "websocket"),
        ("connection", "upgrade"),
        ("range", "bytes=0-1"),
    ]);
    assert!(matches!(decide(&both, "/identity"), Decision::Upgrade));
    // Anything else is the route's decision.
    let plain = http::HeaderMap::new();
    assert!(matches!(
        decide(&plain, "/library/sections"),
        Decision::Cache { .. }
    ));
    assert!(matches!(
        decide(&plain, "/library/parts/1/file.mkv"),
        Decision::Pass
    ));
}

#[test]
fn an_http_upstream_decides_every_request_by_the_standard_but_upgrades() {
    let t = table(Profile::Http);
    let mut headers = http::HeaderMap::new();
    for method in [Method::GET, Method::HEAD, Method::POST, Method::DELETE] {
        assert!(matches!(
            t.decide(&method, &headers, "/api/v3/series", Some("a=1")),
            Decision::Standard(_)
        ));
    }
    headers.insert(http::header::RANGE, "bytes=0-1".parse().unwrap());
    assert!(matches!(
        t.decide(&Method::GET, &headers, "/file", None),
        Decision::Standard(_)
    ));
    headers.insert(http::header::CONNECTION, "upgrade".parse().unwrap());
    headers.insert(http::header::UPGRADE, "websocket".parse().unwrap());
    assert!(matches!(
        t.decide(&Method::GET, &headers, "/ws", None),
        Decision::Upgrade
    ));
    // The media profiles keep their route tables.
    assert!(!matches!(
        table(Profile::Plex).decide(
            &Method::GET,
            &http::HeaderMap::new(),
            "/library/sections",
            None
        ),
        Decision::Standard(_)
    ));
}
