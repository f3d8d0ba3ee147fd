//! Records in Redis: the engine's encoded records behind their tag and the writer's clear
//! number (`seal`), under `{ns}:s:{epoch}:{key}` with `PX`; reads, write-behind batches (one
//! pipeline, or one command per key on a cluster) and prefix deletes (`SCAN` + `DEL` on every
//! master).

use std::sync::atomic::Ordering;

use bytes::Bytes;
use redis::{Cmd, Value};

use super::RedisTier;
use super::connection::Conn;
use crate::key::Key;
use crate::locks::LockUnpoisoned;
use crate::tally::WARN_EVERY_MS;
use crate::tier::WriteOp;

impl RedisTier {
    /// Reads the record under `key`; `None` on a miss, when Redis does not answer, when the
    /// record fails authentication, or when it was written before a clear its writer had not
    /// heard of.
    pub(crate) async fn get_record(&self, key: &Key) -> Option<Bytes> {
        if !self.allowed() {
            return None;
        }
        let c = &self.s.c;
        match self.read_record(key).await {
            Some(v) => {
                c.hits.fetch_add(1, Ordering::Relaxed);
                Some(v)
            }
            None => {
                c.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// `GET` and [`Self::unwrap_record`], with one reading of the epoch for both (the key a
    /// record is read under is the key its tag is checked against).
    pub(super) async fn read_record(&self, key: &Key) -> Option<Bytes> {
        let redis_key = self.record_key(key.as_str());
        let found: Option<Vec<u8>> = self
            .query("get", redis::cmd("GET").arg(&redis_key))
            .await
            .flatten();
        self.unwrap_record(&redis_key, key, found?)
    }

    /// Checks the record's tag against `redis_key` and strips tag and clear number; `None`
    /// if the tag does not check out (counted and warned about) or if a clear the writer did
    /// not know of covers the key.
    pub(super) fn unwrap_record(&self, redis_key: &str, key: &Key, raw: Vec<u8>) -> Option<Bytes> {
        let Some((written_after, record)) = self.s.seal.open(redis_key, raw) else {
            self.note_rejected(key);
            return None;
        };
        if written_after < self.s.clears_seen.load(Ordering::Acquire) {
            let clears = self.s.recent_clears.lock_unpoisoned();
            if clears.iter().any(|(seq, prefix)| {
                *seq > written_after && key.as_str().starts_with(prefix.as_str())
            }) {
                return None;
            }
        }
        Some(record)
    }

    /// Counts a record that failed authentication; warns at most every 10 s with the count.
    /// Keys hold no token (a user is its keyed hash), but the warning names none anyway: one
    /// forged record or a thousand, the remedy is the same.
    fn note_rejected(&self, key: &Key) {
        self.s.c.rejected.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(key = %key, "redis record failed authentication; read as a miss");
        if let Some(n) = self
            .s
            .rejected_tally
            .note(self.s.clock.now_ms(), 1, WARN_EVERY_MS)
        {
            tracing::warn!(
                records = n,
                "redis records failed authentication (copied under another key, written by an \
                 instance with another secret, or altered); read as misses. Restrict who may \
                 write to Redis (ACLs, TLS; docs/redis.md)"
            );
        }
    }

    /// The `SET` of `record` under `key` with `PX`, sealed for the key it is written under.
    pub(super) fn set_cmd(&self, key: &str, record: &[u8], px: u64) -> Cmd {
        let redis_key = self.record_key(key);
        let value = self.s.seal.seal(
            &redis_key,
            self.s.clears_seen.load(Ordering::Acquire),
            record,
        );
        let mut cmd = redis::cmd("SET");
        cmd.arg(redis_key).arg(value).arg("PX").arg(px);
        cmd
    }

    /// Writes a batch from the write-behind worker. Failures only feed the breaker.
    pub(crate) async fn write_ops(&self, ops: Vec<WriteOp>) {
        if !self.allowed() {
            return;
        }
        let now = self.s.clock.now_ms();
        let mut cmds = Vec::with_capacity(ops.len());
        let mut puts = 0u64;
        for op in ops {
            match op {
                WriteOp::Put {
                    key,
                    record,
                    expires_at_ms,
                } => {
                    let px = expires_at_ms.saturating_sub(now);
                    if px > 0 {
                        cmds.push(self.set_cmd(key.as_str(), &record, px));
                        puts += 1;
                    }
                }
                WriteOp::Remove { key } => {
                    let mut cmd = redis::cmd("DEL");
                    cmd.arg(self.record_key(key.as_str()));
                    cmds.push(cmd);
                }
                // Clears reach Redis through `share_clear` (before they are announced);
                // invalidation state and sequence numbers are per instance.
                WriteOp::RemovePrefix { .. }
                | WriteOp::SetInvalidationState { .. }
                | WriteOp::SetTagGenerations { .. }
                | WriteOp::SetNextSeq { .. } => {}
            }
        }
        if cmds.is_empty() {
            return;
        }
        let ok = match &self.s.conn {
            Conn::Single(_) | Conn::Sentinel(_) => {
                let mut pipe = redis::pipe();
                for cmd in cmds {
                    pipe.add_command(cmd).ignore();
                }
                let mut conn = self.s.conn.clone();
                self.bounded("write", pipe.query_async::<()>(&mut conn))
                    .await
                    .is_some()
            }
            Conn::Cluster(_) => {
                // Keys of one batch live in different slots: one command each, concurrently
                // on the multiplexed cluster connection.
                let all = futures_util::future::join_all(
                    cmds.iter().map(|cmd| self.query::<Value>("write", cmd)),
                )
                .await;
                all.iter().all(Option::is_some)
            }
        };
        if ok {
            self.s.c.writes.fetch_add(puts, Ordering::Relaxed);
        }
    }

    /// `SCAN` + `DEL` of the records under `prefix` (on every master of a cluster).
    pub(super) async fn remove_prefix(&self, prefix: &str) -> bool {
        let pattern = format!(
            "{}:s:{}:{}*",
            escape_glob(&self.s.ns),
            self.s.epoch.load(Ordering::Acquire),
            escape_glob(prefix)
        );
        match &self.s.conn {
            Conn::Single(_) | Conn::Sentinel(_) => self.scan_delete(&pattern, None).await,
            Conn::Cluster(_) => {
                let Some(nodes) = self.masters().await else {
                    return false;
                };
                for node in nodes {
                    if !self.scan_delete(&pattern, Some(node)).await {
                        return false;
                    }
                }
                true
            }
        }
    }

    /// The masters of a cluster, from `CLUSTER NODES`.
    async fn masters(&self) -> Option<Vec<(String, u16)>> {
        let text: String = self
            .query("cluster nodes", &redis::cmd("CLUSTER").arg("NODES").clone())
            .await?;
        Some(
            text.lines()
                .filter_map(|line| {
                    let mut f = line.split(' ');
                    let _id = f.next()?;
                    let addr = f.next()?;
                    let flags = f.next()?;
                    if !flags.contains("master") || flags.contains("fail") {
                        return None;
                    }
                    let hostport = addr.split('@').next()?;
                    let (host, port) = hostport.rsplit_once(':')?;
                    Some((host.to_owned(), port.parse().ok()?))
                })
                .collect(),
        )
    }

    async fn run_on(&self, cmd: &Cmd, node: Option<&(String, u16)>) -> Option<Value> {
        match (&self.s.conn, node) {
            (Conn::Cluster(c), Some((host, port))) => {
                let mut c = c.clone();
                use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                });
                self.bounded("scan", c.route_command(cmd.clone(), routing))
                    .await
            }
            _ => self.query("scan", cmd).await,
        }
    }

    async fn scan_delete(&self, pattern: &str, node: Option<(String, u16)>) -> bool {
        let mut cursor: u64 = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000);
            let Some(v) = self.run_on(&scan, node.as_ref()).await else {
                return false;
            };
            let Ok((next, keys)) = redis::from_redis_value::<(u64, Vec<String>)>(v) else {
                return false;
            };
            for key in keys {
                // One key per DEL: on a cluster the keys of one node span many slots.
                if self
                    .query::<u64>("del", redis::cmd("DEL").arg(key))
                    .await
                    .is_none()
                {
                    return false;
                }
            }
            if next == 0 {
                return true;
            }
            cursor = next;
        }
    }
}

/// Escapes Redis glob metacharacters so a cache-key prefix matches literally.
fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_glob() {
        assert_eq!(escape_glob("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
