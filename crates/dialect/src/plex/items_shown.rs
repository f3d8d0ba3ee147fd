//! Which items a Plex answer shows and which it names as parents, for the change feed's tags
//! (`cachearr-upstream`'s `feed::value_tags`): `ratingKey` (an item shown), `parentRatingKey` /
//! `grandparentRatingKey` (named).
//!
//! The ids are found by one search for `atingKey` (memchr's `memmem`) and the id after it,
//! not by parsing: the same needle finds `ratingKey="…"` in XML and `"ratingKey":"…"` in
//! JSON, so one scan serves both formats without building either tree, where quick-xml or
//! serde_json would walk every attribute and value of a body of up to megabytes to find the
//! same few. A stray match only adds a tag.

use std::sync::LazyLock;

use memchr::memmem::Finder;

/// The identifier after a field name at `from` (`="…"`, `":"…"`, `": 12`), if it looks like one.
fn id_after(body: &[u8], from: usize) -> Option<&str> {
    let mut i = from;
    let skip = |i: &mut usize, set: &[u8]| {
        while *i < body.len() && set.contains(&body[*i]) {
            *i += 1;
        }
    };
    skip(&mut i, b"\"");
    skip(&mut i, b" \t\r\n");
    if i >= body.len() || !matches!(body[i], b'=' | b':') {
        return None;
    }
    i += 1;
    skip(&mut i, b" \t\r\n");
    skip(&mut i, b"\"");
    let start = i;
    while i < body.len()
        && (body[i].is_ascii_alphanumeric() || matches!(body[i], b'-' | b'_' | b'.'))
    {
        i += 1;
    }
    let id = std::str::from_utf8(&body[start..i]).ok()?;
    crate::events::valid_id(id)
}

/// Plex: `ratingKey` (an item shown), `parentRatingKey` / `grandparentRatingKey` (named).
pub(super) fn scan_rating_keys(body: &[u8], shown: &mut Vec<String>, named: &mut Vec<String>) {
    const NEEDLE: &[u8] = b"atingKey";
    // Built once: `memmem::find` builds its searcher per call, and every answer stored is
    // scanned (a tenth of storing an answer from the library copy).
    static FINDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(NEEDLE));
    let mut at = 0;
    while let Some(pos) = FINDER.find(&body[at..]) {
        let i = at + pos;
        at = i + NEEDLE.len();
        let before = &body[..i];
        let target = if before.ends_with(b"parentR") {
            &mut *named
        } else if before.ends_with(b"r")
            && before.len() >= 2
            && !before[before.len() - 2].is_ascii_alphanumeric()
        {
            &mut *shown
        } else {
            continue;
        };
        if let Some(id) = id_after(body, at) {
            target.push(id.to_owned());
        }
    }
}
