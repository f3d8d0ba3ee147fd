//! Integration tests of the cache engine, one test binary (`cargo nextest run -p
//! cachearr-engine --test engine`): behaviour through the public API only, one module per
//! part; `redis_tier` against real `redis-server` processes.

// Tests may unwrap: a panic is a failed test with its message.
#![allow(clippy::unwrap_used)]

mod common;
mod context;
mod disk;
mod faults;
mod lease;
mod memory;
mod model;
mod recovery;
mod redis_tier;
mod refresh;
