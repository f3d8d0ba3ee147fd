//! The Jellyfin routing table.
//!
//! ASP.NET matches routes case-insensitively (jellyfin-apiclient-python connects with
//! `system/info/public`, all lower case), which axum's router does not, so the front end routes
//! by itself: [`match_route`] compares path segments ignoring ASCII case and returns the
//! [`Route`] with its template (the label `/_sim/stats` counts requests under). Path parameters
//! are kept as the client sent them; handlers decode them.

use axum::http::Method;

use super::ApiError;

/// A recognised Jellyfin endpoint with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /System/Info/Public` (anonymous).
    SystemInfoPublic,
    /// `GET /System/Info`.
    SystemInfo,
    /// `GET /System/Info/Storage` (administrators; 10.11 on).
    SystemStorage,
    /// `GET /ScheduledTasks` (administrators).
    ScheduledTasks,
    /// `GET /ScheduledTasks/{taskId}` (administrators).
    ScheduledTask(String),
    /// `GET /System/ActivityLog/Entries` (administrators).
    ActivityLog,
    /// `POST /QuickConnect/Initiate` (anonymous), and before 12 its obsolete `GET`.
    QuickConnectInitiate,
    /// `GET /Items/{id}/CriticReviews`: obsolete, always empty; removed in 12.
    CriticReviews,
    /// `POST /Users/{id}/EasyPassword`: obsolete, always 403; removed in 12.
    EasyPassword,
    /// `GET|POST /System/Ping` (anonymous).
    SystemPing,
    /// `GET /Users/Public` (anonymous).
    UsersPublic,
    /// `POST /Users/AuthenticateByName` (anonymous).
    AuthenticateByName,
    /// `GET /Users` (administrators).
    Users,
    /// `GET /Auth/Keys` (administrators): the server's API keys, each with its token.
    AuthKeys,
    /// `GET /Users/Me`.
    UsersMe,
    /// `GET /Users/{userId}`.
    User(String),
    /// `GET /Items` or `GET /Users/{userId}/Items` (the path user, when present).
    Items(Option<String>),
    /// `GET /Items/{itemId}` or `GET /Users/{userId}/Items/{itemId}`.
    Item(Option<String>, String),
    /// `DELETE /Items/{itemId}`: a playlist of the caller's, or (administrators) a library item.
    DeleteItem(String),
    /// `GET /Items/Latest` or `GET /Users/{userId}/Items/Latest`.
    Latest(Option<String>),
    /// `GET /Items/Counts`: how many items of each kind the user may see.
    Counts,
    /// `GET /UserItems/Resume` or `GET /Users/{userId}/Items/Resume` ("continue watching").
    Resume(Option<String>),
    /// `GET /Shows/NextUp`.
    NextUp,
    /// `GET /UserViews` or `GET /Users/{userId}/Views`.
    Views(Option<String>),
    /// `GET /Library/MediaFolders`.
    MediaFolders,
    /// `GET /Artists` (`album_artists` false) or `GET /Artists/AlbumArtists` (true).
    Artists {
        /// Whether only album artists are listed.
        album_artists: bool,
    },
    /// `GET /Search/Hints`.
    SearchHints,
    /// `GET /Genres`, `/MusicGenres`, `/Studios`.
    Names(super::items::NameKind),
    /// `GET /Items/{id}/Similar`.
    Similar(String),
    /// `GET /Library/VirtualFolders` (administrators).
    VirtualFolders,
    /// `GET /Shows/{id}/Seasons` (`episodes` false) or `/Shows/{id}/Episodes` (true).
    Shows {
        /// The series.
        series: String,
        /// Episodes rather than seasons.
        episodes: bool,
    },
    /// `GET|HEAD /Items/{itemId}/Images/{type}[/{index}]` (anonymous, as on the real server).
    Image {
        /// The item.
        item: String,
        /// `Primary`, `Backdrop`, `Thumb`…
        image_type: String,
    },
    /// `GET|HEAD /Audio/{id}/stream[.{ext}]`, `/Audio/{id}/universal`,
    /// `/Videos/{id}/stream[.{ext}]`, `/Items/{id}/Download`: the media file's bytes, with
    /// `Range`.
    Media {
        /// The item.
        item: String,
        /// `Download` adds a `Content-Disposition` with the file's name.
        download: bool,
    },
    /// `GET /Sessions`.
    Sessions,
    /// `POST /Sessions/Playing`, `…/Progress`, `…/Stopped`, `…/Ping`.
    Playing(PlayingReport),
    /// `POST /Sessions/Capabilities[/Full]`.
    Capabilities,
    /// `POST|DELETE /UserPlayedItems/{itemId}` or `/Users/{userId}/PlayedItems/{itemId}`.
    Played {
        /// The path user, when present.
        user: Option<String>,
        /// The item.
        item: String,
        /// POST (mark played) or DELETE (unplayed).
        played: bool,
    },
    /// `POST|DELETE /UserFavoriteItems/{itemId}` or `/Users/{userId}/FavoriteItems/{itemId}`.
    Favorite {
        /// The path user, when present.
        user: Option<String>,
        /// The item.
        item: String,
        /// POST (favourite) or DELETE (not).
        favorite: bool,
    },
    /// `POST /Library/Refresh` (administrators).
    LibraryRefresh,
    /// `POST /Playlists`.
    CreatePlaylist,
    /// `GET /Playlists/{id}`.
    GetPlaylist(String),
    /// `POST /Playlists/{id}`.
    UpdatePlaylist(String),
    /// `GET /Playlists/{id}/Items`.
    PlaylistItems(String),
    /// `POST /Playlists/{id}/Items`.
    AddToPlaylist(String),
    /// `DELETE /Playlists/{id}/Items`.
    RemoveFromPlaylist(String),
    /// `POST /Playlists/{id}/Items/{entryId}/Move/{newIndex}`.
    MovePlaylistItem {
        /// The playlist.
        playlist: String,
        /// The entry (`PlaylistItemId`).
        entry: String,
        /// The target position, as sent.
        index: String,
    },
}

/// Which playback report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlayingReport {
    /// `POST /Sessions/Playing`.
    Start,
    /// `POST /Sessions/Playing/Progress`.
    Progress,
    /// `POST /Sessions/Playing/Stopped`.
    Stopped,
    /// `POST /Sessions/Playing/Ping`.
    Ping,
}

impl Route {
    /// Whether the endpoint answers without credentials on the real server.
    pub(crate) fn is_anonymous(&self) -> bool {
        matches!(
            self,
            Route::SystemInfoPublic
                | Route::SystemPing
                | Route::QuickConnectInitiate
                | Route::UsersPublic
                | Route::AuthenticateByName
                | Route::Image { .. }
        )
    }
}

/// Matches `method` + `path` against the table. Unknown paths are 404, known paths with a
/// method they do not serve 405. Returns the route and its template for the request counters.
pub(crate) fn match_route(method: &Method, path: &str) -> Result<(Route, &'static str), ApiError> {
    // Long: the route table, one arm per path and method, read top to bottom.
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let owned = |index: usize| {
        segments
            .get(index)
            .map(|s| (*s).to_owned())
            .unwrap_or_default()
    };
    let get = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;
    let delete = method == Method::DELETE;

    // (is the method right, route, template)
    let found: Option<(bool, Route, &'static str)> = match lower.as_slice() {
        ["system", "info", "public"] => Some((get, Route::SystemInfoPublic, "/System/Info/Public")),
        ["system", "info"] => Some((get, Route::SystemInfo, "/System/Info")),
        ["system", "info", "storage"] => Some((get, Route::SystemStorage, "/System/Info/Storage")),
        ["system", "activitylog", "entries"] => {
            Some((get, Route::ActivityLog, "/System/ActivityLog/Entries"))
        }
        ["quickconnect", "initiate"] => Some((
            get || post,
            Route::QuickConnectInitiate,
            "/QuickConnect/Initiate",
        )),
        ["items", _, "criticreviews"] => {
            Some((get, Route::CriticReviews, "/Items/{itemId}/CriticReviews"))
        }
        ["users", _, "easypassword"] => {
            Some((post, Route::EasyPassword, "/Users/{userId}/EasyPassword"))
        }
        ["scheduledtasks"] => Some((get, Route::ScheduledTasks, "/ScheduledTasks")),
        ["scheduledtasks", _] => Some((
            get,
            Route::ScheduledTask(owned(1)),
            "/ScheduledTasks/{taskId}",
        )),
        ["system", "ping"] => Some((get || post, Route::SystemPing, "/System/Ping")),
        ["users", "public"] => Some((get, Route::UsersPublic, "/Users/Public")),
        ["users", "authenticatebyname"] => {
            Some((post, Route::AuthenticateByName, "/Users/AuthenticateByName"))
        }
        ["users"] => Some((get, Route::Users, "/Users")),
        ["auth", "keys"] => Some((get, Route::AuthKeys, "/Auth/Keys")),
        ["users", "me"] => Some((get, Route::UsersMe, "/Users/Me")),
        ["users", _] => Some((get, Route::User(owned(1)), "/Users/{userId}")),
        ["users", _, "items"] => Some((get, Route::Items(Some(owned(1))), "/Users/{userId}/Items")),
        ["users", _, "items", "resume"] => Some((
            get,
            Route::Resume(Some(owned(1))),
            "/Users/{userId}/Items/Resume",
        )),
        ["useritems", "resume"] => Some((get, Route::Resume(None), "/UserItems/Resume")),
        ["shows", "nextup"] => Some((get, Route::NextUp, "/Shows/NextUp")),
        ["users", _, "items", "latest"] => Some((
            get,
            Route::Latest(Some(owned(1))),
            "/Users/{userId}/Items/Latest",
        )),
        ["users", _, "items", _] => Some((
            get,
            Route::Item(Some(owned(1)), owned(3)),
            "/Users/{userId}/Items/{itemId}",
        )),
        ["users", _, "views"] => Some((get, Route::Views(Some(owned(1))), "/Users/{userId}/Views")),
        ["users", _, "playeditems", _] => Some((
            post || delete,
            Route::Played {
                user: Some(owned(1)),
                item: owned(3),
                played: post,
            },
            "/Users/{userId}/PlayedItems/{itemId}",
        )),
        ["users", _, "favoriteitems", _] => Some((
            post || delete,
            Route::Favorite {
                user: Some(owned(1)),
                item: owned(3),
                favorite: post,
            },
            "/Users/{userId}/FavoriteItems/{itemId}",
        )),
        ["userviews"] => Some((get, Route::Views(None), "/UserViews")),
        ["userplayeditems", _] => Some((
            post || delete,
            Route::Played {
                user: None,
                item: owned(1),
                played: post,
            },
            "/UserPlayedItems/{itemId}",
        )),
        ["userfavoriteitems", _] => Some((
            post || delete,
            Route::Favorite {
                user: None,
                item: owned(1),
                favorite: post,
            },
            "/UserFavoriteItems/{itemId}",
        )),
        ["items"] => Some((get, Route::Items(None), "/Items")),
        ["items", "latest"] => Some((get, Route::Latest(None), "/Items/Latest")),
        ["items", "counts"] => Some((get, Route::Counts, "/Items/Counts")),
        ["items", _] if delete => Some((true, Route::DeleteItem(owned(1)), "/Items/{itemId}")),
        ["items", _] => Some((get, Route::Item(None, owned(1)), "/Items/{itemId}")),
        ["items", _, "images", _] | ["items", _, "images", _, _] => Some((
            get,
            Route::Image {
                item: owned(1),
                image_type: owned(3),
            },
            "/Items/{itemId}/Images/{imageType}",
        )),
        ["audio", _, stream]
            if *stream == "stream" || stream.starts_with("stream.") || *stream == "universal" =>
        {
            Some((
                get,
                Route::Media {
                    item: owned(1),
                    download: false,
                },
                "/Audio/{itemId}/stream",
            ))
        }
        ["videos", _, stream] if *stream == "stream" || stream.starts_with("stream.") => Some((
            get,
            Route::Media {
                item: owned(1),
                download: false,
            },
            "/Videos/{itemId}/stream",
        )),
        ["items", _, "download"] => Some((
            get,
            Route::Media {
                item: owned(1),
                download: true,
            },
            "/Items/{itemId}/Download",
        )),
        ["library", "mediafolders"] => Some((get, Route::MediaFolders, "/Library/MediaFolders")),
        ["library", "refresh"] => Some((post, Route::LibraryRefresh, "/Library/Refresh")),
        ["artists"] => Some((
            get,
            Route::Artists {
                album_artists: false,
            },
            "/Artists",
        )),
        ["artists", "albumartists"] => Some((
            get,
            Route::Artists {
                album_artists: true,
            },
            "/Artists/AlbumArtists",
        )),
        ["genres"] => Some((get, Route::Names(super::items::NameKind::Genre), "/Genres")),
        ["musicgenres"] => Some((
            get,
            Route::Names(super::items::NameKind::MusicGenre),
            "/MusicGenres",
        )),
        ["studios"] => Some((
            get,
            Route::Names(super::items::NameKind::Studio),
            "/Studios",
        )),
        ["items", _, "similar"] => Some((get, Route::Similar(owned(1)), "/Items/{itemId}/Similar")),
        ["library", "virtualfolders"] => {
            Some((get, Route::VirtualFolders, "/Library/VirtualFolders"))
        }
        ["search", "hints"] => Some((get, Route::SearchHints, "/Search/Hints")),
        ["shows", _, "seasons"] => Some((
            get,
            Route::Shows {
                series: owned(1),
                episodes: false,
            },
            "/Shows/{seriesId}/Seasons",
        )),
        ["shows", _, "episodes"] => Some((
            get,
            Route::Shows {
                series: owned(1),
                episodes: true,
            },
            "/Shows/{seriesId}/Episodes",
        )),
        ["sessions"] => Some((get, Route::Sessions, "/Sessions")),
        ["sessions", "playing"] => Some((
            post,
            Route::Playing(PlayingReport::Start),
            "/Sessions/Playing",
        )),
        ["sessions", "playing", "progress"] => Some((
            post,
            Route::Playing(PlayingReport::Progress),
            "/Sessions/Playing/Progress",
        )),
        ["sessions", "playing", "stopped"] => Some((
            post,
            Route::Playing(PlayingReport::Stopped),
            "/Sessions/Playing/Stopped",
        )),
        ["sessions", "playing", "ping"] => Some((
            post,
            Route::Playing(PlayingReport::Ping),
            "/Sessions/Playing/Ping",
        )),
        ["sessions", "capabilities"] | ["sessions", "capabilities", "full"] => {
            Some((post, Route::Capabilities, "/Sessions/Capabilities"))
        }
        ["playlists"] => Some((post, Route::CreatePlaylist, "/Playlists")),
        ["playlists", _] if get => Some((true, Route::GetPlaylist(owned(1)), "/Playlists/{id}")),
        ["playlists", _] => Some((post, Route::UpdatePlaylist(owned(1)), "/Playlists/{id}")),
        ["playlists", _, "items"] if get => Some((
            true,
            Route::PlaylistItems(owned(1)),
            "/Playlists/{id}/Items",
        )),
        ["playlists", _, "items"] if post => Some((
            true,
            Route::AddToPlaylist(owned(1)),
            "/Playlists/{id}/Items",
        )),
        ["playlists", _, "items"] => Some((
            delete,
            Route::RemoveFromPlaylist(owned(1)),
            "/Playlists/{id}/Items",
        )),
        ["playlists", _, "items", _, "move", _] => Some((
            post,
            Route::MovePlaylistItem {
                playlist: owned(1),
                entry: owned(3),
                index: owned(5),
            },
            "/Playlists/{id}/Items/{entryId}/Move/{newIndex}",
        )),
        _ => None,
    };
    match found {
        Some((true, route, template)) => Ok((route, template)),
        Some((false, _, _)) => Err(ApiError::MethodNotAllowed),
        None => Err(ApiError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_in_any_case() {
        let (route, template) = match_route(&Method::GET, "/system/info/public").expect("matches");
        assert_eq!(route, Route::SystemInfoPublic);
        assert_eq!(template, "/System/Info/Public");
        let (route, _) = match_route(&Method::GET, "/USERS/AbC/Items/Latest").expect("matches");
        assert_eq!(route, Route::Latest(Some("AbC".into())));
        let (route, _) = match_route(&Method::GET, "/Users/u1/Items/i1").expect("matches");
        assert_eq!(route, Route::Item(Some("u1".into()), "i1".into()));
    }

    #[test]
    fn methods_and_unknown_paths() {
        assert_eq!(
            match_route(&Method::DELETE, "/Items").map(|r| r.0),
            Err(ApiError::MethodNotAllowed)
        );
        assert_eq!(
            match_route(&Method::GET, "/Nope").map(|r| r.0),
            Err(ApiError::NotFound)
        );
        let (route, _) = match_route(&Method::DELETE, "/UserPlayedItems/x").expect("matches");
        assert_eq!(
            route,
            Route::Played {
                user: None,
                item: "x".into(),
                played: false
            }
        );
        let (route, _) =
            match_route(&Method::POST, "/Playlists/p/Items/e/Move/3").expect("matches");
        assert_eq!(
            route,
            Route::MovePlaylistItem {
                playlist: "p".into(),
                entry: "e".into(),
                index: "3".into()
            }
        );
        let (route, _) = match_route(&Method::DELETE, "/Playlists/p/Items").expect("matches");
        assert_eq!(route, Route::RemoveFromPlaylist("p".into()));
    }
}
