//! How Jellyfin pages its listings: `StartIndex` and `Limit` in the query (names in any
//! case, as the server's binder reads them), the items under `Items`, and a page's frame
//! ending `"TotalRecordCount":N,"StartIndex":S}` — `TotalRecordCount` is the whole query's
//! count, or 0 when `EnableTotalRecordCount=false`, the same for every page of a walk, so
//! only `StartIndex` differs between two pages' frames. The server filters what a user may
//! not see in its query (`AddUserToQuery`), before paging: a page of a restricted user's
//! listing is the same cut of that user's whole listing as any other page.

use super::super::{PageFrame, PageFrameOwned, PagedListing};

/// Jellyfin's paged listings ([`crate::batch::windows`]).
pub(super) static PAGED_LISTING: PagedListing = PagedListing {
    is_listing,
    page_of,
    with_page,
    json_items: &["Items"],
    reframe,
    total,
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

fn with_page(query: &str, start: usize, size: usize) -> Option<String> {
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

fn reframe(frame: PageFrame<'_>, from: usize, start: usize) -> Option<PageFrameOwned> {
    let PageFrame { head, tail } = frame;
    let (at, end) = number_at(tail, "StartIndex")?;
    if std::str::from_utf8(&tail[at..end])
        .ok()?
        .parse::<usize>()
        .ok()?
        != from
    {
        return None;
    }
    let mut framed = Vec::with_capacity(tail.len() + 8);
    framed.extend_from_slice(&tail[..at]);
    framed.extend_from_slice(start.to_string().as_bytes());
    framed.extend_from_slice(&tail[end..]);
    Some((head.to_vec(), framed))
}

/// `TotalRecordCount`, unless 0 (what the server writes when the count was not asked for).
fn total(frame: PageFrame<'_>) -> Option<usize> {
    let (at, end) = number_at(frame.tail, "TotalRecordCount")?;
    let total: usize = std::str::from_utf8(&frame.tail[at..end])
        .ok()?
        .parse()
        .ok()?;
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
        let tail = b"],\"TotalRecordCount\":0,\"StartIndex\":15}";
        let (head, moved) = reframe(frame(b"{\"Items\":[", tail), 15, 300).unwrap();
        assert_eq!(head, b"{\"Items\":[");
        assert_eq!(moved, b"],\"TotalRecordCount\":0,\"StartIndex\":300}");
        assert_eq!(reframe(frame(b"{", b"\"StartIndex\":150}"), 15, 30), None);
        assert_eq!(reframe(frame(b"{", b"\"StartIndex\":1}"), 15, 30), None);
        assert_eq!(reframe(frame(b"{", b"\"StartIndex\":x}"), 15, 30), None);
    }

    #[test]
    fn a_counted_total_is_read_and_an_uncounted_one_is_not() {
        let counted = b"],\"TotalRecordCount\":1234,\"StartIndex\":15}";
        assert_eq!(total(frame(b"", counted)), Some(1234));
        let uncounted = b"],\"TotalRecordCount\":0,\"StartIndex\":15}";
        assert_eq!(total(frame(b"", uncounted)), None);
    }
}
