//! [`Key`]: the cache key, a shared string with its hash computed once.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, OnceLock};

/// A cache key. The gateway builds the string (upstream, method, path, canonical query, scope);
/// the engine never parses it. Cloning is a reference-count bump, and the hash is computed once
/// in [`Key::new`] so that every map lookup on the hit path reuses it.
#[derive(Clone)]
pub struct Key {
    text: Arc<str>,
    hash: u64,
}

/// Process-wide random hash seed: keys come from client requests, so an attacker must not be
/// able to pick keys that collide in our tables.
fn hash_seed() -> &'static std::collections::hash_map::RandomState {
    static SEED: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    SEED.get_or_init(std::collections::hash_map::RandomState::new)
}

impl Key {
    /// Makes a key from its text and precomputes its hash.
    pub fn new(text: impl Into<Arc<str>>) -> Self {
        let text = text.into();
        let hash = hash_seed().hash_one(text.as_bytes());
        Self { text, hash }
    }

    /// The key's text, as the gateway built it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The precomputed (per-process, seeded) hash.
    pub fn hash_u64(&self) -> u64 {
        self.hash
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Key").field(&&*self.text).finish()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A [`BuildHasher`] whose hasher returns the `u64` a [`Key`] writes, unchanged: the key's
/// hash is already a good seeded hash, so hashing it again would only cost time.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct KeyHashBuilder;

/// The hasher made by [`KeyHashBuilder`].
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl BuildHasher for KeyHashBuilder {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached if something other than a Key is hashed with this builder; fold the
        // bytes in (FNV-1a) so the result is still usable.
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_text_gives_equal_keys_and_hashes() {
        let a = Key::new("plex|GET|/library/sections");
        let b = Key::new(String::from("plex|GET|/library/sections"));
        assert_eq!(a, b);
        assert_eq!(a.hash_u64(), b.hash_u64());
        assert_ne!(a, Key::new("plex|GET|/library/sections/1"));
        assert_eq!(KeyHashBuilder.hash_one(&a), a.hash_u64());
    }
}
