//! Opening the disk tier at start: what can go wrong, whose fault it is (the store's files or
//! the disk), moving a damaged store aside, and the stand-in tier when the disk cannot be used.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::DiskTier;
use crate::error::{DiskOpenError, DiskOpenKind, TierError};
use crate::key::Key;
use crate::tier::{MaintenanceReport, PersistedMeta, Tier, TierKind, TierUsage, WriteOp};

/// How opening the store at start went ([`DiskTier::open_or_recover`]).
#[derive(Debug)]
pub enum DiskStart {
    /// The store opened as it was.
    Opened(DiskTier),
    /// The store could not be read back: it was moved to `moved_to` and a fresh, empty one
    /// opened in its place.
    Recovered {
        /// The fresh store.
        tier: DiskTier,
        /// Where the damaged store now lies (for inspection; safe to delete).
        moved_to: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The disk cannot hold a store now (full, read-only, not a directory, …): the cache runs
    /// from memory only.
    Unavailable {
        /// What the disk or the store said.
        reason: String,
    },
    /// Another process has the store open (fjall's lock): most likely a second gateway on
    /// the same data directory, a set-up mistake the caller should report rather than run
    /// beside. The store is left alone.
    InUse {
        /// What the store said.
        error: DiskOpenError,
    },
}

/// A failed open of the store's files or of the file system.
pub(super) fn io_failure(e: std::io::Error) -> DiskOpenError {
    DiskOpenError::new(io_cause(&e), "", e)
}

/// A failed open the store reported, with whose fault it is.
pub(super) fn store_failure(e: fjall::Error) -> DiskOpenError {
    let kind = match &e {
        fjall::Error::Io(io) | fjall::Error::Storage(fjall::LsmError::Io(io)) => io_cause(io),
        // Another process has the store open: it is not ours to move, nor to run beside.
        fjall::Error::Locked => DiskOpenKind::InUse,
        fjall::Error::Poisoned => DiskOpenKind::Environment,
        // Journal recovery, version marker, checksums, decoding: the files are damaged.
        _ => DiskOpenKind::Damage,
    };
    DiskOpenError::new(kind, "", e)
}

/// I/O errors that say the disk, not the store, is the problem. Anything else (a missing or
/// short file, bad data) is treated as damage: moving a disposable store aside is cheap.
pub(super) fn io_cause(e: &std::io::Error) -> DiskOpenKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::StorageFull
        | K::QuotaExceeded
        | K::ReadOnlyFilesystem
        | K::PermissionDenied
        | K::NotADirectory
        | K::WouldBlock
        | K::ResourceBusy
        | K::OutOfMemory => DiskOpenKind::Environment,
        _ => DiskOpenKind::Damage,
    }
}

/// Renames the store directory to `<name>.damaged-<UTC time>` beside it.
#[allow(
    clippy::disallowed_methods,
    reason = "a store set aside is named with when it happened, before any clock is wired"
)]
pub(super) fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let name = path
        .file_name()
        .map_or_else(|| "cache".into(), |n| n.to_string_lossy().into_owned());
    let stamp = utc_stamp(std::time::SystemTime::now());
    let mut to = path.with_file_name(format!("{name}.damaged-{stamp}"));
    let mut n = 2;
    while to.exists() {
        to = path.with_file_name(format!("{name}.damaged-{stamp}-{n}"));
        n += 1;
    }
    std::fs::rename(path, &to)?;
    Ok(to)
}

/// `YYYYMMDDTHHMMSSZ` for `t` (proleptic Gregorian calendar, UTC).
pub(super) fn utc_stamp(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Stands in for the disk tier when the disk could not be used at start: the engine sees a
/// disk tier that is switched off, as after a write failure at run time, and the stats show
/// it so.
pub(crate) struct UnavailableDisk {
    pub(crate) max_bytes: u64,
}

impl Tier for UnavailableDisk {
    fn kind(&self) -> TierKind {
        TierKind::Disk
    }

    fn get<'a>(&'a self, _key: &'a Key) -> BoxFuture<'a, Result<Option<Bytes>, TierError>> {
        async { Err(TierError::Disabled("disk")) }.boxed()
    }

    fn write(&self, _ops: Vec<WriteOp>) -> BoxFuture<'_, Result<(), TierError>> {
        async { Err(TierError::Disabled("disk")) }.boxed()
    }

    fn load_meta(&self) -> BoxFuture<'_, Result<PersistedMeta, TierError>> {
        async { Ok(PersistedMeta::default()) }.boxed()
    }

    fn maintain(&self, _now_ms: u64) -> BoxFuture<'_, Result<MaintenanceReport, TierError>> {
        async { Ok(MaintenanceReport::default()) }.boxed()
    }

    fn usage(&self) -> TierUsage {
        TierUsage {
            max_bytes: self.max_bytes,
            ..TierUsage::default()
        }
    }
}
