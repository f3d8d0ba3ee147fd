//! Range requests answered from a stored complete response (RFC 9110 §14; RFC 9111 §3.4
//! lets a cache do so): which part of the stored body a `Range` field asks, and whether an
//! `If-Range` lets a part be sent at all.
//!
//! Only what a cache can answer with certainty is read: one range of the `bytes` unit, in any
//! of its three forms (`first-last`, `first-`, `-suffix`). Several ranges (a
//! `multipart/byteranges` answer), other units and anything malformed are [`Part::Other`]: the
//! caller lets the origin decide, as it did before it kept anything.

use http::{HeaderMap, header};

use crate::fields;

/// What a request's `Range` asks of a body of a known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Bytes `first..=last` of the body (`last` within it).
    Bytes {
        /// The first byte sent.
        first: u64,
        /// The last byte sent, inclusive.
        last: u64,
    },
    /// One well-formed range that no byte of the body satisfies (a `416` answer).
    Unsatisfiable,
    /// No `Range`, several, another unit, or a field not read with certainty.
    Other,
}

/// The part of a body of `len` bytes that `Range` asks (RFC 9110 §14.1.2).
#[must_use]
pub fn part(request: &HeaderMap, len: u64) -> Part {
    let mut values = request.get_all(header::RANGE).into_iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Part::Other;
    };
    let Ok(value) = value.to_str() else {
        return Part::Other;
    };
    let Some((unit, set)) = value.split_once('=') else {
        return Part::Other;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Part::Other;
    }
    let set = set.trim();
    if set.contains(',') {
        return Part::Other;
    }
    let Some((first, last)) = set.split_once('-') else {
        return Part::Other;
    };
    let (first, last) = (first.trim(), last.trim());
    match (digits(first), digits(last)) {
        // `-suffix`: the last `suffix` bytes; a zero-length suffix satisfies nothing.
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 || len == 0 {
                Part::Unsatisfiable
            } else {
                Part::Bytes {
                    first: len.saturating_sub(suffix),
                    last: len - 1,
                }
            }
        }
        // `first-`: from `first` to the end.
        (Some(first), None) if last.is_empty() => from(first, len.saturating_sub(1), len),
        // `first-last`, `last` cut to the body's end.
        (Some(first), Some(last)) if first <= last => {
            from(first, last.min(len.saturating_sub(1)), len)
        }
        _ => Part::Other,
    }
}

fn from(first: u64, last: u64, len: u64) -> Part {
    if first >= len {
        Part::Unsatisfiable
    } else {
        Part::Bytes { first, last }
    }
}

/// `1*DIGIT`, or `None` (empty, another character, or past `u64`).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether the request's `If-Range` (RFC 9110 §13.1.5) lets a part of the stored response be
/// sent: absent; a strong entity tag equal to the stored `ETag`; or a date equal to a
/// `Last-Modified` that is strong (at least a second before the response's `Date`). Anything
/// else means the whole representation, which the caller leaves to the origin.
#[must_use]
pub fn if_range_allows(request: &HeaderMap, stored: &HeaderMap) -> bool {
    let Some(cond) = request.get(header::IF_RANGE) else {
        return true;
    };
    let Ok(cond) = cond.to_str() else {
        return false;
    };
    let cond = cond.trim();
    if cond.starts_with('"') || cond.starts_with("W/") {
        let etag = stored.get(header::ETAG).and_then(|v| v.to_str().ok());
        return !cond.starts_with("W/")
            && etag.is_some_and(|e| !e.starts_with("W/") && e.trim() == cond);
    }
    let Some(since) = fields::parse_http_date(cond) else {
        return false;
    };
    let modified = fields::last_modified(stored);
    let date = fields::date(stored);
    match (modified, date) {
        (Some(m), Some(d)) => m == since && d >= m + 1000,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_headers as map;

    fn asked(range: &str, len: u64) -> Part {
        part(&map(&[("range", range)]), len)
    }

    #[test]
    fn the_three_forms_of_one_byte_range() {
        assert_eq!(asked("bytes=0-1", 11), Part::Bytes { first: 0, last: 1 });
        assert_eq!(asked("bytes=5-", 11), Part::Bytes { first: 5, last: 10 });
        assert_eq!(
            asked("bytes=-1", 11),
            Part::Bytes {
                first: 10,
                last: 10
            }
        );
        assert_eq!(
            asked("Bytes = 2 - 4", 11),
            Part::Bytes { first: 2, last: 4 }
        );
        // A last byte past the end is cut to it; a suffix longer than the body is all of it.
        assert_eq!(asked("bytes=3-999", 11), Part::Bytes { first: 3, last: 10 });
        assert_eq!(asked("bytes=-50", 11), Part::Bytes { first: 0, last: 10 });
    }

    #[test]
    fn a_range_past_the_end_is_unsatisfiable() {
        assert_eq!(asked("bytes=11-", 11), Part::Unsatisfiable);
        assert_eq!(asked("bytes=20-30", 11), Part::Unsatisfiable);
        assert_eq!(asked("bytes=-0", 11), Part::Unsatisfiable);
        assert_eq!(asked("bytes=0-", 0), Part::Unsatisfiable);
    }

    #[test]
    fn what_is_not_read_with_certainty_is_left_to_the_origin() {
        for other in [
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=4-2",
            "bytes=a-b",
            "bytes=-",
            "bytes 0-1",
            "bytes=0x1-2",
            "bytes=99999999999999999999999-",
            "bytes=+1-2",
        ] {
            assert_eq!(asked(other, 11), Part::Other, "{other:?}");
        }
        assert_eq!(part(&map(&[]), 11), Part::Other);
        assert_eq!(
            part(&map(&[("range", "bytes=0-1"), ("range", "bytes=2-3")]), 11),
            Part::Other
        );
    }

    #[test]
    fn if_range_needs_a_strong_match() {
        let stored = map(&[
            ("etag", "\"v1\""),
            ("last-modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ("date", "Mon, 01 Jan 2024 00:10:00 GMT"),
        ]);
        assert!(if_range_allows(&map(&[]), &stored));
        assert!(if_range_allows(&map(&[("if-range", "\"v1\"")]), &stored));
        assert!(!if_range_allows(&map(&[("if-range", "\"v2\"")]), &stored));
        assert!(!if_range_allows(&map(&[("if-range", "W/\"v1\"")]), &stored));
        let weak = map(&[("etag", "W/\"v1\"")]);
        assert!(!if_range_allows(&map(&[("if-range", "\"v1\"")]), &weak));
        let date = "Mon, 01 Jan 2024 00:00:00 GMT";
        assert!(if_range_allows(&map(&[("if-range", date)]), &stored));
        assert!(!if_range_allows(
            &map(&[("if-range", "Tue, 02 Jan 2024 00:00:00 GMT")]),
            &stored
        ));
        // A Last-Modified within a second of the response's Date is weak.
        let same_second = map(&[("last-modified", date), ("date", date)]);
        assert!(!if_range_allows(&map(&[("if-range", date)]), &same_second));
        assert!(!if_range_allows(&map(&[("if-range", "soon")]), &stored));
    }
}
