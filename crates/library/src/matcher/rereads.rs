//! What is tried when the entry as written accepts nothing: the entry read back from how
//! exports, logs and scrapers garble it (URL encoding, HTML entities, UTF-8 read as Latin-1,
//! "Artist, The", artist and title swapped, a cue's number before a soundtrack's title), a
//! length that cannot be the track's (a store's preview, a shorter edit's), and the evidence
//! that stands in for an artist the library does not credit (a title-only entry, a
//! soundtrack credited to its composer, performer or orchestra).
//!
//! Each reading accepts on the same rules as the entry itself, and offers only where the entry
//! found nothing.

use super::*;

/// Below this a length is a store's preview (30 s, 60 s at most for some), not a track.
const PREVIEW_MS: u32 = 61_000;

/// The longer preview some stores play: a minute and a half, to the second.
const LONG_PREVIEW_MS: u32 = 90_000;

/// A track this long or longer is no preview's whole.
const LONGER_THAN_PREVIEW_MS: u32 = 90_000;

/// Entries that name no artist: blank, or a placeholder a tagger or an export writes.
fn names_no_artist(raw: &str) -> bool {
    matches!(
        normalize::normalize_text(raw).as_str(),
        "" | "unknown" | "unknown artist" | "various artists" | "various" | "va" | "n a" | "none"
    ) && normalize::symbol_name(raw).is_none()
}

impl<'a> Matcher<'a> {
    /// The readings of this module in turn, while nothing is accepted: `Break` with an
    /// acceptance, else `Continue` with what the entry found, or a reading's review where it
    /// found nothing.
    pub(super) fn reread(
        &self,
        query: &TrackQuery,
        scratch: &mut Scratch,
        mut outcome: MatchOutcome,
    ) -> ControlFlow<MatchOutcome, MatchOutcome> {
        let consider = |other: MatchOutcome, outcome: &mut MatchOutcome| {
            if other.band == Band::Accept {
                return ControlFlow::Break(other);
            }
            if outcome.band == Band::Reject && other.band == Band::Review {
                *outcome = other;
            }
            ControlFlow::Continue(())
        };
        // The text read back, then every other reading of the repaired entry.
        let repaired = repaired_query(query);
        if let Some(repaired) = &repaired {
            consider(self.match_stages(repaired, scratch), &mut outcome)?;
        }
        let query = repaired.as_ref().unwrap_or(query);
        // "Beatles, The".
        if let Some(artist) = normalize::sort_name_unfolded(&query.artist) {
            let reread = TrackQuery {
                artist,
                ..query.clone()
            };
            consider(self.match_stages(&reread, scratch), &mut outcome)?;
        }
        // A cue's or a track's number before the title ("OST: 100 - Title", "07. Title").
        if let Some(title) = normalize::without_cue_number(&query.title) {
            let reread = TrackQuery {
                title,
                ..query.clone()
            };
            consider(self.match_stages(&reread, scratch), &mut outcome)?;
        }
        // A score credited to its composer and the orchestra, choir or label the library
        // leaves out.
        if let Some(accepted) = self.without_ensembles(query, scratch) {
            return ControlFlow::Break(accepted);
        }
        // The film's, series' or game's name in a cue's title.
        self.without_the_work(query, scratch, &mut outcome)?;
        // Artist and title swapped: tried only when the title is an act the library knows
        // and the entry as written found nothing.
        if outcome.band == Band::Reject
            && !query.artist.trim().is_empty()
            && normalize::split_artists(&query.title)
                .iter()
                .any(|name| self.index.artist_id(name).is_some())
        {
            let reread = TrackQuery {
                artist: query.title.clone(),
                title: query.artist.clone(),
                ..query.clone()
            };
            let swapped = self.match_stages(&reread, scratch);
            if swapped.band == Band::Accept {
                return ControlFlow::Break(swapped);
            }
        }
        // "Artist - Title" under a placeholder, or "Title - Artist" with no artist.
        if let Some(reread) = self.dashed(query) {
            consider(self.match_stages(&reread, scratch), &mut outcome)?;
        }
        // The main act in the title's last bracket, after a guest credited as the artist
        // ("Guest" – "Song (Main Act)"): read as the two credited together.
        if let Some(reread) = self.main_act_bracketed(query) {
            consider(self.match_stages(&reread, scratch), &mut outcome)?;
        }
        // The track offered, spelt as the library spells it: the entry's artist and title differ
        // from its by letters a scan confuses or by a transliteration of accented letters
        // alone, or the act is written by its initials.
        let as_offered = [
            self.spelt_as_offered(query, &outcome),
            self.by_initials(query, &outcome),
        ];
        for reread in as_offered.into_iter().flatten() {
            let other = self.match_stages(&reread, scratch);
            if other.band == Band::Accept {
                return ControlFlow::Break(other);
            }
        }
        if let Some(accepted) = self.despite_length(query, scratch, &outcome) {
            return ControlFlow::Break(accepted);
        }
        if let Some(accepted) = self.by_title_alone(query, &outcome) {
            return ControlFlow::Break(accepted);
        }
        ControlFlow::Continue(self.offered_where_nothing_found(query, scratch, outcome))
    }

    /// Where the entry found nothing, what a half of its title, its length, its album or its
    /// artist alone offers.
    fn offered_where_nothing_found(
        &self,
        query: &TrackQuery,
        scratch: &mut Scratch,
        outcome: MatchOutcome,
    ) -> MatchOutcome {
        if outcome.band != Band::Reject {
            return outcome;
        }
        if let Some(offer) = self.by_either_half(query, scratch) {
            return offer;
        }
        let prepared = Prepared::new(query);
        // The act as the library knows it, and as the library spells it where the entry
        // spells it another way: romanised by another convention or in another script
        // ("Melina Mercouri" for "Melina Merkouri", "Kino" for `Кино`), as a translated
        // title's entry often does. The offers below still need the length, the album or a
        // title in another language to point at the song.
        let mut artists = self.known_artists(&prepared);
        for artist in self.similar_to_unknown(&prepared, scratch) {
            if !artists.contains(&artist) {
                artists.push(artist);
            }
        }
        if artists.is_empty() {
            return outcome;
        }
        self.by_length_alone(&prepared, &artists)
            .or_else(|| self.by_album_alone(&prepared, &artists))
            .or_else(|| self.by_artist_alone(query, &prepared, &artists))
            .unwrap_or(outcome)
    }

    /// The entry read with the act its title's last bracket names credited beside its artist
    /// ("Guest" – "Song (Main Act)" as "Main Act, Guest" – "Song"), when the bracket is an
    /// act the library knows and not the entry's artist.
    fn main_act_bracketed(&self, query: &TrackQuery) -> Option<TrackQuery> {
        let halves = normalize::title_halves(&query.title).filter(|halves| !halves.dashed)?;
        let act = normalize::normalize_text(halves.tail);
        if query.artist.trim().is_empty()
            || self.index.artist_id(&act).is_none()
            || normalize::split_artists(&query.artist).contains(&act)
        {
            return None;
        }
        Some(TrackQuery {
            artist: format!("{}, {}", halves.tail, query.artist),
            title: halves.head.to_string(),
            ..query.clone()
        })
    }

    /// A title written twice, in two languages or scripts ("Gruppa Krovi (Blood Group)"):
    /// where the whole found nothing, either half is looked up, and what it finds offered.
    /// Never accepted: the other half may name another song. Halves parted by a dash ("Work -
    /// Movement") offer only what a half alone would accept, or a track titled as the half is.
    fn by_either_half(&self, query: &TrackQuery, scratch: &mut Scratch) -> Option<MatchOutcome> {
        let halves = normalize::title_halves(&query.title)?;
        [halves.head, halves.tail].into_iter().find_map(|half| {
            let reread = TrackQuery {
                title: half.to_string(),
                ..query.clone()
            };
            let found = self.match_stages(&reread, scratch);
            let titled_as_half = || {
                found.best.as_ref().is_some_and(|best| {
                    normalize::parse_title(&best.title).base == normalize::parse_title(half).base
                })
            };
            let enough = match found.band {
                Band::Accept => true,
                Band::Review => !halves.dashed || titled_as_half(),
                Band::Reject => false,
            };
            enough.then_some(MatchOutcome {
                band: Band::Review,
                ..found
            })
        })
    }

    /// A credit that names, beside an act the library knows, an orchestra, a choir or a
    /// label it does not ("John Williams, London Symphony Orchestra", "Composer & Studio
    /// Orchestra", "Composer, Square Enix Music"), as soundtrack and classical exports credit
    /// a score: read without them, and accepted when that accepts a track whose length is
    /// the entry's within 2 s or whose album is the one the entry names. Without either the
    /// ensemble may have recorded the cue again (a concert orchestra's recording of a film's
    /// theme), so nothing is accepted.
    fn without_ensembles(&self, query: &TrackQuery, scratch: &mut Scratch) -> Option<MatchOutcome> {
        let names = normalize::split_artists(&query.artist);
        let unknown_ensemble = |name: &String| {
            normalize::names_an_ensemble(name) && self.index.artist_id(name).is_none()
        };
        let kept: Vec<&String> = names
            .iter()
            .filter(|name| !unknown_ensemble(name))
            .collect();
        if kept.len() == names.len()
            || kept.is_empty()
            || !kept.iter().any(|name| self.index.artist_id(name).is_some())
        {
            return None;
        }
        let reread = TrackQuery {
            artist: kept
                .iter()
                .map(|name| name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            ..query.clone()
        };
        let found = self.match_stages(&reread, scratch);
        let best = found.best.as_ref().filter(|_| found.band == Band::Accept)?;
        let view = self.index.view_masked(best.item.0, &self.mask)?;
        let length_agrees = query
            .duration_ms
            .and_then(plausible_length)
            .zip(view.duration_ms())
            .is_some_and(|(ours, theirs)| ours.abs_diff(theirs) <= SAME_LENGTH_MS);
        let album_agrees = query.album.as_deref().is_some_and(|album| {
            let theirs = view.album().unwrap_or("");
            claims::same_release(&normalize::normalize_album(album), view.album_norm())
                || normalize::same_soundtrack(album, theirs)
                || normalize::names_the_work(album, theirs)
        });
        (length_agrees || album_agrees).then_some(found)
    }

    /// The film's, series' or game's name in a cue's title ("Far Shore (From Ironwood)",
    /// "Ironwood - Far Shore"): the title read without it, accepted (`Break`) when the track
    /// found is on the soundtrack of the work it names; a review of such a track stands where
    /// the entry found nothing.
    fn without_the_work(
        &self,
        query: &TrackQuery,
        scratch: &mut Scratch,
        outcome: &mut MatchOutcome,
    ) -> ControlFlow<MatchOutcome> {
        for (work, title) in normalize::title_and_work(&query.title) {
            let reread = TrackQuery {
                title,
                ..query.clone()
            };
            let other = self.match_stages(&reread, scratch);
            let on_the_work = other.best.as_ref().is_some_and(|best| {
                self.index
                    .view_masked(best.item.0, &self.mask)
                    .and_then(|view| {
                        view.album()
                            .map(|album| normalize::names_the_work(&work, album))
                    })
                    .unwrap_or(false)
            });
            if on_the_work {
                if other.band == Band::Accept {
                    return ControlFlow::Break(other);
                }
                if outcome.band == Band::Reject && other.band == Band::Review {
                    *outcome = other;
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// The entry read as "Artist - Title" written into its title: under a placeholder artist
    /// ("Unknown Artist", "Various Artists"), or, with no artist, "Title - Artist" when the
    /// library knows the act after the dash.
    fn dashed(&self, query: &TrackQuery) -> Option<TrackQuery> {
        if names_no_artist(&query.artist)
            && !query.artist.trim().is_empty()
            && let Some((artist, title)) = normalize::DASH_SEPARATORS
                .iter()
                .find_map(|separator| query.title.split_once(separator))
        {
            return Some(TrackQuery {
                artist: artist.trim().to_string(),
                title: title.trim().to_string(),
                ..query.clone()
            });
        }
        if query.artist.trim().is_empty()
            && let Some((title, artist)) = normalize::DASH_SEPARATORS
                .iter()
                .find_map(|separator| query.title.split_once(separator))
            && normalize::split_artists(artist)
                .iter()
                .any(|name| self.index.artist_id(name).is_some())
        {
            return Some(TrackQuery {
                artist: artist.trim().to_string(),
                title: title.trim().to_string(),
                ..query.clone()
            });
        }
        None
    }

    /// The items of `artists`' blocks (each no larger than `max_block`), in block order: what
    /// the rereadings by length, album or artist alone look among.
    fn artist_tracks<'s>(&'s self, artists: &'s [u32]) -> impl Iterator<Item = u32> + 's {
        artists
            .iter()
            .map(|artist| self.index.artist_block(*artist))
            .filter(|block| block.len() <= self.config.max_block)
            .flatten()
            .copied()
    }

    /// `found` offered for review as a fuzzy match: what every rereading that is never
    /// accepted answers.
    fn offered(&self, found: u32) -> MatchOutcome {
        MatchOutcome {
            best: self.candidate(found, self.config.review),
            band: Band::Review,
            method: MatchMethod::Fuzzy,
            runner_up: None,
        }
    }

    /// Where nothing else is found, a title in another language than the library's, in the
    /// same script ("Autumn Leaves" for "Les Feuilles d'automne"), is offered by the artist
    /// and the length alone: the artist's one track within 2 s, no other song of the artist
    /// within 10 s, on the album the entry names if it names one. Never accepted: a song the
    /// library does not hold may have the length of one it does.
    fn by_length_alone(&self, prepared: &Prepared, artists: &[u32]) -> Option<MatchOutcome> {
        let duration = prepared.duration_ms.and_then(plausible_length)?;
        let block = || self.artist_tracks(artists);
        // "Song (Live)" may be the plain "Song" of a live album not named live, which only
        // the length tells from the studio recording.
        let live_plain = |view: &ItemView<'_>| {
            prepared.title.version == VersionTags::LIVE
                && view.version().is_original()
                && library_title(view.title()).base == prepared.title.base
        };
        let within = |item: u32, limit: u32| {
            self.index
                .view_masked(item, &self.mask)
                .is_some_and(|view| {
                    view.kind() == ItemKind::Track
                        && (self.kinds_agree(prepared, &view) || live_plain(&view))
                        && view
                            .duration_ms()
                            .is_some_and(|theirs| theirs.abs_diff(duration) <= limit)
                })
        };
        let found = block().find(|item| within(*item, SAME_LENGTH_MS))?;
        if block().any(|item| {
            item != found && within(item, LENGTH_AMBIGUITY_MS) && !self.same_song(found, item)
        }) {
            return None;
        }
        let view = self.index.view_masked(found, &self.mask)?;
        if let Some(album) = prepared.album.as_deref()
            && !claims::same_release(album, view.album_norm())
        {
            return None;
        }
        Some(self.offered(found))
    }

    /// Where nothing else is found, the artist's one song on the album the entry names: a
    /// title in another language without a length ("The Robots" on "Die Mensch-Maschine"),
    /// or "Song (Live)" on a live album whose titles are plain. Never accepted — the album
    /// may hold a song the library does not — but it is what a person confirming the list
    /// looks at.
    fn by_album_alone(&self, prepared: &Prepared, artists: &[u32]) -> Option<MatchOutcome> {
        let album = prepared.album.as_deref()?;
        let live = prepared.title.version == VersionTags::LIVE;
        let on_album = self.artist_tracks(artists).filter(|item| {
            self.index
                .view_masked(*item, &self.mask)
                .is_some_and(|view| {
                    view.kind() == ItemKind::Track
                        && (live || self.kinds_agree(prepared, &view))
                        && claims::same_release(album, view.album_norm())
                })
        });
        let on_album: Vec<u32> = on_album.collect();
        let found = *on_album.first()?;
        let found = if on_album.iter().all(|item| self.same_song(found, *item)) {
            found
        } else {
            // Several songs: the one titled as the entry's title without its version ("Song"
            // for "Song (Live)"), where one is.
            let titled: Vec<u32> = on_album
                .iter()
                .copied()
                .filter(|item| {
                    self.index
                        .view_masked(*item, &self.mask)
                        .is_some_and(|view| library_title(view.title()).base == prepared.title.base)
                })
                .collect();
            match titled.first() {
                Some(first) if titled.iter().all(|item| self.same_song(*first, *item)) => *first,
                _ => return None,
            }
        };
        Some(self.offered(found))
    }

    /// Where nothing else is found, the artist's one song in the library, when the entry's
    /// title and the song's read as two languages ([`normalize::read_as_two_languages`]:
    /// "Merry-Go-Round of Life" for `人生のメリーゴーランド`, "The Path of the Birds" for "Le
    /// Chemin des Oiseaux", "Ue o Muite Arukō" for "Sukiyaki"): a translated or romanised
    /// title no letter comparison meets. Not when the
    /// entry's length is another's by 10 s or more, or it names an album the library holds
    /// for the artist without the song. Never accepted — the entry may name a song the
    /// library does not hold — but it is what a person confirming the list looks at.
    fn by_artist_alone(
        &self,
        query: &TrackQuery,
        prepared: &Prepared,
        artists: &[u32],
    ) -> Option<MatchOutcome> {
        let mut tracks = self.artist_tracks(artists).filter(|item| {
            self.index
                .view_masked(*item, &self.mask)
                .is_some_and(|view| {
                    view.kind() == ItemKind::Track && self.kinds_agree(prepared, &view)
                })
        });
        let found = tracks.next()?;
        if tracks.any(|item| !self.same_song(found, item)) {
            return None;
        }
        let view = self.index.view_masked(found, &self.mask)?;
        let (ours, theirs) = (
            normalize::parse_title(&query.title).base,
            normalize::parse_title(view.title()).base,
        );
        if !normalize::read_as_two_languages(&query.title, view.title())
            || ours.is_empty()
            || theirs.is_empty()
        {
            return None;
        }
        if prepared
            .duration_ms
            .zip(view.duration_ms())
            .is_some_and(|(ours, theirs)| ours.abs_diff(theirs) >= LENGTH_AMBIGUITY_MS)
        {
            return None;
        }
        if let Some(album) = prepared.album.as_deref()
            && !claims::same_release(album, view.album_norm())
            && artists.iter().any(|artist| {
                self.index.artist_block(*artist).iter().any(|item| {
                    self.index
                        .view_masked(*item, &self.mask)
                        .is_some_and(|other| claims::same_release(album, other.album_norm()))
                })
            })
        {
            return None;
        }
        Some(self.offered(found))
    }

    /// The entry with the offered track's credit, when the entry writes the act by its
    /// initials ("GY!BE", "5SOS", "PUSA", "EW&F"): one word of two to six letters and digits
    /// (marks between them left out), the first letters of the words of the track's act, with
    /// or without its small words ("the", "of", "and", "to"), a number's digits for the
    /// number. The title must be the track's exactly; the reading then accepts on the usual
    /// rules.
    fn by_initials(&self, query: &TrackQuery, outcome: &MatchOutcome) -> Option<TrackQuery> {
        let best = outcome
            .best
            .as_ref()
            .filter(|_| outcome.band == Band::Review)?;
        let raw = query.artist.trim();
        if raw.contains(' ') {
            return None;
        }
        let ours: String = raw
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .flat_map(|c| c.to_lowercase())
            .collect();
        if !(2..=6).contains(&ours.len()) {
            return None;
        }
        let view = self.index.view_masked(best.item.0, &self.mask)?;
        if normalize::parse_title(&query.title).base != library_title(view.title()).base {
            return None;
        }
        let initials = |name: &str, small: bool| -> String {
            normalize::normalize_text(name)
                .split(' ')
                .filter(|word| {
                    !word.is_empty()
                        && (small || !matches!(*word, "the" | "of" | "and" | "to" | "a"))
                })
                .map(|word| {
                    if word.bytes().all(|b| b.is_ascii_digit()) {
                        word.to_string()
                    } else {
                        word.chars().take(1).collect()
                    }
                })
                .collect()
        };
        let artist = view.artists().into_iter().find(|name| {
            let whole = initials(name, true);
            whole.len() >= 2 && (whole == ours || initials(name, false) == ours)
        })?;
        Some(TrackQuery {
            artist: artist.to_string(),
            ..query.clone()
        })
    }

    /// The entry with the offered track's title and credit, when they are the entry's spelt
    /// otherwise ([`normalize::spelt_alike`]): "Midnight Carouse1", "The Velvet Lantems" (OCR's
    /// `1`/`l`, `rn`/`m`), "Ueber Bruecken" for "Über Brücken".
    fn spelt_as_offered(&self, query: &TrackQuery, outcome: &MatchOutcome) -> Option<TrackQuery> {
        let best = outcome
            .best
            .as_ref()
            .filter(|_| outcome.band == Band::Review)?;
        let view = self.index.view_masked(best.item.0, &self.mask)?;
        let ours = normalize::parse_title(&query.title);
        let theirs = library_title(view.title());
        let same_title = ours.base == normalize::parse_title(view.title()).base;
        if !(same_title
            || ours.base == theirs.base
            || normalize::spelt_alike(&ours.base, &theirs.base, view.title()))
        {
            return None;
        }
        let our_artist = normalize::normalize_text(&query.artist);
        let artist = view.artists().into_iter().find(|name| {
            let theirs = normalize::normalize_text(name);
            theirs == our_artist || normalize::spelt_alike(&our_artist, &theirs, name)
        })?;
        // Something must be spelt otherwise: the title, or else the credit ("Marrow S").
        if same_title && normalize::normalize_text(artist) == our_artist {
            return None;
        }
        // The library's base title in place of the entry's, the entry's brackets after it
        // kept (a bracket that opens the title is part of it: "(I Just) Died …").
        let title = match query.title.find(['(', '[']) {
            Some(at) if at > 0 => format!("{} {}", view.title(), &query.title[at..]),
            _ => view.title().to_string(),
        };
        Some(TrackQuery {
            artist: artist.to_string(),
            title,
            ..query.clone()
        })
    }

    /// A length that cannot be the track's ([`length_cannot_be_the_tracks`]: a store's
    /// preview, minutes and seconds run together) or is a shorter edit's under the song's
    /// plain name ([`plain_entry_of_an_edit`]) outweighs nothing: the entry is read without
    /// it, and accepted when that accepts the track it offered. (A longer length still
    /// counts: it may be a live or an extended recording.)
    fn despite_length(
        &self,
        query: &TrackQuery,
        scratch: &mut Scratch,
        outcome: &MatchOutcome,
    ) -> Option<MatchOutcome> {
        let ours = query.duration_ms.and_then(plausible_length)?;
        let best = outcome
            .best
            .as_ref()
            .filter(|_| outcome.band == Band::Review)?;
        let theirs = self
            .index
            .view_masked(best.item.0, &self.mask)?
            .duration_ms()?;
        if !length_cannot_be_the_tracks(ours, theirs)
            && !plain_entry_of_an_edit(query, &best.title, ours, theirs)
        {
            return None;
        }
        let reread = TrackQuery {
            duration_ms: None,
            ..query.clone()
        };
        let without = self.match_stages(&reread, scratch);
        (without.band == Band::Accept && without.best.as_ref().is_some_and(|b| b.id == best.id))
            .then_some(without)
    }

    /// True when the track's act is one the library names by symbols ("!!!", "+/-") and the
    /// entry writes another name the library does not know: its spoken name ("Chk Chk Chk",
    /// "Plus/Minus"), which no rule spells, and which says nothing either way, as a title-only
    /// entry's credit does not.
    fn spoken_name_of_symbols(&self, query: &TrackQuery, view: &ItemView<'_>) -> bool {
        view.artists()
            .iter()
            .any(|name| normalize::symbol_name(name).is_some())
            && normalize::symbol_name(&query.artist).is_none()
            && !normalize::split_artists(&query.artist)
                .iter()
                .any(|name| self.index.artist_id(name).is_some())
    }

    /// The title alone, where the entry names no artist the library credits: a title-only
    /// entry ("" or "Unknown Artist"), or a soundtrack's cue credited to its composer,
    /// performer or orchestra where the library credits another of them. Accepted when the
    /// title is the offered track's exactly, no other song in the library has it, the entry
    /// says nothing more of the recording, and the length (within 2 s) or the album vouches
    /// for it — or, for a title-only entry that gives nothing else, when its title is
    /// distinctive enough to stand alone ([`says_only_its_title`]).
    fn by_title_alone(&self, query: &TrackQuery, outcome: &MatchOutcome) -> Option<MatchOutcome> {
        let best = outcome
            .best
            .as_ref()
            .filter(|_| outcome.band == Band::Review)?;
        let view = self.index.view_masked(best.item.0, &self.mask)?;
        let no_artist = names_no_artist(&query.artist) || self.spoken_name_of_symbols(query, &view);
        let their_album = view.album().unwrap_or("");
        // The work named where a soundtrack's entry names it: in the artist field of an
        // export that credits the film or the game ("Ironwood OST"), or in the title
        // ("Ironwood - Far Shore"), which is then read without it.
        let artist_names_work = !no_artist && normalize::names_the_work(&query.artist, their_album);
        let title_without_work = normalize::title_and_work(&query.title)
            .into_iter()
            .find(|(work, _)| normalize::names_the_work(work, their_album))
            .map(|(_, title)| title);
        let work_named = artist_names_work || title_without_work.is_some();
        let soundtrack = !no_artist
            && (work_named
                || normalize::names_a_soundtrack(their_album)
                || query
                    .album
                    .as_deref()
                    .is_some_and(normalize::names_a_soundtrack));
        // A name the library carries for other tracks needs both the length and the album.
        let known_name = normalize::split_artists(&query.artist)
            .iter()
            .any(|name| self.index.artist_id(name).is_some());
        if !no_artist && !soundtrack {
            return None;
        }
        let ours = normalize::parse_title(title_without_work.as_deref().unwrap_or(&query.title));
        let theirs = library_title(view.title());
        if ours.base.is_empty()
            || ours.base != theirs.base
            || ours.version != theirs.version
            || !ours.qualifiers.is_empty()
            || !theirs.qualifiers.is_empty()
            || ours.base.chars().filter(|c| c.is_alphanumeric()).count() < 6
        {
            return None;
        }
        let length_agrees = query
            .duration_ms
            .and_then(plausible_length)
            .zip(view.duration_ms())
            .is_some_and(|(a, b)| a.abs_diff(b) <= SAME_LENGTH_MS);
        let lengths_differ = query
            .duration_ms
            .and_then(plausible_length)
            .zip(view.duration_ms())
            .is_some_and(|(a, b)| a.abs_diff(b) > self.config.duration_tolerance_ms);
        let album_agrees = work_named
            || query.album.as_deref().is_some_and(|album| {
                let ours = normalize::normalize_album(album);
                let theirs = view.album_norm();
                !theirs.is_empty()
                    && (claims::same_release(&ours, theirs)
                        || (soundtrack && theirs.starts_with(&ours) && ours.len() >= 4)
                        || (soundtrack && normalize::same_soundtrack(album, their_album)))
            });
        // An album named must be the track's, or a compilation; the track's album must claim
        // nothing of its recordings ("Live at …") the entry does not.
        let album_allowed = query
            .album
            .as_deref()
            .is_none_or(|album| album_agrees || normalize::names_a_compilation(album));
        let their_claims = normalize::album_claims(their_album);
        if lengths_differ
            || !album_allowed
            || (!their_claims.is_empty() && !album_agrees)
            || !(if known_name {
                length_agrees && album_agrees
            } else {
                length_agrees
                    || album_agrees
                    || (no_artist && says_only_its_title(query, &ours.base))
            })
        {
            return None;
        }
        // No other song of the title: the runner-up, the nearest different song, must not
        // have it.
        let unique = outcome.runner_up.as_ref().is_none_or(|other| {
            self.same_song(best.item.0, other.item.0)
                || normalize::parse_title(&other.title).base != ours.base
        });
        unique.then(|| MatchOutcome {
            band: Band::Accept,
            ..outcome.clone()
        })
    }
}

/// True when an entry's length `ours` cannot be the length of a track of `theirs` (ms) but
/// is what exports make of it: a store's preview (under a minute, or a minute and a half to
/// the second) of a track running longer, minutes and seconds run together as seconds
/// ("411" for 4:11), or half an hour and more, four times the track's length and more, for
/// a song of minutes (minutes read as seconds, hours and minutes as minutes and seconds).
fn length_cannot_be_the_tracks(ours: u32, theirs: u32) -> bool {
    const HALF_AN_HOUR_MS: u32 = 1_800_000;
    if ours >= HALF_AN_HOUR_MS && ours / 4 >= theirs {
        return true;
    }
    let preview = (ours < PREVIEW_MS && theirs >= LONGER_THAN_PREVIEW_MS)
        || (ours.abs_diff(LONG_PREVIEW_MS) <= 500 && theirs >= 2 * LONG_PREVIEW_MS);
    let seconds = ours / 1_000;
    let run_together = (100..1_000).contains(&seconds)
        && seconds % 100 < 60
        && ((seconds / 100) * 60 + seconds % 100).abs_diff(theirs / 1_000)
            <= SAME_LENGTH_MS / 1_000
        && ours.abs_diff(theirs) > SAME_LENGTH_MS;
    preview || run_together
}

/// A single's edit of a long album track runs two and a half minutes or more however long
/// the track: "Autobahn", 22:43 on the album, 3:27 as a single; "Layla" 7:05 and 2:43;
/// "In-A-Gadda-Da-Vida" 17:05 and 2:52.
const SINGLE_EDIT_MS: u32 = 150_000;

/// An entry shorter than the track (`theirs`, titled `their_title`), by at most half of it
/// or running a single edit's length ([`SINGLE_EDIT_MS`]) however much shorter, whose title
/// is the track's exactly and whose title and album name no edit, no version and nothing
/// more of the recording: the length is a shorter edit's, which a radio log or a chart
/// lists under the song's plain name. (A near title is not enough: the length may be all
/// that tells another song apart; a music video's shorter length is the video's edit. A
/// minute and a half of a four-minute song is no single's edit: offered.)
fn plain_entry_of_an_edit(query: &TrackQuery, their_title: &str, ours: u32, theirs: u32) -> bool {
    let title = normalize::parse_title(&query.title);
    let album = query.album.as_deref().unwrap_or("");
    ours < theirs
        && (ours * 2 >= theirs || ours >= SINGLE_EDIT_MS)
        && title.version.is_original()
        && title.qualifiers.is_empty()
        && title.base == library_title(their_title).base
        && !Prepared::new(query).video_length
        && normalize::edit_words(&title.edit_text, album).is_empty()
        && !normalize::title_words(album)
            .iter()
            .any(|word| matches!(word.as_str(), "edit" | "edits" | "single" | "version"))
}

/// An entry that gives a title and nothing else (no length, no album, no artist), of two
/// words and ten letters or more: a radio log's or a chart's line. The only song of such a
/// title in the library is the one it names; a one-word title ("Hello", "Intro") is too
/// common to stand alone.
fn says_only_its_title(query: &TrackQuery, base: &str) -> bool {
    query.duration_ms.is_none()
        && query.album.is_none()
        && base.split(' ').count() >= 2
        && base.chars().filter(|c| c.is_alphanumeric()).count() >= 10
}

/// A library title taken apart without the cue's or track's number a rip may have left
/// before it ("1M3 - Crossing the Ridge", "07. Title"): the title it names.
fn library_title(raw: &str) -> ParsedTitle {
    normalize::parse_title(normalize::without_cue_number(raw).as_deref().unwrap_or(raw))
}

/// The entry with its fields read back ([`normalize::repaired_text`]), when one changes.
fn repaired_query(query: &TrackQuery) -> Option<TrackQuery> {
    let artist = normalize::repaired_text(&query.artist);
    let title = normalize::repaired_text(&query.title);
    let album = query.album.as_deref().and_then(normalize::repaired_text);
    if artist.is_none() && title.is_none() && album.is_none() {
        return None;
    }
    Some(TrackQuery {
        artist: artist.unwrap_or_else(|| query.artist.clone()),
        title: title.unwrap_or_else(|| query.title.clone()),
        album: album.or_else(|| query.album.clone()),
        ..query.clone()
    })
}
