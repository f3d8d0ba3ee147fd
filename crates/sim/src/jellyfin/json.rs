//! JSON responses in the casing the client asked for.
//!
//! Jellyfin answers PascalCase by default and camelCase when `Accept` names the profile
//! `application/json; profile="CamelCase"` (its `CamelCaseJsonProfileFormatter`). The camel
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
    /// The casing the request's `Accept` header asks for.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let camel = headers.get_all(header::ACCEPT).iter().any(|value| {
            value.to_str().is_ok_and(|accept| {
                accept.split(',').any(|media| {
                    let mut parts = media.split(';').map(str::trim);
                    let base = parts.next().unwrap_or_default();
                    (base.eq_ignore_ascii_case("application/json") || base == "*/*")
                        && parts.any(|param| {
                            param.split_once('=').is_some_and(|(name, value)| {
                                name.trim().eq_ignore_ascii_case("profile")
                                    && value
                                        .trim()
                                        .trim_matches('"')
                                        .eq_ignore_ascii_case("CamelCase")
                            })
                        })
                })
            })
        });
        if camel { Casing::Camel } else { Casing::Pascal }
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
}
