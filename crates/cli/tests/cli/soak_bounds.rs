//! The short soak: `cachearr serve` in front of `cachearr sim` under many users' distinct
//! requests for a bounded number of answers, failing when the process or its data directory outgrow their
//! limits. The long version, with figures, is `bench/soak/run.sh` (docs/benchmarks.md, "Soak").
//!
//! The bounds, and why:
//! * RSS ≤ `memory_max` + [`FIXED_OVERHEAD_MIB`]: this debug binary's mapped code and start-up
//!   state (about 50 MiB ready), the disk tier's block cache (32 MiB) and memtables, the
//!   write-behind queue (at most 16 MiB of entries waiting for the disk), gzip copies
//!   (`memory_max / 8`), the library index of this small library, hyper's buffers for 32 client
//!   and up to 64 upstream connections, and the allocator's free pages. What grows with the
//!   load is the memory tier, within `memory_max`. Measured: 115 MiB at the peak (ready
//!   49 MiB) at ~120 answers/s on a loaded machine, 176 MiB at ~560 answers/s (the disk tier
//!   and its caches fill faster); 276 MiB and growing before bodies were stored in buffers of
//!   their own.
//! * Data directory ≤ `disk_max` + 10 % (`docs/operations.md` "Disk"): the journals, the
//!   store's tables and blob files, the library index's element store (a keyspace of the disk
//!   tier's database) and its snapshot all count against `disk_max`; the records get what the
//!   rest leaves, and a batch past `disk_max` writes no records. Measured: 57 MiB at
//!   the peak; 84 MiB in a CI run before batches were refused past the limit (the records'
//!   dead blob files outran the once-a-second upkeep).
//! * The allocator's account in `/api/stats` (`memory.allocator`) and `/metrics` is the
//!   binary's: live heap ≤ active pages ≤ resident ≤ RSS.

#![allow(
    clippy::disallowed_methods,
    reason = "a machine too loaded to run the soak's load is given up on after a real time"
)]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cachearr_testkit::http::get_json;
use cachearr_testkit::{KillOnDrop, free_port};

const MEMORY_MAX_MIB: u64 = 32;
const DISK_MAX_MIB: u64 = 64;
/// What the process holds besides the memory tier (see the module docs).
const FIXED_OVERHEAD_MIB: u64 = 180;
/// What the data directory may hold at most: `disk_max` and a tenth.
const DISK_BOUND_MIB: u64 = DISK_MAX_MIB * 11 / 10;
/// How many answers the load runs for: what fills the memory tier and presses the disk tier
/// is the answers stored, not the time they took.
const ANSWERS: u64 = 5_000;
/// The process's RSS and the data directory are sampled every this many answers.
const SAMPLE_EVERY: u64 = 250;
/// A bound for a machine too loaded to run the load at all (within the test runner's own).
const LOAD_LIMIT: Duration = Duration::from_secs(150);

fn rss_mib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

fn dir_mib(path: &std::path::Path) -> u64 {
    fn walk(path: &std::path::Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let Ok(rd) = std::fs::read_dir(path) else {
            return 0;
        };
        rd.flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => walk(&e.path()),
                Ok(m) => m.blocks() * 512,
                Err(_) => 0,
            })
            .sum()
    }
    walk(path) / (1024 * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_soak_stays_within_memory_and_disk_limits() {
    let bin = env!("CARGO_BIN_EXE_cachearr");
    let dir = tempfile::tempdir().unwrap();
    let sim_port = free_port();
    let mut sim = KillOnDrop(
        Command::new(bin)
            .args(["sim", "--plex-listen", &format!("127.0.0.1:{sim_port}")])
            .args(["--tracks", "20000", "--movies", "2000", "--shows", "20"])
            .args(["--no-cost", "--json"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut banner = String::new();
    BufReader::new(sim.0.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let banner: serde_json::Value = serde_json::from_str(&banner).unwrap();
    let tokens: Vec<String> = banner["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["plex_token"].as_str().unwrap().to_string())
        .collect();

    let (proxy, admin) = (free_port(), free_port());
    let data = dir.path().join("data");
    let config = dir.path().join("cachearr.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\nadmin_listen = \"127.0.0.1:{admin}\"\n\
             [cache]\nmemory_max = \"{MEMORY_MAX_MIB}MiB\"\ndisk_max = \"{DISK_MAX_MIB}MiB\"\n\
             [[upstream]]\nname = \"plex\"\nprofile = \"plex\"\n\
             url = \"http://127.0.0.1:{sim_port}\"\nlisten = \"127.0.0.1:{proxy}\"\n\
             [upstream.guard]\nrate_per_sec = 100000\nburst = 100000\nmax_concurrent = 64\n"
        ),
    )
    .unwrap();
    let gw = KillOnDrop(
        Command::new(bin)
            .args(["serve", "--config"])
            .arg(&config)
            .env("CACHEARR_PLEX_TOKEN", &tokens[0])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = gw.0.id();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let health = format!("http://127.0.0.1:{admin}/health");
    cachearr_testkit::eventually(
        "the gateway answers /health",
        Duration::from_secs(60),
        async || client.get(&health).send().await.is_ok(),
    )
    .await;

    let ready = format!("http://127.0.0.1:{admin}/ready");
    cachearr_testkit::eventually(
        "the gateway is ready",
        Duration::from_secs(60),
        async || {
            client
                .get(&ready)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        },
    )
    .await;
    let ready_rss = rss_mib(pid);

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..32u64 {
        let (client, stop, answered) = (client.clone(), stop.clone(), answered.clone());
        let token = tokens[i as usize % tokens.len()].clone();
        tasks.push(tokio::spawn(async move {
            // Many distinct keys: listing pages at every offset and item metadata, per user.
            let mut n = i * 7919;
            while !stop.load(Ordering::Relaxed) {
                n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let pick = (n >> 33) % 20_000;
                let path = if pick % 2 == 0 {
                    format!(
                        "/library/sections/1/all?type=10&X-Plex-Container-Start={}&X-Plex-Container-Size=50",
                        pick / 50 * 50
                    )
                } else {
                    format!("/library/metadata/{}", 1 + pick)
                };
                let r = client
                    .get(format!("http://127.0.0.1:{proxy}{path}"))
                    .header("X-Plex-Token", &token)
                    .header("Accept", if i % 2 == 0 { "application/json" } else { "*/*" })
                    .send()
                    .await;
                if let Ok(r) = r
                    && r.bytes().await.is_ok()
                {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let started = Instant::now();
    let give_up = started + LOAD_LIMIT;
    let (mut peak_rss, mut peak_dir) = (0, 0);
    for sample in (SAMPLE_EVERY..=ANSWERS).step_by(SAMPLE_EVERY as usize) {
        cachearr_testkit::eventually(
            &format!("the load's answer {sample} of {ANSWERS}"),
            give_up.saturating_duration_since(Instant::now()),
            async || answered.load(Ordering::Relaxed) >= sample,
        )
        .await;
        peak_rss = peak_rss.max(rss_mib(pid));
        peak_dir = peak_dir.max(dir_mib(&data));
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let answered = answered.load(Ordering::Relaxed);
    eprintln!(
        "{answered} answers in {:.0?}; RSS {ready_rss} MiB ready, peak {peak_rss} MiB; peak data dir {peak_dir} MiB",
        started.elapsed()
    );
    assert!(
        peak_rss <= MEMORY_MAX_MIB + FIXED_OVERHEAD_MIB,
        "RSS reached {peak_rss} MiB: over memory_max {MEMORY_MAX_MIB} MiB + {FIXED_OVERHEAD_MIB} MiB"
    );
    assert!(
        peak_dir <= DISK_BOUND_MIB,
        "the data directory reached {peak_dir} MiB: over disk_max {DISK_MAX_MIB} MiB + 10 %"
    );
    // The allocator's own account: the live heap within the pages that hold it, those within
    // what it keeps resident, and that within the process's RSS.
    let stats = get_json(&client, &format!("http://127.0.0.1:{admin}/api/stats")).await;
    let allocator = &stats["memory"]["allocator"];
    let bytes = |kind: &str| {
        allocator[kind]
            .as_u64()
            .unwrap_or_else(|| panic!("memory.allocator.{kind} missing: {allocator}"))
    };
    let rss_bytes = rss_mib(pid) * 1024 * 1024;
    assert!(bytes("allocated") > 1024 * 1024, "{allocator}");
    assert!(bytes("allocated") <= bytes("active"), "{allocator}");
    assert!(bytes("active") <= bytes("resident"), "{allocator}");
    assert!(
        bytes("resident") <= rss_bytes + 1024 * 1024,
        "{allocator} against RSS {rss_bytes}"
    );
    let metrics = client
        .get(format!("http://127.0.0.1:{admin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("cachearr_allocator_bytes{kind=\"resident\"}"),
        "no allocator gauge in /metrics"
    );
    drop(gw);
    drop(sim);
}
