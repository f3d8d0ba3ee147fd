//! Where candidates come from besides the exact keys: ids (MusicBrainz, ISRC), the blocks
//! of the query's artists (exact or misspelt names), title trigrams, and the last resorts for
//! a title cut short or written in another script (album and length).

use super::*;

impl<'a> Matcher<'a> {
    /// The last resort for a title cut short ("Killing Me Softly" for "Killing Me Softly with
    /// His Song") or known by a longer line ("Хочу перемен" for "Перемен"): one title's words
    /// run whole inside the other's, and the track is the artist's one on the query's album
    /// whose length is the query's within [`SAME_LENGTH_MS`], when no other song of the
    /// artist on that album comes within [`LENGTH_AMBIGUITY_MS`]. The numbers of the titles
    /// and the kind of version must agree too. Album and length alone are not enough: two
    /// songs of one album are often a second apart.
    pub(super) fn match_by_album_and_length(
        &self,
        query: &Prepared,
        artists: &[u32],
    ) -> Option<MatchOutcome> {
        let duration = query.duration_ms?;
        let album = query.album.as_deref()?;
        let on_album = |item: u32, within: u32| {
            self.index.view_masked(item, &self.mask).filter(|view| {
                view.kind() == ItemKind::Track
                    && view
                        .duration_ms()
                        .is_some_and(|theirs| theirs.abs_diff(duration) <= within)
                    && self.kinds_agree(query, view)
                    && similarity(album, view.album_norm()) >= ALBUM_AGREES
            })
        };
        let blocks = || {
            artists
                .iter()
                .map(|artist| self.index.artist_block(*artist))
                .filter(|block| block.len() <= self.config.max_block)
                .flatten()
                .copied()
        };
        let found = blocks().find(|item| on_album(*item, SAME_LENGTH_MS).is_some())?;
        if blocks().any(|item| {
            item != found
                && on_album(item, LENGTH_AMBIGUITY_MS).is_some()
                && !self.same_song(found, item)
        }) {
            return None;
        }
        let view = self.index.view_masked(found, &self.mask)?;
        if !normalize::words_within(&query.title.base, view.title_norm())
            || !normalize::numbers_agree(&query.title.base, view.title_norm())
        {
            return None;
        }
        let artist = self.artist_similarity(query, &view);
        if artist < self.config.artist_floor {
            return None;
        }
        // The library's title holds every word of the query's ("Killing Me Softly" for
        // "Killing Me Softly with His Song"); words the query has beyond the library's ("Хочу
        // перемен" for "Перемен") are something the library does not say: review.
        let query_words_carried = query.title.base.len() <= view.title_norm().len();
        let band = if query_words_carried && self.claims_backed(query, &view) {
            Band::Accept
        } else {
            Band::Review
        };
        Some(MatchOutcome {
            best: self.candidate(found, artist.min(1.0)),
            band,
            method: MatchMethod::Fuzzy,
            runner_up: None,
        })
    }

    /// The candidate as found by another form of its title or the query's: one title equals
    /// one of the other's [`ParsedTitle::alternates`] (what the exact-key stage looks up
    /// under the query's artists).
    pub(super) fn other_form(&self, query: &Prepared, item: u32) -> Option<ShortForm> {
        let view = self.index.view_masked(item, &self.mask)?;
        let form = view
            .title_alternates()
            .find(|form| *form == query.title.base)
            .or_else(|| {
                query
                    .alternates
                    .iter()
                    .map(String::as_str)
                    .find(|form| *form == view.title_norm())
            });
        let Some(form) = form else {
            // A work's name and number or its catalogue number, on both titles ("cello suite
            // no 1", "bwv 1007"): the same work, whoever it is credited to.
            let work = query.title.work.as_deref()?;
            let form = work.identity_forms().chain(&work.numbered).find(|form| {
                view.title_alternates()
                    .any(|theirs| theirs == form.as_str())
            })?;
            return Some(ShortForm {
                item,
                one_word: !form.contains(' '),
                generic: false,
                work_only: self.names_the_work(query, item, form),
                partial: false,
                by_work: true,
                piece: false,
            });
        };
        Some(ShortForm {
            item,
            one_word: !form.contains(' '),
            generic: !form.contains(' ') && normalize::is_generic_piece_word(form),
            partial: false,
            by_work: false,
            work_only: self.names_the_work(query, item, form),
            piece: false,
        })
    }

    /// The artist's classical tracks whose movement heading — the title after its last colon,
    /// less a number before it — begins with the words by which the query names a movement
    /// (its movement's name, or its whole title when it names no work): "Kyrie" for "Mass in
    /// B minor, BWV 232: Kyrie eleison", "Habanera" for "Carmen, Act I: Habanera. L'amour
    /// est un oiseau rebelle", "Dance of the Knights" for "Romeo and Juliet, Op. 64: No. 13,
    /// Dance of the Knights". A word for a kind of piece alone ("Prelude") names none. A title
    /// that names no work may also be the work's name followed by the movement's ("Requiem -
    /// Lacrimosa", "Carmina Burana O Fortuna"): the library's title must then hold the work's
    /// words too.
    pub(super) fn headings_begun(&self, query: &Prepared, artist: u32) -> Vec<u32> {
        let names_a_part =
            |words: &str| words.contains(' ') || !normalize::is_generic_piece_word(words);
        // (the work's words the library's title must hold, the movement's name)
        let mut names: Vec<(&str, &str)> = Vec::new();
        match query.title.work.as_deref() {
            Some(work) => names.extend(work.movement.as_deref().map(|words| ("", words))),
            None => {
                let base = query.title.base.as_str();
                names.push(("", base));
                names.extend(
                    base.match_indices(' ')
                        .map(|(at, _)| (&base[..at], &base[at + 1..])),
                );
            }
        }
        names.retain(|(_, words)| !words.is_empty() && names_a_part(words));
        let block = self.index.artist_block(artist);
        if names.is_empty() || block.len() > self.config.max_block {
            return Vec::new();
        }
        block
            .iter()
            .copied()
            .filter(|item| {
                let Some(view) = self.index.view_masked(*item, &self.mask) else {
                    return false;
                };
                // Most of the block ends here, before a title is parsed.
                let norm = view.title_norm();
                let held: Vec<&str> = names
                    .iter()
                    .filter(|(work, words)| norm.contains(words) && norm.contains(work))
                    .map(|(_, words)| *words)
                    .collect();
                if view.kind() != ItemKind::Track || held.is_empty() {
                    return false;
                }
                let Some((work, heading)) = view.title().rsplit_once(':') else {
                    return false;
                };
                if normalize::parse_title(work).work.is_none()
                    && normalize::parse_title(view.title()).work.is_none()
                {
                    return false;
                }
                // The whole heading, and each of its parts after a number or a label ("No.
                // 14c, Variation II. Dance of the Sugar-Plum Fairy", "No. 44, Chorus.
                // Hallelujah"): ballets, operas and oratorios name their numbers so.
                std::iter::once(heading)
                    .chain(heading.split([',', '.']).skip(1))
                    .any(|part| {
                        let part = normalize::parse_title(part).base;
                        let heading = without_leading_number(&part);
                        held.iter().any(|words| {
                            heading == *words || heading.starts_with(&format!("{words} "))
                        })
                    })
            })
            .collect()
    }

    /// The artist's tracks that name a piece of a set ("3 Gymnopédies: No. 1, Lent et
    /// douloureux", "Hungarian Dances, WoO 1: No. 5") where the query names the piece
    /// ("Gymnopédie No. 1", "Gymnopedie 1", "Hungarian Dance No. 5 in G minor"): its
    /// [`normalize::WorkParts::piece`] is one of the query's forms, or begins with one.
    pub(super) fn pieces_of_sets(&self, query: &Prepared, artist: u32) -> Vec<u32> {
        let forms: Vec<&str> = std::iter::once(query.title.base.as_str())
            .chain(query.alternates.iter().map(String::as_str))
            .filter(|form| form.split(' ').any(|word| word == "no"))
            .collect();
        let block = self.index.artist_block(artist);
        if forms.is_empty() || block.len() > self.config.max_block {
            return Vec::new();
        }
        block
            .iter()
            .copied()
            .filter(|item| {
                let Some(view) = self.index.view_masked(*item, &self.mask) else {
                    return false;
                };
                // Most of the block ends here, before a title is parsed: the set's name
                // holds the piece's first word ("3 gymnopedies" holds "gymnopedie").
                let first_word_held = forms.iter().any(|form| {
                    form.split(' ')
                        .next()
                        .is_some_and(|first| view.title_norm().contains(first))
                });
                if view.kind() != ItemKind::Track || !first_word_held {
                    return false;
                }
                let theirs = normalize::parse_title(view.title());
                theirs
                    .work
                    .as_deref()
                    .and_then(|work| work.piece.as_deref())
                    .is_some_and(|piece| {
                        forms
                            .iter()
                            .any(|form| piece == *form || piece.starts_with(&format!("{form} ")))
                    })
            })
            .collect()
    }

    /// True when `form`, by which the candidate was found, names the work and not a movement
    /// in the query's title or the candidate's ([`normalize::WorkParts::identity_forms`]).
    pub(super) fn names_the_work(&self, query: &Prepared, item: u32, form: &str) -> bool {
        let names = |work: Option<&normalize::WorkParts>| {
            work.is_some_and(|work| work.identity_forms().any(|known| known == form))
        };
        names(query.title.work.as_deref())
            || self
                .index
                .view_masked(item, &self.mask)
                .is_some_and(|view| {
                    view.title_alternates().any(|known| known == form)
                        && names(normalize::parse_title(view.title()).work.as_deref())
                })
    }

    /// The artist's tracks whose title lengths can reach `floor` against the query's title
    /// (similarity ≤ shorter / longer length).
    pub(super) fn block_within(&self, query: &Prepared, artist: u32, floor: f32) -> &'a [u32] {
        let lengths =
            std::iter::once(query.shape.chars).chain(query.shape_without_article.map(|s| s.chars));
        let (mut shortest, mut longest) = (u8::MAX, 0u8);
        for length in lengths {
            let length = f32::from(length);
            shortest = shortest.min((length * floor).floor() as u8);
            longest = longest.max(if floor > 0.0 {
                (length / floor).ceil().min(255.0) as u8
            } else {
                255
            });
        }
        if query.shape.chars == u8::MAX {
            longest = u8::MAX;
        }
        self.index.artist_block_within(artist, shortest, longest)
    }

    pub(super) fn match_by_id(&self, query: &TrackQuery) -> Option<MatchOutcome> {
        let visible_track = |item: &u32| {
            self.index
                .view_masked(*item, &self.mask)
                .is_some_and(|v| v.kind() == ItemKind::Track)
        };
        let mut found: Vec<u32> = Vec::new();
        let mut method = MatchMethod::None;
        if let Some(mbid) = query.musicbrainz_id.as_deref().and_then(record::parse_mbid) {
            found = self.index.mbid_items(mbid).filter(visible_track).collect();
            method = MatchMethod::Mbid;
        }
        if found.is_empty()
            && let Some(isrc) = query.isrc.as_deref().and_then(record::normalize_isrc)
        {
            found = self.index.isrc_items(&isrc).filter(visible_track).collect();
            method = MatchMethod::Isrc;
        }
        if found.is_empty() {
            return None;
        }
        // Several items can carry one id (album and compilation): the text decides which.
        let prepared = Prepared::new(query);
        let mut ranked: Vec<(u32, f32)> = found
            .iter()
            .map(|item| (*item, self.score(&prepared, *item).map_or(0.0, |s| s.score)))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let best = ranked
            .first()
            .and_then(|(item, _)| self.candidate(*item, 1.0));
        let runner_up = ranked
            .get(1)
            .and_then(|(item, score)| self.candidate(*item, *score));
        Some(MatchOutcome {
            best,
            band: Band::Accept,
            method,
            runner_up,
        })
    }

    /// Artist ids whose names look like `name` (a misspelt artist).
    pub(super) fn similar_artists(&self, name: &str, scratch: &mut Scratch) -> Vec<u32> {
        if self.index.artist_count() > scratch.counts.len() {
            return Vec::new();
        }
        let grams = normalize::name_trigrams(name);
        for gram in &grams {
            for artist in self.index.artist_gram_items(*gram) {
                scratch.bump(*artist);
            }
        }
        let needed = (grams.len() / 3).max(1).min(usize::from(u8::MAX)) as u8;
        // The name as other conventions romanise it, a whole word of a longer name.
        let loose_name = (name.len() >= 5 && name.is_ascii())
            .then(|| format!(" {} ", normalize::loose_latin(name)));
        let mut found: Vec<(u32, f32)> = scratch
            .touched
            .iter()
            .filter(|artist| {
                scratch
                    .counts
                    .get(**artist as usize)
                    .is_some_and(|c| *c >= needed)
            })
            .filter_map(|artist| {
                name_likeness(name, self.index.artist_name(*artist), loose_name.as_deref())
                    .map(|sim| (*artist, sim))
            })
            .collect();
        scratch.clear();
        // A name in kanji shares no letters with its romanisation ("Kyu Sakamoto" and `坂本九`,
        // which deunicode reads "ban ben jiu"): looked up by its readings.
        if name.is_ascii() {
            for artist in self.index.kanji_name_candidates(name) {
                if !found.iter().any(|(known, _)| *known == artist)
                    && japanese::reads_as(name, self.index.artist_name(artist), true)
                {
                    found.push((artist, normalize::READING_SIMILARITY));
                }
            }
        }
        // A name in Latin letters written in Hangul as Korean writes foreign names (`아이유`
        // for "IU") shares no letters with it: looked up by its letters and consonants.
        for artist in self.index.hangul_name_candidates(name) {
            let other = self.index.artist_name(artist);
            if !found.iter().any(|(known, _)| *known == artist)
                && (korean::reads_as(name, other) || korean::reads_as(other, name))
            {
                found.push((artist, normalize::READING_SIMILARITY));
            }
        }
        // A name in Arabic or Hebrew letters and its spelling in Latin ones share too few
        // trigrams (the short vowels are unwritten): looked up by consonant skeleton.
        if normalize::has_abjad(name) || name.is_ascii() {
            for artist in self.index.skeleton_name_candidates(name) {
                if found.iter().any(|(known, _)| *known == artist) {
                    continue;
                }
                let similarity = normalize::name_similarity(name, self.index.artist_name(artist));
                if similarity >= 0.75 {
                    found.push((artist, similarity));
                }
            }
        }
        found.sort_by(|a, b| b.1.total_cmp(&a.1));
        found.truncate(3);
        found.into_iter().map(|(artist, _)| artist).collect()
    }

    /// Items sharing the most trigrams with the title (rarest grams first, common grams
    /// capped so one query never walks a huge posting list more than a few times).
    pub(super) fn title_gram_candidates(&self, title: &str, scratch: &mut Scratch) -> Vec<u32> {
        let mut lists: Vec<&[u32]> = normalize::trigrams(title)
            .into_iter()
            .map(|gram| self.index.title_gram_items(gram))
            .filter(|items| !items.is_empty())
            .collect();
        lists.sort_by_key(|items| items.len());
        // The rarest grams say the most; common ones are walked only within a budget, so one
        // query never costs more than a few tens of thousands of postings.
        let mut walked = 0usize;
        for (n, items) in lists.iter().take(12).enumerate() {
            if n >= 3 && walked + items.len() > GRAM_POSTINGS_BUDGET {
                break;
            }
            walked += items.len();
            for item in *items {
                scratch.bump(*item);
            }
        }
        let mut ranked: Vec<(u8, u32)> = scratch
            .touched
            .iter()
            .map(|item| {
                (
                    scratch.counts.get(*item as usize).copied().unwrap_or(0),
                    *item,
                )
            })
            .collect();
        scratch.clear();
        let keep = self.config.max_gram_candidates.min(ranked.len());
        if keep == 0 {
            return Vec::new();
        }
        ranked.select_nth_unstable_by(keep - 1, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.truncate(keep);
        ranked.into_iter().map(|(_, item)| item).collect()
    }

    /// The last resort for a title written in another script than the library's ("Hakujitsu"
    /// for "白日", "Good Day" for "좋은 날"): among the artist's tracks, the one whose title is
    /// in the other script and whose length is the query's within [`SAME_LENGTH_MS`] — when no
    /// other song of the artist comes within [`LENGTH_AMBIGUITY_MS`]. When the query names the
    /// album and the track's album agrees, the album tells it apart from songs of about its
    /// length on the artist's other albums: an album holds one track of each song.
    pub(super) fn match_by_length(
        &self,
        query: &Prepared,
        artists: &[u32],
    ) -> Option<MatchOutcome> {
        let script = normalize::script_of(&query.title.base);
        if script == Script::None {
            return None;
        }
        let Some(duration) = query.duration_ms else {
            return self.only_song_in_other_script(query, artists, script);
        };
        let query_ascii = query.title.base.is_ascii();
        let blocks = || {
            artists
                .iter()
                .map(|artist| self.index.artist_block(*artist))
                .filter(|block| block.len() <= self.config.max_block)
                .flatten()
                .copied()
        };
        let fits = |item: u32, within: u32| {
            self.index.view_masked(item, &self.mask).filter(|view| {
                view.kind() == ItemKind::Track
                    && self.kinds_agree(query, view)
                    && view
                        .duration_ms()
                        .is_some_and(|theirs| theirs.abs_diff(duration) <= within)
            })
        };
        // First the tracks in the other script of the right length (the dense shape tells the
        // script apart without touching the item): usually none, and the scan ends here.
        let album_agrees = |item: u32| {
            query.album.as_deref().is_some_and(|ours| {
                self.index
                    .view_masked(item, &self.mask)
                    .is_some_and(|view| similarity(ours, view.album_norm()) >= ALBUM_AGREES)
            })
        };
        let mut in_other_script = blocks()
            .filter(|item| self.index.title_shape(*item).ascii != query_ascii)
            .filter(|item| {
                fits(*item, SAME_LENGTH_MS).is_some_and(|view| {
                    let theirs = normalize::script_of(view.title_norm());
                    theirs != Script::None && theirs != script
                })
            });
        // The one on the query's album first, if the query names one.
        let first = in_other_script.next()?;
        let found = if query.album.is_some() && !album_agrees(first) {
            in_other_script
                .find(|item| album_agrees(*item))
                .unwrap_or(first)
        } else {
            first
        };
        let found_on_album = album_agrees(found);
        // Another song of about this length: the length does not tell them apart, unless the
        // album does (the query's album is the found track's and not the other's).
        if blocks().any(|item| {
            item != found
                && fits(item, LENGTH_AMBIGUITY_MS).is_some()
                && !self.same_song(found, item)
                && (!found_on_album || album_agrees(item))
        }) {
            return None;
        }
        let item = found;
        let view = self.index.view_masked(item, &self.mask)?;
        let artist = self.artist_similarity(query, &view);
        // An artist written in another script that is no reading of the library's name
        // ("Mariya Takenaka" for `竹内まりや`) is not known to be the library's: with the
        // album agreeing as well, the track is offered for review, never accepted.
        let artist_known = artist >= self.config.artist_floor;
        let other_script =
            found_on_album && self.scripts_differ(query.artist_script, view.artist_ids());
        if !artist_known && !other_script {
            return None;
        }
        // What the query says and the track does not carry: offered for review.
        let band = if artist_known
            && self.title_agrees_beside_length(query, &view, item)
            && self.claims_backed(query, &view)
        {
            Band::Accept
        } else {
            Band::Review
        };
        Some(MatchOutcome {
            best: self.candidate(item, artist.min(1.0)),
            band,
            method: MatchMethod::Fuzzy,
            runner_up: None,
        })
    }

    /// The length found the track, not the title: a song the library does not hold may have
    /// the length of the artist's one track in the other script. Its title must agree too:
    /// read in the other script, a form the track keeps (a romanised title in brackets), or an
    /// English title in katakana spelt near enough ([`katakana_near`]).
    fn title_agrees_beside_length(&self, query: &Prepared, view: &ItemView<'_>, item: u32) -> bool {
        self.title_similarity(query, view, item, TITLE_FLOOR)
            .is_some()
            || self
                .other_form(query, item)
                .is_some_and(|form| !form.by_work)
            || katakana_near(&query.title.base, view.title_norm())
    }

    /// A translated title without a length ("Racing into the Night" for `夜に駆ける`): when
    /// the artist (the library's name for it) has one song whose title is in another script
    /// than the query's — on the query's album, if it names one — that song is offered for
    /// review, never accepted: the title says nothing the library's does.
    fn only_song_in_other_script(
        &self,
        query: &Prepared,
        artists: &[u32],
        script: Script,
    ) -> Option<MatchOutcome> {
        let query_ascii = query.title.base.is_ascii();
        let mut found: Option<u32> = None;
        for artist in artists {
            let block = self.index.artist_block(*artist);
            if block.len() > self.config.max_block {
                continue;
            }
            for item in block {
                if self.index.title_shape(*item).ascii == query_ascii {
                    continue;
                }
                let Some(view) = self.index.view_masked(*item, &self.mask) else {
                    continue;
                };
                let theirs = normalize::script_of(view.title_norm());
                if view.kind() != ItemKind::Track
                    || theirs == Script::None
                    || theirs == script
                    || !self.kinds_agree(query, &view)
                    || query
                        .album
                        .as_deref()
                        .is_some_and(|ours| similarity(ours, view.album_norm()) < ALBUM_AGREES)
                {
                    continue;
                }
                match found {
                    None => found = Some(*item),
                    Some(known) if known == *item || self.same_song(known, *item) => {}
                    Some(_) => return None,
                }
            }
        }
        let item = found?;
        let view = self.index.view_masked(item, &self.mask)?;
        let artist = self.artist_similarity(query, &view);
        if artist < self.config.artist_floor {
            return None;
        }
        Some(MatchOutcome {
            best: self.candidate(item, artist.min(1.0) * self.config.review),
            band: Band::Review,
            method: MatchMethod::Fuzzy,
            runner_up: None,
        })
    }
}

/// An English title and its katakana spelling whose [`normalize::katakana_skeleton`]s of four
/// letters or more differ by little ("christmas eve" and `クリスマス・イブ`, where katakana drops
/// the "t"): the title agrees, though not enough to be found by it alone.
fn katakana_near(ours: &str, theirs: &str) -> bool {
    let one_each = (normalize::has_katakana(theirs) && ours.is_ascii())
        || (normalize::has_katakana(ours) && theirs.is_ascii());
    if !one_each {
        return false;
    }
    let (a, b) = (
        normalize::katakana_skeleton(ours),
        normalize::katakana_skeleton(theirs),
    );
    a.len().min(b.len()) >= 4 && similarity(&a, &b) >= KATAKANA_NEAR
}

/// How alike two katakana skeletons must be for [`katakana_near`].
const KATAKANA_NEAR: f32 = 0.8;

/// A normalised heading without the number or label before its name ("dance of the knights"
/// for "no 13 dance of the knights", "jupiter" for "iv jupiter").
fn without_leading_number(heading: &str) -> String {
    let mut rest: Vec<&str> = heading.split(' ').collect();
    if rest.first() == Some(&"no") && rest.len() > 2 {
        rest.drain(..2);
    } else if rest.len() > 1
        && (rest[0].bytes().all(|b| b.is_ascii_digit())
            || normalize::roman_value(rest[0]).is_some())
    {
        rest.remove(0);
    }
    rest.join(" ")
}

/// How alike artist name `other` is to the query's `name` (`loose_name` its loose Latin form
/// between spaces, for a name of five letters or more), when it is alike enough to be a
/// candidate: as written, by Latin letters, with initials, inside a longer name, or sharing
/// a whole Latin name (0).
fn name_likeness(name: &str, other: &str, loose_name: Option<&str>) -> Option<f32> {
    similarity_at_least(name, other, 0.75)
        .or_else(|| {
            // Written in two scripts: compared by their Latin letters.
            (!name.is_ascii() || !other.is_ascii())
                .then(|| normalize::name_similarity(name, other))
                .filter(|sim| *sim >= 0.75)
        })
        .or_else(|| {
            // Initials before the surname: "js bach" for "johann sebastian bach".
            let initials = name.split(' ').count() > 1
                && name.split(' ').next().is_some_and(|first| first.len() <= 3);
            initials
                .then(|| normalize::name_similarity(name, other))
                .filter(|sim| *sim >= 0.75)
        })
        .or_else(|| {
            // A name inside a longer one: "vivaldi" in "antonio vivaldi", also as
            // another convention romanises it: "rachmaninov" in "sergei
            // rachmaninoff", "tschaikowsky" in "pyotr ilyich tchaikovsky".
            let inside = other.contains(name)
                || loose_name.is_some_and(|loose| {
                    other.is_ascii()
                        && format!(" {} ", normalize::loose_latin(other)).contains(loose)
                });
            (inside && normalize::name_similarity(name, other) >= 0.75)
                .then(|| normalize::name_similarity(name, other))
        })
        .or_else(|| {
            // A name in another script whose Latin letters share a whole name
            // with the query's ("mariya" in "Mariya Takeuchi" and `竹内まりや`): a
            // candidate only, for the fallbacks that need more to agree.
            normalize::shares_latin_name(name, other).then_some(0.0)
        })
}
