//! The Jellyfin data-transfer objects the simulator serves, field for field as the real
//! server's `MediaBrowser.Model` classes serialise them.
//!
//! The server writes PascalCase JSON and omits null properties (`JsonIgnoreCondition.
//! WhenWritingNull`), so every optional field here is an `Option` skipped when `None`.
//! Dictionaries (`ProviderIds`, `ImageTags`) keep their keys as they are in both casings: the
//! camelCase profile renames properties, not dictionary keys (see [`super::json`]).

use std::collections::BTreeMap;

use serde::Serialize;

/// `GET /System/Info/Public` (`PublicSystemInfo`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PublicSystemInfo {
    pub(crate) local_address: String,
    pub(crate) server_name: String,
    pub(crate) version: String,
    /// Jellyfin's alone: Emby writes no `ProductName` (clients tell the two apart by it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) product_name: Option<String>,
    pub(crate) operating_system: String,
    pub(crate) id: String,
    pub(crate) startup_wizard_completed: bool,
}

/// `GET /System/Info` (`SystemInfo`): the public part plus server internals.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SystemInfo {
    #[serde(flatten)]
    pub(crate) public: PublicSystemInfo,
    pub(crate) operating_system_display_name: String,
    pub(crate) package_name: String,
    pub(crate) has_pending_restart: bool,
    pub(crate) is_shutting_down: bool,
    pub(crate) supports_library_monitor: bool,
    pub(crate) web_socket_port_number: u16,
    pub(crate) completed_installations: Vec<serde_json::Value>,
    pub(crate) can_self_restart: bool,
    pub(crate) can_launch_web_browser: bool,
    pub(crate) program_data_path: String,
    pub(crate) web_path: String,
    pub(crate) items_by_name_path: String,
    pub(crate) cache_path: String,
    pub(crate) log_path: String,
    pub(crate) internal_metadata_path: String,
    pub(crate) transcoding_temp_path: String,
    pub(crate) cast_receiver_applications: Vec<serde_json::Value>,
    pub(crate) has_update_available: bool,
    pub(crate) encoder_location: String,
    pub(crate) system_architecture: String,
}

/// `UserPolicy`: what a user may do and see.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UserPolicy {
    pub(crate) is_administrator: bool,
    pub(crate) is_hidden: bool,
    pub(crate) enable_collection_management: bool,
    pub(crate) enable_subtitle_management: bool,
    pub(crate) enable_lyric_management: bool,
    pub(crate) is_disabled: bool,
    /// `MaxParentalRating` (a rating value), absent when unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_parental_rating: Option<u32>,
    pub(crate) blocked_tags: Vec<String>,
    pub(crate) allowed_tags: Vec<String>,
    pub(crate) enable_user_preference_access: bool,
    pub(crate) access_schedules: Vec<serde_json::Value>,
    pub(crate) block_unrated_items: Vec<String>,
    pub(crate) enable_remote_control_of_other_users: bool,
    pub(crate) enable_shared_device_control: bool,
    pub(crate) enable_remote_access: bool,
    pub(crate) enable_live_tv_management: bool,
    pub(crate) enable_live_tv_access: bool,
    pub(crate) enable_media_playback: bool,
    pub(crate) enable_audio_playback_transcoding: bool,
    pub(crate) enable_video_playback_transcoding: bool,
    pub(crate) enable_playback_remuxing: bool,
    pub(crate) force_remote_source_transcoding: bool,
    pub(crate) enable_content_deletion: bool,
    pub(crate) enable_content_deletion_from_folders: Vec<String>,
    pub(crate) enable_content_downloading: bool,
    pub(crate) enable_sync_transcoding: bool,
    pub(crate) enable_media_conversion: bool,
    pub(crate) enabled_devices: Vec<String>,
    pub(crate) enable_all_devices: bool,
    pub(crate) enabled_channels: Vec<String>,
    pub(crate) enable_all_channels: bool,
    /// Ids of the library views this user may see when `enable_all_folders` is false.
    pub(crate) enabled_folders: Vec<String>,
    pub(crate) enable_all_folders: bool,
    pub(crate) invalid_login_attempt_count: u32,
    pub(crate) login_attempts_before_lockout: i32,
    pub(crate) max_active_sessions: u32,
    pub(crate) enable_public_sharing: bool,
    pub(crate) blocked_media_folders: Vec<String>,
    pub(crate) blocked_channels: Vec<String>,
    pub(crate) remote_client_bitrate_limit: u32,
    pub(crate) authentication_provider_id: String,
    pub(crate) password_reset_provider_id: String,
    pub(crate) sync_play_access: String,
}

impl UserPolicy {
    /// The policy of a user; `enabled_folders` is `None` for access to every library.
    pub(crate) fn new(is_administrator: bool, enabled_folders: Option<Vec<String>>) -> Self {
        UserPolicy {
            is_administrator,
            is_hidden: false,
            enable_collection_management: is_administrator,
            enable_subtitle_management: is_administrator,
            enable_lyric_management: is_administrator,
            is_disabled: false,
            max_parental_rating: None,
            blocked_tags: Vec::new(),
            allowed_tags: Vec::new(),
            enable_user_preference_access: true,
            access_schedules: Vec::new(),
            block_unrated_items: Vec::new(),
            enable_remote_control_of_other_users: is_administrator,
            enable_shared_device_control: true,
            enable_remote_access: true,
            enable_live_tv_management: is_administrator,
            enable_live_tv_access: true,
            enable_media_playback: true,
            enable_audio_playback_transcoding: true,
            enable_video_playback_transcoding: true,
            enable_playback_remuxing: true,
            force_remote_source_transcoding: false,
            enable_content_deletion: is_administrator,
            enable_content_deletion_from_folders: Vec::new(),
            enable_content_downloading: true,
            enable_sync_transcoding: true,
            enable_media_conversion: true,
            enabled_devices: Vec::new(),
            enable_all_devices: true,
            enabled_channels: Vec::new(),
            enable_all_channels: true,
            enable_all_folders: enabled_folders.is_none(),
            enabled_folders: enabled_folders.unwrap_or_default(),
            invalid_login_attempt_count: 0,
            login_attempts_before_lockout: -1,
            max_active_sessions: 0,
            enable_public_sharing: true,
            blocked_media_folders: Vec::new(),
            blocked_channels: Vec::new(),
            remote_client_bitrate_limit: 0,
            authentication_provider_id:
                "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider".to_owned(),
            password_reset_provider_id:
                "Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider".to_owned(),
            sync_play_access: "CreateAndJoinGroups".to_owned(),
        }
    }
}

/// `UserConfiguration`: display preferences stored on the server.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UserConfiguration {
    pub(crate) play_default_audio_track: bool,
    pub(crate) subtitle_language_preference: String,
    pub(crate) display_missing_episodes: bool,
    pub(crate) grouped_folders: Vec<String>,
    pub(crate) subtitle_mode: String,
    pub(crate) display_collections_view: bool,
    pub(crate) enable_local_password: bool,
    pub(crate) ordered_views: Vec<String>,
    pub(crate) latest_items_excludes: Vec<String>,
    pub(crate) my_media_excludes: Vec<String>,
    pub(crate) hide_played_in_latest: bool,
    pub(crate) remember_audio_selections: bool,
    pub(crate) remember_subtitle_selections: bool,
    pub(crate) enable_next_episode_auto_play: bool,
    pub(crate) cast_receiver_id: String,
}

impl Default for UserConfiguration {
    fn default() -> Self {
        UserConfiguration {
            play_default_audio_track: true,
            subtitle_language_preference: String::new(),
            display_missing_episodes: false,
            grouped_folders: Vec::new(),
            subtitle_mode: "Default".to_owned(),
            display_collections_view: false,
            enable_local_password: false,
            ordered_views: Vec::new(),
            latest_items_excludes: Vec::new(),
            my_media_excludes: Vec::new(),
            hide_played_in_latest: true,
            remember_audio_selections: true,
            remember_subtitle_selections: true,
            enable_next_episode_auto_play: true,
            cast_receiver_id: "F007D354".to_owned(),
        }
    }
}

/// `UserDto`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UserDto {
    pub(crate) name: String,
    pub(crate) server_id: String,
    pub(crate) id: String,
    pub(crate) has_password: bool,
    pub(crate) has_configured_password: bool,
    pub(crate) has_configured_easy_password: bool,
    pub(crate) enable_auto_login: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_login_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_activity_date: Option<String>,
    /// Present on `/Users`, `/Users/{id}`, `/Users/Me`; omitted on `/Users/Public`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) configuration: Option<UserConfiguration>,
    /// As `configuration`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) policy: Option<UserPolicy>,
}

/// `PlayerStateInfo` of a session.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PlayerStateInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) position_ticks: Option<i64>,
    pub(crate) can_seek: bool,
    pub(crate) is_paused: bool,
    pub(crate) is_muted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) media_source_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) play_method: Option<String>,
    pub(crate) repeat_mode: String,
    pub(crate) playback_order: String,
}

/// `ClientCapabilitiesDto` (what the session's client said it can do).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ClientCapabilities {
    pub(crate) playable_media_types: Vec<String>,
    pub(crate) supported_commands: Vec<String>,
    pub(crate) supports_media_control: bool,
    pub(crate) supports_persistent_identifier: bool,
}

/// `SessionInfoDto`: one client connection of a user (`GET /Sessions`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SessionInfo {
    pub(crate) play_state: PlayerStateInfo,
    pub(crate) additional_users: Vec<serde_json::Value>,
    pub(crate) capabilities: ClientCapabilities,
    pub(crate) remote_end_point: String,
    pub(crate) playable_media_types: Vec<String>,
    pub(crate) id: String,
    pub(crate) user_id: String,
    pub(crate) user_name: String,
    pub(crate) client: String,
    pub(crate) last_activity_date: String,
    pub(crate) last_playback_check_in: String,
    pub(crate) device_name: String,
    pub(crate) device_id: String,
    pub(crate) application_version: String,
    pub(crate) is_active: bool,
    pub(crate) supports_media_control: bool,
    pub(crate) supports_remote_control: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) now_playing_item: Option<Box<BaseItemDto>>,
    pub(crate) now_playing_queue: Vec<serde_json::Value>,
    pub(crate) now_playing_queue_full_items: Vec<serde_json::Value>,
    pub(crate) has_custom_device_name: bool,
    pub(crate) server_id: String,
    pub(crate) supported_commands: Vec<String>,
}

/// `AuthenticationResult` of `POST /Users/AuthenticateByName`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AuthenticationResult {
    pub(crate) user: UserDto,
    pub(crate) session_info: SessionInfo,
    pub(crate) access_token: String,
    pub(crate) server_id: String,
}

/// `NameGuidPair` (`ArtistItems`, `AlbumArtists`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct NameGuidPair {
    pub(crate) name: String,
    pub(crate) id: String,
}

/// `UserItemDataDto`: one user's state for one item.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UserItemData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) played_percentage: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) unplayed_item_count: Option<u64>,
    pub(crate) playback_position_ticks: i64,
    pub(crate) play_count: u64,
    pub(crate) is_favorite: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_played_date: Option<String>,
    pub(crate) played: bool,
    pub(crate) key: String,
    pub(crate) item_id: String,
}

/// `MediaSourceInfo`, reduced to what clients read to decide how to play.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MediaSourceInfo {
    pub(crate) protocol: String,
    pub(crate) id: String,
    pub(crate) path: String,
    #[serde(rename = "Type")]
    pub(crate) source_type: String,
    pub(crate) container: String,
    pub(crate) size: u64,
    pub(crate) name: String,
    pub(crate) is_remote: bool,
    pub(crate) run_time_ticks: i64,
    pub(crate) supports_transcoding: bool,
    pub(crate) supports_direct_stream: bool,
    pub(crate) supports_direct_play: bool,
    pub(crate) bitrate: u64,
}

/// `BaseItemDto`: every item the server lists (tracks, albums, artists, movies, series,
/// seasons, episodes, library views, playlists), its properties in the order of the server's
/// class (the order it writes them in). Fields outside the default set appear only when the
/// request's `Fields` asks for them.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BaseItemDto {
    pub(crate) name: String,
    pub(crate) server_id: String,
    pub(crate) id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) etag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) playlist_item_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) date_created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) date_last_media_added: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) can_delete: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) can_download: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) container: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sort_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) premiere_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) media_sources: Option<Vec<MediaSourceInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<String>,
    /// `OfficialRating` (movies and shows carry one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) official_rating: Option<String>,
    /// `ChannelId`: null for every library item (the server writes an empty id as `null`).
    pub(crate) channel_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) overview: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) genres: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cumulative_run_time_ticks: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) run_time_ticks: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) production_year: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) index_number: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parent_index_number: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) provider_ids: Option<BTreeMap<String, String>>,
    pub(crate) is_folder: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parent_id: Option<String>,
    #[serde(rename = "Type")]
    pub(crate) item_type: String,
    /// `Studios` (with `Fields=Studios`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) studios: Option<Vec<NameGuidPair>>,
    /// `GenreItems` (with `Fields=Genres`, next to `Genres`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) genre_items: Option<Vec<NameGuidPair>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user_data: Option<UserItemData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) recursive_item_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) child_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) series_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) series_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) season_id: Option<String>,
    /// `Tags` (with `Fields=Tags`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) artists: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) artist_items: Option<Vec<NameGuidPair>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) album: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) collection_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) album_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) album_primary_image_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) album_artist: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) album_artists: Option<Vec<NameGuidPair>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) season_name: Option<String>,
    /// Left out when images are off (`EnableImages=false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) image_tags: Option<BTreeMap<String, String>>,
    /// Written only when the backdrop limit is above 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) backdrop_image_tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) location_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) media_type: Option<String>,
}

/// `QueryResult<T>`: a page of a listing.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct QueryResult<T> {
    pub(crate) items: Vec<T>,
    pub(crate) total_record_count: usize,
    pub(crate) start_index: usize,
}

/// `SearchHint`: one result of `GET /Search/Hints`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SearchHint {
    pub(crate) item_id: String,
    pub(crate) id: String,
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) matched_term: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) index_number: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) production_year: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parent_index_number: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) primary_image_tag: Option<String>,
    #[serde(rename = "Type")]
    pub(crate) item_type: String,
    /// Written only for folders (`true`): the server leaves it null otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) is_folder: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) run_time_ticks: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) series: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) album: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) album_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) album_artist: Option<String>,
    pub(crate) artists: Vec<String>,
    /// `ChannelId`: null for a library item (the server writes an empty id as `null`).
    pub(crate) channel_id: Option<String>,
}

/// `SearchHintResult`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SearchHintResult {
    pub(crate) search_hints: Vec<SearchHint>,
    pub(crate) total_record_count: usize,
}

/// `PlaylistCreationResult` of `POST /Playlists`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PlaylistCreationResult {
    pub(crate) id: String,
}

/// `PlaylistUserPermissions` (a share).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PlaylistUserPermissions {
    pub(crate) user_id: String,
    pub(crate) can_edit: bool,
}

/// `PlaylistDto` of `GET /Playlists/{id}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PlaylistDto {
    pub(crate) open_access: bool,
    pub(crate) shares: Vec<PlaylistUserPermissions>,
    pub(crate) item_ids: Vec<String>,
}

/// `LibraryUpdateInfo`: the data of a `LibraryChanged` websocket message.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LibraryUpdateInfo {
    pub(crate) folders_added_to: Vec<String>,
    pub(crate) folders_removed_from: Vec<String>,
    pub(crate) items_added: Vec<String>,
    pub(crate) items_removed: Vec<String>,
    pub(crate) items_updated: Vec<String>,
    pub(crate) collection_folders: Vec<String>,
    pub(crate) is_empty: bool,
}

/// `UserDataChangeInfo`: the data of a `UserDataChanged` websocket message.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UserDataChangeInfo {
    pub(crate) user_id: String,
    pub(crate) user_data_list: Vec<UserItemData>,
}

/// An outbound websocket message: `{"MessageType", "MessageId", "Data"}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WebSocketMessage<T> {
    pub(crate) message_type: String,
    pub(crate) message_id: String,
    pub(crate) data: T,
}

/// An RFC 7807 problem, as ASP.NET answers a 400 / 404.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ProblemDetails {
    #[serde(rename = "type")]
    pub(crate) problem_type: String,
    pub(crate) title: String,
    pub(crate) status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) errors: Option<BTreeMap<String, Vec<String>>>,
    #[serde(rename = "traceId")]
    pub(crate) trace_id: String,
}

/// Jellyfin's dates, written and read as the gateway does (shared code).
pub(crate) use cachearr_serverfmt::jellyfin::{iso8601, parse_iso8601};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_omit_nulls_and_use_pascal_case() {
        let item = BaseItemDto {
            name: "Song".into(),
            id: "abc".into(),
            item_type: "Audio".into(),
            run_time_ticks: Some(1_800_000_000),
            ..BaseItemDto::default()
        };
        let json = serde_json::to_value(&item).expect("serialises");
        assert_eq!(json["Name"], "Song");
        assert_eq!(json["Type"], "Audio");
        assert_eq!(json["RunTimeTicks"], 1_800_000_000_i64);
        assert!(json.get("Album").is_none());
        assert!(json.get("ImageTags").is_none(), "images off");
    }
}

/// `ItemCounts` (`GET /Items/Counts`): the user's items by kind.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ItemCounts {
    pub(crate) movie_count: u64,
    pub(crate) series_count: u64,
    pub(crate) episode_count: u64,
    pub(crate) artist_count: u64,
    pub(crate) program_count: u64,
    pub(crate) trailer_count: u64,
    pub(crate) song_count: u64,
    pub(crate) album_count: u64,
    pub(crate) music_video_count: u64,
    pub(crate) box_set_count: u64,
    pub(crate) book_count: u64,
    pub(crate) item_count: u64,
}
