//! Library index at scale: build throughput, memory, snapshot size and reload, search
//! latency, and a 10,000-entry playlist matched on 1 and on 2 threads.
//!
//! ```text
//! cargo bench -p cachearr-library --bench scale -- --tracks 1000000
//! ```
//!
//! Memory is measured where it matters: a child process that only loads the snapshot (as the
//! gateway does at start) reports its resident set (`VmRSS`) and peak (`VmHWM`) from
//! `/proc/self/status`, next to the index's own count of heap bytes (from capacities).
//! Timings are medians of several runs; the machine is shared, so read ratios, not digits.

#![allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cachearr_library::index::IndexBuilder;
use cachearr_library::record::ItemRecord;
use cachearr_library::{ItemKind, LibraryIndex, Matcher, MatcherConfig, TrackQuery, Visibility};
use cachearr_library::{sim, snapshot};

const CHILD_ENV: &str = "CACHEARR_BENCH_LOAD_SNAPSHOT";

/// SplitMix64, for a reproducible playlist and query mix.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds (user + system) this process has used so far, from `/proc/self/stat`
/// (ticks of 10 ms): on a shared machine, the honest measure of work done.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |at: usize| {
        fields
            .get(at)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of the full line are the 12th and 13th after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU time of the calling thread in nanoseconds (`/proc/thread-self/schedstat`): per-query
/// work, unaffected by time spent waiting for a core on a shared machine.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|f| f.parse().ok()))
        .unwrap_or(0)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// The child: load the snapshot, report time and memory, exit.
fn child(path: &Path) {
    let before = proc_status_kib("VmRSS:");
    let started = Instant::now();
    let index = snapshot::load(path).expect("snapshot loads");
    let load = started.elapsed();
    let after = proc_status_kib("VmRSS:");
    let peak = proc_status_kib("VmHWM:");
    let heap = index.stats().heap_bytes;
    println!(
        "{} {} {} {} {} {}",
        load.as_secs_f64(),
        before,
        after,
        peak,
        heap,
        index.len()
    );
}

fn perturbed_playlist(tracks: &[&ItemRecord], size: usize, rng: &mut Rng) -> Vec<TrackQuery> {
    let mut queries = Vec::with_capacity(size);
    for n in 0..size {
        if n % 20 == 19 {
            // 5 % not in the library at all.
            queries.push(TrackQuery::new(
                "Nobody Youknow",
                &format!("Unfindable Song {n}"),
            ));
            continue;
        }
        let track = tracks[rng.below(tracks.len())];
        let mut title = track.title.clone();
        match rng.below(10) {
            0 | 1 => title = title.to_uppercase(),
            2 => title = format!("{title} - Remastered 2011"),
            3 => {
                // One typo in the middle.
                let mut chars: Vec<char> = title.chars().collect();
                if chars.len() > 6 {
                    chars.swap(3, 4);
                }
                title = chars.into_iter().collect();
            }
            _ => {}
        }
        let mut query = TrackQuery::new(track.artists.first().map_or("", String::as_str), &title);
        if rng.below(2) == 0 {
            query.album = track.album.clone();
        }
        if rng.below(10) < 7 {
            query.duration_ms = track
                .duration_ms
                .map(|ms| (i64::from(ms) + rng.below(4_001) as i64 - 2_000).max(1) as u32);
        }
        queries.push(query);
    }
    queries
}

fn main() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&path));
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let tracks: u32 = args
        .iter()
        .position(|arg| arg == "--tracks")
        .and_then(|at| args.get(at + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(1_000_000);
    // `--quick`: one build, no snapshot or search (for profiling the matcher).
    let quick = args.iter().any(|arg| arg == "--quick");
    println!("library index at scale: {tracks} tracks (simulator seed 1)");

    let started = Instant::now();
    let library = sim::music_library(tracks, 1);
    let records: Vec<ItemRecord> = sim::records(&library).collect();
    drop(library);
    println!(
        "  simulator library → {} records (as if fetched): {:.2} s",
        records.len(),
        started.elapsed().as_secs_f64()
    );

    // Build: from records already in memory (pages already fetched).
    let mut builds = Vec::new();
    let mut build_cpu = Vec::new();
    let mut index = LibraryIndex::default();
    for _ in 0..if quick { 1 } else { 3 } {
        let (started, cpu_before) = (Instant::now(), cpu_seconds());
        let mut builder = IndexBuilder::new();
        for record in &records {
            builder.push(record).expect("record fits");
        }
        index = builder.finish();
        builds.push(started.elapsed());
        build_cpu.push(Duration::from_secs_f64(cpu_seconds() - cpu_before));
    }
    let build = median(builds);
    println!(
        "  build: median {:.2} s wall ({:.2} s CPU) = {:.0} records/s ({} items)",
        build.as_secs_f64(),
        median(build_cpu).as_secs_f64(),
        records.len() as f64 / build.as_secs_f64(),
        index.len()
    );
    let stats = index.stats();
    println!(
        "  index heap (capacities): {:.1} MiB ({:.0} bytes per item; text arena {:.1} MiB)",
        mib(stats.heap_bytes as u64),
        stats.heap_bytes as f64 / index.len() as f64,
        mib(stats.text_bytes as u64)
    );

    let track_records: Vec<&ItemRecord> = records
        .iter()
        .filter(|record| record.kind == ItemKind::Track)
        .collect();
    let visible = Visibility::sections(["1", "4"]);
    if !quick {
        snapshot_and_search(&index, &track_records, &visible);
    }

    // Matching: a 10,000-entry playlist with real-world perturbations.
    let playlist = perturbed_playlist(&track_records, 10_000, &mut Rng(7));
    let matcher = Matcher::new(&index, &visible, MatcherConfig::default());
    let mut accepted = 0;
    for threads in [1usize, 2] {
        let mut runs = Vec::new();
        let mut cpu = Vec::new();
        for _ in 0..if quick { 2 } else { 5 } {
            let (started, cpu_before) = (Instant::now(), cpu_seconds());
            let outcomes = matcher.match_all_on(&playlist, threads, &|_| {});
            runs.push(started.elapsed());
            cpu.push(Duration::from_secs_f64(cpu_seconds() - cpu_before));
            accepted = outcomes
                .iter()
                .filter(|o| o.accepted_id().is_some())
                .count();
        }
        println!(
            "  match 10,000 entries on {threads} thread(s): median {:.3} s wall, {:.3} s CPU \
             ({} accepted)",
            median(runs).as_secs_f64(),
            median(cpu).as_secs_f64(),
            accepted
        );
    }
}

fn snapshot_and_search(index: &LibraryIndex, track_records: &[&ItemRecord], visible: &Visibility) {
    // Snapshot: write, size, and reload in a fresh process for honest memory numbers.
    let dir = std::env::temp_dir().join(format!("cachearr-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path: PathBuf = dir.join("library.idx");
    let started = Instant::now();
    let bytes = snapshot::to_bytes(index).expect("encodes");
    let encode = started.elapsed();
    std::fs::write(&path, &bytes).expect("writes");
    let started = Instant::now();
    let decoded = snapshot::from_bytes(&bytes, &path).expect("decodes");
    let decode_and_maps = started.elapsed();
    drop(decoded);
    println!(
        "  snapshot: {:.1} MiB on disk, encode {:.2} s, decode + rebuild maps {:.2} s (in memory)",
        mib(bytes.len() as u64),
        encode.as_secs_f64(),
        decode_and_maps.as_secs_f64()
    );
    drop(bytes);
    let mut loads = Vec::new();
    let mut memory = (0u64, 0u64, 0u64, 0u64);
    for _ in 0..3 {
        let output = std::process::Command::new(std::env::current_exe().expect("own path"))
            .env(CHILD_ENV, &path)
            .output()
            .expect("child runs");
        let line = String::from_utf8_lossy(&output.stdout).into_owned();
        let fields: Vec<f64> = line
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        if fields.len() == 6 {
            loads.push(Duration::from_secs_f64(fields[0]));
            memory = (
                fields[1] as u64,
                fields[2] as u64,
                fields[3] as u64,
                fields[4] as u64,
            );
        } else {
            eprintln!(
                "child failed: {line} {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    if !loads.is_empty() {
        let (before, after, peak, heap) = memory;
        println!(
            "  reload in a fresh process: median {:.2} s; RSS {:.1} MiB after load ({:.1} MiB \
             before), peak {:.1} MiB; index heap {:.1} MiB",
            median(loads).as_secs_f64(),
            after as f64 / 1024.0,
            before as f64 / 1024.0,
            peak as f64 / 1024.0,
            mib(heap)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);

    // Search: one or two words taken from real titles, 2,000 queries, visible music sections.
    let mut rng = Rng(42);
    let mut latencies = Vec::new();
    let mut cpu_latencies = Vec::new();
    let mut results = 0usize;
    for n in 0..2_000 {
        let title = &track_records[rng.below(track_records.len())].title;
        let words: Vec<&str> = title.split_whitespace().collect();
        let query = match n % 3 {
            0 => words.first().copied().unwrap_or("a").to_string(),
            1 => words.iter().take(2).copied().collect::<Vec<_>>().join(" "),
            _ => title.chars().take(5).collect(),
        };
        let (started, cpu_before) = (Instant::now(), thread_cpu_ns());
        results += index.search(&query, &[], visible, 50).len();
        latencies.push(started.elapsed());
        cpu_latencies.push(Duration::from_nanos(
            thread_cpu_ns().saturating_sub(cpu_before),
        ));
    }
    latencies.sort();
    cpu_latencies.sort();
    println!(
        "  search CPU time per query: p50 {:.3} ms, p99 {:.3} ms",
        percentile(&cpu_latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&cpu_latencies, 0.99).as_secs_f64() * 1e3,
    );
    println!(
        "  search (2,000 queries, limit 50): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({:.1} results \
         on average)",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        results as f64 / 2_000.0
    );
}
