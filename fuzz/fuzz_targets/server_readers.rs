//! What cachearr reads from the media server's answers: Plex XML and JSON (play state,
//! prefetch listings), each dialect's readers of its library (sections, pages, totals, a
//! user's sections). The server is trusted
//! to be the server, not to be well-formed: any body is read or skipped, never a panic.
// libFuzzer's driver is the program's `main`; without it (the workspace's own builds) the
// target is a program that does nothing.
#![cfg_attr(feature = "libfuzzer", no_main)]
#[cfg(not(feature = "libfuzzer"))]
fn main() {}

use cachearr_dialect::Trigger;
use cachearr_dialect::plex::user_state::PlayState;
use cachearr_dialect::{self as dialect, Profile};
use cachearr_gateway::prefetch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = PlayState::from_body(data, "42");
    for profile in [Profile::Plex, Profile::Jellyfin] {
        for trigger in [Trigger::Seasons, Trigger::ContinueWatching] {
            let _ = prefetch::follow_ups(
                profile,
                trigger,
                "/Shows/abc/Seasons",
                Some("userId=0123456789abcdef0123456789abcdef"),
                data,
                8,
            );
        }
    }
    for profile in [Profile::Plex, Profile::Jellyfin] {
        let library = dialect::of(profile).library();
        let _ = library.parse_user_sections(data);
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
            let _ = library.parse_sections(&value);
            let _ = library.listing_total(&value);
            let _ = library.parse_items(&value, Some("1"));
            let _ = library.parse_items(&value, None);
        }
    }
});
