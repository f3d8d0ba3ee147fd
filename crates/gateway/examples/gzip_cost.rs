//! What a gzip copy costs to make: compression time and ratio of real listing bodies (the
//! simulator's Plex XML and JSON at the sizes the gateway sees), at the level cachearr uses (6)
//! beside levels 1 and 9, with the backend the gateway is built with (flate2's default,
//! miniz_oxide), and the time of the body hash behind each `ETag` (XXH3-128).
//!
//! The numbers choose `prepared::INLINE_MAX` (bodies compressed on the request's own task) and
//! are in docs/benchmarks.md, "Gzip answers".
//!
//! ```text
//! cargo run --release -p cachearr-gateway --example gzip_cost
//! ```
#![allow(clippy::unwrap_used)]
#![allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]

use std::io::Write as _;
use std::time::{Duration, Instant};

use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library::ItemKind;

fn gzip(body: &[u8], level: u32) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new().mtime(0).write(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::new(level),
    );
    enc.write_all(body).unwrap();
    enc.finish().unwrap()
}

/// Median time of `f` over enough runs to fill about 300 ms.
fn time(mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    f();
    let once = t.elapsed().max(Duration::from_micros(1));
    let runs = (Duration::from_millis(300).as_nanos() / once.as_nanos()).clamp(5, 2001) as usize;
    let mut all: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    all.sort();
    all[all.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let sim = Sim::builder()
        .tracks(4000)
        .movies(20)
        .shows(2)
        .seed(7)
        .cost(CostModel::zero())
        .build()
        .unwrap();
    let srv = sim.start_plex_test_server().await.unwrap();
    let music = {
        let lib = srv.sim.library();
        lib.sections()
            .iter()
            .find(|s| !s.items(ItemKind::Track).is_empty())
            .unwrap()
            .id
    };
    let client = reqwest::Client::new();
    println!(
        "| body | bytes | level 1: µs, ratio | level 6: µs, MB/s, ratio | level 9: µs, ratio | XXH3-128: µs |"
    );
    println!("|---|---:|---|---|---|---:|");
    for (size, json) in [
        (30, true),
        (30, false),
        (100, true),
        (100, false),
        (1000, true),
        (4000, false),
    ] {
        let mut req = client
            .get(format!(
                "{}/library/sections/{music}/all?type=10&X-Plex-Container-Start=0&X-Plex-Container-Size={size}",
                srv.base_url
            ))
            .header("X-Plex-Token", &srv.token);
        if json {
            req = req.header("Accept", "application/json");
        }
        let body = req.send().await.unwrap().bytes().await.unwrap();
        let mut cells = Vec::new();
        for level in [1, 6, 9] {
            let out = gzip(&body, level);
            let t = time(|| {
                std::hint::black_box(gzip(std::hint::black_box(&body), level));
            });
            let ratio = out.len() as f64 / body.len() as f64;
            let us = t.as_secs_f64() * 1e6;
            cells.push(if level == 6 {
                format!(
                    "{us:.0}, {:.0}, {:.1} %",
                    body.len() as f64 / t.as_secs_f64() / 1e6,
                    ratio * 100.0
                )
            } else {
                format!("{us:.0}, {:.1} %", ratio * 100.0)
            });
        }
        let hash = time(|| {
            std::hint::black_box(xxhash_rust::xxh3::xxh3_128(std::hint::black_box(&body)));
        });
        println!(
            "| {size} tracks, {} | {} | {} | {:.1} |",
            if json { "JSON" } else { "XML" },
            body.len(),
            cells.join(" | "),
            hash.as_secs_f64() * 1e6
        );
    }
}
