//! What the Plex front end keeps beside the library and the users' play state: server
//! preferences, play queues and collections. One lock (`Sim::objects`), never held across an
//! await, never taken while holding the library or state lock's writer.

use std::collections::BTreeMap;

use super::collections::Collection;
use super::playqueue::PlayQueue;

/// The Plex-only objects of one simulator.
#[derive(Debug, Default)]
pub(crate) struct Objects {
    /// Server preferences changed from their defaults (`/:/prefs`), by id.
    pub(crate) prefs: BTreeMap<String, String>,
    /// Section preferences changed from their defaults, by (section, id).
    pub(crate) section_prefs: BTreeMap<(u32, String), String>,
    /// Play queues by id.
    pub(crate) queues: BTreeMap<u32, PlayQueue>,
    /// Collections by rating key.
    pub(crate) collections: BTreeMap<u32, Collection>,
    next_id: u32,
    /// The last play queue item id handed out.
    pub(crate) next_entry: u32,
    /// The owner signed the server out of plex.tv (`DELETE /myplex/account`) and has not
    /// claimed it again (`POST /myplex/claim`).
    pub(crate) unclaimed: bool,
    /// Media bytes sent by (second, account, device, local network), summed
    /// (`/statistics/bandwidth`).
    pub(crate) transfers: BTreeMap<(u32, u32, u32, bool), u64>,
}

impl Objects {
    /// A fresh id for a play queue or a collection.
    pub(crate) fn next_id(&mut self) -> u32 {
        self.next_id += 1;
        super::OBJECT_ID_BASE + self.next_id
    }

    /// A fresh play queue item id (unique over all queues, as on Plex).
    pub(crate) fn next_entry(&mut self) -> u32 {
        self.next_entry += 1;
        self.next_entry
    }
}
