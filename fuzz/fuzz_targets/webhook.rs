//! Webhook payloads and notification frames: Plex's webhook JSON and websocket frames,
//! Jellyfin's webhook plugin JSON and websocket messages. Any input: an error or an event,
//! never a panic.
// libFuzzer's driver is the program's `main`; without it (the workspace's own builds) the
// target is a program that does nothing.
#![cfg_attr(feature = "libfuzzer", no_main)]
#[cfg(not(feature = "libfuzzer"))]
fn main() {}

use cachearr_dialect::jellyfin::events as jellyfin;
use cachearr_dialect::plex::events as plex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = plex::parse_webhook(data);
    let _ = jellyfin::parse_webhook(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let mut plays = plex::PlayStates::default();
        let _ = plex::parse_notification(text, &mut plays);
        // Twice with the same state: the second frame sees what the first remembered.
        let _ = plex::parse_notification(text, &mut plays);
        let mut user_data = jellyfin::UserDataStates::default();
        let _ = jellyfin::parse_socket_message(text, &mut user_data);
        let _ = jellyfin::parse_socket_message(text, &mut user_data);
    }
});
