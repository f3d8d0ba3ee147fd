//! Tokens nested in query values: python-plexapi's `transcodeImage` sends
//! `/photo/:/transcode?url=%2Flibrary%2Fmetadata%2F1%2Fthumb%3FX-Plex-Token%3D…`, and a value
//! can be percent-encoded any number of times. A value is decoded level by level (up to
//! [`MAX_LEVELS`]) and every level is searched for `name=value` with a token name; what is
//! found counts for the request's identity and is removed from keys and logs. A value still
//! changing after the last level is [`TooDeep`]: the request is not cached and the value is
//! not logged.

use std::borrow::Cow;

use super::{REDACTED_VALUE, form_decode, is_token_param};

/// Decoding levels searched; a value still encoded past them is refused.
pub const MAX_LEVELS: usize = 6;

/// A value encoded more deeply than [`MAX_LEVELS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep;

/// Whether a raw query value could hold a nested token at all (the common case, a plain
/// value, is answered without decoding).
pub fn worth_a_look(raw: &str) -> bool {
    raw.bytes().any(|b| b == b'%' || b == b'=')
}

/// The levels of a value: itself, then each percent-decoding until nothing changes.
fn levels(raw: &str) -> Result<Vec<Cow<'_, str>>, TooDeep> {
    let mut out: Vec<Cow<'_, str>> = vec![Cow::Borrowed(raw)];
    loop {
        let last = out.last().map_or("", |l| l.as_ref());
        if !last.contains('%') {
            return Ok(out);
        }
        let next = percent_encoding::percent_decode_str(last)
            .decode_utf8_lossy()
            .into_owned();
        if next == last {
            return Ok(out);
        }
        if out.len() > MAX_LEVELS {
            return Err(TooDeep);
        }
        out.push(Cow::Owned(next));
    }
}

/// Byte ranges of token values in one level's text: `name=value` with a token name at the
/// start or after `?`, `&` or `;`, the value running to the next `&`, `;` or `#`.
fn token_ranges(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..=bytes.len() {
        let end_of_part = i == bytes.len() || matches!(bytes[i], b'?' | b'&' | b';' | b'#');
        if !end_of_part {
            continue;
        }
        let part = &text[start..i];
        if let Some((name, _)) = part.split_once('=')
            && is_token_param(&form_decode(name))
        {
            out.push((start + name.len() + 1, i));
        }
        start = i + 1;
    }
    out
}

/// The tokens nested in a raw query value, decoded as a server would read them.
///
/// # Errors
/// [`TooDeep`] for a value encoded more deeply than [`MAX_LEVELS`].
pub fn find(raw: &str) -> Result<Vec<String>, TooDeep> {
    let mut out = Vec::new();
    for level in levels(raw)? {
        for (a, b) in token_ranges(&level) {
            let t = form_decode(&level[a..b]).into_owned();
            if !t.is_empty() && !out.contains(&t) {
                out.push(t);
            }
        }
    }
    Ok(out)
}

/// The value as it goes into a key or a log line: `None` when it holds no token (use it as
/// is); otherwise its fully decoded text with every token value replaced.
///
/// # Errors
/// [`TooDeep`] for a value encoded more deeply than [`MAX_LEVELS`].
pub fn redacted(raw: &str) -> Result<Option<String>, TooDeep> {
    let tokens = find(raw)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let levels = levels(raw)?;
    let last = levels.last().map_or(raw, |l| l.as_ref());
    let mut text = String::with_capacity(last.len());
    let mut at = 0;
    for (a, b) in token_ranges(last) {
        text.push_str(&last[at..a]);
        text.push_str(REDACTED_VALUE);
        at = b;
    }
    text.push_str(&last[at..]);
    // A token holding separators once decoded would be only partly covered by the ranges.
    for t in &tokens {
        text = text.replace(t.as_str(), REDACTED_VALUE);
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_at_any_depth() {
        let one = "%2Flibrary%2Fmetadata%2F1%2Fthumb%3FX-Plex-Token%3DSECRET";
        assert_eq!(find(one).unwrap(), vec!["SECRET".to_string()]);
        let two = "%252Fa%253Fwidth%253D1%2526api_key%253DSECRET";
        assert_eq!(find(two).unwrap(), vec!["SECRET".to_string()]);
        let plain = "/a?X-Plex-Token=SECRET";
        assert_eq!(find(plain).unwrap(), vec!["SECRET".to_string()]);
        let name_encoded = "%2Fa%3FX%252DPlex%252DToken%253DSECRET";
        assert_eq!(find(name_encoded).unwrap(), vec!["SECRET".to_string()]);
        assert!(
            find("%2Flibrary%2Fmetadata%2F1%2Fthumb")
                .unwrap()
                .is_empty()
        );
        let mut deep = "X-Plex-Token=SECRET".to_string();
        for _ in 0..10 {
            deep = percent_encoding::utf8_percent_encode(&deep, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        }
        assert_eq!(find(&deep), Err(TooDeep));
    }

    #[test]
    fn redaction_leaves_no_token() {
        for raw in [
            "%2Fa%3FX-Plex-Token%3DSECRET%26b%3D1",
            "%252Fa%253Fapi_key%253DSECRET",
            "/a?x-plex-token=SEC%26RET",
        ] {
            let r = redacted(raw).unwrap().unwrap();
            assert!(
                !r.contains("SECRET") && !r.contains("SEC&RET"),
                "{raw} -> {r}"
            );
            assert!(!r.contains("SEC%26RET"), "{raw} -> {r}");
        }
        assert_eq!(redacted("%2Fplain").unwrap(), None);
    }
}
