//! Well-known songs by the title they carry in their own language and the English one their
//! labels and stores give them ("봄날" and "Spring Day", `夜に駆ける` and "Racing into the
//! Night", `上を向いて歩こう` and "Sukiyaki", "Группа крови" and "Blood Type"): a playlist
//! writes one where the library holds the other, and no comparison of letters shows they are
//! one title. Each entry names its act, so a title is only read as the other for that act
//! ("Changes" is `Перемен` for Kino, not for anyone else). Songs recorded again in English
//! under the translated title ("Нас не догонят" and "Not Gonna Get Us", "99 Luftballons" and
//! "99 Red Balloons") are left out: the two titles name two recordings.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use super::title::{Segment, classify_segment};
use super::{
    Script, name_similarity, names_recording, normalize_text, normalize_title_words, script_of,
};

/// (act, title in its own language, English title).
const SONGS: &[(&str, &str, &str)] = &[
    // Korean.
    ("BTS", "봄날", "Spring Day"),
    ("BTS", "피 땀 눈물", "Blood Sweat & Tears"),
    ("BTS", "작은 것들을 위한 시", "Boy With Luv"),
    ("BTS", "쩔어", "Dope"),
    ("BTS", "불타오르네", "Fire"),
    ("IU", "밤편지", "Through the Night"),
    ("IU", "좋은 날", "Good Day"),
    ("IU", "너의 의미", "The Meaning of You"),
    ("BIGBANG", "거짓말", "Lies"),
    ("BIGBANG", "붉은 노을", "Sunset Glow"),
    ("BIGBANG", "하루하루", "Day by Day"),
    ("BIGBANG", "마지막 인사", "Last Farewell"),
    ("BLACKPINK", "마지막처럼", "As If It's Your Last"),
    ("BLACKPINK", "휘파람", "Whistle"),
    ("BLACKPINK", "불장난", "Playing with Fire"),
    ("PSY", "강남스타일", "Gangnam Style"),
    ("Red Velvet", "빨간 맛", "Red Flavor"),
    ("Girls' Generation", "소원을 말해봐", "Genie"),
    ("Girls' Generation", "다시 만난 세계", "Into the New World"),
    ("EXO", "으르렁", "Growl"),
    ("Stray Kids", "특", "S-Class"),
    ("Stray Kids", "소리꾼", "Thunderous"),
    ("Stray Kids", "신메뉴", "God's Menu"),
    ("Younha", "사건의 지평선", "Event Horizon"),
    ("Kim Kwang-seok", "서른 즈음에", "Around Thirty"),
    ("Busker Busker", "벚꽃 엔딩", "Cherry Blossom Ending"),
    ("BOL4", "우주를 줄게", "Galaxy"),
    // Japanese.
    ("YOASOBI", "夜に駆ける", "Racing into the Night"),
    ("YOASOBI", "群青", "Ultramarine"),
    ("YOASOBI", "アイドル", "Idol"),
    ("YOASOBI", "怪物", "Monster"),
    ("Kyu Sakamoto", "上を向いて歩こう", "Sukiyaki"),
    (
        "Yoko Takahashi",
        "残酷な天使のテーゼ",
        "A Cruel Angel's Thesis",
    ),
    ("SMAP", "世界に一つだけの花", "The Only Flower in the World"),
    (
        "Hibari Misora",
        "川の流れのように",
        "Like the Flow of the River",
    ),
    (
        "Miki Matsubara",
        "真夜中のドア〜stay with me",
        "Stay With Me",
    ),
    ("Ado", "新時代", "New Genesis"),
    // Chinese.
    (
        "Teresa Teng",
        "月亮代表我的心",
        "The Moon Represents My Heart",
    ),
    ("Teresa Teng", "甜蜜蜜", "Sweet as Honey"),
    ("Teresa Teng", "我只在乎你", "I Only Care About You"),
    ("Faye Wong", "红豆", "Red Bean"),
    ("Jay Chou", "晴天", "Sunny Day"),
    ("Jay Chou", "稻香", "Rice Field"),
    ("Jay Chou", "青花瓷", "Blue and White Porcelain"),
    ("Jay Chou", "七里香", "Common Jasmine Orange"),
    ("Eason Chan", "十年", "Ten Years"),
    ("Eason Chan", "浮夸", "Exaggerated"),
    ("Jacky Cheung", "吻別", "Goodbye Kiss"),
    ("Beyond", "光輝歲月", "Glorious Years"),
    ("Beyond", "海闊天空", "Boundless Oceans, Vast Skies"),
    ("Mayday", "倔強", "Stubborn"),
    // Russian.
    ("Kino", "Группа крови", "Blood Type"),
    ("Kino", "Звезда по имени Солнце", "A Star Called Sun"),
    ("Kino", "Кукушка", "Cuckoo"),
    ("Kino", "Перемен", "Changes"),
    ("Kino", "Хочу перемен", "I Want Changes"),
    ("Kino", "Пачка сигарет", "A Pack of Cigarettes"),
    ("Kino", "Кончится лето", "Summer Will End"),
    (
        "Alla Pugacheva",
        "Миллион алых роз",
        "A Million Scarlet Roses",
    ),
    // Italian.
    (
        "Ennio Morricone",
        "L'estasi dell'oro",
        "The Ecstasy of Gold",
    ),
    ("Domenico Modugno", "Nel blu, dipinto di blu", "Volare"),
    (
        "Ennio Morricone",
        "Il buono, il brutto, il cattivo",
        "The Good, the Bad and the Ugly",
    ),
    (
        "Ennio Morricone",
        "C'era una volta il West",
        "Once Upon a Time in the West",
    ),
    (
        "Ennio Morricone",
        "Nuovo Cinema Paradiso",
        "Cinema Paradiso",
    ),
    ("Nino Rota", "Parla più piano", "Speak Softly Love"),
    ("Ludovico Einaudi", "Nuvole bianche", "White Clouds"),
    // French, Spanish, Romanian.
    (
        "Serge Gainsbourg",
        "Je t'aime... moi non plus",
        "I Love You... Me Neither",
    ),
    ("Édith Piaf", "Hymne à l'amour", "Hymn to Love"),
    ("Las Ketchup", "Aserejé", "The Ketchup Song"),
    ("O-Zone", "Dragostea din tei", "Numa Numa"),
    // Japanese, by the romanised titles stores give them.
    ("Kyu Sakamoto", "Sukiyaki", "Ue o Muite Aruko"),
    ("Kyu Sakamoto", "Sukiyaki", "Ue wo Muite Arukou"),
    ("LiSA", "紅蓮華", "Gurenge"),
    ("LiSA", "炎", "Homura"),
    ("RADWIMPS", "前前前世", "Zenzenzense"),
    ("RADWIMPS", "なんでもないや", "Nandemonaiya"),
    ("Kenshi Yonezu", "感電", "Kanden"),
    ("Kenshi Yonezu", "打上花火", "Uchiage Hanabi"),
    ("King Gnu", "白日", "Hakujitsu"),
    ("Aimer", "残響散歌", "Zankyosanka"),
    ("Eve", "廻廻奇譚", "Kaikai Kitan"),
    ("Mariya Takeuchi", "プラスティック・ラブ", "Plastic Love"),
    // Film and game scores, by the titles their English releases give them.
    ("Joe Hisaishi", "あの夏へ", "One Summer's Day"),
    (
        "Joe Hisaishi",
        "人生のメリーゴーランド",
        "Merry-Go-Round of Life",
    ),
    ("Joe Hisaishi", "風の通り道", "The Path of the Wind"),
    ("Joe Hisaishi", "君をのせて", "Carrying You"),
    ("Joe Hisaishi", "もののけ姫", "Princess Mononoke"),
    ("Youmi Kimura", "いつも何度でも", "Always with Me"),
    ("Azumi Inoue", "となりのトトロ", "My Neighbor Totoro"),
    ("Azumi Inoue", "さんぽ", "Hey Let's Go"),
    ("Nobuo Uematsu", "片翼の天使", "One-Winged Angel"),
    ("Nobuo Uematsu", "エアリスのテーマ", "Aerith's Theme"),
    ("Nobuo Uematsu", "ザナルカンドにて", "To Zanarkand"),
    ("Koji Kondo", "地上BGM", "Ground Theme"),
    ("Koji Kondo", "地上BGM", "Overworld Theme"),
    ("Koji Kondo", "ゼルダの子守唄", "Zelda's Lullaby"),
    ("Yasunori Mitsuda", "風の憧憬", "Wind Scene"),
    ("Koichi Sugiyama", "序曲", "Overture"),
    (
        "Ryuichi Sakamoto",
        "戦場のメリークリスマス",
        "Merry Christmas Mr. Lawrence",
    ),
    ("Yellow Magic Orchestra", "ライディーン", "Rydeen"),
    ("Hikaru Utada", "桜流し", "Sakura Nagashi"),
    ("Hikaru Utada", "花束を君に", "Hanataba wo Kimi ni"),
    ("Kenshi Yonezu", "馬と鹿", "Uma to Shika"),
    ("Spitz", "チェリー", "Cherry"),
    ("Southern All Stars", "いとしのエリー", "Itoshi no Ellie"),
    // Korean and Chinese.
    ("Zion.T", "양화대교", "Yanghwa Bridge"),
    (
        "Cho Yong-pil",
        "돌아와요 부산항에",
        "Come Back to Busan Port",
    ),
    ("Jay Chou", "告白气球", "Love Confession"),
    ("G.E.M.", "光年之外", "Light Years Away"),
    // Russian and Ukrainian.
    ("DDT", "Что такое осень", "What Is Autumn"),
    ("Alla Pugacheva", "Арлекино", "Harlequin"),
    ("Zemfira", "Хочешь?", "Do You Want?"),
    ("Okean Elzy", "Обійми", "Embrace"),
    // German, French, Spanish, Italian, Portuguese, Turkish.
    ("Falco", "Der Kommissar", "The Commissioner"),
    ("Peter Fox", "Haus am See", "House by the Lake"),
    ("Herbert Grönemeyer", "Männer", "Men"),
    ("Jacques Brel", "Ne me quitte pas", "If You Go Away"),
    ("Stromae", "Alors on danse", "So We Dance"),
    ("Zaz", "Je veux", "I Want"),
    ("Indila", "Dernière danse", "Last Dance"),
    ("Juanes", "La camisa negra", "The Black Shirt"),
    ("Manu Chao", "Me gustas tú", "I Like You"),
    ("Måneskin", "Zitti e buoni", "Shut Up and Behave"),
    ("Michel Teló", "Ai se eu te pego", "Oh If I Catch You"),
    ("Tarkan", "Şımarık", "Kiss Kiss"),
    ("Claude François", "Comme d'habitude", "My Way"),
    ("Yves Montand", "Les feuilles mortes", "Autumn Leaves"),
    ("Mecano", "Hijo de la luna", "Son of the Moon"),
    ("Toto Cutugno", "L'italiano", "The Italian"),
    ("Al Bano & Romina Power", "Felicità", "Happiness"),
    ("Jimmy Fontana", "Il mondo", "The World"),
    ("Splean", "Выхода нет", "No Way Out"),
    ("Aquarium", "Город золотой", "Golden City"),
    ("BLACKPINK", "뚜두뚜두", "DDU-DU DDU-DU"),
    ("BLACKPINK", "붐바야", "BOOMBAYAH"),
    ("BIGBANG", "뱅뱅뱅", "Bang Bang Bang"),
    ("PSY", "젠틀맨", "Gentleman"),
    ("2NE1", "내가 제일 잘 나가", "I Am the Best"),
    ("Wonder Girls", "텔미", "Tell Me"),
    ("IU", "에잇", "eight"),
    ("IU", "라일락", "LILAC"),
    ("IU", "블루밍", "Blueming"),
    ("Epik High", "우산", "Umbrella"),
    ("Ado", "うっせぇわ", "Usseewa"),
    ("Fujii Kaze", "死ぬのがいいわ", "Shinunoga E-Wa"),
    ("Fujii Kaze", "きらり", "Kirari"),
    ("Official HIGE DANdism", "宿命", "Shukumei"),
    ("Official HIGE DANdism", "ミックスナッツ", "Mixed Nuts"),
    ("Vaundy", "怪獣の花唄", "Kaiju no Hanauta"),
    ("Aimer", "カタオモイ", "Kataomoi"),
    ("Jay Chou", "夜曲", "Nocturne"),
    ("Jay Chou", "听妈妈的话", "Listen to Mom"),
    ("G.E.M.", "泡沫", "Bubble"),
    ("JJ Lin", "江南", "Jiangnan"),
    ("Joe Dassin", "L'été indien", "Indian Summer"),
    (
        "Joe Dassin",
        "Et si tu n'existais pas",
        "If You Didn't Exist",
    ),
    ("Édith Piaf", "Sous le ciel de Paris", "Under Paris Skies"),
    ("Mercedes Sosa", "Gracias a la vida", "Thanks to Life"),
    ("Selena", "Amor prohibido", "Forbidden Love"),
    ("Selena", "Como la flor", "Like the Flower"),
    ("Alejandro Sanz", "Corazón partío", "Broken Heart"),
    (
        "Helene Fischer",
        "Atemlos durch die Nacht",
        "Breathless Through the Night",
    ),
    ("Die Toten Hosen", "Tage wie diese", "Days Like These"),
    ("Die Ärzte", "Schrei nach Liebe", "Cry for Love"),
    ("Vladimir Troshin", "Подмосковные вечера", "Moscow Nights"),
    ("Mark Bernes", "Тёмная ночь", "Dark Is the Night"),
    (
        "Shuli Natan",
        "Yerushalayim Shel Zahav",
        "Jerusalem of Gold",
    ),
    ("Sigur Rós", "Hoppípolla", "Hopping into Puddles"),
    ("Sigur Rós", "Svefn-g-englar", "Sleepwalkers"),
    ("Loituma", "Ievan Polkka", "Leva's Polka"),
];

struct Table {
    /// Normalised title → the entries holding it, as (normalised act, normalised other
    /// title).
    by_title: FxHashMap<String, Vec<(String, String)>>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut by_title: FxHashMap<String, Vec<(String, String)>> = FxHashMap::default();
        for (act, own, english) in SONGS {
            let act = normalize_text(act);
            let (own, english) = (normalize_title_words(own), normalize_title_words(english));
            by_title
                .entry(own.clone())
                .or_default()
                .push((act.clone(), english.clone()));
            by_title.entry(english).or_default().push((act, own));
        }
        Table { by_title }
    })
}

/// The title a well-known song carries in the other language, normalised, when `base` (a
/// normalised title) is one of the table's and one of `artists` (normalised names) is its act
/// (by name, or by another name of the act).
pub fn translated_title(base: &str, artists: &[String]) -> Option<&'static str> {
    let entries = table().by_title.get(base)?;
    entries
        .iter()
        .find(|(act, _)| {
            artists
                .iter()
                .any(|name| name_similarity(name, act) >= TRANSLATION_ACT_FLOOR)
        })
        .map(|(_, other)| other.as_str())
}

/// How alike a credited name and the table's act must be (a reading or another name of the
/// act meets it: `방탄소년단` for "BTS").
const TRANSLATION_ACT_FLOOR: f32 = 0.85;

/// The title without the English translation an export writes after it: "Du bist die Nacht
/// (You Are the Night)", "Je ne sais rien [I Know Nothing]", "Je ne sais rien - I Know
/// Nothing", "Je ne sais rien / I Know Nothing" read as the title before it. The part after is taken for a
/// translation only when the title reads as another language than English (a letter with
/// a diacritic, a word only another language has, or another script) and the part reads
/// as English (a word only English has, none only another language has), names no
/// recording ("Demo", "Take 2", a year), no version, edit or edition (`classify_segment`)
/// and repeats no word of the title. A title in English with a bracket ("Lantern Ferry
/// (Greenhouse)") is left as it is: its bracket stays a claim.
pub fn without_translation(raw: &str) -> Option<&str> {
    let raw = raw.trim_end();
    let (head, tail) = translation_split(raw)?;
    let head_words = words_of(head);
    let tail_words = words_of(tail);
    if head_words.is_empty() || tail_words.is_empty() || tail_words.len() > 8 {
        return None;
    }
    let head_foreign = script_of(head) == Script::Other
        || head.chars().any(|c| c.is_alphabetic() && !c.is_ascii())
        || head_words.iter().any(|w| other_language_word(w));
    let head_english = head_words
        .iter()
        .any(|w| ENGLISH_WORDS.contains(&w.as_str()));
    let tail_english = tail.is_ascii()
        && tail_words
            .iter()
            .any(|w| ENGLISH_WORDS.contains(&w.as_str()))
        && !tail_words.iter().any(|w| other_language_word(w));
    let repeats = tail_words
        .iter()
        .any(|w| !ENGLISH_WORDS.contains(&w.as_str()) && head_words.contains(w));
    let numbered = tail_words
        .iter()
        .any(|w| w.bytes().any(|b| b.is_ascii_digit()) && !head_words.contains(w));
    let plain = matches!(classify_segment(tail), Segment::Keep);
    (head_foreign
        && !head_english
        && tail_english
        && !repeats
        && !numbered
        && plain
        && !names_recording(&tail_words.join(" ")))
    .then_some(head.trim_end())
}

/// True when two titles read as two languages: one in Latin letters and one in another
/// script ("Blood Type" and "Группа крови"), or, both in Latin letters, one reading as
/// another language than English (a letter with a diacritic, a word only French, German,
/// Spanish, Italian or Portuguese has) and the other not ("The Path of the Birds" and "Le
/// Chemin des Oiseaux"; "Ue o Muite Arukō", romanised, and "Sukiyaki", a store's name for
/// it). Two titles that read alike in this say nothing.
pub fn read_as_two_languages(a: &str, b: &str) -> bool {
    let (script_a, script_b) = (script_of(a), script_of(b));
    if script_a == Script::None || script_b == Script::None {
        return false;
    }
    if script_a != script_b {
        return true;
    }
    if script_a != Script::Latin {
        return false;
    }
    let foreign = |raw: &str| {
        raw.chars().any(|c| c.is_alphabetic() && !c.is_ascii())
            || words_of(raw).iter().any(|w| other_language_word(w))
    };
    foreign(a) != foreign(b)
}

/// The two halves of a title that may name its song twice, in two languages or two
/// scripts: "Gruppa Krovi (Blood Group)", "Blood Group / Gruppa Krovi": a last bracket or what
/// follows a slash, when it names no version, edit or edition (`classify_segment`).
pub fn title_halves(raw: &str) -> Option<TitleHalves<'_>> {
    let raw = raw.trim_end();
    let (head, tail) = translation_split(raw)?;
    let dashed = !raw.ends_with([')', ']']) && !raw.contains(" / ");
    let (head, tail) = (head.trim(), tail.trim());
    (!words_of(head).is_empty()
        && !words_of(tail).is_empty()
        && matches!(classify_segment(tail), Segment::Keep))
    .then_some(TitleHalves { head, tail, dashed })
}

/// A title's two halves ([`title_halves`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TitleHalves<'t> {
    /// What comes first.
    pub head: &'t str,
    /// The last bracket's words, or what follows the last dash or slash.
    pub tail: &'t str,
    /// Parted by a dash, which more often parts a work from its movement or an act from its
    /// song than one language from another.
    pub dashed: bool,
}

/// The title and the part after it: the last bracket when it ends the title, else what
/// follows the last " - " or " / ".
fn translation_split(raw: &str) -> Option<(&str, &str)> {
    for (open, close) in [('(', ')'), ('[', ']')] {
        if raw.ends_with(close) {
            let at = raw.rfind(open)?;
            let inner = &raw[at + open.len_utf8()..raw.len() - close.len_utf8()];
            if inner.contains([open, close]) {
                return None;
            }
            return Some((&raw[..at], inner));
        }
    }
    [" - ", " – ", " — ", " / "]
        .iter()
        .filter_map(|separator| {
            raw.rfind(separator)
                .map(|at| (&raw[..at], &raw[at + separator.len()..]))
        })
        .max_by_key(|(head, _)| head.len())
}

fn words_of(text: &str) -> Vec<String> {
    normalize_title_words(text)
        .split(' ')
        .filter(|word| !word.is_empty())
        .map(str::to_string)
        .collect()
}

/// Words of English that no other language a title is often written in uses as a word of
/// its own (not "die", "no", "me", "i", "come", "an", which German, Spanish and Italian have).
const ENGLISH_WORDS: &[&str] = &[
    "you", "your", "my", "the", "of", "to", "is", "are", "and", "we", "our", "it", "they", "their",
    "with", "this", "that", "what", "when", "where", "who", "why", "how", "love", "night", "heart",
    "never", "nothing", "go", "away", "little", "be", "if", "all", "over", "under", "way", "one",
    "only", "hate", "regrets", "have", "want", "life", "time", "without", "from", "at", "by",
    "his", "her", "she", "he", "him", "us", "them", "world", "day", "song", "sun", "moon", "sky",
    "rain", "angel", "dream", "dreams",
];

/// Words of French, German, Spanish, Italian and Portuguese that English has not.
const OTHER_LANGUAGE_WORDS: &[&str] = &[
    // French.
    "je", "tu", "il", "elle", "nous", "vous", "le", "la", "les", "un", "une", "des", "du", "et",
    "est", "pas", "ne", "moi", "toi", "mon", "mes", "ta", "qui", "que", "sur", "dans", "avec",
    "non", "rien", "jamais", "amour", "coeur", // German.
    "der", "das", "ich", "und", "ist", "nicht", "ein", "eine", "mein", "dein", "wie", "wir", "ihr",
    "sie", "auf", "mit", "dem", "hast", "bist", "liebe", "nacht", "herz", // Spanish.
    "el", "los", "las", "mi", "y", "por", "para", "yo", "una", "del", "al", "corazon", "vida",
    "noche", // Italian.
    "il", "lo", "gli", "di", "che", "sono", "nel", "della", "mio", "ti", "amore",
    // Portuguese.
    "os", "da", "nao", "meu", "minha", "eu", "voce", "em", "coracao",
];

/// More words English has not: of the five languages above, then of Dutch, Swedish,
/// Norwegian and Danish, Finnish, Polish and Czech, Romanian, Turkish and Hungarian (as
/// normalising writes them, without their accents), so a title in one of those languages
/// whose accents an export dropped, or that has none, still reads as another language. Left
/// out: words English titles carry too ("de", "van", "den", "til", "com", "come", "solo", "ben",
/// "na") and those an English contraction becomes ("im" for "I'm").
const MORE_OTHER_LANGUAGE_WORDS: &[&str] = &[
    "es", "te", "entre", "dos", "sin", "con", "amor", "nunca", "siempre", "todo", "nada", "cuando",
    "quiero", "ella", "per", "sei", "questa", "quando", "sempre", "niente", "tutto", "senza",
    "cuore", "sem", "tudo", "saudade", "auch", "kein", "keine", "wenn", "noch", "immer", "nur",
    "alles", "schon", "zu", "ce", "pour", "tout", "toujours", "mais", "au", "aux", "cette", "suis",
    "en", "het", "een", "niet", "ik", "mijn", "zijn", "jij", "wij", "jou", "naar", "voor", "nooit",
    "altijd", "liefde", "geen", "ook", "maar", "nog", "bij", "och", "jag", "det", "inte", "ett",
    "som", "mig", "dig", "karlek", "vill", "allt", "aldrig", "mitt", "og", "jeg", "ikke", "meg",
    "deg", "aldri", "hvor", "hvad", "ja", "ei", "olen", "sinua", "minua", "rakkaus", "kuin",
    "niin", "nie", "jest", "sie", "ze", "jak", "czy", "mnie", "ciebie", "milosc", "jsem", "neni",
    "laska", "si", "nu", "din", "pe", "iubire", "dragoste", "mea", "bir", "ve", "seni", "beni",
    "bana", "sana", "gibi", "benim", "senin", "yok", "az", "egy", "nem", "hogy", "vagy",
    "szerelem",
];

/// True for a word of another language than English ([`OTHER_LANGUAGE_WORDS`],
/// [`MORE_OTHER_LANGUAGE_WORDS`]).
fn other_language_word(word: &str) -> bool {
    OTHER_LANGUAGE_WORDS.contains(&word) || MORE_OTHER_LANGUAGE_WORDS.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_read_in_the_other_language_for_its_act_only() {
        let n = |raw: &str| normalize_text(raw);
        let t = |raw: &str| normalize_title_words(raw);
        assert_eq!(
            translated_title(&t("Spring Day"), &[n("BTS")]),
            Some(t("봄날").as_str())
        );
        assert_eq!(
            translated_title(&t("봄날"), &[n("방탄소년단")]),
            Some(t("Spring Day").as_str())
        );
        assert_eq!(translated_title(&t("Changes"), &[n("David Bowie")]), None);
        assert_eq!(translated_title(&t("Lantern Ferry"), &[n("BTS")]), None);
    }

    #[test]
    fn a_european_title_without_accents_reads_as_another_language() {
        for (own, english) in [
            ("Dragostea din tei", "Love from the Linden Trees"),
            ("Entre dos aguas", "Between Two Waters"),
            ("Dromen zijn bedrog", "Dreams Are Deceit"),
            ("Det gor ont", "It Hurts"),
            ("Jeg elsker deg", "I Love You"),
            ("Nie placz Ewka", "Don't Cry, Ewka"),
            ("Seni seviyorum", "I Love You"),
        ] {
            assert!(read_as_two_languages(own, english), "{own} / {english}");
        }
        // English titles, and words English titles carry too, read as English.
        for (a, b) in [
            ("I'm Still Standing", "Come Together"),
            ("Solo", "Den of Thieves"),
            ("Ben", "Til Tuesday"),
            ("I've Been Everywhere", "Comes Alive"),
            ("We'll Meet Again", "Dot Com Blues"),
        ] {
            assert!(!read_as_two_languages(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn a_song_known_by_its_nickname_or_romanised_title_is_read_as_its_own() {
        let n = |raw: &str| normalize_text(raw);
        let t = |raw: &str| normalize_title_words(raw);
        assert_eq!(
            translated_title(&t("Numa Numa"), &[n("O-Zone")]),
            Some(t("Dragostea din tei").as_str())
        );
        assert_eq!(
            translated_title(&t("Zenzenzense"), &[n("RADWIMPS")]),
            Some(t("前前前世").as_str())
        );
        assert_eq!(translated_title(&t("Numa Numa"), &[n("Orla Finch")]), None);
    }

    #[test]
    fn a_k_pop_or_j_pop_song_is_known_by_its_romanised_or_english_title() {
        let n = |raw: &str| normalize_text(raw);
        let t = |raw: &str| normalize_title_words(raw);
        assert_eq!(
            translated_title(&t("Shinunoga E-Wa"), &[n("Fujii Kaze")]),
            Some(t("死ぬのがいいわ").as_str())
        );
        assert_eq!(
            translated_title(&t("붐바야"), &[n("BLACKPINK")]),
            Some(t("BOOMBAYAH").as_str())
        );
        assert_eq!(
            translated_title(&t("Hijo de la luna"), &[n("Mecano")]),
            Some(t("Son of the Moon").as_str())
        );
        assert_eq!(
            translated_title(&t("Leva's Polka"), &[n("Loituma")]),
            Some(t("Ievan Polkka").as_str())
        );
    }

    #[test]
    fn a_translation_after_a_title_in_another_language_is_left_out() {
        assert_eq!(
            without_translation("Du bist die Nacht (You Are the Night)"),
            Some("Du bist die Nacht")
        );
        assert_eq!(
            without_translation("Été indien - My Summer"),
            Some("Été indien")
        );
        // An English title, a bracket of another language, a recording or a version.
        assert_eq!(without_translation("Lantern Ferry (Over the Sea)"), None);
        assert_eq!(without_translation("Du bist die Nacht (Die Nacht)"), None);
        assert_eq!(without_translation("Du bist die Nacht (Live)"), None);
        assert_eq!(without_translation("Du bist die Nacht (Home Demo)"), None);
        assert_eq!(without_translation("Du bist die Nacht (1999)"), None);
    }
}
