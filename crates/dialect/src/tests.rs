//! Each server's reading of a request's identity, and what makes one ambiguous.

use super::*;
use http::HeaderValue;

fn headers(list: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in list {
        h.append(*n, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn read(profile: Profile, list: &[(&'static str, &str)], q: Option<&str>) -> Identity<'static> {
    let h = headers(list);
    identity(profile, &h, q).into_owned()
}

fn tok(t: &str) -> Identity<'static> {
    Identity::Token(Cow::Owned(t.to_string()))
}

const J: Profile = Profile::Jellyfin;
const P: Profile = Profile::Plex;

#[test]
fn jellyfin_reads_every_single_form() {
    let mb = r#"MediaBrowser Client="c", Device="d", DeviceId="TWF==", Version="1", Token="T1""#;
    assert_eq!(read(J, &[("authorization", mb)], None), tok("T1"));
    assert_eq!(
        read(J, &[("authorization", r#"Emby Token="T1""#)], None),
        tok("T1")
    );
    assert_eq!(read(J, &[("x-emby-authorization", mb)], None), tok("T1"));
    assert_eq!(read(J, &[("x-emby-token", "T1")], None), tok("T1"));
    assert_eq!(read(J, &[("x-mediabrowser-token", "T1")], None), tok("T1"));
    assert_eq!(read(J, &[], Some("a=1&ApiKey=T1")), tok("T1"));
    assert_eq!(read(J, &[], Some("apikey=T1")), tok("T1"));
    assert_eq!(read(J, &[], Some("api_key=T1")), tok("T1"));
    assert_eq!(read(J, &[], Some("API_KEY=T1")), tok("T1"));
    assert_eq!(read(J, &[], Some("a=1")), Identity::Anonymous);
    // The same token twice in two forms is one identity.
    assert_eq!(
        read(
            J,
            &[("x-emby-token", "T1"), ("authorization", mb)],
            Some("api_key=T1")
        ),
        tok("T1")
    );
    // A comma inside quotes is not a separator.
    assert_eq!(
        read(
            J,
            &[(
                "authorization",
                r#"MediaBrowser Device="my, phone", Token="T1""#
            )],
            None
        ),
        tok("T1")
    );
}

#[test]
fn jellyfin_ignores_forms_it_does_not_read() {
    // Another scheme, a token name the server does not read: no token.
    assert_eq!(
        read(J, &[("authorization", r#"Foo Token="T1""#)], None),
        Identity::Anonymous
    );
    assert_eq!(read(J, &[], Some("X-Plex-Token=T1")), Identity::Anonymous);
}

#[test]
fn two_different_tokens_are_ambiguous_in_every_combination() {
    let admin_auth = r#"MediaBrowser Client="c", Token="ADMIN""#;
    type Case<'a> = (&'a [(&'static str, &'a str)], Option<&'a str>);
    let cases: [Case<'_>; 9] = [
        (
            &[("x-emby-token", "KID"), ("authorization", admin_auth)],
            None,
        ),
        (
            &[(
                "authorization",
                r#"MediaBrowser Client="a,Token=KID", Token="ADMIN""#,
            )],
            None,
        ),
        (&[], Some("api_key=KID&ApiKey=ADMIN")),
        (&[], Some("X-Plex-Token=KID&ApiKey=ADMIN")),
        (
            &[
                ("authorization", r#"Foo Token="KID""#),
                ("x-emby-authorization", admin_auth),
            ],
            None,
        ),
        (
            &[("x-emby-token", "KID"), ("x-mediabrowser-token", "ADMIN")],
            None,
        ),
        (&[("x-emby-token", "KID"), ("x-emby-token", "ADMIN")], None),
        (&[("x-plex-token", "KID")], Some("api_key=ADMIN")),
        (
            &[("x-emby-token", "KID")],
            Some("url=%2Fa%3Fapi_key%3DADMIN"),
        ),
    ];
    for profile in [J, P] {
        for (h, q) in cases {
            assert_eq!(
                read(profile, h, q),
                Identity::Ambiguous,
                "{profile:?} {h:?} {q:?}"
            );
        }
    }
}

#[test]
fn jellyfin_parameter_parsing_follows_the_server() {
    // The server's parser: keys are exact (`Token`), later keys win, values are
    // URL-decoded.
    assert_eq!(
        read(
            J,
            &[("authorization", r#"MediaBrowser Token="a%2Bb""#)],
            None
        ),
        tok("a+b")
    );
    // `Token=` with an empty value then a bare value: the server reads "x" for Token.
    // A lenient reader reads nothing; only one value exists, so this is "x".
    assert_eq!(
        read(J, &[("authorization", "MediaBrowser Token=,x")], None),
        tok("x")
    );
}

#[test]
fn plex_reads_header_then_query() {
    assert_eq!(read(P, &[("x-plex-token", "T1")], None), tok("T1"));
    assert_eq!(read(P, &[], Some("a=1&X-Plex-Token=T1")), tok("T1"));
    assert_eq!(read(P, &[], Some("x-plex-token=T1")), tok("T1"));
    assert_eq!(
        read(P, &[("x-plex-token", "T1")], Some("X-Plex-Token=T1")),
        tok("T1")
    );
    assert_eq!(
        read(P, &[("x-plex-token", "T1")], Some("X-Plex-Token=T2")),
        Identity::Ambiguous
    );
    // An empty header next to a query token: one server reading takes the empty header.
    assert_eq!(
        read(P, &[("x-plex-token", "")], Some("X-Plex-Token=T1")),
        Identity::Ambiguous
    );
    assert_eq!(
        read(P, &[("x-emby-token", "T1")], None),
        Identity::Anonymous
    );
    assert_eq!(read(P, &[], Some("a=1")), Identity::Anonymous);
}

#[test]
fn nested_tokens_count() {
    let q = "width=10&url=%2Flibrary%2Fmetadata%2F1%2Fthumb%3FX-Plex-Token%3DT1";
    assert_eq!(read(P, &[("x-plex-token", "T1")], Some(q)), tok("T1"));
    assert_eq!(
        read(P, &[("x-plex-token", "T2")], Some(q)),
        Identity::Ambiguous
    );
    // Only nested: the server reads no token from the request itself.
    assert_eq!(read(P, &[], Some(q)), Identity::Anonymous);
    let deeper = "url=%252Fa%253FX-Plex-Token%253DT9";
    assert_eq!(
        read(P, &[("x-plex-token", "T1")], Some(deeper)),
        Identity::Ambiguous
    );
}

#[test]
fn a_query_parameter_is_a_token_a_possible_nest_or_plain() {
    for name in [
        "X-Plex-Token",
        "api_key",
        "ApiKey",
        "x-emby-token",
        "X-MediaBrowser-Token",
    ] {
        assert_eq!(query_param(name, "T1"), QueryParam::Token, "{name}");
        // A token's name wins over a value that could nest one.
        assert_eq!(query_param(name, "a%3Db"), QueryParam::Token, "{name}");
    }
    assert_eq!(
        query_param(
            "url",
            "%2Flibrary%2Fmetadata%2F1%2Fthumb%3FX-Plex-Token%3DT1"
        ),
        QueryParam::MayNest
    );
    assert_eq!(query_param("filter", "a=b"), QueryParam::MayNest);
    assert_eq!(query_param("type", "10"), QueryParam::Plain);
    assert_eq!(query_param("X-Plex-Token-Extra", "10"), QueryParam::Plain);
}

/// What `walk` makes of a read of `target` (`path?query`): a page, or a single read's id and
/// its target around the id.
fn walk_read(walk: &WalkBatch, target: &str) -> Option<Walked> {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    Some(match (walk.read)(path, query)? {
        WalkRead::Page => Walked::Page,
        WalkRead::Single(single) => {
            let (before, after) = single.around(path, query).expect("the id where it says");
            Walked::Single(single.id.to_owned(), before, after, single.shape.bare)
        }
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Walked {
    Page,
    /// The id, the target before and after it, whether the answer is the item alone.
    Single(String, String, String, bool),
}

fn single(id: &str, before: &str, after: &str, bare: bool) -> Option<Walked> {
    Some(Walked::Single(id.into(), before.into(), after.into(), bare))
}

/// The read of many items a single read of `target` makes.
fn batch_of(walk: &WalkBatch, target: &str, ids: &str) -> String {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let Some(WalkRead::Single(read)) = (walk.read)(path, query) else {
        panic!("{target} is no single read");
    };
    let (before, after) = read.around(path, query).unwrap();
    (read.shape.batch_target)(&before, ids, &after)
}

#[test]
fn plex_walks_read_section_pages_and_metadata() {
    let plex = of(Profile::Plex).walk_batch();
    assert_eq!(
        walk_read(plex, "/library/metadata/42"),
        single("42", "/library/metadata/", "", false)
    );
    assert_eq!(walk_read(plex, "/library/metadata/4,2"), None);
    assert_eq!(walk_read(plex, "/library/metadata/42/children"), None);
    assert_eq!(
        walk_read(plex, "/library/sections/3/all?type=1"),
        Some(Walked::Page)
    );
    assert_eq!(walk_read(plex, "/library/sections/3/unwatched"), None);
    assert_eq!(
        batch_of(plex, "/library/metadata/1?a=b", "1,2"),
        "/library/metadata/1,2?a=b"
    );
}

#[test]
fn jellyfin_walks_read_items_by_path() {
    let jellyfin = of(Profile::Jellyfin).walk_batch();
    let guid = "5ac00e92043c8c466e7a83a900001a96";
    assert_eq!(
        walk_read(jellyfin, &format!("/Users/abc/Items/{guid}")),
        single(guid, "/Users/abc/Items/", "", true)
    );
    assert_eq!(
        walk_read(jellyfin, &format!("/items/{guid}?fields=A")),
        single(guid, "/items/", "?fields=A", true)
    );
    let dashed = "5ac00e92-043c-8c46-6e7a-83a900001a96";
    assert_eq!(
        walk_read(jellyfin, &format!("/Items/{dashed}")),
        single(dashed, "/Items/", "", true)
    );
    // Not one item: a sub-resource, a short or non-hex id, another route.
    assert_eq!(walk_read(jellyfin, &format!("/Items/{guid}/Similar")), None);
    assert_eq!(walk_read(jellyfin, "/Users/abc/Items/Latest"), None);
    assert_eq!(walk_read(jellyfin, "/Users/abc/Items/123"), None);
    assert_eq!(walk_read(jellyfin, &format!("/Shows/{guid}")), None);
    assert_eq!(walk_read(jellyfin, "/Users/abc/Items"), Some(Walked::Page));
    assert_eq!(walk_read(jellyfin, "/items?ParentId=x"), Some(Walked::Page));
    assert_eq!(walk_read(jellyfin, "/Users/abc/Items/Latest"), None);
    assert_eq!(walk_read(jellyfin, "/Users//Items"), None);
    let target = batch_of(jellyfin, &format!("/Users/abc/Items/{guid}"), "a,b");
    assert!(
        target.starts_with("/Users/abc/Items?Ids=a,b&Fields=AirTime,"),
        "{target}"
    );
    assert!(!target.contains("SeasonUserData") && !target.contains("RefreshState"));
}

/// Jellyseerr's `getItemData` since 2.5.0: `/Items?ids={id}&fields=…`, a listing of one item
/// by its id, is that item's single read; its batch is the same listing of many ids.
#[test]
fn jellyfin_walks_read_items_by_id_in_the_query() {
    let jellyfin = of(Profile::Jellyfin).walk_batch();
    let guid = "5ac00e92043c8c466e7a83a900001a96";
    let fields = "fields=ProviderIds,MediaSources,Width,Height,IsHD,DateCreated";
    let read = format!("/Items?ids={guid}&{fields}");
    assert_eq!(
        walk_read(jellyfin, &read),
        single(guid, "/Items?ids=", &format!("&{fields}"), false)
    );
    assert_eq!(
        batch_of(jellyfin, &read, "a,b"),
        format!("/Items?ids=a,b&{fields}")
    );
    // The server reads the name in any case, anywhere in the query, under a user too.
    assert_eq!(
        walk_read(jellyfin, &format!("/users/abc/items?Fields=A&IDS={guid}")),
        single(guid, "/users/abc/items?Fields=A&IDS=", "", false)
    );
    // Many ids, a repeated `ids`, a paged or counted answer, no id, no GUID: a page.
    for query in [
        format!("ids={guid},{guid}"),
        format!("ids={guid}&Ids={guid}"),
        format!("ids={guid}&Limit=1"),
        format!("StartIndex=0&ids={guid}"),
        "ids=".to_owned(),
        "ids=123".to_owned(),
        "fields=ids".to_owned(),
    ] {
        assert_eq!(
            walk_read(jellyfin, &format!("/Items?{query}")),
            Some(Walked::Page),
            "{query}"
        );
    }
}

/// Emby writes item ids as numbers; the same reads are single, under `/emby/` too once the
/// gateway has read the prefix off.
#[test]
fn emby_walks_read_items_by_number() {
    let emby = of(Profile::Emby).walk_batch();
    assert_eq!(
        walk_read(emby, "/Items?ids=42&fields=ProviderIds"),
        single("42", "/Items?ids=", "&fields=ProviderIds", false)
    );
    assert_eq!(
        walk_read(emby, "/Users/abc/Items/7"),
        single("7", "/Users/abc/Items/", "", true)
    );
    assert_eq!(
        walk_read(emby, "/Items?ids=5ac00e92043c8c466e7a83a900001a96"),
        Some(Walked::Page)
    );
    assert_eq!(
        batch_of(emby, "/Items?ids=42&fields=ProviderIds", "42,43"),
        "/Items?ids=42,43&fields=ProviderIds"
    );
}

#[test]
fn a_caller_is_read_in_one_reading_of_its_head() {
    // Plex: the token from the header, the product and device as the client's name, and the
    // children of an item as a seasons trigger.
    let h = headers(&[
        ("x-plex-token", "tok-a"),
        ("x-plex-product", "Plex Web"),
        ("user-agent", "Mozilla/5.0"),
    ]);
    let read = super::caller(
        Profile::Plex,
        None,
        "/library/metadata/12/children",
        &h,
        None,
    );
    assert_eq!(read.identity, tok("tok-a"));
    assert_eq!(read.client.as_deref(), Some("Plex Web"));
    assert_eq!(read.prefetch, Some(Trigger::Seasons));
    // Its identity outlives the head it was read from.
    let owned = read.identity.into_owned();
    drop(h);
    assert_eq!(owned, tok("tok-a"));

    // Jellyfin: the client named in the authorization header; no trigger on a listing.
    let h = headers(&[(
        "authorization",
        r#"MediaBrowser Client="Jellyfin Web", Token="tok-b""#,
    )]);
    let read = super::caller(Profile::Jellyfin, None, "/Items", &h, None);
    assert_eq!(read.identity, tok("tok-b"));
    assert_eq!(read.client.as_deref(), Some("Jellyfin Web"));
    assert_eq!(read.prefetch, None);

    // Jellyfin 12 reads no token from a legacy form: the request is anonymous to it, as it is
    // to the server; 10.11 reads it.
    let h = headers(&[("x-emby-token", "tok-c")]);
    let at = |version| super::caller(Profile::Jellyfin, Some(version), "/Items", &h, None).identity;
    assert_eq!(at("10.11.11"), tok("tok-c"));
    assert_eq!(at("12.0.0"), Identity::Anonymous);

    // No name of the server's: the first product of User-Agent, without its version.
    let h = headers(&[("user-agent", "python-requests/2.31.0 CPython")]);
    let read = super::caller(
        Profile::Plex,
        None,
        "/hubs/continueWatching",
        &h,
        Some("X-Plex-Token=q"),
    );
    assert_eq!(read.identity, tok("q"));
    assert_eq!(read.client.as_deref(), Some("python-requests"));
    assert_eq!(read.prefetch, Some(Trigger::ContinueWatching));
}

#[test]
fn a_walks_query_and_item_are_read_as_each_server_reads_them() {
    let plex = of(Profile::Plex).answers().unwrap();
    let jellyfin = of(Profile::Jellyfin).answers().unwrap();
    let query = Some("StartIndex=0&Fields=Path&sort=id");
    let names = |params: Vec<(String, String)>| -> Vec<String> {
        params.into_iter().map(|(k, _)| k).collect()
    };
    // Plex compares names exactly; Jellyfin ignores their case.
    assert_eq!(
        names(plex.query_params(query)),
        ["StartIndex", "Fields", "sort"]
    );
    assert_eq!(
        names(jellyfin.query_params(query)),
        ["startindex", "fields", "sort"]
    );
    assert!(plex.query_params(None).is_empty());
    // The walked item's id, where each server's path names it.
    let path = "/library/metadata/42/children";
    assert_eq!(plex.walked_item(path).map(|r| &path[r]), Some("42"));
    assert_eq!(plex.walked_item("/library/metadata/x1/children"), None);
    let path = "/Shows/ab12/Episodes";
    assert_eq!(jellyfin.walked_item(path).map(|r| &path[r]), Some("ab12"));
    assert_eq!(jellyfin.walked_item("/Shows/ab12/Similar"), None);
}

#[test]
fn emby_single_ids_are_numbers_under_an_item_path() {
    assert_eq!(crate::emby::single_id("/Items/42"), Some("42"));
    assert_eq!(crate::emby::single_id("/Users/abc/Items/7"), Some("7"));
    assert_eq!(crate::emby::single_id("/Items/42/Similar"), None);
    assert_eq!(crate::emby::single_id("/Users/abc/Items/Latest"), None);
    assert_eq!(crate::emby::single_id("/Items/123456789012345678901"), None);
    assert_eq!(crate::emby::single_id("/Shows/42"), None);
}
