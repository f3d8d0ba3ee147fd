//! Emby for Kodi's listings through the gateway: each kind of a library in one page of
//! thousands, then the page after it, which comes back empty. Once the upstream's first such
//! page proved the prediction (the server's answer equal to it byte for byte), the empty page
//! after a short one is stored ahead: the server is not asked it, and the client gets, byte for
//! byte, what the server answers. Real HTTP over loopback against the simulator's Emby.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use crate::support::emby_sync::EmbySync;

use serde_json::Value;

type Sync = EmbySync;

#[allow(clippy::multiple_inherent_impl)]
impl EmbySync {
    async fn music(&self) -> String {
        let (_, _, views) = self
            .get(&self.via(), &format!("/Users/{}/Views", self.user))
            .await;
        let views: Value = serde_json::from_slice(&views).unwrap();
        views["Items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["CollectionType"] == "music")
            .map(|v| v["Id"].as_str().unwrap().to_owned())
            .unwrap()
    }

    /// The add-on's page of `kind` at `start` (`emby/api.py` `get_Items`).
    fn page(&self, library: &str, kind: &str, start: usize) -> String {
        format!(
            "/Users/{}/Items?EnableTotalRecordCount=False&LocationTypes=FileSystem%2CRemote%2COffline\
             &Recursive=True&Limit=10000&Fields=SortName%2CGenres&IncludeItemTypes={kind}\
             &ParentId={library}&StartIndex={start}",
            self.user
        )
    }

    /// Reads `kind`'s two pages through the gateway: the server requests they cost, and the
    /// second page's `X-Cache` and body, checked against the server's own answer now.
    async fn walk(&self, library: &str, kind: &str) -> (u64, String) {
        let before = self.item_requests();
        let (status, _, first) = self.get(&self.via(), &self.page(library, kind, 0)).await;
        assert_eq!(status, 200);
        let first: Value = serde_json::from_slice(&first).unwrap();
        assert!(!first["Items"].as_array().unwrap().is_empty(), "{kind}");
        let next = self.page(library, kind, 10_000);
        let (status, x_cache, body) = self.get(&self.via(), &next).await;
        assert_eq!(status, 200);
        let asked = self.item_requests() - before;
        let (_, _, direct) = self.get(&self.srv.base_url, &next).await;
        assert!(
            body == direct,
            "{kind}: the gateway's answer is not the server's\n{}\n---\n{}",
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&direct)
        );
        let empty: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(empty["Items"].as_array().map(Vec::len), Some(0), "{kind}");
        (asked, x_cache)
    }
}

#[tokio::test]
async fn emby_the_empty_page_after_a_short_one_is_stored_ahead_once_proven() {
    let sync = Sync::start((120, 12, 2), 9).await;
    let music = sync.music().await;
    // The first is the proof: both pages go to the server.
    let (asked, _) = sync.walk(&music, "MusicArtist").await;
    assert_eq!(asked, 2);
    // Proven: the empty pages after the next listings' short ones cost nothing.
    for kind in ["MusicAlbum", "Audio"] {
        let (asked, x_cache) = sync.walk(&music, kind).await;
        assert_eq!(
            asked, 1,
            "{kind}: only the listing's page reached the server"
        );
        assert_eq!(x_cache, "HIT", "{kind}");
    }
}
