//! What the server hides from each user inside their sections, read where the server keeps it
//! and applied to the copy's answers: the model is the dialects' leaf
//! [`cachearr_dialect::model::restriction`] ([`Restriction`], one verdict per item), which
//! the Plex restrictions read from plex.tv map onto too.
//!
//! **Reading.** A server that says every user's restriction in one answer (the dialect's
//! [`restrictions_path`](cachearr_dialect::ServerLibrary::restrictions_path): Jellyfin's
//! `GET /Users`, each user's `Policy`) is read with the owner's token, not through the cache
//! (the answer carries activity dates), at most once per [`POLICIES_FRESH`] on the
//! injectable clock: that is how soon a changed policy is applied (the server sends no
//! event an administrator's socket hears: `UserUpdated` goes to the user's own sessions).
//! Readers waiting at once share one read. A user whose restriction changed since the last
//! read has their cached answers dropped (their scope's tag: views and counts too). A read
//! that fails leaves the users without a known restriction: the copy then proves sections
//! whole by counts, or leaves the request to the server, as before. A server whose account
//! service keeps what each user may see (Plex: plex.tv) gives the user's share instead
//! (`visibility::share_restriction`), and the labels its filters read are read apart
//! ([`super::labels`]: a Plex listing carries none).
//!
//! **Applying.** `Applied` is one answer's view of the asking user's restriction: the
//! verdict of each item the answer would hold, from the marks of the item and its parent and
//! grandparent (a track's album and artist, an episode's season and series) in their kept
//! documents (the dialect's
//! [`document_marks`](cachearr_dialect::ServerLibrary::document_marks); for Plex the kept
//! listing element's rating, [`element_marks`](cachearr_dialect::ServerLibrary::element_marks),
//! and the labels read apart), kept for the answer.
//! An item whose marks cannot be read, or whose verdict the model cannot give, makes the
//! answer the server's (`Applied::unknown`).

use super::bare_id;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use http::header::HeaderValue;

use cachearr_dialect::model::library::UserSections;
use cachearr_dialect::model::restriction::{ItemMarks, Marks, Restriction, Verdict};
use cachearr_dialect::tags;
use cachearr_gateway::read_through::ReadThrough;
use cachearr_library::LibraryIndex;
use cachearr_library::Visibility;
use cachearr_library::index::ItemView;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::users::UserRecord;

use super::elements::ElementStore;
use super::labels::{ItemLabels, Labels};

/// How long every user's restriction, once read, is applied before it is read again.
pub const POLICIES_FRESH: Duration = Duration::from_secs(60);

/// The largest restrictions answer read (a server with thousands of users stays well under).
const BODY_MAX: usize = 16 << 20;

/// Every user's restriction on one upstream, as last read (see the module documentation).
#[derive(Debug, Default)]
pub struct Policies {
    held: Mutex<Option<Held>>,
    /// The last restrictions read (kept through [`Self::forget`]), to tell whose changed.
    last_read: Mutex<Option<ByUser>>,
    /// One read at a time: waiters then find it done.
    reading: tokio::sync::Mutex<()>,
}

/// Every user's restriction, by the user's server id as [`bare`] writes it.
type ByUser = Arc<HashMap<String, Arc<Restriction>>>;

#[derive(Debug, Clone)]
struct Held {
    /// When it was read (ms on the gateway's clock).
    read_at: u64,
    /// `None`: the read failed (tried again after [`POLICIES_FRESH`] too).
    users: Option<ByUser>,
}

impl Policies {
    /// Forgets what was read: the next answer reads every restriction again (a user's
    /// policy changed).
    pub fn forget(&self) {
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Reads every user's restriction again now, dropping the cached answers of those whose
    /// changed.
    pub async fn read_again(&self, reads: &ReadThrough, up: &Arc<Upstream>) {
        self.forget();
        let _ = self.users(reads, up).await;
    }

    /// The schedule (the index keeper's ticks): once the copy has read the restrictions at
    /// all, they are read again when older than [`POLICIES_FRESH`], so that a changed one
    /// drops its user's cached answers even while the copy is not asked.
    pub async fn read_when_due(&self, reads: &ReadThrough, up: &Arc<Upstream>) {
        let read_before = (self.last_read.lock().unwrap_or_else(|e| e.into_inner())).is_some();
        if read_before && self.fresh(reads).is_none() {
            let _ = self.users(reads, up).await;
        }
    }

    /// The restriction of the user whose server id is `user_id`, reading every user's when
    /// what was read is older than [`POLICIES_FRESH`]; `None` when it cannot be had.
    pub async fn of(
        &self,
        reads: &ReadThrough,
        up: &Arc<Upstream>,
        user_id: &str,
    ) -> Option<Arc<Restriction>> {
        let users = self.users(reads, up).await?;
        users.get(&bare_id(user_id)).cloned()
    }

    async fn users(&self, reads: &ReadThrough, up: &Arc<Upstream>) -> Option<ByUser> {
        if let Some(users) = self.fresh(reads) {
            return users;
        }
        let _reading = self.reading.lock().await;
        if let Some(users) = self.fresh(reads) {
            return users;
        }
        let users = read_users(up).await.map(Arc::new);
        if users.is_none() {
            tracing::debug!(
                upstream = %up.name,
                "users' restrictions could not be read: restricted users are answered by the server"
            );
        }
        let before = self
            .last_read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let (Some(before), Some(now)) = (before, &users) {
            drop_changed_users_answers(reads, up, &before, now);
        }
        if let Some(now) = &users {
            *self.last_read.lock().unwrap_or_else(|e| e.into_inner()) = Some(now.clone());
        }
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(Held {
            read_at: reads.clock().now_ms(),
            users: users.clone(),
        });
        users
    }

    /// What was read, when it is fresh.
    #[allow(
        clippy::option_option,
        reason = "not read yet (None) differs from a failed read (Some(None))"
    )]
    fn fresh(&self, reads: &ReadThrough) -> Option<Option<ByUser>> {
        let held = self
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        let age = reads.clock().now_ms().saturating_sub(held.read_at);
        (u128::from(age) < POLICIES_FRESH.as_millis()).then_some(held.users)
    }
}

/// Drops the cached answers of each user whose restriction changed between `before` and
/// `now` (their scope's tag, which every answer kept in their scope carries): an answer cached
/// under the old restriction may hold an item the server now hides, or count it (views).
/// Their play-state lists are read whole at the next round, their counts having been made over
/// what the old restriction let through ([`UserRecord::note_visibility_changed`]).
fn drop_changed_users_answers(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    before: &HashMap<String, Arc<Restriction>>,
    now: &HashMap<String, Arc<Restriction>>,
) {
    let changed: Vec<&String> = (before.iter())
        .filter(|(id, r)| now.get(*id) != Some(*r))
        .map(|(id, _)| id)
        .collect();
    if changed.is_empty() {
        return;
    }
    // Every token the server said is the user's shares the scope kept under their server id
    // (one bump drops them all, those no longer in the table too); a token whose user is
    // still unknown may be theirs, so its own scope goes as well.
    // A confirmed token is theirs by its scope (confirmed by a sign-in, its own record, or
    // the play-state watch naming it), another by the id its own record gave.
    let secret = reads.secret();
    let scopes: Vec<_> = (changed.iter())
        .map(|id| secret.scope_of_user(&up.name, id))
        .collect();
    let mut tags: Vec<String> = (scopes.iter())
        .map(|scope| tags::user_scope(&up.name, &scope.to_string()))
        .collect();
    for user in up.users.all() {
        let theirs = (user.is_confirmed() && scopes.contains(&user.scope))
            || (user.server_user_id()).is_some_and(|id| changed.contains(&&bare_id(&id)));
        if theirs || user.is_unnamed() {
            tags.push(user.scope_tag.to_string());
            user.note_visibility_changed();
        }
    }
    tags.sort_unstable();
    tags.dedup();
    tracing::info!(
        upstream = %up.name,
        users = changed.len(),
        "users' restrictions changed on the server: their cached answers are dropped"
    );
    reads.invalidate_tags(&up.name, &tags);
}

/// Every user's restriction, read with the owner's token; `None` when it cannot be had.
async fn read_users(up: &Arc<Upstream>) -> Option<HashMap<String, Arc<Restriction>>> {
    let library = cachearr_dialect::of(up.profile).library();
    let path = library.restrictions_path()?;
    let token = up.config.token.as_deref().filter(|t| !t.is_empty())?;
    let token = HeaderValue::from_str(token).ok()?;
    let uri = up.uri_for(path).ok()?;
    let make = || Ok(up.owner_request(&uri, Some(&token), "cachearr"));
    let response = up
        .send_idempotent(&make, cachearr_upstream::client::Budget::Client)
        .await
        .ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    let body = http_body_util::BodyExt::collect(http_body_util::Limited::new(
        response.into_body(),
        BODY_MAX,
    ))
    .await
    .ok()?
    .to_bytes();
    let users = library.parse_restrictions(&body)?;
    Some(
        users
            .into_iter()
            .map(|(id, restriction)| (bare_id(&id), Arc::new(restriction)))
            .collect(),
    )
}

/// A user's restriction, with what the copy read to apply it: the items' labels where the
/// server's listings do not carry them and a filter reads them ([`super::labels`]).
#[derive(Debug, Clone)]
pub(crate) struct UserRestriction {
    pub(crate) restriction: Arc<Restriction>,
    pub(crate) labels: Option<Arc<ItemLabels>>,
}

/// The asking user's restriction applied to one answer (see the module documentation).
pub(crate) struct Applied<'a> {
    restriction: Arc<Restriction>,
    /// The items' labels, when the restriction reads labels the documents do not hold.
    labels: Option<Arc<ItemLabels>>,
    /// Where an item found changed since its labels were read is noted, to be read again.
    label_book: &'a Labels,
    profile: cachearr_dialect::Profile,
    index: &'a LibraryIndex,
    store: &'a ElementStore,
    /// The index's word for each section's kind, by section id.
    section_kinds: HashMap<String, String>,
    /// Each document's marks read for this answer (`None`: not kept, or unreadable).
    marks: Mutex<HashMap<String, Option<(Marks, &'static str)>>>,
    /// An item's verdict could not be given: the answer is the server's.
    unknown: std::sync::atomic::AtomicBool,
}

impl<'a> Applied<'a> {
    /// `restriction` applied to answers from `index` and the documents in `store`, in the
    /// user's `sections`.
    pub(crate) fn new(
        restriction: UserRestriction,
        profile: cachearr_dialect::Profile,
        (index, store, label_book): (&'a LibraryIndex, &'a ElementStore, &'a Labels),
        sections: &UserSections,
    ) -> Applied<'a> {
        let library = cachearr_dialect::of(profile).library();
        let section_kinds = (sections.sections.iter())
            .map(|s| (s.id.clone(), library.section_word(&s.kind).to_owned()))
            .collect();
        Applied {
            restriction: restriction.restriction,
            labels: restriction.labels,
            label_book,
            profile,
            index,
            store,
            section_kinds,
            marks: Mutex::new(HashMap::new()),
            unknown: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// What the answer's verdicts depend on, as a number: lists of shown items kept under
    /// it serve every answer with the same restriction and labels.
    pub(crate) fn fingerprint(&self) -> u64 {
        let rules = format!("{:?}", self.restriction);
        let labels = self.labels.as_ref().map_or(0, |l| l.generation());
        xxhash_rust::xxh3::xxh3_64(rules.as_bytes()) ^ labels.rotate_left(32)
    }

    /// Marks the answer as one whose items' verdicts cannot all be given.
    pub(crate) fn cannot_tell(&self) {
        self.unknown
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether an item's verdict could not be given (the answer must not be given).
    pub(crate) fn unknown(&self) -> bool {
        self.unknown.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the item is shown to the user; an item whose verdict cannot be given counts as
    /// hidden and marks the answer [`Self::unknown`].
    pub(crate) fn shows(&self, item: &ItemView<'_>) -> bool {
        let lineage = [
            Some(item.id()),
            item.parent_id().filter(|p| !p.is_empty()),
            item.grandparent_id().filter(|g| !g.is_empty()),
        ];
        self.shows_lineage(item.section_id(), lineage.iter().flatten().copied())
    }

    /// Whether the item `id` of section `section`, whose ancestors are `ancestors` (nearest
    /// first), is shown to the user (as [`Self::shows`]).
    pub(crate) fn shows_id(&self, section: &str, id: &str, ancestors: &[&str]) -> bool {
        self.shows_lineage(
            section,
            std::iter::once(id).chain(ancestors.iter().copied()),
        )
    }

    fn shows_lineage<'i>(&self, section: &str, ids: impl Iterator<Item = &'i str>) -> bool {
        match self.verdict(section, ids) {
            Some(Verdict::Shown) => true,
            Some(Verdict::Hidden) => false,
            Some(Verdict::Unknown) | None => {
                self.cannot_tell();
                false
            }
        }
    }

    fn verdict<'i>(&self, section: &str, ids: impl Iterator<Item = &'i str>) -> Option<Verdict> {
        let section_kind = self
            .section_kinds
            .iter()
            .find(|(id, _)| bare_id(id) == bare_id(section))
            .map(|(_, kind)| kind.clone())?;
        let mut lineage = Vec::new();
        let mut unrated_kind = None;
        for id in ids {
            let (marks, kind) = self.marks_of(id)?;
            unrated_kind.get_or_insert(kind);
            lineage.push(marks);
        }
        let item = ItemMarks {
            section_kind,
            unrated_kind: unrated_kind?.to_owned(),
            lineage,
        };
        Some(self.restriction.verdict(&item))
    }

    fn marks_of(&self, id: &str) -> Option<(Marks, &'static str)> {
        let mut marks = self.marks.lock().unwrap_or_else(|e| e.into_inner());
        marks
            .entry(id.to_owned())
            .or_insert_with(|| self.read_marks(id))
            .clone()
    }

    /// Item `id`'s marks: from its kept document (Jellyfin), else from its kept listing
    /// element with the labels read apart (Plex); `None` when they cannot all be had.
    fn read_marks(&self, id: &str) -> Option<(Marks, &'static str)> {
        let library = cachearr_dialect::of(self.profile).library();
        if let Some(marks) = self
            .store
            .read_document(id, |doc| library.document_marks(doc))
            .flatten()
        {
            return Some(marks);
        }
        let mut marks = library.element_marks(&*self.store.kept_attrs(id)?)?;
        if self.restriction.reads_labels() {
            let updated_at = self
                .index
                .by_id(id, &Visibility::everything())?
                .updated_at();
            match self.labels.as_ref()?.of(id, updated_at) {
                Some(labels) => marks.tags = labels.to_vec(),
                None => {
                    self.label_book.note_changed(id);
                    return None;
                }
            }
        }
        Some((marks, ""))
    }

    /// The item numbered `no` in the index, when shown to the user.
    pub(crate) fn shows_no(&self, no: cachearr_library::index::ItemNo) -> bool {
        self.index
            .item(no, &Visibility::everything())
            .is_some_and(|v| self.shows(&v))
    }
}

/// The restriction of `user` on `up` from `policies`, when the server says it and it is
/// modelled; `None` (prove sections whole, or leave to the server) otherwise.
pub(crate) async fn restriction_of(
    reads: &ReadThrough,
    handle: &super::UpstreamIndex,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
) -> Option<UserRestriction> {
    let library = cachearr_dialect::of(up.profile).library();
    let restriction = if library.restrictions_path().is_some() {
        let own = super::user_state::own_user_id(up, user).await?;
        handle.policies().of(reads, up, &own).await?
    } else {
        super::visibility::share_restriction(reads, up, user).await?
    };
    if !restriction.is_modelled() {
        tracing::debug!(
            upstream = %up.name,
            user = %user.hash_hex,
            unmodelled = ?restriction.unmodelled,
            "the user's restriction holds what the copy does not model: the server answers"
        );
        return None;
    }
    // Labels a filter reads that the kept documents do not hold are read apart.
    let names: std::collections::BTreeSet<String> =
        restriction.labels_named().map(str::to_owned).collect();
    let labels = match names.is_empty() {
        false => Some(
            handle
                .labels()
                .current(up, &handle.sections(), &names)
                .await?,
        ),
        true => None,
    };
    Some(UserRestriction {
        restriction,
        labels,
    })
}
