//! Cache keys and user identity.
//!
//! A key is one string built in one pass:
//!
//! ```text
//! {upstream} {METHOD} {path}?{canonical query} p={start},{size} a={accept} l={language} {scope}
//! ```
//!
//! - the canonical query is the client's query with tokens and client-identity parameters removed
//!   and the remaining `name=value` pairs sorted (names lower-cased for Jellyfin, whose parameter
//!   names are case-insensitive);
//! - paging (`X-Plex-Container-Start/Size`) is taken from the header or the query, whichever the
//!   client used, and written in one form;
//! - the scope is `u={hash}` (user scope: SipHash-1-3/128 of the token keyed with the
//!   installation [`Secret`]) or `s` (shared scope).
//!
//! A token never appears in a key: it is removed from the query and only its keyed hash is used.
//! The layout makes prefix clears natural (`plex GET /library/metadata/`).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;

use http::HeaderMap;
use siphasher::sip128::{Hasher128, SipHasher13};

use crate::policy::Profile;

/// The per-installation key of the token hash: 16 random bytes made at first start, stored in
/// `{data_dir}/secret` with owner-only permissions.
#[derive(Clone)]
pub struct Secret([u8; 16]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A secret from given bytes (tests).
    pub fn from_bytes(bytes: [u8; 16]) -> Secret {
        Secret(bytes)
    }

    /// Loads `{dir}/secret`, creating it (mode 0600) on first start.
    ///
    /// # Errors
    /// I/O errors, a malformed secret file, or no randomness from the OS.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Secret> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("secret");
        match std::fs::File::open(&path) {
            Ok(mut f) => {
                let mut text = String::new();
                f.read_to_string(&mut text)?;
                let bytes = decode_hex16(text.trim()).ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "{} is not a cachearr secret (32 hex digits)",
                            path.display()
                        ),
                    )
                })?;
                restrict_permissions(&path)?;
                Ok(Secret(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 16];
                getrandom::fill(&mut bytes)
                    .map_err(|e| std::io::Error::other(format!("no randomness: {e}")))?;
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(&path)?;
                let mut text = String::with_capacity(33);
                for b in bytes {
                    let _ = write!(text, "{b:02x}");
                }
                text.push('\n');
                f.write_all(text.as_bytes())?;
                f.sync_all()?;
                Ok(Secret(bytes))
            }
            Err(e) => Err(e),
        }
    }

    /// The user hash of a token.
    pub fn user_of(&self, token: &str) -> UserHash {
        let mut h = SipHasher13::new_with_key(&self.0);
        std::hash::Hasher::write(&mut h, token.as_bytes());
        UserHash(h.finish128().as_u128())
    }
}

fn restrict_permissions(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

fn decode_hex16(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The keyed hash identifying a user (a token) without revealing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserHash(pub u128);

impl UserHash {
    /// The 32 lower-case hex digits of the hash, without `core::fmt`: it is in every user-scoped
    /// key, so this runs on every hit (`u128`'s `LowerHex` showed in the hit path's profile).
    pub fn hex(&self) -> [u8; 32] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (i, byte) in self.0.to_be_bytes().iter().enumerate() {
            out[i * 2] = DIGITS[usize::from(byte >> 4)];
            out[i * 2 + 1] = DIGITS[usize::from(byte & 0x0f)];
        }
        out
    }
}

impl std::fmt::Display for UserHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex = self.hex();
        // Hex digits are ASCII.
        f.write_str(std::str::from_utf8(&hex).map_err(|_| std::fmt::Error)?)
    }
}

/// The token a request carries, if any (header or query; Plex and Jellyfin forms).
pub fn token_of<'a>(
    profile: Profile,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Option<std::borrow::Cow<'a, str>> {
    use std::borrow::Cow;
    match profile {
        Profile::Plex => {
            if let Some(v) = headers.get("x-plex-token").and_then(|v| v.to_str().ok())
                && !v.is_empty()
            {
                return Some(Cow::Borrowed(v));
            }
        }
        Profile::Jellyfin => {
            for name in ["x-emby-token", "x-mediabrowser-token"] {
                if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok())
                    && !v.is_empty()
                {
                    return Some(Cow::Borrowed(v));
                }
            }
            for name in ["authorization", "x-emby-authorization"] {
                if let Some(t) = headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .and_then(mediabrowser_token)
                {
                    return Some(Cow::Borrowed(t));
                }
            }
        }
    }
    let q = query?;
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if is_token_param(k) && !v.is_empty() {
            return Some(percent_encoding::percent_decode_str(v).decode_utf8_lossy());
        }
    }
    None
}

/// `Token="…"` inside a `MediaBrowser …` / `Emby …` authorization header.
fn mediabrowser_token(v: &str) -> Option<&str> {
    let (_scheme, params) = v.split_once(' ')?;
    for part in params.split(',') {
        let (k, val) = part.trim().split_once('=')?;
        if k.trim().eq_ignore_ascii_case("token") {
            let t = val.trim().trim_matches('"');
            if !t.is_empty() {
                return Some(t);
            }
        }
    }
    None
}

/// Query parameter names that carry a token (any case, any profile).
pub fn is_token_param(name: &str) -> bool {
    name.eq_ignore_ascii_case("x-plex-token")
        || name.eq_ignore_ascii_case("api_key")
        || name.eq_ignore_ascii_case("apikey")
        || name.eq_ignore_ascii_case("x-emby-token")
        || name.eq_ignore_ascii_case("x-mediabrowser-token")
}

/// `X-Plex-*` parameters that change the answer and so stay in the key; every other `X-Plex-*`
/// parameter identifies the client (product, device, platform …) and is dropped from the key.
const PLEX_KEPT: [&str; 3] = [
    "x-plex-container-focus-key",
    "x-plex-language",
    "x-plex-pms-api-version",
];

/// Why a request cannot be keyed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A query parameter name is not valid percent-encoded UTF-8.
    #[error("a query parameter name is not valid UTF-8")]
    BadQueryName,
    /// A paging value is not a number.
    #[error("X-Plex-Container-Start/Size must be numbers")]
    BadPaging,
}

/// The parts a key is made of.
#[derive(Debug)]
pub struct KeyInput<'a> {
    /// Upstream name.
    pub upstream: &'a str,
    /// Profile (decides parameter case rules and paging).
    pub profile: Profile,
    /// Method.
    pub method: &'a http::Method,
    /// Raw path.
    pub path: &'a str,
    /// Raw query.
    pub query: Option<&'a str>,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// `Some(user)` for user scope, `None` for shared scope.
    pub user: Option<UserHash>,
}

/// Builds the key text. See the module docs for the layout.
///
/// # Errors
/// [`KeyError`] for query parameter names that are not UTF-8 and non-numeric paging values.
pub fn build_key(k: &KeyInput<'_>) -> Result<String, KeyError> {
    let accept = k
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    // Sized once for everything below (paging, Accept, language, the user's 32 hex digits), so
    // the key is built without a reallocation: this runs on every cached request.
    let mut out = String::with_capacity(
        k.upstream.len()
            + k.path.len()
            + k.query.map_or(0, str::len)
            + accept.map_or(0, str::len)
            + 128,
    );
    out.push_str(k.upstream);
    out.push(' ');
    out.push_str(k.method.as_str());
    out.push(' ');
    out.push_str(k.path);
    let plex = k.profile == Profile::Plex;
    let mut start: Option<u64> = None;
    let mut size: Option<u64> = None;
    let mut language: Option<&str> = None;
    if let Some(q) = k.query {
        let mut pairs: Vec<std::borrow::Cow<'_, str>> = Vec::new();
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (raw_name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent_encoding::percent_decode_str(raw_name)
                .decode_utf8()
                .map_err(|_| KeyError::BadQueryName)?;
            if is_token_param(&name) {
                continue;
            }
            if plex
                && name.len() > 7
                && name
                    .get(..7)
                    .is_some_and(|p| p.eq_ignore_ascii_case("x-plex-"))
            {
                if name.eq_ignore_ascii_case("x-plex-container-start") {
                    start = Some(parse_num(value)?);
                    continue;
                }
                if name.eq_ignore_ascii_case("x-plex-container-size") {
                    size = Some(parse_num(value)?);
                    continue;
                }
                if name.eq_ignore_ascii_case("x-plex-language") {
                    language = Some(value);
                    continue;
                }
                if !PLEX_KEPT.iter().any(|kept| name.eq_ignore_ascii_case(kept)) {
                    continue;
                }
            }
            if !plex {
                let mut lowered = name.to_ascii_lowercase();
                lowered.push('=');
                lowered.push_str(value);
                pairs.push(std::borrow::Cow::Owned(lowered));
            } else {
                pairs.push(std::borrow::Cow::Borrowed(pair));
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        for (i, p) in pairs.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(p);
        }
    }
    if plex {
        if start.is_none()
            && let Some(v) = k.headers.get("x-plex-container-start")
        {
            start = Some(parse_num(v.to_str().map_err(|_| KeyError::BadPaging)?)?);
        }
        if size.is_none()
            && let Some(v) = k.headers.get("x-plex-container-size")
        {
            size = Some(parse_num(v.to_str().map_err(|_| KeyError::BadPaging)?)?);
        }
        if start.is_some() || size.is_some() {
            out.push_str(" p=");
            push_u64(&mut out, start.unwrap_or(0));
            out.push(',');
            if let Some(s) = size {
                push_u64(&mut out, s);
            }
        }
        if language.is_none() {
            language = k
                .headers
                .get("x-plex-language")
                .and_then(|v| v.to_str().ok());
        }
    }
    out.push_str(" a=");
    if let Some(accept) = accept {
        if accept.bytes().any(|b| b.is_ascii_whitespace()) {
            out.extend(accept.chars().filter(|c| !c.is_whitespace()));
        } else {
            out.push_str(accept);
        }
    }
    if let Some(l) = language {
        out.push_str(" l=");
        out.extend(
            l.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_'),
        );
    }
    match k.user {
        Some(u) => {
            out.push_str(" u=");
            out.push_str(std::str::from_utf8(&u.hex()).unwrap_or_default());
        }
        None => out.push_str(" s"),
    }
    Ok(out)
}

/// Appends `n` in decimal without `core::fmt`.
fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Decimal digits are ASCII.
    out.push_str(std::str::from_utf8(&digits[i..]).unwrap_or_default());
}

fn parse_num(v: &str) -> Result<u64, KeyError> {
    v.trim().parse().map_err(|_| KeyError::BadPaging)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderValue, Method};

    fn key(
        profile: Profile,
        q: Option<&str>,
        headers: &HeaderMap,
        user: Option<UserHash>,
    ) -> String {
        build_key(&KeyInput {
            upstream: "up",
            profile,
            method: &Method::GET,
            path: "/library/sections/1/all",
            query: q,
            headers,
            user,
        })
        .unwrap()
    }

    #[test]
    fn push_u64_writes_decimal() {
        for n in [0u64, 7, 10, 99, 12_345, u64::MAX] {
            let mut s = String::from("x");
            push_u64(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    #[test]
    fn user_hash_hex_is_the_zero_padded_lower_hex_of_the_hash() {
        for v in [
            0u128,
            1,
            0xabc,
            u128::MAX,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        ] {
            let u = UserHash(v);
            assert_eq!(u.to_string(), format!("{v:032x}"));
            let k = key(Profile::Plex, None, &HeaderMap::new(), Some(u));
            assert!(k.ends_with(&format!(" u={v:032x}")), "{k}");
        }
    }

    #[test]
    fn query_is_sorted_and_stripped_of_tokens_and_client_identity() {
        let h = HeaderMap::new();
        let u = Some(UserHash(1));
        let a = key(
            Profile::Plex,
            Some(
                "type=10&X-Plex-Token=SECRET&sort=titleSort&X-Plex-Client-Identifier=abc&X-Plex-Product=Kodi",
            ),
            &h,
            u,
        );
        let b = key(Profile::Plex, Some("sort=titleSort&type=10"), &h, u);
        assert_eq!(a, b);
        assert!(!a.contains("SECRET"));
        assert!(!a.contains("abc"));
        assert!(
            a.starts_with("up GET /library/sections/1/all?sort=titleSort&type=10"),
            "{a}"
        );
    }

    #[test]
    fn paging_in_header_or_query_is_one_key() {
        let mut h = HeaderMap::new();
        h.insert("x-plex-container-start", HeaderValue::from_static("100"));
        h.insert("x-plex-container-size", HeaderValue::from_static("50"));
        let by_header = key(Profile::Plex, Some("type=10"), &h, None);
        let by_query = key(
            Profile::Plex,
            Some("X-Plex-Container-Start=100&type=10&X-Plex-Container-Size=50"),
            &HeaderMap::new(),
            None,
        );
        assert_eq!(by_header, by_query);
        let other_page = key(
            Profile::Plex,
            Some("X-Plex-Container-Start=150&type=10&X-Plex-Container-Size=50"),
            &HeaderMap::new(),
            None,
        );
        assert_ne!(by_query, other_page);
        assert!(
            build_key(&KeyInput {
                upstream: "up",
                profile: Profile::Plex,
                method: &Method::GET,
                path: "/",
                query: Some("X-Plex-Container-Start=abc"),
                headers: &HeaderMap::new(),
                user: None,
            })
            .is_err()
        );
    }

    #[test]
    fn users_and_formats_separate_keys() {
        let s = Secret::from_bytes([7; 16]);
        let h = HeaderMap::new();
        let a = key(Profile::Plex, None, &h, Some(s.user_of("token-a")));
        let b = key(Profile::Plex, None, &h, Some(s.user_of("token-b")));
        assert_ne!(a, b);
        assert!(!a.contains("token-a"));
        let other_secret = Secret::from_bytes([8; 16]).user_of("token-a");
        assert_ne!(s.user_of("token-a"), other_secret);
        let mut json = HeaderMap::new();
        json.insert("accept", HeaderValue::from_static("application/json"));
        assert_ne!(
            key(Profile::Plex, None, &json, None),
            key(Profile::Plex, None, &h, None)
        );
    }

    #[test]
    fn jellyfin_names_are_case_insensitive_and_api_key_is_dropped() {
        let h = HeaderMap::new();
        let a = key(
            Profile::Jellyfin,
            Some("ParentId=ab&api_key=SECRET"),
            &h,
            None,
        );
        let b = key(
            Profile::Jellyfin,
            Some("parentid=ab&ApiKey=OTHER"),
            &h,
            None,
        );
        assert_eq!(a, b);
        assert!(!a.contains("SECRET"));
    }

    #[test]
    fn tokens_are_found_in_every_form() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_static(
                r#"MediaBrowser Client="x", Device="y", DeviceId="z", Version="1", Token="tok1""#,
            ),
        );
        assert_eq!(
            token_of(Profile::Jellyfin, &h, None).as_deref(),
            Some("tok1")
        );
        assert_eq!(
            token_of(Profile::Jellyfin, &HeaderMap::new(), Some("api_key=tok2")).as_deref(),
            Some("tok2")
        );
        let mut h = HeaderMap::new();
        h.insert("x-plex-token", HeaderValue::from_static("tok3"));
        assert_eq!(token_of(Profile::Plex, &h, None).as_deref(), Some("tok3"));
        assert_eq!(
            token_of(
                Profile::Plex,
                &HeaderMap::new(),
                Some("a=1&X-Plex-Token=tok4")
            )
            .as_deref(),
            Some("tok4")
        );
        assert_eq!(
            token_of(Profile::Plex, &HeaderMap::new(), Some("a=1")),
            None
        );
    }

    #[test]
    fn secret_is_created_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let a = Secret::load_or_create(dir.path()).unwrap();
        let b = Secret::load_or_create(dir.path()).unwrap();
        assert_eq!(a.user_of("t"), b.user_of("t"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
