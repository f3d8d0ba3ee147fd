//! The write-behind queue: callers get their value before the disk and Redis writes happen.
//!
//! Puts go through a channel bounded twice, by count and by bytes (what the queued entries
//! weigh: an entry the memory tier has already evicted is held only by its queued write, so
//! a disk falling behind must not hold an unbounded amount of memory; one large answer that
//! does not fit is queued beside the bytes). A full queue drops the write and counts it (a
//! cache write is never worth blocking a client). Removals and prefix drops go to a small side
//! list that is never dropped. One worker task collects for `batch_interval`, then writes one
//! atomic batch to the disk tier (including the invalidation state whenever it changed) and
//! one pipeline to the shared Redis tier. Each operation says where it goes ([`Dest`]): a
//! record read from Redis is written to disk only, a clear received from another instance is
//! applied to disk only. It also starts the disk tier's sweep and eviction once a second, run
//! beside the writes. A failed disk write switches the disk tier off with a warning: memory
//! carries on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::codec;
use crate::entry::Entry;
use crate::key::Key;
use crate::locks::LockUnpoisoned;
use crate::stats::bump;
use crate::tally::Tally;
use crate::tier::WriteOp;

/// How often the worker sweeps expired records and enforces the byte limit.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(1);
/// Upper bound on records per batch.
const MAX_BATCH: usize = 4096;

/// Which tiers an operation goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dest {
    /// Disk and the shared tier.
    All,
    /// Disk only (the shared tier has it already, or the change came from it).
    DiskOnly,
}

impl Dest {
    fn shared(self) -> bool {
        self == Dest::All
    }
}

/// A queued put: the record, where it goes, and whether its weight counts in the queue's
/// bytes.
type Put = (Key, Arc<Entry>, Dest, Room);

/// A put not (yet) queued.
type Put3 = (Key, Arc<Entry>, Dest);

/// What became of a try to queue a put.
enum Tried {
    Queued,
    /// The worker is gone (shutdown): nothing more is written.
    Closed,
    /// The queue's bytes are full.
    NoRoom(Put3),
    /// The queue's count of records is full.
    Full(Put3),
}

/// How long a put that finds the queue's bytes full waits for room before it is dropped, by
/// default: a few batch cycles under load (a batch is taken every 50–80 ms, written in tens
/// of them; a slow one, in a few hundred).
pub(crate) const PUT_WAIT: Duration = Duration::from_millis(500);

/// Where a queued put's weight is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Room {
    /// In the queue's bytes, bounded by `max_bytes`.
    Counted,
    /// In the one place beside them for a large answer that did not fit
    /// ([`WriteBehind::large_aside`]).
    Aside,
}

/// The receiving ends, handed to the worker.
pub(crate) type Receivers = (mpsc::Receiver<Put>, mpsc::UnboundedReceiver<Control>);

pub(crate) enum Control {
    Flush(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

/// The producer side, held by the cache.
pub(crate) struct WriteBehind {
    puts: mpsc::Sender<Put>,
    controls: mpsc::UnboundedSender<Control>,
    /// Removals and prefix drops with the sequence number they were issued at, so the
    /// worker can order them against puts (which carry their entry's number).
    side_ops: Mutex<Vec<(u64, WriteOp, Dest)>>,
    /// Keys with a put or a removal queued and not yet written, and how many. The lower
    /// tiers' record of such a key is older than what was last stored (they are written only
    /// from this queue, in order), so reads below memory must not serve it: the queued entry
    /// may have been invalidated since, or evicted from memory, and the older record would
    /// come back.
    pending: Mutex<HashMap<Key, u32>>,
    wake: Notify,
    /// Told when the queued entries come to a quarter of `max_bytes`: the batching window
    /// ends there, leaving the rest of the queue for the time the batch takes to write.
    quarter_full: Notify,
    pub(crate) capacity: usize,
    /// What the queued entries weigh at most ([`Entry::weight`]); one entry is always taken
    /// when nothing is queued.
    max_bytes: u64,
    queued_bytes: AtomicU64,
    /// What the large answer queued beside `max_bytes` weighs (0: none is). A queue
    /// busy with a slow batch refused every large answer (several megabytes, a quarter of the
    /// queue or more) while the small ones still fitted; counting a large one that did not fit
    /// instead dropped every small put after it. One such put at a time is taken beside the
    /// count: the queue holds at most `max_bytes` and one entry.
    large_aside: AtomicU64,
    /// Told when a batch takes the queued puts (their room given back), for the puts waiting
    /// for room ([`WriteBehind::put_or_wait`]).
    room_freed: Notify,
    /// Set when a put waited [`PUT_WAIT`] for room in vain: the lower tiers are behind, and
    /// puts that find no room are dropped at once, not made to wait in turn, until a batch
    /// takes the queue below half its bytes.
    behind: AtomicBool,
    pub(crate) dropped: AtomicU64,
    /// Dropped writes not warned about yet (one warning at most every 10 s).
    pub(crate) dropped_tally: Tally,
    pub(crate) batches: AtomicU64,
}

impl WriteBehind {
    pub(crate) fn new(capacity: usize, max_bytes: u64) -> (Arc<Self>, Receivers) {
        let (puts, puts_rx) = mpsc::channel(capacity.max(1));
        let (controls, controls_rx) = mpsc::unbounded_channel();
        (
            Arc::new(Self {
                puts,
                controls,
                side_ops: Mutex::new(Vec::new()),
                pending: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                quarter_full: Notify::new(),
                capacity: capacity.max(1),
                max_bytes,
                queued_bytes: AtomicU64::new(0),
                large_aside: AtomicU64::new(0),
                room_freed: Notify::new(),
                behind: AtomicBool::new(false),
                dropped: AtomicU64::new(0),
                dropped_tally: Tally::default(),
                batches: AtomicU64::new(0),
            }),
            (puts_rx, controls_rx),
        )
    }

    /// Queues a put; returns false (and counts) if the queue is full. A dropped put still
    /// replaced the key's older record, which the lower tiers would otherwise serve once the
    /// entry leaves memory: its key's removal goes on the side list instead.
    pub(crate) fn put(&self, key: Key, entry: Arc<Entry>, dest: Dest) -> bool {
        match self.try_put(key, entry, dest) {
            Tried::Queued => true,
            Tried::Closed => false,
            Tried::NoRoom(put) | Tried::Full(put) => self.drop_put(put),
        }
    }

    /// Queues a put, waiting up to `wait` for room when the queue's bytes are full; returns
    /// false (and counts) if it is dropped. A soak's drops came with the writer keeping pace
    /// (a batch taken every 50–80 ms, written in tens of milliseconds) and the queue filled
    /// by a burst: a score of half-megabyte listings answered within 80 ms. Room comes back
    /// as the next batch is taken, so a fill that waits for it is late by a batch's cycle,
    /// where a dropped one is a server request later. A put that waited in vain says the
    /// lower tiers are behind, not bursting: until a batch takes the queue below half its
    /// bytes, puts that find no room are dropped at once, so a stuck disk does not make
    /// every fill wait. While it waits the put is pending (reads below memory skip its key,
    /// whose older record it replaces). A queue full by its count of records (10,000 by
    /// default, far above what its bytes hold of answers) drops at once, as before.
    pub(crate) async fn put_or_wait(
        &self,
        key: Key,
        entry: Arc<Entry>,
        dest: Dest,
        wait: Duration,
    ) -> bool {
        let put = match self.try_put(key, entry, dest) {
            Tried::Queued => return true,
            Tried::Closed => return false,
            Tried::Full(put) => return self.drop_put(put),
            Tried::NoRoom(put) if wait.is_zero() || self.behind.load(Ordering::Acquire) => {
                return self.drop_put(put);
            }
            Tried::NoRoom(put) => put,
        };
        let waiting = put.0.clone();
        self.note_pending(&waiting);
        let tried = self.wait_for_room(put, wait).await;
        self.settle(std::slice::from_ref(&waiting));
        match tried {
            Tried::Queued => true,
            Tried::Closed => false,
            Tried::Full(put) => self.drop_put(put),
            Tried::NoRoom(put) => {
                self.behind.store(true, Ordering::Release);
                self.drop_put(put)
            }
        }
    }

    /// Tries the put again each time a batch frees room, until `wait` has passed.
    async fn wait_for_room(&self, mut put: Put3, wait: Duration) -> Tried {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Listening before trying again: room freed in between still wakes this wait.
            let freed = self.room_freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            put = match self.try_put(put.0, put.1, put.2) {
                Tried::NoRoom(put) => put,
                done => return done,
            };
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return Tried::NoRoom(put);
            }
        }
    }

    /// Queues a put when there is room for it.
    fn try_put(&self, key: Key, entry: Arc<Entry>, dest: Dest) -> Tried {
        let weight = entry.weight(key.as_str().len());
        let Some(room) = self.take_room(weight) else {
            return Tried::NoRoom((key, entry, dest));
        };
        // Pending before it is sent: the worker may write it (and settle it) at once.
        self.note_pending(&key);
        match self.puts.try_send((key, entry, dest, room)) {
            Ok(()) => Tried::Queued,
            Err(mpsc::error::TrySendError::Full((key, entry, dest, room))) => {
                self.settle(std::slice::from_ref(&key));
                self.give_room(weight, room);
                Tried::Full((key, entry, dest))
            }
            Err(mpsc::error::TrySendError::Closed((key, _, _, room))) => {
                self.settle(std::slice::from_ref(&key));
                self.give_room(weight, room);
                Tried::Closed
            }
        }
    }

    fn drop_put(&self, (key, entry, dest): Put3) -> bool {
        self.dropped_put(key, &entry, dest);
        false
    }

    /// Called once a batch has taken its puts: wakes the puts waiting for room, and ends
    /// the "behind" state once the queue is below half its bytes.
    fn room_given_back(&self) {
        if self.queued_bytes.load(Ordering::Acquire) < self.max_bytes / 2 {
            self.behind.store(false, Ordering::Release);
        }
        self.room_freed.notify_waiters();
    }

    /// Room for a put weighing `weight`: in the queue's bytes when it fits (one entry is
    /// always taken when nothing is queued), else, for a large answer, the place beside them
    /// when free; `None`: the put is dropped.
    fn take_room(&self, weight: u64) -> Option<Room> {
        let before = self.queued_bytes.fetch_add(weight, Ordering::AcqRel);
        if before == 0 || before + weight <= self.max_bytes {
            let quarter = self.max_bytes / 4;
            if before < quarter && before + weight >= quarter {
                self.quarter_full.notify_one();
            }
            return Some(Room::Counted);
        }
        self.queued_bytes.fetch_sub(weight, Ordering::AcqRel);
        let large = weight >= self.max_bytes / 4;
        let aside = large
            && self
                .large_aside
                .compare_exchange(0, weight, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
        if aside {
            // Written with the next batch, as a full queue's quarter would be.
            self.quarter_full.notify_one();
        }
        aside.then_some(Room::Aside)
    }

    /// Gives back the room a put taken off the queue (or not sent) held.
    fn give_room(&self, weight: u64, room: Room) {
        match room {
            Room::Counted => {
                self.queued_bytes.fetch_sub(weight, Ordering::AcqRel);
            }
            Room::Aside => self.large_aside.store(0, Ordering::Release),
        }
    }

    /// Counts a put the queue could not take and queues its key's removal in its place.
    fn dropped_put(&self, key: Key, entry: &Entry, dest: Dest) {
        bump(&self.dropped);
        bump(&entry.class.dropped_writes);
        self.side_op(entry.seq, WriteOp::Remove { key }, dest);
    }

    fn note_pending(&self, key: &Key) {
        *self
            .pending
            .lock_unpoisoned()
            .entry(key.clone())
            .or_insert(0) += 1;
    }

    /// Marks one queued put or removal of each of `keys` as written (or given up).
    fn settle(&self, keys: &[Key]) {
        if keys.is_empty() {
            return;
        }
        let mut pending = self.pending.lock_unpoisoned();
        for key in keys {
            if let Some(n) = pending.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    pending.remove(key);
                }
            }
        }
    }

    /// Whether a put or removal of `key` is queued and not yet written: what the lower tiers
    /// hold for it is then older than what was last stored.
    pub(crate) fn is_pending(&self, key: &Key) -> bool {
        self.pending.lock_unpoisoned().contains_key(key)
    }

    /// What the queued entries weigh now, the large answer beside the bound included.
    pub(crate) fn queued_bytes(&self) -> u64 {
        self.queued_bytes.load(Ordering::Acquire) + self.large_aside.load(Ordering::Acquire)
    }

    pub(crate) fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Queues an operation that must not be dropped (removal, prefix drop), issued at
    /// sequence number `seq`. A removal is pending until written, as a put is: until then
    /// the lower tiers still hold the record it removes.
    pub(crate) fn side_op(&self, seq: u64, op: WriteOp, dest: Dest) {
        if let WriteOp::Remove { key } = &op {
            self.note_pending(key);
        }
        self.side_ops.lock_unpoisoned().push((seq, op, dest));
        self.wake.notify_one();
    }

    /// Wakes the worker so it persists a changed invalidation state soon.
    pub(crate) fn poke(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn queued(&self) -> u64 {
        (self.capacity - self.puts.capacity()) as u64
    }

    /// Waits until everything queued before this call is written.
    pub(crate) async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.controls.send(Control::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Flushes and stops the worker.
    pub(crate) async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.controls.send(Control::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    fn take_side_ops(&self) -> Vec<(u64, WriteOp, Dest)> {
        std::mem::take(&mut *self.side_ops.lock_unpoisoned())
    }
}

/// What the worker needs from the cache; a trait so the worker holds only a weak reference.
pub(crate) trait WriteTarget: Send + Sync + 'static {
    fn write_behind(&self) -> Option<&Arc<WriteBehind>>;
    /// Whether `entry` is still worth writing (not dropped or invalidated since).
    fn still_valid(&self, key: &Key, entry: &Entry) -> bool;
    /// The writes that persist the invalidation state if it changed since `since`, with its
    /// version.
    fn invalidation_if_changed(&self, since: u64) -> Option<(u64, Vec<WriteOp>)>;
    /// Writes a batch to the disk tier (switching it off on failure) and a batch to the
    /// shared tier (whose failures only feed its breaker).
    fn write_batch(
        &self,
        disk: Vec<WriteOp>,
        shared: Vec<WriteOp>,
    ) -> futures_util::future::BoxFuture<'_, ()>;
    /// Sweeps and evicts on the disk tier.
    fn maintain(&self) -> futures_util::future::BoxFuture<'_, ()>;
}

/// The worker loop.
///
/// Under sustained load it writes back to back: the batching window (`batch_interval`) is
/// waited only when nothing was waiting already, and ends early once the queue holds a quarter
/// of its bytes, since waiting with a backlog only fills the queue. Records are encoded (and compressed: most of the write path's time, measured with
/// `perf` on the `writes` benchmark) on the blocking pool, a batch split over the cores,
/// rather than on one of the runtime's threads, which serve requests; and a batch is encoded
/// while the one before it is being written (one write at a time, in order). The disk tier's
/// maintenance (sweep, eviction, a compaction now and then) runs beside the writes, once a
/// second, never in their way.
pub(crate) async fn run_worker<T: WriteTarget>(
    target: Weak<T>,
    batch_interval: Duration,
    mut puts: mpsc::Receiver<Put>,
    mut controls: mpsc::UnboundedReceiver<Control>,
) {
    let mut persisted_version = 0u64;
    let mut last_maintenance = tokio::time::Instant::now();
    let mut maintenance: Option<tokio::task::JoinHandle<()>> = None;
    // The batch being written while the next is encoded (only when no flush waits for it).
    let mut writing: Option<tokio::task::JoinHandle<()>> = None;
    let mut buf: Vec<Put> = Vec::new();
    loop {
        let Some(wb) = target.upgrade().and_then(|t| t.write_behind().cloned()) else {
            return;
        };
        let (acks, stop) =
            wait_for_work(&wb, &mut puts, &mut controls, &mut buf, batch_interval).await;
        drop(wb);
        drain_queued(&mut puts, &mut buf, !acks.is_empty());
        let Some(t) = target.upgrade() else {
            return;
        };
        let taken = buf.len();
        let encoding = started_now();
        let (ops, shared, written_keys) = batch_ops(&*t, &mut buf, &mut persisted_version).await;
        let encoded_ms = encoding.elapsed().as_millis() as u64;
        // One write at a time, in order: the one before this batch ends first.
        if let Some(previous) = writing.take() {
            let _ = previous.await;
        }
        let waited_ms = encoding.elapsed().as_millis() as u64 - encoded_ms;
        // Every key taken became a put or a removal in `ops`, so `written_keys` is settled
        // whenever it holds any.
        if !ops.is_empty() || !shared.is_empty() {
            let n = ops.len();
            let writer = t.clone();
            let write = tokio::spawn(async move {
                let writing = started_now();
                writer.write_batch(ops, shared).await;
                if let Some(wb) = writer.write_behind() {
                    // Written, or the disk tier switched itself off: either way the lower
                    // tiers now hold what they will hold for these keys.
                    wb.settle(&written_keys);
                    bump(&wb.batches);
                    tracing::trace!(
                        ops = n,
                        taken,
                        encoded_ms,
                        waited_ms,
                        written_ms = writing.elapsed().as_millis() as u64,
                        queued_bytes = wb.queued_bytes(),
                        "write-behind batch written"
                    );
                }
            });
            if acks.is_empty() {
                writing = Some(write);
            } else {
                // Someone waits for this batch (a flush, a removal): no later batch may be
                // needed to finish it.
                let _ = write.await;
            }
        }
        if stop {
            if let Some(last) = writing.take() {
                let _ = last.await;
            }
            // The last pass, after the last batch (and after any pass still running).
            if let Some(running) = maintenance.take() {
                let _ = running.await;
            }
            t.maintain().await;
        } else if last_maintenance.elapsed() >= MAINTENANCE_EVERY
            && maintenance
                .as_ref()
                .is_none_or(tokio::task::JoinHandle::is_finished)
        {
            let pass = t.clone();
            maintenance = Some(tokio::spawn(async move { pass.maintain().await }));
            last_maintenance = tokio::time::Instant::now();
        }
        drop(t);
        for ack in acks {
            let _ = ack.send(());
        }
        if stop {
            return;
        }
    }
}

/// Waits until there is something to do: puts (collecting more for the batching window when
/// nothing was waiting already), a flush or shutdown, a wake-up, or maintenance time. The
/// flushes to acknowledge once the batch is written, and whether the worker stops after it.
async fn wait_for_work(
    wb: &WriteBehind,
    puts: &mut mpsc::Receiver<Put>,
    controls: &mut mpsc::UnboundedReceiver<Control>,
    buf: &mut Vec<Put>,
    batch_interval: Duration,
) -> (Vec<oneshot::Sender<()>>, bool) {
    let mut acks: Vec<oneshot::Sender<()>> = Vec::new();
    let mut stop = false;
    let backlog = !puts.is_empty();
    tokio::select! {
        biased;
        ctl = controls.recv() => match ctl {
            Some(Control::Flush(ack)) => acks.push(ack),
            Some(Control::Shutdown(ack)) => { acks.push(ack); stop = true; }
            None => stop = true,
        },
        n = puts.recv_many(buf, MAX_BATCH) => {
            if n == 0 {
                stop = true;
            } else if !backlog {
                // Collect more for the batching window, unless the queue comes to a
                // quarter of its bytes first (a fixed window under a heavy inflow spent
                // half the queue waiting) or someone asks to flush.
                let quarter_full = wb.quarter_full.notified();
                tokio::select! {
                    () = tokio::time::sleep(batch_interval) => {}
                    () = quarter_full => {}
                    ctl = controls.recv() => match ctl {
                        Some(Control::Flush(ack)) => acks.push(ack),
                        Some(Control::Shutdown(ack)) => { acks.push(ack); stop = true; }
                        None => stop = true,
                    },
                }
            }
        }
        () = wb.wake.notified() => {}
        () = tokio::time::sleep(MAINTENANCE_EVERY) => {}
    }
    (acks, stop)
}

/// Drains everything queued so far into `buf`: a flush covers every put made before it.
/// One batch is bounded, unless a flush or shutdown (`flushing`) needs everything written now.
fn drain_queued(puts: &mut mpsc::Receiver<Put>, buf: &mut Vec<Put>, flushing: bool) {
    loop {
        let before = buf.len();
        if puts.recv_many(buf, MAX_BATCH).now_or_never().is_none() || buf.len() == before {
            break;
        }
        if !flushing && buf.len() >= MAX_BATCH * 4 {
            break;
        }
    }
}

/// The writes of one batch, in the order they were issued: the side operations, the puts in
/// `buf` (encoded, or removals for those invalidated while queued), and the invalidation
/// state when it changed since `persisted_version`. Also those to share with Redis, and the
/// keys of the puts and removals taken (to settle once written).
async fn batch_ops<T: WriteTarget>(
    t: &T,
    buf: &mut Vec<Put>,
    persisted_version: &mut u64,
) -> (Vec<WriteOp>, Vec<WriteOp>, Vec<Key>) {
    let mut sequenced: Vec<(u64, WriteOp, Dest)> = t
        .write_behind()
        .map(|wb| wb.take_side_ops())
        .unwrap_or_default();
    let mut to_encode: Vec<(Key, Arc<Entry>, Dest)> = Vec::with_capacity(buf.len());
    // Removals on the side list were noted pending by `side_op`, like puts.
    let mut written_keys: Vec<Key> = sequenced
        .iter()
        .filter_map(|(_, op, _)| match op {
            WriteOp::Remove { key } => Some(key.clone()),
            _ => None,
        })
        .collect();
    // The room a put held is given back as its batch is taken, before the batch is encoded:
    // from here the batch is bounded by its count (`MAX_BATCH`), as the one being written is.
    let wb = t.write_behind();
    for (key, entry, dest, room) in buf.drain(..) {
        if let Some(wb) = wb {
            wb.give_room(entry.weight(key.as_str().len()), room);
        }
        written_keys.push(key.clone());
        if t.still_valid(&key, &entry) {
            to_encode.push((key, entry, dest));
        } else {
            // Invalidated while queued. It still replaced whatever the key held before,
            // so the disk must not keep that older record either.
            sequenced.push((entry.seq, WriteOp::Remove { key }, dest));
        }
    }
    if let Some(wb) = wb {
        wb.room_given_back();
    }
    sequenced.extend(encode(to_encode).await);
    // Puts and removals travel on different queues; apply them in the order they were
    // issued, or a removal could overtake the put it was meant to undo (or the reverse).
    sequenced.sort_by_key(|(seq, _, _)| *seq);
    let mut shared = Vec::new();
    let mut ops: Vec<WriteOp> = Vec::with_capacity(sequenced.len());
    for (_, op, dest) in sequenced {
        if dest.shared() {
            shared.push(op.clone());
        }
        ops.push(op);
    }
    if let Some((version, writes)) = t.invalidation_if_changed(*persisted_version) {
        *persisted_version = version;
        ops.extend(writes);
    }
    (ops, shared, written_keys)
}

use futures_util::FutureExt;

/// The real time a step starts at, for the log's timings of each batch.
#[allow(
    clippy::disallowed_methods,
    reason = "spans measured for the log, not behaviour"
)]
fn started_now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Encodes the records of a batch on the blocking pool, split in as many parts as there are
/// cores (at most four), in the order given.
async fn encode(puts: Vec<(Key, Arc<Entry>, Dest)>) -> Vec<(u64, WriteOp, Dest)> {
    let parts = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 4);
    let per_part = puts.len().div_ceil(parts).max(1);
    let mut puts = puts.into_iter();
    let mut running = Vec::with_capacity(parts);
    loop {
        let part: Vec<_> = puts.by_ref().take(per_part).collect();
        if part.is_empty() {
            break;
        }
        running.push(tokio::task::spawn_blocking(move || {
            part.into_iter()
                .map(|(key, entry, dest)| {
                    let op = WriteOp::Put {
                        record: codec::encode(&entry),
                        expires_at_ms: entry.expires_at_ms(),
                        key,
                    };
                    (entry.seq, op, dest)
                })
                .collect::<Vec<_>>()
        }));
    }
    let mut out = Vec::new();
    for part in running {
        // Encoding cannot panic on data the engine made; if it did, that part is lost like
        // dropped writes (its entries stay in memory).
        out.extend(part.await.unwrap_or_default());
    }
    out
}

/// Counts a put as written (used by the target).
pub(crate) fn count(c: &AtomicU64, n: usize) {
    c.fetch_add(n as u64, Ordering::Relaxed);
}
