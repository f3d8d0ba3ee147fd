//! JSON responses in the casing the client asked for.
//!
//! Jellyfin answers PascalCase by default and camelCase when the first acceptable `Accept`
//! range names the profile `application/json; profile="CamelCase"` (its
//! `CamelCaseJsonProfileFormatter`; see [`Casing::from_headers`] for the selection). The camel
//! form renames *properties* with System.Text.Json's `JsonNamingPolicy.CamelCase` and leaves
//! *dictionary keys* alone, so `ProviderIds.MusicBrainzTrack` stays as it is in both.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// The property casing of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Casing {
    /// The server's default.
    Pascal,
    /// `Accept: application/json; profile="CamelCase"`.
    Camel,
}

impl Casing {
    /// The casing the request's `Accept` header asks for, chosen as ASP.NET's
    /// `DefaultOutputFormatterSelector` chooses between the server's two JSON formatters.
    ///
    /// The server registers the PascalCase formatter first (`OutputFormatters.Insert(0, …)`
    /// after the camelCase one) and both claim plain `application/json`; its controllers
    /// produce `application/json`, `…; profile="CamelCase"` and `…; profile="PascalCase"`, in
    /// that order. So the selector walks the accepted ranges by quality (ties keep their
    /// order), and for the first range that one of those content types falls inside, the first
    /// formatter able to write that content type answers: plain JSON (or `*/*`) is PascalCase
    /// even when a later range names CamelCase, as `@jellyfin/sdk` sends
    /// `application/json,application/json; profile=CamelCase,…`.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut ranges: Vec<MediaRange<'_>> = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|accept| accept.split(','))
            .filter_map(MediaRange::parse)
            .filter(|range| range.quality > 0.0)
            .collect();
        // A stable sort: equal qualities keep the client's order.
        ranges.sort_by(|a, b| b.quality.total_cmp(&a.quality));
        for range in &ranges {
            for (profile, casing) in PRODUCED {
                if range.contains(profile) {
                    return casing;
                }
            }
        }
        Casing::Pascal
    }
}

/// What the server's controllers produce (`[Produces]` on `BaseJellyfinApiController`), in
/// order, each with the casing of the first registered formatter that writes it: plain JSON
/// goes to the PascalCase formatter, registered first.
const PRODUCED: [(Option<&str>, Casing); 3] = [
    (None, Casing::Pascal),
    (Some("CamelCase"), Casing::Camel),
    (Some("PascalCase"), Casing::Pascal),
];

/// One range of an `Accept` header: type, subtype, the `profile` parameter and the quality.
#[derive(Debug)]
struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    /// `profile=` (quotes removed); other parameters do not decide the casing.
    profile: Option<&'a str>,
    quality: f32,
}

impl<'a> MediaRange<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.split(';').map(str::trim);
        let (kind, subtype) = parts.next()?.split_once('/')?;
        let mut range = MediaRange {
            kind: kind.trim(),
            subtype: subtype.trim(),
            profile: None,
            quality: 1.0,
        };
        for param in parts {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                // `q` and every parameter after it take no part in matching (`MediaType`).
                "q" => {
                    range.quality = value.parse().unwrap_or(1.0);
                    break;
                }
                "profile" => range.profile = Some(value),
                _ => {}
            }
        }
        Some(range)
    }

    /// Whether `application/json` with `profile` is a subset of this range
    /// (`MediaType.IsSubsetOf`): the types match or the range's are wildcards, and a profile
    /// the range names is the content type's.
    fn contains(&self, profile: Option<&str>) -> bool {
        let kind = self.kind == "*" || self.kind.eq_ignore_ascii_case("application");
        let subtype = self.subtype == "*" || self.subtype.eq_ignore_ascii_case("json");
        let profile = match (self.profile, profile) {
            (None, _) => true,
            (Some(wanted), Some(offered)) => wanted.eq_ignore_ascii_case(offered),
            (Some(_), None) => false,
        };
        kind && subtype && profile
    }
}

/// Properties whose values are dictionaries: their keys are data, not property names.
const DICTIONARY_PROPERTIES: [&str; 3] = ["ProviderIds", "ImageTags", "ImageBlurHashes"];

/// `JsonNamingPolicy.CamelCase`: lower-case the leading run of capitals, except the last one
/// when a lower-case letter follows it (`ServerId` → `serverId`, `IOPath` → `ioPath`).
pub(crate) fn camel_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.first().is_none_or(|c| !c.is_uppercase()) {
        return name.to_owned();
    }
    let mut out = chars.clone();
    for index in 0..chars.len() {
        if index == 1 && !chars[index].is_uppercase() {
            break;
        }
        let has_next = index + 1 < chars.len();
        if index > 0 && has_next && !chars[index + 1].is_uppercase() {
            if chars[index + 1] == ' ' {
                out[index] = chars[index].to_lowercase().next().unwrap_or(chars[index]);
            }
            break;
        }
        out[index] = chars[index].to_lowercase().next().unwrap_or(chars[index]);
    }
    out.into_iter().collect()
}

/// Renames every property of `value` to camelCase, leaving dictionary keys alone.
pub(crate) fn to_camel(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(to_camel).collect()),
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, inner) in map {
                let inner = if DICTIONARY_PROPERTIES.contains(&key.as_str()) {
                    inner
                } else {
                    to_camel(inner)
                };
                out.insert(camel_case(&key), inner);
            }
            Value::Object(out)
        }
        other => other,
    }
}

/// Serialises `body` in `casing` as a 200 response with Jellyfin's content type.
pub(crate) fn json_response<T: Serialize>(casing: Casing, body: &T) -> Response {
    json_with_status(StatusCode::OK, casing, body)
}

/// As [`json_response`] with another status.
pub(crate) fn json_with_status<T: Serialize>(
    status: StatusCode,
    casing: Casing,
    body: &T,
) -> Response {
    let bytes = match casing {
        Casing::Pascal => serde_json::to_vec(body),
        Casing::Camel => serde_json::to_value(body).and_then(|v| serde_json::to_vec(&to_camel(v))),
    };
    match bytes {
        Ok(bytes) => {
            let content_type = match casing {
                Casing::Pascal => "application/json; charset=utf-8",
                Casing::Camel => "application/json; profile=\"CamelCase\"; charset=utf-8",
            };
            let mut response = (status, bytes).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot serialise a Jellyfin response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_matches_system_text_json() {
        assert_eq!(camel_case("ServerId"), "serverId");
        assert_eq!(camel_case("Id"), "id");
        assert_eq!(camel_case("ID"), "id");
        assert_eq!(camel_case("IOPath"), "ioPath");
        assert_eq!(camel_case("RunTimeTicks"), "runTimeTicks");
        assert_eq!(camel_case("already"), "already");
        assert_eq!(camel_case(""), "");
    }

    #[test]
    fn dictionary_keys_survive_camel_case() {
        let value = serde_json::json!({
            "Items": [{"Name": "x", "ProviderIds": {"MusicBrainzTrack": "m"}, "ImageTags": {"Primary": "t"},
                       "UserData": {"PlayCount": 1}}],
            "TotalRecordCount": 1
        });
        let camel = to_camel(value);
        assert_eq!(camel["totalRecordCount"], 1);
        assert_eq!(camel["items"][0]["name"], "x");
        assert_eq!(camel["items"][0]["providerIds"]["MusicBrainzTrack"], "m");
        assert_eq!(camel["items"][0]["imageTags"]["Primary"], "t");
        assert_eq!(camel["items"][0]["userData"]["playCount"], 1);
    }

    #[test]
    fn accept_profile_selects_camel_case() {
        let mut headers = HeaderMap::new();
        assert_eq!(Casing::from_headers(&headers), Casing::Pascal);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert_eq!(Casing::from_headers(&headers), Casing::Pascal);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json; profile=\"CamelCase\""),
        );
        assert_eq!(Casing::from_headers(&headers), Casing::Camel);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json;profile=camelcase"),
        );
        assert_eq!(Casing::from_headers(&headers), Casing::Camel);
    }

    #[test]
    fn plain_json_first_wins_over_a_later_camel_case_profile() {
        let mut headers = HeaderMap::new();
        // What `@jellyfin/sdk` sends: the server answers PascalCase.
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/json,application/json; profile=CamelCase,application/json; profile=PascalCase,text/html",
            ),
        );
        assert_eq!(Casing::from_headers(&headers), Casing::Pascal);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json; profile=CamelCase, application/json"),
        );
        assert_eq!(Casing::from_headers(&headers), Casing::Camel);
        // Quality outranks order; a refused range (q=0) counts for nothing.
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/json;q=0.5, application/json; profile=\"CamelCase\"",
            ),
        );
        assert_eq!(Casing::from_headers(&headers), Casing::Camel);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json; profile=CamelCase;q=0, */*"),
        );
        assert_eq!(Casing::from_headers(&headers), Casing::Pascal);
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
        assert_eq!(Casing::from_headers(&headers), Casing::Pascal);
    }
}
