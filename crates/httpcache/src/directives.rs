//! `Cache-Control` (RFC 9111 §5.2) and targeted cache-control fields (RFC 9213).
//!
//! The reading is tolerant and never fails: a member that does not parse is skipped, or, when
//! it names a freshness directive, makes the response stale (§4.2.1 encourages caches to treat
//! invalid freshness information so). In detail:
//!
//! - names are matched in any case; members are separated by commas across all field lines;
//!   empty members are ignored; a comma inside a quoted value does not split it;
//! - a value is a token or a quoted string (its escapes undone); `max-age="60"` is read as 60,
//!   `max-age='60'`, `max-age=60.5`, `max-age=-1`, `max-age =60` are invalid;
//! - delta-seconds past 2^31 saturate to 2^31 (§1.2.2), however many digits;
//! - a response `max-age` or `s-maxage` given twice with different values, or invalid, makes
//!   the response stale (lifetime 0: "either the first occurrence should be used or the
//!   response should be considered stale", §4.2.1 — the safer of the two); repeated stale
//!   windows keep the smaller;
//! - `no-cache` and `private` with a field list keep the list; an unqualified one anywhere
//!   wins.
//!
//! A targeted field such as `CDN-Cache-Control` is a Structured Fields dictionary (RFC 8941):
//! lower-case keys, integers, strings, booleans. [`ResponseDirectives::from_headers`] uses the
//! first targeted field (in the operator's order) that is present and parses to a non-empty
//! dictionary, and then ignores `Cache-Control` and `Expires` (RFC 9213 §2.2); a targeted field
//! that does not parse is ignored as a whole.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::{DELTA_MAX, parse_delta};

/// Where a response's directives came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Source {
    /// `Cache-Control` (and `Expires`, `Pragma` are read beside it).
    #[default]
    CacheControl,
    /// A targeted field, which replaced `Cache-Control` and `Expires`.
    Targeted(HeaderName),
}

/// A directive that may name header fields (`no-cache`, `private`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FieldList {
    /// Absent.
    #[default]
    Absent,
    /// Present without a list: the whole response.
    All,
    /// Present with a list of field names (lower case): only those fields.
    Fields(Vec<HeaderName>),
}

impl FieldList {
    /// Whether the directive is present in any form.
    pub fn is_present(&self) -> bool {
        !matches!(self, FieldList::Absent)
    }

    /// Adds one occurrence: `list` is its field names, `None` for the unqualified form.
    fn add(&mut self, list: Option<Vec<HeaderName>>) {
        match (&mut *self, list) {
            (FieldList::All, _) => {}
            (_, None) => *self = FieldList::All,
            (FieldList::Absent, Some(names)) => *self = FieldList::Fields(names),
            (FieldList::Fields(have), Some(names)) => {
                for n in names {
                    if !have.contains(&n) {
                        have.push(n);
                    }
                }
            }
        }
    }
}

/// A response's cache directives (RFC 9111 §5.2.2, RFC 5861, RFC 8246).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseDirectives {
    /// `max-age`, seconds (0 when invalid or contradictory).
    pub max_age: Option<u32>,
    /// `s-maxage`, seconds (0 when invalid or contradictory).
    pub s_maxage: Option<u32>,
    /// `no-store`.
    pub no_store: bool,
    /// `no-cache`, with its field list if qualified.
    pub no_cache: FieldList,
    /// `private`, with its field list if qualified.
    pub private: FieldList,
    /// `public`.
    pub public: bool,
    /// `must-revalidate`.
    pub must_revalidate: bool,
    /// `proxy-revalidate`.
    pub proxy_revalidate: bool,
    /// `must-understand`.
    pub must_understand: bool,
    /// `no-transform`.
    pub no_transform: bool,
    /// `immutable` (RFC 8246).
    pub immutable: bool,
    /// `stale-while-revalidate` (RFC 5861 §3), seconds; an invalid value is ignored.
    pub stale_while_revalidate: Option<u32>,
    /// `stale-if-error` (RFC 5861 §4), seconds; an invalid value is ignored.
    pub stale_if_error: Option<u32>,
    /// Where these came from.
    pub source: Source,
}

/// `max-stale` of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxStale {
    /// Without a value: any staleness.
    Any,
    /// At most this many seconds stale.
    Secs(u32),
}

/// A request's cache directives (RFC 9111 §5.2.1, RFC 5861 §4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestDirectives {
    /// `max-age`: the oldest response the client accepts, seconds.
    pub max_age: Option<u32>,
    /// `max-stale`.
    pub max_stale: Option<MaxStale>,
    /// `min-fresh`: how long the response must stay fresh, seconds.
    pub min_fresh: Option<u32>,
    /// `no-cache` (also `Pragma: no-cache` when the request has no `Cache-Control`).
    pub no_cache: bool,
    /// `no-store`.
    pub no_store: bool,
    /// `no-transform`.
    pub no_transform: bool,
    /// `only-if-cached`: answer from the cache or with 504.
    pub only_if_cached: bool,
    /// `stale-if-error`, seconds.
    pub stale_if_error: Option<u32>,
}

/// One member's value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// No `=`.
    None,
    /// A token after `=` (possibly empty: `max-age=`).
    Token(&'a [u8]),
    /// A quoted string, escapes undone.
    Quoted(Vec<u8>),
    /// Something that is neither (`max-age =5`, an unterminated quote, junk after a value).
    Malformed,
}

impl Value<'_> {
    /// The value's bytes, when it has a well-formed one.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Token(t) => Some(t),
            Value::Quoted(q) => Some(q),
            Value::None | Value::Malformed => None,
        }
    }
}

/// Whether `b` may appear in a token (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Calls `each(name, value)` for every member of a `#cache-directive` list spread over
/// `lines`, in order. Names are as written (compare them without regard to case).
pub fn for_each_member<'a>(
    lines: impl IntoIterator<Item = &'a [u8]>,
    mut each: impl FnMut(&'a [u8], Value<'a>),
) {
    for line in lines {
        let mut i = 0;
        while i < line.len() {
            // Separators and whitespace between members; empty members are allowed.
            while i < line.len() && matches!(line[i], b' ' | b'\t' | b',') {
                i += 1;
            }
            if i >= line.len() {
                break;
            }
            let start = i;
            while i < line.len() && is_tchar(line[i]) {
                i += 1;
            }
            let name = &line[start..i];
            let mut value = Value::None;
            if i < line.len() && line[i] == b'=' && !name.is_empty() {
                i += 1;
                if i < line.len() && line[i] == b'"' {
                    let (q, next) = quoted(line, i);
                    i = next;
                    value = q.map_or(Value::Malformed, Value::Quoted);
                } else {
                    let vstart = i;
                    while i < line.len() && is_tchar(line[i]) {
                        i += 1;
                    }
                    value = Value::Token(&line[vstart..i]);
                }
            }
            // After a member: whitespace, then a comma or the end. Anything else makes the
            // member malformed; skip to the next comma outside quotes.
            while i < line.len() && matches!(line[i], b' ' | b'\t') {
                i += 1;
            }
            if i < line.len() && line[i] != b',' {
                value = Value::Malformed;
                while i < line.len() && line[i] != b',' {
                    if line[i] == b'"' {
                        i = quoted(line, i).1;
                    } else {
                        i += 1;
                    }
                }
            }
            if !name.is_empty() {
                each(name, value);
            }
        }
    }
}

/// The quoted string starting at `line[at] == '"'`: its content with escapes undone (`None`
/// when unterminated) and the index after it.
fn quoted(line: &[u8], at: usize) -> (Option<Vec<u8>>, usize) {
    let mut out = Vec::new();
    let mut i = at + 1;
    while i < line.len() {
        match line[i] {
            b'"' => return (Some(out), i + 1),
            b'\\' if i + 1 < line.len() => {
                out.push(line[i + 1]);
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    (None, i)
}

/// The field names of a qualified `no-cache` / `private` value (`"Set-Cookie, X-Foo"`);
/// names that are not valid header names are dropped.
fn field_names(v: &[u8]) -> Vec<HeaderName> {
    v.split(|&b| b == b',')
        .filter_map(|n| {
            let n = n.trim_ascii();
            (!n.is_empty()).then(|| HeaderName::from_bytes(n).ok())?
        })
        .collect()
}

/// A delta-seconds directive seen once more: the first value stays unless a later one
/// contradicts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delta {
    Unset,
    Value(u32),
    /// Invalid or contradictory: the response is stale.
    Stale,
}

impl Delta {
    fn add(&mut self, v: Option<u32>) {
        *self = match (*self, v) {
            (_, None) | (Delta::Stale, _) => Delta::Stale,
            (Delta::Unset, Some(n)) => Delta::Value(n),
            (Delta::Value(a), Some(b)) if a == b => Delta::Value(a),
            (Delta::Value(_), Some(_)) => Delta::Stale,
        }
    }

    fn get(self) -> Option<u32> {
        match self {
            Delta::Unset => None,
            Delta::Value(n) => Some(n),
            Delta::Stale => Some(0),
        }
    }
}

/// The smaller of a repeated stale window.
fn min_window(have: Option<u32>, v: Option<u32>) -> Option<u32> {
    match (have, v) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn lines<'a>(headers: &'a HeaderMap, name: &HeaderName) -> impl Iterator<Item = &'a [u8]> {
    headers.get_all(name).into_iter().map(HeaderValue::as_bytes)
}

impl ResponseDirectives {
    /// Reads `Cache-Control` lines.
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut d = Self::default();
        let (mut max_age, mut s_maxage) = (Delta::Unset, Delta::Unset);
        for_each_member(lines, |name, value| {
            let delta = || value.bytes().and_then(parse_delta);
            match name.to_ascii_lowercase().as_slice() {
                b"max-age" => max_age.add(delta()),
                b"s-maxage" => s_maxage.add(delta()),
                b"no-store" => d.no_store = true,
                b"no-cache" => d.no_cache.add(value.bytes().map(field_names)),
                b"private" => d.private.add(value.bytes().map(field_names)),
                b"public" => d.public = true,
                b"must-revalidate" => d.must_revalidate = true,
                b"proxy-revalidate" => d.proxy_revalidate = true,
                b"must-understand" => d.must_understand = true,
                b"no-transform" => d.no_transform = true,
                b"immutable" => d.immutable = true,
                b"stale-while-revalidate" => {
                    if let Some(n) = delta() {
                        d.stale_while_revalidate = min_window(d.stale_while_revalidate, Some(n));
                    }
                }
                b"stale-if-error" => {
                    if let Some(n) = delta() {
                        d.stale_if_error = min_window(d.stale_if_error, Some(n));
                    }
                }
                _ => {}
            }
        });
        d.max_age = max_age.get();
        d.s_maxage = s_maxage.get();
        d
    }

    /// A response's directives from its headers: the first of `targeted` present with a valid,
    /// non-empty value (RFC 9213 §2.2), else `Cache-Control`.
    pub fn from_headers(headers: &HeaderMap, targeted: &[HeaderName]) -> Self {
        for name in targeted {
            if let Some(d) = Self::parse_targeted(lines(headers, name)) {
                return Self {
                    source: Source::Targeted(name.clone()),
                    ..d
                };
            }
        }
        Self::parse(lines(headers, &http::header::CACHE_CONTROL))
    }

    /// Reads a targeted field (a Structured Fields dictionary, RFC 9213 §2.1); `None` when it
    /// is absent, empty or does not parse.
    pub fn parse_targeted<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Option<Self> {
        let mut joined = Vec::new();
        for (i, line) in lines.into_iter().enumerate() {
            if i > 0 {
                joined.extend_from_slice(b", ");
            }
            joined.extend_from_slice(line);
        }
        let dict = sf::dictionary(&joined)?;
        if dict.is_empty() {
            return None;
        }
        let mut d = Self::default();
        for (key, item) in dict {
            let delta = || match item {
                sf::Item::Integer(n) if n >= 0 => {
                    Some(u32::try_from(n).map_or(DELTA_MAX, |n| n.min(DELTA_MAX)))
                }
                _ => None,
            };
            let flag = matches!(item, sf::Item::Boolean(true));
            let list = || match &item {
                sf::Item::Boolean(true) => Some(None),
                sf::Item::String(s) => Some(Some(field_names(s.as_bytes()))),
                _ => None,
            };
            match key.as_str() {
                "max-age" => d.max_age = Some(delta().unwrap_or(0)),
                "s-maxage" => d.s_maxage = Some(delta().unwrap_or(0)),
                "no-store" => d.no_store = flag,
                "no-cache" => {
                    if let Some(l) = list() {
                        d.no_cache.add(l);
                    }
                }
                "private" => {
                    if let Some(l) = list() {
                        d.private.add(l);
                    }
                }
                "public" => d.public = flag,
                "must-revalidate" => d.must_revalidate = flag,
                "proxy-revalidate" => d.proxy_revalidate = flag,
                "must-understand" => d.must_understand = flag,
                "no-transform" => d.no_transform = flag,
                "immutable" => d.immutable = flag,
                "stale-while-revalidate" => d.stale_while_revalidate = delta(),
                "stale-if-error" => d.stale_if_error = delta(),
                _ => {}
            }
        }
        Some(d)
    }
}

impl RequestDirectives {
    /// Reads `Cache-Control` lines of a request. An invalid value leaves its directive out.
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut d = Self::default();
        for_each_member(lines, |name, value| {
            let delta = || value.bytes().and_then(parse_delta);
            match name.to_ascii_lowercase().as_slice() {
                // Repeated: the most demanding wins.
                b"max-age" => d.max_age = min_window(d.max_age, delta()),
                b"min-fresh" => {
                    if let Some(n) = delta() {
                        d.min_fresh = Some(d.min_fresh.map_or(n, |m| m.max(n)));
                    }
                }
                b"max-stale" => {
                    let v = match value {
                        Value::None => Some(MaxStale::Any),
                        _ => delta().map(MaxStale::Secs),
                    };
                    d.max_stale = match (d.max_stale, v) {
                        (Some(MaxStale::Secs(a)), Some(MaxStale::Secs(b))) => {
                            Some(MaxStale::Secs(a.min(b)))
                        }
                        (Some(MaxStale::Secs(a)), _) | (_, Some(MaxStale::Secs(a))) => {
                            Some(MaxStale::Secs(a))
                        }
                        (a, b) => a.or(b),
                    };
                }
                b"no-cache" => d.no_cache = true,
                b"no-store" => d.no_store = true,
                b"no-transform" => d.no_transform = true,
                b"only-if-cached" => d.only_if_cached = true,
                b"stale-if-error" => d.stale_if_error = min_window(d.stale_if_error, delta()),
                _ => {}
            }
        });
        d
    }

    /// A request's directives from its headers: `Cache-Control`, or `Pragma: no-cache` when
    /// there is no `Cache-Control` (RFC 9111 §5.4 keeps that reading for HTTP/1.0 clients).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        if headers.contains_key(http::header::CACHE_CONTROL) {
            return Self::parse(lines(headers, &http::header::CACHE_CONTROL));
        }
        let mut d = Self::default();
        for_each_member(lines(headers, &http::header::PRAGMA), |name, _| {
            if name.eq_ignore_ascii_case(b"no-cache") {
                d.no_cache = true;
            }
        });
        d
    }
}

/// The part of Structured Field Values (RFC 8941) a targeted field needs: a dictionary of
/// bare items; parameters and inner lists are parsed and their contents dropped.
pub(crate) mod sf {
    /// A member's value.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum Item {
        Integer(i64),
        Decimal,
        String(String),
        Token,
        Bytes,
        Boolean(bool),
        InnerList,
    }

    struct P<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl P<'_> {
        fn peek(&self) -> Option<u8> {
            self.s.get(self.i).copied()
        }
        fn skip_sp(&mut self) {
            while self.peek() == Some(b' ') {
                self.i += 1;
            }
        }
        fn skip_ows(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\t')) {
                self.i += 1;
            }
        }
    }

    /// Parses a dictionary; `None` when the input is not one. A key given twice keeps its
    /// last value, in the place of its first.
    pub(crate) fn dictionary(s: &[u8]) -> Option<Vec<(String, Item)>> {
        let mut p = P { s, i: 0 };
        p.skip_sp();
        let mut out: Vec<(String, Item)> = Vec::new();
        if p.peek().is_none() {
            return Some(out);
        }
        loop {
            let key = key(&mut p)?;
            let item = if p.peek() == Some(b'=') {
                p.i += 1;
                member_value(&mut p)?
            } else {
                parameters(&mut p)?;
                Item::Boolean(true)
            };
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = item,
                None => out.push((key, item)),
            }
            p.skip_ows();
            match p.peek() {
                None => return Some(out),
                Some(b',') => {
                    p.i += 1;
                    p.skip_ows();
                    // A trailing comma is an error.
                    p.peek()?;
                }
                Some(_) => return None,
            }
        }
    }

    fn key(p: &mut P<'_>) -> Option<String> {
        let first = p.peek()?;
        if !(first.is_ascii_lowercase() || first == b'*') {
            return None;
        }
        let start = p.i;
        while let Some(b) = p.peek() {
            if b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b) {
                p.i += 1;
            } else {
                break;
            }
        }
        Some(String::from_utf8_lossy(&p.s[start..p.i]).into_owned())
    }

    fn member_value(p: &mut P<'_>) -> Option<Item> {
        if p.peek() == Some(b'(') {
            p.i += 1;
            loop {
                p.skip_sp();
                if p.peek() == Some(b')') {
                    p.i += 1;
                    break;
                }
                bare_item(p)?;
                parameters(p)?;
                if !matches!(p.peek(), Some(b' ' | b')')) {
                    return None;
                }
            }
            parameters(p)?;
            return Some(Item::InnerList);
        }
        let item = bare_item(p)?;
        parameters(p)?;
        Some(item)
    }

    fn parameters(p: &mut P<'_>) -> Option<()> {
        while p.peek() == Some(b';') {
            p.i += 1;
            p.skip_sp();
            key(p)?;
            if p.peek() == Some(b'=') {
                p.i += 1;
                bare_item(p)?;
            }
        }
        Some(())
    }

    fn bare_item(p: &mut P<'_>) -> Option<Item> {
        match p.peek()? {
            b'-' | b'0'..=b'9' => number(p),
            b'"' => string(p),
            b':' => {
                p.i += 1;
                while let Some(b) = p.peek() {
                    p.i += 1;
                    if b == b':' {
                        return Some(Item::Bytes);
                    }
                    if !(b.is_ascii_alphanumeric() || b"+/=".contains(&b)) {
                        return None;
                    }
                }
                None
            }
            b'?' => {
                p.i += 1;
                let v = match p.peek()? {
                    b'0' => false,
                    b'1' => true,
                    _ => return None,
                };
                p.i += 1;
                Some(Item::Boolean(v))
            }
            b if b.is_ascii_alphabetic() || b == b'*' => {
                while let Some(b) = p.peek() {
                    if super::is_tchar(b) || b == b':' || b == b'/' {
                        p.i += 1;
                    } else {
                        break;
                    }
                }
                Some(Item::Token)
            }
            _ => None,
        }
    }

    fn number(p: &mut P<'_>) -> Option<Item> {
        let negative = p.peek() == Some(b'-');
        if negative {
            p.i += 1;
        }
        let start = p.i;
        let mut dot = None;
        while let Some(b) = p.peek() {
            if b.is_ascii_digit() {
                p.i += 1;
            } else if b == b'.' && dot.is_none() {
                dot = Some(p.i);
                p.i += 1;
            } else {
                break;
            }
        }
        let digits = &p.s[start..p.i];
        match dot {
            None => {
                if digits.is_empty() || digits.len() > 15 {
                    return None;
                }
                let mut n: i64 = 0;
                for &d in digits {
                    n = n * 10 + i64::from(d - b'0');
                }
                Some(Item::Integer(if negative { -n } else { n }))
            }
            Some(at) => {
                let (int, frac) = (at - start, p.i - at - 1);
                ((1..=12).contains(&int) && (1..=3).contains(&frac)).then_some(Item::Decimal)
            }
        }
    }

    fn string(p: &mut P<'_>) -> Option<Item> {
        p.i += 1;
        let mut out = String::new();
        loop {
            let b = p.peek()?;
            p.i += 1;
            match b {
                b'"' => return Some(Item::String(out)),
                b'\\' => {
                    let e = p.peek()?;
                    if e != b'"' && e != b'\\' {
                        return None;
                    }
                    out.push(char::from(e));
                    p.i += 1;
                }
                0x20..=0x7e => out.push(char::from(b)),
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests;
