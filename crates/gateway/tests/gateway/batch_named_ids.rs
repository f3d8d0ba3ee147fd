//! Emby for Kodi's lookups through the gateway: after a library's songs, each artist a song
//! names that is not synced yet is read by `/Users/{uid}/Items?Ids={id}&Fields=…`, one at a
//! time in the songs' order. Those reads are a walk of the ids the page names in
//! `ArtistItems` (Emby's `WalkBatch::parent_names`): the server is asked a few batched
//! requests, not one per artist, and every answer is, byte for byte, the server's own.
//! Real HTTP over loopback against the simulator's Emby.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use crate::support::emby_sync::EmbySync;

use serde_json::Value;

/// The fields the add-on asks of an artist (`emby/api.py` `EmbyFields["musicartist"]`).
const ARTIST_FIELDS: &str = "Genres,SortName,ProductionYear,DateCreated,ProviderIds,Overview,Path,\
                             PresentationUniqueKey,UserDataPlayCount,UserDataLastPlayedDate";

type Sync = EmbySync;

#[allow(clippy::multiple_inherent_impl)]
impl EmbySync {
    /// The music library's songs through the gateway, as the add-on lists them: the ids of
    /// the artists they name that are no library artist, distinct, in the songs' order.
    async fn named_artists(&self) -> Vec<String> {
        let (_, _, views) = self
            .get(&self.via(), &format!("/Users/{}/Views", self.user))
            .await;
        let views: Value = serde_json::from_slice(&views).unwrap();
        let music = views["Items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["CollectionType"] == "music")
            .map(|v| v["Id"].as_str().unwrap().to_owned())
            .unwrap();
        let listing = |kind: &str| {
            format!(
                "/Users/{}/Items?EnableTotalRecordCount=False&Recursive=True&Limit=20000\
                 &Fields=Genres%2CSortName&IncludeItemTypes={kind}&ParentId={music}&StartIndex=0",
                self.user
            )
        };
        let (_, _, artists) = self.get(&self.via(), &listing("MusicArtist")).await;
        let artists: Value = serde_json::from_slice(&artists).unwrap();
        let synced: Vec<&Value> = artists["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["Id"])
            .collect();
        let (status, _, songs) = self.get(&self.via(), &listing("Audio")).await;
        assert_eq!(status, 200);
        let songs: Value = serde_json::from_slice(&songs).unwrap();
        let mut named: Vec<String> = Vec::new();
        for song in songs["Items"].as_array().unwrap() {
            for artist in song["ArtistItems"].as_array().unwrap() {
                let id = artist["Id"].as_str().unwrap().to_owned();
                if !synced.contains(&&artist["Id"]) && !named.contains(&id) {
                    named.push(id);
                }
            }
        }
        named
    }

    fn lookup(id: &str) -> String {
        format!(
            "/Users/{{uid}}/Items?Ids={id}&Fields={ARTIST_FIELDS}&EnableTotalRecordCount=False\
             &LocationTypes=FileSystem%2CRemote%2COffline"
        )
    }
}

#[tokio::test]
async fn emby_lookups_of_the_artists_songs_name_are_batched_into_the_servers_answers() {
    let sync = Sync::start((300, 4, 1), 7).await;
    let named = sync.named_artists().await;
    assert!(
        named.len() >= 10,
        "{} artists known by name only",
        named.len()
    );
    let before = sync.item_requests();
    let mut got = Vec::new();
    for id in &named {
        let read = Sync::lookup(id).replace("{uid}", &sync.user);
        let (status, _, body) = sync.get(&sync.via(), &read).await;
        assert_eq!(status, 200, "{read}");
        got.push((read, body));
    }
    let asked = sync.item_requests() - before;
    // The first single read starts the batch of the rest (at most 200 items a batch).
    assert!(
        asked <= 2 + named.len() as u64 / 200,
        "{asked} server requests for {} lookups: {:?}",
        named.len(),
        sync.gw.gateway.batcher().report()
    );
    let stats = &sync.gw.gateway.batcher().stats;
    assert_eq!(stats.refused.load(std::sync::atomic::Ordering::Relaxed), 0);
    for (read, body) in &got {
        let (status, _, direct) = sync.get(&sync.srv.base_url, read).await;
        assert_eq!(status, 200, "{read}");
        let found: Value = serde_json::from_slice(&direct).unwrap();
        assert_eq!(found["Items"].as_array().map(Vec::len), Some(1), "{read}");
        assert!(
            *body == direct,
            "{read}: the gateway's answer is not the server's\n{}\n---\n{}",
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(&direct)
        );
    }
}

/// The artists the add-on listed it has synced, and never looks up: a batch of the artists
/// the songs name reads only those it did not list, so the server returns no item nobody
/// asks for (every part stored is one of the add-on's lookups).
#[tokio::test]
async fn emby_lookups_batch_only_the_artists_the_client_did_not_list() {
    let sync = Sync::start((300, 4, 1), 7).await;
    let named = sync.named_artists().await;
    for id in &named {
        let read = Sync::lookup(id).replace("{uid}", &sync.user);
        let (status, _, _) = sync.get(&sync.via(), &read).await;
        assert_eq!(status, 200, "{read}");
    }
    let stats = &sync.gw.gateway.batcher().stats;
    let stored = stats
        .parts_stored
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        (1..=named.len() as u64).contains(&stored),
        "{stored} parts stored for {} lookups",
        named.len()
    );
}

/// Emby's ids are short numbers: a batch holds up to 200 of them, so the well over 100
/// artists known by name alone that a large library's songs name are read in one batch
/// after the single lookup that starts it (a single answer's frame names nothing of its
/// item, so one proves the batch: `WalkBatch::single_frame_fixed`).
#[tokio::test]
async fn emby_lookups_of_over_a_hundred_artists_are_one_batch() {
    let sync = Sync::start((5000, 4, 1), 4).await;
    let named = sync.named_artists().await;
    assert!(
        (101..=200).contains(&named.len()),
        "{} artists known by name only",
        named.len()
    );
    let before = sync.item_requests();
    for id in &named {
        let read = Sync::lookup(id).replace("{uid}", &sync.user);
        let (status, _, _) = sync.get(&sync.via(), &read).await;
        assert_eq!(status, 200, "{read}");
    }
    let asked = sync.item_requests() - before;
    assert_eq!(
        asked,
        2,
        "one single lookup and one batch: {:?}",
        sync.gw.gateway.batcher().report()
    );
}
