//! Each user's readings kept across restarts: what a restart would otherwise read again.
//!
//! Without them, a restarted gateway knows no user's lists: each user's first round reads
//! every probe and every whole list again, and (having nothing to compare with) bumps the
//! user's watch tag, dropping every answer of theirs that shows play state (the parent
//! module's "first reading"). With them, a user's lists, when they were last probed and
//! when they were last read are taken up where the last run left them: the next round is
//! due when it would have been had cachearr not stopped, it compares item by item with the
//! kept lists (a change made while cachearr was down shows as a difference, as one made
//! between two rounds does), and nothing is bumped. That is as safe as the process going on:
//! the tag generations that dropped answers in the last run are themselves kept with the
//! cache, and every answer kept from it was filled either before a kept reading (compared
//! since) or dropped by a bump that is kept.
//!
//! One file per upstream, `{data_dir}/library/{upstream}.playlists` (postcard, mode 0600):
//! per user scope (the keyed hash the user's answers are keyed under, never a token), the
//! lists of items with their play-state hashes and parents. A user not probed for
//! [`FORGET_AFTER_MS`] is left out at the next write. A damaged or unreadable file is none:
//! every user starts with a first reading, as without it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cachearr_gateway::read_through::ReadThrough;
use cachearr_upstream::users::{PlayList, PlayLists};
use serde::{Deserialize, Serialize};

/// A user not probed for this long (30 days) is not kept.
pub(super) const FORGET_AFTER_MS: u64 = 30 * 24 * 3600 * 1000;

/// The file's first bytes: its kind and format version.
const MAGIC: &[u8; 8] = b"cplays01";

/// What is kept of one user.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct KeptUser {
    /// When the user's own probes were last read (engine clock ms).
    pub(super) probed_ms: u64,
    /// When an answer of the user's that shows play state was last read (engine clock ms).
    pub(super) read_ms: u64,
    /// The lists, by probe path.
    pub(super) lists: Vec<KeptList>,
}

/// One kept list: its probe, the probe's answer hash, its items.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct KeptList {
    probe: String,
    hash: u64,
    items: Vec<KeptItem>,
}

/// One item of a kept list: its id, its play-state hash and its parents.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct KeptItem {
    id: String,
    state: u64,
    parents: Vec<String>,
}

/// Where `upstream`'s kept readings are.
pub(super) fn path_of(reads: &ReadThrough, upstream: &str) -> PathBuf {
    cachearr_gateway::data_files::file_path(&reads.config().data_dir, upstream, "playlists")
}

/// Every user kept in `path`, by scope (none for a missing or damaged file).
pub(super) fn load(path: &Path) -> BTreeMap<String, KeptUser> {
    let Ok(bytes) = std::fs::read(path) else {
        return BTreeMap::new();
    };
    let Some(body) = bytes.strip_prefix(MAGIC.as_slice()) else {
        tracing::warn!(path = %path.display(), "kept play lists of another format: not read");
        return BTreeMap::new();
    };
    postcard::from_bytes(body).unwrap_or_else(|error| {
        tracing::warn!(path = %path.display(), %error, "kept play lists damaged: not read");
        BTreeMap::new()
    })
}

/// What `lists` holds, to keep, with the user's last read.
pub(super) fn of(lists: &PlayLists, read_ms: u64) -> KeptUser {
    let mut kept = KeptUser {
        probed_ms: lists.probed_ms,
        read_ms,
        lists: lists
            .lists
            .iter()
            .map(|(probe, list)| {
                let mut items: Vec<KeptItem> = list
                    .items
                    .iter()
                    .map(|(id, (state, parents))| KeptItem {
                        id: id.clone(),
                        state: *state,
                        parents: parents.clone(),
                    })
                    .collect();
                items.sort_unstable_by(|a, b| a.id.cmp(&b.id));
                KeptList {
                    probe: probe.clone(),
                    hash: list.probe,
                    items,
                }
            })
            .collect(),
    };
    kept.lists.sort_unstable_by(|a, b| a.probe.cmp(&b.probe));
    kept
}

/// Takes `kept` up into `lists`: the lists and when they were probed, as read before; the
/// user is watched on (no probe until one is due) if they were read within `active_ms`
/// of `now_ms`, else their return is probed at once, as within one run.
pub(super) fn restore(lists: &mut PlayLists, kept: KeptUser, now_ms: u64, active_ms: u64) {
    lists.lists = kept
        .lists
        .into_iter()
        .map(|list| {
            let items = list
                .items
                .into_iter()
                .map(|item| (item.id, (item.state, item.parents)))
                .collect();
            (
                list.probe,
                PlayList {
                    probe: list.hash,
                    items,
                },
            )
        })
        .collect();
    lists.baselined = true;
    lists.restored = true;
    lists.probed_ms = kept.probed_ms;
    lists.watching = kept.read_ms > 0 && now_ms < kept.read_ms.saturating_add(active_ms);
}

/// Writes `users` over what `path` keeps (the users it keeps besides them stay, but those
/// not probed within [`FORGET_AFTER_MS`] of `now_ms`): a temporary file, then renamed. A
/// failure is logged: the next start then reads those users afresh.
pub(super) fn keep(path: &Path, users: Vec<(String, KeptUser)>, now_ms: u64) {
    let mut all = load(path);
    all.extend(users);
    all.retain(|_, u| now_ms.saturating_sub(u.probed_ms) < FORGET_AFTER_MS);
    let written = (|| -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut bytes = MAGIC.to_vec();
        bytes.extend(postcard::to_allocvec(&all).map_err(std::io::Error::other)?);
        let tmp = path.with_extension("playlists.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        std::io::Write::write_all(&mut opts.open(&tmp)?, &bytes)?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(error) = written {
        tracing::warn!(path = %path.display(), %error, "cannot keep the users' play lists");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustc_hash::FxHashMap;

    fn lists() -> PlayLists {
        let mut items = FxHashMap::default();
        items.insert("11".to_owned(), (7, vec!["5".to_owned()]));
        items.insert("12".to_owned(), (8, Vec::new()));
        let mut lists = PlayLists {
            watching: true,
            baselined: true,
            probed_ms: 1_000,
            ..PlayLists::default()
        };
        lists
            .lists
            .insert("/probe".to_owned(), PlayList { probe: 42, items });
        lists
    }

    #[test]
    fn a_users_lists_come_back_as_they_were_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("library/up.playlists");
        keep(&path, vec![("ab".to_owned(), of(&lists(), 900))], 1_000);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let mut kept = load(&path);
        let mut back = PlayLists::default();
        restore(&mut back, kept.remove("ab").unwrap(), 2_000, 180_000);
        assert!(back.baselined && back.watching);
        assert_eq!(back.probed_ms, 1_000);
        let list = &back.lists["/probe"];
        assert_eq!(list.probe, 42);
        assert_eq!(list.items["11"], (7, vec!["5".to_owned()]));
        assert_eq!(list.items.len(), 2);

        // Read long ago: kept, but their return is probed at once.
        let mut back = PlayLists::default();
        restore(
            &mut back,
            load(&path).remove("ab").unwrap(),
            900_000,
            180_000,
        );
        assert!(back.baselined && !back.watching);
    }

    #[test]
    fn other_users_stay_and_forgotten_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("up.playlists");
        keep(&path, vec![("old".to_owned(), of(&lists(), 900))], 1_000);
        keep(&path, vec![("new".to_owned(), of(&lists(), 900))], 2_000);
        assert_eq!(load(&path).len(), 2);
        keep(&path, Vec::new(), 1_000 + FORGET_AFTER_MS);
        assert!(load(&path).is_empty(), "not probed for 30 days");
    }

    #[test]
    fn a_damaged_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("up.playlists");
        assert!(load(&path).is_empty());
        std::fs::write(&path, b"cplays01\xff\xff\xff").unwrap();
        assert!(load(&path).is_empty());
        std::fs::write(&path, b"something else").unwrap();
        assert!(load(&path).is_empty());
        keep(&path, vec![("u".to_owned(), of(&lists(), 1))], 1);
        assert_eq!(load(&path).len(), 1, "written over");
    }
}
