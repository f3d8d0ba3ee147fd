//! Response headers prepared once per cache entry.
//!
//! The engine keeps headers as plain strings (it knows no HTTP). Turning them into a
//! [`HeaderMap`] on every hit would parse and copy each name and value again; instead the first
//! answer from an entry builds the map and later hits clone it (reference-count bumps for the
//! values). The memo is keyed by the entry's address and holds a `Weak` to it, which pins the
//! allocation: while a memo exists no other entry can live at that address, so a hit on the key
//! is always the same entry. Shards are cleared when full (the memo is only a shortcut).
//!
//! The memo also holds the entry's [`BodyFile`] once the entry has been hit: the sealed copy of
//! a large body that answers send with `sendfile` instead of copying (see [`crate::sendfile`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use cachearr_engine::Entry;

use crate::sendfile::BodyFile;
use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};

const SHARDS: usize = 16;
const PER_SHARD: usize = 1024;

/// What is prepared for one entry.
struct Memo {
    /// Pins the entry's address (see the module docs).
    _entry: Weak<Entry>,
    headers: HeaderMap,
    /// `None` until the entry is hit, and for bodies that get no file.
    file: Option<Arc<BodyFile>>,
    /// Whether making a file was tried (it is tried once).
    file_tried: bool,
}

type Shard = Mutex<HashMap<usize, Memo>>;

/// The memo of prepared header maps.
pub(crate) struct PreparedHeaders {
    shards: Vec<Shard>,
}

impl PreparedHeaders {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// The entry's stored headers as a map (built once, then cloned) and, when `hit` and the
    /// body is large, its body file (made on the first hit).
    pub(crate) fn headers_for(
        &self,
        entry: &Arc<Entry>,
        hit: bool,
    ) -> (HeaderMap, Option<Arc<BodyFile>>) {
        let addr = Arc::as_ptr(entry) as usize;
        let shard = &self.shards[(addr >> 6) % SHARDS];
        {
            let map = shard.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(m) = map.get(&addr)
                && (m.file_tried || !hit)
            {
                return (m.headers.clone(), m.file.clone());
            }
        }
        // First answer from this entry, or its first hit: prepare outside the lock.
        let built = build(entry);
        let file = if hit && entry.value.status == 200 {
            BodyFile::create(&entry.value.body)
        } else {
            None
        };
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= PER_SHARD {
            map.clear();
        }
        let memo = map.entry(addr).or_insert_with(|| Memo {
            _entry: Arc::downgrade(entry),
            headers: built,
            file: None,
            file_tried: false,
        });
        if hit && !memo.file_tried {
            memo.file = file;
            memo.file_tried = true;
        }
        (memo.headers.clone(), memo.file.clone())
    }
}

fn build(entry: &Entry) -> HeaderMap {
    let mut h = HeaderMap::with_capacity(entry.value.headers.len() + 4);
    for (name, value) in &entry.value.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.append(n, v);
        }
    }
    h
}
