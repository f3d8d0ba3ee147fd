//! Other names of well-known acts: stage and former names, renames, and names written in
//! another script that are not readings of each other ("Ye" and "Kanye West", "Lady A" and
//! "Lady Antebellum", `방탄소년단` and "BTS", `王菲` and "Faye Wong"). Playlists carry these
//! names where the library carries the other one, and no comparison of letters can tell they
//! are one act. Each group lists names the act released or is credited under, as artist
//! alias lists (MusicBrainz's, the labels' credits) give them; a name that also names another
//! act is left out ("Rain", "Common", "DOOM"), and so is a name under which the act made
//! other recordings of its songs ("Warsaw" for Joy Division's demos). Names that meet otherwise (a reading, a
//! transliteration, a spelling: "Kino" and `Кино`, "IU" and `아이유`) need no entry.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use super::normalize_text;

/// Similarity of two names of one act: known, below an exact spelling.
pub const SAME_ACT_SIMILARITY: f32 = 0.9;

/// Groups of names of one act.
const ACTS: &[&[&str]] = &[
    // Stage, former and legal names, renames.
    &["Kanye West", "Ye"],
    &["Cat Stevens", "Yusuf", "Yusuf Islam"],
    &["Puff Daddy", "P. Diddy", "Diddy", "Sean Combs"],
    &["Lady Antebellum", "Lady A"],
    &["Dixie Chicks", "The Chicks"],
    &["Mos Def", "Yasiin Bey"],
    &["Childish Gambino", "Donald Glover"],
    &[
        "The Notorious B.I.G.",
        "Notorious B.I.G.",
        "Biggie",
        "Biggie Smalls",
    ],
    &["Snoop Dogg", "Snoop Doggy Dogg", "Snoop Lion"],
    &["Prince", "The Artist Formerly Known as Prince", "TAFKAP"],
    &["2Pac", "Tupac", "Tupac Shakur", "Makaveli"],
    &["JAY-Z", "Shawn Carter"],
    &["Ol' Dirty Bastard", "ODB", "Dirt McGirt"],
    &["Lauryn Hill", "Ms. Lauryn Hill"],
    &["Marshall Mathers", "Eminem", "Slim Shady"],
    &["Sting", "Gordon Sumner"],
    &["Elton John", "Reginald Dwight"],
    &["Freddie Mercury", "Farrokh Bulsara"],
    &[
        "Hikaru Utada",
        "Utada Hikaru",
        "宇多田ヒカル",
        "Utada",
        "Cubic U",
    ],
    // Korean acts by their Korean and their Latin name.
    &[
        "BTS",
        "방탄소년단",
        "Bangtan Boys",
        "Bangtan Sonyeondan",
        "防弾少年団",
    ],
    &["Girls' Generation", "소녀시대", "SNSD", "少女時代"],
    &[
        "TVXQ",
        "TVXQ!",
        "동방신기",
        "東方神起",
        "Tohoshinki",
        "DBSK",
        "Dong Bang Shin Ki",
    ],
    &["(G)I-DLE", "(여자)아이들", "i-dle", "G-IDLE"],
    &["AKMU", "악뮤", "Akdong Musician", "악동뮤지션"],
    &["BOL4", "볼빨간사춘기", "Bolbbalgan4"],
    &["Seo Taiji and Boys", "서태지와 아이들"],
    &["Seo Taiji", "서태지"],
    &["Jay Park", "박재범"],
    &["PSY", "싸이"],
    &["G-Dragon", "지드래곤"],
    &["IU", "아이유"],
    &["Cho Yong-pil", "조용필"],
    &["Lee Sun-hee", "이선희"],
    &["Kim Kwang-seok", "김광석"],
    &["Younha", "윤하"],
    &["Jannabi", "잔나비"],
    &["Epik High", "에픽하이"],
    &["Super Junior", "슈퍼주니어"],
    &["Stray Kids", "스트레이 키즈"],
    &["SEVENTEEN", "세븐틴"],
    &["TWICE", "트와이스"],
    &["MAMAMOO", "마마무"],
    &["NewJeans", "뉴진스"],
    &["LE SSERAFIM", "르세라핌"],
    &["Taeyeon", "태연"],
    &["Baek Yerin", "Yerin Baek", "백예린"],
    &["SHINee", "샤이니"],
    &["2NE1", "투애니원"],
    &["ITZY", "있지"],
    &["aespa", "에스파"],
    &["IVE", "아이브"],
    &["TOMORROW X TOGETHER", "TXT", "투모로우바이투게더"],
    &["ATEEZ", "에이티즈"],
    &["Apink", "에이핑크"],
    &["SISTAR", "씨스타"],
    &["Zico", "지코"],
    &["Heize", "헤이즈"],
    &["Sunmi", "선미"],
    &["HyunA", "현아"],
    &["Chungha", "CHUNG HA", "청하"],
    &["Lee Hi", "이하이"],
    &["Zion.T", "자이언티"],
    &["Hyukoh", "혁오"],
    &["10cm", "십센치"],
    &["Lim Young-woong", "임영웅"],
    &["Lee Moon-sae", "이문세"],
    &["Jisoo", "지수"],
    &["Jung Kook", "Jungkook", "정국"],
    &["j-hope", "제이홉"],
    // Chinese-language acts by their Chinese and their Latin name.
    &["Jay Chou", "周杰倫", "周杰伦", "Zhou Jielun"],
    &[
        "Teresa Teng",
        "鄧麗君",
        "邓丽君",
        "Deng Lijun",
        "テレサ・テン",
    ],
    &["Faye Wong", "王菲", "Wang Fei", "王靖雯", "Shirley Wong"],
    &["Eason Chan", "陳奕迅", "陈奕迅", "Chen Yixun"],
    &["JJ Lin", "林俊傑", "林俊杰", "Lin Junjie"],
    &["Jacky Cheung", "張學友", "张学友"],
    &["Leslie Cheung", "張國榮", "张国荣"],
    &["Andy Lau", "劉德華", "刘德华"],
    &["Anita Mui", "梅艷芳", "梅艳芳"],
    &["G.E.M.", "鄧紫棋", "邓紫棋"],
    &["Jolin Tsai", "蔡依林"],
    &["Mayday", "五月天"],
    &["Wang Leehom", "王力宏"],
    &["Stefanie Sun", "孫燕姿", "孙燕姿"],
    &["David Tao", "陶喆"],
    &["Sandy Lam", "林憶蓮", "林忆莲"],
    &["Hebe Tien", "田馥甄"],
    &["Tanya Chua", "蔡健雅"],
    &["A-Lin", "黃麗玲", "黄丽玲"],
    &["Jam Hsiao", "蕭敬騰", "萧敬腾"],
    &["Khalil Fong", "方大同"],
    &["Joker Xue", "薛之謙", "薛之谦"],
    &["Jackson Wang", "王嘉爾", "王嘉尔"],
    &["Lay Zhang", "張藝興", "张艺兴"],
    &["Coco Lee", "李玟"],
    &["Sam Hui", "許冠傑", "许冠杰"],
    &["Jonathan Lee", "李宗盛"],
    &["Wakin Chau", "Emil Chau", "周華健", "周华健"],
    &["Leon Lai", "黎明"],
    &["Aaron Kwok", "郭富城"],
    &["Priscilla Chan", "陳慧嫻", "陈慧娴"],
    &["Sally Yeh", "葉蒨文", "叶蒨文"],
    &["Hins Cheung", "張敬軒", "张敬轩"],
    &["Joey Yung", "容祖兒", "容祖儿"],
    &["Kay Tse", "謝安琪", "谢安琪"],
    &["Eric Chou", "周興哲", "周兴哲"],
    // Japanese acts written in kana or in Latin letters otherwise than by their reading.
    &["Southern All Stars", "サザンオールスターズ"],
    // Japanese singers and film and game composers by their names in kanji or kana.
    &["Kyu Sakamoto", "坂本九", "Sakamoto Kyu"],
    &["Ryuichi Sakamoto", "坂本龍一", "Sakamoto Ryuichi"],
    &["Joe Hisaishi", "久石譲", "Hisaishi Joe"],
    &["Nobuo Uematsu", "植松伸夫", "Uematsu Nobuo"],
    &["Koji Kondo", "近藤浩治", "Kondo Koji"],
    &["Yoko Kanno", "菅野よう子", "Kanno Yoko"],
    &["Yoko Shimomura", "下村陽子", "Shimomura Yoko"],
    &["Yasunori Mitsuda", "光田康典", "Mitsuda Yasunori"],
    &["Koichi Sugiyama", "すぎやまこういち", "Sugiyama Koichi"],
    &["Shiro Sagisu", "鷺巣詩郎", "Sagisu Shiro"],
    &["Hiroyuki Sawano", "澤野弘之", "Sawano Hiroyuki"],
    &["Yuki Kajiura", "梶浦由記", "Kajiura Yuki"],
    &["Kenji Kawai", "川井憲次", "Kawai Kenji"],
    &["Akira Yamaoka", "山岡晃", "Yamaoka Akira"],
    &["Junichi Masuda", "増田順一", "Masuda Junichi"],
    &["Mariya Takeuchi", "竹内まりや", "Takeuchi Mariya"],
    &["Hibari Misora", "美空ひばり", "Misora Hibari"],
    &["Miki Matsubara", "松原みき", "Matsubara Miki"],
    &["Yoko Takahashi", "高橋洋子", "Takahashi Yoko"],
    &["Azumi Inoue", "井上あずみ", "Inoue Azumi"],
    &["Youmi Kimura", "木村弓", "Kimura Youmi"],
    &["Yorushika", "ヨルシカ"],
    &[
        "Official HIGE DANdism",
        "Official髭男dism",
        "Higedan",
        "ヒゲダン",
    ],
    &["Spitz", "スピッツ"],
    &["Kenshi Yonezu", "米津玄師"],
    &["Sheena Ringo", "Ringo Sheena", "椎名林檎"],
    &["Yumi Matsutoya", "Yuming", "松任谷由実", "ユーミン"],
    &["Namie Amuro", "安室奈美恵"],
    &["Taeko Onuki", "Taeko Ohnuki", "大貫妙子"],
    &[
        "Yellow Magic Orchestra",
        "YMO",
        "イエロー・マジック・オーケストラ",
    ],
    &["Kyary Pamyu Pamyu", "きゃりーぱみゅぱみゅ"],
    &["Mr.Children", "ミスターチルドレン", "ミスチル"],
    &["SMAP", "スマップ"],
    &["Dreams Come True", "ドリームズ・カム・トゥルー", "ドリカム"],
    &["Yosui Inoue", "井上陽水"],
    // Russian acts whose Latin name is a translation or another spelling.
    &["Splean", "Сплин"],
    &["Aquarium", "Аквариум"],
    &["Mashina Vremeni", "Машина времени"],
    &["t.A.T.u.", "Тату", "Tatu"],
    &["Alla Pugacheva", "Алла Пугачёва"],
    &["Grazhdanskaya Oborona", "Гражданская оборона", "GrOb"],
    &["Boombox", "Бумбокс"],
    &["Jamala", "Джамала"],
    // Arabic, Hebrew and Hindi names by their usual Latin spelling.
    &["Fairuz", "Fairouz", "فيروز"],
    &["Umm Kulthum", "Oum Kalthoum", "Om Kalsoum", "أم كلثوم"],
    &["Amr Diab", "عمرو دياب"],
    &["Abdel Halim Hafez", "عبد الحليم حافظ"],
    &["Ofra Haza", "עפרה חזה"],
    &["Lata Mangeshkar", "लता मंगेशकर"],
    &["A. R. Rahman", "ए. आर. रहमान", "A.R. Rahman"],
    &["Nancy Ajram", "نانسي عجرم"],
    &["Kadim Al Sahir", "Kazem El Saher", "كاظم الساهر"],
    &["Cheb Khaled", "الشاب خالد"],
    &["Elissa", "إليسا"],
    &["Mohammed Abdu", "محمد عبده"],
    &["Warda", "Warda Al-Jazairia", "وردة"],
    &["Idan Raichel", "עידן רייכל"],
    &["Kishore Kumar", "किशोर कुमार"],
    &["Mohammed Rafi", "Mohammad Rafi", "मोहम्मद रफ़ी"],
    &["Asha Bhosle", "आशा भोंसले"],
    &["Arijit Singh", "अरिजीत सिंह"],
    &["Shreya Ghoshal", "श्रेया घोषाल"],
    &["Sonu Nigam", "सोनू निगम"],
    &["Badshah", "बादशाह"],
    // Greek and Thai names by their usual Latin spelling.
    &["Vangelis", "Βαγγέλης"],
    &["Bodyslam", "บอดี้สแลม"],
    &["Carabao", "คาราบาว"],
    &[
        "Thongchai McIntyre",
        "Bird Thongchai",
        "ธงไชย แมคอินไตย์",
        "เบิร์ด ธงไชย",
    ],
];

struct Table {
    /// Normalised name → its group.
    group_of: FxHashMap<String, usize>,
    /// Normalised names of each group.
    names: Vec<Vec<String>>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut group_of = FxHashMap::default();
        let mut names = Vec::with_capacity(ACTS.len());
        for (group, act) in ACTS.iter().enumerate() {
            let mut normalized: Vec<String> = Vec::new();
            for name in *act {
                let name = normalize_text(name);
                if !name.is_empty() && !normalized.contains(&name) {
                    group_of.insert(name.clone(), group);
                    normalized.push(name);
                }
            }
            names.push(normalized);
        }
        Table { group_of, names }
    })
}

/// True when two different normalised names are names of one act of the table.
pub fn same_act(a: &str, b: &str) -> bool {
    let table = table();
    a != b
        && table
            .group_of
            .get(a)
            .is_some_and(|group| table.group_of.get(b) == Some(group))
}

/// The other names of the act a normalised name names, normalised (none when the table has
/// no such act).
pub fn other_names_of_act(name: &str) -> impl Iterator<Item = &'static str> {
    let table = table();
    table
        .group_of
        .get(name)
        .into_iter()
        .flat_map(move |group| table.names[*group].iter())
        .map(String::as_str)
        .filter(move |other| *other != name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_in_one_act_only() {
        let mut seen: FxHashMap<String, usize> = FxHashMap::default();
        for (group, act) in ACTS.iter().enumerate() {
            for name in *act {
                let name = normalize_text(name);
                assert!(!name.is_empty(), "{act:?}");
                if let Some(other) = seen.insert(name.clone(), group) {
                    assert_eq!(other, group, "{name} is in two acts");
                }
            }
        }
    }

    #[test]
    fn a_japanese_composer_in_kanji_or_kana_is_the_name_in_latin_letters() {
        let n = |raw: &str| normalize_text(raw);
        assert!(same_act(&n("植松伸夫"), &n("Nobuo Uematsu")));
        assert!(same_act(&n("Uematsu Nobuo"), &n("Nobuo Uematsu")));
        assert!(same_act(&n("菅野よう子"), &n("Yoko Kanno")));
        assert!(!same_act(&n("植松伸夫"), &n("Yoko Kanno")));
    }

    #[test]
    fn names_of_one_act_meet_and_others_do_not() {
        let n = |raw: &str| normalize_text(raw);
        assert!(same_act(&n("Ye"), &n("Kanye West")));
        assert!(same_act(&n("방탄소년단"), &n("BTS")));
        assert!(same_act(&n("邓丽君"), &n("Teresa Teng")));
        assert!(same_act(&n("田馥甄"), &n("Hebe Tien")));
        assert!(same_act(&n("Sheena Ringo"), &n("椎名林檎")));
        assert!(same_act(&n("Βαγγέλης"), &n("Vangelis")));
        assert!(same_act(&n("अरिजीत सिंह"), &n("Arijit Singh")));
        assert!(!same_act(&n("Ye"), &n("Ye")));
        assert!(!same_act(&n("Ye"), &n("Lady A")));
        assert!(!same_act(&n("Velvet Harbor"), &n("푸른고래")));
        assert!(other_names_of_act(&n("Lady A")).any(|name| name == n("Lady Antebellum")));
        assert_eq!(other_names_of_act(&n("Velvet Harbor")).count(), 0);
    }
}
