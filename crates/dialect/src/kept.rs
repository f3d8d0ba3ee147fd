//! What the library copy keeps of a server's answers, read by the dialect that knows the
//! server's format: the copy's store holds elements and documents, and never reads a
//! server's document itself.
//!
//! * An [`Element`] is one item of a server document written as a tree of attributes and
//!   children (Plex's listing elements: `Track`, `Video`, `Directory` with their `Media`,
//!   `Part`, `Guid` …), stored with postcard; [`ElementRef`] and [`AttrsRef`] read a stored
//!   one back without copying its text.
//! * A [`KeptDocument`] is one item kept as the server's own JSON text (Jellyfin's
//!   `BaseItemDto`).
//!
//! [`kept_answer`] tells which of the two an answer holds and reads it; [`item_el`] and
//! [`container_el`] write a kept element back as the server writes it, and
//! [`answer_container`] reads the container attributes of a server's answer for the copy's
//! frames. Which names an element carries, which of its attributes are one user's and which
//! describe a page are the server's (`plex/kept.rs`).

pub use crate::jellyfin::doc::{KeptDocument, kept_documents};
pub use crate::model::element::{AttrsRef, Element, ElementRef, Scalar, ScalarRef};
pub use crate::plex::kept::{answer_container, container_el, interned, item_el};

/// What one answer gives the copy to keep ([`kept_answer`]).
pub enum Kept {
    /// A listing's items as elements, by id, and its container (less what describes the page
    /// alone), with the section the container names.
    Elements {
        /// The section the listing's container names, when it names one.
        section: Option<String>,
        /// The container's attributes.
        container: Element,
        /// The items by id, less what differs per user.
        items: Vec<(String, Element)>,
    },
    /// Items kept as the server's own JSON documents.
    Documents(Vec<KeptDocument>),
}

/// What an answer of a crawl or a change event gives the copy to keep: a listing's elements
/// or the items' documents, whichever the answer is; `None` when it is neither.
pub fn kept_answer(body: &[u8]) -> Option<Kept> {
    if let Some((section, container, items)) = crate::plex::kept::listing(body) {
        return Some(Kept::Elements {
            section,
            container,
            items,
        });
    }
    kept_documents(body).map(Kept::Documents)
}
