//! Which library sections a user may see, learnt from the upstream with the user's own token.
//!
//! Plex: `GET /library/sections` as that user (a shared user gets only the sections shared
//! with them); Jellyfin: `GET /UserViews` (the libraries the user's policy enables); Emby,
//! which has no `/UserViews`: `GET /Users/{id}/Views`, for a token whose user is known
//! (`user_state::own_user_id`; another token's sections are not known). All are
//! read *through the cache*, under the sections route's own policy (user scope, 5 min fresh,
//! tagged with the upstream's sections tag, so a section change invalidates it), and in JSON
//! whatever the client asked for. The same entry serves a client that lists its sections; a
//! fresh answer a client read in the server's XML serves the copy too.
//! The path and the reading of its answer are the dialect's
//! ([`ServerLibrary`](cachearr_dialect::ServerLibrary)), as are the listing paths and totals the
//! proof below reads.
//!
//! When the answer cannot be had (refused token, upstream down without a stale copy, garbage),
//! the caller does not answer from the index: the request goes to the server, which knows.
//!
//! # Whole sections
//! Where the server says what it hides from each user (a Jellyfin user's policy, read with
//! the owner's key: [`super::restrictions`]), the copy applies that instead and needs no
//! proof; the proof below is for every other user.
//!
//! A section the user may open is not always one they see all of: a Plex share can filter
//! by label or content rating (and so can a managed Home user's profile), a Jellyfin policy
//! can cap the parental rating or block or allow tags. The index is the owner's view and does
//! not hold those fields, so it is used for a user only in the sections [`whole_sections`]
//! proves whole: for every kind the index holds of the section, the number of items the
//! server lists *to that user* equals the number it lists to the owner (or, without an owner
//! token, the number the index holds). Shows and seasons are proven by their episodes where
//! every one holds an episode: a share's filter on television hides a show with its
//! episodes (Plex filters shows by their labels and rating, which their episodes inherit), so
//! a user shown every episode is shown every show and season. The counts are read through the cache with each
//! token — the section listing's own route and tags (user scope, invalidated with the
//! section), fresh for 5 minutes like the sections list — as the crawl's first page with
//! room for no items. A user the server hides
//! anything from sees fewer, so their sections are not whole and their searches go to the
//! server; a count that cannot be had proves nothing.
//!
//! # Shares read where the server reads them
//! Where the server's shares are kept by its account service (Plex: plex.tv, read by
//! [`cachearr_upstream::shares`] with the owner's token), the user's share says it without
//! counting: a section whose kind the share filters nothing of is whole, one it filters is
//! not. The server's own list of the user's sections is the check: a section it lists that
//! the share does not open means the share changed since it was read, which is read again
//! ([`ShareBook::note_changed`](cachearr_upstream::shares::ShareBook::note_changed)) while
//! this answer falls back to the counts. So does a user whose share cannot be had (the
//! service unreachable, a token it does not know) or holds a rule the copy does not model.
//! A share found changed when the list is read again (on a user's search, or on the index
//! keeper's schedule, `follow_shares`) drops every answer kept for its user. A user whose
//! share says what they see (`said_by_share`: it hides nothing, or filters by rules the copy
//! applies) is answered as the owner is from their first request, counts and recently-added
//! lists included, which for anyone else would first cost the counts that prove them whole.

use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use serde_json::Value;

use cachearr_library::ItemKind;

use cachearr_dialect::Profile;
use cachearr_dialect::model::restriction::Restriction;
use cachearr_gateway::read_through::ReadThrough;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::users::UserRecord;

/// The sections a user may see, and one of them, as the server lists them (read by the
/// dialect: the types are in the leaf [`cachearr_dialect::model`]).
use cachearr_dialect::model::library::{UserSection, UserSections};

/// The sections `user` may see on `up`, or `None` when that cannot be determined.
pub async fn user_sections(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
) -> Option<UserSections> {
    let dialect = cachearr_dialect::of(up.profile);
    let library = dialect.library();
    let routes = dialect.user_routes();
    let own = if routes.sections.contains(cachearr_dialect::UserRoutes::USER) {
        Some(super::user_state::own_user_id(up, user).await?)
    } else {
        None
    };
    let path = routes.sections_of(own.as_deref())?;
    let path = path.as_str();
    let json = super::user_state::json_accepted();
    let parse = |body: &[u8]| library.parse_user_sections(body);
    // Parsed once per version of the answer, as the user's play state is: every answer from
    // the copy asks for the sections, and parsing them was a tenth of its time. A fresh
    // answer in the form the copy reads is taken first; failing that, one the user's tool has
    // just read in the server's own form (XML: python-plexapi's first read) spares the server
    // the copy's.
    let cached = |extra: HeaderMap, name| {
        cachearr_gateway::fetch::cached_parsed_as_user(reads, up, user, (path, extra), name, parse)
    };
    if let Some(sections) = cached(json.clone(), path).await {
        return Some(UserSections::clone(&sections));
    }
    let theirs = "user sections, the server's form";
    if let Some(sections) = cached(HeaderMap::new(), theirs).await {
        return Some(UserSections::clone(&sections));
    }
    // Read as the user's tool would read them next, where the dialect says which form that is.
    let form = if library.facts().user_sections_in_server_form {
        HeaderMap::new()
    } else {
        json
    };
    let sections =
        cachearr_gateway::fetch::fetch_parsed_as_user(reads, up, user, path, form, None, parse)
            .await?;
    Some(UserSections::clone(&sections))
}

/// The kinds the index holds of a section, each with the listing path that counts them.
fn count_paths(profile: Profile, section: &UserSection) -> Vec<(ItemKind, String)> {
    let library = cachearr_dialect::of(profile).library();
    library
        .index_kinds(library.section_word(&section.kind))
        .iter()
        .map(|&(k, t)| (k, library.page_path(&section.id, t, 0, 0, None)))
        .collect()
}

/// How long a count read for the proof stays fresh: as long as the user's list of sections.
/// No server event says that a share's filter or a user's parental policy changed, so this is
/// how soon a tightened restriction is seen.
const COUNT_FRESH: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// The number of items a listing path holds for `user` (through the cache, fresh for at most
/// [`COUNT_FRESH`]), `None` when it cannot be had.
async fn count_as(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path: &str,
) -> Option<u64> {
    let extra = super::user_state::json_accepted();
    let lookup =
        cachearr_gateway::fetch::fetch_as_user_within(reads, up, user, path, extra, COUNT_FRESH)
            .await
            .ok()?;
    let value = &lookup.entry.value;
    if value.status != StatusCode::OK.as_u16() {
        return None;
    }
    let body: Value = serde_json::from_slice(&value.body).ok()?;
    cachearr_dialect::of(up.profile)
        .library()
        .listing_total(&body)
}

/// The owner's configured token as an unlisted user record, if there is one.
pub(crate) fn owner_of(reads: &ReadThrough, up: &Arc<Upstream>) -> Option<Arc<UserRecord>> {
    let token = up.config.token.as_deref().filter(|t| !t.is_empty())?;
    Some(UserRecord::unlisted(
        &up.name,
        reads.secret().user_of(token),
        token,
    ))
}

/// Whether `user` is the owner: their token is the upstream's configured one (compared by
/// its hash, without making the owner a record).
pub(crate) fn is_owner(reads: &ReadThrough, up: &Upstream, user: &UserRecord) -> bool {
    up.config
        .token
        .as_deref()
        .filter(|t| !t.is_empty())
        .is_some_and(|token| reads.secret().user_of(token) == user.hash)
}

/// The index keeper's schedule for the shares: once read at all, they are read again when
/// due, and the answers of users whose share changed are dropped, whether or not they ask.
pub(crate) async fn follow_shares(reads: &ReadThrough, up: &Arc<Upstream>) {
    let (Some(book), Some(service)) = (
        up.shares.as_ref(),
        cachearr_dialect::of(up.profile).share_service(),
    ) else {
        return;
    };
    book.read_when_due(reads.secret(), up.read_anonymous(service.identity_path()))
        .await;
    drop_changed_shares(reads, up);
}

/// Reads the shares again now (as the schedule does when they are due), dropping the answers
/// of users whose share changed.
pub async fn read_shares_again(reads: &ReadThrough, up: &Arc<Upstream>) {
    if let Some(book) = up.shares.as_ref() {
        book.note_changed();
    }
    follow_shares(reads, up).await;
}

/// Drops every answer kept for the users whose share changed at the last reads (their
/// scopes' tags: every token of theirs shares one), and for every token the shares do not
/// place; when a changed share's user has no token known here, every user's but the
/// owner's. Their play-state lists are read whole at the next round
/// ([`UserRecord::note_visibility_changed`]).
fn drop_changed_shares(reads: &ReadThrough, up: &Arc<Upstream>) {
    let Some(book) = up.shares.as_ref() else {
        return;
    };
    let Some(changed) = book.take_changed() else {
        return;
    };
    // A token the shares do not place (a server-scoped token plex.tv does not know, its
    // sections proven by counts) may be the changed user's too.
    let mut tags: Vec<String> = Vec::new();
    for user in up
        .users
        .all()
        .iter()
        .filter(|user| !is_owner(reads, up, user))
    {
        if changed.tokens.contains(&user.hash) || changed.unknown || !book.places(user.hash) {
            user.note_visibility_changed();
            tags.push(user.scope_tag.to_string());
        }
    }
    tags.sort_unstable();
    tags.dedup();
    reads.invalidate_tags(&up.name, &tags);
}

/// The ids of `sections` (the user's) that `user` is shown to see whole: see the module
/// documentation. `index_count` gives what the index holds of a section and kind, the
/// yardstick when no owner token is configured; `held_by_leaves`, whether every item of a
/// section and kind holds a leaf the proof counts (every show and season an episode: whoever
/// sees every episode sees them all, and their counts are not read).
pub async fn whole_sections(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    sections: &UserSections,
    index_count: impl Fn(&str, ItemKind) -> u64,
    held_by_leaves: impl Fn(&str, ItemKind) -> bool,
) -> Vec<String> {
    if is_owner(reads, up, user) {
        return sections.sections.iter().map(|s| s.id.clone()).collect();
    }
    if let Some(whole) = whole_by_share(reads, up, user, sections).await {
        return whole;
    }
    let owner = owner_of(reads, up);
    let checks = sections.sections.iter().map(|section| {
        let owner = owner.clone();
        let (index_count, held_by_leaves) = (&index_count, &held_by_leaves);
        async move {
            let paths = count_paths(up.profile, section);
            if paths.is_empty() {
                return None;
            }
            for (kind, path) in paths {
                if held_by_leaves(&section.id, kind) {
                    continue;
                }
                let theirs = match &owner {
                    Some(owner) => count_as(reads, up, owner, &path).await?,
                    None => index_count(&section.id, kind),
                };
                let mine = count_as(reads, up, user, &path).await?;
                if mine != theirs {
                    tracing::debug!(
                        upstream = %up.name,
                        section = %section.id,
                        user = %user.hash_hex,
                        "the server hides part of this section from the user: \
                         searches go to the server"
                    );
                    return None;
                }
            }
            Some(section.id.clone())
        }
    });
    futures_util::future::join_all(checks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Whether `user`'s share says what they see (see the module documentation): it agrees with
/// the sections the server lists to them, and holds only rules the copy applies. The copy
/// then needs no count to prove a section of theirs whole, nor to filter it. `false` without
/// a share service, or when the share or the user's sections cannot be had.
pub(crate) async fn said_by_share(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
) -> bool {
    share_restriction(reads, up, user)
        .await
        .is_some_and(|restriction| restriction.is_modelled())
}

/// The ids of `sections` (the user's, as the server lists them) that the user's share shows
/// whole: those whose kind it filters nothing of. `None` when the share cannot be had, holds
/// a rule the copy does not model, or disagrees with the server's list (then it is read
/// again): see the module documentation.
async fn whole_by_share(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    sections: &UserSections,
) -> Option<Vec<String>> {
    let restriction = share_listed(reads, up, user, sections).await?;
    let restriction = &restriction;
    if !restriction.is_modelled() {
        return None;
    }
    let library = cachearr_dialect::of(up.profile).library();
    Some(
        sections
            .sections
            .iter()
            .filter(|s| filters_nothing_of(restriction, library.section_word(&s.kind)))
            .map(|s| s.id.clone())
            .collect(),
    )
}

/// The restriction of `user`'s share, checked against the sections the server lists to them
/// (`sections`): `None` when the share cannot be had, or opens fewer sections than the server
/// lists (the share changed since it was read: the shares are read again).
async fn share_listed(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    sections: &UserSections,
) -> Option<Restriction> {
    let book = up.shares.as_ref()?;
    let service = cachearr_dialect::of(up.profile).share_service()?;
    let identity = up.read_anonymous(service.identity_path());
    let share = book.share_of(reads.secret(), user, identity).await;
    // This read may have found shares changed: their users' answers go before any is given.
    drop_changed_shares(reads, up);
    let restriction = &share?.restriction;
    if let Some(listed) = sections
        .sections
        .iter()
        .find(|s| !restriction.opens_section(&s.id))
    {
        tracing::debug!(
            upstream = %up.name,
            section = %listed.id,
            user = %user.hash_hex,
            "the server lists a section the user's share does not open: the shares are read again"
        );
        book.note_changed();
        return None;
    }
    Some(restriction.clone())
}

/// The restriction of `user`'s share (read where the server reads it), when the server's
/// list of their sections agrees with it: the copy then applies it as the server does
/// (`restrictions::Applied`). `None` without a share service, or when the share or the
/// user's sections cannot be had.
pub(crate) async fn share_restriction(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
) -> Option<Arc<Restriction>> {
    up.shares.as_ref()?;
    let sections = user_sections(reads, up, user).await?;
    share_listed(reads, up, user, &sections).await.map(Arc::new)
}

/// Whether `restriction` hides nothing in a section of the index's kind `word` (`music`,
/// `movies`, `shows`, `other`).
fn filters_nothing_of(restriction: &Restriction, word: &str) -> bool {
    let by_kind = match word {
        "movies" => restriction.movies.is_open(),
        "shows" => restriction.television.is_open(),
        "music" => restriction.music.is_open(),
        _ => true,
    };
    by_kind && restriction.all.is_open()
}
