//! Famous classical works by their nicknames ("Moonlight Sonata", "Air on the G String",
//! "Winter" of Vivaldi's Four Seasons): the catalogue title each stands for, so a query that
//! names a work only by its nickname reaches the library's title by its catalogue number.
//!
//! A small hand-kept table of the nicknames playlists use most, not a catalogue: works are
//! found by their catalogue numbers, names, numbers and quoted nicknames without it
//! ([`super::WorkParts`]); this only adds the nicknames a library's title does not carry.

use super::*;

/// Composer's surname (normalised), the nickname (normalised), and the title it stands for
/// (as stores write it, parsed like any title).
const NICKNAMES: &[(&str, &str, &str)] = &[
    (
        "beethoven",
        "moonlight sonata",
        "Piano Sonata No. 14 in C-sharp minor, Op. 27 No. 2",
    ),
    (
        "beethoven",
        "pathetique sonata",
        "Piano Sonata No. 8 in C minor, Op. 13",
    ),
    (
        "beethoven",
        "sonata pathetique",
        "Piano Sonata No. 8 in C minor, Op. 13",
    ),
    (
        "beethoven",
        "appassionata",
        "Piano Sonata No. 23 in F minor, Op. 57",
    ),
    (
        "beethoven",
        "waldstein sonata",
        "Piano Sonata No. 21 in C major, Op. 53",
    ),
    (
        "beethoven",
        "tempest sonata",
        "Piano Sonata No. 17 in D minor, Op. 31 No. 2",
    ),
    (
        "beethoven",
        "emperor concerto",
        "Piano Concerto No. 5 in E-flat major, Op. 73",
    ),
    (
        "beethoven",
        "eroica",
        "Symphony No. 3 in E-flat major, Op. 55",
    ),
    (
        "beethoven",
        "eroica symphony",
        "Symphony No. 3 in E-flat major, Op. 55",
    ),
    (
        "beethoven",
        "pastoral symphony",
        "Symphony No. 6 in F major, Op. 68",
    ),
    (
        "beethoven",
        "choral symphony",
        "Symphony No. 9 in D minor, Op. 125",
    ),
    (
        "beethoven",
        "ode to joy",
        "Symphony No. 9 in D minor, Op. 125 - 4th movement",
    ),
    (
        "mozart",
        "jupiter symphony",
        "Symphony No. 41 in C major, K. 551",
    ),
    (
        "mozart",
        "turkish march",
        "Piano Sonata No. 11 in A major, K. 331: III. Rondo alla turca",
    ),
    (
        "mozart",
        "rondo alla turca",
        "Piano Sonata No. 11 in A major, K. 331: III. Rondo alla turca",
    ),
    (
        "mozart",
        "a little night music",
        "Serenade No. 13 in G major, K. 525",
    ),
    (
        "dvorak",
        "new world symphony",
        "Symphony No. 9 in E minor, Op. 95",
    ),
    (
        "schubert",
        "unfinished symphony",
        "Symphony No. 8 in B minor, D. 759",
    ),
    (
        "schubert",
        "trout quintet",
        "Piano Quintet in A major, D. 667",
    ),
    (
        "chopin",
        "minute waltz",
        "Waltz in D-flat major, Op. 64 No. 1",
    ),
    (
        "chopin",
        "raindrop prelude",
        "Prelude in D-flat major, Op. 28 No. 15",
    ),
    (
        "chopin",
        "revolutionary etude",
        "Etude in C minor, Op. 10 No. 12",
    ),
    (
        "chopin",
        "heroic polonaise",
        "Polonaise in A-flat major, Op. 53",
    ),
    (
        "bach",
        "air on the g string",
        "Orchestral Suite No. 3 in D major, BWV 1068: Air",
    ),
    (
        "bach",
        "air on g string",
        "Orchestral Suite No. 3 in D major, BWV 1068: Air",
    ),
    (
        "bach",
        "jesu joy of mans desiring",
        "Herz und Mund und Tat und Leben, BWV 147: Jesus bleibet meine Freude",
    ),
    (
        "vivaldi",
        "spring",
        "Violin Concerto in E major, Op. 8 No. 1, RV 269",
    ),
    (
        "vivaldi",
        "summer",
        "Violin Concerto in G minor, Op. 8 No. 2, RV 315",
    ),
    (
        "vivaldi",
        "autumn",
        "Violin Concerto in F major, Op. 8 No. 3, RV 293",
    ),
    (
        "vivaldi",
        "winter",
        "Violin Concerto in F minor, Op. 8 No. 4, RV 297",
    ),
    ("handel", "hallelujah chorus", "Messiah, HWV 56: Hallelujah"),
    (
        "tchaikovsky",
        "pathetique symphony",
        "Symphony No. 6 in B minor, Op. 74",
    ),
    (
        "mendelssohn",
        "wedding march",
        "A Midsummer Night's Dream, Op. 61: Wedding March",
    ),
    // The same nicknames as German, French and Italian stores and the works' own languages
    // write them.
    (
        "beethoven",
        "mondscheinsonate",
        "Piano Sonata No. 14 in C-sharp minor, Op. 27 No. 2",
    ),
    (
        "beethoven",
        "mondschein sonate",
        "Piano Sonata No. 14 in C-sharp minor, Op. 27 No. 2",
    ),
    (
        "beethoven",
        "sonate au clair de lune",
        "Piano Sonata No. 14 in C-sharp minor, Op. 27 No. 2",
    ),
    (
        "beethoven",
        "schicksalssinfonie",
        "Symphony No. 5 in C minor, Op. 67",
    ),
    (
        "mozart",
        "a little night music",
        "Serenade No. 13 in G major, K. 525",
    ),
    (
        "tchaikovsky",
        "symphonie pathetique",
        "Symphony No. 6 in B minor, Op. 74",
    ),
    (
        "grieg",
        "i dovregubbens hall",
        "Peer Gynt Suite No. 1, Op. 46: IV. In the Hall of the Mountain King",
    ),
    (
        "vivaldi",
        "la primavera",
        "Violin Concerto in E major, Op. 8 No. 1, RV 269",
    ),
    (
        "vivaldi",
        "lestate",
        "Violin Concerto in G minor, Op. 8 No. 2, RV 315",
    ),
    (
        "vivaldi",
        "lautunno",
        "Violin Concerto in F major, Op. 8 No. 3, RV 293",
    ),
    (
        "vivaldi",
        "linverno",
        "Violin Concerto in F minor, Op. 8 No. 4, RV 297",
    ),
    // Works known by an English name or a nickname the catalogue title does not carry.
    (
        "strauss",
        "the blue danube",
        "An der schönen blauen Donau, Op. 314",
    ),
    (
        "strauss",
        "blue danube",
        "An der schönen blauen Donau, Op. 314",
    ),
    (
        "strauss",
        "blue danube waltz",
        "An der schönen blauen Donau, Op. 314",
    ),
    (
        "strauss",
        "the blue danube waltz",
        "An der schönen blauen Donau, Op. 314",
    ),
    (
        "wagner",
        "ride of the valkyries",
        "Die Walküre, WWV 86B: Walkürenritt",
    ),
    (
        "wagner",
        "the ride of the valkyries",
        "Die Walküre, WWV 86B: Walkürenritt",
    ),
    ("pachelbel", "pachelbels canon", "Canon in D major"),
    (
        "liszt",
        "liebestraum",
        "Liebesträume, S. 541: No. 3 in A-flat major",
    ),
    (
        "liszt",
        "liebestraum no 3",
        "Liebesträume, S. 541: No. 3 in A-flat major",
    ),
    ("brahms", "lullaby", "Wiegenlied, Op. 49 No. 4"),
    ("brahms", "brahms lullaby", "Wiegenlied, Op. 49 No. 4"),
    ("brahms", "cradle song", "Wiegenlied, Op. 49 No. 4"),
    (
        "mozart",
        "queen of the night aria",
        "Die Zauberflöte, K. 620: Der Hölle Rache kocht in meinem Herzen",
    ),
    (
        "chopin",
        "funeral march",
        "Piano Sonata No. 2 in B-flat minor, Op. 35: III. Marche funèbre",
    ),
    (
        "beethoven",
        "spring sonata",
        "Violin Sonata No. 5 in F major, Op. 24",
    ),
    (
        "beethoven",
        "kreutzer sonata",
        "Violin Sonata No. 9 in A major, Op. 47",
    ),
    ("haydn", "surprise symphony", "Symphony No. 94 in G major"),
    (
        "mendelssohn",
        "italian symphony",
        "Symphony No. 4 in A major, Op. 90",
    ),
    ("bach", "little fugue", "Fugue in G minor, BWV 578"),
    // Works best known by an English name that no catalogue title carries.
    (
        "mendelssohn",
        "spring song",
        "Lieder ohne Worte, Op. 62 No. 6 in A major",
    ),
    (
        "mendelssohn",
        "scottish symphony",
        "Symphony No. 3 in A minor, Op. 56",
    ),
    ("mendelssohn", "hebrides overture", "The Hebrides, Op. 26"),
    ("mendelssohn", "fingals cave", "The Hebrides, Op. 26"),
    (
        "elgar",
        "land of hope and glory",
        "Pomp and Circumstance March No. 1 in D major, Op. 39 No. 1",
    ),
    (
        "saens",
        "the swan",
        "Le carnaval des animaux: XIII. Le cygne",
    ),
    ("saens", "swan", "Le carnaval des animaux: XIII. Le cygne"),
    (
        "saens",
        "organ symphony",
        "Symphony No. 3 in C minor, Op. 78",
    ),
    (
        "mozart",
        "elvira madigan",
        "Piano Concerto No. 21 in C major, K. 467: II. Andante",
    ),
    (
        "mozart",
        "haffner symphony",
        "Symphony No. 35 in D major, K. 385",
    ),
    (
        "mozart",
        "linz symphony",
        "Symphony No. 36 in C major, K. 425",
    ),
    (
        "mozart",
        "prague symphony",
        "Symphony No. 38 in D major, K. 504",
    ),
    (
        "mozart",
        "paris symphony",
        "Symphony No. 31 in D major, K. 297",
    ),
    ("mozart", "coronation mass", "Mass in C major, K. 317"),
    (
        "haydn",
        "farewell symphony",
        "Symphony No. 45 in F-sharp minor",
    ),
    ("haydn", "london symphony", "Symphony No. 104 in D major"),
    ("haydn", "clock symphony", "Symphony No. 101 in D major"),
    ("haydn", "military symphony", "Symphony No. 100 in G major"),
    (
        "haydn",
        "emperor quartet",
        "String Quartet in C major, Op. 76 No. 3",
    ),
    (
        "beethoven",
        "archduke trio",
        "Piano Trio in B-flat major, Op. 97",
    ),
    (
        "beethoven",
        "ghost trio",
        "Piano Trio in D major, Op. 70 No. 1",
    ),
    (
        "beethoven",
        "hammerklavier",
        "Piano Sonata No. 29 in B-flat major, Op. 106",
    ),
    (
        "schubert",
        "death and the maiden",
        "String Quartet No. 14 in D minor, D. 810",
    ),
    (
        "schumann",
        "rhenish symphony",
        "Symphony No. 3 in E-flat major, Op. 97",
    ),
    (
        "schumann",
        "spring symphony",
        "Symphony No. 1 in B-flat major, Op. 38",
    ),
    ("mahler", "titan", "Symphony No. 1 in D major"),
    (
        "mahler",
        "resurrection symphony",
        "Symphony No. 2 in C minor",
    ),
    (
        "bruckner",
        "romantic symphony",
        "Symphony No. 4 in E-flat major",
    ),
    (
        "tchaikovsky",
        "little russian symphony",
        "Symphony No. 2 in C minor, Op. 17",
    ),
    (
        "tchaikovsky",
        "winter daydreams",
        "Symphony No. 1 in G minor, Op. 13",
    ),
    (
        "dvorak",
        "american quartet",
        "String Quartet No. 12 in F major, Op. 96",
    ),
    (
        "chopin",
        "black key etude",
        "Étude in G-flat major, Op. 10 No. 5",
    ),
    ("chopin", "tristesse", "Étude in E major, Op. 10 No. 3"),
    (
        "chopin",
        "winter wind etude",
        "Étude in A minor, Op. 25 No. 11",
    ),
    ("chopin", "ocean etude", "Étude in C minor, Op. 25 No. 12"),
    (
        "chopin",
        "butterfly etude",
        "Étude in G-flat major, Op. 25 No. 9",
    ),
    (
        "chopin",
        "aeolian harp etude",
        "Étude in A-flat major, Op. 25 No. 1",
    ),
    (
        "chopin",
        "military polonaise",
        "Polonaise in A major, Op. 40 No. 1",
    ),
    ("offenbach", "can can", "Orphée aux enfers: Galop infernal"),
    (
        "rossini",
        "william tell overture",
        "Guillaume Tell: Overture",
    ),
    ("handel", "largo", "Serse, HWV 40: Ombra mai fù"),
    (
        "vivaldi",
        "der fruhling",
        "Violin Concerto in E major, Op. 8 No. 1, RV 269",
    ),
    (
        "vivaldi",
        "der sommer",
        "Violin Concerto in G minor, Op. 8 No. 2, RV 315",
    ),
    (
        "vivaldi",
        "der herbst",
        "Violin Concerto in F major, Op. 8 No. 3, RV 293",
    ),
    (
        "vivaldi",
        "der winter",
        "Violin Concerto in F minor, Op. 8 No. 4, RV 297",
    ),
    (
        "vivaldi",
        "le printemps",
        "Violin Concerto in E major, Op. 8 No. 1, RV 269",
    ),
    (
        "vivaldi",
        "lete",
        "Violin Concerto in G minor, Op. 8 No. 2, RV 315",
    ),
    (
        "vivaldi",
        "lautomne",
        "Violin Concerto in F major, Op. 8 No. 3, RV 293",
    ),
    (
        "vivaldi",
        "lhiver",
        "Violin Concerto in F minor, Op. 8 No. 4, RV 297",
    ),
];

/// Composer's surname and the name (normalised: numbers as digits) of a set whose works the
/// table names by nickname: "Four Seasons - Winter" is the set's "Winter".
const SETS: [(&str, &str); 8] = [
    ("vivaldi", "the 4 seasons"),
    ("vivaldi", "4 seasons"),
    ("vivaldi", "le quattro stagioni"),
    ("vivaldi", "quattro stagioni"),
    ("vivaldi", "die vier jahreszeiten"),
    ("vivaldi", "vier jahreszeiten"),
    ("vivaldi", "les quatre saisons"),
    ("vivaldi", "quatre saisons"),
];

/// True when a title part is a nickname of the table, written in full ("Moonlight Sonata"),
/// whoever the composer: a work, whose movement a number after it may name.
pub(super) fn names_a_nicknamed_work(raw: &str) -> bool {
    let named = normalize_title_words(raw);
    NICKNAMES.iter().any(|(_, nickname, _)| *nickname == named)
}

/// The catalogue title a query's title stands for when it names a work by a nickname of the
/// table ("Moonlight Sonata (1st Movement)" by Beethoven → "Piano Sonata No. 14 in C-sharp
/// minor, Op. 27 No. 2 - 1st movement"), or `None`. The nickname must be the whole work the
/// query names (its title, or the title before a movement named by number), and one of the
/// query's artists the composer (by surname: "Beethoven", "Ludwig van Beethoven").
pub fn nickname_title(parsed: &ParsedTitle, artists: &[String]) -> Option<String> {
    let work = parsed.work.as_deref();
    let movement_number = work
        .filter(|w| w.movement.is_none())
        .and_then(|w| w.movement_number);
    // By surname, after a generation's numeral ("Johann Strauss II").
    let composer_credited = |surname: &str| {
        artists.iter().any(|artist| {
            let name = ["ii", "jr", "sr", "i"]
                .iter()
                .find_map(|suffix| artist.strip_suffix(suffix)?.strip_suffix(' '))
                .unwrap_or(artist);
            name.rsplit(' ').next() == Some(surname)
        })
    };
    // The table's title for a work named `named`, or beside the name of the set it belongs to
    // ("Four Seasons - Winter", "Winter (The Four Seasons)").
    let lookup = |named: &str| -> Option<&'static str> {
        let in_set = SETS
            .iter()
            .filter(|(surname, _)| composer_credited(surname))
            .find_map(|(_, set)| {
                named
                    .strip_prefix(set)
                    .and_then(|rest| rest.strip_prefix(' '))
                    .or_else(|| named.strip_suffix(set)?.strip_suffix(' '))
            });
        NICKNAMES
            .iter()
            .find(|(surname, nickname, _)| {
                (*nickname == named || in_set == Some(*nickname)) && composer_credited(surname)
            })
            .map(|(_, _, title)| *title)
    };
    if let Some(number) = movement_number {
        let title = lookup(work.and_then(|w| w.head.as_deref())?)?;
        return Some(if title.contains(':') || title.contains(" - ") {
            title.to_string()
        } else {
            format!("{title} - movement {number}")
        });
    }
    if let Some(title) = lookup(&parsed.base) {
        return Some(title.to_string());
    }
    // A movement named after the nickname ("L'estate: III. Presto"): the work is the head.
    let (head, movement) = work.and_then(|w| Some((w.head.as_deref()?, w.movement.as_deref()?)))?;
    let title = lookup(head)?;
    Some(if title.contains(':') || title.contains(" - ") {
        title.to_string()
    } else {
        match work.and_then(|w| w.movement_number) {
            Some(number) => format!("{title}: {number}. {movement}"),
            None => format!("{title}: {movement}"),
        }
    })
}
