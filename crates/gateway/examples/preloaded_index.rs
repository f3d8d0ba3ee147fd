//! A gateway in front of a simulated Plex server whose library index is installed at start
//! from the simulator's own deterministic library (the records a crawl of it would produce),
//! for `bench/playlist-sync/run.sh` when the gateway's crawl cannot build the index (not on
//! this build, or turned off). Everything else is the real gateway: proxy, cache, search
//! answers, `/api/match`.
//!
//! ```sh
//! cargo run --release -p cachearr-gateway --example preloaded_index -- \
//!     SIM_URL PROXY_ADDR ADMIN_ADDR DATA_DIR TRACKS MOVIES SHOWS SEED
//! ```
//! TRACKS, MOVIES, SHOWS and SEED must be the simulator's (`cachearr sim --tracks … --seed …`).

#![allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use cachearr_copy::GatewayLibrary as _;
use std::sync::Arc;

use cachearr_config::Config;

use cachearr_dialect::Profile;
use cachearr_library::LibraryIndex;
use cachearr_sim::library::{Library, LibraryConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [sim, proxy, admin, data, tracks, movies, shows, seed] = args.as_slice() else {
        return Err(
            "usage: SIM_URL PROXY_ADDR ADMIN_ADDR DATA_DIR TRACKS MOVIES SHOWS SEED".into(),
        );
    };
    let mut config = Config::single(Profile::Plex, sim, proxy.parse()?)?;
    config.admin_listen = admin.parse()?;
    config.data_dir = data.into();
    // The index stays enabled (a disabled one is never answered from); it is installed below.
    // Plex answers from the index are written from the server's own item elements, which only
    // a crawl keeps (it needs the owner's token, which this example does not have): without
    // them Plex searches go to the server.
    let started = std::time::Instant::now();
    let library = Library::generate(LibraryConfig {
        tracks: tracks.parse()?,
        movies: movies.parse()?,
        shows: shows.parse()?,
        seed: seed.parse()?,
    });
    let records: Vec<_> = cachearr_library::sim::records(&library).collect();
    drop(library);
    let index = LibraryIndex::build(&records)?;
    eprintln!(
        "index of {} items built from the simulator's library in {:.1} s",
        index.len(),
        started.elapsed().as_secs_f64()
    );
    let gateway = cachearr_copy::builder(config).build().await?;
    if let Some(handle) = gateway.index("plex") {
        handle.install(Arc::new(index));
    }
    gateway
        .run(cachearr_admin::router, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
