//! Jellyfin's dates: .NET writes a UTC `DateTime` as `2024-05-01T12:00:00.0000000Z`, and
//! clients send `MinDateLastSaved` and the like in ISO 8601. Proleptic Gregorian calendar,
//! Howard Hinnant's day algorithms, no time zone database (everything is UTC). And the
//! server's `ImageType` and `ItemFields` names.

/// Every `ItemFields` name, in the server's enum order (`MediaBrowser.Model.Querying.ItemFields`):
/// a `Fields=` name outside these is skipped by its binder.
pub const ITEM_FIELDS: &[&str] = &[
    "AirTime",
    "CanDelete",
    "CanDownload",
    "ChannelInfo",
    "Chapters",
    "Trickplay",
    "ChildCount",
    "CumulativeRunTimeTicks",
    "CustomRating",
    "DateCreated",
    "DateLastMediaAdded",
    "DisplayPreferencesId",
    "Etag",
    "ExternalUrls",
    "Genres",
    "ItemCounts",
    "MediaSourceCount",
    "MediaSources",
    "OriginalTitle",
    "Overview",
    "ParentId",
    "Path",
    "People",
    "PlayAccess",
    "ProductionLocations",
    "ProviderIds",
    "PrimaryImageAspectRatio",
    "RecursiveItemCount",
    "Settings",
    "SeriesStudio",
    "SortName",
    "SpecialEpisodeNumbers",
    "Studios",
    "Taglines",
    "Tags",
    "RemoteTrailers",
    "MediaStreams",
    "SeasonUserData",
    "DateLastRefreshed",
    "DateLastSaved",
    "RefreshState",
    "ChannelImage",
    "EnableMediaSourceDisplay",
    "Width",
    "Height",
    "ExtraIds",
    "LocalTrailerCount",
    "IsHD",
    "SpecialFeatureCount",
];

/// Every `ImageType`, in the server's enum order (`MediaBrowser.Model.Entities.ImageType`).
pub const IMAGE_TYPES: [&str; 13] = [
    "Primary",
    "Art",
    "Backdrop",
    "Banner",
    "Logo",
    "Thumb",
    "Disc",
    "Box",
    "Screenshot",
    "Menu",
    "Chapter",
    "BoxRear",
    "Profile",
];

/// Unix seconds as .NET writes a UTC `DateTime`: `2024-05-01T12:00:00.0000000Z`.
pub fn iso8601(unix_seconds: i64) -> String {
    format!("{}.0000000Z", utc_date_time(unix_seconds))
}

/// Unix seconds as `2024-05-01T12:00:00`: UTC, without fraction or zone.
pub fn utc_date_time(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs_of_day = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        secs_of_day / 3600,
        (secs_of_day / 60) % 60,
        secs_of_day % 60
    )
}

/// Parses `2024-01-02T03:04:05[.fraction][Z|+00:00]` or `2024-01-02` (surrounding spaces
/// allowed) into Unix seconds; `None` for anything else, an impossible month, day, hour or
/// minute included. What follows the seconds is not read: the servers write UTC.
pub fn parse_iso8601(text: &str) -> Option<i64> {
    let text = text.trim();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = if text.len() == 10 {
        (0, 0, 0)
    } else {
        (num(11..13)?, num(14..16)?, num(17..19)?)
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_like_dotnet() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(iso8601(1_714_564_800), "2024-05-01T12:00:00.0000000Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00.0000000Z");
        assert_eq!(utc_date_time(-1), "1969-12-31T23:59:59");
    }

    #[test]
    fn dates_parse_back() {
        for t in [
            0,
            951_782_400,
            1_714_564_800,
            1_714_564_801 + 86_399,
            -86_400,
        ] {
            assert_eq!(parse_iso8601(&iso8601(t)), Some(t));
            assert_eq!(parse_iso8601(&utc_date_time(t)), Some(t));
        }
        assert_eq!(parse_iso8601("2024-05-01"), Some(1_714_521_600));
        assert_eq!(parse_iso8601(" 2024-05-01T12:00:00Z "), Some(1_714_564_800));
        assert_eq!(
            parse_iso8601("2024-05-01T12:00:00+00:00"),
            Some(1_714_564_800)
        );
        for bad in [
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-13-01",
            "2024-05-01T12",
            "",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
