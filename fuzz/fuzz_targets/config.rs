//! The configuration file and the value parsers behind it (durations, byte sizes, upstream
//! URLs): any text is a config or an error with a message, never a panic.
// libFuzzer's driver is the program's `main`; without it (the workspace's own builds) the
// target is a program that does nothing.
#![cfg_attr(feature = "libfuzzer", no_main)]
#[cfg(not(feature = "libfuzzer"))]
fn main() {}

use cachearr_config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = Config::from_toml(text, "fuzz.toml") {
        let _ = config.check_runnable();
    }
    let _ = cachearr_config::parse_duration(text);
    let _ = cachearr_config::parse_byte_size(text);
    let _ = cachearr_config::parse_upstream_url(text);
});
