//! The single-valued fields freshness is computed from: `Date`, `Expires`, `Last-Modified`
//! (HTTP dates, RFC 9110 §5.6.7, all three formats a recipient must accept) and `Age`
//! (RFC 9111 §5.1).
//!
//! A field that must hold one value but holds several — two field lines, or a list on one —
//! is as good as invalid: RFC 9111 §4.2.1 lets a cache use the first occurrence or consider
//! the response stale, and this crate takes the safer reading. So an `Age` that is not exactly
//! one `1*DIGIT` makes the response stale, and an `Expires` that is not exactly one valid date
//! is in the past (as §5.3 requires for an invalid one).

use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderName};

use crate::{DELTA_MAX, parse_delta};

/// The one value of a single-valued field, trimmed: `Ok(None)` when absent, `Err` when given
/// on two field lines or not text. (A list on one line fails the value's own parsing.)
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, Invalid> {
    let mut all = headers.get_all(name).into_iter();
    let Some(first) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(Invalid);
    }
    first.to_str().map(|s| Some(s.trim())).map_err(|_| Invalid)
}

/// A field that is present but not one valid value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// Parses an HTTP date (IMF-fixdate, RFC 850 or asctime) into milliseconds since the epoch.
pub fn parse_http_date(s: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(s.trim()).ok()?;
    let d = t.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(d.as_millis()).ok()
}

/// Formats milliseconds since the epoch as an IMF-fixdate (whole seconds).
pub fn fmt_http_date(ms: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(ms))
}

/// A date field: `Ok(None)` when absent, `Err` when repeated or not a date.
pub fn date_field(headers: &HeaderMap, name: &HeaderName) -> Result<Option<u64>, Invalid> {
    match single(headers, name)? {
        None => Ok(None),
        Some(s) => parse_http_date(s).map(Some).ok_or(Invalid),
    }
}

/// `Date`, in milliseconds since the epoch; `None` when absent or invalid (the cache then
/// uses the time it received the response, RFC 9110 §6.6.1).
pub fn date(headers: &HeaderMap) -> Option<u64> {
    date_field(headers, &http::header::DATE).ok().flatten()
}

/// `Last-Modified`, in milliseconds since the epoch, when it is one valid date.
pub fn last_modified(headers: &HeaderMap) -> Option<u64> {
    date_field(headers, &http::header::LAST_MODIFIED)
        .ok()
        .flatten()
}

/// `Expires`: `Ok(None)` when absent, `Ok(Some(ms))` for one valid date, `Err` otherwise (a
/// time in the past, RFC 9111 §5.3).
pub fn expires(headers: &HeaderMap) -> Result<Option<u64>, Invalid> {
    date_field(headers, &http::header::EXPIRES)
}

/// `Age` in seconds: 0 when absent; one `1*DIGIT` value saturating at 2^31; and 2^31 — older
/// than any lifetime, so stale — for anything else (repeated, negative, fractional, with
/// parameters).
pub fn age(headers: &HeaderMap) -> u32 {
    match single(headers, &http::header::AGE) {
        Ok(None) => 0,
        Ok(Some(s)) => parse_delta(s.as_bytes()).unwrap_or(DELTA_MAX),
        Err(Invalid) => DELTA_MAX,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use http::{HeaderMap, HeaderValue, header};

    use super::*;

    use crate::test_headers as map;

    #[test]
    fn age_accepts_one_number_and_saturates() {
        assert_eq!(age(&map(&[])), 0);
        assert_eq!(age(&map(&[("age", "30")])), 30);
        assert_eq!(age(&map(&[("age", " 0030 ")])), 30);
        assert_eq!(age(&map(&[("age", "99999999999999999999")])), DELTA_MAX);
    }

    #[test]
    fn age_that_is_not_one_number_is_as_old_as_can_be() {
        for bad in [
            "abc", "-1", "1.5", "3600, 0", "0, 3600", "0, 0", "0;a=b", "0;1", "",
        ] {
            assert_eq!(age(&map(&[("age", bad)])), DELTA_MAX, "{bad:?}");
        }
        assert_eq!(age(&map(&[("age", "0"), ("age", "0")])), DELTA_MAX);
        assert_eq!(age(&map(&[("age", "3600"), ("age", "3600")])), DELTA_MAX);
    }

    #[test]
    fn dates_in_all_three_formats() {
        let want = Some(784_111_777_000);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), want);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), want);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), want);
        assert_eq!(parse_http_date("0"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 AEST"), None);
        assert_eq!(
            fmt_http_date(784_111_777_000),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    #[test]
    fn expires_repeated_or_invalid_is_an_error() {
        assert_eq!(expires(&map(&[])), Ok(None));
        assert_eq!(
            expires(&map(&[("expires", "Sun, 06 Nov 1994 08:49:37 GMT")])),
            Ok(Some(784_111_777_000))
        );
        assert_eq!(expires(&map(&[("expires", "0")])), Err(Invalid));
        let two = map(&[
            ("expires", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("expires", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ]);
        assert_eq!(expires(&two), Err(Invalid));
    }

    #[test]
    fn date_and_last_modified_ignore_what_they_cannot_read() {
        let h = map(&[
            ("date", "yesterday"),
            ("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ]);
        assert_eq!(date(&h), None);
        assert_eq!(last_modified(&h), Some(784_111_777_000));
        let mut h = HeaderMap::new();
        h.insert(header::DATE, HeaderValue::from_bytes(b"\xff").unwrap());
        assert_eq!(date(&h), None);
    }
}
