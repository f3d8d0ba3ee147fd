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

use super::{name_similarity, normalize_text, normalize_title_words};

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
}
