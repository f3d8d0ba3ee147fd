//! The crate's error type.

/// Everything that can go wrong in the library index.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// Reading or writing a file failed.
    #[error("{action} {path} failed")]
    Io {
        /// What was being done ("reading", "writing", "renaming").
        action: &'static str,
        /// The file concerned.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A snapshot file is not ours, is from an unknown format version, or is damaged.
    #[error("snapshot {path}: {reason}")]
    BadSnapshot {
        /// The file concerned.
        path: std::path::PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// Encoding a snapshot or match store failed.
    #[error("encoding {what}: {reason}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's message.
        reason: String,
    },
    /// The index outgrew its 32-bit offsets (more than 4 GiB of text or 4 billion items).
    #[error("the index is too large: {0}")]
    TooLarge(&'static str),
    /// A playlist file could not be parsed.
    #[error("playlist {path}, line {line}: {reason}")]
    BadPlaylist {
        /// The file (or "<input>").
        path: String,
        /// The line (1-based; 0 when unknown).
        line: u64,
        /// What is wrong.
        reason: String,
    },
}
