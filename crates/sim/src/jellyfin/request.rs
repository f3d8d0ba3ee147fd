//! Reading a Jellyfin request the way the real server's ASP.NET model binding does.
//!
//! - [`QueryParams`]: query-string parameters with case-insensitive names (`ParentId`,
//!   `parentId` and `PARENTID` are one parameter), .NET-style `bool` / `int` parsing and
//!   comma-delimited lists; a value that does not parse is a 400, never a panic.
//! - [`AuthInfo`]: the credentials of a request, found where `AuthorizationContext` looks for
//!   them: `Authorization: MediaBrowser …` (or the legacy `Emby` scheme), `X-Emby-Authorization`,
//!   `X-Emby-Token`, `X-MediaBrowser-Token`, and the `ApiKey` / `api_key` query parameters.
//! - [`body_field`]: case-insensitive lookup in a JSON request body (System.Text.Json binds
//!   property names case-insensitively, so `{"username": …, "Pw": …}` is a valid login).

use axum::http::HeaderMap;
use serde_json::Value;

use super::ApiError;

/// Query-string parameters with case-insensitive names, as ASP.NET binds them.
#[derive(Clone, Default)]
pub(crate) struct QueryParams {
    /// `(name, value)` pairs, percent-decoded, in request order.
    pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for QueryParams {
    // Query strings may carry `api_key`; never print values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(name, _)| name))
            .finish()
    }
}

impl QueryParams {
    /// Parses a raw query string (without the leading `?`); `None` is an empty query.
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|raw| {
                form_urlencoded::parse(raw.as_bytes())
                    .map(|(name, value)| (name.into_owned(), value.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        QueryParams { pairs }
    }

    /// These parameters with every `name` (any case) replaced by one `name=value`.
    pub(crate) fn with(&self, name: &str, value: &str) -> Self {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(key, _)| !key.eq_ignore_ascii_case(name))
            .cloned()
            .collect();
        pairs.push((name.to_owned(), value.to_owned()));
        QueryParams { pairs }
    }

    /// The first non-empty value of `name` (case-insensitive). ASP.NET treats an empty value as
    /// absent for optional parameters.
    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, value)| key.eq_ignore_ascii_case(name) && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// A boolean the .NET way: `true` / `false` in any case, surrounding spaces allowed.
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(ApiError::invalid_value(name, raw)),
            },
        }
    }

    /// A 32-bit signed integer (`int?` in the controllers).
    pub(crate) fn int(&self, name: &str) -> Result<Option<i32>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(raw) => raw
                .trim()
                .parse::<i32>()
                .map(Some)
                .map_err(|_| ApiError::invalid_value(name, raw)),
        }
    }

    /// A non-negative integer used for paging (`StartIndex`, `Limit`); negatives are a 400.
    pub(crate) fn count(&self, name: &str) -> Result<Option<usize>, ApiError> {
        match self.int(name)? {
            None => Ok(None),
            Some(value) => usize::try_from(value)
                .map(Some)
                .map_err(|_| ApiError::invalid_value(name, &value.to_string())),
        }
    }

    /// A comma-delimited list, as Jellyfin's `CommaDelimitedArrayModelBinder` reads it: every
    /// occurrence of the parameter contributes, each split on `,`, empty entries dropped.
    pub(crate) fn list(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .collect()
    }
}

/// Credentials and client identity of one request. `Debug` never shows the token.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct AuthInfo {
    /// The access token or API key, if the request carried one.
    pub(crate) token: Option<String>,
    /// `Client="…"` from the authorization header.
    pub(crate) client: Option<String>,
    /// `Device="…"`.
    pub(crate) device: Option<String>,
    /// `DeviceId="…"`.
    pub(crate) device_id: Option<String>,
    /// `Version="…"`.
    pub(crate) version: Option<String>,
}

impl std::fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthInfo")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("client", &self.client)
            .field("device", &self.device)
            .field("device_id", &self.device_id)
            .field("version", &self.version)
            .finish()
    }
}

impl AuthInfo {
    /// Reads the credentials the way `AuthorizationContext` does. With `legacy` (the 10.11
    /// default `EnableLegacyAuthorization`; Jellyseerr and Cmdarr still rely on it) the
    /// `Emby` scheme, `X-Emby-Authorization`, `X-Emby-Token`, `X-MediaBrowser-Token` and
    /// `api_key` count too; without it (12.0's default) only `Authorization: MediaBrowser …`
    /// and `ApiKey` do.
    pub(crate) fn from_request(headers: &HeaderMap, query: &QueryParams, legacy: bool) -> Self {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .filter(|v| !v.trim().is_empty())
        };
        let parse = |value: &str| parse_authorization(value, legacy);
        let params = header("authorization")
            .and_then(parse)
            .or_else(|| {
                header("x-emby-authorization")
                    .filter(|_| legacy)
                    .and_then(parse)
            })
            .unwrap_or_default();
        let param = |name: &str| {
            params
                .iter()
                .find(|(key, value)| key.eq_ignore_ascii_case(name) && !value.is_empty())
                .map(|(_, value)| value.clone())
        };
        let legacy_header = |name: &str| header(name).filter(|_| legacy).map(str::to_owned);
        let token = param("Token")
            .or_else(|| legacy_header("x-emby-token"))
            .or_else(|| legacy_header("x-mediabrowser-token"))
            .or_else(|| query.str("ApiKey").map(str::to_owned))
            .or_else(|| query.str("api_key").filter(|_| legacy).map(str::to_owned));
        AuthInfo {
            token,
            client: param("Client"),
            device: param("Device"),
            device_id: param("DeviceId"),
            version: param("Version"),
        }
    }
}

/// Parses `MediaBrowser Client="x", Device="y", Token="z"` (or, with `legacy`, the `Emby`
/// scheme) into `(key, value)` pairs; any other scheme (`Basic`, `Bearer`) yields `None`.
pub(crate) fn parse_authorization(header: &str, legacy: bool) -> Option<Vec<(String, String)>> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ')?;
    if !(scheme.eq_ignore_ascii_case("MediaBrowser")
        || (legacy && scheme.eq_ignore_ascii_case("Emby")))
    {
        return None;
    }
    let mut pairs = Vec::new();
    for part in split_outside_quotes(rest) {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value)
            .replace("\\\"", "\"");
        // Clients URL-encode values that contain commas or quotes; the server decodes them.
        let value = percent_encoding::percent_decode_str(&value)
            .decode_utf8_lossy()
            .into_owned();
        pairs.push((key.to_owned(), value));
    }
    Some(pairs)
}

/// Splits on commas that are not inside double quotes.
fn split_outside_quotes(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut start = 0;
    for (index, ch) in text.char_indices() {
        match ch {
            '\\' if in_quotes => escaped = !escaped,
            '"' if !escaped => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => escaped = false,
        }
        if ch != '\\' {
            escaped = false;
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Case-insensitive lookup of a property in a JSON object body.
pub(crate) fn body_field<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body.as_object()?
        .iter()
        .find(|(key, value)| key.eq_ignore_ascii_case(name) && !value.is_null())
        .map(|(_, value)| value)
}

/// A string property of a JSON body (case-insensitive name).
pub(crate) fn body_str<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body_field(body, name).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn query_names_are_case_insensitive_and_values_decoded() {
        let query =
            QueryParams::parse(Some("parentid=abc&INCLUDEITEMTYPES=Audio&searchTerm=a%20b"));
        assert_eq!(query.str("ParentId"), Some("abc"));
        assert_eq!(query.list("IncludeItemTypes"), vec!["Audio"]);
        assert_eq!(query.str("SearchTerm"), Some("a b"));
        assert_eq!(query.str("Missing"), None);
    }

    #[test]
    fn bools_and_ints_parse_like_dotnet_and_refuse_garbage() {
        let query = QueryParams::parse(Some(
            "Recursive=True&a=false&b=1&Limit=20&StartIndex=-1&x=zz",
        ));
        assert_eq!(query.bool("recursive").ok().flatten(), Some(true));
        assert_eq!(query.bool("a").ok().flatten(), Some(false));
        assert!(query.bool("b").is_err());
        assert_eq!(query.count("limit").ok().flatten(), Some(20));
        assert!(query.count("StartIndex").is_err());
        assert!(query.int("x").is_err());
        assert_eq!(query.int("nothing").ok().flatten(), None);
    }

    #[test]
    fn lists_merge_repeats_and_commas() {
        let query = QueryParams::parse(Some("Ids=a,b&ids=c&IDS=,d,"));
        assert_eq!(query.list("Ids"), vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn authorization_header_fields() {
        let parsed = parse_authorization(
            r#"MediaBrowser Client="Jellyfin, test", Device="dev", DeviceId="id%201", Version="1.0", Token="tok""#,
            false,
        )
        .expect("scheme accepted");
        let get = |k: &str| {
            parsed
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("Client"), Some("Jellyfin, test"));
        assert_eq!(get("DeviceId"), Some("id 1"));
        assert_eq!(get("Token"), Some("tok"));
        assert!(parse_authorization("Basic dXNlcjpwYXNz", true).is_none());
        assert!(parse_authorization("Emby Token=\"x\"", true).is_some());
        assert!(parse_authorization("Emby Token=\"x\"", false).is_none());
    }

    #[test]
    fn token_sources_in_order() {
        let mut headers = HeaderMap::new();
        let query = QueryParams::parse(Some("api_key=fromquery"));
        assert_eq!(
            AuthInfo::from_request(&headers, &query, true)
                .token
                .as_deref(),
            Some("fromquery")
        );
        let query = QueryParams::parse(Some("ApiKey=modern&api_key=legacy"));
        assert_eq!(
            AuthInfo::from_request(&headers, &query, true)
                .token
                .as_deref(),
            Some("modern")
        );
        headers.insert("x-emby-token", HeaderValue::from_static("embytoken"));
        assert_eq!(
            AuthInfo::from_request(&headers, &query, true)
                .token
                .as_deref(),
            Some("embytoken")
        );
        headers.insert(
            "x-emby-authorization",
            HeaderValue::from_static(r#"MediaBrowser Client="c", Token="legacyauth""#),
        );
        let info = AuthInfo::from_request(&headers, &query, true);
        assert_eq!(info.token.as_deref(), Some("legacyauth"));
        assert_eq!(info.client.as_deref(), Some("c"));
        headers.insert(
            "authorization",
            HeaderValue::from_static(r#"MediaBrowser Token="main""#),
        );
        let info = AuthInfo::from_request(&headers, &query, true);
        assert_eq!(info.token.as_deref(), Some("main"));
        assert!(!format!("{info:?}").contains("main"));
    }

    #[test]
    fn without_legacy_only_the_modern_forms_count() {
        let mut headers = HeaderMap::new();
        headers.insert("x-emby-token", HeaderValue::from_static("legacy"));
        headers.insert(
            "x-emby-authorization",
            HeaderValue::from_static(r#"MediaBrowser Token="legacy""#),
        );
        let query = QueryParams::parse(Some("api_key=legacy"));
        assert_eq!(AuthInfo::from_request(&headers, &query, false).token, None);
        let query = QueryParams::parse(Some("api_key=legacy&ApiKey=modern"));
        let info = AuthInfo::from_request(&headers, &query, false);
        assert_eq!(info.token.as_deref(), Some("modern"));
        headers.insert(
            "authorization",
            HeaderValue::from_static(r#"Emby Token="legacy""#),
        );
        assert_eq!(
            AuthInfo::from_request(&headers, &query, false)
                .token
                .as_deref(),
            Some("modern")
        );
        headers.insert(
            "authorization",
            HeaderValue::from_static(r#"MediaBrowser Token="main""#),
        );
        assert_eq!(
            AuthInfo::from_request(&headers, &query, false)
                .token
                .as_deref(),
            Some("main")
        );
    }

    #[test]
    fn header_without_token_falls_back_to_query() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_static(r#"MediaBrowser Client="c", Device="d""#),
        );
        let query = QueryParams::parse(Some("apikey=q"));
        let info = AuthInfo::from_request(&headers, &query, true);
        assert_eq!(info.token.as_deref(), Some("q"));
        assert_eq!(info.device.as_deref(), Some("d"));
    }

    #[test]
    fn body_fields_case_insensitive() {
        let body: Value = serde_json::json!({"username": "alice", "Pw": "secret", "Ids": null});
        assert_eq!(body_str(&body, "Username"), Some("alice"));
        assert_eq!(body_str(&body, "pw"), Some("secret"));
        assert!(body_field(&body, "ids").is_none());
    }
}
