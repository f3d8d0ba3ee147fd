//! What a change to the library carries: a [`NewItem`] and the fields a scan or an edit sets
//! ([`ItemFields`], [`MediaFields`], chapters and markers), and the Plex attributes a test may
//! set on them.

use super::*;

/// What [`Library::add_item`] creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// Kind of the new item.
    pub kind: ItemKind,
    /// Section for top-level items (artist, movie, show); ignored when `parent` is given.
    pub section: Option<u32>,
    /// Parent for albums, tracks, seasons, episodes.
    pub parent: Option<ItemId>,
    /// Title.
    pub title: String,
    /// Epoch seconds of the addition.
    pub added_at: u32,
}

/// Fields a real item has, given explicitly (a library file, `/_sim/library/add`, the Rust
/// API). Every one is optional; an item with any field given takes all its metadata (guids,
/// labels, genres, content rating, studio, summary) from here instead of deriving it, so a
/// described library shows exactly what was described. Names are Plex's attribute names.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemFields {
    /// Duration in milliseconds (playable items).
    pub duration: Option<u32>,
    /// Tracks: the track artist when it differs from the album artist; movies: the title in
    /// the original language.
    pub original_title: Option<String>,
    /// Release year.
    pub year: Option<u16>,
    /// Track, episode or season number.
    pub index: Option<u16>,
    /// Disc number of a track.
    pub disc: Option<u16>,
    /// MusicBrainz id (recording, release or artist).
    pub musicbrainz_id: Option<String>,
    /// MusicBrainz release-group id (albums).
    pub musicbrainz_release_group: Option<String>,
    /// ISRC of a track.
    pub isrc: Option<String>,
    /// Plex's agent guid (`plex://movie/5d77…`).
    pub guid: Option<String>,
    /// External guids (`imdb://tt…`, `tmdb://…`, `tvdb://…`, `mbid://…`).
    pub guids: Vec<String>,
    /// Labels (Plex `Label`, Jellyfin `Tags`).
    pub labels: Vec<String>,
    /// Genres.
    pub genres: Vec<String>,
    /// Content rating (`PG-13`, `TV-MA`…).
    pub content_rating: Option<String>,
    /// Studio.
    pub studio: Option<String>,
    /// Synopsis.
    pub summary: Option<String>,
    /// The media file's path on the server (the folder for artists, albums, shows).
    pub file: Option<String>,
    /// Epoch seconds of the addition (else the time of the load or the request).
    pub added_at: Option<u32>,
    /// Release date, `YYYY-MM-DD`.
    pub originally_available_at: Option<String>,
    /// Media details of a playable item (codecs, resolution, streams).
    pub media: Option<MediaFields>,
    /// Further Plex attributes of the item (`tagline`, `rating`, `audienceRating`, …): names
    /// from [`PLEX_EXTRA_ATTRS`] only.
    pub attrs: std::collections::BTreeMap<String, serde_json::Value>,
    /// Tag lists by Plex tag element (`Director`, `Writer`, `Role`, `Country`, `Producer`,
    /// `Mood`, `Style`, `Similar`).
    pub tags: std::collections::BTreeMap<String, Vec<String>>,
    /// Chapters of a movie or episode.
    pub chapters: Vec<Chapter>,
    /// Markers (intro, credits) of a movie or episode.
    pub markers: Vec<Marker>,
}

/// One chapter (milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Chapter {
    /// Chapter title.
    pub tag: String,
    /// Start offset in milliseconds.
    pub start: u32,
    /// End offset in milliseconds.
    pub end: u32,
}

/// One marker (milliseconds): `type` is `intro`, `credits` or `commercial`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Marker {
    /// `intro`, `credits`, `commercial`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Start offset in milliseconds.
    pub start: u32,
    /// End offset in milliseconds.
    pub end: u32,
    /// Credits markers: true for the last one (Plex's `final`).
    #[serde(rename = "final")]
    pub is_final: bool,
}

/// Media details of a playable item, named as Plex's `Media` attributes.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct MediaFields {
    /// `mkv`, `mp4`, `mp3`, `flac`…
    pub container: Option<String>,
    /// `h264`, `mpeg4`…
    pub video_codec: Option<String>,
    /// `aac`, `ac3`, `mp3`…
    pub audio_codec: Option<String>,
    /// `1080`, `720`, `sd`…
    pub video_resolution: Option<String>,
    /// Pixels.
    pub width: Option<u32>,
    /// Pixels.
    pub height: Option<u32>,
    /// kbit/s.
    pub bitrate: Option<u32>,
    /// Audio channels.
    pub audio_channels: Option<u32>,
    /// `24p`, `PAL`, `NTSC`.
    pub video_frame_rate: Option<String>,
    /// `main`, `high`…
    pub video_profile: Option<String>,
    /// `lc`…
    pub audio_profile: Option<String>,
    /// Width / height.
    pub aspect_ratio: Option<f32>,
    /// Bytes of the file.
    pub size: Option<u64>,
    /// Plex `Stream` elements of the part (`streamType` 1 video, 2 audio, 3 subtitle), with
    /// attribute names from [`PLEX_STREAM_ATTRS`] only.
    pub streams: Vec<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// The item attributes a library file may set through [`ItemFields::attrs`] (a fixed list so
/// that rendering keeps static names and hostile input cannot grow it).
pub const PLEX_EXTRA_ATTRS: &[&str] = &[
    "tagline",
    "rating",
    "audienceRating",
    "ratingImage",
    "audienceRatingImage",
    "userRating",
    "chapterSource",
    "slug",
    "editionTitle",
    "primaryExtraKey",
    "theme",
    "titleSort",
    "originalTitle",
    "parentTheme",
    "grandparentTheme",
    "loudnessAnalysisVersion",
    "hasPremiumLyrics",
    "hasPremiumExtras",
    "hasPremiumPrimaryExtra",
    "ratingCount",
    "languageOverride",
    "useOriginalTitle",
    "enableCreditsMarkerGeneration",
    "skipChildren",
];

/// The `Stream` attributes a library file may set (see [`MediaFields::streams`]).
pub const PLEX_STREAM_ATTRS: &[&str] = &[
    "streamType",
    "default",
    "selected",
    "codec",
    "index",
    "bitrate",
    "language",
    "languageCode",
    "languageTag",
    "bitDepth",
    "chromaLocation",
    "chromaSubsampling",
    "codedHeight",
    "codedWidth",
    "frameRate",
    "hasScalingMatrix",
    "height",
    "width",
    "level",
    "profile",
    "refFrames",
    "scanType",
    "displayTitle",
    "extendedDisplayTitle",
    "channels",
    "audioChannelLayout",
    "samplingRate",
    "title",
    "forced",
    "format",
    "key",
    "gain",
    "loudness",
    "lra",
    "peak",
    "albumGain",
    "albumPeak",
    "albumRange",
    "startRamp",
    "endRamp",
];

/// The static name of a Plex attribute allowed by `list`, if `name` is one.
pub fn allowed_attr(list: &'static [&'static str], name: &str) -> Option<&'static str> {
    list.iter().copied().find(|a| *a == name)
}

/// The Plex tag elements a library file may fill through [`ItemFields::tags`].
pub const PLEX_TAG_ELEMENTS: &[&str] = &[
    "Director", "Writer", "Role", "Country", "Producer", "Mood", "Style", "Similar",
];

impl ItemFields {
    /// Checks names against the allowed lists and values for sanity.
    pub fn validate(&self) -> Result<(), LibraryError> {
        for k in self.attrs.keys() {
            if allowed_attr(PLEX_EXTRA_ATTRS, k).is_none() {
                return Err(LibraryError::BadShape(format!("unknown attribute {k:?}")));
            }
        }
        for k in self.tags.keys() {
            if allowed_attr(PLEX_TAG_ELEMENTS, k).is_none() {
                return Err(LibraryError::BadShape(format!("unknown tag element {k:?}")));
            }
        }
        for st in self.media.iter().flat_map(|m| m.streams.iter()) {
            for k in st.keys() {
                if allowed_attr(PLEX_STREAM_ATTRS, k).is_none() {
                    return Err(LibraryError::BadShape(format!(
                        "unknown stream attribute {k:?}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// True when nothing is given.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
