//! Benchmark: a Plex search answered from the library index vs the same search sent to the
//! server, side by side in one run (docs/benchmarks.md "Searches answered from the index").
//!
//! One simulated Plex server; two gateways in front of it — one with the index installed
//! (built from the simulator's library, as a crawl would), one without (its searches go to
//! the server; every query is distinct, so none is a cache hit) — and the server directly.
//! For each query the three are asked in turn (rotating which goes first), sequentially, and
//! the latencies are reported as median and p99 per path.
//!
//! ```sh
//! cargo run --release -p cachearr-gateway --example index_search_bench -- \
//!     --tracks 20000 --queries 300 --cost zero
//! cargo run --release -p cachearr-gateway --example index_search_bench -- \
//!     --tracks 20000 --queries 100 --cost realistic
//! ```
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]
#![allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]

use cachearr_copy::GatewayLibrary as _;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cachearr_config::Config;
use cachearr_copy::upstream_index::elements::fill_kept;
use cachearr_dialect::Profile;
use cachearr_gateway::Gateway;
use cachearr_library::LibraryIndex;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|at| args.get(at + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

async fn gateway(base_url: &str) -> (Gateway, String, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = Config::single(Profile::Plex, base_url, any).unwrap();
    config.admin_listen = any;
    config.data_dir = data.path().to_path_buf();
    config.upstreams[0].guard.read_timeout = Duration::from_secs(120);
    let gw = cachearr_copy::builder(config).build().await.unwrap();
    let bound = gw.bind().await.unwrap();
    let url = format!("http://{}", bound.proxy_addrs()[0].1);
    tokio::spawn(bound.serve(cachearr_admin::router, std::future::pending()));
    (gw, url, data)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let tracks: u32 = arg("--tracks", "20000").parse().unwrap();
    let n: usize = arg("--queries", "300").parse().unwrap();
    let cost = match arg("--cost", "zero").as_str() {
        "realistic" => CostModel::realistic(Duration::from_millis(10)),
        _ => CostModel::zero(),
    };
    let sim = Sim::builder()
        .tracks(tracks)
        .movies(tracks / 20)
        .shows(tracks / 1000)
        .seed(1)
        .cost(cost)
        .build()
        .unwrap();
    let server = sim.start_plex_test_server().await.unwrap();
    let token = server.token.clone();
    let (with_index, with_url, _d1) = gateway(&server.base_url).await;
    let (_without, without_url, _d2) = gateway(&server.base_url).await;
    let (records, titles): (Vec<_>, Vec<String>) = {
        let lib = sim.library();
        let records: Vec<_> = cachearr_library::sim::records(&lib).collect();
        let titles = records.iter().map(|r| r.title.clone()).collect();
        (records, titles)
    };
    let t = Instant::now();
    let index = LibraryIndex::build(&records).unwrap();
    println!(
        "library: {} items ({} tracks asked), index built in {:.2} s",
        index.len(),
        tracks,
        t.elapsed().as_secs_f64()
    );
    with_index.index("plex").unwrap().install(Arc::new(index));
    keep_elements(&with_index, &server.base_url, &token).await;

    let queries = distinct_queries(&titles, n);
    let client = reqwest::Client::new();
    let bases = [
        with_url.as_str(),
        without_url.as_str(),
        server.base_url.as_str(),
    ];
    // Warm-up: the first index answer folds the titles; the visibility entry gets cached.
    for q in ["warm", "up"] {
        for p in paths(q) {
            for base in bases {
                let _ = client
                    .get(format!("{base}{p}"))
                    .header("X-Plex-Token", &token)
                    .header("Accept", "application/json")
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await;
            }
        }
    }
    for (route, label) in [(0, "section search"), (1, "hubs/search")] {
        let (mut times, from_index) = measure(&client, bases, &token, &queries, route).await;
        println!(
            "\n{label}: {} distinct queries, {from_index} answered from the index",
            queries.len()
        );
        print_latencies(&mut times);
    }
    let stats = sim.stats();
    println!("\nserver requests in all: {}", stats.total);
}

/// `n` distinct queries: 3–6 letter pieces of titles (what a search box sends).
fn distinct_queries(titles: &[String], n: usize) -> BTreeSet<String> {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut queries = BTreeSet::new();
    while queries.len() < n {
        let t: Vec<char> = titles[rng.usize(..titles.len())].chars().collect();
        let a = rng.usize(..t.len());
        let b = (a + rng.usize(3..7)).min(t.len());
        let q: String = t[a..b].iter().collect();
        if q.trim().chars().count() >= 3 {
            queries.insert(q.trim().to_string());
        }
    }
    queries
}

/// The two search routes for query `q`: a section's search and the hubs search.
fn paths(q: &str) -> [String; 2] {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    [
        format!("/library/sections/1/search?type=10&query={q}"),
        format!("/hubs/search?query={q}&limit=10"),
    ]
}

/// Asks every query of search `route` of each base in turn (rotating which goes first): the
/// latencies in ms per base, and how many the first base answered from its index.
async fn measure(
    client: &reqwest::Client,
    bases: [&str; 3],
    token: &str,
    queries: &BTreeSet<String>,
    route: usize,
) -> ([Vec<f64>; 3], usize) {
    let mut times: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut from_index = 0;
    for (i, q) in queries.iter().enumerate() {
        let path = &paths(q)[route];
        for k in 0..3 {
            let which = (i + k) % 3;
            let t = Instant::now();
            let resp = client
                .get(format!("{}{path}", bases[which]))
                .header("X-Plex-Token", token)
                .header("Accept", "application/json")
                .send()
                .await
                .unwrap();
            let indexed = resp
                .headers()
                .get("cache-status")
                .is_some_and(|v| v.to_str().unwrap_or("").contains("detail=index"));
            let _ = resp.bytes().await.unwrap();
            times[which].push(t.elapsed().as_secs_f64() * 1000.0);
            if which == 0 && indexed {
                from_index += 1;
            }
        }
    }
    (times, from_index)
}

/// Median and p99 per path, and the medians' ratios to the index's.
fn print_latencies(times: &mut [Vec<f64>; 3]) {
    let names = [
        "index (cachearr)",
        "proxied (cachearr, no index)",
        "direct (server)",
    ];
    println!("{:<30} {:>10} {:>10}", "path", "median ms", "p99 ms");
    let mut medians = [0.0; 3];
    for (k, name) in names.iter().enumerate() {
        times[k].sort_by(f64::total_cmp);
        medians[k] = percentile(&times[k], 0.5);
        println!(
            "{name:<30} {:>10.2} {:>10.2}",
            medians[k],
            percentile(&times[k], 0.99)
        );
    }
    println!(
        "median ratio: proxied / index = {:.1}x, direct / index = {:.1}x",
        medians[1] / medians[0],
        medians[2] / medians[0]
    );
}

/// Keeps the server's listing element of every item in the gateway's element store, as its
/// crawl would (Plex answers from the index are written from them).
async fn keep_elements(gw: &Gateway, base: &str, token: &str) {
    let store = gw.index("plex").unwrap().elements().unwrap().clone();
    let client = reqwest::Client::new();
    fill_kept(&store, Profile::Plex, |path| {
        let get = client
            .get(format!("{base}{path}"))
            .header("X-Plex-Token", token)
            .header("Accept", "application/json");
        async move { get.send().await.unwrap().bytes().await.unwrap() }
    })
    .await
    .unwrap();
}
