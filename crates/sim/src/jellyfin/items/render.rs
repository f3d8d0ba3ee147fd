//! Rendering library objects as `BaseItemDto`s ([`Render`]): every item kind, the fields a
//! client asked for, user data, images and provider ids.

use super::*;

impl Render<'_> {
    /// The `BaseItemDto` of a library item.
    pub(crate) fn item(&self, item: crate::library::Item<'_>) -> BaseItemDto {
        let kind = item.kind();
        let id = item.guid_id();
        let mut dto = BaseItemDto {
            name: item.title().to_owned(),
            server_id: self.server_id.to_owned(),
            id: id.clone(),
            item_type: kind.jellyfin_name().to_owned(),
            is_folder: !kind.is_playable(),
            location_type: Some("FileSystem".to_owned()),
            ..BaseItemDto::default()
        };
        if item.year() > 0 {
            let year = i32::try_from(item.year()).unwrap_or(0);
            dto.production_year = Some(year);
            dto.premiere_date = Some(format!("{year:04}-01-01T00:00:00.0000000Z"));
        }
        dto.official_rating = item.content_rating().map(str::to_owned);
        length_and_media(&mut dto, item, self.lib);
        family(&mut dto, item);
        self.asked_fields(&mut dto, item, &id);
        if self.user_data {
            let state = self.state.play_state(self.user.id, item.id());
            dto.user_data = Some(user_item_data(&state, &id, item.duration_ms()));
        }
        dto.image_tags = self
            .images
            .tags(image_tag(item.content_hash(), item.updated_at()));
        dto.backdrop_image_tags = self.images.backdrops();
        dto
    }

    /// The fields a client asks for (`Fields=`) beyond those every item carries.
    fn asked_fields(&self, dto: &mut BaseItemDto, item: crate::library::Item<'_>, id: &str) {
        let (fields, kind) = (&self.fields, item.kind());
        if fields.has("Path") {
            dto.path = Some(item.file_path());
        }
        if fields.has("SortName") {
            dto.sort_name = Some(item.title_sort().to_owned());
        }
        if fields.has("DateCreated") {
            dto.date_created = Some(iso8601(i64::from(item.added_at())));
        }
        // `Fields=DateLastSaved` is a valid field name, but `BaseItemDto` has no such
        // property: the server writes nothing for it (`MinDateLastSaved` filters by it).
        if fields.has("Overview") {
            let summary = item.summary();
            if !summary.is_empty() {
                dto.overview = Some(summary);
            }
        }
        if fields.has("Genres") {
            let genres: Vec<String> = item.genre().map(|g| vec![g.to_owned()]).unwrap_or_default();
            // `AttachGenreItems`: each genre as an item of its own (the `/Genres` ids).
            dto.genre_items = Some(genres.iter().map(|g| name_pair(g)).collect());
            dto.genres = Some(genres);
        }
        if fields.has("Studios") {
            // `AttachStudios`: the item's studios as items of their own (the `/Studios` ids).
            dto.studios = Some(item.studio().map(name_pair).into_iter().collect());
        }
        if fields.has("ProviderIds") {
            dto.provider_ids = Some(provider_ids(item));
        }
        if fields.has("ParentId") {
            dto.parent_id = Some(match item.parent() {
                Some(parent) => parent.guid_id(),
                None => view_id(item.section().id),
            });
        }
        if fields.has("Etag") {
            dto.etag = Some(image_tag(item.content_hash(), item.updated_at()));
        }
        if fields.has("ChildCount") && dto.is_folder {
            let visible = item
                .children()
                .iter()
                .filter(|&&child| visible_item(self.lib, self.user, child).is_some())
                .count();
            dto.child_count = Some(visible as u64);
        }
        if fields.has("Tags") {
            dto.tags = Some(item.labels().iter().map(|t| t.to_string()).collect());
        }
        if (fields.has("RecursiveItemCount") || fields.has("CumulativeRunTimeTicks"))
            && dto.is_folder
        {
            let mut leaves = self.lib.leaves(item.id());
            leaves.retain(|&leaf| visible_item(self.lib, self.user, leaf).is_some());
            if fields.has("RecursiveItemCount") {
                dto.recursive_item_count = Some(leaves.len() as u64);
            }
            if fields.has("CumulativeRunTimeTicks") {
                let total: i64 = leaves
                    .iter()
                    .filter_map(|&leaf| self.lib.item(leaf))
                    .map(|leaf| i64::from(leaf.duration_ms()))
                    .sum();
                dto.cumulative_run_time_ticks = Some(total * TICKS_PER_MS);
            }
        }
        if fields.has("MediaSources") && kind.is_playable() {
            dto.media_sources = Some(vec![MediaSourceInfo {
                protocol: "File".to_owned(),
                id: id.to_owned(),
                path: item.file_path(),
                source_type: "Default".to_owned(),
                container: item.container().unwrap_or_default().to_owned(),
                size: item.file_size(),
                name: item.title().to_owned(),
                is_remote: false,
                run_time_ticks: i64::from(item.duration_ms()) * TICKS_PER_MS,
                supports_transcoding: true,
                supports_direct_stream: true,
                supports_direct_play: true,
                bitrate: u64::from(item.bitrate_kbps()) * 1_000,
            }]);
        }
    }

    /// The `CollectionFolder` item of a library view.
    pub(crate) fn view(&self, section: &Section) -> BaseItemDto {
        let id = view_id(section.id);
        let mut dto = BaseItemDto {
            name: section.title.clone(),
            server_id: self.server_id.to_owned(),
            id: id.clone(),
            item_type: "CollectionFolder".to_owned(),
            is_folder: true,
            collection_type: Some(collection_type(section.kind).to_owned()),
            location_type: Some("FileSystem".to_owned()),
            media_type: Some("Unknown".to_owned()),
            ..BaseItemDto::default()
        };
        if self.fields.has("Path") {
            dto.path = Some(section.location.clone());
        }
        if self.fields.has("SortName") {
            dto.sort_name = Some(fold(&section.title));
        }
        if self.fields.has("DateCreated") {
            dto.date_created = Some(iso8601(i64::from(section.created_at)));
        }
        if self.fields.has("ChildCount") {
            let items = section.items(section.top_kind());
            let visible = if self.user.jellyfin_restricted() {
                items
                    .iter()
                    .filter(|&&id| visible_item(self.lib, self.user, id).is_some())
                    .count()
            } else {
                items.len()
            };
            dto.child_count = Some(visible as u64);
        }
        if self.fields.has("Etag") {
            dto.etag = Some(image_tag(u64::from(section.id), section.updated_at));
        }
        if self.user_data {
            dto.user_data = Some(user_item_data(&PlayState::default(), &id, 0));
        }
        dto.image_tags = self
            .images
            .tags(image_tag(u64::from(section.id) << 32, section.created_at));
        dto.backdrop_image_tags = self.images.backdrops();
        dto
    }

    /// The `Playlist` item of a playlist.
    pub(crate) fn playlist(&self, playlist: &Playlist) -> BaseItemDto {
        let id = playlist_id(playlist.id);
        let runtime: i64 = playlist
            .items
            .iter()
            .filter_map(|entry| visible_item(self.lib, self.user, entry.item))
            .map(|item| i64::from(item.duration_ms()))
            .sum();
        let mut dto = BaseItemDto {
            name: playlist.title.clone(),
            server_id: self.server_id.to_owned(),
            id: id.clone(),
            item_type: "Playlist".to_owned(),
            is_folder: true,
            run_time_ticks: Some(runtime * TICKS_PER_MS),
            media_type: Some(
                match playlist.kind {
                    PlaylistKind::Audio => "Audio",
                    PlaylistKind::Video => "Video",
                    PlaylistKind::Photo => "Photo",
                }
                .to_owned(),
            ),
            location_type: Some("FileSystem".to_owned()),
            ..BaseItemDto::default()
        };
        if self.fields.has("Path") {
            dto.path = Some(format!(
                "/config/data/playlists/{}/playlist.xml",
                playlist.title
            ));
        }
        if self.fields.has("ChildCount") {
            dto.child_count = Some(playlist.items.len() as u64);
        }
        if self.fields.has("DateCreated") {
            dto.date_created = Some(iso8601(i64::from(playlist.added_at)));
        }
        if self.fields.has("SortName") {
            dto.sort_name = Some(fold(&playlist.title));
        }
        if self.fields.has("Overview") && !playlist.summary.is_empty() {
            dto.overview = Some(playlist.summary.clone());
        }
        if self.user_data {
            dto.user_data = Some(user_item_data(&PlayState::default(), &id, 0));
        }
        dto.image_tags = self
            .images
            .tags(image_tag(u64::from(playlist.id), playlist.updated_at));
        dto.backdrop_image_tags = self.images.backdrops();
        dto
    }

    /// Renders any target the user may see; `None` when it is unknown or hidden.
    pub(crate) fn target(&self, target: Target) -> Option<BaseItemDto> {
        match target {
            Target::Item(id) => visible_item(self.lib, self.user, id).map(|item| self.item(item)),
            Target::View(id) => visible_section(self.lib, self.user, id).map(|s| self.view(s)),
            Target::Playlist(id) => self
                .state
                .playlist(self.user.id, id)
                .map(|playlist| self.playlist(playlist)),
            Target::ArtistName(hash) => self.artist_by_name(hash),
        }
    }

    /// A `MusicArtist` known only from track artist tags ("A feat. B"): Jellyfin makes an item
    /// of every artist name. Found by scanning the user's tracks for the name's hash.
    pub(crate) fn artist_by_name(&self, hash: u64) -> Option<BaseItemDto> {
        let name = self
            .lib
            .sections()
            .iter()
            .filter(|s| self.user.can_see_section(s.id))
            .flat_map(|s| s.items(ItemKind::Track).iter())
            .filter_map(|&id| self.lib.item(id))
            .find_map(|track| {
                track
                    .original_title()
                    .filter(|n| artist_name_hash(n) == hash)
            })?;
        let id = artist_name_id(name);
        let mut dto = BaseItemDto {
            name: name.to_owned(),
            server_id: self.server_id.to_owned(),
            id: id.clone(),
            item_type: "MusicArtist".to_owned(),
            is_folder: true,
            location_type: Some("FileSystem".to_owned()),
            media_type: Some("Unknown".to_owned()),
            ..BaseItemDto::default()
        };
        if self.fields.has("SortName") {
            dto.sort_name = Some(fold(name));
        }
        if self.user_data {
            dto.user_data = Some(user_item_data(&PlayState::default(), &id, 0));
        }
        dto.image_tags = self.images.tags(image_tag(hash, 0));
        dto.backdrop_image_tags = self.images.backdrops();
        Some(dto)
    }
}

/// A genre or studio as the `NameGuidPair` the server writes: its name and the id of its own
/// item (`/Genres`, `/Studios`).
fn name_pair(name: &str) -> NameGuidPair {
    NameGuidPair {
        name: name.to_owned(),
        id: jf_id(IdSpace::Name, artist_name_hash(name)),
    }
}

/// `ProviderIds` of an item, as Jellyfin's metadata providers fill them.
pub(super) fn provider_ids(item: crate::library::Item<'_>) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    match item.kind() {
        ItemKind::Track => {
            if let Some(recording) = item.musicbrainz_id() {
                ids.insert("MusicBrainzRecording".to_owned(), recording);
                ids.insert(
                    "MusicBrainzTrack".to_owned(),
                    uuid_from(item.content_hash() ^ 0x5452_4143_4b00),
                );
            }
            if let Some(album) = item.parent() {
                if let Some(release) = album.musicbrainz_id() {
                    ids.insert("MusicBrainzAlbum".to_owned(), release);
                }
                if let Some(group) = album.musicbrainz_release_group() {
                    ids.insert("MusicBrainzReleaseGroup".to_owned(), group);
                }
                if let Some(artist) = album.parent().and_then(|a| a.musicbrainz_id()) {
                    ids.insert("MusicBrainzAlbumArtist".to_owned(), artist.clone());
                    if item.original_title().is_none() {
                        ids.insert("MusicBrainzArtist".to_owned(), artist);
                    }
                }
            }
        }
        ItemKind::Album => {
            if let Some(release) = item.musicbrainz_id() {
                ids.insert("MusicBrainzAlbum".to_owned(), release);
            }
            if let Some(group) = item.musicbrainz_release_group() {
                ids.insert("MusicBrainzReleaseGroup".to_owned(), group);
            }
            if let Some(artist) = item.parent().and_then(|a| a.musicbrainz_id()) {
                ids.insert("MusicBrainzAlbumArtist".to_owned(), artist);
            }
        }
        ItemKind::Artist => {
            if let Some(artist) = item.musicbrainz_id() {
                ids.insert("MusicBrainzArtist".to_owned(), artist);
            }
        }
        ItemKind::Movie | ItemKind::Show => {
            if let Some((imdb, tmdb, tvdb)) = item.external_ids() {
                ids.insert("Imdb".to_owned(), imdb);
                ids.insert("Tmdb".to_owned(), tmdb.to_string());
                if item.kind() == ItemKind::Show {
                    ids.insert("Tvdb".to_owned(), tvdb.to_string());
                }
            }
        }
        ItemKind::Season | ItemKind::Episode | ItemKind::Photo | ItemKind::PhotoAlbum => {}
    }
    ids
}

/// The item's length and media type.
fn length_and_media(dto: &mut BaseItemDto, item: crate::library::Item<'_>, lib: &Library) {
    let kind = item.kind();
    match kind {
        ItemKind::Track | ItemKind::Movie | ItemKind::Episode => {
            dto.run_time_ticks = Some(i64::from(item.duration_ms()) * TICKS_PER_MS);
            dto.container = item.container().map(str::to_owned);
            dto.media_type = Some(
                if kind == ItemKind::Track {
                    "Audio"
                } else {
                    "Video"
                }
                .to_owned(),
            );
        }
        ItemKind::Album => {
            let total: i64 = item
                .children()
                .iter()
                .filter_map(|&child| lib.item(child))
                .map(|child| i64::from(child.duration_ms()))
                .sum();
            dto.run_time_ticks = Some(total * TICKS_PER_MS);
            dto.media_type = Some("Unknown".to_owned());
        }
        _ => dto.media_type = Some("Unknown".to_owned()),
    }
}

/// The item's parents and artists, and its place among its siblings.
fn family(dto: &mut BaseItemDto, item: crate::library::Item<'_>) {
    let kind = item.kind();
    match kind {
        ItemKind::Track => {
            dto.index_number = i32::try_from(item.index()).ok();
            dto.parent_index_number = i32::try_from(item.disc()).ok().filter(|d| *d > 0);
            let album = item.parent();
            let artist = item.grandparent();
            if let Some(album) = album {
                dto.album = Some(album.title().to_owned());
                dto.album_id = Some(album.guid_id());
                dto.album_primary_image_tag =
                    Some(image_tag(album.content_hash(), album.updated_at()));
            }
            if let Some(artist) = artist {
                dto.album_artist = Some(artist.title().to_owned());
                dto.album_artists = Some(vec![NameGuidPair {
                    name: artist.title().to_owned(),
                    id: artist.guid_id(),
                }]);
            }
            let track_artist = item
                .original_title()
                .or_else(|| artist.map(|a| a.title()))
                .unwrap_or("Unknown Artist");
            let track_artist_id = match artist {
                Some(a) if a.title() == track_artist => a.guid_id(),
                _ => artist_name_id(track_artist),
            };
            dto.artists = Some(vec![track_artist.to_owned()]);
            dto.artist_items = Some(vec![NameGuidPair {
                name: track_artist.to_owned(),
                id: track_artist_id,
            }]);
        }
        ItemKind::Album => {
            if let Some(artist) = item.parent() {
                let pair = NameGuidPair {
                    name: artist.title().to_owned(),
                    id: artist.guid_id(),
                };
                dto.album_artist = Some(artist.title().to_owned());
                dto.artists = Some(vec![artist.title().to_owned()]);
                dto.artist_items = Some(vec![pair.clone()]);
                dto.album_artists = Some(vec![pair]);
            }
        }
        ItemKind::Season => {
            dto.index_number = i32::try_from(item.index()).ok();
            if let Some(show) = item.parent() {
                dto.series_name = Some(show.title().to_owned());
                dto.series_id = Some(show.guid_id());
            }
        }
        ItemKind::Episode => {
            dto.index_number = i32::try_from(item.index()).ok();
            if let Some(season) = item.parent() {
                dto.parent_index_number = i32::try_from(season.index()).ok();
                dto.season_id = Some(season.guid_id());
                dto.season_name = Some(season.title().to_owned());
                if let Some(show) = season.parent() {
                    dto.series_name = Some(show.title().to_owned());
                    dto.series_id = Some(show.guid_id());
                }
            }
        }
        ItemKind::Movie
        | ItemKind::Show
        | ItemKind::Artist
        | ItemKind::Photo
        | ItemKind::PhotoAlbum => {}
    }
}
