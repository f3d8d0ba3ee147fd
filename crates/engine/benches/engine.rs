//! Engine benchmarks, side by side in one run (see `docs/benchmarks.md` § Engine):
//!
//! * `hit`    — memory-tier hit cost and the whole `get_or_load` hit path, ns/op;
//! * `disk`   — disk tier get and set, 1 KB and 100 KB values, against Python's diskcache
//!   (with `--python PATH`; the script is `bench/engine/diskcache_bench.py`);
//! * `stores` — fjall (our disk tier, with and without key-value separation) against redb on
//!   a cache workload with heavy TTL churn: throughput and file size;
//! * `writes` — the write-behind queue under a steady offered rate of new entries (the soak's
//!   mix of sizes, `memory_max` 64 MiB, `disk_max` 256 MiB): how many reach the disk and how
//!   many the full queue drops. Not part of the default run (`-- writes`; `WRITES_SECS`,
//!   default 20, per rate; `WRITES_RATES`, default `1000,2000,4000`; `WRITES_DISK_MIB`,
//!   default 256: a smaller disk fills sooner, so eviction and collection run within the
//!   run).
//!
//! `cargo bench -p cachearr-engine --bench engine -- [hit] [disk] [stores] [writes]
//! [--python PATH]` (no mode: all but `writes`). Every figure is the median of several runs,
//! except `writes`' (one run per rate).

#![allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cachearr_engine::bench_support::{decode_value, encode_value};
use cachearr_engine::{CachedValue, DiskTier, Fill, Key, Loader, Policy, TieredCache, WriteOp};
use redb::{ReadableDatabase, ReadableTable};

const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A JSON-like body (compresses roughly like real Plex/Jellyfin answers).
fn json_body(seed: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = seed;
    while out.len() < len {
        i = i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        out.extend_from_slice(
            format!(
                "{{\"ratingKey\":\"{}\",\"title\":\"Track {}\",\"duration\":{},\"addedAt\":{}}},",
                i % 1_000_000,
                i % 9973,
                i % 400_000,
                1_600_000_000 + i % 100_000_000
            )
            .as_bytes(),
        );
    }
    out.truncate(len);
    out
}

fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut x = seed | 1;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

fn allocated_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => allocated_bytes(&e.path()),
                    Ok(m) => m.blocks() * 512,
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

// --- hit path ---------------------------------------------------------------------------

fn bench_hit(rt: &tokio::runtime::Runtime) {
    println!("\n### Memory hit path (ns/op, median of {RUNS} runs, one task)\n");
    let n = 1_000_000u32;
    rt.block_on(async {
        let cache = TieredCache::builder().build().await.unwrap();
        let key = Key::new("plex-1|GET|/library/metadata/123456/children|fmt=json|u=3f9a2c1d7e");
        let policy = Policy::new("metadata", Duration::from_secs(3600))
            .with_stale_while_revalidate(Duration::from_secs(86_400))
            .with_tag("item:123456")
            .with_tag("section:2");
        let loader: Arc<dyn Loader> =
            Arc::new(|| async { Ok(Fill::Store(CachedValue::new(200, json_body(1, 4096)))) });
        cache
            .get_or_load(&key, &policy, loader.clone())
            .await
            .unwrap();

        let moka: moka::future::Cache<Key, Arc<CachedValue>> = moka::future::Cache::new(1000);
        moka.insert(
            key.clone(),
            Arc::new(CachedValue::new(200, json_body(1, 4096))),
        )
        .await;

        let mut rows: Vec<(&str, f64)> = Vec::new();
        let mut results = Vec::new();
        for run in 0..RUNS + 1 {
            let t = Instant::now();
            for _ in 0..n {
                black_box(moka.get(&key).await);
            }
            let raw = t.elapsed();
            let t = Instant::now();
            for _ in 0..n {
                black_box(cache.get(&key).await);
            }
            let get = t.elapsed();
            let t = Instant::now();
            for _ in 0..n {
                black_box(
                    cache
                        .get_or_load(&key, &policy, loader.clone())
                        .await
                        .unwrap(),
                );
            }
            let gol = t.elapsed();
            let t = Instant::now();
            for i in 0..n {
                black_box(Key::new(format!(
                    "plex-1|GET|/library/metadata/{i}/children|fmt=json|u=3f9a2c1d7e"
                )));
            }
            let key_new = t.elapsed();
            if run > 0 {
                results.push((raw, get, gol, key_new)); // run 0 warms up
            }
        }
        let per = |f: fn(&(Duration, Duration, Duration, Duration)) -> Duration| {
            median(
                results
                    .iter()
                    .map(|r| f(r).as_nanos() as f64 / f64::from(n))
                    .collect(),
            )
        };
        rows.push(("bare moka `get` (Arc clone), for reference", per(|r| r.0)));
        rows.push(("`TieredCache::get` (memory hit)", per(|r| r.1)));
        rows.push((
            "`TieredCache::get_or_load` hit (validity, tags, stats, warming count)",
            per(|r| r.2),
        ));
        rows.push((
            "`Key::new` from a formatted 70-byte string (gateway side)",
            per(|r| r.3),
        ));
        println!("| operation | ns/op |\n|---|---|");
        for (name, ns) in rows {
            println!("| {name} | {ns:.0} |");
        }
        cache.shutdown().await;
    });
}

// --- disk tier vs diskcache ---------------------------------------------------------------

struct DiskRow {
    size: usize,
    count: usize,
    set_per_op: f64,
    set_behind: f64,
    get: f64,
}

fn bench_disk(rt: &tokio::runtime::Runtime, python: Option<&Path>) {
    let cases = [(1024usize, 10_000usize), (100 * 1024, 1_000)];
    let mut rows = Vec::new();
    for &(size, count) in &cases {
        let mut set_per_op = Vec::new();
        let mut set_behind = Vec::new();
        let mut get = Vec::new();
        for run in 0..RUNS {
            let values: Vec<CachedValue> = (0..count)
                .map(|i| CachedValue::new(200, noise((run * count + i) as u64, size)))
                .collect();
            let keys: Vec<Key> = (0..count).map(|i| Key::new(format!("key-{i}"))).collect();
            // Set, one atomic write per value (what diskcache does per `set`).
            let dir = tempfile::tempdir().unwrap();
            let tier = DiskTier::open(dir.path(), 1 << 40).unwrap();
            let t = Instant::now();
            for (k, v) in keys.iter().zip(&values) {
                tier.write_sync(vec![WriteOp::Put {
                    key: k.clone(),
                    record: encode_value(v, "bench", u64::MAX),
                    expires_at_ms: u64::MAX,
                }])
                .unwrap();
            }
            set_per_op.push(count as f64 / t.elapsed().as_secs_f64());
            // Get in random order, decode and check.
            let order = shuffled(count, 7 + run as u64);
            let t = Instant::now();
            for &i in &order {
                let raw = tier.get_sync(keys[i].as_str()).unwrap().unwrap();
                black_box(decode_value(&raw).unwrap());
            }
            get.push(count as f64 / t.elapsed().as_secs_f64());
            drop(tier);
            // Set through the cache: memory at once, disk behind in batches; timed until
            // the last batch is written.
            let dir2 = tempfile::tempdir().unwrap();
            rt.block_on(async {
                let cache = TieredCache::builder()
                    .memory_max_bytes(1 << 30)
                    .disk(dir2.path(), 1 << 40)
                    .write_behind(100_000, Duration::from_millis(20))
                    .build()
                    .await
                    .unwrap();
                let policy = Policy::new("bench", Duration::from_secs(3600));
                let t = Instant::now();
                for (k, v) in keys.iter().zip(&values) {
                    cache.insert(k, &policy, v.clone()).await;
                }
                cache.flush().await;
                set_behind.push(count as f64 / t.elapsed().as_secs_f64());
                let written = cache.stats().tiers[1].writes;
                assert_eq!(written, count as u64, "write-behind dropped writes");
                cache.shutdown().await;
            });
        }
        rows.push(DiskRow {
            size,
            count,
            set_per_op: median(set_per_op),
            set_behind: median(set_behind),
            get: median(get),
        });
    }
    let py = python.map(run_diskcache);
    println!("\n### Disk tier vs Python diskcache (ops/s, median of {RUNS} runs)\n");
    println!(
        "| value | count | operation | cachearr disk tier | diskcache | ratio |\n|---|---|---|---|---|---|"
    );
    for r in &rows {
        let label = if r.size >= 1024 * 100 {
            "100 KB"
        } else {
            "1 KB"
        };
        let pyrow = py
            .as_ref()
            .and_then(|p| p.iter().find(|x| x.0 == r.size).cloned());
        let fmt = |ours: f64, theirs: Option<f64>| match theirs {
            Some(t) => (format!("{t:.0}"), format!("{:.1}×", ours / t)),
            None => ("–".into(), "–".into()),
        };
        let (pset, rset) = fmt(r.set_per_op, pyrow.map(|p| p.1));
        let (_, rset2) = fmt(r.set_behind, pyrow.map(|p| p.1));
        let (pget, rget) = fmt(r.get, pyrow.map(|p| p.2));
        println!(
            "| {label} | {} | set, one write per value | {:.0} | {pset} | {rset} |",
            r.count, r.set_per_op
        );
        println!(
            "| {label} | {} | set through the cache (write-behind, batched) | {:.0} | {pset} | {rset2} |",
            r.count, r.set_behind
        );
        println!(
            "| {label} | {} | get (random order, checksum + decode) | {:.0} | {pget} | {rget} |",
            r.count, r.get
        );
    }
}

/// Runs the diskcache script; returns (size, set ops/s, get ops/s) rows.
fn run_diskcache(python: &Path) -> Vec<(usize, f64, f64)> {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/engine/diskcache_bench.py");
    let out = std::process::Command::new(python)
        .arg(&script)
        .args(["--runs", &RUNS.to_string()])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "diskcache bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json from script");
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["size"].as_u64().unwrap() as usize,
                r["set_ops"].as_f64().unwrap(),
                r["get_ops"].as_f64().unwrap(),
            )
        })
        .collect()
}

// --- fjall vs redb under TTL churn --------------------------------------------------------

/// What a store must do for the churn workload.
trait ChurnStore {
    fn name(&self) -> String;
    fn put_batch(&mut self, batch: &[(String, Bytes, u64)]);
    fn sweep(&mut self, now: u64);
    fn get(&self, key: &str) -> Option<usize>;
    fn finish(&mut self);
    fn compact(&mut self);
    fn dir(&self) -> &Path;
}

struct FjallStore {
    tier: DiskTier,
    dir: tempfile::TempDir,
    kv: bool,
}

impl ChurnStore for FjallStore {
    fn name(&self) -> String {
        if self.kv {
            "fjall 3, records > 4 KiB in blob files (chosen)".into()
        } else {
            "fjall 3, all records in the tree".into()
        }
    }
    fn put_batch(&mut self, batch: &[(String, Bytes, u64)]) {
        let ops = batch
            .iter()
            .map(|(k, v, exp)| WriteOp::Put {
                key: Key::new(k.as_str()),
                record: v.clone(),
                expires_at_ms: *exp,
            })
            .collect();
        self.tier.write_sync(ops).unwrap();
    }
    fn sweep(&mut self, now: u64) {
        while {
            let r = self.tier.maintain_sync(now).unwrap();
            r.expired + r.evicted >= 4096
        } {}
    }
    fn get(&self, key: &str) -> Option<usize> {
        self.tier.get_sync(key).unwrap().map(|v| v.len())
    }
    fn finish(&mut self) {
        self.tier.persist(false).unwrap();
    }
    fn compact(&mut self) {
        self.tier.compact().unwrap();
    }
    fn dir(&self) -> &Path {
        self.dir.path()
    }
}

const ENTRIES: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("entries");
const EXPIRY: redb::TableDefinition<(u64, &str), ()> = redb::TableDefinition::new("expiry");

struct RedbStore {
    db: redb::Database,
    dir: tempfile::TempDir,
    /// Make every n-th commit durable (fsync); the others are `Durability::None`.
    durable_every: u64,
    commits: u64,
}

impl RedbStore {
    fn open(durable_every: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("cache.redb")).unwrap();
        let w = db.begin_write().unwrap();
        w.open_table(ENTRIES).unwrap();
        w.open_table(EXPIRY).unwrap();
        w.commit().unwrap();
        Self {
            db,
            dir,
            durable_every,
            commits: 0,
        }
    }
    fn txn(&mut self) -> redb::WriteTransaction {
        let mut w = self.db.begin_write().unwrap();
        self.commits += 1;
        if !self.commits.is_multiple_of(self.durable_every) {
            w.set_durability(redb::Durability::None).unwrap();
        }
        w
    }
}

impl ChurnStore for RedbStore {
    fn name(&self) -> String {
        if self.durable_every == 1 {
            "redb 4 (every batch durable)".into()
        } else {
            format!("redb 4 (durable every {} batches)", self.durable_every)
        }
    }
    fn put_batch(&mut self, batch: &[(String, Bytes, u64)]) {
        let w = self.txn();
        {
            let mut e = w.open_table(ENTRIES).unwrap();
            let mut x = w.open_table(EXPIRY).unwrap();
            for (k, v, exp) in batch {
                e.insert(k.as_str(), &v[..]).unwrap();
                x.insert((*exp, k.as_str()), ()).unwrap();
            }
        }
        w.commit().unwrap();
    }
    fn sweep(&mut self, now: u64) {
        let w = self.txn();
        {
            let mut e = w.open_table(ENTRIES).unwrap();
            let mut x = w.open_table(EXPIRY).unwrap();
            let expired: Vec<(u64, String)> = x
                .range((0u64, "")..(now + 1, ""))
                .unwrap()
                .map(|r| {
                    let (k, _) = r.unwrap();
                    let (exp, key) = k.value();
                    (exp, key.to_owned())
                })
                .collect();
            for (exp, key) in expired {
                e.remove(key.as_str()).unwrap();
                x.remove((exp, key.as_str())).unwrap();
            }
        }
        w.commit().unwrap();
    }
    fn get(&self, key: &str) -> Option<usize> {
        let r = self.db.begin_read().unwrap();
        let t = r.open_table(ENTRIES).unwrap();
        // Copy out, as the engine must (the fjall side returns an owned copy too).
        t.get(key)
            .unwrap()
            .map(|v| Bytes::copy_from_slice(v.value()).len())
    }
    fn finish(&mut self) {
        let mut w = self.db.begin_write().unwrap();
        w.set_durability(redb::Durability::Immediate).unwrap();
        w.commit().unwrap();
    }
    fn compact(&mut self) {
        while self.db.compact().unwrap() {}
    }
    fn dir(&self) -> &Path {
        self.dir.path()
    }
}

struct ChurnResult {
    name: String,
    writes_per_s: f64,
    gets_per_s: f64,
    live_bytes: u64,
    file_after_churn: u64,
    file_after_compact: u64,
}

/// 60 rounds; each writes 600 records in batches of 100 (sizes: 80 % 2 KB, 15 % 20 KB, 5 %
/// 100 KB, JSON-like, as encoded by the engine) that live 8 rounds, sweeps what expired,
/// then reads 2,000 random live keys. 36,000 records written, ~4,800 live at the end.
fn churn(store: &mut dyn ChurnStore) -> ChurnResult {
    let rounds = 60u64;
    let per_round = 600usize;
    let ttl = 8u64;
    let mut write_time = Duration::ZERO;
    let mut get_time = Duration::ZERO;
    let mut gets = 0u64;
    let mut written = 0u64;
    let mut live: std::collections::VecDeque<(u64, Vec<String>)> = Default::default();
    let mut live_bytes_by_round: std::collections::VecDeque<u64> = Default::default();
    let mut rng = 12345u64;
    for round in 0..rounds {
        let mut keys = Vec::with_capacity(per_round);
        let mut batch = Vec::with_capacity(100);
        let mut round_bytes = 0u64;
        for i in 0..per_round {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let size = match rng % 100 {
                0..80 => 2 * 1024,
                80..95 => 20 * 1024,
                _ => 100 * 1024,
            };
            let key = format!("plex|GET|/library/metadata/{round}/{i}|u=abc");
            let exp = round + ttl;
            let v = CachedValue::new(200, json_body(round * 10_000 + i as u64, size));
            let record = encode_value(&v, "bench", exp);
            round_bytes += record.len() as u64 + key.len() as u64;
            batch.push((key.clone(), record, exp));
            keys.push(key);
            if batch.len() == 100 {
                let t = Instant::now();
                store.put_batch(&batch);
                write_time += t.elapsed();
                written += batch.len() as u64;
                batch.clear();
            }
        }
        let t = Instant::now();
        store.sweep(round);
        write_time += t.elapsed();
        live.push_back((round + ttl, keys));
        live_bytes_by_round.push_back(round_bytes);
        while live.front().is_some_and(|(exp, _)| *exp <= round) {
            live.pop_front();
            live_bytes_by_round.pop_front();
        }
        let all: Vec<&String> = live.iter().flat_map(|(_, k)| k.iter()).collect();
        let t = Instant::now();
        for _ in 0..2000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let k = all[(rng % all.len() as u64) as usize];
            assert!(store.get(k).is_some(), "{} lost {k}", store.name());
            gets += 1;
        }
        get_time += t.elapsed();
    }
    store.finish();
    let file_after_churn = allocated_bytes(store.dir());
    store.compact();
    store.finish();
    ChurnResult {
        name: store.name(),
        writes_per_s: written as f64 / write_time.as_secs_f64(),
        gets_per_s: gets as f64 / get_time.as_secs_f64(),
        live_bytes: live_bytes_by_round.iter().sum(),
        file_after_churn,
        file_after_compact: allocated_bytes(store.dir()),
    }
}

fn bench_stores() {
    println!("\n### fjall vs redb under TTL churn (median of 3 runs)\n");
    println!(
        "36,000 records written (80 % 2 KB, 15 % 20 KB, 5 % 100 KB, JSON-like), each alive for 8 of 60 rounds; sweeps after every round; 2,000 random reads per round.\n"
    );
    println!(
        "| store | writes/s (incl. sweeps) | reads/s | live data | file size after churn | after compaction |\n|---|---|---|---|---|---|"
    );
    type Make = fn() -> Box<dyn ChurnStore>;
    let makes: [Make; 4] = [
        || {
            let dir = tempfile::tempdir().unwrap();
            let tier = DiskTier::open(dir.path(), 1 << 40).unwrap();
            Box::new(FjallStore {
                tier,
                dir,
                kv: false,
            })
        },
        || {
            let dir = tempfile::tempdir().unwrap();
            let tier = DiskTier::open_with(dir.path(), 1 << 40, true).unwrap();
            Box::new(FjallStore {
                tier,
                dir,
                kv: true,
            })
        },
        || Box::new(RedbStore::open(1)),
        || Box::new(RedbStore::open(20)),
    ];
    for make in makes {
        let results: Vec<ChurnResult> = (0..3).map(|_| churn(&mut *make())).collect();
        let med = |f: fn(&ChurnResult) -> f64| median(results.iter().map(f).collect());
        println!(
            "| {} | {:.0} | {:.0} | {} | {} | {} |",
            results[0].name,
            med(|r| r.writes_per_s),
            med(|r| r.gets_per_s),
            mib(results[0].live_bytes),
            mib(med(|r| r.file_after_churn as f64) as u64),
            mib(med(|r| r.file_after_compact as f64) as u64),
        );
    }
}

// --- write-behind under load -----------------------------------------------------------

/// Bodies in the soak's proportions: listing pages (30–60 KB), item metadata (3–6 KB) and
/// small answers (0.5–2 KB), JSON-like so they compress as real answers do.
fn soak_bodies() -> Vec<Bytes> {
    let mut v = Vec::new();
    for i in 0..64u64 {
        let len = match i % 10 {
            0..4 => 30_000 + (i as usize * 997) % 30_000,
            4..7 => 3_000 + (i as usize * 389) % 3_000,
            _ => 500 + (i as usize * 131) % 1_500,
        };
        v.push(Bytes::from(json_body(i, len)));
    }
    v
}

fn bench_writes(rt: &tokio::runtime::Runtime) {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let secs = env("WRITES_SECS", 20);
    let disk_mib = env("WRITES_DISK_MIB", 256);
    let rates: Vec<u64> = std::env::var("WRITES_RATES").map_or_else(
        |_| vec![1000, 2000, 4000],
        |v| v.split(',').filter_map(|r| r.parse().ok()).collect(),
    );
    println!(
        "\n### Write-behind under a steady rate of new entries ({secs} s per rate, memory_max 64 MiB, \
         disk_max {disk_mib} MiB)\n"
    );
    println!("| offered/s | entries offered | written to disk | dropped | dropped % |");
    println!("|---|---|---|---|---|");
    let bodies = soak_bodies();
    for rate in rates {
        let dir = tempfile::tempdir().unwrap();
        let (offered, written, dropped) = rt.block_on(async {
            let cache = TieredCache::builder()
                .memory_max_bytes(64 << 20)
                .disk(dir.path(), disk_mib << 20)
                .build()
                .await
                .unwrap();
            let policy = Policy::new("metadata", Duration::from_secs(3600));
            let per_tick = rate / 100;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut n = 0u64;
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(secs) {
                tick.tick().await;
                for _ in 0..per_tick {
                    n += 1;
                    let body = bodies[(n % bodies.len() as u64) as usize].clone();
                    cache
                        .insert(
                            &Key::new(format!("plex GET /library/metadata/{n} u=1")),
                            &policy,
                            CachedValue::new(200, body),
                        )
                        .await;
                }
            }
            cache.flush().await;
            let s = cache.stats();
            let disk = s.tier(cachearr_engine::TierKind::Disk).unwrap().writes;
            cache.shutdown().await;
            (n, disk, s.write_behind.dropped)
        });
        println!(
            "| {rate} | {offered} | {written} | {dropped} | {:.1} % |",
            dropped as f64 * 100.0 / offered as f64
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let python = args
        .iter()
        .position(|a| a == "--python")
        .and_then(|i| args.get(i + 1))
        .map(|p| {
            // cargo runs benches from the package directory; a relative path is meant from
            // the workspace root, where the command is typed.
            let p = PathBuf::from(p);
            if p.is_relative() {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../..")
                    .join(p)
            } else {
                p
            }
        });
    let modes: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| ["hit", "disk", "stores", "writes"].contains(a))
        .collect();
    let all = modes.is_empty();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if all || modes.contains(&"hit") {
        let current = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        bench_hit(&current);
    }
    if all || modes.contains(&"disk") {
        bench_disk(&rt, python.as_deref());
    }
    if all || modes.contains(&"stores") {
        bench_stores();
    }
    if modes.contains(&"writes") {
        bench_writes(&rt);
    }
}
