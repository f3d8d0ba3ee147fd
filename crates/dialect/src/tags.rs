//! The tag vocabulary shared by the proxy (which attaches tags to cached reads and bumps them on
//! writes) and the event side (webhooks and websocket notifications, which bump them on change).
//!
//! Every tag starts with the upstream's name so that two upstreams never invalidate each other.
//! Bumping a tag is O(1) in the engine (a generation counter), so being generous with bumps is
//! cheap; being stingy with them serves stale data. The coarse tags below are the agreed contract;
//! [`user_state`] is a finer tag the proxy adds on its own.

/// `{up}:sections`: the library's sections, which they are and their settings (`/library`,
/// `/library/sections`, a section's directory and prefs; Jellyfin views). Bumped by what adds,
/// removes or rescans content and by a section's settings written; an edit of an item bumps
/// [`section_times`] instead.
pub fn sections(upstream: &str) -> String {
    join(&[upstream, ":sections"])
}

/// `{up}:section-times`: the answers that show when each section's content last changed
/// (Plex's sections list: each section's `updatedAt`, `contentChangedAt` and the composite
/// image named after it; the server root's `updatedAt`, the newest of them; Jellyfin's views,
/// whose image tags follow it). Any change of an item bumps it. Answers about the sections
/// that show no such time (Plex `/library`, a section's directory, its settings) carry
/// [`sections`] only, which an edit leaves alone: renaming a film does not change them.
pub fn section_times(upstream: &str) -> String {
    join(&[upstream, ":section-times"])
}

/// `{up}:section:{id}`: listings, searches and recently-added of one section that may depend
/// on any field of any of its items (filters, sorts other than by title): every change in the
/// section bumps it. Plain listings carry [`members`] instead.
pub fn section(upstream: &str, id: &str) -> String {
    join(&[upstream, ":section:", id])
}

/// `{up}:item:{id}`: an item's own fields (title, dates, artwork…). Carried by its metadata,
/// its children listing (whose header shows it) and every answer that shows it or names it as
/// a parent (tags the proxy reads from the answer itself, `cachearr-upstream`'s
/// `feed::value_tags`). An edit of the item bumps it, and an addition or removal bumps it for the
/// parents.
pub fn item(upstream: &str, id: &str) -> String {
    join(&[upstream, ":item:", id])
}

/// The item id of an [`item`] tag of `upstream`, when `tag` is one.
pub fn item_id<'a>(upstream: &str, tag: &'a str) -> Option<&'a str> {
    tag.strip_prefix(upstream)?
        .strip_prefix(":item:")
        .filter(|id| !id.is_empty())
}

/// `{up}:plays:{id}`: the play state shown with an item (view count, resume point, rating,
/// and for albums, artists, seasons and shows the viewed-leaf counts). Carried by every answer
/// that shows the item; bumped by a play-state change of the item (and, for the counts, of
/// its children), not by edits.
pub fn plays(upstream: &str, id: &str) -> String {
    join(&[upstream, ":plays:", id])
}

/// The item id of a [`plays`] tag of `upstream`, when `tag` is one.
pub fn plays_item<'a>(upstream: &str, tag: &'a str) -> Option<&'a str> {
    tag.strip_prefix(upstream)?.strip_prefix(":plays:")
}

/// `{up}:oplays:{id}`: [`plays`] in the answers to the server owner's token (the configured
/// one). A play by another user leaves the owner's answers alone, and the owner's play other
/// users' answers: the tools that walk a library daily mostly use the owner's token.
pub fn owner_plays(upstream: &str, id: &str) -> String {
    join(&[upstream, ":oplays:", id])
}

/// The item id of an [`owner_plays`] tag of `upstream`, when `tag` is one.
pub fn owner_plays_item<'a>(upstream: &str, tag: &'a str) -> Option<&'a str> {
    tag.strip_prefix(upstream)?.strip_prefix(":oplays:")
}

/// `{up}:members:{id}`: which items a section's plain listing holds and in which order
/// (Plex `/library/sections/{id}/all` with nothing but paging and a type). Bumped by adds,
/// removes, scans and edits that may reorder it (of the items the listing shows); an edit of
/// an item on a page reaches that page through the item's own tag instead. A plain listing
/// shows the section's top-level items, so only their edits bump it.
pub fn members(upstream: &str, id: &str) -> String {
    join(&[upstream, ":members:", id])
}

/// `{up}:items`: answers that show more items than they carry tags for (a listing of
/// thousands, `cachearr-upstream`'s `feed::value_tags`): bumped by every change that bumps an
/// item's own or play-state tag.
pub fn any_item(upstream: &str) -> String {
    join(&[upstream, ":items"])
}

/// `{up}:listings`: every list of items (section listings, searches, recently added,
/// cross-library queries), not item metadata. Bumped by a content or play-state change whose
/// section is not known, so that every list that could show the item is refreshed while the
/// metadata of other items stays cached.
pub fn listings(upstream: &str) -> String {
    join(&[upstream, ":listings"])
}

/// `{up}:across`: lists that span sections (global searches, Jellyfin queries without a
/// parent, genres, artists). A change in a known section bumps that section and this.
pub fn across(upstream: &str) -> String {
    join(&[upstream, ":across"])
}

/// Whether `tag` is the [`across`] tag of `upstream`: a read carrying it may show items of
/// any section.
pub fn is_across(upstream: &str, tag: &str) -> bool {
    tag.strip_prefix(upstream) == Some(":across")
}

/// `{up}:recent`: every recently-added listing and hub.
pub fn recent(upstream: &str) -> String {
    join(&[upstream, ":recent"])
}

/// `{up}:ondeck`: on deck / continue watching / next up.
pub fn ondeck(upstream: &str) -> String {
    join(&[upstream, ":ondeck"])
}

/// `{up}:history`: watch history.
pub fn history(upstream: &str) -> String {
    join(&[upstream, ":history"])
}

/// `{up}:sessions`: the live sessions list.
pub fn sessions(upstream: &str) -> String {
    join(&[upstream, ":sessions"])
}

/// `{up}:playlists`: playlists and their items.
pub fn playlists(upstream: &str) -> String {
    join(&[upstream, ":playlists"])
}

/// `{up}:library`: everything derived from the library (sections, listings, metadata, search,
/// recently added, on deck, playlists). Bump it when a change cannot be narrowed down.
pub fn library(upstream: &str) -> String {
    join(&[upstream, ":library"])
}

/// `{up}:user:{hash}:state`: everything of one user that embeds play state (view counts, offsets,
/// ratings, on deck). `user_hash` is the keyed hash of the token, never the token itself; a
/// scrobble bumps it so the user's own listings show the new state at once without dropping
/// anyone else's entries.
pub fn user_state(upstream: &str, user_hash: &str) -> String {
    join(&[upstream, ":user:", user_hash, ":state"])
}

/// Concatenates without `core::fmt`: tags are built on every cached request (the hit path's
/// profile showed `format!` here).
/// `{up}:user:{hash}:watch`: every answer of one user that shows play state; bumped once, when
/// the play-state watch first reads that user's state (the library copy's `play_watch`).
pub fn user_watch(upstream: &str, user_hash: &str) -> String {
    join(&[upstream, ":user:", user_hash, ":watch"])
}

/// `{watch}/{section}`: the answers of one user (`watch`, their [`user_watch`] tag) that show
/// items of one section; `{watch}/*` (`section` `None`): those that name no section (every
/// section counts for them). Bumped once, when the play-state watch first reads the user's
/// state in that section — in every section, for `{watch}/*` — so that a section the user
/// never reads is never probed for them, and its first reading drops nothing of the others.
pub fn user_section_watch(watch: &str, section: Option<&str>) -> String {
    join(&[watch, "/", section.unwrap_or("*")])
}

/// The section a [`section`] or [`members`] tag of `upstream` is about, when `tag` is one:
/// a read carrying it shows that section's items.
pub fn section_of<'a>(upstream: &str, tag: &'a str) -> Option<&'a str> {
    let rest = tag.strip_prefix(upstream)?;
    (rest.strip_prefix(":section:"))
        .or_else(|| rest.strip_prefix(":members:"))
        .filter(|id| !id.is_empty())
}

/// `{up}:user:{hash}:scope`: every answer kept in one user's scope, whatever it shows; bumped
/// when what the user may see changes on the server (a restriction or policy), which can
/// change any of them (Jellyfin's views and their counts, not only listings).
pub fn user_scope(upstream: &str, user_hash: &str) -> String {
    join(&[upstream, ":user:", user_hash, ":scope"])
}

fn join(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_namespaced_by_upstream() {
        assert_eq!(sections("plex"), "plex:sections");
        assert_eq!(section_times("plex"), "plex:section-times");
        assert_eq!(section("plex", "3"), "plex:section:3");
        assert_eq!(item("jf", "abc"), "jf:item:abc");
        assert_eq!(plays("jf", "abc"), "jf:plays:abc");
        assert_eq!(owner_plays("jf", "abc"), "jf:oplays:abc");
        assert_eq!(members("plex", "3"), "plex:members:3");
        assert_eq!(any_item("plex"), "plex:items");
        assert_eq!(recent("plex"), "plex:recent");
        assert_eq!(ondeck("plex"), "plex:ondeck");
        assert_eq!(history("plex"), "plex:history");
        assert_eq!(sessions("plex"), "plex:sessions");
        assert_eq!(playlists("plex"), "plex:playlists");
        assert_eq!(library("plex"), "plex:library");
        assert_eq!(listings("plex"), "plex:listings");
        assert_eq!(across("plex"), "plex:across");
        assert_eq!(user_state("plex", "00ff"), "plex:user:00ff:state");
        assert_eq!(plays_item("plex", &plays("plex", "42")), Some("42"));
        assert_eq!(plays_item("plex", &owner_plays("plex", "42")), None);
        assert_eq!(plays_item("jf", &plays("plex", "42")), None);
        assert_eq!(item_id("plex", &item("plex", "42")), Some("42"));
        assert_eq!(item_id("plex", &plays("plex", "42")), None);
        assert_eq!(item_id("jf", &item("plex", "42")), None);
        assert_eq!(item_id("plex", &item("plex", "")), None);
        let watch = user_watch("plex", "00ff");
        assert_eq!(
            user_section_watch(&watch, Some("3")),
            "plex:user:00ff:watch/3"
        );
        assert_eq!(user_section_watch(&watch, None), "plex:user:00ff:watch/*");
        assert_eq!(section_of("plex", &section("plex", "3")), Some("3"));
        assert_eq!(section_of("plex", &members("plex", "4")), Some("4"));
        assert_eq!(section_of("plex", &recent("plex")), None);
        assert_eq!(section_of("jf", &section("plex", "3")), None);
        assert!(is_across("plex", &across("plex")));
        assert!(!is_across("plex", &across("jf")) && !is_across("plex", &recent("plex")));
    }
}
