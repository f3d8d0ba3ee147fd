//! Record authentication: every record in Redis carries an HMAC-SHA256 tag bound to the Redis
//! key it was written under, keyed by a key derived from the installation secret the instances
//! sharing the Redis hold. A record copied under another key (another user's, another path's),
//! written by an instance with another secret, or altered, fails its tag and is a miss: Redis
//! is storage, not a party the gateway trusts with who may read what.
//!
//! ```text
//! value = tag (32) | clear number (u64 LE) | record
//! tag   = HMAC-SHA256(K_key, clear number | record)
//! K_key = HMAC-SHA256(K, Redis key)
//! K     = HKDF-SHA256(salt "cachearr redis", secret, info "record tag v1")
//! ```
//!
//! `K` is derived, never the secret itself: the secret also keys the users' token hashes,
//! and no key serves two purposes. The per-key step makes the tag a function of the key
//! without copying key and record into one buffer, and lets `ring` compare tags in constant
//! time.

use bytes::Bytes;
use ring::{hkdf, hmac};

/// Length of a record's tag.
const TAG_LEN: usize = 32;
/// Tag and clear number: what comes before the record.
pub(super) const SEALED_PREFIX: usize = TAG_LEN + 8;

/// The secret every instance sharing a Redis holds (the gateway's installation secret,
/// `{data_dir}/secret`): records are authenticated with a key derived from it. It never
/// appears in a log line or a `Debug` output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SharedSecret(Vec<u8>);

impl SharedSecret {
    /// A secret from its bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        SharedSecret(bytes.into())
    }

    /// Whether no secret was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}

/// Seals and opens records with the key derived from a [`SharedSecret`].
pub(super) struct RecordSeal {
    key: hmac::Key,
}

/// `hkdf::KeyType` for a 32-byte output (`hmac::Algorithm` implements it too, but naming
/// the length keeps the derivation independent of the tag's algorithm).
struct Len32;

impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

impl RecordSeal {
    /// The seal keyed by `secret` (HKDF-SHA256, so the secret's own bytes key nothing here).
    pub(super) fn new(secret: &SharedSecret) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"cachearr redis").extract(&secret.0);
        let mut derived = [0u8; 32];
        // Expanding to 32 bytes of SHA-256 output cannot fail (the limit is 255 blocks).
        if let Ok(okm) = prk.expand(&[b"record tag v1"], Len32) {
            let _ = okm.fill(&mut derived);
        }
        RecordSeal {
            key: hmac::Key::new(hmac::HMAC_SHA256, &derived),
        }
    }

    fn key_for(&self, redis_key: &str) -> hmac::Key {
        let k = hmac::sign(&self.key, redis_key.as_bytes());
        hmac::Key::new(hmac::HMAC_SHA256, k.as_ref())
    }

    /// The value to store under `redis_key`: tag, clear number, record.
    pub(super) fn seal(&self, redis_key: &str, clear_number: u64, record: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(SEALED_PREFIX + record.len());
        v.extend_from_slice(&[0u8; TAG_LEN]);
        v.extend_from_slice(&clear_number.to_le_bytes());
        v.extend_from_slice(record);
        let tag = hmac::sign(&self.key_for(redis_key), &v[TAG_LEN..]);
        v[..TAG_LEN].copy_from_slice(tag.as_ref());
        v
    }

    /// The clear number and record of a value read under `redis_key`, or `None` when its tag
    /// does not check out (written under another key or with another secret, or altered) or
    /// it is too short to hold one.
    pub(super) fn open(&self, redis_key: &str, value: Vec<u8>) -> Option<(u64, Bytes)> {
        if value.len() < SEALED_PREFIX {
            return None;
        }
        let (tag, sealed) = value.split_at(TAG_LEN);
        hmac::verify(&self.key_for(redis_key), sealed, tag).ok()?;
        let (number, _) = sealed.split_first_chunk::<8>()?;
        let number = u64::from_le_bytes(*number);
        let mut value = Bytes::from(value);
        Some((number, value.split_off(SEALED_PREFIX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(secret: &[u8]) -> RecordSeal {
        RecordSeal::new(&SharedSecret::new(secret))
    }

    #[test]
    fn opens_what_it_sealed_under_the_same_key_only() {
        let s = seal(b"0123456789abcdef");
        let v = s.seal("ns:s:0:plex GET /a u=1", 7, b"record");
        assert_eq!(
            s.open("ns:s:0:plex GET /a u=1", v.clone()),
            Some((7, Bytes::from_static(b"record")))
        );
        assert_eq!(s.open("ns:s:0:plex GET /a u=2", v.clone()), None);
        assert_eq!(s.open("ns:s:1:plex GET /a u=1", v), None);
    }

    #[test]
    fn another_secret_or_any_flipped_bit_fails() {
        let v = seal(b"one").seal("k", 1, b"body");
        assert_eq!(seal(b"two").open("k", v.clone()), None);
        let s = seal(b"one");
        for i in 0..v.len() {
            let mut bad = v.clone();
            bad[i] ^= 1;
            assert_eq!(s.open("k", bad), None, "flip at byte {i} went unnoticed");
        }
        assert_eq!(s.open("k", v[..SEALED_PREFIX - 1].to_vec()), None);
    }

    #[test]
    fn the_secret_never_shows_in_debug() {
        let text = format!("{:?}", SharedSecret::new(b"hunter2-hunter2!".to_vec()));
        assert!(!text.contains("hunter2"), "{text}");
    }
}
