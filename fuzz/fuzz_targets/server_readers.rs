//! What cachearr reads from the media server's answers: Plex XML and JSON (play state,
//! prefetch listings), the index crawl's Plex and Jellyfin JSON readers. The server is trusted
//! to be the server, not to be well-formed: any body is read or skipped, never a panic.
#![no_main]

use cachearr_gateway::Profile;
use cachearr_gateway::library::{crawl_jellyfin, crawl_plex, playstate::PlayState};
use cachearr_gateway::prefetch::{self, Trigger};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = PlayState::from_plex_body(data, "42");
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
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = crawl_plex::parse_sections(&value);
        let _ = crawl_plex::total_size(&value);
        let _ = crawl_plex::parse_items(&value, Some("1"));
        let _ = crawl_plex::parse_items(&value, None);
        let _ = crawl_jellyfin::parse_sections(&value);
        let _ = crawl_jellyfin::total_count(&value);
        let _ = crawl_jellyfin::parse_items(&value, "lib");
    }
});
