//! Leases: one holder among the instances sharing a Redis for a piece of background work
//! (the gateway's crawl, notification socket, probes and samples of one upstream), with a
//! fencing token, and the records the holder publishes for the others, sealed like every
//! record and written only while the lease is still the writer's.
//!
//! ```text
//! {ns}:lease:{name}     "{fence} {holder}"   SET NX PX ttl, fence from INCR {ns}:fence:{name}
//! {ns}:pub:{name}       sealed manifest       "{generation} {chunks} {fence}"
//! {ns}:pub:{name}:{g}:{i}  sealed chunk i of generation g
//! ```
//!
//! Every key of one name carries the namespace's hash tag, so a Redis Cluster keeps them in
//! one slot and the scripts may touch them together. A lease is taken only when no one holds
//! it, renewed only by the holder whose value it still is (a script compares), and released
//! likewise: a holder cut off long enough to lose its lease can neither renew nor overwrite
//! what the next holder wrote. Time is Redis's (`PX`) for the lease and the holder's own
//! clock for when to stop: nothing here compares two machines' clocks.

use std::time::Duration;

use bytes::Bytes;

use super::RedisTier;

/// Takes the lease if free: a new fence from the counter, the value `"{fence} {holder}"`.
/// KEYS: lease, fence counter. ARGV: holder, ttl ms. Returns `{1, value}` when taken,
/// `{0, value}` with the current holder's value otherwise.
const ACQUIRE: &str = "local v = redis.call('GET', KEYS[1]) \
  if v then return {0, v} end \
  local f = redis.call('INCR', KEYS[2]) \
  local nv = f .. ' ' .. ARGV[1] \
  redis.call('SET', KEYS[1], nv, 'PX', ARGV[2]) \
  return {1, nv}";

/// Extends the lease if it is still `value`. KEYS: lease. ARGV: value, ttl ms.
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end return 0";

/// Deletes the lease if it is still `value`. KEYS: lease. ARGV: value.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
  redis.call('DEL', KEYS[1]) return 1 end return 0";

/// Sets a published record if the lease is still `value`. KEYS: lease, record. ARGV: value,
/// sealed record, ttl ms.
const FENCED_SET: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) return 1 end return 0";

/// The most one chunk of a published record holds: far below Redis's 512 MB value limit, and
/// small enough that one `SET` stays within a command timeout on a loaded link.
const CHUNK: usize = 4 << 20;

/// How long published records live without being written again: a group whose holder is gone
/// for a week starts from a crawl again.
const PUBLISHED_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// A lease as Redis holds it: its fence and its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseValue {
    /// The fencing token: every new holder's is higher than any before it.
    pub fence: u64,
    /// The holder's id.
    pub holder: String,
}

impl LeaseValue {
    /// How Redis stores it.
    pub fn encoded(&self) -> String {
        format!("{} {}", self.fence, self.holder)
    }

    fn parse(text: &str) -> Option<LeaseValue> {
        let (fence, holder) = text.split_once(' ')?;
        Some(LeaseValue {
            fence: fence.parse().ok()?,
            holder: holder.to_owned(),
        })
    }
}

/// What asking for a lease found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseAnswer {
    /// The lease is the asker's now (taken, or still held and renewed).
    Held(LeaseValue),
    /// Another holder has it.
    Other(LeaseValue),
    /// Redis did not answer: nothing is known.
    NoAnswer,
}

/// A published record read back: which generation, written under which fence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The writer's generation number (it changes with every publication).
    pub generation: u64,
    /// The fence the writer held when it published.
    pub fence: u64,
    /// The record.
    pub bytes: Bytes,
}

impl RedisTier {
    /// This instance's id among those sharing the Redis (random at each start).
    pub fn instance_id(&self) -> &str {
        &self.s.origin
    }

    fn lease_key(&self, name: &str) -> String {
        self.meta(&format!("lease:{name}"))
    }

    fn published_key(&self, name: &str) -> String {
        self.meta(&format!("pub:{name}"))
    }

    /// Takes lease `name` for `holder` for `ttl` if no one holds it; otherwise says who does.
    pub async fn lease_acquire(&self, name: &str, holder: &str, ttl: Duration) -> LeaseAnswer {
        let answer: Option<(i64, String)> = self
            .query(
                "lease",
                redis::cmd("EVAL")
                    .arg(ACQUIRE)
                    .arg(2)
                    .arg(self.lease_key(name))
                    .arg(self.meta(&format!("fence:{name}")))
                    .arg(holder)
                    .arg(millis(ttl)),
            )
            .await;
        match answer {
            Some((taken, value)) => match LeaseValue::parse(&value) {
                Some(v) if taken == 1 || v.holder == holder => LeaseAnswer::Held(v),
                Some(v) => LeaseAnswer::Other(v),
                None => LeaseAnswer::NoAnswer,
            },
            None => LeaseAnswer::NoAnswer,
        }
    }

    /// Extends `lease` by `ttl` if it is still held with that value: `Some(false)` when it is
    /// not (expired, taken by another), `None` when Redis did not answer.
    pub async fn lease_renew(&self, name: &str, lease: &LeaseValue, ttl: Duration) -> Option<bool> {
        let renewed: Option<i64> = self
            .query(
                "lease",
                redis::cmd("EVAL")
                    .arg(RENEW)
                    .arg(1)
                    .arg(self.lease_key(name))
                    .arg(lease.encoded())
                    .arg(millis(ttl)),
            )
            .await;
        renewed.map(|r| r == 1)
    }

    /// Gives `lease` up if it is still held with that value (a gateway stopping), so that
    /// another takes over at once rather than when it expires.
    pub async fn lease_release(&self, name: &str, lease: &LeaseValue) {
        let _: Option<i64> = self
            .query(
                "lease",
                redis::cmd("EVAL")
                    .arg(RELEASE)
                    .arg(1)
                    .arg(self.lease_key(name))
                    .arg(lease.encoded()),
            )
            .await;
    }

    /// Who holds lease `name`: `Some(None)` when no one, `None` when Redis did not answer.
    pub async fn lease_holder(&self, name: &str) -> Option<Option<LeaseValue>> {
        let value: Option<Option<String>> = self
            .query("lease", redis::cmd("GET").arg(self.lease_key(name)))
            .await;
        value.map(|v| v.as_deref().and_then(LeaseValue::parse))
    }

    /// Publishes `bytes` as record `name` of lease `lease_name`, generation `generation`: the
    /// chunks first, then the manifest naming them, which is written only while `lease` is
    /// still the lease's value (a holder that lost it publishes nothing). Returns whether the
    /// manifest was written.
    pub async fn publish(
        &self,
        lease_name: &str,
        lease: &LeaseValue,
        name: &str,
        generation: u64,
        bytes: &[u8],
    ) -> bool {
        let ttl = millis(PUBLISHED_TTL);
        let base = self.published_key(name);
        // The generation this one replaces: its chunks are deleted once the manifest no
        // longer names them (a reader still on them fails a chunk and reads again).
        let previous = self.manifest(name).await.flatten();
        let chunks: Vec<&[u8]> = if bytes.is_empty() {
            vec![bytes]
        } else {
            bytes.chunks(CHUNK).collect()
        };
        for (i, chunk) in chunks.iter().enumerate() {
            let key = format!("{base}:{generation}:{i}");
            let sealed = self.s.seal.seal(&key, 0, chunk);
            let written: Option<()> = self
                .query(
                    "publish",
                    redis::cmd("SET").arg(&key).arg(sealed).arg("PX").arg(ttl),
                )
                .await;
            if written.is_none() {
                return false;
            }
        }
        let manifest = format!("{generation} {} {}", chunks.len(), lease.fence);
        let sealed = self.s.seal.seal(&base, 0, manifest.as_bytes());
        let set: Option<i64> = self
            .query(
                "publish",
                redis::cmd("EVAL")
                    .arg(FENCED_SET)
                    .arg(2)
                    .arg(self.lease_key(lease_name))
                    .arg(&base)
                    .arg(lease.encoded())
                    .arg(sealed)
                    .arg(ttl),
            )
            .await;
        if set != Some(1) {
            return false;
        }
        if let Some((old, old_chunks, _)) = previous
            && old != generation
        {
            let mut del = redis::cmd("DEL");
            for i in 0..old_chunks {
                del.arg(format!("{base}:{old}:{i}"));
            }
            let _: Option<i64> = self.query("publish", &del).await;
        }
        true
    }

    /// The generation and fence of published record `name`, without its chunks: what a
    /// follower polls to learn that a new one is out. `Some(None)` when there is none (or
    /// it does not check out), `None` when Redis did not answer.
    pub async fn published_version(&self, name: &str) -> Option<Option<(u64, u64)>> {
        self.manifest(name)
            .await
            .map(|m| m.map(|(generation, _, fence)| (generation, fence)))
    }

    async fn manifest(&self, name: &str) -> Option<Option<(u64, usize, u64)>> {
        let base = self.published_key(name);
        let raw: Option<Option<Vec<u8>>> =
            self.query("publish", redis::cmd("GET").arg(&base)).await;
        let Some(raw) = raw? else {
            return Some(None);
        };
        let Some((_, text)) = self.s.seal.open(&base, raw) else {
            self.s
                .c
                .rejected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Some(None);
        };
        let text = std::str::from_utf8(&text).ok().map(str::to_owned);
        let parsed = text.as_deref().and_then(|t| {
            let mut parts = t.split(' ');
            let generation = parts.next()?.parse().ok()?;
            let chunks = parts.next()?.parse().ok()?;
            let fence = parts.next()?.parse().ok()?;
            Some((generation, chunks, fence))
        });
        Some(parsed)
    }

    /// Published record `name`, whole: `None` when there is none, Redis did not answer, or a
    /// chunk is missing or does not check out (each chunk's seal is bound to its key, so
    /// chunks of two generations never mix).
    pub async fn read_published(&self, name: &str) -> Option<Published> {
        let (generation, chunks, fence) = self.manifest(name).await??;
        let base = self.published_key(name);
        let mut bytes = Vec::new();
        for i in 0..chunks {
            let key = format!("{base}:{generation}:{i}");
            let raw: Option<Vec<u8>> = self.query("publish", redis::cmd("GET").arg(&key)).await?;
            let Some((_, chunk)) = self.s.seal.open(&key, raw?) else {
                self.s
                    .c
                    .rejected
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return None;
            };
            bytes.extend_from_slice(&chunk);
        }
        Some(Published {
            generation,
            fence,
            bytes: Bytes::from(bytes),
        })
    }

    /// Sets small record `name` (a heartbeat) while `lease` is still lease `lease_name`'s
    /// value, living `ttl`; whether it was written.
    pub async fn publish_small(
        &self,
        lease_name: &str,
        lease: &LeaseValue,
        name: &str,
        bytes: &[u8],
        ttl: Duration,
    ) -> bool {
        let key = self.published_key(name);
        let sealed = self.s.seal.seal(&key, 0, bytes);
        let set: Option<i64> = self
            .query(
                "publish",
                redis::cmd("EVAL")
                    .arg(FENCED_SET)
                    .arg(2)
                    .arg(self.lease_key(lease_name))
                    .arg(&key)
                    .arg(lease.encoded())
                    .arg(sealed)
                    .arg(millis(ttl)),
            )
            .await;
        set == Some(1)
    }

    /// Small record `name` as [`Self::publish_small`] wrote it: `Some(None)` when there is
    /// none (or it does not check out), `None` when Redis did not answer.
    pub async fn read_small(&self, name: &str) -> Option<Option<Bytes>> {
        let key = self.published_key(name);
        let raw: Option<Option<Vec<u8>>> = self.query("publish", redis::cmd("GET").arg(&key)).await;
        let Some(raw) = raw? else {
            return Some(None);
        };
        Some(self.s.seal.open(&key, raw).map(|(_, bytes)| bytes))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}
