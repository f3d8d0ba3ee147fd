//! Reading playlist files into [`TrackQuery`]s: CSV (with a header row), JSON and M3U/EXTM3U.
//!
//! # Columns and fields
//! Names are matched ignoring case, spaces and punctuation, so Exportify's
//! "Artist Name(s)", "Track Name", "Album Name", "Duration (ms)" and "ISRC" work as they are.
//!
//! | field | accepted names |
//! |---|---|
//! | artist | `artist`, `artists`, `artist name`, `artist name(s)`, `performer` |
//! | title | `title`, `track`, `track name`, `name`, `song` |
//! | album | `album`, `album name` |
//! | duration (ms) | `duration_ms`, `duration (ms)`, `length_ms` |
//! | duration (s) | `duration`, `length`, `seconds` (may be `m:ss`) |
//! | ISRC | `isrc` |
//! | MusicBrainz id | `mbid`, `musicbrainz_id`, `musicbrainz recording id`, `recording_mbid` |
//!
//! JSON is an array of objects with those keys (or `{"tracks": [...]}`); an `artists` array
//! is joined with ", ". JSPF (ListenBrainz's playlists: `{"playlist": {"track": [...]}}`) is
//! read with its own names: `creator` is the artist, `duration` is in milliseconds and the
//! MusicBrainz recording address in `identifier` is the MusicBrainz id. M3U uses `#EXTINF:seconds,Artist - Title` (and `#EXTALB`/`#EXTART`);
//! a bare path line without `#EXTINF` is read as "Artist - Title.ext".

use std::path::Path;

use crate::LibraryError;
use crate::matcher::TrackQuery;

/// A playlist file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaylistFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
    /// M3U or extended M3U.
    M3u,
}

impl PlaylistFormat {
    /// The format a file name suggests, if its extension is known.
    pub fn from_path(path: &Path) -> Option<PlaylistFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" | "tsv" => Some(PlaylistFormat::Csv),
            "json" => Some(PlaylistFormat::Json),
            "m3u" | "m3u8" => Some(PlaylistFormat::M3u),
            _ => None,
        }
    }

    /// The format the content looks like.
    pub fn sniff(text: &str) -> PlaylistFormat {
        let start = text.trim_start_matches('\u{feff}').trim_start();
        if start.starts_with('[') || start.starts_with('{') {
            PlaylistFormat::Json
        } else if start.starts_with("#EXTM3U") || start.starts_with("#EXTINF") {
            PlaylistFormat::M3u
        } else {
            PlaylistFormat::Csv
        }
    }
}

/// Which query field a column or key fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Artist,
    Title,
    Album,
    DurationMs,
    DurationSeconds,
    Isrc,
    Mbid,
}

fn field_of(name: &str) -> Option<Field> {
    let key: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    match key.as_str() {
        "artist" | "artists" | "artistname" | "artistnames" | "performer" => Some(Field::Artist),
        "title" | "track" | "trackname" | "name" | "song" | "songname" => Some(Field::Title),
        "album" | "albumname" => Some(Field::Album),
        "durationms" | "lengthms" => Some(Field::DurationMs),
        "duration" | "length" | "seconds" | "durations" => Some(Field::DurationSeconds),
        "isrc" => Some(Field::Isrc),
        "mbid"
        | "musicbrainzid"
        | "musicbrainzrecordingid"
        | "recordingmbid"
        | "musicbrainztrackid" => Some(Field::Mbid),
        _ => None,
    }
}

/// Parses "215", "215.4" or "3:35" seconds into milliseconds.
fn parse_seconds(raw: &str) -> Option<u32> {
    let raw = raw.trim();
    let seconds: f64 = match raw.split_once(':') {
        Some((minutes, seconds)) => {
            minutes.trim().parse::<f64>().ok()? * 60.0 + seconds.trim().parse::<f64>().ok()?
        }
        None => raw.parse().ok()?,
    };
    (seconds.is_finite() && seconds > 0.0 && seconds < 4_000_000.0)
        .then(|| (seconds * 1000.0).round() as u32)
}

fn parse_millis(raw: &str) -> Option<u32> {
    let value: f64 = raw.trim().parse().ok()?;
    (value.is_finite() && value > 0.0 && value < 4e9).then(|| value.round() as u32)
}

fn non_empty(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

fn set_field(query: &mut TrackQuery, field: Field, value: &str) {
    match field {
        Field::Artist => query.artist = value.trim().to_string(),
        Field::Title => query.title = value.trim().to_string(),
        Field::Album => query.album = non_empty(value),
        Field::DurationMs => query.duration_ms = parse_millis(value).or(query.duration_ms),
        Field::DurationSeconds => query.duration_ms = parse_seconds(value).or(query.duration_ms),
        Field::Isrc => query.isrc = non_empty(value),
        Field::Mbid => query.musicbrainz_id = non_empty(value),
    }
}

/// Reads a playlist file; the format comes from the extension, else from the content.
pub fn read_playlist(path: &Path) -> Result<Vec<TrackQuery>, LibraryError> {
    let text = std::fs::read_to_string(path).map_err(|source| LibraryError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    let format = PlaylistFormat::from_path(path).unwrap_or_else(|| PlaylistFormat::sniff(&text));
    parse_playlist(&text, format, &path.display().to_string())
}

/// Parses playlist text in the given format; `name` only labels errors.
pub fn parse_playlist(
    text: &str,
    format: PlaylistFormat,
    name: &str,
) -> Result<Vec<TrackQuery>, LibraryError> {
    let text = text.trim_start_matches('\u{feff}');
    let queries = match format {
        PlaylistFormat::Csv => parse_csv(text, name)?,
        PlaylistFormat::Json => parse_json(text, name)?,
        PlaylistFormat::M3u => parse_m3u(text),
    };
    Ok(queries)
}

fn bad(name: &str, line: u64, reason: impl Into<String>) -> LibraryError {
    LibraryError::BadPlaylist {
        path: name.to_string(),
        line,
        reason: reason.into(),
    }
}

fn parse_csv(text: &str, name: &str) -> Result<Vec<TrackQuery>, LibraryError> {
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.matches('\t').count() > first_line.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|err| bad(name, 1, err.to_string()))?
        .clone();
    let columns: Vec<Option<Field>> = headers.iter().map(field_of).collect();
    if !columns.contains(&Some(Field::Title)) {
        return Err(bad(
            name,
            1,
            "the header row names no title column (title, track, name)",
        ));
    }
    let mut queries = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|err| {
            let line = err.position().map_or(0, |position| position.line());
            bad(name, line, err.to_string())
        })?;
        let mut query = TrackQuery::default();
        for (value, field) in row.iter().zip(&columns) {
            if let Some(field) = field {
                set_field(&mut query, *field, value);
            }
        }
        if !query.title.is_empty() || query.isrc.is_some() || query.musicbrainz_id.is_some() {
            queries.push(query);
        }
    }
    Ok(queries)
}

fn json_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(|item| match item {
                    serde_json::Value::Object(object) => object.get("name").and_then(json_text),
                    other => json_text(other),
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        _ => None,
    }
}

fn parse_json(text: &str, name: &str) -> Result<Vec<TrackQuery>, LibraryError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|err| bad(name, err.line() as u64, err.to_string()))?;
    // JSPF: `{"playlist": {"track": [...]}}`, with XSPF's names for the fields.
    let jspf = value
        .get("playlist")
        .and_then(|playlist| playlist.get("track"))
        .and_then(serde_json::Value::as_array);
    let items = match (&value, jspf) {
        (_, Some(items)) => items,
        (serde_json::Value::Array(items), None) => items,
        (serde_json::Value::Object(object), None) => {
            match object.get("tracks").or(object.get("items")) {
                Some(serde_json::Value::Array(items)) => items,
                _ => {
                    return Err(bad(
                        name,
                        0,
                        "expected an array of tracks or {\"tracks\": [...]}",
                    ));
                }
            }
        }
        _ => return Err(bad(name, 0, "expected an array of tracks")),
    };
    let mut queries = Vec::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        let serde_json::Value::Object(object) = item else {
            return Err(bad(name, 0, format!("entry {} is not an object", n + 1)));
        };
        let mut query = TrackQuery::default();
        for (key, value) in object {
            let field = match (jspf.is_some(), key.as_str()) {
                (true, "creator") => Some(Field::Artist),
                (true, "duration") => Some(Field::DurationMs),
                (true, "identifier") => {
                    query.musicbrainz_id = jspf_recording(value).or(query.musicbrainz_id);
                    continue;
                }
                _ => field_of(key),
            };
            if let (Some(field), Some(text)) = (field, json_text(value)) {
                set_field(&mut query, field, &text);
            }
        }
        if !query.title.is_empty() || query.isrc.is_some() || query.musicbrainz_id.is_some() {
            queries.push(query);
        }
    }
    Ok(queries)
}

/// The MusicBrainz id among a JSPF track's identifiers (a string or a list of addresses).
fn jspf_recording(value: &serde_json::Value) -> Option<String> {
    let identifiers: Vec<&str> = match value {
        serde_json::Value::String(text) => vec![text.as_str()],
        serde_json::Value::Array(items) => {
            items.iter().filter_map(serde_json::Value::as_str).collect()
        }
        _ => Vec::new(),
    };
    identifiers
        .into_iter()
        .find(|text| text.contains("musicbrainz.org/") && crate::record::parse_mbid(text).is_some())
        .map(|text| text.trim().to_string())
}

/// Splits "Artist - Title" (the M3U convention); without a separator it is all title.
fn split_artist_title(text: &str) -> (String, String) {
    match text.split_once(" - ") {
        Some((artist, title)) => (artist.trim().to_string(), title.trim().to_string()),
        None => (String::new(), text.trim().to_string()),
    }
}

/// True for a track number as file names start with it ("04", "1", "101").
fn is_track_number(text: &str) -> bool {
    (1..=3).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

/// Reads a bare path the way music libraries lay files out: `Artist - Title.ext`, or
/// `Artist/Album/04 - Title.ext` and `Artist/Album/04 Title.ext`, where the leading number is
/// the track number and the folders name the artist and the album. Taggers and players also
/// write `04-Title`, `04_title`, `1-04 Title` (disc and track), `Artist - 04 - Title`, an
/// album folder with its year (`Album (1969)`, `1969 - Album`) or the artist
/// (`Artist - Album`), a disc folder inside the album (`CD1`, `Disc 2`), a sort name for the
/// artist (`Beatles, The`) and `file://` addresses with escaped characters.
fn query_from_path(line: &str) -> TrackQuery {
    let decoded = decode_file_url(line);
    let line = decoded.as_str();
    let mut parts = line
        .rsplit(['/', '\\'])
        .filter(|part| !part.is_empty())
        .peekable();
    let file = parts.next().unwrap_or(line);
    // A disc folder inside the album's.
    if parts.peek().is_some_and(|dir| is_disc_folder(dir)) {
        parts.next();
    }
    let album_dir = parts.next();
    let artist_dir = parts.next();
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    // Words joined by underscores ("01_come_together").
    let spaced;
    let stem = if !stem.contains(' ') && stem.contains('_') {
        spaced = stem.replace('_', " ");
        spaced.as_str()
    } else {
        stem
    };
    let (artist, title) = split_artist_title(stem);
    let (artist, title) = if is_track_number(&artist) {
        // "04 - Artist - Title" or "04 - Title".
        match split_artist_title(&title) {
            (artist, rest) if !artist.is_empty() => (artist, rest),
            _ => (String::new(), title),
        }
    } else if artist.is_empty() {
        (String::new(), numbered_title(&title).unwrap_or(title))
    } else {
        // "Artist - 04 - Title".
        match split_artist_title(&title) {
            (number, rest) if is_track_number(&number) => (artist, rest),
            _ => (artist, title),
        }
    };
    if !artist.is_empty() {
        return TrackQuery {
            artist,
            title,
            ..TrackQuery::default()
        };
    }
    // No artist in the name: the folders say it (`…/Artist/Album/file`, `…/Artist -
    // Album/file`).
    let (artist, album) = match (artist_dir, album_dir) {
        (parent, Some(album))
            if is_library_root(parent)
                && split_artist_title(album).0.len() > 1
                && !split_artist_title(album)
                    .0
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
        {
            let (artist, album) = split_artist_title(album);
            (artist, Some(album))
        }
        (Some(artist), Some(album)) if !artist.ends_with(':') => {
            (artist.to_string(), Some(album.to_string()))
        }
        _ => (String::new(), None),
    };
    let artist = match artist.rsplit_once(", ") {
        // A sort name: "Beatles, The".
        Some((name, article)) if matches!(article, "The" | "the" | "A" | "a") => {
            format!("{article} {name}")
        }
        _ => artist,
    };
    TrackQuery {
        artist,
        title,
        album: album.map(|album| album_without_year(&album)),
        ..TrackQuery::default()
    }
}

/// The title of a file name that starts with its track number ("04 Title", "04. Title",
/// "04-Title", "1-04 Title"), or `None` when it does not.
fn numbered_title(text: &str) -> Option<String> {
    let text = text.trim();
    // "04 Title", "04. Title", "04-Title", "1-04 Title".
    let number_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '-' || c == '.'))
        .unwrap_or(text.len());
    let (number, rest) = text.split_at(number_len);
    let digits = number.trim_end_matches(['.', '-']);
    let track = digits.rsplit('-').next().unwrap_or(digits);
    let disc_ok = digits
        .split_once('-')
        .is_none_or(|(disc, _)| (1..=2).contains(&disc.len()));
    (is_track_number(track)
        && disc_ok
        && digits.split('-').count() <= 2
        && (rest.starts_with(' ') || number.ends_with(['.', '-']))
        && !rest.trim().is_empty())
    .then(|| rest.trim().to_string())
}

/// A library's root folder ("Music", "mp3", a drive) names no artist: an album folder under
/// it may carry the artist ("Artist - Album").
fn is_library_root(dir: Option<&str>) -> bool {
    dir.is_none_or(|dir| {
        dir.ends_with(':')
            || matches!(
                dir.to_ascii_lowercase().as_str(),
                "music" | "musik" | "musique" | "mp3" | "audio" | "media" | "downloads"
            )
    })
}

/// A path given as a `file://` address, unescaped ("%20" as a space); any other text as is.
fn decode_file_url(line: &str) -> String {
    let Some(rest) = line.strip_prefix("file://") else {
        return line.to_string();
    };
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[at] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(at + 1).and_then(|b| hex(*b)),
                bytes.get(at + 2).and_then(|b| hex(*b)),
            )
        {
            out.push((high * 16 + low) as u8);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| rest.to_string())
}

/// True for a folder holding one disc of an album: "CD1", "CD 2", "Disc 1", "Disk 2".
fn is_disc_folder(dir: &str) -> bool {
    let lower = dir.to_ascii_lowercase();
    ["cd", "disc", "disk"].iter().any(|label| {
        lower
            .strip_prefix(label)
            .map(str::trim_start)
            .is_some_and(|number| is_track_number(number) && number.len() <= 2)
    })
}

/// An album folder's name without the year taggers add: "Abbey Road (1969)", "Abbey Road
/// [1969]", "1969 - Abbey Road".
fn album_without_year(album: &str) -> String {
    let is_year = |text: &str| {
        text.len() == 4
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text.starts_with("19") || text.starts_with("20"))
    };
    let trimmed = album.trim();
    for (open, close) in [('(', ')'), ('[', ']')] {
        if let Some(inner) = trimmed.strip_suffix(close)
            && let Some(at) = inner.rfind(open)
            && is_year(inner[at + 1..].trim())
            && !inner[..at].trim().is_empty()
        {
            return inner[..at].trim().to_string();
        }
    }
    match trimmed.split_once(" - ") {
        Some((year, rest)) if is_year(year.trim()) && !rest.trim().is_empty() => {
            rest.trim().to_string()
        }
        _ => trimmed.to_string(),
    }
}

fn parse_m3u(text: &str) -> Vec<TrackQuery> {
    let mut queries = Vec::new();
    let mut pending: Option<TrackQuery> = None;
    let mut album: Option<String> = None;
    let mut artist: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(info) = line.strip_prefix("#EXTINF:") {
            let (duration, display) = info.split_once(',').unwrap_or((info, ""));
            // Attributes may follow the duration: `#EXTINF:215 tvg-id="x",Artist - Title`.
            let seconds = duration.split_whitespace().next().unwrap_or("");
            let (parsed_artist, title) = split_artist_title(display);
            let mut query = TrackQuery {
                title,
                artist: parsed_artist,
                ..TrackQuery::default()
            };
            query.duration_ms = parse_seconds(seconds);
            pending = Some(query);
        } else if let Some(value) = line.strip_prefix("#EXTALB:") {
            album = non_empty(value);
        } else if let Some(value) = line.strip_prefix("#EXTART:") {
            artist = non_empty(value);
        } else if line.starts_with('#') {
            continue;
        } else {
            let mut query = pending.take().unwrap_or_else(|| query_from_path(line));
            if query.artist.is_empty()
                && let Some(artist) = &artist
            {
                query.artist = artist.clone();
            }
            if query.album.is_none() {
                query.album = album.take();
            }
            artist = None;
            if !query.title.is_empty() {
                queries.push(query);
            }
        }
    }
    queries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exportify_style_csv() {
        let text = "\u{feff}Track Name,Artist Name(s),Album Name,Duration (ms),ISRC\n\
                    \"Hey Jude\",The Beatles,\"Hey Jude\",431000,GBAYE6800001\n\
                    \"Song, with comma\",\"A, B\",,200500,\n";
        let queries = parse_playlist(text, PlaylistFormat::Csv, "x").unwrap();
        assert_eq!(queries.len(), 2);
        assert_eq!(queries[0].title, "Hey Jude");
        assert_eq!(queries[0].artist, "The Beatles");
        assert_eq!(queries[0].duration_ms, Some(431_000));
        assert_eq!(queries[0].isrc.as_deref(), Some("GBAYE6800001"));
        assert_eq!(queries[1].title, "Song, with comma");
        assert_eq!(queries[1].album, None);
        assert_eq!(queries[1].isrc, None);
    }

    #[test]
    fn csv_without_a_title_column_is_a_clear_error() {
        let err = parse_playlist("foo,bar\n1,2\n", PlaylistFormat::Csv, "list.csv").unwrap_err();
        assert!(err.to_string().contains("no title column"), "{err}");
    }

    #[test]
    fn reads_json_arrays_and_wrapped_objects() {
        let text = r#"[{"artist": "Queen", "title": "Bohemian Rhapsody", "duration": "5:55",
                        "mbid": "b1a9c0e9-d987-4042-ae91-78d6a3267d69"},
                       {"artists": [{"name": "A"}, {"name": "B"}], "name": "Duet", "duration_ms": 1000}]"#;
        let queries = parse_playlist(text, PlaylistFormat::Json, "x").unwrap();
        assert_eq!(queries[0].duration_ms, Some(355_000));
        assert!(queries[0].musicbrainz_id.is_some());
        assert_eq!(queries[1].artist, "A, B");
        assert_eq!(queries[1].duration_ms, Some(1000));
        let wrapped = r#"{"tracks": [{"artist": "X", "track": "Y"}]}"#;
        assert_eq!(
            parse_playlist(wrapped, PlaylistFormat::Json, "x")
                .unwrap()
                .len(),
            1
        );
        assert!(parse_playlist("[1, 2]", PlaylistFormat::Json, "x").is_err());
        assert!(parse_playlist("{", PlaylistFormat::Json, "x").is_err());
    }

    #[test]
    fn reads_listenbrainz_jspf() {
        let text = r#"{"playlist": {"title": "Weekly", "creator": "someone", "track": [
            {"title": "Quiet Orchard", "creator": "Mirela Tosk", "album": "Low Fields",
             "duration": 201500,
             "identifier": ["https://musicbrainz.org/recording/0f4e5b7a-2c1d-4e8f-9a6b-3d2c1b0a9f8e"]},
            {"title": "Second Lantern", "creator": "Mirela Tosk",
             "identifier": "https://example.org/not-an-id"}]}}"#;
        let queries = parse_playlist(text, PlaylistFormat::Json, "x").unwrap();
        assert_eq!(queries.len(), 2);
        assert_eq!(queries[0].artist, "Mirela Tosk");
        assert_eq!(queries[0].album.as_deref(), Some("Low Fields"));
        assert_eq!(queries[0].duration_ms, Some(201_500));
        let mbid = queries[0].musicbrainz_id.as_deref().unwrap();
        assert_eq!(
            crate::record::parse_mbid(mbid),
            crate::record::parse_mbid("0f4e5b7a-2c1d-4e8f-9a6b-3d2c1b0a9f8e")
        );
        assert_eq!(queries[1].musicbrainz_id, None);
    }

    #[test]
    fn reads_extended_and_plain_m3u() {
        let text = "#EXTM3U\n#EXTINF:431,The Beatles - Hey Jude\n/music/hey jude.mp3\n\
                    #EXTALB:Jazz\n#EXTINF:-1,Queen - Don't Stop Me Now\nfile.mp3\n\
                    /music/Artist X - Song Y.flac\n#EXTINF:10,Just A Title\nz.mp3\n";
        let queries = parse_playlist(text, PlaylistFormat::M3u, "x").unwrap();
        assert_eq!(queries.len(), 4);
        assert_eq!(queries[0].artist, "The Beatles");
        assert_eq!(queries[0].duration_ms, Some(431_000));
        assert_eq!(queries[1].duration_ms, None);
        assert_eq!(queries[1].album.as_deref(), Some("Jazz"));
        assert_eq!(queries[2].artist, "Artist X");
        assert_eq!(queries[2].title, "Song Y");
        assert_eq!(queries[3].artist, "");
    }

    #[test]
    fn bare_paths_read_track_numbers_and_folders() {
        let text = "/home/me/Music/The Who/Who's Next/06 - Baba O'Riley.mp3\n\
                    D:\\Music\\Led Zeppelin\\IV\\04. Stairway to Heaven.flac\n\
                    /music/Pink Floyd - Time.mp3\n\
                    /music/Blur/Blur/Song 2.mp3\n";
        let queries = parse_playlist(text, PlaylistFormat::M3u, "x").unwrap();
        let read: Vec<(&str, &str, Option<&str>)> = queries
            .iter()
            .map(|q| (q.artist.as_str(), q.title.as_str(), q.album.as_deref()))
            .collect();
        assert_eq!(
            read,
            [
                ("The Who", "Baba O'Riley", Some("Who's Next")),
                ("Led Zeppelin", "Stairway to Heaven", Some("IV")),
                ("Pink Floyd", "Time", None),
                // "Song 2" is a title, not track number 2 of "Song".
                ("Blur", "Song 2", Some("Blur")),
            ]
        );
    }

    #[test]
    fn paths_as_taggers_and_players_write_them() {
        let text = "/music/Corvid Almanac/Copperplate/01-Lantern Ferry.mp3\n\
                    /music/Corvid Almanac/Copperplate/02_belljar.mp3\n\
                    /music/Corvid Almanac/Copperplate (2014)/1-03 Saltbox.flac\n\
                    /music/Corvid Almanac/2014 - Copperplate/CD2/04. Quillwork.flac\n\
                    /music/Corvid Almanac - Copperplate/05 - Dovetail.mp3\n\
                    /music/Almanac, The/Copperplate/06 Orrery.mp3\n\
                    /music/Corvid Almanac/Lantern Ferry - Live at the Quays/07 - Belljar.mp3\n\
                    /music/Corvid Almanac - 08 - Pumice.mp3\n\
                    file:///home/me/Music/Corvid%20Almanac/Copperplate/09%20Wintergreen.flac\n";
        let queries = parse_playlist(text, PlaylistFormat::M3u, "x").unwrap();
        let read: Vec<(&str, &str, Option<&str>)> = queries
            .iter()
            .map(|q| (q.artist.as_str(), q.title.as_str(), q.album.as_deref()))
            .collect();
        assert_eq!(
            read,
            [
                ("Corvid Almanac", "Lantern Ferry", Some("Copperplate")),
                ("Corvid Almanac", "belljar", Some("Copperplate")),
                ("Corvid Almanac", "Saltbox", Some("Copperplate")),
                ("Corvid Almanac", "Quillwork", Some("Copperplate")),
                ("Corvid Almanac", "Dovetail", Some("Copperplate")),
                ("The Almanac", "Orrery", Some("Copperplate")),
                // An album whose name has a dash, under its artist's folder.
                (
                    "Corvid Almanac",
                    "Belljar",
                    Some("Lantern Ferry - Live at the Quays")
                ),
                ("Corvid Almanac", "Pumice", None),
                ("Corvid Almanac", "Wintergreen", Some("Copperplate")),
            ]
        );
    }

    #[test]
    fn formats_come_from_extension_or_content() {
        assert_eq!(
            PlaylistFormat::from_path(Path::new("a.M3U8")),
            Some(PlaylistFormat::M3u)
        );
        assert_eq!(PlaylistFormat::from_path(Path::new("a.txt")), None);
        assert_eq!(PlaylistFormat::sniff("  [ ]"), PlaylistFormat::Json);
        assert_eq!(PlaylistFormat::sniff("#EXTM3U\n"), PlaylistFormat::M3u);
        assert_eq!(PlaylistFormat::sniff("title\n"), PlaylistFormat::Csv);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            for format in [PlaylistFormat::Csv, PlaylistFormat::Json, PlaylistFormat::M3u] {
                let _ = parse_playlist(&text, format, "fuzz");
            }
        }
    }
}
