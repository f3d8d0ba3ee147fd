//! Metadata edits as Plex takes them (`PUT /library/sections/{id}/all?id=…`, python-plexapi's
//! `editField`/`editTags`): `{field}.value`, `{field}.locked`, `{tag}[N].tag.tag` (the whole
//! new list) and `{tag}[].tag.tag-` (comma-separated, each value percent-encoded once more), and
//! how edited items render: the values, `<Field locked="1" name="…"/>` for locked fields, the
//! edited tag lists.

use std::collections::BTreeMap;

use axum::http::StatusCode;

use super::Ctx;
use crate::Sim;
use crate::edits::{self, ItemEdits};
use crate::library::{Item, ItemId, ItemKind, PLEX_TAG_ELEMENTS};
use cachearr_serverfmt::tree::{El, V};

/// Fields kept on the item itself (searched and sorted on).
const RECORD_FIELDS: &[&str] = &["title", "originalTitle", "year", "index"];

/// Numeric attributes (rendered as numbers).
const NUMERIC_FIELDS: &[&str] = &[
    "rating",
    "audienceRating",
    "addedAt",
    "year",
    "index",
    "parentIndex",
];

/// Attributes Plex always sends, empty or not.
const ALWAYS_PRESENT: &[&str] = &["summary", "title", "titleSort"];

/// One parsed edit request.
#[derive(Debug, Default)]
struct Batch {
    record: Vec<(String, String)>,
    values: Vec<(&'static str, Option<String>)>,
    user_rating: Option<Option<f32>>,
    locks: Vec<(&'static str, bool)>,
    set_tags: BTreeMap<&'static str, BTreeMap<usize, String>>,
    remove_tags: Vec<(&'static str, Vec<String>)>,
}

fn parse(ctx: &Ctx) -> Result<Batch, StatusCode> {
    let mut b = Batch::default();
    for (k, v) in &ctx.query {
        if let Some(field) = k.strip_suffix(".value") {
            let Some(name) = edits::field_name(field) else {
                continue;
            };
            if name == "userRating" {
                b.user_rating = Some(if v.is_empty() {
                    None
                } else {
                    let r: f32 = v.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
                    if !(0.0..=10.0).contains(&r) {
                        return Err(StatusCode::BAD_REQUEST);
                    }
                    Some(r)
                });
            } else if RECORD_FIELDS.contains(&name) {
                b.record.push((name.to_string(), v.clone()));
            } else {
                if NUMERIC_FIELDS.contains(&name) && !v.is_empty() && v.parse::<f64>().is_err() {
                    return Err(StatusCode::BAD_REQUEST);
                }
                // A date field keeps the day: a photo's captured time comes as
                // `YYYY-MM-DD HH:MM:SS` and is shown as its date.
                let v = if name == "originallyAvailableAt" {
                    v.split([' ', 'T']).next().unwrap_or_default()
                } else {
                    v.as_str()
                };
                b.values
                    .push((name, (!v.is_empty()).then(|| v.to_string())));
            }
        } else if let Some(field) = k.strip_suffix(".locked") {
            let name = edits::field_name(field).or_else(|| edits::tag_names(field).map(|t| t.0));
            if let Some(name) = name {
                b.locks.push((name, matches!(v.as_str(), "1" | "true")));
            }
        } else if let Some(tag) = k.strip_suffix("[].tag.tag-") {
            if let Some((_, el)) = edits::tag_names(tag) {
                let values = v
                    .split(',')
                    .map(|p| {
                        percent_encoding::percent_decode_str(p)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                    .collect();
                b.remove_tags.push((el, values));
            }
        } else if let Some(rest) = k.strip_suffix("].tag.tag")
            && let Some((tag, n)) = rest.split_once('[')
            && let Some((_, el)) = edits::tag_names(tag)
        {
            let n: usize = n.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
            b.set_tags.entry(el).or_default().insert(n, v.clone());
        }
    }
    Ok(b)
}

/// The tags of element `el` an item has before edits.
fn own_tags(item: &Item<'_>, el: &str) -> Vec<String> {
    match el {
        "Genre" => item.genres().into_iter().map(str::to_string).collect(),
        "Label" => item.labels().into_iter().map(str::to_string).collect(),
        _ => item
            .fields()
            .and_then(|f| f.tags.get(el))
            .cloned()
            .unwrap_or_default(),
    }
}

/// The tags of element `el` an item shows (its edits' list, else its own).
pub(crate) fn tags(item: &Item<'_>, el: &str) -> Vec<String> {
    match item.edits().and_then(|e| e.tags.get(el)) {
        Some(list) => list.clone(),
        None => own_tags(item, el),
    }
}

/// Applies the edits of `ctx`'s query to `ids` (already checked to exist in the section).
pub(crate) fn apply(sim: &Sim, ctx: &Ctx, ids: &[ItemId]) -> Result<(), StatusCode> {
    let b = parse(ctx)?;
    for &id in ids {
        if sim.edit_item(id, &b.record).is_err() {
            return Err(StatusCode::BAD_REQUEST);
        }
        if let Some(r) = b.user_rating {
            sim.rate(ctx.user.id, id, r);
        }
        // Tag lists start from what the item shows now.
        let current: BTreeMap<&'static str, Vec<String>> = {
            let lib = sim.library();
            let Some(item) = lib.item(id) else {
                return Err(StatusCode::NOT_FOUND);
            };
            b.set_tags
                .keys()
                .chain(b.remove_tags.iter().map(|(el, _)| el))
                .map(|&el| (el, tags(&item, el)))
                .collect()
        };
        sim.edit_meta(id, |e: &mut ItemEdits| {
            let before = e.clone();
            for (name, v) in &b.values {
                e.attrs.insert(name, v.clone());
            }
            for &(name, on) in &b.locks {
                if on {
                    e.locked.insert(name);
                } else {
                    e.locked.remove(name);
                }
            }
            // Adding is additive on Plex (a batch edit of several items names only the new
            // tags); python-plexapi repeats an item's own tags when it edits one.
            for (el, list) in &b.set_tags {
                let mut new = e
                    .tags
                    .get(el)
                    .cloned()
                    .or_else(|| current.get(el).cloned())
                    .unwrap_or_default();
                for v in list.values() {
                    if !new.contains(v) {
                        new.push(v.clone());
                    }
                }
                e.tags.insert(el, new);
            }
            for (el, gone) in &b.remove_tags {
                let mut list = e
                    .tags
                    .get(el)
                    .cloned()
                    .or_else(|| current.get(el).cloned())
                    .unwrap_or_default();
                list.retain(|t| !gone.contains(t));
                e.tags.insert(el, list);
            }
            *e != before
        })
        .map_err(|_| StatusCode::NOT_FOUND)?;
    }
    Ok(())
}

fn typed(name: &str, v: &str) -> V {
    if NUMERIC_FIELDS.contains(&name) {
        if let Ok(i) = v.parse::<i64>() {
            return V::I(i);
        }
        if let Ok(f) = v.parse::<f64>() {
            return V::F(f);
        }
    }
    V::S(v.to_string())
}

/// Puts an item's edited attribute values on its element.
pub(crate) fn edited_attrs(e: &mut El, item: &Item<'_>) {
    let Some(edits) = item.edits() else {
        return;
    };
    for (&name, v) in &edits.attrs {
        match v {
            Some(v) => e.set(name, typed(name, v)),
            None if ALWAYS_PRESENT.contains(&name) => e.set(name, ""),
            None => e.attrs.retain(|(k, _)| *k != name),
        }
    }
}

/// Tag filter fields (`genre=`, `actor=`…) and the tag element each filters on.
pub(crate) const TAG_FILTERS: &[(&str, &str)] = &[
    ("genre", "Genre"),
    ("collection", "Collection"),
    ("director", "Director"),
    ("writer", "Writer"),
    ("producer", "Producer"),
    ("country", "Country"),
    ("actor", "Role"),
    ("label", "Label"),
    ("mood", "Mood"),
    ("style", "Style"),
    ("similar", "Similar"),
    ("tag", "Tag"),
];

/// The tag filter field of an element (`Role` → `actor`).
pub(crate) fn filter_of(el: &str) -> Option<&'static str> {
    TAG_FILTERS.iter().find(|&&(_, e)| e == el).map(|&(f, _)| f)
}

/// The element a tag filter field filters on (`actor` → `Role`).
pub(crate) fn element_of(filter: &str) -> Option<&'static str> {
    TAG_FILTERS
        .iter()
        .find(|&&(f, _)| f == filter)
        .map(|&(_, e)| e)
}

/// A tag's id: the same for the same element and text everywhere on the server, as Plex's
/// tag ids are.
pub(crate) fn tag_id(el: &str, tag: &str) -> u32 {
    let key = format!("{el}\0{}", cachearr_serverfmt::search::fold(tag));
    (crate::library::fnv1a(key.as_bytes()) % 9_000_000) as u32 + 1_000
}

/// The tag elements of a detailed item (`Genre`, `Director`, `Label`…), edits applied.
pub(crate) fn tag_kids(item: &Item<'_>) -> Vec<El> {
    let mut out = Vec::new();
    let mut els: Vec<&'static str> = vec!["Genre"];
    els.extend(PLEX_TAG_ELEMENTS.iter().copied());
    for &(_, el) in edits::TAG_ELEMENTS {
        if !els.contains(&el) {
            els.push(el);
        }
    }
    for el in els {
        let filter = filter_of(el);
        for v in tags(item, el) {
            let id = tag_id(el, &v);
            let mut t = El::new(el).a("id", id);
            if let Some(f) = filter {
                t = t.a("filter", format!("{f}={id}"));
            }
            out.push(t.a("tag", v));
        }
    }
    out
}

/// The tags a listing shows of an item (Plex sends a few of each, by name only: no id and no
/// filter, so a client must load the details to filter on one).
pub(crate) fn listing_tag_kids(item: &Item<'_>) -> Vec<El> {
    let shown: &[(&str, usize)] = match item.kind() {
        ItemKind::Movie => &[
            ("Genre", 2),
            ("Country", 2),
            ("Director", 1),
            ("Writer", 1),
            ("Role", 3),
        ],
        ItemKind::Show => &[("Genre", 2), ("Country", 2), ("Role", 3)],
        ItemKind::Episode => &[("Director", 1), ("Writer", 1)],
        ItemKind::Artist => &[("Genre", 2), ("Country", 2)],
        ItemKind::Album => &[("Genre", 2)],
        _ => &[],
    };
    let mut out = Vec::new();
    for &(el, n) in shown {
        for t in tags(item, el).into_iter().take(n) {
            out.push(El::new(el).a("tag", t));
        }
    }
    out
}

/// `<Field locked="1" name="…"/>` of each locked field.
pub(crate) fn field_kids(item: &Item<'_>) -> Vec<El> {
    item.edits()
        .map(|e| {
            e.locked
                .iter()
                .map(|&name| El::new("Field").a("locked", true).a("name", name))
                .collect()
        })
        .unwrap_or_default()
}

/// (id, label, type, default, enum values) of an item's advanced settings, per kind, as Plex
/// lists them.
type Pref = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const LANGUAGES: &str = ":Library default|en-US:English (US)|en-GB:English (UK)|de-DE:German|fr-FR:French|es-ES:Spanish";

const MOVIE_PREFS: &[Pref] = &[
    (
        "enableCreditsMarkerGeneration",
        "Enable credits marker generation",
        "int",
        "-1",
        "-1:Library default|0:Disabled",
    ),
    (
        "languageOverride",
        "Metadata language",
        "text",
        "",
        LANGUAGES,
    ),
    (
        "useOriginalTitle",
        "Use original titles",
        "int",
        "-1",
        "-1:Library default|0:No|1:Yes",
    ),
];

const SHOW_PREFS: &[Pref] = &[
    (
        "episodeSort",
        "Episode sorting",
        "int",
        "-1",
        "-1:Library default|0:Oldest first|1:Newest first",
    ),
    (
        "autoDeletionItemPolicyUnwatchedLibrary",
        "Keep",
        "int",
        "0",
        "0:All episodes|5:5 latest episodes|3:3 latest episodes|1:Latest episode|-3:Episodes added in the past 3 days|-7:Episodes added in the past 7 days|-30:Episodes added in the past 30 days",
    ),
    (
        "autoDeletionItemPolicyWatchedLibrary",
        "Delete episodes after playing",
        "int",
        "0",
        "0:Never|1:After a day|7:After a week|30:After a month|100:On next refresh",
    ),
    (
        "flattenSeasons",
        "Seasons",
        "int",
        "-1",
        "-1:Library default|0:Show|1:Hide",
    ),
    (
        "showOrdering",
        "Episode ordering",
        "text",
        "",
        ":Library default|tmdbAiring:The Movie Database (Aired)|aired:TheTVDB (Aired)|dvd:TheTVDB (DVD)|absolute:TheTVDB (Absolute)",
    ),
    (
        "languageOverride",
        "Metadata language",
        "text",
        "",
        LANGUAGES,
    ),
    (
        "useOriginalTitle",
        "Use original titles",
        "int",
        "-1",
        "-1:Library default|0:No|1:Yes",
    ),
];

const ARTIST_PREFS: &[Pref] = &[(
    "albumSort",
    "Album sorting",
    "int",
    "-1",
    "-1:Library default|0:Oldest first|1:Newest first|2:By name",
)];

/// The advanced settings items of `kind` have.
pub(crate) fn prefs_of(kind: ItemKind) -> &'static [Pref] {
    match kind {
        ItemKind::Movie => MOVIE_PREFS,
        ItemKind::Show => SHOW_PREFS,
        ItemKind::Artist => ARTIST_PREFS,
        _ => &[],
    }
}

/// `<Preferences>` of an item (`?includePreferences=1`).
pub(crate) fn preferences_el(item: &Item<'_>) -> El {
    let mut el = El::new("Preferences");
    for &(id, label, ty, default, values) in prefs_of(item.kind()) {
        let value = item
            .edits()
            .and_then(|e| e.prefs.get(id))
            .map_or(default, String::as_str);
        el = el.kid(
            El::new("Setting")
                .a("id", id)
                .a("label", label)
                .a("summary", "")
                .a("type", ty)
                .a("default", default)
                .a("value", value)
                .a("hidden", false)
                .a("advanced", false)
                .a("group", "")
                .a("enumValues", values),
        );
    }
    el
}

/// `PUT /library/metadata/{id}/prefs?{setting}={value}`: changes advanced settings; 400 for
/// a setting the item does not have or a value not among its choices.
pub(crate) async fn edit_prefs(
    axum::extract::State(sim): axum::extract::State<Sim>,
    ctx: Ctx,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> axum::response::Response {
    use super::{plex_error, reply};
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let Some((id, kind)) = id.parse::<ItemId>().ok().and_then(|id| {
        sim.library()
            .item(id)
            .filter(|i| ctx.user.plex_sees(i))
            .map(|i| (id, i.kind()))
    }) else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    let mut changes: Vec<(&'static str, String)> = Vec::new();
    for (k, v) in &ctx.query {
        if k.starts_with("X-Plex-") {
            continue;
        }
        let Some(&(name, _, _, _, values)) = prefs_of(kind).iter().find(|p| p.0 == k) else {
            return plex_error(StatusCode::BAD_REQUEST);
        };
        if !values
            .split('|')
            .any(|choice| choice.split(':').next() == Some(v.as_str()))
        {
            return plex_error(StatusCode::BAD_REQUEST);
        }
        changes.push((name, v.clone()));
    }
    let result = sim.edit_meta(id, |e| {
        let before = e.prefs.clone();
        for (name, v) in &changes {
            let default = prefs_of(kind).iter().find(|p| p.0 == *name).map(|p| p.3);
            if default == Some(v.as_str()) {
                e.prefs.remove(name);
            } else {
                e.prefs.insert(name, v.clone());
            }
        }
        e.prefs != before
    });
    if result.is_err() {
        return plex_error(StatusCode::NOT_FOUND);
    }
    sim.charge(0, 0).await;
    reply(ctx.json, &El::container().a("size", 0u32))
}

/// A text attribute given for an item in a described library (`slug`…).
fn given_text(item: &Item<'_>, name: &str) -> Option<String> {
    item.fields()
        .and_then(|f| f.attrs.get(name))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// Attributes only details carry: the advanced settings as attributes (`episodeSort`,
/// `flattenSeasons`, `albumSort`…), the language settings of shows and seasons, theme music
/// of shows, and what seasons and episodes repeat of their show.
pub(crate) fn detail_attrs(e: &mut El, item: &Item<'_>, lib: &crate::library::Library) {
    let kind = item.kind();
    for &(id, _, ty, default, _) in prefs_of(kind) {
        let value = item
            .edits()
            .and_then(|ed| ed.prefs.get(id))
            .map_or(default, String::as_str);
        if ty == "int" {
            if let Ok(n) = value.parse::<i64>() {
                e.set(id, n);
            }
        } else if !value.is_empty() {
            e.set(id, value);
        }
    }
    let theme = |show: &Item<'_>| {
        format!(
            "/library/metadata/{}/theme/{}",
            show.id(),
            show.updated_at()
        )
    };
    let show_of = |i: &Item<'_>| -> Option<crate::library::ItemId> {
        match i.kind() {
            ItemKind::Season => i.parent().map(|p| p.id()),
            ItemKind::Episode => i.parent().and_then(|p| p.parent()).map(|p| p.id()),
            _ => None,
        }
    };
    match kind {
        ItemKind::Show => {
            e.set("audioLanguage", "");
            e.set("subtitleLanguage", "");
            e.set("subtitleMode", -1i64);
            e.set("enableCreditsMarkerGeneration", -1i64);
            e.set("theme", theme(item));
            // A show's duration is that of its episodes.
            if let Some(first) = lib.leaves(item.id()).first().and_then(|&l| lib.item(l)) {
                e.set("duration", first.duration_ms());
            }
        }
        ItemKind::Season | ItemKind::Episode => {
            let Some(show) = show_of(item).and_then(|s| lib.item(s)) else {
                return;
            };
            let flattened = show
                .edits()
                .and_then(|ed| ed.prefs.get("flattenSeasons"))
                .is_some_and(|v| v == "1");
            e.set("skipParent", flattened);
            if kind == ItemKind::Season {
                e.set("audioLanguage", "");
                e.set("subtitleLanguage", "");
                e.set("subtitleMode", -1i64);
                e.set("parentIndex", show.index().max(1));
                e.set("parentTheme", theme(&show));
                if let Some(slug) = given_text(&show, "slug") {
                    e.set("parentSlug", slug);
                }
                if let Some(studio) = show.studio() {
                    e.set("parentStudio", studio);
                }
            } else {
                e.set("grandparentTheme", theme(&show));
                if let Some(slug) = given_text(&show, "slug") {
                    e.set("grandparentSlug", slug);
                }
            }
        }
        _ => {}
    }
}
