//! An answer from the library copy before the asking user's own state is put in
//! ([`AnswerBody`]), and its writing with that state ([`AnswerBody::write`]).
//!
//! Which of a user's values a server writes into its answers, where, and which listings read
//! as that user give them, is its dialect's (`plex::user_state`: the play-state attributes
//! of a tree's items or between each kept item's halves; `jellyfin::user_state`: each kept
//! document's `UserData`); the body's form says which. The gateway's `library::answer`
//! makes a body from what the copy found (or the dialect's [`Found`](crate::answers::Found)),
//! hands its writing the reads it needs — the user's listings through the cache
//! ([`ReadAsUser`]), the kept documents — and serves the text.
//!
//! A module of its own beside [`answers`](crate::answers) (the words the answers share, which
//! each server's dialect imports): it imports both dialects' writers.

use std::sync::Arc;

use cachearr_serverfmt::plex::El;

use crate::ReadAsUser;
use crate::answers::{Documents, ItemRef};
use crate::jellyfin::doc::{Doc, DtoOptions};
use crate::{jellyfin, plex};

/// An answer from the copy, before the asking user's own state is put in. See the module
/// docs.
#[derive(Debug)]
pub enum AnswerBody {
    /// Written whole: it carries no user state.
    Text(String),
    /// A document tree whose items get the user's play state, written as JSON (`json`) or
    /// XML (Plex's).
    Tree {
        /// The document.
        doc: El,
        /// Whether it is written as JSON.
        json: bool,
        /// The items whose play state to put in, each where it is in `doc`.
        items: Vec<ItemRef>,
    },
    /// A page whose items the copy keeps written, each cut in two where the user's values go
    /// (`serverfmt`'s `El::halves`, at Plex's `user_state::insertion_point`).
    Halves {
        /// The page's container, its attributes only.
        container: El,
        /// Whether it is written as JSON.
        json: bool,
        /// Each item and its two halves, in the page's order.
        items: Vec<(ItemRef, Arc<(String, String)>)>,
    },
    /// Items to write from their kept documents, each projected to the request's options
    /// with the user's data (Jellyfin's `/Items`).
    Documents {
        /// The items, the whole count and where the page starts.
        page: Documents,
        /// What the request asks of each item.
        options: DtoOptions,
    },
}

impl AnswerBody {
    /// A page of documents, written with the options the request's query (`params`, names
    /// lower-cased) asks for; `None` when they are not understood (the server answers).
    pub fn documents(page: Documents, params: &[(String, String)]) -> Option<AnswerBody> {
        Some(AnswerBody::Documents {
            page,
            options: DtoOptions::parse(params)?,
        })
    }

    /// The answer written out with the asking user's own state, as the server would write it
    /// for them: their values read through `read`, and the items' kept documents through
    /// `documents`. `None` when one cannot be had (a listing not read, a document not kept):
    /// the answer is then the server's to give.
    pub async fn write(
        self,
        documents: impl Fn(&str) -> Option<Doc>,
        read: &impl ReadAsUser,
    ) -> Option<String> {
        match self {
            AnswerBody::Text(text) => Some(text),
            AnswerBody::Tree {
                mut doc,
                json,
                items,
            } => {
                plex::user_state::fill(&mut doc, &items, read).await?;
                Some(if json { doc.to_json() } else { doc.to_xml() })
            }
            AnswerBody::Halves {
                container,
                json,
                items,
            } => plex::user_state::write_halves(&container, json, &items, read).await,
            AnswerBody::Documents { page, options } => {
                jellyfin::user_state::write_documents(&page, &options, documents, read).await
            }
        }
    }
}
