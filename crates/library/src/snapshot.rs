//! The on-disk snapshot of a [`LibraryIndex`], loaded at start without a re-crawl.
//!
//! # Format (version 4)
//! ```text
//! magic    16 bytes  "cachearr-libidx\n"
//! version   4 bytes  u32 little-endian (this module's FORMAT_VERSION)
//! length    8 bytes  u64 little-endian, payload bytes
//! crc32     4 bytes  u32 little-endian, of the payload
//! payload            postcard encoding of the items and their text (IndexData)
//! ```
//! Only items and text are stored; the lookup maps and postings are rebuilt on load from the
//! stored normalised forms (no text is normalised again). A file with another magic, another
//! version, a wrong length or a bad checksum is refused with [`LibraryError::BadSnapshot`] —
//! the caller then rebuilds from the server, never serves a damaged index.
//!
//! Writes go to a temporary file in the same directory, are synced, then renamed over the
//! old snapshot, so a crash leaves either the old or the new snapshot, never half of one.
//!
//! postcard rather than rkyv: see `docs/library-index.md` (the payload is mostly one text
//! arena and plain integers, postcard is already in the tree, and a zero-copy format would
//! not avoid rebuilding the maps on load).

use std::io::Write;
use std::path::Path;

use crate::LibraryError;
use crate::index::{IndexData, LibraryIndex};

const MAGIC: &[u8; 16] = b"cachearr-libidx\n";
/// The snapshot format version this build writes and reads.
///
/// History: 1, the first; 2, items carry parent / grandparent ids, index and parent index;
/// 3, normalised text reads "$" as "s" (a snapshot of 2 has other normalised keys: rebuilt);
/// 4, tracks keep the other forms of their titles (short, other script, classical parts);
/// 5, titles read "♭", "♯" and "#" after a note as "flat" and "sharp", number words as
/// digits, kana keep their voicing marks, classical titles keep more forms (other keys); 6,
/// titles keep their text-speak spelled out ("good for you" for "good 4 u") as another form;
/// 7, "Stereo Mix" and "Mono Mix" are mixes of the recording, not remixes, and more edition
/// words are noise ("Digitally Remastered", "Video Oficial", "Performance Video"): other
/// version tags, base titles and edit words; tracks keep more title forms (a dash suffix's
/// title, a classical work by name and number and by nickname); 8, "7\" Version", "45
/// Version", "Radio Mix", "Single Mix", "Album Mix", "Full Length Version" and "Soundtrack
/// Version" are the edits they name, not remixes or unknown words, and a dash before a tempo
/// word starts a movement ("Serenade - Allegro"): other version tags, edit words and title
/// forms; 9, "Main Mix", "Main Version" and "Instrumental Mix" are the plain recording or
/// the instrumental, "Extended Version", "12\" Version" and "Club Version" the extended and
/// club mixes, an edit and a remix joined by a slash ("Radio Mix / Club Mix") are a
/// qualifier, and a movement "from" a numbered work is that work's movement: other version
/// tags, qualifiers and title forms; 10, a number word after "Number" or "Nr." is a digit
/// ("Mambo Number Five") and a year written in words is read in pairs ("Nineteen
/// Ninety-Nine" is 1999): other base titles and keys; 11, words in single quotes are a title
/// form as words in double quotes are ("Symphony No. 6 'Pathétique'"): other title forms;
/// 12, a Roman numeral glued to its part ("Pt.II") is read apart and "Parts" before a number
/// as "Part" ("Pts. 1-5", "Parts One to Five"): other base titles and keys; 13, "Short
/// Version", "Radio Cut", "Promo Edit", "US Radio Edit" and "45 RPM Version" are the single's
/// edits they name, not qualifiers: other edit words and qualifiers; 14, an ordinal word
/// before "Movement" is read as digits ("First Movement" as "1st Movement"): other base
/// titles and keys; 15, a movement named by its number after a colon and a name ("The Four
/// Seasons: Winter - 1st movement") leaves the name to the work: other title forms; 16, a
/// tempo heading in brackets at the end ("Eine kleine Nachtmusik (Allegro)") is a movement,
/// as after a dash: other base titles and forms; 17, more kinds of piece are named by number
/// without "No." ("Gymnopedie 1", "Waltz 7", "Mazurka 5"): other title forms; 18, a mix named
/// by its year alone ("2019 Mix", "2011 Remix") is a qualifier, not a remix: other version
/// tags and qualifiers; 19, a number word after "No." is a digit ("No. Five"), "N.5" is
/// "No. 5" and "Teil", "Partie", "Parte" before a number are "Part": other base titles and
/// keys; 20, spoken contractions and dropped letters are spelled out as text-speak is
/// ("Wanna", "O'", "Lovin'"), for a title's short form too: other title forms; 21, "Clean
/// Mix", "Explicit Mix" and "Video Mix" are the edits they name and a surround mix ("Quad
/// Mix", "Dolby Atmos Mix") a qualifier, not remixes: other version tags and edit words; 22,
/// a Roman numeral alone after a numbered or nicknamed work ("Symphony No. 5 - I", "Moonlight
/// Sonata III") is its movement's number: other title forms; 23, "CD" before a number is
/// Lesure's 2003 catalogue of Debussy ("CD 82"), one with "L.": other classical forms; 24, a
/// reissue's mix named by its occasion ("50th Anniversary Mix", "Stereo Remix", "Remixed
/// 2019") is a qualifier, not a remix: other version tags and qualifiers; 25, French ordinals
/// before a kind of piece ("Première Gymnopédie", "2e") are its number: other title forms;
/// 26, "Numero", "Número" and "Nummer" before a number are "No.": other base titles and keys;
/// 27, Ravel's, Purcell's, Wagner's, Buxtehude's, Poulenc's and Bartók's catalogues ("M.
/// 81", "Z. 860", "WWV 86B") are read, and a movement label before a numeral ("Mvt. I") is
/// no part of the work: other classical forms; 28, single digits written apart are also known
/// joined ("1, 2, 3, 4" and "1234"): other title forms; 29, Köchel's sixth-edition numbers
/// ("K. 300i") are read as the first edition's ("K. 331"): other catalogue keys; 30, ordinal
/// words, hundreds and thousands are digits ("Third", "One Hundred", "A Thousand"): other
/// base titles and keys; 31, groups of three digits are a number's thousands ("10,000"):
/// other base titles and keys; 32, a classical work without a number is also known by its
/// kind and key ("Violin Concerto in E minor"): other title forms; 33, abbreviations are
/// written out as text-speak is ("Xmas", "Mr.", "Dr.", "Mt.", "'Em", "Lil'"): other title
/// forms; 34, a show section's shows and seasons are indexed: a snapshot without them would
/// answer their listings and counts as empty; 35, "!" inside a name is an "i" ("P!nk") and
/// the increment sign "∆" the Greek delta: other normalised keys.
pub const FORMAT_VERSION: u32 = 35;
const HEADER_LEN: usize = 16 + 4 + 8 + 4;

/// Encodes the index as snapshot bytes.
pub fn to_bytes(index: &LibraryIndex) -> Result<Vec<u8>, LibraryError> {
    let payload = postcard::to_stdvec(&index.data).map_err(|err| LibraryError::Encode {
        what: "index snapshot",
        reason: err.to_string(),
    })?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.extend_from_slice(&header(payload.len() as u64, crc32fast::hash(&payload)));
    bytes.extend_from_slice(&payload);
    Ok(bytes)
}

/// Decodes snapshot bytes; `path` only names the source in errors.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<LibraryIndex, LibraryError> {
    decode(bytes, path).map(LibraryIndex::from_data)
}

/// Checks the frame and decodes the stored items (the maps are not built yet).
fn decode(bytes: &[u8], path: &Path) -> Result<IndexData, LibraryError> {
    let bad = |reason: String| LibraryError::BadSnapshot {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < HEADER_LEN || &bytes[..16] != MAGIC {
        return Err(bad("not a cachearr library snapshot".to_string()));
    }
    let word = |at: usize| -> [u8; 4] {
        let mut out = [0u8; 4];
        out.copy_from_slice(&bytes[at..at + 4]);
        out
    };
    let version = u32::from_le_bytes(word(16));
    if version != FORMAT_VERSION {
        return Err(bad(format!(
            "format version {version}, this build reads version {FORMAT_VERSION}"
        )));
    }
    let mut length = [0u8; 8];
    length.copy_from_slice(&bytes[20..28]);
    let length = u64::from_le_bytes(length);
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != length {
        return Err(bad(format!(
            "payload is {} bytes, header says {length}",
            payload.len()
        )));
    }
    if crc32fast::hash(payload) != u32::from_le_bytes(word(28)) {
        return Err(bad("checksum mismatch (damaged file)".to_string()));
    }
    let mut data: IndexData =
        postcard::from_bytes(payload).map_err(|err| bad(format!("cannot decode: {err}")))?;
    // Decoding grows vectors by doubling; give the slack back before the maps are built.
    data.shrink_to_fit();
    Ok(data)
}

/// Writes the snapshot atomically (temporary file, fsync, rename). The payload is encoded
/// straight into the file (the header, written last, gets its length and checksum): for a
/// 100,000-item library a payload built in memory first was a 34 MB buffer, grown by
/// doubling, and a second copy with the header — a burst of ~100 MB at every save.
pub fn save(index: &LibraryIndex, path: &Path) -> Result<(), LibraryError> {
    write_atomically_with(path, |file| {
        use std::io::{Seek, SeekFrom};
        file.write_all(&[0u8; HEADER_LEN])?;
        let (crc, len) = {
            let mut payload = ChecksummedWriter {
                inner: std::io::BufWriter::with_capacity(256 * 1024, &mut *file),
                crc: crc32fast::Hasher::new(),
                len: 0,
            };
            postcard::to_io(&index.data, &mut payload).map_err(std::io::Error::other)?;
            payload.inner.flush()?;
            (payload.crc.clone().finalize(), payload.len)
        };
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header(len, crc))
    })
}

/// The frame before the payload.
fn header(payload_len: u64, crc: u32) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..16].copy_from_slice(MAGIC);
    out[16..20].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[20..28].copy_from_slice(&payload_len.to_le_bytes());
    out[28..32].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Counts and checksums what passes through to the file.
struct ChecksummedWriter<W> {
    inner: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for ChecksummedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Reads a snapshot written by [`save`].
pub fn load(path: &Path) -> Result<LibraryIndex, LibraryError> {
    let bytes = std::fs::read(path).map_err(|source| LibraryError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    let data = decode(&bytes, path)?;
    // The file's bytes are not needed while the maps are built: a lower peak at start.
    drop(bytes);
    Ok(LibraryIndex::from_data(data))
}

/// Writes `bytes` to `path` through a temporary sibling file and a rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LibraryError> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// Lets `write` fill a temporary sibling of `path`, syncs it and renames it over `path`.
fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), LibraryError> {
    let io = |action: &'static str, target: &Path| {
        let target = target.to_path_buf();
        move |source| LibraryError::Io {
            action,
            path: target,
            source,
        }
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".tmp-{}", std::process::id()));
    let temporary = std::path::PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary).map_err(io("creating", &temporary))?;
    if let Err(e) = write(&mut file) {
        drop(file);
        let _ = std::fs::remove_file(&temporary);
        return Err(io("writing", &temporary)(e));
    }
    file.sync_all().map_err(io("syncing", &temporary))?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(io("renaming", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ItemRecord;
    use crate::{ItemKind, Visibility};

    fn index() -> LibraryIndex {
        let mut records = Vec::new();
        for n in 0..50 {
            let mut record = ItemRecord::track(
                &n.to_string(),
                "1",
                &format!("Artist {}", n % 7),
                &format!("Song {n}"),
            );
            record.file_path = Some(format!("/m/{n}.mp3"));
            record.updated_at = n;
            record.parent_id = Some(format!("album-{}", n / 10));
            record.grandparent_id = Some(format!("artist-{}", n % 7));
            record.index = Some(n as u32 % 10 + 1);
            record.parent_index = (n % 2 == 0).then_some(1);
            records.push(record);
        }
        LibraryIndex::build(&records).unwrap()
    }

    #[test]
    fn a_snapshot_written_to_the_file_is_the_same_as_one_built_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("library.idx");
        let original = index();
        save(&original, &path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), to_bytes(&original).unwrap());
    }

    #[test]
    fn a_saved_snapshot_loads_to_the_same_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("library.idx");
        let original = index();
        save(&original, &path).unwrap();
        let loaded = load(&path).unwrap();
        let all = Visibility::everything();
        assert_eq!(loaded.len(), original.len());
        assert_eq!(
            loaded.records().collect::<Vec<_>>(),
            original.records().collect::<Vec<_>>()
        );
        assert_eq!(loaded.by_path("/m/7.mp3", &all).unwrap().id(), "7");
        assert_eq!(
            loaded.search("song 4", &[ItemKind::Track], &all, 1).len(),
            1
        );
    }

    #[test]
    fn damaged_or_foreign_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        let mut bytes = to_bytes(&index()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert!(matches!(
            from_bytes(&bytes, &path),
            Err(LibraryError::BadSnapshot { .. })
        ));
        assert!(from_bytes(b"hello", &path).is_err());
        let mut future = to_bytes(&index()).unwrap();
        future[16..20].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        let err = from_bytes(&future, &path).err().unwrap().to_string();
        assert!(
            err.contains(&format!("format version {}", FORMAT_VERSION + 1)),
            "{err}"
        );
        let truncated = to_bytes(&index()).unwrap();
        assert!(from_bytes(&truncated[..truncated.len() - 10], &path).is_err());
        assert!(matches!(
            load(&dir.path().join("missing")),
            Err(LibraryError::Io { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(0u8..=255, 0..200)) {
            let mut framed = MAGIC.to_vec();
            framed.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
            framed.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            framed.extend_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
            framed.extend_from_slice(&bytes);
            // Either refused or decoded into an index whose lookups do not panic.
            if let Ok(index) = from_bytes(&framed, Path::new("fuzz")) {
                let all = Visibility::everything();
                let _ = index.search("a b c", &[], &all, 5);
                let _ = index.records().count();
            }
        }
    }
}
