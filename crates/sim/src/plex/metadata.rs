//! Rendering library items as Plex metadata elements (`Track`, `Video`, `Directory`), with the
//! requesting user's play state, the way python-plexapi and Tautulli read them.

use crate::library::{Item, ItemKind, Library, SectionKind};
use crate::state::{PlayState, State};
use cachearr_serverfmt::plex::El;

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

fn media(item: &Item<'_>) -> El {
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
            .a("aspectRatio", "1.78")
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
    if let Some(mbid) = item.musicbrainz_id() {
        e = e.kid(El::new("Guid").a("id", format!("mbid://{mbid}")));
    }
    if let Some((imdb, tmdb, tvdb)) = item.external_ids() {
        e = e
            .kid(El::new("Guid").a("id", format!("imdb://{imdb}")))
            .kid(El::new("Guid").a("id", format!("tmdb://{tmdb}")))
            .kid(El::new("Guid").a("id", format!("tvdb://{tvdb}")));
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
        _ => El::metadata_directory(),
    };
    // An item has about 40 attributes: size the list once instead of growing it.
    e.attrs.reserve(48);
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
    if matches!(kind, ItemKind::Movie | ItemKind::Show) {
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
    e = user_attrs(e, p);
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
    if matches!(kind, ItemKind::Movie | ItemKind::Episode | ItemKind::Album) && item.year() > 0 {
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
    if matches!(
        kind,
        ItemKind::Album | ItemKind::Artist | ItemKind::Show | ItemKind::Season
    ) {
        e = leaf_counts(e, item, lib, state, user);
    }
    if item.section().kind == SectionKind::Music {
        e = e.a("musicAnalysisVersion", 1u32);
    }
    if kind.is_playable() {
        e = e.kid(media(item));
    }
    if opts.detailed || opts.guids {
        e = guid_children(e, item);
    }
    if opts.detailed {
        if let Some(g) = item.genre() {
            e = e.kid(El::new("Genre").a("id", 1u32).a("tag", g));
        }
        for label in item.labels() {
            e = e.kid(El::new("Label").a("tag", *label));
        }
        if !kind.is_playable() {
            e = e.kid(El::new("Location").a("path", item.file_path()));
        }
    }
    e
}
