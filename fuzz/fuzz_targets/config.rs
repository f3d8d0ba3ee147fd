//! The configuration file and the value parsers behind it (durations, byte sizes, upstream
//! URLs): any text is a config or an error with a message, never a panic.
#![no_main]

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
