//! The `cachearr` binary: a thin clap front over the workspace crates.
//!
//! # Layout
//! Each subcommand lives in its own file under `commands/` with an `Args` struct (clap derive)
//! and an async `run` function. This file only parses arguments, sets up logging and maps
//! errors to exit codes: 0 success, 1 failure, 2 bad usage (clap's own).

mod commands;

use clap::Parser;

// jemalloc instead of glibc malloc. A cached hit allocates and frees a few dozen small blocks
// (request parts, headers, the key), and glibc's malloc/free were ~8 % of the hit path's CPU
// samples in a `perf` profile; jemalloc's thread caches make them cheaper. It is
// also the allocator that gives memory back: the memory tier replaces entries all the time,
// and with glibc or mimalloc RSS kept growing over a 15-minute soak (mimalloc 275 MiB, still
// rising, where jemalloc held 195 MiB; docs/benchmarks.md, "Soak"). It runs with one arena
// and gives pages back as soon as they are free (`.cargo/config.toml` sets both at build).
// The `system-allocator` feature keeps glibc's, for heap profilers that hook malloc
// (heaptrack): `cargo build --workspace --bins --features cachearr/system-allocator`.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's own counts for `/api/stats` (`memory.allocator`) and `/metrics`
/// (`cachearr_allocator_bytes`): the live heap against what it keeps resident.
#[cfg(not(feature = "system-allocator"))]
fn jemalloc_figures() -> Option<cachearr_gateway::allocator::AllocatorFigures> {
    use tikv_jemalloc_ctl::{epoch, stats};
    // The counts are cached per epoch: advancing it refreshes them.
    epoch::advance().ok()?;
    let read = |n: Result<usize, tikv_jemalloc_ctl::Error>| n.ok().map(|n| n as u64);
    Some(cachearr_gateway::allocator::AllocatorFigures {
        allocated: read(stats::allocated::read())?,
        active: read(stats::active::read())?,
        resident: read(stats::resident::read())?,
        metadata: read(stats::metadata::read())?,
        retained: read(stats::retained::read())?,
    })
}

/// cachearr: a caching gateway for Plex and Jellyfin APIs.
///
/// Point your tools at cachearr instead of the media server; it answers them from a tiered
/// cache (memory, disk, optionally Redis) and protects the server from floods of requests.
#[derive(Debug, Parser)]
#[command(name = "cachearr", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: commands::Command,
    /// What to log: error, warn, info, debug, trace, or a filter such as
    /// "info,cachearr_gateway=debug" [default: info, or RUST_LOG when set].
    #[arg(long, global = true, env = "CACHEARR_LOG_LEVEL", value_name = "LEVEL")]
    log_level: Option<String>,
    /// Log line format: "text" (colour only on a terminal; NO_COLOR turns it off) or "json"
    /// (one object per line, for log collectors).
    #[arg(long, global = true, env = "CACHEARR_LOG_FORMAT", value_name = "FORMAT",
          default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

/// How long a finished command waits for the runtime's remaining tasks before exiting.
const RUNTIME_SHUTDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

fn main() -> std::process::ExitCode {
    // No transparent huge pages for this process. With them the kernel backs each 2 MiB
    // range the allocator touches with a whole huge page and collapses sparsely used ranges
    // into full ones (khugepaged): under the memory tier's churn RSS grew well past the live
    // heap, and freed memory came back only to be filled again. Measured in the soak
    // (docs/benchmarks.md, "Soak"). Set before anything is allocated in earnest; it holds
    // for the whole process, whatever the system's THP mode. Failure (an old kernel) only
    // costs memory.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    #[cfg(not(feature = "system-allocator"))]
    cachearr_gateway::allocator::install_probe(jemalloc_figures);
    let cli = Cli::parse();
    if let Err(e) = commands::init_logging(cli.log_level.as_deref(), cli.log_format == "json") {
        eprintln!("error: {e}");
        return std::process::ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(cli.command.run());
    // A blocking task still running (a store's open, a file being read) would hold a plain
    // drop of the runtime, and the process with it, for as long as it runs: the command has
    // ended, so the process ends within half a minute whatever is left.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_LIMIT);
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
