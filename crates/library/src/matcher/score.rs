//! Scoring one candidate against a query: title, artist, album and duration similarity,
//! the version and remixer checks that rule a candidate out, and whether two tracks are the
//! same song.

use super::*;

impl<'a> Matcher<'a> {
    /// Scores one candidate, or `None` when it is not one (wrong kind, hidden, another
    /// version, or a title too far off).
    pub(super) fn score(&self, query: &Prepared, item: u32) -> Option<Scored> {
        self.score_from(query, item, TITLE_FLOOR)
    }

    /// Scores a candidate whose title similarity reaches `min_title`, else `None`.
    pub(super) fn score_from(&self, query: &Prepared, item: u32, min_title: f32) -> Option<Scored> {
        self.score_with(query, item, min_title, None)
    }

    /// Like [`Matcher::score_from`]; `short_form` is set for a candidate found by another form
    /// of a title, whose full titles need not be alike.
    pub(super) fn score_with(
        &self,
        query: &Prepared,
        item: u32,
        min_title: f32,
        short_form: Option<ShortForm>,
    ) -> Option<Scored> {
        // The dense shape check first: most candidates of a large artist block end here,
        // before their slot and text are touched.
        if short_form.is_none() && !self.shape_could_reach(query, item, min_title) {
            return None;
        }
        let view = self.index.view_masked(item, &self.mask)?;
        if view.kind() != ItemKind::Track || !self.kinds_agree(query, &view) {
            return None;
        }
        let title = match short_form {
            Some(_) => SHORT_FORM_SIMILARITY,
            None => self.title_similarity(query, &view, item, min_title)?,
        };
        // Numbers are part of a title's identity: "Part 1" is not "Part 2", "No. 5" not "No. 9".
        let work = if query.title.work.is_some() || short_form.is_some() {
            self.work_check(query, &view, short_form)?
        } else if !normalize::numbers_agree(&query.title.base, view.title_norm()) {
            return None;
        } else {
            WorkCheck::NONE
        };
        let (version_text_differs, version_unconfirmed) = version_check(query, &view)?;
        let artist = self.artist_similarity(query, &view);
        let album_similarity = query
            .album
            .as_deref()
            .zip(Some(view.album_norm()).filter(|theirs| !theirs.is_empty()))
            .map(|(ours, theirs)| similarity(ours, theirs));
        let album_agrees = album_similarity.is_some_and(|s| s >= ALBUM_AGREES);
        let durations = self.comparable_durations(query, &view);
        let length_agrees =
            durations.is_some_and(|(a, b)| a.abs_diff(b) <= self.config.duration_tolerance_ms);
        // An artist credit that does not look like the library's is not always another
        // artist: it may be written in another script ("방탄소년단" for "BTS"), or be another
        // name of the same act (an alias, a former name, the performer where the library
        // credits the composer). A name in another script, or another name in the same script
        // when the title, the album and the length all agree, is left out of the score rather
        // than counted as different, so the candidate is offered for review; it is never
        // accepted, for the library does not carry the name (a reading of the library's name
        // is known, and scores as the artist).
        let scripts_differ = self.scripts_differ(query.artist_script, view.artist_ids());
        let artist_renamed = artist < self.config.artist_floor
            && !scripts_differ
            && title >= UNKNOWN_ARTIST_TITLE_FLOOR
            && album_agrees
            && length_agrees;
        let artist_unknown =
            artist < self.config.artist_floor && (scripts_differ || artist_renamed);
        let vouched =
            artist_unknown && self.vouched_for(query, &view, title, durations, scripts_differ);
        // A classical title found by its work, under another credit: the composer where the
        // library credits the performers, or the other way round ("Johann Sebastian Bach" for
        // "Yo-Yo Ma"). Left out of the score when the works agree; offered, never accepted.
        let credited_otherwise = artist < self.config.artist_floor
            && !artist_unknown
            && work.confirmed
            && short_form.is_some_and(|f| f.by_work);
        let artist_counts = !artist_unknown && !credited_otherwise;
        let (score, durations_disagree) = self.weighted(
            title,
            artist_counts.then_some(artist),
            album_similarity,
            durations,
        );
        let edit = normalize::edit_agreement(
            &query.edit_words,
            &normalize::edit_words(view.edit_text(), view.album().unwrap_or("")),
        );
        let words_accounted = words_accounted(query, &view, title, short_form);
        // Worked out only where it can change the band: for a candidate that could be accepted.
        let claims_backed = !work.renumbered
            && !work.whole_or_part
            && !credited_otherwise
            && (score + SCORE_SLACK < self.config.accept
                || (words_accounted && self.claims_backed(query, &view)));
        Some(Scored {
            item,
            score,
            title,
            artist,
            durations_disagree,
            edit,
            version_text_differs,
            version_unconfirmed,
            claims_backed,
            movement: work.movement,
            whole_or_part: work.whole_or_part,
            vouched,
        })
    }

    /// The query's length and the candidate's, when both are known and say something: a
    /// music video's length runs longer than its recording's, so a longer one says nothing.
    fn comparable_durations(&self, query: &Prepared, view: &ItemView<'_>) -> Option<(u32, u32)> {
        query
            .duration_ms
            .zip(view.duration_ms())
            .filter(|(ours, theirs)| {
                !(query.video_length
                    && *ours > theirs + self.config.duration_tolerance_ms
                    && *ours <= theirs + VIDEO_EXTRA_MS)
            })
    }

    /// Whether the candidate's title shape could reach `min_title` against the query's. Titles
    /// in different scripts are compared by their Latin letters, which the shapes do not show;
    /// so are two titles in another script, whose letters may differ where their Latin ones do
    /// not (`紅豆` and `红豆`, traditional and simplified).
    fn shape_could_reach(&self, query: &Prepared, item: u32, min_title: f32) -> bool {
        let shape = self.index.title_shape(item);
        query.shape.ascii != shape.ascii
            || (!query.shape.ascii && !shape.ascii)
            || query.shape.could_reach(shape, min_title)
            || query
                .shape_without_article
                .is_some_and(|own| own.could_reach(shape, min_title))
    }

    /// The best of the ways the titles can be alike that reaches `min_title`: as written,
    /// without an article, by their Latin letters, transliterated, a reading of the kanji, an
    /// English title in katakana.
    pub(super) fn title_similarity(
        &self,
        query: &Prepared,
        view: &ItemView<'_>,
        item: u32,
        min_title: f32,
    ) -> Option<f32> {
        let direct = similarity_at_least(&query.title.base, view.title_norm(), min_title);
        let without_article = query
            .base_without_article
            .as_deref()
            .and_then(|rest| similarity_at_least(rest, view.title_norm(), min_title));
        // Either side in another script: compare their Latin letters, as they are
        // and in the form every transliteration reaches ("Khochesh" and "Hochesh",
        // "Kalašnjikov" and "Kalashnikov", "لبيروت" and "Li Beirut").
        let theirs = view.title_norm();
        let latin = (!query.title.base.is_ascii() || !theirs.is_ascii())
            .then(|| {
                let ours = query.latin_base.as_deref().unwrap_or(&query.title.base);
                let theirs_latin = normalize::latin_form(theirs);
                let theirs = theirs_latin.as_deref().unwrap_or(theirs);
                similarity_at_least(ours, theirs, min_title)
            })
            .flatten();
        // Only for a candidate that would fail otherwise, of a length that can reach
        // the floor (transliterations change a title's length by little).
        // (Lengths in two scripts say nothing: "月亮" is "yue liang".)
        let shape = self.index.title_shape(item);
        let (ours_len, theirs_len) = (query.shape.chars, shape.chars);
        let transliterated = (direct.is_none()
            && without_article.is_none()
            && latin.is_none()
            && (query.shape.ascii != shape.ascii
                || f32::from(ours_len.min(theirs_len))
                    >= 0.5 * f32::from(ours_len.max(theirs_len)))
            && (query.raw_title_beyond_ascii || !view.title().is_ascii()))
        .then(|| {
            normalize::transliterated_similarity(&query.title.base, theirs, normalize::similarity)
        })
        .filter(|s| *s >= min_title);
        // A romanised title and its kanji ("Hakujitsu", `白日`): one of the readings.
        let reading = (direct.is_none()
            && without_article.is_none()
            && latin.is_none()
            && query.title.base.is_ascii() != theirs.is_ascii()
            && (japanese::reads_as(&query.title.base, theirs, false)
                || japanese::reads_as(theirs, &query.title.base, false)))
        .then_some(normalize::READING_SIMILARITY)
        .filter(|s| *s >= min_title);
        // An English title written in katakana ("ビリー・ジーン" for "Billie Jean"), which
        // its Latin letters ("birii jiin") do not bring near enough.
        let katakana = (query.shape.ascii != shape.ascii)
            .then(|| normalize::katakana_similarity(&query.title.base, theirs))
            .flatten()
            .filter(|s| *s >= min_title);
        direct
            .into_iter()
            .chain(without_article)
            .chain(latin)
            .chain(transliterated)
            .chain(reading)
            .chain(katakana)
            .fold(None, |best: Option<f32>, s| {
                Some(best.map_or(s, |b| b.max(s)))
            })
    }

    /// Classical titles, and candidates found by another form of a title: what both name
    /// (key, catalogue number, movement) must agree (`None` when it does not); a candidate
    /// found by a one-word movement ("Allegro") needs its work confirmed.
    fn work_check(
        &self,
        query: &Prepared,
        view: &ItemView<'_>,
        short_form: Option<ShortForm>,
    ) -> Option<WorkCheck> {
        let mut check = WorkCheck::NONE;
        let mut theirs = normalize::parse_title(view.title());
        // A piece of a set found as the piece is compared as the piece ("gymnopedie no 1
        // lent et douloureux"): the set's count and catalogue are not the piece's.
        if short_form.is_some_and(|f| f.piece)
            && let Some(piece) = theirs.work.as_deref().and_then(|w| w.piece.clone())
        {
            theirs = normalize::parse_title(&piece);
        }
        let mut finale: Option<u32> = None;
        if !titles_fit(&query.title, &theirs, short_form) {
            finale = renumbered_fit(&query.title, &theirs, short_form)?;
            check.renumbered = true;
        }
        // Found by one distinctive word alone ("Jupiter", "Lacrimosa") that names a
        // movement or a work without confirming which work: offered, never accepted.
        if short_form.is_some_and(|f| f.one_word)
            && (query.title.work.is_some() || theirs.work.is_some())
            && normalize::compare_works(&query.title, &theirs) == WorkVerdict::Neutral
        {
            check.renumbered = true;
        }
        // Found by the first words of its movement's heading alone: offered.
        if short_form.is_some_and(|f| f.partial) {
            check.renumbered = true;
        }
        check.confirmed = normalize::compare_works(&query.title, &theirs) == WorkVerdict::Confirmed;
        let names_movement = |title: &ParsedTitle| {
            title
                .work
                .as_deref()
                .is_some_and(|w| w.movement.is_some() || w.movement_number.is_some())
        };
        let lengths_agree = query
            .duration_ms
            .zip(view.duration_ms())
            .is_some_and(|(a, b)| a.abs_diff(b) <= self.config.duration_tolerance_ms);
        if (short_form.is_none() || short_form.is_some_and(|f| f.work_only))
            && query.title.work.is_some()
            && names_movement(&query.title) != names_movement(&theirs)
            && !lengths_agree
        {
            check.whole_or_part = true;
        }
        // The movement's number, when the query names the work alone; the last first
        // for a finale.
        if let Some(number) = finale {
            check.whole_or_part = true;
            check.movement = u32::MAX - 1 - number;
        } else if !names_movement(&query.title) {
            check.movement = theirs
                .work
                .as_deref()
                .and_then(|w| w.movement_number)
                .unwrap_or(u32::MAX);
        }
        Some(check)
    }

    /// A name the library does not carry is vouched for when everything else names the
    /// recording: the same title, the candidate's own release (not a compilation, which holds
    /// other acts' recordings too), a length within 2 s. A name in the same script must also
    /// be none the library carries (then it is another act). Accepted only when no other song
    /// has the title ([`Matcher::decide`]).
    fn vouched_for(
        &self,
        query: &Prepared,
        view: &ItemView<'_>,
        title: f32,
        durations: Option<(u32, u32)>,
        scripts_differ: bool,
    ) -> bool {
        title + SCORE_SLACK >= UNKNOWN_ARTIST_TITLE_FLOOR
            && query.album.as_deref().is_some_and(|ours| {
                !view.album_norm().is_empty() && claims::same_release(ours, view.album_norm())
            })
            && durations.is_some_and(|(a, b)| a.abs_diff(b) <= SAME_LENGTH_MS)
            && view
                .album_artist_id()
                .is_none_or(|id| view.artist_ids().contains(&id))
            && (scripts_differ
                || !query
                    .artists
                    .iter()
                    .any(|name| self.index.artist_id(name).is_some()))
    }

    /// The weighted mean of the similarities there are (the artist's when it counts), and
    /// whether the lengths differ by more than acceptance allows.
    fn weighted(
        &self,
        title: f32,
        artist: Option<f32>,
        album_similarity: Option<f32>,
        durations: Option<(u32, u32)>,
    ) -> (f32, bool) {
        let [w_title, w_artist, w_album, w_duration] = self.config.weights;
        let mut total = w_title * title;
        let mut weight = w_title;
        if let Some(artist) = artist {
            total += w_artist * artist;
            weight += w_artist;
        }
        if let Some(album_similarity) = album_similarity {
            total += w_album * album_similarity;
            weight += w_album;
        }
        let mut durations_disagree = false;
        if let Some((ours, theirs)) = durations {
            total += w_duration * self.duration_similarity(ours, theirs);
            weight += w_duration;
            durations_disagree = ours.abs_diff(theirs) > self.config.duration_accept_limit_ms;
        }
        (total / weight, durations_disagree)
    }

    /// True when the candidate is the kind of recording the query asks for: the title's
    /// version tags agree, or a plain title is read with its album's kind ("Hey Jude" on "Live
    /// at the BBC" is live, either way round).
    pub(super) fn kinds_agree(&self, query: &Prepared, view: &ItemView<'_>) -> bool {
        let (ours, theirs) = (query.title.version, view.version());
        if theirs.same_kind(ours) {
            return true;
        }
        if ours.is_original() {
            return !query.album_kinds.is_original() && theirs.same_kind(query.album_kinds);
        }
        theirs.is_original() && {
            let (album_kinds, concert) = query.album_kinds_of(view);
            (!album_kinds.is_original() && album_kinds.same_kind(ours))
                || (ours == VersionTags::LIVE && concert)
                || live_on_the_album_named(query, view)
        }
    }

    /// True when the query's artist credit and the library's names are written in different
    /// scripts (one Latin, one not).
    pub(super) fn scripts_differ(&self, ours: Script, artist_ids: &[u32]) -> bool {
        if ours == Script::None || artist_ids.is_empty() {
            return false;
        }
        artist_ids.iter().all(|id| {
            let theirs = normalize::script_of(self.index.artist_name(*id));
            theirs != Script::None && theirs != ours
        })
    }

    pub(super) fn duration_similarity(&self, a: u32, b: u32) -> f32 {
        // Equal within the tolerance, then falling to nothing 12 s further: two recordings of
        // one title rarely differ by less.
        let tolerance = self.config.duration_tolerance_ms as f32;
        let delta = a.abs_diff(b) as f32;
        (1.0 - (delta - tolerance).max(0.0) / 12_000.0).max(0.0)
    }

    pub(super) fn artist_similarity(&self, query: &Prepared, view: &ItemView<'_>) -> f32 {
        // An act named by symbols alone ("!!!", "!!! (Chk Chk Chk)") is its symbols, as the
        // library writes them.
        if let Some(ours) = query.symbol_artist.as_deref() {
            let same = view
                .artists()
                .iter()
                .any(|theirs| normalize::symbol_name(theirs).as_deref() == Some(ours));
            if same || query.artists.is_empty() {
                return if same { 1.0 } else { 0.0 };
            }
        }
        let ids = view.artist_ids();
        let album_artist = view.album_artist_id().unwrap_or(u32::MAX);
        if let Ok(cache) = query.artist_cache.try_borrow()
            && let Some((_, _, known)) = cache
                .iter()
                .find(|(cached, by, _)| cached == ids && *by == album_artist)
        {
            return *known;
        }
        let similarity = self.artist_similarity_uncached(query, view);
        if let Ok(mut cache) = query.artist_cache.try_borrow_mut()
            && cache.len() < 64
        {
            cache.push((ids.to_vec(), album_artist, similarity));
        }
        similarity
    }

    pub(super) fn artist_similarity_uncached(&self, query: &Prepared, view: &ItemView<'_>) -> f32 {
        let theirs: Vec<&str> = view
            .artist_ids()
            .iter()
            .map(|id| self.index.artist_name(*id))
            .collect();
        // One credit against one name is the same pair of names for the names both ways, the
        // whole credits and the album artist (most often the track's own): each pair is
        // compared once. The similarity of two names does not depend on their order.
        let compared: std::cell::RefCell<Vec<(String, String, f32)>> = Default::default();
        let name_similarity = |ours: &str, theirs: &str| -> f32 {
            let known = compared
                .borrow()
                .iter()
                .find(|(a, b, _)| (a == ours && b == theirs) || (a == theirs && b == ours))
                .map(|(_, _, similarity)| *similarity);
            known.unwrap_or_else(|| {
                let similarity = normalize::name_similarity(ours, theirs);
                compared
                    .borrow_mut()
                    .push((ours.to_string(), theirs.to_string(), similarity));
                similarity
            })
        };
        let set_score = |theirs: &[&str]| -> f32 {
            if theirs.is_empty() {
                return 0.0;
            }
            let best_for = |name: &str, pool: &[&str]| {
                pool.iter()
                    .map(|other| name_similarity(name, other))
                    .fold(0.0f32, f32::max)
            };
            let ours: Vec<&str> = query.artists.iter().map(String::as_str).collect();
            let per_ours: Vec<f32> = ours.iter().map(|name| best_for(name, theirs)).collect();
            let per_theirs: Vec<f32> = theirs.iter().map(|name| best_for(name, &ours)).collect();
            let strongest = per_ours.iter().copied().fold(0.0f32, f32::max);
            let covered_ours = per_ours.iter().sum::<f32>() / per_ours.len() as f32;
            let covered_theirs = per_theirs.iter().sum::<f32>() / per_theirs.len() as f32;
            let set = 0.7 * strongest + 0.15 * covered_ours + 0.15 * covered_theirs;
            // "Earth Wind and Fire" splits differently from "Earth, Wind & Fire": compare
            // the whole credits as well.
            let joined = theirs.join(" ");
            let whole = name_similarity(&query.artists_joined, &joined);
            // Numbers in words or digits ("Marrow Seven", "Marrow 7"), either side.
            // (The library's side only when the query's has digits: most credits have none.)
            let theirs_in_digits = query
                .artists_joined
                .bytes()
                .any(|b| b.is_ascii_digit())
                .then(|| normalize::number_words_as_digits(&joined))
                .flatten();
            let in_digits = if query.artists_in_digits.is_some() || theirs_in_digits.is_some() {
                name_similarity(
                    query
                        .artists_in_digits
                        .as_deref()
                        .unwrap_or(&query.artists_joined),
                    theirs_in_digits.as_deref().unwrap_or(&joined),
                )
            } else {
                0.0
            };
            // A name as it is said ("Ten Thousand Maniacs" and "10,000 Maniacs", "Guns and
            // Roses" and "Guns N' Roses", "Mister Big" and "Mr. Big"), either side.
            let ours_said = query.credit_said.as_deref();
            let theirs_said = normalize::spoken_name(&joined);
            let said = if ours_said.is_some() || theirs_said.is_some() {
                let (ours, theirs) = (
                    ours_said.unwrap_or(&query.credit),
                    theirs_said.as_deref().unwrap_or(&joined),
                );
                // Said alike, numbers and all: "9000" is not "10000", however alike the
                // letters.
                let numbers = |name: &str| -> Vec<String> {
                    name.split(' ')
                        .filter(|word| word.bytes().any(|b| b.is_ascii_digit()))
                        .map(str::to_string)
                        .collect()
                };
                if numbers(ours) == numbers(theirs) {
                    name_similarity(ours, theirs)
                } else {
                    0.0
                }
            } else {
                0.0
            };
            set.max(whole).max(in_digits).max(said)
        };
        let own = set_score(&theirs);
        let album_artist = view
            .album_artist_id()
            .map(|id| set_score(&[self.index.artist_name(id)]))
            .unwrap_or(0.0);
        own.max(album_artist)
    }

    pub(super) fn candidate(&self, item: u32, score: f32) -> Option<Candidate> {
        let view = self.index.view_masked(item, &self.mask)?;
        Some(Candidate {
            item: ItemNo(item),
            id: view.id().to_string(),
            section_id: view.section_id().to_string(),
            title: view.title().to_string(),
            artist: view.artists().join(", "),
            album: view.album().map(str::to_string),
            score,
        })
    }

    /// True when two tracks are the same song (duplicates across albums or sections).
    pub(super) fn same_song(&self, a: u32, b: u32) -> bool {
        let (Some(a), Some(b)) = (
            self.index.view_masked(a, &self.mask),
            self.index.view_masked(b, &self.mask),
        ) else {
            return false;
        };
        // Reissues of one recording differ by a few seconds of silence; another edit is told
        // apart by its edit words.
        let durations_agree = match (a.duration_ms(), b.duration_ms()) {
            (Some(x), Some(y)) => x.abs_diff(y) <= self.config.duration_accept_limit_ms,
            _ => true,
        };
        a.title_norm() == b.title_norm()
            && a.version() == b.version()
            && a.version_text() == b.version_text()
            && a.edit_text() == b.edit_text()
            && a.artist_ids().iter().any(|id| b.artist_ids().contains(id))
            && durations_agree
    }
}

/// Whether a library remix is the remix a query asks for.
pub(super) enum Agreement {
    Agree,
    Unknown,
    Disagree,
}

/// Compares who made two remixes: the words of the version descriptions that are neither the
/// kind ("remix", "mix") nor edition noise ("radio edit"). A query that names no remixer
/// agrees when the library's remixer is among its artists ("Lady Gaga feat. Starsmith" –
/// "Bad Romance (Remix)" for "Bad Romance (Starsmith Remix)").
pub(super) fn remix_agreement(query: &Prepared, theirs: &str) -> Agreement {
    let ours = normalize::version_identity(&query.title.version_text);
    let theirs = normalize::version_identity(theirs);
    let within = |part: &[&str], whole: &[&str]| part.iter().all(|word| whole.contains(word));
    match (ours.is_empty(), theirs.is_empty()) {
        (true, true) => Agreement::Agree,
        (false, false) if within(&ours, &theirs) && within(&theirs, &ours) => Agreement::Agree,
        // One names more than the other ("Pumice Extended Remix" for "Extended Mix"): who
        // made it, or which of its edits, is not known to be the same.
        (false, false) if within(&ours, &theirs) || within(&theirs, &ours) => Agreement::Unknown,
        (false, false) => Agreement::Disagree,
        (false, true) => Agreement::Unknown,
        (true, false) => {
            let credited: Vec<&str> = query
                .artists
                .iter()
                .skip(1)
                .flat_map(|name| name.split(' '))
                .collect();
            if within(&theirs, &credited) {
                Agreement::Agree
            } else {
                Agreement::Unknown
            }
        }
    }
}

/// What comparing the works of two classical titles found ([`Matcher::work_check`]).
struct WorkCheck {
    /// Two numbers of a catalogue a later edition revised ("L. 32" and "L. 75") may name one
    /// work, a movement may be named otherwise: when the rest agrees, the candidate is
    /// offered, never accepted.
    renumbered: bool,
    /// A whole work asked for where the library holds a movement of it (or the other way
    /// round), found by the work's name or number: not the same recording, but what a person
    /// looks for. Offered, first movements first, never accepted.
    whole_or_part: bool,
    /// The order among such offers (`u32::MAX` when none).
    movement: u32,
    /// Both name the same work.
    confirmed: bool,
}

impl WorkCheck {
    /// Nothing to compare: not a classical title.
    const NONE: WorkCheck = WorkCheck {
        renumbered: false,
        whole_or_part: false,
        movement: u32::MAX,
        confirmed: false,
    };
}

/// The text whose numbers a title's numbers are compared by: the work's without its
/// numeral, else the title's.
fn numbers_text(title: &ParsedTitle) -> String {
    match title
        .work
        .as_deref()
        .and_then(|w| w.without_numeral.as_ref())
    {
        Some(text) => text.clone(),
        None => title.base.clone(),
    }
}

/// Whether two titles' numbers agree and their works do not conflict.
fn titles_fit(ours: &ParsedTitle, theirs: &ParsedTitle, short_form: Option<ShortForm>) -> bool {
    // A catalogue identity both share ("RV 269") settles the catalogue: catalogue
    // numbers only one side writes ("Op. 8") are not other numbers.
    let agree = normalize::numbers_agree(&numbers_text(ours), &numbers_text(theirs))
        || (normalize::share_catalogue_identity(ours, theirs)
            && normalize::without_catalogue(ours)
                .zip(normalize::without_catalogue(theirs))
                .is_some_and(|(ours, theirs)| normalize::numbers_agree(&ours, &theirs)));
    if !agree {
        return false;
    }
    if ours.work.is_some() || theirs.work.is_some() {
        match normalize::compare_works(ours, theirs) {
            WorkVerdict::Conflict => return false,
            WorkVerdict::Neutral if short_form.is_some_and(|f| f.generic) => {
                return false;
            }
            _ => {}
        }
    }
    true
}

/// Titles that do not fit as written may fit read another way, each offered and never
/// accepted: `Some(finale)` when one does (with the number of the movement a "Finale" is),
/// `None` when none does.
fn renumbered_fit(
    ours: &ParsedTitle,
    theirs: &ParsedTitle,
    short_form: Option<ShortForm>,
) -> Option<Option<u32>> {
    let fits = |ours: &ParsedTitle, theirs: &ParsedTitle| titles_fit(ours, theirs, short_form);
    // Two numbers of a catalogue a later edition revised.
    if let Some((ours, others)) = normalize::without_renumbered_catalogue(ours, theirs)
        && fits(&ours, &others)
    {
        return Some(None);
    }
    // A movement named by the first words of its heading, without its number ("Moonlight
    // Sonata - Adagio" for "I. Adagio sostenuto"): another movement may start so too.
    if let Some(ours) = normalize::with_movement_of(ours, theirs)
        && fits(&ours, theirs)
    {
        return Some(None);
    }
    // The same movement by number under another heading ("IV. Finale" for "IV. Presto -
    // Allegro assai").
    if let Some(ours) = normalize::with_movement_renamed(ours, theirs)
        && fits(&ours, theirs)
    {
        return Some(None);
    }
    // "Finale" for the work's movement of the highest number: offered, the highest first (as
    // a whole work's first movement is).
    match normalize::with_finale_of(ours, theirs) {
        Some((ours, number)) if fits(&ours, theirs) => Some(Some(number)),
        _ => None,
    }
}

/// The version words: the kinds agree (live, demo, acoustic …), so the words around them
/// ("Live 1994", "Live at Wembley") only break ties (whether they differ). A remix is also
/// who remixed it: `None` when another did, and whether it is unconfirmed.
fn version_check(query: &Prepared, view: &ItemView<'_>) -> Option<(bool, bool)> {
    if query.title.version.is_original() {
        return Some((false, false));
    }
    let differs = query.title.version_text != view.version_text();
    let mut unconfirmed = false;
    if query.title.version.contains(VersionTags::REMIX) {
        match remix_agreement(query, view.version_text()) {
            Agreement::Agree => {}
            Agreement::Unknown => unconfirmed = true,
            Agreement::Disagree => return None,
        }
    }
    Some((differs, unconfirmed))
}

/// A title alike but not equal is accepted only when it differs by slips of typing: a word
/// the other title does not account for ("Love Me Too" for "Love Me Do") is something the
/// query says and the library does not. Titles found by another form, classical titles and
/// titles in another script are compared otherwise.
fn words_accounted(
    query: &Prepared,
    view: &ItemView<'_>,
    title: f32,
    short_form: Option<ShortForm>,
) -> bool {
    short_form.is_some()
        || title + SCORE_SLACK >= 1.0
        || query.title.work.is_some()
        || !query.title.base.is_ascii()
        || !view.title_norm().is_ascii()
        || {
            // A title written with letters beyond a keyboard's ("Kalašnjikov") is
            // compared in the form every transliteration reaches.
            let loose = query.raw_title_beyond_ascii || !view.title().is_ascii();
            let form = |text: &str| {
                if loose {
                    normalize::loose_latin(text)
                } else {
                    text.to_string()
                }
            };
            let theirs = form(view.title_norm());
            let theirs_bare = theirs.strip_prefix("the ").unwrap_or(&theirs);
            [
                Some(query.title.base.as_str()),
                query.base_without_article.as_deref(),
            ]
            .into_iter()
            .flatten()
            .any(|ours| {
                let ours = form(ours);
                normalize::differ_by_slips(&ours, &theirs)
                    || normalize::differ_by_slips(&ours, theirs_bare)
            })
        }
}

/// A live album whose name does not say so ("Stop Making Sense", "At Folsom Prison") holds
/// its songs under plain titles, which a store lists as "Song (Live)" on that album: a
/// query that asks for a live recording, names the candidate's album and gives its length
/// within 2 s meets the plain title there. A live bonus track on a studio album's edition
/// ("Song - Live" on "Album (Deluxe Edition)") has another length than the studio track the
/// library holds, so the length is what tells the two apart: without it, no candidate.
fn live_on_the_album_named(query: &Prepared, view: &ItemView<'_>) -> bool {
    query.title.version == VersionTags::LIVE
        && query.title.qualifiers.is_empty()
        && query.album.as_deref().is_some_and(|ours| {
            !view.album_norm().is_empty() && claims::same_release(ours, view.album_norm())
        })
        && query
            .duration_ms
            .zip(view.duration_ms())
            .is_some_and(|(ours, theirs)| ours.abs_diff(theirs) <= SAME_LENGTH_MS)
}
