//! The Jellyfin releases the simulator follows, and everything one release does differently
//! from another, in one place ([`Rules`]).
//!
//! Each rule was read from the server's own source at the release's tag (jellyfin/jellyfin
//! `v10.10.7`, `v10.11.11`, and `v12.0-rc5`, the last tag before 12.0.0, whose
//! `SharedVersion.cs` already says `12.0.0`); docs/simulator.md names the files.

use std::fmt;
use std::str::FromStr;

use axum::http::Method;

use super::ApiError;
use super::routes::Route;

/// A Jellyfin server release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum JellyfinVersion {
    /// 10.10.7: legacy credentials always accepted (no setting yet), no storage page.
    V10_10,
    /// 10.11.11, the default: the last 10.11 release, what most servers run.
    #[default]
    V10_11,
    /// 12.0.0: legacy credentials and the `/emby/` prefixes gone, `GetItems` recursive with
    /// filters, listings tied by sort name, three obsolete routes removed.
    V12_0,
}

/// A `--jellyfin-version` the simulator does not follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Jellyfin version {0:?} (the simulator follows 10.10.7, 10.11.11 and 12.0.0)")]
pub struct UnknownVersion(pub String);

impl JellyfinVersion {
    /// Every release, oldest first.
    pub const ALL: [JellyfinVersion; 3] = [
        JellyfinVersion::V10_10,
        JellyfinVersion::V10_11,
        JellyfinVersion::V12_0,
    ];

    /// The version string the server reports (`/System/Info/Public` `Version`).
    pub fn version_string(self) -> &'static str {
        match self {
            JellyfinVersion::V10_10 => "10.10.7",
            JellyfinVersion::V10_11 => "10.11.11",
            JellyfinVersion::V12_0 => "12.0.0",
        }
    }

    /// What this release does differently.
    pub(crate) fn rules(self) -> Rules {
        let twelve = self == JellyfinVersion::V12_0;
        Rules {
            legacy_setting: match self {
                JellyfinVersion::V10_10 => LegacySetting::Always,
                JellyfinVersion::V10_11 => LegacySetting::Configured,
                JellyfinVersion::V12_0 => LegacySetting::Never,
            },
            legacy_prefixes: !twelve,
            storage_page: self != JellyfinVersion::V10_10,
            obsolete_routes: !twelve,
            filters_imply_recursive: twelve,
            sort_name_tiebreak: twelve,
            password_flags_obsolete: twelve,
            sessions_for_every_user: self != JellyfinVersion::V10_10,
            own_user_routes: true,
        }
    }
}

impl fmt::Display for JellyfinVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.version_string())
    }
}

impl FromStr for JellyfinVersion {
    type Err = UnknownVersion;

    /// The full version string, or its release (`10.10`, `10.11`, `12`, `12.0`); `10.11.x`
    /// names the 10.11 line too.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().trim_start_matches(['v', 'V']) {
            "10.10" | "10.10.7" => Ok(JellyfinVersion::V10_10),
            "10.11" | "10.11.x" | "10.11.11" => Ok(JellyfinVersion::V10_11),
            "12" | "12.0" | "12.0.0" => Ok(JellyfinVersion::V12_0),
            other => Err(UnknownVersion(other.to_owned())),
        }
    }
}

/// How a release treats the legacy credential forms (`Emby` scheme, `X-Emby-Authorization`,
/// `X-Emby-Token`, `X-MediaBrowser-Token`, `api_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegacySetting {
    /// 10.10: `AuthorizationContext` reads them all, there is no setting.
    Always,
    /// 10.11: `EnableLegacyAuthorization`, default true.
    Configured,
    /// 12.0: the setting defaults to false and the upgrade's migration
    /// (`DisableLegacyAuthorization`) turns it off.
    Never,
}

/// The rules one release follows (see [`JellyfinVersion::rules`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    /// Legacy credentials.
    pub(crate) legacy_setting: LegacySetting,
    /// `/emby/…` and `/mediabrowser/…` reach the API (`LegacyEmbyRouteRewriteMiddleware`,
    /// removed in 12).
    pub(crate) legacy_prefixes: bool,
    /// `GET /System/Info/Storage` exists (added in 10.11).
    pub(crate) storage_page: bool,
    /// `GET /QuickConnect/Initiate`, `GET /Items/{id}/CriticReviews` and
    /// `POST /Users/{id}/EasyPassword` exist (obsolete in 10.x, removed in 12).
    pub(crate) obsolete_routes: bool,
    /// `GetItems`: at the user root any filter makes the query recursive
    /// (`UserRootFolder.GetItemsInternal`: `query.Recursive || query.HasFilters`), and under a
    /// library `IncludeItemTypes` makes `Recursive` default to true (`ItemsController`).
    pub(crate) filters_imply_recursive: bool,
    /// Sorted listings end with `SortName` unless a key already names the name
    /// (`BaseItemRepository.ApplyOrder`: "Add SortName as final tiebreaker"); searches don't.
    pub(crate) sort_name_tiebreak: bool,
    /// `UserDto.HasPassword` / `HasConfiguredPassword` are obsolete and always true.
    pub(crate) password_flags_obsolete: bool,
    /// Any signed-in user may subscribe to the sessions list (`SessionsStart`) and hears of
    /// their own sessions; before 10.11 only an administrator may.
    pub(crate) sessions_for_every_user: bool,
    /// The routes of the token's own user that name no user: `GET /Users/Me`, `/UserViews`,
    /// `/Items/Latest`, `/UserItems/Resume` (Jellyfin added them beside the
    /// `/Users/{userId}/…` forms). Emby has only the forms naming the user: its router finds no
    /// route for the three (a 404, as for any unknown path), and reads `/Users/Me` as
    /// `/Users/{Id}` with `Me` for a GUID ([`ApiError::UnrecognizedGuid`]).
    pub(crate) own_user_routes: bool,
}

impl Rules {
    /// Whether legacy credentials count, given 10.11's `EnableLegacyAuthorization`.
    pub(crate) fn legacy_authorization(self, configured: bool) -> bool {
        match self.legacy_setting {
            LegacySetting::Always => true,
            LegacySetting::Configured => configured,
            LegacySetting::Never => false,
        }
    }

    /// The matched route if this release has it: the storage page is a 404 before 10.11, the
    /// obsolete routes a 404 on 12 — but `GET /QuickConnect/Initiate` a 405, as ASP.NET
    /// answers a path whose other method (`POST`) is still there — and the own user's routes
    /// naming no user a 404 on Emby (`/Users/Me` is Emby's `/Users/{Id}`: its handler
    /// answers, after the token is checked).
    pub(crate) fn admit(
        self,
        method: &Method,
        route: Route,
        template: &'static str,
    ) -> Result<(Route, &'static str), ApiError> {
        match route {
            Route::SystemStorage if !self.storage_page => Err(ApiError::NotFound),
            Route::QuickConnectInitiate if !self.obsolete_routes && method != Method::POST => {
                Err(ApiError::MethodNotAllowed)
            }
            Route::CriticReviews | Route::EasyPassword if !self.obsolete_routes => {
                Err(ApiError::NotFound)
            }
            Route::Views(None) | Route::Latest(None) | Route::Resume(None)
                if !self.own_user_routes =>
            {
                Err(ApiError::NotFound)
            }
            route => Ok((route, template)),
        }
    }

    /// `path` as the API sees it: without a leading `/emby` or `/mediabrowser` (any case)
    /// where the release strips them, as its middleware does (a plain prefix cut).
    pub(crate) fn api_path(self, path: &str) -> &str {
        if !self.legacy_prefixes {
            return path;
        }
        for prefix in ["/emby", "/mediabrowser"] {
            if path
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
            {
                return &path[prefix.len()..];
            }
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_from_full_strings_and_release_names() {
        for version in JellyfinVersion::ALL {
            assert_eq!(version.version_string().parse(), Ok(version));
        }
        assert_eq!("10.11.x".parse(), Ok(JellyfinVersion::V10_11));
        assert_eq!("v12".parse(), Ok(JellyfinVersion::V12_0));
        assert!("11.0".parse::<JellyfinVersion>().is_err());
        assert_eq!(JellyfinVersion::default(), JellyfinVersion::V10_11);
    }

    #[test]
    fn legacy_prefixes_are_cut_only_before_12() {
        let old = JellyfinVersion::V10_11.rules();
        assert_eq!(old.api_path("/emby/System/Info"), "/System/Info");
        assert_eq!(old.api_path("/MediaBrowser/Items"), "/Items");
        assert_eq!(old.api_path("/Items"), "/Items");
        let new = JellyfinVersion::V12_0.rules();
        assert_eq!(new.api_path("/emby/System/Info"), "/emby/System/Info");
    }

    #[test]
    fn legacy_credentials_follow_the_release_and_the_setting() {
        assert!(JellyfinVersion::V10_10.rules().legacy_authorization(false));
        assert!(JellyfinVersion::V10_11.rules().legacy_authorization(true));
        assert!(!JellyfinVersion::V10_11.rules().legacy_authorization(false));
        assert!(!JellyfinVersion::V12_0.rules().legacy_authorization(true));
    }
}
