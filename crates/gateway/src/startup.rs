//! What `cachearr serve` checks about each upstream as it starts: does the server answer, and
//! does it take the owner token (and is that token the owner's / an administrator's)? The
//! answers go to the log in plain words, with what works without a token, so a missing or
//! wrong token is seen at start and not as an index that never builds.
//!
//! The checks are three small GETs on the background budget, made once; a server that is down
//! at start is reported and the gateway runs on (the index keeper retries by itself).

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::BodyExt as _;

use cachearr_dialect::Profile;
use cachearr_upstream::client::{BadTarget, Budget, Upstream, UpstreamError};

/// Why a start-up check could not get an answer it can judge.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The check's path cannot be joined with the upstream's address.
    #[error(transparent)]
    Target(#[from] BadTarget),
    /// The configured token cannot be sent as a header.
    #[error("the token is not a valid header value")]
    BadToken,
    /// The request failed (the server is down, too slow, the breaker is open …).
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The answer broke off.
    #[error("reading the answer broke off")]
    Body(#[source] cachearr_engine::Cause),
    /// The server answered a status the check cannot judge.
    #[error("{path} answered {status}")]
    Status {
        /// The route asked.
        path: &'static str,
        /// What it answered.
        status: StatusCode,
    },
}

/// What the start-up check found for one upstream.
#[derive(Debug, Clone)]
pub struct UpstreamCheck {
    /// The upstream's name.
    pub upstream: String,
    /// `Ok` when the server answered its anonymous identity route; the reason otherwise.
    pub reachable: Result<(), CheckError>,
    /// What the server said of the owner token.
    pub token: TokenCheck,
}

/// The owner token as the server judged it.
#[derive(Debug, Clone)]
pub enum TokenCheck {
    /// No token is configured.
    Missing,
    /// Not asked: the server did not answer.
    NotChecked,
    /// The server refused it (401).
    Refused,
    /// Accepted; `owner` says whether it is the owner's / an administrator's, when the server
    /// tells (`None`: it does not say).
    Accepted {
        /// Owner / administrator or not; `None` when unknown.
        owner: Option<bool>,
    },
    /// The check itself failed (timeout, unexpected status).
    Unknown(CheckError),
}

/// What works without a (usable) owner token, said once in the log.
pub const WITHOUT_TOKEN: &str = "requests are still cached and passed on (each client's own \
token decides what it sees), but there is no library index (every search goes to the server), \
no change notifications (entries expire by TTL only) and no playlist sync";

impl UpstreamCheck {
    /// One line per finding, for the log and the terminal; `warn` is true for a problem.
    pub fn lines(&self) -> Vec<(bool, String)> {
        let name = &self.upstream;
        let mut out = Vec::new();
        match &self.reachable {
            Ok(()) => out.push((false, format!("upstream {name}: the server answers"))),
            Err(e) => out.push((
                true,
                format!(
                    "upstream {name}: the server does not answer ({}); cachearr runs on, serves \
                     what it has cached and builds the library index when the server is back",
                    cachearr_engine::Chain(e)
                ),
            )),
        }
        match &self.token {
            TokenCheck::Missing => out.push((
                true,
                format!("upstream {name}: no owner token configured: {WITHOUT_TOKEN}"),
            )),
            TokenCheck::NotChecked => {}
            TokenCheck::Refused => out.push((
                true,
                format!(
                    "upstream {name}: the server refused the owner token (401): check it; until \
                     then {WITHOUT_TOKEN}"
                ),
            )),
            TokenCheck::Accepted { owner: Some(true) } => out.push((
                false,
                format!("upstream {name}: the owner token is accepted (owner / administrator)"),
            )),
            TokenCheck::Accepted { owner: Some(false) } => out.push((
                true,
                format!(
                    "upstream {name}: the token is accepted but is not the owner's / an \
                     administrator's: the library index holds only what that user sees, and \
                     change notifications are refused; use the owner's token"
                ),
            )),
            TokenCheck::Accepted { owner: None } => out.push((
                false,
                format!(
                    "upstream {name}: the owner token is accepted (the server does not say \
                     whether it is the owner's)"
                ),
            )),
            TokenCheck::Unknown(e) => out.push((
                true,
                format!(
                    "upstream {name}: could not check the owner token: {}",
                    cachearr_engine::Chain(e)
                ),
            )),
        }
        out
    }
}

/// Checks one upstream (see the module docs).
pub async fn check_upstream(up: &Upstream) -> UpstreamCheck {
    let probes = cachearr_dialect::of(up.profile).startup_probes();
    let (identity, token_check, owner_check) = (probes.identity, probes.token, probes.owner);
    let token = up.config.token.as_deref();
    let reachable = match get(up, identity, None).await {
        Ok((status, body)) if status.is_success() => {
            // The server's id at its account service is in this answer: the shares' first
            // read need not ask for it again.
            if let Some(book) = &up.shares {
                book.note_identity(identity, &body);
            }
            Ok(())
        }
        Ok((_, _)) if up.profile == Profile::Http => Ok(()),
        Ok((status, _)) => Err(CheckError::Status {
            path: identity,
            status,
        }),
        Err(e) => Err(e),
    };
    let token = match (token, &reachable) {
        (None, _) => TokenCheck::Missing,
        (Some(_), Err(_)) => TokenCheck::NotChecked,
        (Some(token), Ok(())) => match get(up, token_check, Some(token)).await {
            Err(e) => TokenCheck::Unknown(e),
            Ok((StatusCode::UNAUTHORIZED, _)) => TokenCheck::Refused,
            Ok((status, _)) if !status.is_success() => TokenCheck::Unknown(CheckError::Status {
                path: token_check,
                status,
            }),
            Ok(_) => {
                // Plex's system accounts and Jellyfin's user list are for the owner /
                // administrators only: 200 says owner, 401/403 says a lesser user; anything else
                // (a server without the route) says nothing.
                let owner = match get(up, owner_check, Some(token)).await {
                    Ok((status, _)) if status.is_success() => Some(true),
                    Ok((StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, _)) => Some(false),
                    _ => None,
                };
                TokenCheck::Accepted { owner }
            }
        },
    };
    UpstreamCheck {
        upstream: up.name.to_string(),
        reachable,
        token,
    }
}

async fn get(
    up: &Upstream,
    path: &str,
    token: Option<&str>,
) -> Result<(StatusCode, Bytes), CheckError> {
    let uri = up.uri_for(path)?;
    let token = match token {
        Some(t) => Some(HeaderValue::from_str(t).map_err(|_| CheckError::BadToken)?),
        None => None,
    };
    let make = || Ok(up.owner_request(&uri, token.as_ref(), "cachearr-startup"));
    let response = up.send_idempotent(&make, Budget::Background).await?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| CheckError::Body(cachearr_engine::Cause::new(e)))?
        .to_bytes();
    Ok((status, body))
}
