//! Playlists in the state: a user's own, created, renamed, edited, filled, reordered and
//! deleted; only the owner may change one.

use super::*;

impl State {
    /// A user's playlists (the owner's own; shared users see only theirs).
    pub fn playlists(&self, user: u32) -> Vec<&Playlist> {
        self.playlists
            .values()
            .filter(|p| p.owner == user)
            .collect()
    }

    /// A playlist if `user` owns it.
    pub fn playlist(&self, user: u32, id: u32) -> Option<&Playlist> {
        self.playlists.get(&id).filter(|p| p.owner == user)
    }

    pub(super) fn playlist_mut(&mut self, user: u32, id: u32) -> Result<&mut Playlist, StateError> {
        self.playlists
            .get_mut(&id)
            .filter(|p| p.owner == user)
            .ok_or(StateError::NoSuchPlaylist(id))
    }

    pub(super) fn entries(&mut self, items: &[ItemId]) -> Vec<PlaylistEntry> {
        items
            .iter()
            .map(|&item| {
                let entry_id = self.next_entry;
                self.next_entry += 1;
                PlaylistEntry { entry_id, item }
            })
            .collect()
    }

    /// Creates a playlist; returns its id.
    pub fn create_playlist(
        &mut self,
        owner: u32,
        title: &str,
        kind: PlaylistKind,
        smart: bool,
        items: &[ItemId],
        now: u32,
    ) -> u32 {
        let id = self.next_playlist;
        self.next_playlist += 1;
        let items = self.entries(items);
        self.playlists.insert(
            id,
            Playlist {
                id,
                owner,
                title: title.to_string(),
                summary: String::new(),
                kind,
                smart,
                content: None,
                title_sort: None,
                locked: Vec::new(),
                source: None,
                items,
                added_at: now,
                updated_at: now,
            },
        );
        id
    }

    /// Applies `change` to a user's playlist and stamps its update time.
    pub fn update_playlist(
        &mut self,
        user: u32,
        id: u32,
        now: u32,
        change: impl FnOnce(&mut Playlist),
    ) -> Result<(), StateError> {
        let p = self.playlist_mut(user, id)?;
        change(p);
        p.updated_at = now;
        Ok(())
    }

    /// Replaces a playlist's items (a smart playlist whose query changed).
    pub fn replace_playlist_items(
        &mut self,
        user: u32,
        id: u32,
        items: &[ItemId],
        now: u32,
    ) -> Result<(), StateError> {
        let entries = self.entries(items);
        self.update_playlist(user, id, now, |p| p.items = entries)
    }

    /// Appends items.
    pub fn add_to_playlist(
        &mut self,
        user: u32,
        id: u32,
        items: &[ItemId],
        now: u32,
    ) -> Result<(), StateError> {
        self.playlist_mut(user, id)?;
        let entries = self.entries(items);
        let p = self.playlist_mut(user, id)?;
        p.items.extend(entries);
        p.updated_at = now;
        Ok(())
    }

    /// Removes one entry.
    pub fn remove_from_playlist(
        &mut self,
        user: u32,
        id: u32,
        entry: u32,
        now: u32,
    ) -> Result<(), StateError> {
        let p = self.playlist_mut(user, id)?;
        let pos = p
            .items
            .iter()
            .position(|e| e.entry_id == entry)
            .ok_or(StateError::NoSuchEntry(entry))?;
        p.items.remove(pos);
        p.updated_at = now;
        Ok(())
    }

    /// Moves an entry after another (`None` = to the front).
    pub fn move_in_playlist(
        &mut self,
        user: u32,
        id: u32,
        entry: u32,
        after: Option<u32>,
        now: u32,
    ) -> Result<(), StateError> {
        let p = self.playlist_mut(user, id)?;
        let pos = p
            .items
            .iter()
            .position(|e| e.entry_id == entry)
            .ok_or(StateError::NoSuchEntry(entry))?;
        if let Some(a) = after
            && !p.items.iter().any(|e| e.entry_id == a)
        {
            return Err(StateError::NoSuchEntry(a));
        }
        let moved = p.items.remove(pos);
        let at = match after {
            None => 0,
            Some(a) => p
                .items
                .iter()
                .position(|e| e.entry_id == a)
                .map(|i| i + 1)
                .unwrap_or(p.items.len()),
        };
        p.items.insert(at, moved);
        p.updated_at = now;
        Ok(())
    }

    /// Moves an entry to index `to` (Jellyfin's move).
    pub fn move_in_playlist_to(
        &mut self,
        user: u32,
        id: u32,
        entry: u32,
        to: usize,
        now: u32,
    ) -> Result<(), StateError> {
        let p = self.playlist_mut(user, id)?;
        let pos = p
            .items
            .iter()
            .position(|e| e.entry_id == entry)
            .ok_or(StateError::NoSuchEntry(entry))?;
        let moved = p.items.remove(pos);
        let at = to.min(p.items.len());
        p.items.insert(at, moved);
        p.updated_at = now;
        Ok(())
    }

    /// Removes every entry.
    pub fn clear_playlist(&mut self, user: u32, id: u32, now: u32) -> Result<(), StateError> {
        let p = self.playlist_mut(user, id)?;
        p.items.clear();
        p.updated_at = now;
        Ok(())
    }

    /// Changes title and/or summary.
    pub fn edit_playlist(
        &mut self,
        user: u32,
        id: u32,
        title: Option<&str>,
        summary: Option<&str>,
        now: u32,
    ) -> Result<(), StateError> {
        let p = self.playlist_mut(user, id)?;
        if let Some(t) = title {
            p.title = t.to_string();
        }
        if let Some(s) = summary {
            p.summary = s.to_string();
        }
        p.updated_at = now;
        Ok(())
    }

    /// Deletes a playlist.
    pub fn delete_playlist(&mut self, user: u32, id: u32) -> Result<(), StateError> {
        self.playlist_mut(user, id)?;
        self.playlists.remove(&id);
        Ok(())
    }
}
