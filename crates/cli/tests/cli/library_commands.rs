//! `cachearr index` and `cachearr match` as a user runs them: real processes, real files.

use std::path::Path;
use std::process::Command;

fn cachearr(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("cachearr runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("cachearr-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn build_a_snapshot_search_it_and_match_a_playlist_against_it() {
    let dir = TempDir::new("index");
    let snapshot = dir.path().join("library.idx");
    let (ok, _, err) = cachearr(&[
        "index",
        "build",
        "--sim-tracks",
        "3000",
        "--sim-seed",
        "5",
        "--out",
        path(&snapshot),
    ]);
    assert!(ok, "{err}");

    let (ok, out, err) = cachearr(&["index", "status", "--index", path(&snapshot), "--json"]);
    assert!(ok, "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["tracks"], 3000);

    // Pick two tracks from the index itself, then ask for them with messy spellings.
    let (ok, out, err) = cachearr(&[
        "index",
        "search",
        "--index",
        path(&snapshot),
        "--kind",
        "track",
        "--limit",
        "400",
        "--json",
        "e",
    ]);
    assert!(ok, "{err}");
    let hits: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let plain: Vec<&serde_json::Value> = hits
        .iter()
        .filter(|hit| {
            let title = hit["title"].as_str().unwrap_or("");
            !title.contains('(') && !title.contains(" - ") && title.len() > 8
        })
        .take(2)
        .collect();
    assert_eq!(plain.len(), 2, "the library has plain titles");
    let mut csv = String::from("Artist Name(s),Track Name\n");
    for hit in &plain {
        let title = hit["title"].as_str().unwrap().to_uppercase();
        csv.push_str(&format!(
            "\"{}\",\"{title}\"\n",
            hit["artist"].as_str().unwrap()
        ));
    }
    csv.push_str("Nobody Known,Zzyzx Qwerty Unfindable\n");
    let playlist = dir.path().join("list.csv");
    std::fs::write(&playlist, csv).unwrap();

    let (ok, out, err) = cachearr(&[
        "match",
        path(&playlist),
        "--index",
        path(&snapshot),
        "--json",
    ]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let entries = report["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for (entry, hit) in entries.iter().zip(&plain) {
        // The right track or an identical copy (same title and artist, e.g. the lossless one).
        assert_ne!(entry["band"], "reject", "{entry}");
        assert_eq!(
            entry["best"]["title"].as_str(),
            hit["title"].as_str(),
            "{entry}"
        );
    }
    assert_ne!(entries[2]["band"], "accept", "{}", entries[2]);
    assert_eq!(report["summary"]["entries"], 3);

    // Only section 4 visible: nothing from section 1 may come back.
    let (ok, out, _) = cachearr(&[
        "match",
        path(&playlist),
        "--index",
        path(&snapshot),
        "--sections",
        "4",
        "--json",
    ]);
    assert!(ok);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    for entry in report["entries"].as_array().unwrap() {
        if let Some(section) = entry["best"]["section"].as_str() {
            assert_eq!(section, "4", "{entry}");
        }
    }
}

#[test]
fn helpful_errors_for_missing_inputs() {
    let (ok, _, err) = cachearr(&["match", "/no/such/file.csv", "--sim-tracks", "10"]);
    assert!(!ok);
    assert!(err.contains("reading the playlist"), "{err}");
    let dir = TempDir::new("errors");
    let playlist = dir.path().join("x.m3u");
    std::fs::write(&playlist, "#EXTM3U\n#EXTINF:100,A - B\nb.mp3\n").unwrap();
    let (ok, _, err) = cachearr(&["match", path(&playlist)]);
    assert!(!ok);
    assert!(
        err.contains("--index PATH") && err.contains("--sim-tracks"),
        "{err}"
    );
    let garbage = dir.path().join("garbage.idx");
    std::fs::write(&garbage, "not an index").unwrap();
    let (ok, _, err) = cachearr(&["match", path(&playlist), "--index", path(&garbage)]);
    assert!(!ok);
    assert!(err.contains("not a cachearr library snapshot"), "{err}");
}
