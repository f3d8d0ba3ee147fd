//! The frame around the items of an answer written from the library copy — the container's
//! attributes and the answer's headers — learned from the server's own answers and proven on
//! them before the copy answers alone.
//!
//! A children listing's container names its parent (`key`, `title2`, `parentIndex`, `art`,
//! `grandparentTitle` …) and a section listing's names its section. Which attribute of which
//! kept element each one repeats is not written down anywhere a gateway could read, and
//! differs between server versions; guessing it would give answers that are almost the
//! server's. So the frame is read off the server: the first answers of each [`Shape`] go to
//! the server as before, and for each container attribute the gateway keeps every reading
//! that explains the value — an attribute of the parent's element, of the grandparent's, of
//! the first item's, of the section's listing container, or the same value every time
//! ([`Source`]). Each further server answer drops the readings it contradicts.
//!
//! The copy answers a request only when (1) the frame was proven: the answer the gateway
//! writes for a server answer's request is that answer byte for byte, headers included, on
//! [`PROOFS`] different parents; (2) every reading still kept gives the same value for
//! this request's parent; and (3) no order the proofs could not tell from the copy's puts
//! this answer's items otherwise ([`rivals`](super::rivals)). A request where two readings
//! (or two orders) disagree goes to the server, whose answer settles which one is right. A
//! proof that fails (an attribute no reading explains, items the server writes otherwise, a
//! header that changes) refuses the shape for good: its requests go to the server, said once
//! in the log, and the answers the copy wrote for it are dropped from the cache. A change
//! that may move an item in a section's order (an add, a rename) wants one more proof of the
//! section's frames, on a server answer read since, before the copy answers with them again
//! ([`Frames::moved_in`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use cachearr_library::ItemKind;

use super::super::elements::{self, Element, Scalar};
use super::super::status::CopyReport;
use super::rivals::Rivals;
use cachearr_gateway::read_through::ReadThrough;
use cachearr_serverfmt::tree::El;
use cachearr_serverfmt::tree::V;
use cachearr_upstream::keys::UserHash;

/// Server answers on different parents a frame must reproduce byte for byte before the copy
/// answers with it.
pub(crate) const PROOFS: usize = 2;

/// The route and request shape a frame is learned for: answers of one shape share their
/// frame's layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Shape {
    /// `children`, `allLeaves`, `all` (a section listing) or `recent` (a recently-added
    /// list across sections).
    pub(crate) route: &'static str,
    pub(crate) section: String,
    /// The kind of the items listed.
    pub(crate) kind: ItemKind,
    /// The order asked for: `""` (natural), `id`, `id:desc`.
    pub(crate) order: &'static str,
    pub(crate) json: bool,
    pub(crate) guids: bool,
    /// Paged (`X-Plex-Container-Start` / `-Size` given): the server writes `totalSize` and
    /// `offset`, and its paging headers.
    pub(crate) paged: bool,
    /// The options an answer's items are written with, where they vary by request
    /// (Jellyfin's `Fields`, images and user data; empty for Plex): a proof holds for the
    /// options it was made with.
    pub(crate) options: String,
}

impl Shape {
    /// The tag every answer the copy writes for this shape is stored under (besides its
    /// items'): invalidated when the shape is refused ([`Frames::drop_refused_answers`]), so
    /// that an answer written with a frame the server's answers came to contradict is not
    /// served from the cache after the copy stopped giving it.
    pub(crate) fn tag(&self, upstream: &str) -> String {
        let flag = |on: bool| if on { '1' } else { '0' };
        format!(
            "{upstream}:copy-shape:{}:{}:{}:{}:{}{}{}:{}",
            self.route,
            self.section,
            self.kind.name(),
            self.order,
            flag(self.json),
            flag(self.guids),
            flag(self.paged),
            self.options
        )
    }

    /// The orders no proof of this shape has told apart from the copy's yet: those of the
    /// order it asks for ([`Rivals::of_order`]).
    pub(crate) fn rivals(&self) -> Rivals {
        Rivals::of_order(self.order)
    }
}

/// Where a container attribute's value can come from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// An attribute of the parent's kept element.
    Parent(&'static str),
    /// An attribute of the grandparent's kept element.
    Grandparent(&'static str),
    /// An attribute of the first item's kept element (in the listing's order).
    Child(&'static str),
    /// An attribute of the section's kept listing container.
    Section(&'static str),
    /// This value, every time.
    Const(Scalar),
}

/// A [`Source`] naming an attribute of one of the kept elements.
type MakeSource = fn(&'static str) -> Source;

/// The kept elements a frame's readings look into, for one answer.
#[derive(Default)]
pub(crate) struct Sources<'a> {
    pub(crate) parent: Option<&'a Element>,
    pub(crate) grandparent: Option<&'a Element>,
    pub(crate) child: Option<&'a Element>,
    pub(crate) section: Option<&'a Element>,
}

impl<'a> Sources<'a> {
    fn value<'v>(&self, source: &'v Source) -> Option<&'v Scalar>
    where
        'a: 'v,
    {
        let (element, name) = match source {
            Source::Const(v) => return Some(v),
            Source::Parent(n) => (self.parent?, n),
            Source::Grandparent(n) => (self.grandparent?, n),
            Source::Child(n) => (self.child?, n),
            Source::Section(n) => (self.section?, n),
        };
        element.attr(name)
    }

    /// Every reading of `value`: the kept attributes equal to it, and the value itself.
    fn readings(&self, value: &Scalar, json: bool) -> Vec<Source> {
        let mut out = Vec::new();
        let places: [(Option<&Element>, MakeSource); 4] = [
            (self.parent, Source::Parent),
            (self.grandparent, Source::Grandparent),
            (self.child, Source::Child),
            (self.section, Source::Section),
        ];
        for (element, make) in places {
            let Some(element) = element else { continue };
            for (name, v) in &element.attrs {
                if same(v, value, json)
                    && let Some(name) = elements::interned(name)
                {
                    out.push(make(name));
                }
            }
        }
        out.push(Source::Const(value.clone()));
        out
    }
}

/// Whether two values are written alike in the format.
fn same(a: &Scalar, b: &Scalar, json: bool) -> bool {
    // Equal values are written alike (nearly every comparison): no text made for them.
    a == b || text(a, json) == text(b, json)
}

fn text(v: &Scalar, json: bool) -> String {
    match v {
        Scalar::S(s) if json => format!("{s:?}"),
        Scalar::S(s) => s.clone(),
        Scalar::I(n) => n.to_string(),
        Scalar::F(f) => f.to_string(),
        Scalar::B(b) if json => b.to_string(),
        Scalar::B(b) => u8::from(*b).to_string(),
    }
}

/// A frame being learned or learned.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The container's attributes in the server's order (the page's own — `size`,
    /// `totalSize`, `offset` — apart), each with the readings still kept.
    attrs: Vec<(&'static str, Vec<Source>)>,
    /// The answer's headers as stored (paging headers apart), sorted.
    headers: Vec<(String, String)>,
    /// The parents whose server answers the frame reproduced.
    proven: Vec<String>,
    /// The orders the proofs have not told apart from the copy's ([`rivals`](super::rivals)):
    /// an answer whose page one of them orders otherwise is the server's.
    rivals: Rivals,
    /// A change that can move an item in this shape's order (an item added, renamed or
    /// otherwise edited in its section) came after the last proof: the frame was proven on
    /// the order as it stood, and a tool mixing the server's pages with the copy's would
    /// skip or repeat the moved item if the two now disagree. One proof on a server answer
    /// read since proves it again ([`Frames::moved_in`]).
    moved_since_proof: bool,
}

impl Frame {
    /// Whether the copy may answer with this frame.
    pub(crate) fn proven(&self) -> bool {
        self.proofs_wanted() == 0
    }

    /// Whether the frame was proven on [`PROOFS`] parents (whether or not a change since
    /// wants another proof): what is kept on disk.
    fn proven_once(&self) -> bool {
        self.proven.len() >= PROOFS
    }

    /// The proofs still wanted before the copy answers with this frame.
    fn proofs_wanted(&self) -> usize {
        match PROOFS.saturating_sub(self.proven.len()) {
            0 => usize::from(self.moved_since_proof),
            wanted => wanted,
        }
    }

    /// The orders the proofs have not told apart from the copy's yet.
    pub(crate) fn rivals(&self) -> Rivals {
        self.rivals
    }

    /// Which kept elements the readings look into: `[parent, grandparent, child, section]`
    /// (an answer reads only those from the store).
    pub(crate) fn uses(&self) -> [bool; 4] {
        let mut uses = [false; 4];
        for source in self.attrs.iter().flat_map(|(_, readings)| readings) {
            match source {
                Source::Parent(_) => uses[0] = true,
                Source::Grandparent(_) => uses[1] = true,
                Source::Child(_) => uses[2] = true,
                Source::Section(_) => uses[3] = true,
                Source::Const(_) => {}
            }
        }
        uses
    }

    /// The container for one answer, when every kept reading of every attribute agrees.
    pub(crate) fn container(&self, sources: &Sources<'_>, json: bool) -> Option<El> {
        let mut el = El::container();
        for (name, readings) in &self.attrs {
            let mut value: Option<&Scalar> = None;
            for r in readings {
                let v = sources.value(r)?;
                match value {
                    None => value = Some(v),
                    Some(first) if same(first, v, json) => {}
                    Some(_) => return None,
                }
            }
            el.attrs.push((name, to_v(value?.clone())));
        }
        Some(el)
    }

    /// The headers the answer is stored with (paging headers are the page's own).
    pub(crate) fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
}

fn to_v(v: Scalar) -> V {
    match v {
        Scalar::S(s) => V::S(s),
        Scalar::I(n) => V::I(n),
        Scalar::F(f) => V::F(f),
        Scalar::B(b) => V::B(b),
    }
}

/// A server answer's frame, read off it: the container's attributes and the stored headers.
pub(crate) struct Observed {
    pub(crate) attrs: Vec<(String, Scalar)>,
    pub(crate) headers: Vec<(String, String)>,
}

impl Observed {
    /// The frame of a Plex answer body (JSON or XML) and its stored headers, less those the
    /// page writes for itself (`page_headers`: the dialect's
    /// [`page_header_names`](cachearr_dialect::answers::AnswerFacts::page_header_names));
    /// `None` when the body is not a `MediaContainer` the gateway can read.
    pub(crate) fn of(
        body: &[u8],
        headers: &[(String, String)],
        json: bool,
        page_headers: &[&str],
    ) -> Option<Observed> {
        let attrs = cachearr_dialect::kept::answer_container(body, json)?;
        let mut headers: Vec<(String, String)> = headers
            .iter()
            .filter(|(n, _)| !page_headers.contains(&n.as_str()))
            .cloned()
            .collect();
        headers.sort();
        Some(Observed { attrs, headers })
    }
}

enum Learned {
    /// Shared with the answers written with it: every answer takes the frame, and a frame
    /// is a few dozen attributes with their readings, copied per answer otherwise.
    Learning(Arc<Frame>),
    Refused,
}

/// Walk misses of one user in one section (and type), before the copy takes part.
///
/// The copy's first answer to a user in a section costs reads of its own — the user's
/// sections, whether they see the section whole, their play state (each a request, cached
/// for minutes) — which a walk of tens of pages repays and a lone count does not: Tautulli's
/// one count per section and type cost three requests instead of one. So the first miss of a
/// user in a section goes to the server as before, the second is learnt from, and the copy
/// answers from the third on.
pub(crate) const WALK_MISSES_BEFORE_COPY: u32 = 2;

/// Users and sections whose walk misses are counted at most (the map is cleared when full:
/// a walk then starts counting again).
const WALKERS_MAX: usize = 4096;

/// How long a walk's miss waits for the proofs that server answers already on their way will
/// make, rather than adding another request: a tool walking twenty series at once would
/// otherwise send all twenty to the server before the first proof is in.
pub(crate) const PROOF_WAIT: Duration = Duration::from_secs(2);
/// How long a load sent to the server while its shape was being learnt counts as on its way
/// (one whose answer never comes back to be learnt from stops counting then).
const LEARNER_TTL: Duration = Duration::from_secs(10);

/// The frames of one upstream's copy answers.
#[derive(Default)]
pub(crate) struct Frames {
    shapes: Mutex<HashMap<Shape, Learned>>,
    /// Per shape being learnt, when each load sent to the server to prove it left.
    learners: Mutex<HashMap<Shape, Vec<Instant>>>,
    /// Woken on every proof (and refusal).
    proved: tokio::sync::Notify,
    /// Walk misses per user and section (see [`WALK_MISSES_BEFORE_COPY`]).
    walkers: Mutex<HashMap<(UserHash, String), u32>>,
    answered: AtomicU64,
    proofs: AtomicU64,
    /// The probes after a build are under way (`answer::probe`).
    probing: std::sync::atomic::AtomicBool,
    /// Shapes refused whose stored answers are not dropped yet
    /// ([`Frames::drop_refused_answers`]).
    refused_with_answers: Mutex<Vec<Shape>>,
    /// Per frame probe just learnt from, where a rival its proofs left standing parts from
    /// the copy's order (`answer::note_parting`): taken by the next probe page.
    parting: Mutex<HashMap<String, usize>>,
}

impl std::fmt::Debug for Frames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frames").finish_non_exhaustive()
    }
}

/// Shapes a process learns at most (a request shape is a route, section, kind and format:
/// a handful per section).
const SHAPES_MAX: usize = 512;

impl Frames {
    /// Counts a walk miss of `user` in `walk` (a section and type) and returns how many came
    /// before it.
    pub(crate) fn note_walk(&self, user: UserHash, walk: &str) -> u32 {
        let mut walkers = self.walkers.lock().unwrap_or_else(|e| e.into_inner());
        if walkers.len() >= WALKERS_MAX && !walkers.contains_key(&(user, walk.to_string())) {
            walkers.clear();
        }
        let n = walkers.entry((user, walk.to_string())).or_insert(0);
        *n = n.saturating_add(1);
        *n - 1
    }

    /// How many walk misses of `user` in `walk` were counted.
    pub(crate) fn walks(&self, user: UserHash, walk: &str) -> u32 {
        let walkers = self.walkers.lock().unwrap_or_else(|e| e.into_inner());
        walkers.get(&(user, walk.to_string())).copied().unwrap_or(0)
    }

    /// Marks the probes after a build as under way, or done.
    pub(crate) fn set_probing(&self, on: bool) {
        self.probing.store(on, Ordering::Relaxed);
    }

    /// A cache miss was answered from the copy.
    pub(crate) fn note_answered(&self) {
        self.answered.fetch_add(1, Ordering::Relaxed);
    }

    /// What the copy did so far.
    pub(crate) fn report(&self) -> CopyReport {
        let shapes = self.lock();
        let mut report = CopyReport {
            answered: self.answered.load(Ordering::Relaxed),
            proofs: self.proofs.load(Ordering::Relaxed),
            probing: self.probing.load(Ordering::Relaxed),
            ..CopyReport::default()
        };
        for learned in shapes.values() {
            match learned {
                Learned::Learning(f) if f.proven() => report.shapes_proven += 1,
                Learned::Learning(_) => report.shapes_learning += 1,
                Learned::Refused => report.shapes_refused += 1,
            }
        }
        report
    }

    /// The rivals the frame of `shape` keeps, proven or still being learnt (none when it is
    /// not learnt or refused).
    pub(crate) fn rivals_kept(&self, shape: &Shape) -> Rivals {
        match self.lock().get(shape) {
            Some(Learned::Learning(f)) => f.rivals(),
            _ => Rivals::NONE,
        }
    }

    /// Notes that the listing read by the frame probe `probe` (its path and query) has a
    /// rival standing that orders its items otherwise from item `start` on.
    pub(crate) fn note_parting(&self, probe: &str, start: usize) {
        let mut parting = self.parting.lock().unwrap_or_else(|e| e.into_inner());
        if parting.len() < SHAPES_MAX {
            parting.insert(probe.to_owned(), start);
        }
    }

    /// Where the listing read by the frame probe `probe` has a rival standing
    /// ([`Frames::note_parting`]), forgotten once taken.
    pub(crate) fn take_parting(&self, probe: &str) -> Option<usize> {
        (self.parting.lock().unwrap_or_else(|e| e.into_inner())).remove(probe)
    }

    /// The frame of `shape` when it is proven.
    pub(crate) fn proven(&self, shape: &Shape) -> Option<Arc<Frame>> {
        match self.lock().get(shape) {
            Some(Learned::Learning(f)) if f.proven() => Some(f.clone()),
            _ => None,
        }
    }

    /// Whether proving `shape` on the server's answer at `proof_key` is worth its reads:
    /// the frame is proven already (the proof checks it again), or it can be with at most
    /// `learnable` more proofs after this one. A walk that ends before its frame could be
    /// proven would pay for the proof (the user's play state read to write the copy's answer)
    /// and never be answered from it: Kometa lists a section of 200 in two pages, and only the
    /// first may be learnt from ([`Walk::ends_listing`](super::walk::Walk::ends_listing)).
    pub(crate) fn proof_can_complete(
        &self,
        shape: &Shape,
        proof_key: &str,
        learnable: u64,
    ) -> bool {
        match self.lock().get(shape) {
            Some(Learned::Learning(frame)) => {
                let new = !frame.proven.iter().any(|p| p == proof_key);
                let after = frame.proven.len() + usize::from(new);
                frame.proven() || (after as u64).saturating_add(learnable) >= PROOFS as u64
            }
            // A refused shape learns nothing; one not learnt is not proven by this answer.
            Some(Learned::Refused) | None => false,
        }
    }

    /// The frame of `shape` when it is proven; while it is being learnt and enough server
    /// answers to prove it are on their way, waits for them (at most [`PROOF_WAIT`]) instead
    /// of sending another. `None`: this load goes to the server, counted as on its way to
    /// prove the shape.
    pub(crate) async fn proven_or_wait(&self, shape: &Shape) -> Option<Arc<Frame>> {
        let deadline = Instant::now() + PROOF_WAIT;
        loop {
            let notified = self.proved.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wanted = match self.lock().get(shape) {
                Some(Learned::Learning(f)) if f.proven() => return Some(f.clone()),
                Some(Learned::Refused) => return None,
                Some(Learned::Learning(f)) => f.proofs_wanted(),
                None => PROOFS,
            };
            {
                let now = Instant::now();
                let mut learners = self.learners.lock().unwrap_or_else(|e| e.into_inner());
                if learners.len() >= SHAPES_MAX && !learners.contains_key(shape) {
                    learners.clear();
                }
                let on_their_way = learners.entry(shape.clone()).or_default();
                on_their_way.retain(|t| now.duration_since(*t) < LEARNER_TTL);
                if on_their_way.len() < wanted || now >= deadline {
                    on_their_way.push(now);
                    return None;
                }
            }
            // Woken by a proof, or at the deadline (then this load goes to the server).
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }

    /// A load of `shape` goes to the server to be learnt from (a user's miss the copy does
    /// not answer yet): counted as on its way, so that the misses right after it wait for its
    /// proof ([`Frames::proven_or_wait`]) instead of each going to the server too.
    pub(crate) fn on_its_way(&self, shape: &Shape) {
        if matches!(self.lock().get(shape), Some(Learned::Refused)) || self.proven(shape).is_some()
        {
            return;
        }
        let now = Instant::now();
        let mut learners = self.learners.lock().unwrap_or_else(|e| e.into_inner());
        if learners.len() >= SHAPES_MAX && !learners.contains_key(shape) {
            learners.clear();
        }
        let on_their_way = learners.entry(shape.clone()).or_default();
        on_their_way.retain(|t| now.duration_since(*t) < LEARNER_TTL);
        on_their_way.push(now);
    }

    /// A server answer of `shape` came back to be learnt from: one fewer on its way.
    fn learner_back(&self, shape: &Shape) {
        let mut learners = self.learners.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(on_their_way) = learners.get_mut(shape)
            && !on_their_way.is_empty()
        {
            on_their_way.remove(0);
        }
    }

    /// Forgets every frame, proven or refused, and every proof on its way: the server runs
    /// another release, whose answers are proven again before the copy gives them.
    pub(crate) fn forget(&self) {
        self.lock().clear();
        self.learners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.walkers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.proved.notify_waiters();
    }

    /// Items of `sections` may have moved in their orders: an item was added to one, or
    /// edited (a new title or sort title moves it in a listing by title; a new year, among
    /// an artist's albums). Every frame of a shape listing them (a recently-added list
    /// spans every section) in an order such a change can move — any but by rating key —
    /// wants one more proof, on a server answer read after the change, before the copy
    /// answers with it again ([`Frame::moved_since_proof`]). Called with the index that
    /// holds the change installed.
    pub(crate) fn moved_in(&self, sections: &[String]) {
        if sections.is_empty() {
            return;
        }
        let mut shapes = self.lock();
        for (shape, learned) in shapes.iter_mut() {
            let Learned::Learning(frame) = learned else {
                continue;
            };
            let listed = shape.section == super::walk::EVERY_SECTION
                || (sections.iter()).any(|s| {
                    crate::upstream_index::bare_id(s)
                        == crate::upstream_index::bare_id(&shape.section)
                });
            let by_key = matches!(shape.order, "id" | "id:desc");
            if listed && !by_key && !frame.moved_since_proof {
                Arc::make_mut(frame).moved_since_proof = true;
            }
        }
    }

    /// Whether `shape` was refused (its answers are the server's).
    pub(crate) fn refused(&self, shape: &Shape) -> bool {
        matches!(self.lock().get(shape), Some(Learned::Refused))
    }

    /// Narrows `shape`'s readings by a server answer (`observed`, for the request's sources)
    /// and returns the frame to prove on it; `None` when the answer leaves some attribute
    /// without a reading, or changes the layout (the shape is refused).
    pub(crate) fn learn(
        &self,
        shape: &Shape,
        observed: &Observed,
        sources: &Sources<'_>,
        upstream: &str,
    ) -> Option<Arc<Frame>> {
        self.learner_back(shape);
        let mut shapes = self.lock();
        if shapes.len() >= SHAPES_MAX && !shapes.contains_key(shape) {
            return None;
        }
        let learned = shapes.entry(shape.clone()).or_insert_with(|| {
            let attrs = observed
                .attrs
                .iter()
                .filter_map(|(name, value)| {
                    Some((
                        elements::interned(name)?,
                        sources.readings(value, shape.json),
                    ))
                })
                .collect();
            Learned::Learning(Arc::new(Frame {
                attrs,
                headers: observed.headers.clone(),
                proven: Vec::new(),
                rivals: shape.rivals(),
                moved_since_proof: false,
            }))
        });
        let Learned::Learning(frame) = learned else {
            return None;
        };
        let why = narrow(Arc::make_mut(frame), observed, sources, shape.json);
        match why {
            None => Some(frame.clone()),
            Some(why) => {
                tracing::info!(
                    upstream,
                    route = shape.route,
                    section = %shape.section,
                    json = shape.json,
                    why,
                    "library copy: this answer's frame is not learned; the server answers it"
                );
                *learned = Learned::Refused;
                self.note_refused(shape);
                self.proved.notify_waiters();
                None
            }
        }
    }

    /// The frame learned for `shape` reproduced the server's answer for `parent` (`same`),
    /// or did not (the shape is refused). `agreeing`: the rivals still kept that order the
    /// answer's page as the copy did ([`rivals::agreeing`](super::rivals::agreeing)); the
    /// others are ruled out by a reproduced answer.
    pub(crate) fn proof(
        &self,
        shape: &Shape,
        (parent, agreeing): (&str, Rivals),
        same: bool,
        upstream: &str,
    ) {
        let mut shapes = self.lock();
        let Some(learned) = shapes.get_mut(shape) else {
            return;
        };
        match learned {
            Learned::Learning(frame) if same => {
                self.proofs.fetch_add(1, Ordering::Relaxed);
                let frame = Arc::make_mut(frame);
                if !frame.proven.iter().any(|p| p == parent) {
                    frame.proven.push(parent.to_string());
                }
                frame.rivals = frame.rivals.and(agreeing);
                frame.moved_since_proof = false;
            }
            Learned::Learning(_) => {
                tracing::info!(
                    upstream,
                    route = shape.route,
                    section = %shape.section,
                    json = shape.json,
                    "library copy: an answer written from the copy differs from the server's; \
                     the server answers this shape"
                );
                *learned = Learned::Refused;
                self.note_refused(shape);
            }
            Learned::Refused => {}
        }
        drop(shapes);
        self.proved.notify_waiters();
    }

    /// `shape` was refused: the answers the copy wrote for it and the cache keeps are
    /// dropped by the next [`Frames::drop_refused_answers`].
    fn note_refused(&self, shape: &Shape) {
        let mut refused = (self.refused_with_answers.lock()).unwrap_or_else(|e| e.into_inner());
        if refused.len() < SHAPES_MAX {
            refused.push(shape.clone());
        }
    }

    /// Invalidates the stored answers of every shape refused since the last call (their
    /// [`Shape::tag`]): the copy stopped giving them because the server writes them
    /// otherwise, and the cache must stop too. Called after each learning from the server's
    /// answers, which is where shapes are refused.
    pub(crate) fn drop_refused_answers(&self, reads: &ReadThrough, upstream: &str) {
        let refused = std::mem::take(
            &mut *(self.refused_with_answers.lock()).unwrap_or_else(|e| e.into_inner()),
        );
        if refused.is_empty() {
            return;
        }
        let tags: Vec<String> = refused.iter().map(|shape| shape.tag(upstream)).collect();
        reads.invalidate_tags(upstream, &tags);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Shape, Learned>> {
        self.shapes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A proven frame as it is kept beside the index snapshot (`{upstream}.frames.json`), so that
/// a restarted gateway answers walks from the copy without learning their frames again from
/// the server ([`Frames::saved`], [`Frames::restore`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SavedFrame {
    route: String,
    section: String,
    kind: ItemKind,
    order: String,
    json: bool,
    guids: bool,
    paged: bool,
    options: String,
    attrs: Vec<(String, Vec<SavedSource>)>,
    headers: Vec<(String, String)>,
    proven: Vec<String>,
    /// [`Frame::rivals`] by name (absent in frames kept before rivals were: every rival of
    /// the order is kept then).
    #[serde(default)]
    rivals: Option<Vec<String>>,
    #[serde(default)]
    moved_since_proof: bool,
}

/// A [`Source`] as kept on disk (attribute names are interned again when read back).
#[derive(Debug, Clone, Serialize, Deserialize)]
enum SavedSource {
    Parent(String),
    Grandparent(String),
    Child(String),
    Section(String),
    Const(Scalar),
}

impl SavedSource {
    fn of(source: &Source) -> SavedSource {
        match source {
            Source::Parent(n) => SavedSource::Parent((*n).to_string()),
            Source::Grandparent(n) => SavedSource::Grandparent((*n).to_string()),
            Source::Child(n) => SavedSource::Child((*n).to_string()),
            Source::Section(n) => SavedSource::Section((*n).to_string()),
            Source::Const(v) => SavedSource::Const(v.clone()),
        }
    }

    fn source(&self) -> Option<Source> {
        Some(match self {
            SavedSource::Parent(n) => Source::Parent(elements::interned(n)?),
            SavedSource::Grandparent(n) => Source::Grandparent(elements::interned(n)?),
            SavedSource::Child(n) => Source::Child(elements::interned(n)?),
            SavedSource::Section(n) => Source::Section(elements::interned(n)?),
            SavedSource::Const(v) => Source::Const(v.clone()),
        })
    }
}

/// The routes a [`Shape`] names: Plex's walks', Jellyfin's series walks (`super::series`)
/// and its listings of kinds a library holds none of (`super::none_of`).
const ROUTES: &[&str] = &[
    "children",
    "allLeaves",
    "all",
    "recent",
    "Shows/Seasons",
    "Shows/Episodes",
    super::none_of::ROUTE,
];

/// The `&'static` form of a route or order name read back from disk.
fn known(name: &str, names: &[&'static str]) -> Option<&'static str> {
    names.iter().copied().find(|n| *n == name)
}

impl SavedFrame {
    fn of(shape: &Shape, frame: &Frame) -> SavedFrame {
        SavedFrame {
            route: shape.route.to_string(),
            section: shape.section.clone(),
            kind: shape.kind,
            order: shape.order.to_string(),
            json: shape.json,
            guids: shape.guids,
            paged: shape.paged,
            options: shape.options.clone(),
            attrs: frame
                .attrs
                .iter()
                .map(|(name, readings)| {
                    (
                        (*name).to_string(),
                        readings.iter().map(SavedSource::of).collect(),
                    )
                })
                .collect(),
            headers: frame.headers.clone(),
            proven: frame.proven.clone(),
            rivals: Some(frame.rivals.names()),
            moved_since_proof: frame.moved_since_proof,
        }
    }

    /// The shape and its frame; `None` for a name this build does not know.
    fn restored(&self) -> Option<(Shape, Frame)> {
        let shape = Shape {
            route: known(&self.route, ROUTES)?,
            section: self.section.clone(),
            kind: self.kind,
            order: known(&self.order, &["", "id", "id:desc", "addedAt:desc"])?,
            json: self.json,
            guids: self.guids,
            paged: self.paged,
            options: self.options.clone(),
        };
        let mut attrs = Vec::with_capacity(self.attrs.len());
        for (name, readings) in &self.attrs {
            let readings: Option<Vec<Source>> = readings.iter().map(SavedSource::source).collect();
            attrs.push((elements::interned(name)?, readings?));
        }
        let rivals = match &self.rivals {
            Some(names) => Rivals::named(names).and(shape.rivals()),
            None => shape.rivals(),
        };
        let frame = Frame {
            attrs,
            headers: self.headers.clone(),
            proven: self.proven.clone(),
            rivals,
            moved_since_proof: self.moved_since_proof,
        };
        frame.proven_once().then_some((shape, frame))
    }
}

impl Frames {
    /// The proven frames (those a change since wants proven again included, marked so), to
    /// keep beside the index snapshot.
    pub(crate) fn saved(&self) -> Vec<SavedFrame> {
        let mut out: Vec<SavedFrame> = self
            .lock()
            .iter()
            .filter_map(|(shape, learned)| match learned {
                Learned::Learning(f) if f.proven_once() => Some(SavedFrame::of(shape, f)),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| (&a.route, &a.section, a.json).cmp(&(&b.route, &b.section, b.json)));
        out
    }

    /// Installs frames kept by an earlier run, where nothing was learnt of their shapes yet;
    /// returns how many.
    pub(crate) fn restore(&self, saved: &[SavedFrame]) -> usize {
        let mut shapes = self.lock();
        let mut n = 0;
        for (shape, frame) in saved.iter().filter_map(SavedFrame::restored) {
            if shapes.len() < SHAPES_MAX && !shapes.contains_key(&shape) {
                shapes.insert(shape, Learned::Learning(Arc::new(frame)));
                n += 1;
            }
        }
        drop(shapes);
        self.proved.notify_waiters();
        n
    }

    /// Whether a frame of a shape `like` a walk in `section` is proven: the walk may be of
    /// that shape, and answers from the user's first miss.
    pub(crate) fn proven_near(&self, section: &str, like: &ShapeLike) -> bool {
        self.lock().iter().any(|(shape, learned)| {
            shape.section == section
                && like.matches(shape)
                && matches!(learned, Learned::Learning(f) if f.proven())
        })
    }
}

/// What a walk's request tells of its [`Shape`] before the copy has looked into the user's
/// sections: all of it but the kind of a listing that names none, and the options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShapeLike {
    pub(crate) route: &'static str,
    /// The kind a listing's `type=` names (`None`: not named, or a parent's children).
    pub(crate) kind: Option<ItemKind>,
    pub(crate) order: &'static str,
    pub(crate) json: bool,
    pub(crate) guids: bool,
    pub(crate) paged: bool,
    /// The options the items are written with ([`Shape::options`]).
    pub(crate) options: String,
}

impl ShapeLike {
    fn matches(&self, shape: &Shape) -> bool {
        shape.route == self.route
            && self.kind.is_none_or(|kind| kind == shape.kind)
            && shape.order == self.order
            && shape.json == self.json
            && shape.guids == self.guids
            && shape.paged == self.paged
            && shape.options == self.options
    }
}

/// Drops the readings `observed` contradicts; `Some(why)` when the layout changed or an
/// attribute is left without a reading.
fn narrow(
    frame: &mut Frame,
    observed: &Observed,
    sources: &Sources<'_>,
    json: bool,
) -> Option<&'static str> {
    if frame.attrs.len() != observed.attrs.len()
        || frame
            .attrs
            .iter()
            .zip(&observed.attrs)
            .any(|((a, _), (b, _))| *a != b.as_str())
    {
        return Some("the container's attributes differ between answers");
    }
    if frame.headers != observed.headers {
        return Some("the answer's headers differ between answers");
    }
    for ((_, readings), (_, value)) in frame.attrs.iter_mut().zip(&observed.attrs) {
        readings.retain(|r| sources.value(r).is_some_and(|v| same(v, value, json)));
        if readings.is_empty() {
            return Some("a container attribute repeats nothing the copy keeps");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(attrs: &[(&str, Scalar)]) -> Element {
        Element {
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
            kids: Vec::new(),
        }
    }

    /// The readings of an answer whose parent is `p` (nothing else kept).
    fn parent_of(p: &Element) -> Sources<'_> {
        Sources {
            parent: Some(p),
            ..Sources::default()
        }
    }

    fn s(v: &str) -> Scalar {
        Scalar::S(v.to_string())
    }

    fn shape() -> Shape {
        Shape {
            route: "children",
            section: "3".into(),
            kind: ItemKind::Episode,
            order: "",
            json: false,
            guids: false,
            paged: false,
            options: String::new(),
        }
    }

    fn observed(attrs: &[(&str, &str)]) -> Observed {
        Observed {
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).to_string(), s(v)))
                .collect(),
            headers: vec![("content-type".into(), "text/xml".into())],
        }
    }

    #[test]
    fn a_value_two_readings_explain_is_written_only_where_they_agree() {
        let frames = Frames::default();
        // Season 1 of a show: its index is 1, and so is the constant the server writes.
        let s1 = element(&[("ratingKey", s("10")), ("index", s("1"))]);
        let first = parent_of(&s1);
        let seen = observed(&[("key", "10"), ("parentIndex", "1"), ("nocache", "1")]);
        let frame = frames.learn(&shape(), &seen, &first, "plex").unwrap();
        // Season 2: `parentIndex` read as the season's index gives 2, read as a constant 1;
        // `nocache` likewise. The copy does not choose: the server answers.
        let s2 = element(&[("ratingKey", s("20")), ("index", s("2"))]);
        let second = parent_of(&s2);
        assert!(frame.container(&second, false).is_none());
        // The server's answer for season 2 settles both.
        let seen = observed(&[("key", "20"), ("parentIndex", "2"), ("nocache", "1")]);
        let frame = frames.learn(&shape(), &seen, &second, "plex").unwrap();
        let s3 = element(&[("ratingKey", s("30")), ("index", s("3"))]);
        let third = parent_of(&s3);
        let c = frame.container(&third, false).unwrap();
        assert_eq!(
            c.to_xml().lines().nth(1).unwrap(),
            r#"<MediaContainer key="30" parentIndex="3" nocache="1"/>"#
        );
    }

    #[test]
    fn an_attribute_nothing_kept_explains_refuses_the_shape() {
        let frames = Frames::default();
        let p = element(&[("ratingKey", s("10"))]);
        let sources = parent_of(&p);
        assert!(
            frames
                .learn(&shape(), &observed(&[("art", "/a/1")]), &sources, "plex")
                .is_some()
        );
        let p2 = element(&[("ratingKey", s("20"))]);
        let sources = parent_of(&p2);
        // A different value no kept attribute holds: no reading is left.
        assert!(
            frames
                .learn(&shape(), &observed(&[("art", "/a/2")]), &sources, "plex")
                .is_none()
        );
        assert!(frames.refused(&shape()));
        assert!(frames.proven(&shape()).is_none());
    }

    #[test]
    fn a_frame_answers_only_after_proofs_on_different_parents() {
        let frames = Frames::default();
        let p = element(&[("ratingKey", s("10"))]);
        let sources = parent_of(&p);
        frames.learn(&shape(), &observed(&[("key", "10")]), &sources, "plex");
        frames.proof(&shape(), ("10", Rivals::NONE), true, "plex");
        frames.proof(&shape(), ("10", Rivals::NONE), true, "plex");
        assert!(frames.proven(&shape()).is_none(), "one parent twice");
        frames.proof(&shape(), ("20", Rivals::NONE), true, "plex");
        assert!(frames.proven(&shape()).is_some());
        // A later difference refuses it.
        frames.proof(&shape(), ("30", Rivals::NONE), false, "plex");
        assert!(frames.proven(&shape()).is_none());
        assert!(frames.refused(&shape()));
    }

    #[test]
    fn changed_headers_or_layout_refuse_the_shape() {
        let frames = Frames::default();
        let p = element(&[("ratingKey", s("10"))]);
        let sources = parent_of(&p);
        frames.learn(&shape(), &observed(&[("key", "10")]), &sources, "plex");
        let mut other = observed(&[("key", "10")]);
        other.headers.push(("etag".into(), "\"1\"".into()));
        assert!(frames.learn(&shape(), &other, &sources, "plex").is_none());
        let frames = Frames::default();
        frames.learn(&shape(), &observed(&[("key", "10")]), &sources, "plex");
        let reordered = observed(&[("key", "10"), ("title2", "x")]);
        assert!(
            frames
                .learn(&shape(), &reordered, &sources, "plex")
                .is_none()
        );
    }

    #[test]
    fn a_proven_frame_kept_on_disk_answers_as_it_did_and_an_unproven_one_is_not_kept() {
        let frames = Frames::default();
        let s1 = element(&[("ratingKey", s("10")), ("index", s("1"))]);
        let s2 = element(&[("ratingKey", s("20")), ("index", s("2"))]);
        let seen = |k: &str, i: &str| observed(&[("key", k), ("parentIndex", i), ("nocache", "1")]);
        frames.learn(&shape(), &seen("10", "1"), &parent_of(&s1), "plex");
        frames.proof(&shape(), ("10", Rivals::NONE), true, "plex");
        assert!(frames.saved().is_empty(), "one proof: not kept");
        frames.learn(&shape(), &seen("20", "2"), &parent_of(&s2), "plex");
        frames.proof(&shape(), ("20", Rivals::NONE), true, "plex");
        let text = serde_json::to_string(&frames.saved()).unwrap();

        let restarted = Frames::default();
        let saved: Vec<SavedFrame> = serde_json::from_str(&text).unwrap();
        assert_eq!(restarted.restore(&saved), 1);
        let frame = restarted.proven(&shape()).unwrap();
        let like = ShapeLike {
            route: "children",
            kind: None,
            order: "",
            json: false,
            guids: false,
            paged: false,
            options: String::new(),
        };
        assert!(restarted.proven_near("3", &like));
        let json = ShapeLike {
            json: true,
            ..like.clone()
        };
        assert!(!restarted.proven_near("3", &json), "another format");
        // A walk of another shape in the section (paged, here) is not near: answering it
        // from the first miss would cost the reads of its proof for no answer.
        let paged = ShapeLike {
            paged: true,
            ..like
        };
        assert!(!restarted.proven_near("3", &paged), "another shape");
        let s3 = element(&[("ratingKey", s("30")), ("index", s("3"))]);
        assert_eq!(
            frame.container(&parent_of(&s3), false).unwrap().to_xml(),
            frames
                .proven(&shape())
                .unwrap()
                .container(&parent_of(&s3), false)
                .unwrap()
                .to_xml()
        );
        // What was learnt since the restart is not overwritten by what is read back.
        assert_eq!(restarted.restore(&saved), 0);
    }

    /// A series walk's frame (its headers alone) proven before a restart is proven after it,
    /// for the options it was proven with only.
    #[test]
    fn a_series_walk_frame_kept_on_disk_is_proven_after_a_restart() {
        let frames = Frames::default();
        let seasons = Shape {
            route: "Shows/Seasons",
            json: true,
            ..shape()
        };
        let seen = Observed {
            attrs: Vec::new(),
            headers: vec![("content-type".into(), "application/json".into())],
        };
        for series in ["a", "b"] {
            frames.learn(&seasons, &seen, &Sources::default(), "jellyfin");
            frames.proof(
                &seasons,
                (&format!("{series}/"), Rivals::NONE),
                true,
                "jellyfin",
            );
        }
        let text = serde_json::to_string(&frames.saved()).unwrap();

        let restarted = Frames::default();
        let saved: Vec<SavedFrame> = serde_json::from_str(&text).unwrap();
        assert_eq!(restarted.restore(&saved), 1);
        let frame = restarted.proven(&seasons).unwrap();
        assert_eq!(frame.headers(), seen.headers.as_slice());
        let like = ShapeLike {
            route: "Shows/Seasons",
            kind: Some(ItemKind::Episode),
            order: "",
            json: true,
            guids: false,
            paged: false,
            options: String::new(),
        };
        assert!(restarted.proven_near("3", &like));
        let other = ShapeLike {
            options: "fields=Overview".into(),
            ..like
        };
        assert!(!restarted.proven_near("3", &other), "other options");
    }

    /// Proves `shape` on two parents.
    fn prove(frames: &Frames, shape: &Shape) {
        let p = element(&[("ratingKey", s("10"))]);
        frames.learn(shape, &observed(&[("key", "10")]), &parent_of(&p), "plex");
        for parent in ["10", "20"] {
            frames.proof(shape, (parent, Rivals::NONE), true, "plex");
        }
    }

    #[test]
    fn a_change_in_its_section_wants_one_more_proof_even_after_a_restart() {
        let frames = Frames::default();
        let by_key = Shape {
            order: "id",
            ..shape()
        };
        prove(&frames, &shape());
        prove(&frames, &by_key);
        frames.moved_in(&["4".to_owned()]);
        assert!(
            frames.proven(&shape()).is_some(),
            "another section's change"
        );
        frames.moved_in(&["3".to_owned()]);
        assert!(frames.proven(&shape()).is_none());
        assert!(
            frames.proven(&by_key).is_some(),
            "an order by rating key is one no change moves"
        );
        // Kept on disk as wanting its proof.
        let text = serde_json::to_string(&frames.saved()).unwrap();
        let restarted = Frames::default();
        let saved: Vec<SavedFrame> = serde_json::from_str(&text).unwrap();
        assert_eq!(restarted.restore(&saved), 2);
        assert!(restarted.proven(&shape()).is_none());
        // One proof, on a parent proven before or not, proves it again.
        restarted.proof(&shape(), ("10", Rivals::NONE), true, "plex");
        assert!(restarted.proven(&shape()).is_some());
    }

    #[test]
    fn a_users_walk_misses_are_counted_per_section() {
        let frames = Frames::default();
        let (a, b) = (UserHash(1), UserHash(2));
        assert_eq!(frames.note_walk(a, "1/10"), 0);
        assert_eq!(frames.note_walk(a, "1/10"), 1);
        assert_eq!(frames.note_walk(b, "1/10"), 0, "each user's own");
        assert_eq!(frames.note_walk(a, "2/10"), 0, "each section's own");
        assert_eq!(frames.walks(a, "1/10"), 2);
        assert_eq!(frames.walks(b, "3/10"), 0);
    }

    #[test]
    fn xml_and_json_containers_are_read_with_their_page_attributes_apart() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<MediaContainer size="2" totalSize="9" offset="0" key="7" title2="A &amp; B"><Track/></MediaContainer>"#;
        let answers = cachearr_dialect::of(cachearr_dialect::Profile::Plex)
            .answers()
            .unwrap();
        let paging = answers.facts().page_header_names;
        let o = Observed::of(xml, &[], false, paging).unwrap();
        assert_eq!(
            o.attrs,
            vec![("key".into(), s("7")), ("title2".into(), s("A & B"))]
        );
        let json = br#"{"MediaContainer":{"size":1,"key":"7","nocache":true,"Metadata":[{"ratingKey":"8"}]}}"#;
        let headers = vec![
            ("x-plex-container-start".to_string(), "0".to_string()),
            ("content-type".to_string(), "application/json".to_string()),
        ];
        let o = Observed::of(json, &headers, true, paging).unwrap();
        assert_eq!(
            o.attrs,
            vec![("key".into(), s("7")), ("nocache".into(), Scalar::B(true))]
        );
        assert_eq!(
            o.headers,
            vec![("content-type".into(), "application/json".into())]
        );
        assert!(Observed::of(b"<Other/>", &[], false, paging).is_none());
    }
}
