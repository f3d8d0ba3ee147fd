//! Simulator benchmarks (not a test): library generation time and memory, and a server to put
//! load on. `bench/sim.sh` drives it; see docs/benchmarks.md "Simulator".
//!
//! ```text
//! sim_bench generate [TRACKS…]   median of 3 runs per size, each in a fresh child process
//! sim_bench child TRACKS         one measurement (used by `generate`), prints one JSON line
//! sim_bench serve TRACKS         serves Plex with zero cost on 127.0.0.1:0; prints URL and token
//! ```

#![allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]

use std::process::Command;
use std::time::Instant;

use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library::{Library, LibraryConfig};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn child(tracks: u32) {
    let before = rss_kib();
    let started = Instant::now();
    let lib = Library::generate(LibraryConfig {
        tracks,
        movies: 0,
        shows: 0,
        seed: 1,
    });
    let elapsed = started.elapsed();
    let after = rss_kib();
    println!(
        "{{\"tracks\":{tracks},\"items\":{},\"ms\":{:.1},\"rss_delta_mib\":{:.1},\"heap_estimate_mib\":{:.1}}}",
        lib.len(),
        elapsed.as_secs_f64() * 1e3,
        after.saturating_sub(before) as f64 / 1024.0,
        lib.heap_bytes() as f64 / (1024.0 * 1024.0)
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn generate(sizes: &[u32]) {
    let exe = std::env::current_exe().expect("own path");
    println!(
        "| tracks | items | generation (median of 3) | RSS growth | heap estimate | bytes per item |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let mut ms = Vec::new();
        let mut rss = Vec::new();
        let mut heap = 0.0;
        let mut items = 0.0;
        for _ in 0..3 {
            let out = Command::new(&exe)
                .arg("child")
                .arg(n.to_string())
                .output()
                .expect("child");
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("child output");
            ms.push(v["ms"].as_f64().unwrap_or(0.0));
            rss.push(v["rss_delta_mib"].as_f64().unwrap_or(0.0));
            heap = v["heap_estimate_mib"].as_f64().unwrap_or(0.0);
            items = v["items"].as_f64().unwrap_or(0.0);
        }
        let rss = median(rss);
        println!(
            "| {n} | {items} | {:.0} ms | {rss:.1} MiB | {heap:.1} MiB | {:.0} |",
            median(ms),
            rss * 1024.0 * 1024.0 / items.max(1.0)
        );
    }
}

fn serve(tracks: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sim = Sim::builder()
            .tracks(tracks)
            .movies(500)
            .shows(50)
            .seed(1)
            .cost(CostModel::zero())
            .build()
            .expect("sim");
        let srv = sim.start_plex_test_server().await.expect("serve");
        println!("{} {}", srv.base_url, srv.token);
        std::future::pending::<()>().await;
    });
}

/// Like `serve`, for the Jellyfin front end: prints `URL TOKEN MUSIC_VIEW_ID ITEM_ID`.
fn serve_jellyfin(tracks: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sim = Sim::builder()
            .tracks(tracks)
            .movies(500)
            .shows(50)
            .seed(1)
            .cost(CostModel::zero())
            .build()
            .expect("sim");
        let options = cachearr_sim::jellyfin::JellyfinOptions::default();
        let srv = sim
            .start_jellyfin_test_server(options)
            .await
            .expect("serve");
        let view = cachearr_sim::jellyfin::view_id(cachearr_sim::library::MUSIC_SECTION);
        let item = sim
            .library()
            .item(5000)
            .map(|i| i.guid_id())
            .expect("item 5000");
        println!("{} {} {view} {item}", srv.base_url, srv.token);
        std::future::pending::<()>().await;
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: u32| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("child") => child(num(1, 10_000)),
        Some("serve") => serve(num(1, 100_000)),
        Some("serve-jellyfin") => serve_jellyfin(num(1, 100_000)),
        Some("generate") => {
            let sizes: Vec<u32> = args[1..].iter().filter_map(|s| s.parse().ok()).collect();
            generate(if sizes.is_empty() {
                &[10_000, 100_000, 1_000_000]
            } else {
                &sizes
            });
        }
        _ => eprintln!(
            "usage: sim_bench generate [TRACKS…] | child TRACKS | serve TRACKS | serve-jellyfin TRACKS"
        ),
    }
}
