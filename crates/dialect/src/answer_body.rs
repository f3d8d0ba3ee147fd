//! An answer from the library copy before the asking user's own state is put in
//! ([`AnswerBody`]), and its writing with that state ([`AnswerBody::write`]).
//!
//! Which of a user's values a server writes into its answers, where, and which listings read
//! as that user give them, is its dialect's (`plex::user_state`: the play-state attributes
//! of a tree's items or between each kept item's halves; `jellyfin::user_state`: each kept
//! document's `UserData`); the body's form says which. The copy's `upstream_index::answer`
//! makes a body from what the copy found (or the dialect's [`Found`](crate::answers::Found)),
//! hands its writing the reads it needs — the user's listings through the cache
//! ([`ReadAsUser`]), the kept documents — and serves the text.
//!
//! A module of its own beside [`answers`](crate::answers) (the words the answers share, which
//! each server's dialect imports): it imports both dialects' writers.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use cachearr_serverfmt::tree::El;

use crate::ReadAsUser;
use crate::answers::{Documents, ItemRef, ItemsShown};
pub use crate::jellyfin::doc::CutDocument;
use crate::jellyfin::doc::DtoOptions;
use crate::{jellyfin, plex};

/// An answer written with the user's state ([`AnswerBody::write`]).
#[derive(Debug)]
pub struct Written {
    /// The text.
    pub text: String,
    /// The ids it shows and names, where the writing knows them (`None`: the answer is read
    /// for them as the server's are).
    pub ids: Option<ItemsShown>,
}

/// How a request has its items' kept documents written (Jellyfin's `DtoOptions`: the fields,
/// images and user data it asks for): the copy keeps each document written once per form
/// ([`DocumentForm::key`]) and cut where the user's values go ([`DocumentForm::cut`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentForm {
    options: DtoOptions,
    /// [`DocumentForm::key`], hashed once: it is asked for every item of every answer.
    key: u64,
}

impl DocumentForm {
    /// The form a request's query (`params`, names lower-cased) asks for; `None` when it is
    /// not understood (the server answers).
    pub fn parse(params: &[(String, String)]) -> Option<DocumentForm> {
        let options = DtoOptions::parse(params)?;
        let mut hasher = DefaultHasher::new();
        options.hash(&mut hasher);
        Some(DocumentForm {
            options,
            key: hasher.finish(),
        })
    }

    /// A number that tells this form from another: a hash of what it asks (two forms of one
    /// number are as likely as two 64-bit hashes alike).
    pub fn key(&self) -> u64 {
        self.key
    }

    /// Kept document `kept` (its JSON text) written in this form and cut where the user's
    /// values go; `None`: it cannot be (the server answers).
    pub fn cut(&self, kept: &[u8]) -> Option<CutDocument> {
        jellyfin::user_state::cut_document(&self.options, kept)
    }
}

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
        form: DocumentForm,
    },
}

impl AnswerBody {
    /// A page of documents, written with the options the request's query (`params`, names
    /// lower-cased) asks for; `None` when they are not understood (the server answers).
    pub fn documents(page: Documents, params: &[(String, String)]) -> Option<AnswerBody> {
        Some(AnswerBody::Documents {
            page,
            form: DocumentForm::parse(params)?,
        })
    }

    /// The answer written out with the asking user's own state, as the server would write it
    /// for them: their values read through `read`, and the items' kept documents, written in
    /// the request's form and cut where the user's values go, through `documents`. `None`
    /// when one cannot be had (a listing not read, a document not kept): the answer is then
    /// the server's to give.
    pub async fn write<D: Deref<Target = CutDocument>>(
        self,
        documents: impl Fn(&str, &DocumentForm) -> Option<D>,
        read: &impl ReadAsUser,
    ) -> Option<Written> {
        let text = |text| Written { text, ids: None };
        match self {
            AnswerBody::Text(t) => Some(text(t)),
            AnswerBody::Tree {
                mut doc,
                json,
                items,
            } => {
                plex::user_state::fill(&mut doc, &items, read).await?;
                Some(text(if json { doc.to_json() } else { doc.to_xml() }))
            }
            AnswerBody::Halves {
                container,
                json,
                items,
            } => plex::user_state::write_halves(&container, json, &items, read)
                .await
                .map(text),
            AnswerBody::Documents { page, form } => {
                let documents = |id: &str| documents(id, &form);
                let (text, ids) =
                    jellyfin::user_state::write_documents(&page, documents, read).await?;
                Some(Written {
                    text,
                    ids: Some(ids),
                })
            }
        }
    }
}
