//! What Plex writes beside its documents' shape (which is [`crate::tree`]): how it sorts titles.

/// Plex's `titleSort`: the title without a leading English article ("The Wall" → "Wall"); a
/// title that is only the article keeps it.
pub fn title_sort(title: &str) -> &str {
    for article in ["The ", "A ", "An "] {
        if let Some(rest) = title.strip_prefix(article)
            && !rest.is_empty()
        {
            return rest;
        }
    }
    title
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_sort_drops_a_leading_article() {
        assert_eq!(title_sort("The Wall"), "Wall");
        assert_eq!(title_sort("An Apple"), "Apple");
        assert_eq!(title_sort("The "), "The ");
        assert_eq!(title_sort("Theory"), "Theory");
    }
}
