//! The on-disk (and, later, Redis) record format.
//!
//! ```text
//! magic "CA" | format version u8 | flags u8 | crc32 u32 LE | header length u32 LE | header | body
//! ```
//! The CRC covers the version and flags bytes and everything after itself. The header is postcard; the body is raw, or LZ4
//! (`lz4_flex`, size-prepended) when flag bit 0 is set. A record with another format version
//! is discarded cleanly (it is only a cache); a record whose checksum or header does not check
//! out is reported as corrupt, so the caller treats it as a miss and removes it.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use crate::entry::{CachedValue, Entry};

/// Version of the record layout. Bump on any incompatible change.
pub(crate) const FORMAT_VERSION: u8 = 1;
const MAGIC: [u8; 2] = *b"CA";
const FLAG_LZ4: u8 = 1;
const PREFIX_LEN: usize = 2 + 1 + 1 + 4 + 4;
/// Bodies smaller than this are stored raw: compression would save little and cost time.
const COMPRESS_MIN: usize = 512;

/// The persisted header of an entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) class: String,
    pub(crate) stored_at_ms: u64,
    pub(crate) fresh_until_ms: u64,
    pub(crate) stale_until_ms: u64,
    pub(crate) error_until_ms: u64,
    pub(crate) negative: bool,
    pub(crate) seq: u64,
    pub(crate) tags: Vec<(String, u64)>,
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) header: RecordHeader,
    pub(crate) body: Bytes,
}

/// Why a record could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// Written by another format version: discard quietly.
    OtherVersion(u8),
    /// Damaged: count it and remove it.
    Corrupt(&'static str),
}

/// Encodes an entry into a record.
pub(crate) fn encode(entry: &Entry) -> Bytes {
    let header = RecordHeader {
        status: entry.value.status,
        headers: entry.value.headers.clone(),
        class: entry.class().to_owned(),
        stored_at_ms: entry.stored_at_ms,
        fresh_until_ms: entry.fresh_until_ms,
        stale_until_ms: entry.stale_until_ms,
        error_until_ms: entry.error_until_ms,
        negative: entry.negative,
        seq: entry.seq,
        tags: entry
            .tags
            .iter()
            .map(|s| (s.cell.name.to_string(), s.generation))
            .collect(),
    };
    encode_parts(&header, &entry.value.body)
}

/// Encodes a header and body.
pub(crate) fn encode_parts(header: &RecordHeader, body: &[u8]) -> Bytes {
    // A header of plain strings and integers always serialises; an empty header would only
    // make the record undecodable, which readers treat as corrupt.
    let header_bytes = postcard::to_allocvec(header).unwrap_or_default();
    let (flags, body_bytes): (u8, std::borrow::Cow<'_, [u8]>) =
        if body.len() >= COMPRESS_MIN && worth_compressing(body) {
            let compressed = lz4_flex::compress_prepend_size(body);
            if compressed.len() < body.len() - body.len() / 8 {
                (FLAG_LZ4, compressed.into())
            } else {
                (0, body.into())
            }
        } else {
            (0, body.into())
        };
    let mut out = BytesMut::with_capacity(PREFIX_LEN + header_bytes.len() + body_bytes.len());
    out.put_slice(&MAGIC);
    out.put_u8(FORMAT_VERSION);
    out.put_u8(flags);
    out.put_u32_le(0); // checksum, filled below
    out.put_u32_le(header_bytes.len() as u32);
    out.put_slice(&header_bytes);
    out.put_slice(&body_bytes);
    let crc = checksum(&out);
    out[4..8].copy_from_slice(&crc.to_le_bytes());
    out.freeze()
}

/// Rewrites the checksum field of a record that holds at least the fixed prefix.
pub(crate) fn reseal(raw: &mut [u8]) {
    if raw.len() >= PREFIX_LEN {
        let crc = checksum(raw);
        raw[4..8].copy_from_slice(&crc.to_le_bytes());
    }
}

/// CRC-32 of the version and flags bytes and everything after the checksum field.
fn checksum(record: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&record[2..4]);
    h.update(&record[8..]);
    h.finalize()
}

/// For large bodies, a trial on the first 4 KiB: images and other already-compressed media
/// would cost a full LZ4 pass for nothing.
fn worth_compressing(body: &[u8]) -> bool {
    const SAMPLE: usize = 4096;
    if body.len() < 4 * SAMPLE {
        return true;
    }
    let sample = &body[..SAMPLE];
    lz4_flex::compress(sample).len() < SAMPLE - SAMPLE / 8
}

/// Decodes a record, checking magic, version and checksum. An uncompressed body is a slice
/// of `raw` (no copy).
pub(crate) fn decode(raw: &Bytes) -> Result<Record, DecodeError> {
    if raw.len() < PREFIX_LEN || raw[0..2] != MAGIC {
        return Err(DecodeError::Corrupt("bad magic or short record"));
    }
    let version = raw[2];
    if version != FORMAT_VERSION {
        return Err(DecodeError::OtherVersion(version));
    }
    let flags = raw[3];
    let crc = u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]);
    if checksum(raw) != crc {
        return Err(DecodeError::Corrupt("checksum mismatch"));
    }
    let header_len = u32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]) as usize;
    let rest = &raw[PREFIX_LEN..];
    if header_len > rest.len() {
        return Err(DecodeError::Corrupt("header length out of range"));
    }
    let (header_bytes, body_bytes) = rest.split_at(header_len);
    let header: RecordHeader =
        postcard::from_bytes(header_bytes).map_err(|_| DecodeError::Corrupt("bad header"))?;
    let body = if flags & FLAG_LZ4 != 0 {
        Bytes::from(
            lz4_flex::decompress_size_prepended(body_bytes)
                .map_err(|_| DecodeError::Corrupt("bad compressed body"))?,
        )
    } else {
        raw.slice(PREFIX_LEN + header_len..)
    };
    Ok(Record { header, body })
}

impl Record {
    /// The value part.
    pub(crate) fn value(&self) -> CachedValue {
        CachedValue {
            status: self.header.status,
            headers: self.header.headers.clone(),
            body: self.body.clone(),
        }
    }

    /// When it may be dropped.
    pub(crate) fn expires_at_ms(&self) -> u64 {
        let h = &self.header;
        h.fresh_until_ms.max(h.stale_until_ms).max(h.error_until_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RecordHeader {
        RecordHeader {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            class: "metadata".into(),
            stored_at_ms: 1,
            fresh_until_ms: 2,
            stale_until_ms: 3,
            error_until_ms: 4,
            negative: false,
            seq: 9,
            tags: vec![("item:1".into(), 3)],
        }
    }

    #[test]
    fn round_trips_small_and_compressible_bodies() {
        for body in [b"tiny".to_vec(), vec![b'x'; 100_000]] {
            let raw = encode_parts(&header(), &body);
            let rec = decode(&raw).expect("decodes");
            assert_eq!(rec.header, header());
            assert_eq!(&rec.body[..], &body[..]);
        }
        // The 100 KB run of one byte must actually have been compressed.
        assert!(encode_parts(&header(), &vec![b'x'; 100_000]).len() < 10_000);
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let raw = encode_parts(&header(), b"{\"MediaContainer\":{}}");
        for i in 0..raw.len() {
            for bit in 0..8 {
                let mut bad = raw.to_vec();
                bad[i] ^= 1 << bit;
                assert!(
                    decode(&Bytes::from(bad)).is_err(),
                    "flip at byte {i} bit {bit} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn other_versions_are_discarded_not_corrupt() {
        let mut raw = encode_parts(&header(), b"x").to_vec();
        raw[2] = FORMAT_VERSION + 1;
        let raw = Bytes::from(raw);
        assert_eq!(
            decode(&raw),
            Err(DecodeError::OtherVersion(FORMAT_VERSION + 1))
        );
        assert!(matches!(
            decode(&raw.slice(..5)),
            Err(DecodeError::Corrupt(_))
        ));
    }
}
