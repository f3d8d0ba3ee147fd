//! Tests of batched metadata: the pages a walk reads, cutting an answer into its items, the byte-for-byte proof.

use super::*;

fn page(user: u128, upstream: &str, first: u32) -> Page {
    client_page(user, ClientId(0), upstream, first)
}

fn client_page(user: u128, client: ClientId, upstream: &str, first: u32) -> Page {
    Page {
        seq: 0,
        upstream: Arc::from(upstream),
        user: UserHash(user),
        client,
        listing: Key::new(format!("listing-{first}")),
        ids: (first..first + 10).map(|n| n.to_string().into()).collect(),
        names_parents: false,
        walks: Vec::new(),
    }
}

/// What a client was given as a listing's items: its own pages' items on that upstream, not
/// the parents a page names, nor another client's or user's items.
#[test]
fn a_clients_listed_items_are_its_own_pages_items() {
    let mut pages = Pages::default();
    pages.push(page(1, "emby", 100));
    pages.push(Page {
        names_parents: true,
        ..page(1, "emby", 200)
    });
    pages.push(client_page(1, ClientId(7), "emby", 300));
    pages.push(page(2, "emby", 400));
    pages.push(page(1, "other", 500));
    let listed = pages.listed("emby", (UserHash(1), ANY));
    let mut listed: Vec<u128> = listed.into_iter().collect();
    listed.sort_unstable();
    assert_eq!(listed, (100..110).collect::<Vec<u128>>());
}

const ANY: ClientId = ClientId(0);

#[test]
fn an_items_page_is_found_by_lookup_and_forgotten_with_its_page() {
    let mut pages = Pages::default();
    pages.push(page(1, "plex", 100));
    pages.push(page(2, "plex", 100));
    // The same items on a later page of user 1: the later page holds them now.
    pages.push(page(1, "plex", 105));
    let found = pages.holding("plex", (UserHash(1), ANY), "107").unwrap();
    assert_eq!(found.listing, Key::new("listing-105"));
    assert_eq!(
        pages
            .holding("plex", (UserHash(1), ANY), "101")
            .unwrap()
            .listing,
        Key::new("listing-100")
    );
    assert!(
        pages.holding("plex", (UserHash(3), ANY), "101").is_none(),
        "another user's"
    );
    assert!(
        pages.holding("other", (UserHash(1), ANY), "101").is_none(),
        "another upstream's"
    );
    assert!(pages.holding("plex", (UserHash(1), ANY), "999").is_none());
    assert!(pages.holding("plex", (UserHash(1), ANY), "abc").is_none());
    // Past the cap the oldest pages go, and their items with them.
    for n in 0..PAGES_MAX as u32 {
        pages.push(page(9, "plex", 10_000 + n * 10));
    }
    assert_eq!(pages.list.len(), PAGES_MAX);
    assert!(pages.holding("plex", (UserHash(1), ANY), "101").is_none());
    assert!(pages.holding("plex", (UserHash(1), ANY), "107").is_none());
    let last = 10_000 + (PAGES_MAX as u32 - 1) * 10;
    assert!(
        pages
            .holding("plex", (UserHash(9), ANY), &last.to_string())
            .is_some()
    );
    assert!(pages.holding("plex", (UserHash(9), ANY), "10000").is_some());
    assert!(
        pages.by_item.len() <= PAGES_MAX * 10,
        "forgotten pages' items leave the map"
    );
}

/// Two tools of one user list the same items: each one's reads find the page it listed, not
/// the latest page of the user.
/// A page's items read all at once: the first two go to the server and the others wait for
/// them; once the walk is batched, a read whose key the batch does not hold yet waits while
/// a read of its page is on its way (the one that started the batch registers its keys
/// before it lets go), and passes once none is.
#[test]
fn a_read_finding_its_walk_just_batched_waits_for_the_batchs_keys() {
    assert_eq!(hold_verdict(false, Some(0), 0), Hold::Go);
    assert_eq!(hold_verdict(false, Some(0), 1), Hold::Go);
    assert_eq!(hold_verdict(false, Some(0), 2), Hold::Wait);
    assert_eq!(hold_verdict(false, Some(1), 1), Hold::Wait);
    assert_eq!(
        hold_verdict(false, None, 1),
        Hold::Wait,
        "batched, keys on their way"
    );
    assert_eq!(
        hold_verdict(false, None, 0),
        Hold::Pass,
        "batched, keys registered"
    );
    assert_eq!(
        hold_verdict(true, None, 1),
        Hold::Pass,
        "its key is the batch's"
    );
    assert_eq!(hold_verdict(true, Some(1), 1), Hold::Pass);
}

#[test]
fn a_clients_reads_find_the_page_it_listed() {
    let (kometa, overseerr) = (ClientId(1), ClientId(2));
    let mut pages = Pages::default();
    pages.push(client_page(1, kometa, "plex", 100));
    pages.push(client_page(1, overseerr, "plex", 105));
    let holding = |pages: &mut Pages, client, id| {
        pages
            .holding("plex", (UserHash(1), client), id)
            .map(|p| p.listing.clone())
    };
    assert_eq!(
        holding(&mut pages, kometa, "107"),
        Some(Key::new("listing-100"))
    );
    assert_eq!(
        holding(&mut pages, overseerr, "107"),
        Some(Key::new("listing-105"))
    );
    assert_eq!(holding(&mut pages, overseerr, "101"), None);
    assert_eq!(holding(&mut pages, ClientId(3), "107"), None);
}

/// A Plex metadata read's way with `after` (its query) after the id.
fn metadata_way(after: &str) -> Way {
    Way {
        before: "/library/metadata/".into(),
        after: after.into(),
    }
}

/// A page's items read singly in two ways (XML with one query, JSON without) are two walks:
/// one batched leaves the other to go on; past [`WALKS_PER_PAGE`] the oldest is forgotten.
#[test]
fn each_way_of_reading_a_pages_items_is_a_walk_of_its_own() {
    let mut page = page(1, "plex", 100);
    let json = http::HeaderValue::from_static("application/json");
    let checked = metadata_way("?checkFiles=0");
    walk_in(&mut page.walks, &checked, None).batched = true;
    assert!(!walk_in(&mut page.walks, &metadata_way(""), Some(&json)).batched);
    assert!(page.walk_of(&checked, None).is_some_and(|w| w.batched));
    assert!(page.walk_of(&metadata_way("?checkFiles=1"), None).is_none());
    for n in 0..WALKS_PER_PAGE {
        walk_in(&mut page.walks, &metadata_way(&format!("?{n}")), None);
    }
    assert_eq!(page.walks.len(), WALKS_PER_PAGE);
    assert!(page.walk_of(&checked, None).is_none());
    assert_ne!(
        shape_of(&checked, None),
        shape_of(&metadata_way(""), Some(&json))
    );
}

/// The way `profile` reads the item of `target` (`path?query`), if it is a single read.
fn way_of(profile: cachearr_dialect::Profile, target: &str) -> Option<(Box<str>, Way)> {
    let uri: Uri = target.parse().unwrap();
    let walk = cachearr_dialect::of(profile).walk_batch();
    let WalkRead::Single(read) = (walk.read)(uri.path(), uri.query())? else {
        return None;
    };
    Some((read.id.into(), Way::of(&read, &uri)?))
}

/// Jellyseerr's reads of a page's items by `/Items?ids={id}&fields=…` are one walk whatever
/// item each names, and the walk's read of another item is written as the client writes it
/// (the same key): the id in place, every other parameter as it was.
#[test]
fn reads_by_id_in_the_query_are_one_walk() {
    use cachearr_dialect::Profile;
    let fields = "fields=ProviderIds,MediaSources,Width,Height,IsHD,DateCreated";
    let (a, b) = (
        "5ac00e92043c8c466e7a83a900001a96",
        "0bc00e92043c8c466e7a83a900001a97",
    );
    let (id_a, way_a) = way_of(Profile::Jellyfin, &format!("/Items?ids={a}&{fields}")).unwrap();
    let (id_b, way_b) = way_of(Profile::Jellyfin, &format!("/Items?ids={b}&{fields}")).unwrap();
    assert_eq!((&*id_a, &*id_b), (a, b));
    assert!(way_a == way_b);
    assert_eq!(shape_of(&way_a, None), shape_of(&way_b, None));
    let (path, query) = way_a.of_item("c0ffee");
    assert_eq!(path, "/Items");
    assert_eq!(query.as_deref(), Some(&*format!("ids=c0ffee&{fields}")));
    // Emby's numeric ids, the name in another case.
    let (id, way) = way_of(Profile::Emby, "/Items?Ids=42&Fields=ProviderIds").unwrap();
    assert_eq!(&*id, "42");
    assert_eq!(
        way.of_item("43"),
        (
            "/Items".to_owned(),
            Some("Ids=43&Fields=ProviderIds".to_owned())
        )
    );
    // A listing of a library is a page, not a single read.
    assert!(way_of(Profile::Emby, "/Items?ParentId=7&Recursive=true").is_none());
}

const METADATA: &[&str] = &["MediaContainer", "Metadata"];

fn rating_key(item: &[u8]) -> Option<&str> {
    item_id(item, "ratingKey")
}

fn parts(body: &str) -> Vec<&str> {
    Children::of(body.as_bytes(), METADATA)
        .unwrap()
        .items
        .into_iter()
        .map(|r| &body[r])
        .collect()
}

#[test]
fn xml_items_are_the_container_children() {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MediaContainer size=\"2\" a=\"x>y\">\n<Video ratingKey=\"1\" t=\"a/>\"><Media id=\"2\"/></Video>\n<Directory ratingKey=\"3\"/>\n</MediaContainer>\n";
    let got = parts(body);
    assert_eq!(
        got,
        [
            "<Video ratingKey=\"1\" t=\"a/>\"><Media id=\"2\"/></Video>",
            "<Directory ratingKey=\"3\"/>"
        ]
    );
    assert_eq!(rating_key(got[0].as_bytes()), Some("1"));
    assert_eq!(rating_key(got[1].as_bytes()), Some("3"));
    assert_eq!(parts("<MediaContainer size=\"0\"/>"), Vec::<&str>::new());
}

#[test]
fn json_items_are_the_metadata_entries() {
    let body = r#"{"MediaContainer":{"size":2,"t":"]}\"","Metadata":[{"ratingKey":"1","parentRatingKey":"9","Media":[{"id":2}]},{"x":"{","ratingKey":"3"}],"z":1}}"#;
    let got = parts(body);
    assert_eq!(
        got,
        [
            r#"{"ratingKey":"1","parentRatingKey":"9","Media":[{"id":2}]}"#,
            r#"{"x":"{","ratingKey":"3"}"#
        ]
    );
    assert_eq!(rating_key(got[0].as_bytes()), Some("1"));
    assert_eq!(rating_key(got[1].as_bytes()), Some("3"));
    assert!(Children::of(br#"{"MediaContainer":{"size":0}}"#, METADATA).is_none());
}

#[test]
fn a_frame_is_what_surrounds_the_only_item() {
    let body = "<MediaContainer size=\"1\">\n<Video ratingKey=\"1\"/>\n</MediaContainer>\n";
    let c = Children::of(body.as_bytes(), METADATA).unwrap();
    let (head, tail) = c.frame(body.as_bytes()).unwrap();
    assert_eq!(head, b"<MediaContainer size=\"1\">\n");
    assert_eq!(tail, b"\n</MediaContainer>\n");
    let two = "<MediaContainer size=\"2\">\n<A/>\n<B/>\n</MediaContainer>";
    assert!(
        Children::of(two.as_bytes(), METADATA)
            .unwrap()
            .frame(two.as_bytes())
            .is_none()
    );
}

#[test]
fn ids_are_numbers_whatever_their_form() {
    let guid = "5ac00e92043c8c466e7a83a900001a96";
    let dashed = "5ac00e92-043c-8c46-6e7a-83a900001a96";
    // The same id, dashed or not, is one number; decimal keys are their value.
    assert_eq!(item_number(guid), item_number(dashed));
    assert_eq!(item_number("42"), Some(42));
    assert_eq!(item_number("xyz"), None);
}

#[test]
fn an_items_array_is_cut_into_its_items_by_their_own_ids() {
    let body = br#"{"Items":[{"Name":"A","ServerId":"s","Id":"aa","AlbumArtists":[{"Name":"X","Id":"zz"}]},
        {"Name":"B \"quoted\" }","UserData":{"ItemId":"no"},"Id":"bb"}],"TotalRecordCount":2,"StartIndex":0}"#;
    let items = Children::of(body, &["Items"]).unwrap().items;
    assert_eq!(items.len(), 2);
    let ids: Vec<&str> = items
        .iter()
        .map(|r| item_id(&body[r.clone()], "Id").unwrap())
        .collect();
    // The document's own `Id`, not a nested object's, wherever it stands.
    assert_eq!(ids, ["aa", "bb"]);
    assert!(body[items[1].clone()].ends_with(b"\"Id\":\"bb\"}"));
    // No such array, or a broken one: no items.
    assert!(Children::of(br#"{"MediaContainer":{"Metadata":[]}}"#, &["Items"]).is_none());
    assert!(Children::of(br#"{"Items":[{"Id":"a"},"#, &["Items"]).is_none());
}
