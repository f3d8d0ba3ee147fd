//! How Jellyfin pages its listings: `StartIndex` and `Limit` in the query (names in any
//! case, as the server's binder reads them), the items under `Items`, and a page's frame
//! ending `"TotalRecordCount":N,"StartIndex":S}`. `TotalRecordCount` is the whole query's
//! count, the same for every page of a walk; with `EnableTotalRecordCount=false` it is the
//! page's own item count on `/Items` and `/Users/{uid}/Items` (`LibraryManager.GetItemsResult`
//! answers `new QueryResult(startIndex, null, list)`) and 0 on `/Artists` and the other name
//! listings (`GetItemValues` leaves it unset). So two pages' frames differ in `StartIndex`, and
//! in an uncounted listing's `TotalRecordCount` where it counts the page. The server filters
//! what a user may not see in its query (`AddUserToQuery`), before paging: a page of a
//! restricted user's listing is the same cut of that user's whole listing as any other page.

use super::super::{PageFrame, PageFrameOwned, PagedListing};

/// Jellyfin's paged listings (the gateway's `batch::windows`).
pub(crate) static PAGED_LISTING: PagedListing = PagedListing {
    is_listing,
    page_of,
    with_page,
    json_items: &["Items"],
    reframe,
    total,
    announces,
    listing_of,
};

/// `/Items`, `/Users/{uid}/Items`, `/Artists`, `/Artists/AlbumArtists`,
/// `/Shows/{id}/Episodes`, `/Genres`, `/MusicGenres`, `/Studios`: the listings a library
/// sync reads page after page.
fn is_listing(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let is = |part: &str, name: &str| part.eq_ignore_ascii_case(name);
    match parts.as_slice() {
        [one] => ["items", "artists", "genres", "musicgenres", "studios"]
            .iter()
            .any(|name| is(one, name)),
        [artists, album] => is(artists, "artists") && is(album, "albumartists"),
        [first, id, items] if is(first, "users") => !id.is_empty() && is(items, "items"),
        [first, id, episodes] => is(first, "shows") && !id.is_empty() && is(episodes, "episodes"),
        _ => false,
    }
}

/// The value of the first parameter `name` (any case) as a count.
fn count(query: &str, name: &str) -> Option<Option<usize>> {
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key.eq_ignore_ascii_case(name) {
            return Some(value.parse().ok());
        }
    }
    None
}

fn page_of(query: &str) -> Option<(usize, usize)> {
    let start = count(query, "StartIndex")??;
    let size = count(query, "Limit")??;
    (size > 0).then_some((start, size))
}

pub(super) fn with_page(query: &str, start: usize, size: usize) -> Option<String> {
    let (mut saw_start, mut saw_size) = (false, false);
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let key = pair.split_once('=').map_or(pair, |(key, _)| key);
            if key.eq_ignore_ascii_case("StartIndex") && !saw_start {
                saw_start = true;
                format!("{key}={start}")
            } else if key.eq_ignore_ascii_case("Limit") && !saw_size {
                saw_size = true;
                format!("{key}={size}")
            } else {
                pair.to_string()
            }
        })
        .collect();
    (saw_start && saw_size).then(|| pairs.join("&"))
}

/// Whether `query` turns the count off (`EnableTotalRecordCount=false`, any case).
fn uncounted(query: &str) -> bool {
    query.split('&').any(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        key.eq_ignore_ascii_case("EnableTotalRecordCount") && value.eq_ignore_ascii_case("false")
    })
}

/// A count (`Limit=1`, no `StartIndex`, counted): Jellyfin for Kodi's `_get_items` asks it
/// with the very query of the pages it then reads.
fn announces(query: &str) -> bool {
    count(query, "StartIndex").is_none()
        && count(query, "Limit") == Some(Some(1))
        && !uncounted(query)
}

fn listing_of(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
            !["StartIndex", "Limit", "EnableTotalRecordCount"]
                .iter()
                .any(|name| key.eq_ignore_ascii_case(name))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Where the number after `"name":` starts and ends in `tail`.
fn number_at(tail: &[u8], name: &str) -> Option<(usize, usize)> {
    let needle = format!("\"{name}\":");
    let at = tail
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())?
        + needle.len();
    let len = tail[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    (len > 0).then_some((at, at + len))
}

fn reframe(
    frame: PageFrame<'_>,
    query: &str,
    (from, from_items): (usize, usize),
    (start, items): (usize, usize),
) -> Option<PageFrameOwned> {
    let PageFrame { head, tail } = frame;
    let (at, end) = number_at(tail, "StartIndex")?;
    if number(&tail[at..end])? != from {
        return None;
    }
    let (count_at, count_end) = number_at(tail, "TotalRecordCount")?;
    let count = number(&tail[count_at..count_end])?;
    // An uncounted page's `TotalRecordCount` is its own item count (or 0 on the name
    // listings); a counted one is the listing's, the same on every page.
    let new_count = if !uncounted(query) || count == 0 {
        count
    } else if count == from_items {
        items
    } else {
        return None;
    };
    let mut spans = [(count_at, count_end, new_count), (at, end, start)];
    spans.sort_by_key(|s| s.0);
    let mut framed = Vec::with_capacity(tail.len() + 8);
    let mut copied = 0;
    for (from, to, value) in spans {
        framed.extend_from_slice(&tail[copied..from]);
        framed.extend_from_slice(value.to_string().as_bytes());
        copied = to;
    }
    framed.extend_from_slice(&tail[copied..]);
    Some((head.to_vec(), framed))
}

fn number(digits: &[u8]) -> Option<usize> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// `TotalRecordCount`, when the page counted the listing (not 0, not turned off).
fn total(frame: PageFrame<'_>, query: &str) -> Option<usize> {
    if uncounted(query) {
        return None;
    }
    let (at, end) = number_at(frame.tail, "TotalRecordCount")?;
    let total = number(&frame.tail[at..end])?;
    (total > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_are_the_paged_item_lists() {
        for path in [
            "/Items",
            "/Users/abc/Items",
            "/users/abc/items",
            "/Artists",
            "/Artists/AlbumArtists",
            "/Shows/123/Episodes",
            "/Genres",
        ] {
            assert!(is_listing(path), "{path}");
        }
        for path in [
            "/Users/abc/Items/def",
            "/Shows/NextUp",
            "/Search/Hints",
            "/Users//Items",
        ] {
            assert!(!is_listing(path), "{path}");
        }
    }

    #[test]
    fn a_page_is_read_and_rewritten_in_place() {
        let q = "ParentId=x&startindex=30&Limit=15&Fields=a%2Cb";
        assert_eq!(page_of(q), Some((30, 15)));
        assert_eq!(
            with_page(q, 45, 300).as_deref(),
            Some("ParentId=x&startindex=45&Limit=300&Fields=a%2Cb")
        );
        assert_eq!(page_of("Limit=15"), None);
        assert_eq!(page_of("StartIndex=0&Limit=0"), None);
        assert_eq!(page_of("StartIndex=x&Limit=1"), None);
        assert_eq!(with_page("Limit=15", 0, 15), None);
    }

    fn frame<'a>(head: &'a [u8], tail: &'a [u8]) -> PageFrame<'a> {
        PageFrame { head, tail }
    }

    #[test]
    fn a_frame_is_moved_to_another_start() {
        let q = "ParentId=x&StartIndex=15&Limit=15";
        let tail = b"],\"TotalRecordCount\":120,\"StartIndex\":15}";
        let (head, moved) = reframe(frame(b"{\"Items\":[", tail), q, (15, 15), (300, 7)).unwrap();
        assert_eq!(head, b"{\"Items\":[");
        assert_eq!(moved, b"],\"TotalRecordCount\":120,\"StartIndex\":300}");
        assert_eq!(
            reframe(frame(b"{", b"\"StartIndex\":150}"), q, (15, 15), (30, 15)),
            None
        );
        let q = "ParentId=x&StartIndex=15&Limit=15&EnableTotalRecordCount=False";
        let at_15 = b"],\"TotalRecordCount\":15,\"StartIndex\":15}";
        assert_eq!(reframe(frame(b"{", at_15), q, (1, 15), (30, 15)), None);
        assert_eq!(
            reframe(frame(b"{", at_15), q, (15, 15), (30, 15))
                .unwrap()
                .1,
            b"],\"TotalRecordCount\":15,\"StartIndex\":30}"
        );
        assert_eq!(
            reframe(
                frame(b"{", b"\"StartIndex\":x,\"TotalRecordCount\":0}"),
                q,
                (15, 15),
                (30, 15)
            ),
            None
        );
    }

    /// An uncounted page counts its own items (`/Users/{uid}/Items`), or writes 0 (`/Artists`).
    #[test]
    fn an_uncounted_frame_counts_the_page_it_frames() {
        let q = "ParentId=x&EnableTotalRecordCount=false&StartIndex=0&Limit=495";
        let window = b"],\"TotalRecordCount\":495,\"StartIndex\":0}";
        let (_, page) = reframe(frame(b"{\"Items\":[", window), q, (0, 495), (480, 9)).unwrap();
        assert_eq!(page, b"],\"TotalRecordCount\":9,\"StartIndex\":480}");
        let names = b"],\"TotalRecordCount\":0,\"StartIndex\":0}";
        let (_, page) = reframe(frame(b"{\"Items\":[", names), q, (0, 495), (15, 15)).unwrap();
        assert_eq!(page, b"],\"TotalRecordCount\":0,\"StartIndex\":15}");
        let odd = b"],\"TotalRecordCount\":7,\"StartIndex\":0}";
        assert_eq!(reframe(frame(b"{", odd), q, (0, 495), (15, 15)), None);
    }

    #[test]
    fn a_count_announces_the_walk_of_its_listing() {
        let count = "ParentId=x&Fields=a&EnableTotalRecordCount=True&Limit=1";
        let page = "ParentId=x&Fields=a&EnableTotalRecordCount=False&StartIndex=30&Limit=15";
        assert!(announces(count));
        assert!(!announces(page));
        assert!(!announces(
            "ParentId=x&Limit=1&EnableTotalRecordCount=false"
        ));
        assert!(!announces("ParentId=x&StartIndex=0&Limit=1"));
        assert_eq!(listing_of(count), listing_of(page));
        assert_ne!(listing_of(count), listing_of("ParentId=y&Fields=a&Limit=1"));
    }

    #[test]
    fn a_counted_total_is_read_and_an_uncounted_one_is_not() {
        let counted = b"],\"TotalRecordCount\":1234,\"StartIndex\":15}";
        assert_eq!(
            total(frame(b"", counted), "StartIndex=15&Limit=15"),
            Some(1234)
        );
        let page = b"],\"TotalRecordCount\":15,\"StartIndex\":15}";
        assert_eq!(
            total(
                frame(b"", page),
                "EnableTotalRecordCount=false&StartIndex=15&Limit=15"
            ),
            None
        );
        let uncounted = b"],\"TotalRecordCount\":0,\"StartIndex\":15}";
        assert_eq!(total(frame(b"", uncounted), "StartIndex=15&Limit=15"), None);
    }
}
