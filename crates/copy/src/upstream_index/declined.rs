//! Why the copy declined a request it was asked to answer ([`Declined`]), and the counts of
//! each reason per upstream ([`DeclineCounts`]): `copy_declined{upstream, reason}` in
//! `/metrics`, `declined` in `GET /api/index`.
//!
//! A decline is never an error: the request goes on to the cache and the server unchanged.
//! The reason says which of the copy's conditions the request did not meet, so that an
//! operator can tell a copy still learning from one that cannot answer a tool's requests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why the copy left a search or a walk to the server. Each reason's [`label`](Self::label)
/// is a fixed word: the metric's label value and the key in `/api/index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Declined {
    /// The index is off, not built yet, or holds no copy of the item or section asked for.
    NotIndexed,
    /// The server's answers are not kept (no element or document of an item on the page):
    /// there is nothing to answer with.
    NotKept,
    /// An item changed (on the server or through cachearr) and is not read again yet: an
    /// answer could show it as it was.
    ItemChanged,
    /// No user to answer for: the request carries no token, or two.
    NoUser,
    /// The token was refused by the server last time: no cached answer goes to it.
    TokenRefused,
    /// The request names another user (their view is the server's to give).
    OtherUser,
    /// The user's sections (or their own id) could not be read.
    SectionsUnknown,
    /// A section the answer spans is not shown whole to the user: the server may hide some
    /// of its items from them.
    SectionNotWhole,
    /// A route, parameter or page the copy does not model.
    UnmodelledParameter,
    /// The user's first misses of a walk: a lone request is cheaper at the server than the
    /// reads the copy needs (and the listing's last page, which would pay for no answer).
    FirstMisses,
    /// The walk's frame (its sort and what each item shows) is not proven on the server's
    /// answers yet.
    FrameUnproven,
    /// The walk's frame was refused for good: the server's answers differ from the copy's.
    FrameRefused,
    /// The page asked for is larger than the copy writes.
    PageTooLarge,
    /// The asking user's play state could not be read for the answer.
    UserStateUnread,
    /// What the server hides from the user could not be told of an item the answer spans
    /// (its document not kept, a rating the model does not value).
    RestrictionUnknown,
    /// The item walked is one the server hides from the user: the server answers as it does.
    ItemHidden,
    /// The server has not said which release it runs since the gateway started: the copy
    /// was made under the release it ran before, whose answers another may not share.
    ReleaseUnconfirmed,
}

impl Declined {
    /// Every reason, in the order they are reported.
    pub const ALL: [Declined; 17] = [
        Declined::NotIndexed,
        Declined::NotKept,
        Declined::ItemChanged,
        Declined::NoUser,
        Declined::TokenRefused,
        Declined::OtherUser,
        Declined::SectionsUnknown,
        Declined::SectionNotWhole,
        Declined::UnmodelledParameter,
        Declined::FirstMisses,
        Declined::FrameUnproven,
        Declined::FrameRefused,
        Declined::PageTooLarge,
        Declined::UserStateUnread,
        Declined::RestrictionUnknown,
        Declined::ItemHidden,
        Declined::ReleaseUnconfirmed,
    ];

    /// The reason as a fixed word (a metric label value, a key in `/api/index`).
    pub fn label(self) -> &'static str {
        match self {
            Declined::NotIndexed => "not_indexed",
            Declined::NotKept => "not_kept",
            Declined::ItemChanged => "item_changed",
            Declined::NoUser => "no_user",
            Declined::TokenRefused => "token_refused",
            Declined::OtherUser => "other_user",
            Declined::SectionsUnknown => "sections_unknown",
            Declined::SectionNotWhole => "section_not_whole",
            Declined::UnmodelledParameter => "unmodelled_parameter",
            Declined::FirstMisses => "first_misses",
            Declined::FrameUnproven => "frame_unproven",
            Declined::FrameRefused => "frame_refused",
            Declined::PageTooLarge => "page_too_large",
            Declined::UserStateUnread => "user_state_unread",
            Declined::RestrictionUnknown => "restriction_unknown",
            Declined::ItemHidden => "item_hidden",
            Declined::ReleaseUnconfirmed => "release_unconfirmed",
        }
    }

    fn slot(self) -> usize {
        Declined::ALL
            .iter()
            .position(|&reason| reason == self)
            .unwrap_or(0)
    }
}

impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// An `Option`'s `None` read as a decline for `reason`.
pub(crate) trait OrDeclined<T> {
    /// The value, or `Err(reason)` when there is none.
    fn or_declined(self, reason: Declined) -> Result<T, Declined>;
}

impl<T> OrDeclined<T> for Option<T> {
    fn or_declined(self, reason: Declined) -> Result<T, Declined> {
        self.ok_or(reason)
    }
}

/// The declines of one upstream's copy, counted per reason.
#[derive(Debug, Default)]
pub struct DeclineCounts {
    counts: [AtomicU64; Declined::ALL.len()],
}

impl DeclineCounts {
    /// Counts one decline for `reason`.
    pub fn note(&self, reason: Declined) {
        self.counts[reason.slot()].fetch_add(1, Ordering::Relaxed);
    }

    /// How many declines `reason` has had.
    pub fn count(&self, reason: Declined) -> u64 {
        self.counts[reason.slot()].load(Ordering::Relaxed)
    }

    /// The reasons that declined at least once, each with its count.
    pub fn report(&self) -> BTreeMap<String, u64> {
        Declined::ALL
            .iter()
            .map(|&reason| (reason.label().to_owned(), self.count(reason)))
            .filter(|&(_, count)| count > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct_fixed_words() {
        let labels: std::collections::HashSet<_> =
            Declined::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(labels.len(), Declined::ALL.len());
        for label in labels {
            assert!(label.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }

    #[test]
    fn counts_each_reason_apart() {
        let counts = DeclineCounts::default();
        counts.note(Declined::FirstMisses);
        counts.note(Declined::FirstMisses);
        counts.note(Declined::UserStateUnread);
        assert_eq!(counts.count(Declined::FirstMisses), 2);
        assert_eq!(counts.count(Declined::UserStateUnread), 1);
        assert_eq!(counts.count(Declined::NotIndexed), 0);
        let report = counts.report();
        assert_eq!(report.len(), 2);
        assert_eq!(report["first_misses"], 2);
        assert_eq!(report["user_state_unread"], 1);
    }
}
