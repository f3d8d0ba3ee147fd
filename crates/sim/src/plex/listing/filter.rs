//! The filters and sorts of a listing: `field=value`, `field>>=value`, `field!=value` and the
//! other operators on text, numeric and date fields (of the item or, with a prefix, of its
//! parent), and `sort=field:desc` with Plex's tie-breaks.

use super::*;

/// Parameters that are not filters (client identity, includes, paging…).
pub(super) fn is_control_param(k: &str) -> bool {
    k.starts_with("X-Plex-")
        || k.starts_with("include")
        || k.starts_with("exclude")
        || matches!(
            k,
            "type"
                | "sort"
                | "limit"
                | "checkFiles"
                | "asyncCheckFiles"
                | "skipRefresh"
                | "query"
                | "sectionId"
                | "contentDirectoryID"
                | "pinnedContentDirectoryID"
                | "group"
                | "asyncAugmentMetadata"
                | "asyncRefreshLocalMediaAgent"
                | "asyncRefreshAnalysis"
                | "augmentCount"
                | "ratingKey"
                | "key"
                | "uri"
                | "title2"
                | "clusterZoomLevel"
        )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// Strings: contains; numbers: equal.
    Plain,
    /// Strings: is; numbers: equal.
    Is,
    /// Strings: does not contain; numbers: not equal.
    Not,
    /// Strings: is not.
    IsNot,
    /// Strings: begins with; numbers: at most.
    Le,
    /// Strings: ends with; numbers: at least.
    Ge,
    /// Greater than / after.
    Gt,
    /// Less than / before.
    Lt,
}

/// Splits Plex's filter syntax. The operator is the end of the (decoded) key, as
/// python-plexapi sends it (`track.title=` is "is", `year>>` is "greater than"), or, as
/// typed by hand, the start of the value (`title==x` arrives as key `title`, value `=x`).
pub(super) fn parse_filter(key: &str, value: &str) -> (String, Op, String) {
    for (suffix, op) in [
        (">>", Op::Gt),
        ("<<", Op::Lt),
        ("!=", Op::IsNot),
        ("!", Op::Not),
        ("=", Op::Is),
        ("<", Op::Le),
        (">", Op::Ge),
    ] {
        if let Some(f) = key.strip_suffix(suffix) {
            return (f.to_string(), op, value.to_string());
        }
    }
    if let Some(v) = value.strip_prefix('=') {
        return (key.to_string(), Op::Is, v.to_string());
    }
    (key.to_string(), Op::Plain, value.to_string())
}

pub(super) struct Filter {
    pub(super) prefix: Option<ItemKind>,
    pub(super) field: String,
    pub(super) op: Op,
    pub(super) value: String,
    pub(super) folded: String,
    pub(super) number: Option<i64>,
}

/// The item a prefixed field talks about: `album.title` of a track is its album's title;
/// `track.title` of a track its own.
pub(super) fn subject<'a>(item: &Item<'a>, prefix: Option<ItemKind>) -> Option<Item<'a>> {
    let Some(kind) = prefix else {
        return Some(*item);
    };
    let mut cur = Some(*item);
    while let Some(i) = cur {
        if i.kind() == kind {
            return Some(i);
        }
        cur = i.parent();
    }
    None
}

pub(super) fn split_field(raw: &str) -> (Option<ItemKind>, &str) {
    match raw.split_once('.') {
        Some((p, f)) => match ItemKind::from_plex_name(p) {
            Some(k) => (Some(k), f),
            None => (None, raw),
        },
        None => (None, raw),
    }
}

pub(super) const TEXT_FIELDS: &[&str] = &["title", "originalTitle"];
pub(super) const NUMERIC_FIELDS: &[&str] = &[
    "year",
    "addedAt",
    "updatedAt",
    "duration",
    "index",
    "viewCount",
    "lastViewedAt",
    "userRating",
    "id",
    "ratingKey",
];

pub(super) fn numeric_field(
    item: &Item<'_>,
    state: &UserState,
    user: u32,
    field: &str,
) -> Option<i64> {
    Some(match field {
        "year" => i64::from(item.year()),
        "addedAt" => i64::from(item.added_at()),
        "updatedAt" => i64::from(item.updated_at()),
        "duration" => i64::from(item.duration_ms()),
        "index" => i64::from(item.index()),
        "viewCount" => i64::from(state.play_state(user, item.id()).view_count),
        "lastViewedAt" => i64::from(state.play_state(user, item.id()).last_viewed_at),
        // An item never rated has no rating to compare (a filter on one leaves it out); a
        // half rating compares by its whole part.
        "userRating" => state.play_state(user, item.id()).rating? as i64,
        "id" | "ratingKey" => i64::from(item.id()),
        _ => return None,
    })
}

pub(super) fn matches(
    f: &Filter,
    item: &Item<'_>,
    state: &UserState,
    user: u32,
    buf: &mut String,
) -> bool {
    let Some(target) = subject(item, f.prefix) else {
        return false;
    };
    if f.field == "unwatched" {
        let unwatched = if target.kind().is_playable() {
            state.play_state(user, target.id()).view_count == 0
        } else {
            target.children().is_empty() || lib_leaves_unwatched(&target, state, user)
        };
        let want = matches!(f.value.as_str(), "1" | "true");
        return (unwatched == want) != matches!(f.op, Op::Not | Op::IsNot);
    }
    if f.field == "guid" {
        let hit = f
            .value
            .split(',')
            .any(|want| target.plex_guid() == want || target.guids().iter().any(|g| g == want));
        return hit != matches!(f.op, Op::Not | Op::IsNot);
    }
    if let Some(el) = super::super::editing::element_of(&f.field) {
        let have = super::super::editing::tags(&target, el);
        let hit = f.value.split(',').any(|want| {
            let want_folded = cachearr_serverfmt::search::fold(want);
            have.iter().any(|t| {
                super::super::editing::tag_id(el, t).to_string() == want
                    || cachearr_serverfmt::search::fold(t) == want_folded
            })
        });
        return hit != matches!(f.op, Op::Not | Op::IsNot);
    }
    if TEXT_FIELDS.contains(&f.field.as_str()) {
        let text = match f.field.as_str() {
            "title" => target.title(),
            _ => target.original_title().unwrap_or(""),
        };
        fold_into(text, buf);
        let any = |pred: &dyn Fn(&str) -> bool| f.folded.split(',').any(pred);
        return match f.op {
            Op::Plain => any(&|alt| buf.contains(alt)),
            Op::Is => any(&|alt| *buf == alt),
            Op::Not => !any(&|alt| buf.contains(alt)),
            Op::IsNot => !any(&|alt| *buf == alt),
            Op::Le => any(&|alt| buf.starts_with(alt)),
            Op::Ge => any(&|alt| buf.ends_with(alt)),
            Op::Gt => buf.as_str() > f.folded.as_str(),
            Op::Lt => buf.as_str() < f.folded.as_str(),
        };
    }
    let (Some(have), Some(want)) = (numeric_field(&target, state, user, &f.field), f.number) else {
        return false;
    };
    match f.op {
        Op::Plain | Op::Is => have == want,
        Op::Not | Op::IsNot => have != want,
        Op::Gt => have > want,
        Op::Lt => have < want,
        Op::Ge => have >= want,
        Op::Le => have <= want,
    }
}

pub(super) fn lib_leaves_unwatched(item: &Item<'_>, state: &UserState, user: u32) -> bool {
    // A container is unplayed while any direct child is unplayed (cheap approximation).
    item.children()
        .iter()
        .any(|&c| state.play_state(user, c).view_count == 0)
}

/// A number, or a relative date (`-30d`, `-2w`, `-6mon`, `-1y`, `-12h`, `-5m`, `-30s`) as epoch
/// seconds.
pub(super) fn parse_number(value: &str, now: u32) -> Option<i64> {
    if let Ok(n) = value.parse::<i64>() {
        return Some(n);
    }
    if let Ok(f) = value.parse::<f64>() {
        return Some(f as i64);
    }
    let rel = value.strip_prefix('-')?;
    let split = rel.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = rel.split_at(split);
    let n: i64 = n.parse().ok()?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "mon" => 30 * 86_400,
        "y" => 365 * 86_400,
        _ => return None,
    };
    Some(i64::from(now) - n * secs)
}

/// Builds the filters of a listing request, or the 400 Plex's QueryParser gives.
pub(super) fn filters(ctx: &Ctx, music: bool, now: u32) -> Result<Vec<Filter>, StatusCode> {
    let mut out = Vec::new();
    for (k, v) in &ctx.query {
        if is_control_param(k) {
            continue;
        }
        let (raw_field, op, value) = parse_filter(k, v);
        // The QueryParser rejects these outright (research: Cmdarr changelog).
        if matches!(raw_field.as_str(), "grandparentTitle" | "parentTitle") {
            return Err(StatusCode::BAD_REQUEST);
        }
        let (prefix, field) = split_field(&raw_field);
        // For music, an addedAt range is silently ignored: the whole library comes back.
        if music && field == "addedAt" && matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le) {
            continue;
        }
        let text = TEXT_FIELDS.contains(&field);
        let numeric = NUMERIC_FIELDS.contains(&field);
        let tag = super::super::editing::element_of(field).is_some() || field == "guid";
        if !text && !numeric && !tag && field != "unwatched" {
            // Unknown fields are ignored, as Plex ignores parameters it does not know.
            continue;
        }
        let number = if numeric {
            // Comma lists mean "any of"; numbers take the first.
            let first = value.split(',').next().unwrap_or("");
            Some(parse_number(first, now).ok_or(StatusCode::BAD_REQUEST)?)
        } else {
            None
        };
        let mut folded = String::new();
        fold_into(&value, &mut folded);
        out.push(Filter {
            prefix,
            field: field.to_string(),
            op,
            value,
            folded,
            number,
        });
    }
    Ok(out)
}

/// The keys of a Plex `sort=` value: each field's type prefix, name and whether it sorts
/// descending; 400 for an unknown field.
fn sort_keys(sort: &str) -> Result<Vec<(Option<ItemKind>, String, bool)>, StatusCode> {
    let mut keys: Vec<(Option<ItemKind>, String, bool)> = Vec::new();
    for part in sort.split(',').filter(|p| !p.is_empty()) {
        let (field, desc) = match part.split_once(':') {
            Some((f, dir)) => (f, dir.eq_ignore_ascii_case("desc")),
            None => (part, false),
        };
        let (prefix, name) = split_field(field);
        let known = matches!(
            name,
            "titleSort"
                | "title"
                | "addedAt"
                | "updatedAt"
                | "year"
                | "duration"
                | "index"
                | "originallyAvailableAt"
                | "lastViewedAt"
                | "viewCount"
                | "userRating"
                | "id"
                | "ratingKey"
                | "random"
                | "guid"
                | "summary"
                | "tagline"
                | "absoluteIndex"
                | "originalTitle"
        );
        if !known {
            return Err(StatusCode::BAD_REQUEST);
        }
        keys.push((prefix, name.to_string(), desc));
    }
    Ok(keys)
}

/// Sorts `ids` by a Plex `sort=` value (`[type.]field[:asc|:desc|:nullsLast]`,
/// comma-separated); 400 for an unknown field.
pub(super) fn sort_ids(
    lib: &Library,
    state: &UserState,
    user: u32,
    ids: &mut [ItemId],
    sort: &str,
) -> Result<(), StatusCode> {
    let keys = sort_keys(sort)?;
    enum K {
        T(String),
        N(i64),
    }
    let key_of = |item: &Item<'_>, prefix: Option<ItemKind>, name: &str| -> K {
        let Some(i) = subject(item, prefix) else {
            return K::N(i64::MIN);
        };
        match name {
            "titleSort" => K::T(cachearr_serverfmt::search::fold(i.title_sort())),
            "summary" => K::T(i.summary().to_string()),
            "tagline" => K::T(
                i.fields()
                    .and_then(|f| f.attrs.get("tagline"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string(),
            ),
            "title" => K::T(cachearr_serverfmt::search::fold(i.title())),
            "originalTitle" => K::T(cachearr_serverfmt::search::fold(
                i.original_title().unwrap_or(""),
            )),
            "originallyAvailableAt" => K::N(i64::from(i.year())),
            "userRating" => K::N(
                state
                    .play_state(user, i.id())
                    .rating
                    .map(|r| (r * 10.0) as i64)
                    .unwrap_or(-1),
            ),
            "random" => K::N(crate::rng::mix(u64::from(i.id())) as i64),
            "guid" => K::T(i.plex_guid()),
            "absoluteIndex" | "index" => K::N(i64::from(i.disc()) * 100_000 + i64::from(i.index())),
            f => K::N(numeric_field(&i, state, user, f).unwrap_or(0)),
        }
    };
    // Keys are computed once per item: sorting a million items must not refold titles
    // n·log n times.
    let mut decorated: Vec<(Vec<K>, ItemId)> = ids
        .iter()
        .map(|&id| {
            let ks = match lib.item(id) {
                Some(i) => keys.iter().map(|(p, n, _)| key_of(&i, *p, n)).collect(),
                None => Vec::new(),
            };
            (ks, id)
        })
        .collect();
    decorated.sort_by(|a, b| {
        for (n, (_, _, desc)) in keys.iter().enumerate() {
            let o = match (a.0.get(n), b.0.get(n)) {
                (Some(K::T(x)), Some(K::T(y))) => x.cmp(y),
                (Some(K::N(x)), Some(K::N(y))) => x.cmp(y),
                _ => Ordering::Equal,
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.1.cmp(&b.1)
    });
    for (slot, (_, id)) in ids.iter_mut().zip(decorated) {
        *slot = id;
    }
    Ok(())
}
