//! Response headers prepared once per cache entry.
//!
//! The engine keeps headers as plain strings (it knows no HTTP). Turning them into a
//! [`HeaderMap`] on every hit would parse and copy each name and value again; instead the first
//! answer from an entry builds the map and later hits clone it (reference-count bumps for the
//! values). The memo is keyed by the entry's address and holds a `Weak` to it, which pins the
//! allocation: while a memo exists no other entry can live at that address, so a hit on the key
//! is always the same entry. Shards are cleared when full (the memo is only a shortcut).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use cachearr_engine::Entry;
use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};

const SHARDS: usize = 16;
const PER_SHARD: usize = 1024;

type Shard = Mutex<HashMap<usize, (Weak<Entry>, HeaderMap)>>;

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

    /// The entry's stored headers as a map (built once, then cloned).
    pub(crate) fn headers_for(&self, entry: &Arc<Entry>) -> HeaderMap {
        let addr = Arc::as_ptr(entry) as usize;
        let shard = &self.shards[(addr >> 6) % SHARDS];
        if let Some((_, h)) = shard.lock().unwrap_or_else(|e| e.into_inner()).get(&addr) {
            return h.clone();
        }
        let built = build(entry);
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= PER_SHARD {
            map.clear();
        }
        map.insert(addr, (Arc::downgrade(entry), built.clone()));
        built
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
