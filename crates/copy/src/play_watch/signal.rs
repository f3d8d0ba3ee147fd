//! The server's one list of every user's plays, read from where it was last read (the
//! play-state watch's cheap signal: the parent module says when).
//!
//! A list that names only the item and the user's server id (Jellyfin's activity log) is
//! completed here: the item's section and parents from the library index (as the change
//! events' are), and whether the owner played from the owner token's user id. Entries that
//! are not plays (sign-ins) move the cursor and announce nothing.
//!
//! The cursor (the newest play's time, as the server writes it, and its id) is kept in the
//! data directory (`library/{upstream}.plays`, mode 0600, no token in it), so the plays made
//! while cachearr was down are announced item by item at the first reading after a start.
//! Without a cursor (a new data directory), the first reading takes the newest play as where
//! to start and announces nothing: nothing was cached before it but what the first reading
//! of each user's own lists drops (the parent module's argument).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cachearr_config::policy::Class;
use cachearr_dialect::events::{Change, ChangeEvent};
use cachearr_dialect::model::library::{PLAYS_PAGE, PlayCursor, PlayedEntry};
use cachearr_gateway::read_through::ReadThrough;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::feed::BackgroundKind;

/// Pages read at most in one reading: 500 plays since the last. More (a long stop with a
/// busy server) and the plays past them are not named: every user's answers that show play
/// state are dropped instead.
const MAX_PAGES: usize = 10;

/// Reads the list of every user's plays of `up` if a period has passed since the last
/// reading (and the dialect has such a list, and an owner token is configured), and
/// announces each play not read before.
pub(super) async fn read_plays(
    reads: &ReadThrough,
    index: Option<&crate::UpstreamIndex>,
    up: &Arc<Upstream>,
    now_ms: u64,
    round: &mut super::Round,
) {
    let dialect = cachearr_dialect::of(up.profile);
    let Some(feed) = reads.feed(&up.name) else {
        return;
    };
    if dialect.plays_since(None, 0).is_none() {
        return;
    }
    let Some(owner) = crate::upstream_index::visibility::owner_of(reads, up) else {
        return;
    };
    let period = super::ms(reads.config().feed.play_state_probe);
    let path = cursor_path(reads, up);
    let cursor = {
        let mut plays = feed.plays();
        if plays.polled_ms != 0 && now_ms < plays.polled_ms + period {
            return;
        }
        plays.polled_ms = now_ms.max(1);
        if !plays.loaded {
            plays.loaded = true;
            plays.cursor = load(&path);
        }
        plays.cursor.clone()
    };
    let mut read_page = async |path: &str| -> Option<Vec<PlayedEntry>> {
        round.probes += 1;
        round.signal += 1;
        feed.count_background(BackgroundKind::Signal, 1, now_ms);
        let (status, body) = super::read_as(reads, up, &owner, Class::History, path).await?;
        if !(200..300).contains(&status) {
            return None;
        }
        dialect.played_entries(&body)
    };
    let Some(cursor) = cursor else {
        // Where to start: the newest play, or (none yet) the beginning.
        let Some(newest) = read_page(&dialect.plays_since(None, 0).unwrap_or_default()).await
        else {
            return;
        };
        let start = newest.first().map_or_else(
            || PlayCursor {
                at: "0".to_owned(),
                id: 0,
            },
            |p| PlayCursor {
                at: p.at.clone(),
                id: p.id,
            },
        );
        keep(&path, &start);
        feed.plays().cursor = Some(start);
        return;
    };
    let mut new: Vec<PlayedEntry> = Vec::new();
    let mut whole = false;
    for page in 0..MAX_PAGES {
        let Some(path) = dialect.plays_since(Some(&cursor), page * PLAYS_PAGE) else {
            return;
        };
        let Some(plays) = read_page(&path).await else {
            // Nothing concluded: the same plays are asked again next period.
            return;
        };
        let full = plays.len() >= PLAYS_PAGE;
        new.extend(plays.into_iter().filter(|p| p.id > cursor.id));
        if !full {
            whole = true;
            break;
        }
    }
    round.plays += new.iter().filter(|p| !p.item.is_empty()).count() as u64;
    // Whose plays: a list naming users by their server id is compared with the owner's
    // (asked of the server once per process when not known yet).
    let owner_id = if new.iter().any(|p| p.by_owner.is_none() && p.user.is_some()) {
        crate::upstream_index::user_state::own_user_id(up, &owner).await
    } else {
        None
    };
    let plays = complete(index, &new, owner_id.as_deref());
    announce(reads, up, feed, &path, &new, &plays, whole);
}

/// The plays of `new` (entries that name no item left out, each item once per player) with
/// what their list left out and cachearr knows: the item's section and parents from the
/// library index, whether the owner played from `owner_id`, the server's id of the owner
/// token's user.
fn complete(
    index: Option<&crate::UpstreamIndex>,
    new: &[PlayedEntry],
    owner_id: Option<&str>,
) -> Vec<PlayedEntry> {
    let index = index.and_then(crate::UpstreamIndex::ready);
    let everything = cachearr_library::Visibility::everything();
    let same_user = |a: &str, b: &str| a.replace('-', "").eq_ignore_ascii_case(&b.replace('-', ""));
    let mut plays: Vec<PlayedEntry> = Vec::new();
    for entry in new.iter().filter(|p| !p.item.is_empty()) {
        let mut play = entry.clone();
        if play.by_owner.is_none() {
            play.by_owner = match (&play.user, owner_id) {
                (Some(user), Some(owner)) => Some(same_user(user, owner)),
                _ => None,
            };
        }
        if plays
            .iter()
            .any(|p| p.item == play.item && p.by_owner == play.by_owner && p.user == play.user)
        {
            continue;
        }
        if let Some(view) = index
            .as_ref()
            .and_then(|index| index.by_id(&play.item, &everything))
        {
            if play.section.is_none() {
                play.section = Some(view.section_id().to_owned());
            }
            if play.parents.is_empty() {
                play.parents = [view.parent_id(), view.grandparent_id()]
                    .into_iter()
                    .flatten()
                    .map(str::to_owned)
                    .collect();
            }
        }
        plays.push(play);
    }
    plays
}

/// Announces each of `plays` (those of `new`, read from the cursor, `whole` when every
/// entry since it was read) and moves the cursor, kept at `path`, to the newest of `new`.
fn announce(
    reads: &ReadThrough,
    up: &Upstream,
    feed: &cachearr_upstream::feed::Feed,
    path: &Path,
    new: &[PlayedEntry],
    plays: &[PlayedEntry],
    whole: bool,
) {
    for play in plays {
        let event = ChangeEvent::new(Change::Played)
            .with_section(play.section.as_deref())
            .with_items([Some(play.item.as_str())])
            .with_parents(play.parents.iter().map(|p| Some(p.as_str())))
            .with_owner(play.by_owner);
        reads.invalidate_tags(&up.name, &event.tags(&up.name));
    }
    if !whole {
        // More plays than a reading names: every user's answers that show play state.
        tracing::info!(
            upstream = %up.name,
            plays = new.len(),
            "more plays since the last reading than are read at once: every user's answers \
             that show play state are read again"
        );
        for user in up.users.all() {
            reads.cache().invalidate_tag(&user.watch_tag);
        }
    }
    if let Some(newest) = new.iter().max_by_key(|p| p.id) {
        let next = PlayCursor {
            at: newest.at.clone(),
            id: newest.id,
        };
        keep(path, &next);
        feed.plays().cursor = Some(next);
        tracing::debug!(upstream = %up.name, plays = new.len(), "plays read from the server's list");
    }
}

/// Where `up`'s cursor is kept.
fn cursor_path(reads: &ReadThrough, up: &Upstream) -> PathBuf {
    cachearr_gateway::data_files::file_path(&reads.config().data_dir, &up.name, "plays")
}

/// The cursor kept in `path`, if any (a damaged file is none: the next reading starts anew).
fn load(path: &Path) -> Option<PlayCursor> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Keeps `cursor` in `path` (a temporary file, then renamed; mode 0600 like every file in
/// the data directory). A failure is logged: the plays made while cachearr is down would then
/// be found by the users' own probes, not item by item from the list.
fn keep(path: &Path, cursor: &PlayCursor) {
    let written = (|| -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("plays.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let text = serde_json::to_vec(cursor).map_err(std::io::Error::other)?;
        std::io::Write::write_all(&mut opts.open(&tmp)?, &text)?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(error) = written {
        tracing::warn!(
            path = %path.display(),
            %error,
            "cannot keep where the list of plays was read up to"
        );
    }
}
