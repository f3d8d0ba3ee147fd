//! The `Cache-Status` response field (RFC 9211): one cache's entry, built as bytes, and its
//! place after the entries of caches nearer the origin.
//!
//! An entry is the cache's name followed by parameters: `hit`, or `fwd` with why the request
//! went forward and `fwd-status` with the status the next hop gave; `ttl` (seconds of
//! freshness left, negative when stale); `stored`; `collapsed`; `key`; `detail`. Names and
//! details that are tokens are written as tokens, anything else as a string with `"` and
//! `\` escaped and bytes outside printable ASCII replaced by `?`, so no input can break the
//! field. The `key`, when given, is written as is: a caller must not pass one that holds a
//! credential.

/// Why a request went forward (RFC 9211 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fwd {
    /// The cache was configured not to handle this request.
    Bypass,
    /// The method is not cacheable.
    Method,
    /// No stored response for the URI.
    UriMiss,
    /// Stored responses for the URI, none for the request's `Vary` values.
    VaryMiss,
    /// A miss the cache cannot classify.
    Miss,
    /// The request's directives asked for it (`no-cache`, `max-age`…).
    Request,
    /// The stored response was stale and had to be validated.
    Stale,
    /// Only part of the response was stored.
    Partial,
}

impl Fwd {
    /// The parameter's token.
    pub fn as_str(self) -> &'static str {
        match self {
            Fwd::Bypass => "bypass",
            Fwd::Method => "method",
            Fwd::UriMiss => "uri-miss",
            Fwd::VaryMiss => "vary-miss",
            Fwd::Miss => "miss",
            Fwd::Request => "request",
            Fwd::Stale => "stale",
            Fwd::Partial => "partial",
        }
    }
}

/// One cache's `Cache-Status` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheStatus<'a> {
    cache: &'a str,
    hit: bool,
    fwd: Option<Fwd>,
    fwd_status: Option<u16>,
    ttl: Option<i64>,
    stored: bool,
    collapsed: bool,
    key: Option<&'a str>,
    detail: Option<&'a str>,
}

impl<'a> CacheStatus<'a> {
    /// An answer from the cache `cache` (named by itself, e.g. `cachearr`) without going
    /// forward.
    pub fn hit(cache: &'a str) -> Self {
        Self::new(cache, true, None)
    }

    /// A request `cache` sent forward, and why.
    pub fn forward(cache: &'a str, why: Fwd) -> Self {
        Self::new(cache, false, Some(why))
    }

    fn new(cache: &'a str, hit: bool, fwd: Option<Fwd>) -> Self {
        Self {
            cache,
            hit,
            fwd,
            fwd_status: None,
            ttl: None,
            stored: false,
            collapsed: false,
            key: None,
            detail: None,
        }
    }

    /// The status the next hop answered the forwarded request with.
    pub fn fwd_status(mut self, status: u16) -> Self {
        self.fwd_status = Some(status);
        self
    }

    /// Seconds of freshness the response has left (negative: stale).
    pub fn ttl(mut self, secs: i64) -> Self {
        self.ttl = Some(secs);
        self
    }

    /// The forwarded response was stored.
    pub fn stored(mut self) -> Self {
        self.stored = true;
        self
    }

    /// The request was collapsed with another one's (one fetch answered both).
    pub fn collapsed(mut self) -> Self {
        self.collapsed = true;
        self
    }

    /// The cache key (never one holding a credential).
    pub fn key(mut self, key: &'a str) -> Self {
        self.key = Some(key);
        self
    }

    /// Anything more, as a token where it is one.
    pub fn detail(mut self, detail: &'a str) -> Self {
        self.detail = Some(detail);
        self
    }

    /// Appends the entry to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        token_or_string(out, self.cache);
        if self.hit {
            out.extend_from_slice(b"; hit");
        }
        if let Some(f) = self.fwd {
            out.extend_from_slice(b"; fwd=");
            out.extend_from_slice(f.as_str().as_bytes());
        }
        if let Some(s) = self.fwd_status {
            out.extend_from_slice(b"; fwd-status=");
            out.extend_from_slice(s.to_string().as_bytes());
        }
        if let Some(t) = self.ttl {
            out.extend_from_slice(b"; ttl=");
            // Structured Fields integers have at most 15 digits.
            let t = t.clamp(-999_999_999_999_999, 999_999_999_999_999);
            out.extend_from_slice(t.to_string().as_bytes());
        }
        if self.stored {
            out.extend_from_slice(b"; stored");
        }
        if self.collapsed {
            out.extend_from_slice(b"; collapsed");
        }
        if let Some(k) = self.key {
            out.extend_from_slice(b"; key=");
            string(out, k);
        }
        if let Some(d) = self.detail {
            out.extend_from_slice(b"; detail=");
            token_or_string(out, d);
        }
    }

    /// The entry as a field value.
    pub fn to_value(&self) -> String {
        let mut out = Vec::with_capacity(64);
        self.write(&mut out);
        // Only printable ASCII was written.
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// `ours` after the `Cache-Status` entries of the caches before it (`upstream`'s value, if
/// any): RFC 9211 §2 has each cache append its entry, nearest the origin first.
pub fn append(upstream: Option<&[u8]>, ours: &CacheStatus<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    if let Some(u) = upstream.map(<[u8]>::trim_ascii).filter(|u| !u.is_empty()) {
        out.extend(
            u.iter()
                .map(|&b| if (0x20..0x7f).contains(&b) { b } else { b'?' }),
        );
        out.extend_from_slice(b", ");
    }
    ours.write(&mut out);
    out
}

/// Whether `s` is a Structured Fields token (RFC 8941 §3.3.4).
fn is_sf_token(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'*')
        && b.iter()
            .all(|&c| crate::directives::is_tchar(c) || c == b':' || c == b'/')
}

fn token_or_string(out: &mut Vec<u8>, s: &str) {
    if is_sf_token(s) {
        out.extend_from_slice(s.as_bytes());
    } else {
        string(out, s);
    }
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            0x20..=0x7e => out.push(b),
            _ => out.push(b'?'),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_with_its_ttl() {
        let v = CacheStatus::hit("cachearr")
            .ttl(30)
            .detail("memory")
            .to_value();
        assert_eq!(v, "cachearr; hit; ttl=30; detail=memory");
    }

    #[test]
    fn a_forwarded_request_with_every_parameter() {
        let v = CacheStatus::forward("cachearr", Fwd::Stale)
            .fwd_status(304)
            .ttl(-5)
            .stored()
            .collapsed()
            .key("/a?b")
            .detail("no lifetime")
            .to_value();
        assert_eq!(
            v,
            "cachearr; fwd=stale; fwd-status=304; ttl=-5; stored; collapsed; key=\"/a?b\"; detail=\"no lifetime\""
        );
        for (f, s) in [
            (Fwd::Bypass, "bypass"),
            (Fwd::Method, "method"),
            (Fwd::UriMiss, "uri-miss"),
            (Fwd::VaryMiss, "vary-miss"),
            (Fwd::Miss, "miss"),
            (Fwd::Request, "request"),
            (Fwd::Partial, "partial"),
        ] {
            assert_eq!(
                CacheStatus::forward("c", f).to_value(),
                format!("c; fwd={s}")
            );
        }
    }

    #[test]
    fn hostile_text_cannot_break_the_field() {
        let v = CacheStatus::hit("my cache")
            .detail("a\"b\\c\r\nd;é")
            .to_value();
        assert_eq!(v, "\"my cache\"; hit; detail=\"a\\\"b\\\\c??d;??\"");
        let v = CacheStatus::hit("c").ttl(i64::MIN).to_value();
        assert_eq!(v, "c; hit; ttl=-999999999999999");
    }

    #[test]
    fn our_entry_goes_after_the_upstream_ones() {
        let ours = CacheStatus::forward("cachearr", Fwd::UriMiss).stored();
        assert_eq!(
            append(Some(b" origin-cache; hit "), &ours),
            b"origin-cache; hit, cachearr; fwd=uri-miss; stored"
        );
        assert_eq!(append(Some(b""), &ours), b"cachearr; fwd=uri-miss; stored");
        assert_eq!(append(None, &ours), b"cachearr; fwd=uri-miss; stored");
    }
}
