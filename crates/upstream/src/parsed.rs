//! What was derived from one user's cached answers — their sections, their play state in a
//! listing — kept beside the user ([`crate::users::UserRecord::answers`]) and made again only
//! when the answer changes: every answer from the library copy reads the same few listings
//! as its user, and parsing them again each time was a tenth of its time. A read as a user
//! parses its answer here as its last step (`cachearr-gateway`'s `fetch`).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use rustc_hash::FxHashMap;

/// Something derived from a user's cached answer (a parsed listing).
pub type Memo = Arc<dyn std::any::Any + Send + Sync>;

/// A parse kept with the body it was made from ([`ParsedAnswers::parsed`]).
#[derive(Clone)]
struct KeptMemo {
    hash: u64,
    body: Bytes,
    memo: Memo,
}

/// Most memos kept per user; past it they are all dropped and made again as needed.
const MAX_MEMOS: usize = 64;

/// One user's parsed answers, by name, each with a hash of the body it was parsed from.
#[derive(Default)]
pub struct ParsedAnswers {
    memos: Mutex<FxHashMap<String, KeptMemo>>,
}

impl std::fmt::Debug for ParsedAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.memos.lock().map_or(0, |m| m.len());
        f.debug_struct("ParsedAnswers")
            .field("kept", &kept)
            .finish()
    }
}

impl ParsedAnswers {
    /// `body` (an answer read as the user) parsed with `parse`, kept under `name` and parsed
    /// again only when the body changes (by its hash); `None` when it cannot be parsed.
    ///
    /// The body the parse was made from is kept with it: the same body read again (the same
    /// cache entry, so the same buffer) is known by its address, without hashing it — a
    /// listing of hundreds of items read for every answer from the copy. The buffer cannot be
    /// freed and its address reused while the memo holds it.
    pub fn parsed<T: std::any::Any + Send + Sync>(
        &self,
        name: &str,
        body: &Bytes,
        parse: impl FnOnce(&[u8]) -> Option<T>,
    ) -> Option<Arc<T>> {
        let same_buffer =
            |kept: &KeptMemo| kept.body.as_ptr() == body.as_ptr() && kept.body.len() == body.len();
        let kept = self
            .memos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned();
        if let Some(kept) = &kept
            && same_buffer(kept)
            && let Ok(parsed) = kept.memo.clone().downcast::<T>()
        {
            return Some(parsed);
        }
        let hash = xxhash_rust::xxh3::xxh3_64(body);
        let memo = match kept {
            Some(kept) if kept.hash == hash => kept.memo.downcast::<T>().ok(),
            _ => None,
        };
        let parsed = match memo {
            Some(parsed) => parsed,
            None => Arc::new(parse(body)?),
        };
        self.keep_memo(
            name,
            KeptMemo {
                hash,
                body: body.clone(),
                memo: parsed.clone() as Memo,
            },
        );
        Some(parsed)
    }

    fn keep_memo(&self, name: &str, kept: KeptMemo) {
        let mut memos = self.memos.lock().unwrap_or_else(|e| e.into_inner());
        if memos.len() >= MAX_MEMOS && !memos.contains_key(name) {
            memos.clear();
        }
        memos.insert(name.to_string(), kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body is parsed once per content: read again from the same buffer or from a new
    /// buffer of the same bytes it is not parsed again; changed, it is.
    #[test]
    fn a_body_is_parsed_once_per_content_whatever_buffer_holds_it() {
        let user = ParsedAnswers::default();
        let parses = std::cell::Cell::new(0);
        let parse = |body: &[u8]| {
            parses.set(parses.get() + 1);
            Some(body.len())
        };
        let body = Bytes::from(vec![b'a'; 4096]);
        assert_eq!(*user.parsed("played", &body, parse).unwrap(), 4096);
        assert_eq!(*user.parsed("played", &body.clone(), parse).unwrap(), 4096);
        let copy = Bytes::from(body.to_vec());
        assert_eq!(*user.parsed("played", &copy, parse).unwrap(), 4096);
        assert_eq!(parses.get(), 1, "the same content parsed again");
        let changed = Bytes::from(vec![b'b'; 10]);
        assert_eq!(*user.parsed("played", &changed, parse).unwrap(), 10);
        // Another name is another memo; a parse of another type is made again.
        user.parsed("favourites", &changed, parse).unwrap();
        assert_eq!(parses.get(), 3);
        let other = user
            .parsed("played", &changed, |b| Some(b.to_vec()))
            .unwrap();
        assert_eq!(other.len(), 10);
    }
}
