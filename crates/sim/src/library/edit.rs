//! Changing a library after generation, as a scan or a user would: adding, removing and
//! renaming items, new sections, field and metadata edits; each change bumps the generation.

use super::*;

impl Library {
    /// Adds an item (and, for albums/seasons given no children, nothing more). The new item
    /// gets the next id and is appended to its section's lists.
    pub fn add_item(&mut self, new: NewItem) -> Result<ItemId, LibraryError> {
        self.add_item_with(new, ItemFields::default())
    }

    /// Adds an item with a real item's fields (see [`ItemFields`]); what is not given is
    /// derived as for [`Library::add_item`].
    pub fn add_item_with(
        &mut self,
        new: NewItem,
        fields: ItemFields,
    ) -> Result<ItemId, LibraryError> {
        fields.validate()?;
        let (sidx, parent, index, year) = match (new.kind, new.parent) {
            (ItemKind::Artist | ItemKind::Movie | ItemKind::Show, _)
            | (ItemKind::PhotoAlbum, None) => {
                let sid = new.section.ok_or_else(|| {
                    LibraryError::BadShape(format!(
                        "a new {} needs a section",
                        new.kind.plex_name()
                    ))
                })?;
                let sidx = self
                    .sections
                    .iter()
                    .position(|s| s.id == sid)
                    .ok_or(LibraryError::NoSuchSection(sid))?;
                if self.sections[sidx].top_kind() != new.kind {
                    return Err(LibraryError::BadShape(format!(
                        "section {sid} cannot hold a {}",
                        new.kind.plex_name()
                    )));
                }
                (sidx as u8, 0, 0u16, 2025u16)
            }
            (kind, Some(pid)) => {
                let p = self.item(pid).ok_or(LibraryError::NoSuchItem(pid))?;
                let expected = match kind {
                    ItemKind::Album => ItemKind::Artist,
                    ItemKind::Track => ItemKind::Album,
                    ItemKind::Season => ItemKind::Show,
                    ItemKind::Photo | ItemKind::PhotoAlbum => ItemKind::PhotoAlbum,
                    _ => ItemKind::Season,
                };
                if p.kind() != expected {
                    return Err(LibraryError::BadShape(format!(
                        "a {} must be added under a {}",
                        kind.plex_name(),
                        expected.plex_name()
                    )));
                }
                let index = self.children(pid).len() as u16 + 1;
                (p.rec.section, pid, index, p.rec.year.max(2025))
            }
            (kind, None) => {
                return Err(LibraryError::BadShape(format!(
                    "a new {} needs a parent",
                    kind.plex_name()
                )));
            }
        };
        let title = self.strings.intern(&new.title);
        let duration_ms = if new.kind.is_playable() && new.kind != ItemKind::Photo {
            200_000
        } else {
            0
        };
        let added_at = fields.added_at.unwrap_or(new.added_at);
        let original_title = fields
            .original_title
            .as_deref()
            .map(|t| self.strings.intern(t))
            .unwrap_or(StrId(0));
        let id = self.push(ItemRecord {
            kind: new.kind,
            flags: 0,
            section: sidx,
            index: fields.index.unwrap_or(index),
            disc: fields
                .disc
                .unwrap_or(u16::from(new.kind == ItemKind::Track)),
            year: fields.year.unwrap_or(year),
            parent,
            title,
            original_title,
            duration_ms: fields.duration.unwrap_or(duration_ms),
            added_at,
            updated_at: added_at,
        });
        if !fields.is_empty() {
            self.extras.insert(id, Box::new(fields));
        }
        let section = &mut self.sections[usize::from(sidx)];
        // A photo section lists its top-level albums (as Plex does); albums inside albums are
        // reached through their parent's children.
        if new.kind != ItemKind::PhotoAlbum || parent == 0 {
            section.list_mut(new.kind).push(id);
        }
        section.updated_at = section.updated_at.max(added_at);
        self.generation += 1;
        Ok(id)
    }

    /// An empty library (no sections): the start of a described one (see
    /// [`crate::library_file`]).
    pub fn empty(seed: u64) -> Self {
        Library {
            config: LibraryConfig {
                tracks: 0,
                movies: 0,
                shows: 0,
                seed,
            },
            strings: Interner::new(),
            items: Vec::new(),
            sections: Vec::new(),
            children: HashMap::new(),
            extras: HashMap::new(),
            edits: HashMap::new(),
            generation: 0,
        }
    }

    /// Adds a section (the next id) and returns its id.
    pub fn add_section(
        &mut self,
        kind: SectionKind,
        title: &str,
        location: &str,
        now: u32,
    ) -> Result<u32, LibraryError> {
        if self.sections.len() >= usize::from(u8::MAX) {
            return Err(LibraryError::BadShape("too many sections".into()));
        }
        let id = self.sections.iter().map(|s| s.id).max().unwrap_or(0) + 1;
        self.sections.push(Section {
            id,
            kind,
            title: title.to_string(),
            uuid: uuid_from(self.config.seed ^ u64::from(id) << 40),
            location: location.to_string(),
            created_at: now,
            updated_at: now,
            scanned_at: now,
            lists: kind_lists(kind),
        });
        self.generation += 1;
        Ok(id)
    }

    /// Puts every section's top-level items in title-sort order and each item's children in
    /// index order (disc, then number), as a generated library has them.
    pub fn sort_naturally(&mut self) {
        let keys: Vec<(String, u32)> = (1..=self.items.len() as ItemId)
            .map(|id| {
                let i = self.item_any(id).expect("ids are dense");
                (
                    fold(i.title_sort()),
                    (i.disc() << 16) | i.index().min(0xFFFF),
                )
            })
            .collect();
        let key = |id: &ItemId| keys[*id as usize - 1].clone();
        for s in &mut self.sections {
            for (kind, list) in &mut s.lists {
                if *kind == s.kind.kinds()[0] {
                    list.sort_by_key(|id| key(id));
                }
            }
        }
        for list in self.children.values_mut() {
            list.sort_by_key(|id| (keys[*id as usize - 1].1, keys[*id as usize - 1].0.clone()));
        }
        self.generation += 1;
    }

    /// Removes an item and its descendants; returns every removed id (the item first).
    pub fn remove_item(&mut self, id: ItemId, now: u32) -> Result<Vec<ItemId>, LibraryError> {
        if self.item(id).is_none() {
            return Err(LibraryError::NoSuchItem(id));
        }
        let mut removed = Vec::new();
        let mut stack = vec![id];
        while let Some(cur) = stack.pop() {
            if let Some(rec) = self.items.get_mut(cur as usize - 1)
                && rec.flags & FLAG_REMOVED == 0
            {
                rec.flags |= FLAG_REMOVED;
                removed.push(cur);
                stack.extend(self.children(cur).iter().rev());
            }
        }
        let sidx = usize::from(self.items[id as usize - 1].section);
        let parent = self.items[id as usize - 1].parent;
        if let Some(siblings) = self.children.get_mut(&parent) {
            siblings.retain(|&c| c != id);
        }
        let gone: std::collections::HashSet<ItemId> = removed.iter().copied().collect();
        let section = &mut self.sections[sidx];
        for (_, list) in &mut section.lists {
            list.retain(|x| !gone.contains(x));
        }
        section.updated_at = now;
        self.generation += 1;
        Ok(removed)
    }

    /// Renames an item.
    pub fn rename_item(&mut self, id: ItemId, title: &str, now: u32) -> Result<(), LibraryError> {
        if self.item(id).is_none() {
            return Err(LibraryError::NoSuchItem(id));
        }
        let title = self.strings.intern(title);
        let rec = &mut self.items[id as usize - 1];
        rec.title = title;
        rec.updated_at = now.max(rec.updated_at + 1);
        let sidx = usize::from(rec.section);
        self.sections[sidx].updated_at = now;
        self.generation += 1;
        self.keep_title_order(id);
        Ok(())
    }

    /// Moves a renamed top-level item to its place by title sort in its section's listing:
    /// the server sorts a section's items by `titleSort`, which follows the title unless set,
    /// so a renamed film moves where its new title sorts. Lists not in title order (children,
    /// other kinds) keep their order.
    fn keep_title_order(&mut self, id: ItemId) {
        let Some(item) = self.item_any(id) else {
            return;
        };
        let sidx = usize::from(self.items[id as usize - 1].section);
        let top_kind = self.sections[sidx].kind.kinds()[0];
        // The generated order's key: the sort title, then the year, then the id (two films
        // of one title, or an item renamed as another, stand in one order however they came).
        let key = |lib: &Library, x: ItemId| {
            lib.item_any(x)
                .map(|i| (fold(i.title_sort()), i.rec.year, x))
                .unwrap_or_default()
        };
        let own = (fold(item.title_sort()), item.rec.year, id);
        let Some(list) = self.sections[sidx]
            .lists
            .iter()
            .find(|(kind, list)| *kind == top_kind && list.contains(&id))
            .map(|(_, list)| list.clone())
        else {
            return;
        };
        let rest: Vec<ItemId> = list.into_iter().filter(|x| *x != id).collect();
        let at = rest.partition_point(|x| key(self, *x) <= own);
        let mut placed = rest;
        placed.insert(at, id);
        if let Some((_, list)) = self.sections[sidx]
            .lists
            .iter_mut()
            .find(|(kind, _)| *kind == top_kind)
        {
            *list = placed;
        }
    }

    /// Records a finished scan of a section.
    pub fn mark_scanned(&mut self, section: u32, now: u32) {
        if let Some(s) = self.sections.iter_mut().find(|s| s.id == section) {
            s.scanned_at = now;
        }
    }

    /// Sets a field of an item from an edit (`PUT …/all` on Plex): `title`, `titleSort` is
    /// ignored, `year`, `originalTitle`, `index`.
    pub fn edit_field(
        &mut self,
        id: ItemId,
        field: &str,
        value: &str,
        now: u32,
    ) -> Result<bool, LibraryError> {
        if self.item(id).is_none() {
            return Err(LibraryError::NoSuchItem(id));
        }
        let interned = self.strings.intern(value);
        let rec = &mut self.items[id as usize - 1];
        let changed = match field {
            "title" => {
                rec.title = interned;
                true
            }
            "originalTitle" => {
                rec.original_title = interned;
                true
            }
            "year" => match value.parse::<u16>() {
                Ok(y) => {
                    rec.year = y;
                    true
                }
                Err(_) => return Err(LibraryError::BadShape(format!("bad year {value:?}"))),
            },
            "index" => match value.parse::<u16>() {
                Ok(y) => {
                    rec.index = y;
                    true
                }
                Err(_) => return Err(LibraryError::BadShape(format!("bad index {value:?}"))),
            },
            _ => false,
        };
        if changed {
            rec.updated_at = now.max(rec.updated_at + 1);
            // The section's `contentChangedAt` moves with any edit of its items.
            let sidx = usize::from(rec.section);
            self.sections[sidx].updated_at = now;
            self.generation += 1;
            if field == "title" {
                self.keep_title_order(id);
            }
        }
        Ok(changed)
    }
}

impl Library {
    /// Changes the front-end edits of item `id` with `change` (which says whether it changed
    /// anything); a change marks the item updated.
    pub fn edit_meta(
        &mut self,
        id: ItemId,
        now: u32,
        change: impl FnOnce(&mut crate::edits::ItemEdits) -> bool,
    ) -> Result<bool, LibraryError> {
        if self.item(id).is_none() {
            return Err(LibraryError::NoSuchItem(id));
        }
        let edits = self.edits.entry(id).or_default();
        let changed = change(edits);
        if edits.is_empty() {
            self.edits.remove(&id);
        }
        if changed {
            let rec = &mut self.items[id as usize - 1];
            rec.updated_at = now.max(rec.updated_at + 1);
            let sidx = usize::from(rec.section);
            self.sections[sidx].updated_at = now;
            self.generation += 1;
        }
        Ok(changed)
    }
}
