//! Integration tests of the cache engine: behaviour through the public API only.

// Tests may unwrap: a panic is a failed test with its message.
#![allow(clippy::unwrap_used)]

mod common;
mod context;
mod disk;
mod faults;
mod memory;
mod model;
mod recovery;
mod refresh;
