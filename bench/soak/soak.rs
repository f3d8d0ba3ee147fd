//! The soak client: mixed multi-user load on a cachearr Plex listener for a set time, sampling
//! the gateway's process and data directory every interval (CSV on stdout, summary on
//! stderr). Standard library only, so `rustc -O` builds it without the workspace.
//!
//! ```text
//! soak --proxy 127.0.0.1:8484 --admin 127.0.0.1:8485 --pid 1234 --data-dir ./data \
//!      --tokens t1,t2,t3,t4 --items 100000 --secs 900 --conns 64 --interval 10 \
//!      --disk-max 268435456
//! ```
//!
//! The mix (per request, drawn at random): 40 % listing pages (50 items, any offset, four
//! sections), 30 % item metadata, 8 % searches, 8 % session polls, 6 % on-deck and recently
//! added, 4 % section lists, 4 % play-state writes (timeline, scrobble). Half the connections
//! ask for JSON, half accept gzip. Each connection belongs to one of the users (tokens).
//!
//! Columns: `t_s, rss_mib, rss_anon_mib, rss_shmem_mib, heap_allocated_mib, heap_active_mib,
//! heap_resident_mib, fds, threads, data_dir_mib, journal_mib, store_mib, library_mib,
//! req_per_s, p50_ms, p99_ms, errors, mem_hit_rate, disk_hit_rate, mem_mib, disk_mib,
//! dropped_writes, write_queue_kib, index_state, index_items`. Rates, latencies and dropped
//! writes are over the last interval; hit rates are since start (from `/api/stats`). The data
//! directory is measured as `du` does (allocated blocks): all of it, the store's journals
//! (`cache/*.jnl`), the rest of the store (`cache/`: tables, blob files, the element store) and
//! the library index's files (`library/`). With `--disk-max`, the summary says whether every
//! sample stayed within `disk_max` + 10 %.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    proxy: String,
    admin: String,
    pid: u32,
    data_dir: String,
    tokens: Vec<String>,
    items: u64,
    secs: u64,
    conns: usize,
    interval: u64,
    disk_max: u64,
}

fn args() -> Args {
    let mut a = Args {
        proxy: "127.0.0.1:8484".into(),
        admin: "127.0.0.1:8485".into(),
        pid: 0,
        data_dir: "./data".into(),
        tokens: Vec::new(),
        items: 10_000,
        secs: 60,
        conns: 64,
        interval: 10,
        disk_max: 0,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    for pair in v.chunks(2) {
        let val = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--proxy" => a.proxy = val,
            "--admin" => a.admin = val,
            "--pid" => a.pid = val.parse().expect("--pid"),
            "--data-dir" => a.data_dir = val,
            "--tokens" => a.tokens = val.split(',').map(str::to_string).collect(),
            "--items" => a.items = val.parse().expect("--items"),
            "--secs" => a.secs = val.parse().expect("--secs"),
            "--conns" => a.conns = val.parse().expect("--conns"),
            "--interval" => a.interval = val.parse().expect("--interval"),
            "--disk-max" => a.disk_max = val.parse().expect("--disk-max (bytes)"),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.tokens.is_empty(), "--tokens is required");
    a
}

/// xorshift64*: deterministic per connection, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const WORDS: [&str; 16] = [
    "love", "night", "blue", "heart", "the", "song", "river", "fire", "dream", "light", "road",
    "city", "star", "rain", "gold", "time",
];

fn pick_request(rng: &mut Rng, items: u64) -> (&'static str, String) {
    let r = rng.below(100);
    match r {
        0..40 => {
            let (section, kind) = [(1, 10), (2, 1), (3, 2), (4, 10)][rng.below(4) as usize];
            let start = rng.below(items / 50 + 1) * 50;
            (
                "GET",
                format!(
                    "/library/sections/{section}/all?type={kind}\
                     &X-Plex-Container-Start={start}&X-Plex-Container-Size=50"
                ),
            )
        }
        40..70 => ("GET", format!("/library/metadata/{}", 1 + rng.below(items))),
        70..78 => {
            let w = WORDS[rng.below(WORDS.len() as u64) as usize];
            ("GET", format!("/hubs/search?query={w}&limit=10"))
        }
        78..86 => ("GET", "/status/sessions".into()),
        86..89 => ("GET", "/library/onDeck".into()),
        89..92 => ("GET", "/library/recentlyAdded".into()),
        92..96 => ("GET", "/library/sections".into()),
        96..98 => (
            "GET",
            format!(
                "/:/timeline?ratingKey={}&key=%2Flibrary%2Fmetadata%2F1&state=playing&time=1000&duration=200000",
                1 + rng.below(items)
            ),
        ),
        _ => (
            "GET",
            format!(
                "/:/scrobble?key={}&identifier=com.plexapp.plugins.library",
                1 + rng.below(items)
            ),
        ),
    }
}

/// Sends one request on `conn` and reads the whole answer. Returns the status.
fn exchange(
    conn: &mut BufReader<TcpStream>,
    host: &str,
    method: &str,
    target: &str,
    extra: &str,
) -> std::io::Result<u16> {
    let req = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n");
    conn.get_mut().write_all(req.as_bytes())?;
    read_response(conn)
}

fn read_response(conn: &mut BufReader<TcpStream>) -> std::io::Result<u16> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut line = String::new();
    if conn.read_line(&mut line)? == 0 {
        return Err(bad("closed"));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("status line"))?;
    let mut len: Option<usize> = None;
    let mut chunked = false;
    let mut close = false;
    loop {
        line.clear();
        conn.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().ok();
        } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        } else if lower.starts_with("connection:") && lower.contains("close") {
            close = true;
        }
    }
    if status == 304 || status == 204 {
        return Ok(status);
    }
    if chunked {
        loop {
            line.clear();
            conn.read_line(&mut line)?;
            let n = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| bad("chunk size"))?;
            let mut skip = vec![0u8; n + 2];
            conn.read_exact(&mut skip)?;
            if n == 0 {
                break;
            }
        }
    } else if let Some(n) = len {
        std::io::copy(&mut conn.by_ref().take(n as u64), &mut std::io::sink())?;
    } else {
        return Err(bad("no length"));
    }
    if close {
        return Err(bad("closed by server"));
    }
    Ok(status)
}

/// One-shot request on a fresh connection (for the admin API).
fn fetch(addr: &str, method: &str, target: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let body = out.split_once("\r\n\r\n")?.1;
    Some(body.to_string())
}

/// The number after `"field":` in `json` after the first occurrence of `within`.
fn number_in(json: &str, within: &str, field: &str) -> u64 {
    let Some(at) = json.find(within) else { return 0 };
    let rest = &json[at..];
    let key = format!("\"{field}\":");
    let Some(k) = rest.find(&key) else { return 0 };
    rest[k + key.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

fn string_in(json: &str, within: &str, field: &str) -> String {
    let Some(at) = json.find(within) else {
        return "-".into();
    };
    let rest = &json[at..];
    let key = format!("\"{field}\":\"");
    let Some(k) = rest.find(&key) else {
        return "-".into();
    };
    rest[k + key.len()..]
        .chars()
        .take_while(|c| *c != '"')
        .collect()
}

fn proc_field(pid: u32, name: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

fn dir_bytes(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(rd) = std::fs::read_dir(path) else { return 0 };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// Allocated bytes of the store's journals (`*.jnl` at the top of `cache/`).
fn journal_bytes(store: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(rd) = std::fs::read_dir(store) else { return 0 };
    rd.flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "jnl"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.blocks() * 512)
        .sum()
}

/// The number just before `text` in `json` (the warning "N disk writes dropped …").
fn number_before(json: &str, text: &str) -> u64 {
    let Some(at) = json.find(text) else { return 0 };
    let digits: String = json[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().unwrap_or(0)
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn rate(hits: u64, misses: u64) -> f64 {
    if hits + misses == 0 {
        0.0
    } else {
        hits as f64 / (hits + misses) as f64
    }
}

fn main() {
    let a = Arc::new(args());
    let stop = Arc::new(AtomicBool::new(false));
    let lat: Arc<Mutex<Vec<u32>>> = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let total = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for i in 0..a.conns {
        let (a, stop, lat, errors, total) =
            (a.clone(), stop.clone(), lat.clone(), errors.clone(), total.clone());
        workers.push(std::thread::spawn(move || {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1) * 0x1000_0001);
            let token = &a.tokens[i % a.tokens.len()];
            let mut extra = format!("X-Plex-Token: {token}\r\nX-Plex-Client-Identifier: soak-{i}\r\n");
            if i % 2 == 0 {
                extra.push_str("Accept: application/json\r\n");
            }
            if i % 4 < 2 {
                extra.push_str("Accept-Encoding: gzip\r\n");
            }
            let mut conn: Option<BufReader<TcpStream>> = None;
            while !stop.load(Ordering::Relaxed) {
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => match TcpStream::connect(&a.proxy) {
                        Ok(s) => {
                            let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
                            let _ = s.set_nodelay(true);
                            conn.insert(BufReader::with_capacity(64 * 1024, s))
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(100));
                            continue;
                        }
                    },
                };
                let (method, target) = pick_request(&mut rng, a.items);
                let t = Instant::now();
                let r = exchange(c, &a.proxy, method, &target, &extra);
                let us = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
                total.fetch_add(1, Ordering::Relaxed);
                match r {
                    Ok(status) if status < 500 => {
                        lat.lock().unwrap().push(us);
                    }
                    Ok(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        conn = None;
                    }
                }
            }
        }));
    }
    println!(
        "t_s,rss_mib,rss_anon_mib,rss_shmem_mib,heap_allocated_mib,heap_active_mib,heap_resident_mib,fds,threads,data_dir_mib,journal_mib,store_mib,library_mib,req_per_s,p50_ms,p99_ms,errors,mem_hit_rate,disk_hit_rate,mem_mib,disk_mib,dropped_writes,write_queue_kib,index_state,index_items"
    );
    let started = Instant::now();
    let data_dir = std::path::PathBuf::from(&a.data_dir);
    // The directory every second as well: a compaction's new files live beside the old ones
    // for about a second, which ten-second samples mostly miss.
    let every_second = {
        let (stop, dir) = (stop.clone(), data_dir.clone());
        let bound = a.disk_max + a.disk_max / 10;
        std::thread::spawn(move || {
            let (mut peak, mut over, mut n) = (0u64, 0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                let b = dir_bytes(&dir);
                (peak, n) = (peak.max(b), n + 1);
                over += u64::from(bound > 0 && b > bound);
            }
            (peak, over, n)
        })
    };
    let mut last_total = 0u64;
    let mut last_at = started;
    let (mut max_rss, mut max_dir, mut all_errors) = (0u64, 0u64, 0u64);
    // Bytes, for the bound: disk_max + 10 %.
    let (mut max_dir_bytes, mut over_samples, mut samples) = (0u64, 0u64, 0u64);
    let bound = a.disk_max + a.disk_max / 10;
    let (mut last_dropped, mut first_drop_at) = (0u64, None::<u64>);
    let mut p99s = Vec::new();
    let mut last_line = String::new();
    let mut index_done_at: Option<u64> = None;
    while started.elapsed() < Duration::from_secs(a.secs) {
        std::thread::sleep(Duration::from_secs(a.interval));
        let now = Instant::now();
        let mut l = std::mem::take(&mut *lat.lock().unwrap());
        l.sort_unstable();
        let t = total.load(Ordering::Relaxed);
        let rps = (t - last_total) as f64 / now.duration_since(last_at).as_secs_f64();
        (last_total, last_at) = (t, now);
        let rss = proc_field(a.pid, "VmRSS:") / 1024;
        // Anonymous memory is the heap; shared memory is the answers' sendfile copies (memfds).
        let rss_anon = proc_field(a.pid, "RssAnon:") / 1024;
        let rss_shmem = proc_field(a.pid, "RssShmem:") / 1024;
        let threads = proc_field(a.pid, "Threads:");
        let dir_b = dir_bytes(&data_dir);
        let dir = dir_b / (1024 * 1024);
        let store = data_dir.join("cache");
        let journal = journal_bytes(&store) / (1024 * 1024);
        let store_mib = dir_bytes(&store) / (1024 * 1024);
        let library = dir_bytes(&data_dir.join("library")) / (1024 * 1024);
        samples += 1;
        max_dir_bytes = max_dir_bytes.max(dir_b);
        if a.disk_max > 0 && dir_b > bound {
            over_samples += 1;
        }
        let stats = fetch(&a.admin, "GET", "/api/stats").unwrap_or_default();
        let mem_hits = number_in(&stats, "\"memory\":{", "hits");
        let mem_misses = number_in(&stats, "\"memory\":{", "misses");
        let disk_hits = number_in(&stats, "\"disk\":{", "hits");
        let disk_misses = number_in(&stats, "\"disk\":{", "misses");
        let mem_bytes = number_in(&stats, "\"memory\":{", "bytes") / (1024 * 1024);
        let disk_bytes = number_in(&stats, "\"disk\":{", "bytes") / (1024 * 1024);
        // The allocator's account (0 when the binary's allocator cannot say): the live heap,
        // the pages holding it, what it keeps resident.
        let heap = |kind| number_in(&stats, "\"allocator\":{", kind) / (1024 * 1024);
        let (allocated, active, resident) = (heap("allocated"), heap("active"), heap("resident"));
        // Dropped writes show only in a warning of /api/stats ("N disk writes dropped …").
        let dropped = number_before(&stats, " disk writes dropped").max(last_dropped);
        let dropped_now = dropped - last_dropped;
        last_dropped = dropped;
        let queue_kib = number_in(&stats, "\"memory\":{", "write_queue_used") / 1024;
        let index_state = string_in(&stats, "\"index\":[", "state");
        let index_items = number_in(&stats, "\"index\":[", "items");
        let elapsed = started.elapsed().as_secs();
        if dropped_now > 0 && first_drop_at.is_none() {
            first_drop_at = Some(elapsed);
        }
        if index_state == "ready" && index_done_at.is_none() {
            index_done_at = Some(elapsed);
        }
        let errs = errors.swap(0, Ordering::Relaxed);
        all_errors += errs;
        max_rss = max_rss.max(rss);
        max_dir = max_dir.max(dir);
        let p99 = pct(&l, 0.99);
        p99s.push(p99);
        last_line = format!(
            "{elapsed},{rss},{rss_anon},{rss_shmem},{allocated},{active},{resident},{},{threads},{dir},{journal},{store_mib},{library},{rps:.0},{:.2},{p99:.2},{errs},{:.3},{:.3},{mem_bytes},{disk_bytes},{dropped_now},{queue_kib},{index_state},{index_items}",
            fds(a.pid),
            pct(&l, 0.5),
            rate(mem_hits, mem_misses),
            rate(disk_hits, disk_misses),
        );
        println!("{last_line}");
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let n = total.load(Ordering::Relaxed);
    eprintln!(
        "summary: {n} requests in {} s ({:.0}/s), {all_errors} errors; peak RSS {max_rss} MiB; peak data dir {max_dir} MiB; worst interval p99 {:.1} ms; index ready after {}; last sample: {last_line}",
        a.secs,
        n as f64 / started.elapsed().as_secs_f64(),
        p99s.iter().copied().fold(0.0, f64::max),
        index_done_at.map_or("never (not within the run)".to_string(), |s| format!("{s} s")),
    );
    eprintln!(
        "dropped writes: {last_dropped} in all{}",
        first_drop_at.map_or(String::new(), |s| format!(", the first in the interval ending at {s} s")),
    );
    if a.disk_max > 0 {
        let mib = |b: u64| b as f64 / 1_048_576.0;
        let verdict = |over: u64, n: u64| {
            if over == 0 {
                format!("within at all {n} samples")
            } else {
                format!("OVER at {over} of {n} samples")
            }
        };
        eprintln!(
            "data dir: peak {:.1} MiB against disk_max {:.0} MiB + 10 % = {:.1} MiB ({:.2}x disk_max): {}",
            mib(max_dir_bytes),
            mib(a.disk_max),
            mib(bound),
            max_dir_bytes as f64 / a.disk_max as f64,
            verdict(over_samples, samples),
        );
        let (peak, over, n) = every_second.join().unwrap_or((0, 0, 0));
        eprintln!(
            "data dir, sampled every second: peak {:.1} MiB ({:.2}x disk_max): {}",
            mib(peak),
            peak as f64 / a.disk_max as f64,
            verdict(over, n),
        );
    }
}
