//! An account's online media sources: whether Plex's own content (podcasts, news, web shows,
//! music, films and shows on demand) appears in its apps beside its servers' libraries
//! (python-plexapi's `onlineMediaSources`, `AccountOptOut.optIn`, `optOut`, `optOutManaged`).
//!
//! `GET /api/v2/user/{uuid}/settings/opt_outs` lists every source with its value;
//! `POST …?key=…&value=…` sets one. Values are `opt_in`, `opt_out` and `opt_out_managed`
//! (disabled for the account's managed users only), which music does not offer. A source
//! nobody changed is `opt_in`, as on a new account.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::plextv::{App, Caller, PlexTv, error, xml};
use cachearr_serverfmt::tree::El;

/// The online media sources plex.tv lists for every account, in its order.
pub const ONLINE_MEDIA_SOURCES: &[&str] = &[
    "tv.plex.provider.podcasts",
    "tv.plex.provider.news",
    "tv.plex.provider.webshows",
    "tv.plex.provider.music",
    "tv.plex.provider.vod",
];

/// The source that cannot be disabled for managed users alone.
const MUSIC: &str = "tv.plex.provider.music";

/// An account's choice for one online media source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OptOut {
    /// Shown (`opt_in`).
    #[default]
    In,
    /// Hidden (`opt_out`).
    Out,
    /// Hidden from the account's managed users only (`opt_out_managed`).
    OutManaged,
}

impl OptOut {
    /// Parses plex.tv's value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "opt_in" => Self::In,
            "opt_out" => Self::Out,
            "opt_out_managed" => Self::OutManaged,
            _ => return None,
        })
    }

    /// plex.tv's value.
    pub fn name(self) -> &'static str {
        match self {
            Self::In => "opt_in",
            Self::Out => "opt_out",
            Self::OutManaged => "opt_out_managed",
        }
    }
}

/// Why plex.tv refused an opt-out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptOutError {
    /// No online media source has that key.
    #[error("unknown online media source {0:?}")]
    UnknownSource(String),
    /// Music is shown or hidden for the whole account.
    #[error("{MUSIC} cannot be disabled for managed users only")]
    MusicManaged,
}

impl PlexTv {
    /// Account `user`'s value for every online media source, in plex.tv's order.
    pub fn opt_outs(&self, user: u32) -> Vec<(&'static str, OptOut)> {
        ONLINE_MEDIA_SOURCES
            .iter()
            .map(|key| {
                let value = self.opt_outs.get(&(user, *key)).copied();
                (*key, value.unwrap_or_default())
            })
            .collect()
    }

    /// Sets account `user`'s value for the source `key`.
    ///
    /// # Errors
    /// An unknown source, or music disabled for managed users only.
    pub fn set_opt_out(&mut self, user: u32, key: &str, value: OptOut) -> Result<(), OptOutError> {
        let Some(key) = ONLINE_MEDIA_SOURCES.iter().find(|k| **k == key) else {
            return Err(OptOutError::UnknownSource(key.to_string()));
        };
        if *key == MUSIC && value == OptOut::OutManaged {
            return Err(OptOutError::MusicManaged);
        }
        self.opt_outs.insert((user, key), value);
        Ok(())
    }
}

/// The caller's own settings only: 403 for another account's uuid.
fn refuse_other(app: &App, caller: &Caller, uuid: &str) -> Option<Response> {
    let own = app.sim.plextv().account_uuid(&caller.user);
    (own != uuid).then(|| error(StatusCode::FORBIDDEN, "Only your own settings"))
}

/// `GET /api/v2/user/{uuid}/settings/opt_outs`: every source with the caller's value.
pub(crate) async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(uuid): Path<String>,
) -> Response {
    if let Some(resp) = refuse_other(&app, &caller, &uuid) {
        return resp;
    }
    let mut doc = El::new("optOuts");
    for (key, value) in app.sim.plextv().opt_outs(caller.user.id) {
        doc = doc.kid(El::new("optOut").a("key", key).a("value", value.name()));
    }
    xml(&doc)
}

/// `POST /api/v2/user/{uuid}/settings/opt_outs?key=…&value=…`: 204, or 400 for a missing or
/// unknown key or value.
pub(crate) async fn set(
    State(app): State<App>,
    caller: Caller,
    Path(uuid): Path<String>,
) -> Response {
    if let Some(resp) = refuse_other(&app, &caller, &uuid) {
        return resp;
    }
    let (Some(key), Some(value)) = (caller.q("key"), caller.q("value")) else {
        return error(StatusCode::BAD_REQUEST, "key and value are required");
    };
    let Some(value) = OptOut::parse(value) else {
        return error(
            StatusCode::BAD_REQUEST,
            "value is one of opt_in, opt_out, opt_out_managed",
        );
    };
    match app.sim.plextv().set_opt_out(caller.user.id, key, value) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => error(StatusCode::BAD_REQUEST, &err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_shown_until_changed_and_music_has_no_managed_choice() {
        let mut tv = PlexTv::new(1);
        assert!(tv.opt_outs(7).iter().all(|(_, v)| *v == OptOut::In));
        tv.set_opt_out(7, "tv.plex.provider.vod", OptOut::OutManaged)
            .unwrap();
        let vod = tv
            .opt_outs(7)
            .into_iter()
            .find(|(k, _)| *k == "tv.plex.provider.vod");
        assert_eq!(vod, Some(("tv.plex.provider.vod", OptOut::OutManaged)));
        // Another account's stay as they were.
        assert!(tv.opt_outs(8).iter().all(|(_, v)| *v == OptOut::In));
        assert_eq!(
            tv.set_opt_out(7, MUSIC, OptOut::OutManaged),
            Err(OptOutError::MusicManaged)
        );
        assert!(matches!(
            tv.set_opt_out(7, "tv.plex.provider.nope", OptOut::Out),
            Err(OptOutError::UnknownSource(_))
        ));
        tv.reset();
        assert!(tv.opt_outs(7).iter().all(|(_, v)| *v == OptOut::In));
    }
}
