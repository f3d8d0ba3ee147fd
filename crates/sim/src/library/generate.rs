//! Generating the library from its seed: names and titles from patterns, each artist's
//! discography from its own sub-generator (so the lossless section can hold the same albums),
//! then movies and shows.

use super::*;

pub(super) struct TrackPlan {
    pub(super) title: String,
    pub(super) original_title: Option<String>,
    pub(super) disc: u16,
    pub(super) index: u16,
    pub(super) duration_ms: u32,
}

pub(super) struct AlbumPlan {
    pub(super) title: String,
    pub(super) year: u16,
    pub(super) tracks: Vec<TrackPlan>,
}

pub(super) struct ArtistPlan {
    pub(super) name: String,
    pub(super) mbid: bool,
    pub(super) albums: Vec<AlbumPlan>,
}

/// Advances a section's "added" clock so additions spread over ten years.
pub(super) struct AddClock {
    pub(super) t: u64,
    pub(super) step: u64,
}

impl AddClock {
    pub(super) fn new(batches: u64) -> Self {
        Self {
            t: u64::from(EPOCH_START),
            step: (TEN_YEARS / batches.max(1)).max(2),
        }
    }
    pub(super) fn tick(&mut self, rng: &mut SplitMix64) -> u32 {
        self.t += rng.range(1, self.step * 2 - 1);
        self.t.min(u64::from(u32::MAX - 1)) as u32
    }
}

pub(super) fn fill(rng: &mut SplitMix64, pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut rest = pattern;
    while let Some(pos) = rest.find('{') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let (word, skip) = if tail.starts_with("{A}") {
            (rng.pick(ADJECTIVES), 3)
        } else if tail.starts_with("{N}") {
            (rng.pick(NOUNS), 3)
        } else if tail.starts_with("{V}") {
            (rng.pick(VERBS), 3)
        } else if tail.starts_with("{F}") {
            (rng.pick(FIRST_NAMES), 3)
        } else if tail.starts_with("{P}") {
            (rng.pick(PLACES), 3)
        } else {
            ("{", 1)
        };
        out.push_str(word);
        rest = &tail[skip..];
    }
    out.push_str(rest);
    out
}

pub(super) fn artist_name(rng: &mut SplitMix64) -> String {
    match rng.below(100) {
        0..=39 => format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES)),
        40..=79 => {
            let pattern = rng.pick(BAND_PATTERNS);
            fill(rng, pattern)
        }
        80..=87 => rng.pick(FOREIGN_ARTISTS).to_string(),
        88..=93 => {
            let a = rng.pick(FIRST_NAMES);
            format!("{a} & {} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES))
        }
        _ => format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES)).to_uppercase(),
    }
}

pub(super) fn song_title(rng: &mut SplitMix64) -> String {
    const PATTERNS: &[&str] = &[
        "{A} {N}",
        "{V} {N}",
        "{N} of {N}",
        "Don't Stop {V}",
        "{N}",
        "The {A} {N}",
        "{V} in the {N}",
        "I'm {V}",
        "Song for {F}",
        "{A} {N}, Pt. 2",
        "{N}s & {N}s",
        "Rock ’n’ Roll {N}",
        "{F}",
        "{A} Love",
        "Où est le {N}?",
        "(I Can't Stop) {V}",
        "{N} {N} {N}",
        "Lovin’ the {N}",
        "{A}",
        "{V} on a {A} {N}",
    ];
    let pattern = rng.pick(PATTERNS);
    fill(rng, pattern)
}

/// The discography of one artist, drawn from its own generator so it is the same wherever the
/// artist appears.
pub(super) fn artist_plan(seed: u64, artist_idx: u64, other_artists: &[String]) -> ArtistPlan {
    // Long: the plan draws from one random generator in a fixed order, read top to bottom; a
    // split would hide that order, which every generated library depends on.
    let mut rng = SplitMix64::new(mix(seed ^ mix(artist_idx.wrapping_add(0xA27157))));
    let name = artist_name(&mut rng);
    let mbid = rng.percent(80);
    let n_albums = rng.range(1, 6) as usize;
    let mut year = rng.range(1962, 2020) as u16;
    let mut songs: Vec<(String, u32)> = Vec::new();
    let mut albums = Vec::with_capacity(n_albums);
    for a in 0..n_albums {
        let roll = rng.below(100);
        let mut tracks = Vec::new();
        let title;
        if a > 0 && roll < 10 && songs.len() >= 6 {
            // A live album: songs already released, longer, with a live suffix.
            let place = rng.pick(PLACES);
            title = if rng.percent(50) {
                format!("Live at {place}")
            } else {
                format!(
                    "{} (Live)",
                    albums
                        .last()
                        .map(|x: &AlbumPlan| x.title.as_str())
                        .unwrap_or("Alive")
                )
            };
            let n = rng.range(6, songs.len().min(18) as u64);
            for i in 0..n {
                let (s, d) = &songs[rng.below(songs.len() as u64) as usize];
                let suffix = if rng.percent(50) {
                    " (Live)".to_string()
                } else {
                    format!(" - Live at {place}")
                };
                tracks.push(TrackPlan {
                    title: format!("{s}{suffix}"),
                    original_title: None,
                    disc: 1,
                    index: i as u16 + 1,
                    duration_ms: d + rng.range(10_000, 60_000) as u32,
                });
            }
        } else if a > 0 && roll < 20 && songs.len() >= 8 {
            // A compilation of the artist's own songs: the same song on several albums.
            title = match rng.below(3) {
                0 => "Greatest Hits".to_string(),
                1 => format!("The Best of {name}"),
                _ => format!("Anthology {}–{}", year.saturating_sub(10), year),
            };
            let n = rng.range(8, songs.len().min(20) as u64);
            for i in 0..n {
                let (s, d) = &songs[rng.below(songs.len() as u64) as usize];
                let t = if rng.percent(30) {
                    format!("{s} (Remastered {})", year)
                } else if rng.percent(10) {
                    format!("{s} - {} Remaster", year)
                } else {
                    s.clone()
                };
                tracks.push(TrackPlan {
                    title: t,
                    original_title: None,
                    disc: 1,
                    index: i as u16 + 1,
                    duration_ms: d + rng.below(2_000) as u32,
                });
            }
        } else if roll < 30 {
            // A single or EP: a song beside its remixes and acoustic versions.
            let (song, d) = if !songs.is_empty() && rng.percent(50) {
                songs[rng.below(songs.len() as u64) as usize].clone()
            } else {
                let s = song_title(&mut rng);
                let d = rng.range(150_000, 300_000) as u32;
                songs.push((s.clone(), d));
                (s, d)
            };
            title = if rng.percent(50) {
                format!("{song} EP")
            } else {
                song.clone()
            };
            let versions: Vec<String> = vec![
                song.clone(),
                format!("{song} - Radio Edit"),
                format!("{song} ({} Remix)", rng.pick(FIRST_NAMES)),
                format!("{song} (Acoustic)"),
                format!("{song} (Extended Mix)"),
                format!("{song} (Instrumental)"),
            ];
            let n = rng.range(2, versions.len() as u64) as usize;
            for (i, v) in versions.into_iter().take(n).enumerate() {
                let dur = if v.contains("Radio Edit") {
                    d.saturating_sub(40_000).max(60_000)
                } else if v.contains("Extended") {
                    d + 120_000
                } else {
                    d + rng.below(20_000) as u32
                };
                tracks.push(TrackPlan {
                    title: v,
                    original_title: None,
                    disc: 1,
                    index: i as u16 + 1,
                    duration_ms: dur,
                });
            }
        } else {
            // A studio album of new songs, sometimes a remastered or deluxe reissue.
            let base = match rng.below(4) {
                0 => fill(&mut rng, "{A} {N}"),
                1 => fill(&mut rng, "{N} of the {N}"),
                2 => song_title(&mut rng),
                _ => fill(&mut rng, "{N}"),
            };
            let deluxe = rng.percent(12);
            title = match rng.below(100) {
                0..=7 => format!(
                    "{base} (Remastered {})",
                    year as u32 + rng.range(15, 30) as u32
                ),
                8..=11 => format!("{base} [Expanded Edition]"),
                _ if deluxe => format!("{base} (Deluxe Edition)"),
                _ => base,
            };
            let n = rng.range(6, 15);
            let mut album_songs = Vec::new();
            for i in 0..n {
                let s = song_title(&mut rng);
                let d = rng.range(95_000, 420_000) as u32;
                let (t, orig) = if rng.percent(8) && !other_artists.is_empty() {
                    let guest = &other_artists[rng.below(other_artists.len() as u64) as usize];
                    if rng.percent(50) {
                        (format!("{s} (feat. {guest})"), None)
                    } else {
                        (s.clone(), Some(format!("{name} feat. {guest}")))
                    }
                } else {
                    (s.clone(), None)
                };
                album_songs.push((s, d));
                tracks.push(TrackPlan {
                    title: t,
                    original_title: orig,
                    disc: 1,
                    index: i as u16 + 1,
                    duration_ms: d,
                });
            }
            if deluxe {
                for (i, (s, d)) in album_songs.iter().take(4).enumerate() {
                    tracks.push(TrackPlan {
                        title: format!("{s} (Demo)"),
                        original_title: None,
                        disc: 2,
                        index: i as u16 + 1,
                        duration_ms: d + rng.below(30_000) as u32,
                    });
                }
            }
            songs.extend(album_songs);
        }
        albums.push(AlbumPlan {
            title,
            year,
            tracks,
        });
        year = year.saturating_add(rng.range(1, 4) as u16).min(2025);
    }
    ArtistPlan { name, mbid, albums }
}

impl Library {
    /// Generates the library for `config`. Same config → the same library, byte for byte.
    pub fn generate(config: LibraryConfig) -> Self {
        let mut lib = Library {
            config,
            strings: Interner::new(),
            items: Vec::with_capacity(
                config.tracks as usize * 112 / 100
                    + config.movies as usize
                    + config.shows as usize * 40,
            ),
            sections: Vec::new(),
            children: HashMap::new(),
            extras: HashMap::new(),
            edits: HashMap::new(),
            generation: 0,
        };
        let seed = config.seed;
        let make_section = |id: u32, kind, title: &str, location: &str| Section {
            id,
            kind,
            title: title.to_string(),
            uuid: uuid_from(seed ^ u64::from(id) << 40),
            location: location.to_string(),
            created_at: EPOCH_START - 86_400 + id,
            updated_at: EPOCH_START,
            scanned_at: EPOCH_START,
            lists: kind_lists(kind),
        };
        lib.sections.push(make_section(
            MUSIC_SECTION,
            SectionKind::Music,
            "Music",
            "/data/music",
        ));
        lib.sections.push(make_section(
            MOVIES_SECTION,
            SectionKind::Movies,
            "Movies",
            "/data/movies",
        ));
        lib.sections.push(make_section(
            SHOWS_SECTION,
            SectionKind::Shows,
            "TV Shows",
            "/data/tv",
        ));
        lib.sections.push(make_section(
            LOSSLESS_MUSIC_SECTION,
            SectionKind::Music,
            "Music (Lossless)",
            "/data/music-lossless",
        ));

        let lossless = config.tracks / 6;
        let main = config.tracks - lossless;
        let various = if main >= 200 { main / 25 } else { 0 };
        lib.generate_music(0, main - various, various, 0, 1);
        lib.generate_music(3, lossless, 0, 0, 5);
        lib.generate_movies();
        lib.generate_shows();
        let last = lib
            .items
            .iter()
            .map(|r| r.updated_at)
            .max()
            .unwrap_or(EPOCH_START);
        for s in &mut lib.sections {
            s.updated_at = last;
            s.scanned_at = last;
        }
        lib.strings.dedupe = HashMap::new();
        lib.items.shrink_to_fit();
        lib
    }

    pub(super) fn push(&mut self, rec: ItemRecord) -> ItemId {
        self.items.push(rec);
        let id = self.items.len() as ItemId;
        if rec.parent != 0 {
            self.children.entry(rec.parent).or_default().push(id);
        }
        id
    }

    /// Music: artists (in `stride` steps of the artist index so another section can hold a
    /// subset of the same artists), their albums and tracks, then "Various Artists"
    /// compilations drawing on the tracks made so far.
    pub(super) fn generate_music(
        &mut self,
        sidx: u8,
        budget: u32,
        various: u32,
        first: u64,
        stride: u64,
    ) {
        // Long: the section's plan, read top to bottom: it draws from one random generator in a
        // fixed order, which a split would hide and every generated library depends on.
        let seed = self.config.seed;
        let mut rng = SplitMix64::new(mix(seed ^ 0x4D55_5349 ^ u64::from(sidx)));
        let mut clock = AddClock::new(u64::from(budget + various) / 10 + 1);
        // Guests for "feat." credits: a fixed pool of names, the same for every artist.
        let mut guest_rng = SplitMix64::new(mix(seed ^ 0x6E57));
        let guests: Vec<String> = (0..64).map(|_| artist_name(&mut guest_rng)).collect();
        let mut made = 0u32;
        let mut artist_idx = first;
        let mut artists: Vec<ItemId> = Vec::new();
        // (title, track artist, duration) samples for compilations.
        let mut pool: Vec<(StrId, StrId, u32)> = Vec::new();
        let mut seen = 0u64;
        while made < budget {
            let plan = artist_plan(seed, artist_idx, &guests);
            artist_idx += stride;
            let name = self.strings.intern(&plan.name);
            let flags = if plan.mbid { FLAG_MBID } else { 0 };
            let t0 = clock.tick(&mut rng);
            let artist = self.push(ItemRecord {
                kind: ItemKind::Artist,
                flags,
                section: sidx,
                index: 0,
                disc: 0,
                year: 0,
                parent: 0,
                title: name,
                original_title: StrId(0),
                duration_ms: 0,
                added_at: t0,
                updated_at: t0,
            });
            artists.push(artist);
            for album in plan.albums {
                if made >= budget {
                    break;
                }
                let t = clock.tick(&mut rng);
                let album_flags = if plan.mbid && rng.percent(85) {
                    FLAG_MBID
                } else {
                    0
                };
                let title = self.strings.intern(&album.title);
                let album_id = self.push(ItemRecord {
                    kind: ItemKind::Album,
                    flags: album_flags,
                    section: sidx,
                    index: 0,
                    disc: 0,
                    year: album.year,
                    parent: artist,
                    title,
                    original_title: StrId(0),
                    duration_ms: 0,
                    added_at: t,
                    updated_at: t + rng.below(86_400 * 30) as u32,
                });
                for track in album.tracks {
                    if made >= budget {
                        break;
                    }
                    let title = self.strings.intern(&track.title);
                    let orig = match &track.original_title {
                        Some(o) => self.strings.intern(o),
                        None => StrId(0),
                    };
                    let tflags = if album_flags != 0 && rng.percent(90) {
                        FLAG_MBID
                    } else {
                        0
                    };
                    let added = t + u32::from(track.index);
                    self.push(ItemRecord {
                        kind: ItemKind::Track,
                        flags: tflags,
                        section: sidx,
                        index: track.index,
                        disc: track.disc,
                        year: album.year,
                        parent: album_id,
                        title,
                        original_title: orig,
                        duration_ms: track.duration_ms,
                        added_at: added,
                        updated_at: added + rng.below(86_400 * 60) as u32,
                    });
                    made += 1;
                    // Reservoir sampling keeps the compilation pool unbiased and bounded.
                    seen += 1;
                    if pool.len() < 4096 {
                        pool.push((title, name, track.duration_ms));
                    } else {
                        let j = rng.below(seen) as usize;
                        if j < pool.len() {
                            pool[j] = (title, name, track.duration_ms);
                        }
                    }
                }
            }
        }
        if various > 0 && !pool.is_empty() {
            let va = self.strings.intern("Various Artists");
            let t0 = clock.tick(&mut rng);
            let artist = self.push(ItemRecord {
                kind: ItemKind::Artist,
                flags: 0,
                section: sidx,
                index: 0,
                disc: 0,
                year: 0,
                parent: 0,
                title: va,
                original_title: StrId(0),
                duration_ms: 0,
                added_at: t0,
                updated_at: t0,
            });
            artists.push(artist);
            let mut vol = 1;
            let mut left = various;
            while left > 0 {
                const COMPILATIONS: &[&str] = &[
                    "Now That's What I Call {N}",
                    "{A} Hits",
                    "Café del {N}",
                    "Best of the {N}s",
                    "{A} Summer Anthems",
                    "Pure {N}",
                    "{A} {N}: The Collection",
                ];
                let pat = rng.pick(COMPILATIONS);
                let title = format!("{} Vol. {vol}", fill(&mut rng, pat));
                vol += 1;
                let year = rng.range(1985, 2024) as u16;
                let t = clock.tick(&mut rng);
                let title = self.strings.intern(&title);
                let album = self.push(ItemRecord {
                    kind: ItemKind::Album,
                    flags: 0,
                    section: sidx,
                    index: 0,
                    disc: 0,
                    year,
                    parent: artist,
                    title,
                    original_title: StrId(0),
                    duration_ms: 0,
                    added_at: t,
                    updated_at: t,
                });
                let n = (rng.range(12, 24) as u32).min(left);
                for i in 0..n {
                    let (title, by, d) = pool[rng.below(pool.len() as u64) as usize];
                    self.push(ItemRecord {
                        kind: ItemKind::Track,
                        flags: 0,
                        section: sidx,
                        index: i as u16 + 1,
                        disc: 1,
                        year,
                        parent: album,
                        title,
                        original_title: by,
                        duration_ms: d,
                        added_at: t + i,
                        updated_at: t + i,
                    });
                }
                left -= n;
            }
        }
        // Natural order: artists by sort title; albums by artist then year; tracks by album,
        // disc and number.
        let mut keyed: Vec<(String, ItemId)> = artists
            .iter()
            .filter_map(|&a| self.item_any(a).map(|i| (fold(i.title_sort()), a)))
            .collect();
        keyed.sort();
        let sorted_artists: Vec<ItemId> = keyed.into_iter().map(|(_, a)| a).collect();
        let mut albums = Vec::new();
        let mut tracks = Vec::new();
        for &a in &sorted_artists {
            let mut by_year: Vec<(u16, ItemId)> = self
                .children(a)
                .iter()
                .filter_map(|&al| self.item_any(al).map(|i| (i.rec.year, al)))
                .collect();
            by_year.sort();
            for (_, al) in by_year {
                albums.push(al);
                tracks.extend_from_slice(self.children(al));
            }
        }
        let section = &mut self.sections[usize::from(sidx)];
        *section.list_mut(ItemKind::Artist) = sorted_artists;
        *section.list_mut(ItemKind::Album) = albums;
        *section.list_mut(ItemKind::Track) = tracks;
    }

    pub(super) fn generate_movies(&mut self) {
        let mut rng = SplitMix64::new(mix(self.config.seed ^ 0x4D4F_5649));
        let mut clock = AddClock::new(u64::from(self.config.movies));
        let mut titles: Vec<(String, u16)> = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..self.config.movies {
            const PATTERNS: &[&str] = &[
                "The {A} {N}",
                "{N} of the {A} {N}",
                "{A} {N}",
                "Return of the {N}",
                "{N}: Part II",
                "The {N}",
                "{F}'s {N}",
                "{V} {N}",
                "A {A} {N}",
                "{N} & {N}",
            ];
            let year = rng.range(1940, 2025) as u16;
            let title = if !titles.is_empty() && rng.percent(5) {
                // A remake: the same title, another year.
                titles[rng.below(titles.len() as u64) as usize].0.clone()
            } else if !titles.is_empty() && rng.percent(5) {
                format!("{} 2", titles[rng.below(titles.len() as u64) as usize].0)
            } else {
                let p = rng.pick(PATTERNS);
                fill(&mut rng, p)
            };
            titles.push((title.clone(), year));
            let orig = if rng.percent(12) {
                self.strings.intern(rng.pick(FOREIGN_TITLES))
            } else {
                StrId(0)
            };
            let t = clock.tick(&mut rng);
            let title = self.strings.intern(&title);
            let id = self.push(ItemRecord {
                kind: ItemKind::Movie,
                flags: 0,
                section: 1,
                index: 0,
                disc: 0,
                year,
                parent: 0,
                title,
                original_title: orig,
                duration_ms: rng.range(80, 180) as u32 * 60_000 + rng.below(60_000) as u32,
                added_at: t,
                updated_at: t + rng.below(86_400 * 10) as u32,
            });
            ids.push(id);
        }
        let mut keyed: Vec<(String, u16, ItemId)> = ids
            .iter()
            .filter_map(|&m| {
                self.item_any(m)
                    .map(|i| (fold(i.title_sort()), i.rec.year, m))
            })
            .collect();
        keyed.sort();
        *self.sections[1].list_mut(ItemKind::Movie) = keyed.into_iter().map(|k| k.2).collect();
    }

    pub(super) fn generate_shows(&mut self) {
        // Long: the section's plan, read top to bottom: it draws from one random generator in a
        // fixed order, which a split would hide and every generated library depends on.
        let mut rng = SplitMix64::new(mix(self.config.seed ^ 0x5348_4F57));
        let mut clock = AddClock::new(u64::from(self.config.shows) * 4);
        let mut shows = Vec::new();
        for _ in 0..self.config.shows {
            const PATTERNS: &[&str] = &[
                "{A} {N}s",
                "The {N}",
                "{N} & {N}",
                "{F}'s {N}",
                "{A} {N}",
                "Inside the {N}",
            ];
            let p = rng.pick(PATTERNS);
            let title = fill(&mut rng, p);
            let year = rng.range(1990, 2024) as u16;
            let t = clock.tick(&mut rng);
            let title = self.strings.intern(&title);
            let show = self.push(ItemRecord {
                kind: ItemKind::Show,
                flags: 0,
                section: 2,
                index: 0,
                disc: 0,
                year,
                parent: 0,
                title,
                original_title: StrId(0),
                duration_ms: 0,
                added_at: t,
                updated_at: t,
            });
            shows.push(show);
            let ep_len = rng.range(22, 60) as u32 * 60_000;
            for s in 1..=rng.range(1, 6) as u16 {
                let t = clock.tick(&mut rng);
                let season_title = self.strings.intern(&format!("Season {s}"));
                let season = self.push(ItemRecord {
                    kind: ItemKind::Season,
                    flags: 0,
                    section: 2,
                    index: s,
                    disc: 0,
                    year: year + s - 1,
                    parent: show,
                    title: season_title,
                    original_title: StrId(0),
                    duration_ms: 0,
                    added_at: t,
                    updated_at: t,
                });
                let n = rng.range(6, 13) as u16;
                for e in 1..=n {
                    let title = if s == 1 && e == 1 {
                        "Pilot".to_string()
                    } else if rng.percent(10) {
                        format!("Episode {e}")
                    } else if e == n && rng.percent(30) {
                        let base = fill(&mut rng, "The {N}");
                        format!("{base}: Part 2")
                    } else {
                        fill(&mut rng, "{A} {N}")
                    };
                    let title = self.strings.intern(&title);
                    let added = t + u32::from(e) * 3_600;
                    self.push(ItemRecord {
                        kind: ItemKind::Episode,
                        flags: 0,
                        section: 2,
                        index: e,
                        disc: 0,
                        year: year + s - 1,
                        parent: season,
                        title,
                        original_title: StrId(0),
                        duration_ms: ep_len + rng.below(180_000) as u32,
                        added_at: added,
                        updated_at: added,
                    });
                }
            }
        }
        let mut keyed: Vec<(String, ItemId)> = shows
            .iter()
            .filter_map(|&s| self.item_any(s).map(|i| (fold(i.title_sort()), s)))
            .collect();
        keyed.sort();
        let shows: Vec<ItemId> = keyed.into_iter().map(|k| k.1).collect();
        let mut seasons = Vec::new();
        let mut episodes = Vec::new();
        for &s in &shows {
            for &se in self.children(s) {
                seasons.push(se);
                episodes.extend_from_slice(self.children(se));
            }
        }
        let section = &mut self.sections[2];
        *section.list_mut(ItemKind::Show) = shows;
        *section.list_mut(ItemKind::Season) = seasons;
        *section.list_mut(ItemKind::Episode) = episodes;
    }
}
