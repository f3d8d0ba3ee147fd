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
    fn the_buffer_is_cleared_first() {
        let mut buf = String::from("left over");
        fold_into("Beyoncé", &mut buf);
        assert_eq!(buf, "beyonce");
    }
}
