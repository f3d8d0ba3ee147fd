//! The library copy as the dialects' answer writers read it ([`CopyView`]): the request's
//! headers, the asking user's sections and those the copy answers for, the index and its
//! title search, and the server's kept elements; and a search's page written by the dialect
//! ([`CopyAnswers::search`](cachearr_dialect::CopyAnswers::search)) made an [`Answer`].

use cachearr_library::index::ItemView;
use cachearr_library::{ItemKind, LibraryIndex, Visibility};
use http::HeaderMap;

use super::super::declined::Declined;
use super::super::elements;
use super::super::titles;
use super::{Answer, AnswerBody, Ctx, UserSection, UserSections};
use cachearr_dialect::answers::{CopyView, Found, Page};
use cachearr_dialect::model::library::Rank;
use cachearr_dialect::model::library::TitleHit;
use cachearr_serverfmt::tree::El;

impl Ctx<'_> {
    /// The sections to search: the visible ones (optionally one), each of which the index
    /// must hold. `None` when the index cannot answer for them. Sections of kinds the index
    /// holds none of (photos, other) are left out.
    pub(super) fn indexed(&self, only: Option<&str>) -> Option<Vec<&UserSection>> {
        let held = self.held();
        let mut out = Vec::new();
        for s in &self.sections.sections {
            if only.is_some_and(|id| id != s.id) {
                continue;
            }
            if self.answers.section_kinds(&s.kind).is_empty() {
                // Photo and other sections hold nothing the searched kinds include.
                continue;
            }
            if !held.contains(&s.id.as_str()) {
                self.note_declined(self.not_held(&s.id));
                return None;
            }
            out.push(s);
        }
        Some(out)
    }

    /// Why a section of the user's is not among those the copy answers for: one the copy
    /// holds is not shown whole to the user; otherwise the copy does not hold it.
    pub(super) fn not_held(&self, id: &str) -> Declined {
        let whole = self.whole.iter().any(|w| w.eq_ignore_ascii_case(id));
        if whole {
            Declined::NotIndexed
        } else {
            Declined::SectionNotWhole
        }
    }

    /// The sections to search for `kinds` (all visible ones that hold any of them, as the
    /// dialect says), or `None` when one of them also holds kinds the title search does not
    /// answer (a show section's series and seasons) and `others_asked`, or is not in the
    /// index.
    pub(super) fn search_sections(
        &self,
        kinds: &[ItemKind],
        others_asked: bool,
    ) -> Option<Vec<&str>> {
        let held = self.held();
        let mut out = Vec::new();
        for s in &self.sections.sections {
            let have = self.answers.section_kinds(&s.kind);
            if self.answers.section_holds_others(&s.kind) && others_asked && !have.is_empty() {
                self.note_declined(Declined::UnmodelledParameter);
                return None;
            }
            if !have.iter().any(|k| kinds.contains(k)) {
                continue;
            }
            if !held.contains(&s.id.as_str()) {
                self.note_declined(self.not_held(&s.id));
                return None;
            }
            out.push(s.id.as_str());
        }
        Some(out)
    }

    /// The answer of what a search `found`, as the dialect wrote it (`params`: the search's
    /// query, as the dialect read it); `None`: the server answers.
    pub(super) fn found_answer(&self, found: Found, params: &[(String, String)]) -> Option<Answer> {
        Some(match found {
            Found::Tree(page) => self.page_answer(page),
            // Written from their kept documents with the options the query asks for.
            Found::Documents(found) => Answer {
                body: AnswerBody::documents(found, params)?,
                content_type: self.answers.facts().content_type(true),
                headers: Vec::new(),
            },
            Found::Text(text) => Answer {
                body: AnswerBody::Text(text),
                content_type: self.answers.facts().content_type(true),
                headers: Vec::new(),
            },
        })
    }

    /// The answer of a search's `page`, as the dialect wrote it, in the form the request
    /// asks for.
    fn page_answer(&self, page: Page) -> Answer {
        let json = self.json();
        Answer {
            body: AnswerBody::Tree {
                doc: page.doc,
                json,
                items: page.items,
            },
            content_type: self.answers.facts().content_type(json),
            headers: self.whole_headers(page.paged),
        }
    }
}

impl Ctx<'_> {
    /// The `hits` the asking user is shown (all of them when the sections answered hide
    /// nothing from the user).
    fn shown(&self, hits: Vec<TitleHit>) -> Vec<TitleHit> {
        match self.restricted {
            None => hits,
            Some(restricted) => (hits.into_iter())
                .filter(|hit| restricted.shows_no(hit.item))
                .collect(),
        }
    }
}

impl CopyView for Ctx<'_> {
    fn headers(&self) -> &HeaderMap {
        self.headers
    }

    fn sections(&self) -> &UserSections {
        self.sections
    }

    fn indexed(&self, only: Option<&str>) -> Option<Vec<&UserSection>> {
        Ctx::indexed(self, only)
    }

    fn index(&self) -> &LibraryIndex {
        self.index
    }

    fn view(&self, hit: &TitleHit) -> Option<ItemView<'_>> {
        self.index.item(hit.item, &Visibility::everything())
    }

    fn find(
        &self,
        query: &str,
        kinds: &[ItemKind],
        sections: &[&str],
        originals: bool,
    ) -> Vec<TitleHit> {
        self.shown(self.folded.find(query, kinds, sections, originals))
    }

    fn find_exact(&self, query: &str, kinds: &[ItemKind], sections: &[&str]) -> Vec<TitleHit> {
        self.shown(self.folded.find_exact(query, kinds, sections))
    }

    fn find_shows(&self, query: &str, sections: &[&str]) -> Vec<(&str, Rank)> {
        let shows = self.folded.find_shows(query, sections);
        // A show found is not an indexed item whose marks the restriction reads: the
        // answer is the server's.
        if let Some(restricted) = self.restricted
            && !shows.is_empty()
        {
            restricted.cannot_tell();
        }
        shows
            .into_iter()
            .map(|(show, rank)| (show.id.as_str(), rank))
            .collect()
    }

    fn item_el(&self, id: &str, updated_at: i64, guids: bool) -> Option<El> {
        self.elements.as_ref()?.item_el(id, updated_at, guids)
    }

    fn section_container(&self, section: &str) -> Option<El> {
        let kept = self.elements.as_ref()?.container(section)?;
        elements::container_el(&kept)
    }

    fn search_sections(&self, kinds: &[ItemKind], others_asked: bool) -> Option<Vec<&str>> {
        Ctx::search_sections(self, kinds, others_asked)
    }

    fn original_title<'a>(&self, view: &ItemView<'a>) -> Option<&'a str> {
        titles::original_title(view)
    }

    fn document(&self, id: &str) -> Option<Vec<u8>> {
        self.elements.as_ref()?.document_json(id)
    }
}
