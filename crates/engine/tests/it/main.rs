//! Integration tests of the cache engine: behaviour through the public API only.

mod common;
mod disk;
mod memory;
