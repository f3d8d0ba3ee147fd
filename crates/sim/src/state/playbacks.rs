//! Playbacks started and stopped (players' reports), as the server logs them: Jellyfin writes an activity-log
//! entry for each (`PlaybackStartLogger`, `PlaybackStopLogger`: `VideoPlayback`,
//! `AudioPlaybackStopped`, … with the user and the item), which its administrators read at
//! `/System/ActivityLog/Entries`. A mark as played or unplayed, a rating or a favourite is not
//! a playback and is not logged.

use super::*;

/// One playback started or stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybackRecord {
    /// Grows with each record (the activity log's `Id`).
    pub id: u64,
    /// Who played.
    pub user: u32,
    /// What.
    pub item: ItemId,
    /// When (epoch seconds).
    pub at: u32,
    /// Stopped (else started).
    pub stopped: bool,
    /// The client's device name, as the log's text names it.
    pub device: String,
}

/// Every playback record, oldest first.
#[derive(Debug, Default)]
pub(super) struct PlaybackLog {
    records: Vec<PlaybackRecord>,
}

impl State {
    /// Logs a playback of `item` by `user` on `device` started (`stopped` false) or stopped.
    pub fn log_playback(&mut self, user: u32, item: ItemId, stopped: bool, device: &str, at: u32) {
        let log = &mut self.playbacks.records;
        let id = log.last().map_or(1, |r| r.id + 1);
        log.push(PlaybackRecord {
            id,
            user,
            item,
            at,
            stopped,
            device: device.to_owned(),
        });
    }

    /// The playback records, oldest first.
    pub fn playbacks(&self) -> &[PlaybackRecord] {
        &self.playbacks.records
    }
}
