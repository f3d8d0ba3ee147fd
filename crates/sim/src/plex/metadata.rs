//! Rendering library items as Plex metadata elements (`Track`, `Video`, `Directory`), with the
//! requesting user's play state, the way python-plexapi and Tautulli read them.

use crate::library::{
    Item, ItemKind, Library, MediaFields, PLEX_EXTRA_ATTRS, PLEX_STREAM_ATTRS, SectionKind,
    allowed_attr,
};
use crate::state::{PlayState, State};
use cachearr_serverfmt::tree::{El, V};

/// What to include beyond the listing defaults.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RenderOpts {
    /// `includeGuids=1`: `Guid` children (mbid://, imdb://, tmdb://, tvdb://).
    pub(crate) guids: bool,
    /// Single-item detail (`/library/metadata/{id}`): genres, locations, external guids.
    pub(crate) detailed: bool,
}

pub(crate) fn thumb(item: &Item<'_>) -> String {
    format!(
        "/library/metadata/{}/thumb/{}",
        item.id(),
        item.updated_at()
    )
}

fn art(item: &Item<'_>) -> String {
    format!("/library/metadata/{}/art/{}", item.id(), item.updated_at())
}

fn key(item: &Item<'_>) -> String {
    if item.kind().is_playable() {
        format!("/library/metadata/{}", item.id())
    } else {
        format!("/library/metadata/{}/children", item.id())
    }
}

fn section_attrs(mut e: El, item: &Item<'_>) -> El {
    let s = item.section();
    e = e
        .a("librarySectionTitle", s.title.as_str())
        .a("librarySectionID", s.id)
        .a("librarySectionKey", format!("/library/sections/{}", s.id));
    e
}

fn user_attrs(mut e: El, p: PlayState) -> El {
    if p.view_count > 0 {
        e = e.a("viewCount", p.view_count);
    }
    if p.view_offset_ms > 0 {
        e = e.a("viewOffset", p.view_offset_ms);
    }
    if p.last_viewed_at > 0 {
        e = e.a("lastViewedAt", p.last_viewed_at);
    }
    if let Some(r) = p.rating {
        e = e.a("userRating", r);
    }
    if p.last_rated_at > 0 {
        e = e.a("lastRatedAt", p.last_rated_at);
    }
    if p.skip_count > 0 {
        e = e.a("skipCount", p.skip_count);
    }
    e
}

fn leaf_counts(mut e: El, item: &Item<'_>, lib: &Library, state: &State, user: u32) -> El {
    let leaves = lib.leaves(item.id());
    let viewed = leaves
        .iter()
        .filter(|&&l| state.play_state(user, l).view_count > 0)
        .count();
    e = e.a("leafCount", leaves.len()).a("viewedLeafCount", viewed);
    if matches!(item.kind(), ItemKind::Show | ItemKind::Artist) {
        e = e.a("childCount", item.children().len());
    }
    e
}

/// A JSON value of a library file as a Plex attribute value.
fn json_v(v: &serde_json::Value) -> Option<V> {
    Some(match v {
        serde_json::Value::Bool(b) => V::B(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => V::I(i),
            None => V::F(n.as_f64()?),
        },
        serde_json::Value::String(s) => V::S(s.clone()),
        _ => return None,
    })
}

fn given_attrs(
    mut e: El,
    list: &'static [&'static str],
    attrs: &std::collections::BTreeMap<String, serde_json::Value>,
) -> El {
    for (k, v) in attrs {
        if let (Some(k), Some(v)) = (allowed_attr(list, k), json_v(v)) {
            e.set(k, v);
        }
    }
    e
}

/// `Media` of an item given its media details (a described library).
fn given_media(item: &Item<'_>, m: &MediaFields) -> El {
    let ext = item.container().unwrap_or("mp3");
    let part_id = item.part_id().unwrap_or(item.id());
    let mut part = El::new("Part")
        .a("id", part_id)
        .a(
            "key",
            format!("/library/parts/{part_id}/{}/file.{ext}", item.updated_at()),
        )
        .a("duration", item.duration_ms())
        .a("file", item.file_path())
        .a("size", item.file_size())
        .a("container", ext);
    if let Some(p) = &m.audio_profile {
        part = part.a("audioProfile", p.as_str());
    }
    if let Some(p) = &m.video_profile {
        part = part.a("videoProfile", p.as_str());
    }
    if m.video_codec.is_some() {
        part = part
            .a("has64bitOffsets", false)
            .a("optimizedForStreaming", true);
    }
    for (n, st) in m.streams.iter().enumerate() {
        let mut s = El::new("Stream").a("id", u64::from(part_id) * 16 + n as u64 + 1);
        s = given_attrs(s, PLEX_STREAM_ATTRS, st);
        s.set("streamIdentifier", n + 1);
        part = part.kid(s);
    }
    let mut media = El::new("Media")
        .a("id", item.id())
        .a("duration", item.duration_ms())
        .a("bitrate", item.bitrate_kbps());
    if let Some(w) = m.width {
        media = media.a("width", w);
    }
    if let Some(h) = m.height {
        media = media.a("height", h);
    }
    if let Some(a) = m.aspect_ratio {
        // Stored as f32: render the decimal it was given, not its binary neighbour.
        media = media.a(
            "aspectRatio",
            V::F((f64::from(a) * 1000.0).round() / 1000.0),
        );
    }
    if let Some(c) = m.audio_channels {
        media = media.a("audioChannels", c);
    }
    media = media
        .opt("audioCodec", m.audio_codec.as_deref())
        .opt("videoCodec", m.video_codec.as_deref())
        .opt("videoResolution", m.video_resolution.as_deref())
        .a("container", ext)
        .opt("videoFrameRate", m.video_frame_rate.as_deref())
        .opt("audioProfile", m.audio_profile.as_deref())
        .opt("videoProfile", m.video_profile.as_deref());
    if m.video_codec.is_some() {
        media = media
            .a("has64bitOffsets", false)
            .a("optimizedForStreaming", true);
    }
    media.kid(part)
}

fn media(item: &Item<'_>) -> El {
    if let Some(m) = item.media_fields() {
        return given_media(item, m);
    }
    let ext = item.container().unwrap_or("mp3");
    let part_id = item.part_id().unwrap_or(item.id());
    let part = El::new("Part")
        .a("id", part_id)
        .a(
            "key",
            format!("/library/parts/{part_id}/{}/file.{ext}", item.updated_at()),
        )
        .a("duration", item.duration_ms())
        .a("file", item.file_path())
        .a("size", item.file_size())
        .a("container", ext);
    let mut m = El::new("Media")
        .a("id", item.id())
        .a("duration", item.duration_ms())
        .a("bitrate", item.bitrate_kbps());
    m = if item.kind() == ItemKind::Track {
        m.a("audioChannels", 2u32)
            .a("audioCodec", ext)
            .a("container", ext)
    } else {
        m.a("width", 1920u32)
            .a("height", 1080u32)
            .a("aspectRatio", V::F(1.78))
            .a("audioChannels", 6u32)
            .a("audioCodec", "eac3")
            .a("videoCodec", "h264")
            .a("videoResolution", "1080")
            .a("container", ext)
            .a("videoFrameRate", "24p")
    };
    m.kid(part.a("audioProfile", if ext == "mkv" { "dts" } else { "" }))
}

fn guid_children(mut e: El, item: &Item<'_>) -> El {
    for g in item.guids() {
        e = e.kid(El::new("Guid").a("id", g));
    }
    e
}

/// The element of one item as seen by `user`.
pub(crate) fn item_el(
    lib: &Library,
    state: &State,
    user: u32,
    item: &Item<'_>,
    opts: RenderOpts,
) -> El {
    let p = state.play_state(user, item.id());
    let kind = item.kind();
    let mut e = match kind {
        ItemKind::Track => El::new("Track"),
        ItemKind::Movie | ItemKind::Episode => El::new("Video"),
        ItemKind::Photo => El::new("Photo"),
        _ => El::metadata_directory(),
    };
    // An item has about 40 attributes: size the list once instead of growing it.
    e.attrs.reserve(48);
    e = identity_attrs(e, item);
    e = user_attrs(e, p);
    e = art_and_dates(e, item);
    if matches!(
        kind,
        ItemKind::Album | ItemKind::Artist | ItemKind::Show | ItemKind::Season
    ) {
        e = leaf_counts(e, item, lib, state, user);
    }
    // Sonic analysis ran on the generated music; a described library says what it has.
    if item.section().kind == SectionKind::Music && item.fields().is_none() {
        e = e.a("musicAnalysisVersion", 1u32);
    }
    if kind.is_playable() {
        e = e.kid(media(item));
    }
    if opts.detailed || opts.guids {
        e = guid_children(e, item);
    }
    if let Some(f) = item.fields() {
        e = given_attrs(e, PLEX_EXTRA_ATTRS, &f.attrs);
        if kind == ItemKind::Album {
            e = e.opt("studio", f.studio.as_deref());
        }
    }
    if opts.detailed {
        super::editing::detail_attrs(&mut e, item, lib);
    }
    super::editing::edited_attrs(&mut e, item);
    e.kids.extend(super::editing::field_kids(item));
    if !opts.detailed && item.fields().is_some() {
        e.kids.extend(super::editing::listing_tag_kids(item));
    }
    if opts.detailed {
        e = image_kids(e, item);
        e = detail_kids(e, item);
    }
    e
}

/// The `Image` elements of an item's own page (python-plexapi's `images`): its poster
/// (`snapshot` for an episode, as Plex names an episode's still) and its background. They
/// repeat the `thumb` and `art` the element carries by now, edits included, so they are read
/// from it rather than worked out a second time.
fn image_kids(mut e: El, item: &Item<'_>) -> El {
    let url = |name: &str| {
        e.attrs.iter().find_map(|(k, v)| match v {
            V::S(s) if *k == name => Some(s.clone()),
            _ => None,
        })
    };
    let poster = if item.kind() == ItemKind::Episode {
        "snapshot"
    } else {
        "coverPoster"
    };
    let images: Vec<El> = [(poster, url("thumb")), ("background", url("art"))]
        .into_iter()
        .filter_map(|(kind, url)| {
            url.map(|u| {
                El::new("Image")
                    .a("alt", item.title())
                    .a("type", kind)
                    .a("url", u)
            })
        })
        .collect();
    e.kids.extend(images);
    e
}

/// The item's identity and place: its keys and guids and its parents', its titles, its
/// index; in the order the server writes them.
fn identity_attrs(mut e: El, item: &Item<'_>) -> El {
    let kind = item.kind();
    e = e.a("ratingKey", item.id().to_string()).a("key", key(item));
    let parent = item.parent();
    let grandparent = item.grandparent();
    if let Some(par) = &parent {
        e = e.a("parentRatingKey", par.id().to_string());
    }
    if let Some(gp) = &grandparent {
        e = e.a("grandparentRatingKey", gp.id().to_string());
    }
    e = e.a("guid", item.plex_guid());
    if let Some(par) = &parent {
        e = e.a("parentGuid", par.plex_guid());
    }
    if let Some(gp) = &grandparent {
        e = e.a("grandparentGuid", gp.plex_guid());
    }
    if kind == ItemKind::Movie || kind == ItemKind::Show {
        e = e.opt("studio", item.studio());
    }
    e = e.a("type", kind.plex_name()).a("title", item.title());
    if item.title_sort() != item.title() {
        e = e.a("titleSort", item.title_sort());
    }
    if let Some(gp) = &grandparent {
        e = e.a("grandparentKey", format!("/library/metadata/{}", gp.id()));
    }
    if let Some(par) = &parent {
        e = e.a("parentKey", format!("/library/metadata/{}", par.id()));
    }
    e = section_attrs(e, item);
    if let Some(gp) = &grandparent {
        e = e.a("grandparentTitle", gp.title());
    }
    if let Some(par) = &parent {
        e = e.a("parentTitle", par.title());
    }
    e = e.opt("originalTitle", item.original_title());
    if matches!(kind, ItemKind::Movie | ItemKind::Show | ItemKind::Episode) {
        e = e.opt("contentRating", item.content_rating());
    }
    e = e.a("summary", item.summary());
    match kind {
        ItemKind::Track | ItemKind::Episode | ItemKind::Season => {
            e = e.a("index", item.index());
        }
        _ => e = e.a("index", 1u32),
    }
    if kind == ItemKind::Track {
        e = e.a("parentIndex", item.disc());
    }
    if kind == ItemKind::Episode {
        e = e.a("parentIndex", parent.map(|p| p.index()).unwrap_or(1));
    }
    e
}

/// The item's artwork and dates, in the order the server writes them.
fn art_and_dates(mut e: El, item: &Item<'_>) -> El {
    let kind = item.kind();
    let parent = item.parent();
    let grandparent = item.grandparent();
    if kind == ItemKind::Track
        && let Some(album) = &parent
    {
        e = e.a("parentYear", album.year());
    }
    if item.year() > 0 && kind != ItemKind::Artist {
        e = e.a("year", item.year());
    }
    let own_thumb = match kind {
        ItemKind::Track => parent.as_ref().map(thumb).unwrap_or_else(|| thumb(item)),
        ItemKind::Episode => thumb(item),
        _ => thumb(item),
    };
    e = e.a("thumb", own_thumb);
    if matches!(kind, ItemKind::Movie | ItemKind::Show | ItemKind::Artist) {
        e = e.a("art", art(item));
    }
    if let Some(par) = &parent {
        e = e.a("parentThumb", thumb(par));
    }
    if let Some(gp) = &grandparent {
        e = e
            .a("grandparentThumb", thumb(gp))
            .a("grandparentArt", art(gp));
    }
    if item.duration_ms() > 0 {
        e = e.a("duration", item.duration_ms());
    }
    if let Some(date) = item.originally_available_at() {
        e = e.a("originallyAvailableAt", date);
    } else if matches!(kind, ItemKind::Movie | ItemKind::Episode | ItemKind::Album)
        && item.year() > 0
    {
        e = e.a(
            "originallyAvailableAt",
            format!(
                "{:04}-{:02}-{:02}",
                item.year(),
                1 + item.id() % 12,
                1 + item.id() % 28
            ),
        );
    }
    e = e
        .a("addedAt", item.added_at())
        .a("updatedAt", item.updated_at());
    e
}

/// What only the item's own page shows: its tags, chapters, markers, location and colours.
fn detail_kids(mut e: El, item: &Item<'_>) -> El {
    let kind = item.kind();
    e.kids.extend(super::editing::tag_kids(item));
    if let Some(f) = item.fields() {
        for (n, c) in f.chapters.iter().enumerate() {
            e = e.kid(
                El::new("Chapter")
                    .a("id", n + 1)
                    .a("filter", format!("thumb={}", n + 1))
                    .a("index", n + 1)
                    .a("startTimeOffset", c.start)
                    .a("endTimeOffset", c.end)
                    .a("tag", c.tag.as_str()),
            );
        }
        for (n, m) in f.markers.iter().enumerate() {
            let mut el = El::new("Marker")
                .a("id", n + 1)
                .a("type", m.kind.as_str())
                .a("startTimeOffset", m.start)
                .a("endTimeOffset", m.end);
            if m.is_final {
                el = el.a("final", true);
            }
            // Plex sends each marker's analysis version (python-plexapi reads it).
            e = e.kid(el.kid(El::new("Attributes").a("id", n + 1).a("version", 5u32)));
        }
    }
    if !kind.is_playable() {
        e = e.kid(El::new("Location").a("path", item.file_path()));
    }
    e = e.kid(ultra_blur(item));
    e
}

/// The four corner colours of the item's artwork (Plex `UltraBlurColors`), derived from the
/// item like its artwork is.
fn ultra_blur(item: &Item<'_>) -> El {
    let h = crate::rng::mix(item.content_hash() ^ 0x55_4C_54_52);
    let colour = |shift: u32| format!("{:06x}", (h >> shift) & 0x00ff_ffff);
    El::new("UltraBlurColors")
        .a("topLeft", colour(0))
        .a("topRight", colour(12))
        .a("bottomRight", colour(24))
        .a("bottomLeft", colour(36))
}
