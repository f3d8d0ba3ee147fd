//! How the servers compare search text: Plex's and Jellyfin's search endpoints match a query
//! as a case- and accent-insensitive substring of a title, so both sides fold the title and
//! the query the same way first ("Bjork" finds "Björk").

/// [`fold_into`] into a new string.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// Lower-cases and strips accents into `out` (cleared first), a reusable buffer: Latin-1 and
/// Latin Extended-A letters become their base letter, `ß`→`ss`, `æ`→`ae`, `œ`→`oe`, curly
/// apostrophes `'`; everything else is lower-cased.
pub fn fold_into(text: &str, out: &mut String) {
    out.clear();
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        let base = match c {
            'À'..='Å' | 'à'..='å' | 'Ā'..='ą' => 'a',
            'Ç' | 'ç' | 'Ć'..='č' => 'c',
            'Ď'..='đ' => 'd',
            'È'..='Ë' | 'è'..='ë' | 'Ē'..='ě' => 'e',
            'Ĝ'..='ģ' => 'g',
            'Ì'..='Ï' | 'ì'..='ï' | 'Ĩ'..='ı' => 'i',
            'Ñ' | 'ñ' | 'Ń'..='ň' => 'n',
            'Ò'..='Ö' | 'Ø' | 'ò'..='ö' | 'ø' | 'Ō'..='ő' => 'o',
            'Ŕ'..='ř' => 'r',
            'Ś'..='š' => 's',
            'ß' => {
                out.push_str("ss");
                continue;
            }
            'Ţ'..='ŧ' => 't',
            'Ù'..='Ü' | 'ù'..='ü' | 'Ũ'..='ų' => 'u',
            'Ý' | 'ý' | 'ÿ' | 'Ÿ' => 'y',
            'Ź'..='ž' => 'z',
            'Ł' | 'ł' => 'l',
            'Æ' | 'æ' => {
                out.push_str("ae");
                continue;
            }
            'Œ' | 'œ' => {
                out.push_str("oe");
                continue;
            }
            '’' | '‘' => '\'',
            other => {
                out.extend(other.to_lowercase());
                continue;
            }
        };
        out.push(base);
    }
}

/// Jellyfin's relevance of an item to a search (`OrderMapper.MapSearchRelevanceOrder`): 0 when
/// the folded name or original title is the folded `term`, 1 when one starts with the term and
/// a space (a whole first word), 2 when one starts with it, 3 otherwise (it is inside).
/// `name` and `original` are folded titles, `term` a folded query.
///
/// The server orders every `SearchTerm` query by this first, then by the requested sort
/// (`SortName`, and `Name` after it when the sort is by sort name).
pub fn jellyfin_relevance(name: &str, original: Option<&str>, term: &str) -> u8 {
    let titles = || std::iter::once(name).chain(original);
    if titles().any(|t| t == term) {
        0
    } else if titles().any(|t| {
        t.strip_prefix(term)
            .is_some_and(|rest| rest.starts_with(' '))
    }) {
        1
    } else if titles().any(|t| t.starts_with(term)) {
        2
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_accents_and_case() {
        assert_eq!(fold("Björk Guðmundsdóttir"), "bjork guðmundsdottir");
        assert_eq!(fold("Straße ÉTÉ"), "strasse ete");
        assert_eq!(fold("Œuvre d’Æsop"), "oeuvre d'aesop");
    }

    #[test]
    fn jellyfin_relevance_is_exact_word_prefix_then_inside() {
        assert_eq!(jellyfin_relevance("love", None, "love"), 0);
        assert_eq!(jellyfin_relevance("amour", Some("love"), "love"), 0);
        assert_eq!(jellyfin_relevance("love song", None, "love"), 1);
        assert_eq!(jellyfin_relevance("lovely", None, "love"), 2);
        assert_eq!(jellyfin_relevance("x", Some("lovely"), "love"), 2);
        assert_eq!(jellyfin_relevance("true love", None, "love"), 3);
    }

    #[test]
    fn the_buffer_is_cleared_first() {
        let mut buf = String::from("left over");
        fold_into("Beyoncé", &mut buf);
        assert_eq!(buf, "beyonce");
    }
}
