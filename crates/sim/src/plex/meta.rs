//! The `<Meta>` block of `…/all?includeMeta=1`: which types, filter fields, sorts and operators
//! a section supports. python-plexapi validates every search against it, so what is listed
//! here is exactly what the filter parser in `browse` understands.

use crate::library::{ItemKind, Section};
use cachearr_serverfmt::tree::El;

/// (field key without the type prefix, title, field type) per type, own fields first (plexapi
/// takes the first field whose last segment matches).
fn fields(kind: ItemKind) -> Vec<(String, &'static str, &'static str)> {
    let own = kind.search_name();
    let mut out: Vec<(String, &'static str, &'static str)> = vec![
        (format!("{own}.title"), "Title", "string"),
        (format!("{own}.originalTitle"), "Original Title", "string"),
        (format!("{own}.year"), "Year", "integer"),
        (format!("{own}.addedAt"), "Date Added", "date"),
        (format!("{own}.viewCount"), "Plays", "integer"),
        (format!("{own}.lastViewedAt"), "Last Played", "date"),
        (format!("{own}.userRating"), "Rating", "integer"),
        (format!("{own}.unwatched"), "Unplayed", "boolean"),
    ];
    let parents: &[&str] = match kind {
        ItemKind::Track => &["album", "artist"],
        ItemKind::Album => &["artist"],
        ItemKind::Episode => &["season", "show"],
        ItemKind::Season => &["show"],
        _ => &[],
    };
    for p in parents {
        out.push((format!("{p}.title"), "Parent Title", "string"));
        out.push((format!("{p}.year"), "Parent Year", "integer"));
    }
    for &(filter, title) in tag_filters(kind) {
        out.push((format!("{own}.{filter}"), title, "tag"));
    }
    if kind == ItemKind::Movie {
        // Movies use unprefixed keys on the real server.
        for f in &mut out {
            if let Some(rest) = f.0.strip_prefix("movie.") {
                f.0 = rest.to_string();
            }
        }
    }
    out
}

/// (filter, title) of the tag filters items of `kind` have.
fn tag_filters(kind: ItemKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        ItemKind::Movie => &[
            ("genre", "Genre"),
            ("collection", "Collection"),
            ("director", "Director"),
            ("writer", "Writer"),
            ("producer", "Producer"),
            ("country", "Country"),
            ("actor", "Actor"),
            ("label", "Label"),
        ],
        ItemKind::Show => &[
            ("genre", "Genre"),
            ("collection", "Collection"),
            ("actor", "Actor"),
            ("label", "Label"),
        ],
        ItemKind::Season => &[("collection", "Collection"), ("label", "Label")],
        ItemKind::Episode => &[
            ("director", "Director"),
            ("writer", "Writer"),
            ("collection", "Collection"),
            ("label", "Label"),
        ],
        ItemKind::Artist => &[
            ("genre", "Genre"),
            ("collection", "Collection"),
            ("country", "Country"),
            ("mood", "Mood"),
            ("style", "Style"),
            ("label", "Label"),
        ],
        ItemKind::Album => &[
            ("genre", "Genre"),
            ("collection", "Collection"),
            ("mood", "Mood"),
            ("style", "Style"),
            ("label", "Label"),
        ],
        ItemKind::Track => &[
            ("mood", "Mood"),
            ("collection", "Collection"),
            ("label", "Label"),
        ],
        ItemKind::PhotoAlbum => &[],
        ItemKind::Photo => &[("tag", "Tag")],
    }
}

fn sorts(kind: ItemKind) -> Vec<(String, &'static str, &'static str)> {
    let mut out: Vec<(String, &'static str, &'static str)> = vec![
        ("titleSort".into(), "Title", "asc"),
        ("addedAt".into(), "Date Added", "desc"),
        ("year".into(), "Year", "desc"),
        ("originallyAvailableAt".into(), "Release Date", "desc"),
        ("lastViewedAt".into(), "Last Played", "desc"),
        ("viewCount".into(), "Plays", "desc"),
        ("userRating".into(), "Rating", "desc"),
        ("duration".into(), "Duration", "desc"),
        ("random".into(), "Randomly", "asc"),
    ];
    match kind {
        ItemKind::Track => {
            out.push(("artist.titleSort".into(), "Artist", "asc"));
            out.push(("album.titleSort".into(), "Album", "asc"));
        }
        ItemKind::Album => out.push(("artist.titleSort".into(), "Artist", "asc")),
        _ => {}
    }
    out
}

fn type_title(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Movie => "Movies",
        ItemKind::Show => "TV Shows",
        ItemKind::Season => "Seasons",
        ItemKind::Episode => "Episodes",
        ItemKind::Artist => "Artists",
        ItemKind::Album => "Albums",
        ItemKind::Track => "Tracks",
        ItemKind::PhotoAlbum => "Photo Albums",
        ItemKind::Photo => "Photos",
    }
}

/// The `<Meta>` element for a section listing.
pub(crate) fn meta(s: &Section, active: ItemKind) -> El {
    let mut meta = El::new("Meta");
    for &kind in s.kind.kinds() {
        let mut t = El::new("Type")
            .a(
                "key",
                format!("/library/sections/{}/all?type={}", s.id, kind.plex_type()),
            )
            .a("type", kind.search_name())
            .a("title", type_title(kind))
            .a("active", kind == active);
        t = t.kid(
            El::new("Filter")
                .a("filter", "unwatched")
                .a("filterType", "boolean")
                .a("key", format!("/library/sections/{}/unwatched", s.id))
                .a("title", "Unplayed")
                .a("type", "filter"),
        );
        for &(filter, title) in tag_filters(kind) {
            t = t.kid(
                El::new("Filter")
                    .a("filter", filter)
                    .a("filterType", "string")
                    .a(
                        "key",
                        format!(
                            "/library/sections/{}/{filter}?type={}",
                            s.id,
                            kind.plex_type()
                        ),
                    )
                    .a("title", title)
                    .a("type", "filter"),
            );
        }
        for (key, title, dir) in sorts(kind) {
            t = t.kid(
                El::new("Sort")
                    .a("defaultDirection", dir)
                    .a("descKey", format!("{key}:desc"))
                    .a("key", key)
                    .a("title", title),
            );
        }
        for (key, title, ty) in fields(kind) {
            t = t.kid(
                El::new("Field")
                    .a("key", key)
                    .a("title", title)
                    .a("type", ty),
            );
        }
        meta = meta.kid(t);
    }
    let ops: [(&str, &[(&str, &str)]); 5] = [
        (
            "string",
            &[
                ("=", "contains"),
                ("!=", "does not contain"),
                ("==", "is"),
                ("!==", "is not"),
                ("<=", "begins with"),
                (">=", "ends with"),
            ],
        ),
        (
            "integer",
            &[
                ("=", "is"),
                ("!=", "is not"),
                (">>=", "is greater than"),
                ("<<=", "is less than"),
            ],
        ),
        (
            "date",
            &[
                ("=", "is"),
                ("!=", "is not"),
                (">>=", "is after"),
                ("<<=", "is before"),
            ],
        ),
        ("boolean", &[("=", "is true"), ("!=", "is false")]),
        ("tag", &[("=", "is"), ("!=", "is not")]),
    ];
    for (ty, list) in ops {
        let mut ft = El::new("FieldType").a("type", ty);
        for (key, title) in list {
            ft = ft.kid(El::new("Operator").a("key", *key).a("title", *title));
        }
        meta = meta.kid(ft);
    }
    meta
}
