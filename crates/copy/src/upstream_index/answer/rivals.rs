//! The orders a walk's items could be in that the server's answers have not yet told apart
//! from the order the copy writes them in.
//!
//! The copy writes a walk's items in the order it takes the server to list them in (the
//! dialect's natural order: an artist's albums by year, a section's films by sort title), and
//! a frame is proven on a few server answers. Those answers prove the order only as far as
//! they exercise it: artists whose albums sort alike by year and by title (or who have one
//! album) cannot tell a server listing albums by year from one listing them by title, and a
//! third artist's albums would be answered in year order where the server lists them by
//! title. So each frame keeps the [`Rival`] orders no proof has told apart from the copy's:
//! a proof rules out each rival that orders its page otherwise than the copy did (the server
//! did as the copy). An answer whose page a rival still kept orders otherwise is the
//! server's to give, and its answer is the proof that rules that rival out or refuses the
//! shape. An order asked for by rating key has no rival: it is what was asked, and keys are
//! unique.

use cachearr_dialect::CopyAnswers;
use cachearr_library::index::{ItemNo, ItemView};
use cachearr_library::{LibraryIndex, Visibility};

/// An order a server could list a walk's items in, other than the one the copy writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rival {
    /// By sort title (leading articles apart, case and accents folded), then rating key: a
    /// server listing an artist's albums by title, or films without the year between
    /// two of one title.
    SortTitle,
    /// By year, then sort title, then rating key: albums of one year by title rather than
    /// by when they came.
    YearThenTitle,
    /// By date added, then rating key.
    Added,
    /// By rating key: the order the server's scan made the items in.
    RatingKey,
    /// Newest added first, the lower rating key first among those added at once (the copy
    /// puts the higher first).
    NewestLowerKeyFirst,
}

impl Rival {
    const ALL: [Rival; 5] = [
        Rival::SortTitle,
        Rival::YearThenTitle,
        Rival::Added,
        Rival::RatingKey,
        Rival::NewestLowerKeyFirst,
    ];

    /// The rival's name, as kept on disk with a frame.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Rival::SortTitle => "sort-title",
            Rival::YearThenTitle => "year-title",
            Rival::Added => "added",
            Rival::RatingKey => "rating-key",
            Rival::NewestLowerKeyFirst => "newest-lower-key-first",
        }
    }

    fn named(name: &str) -> Option<Rival> {
        Rival::ALL.into_iter().find(|r| r.name() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Where `view` stands in this order: compared as a whole, the rating key last (so no
    /// two items tie).
    fn key(self, view: &ItemView<'_>, answers: &dyn CopyAnswers) -> (i64, String, u64) {
        let id = view.id().parse::<u64>().unwrap_or(u64::MAX);
        let title = || answers.sort_title(view.title());
        match self {
            Rival::SortTitle => (0, title(), id),
            Rival::YearThenTitle => (i64::from(view.year().unwrap_or(0)), title(), id),
            Rival::Added => (view.added_at(), String::new(), id),
            Rival::RatingKey => (0, String::new(), id),
            Rival::NewestLowerKeyFirst => (view.added_at().saturating_neg(), String::new(), id),
        }
    }

    /// `items` in this order (those the index no longer holds left out), titles sorted as
    /// the dialect `answers` says the server sorts them.
    pub(crate) fn ordered(
        self,
        index: &LibraryIndex,
        answers: &dyn CopyAnswers,
        items: &[ItemNo],
    ) -> Vec<ItemNo> {
        let everything = Visibility::everything();
        let mut keyed: Vec<((i64, String, u64), ItemNo)> = items
            .iter()
            .filter_map(|&no| Some((self.key(&index.item(no, &everything)?, answers), no)))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.into_iter().map(|(_, no)| no).collect()
    }
}

/// A set of [`Rival`] orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Rivals(u8);

impl Rivals {
    /// No rival.
    pub(crate) const NONE: Rivals = Rivals(0);

    /// The rivals of the order a walk asks for (a [`Shape`](super::frame::Shape)'s
    /// `order`): those of the natural order, of the newest first; none for an order by
    /// rating key.
    pub(crate) fn of_order(order: &str) -> Rivals {
        let rivals: &[Rival] = match order {
            "" => &[
                Rival::SortTitle,
                Rival::YearThenTitle,
                Rival::Added,
                Rival::RatingKey,
            ],
            "addedAt:desc" => &[Rival::NewestLowerKeyFirst],
            _ => &[],
        };
        rivals.iter().fold(Rivals::NONE, |set, r| set.with(*r))
    }

    /// This set with `rival` in it.
    pub(crate) fn with(self, rival: Rival) -> Rivals {
        Rivals(self.0 | rival.bit())
    }

    /// The rivals in both sets.
    pub(crate) fn and(self, other: Rivals) -> Rivals {
        Rivals(self.0 & other.0)
    }

    /// The rivals in this set.
    pub(crate) fn iter(self) -> impl Iterator<Item = Rival> {
        Rival::ALL
            .into_iter()
            .filter(move |r| self.0 & r.bit() != 0)
    }

    /// The names of the rivals in this set, as kept on disk.
    pub(crate) fn names(self) -> Vec<String> {
        self.iter().map(|r| r.name().to_owned()).collect()
    }

    /// The rivals named in `names` (a name this build does not know is left out: it
    /// checks no such order).
    pub(crate) fn named(names: &[String]) -> Rivals {
        (names.iter())
            .filter_map(|n| Rival::named(n))
            .fold(Rivals::NONE, Rivals::with)
    }
}

/// The rivals among `kept` that put on the page `items[page]` the same items in the same
/// order as `items` (the copy's order) does; `order_of` gives a rival's order of `items`.
pub(crate) fn agreeing(
    items: &[ItemNo],
    page: std::ops::Range<usize>,
    kept: Rivals,
    order_of: impl Fn(Rival) -> std::sync::Arc<Vec<ItemNo>>,
) -> Rivals {
    // One item is in every order.
    if items.len() < 2 {
        return kept;
    }
    kept.iter()
        .filter(|&rival| {
            let theirs = order_of(rival);
            theirs.len() == items.len() && theirs.get(page.clone()) == items.get(page.clone())
        })
        .fold(Rivals::NONE, Rivals::with)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachearr_library::{ItemKind, ItemRecord};

    /// An artist's albums: the years sort them otherwise than their titles.
    fn albums() -> LibraryIndex {
        let album = |id: &str, title: &str, year: u16| ItemRecord {
            kind: ItemKind::Album,
            year: Some(year),
            parent_id: Some("1".to_owned()),
            added_at: 100,
            ..ItemRecord::track(id, "1", "", title)
        };
        let records = [
            album("10", "Blue", 1990),
            album("11", "Amber", 1995),
            album("12", "The Crimson", 2001),
        ];
        LibraryIndex::build(&records).unwrap()
    }

    fn nos(index: &LibraryIndex, ids: &[&str]) -> Vec<ItemNo> {
        let everything = Visibility::everything();
        (ids.iter())
            .map(|id| index.by_id(id, &everything).unwrap().item_no())
            .collect()
    }

    #[test]
    fn a_rival_ordering_the_page_otherwise_is_not_agreeing() {
        let index = albums();
        let by_year = nos(&index, &["10", "11", "12"]);
        let kept = Rivals::of_order("");
        let plex = cachearr_dialect::of(cachearr_dialect::Profile::Plex)
            .answers()
            .unwrap();
        let order_of = |r: Rival| std::sync::Arc::new(r.ordered(&index, plex, &by_year));
        let agree = agreeing(&by_year, 0..3, kept, order_of);
        // By title "Amber" comes first; by key, date added (all at once) and year then
        // title the albums stand as by year.
        assert_eq!(
            agree.names(),
            ["year-title", "added", "rating-key"],
            "{agree:?}"
        );
        // The page of the last album alone: by title it is also last ("Crimson").
        let agree = agreeing(&by_year, 2..3, kept, order_of);
        assert_eq!(agree, kept);
    }

    #[test]
    fn rivals_are_kept_by_name_and_unknown_names_are_left_out() {
        let kept = Rivals::of_order("");
        let names = kept.names();
        assert_eq!(Rivals::named(&names), kept);
        assert_eq!(
            Rivals::named(&["sort-title".to_owned(), "by-mood".to_owned()]),
            Rivals::NONE.with(Rival::SortTitle)
        );
        assert_eq!(Rivals::of_order("id:desc"), Rivals::NONE);
    }
}
