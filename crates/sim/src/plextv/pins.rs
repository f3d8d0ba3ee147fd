//! PIN sign-in: a device with no keyboard asks plex.tv for a PIN, shows its code, and polls
//! until someone signed in elsewhere links the code to their account (python-plexapi's
//! `MyPlexPinLogin`, `MyPlexAccount.link`; the plex.tv/link page).
//!
//! - `POST /api/v2/pins[?strong=true]` (no token; `X-Plex-Client-Identifier` required): 201
//!   with a new PIN — a four-character code for plex.tv/link, living 900 s, or with `strong`
//!   a 25-character one for the web sign-in, living 1800 s.
//! - `GET /api/v2/pins/{id}`: the PIN, to the client that asked for it only; `authToken` is
//!   empty until the code is linked, then the linking account's token. 404 once it expired.
//! - `PUT /api/v2/pins/link` (form `code=…`, the account's token): links the code; 204, or
//!   404 for a code that is unknown or expired.
//!
//! A PIN's life runs on the simulator's clock (`/_sim/clock/advance` moves it on).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::plextv::{App, Caller, PlexTv, error, xml};
use crate::rng::mix;
use cachearr_serverfmt::tree::El;

/// Ids of PINs are counted up from here.
pub const PIN_ID_BASE: u32 = 300_000_000;

/// Seconds a four-character PIN lives.
const SHORT_LIFE: u32 = 900;
/// Seconds a strong PIN lives.
const STRONG_LIFE: u32 = 1_800;
/// Characters of four-character codes (as people read them: no 0, O, 1 or I).
const SHORT_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters of strong codes.
const STRONG_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// PINs kept at most; the oldest go first (every PIN of a test run fits many times over).
const MAX_PINS: usize = 1_000;

/// A PIN a client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// Its id (above [`PIN_ID_BASE`]).
    pub id: u32,
    /// The code the user types (4 characters) or the web sign-in carries (25).
    pub code: String,
    /// A strong (web sign-in) PIN.
    pub strong: bool,
    /// `X-Plex-Client-Identifier` of the client that asked for it: only it may read it.
    pub client_identifier: String,
    /// `X-Plex-Product` of that client.
    pub product: String,
    /// When it was made (simulator clock, Unix seconds).
    pub created_at: u32,
    /// The account (server user id) that linked it, once one has.
    pub linked_by: Option<u32>,
}

impl Pin {
    /// Seconds it lives.
    pub fn life(&self) -> u32 {
        if self.strong { STRONG_LIFE } else { SHORT_LIFE }
    }

    /// When it expires (Unix seconds).
    pub fn expires_at(&self) -> u32 {
        self.created_at.saturating_add(self.life())
    }
}

impl PlexTv {
    /// Makes a PIN for the client `client_identifier` at `now`.
    pub fn create_pin(
        &mut self,
        client_identifier: &str,
        product: &str,
        strong: bool,
        now: u32,
    ) -> Pin {
        self.pins_made = self.pins_made.saturating_add(1);
        let id = PIN_ID_BASE.saturating_add(self.pins_made);
        let (alphabet, len) = if strong {
            (STRONG_ALPHABET, 25)
        } else {
            (SHORT_ALPHABET, 4)
        };
        let mut x = mix(self.seed ^ 0x5049_4E53 ^ u64::from(id));
        let code = (0..len)
            .map(|_| {
                x = mix(x);
                char::from(alphabet[(x % alphabet.len() as u64) as usize])
            })
            .collect();
        let pin = Pin {
            id,
            code,
            strong,
            client_identifier: client_identifier.to_string(),
            product: product.to_string(),
            created_at: now,
            linked_by: None,
        };
        self.pin_logins.retain(|p| p.expires_at() > now);
        if self.pin_logins.len() >= MAX_PINS {
            self.pin_logins.remove(0);
        }
        self.pin_logins.push(pin.clone());
        pin
    }

    /// The PIN `id` as its client reads it at `now`: None when it is unknown, expired or
    /// another client's.
    pub fn pin_login(&self, id: u32, client_identifier: &str, now: u32) -> Option<&Pin> {
        self.pin_logins.iter().find(|p| {
            p.id == id && p.client_identifier == client_identifier && p.expires_at() > now
        })
    }

    /// Links the unexpired PIN whose code is `code` (letters in any case) to account `user`
    /// (server user id); false when there is none.
    pub fn link_pin(&mut self, code: &str, user: u32, now: u32) -> bool {
        let pin = self
            .pin_logins
            .iter_mut()
            .find(|p| p.code.eq_ignore_ascii_case(code) && p.expires_at() > now);
        match pin {
            Some(p) => {
                p.linked_by = Some(user);
                true
            }
            None => false,
        }
    }
}

/// A PIN as plex.tv writes it, with `auth_token` (empty until linked).
fn pin_el(pin: &Pin, auth_token: &str, now: u32) -> El {
    let stamp = |t: u32| {
        format!(
            "{}Z",
            cachearr_serverfmt::jellyfin::utc_date_time(i64::from(t))
        )
    };
    El::new("pin")
        .a("id", pin.id)
        .a("code", pin.code.as_str())
        .a("product", pin.product.as_str())
        .a("trusted", false)
        .a("qr", format!("https://plex.tv/api/v2/pins/qr/{}", pin.code))
        .a("clientIdentifier", pin.client_identifier.as_str())
        .a("expiresIn", pin.expires_at().saturating_sub(now))
        .a("createdAt", stamp(pin.created_at))
        .a("expiresAt", stamp(pin.expires_at()))
        .a("authToken", auth_token)
        .a("newRegistration", "")
        .kid(
            El::new("location")
                .a("code", "US")
                .a("european_union_member", false)
                .a("continent_code", "NA")
                .a("country", "United States")
                .a("city", "New York")
                .a("time_zone", "America/New_York")
                .a("postal_code", "10001")
                .a("in_privacy_restricted_country", false)
                .a("in_privacy_restricted_region", false)
                .a("subdivisions", "New York")
                .a("coordinates", "40.7128, -74.006"),
        )
}

/// A client header, or the same name as a query parameter (clients send either).
fn client_value(headers: &HeaderMap, query: &[(String, String)], name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        })
        .filter(|v| !v.is_empty())
}

fn query_of(uri: &axum::http::Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

const NO_CLIENT: &str = "X-Plex-Client-Identifier is missing";

/// `POST /api/v2/pins[?strong=true]`.
pub(crate) async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let query = query_of(&uri);
    let Some(client) = client_value(&headers, &query, "X-Plex-Client-Identifier") else {
        return error(StatusCode::BAD_REQUEST, NO_CLIENT);
    };
    let product = client_value(&headers, &query, "X-Plex-Product").unwrap_or_default();
    let strong = query
        .iter()
        .any(|(k, v)| k == "strong" && (v.eq_ignore_ascii_case("true") || v == "1"));
    let now = app.sim.now();
    let pin = app.sim.plextv().create_pin(&client, &product, strong, now);
    let mut resp = xml(&pin_el(&pin, "", now));
    *resp.status_mut() = StatusCode::CREATED;
    resp
}

/// `GET /api/v2/pins/{id}`.
pub(crate) async fn check(
    State(app): State<App>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Path(id): Path<String>,
) -> Response {
    let query = query_of(&uri);
    let Some(client) = client_value(&headers, &query, "X-Plex-Client-Identifier") else {
        return error(StatusCode::BAD_REQUEST, NO_CLIENT);
    };
    let now = app.sim.now();
    let state = app.sim.state();
    let tv = app.sim.plextv();
    let found = id
        .parse::<u32>()
        .ok()
        .and_then(|id| tv.pin_login(id, &client, now));
    let Some(pin) = found else {
        return error(StatusCode::NOT_FOUND, "Code not found or expired");
    };
    let token = pin
        .linked_by
        .and_then(|u| state.user(u))
        .map(|u| tv.account_token(u))
        .unwrap_or_default();
    xml(&pin_el(pin, &token, now))
}

/// `PUT /api/v2/pins/link` with a form `code=…`.
pub(crate) async fn link(
    State(app): State<App>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Response {
    let code = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.trim().to_string())
        .or_else(|| caller.q("code").map(str::to_string))
        .filter(|c| !c.is_empty());
    let Some(code) = code else {
        return error(StatusCode::BAD_REQUEST, "code is required");
    };
    let now = app.sim.now();
    if app.sim.plextv().link_pin(&code, caller.user.id, now) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "Code not found or expired")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_four_or_twenty_five_characters_and_pins_expire() {
        let mut tv = PlexTv::new(9);
        let short = tv.create_pin("dev-1", "Kodi", false, 1_000);
        let strong = tv.create_pin("dev-1", "Kodi", true, 1_000);
        assert_eq!(short.code.len(), 4);
        assert!(short.code.bytes().all(|b| SHORT_ALPHABET.contains(&b)));
        assert_eq!(strong.code.len(), 25);
        assert_ne!(short.id, strong.id);
        assert!(tv.pin_login(short.id, "dev-1", 1_000 + 899).is_some());
        assert!(tv.pin_login(short.id, "dev-1", 1_000 + 900).is_none());
        assert!(tv.pin_login(strong.id, "dev-1", 1_000 + 1_799).is_some());
        assert!(
            tv.pin_login(short.id, "dev-2", 1_000).is_none(),
            "another client's"
        );
        assert!(tv.link_pin(&short.code.to_lowercase(), 5, 1_001));
        assert_eq!(
            tv.pin_login(short.id, "dev-1", 1_002).unwrap().linked_by,
            Some(5)
        );
        assert!(!tv.link_pin(&short.code, 5, 1_000 + 900), "expired");
    }
}
