//! The `cachearr` binary's integration tests, one test binary (`cargo nextest run -p cachearr
//! --test cli`): each module runs the real binary as a user or an installer would; nextest
//! runs each test in its own process.

mod connection_flood;
mod demo_once;
mod error_chain;
mod library_commands;
mod playlist_sync;
mod plexapi_suite;
mod serve_setup;
mod sim_command;
mod soak_bounds;
mod trace_logging;
mod webhook_urls;
