//! `cachearr sim` as a user runs it: a real process serving both APIs on loopback.

use std::time::Duration;

use cachearr_testkit::http::json_answer;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn sim_serves_plex_and_jellyfin_and_prints_its_users() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args([
            "sim",
            "--plex-listen",
            "127.0.0.1:0",
            "--jellyfin-listen",
            "127.0.0.1:0",
        ])
        .args([
            "--tracks",
            "200",
            "--movies",
            "3",
            "--shows",
            "1",
            "--no-cost",
            "--json",
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cachearr runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    // A guard against a hang, not a timing assertion.
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the banner is printed")
        .expect("read")
        .expect("a line");
    let banner: serde_json::Value = serde_json::from_str(&line).expect("--json banner");
    let plex = banner["plex_url"].as_str().expect("plex url").to_string();
    let jellyfin = banner["jellyfin_url"]
        .as_str()
        .expect("jellyfin url")
        .to_string();
    let owner = &banner["users"][0];
    assert_eq!(owner["name"], "admin");
    let token = owner["plex_token"].as_str().expect("token");
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{plex}/library/sections"))
        .header("X-Plex-Token", token)
        .send()
        .await
        .expect("plex");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("body").contains("Music (Lossless)"));
    let r = client
        .get(format!("{plex}/library/sections"))
        .send()
        .await
        .expect("plex");
    assert_eq!(r.status(), 401);
    let r = client
        .get(format!("{jellyfin}/System/Info/Public"))
        .send()
        .await
        .expect("jellyfin");
    assert_eq!(r.status(), 200);
    child.kill().await.expect("stop");
}

#[tokio::test]
async fn sim_serves_jellyfin_12_and_emby_side_by_side() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args([
            "sim",
            "--plex-listen",
            "127.0.0.1:0",
            "--jellyfin-listen",
            "127.0.0.1:0",
        ])
        .args([
            "--jellyfin-version",
            "12.0.0",
            "--emby-listen",
            "127.0.0.1:0",
        ])
        .args([
            "--tracks",
            "50",
            "--movies",
            "2",
            "--shows",
            "1",
            "--no-cost",
            "--json",
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cachearr runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    // A guard against a hang, not a timing assertion.
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the banner is printed")
        .expect("read")
        .expect("a line");
    let banner: serde_json::Value = serde_json::from_str(&line).expect("--json banner");
    assert_eq!(banner["jellyfin_version"], "12.0.0");
    let jellyfin = banner["jellyfin_url"].as_str().expect("jellyfin url");
    let emby = banner["emby_url"].as_str().expect("emby url");
    let owner = &banner["users"][0];
    let client = reqwest::Client::new();
    let info: serde_json::Value =
        json_answer(client.get(format!("{jellyfin}/System/Info/Public"))).await;
    assert_eq!(info["Version"], "12.0.0");
    let legacy = client
        .get(format!("{jellyfin}/Users/Me"))
        .header(
            "X-Emby-Token",
            owner["jellyfin_token"].as_str().expect("token"),
        )
        .send()
        .await
        .expect("jellyfin");
    assert_eq!(legacy.status(), 401, "12.0 refuses X-Emby-Token");
    let emby_token = owner["emby_token"].as_str().expect("emby token");
    // Emby has no `/Users/Me`: its clients name the user.
    let uid = owner["jellyfin_id"].as_str().expect("user id");
    let me = client
        .get(format!("{emby}/emby/Users/{uid}"))
        .header("X-Emby-Token", emby_token)
        .send()
        .await
        .expect("emby");
    assert_eq!(me.status(), 200);
    child.kill().await.expect("stop");
}

#[tokio::test]
async fn sim_explains_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args(["sim", "--plex-listen", "not-an-address", "--tracks", "10"])
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--plex-listen"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args([
            "sim",
            "--plex-listen",
            "127.0.0.1:0",
            "--tracks",
            "10",
            "--webhook",
            "ftp://x",
        ])
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("webhook"));
    let out = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args(["sim", "--jellyfin-version", "11.0", "--tracks", "10"])
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("10.11.11") && err.contains("12.0.0"), "{err}");
}

#[tokio::test]
async fn sim_serves_a_library_file() {
    let dir = std::env::temp_dir().join(format!("cachearr-libfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("library.csv");
    std::fs::write(
        &file,
        "section,kind,grandparent,parent,title,year,index,duration,isrc\n\
         Music,track,Nina Simone,Pastel Blues,Sinnerman,1965,9,622000,USPR36500123\n\
         Films,movie,,,Alphaville,1965,,5940000,\n",
    )
    .expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args(["sim", "--plex-listen", "127.0.0.1:0", "--no-cost", "--json"])
        .arg("--library-file")
        .arg(&file)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cachearr runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    // A guard against a hang, not a timing assertion.
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the banner is printed")
        .expect("read")
        .expect("a line");
    let banner: serde_json::Value = serde_json::from_str(&line).expect("--json banner");
    assert_eq!(banner["items"], 4, "artist, album, track, movie");
    let plex = banner["plex_url"].as_str().expect("plex url").to_string();
    let token = banner["users"][0]["plex_token"].as_str().expect("token");
    let client = reqwest::Client::new();
    let get = |path: String| {
        client
            .get(format!("{plex}{path}"))
            .header("X-Plex-Token", token)
            .header("Accept", "application/json")
    };
    let v = json_answer(get("/library/sections".into())).await;
    let titles: Vec<&str> = v["MediaContainer"]["Directory"]
        .as_array()
        .expect("sections")
        .iter()
        .filter_map(|d| d["title"].as_str())
        .collect();
    assert_eq!(titles, ["Music", "Films"]);
    let v = json_answer(get("/library/sections/1/all?type=10".into())).await;
    let t = &v["MediaContainer"]["Metadata"][0];
    assert_eq!(t["title"], "Sinnerman");
    assert_eq!(t["grandparentTitle"], "Nina Simone");
    assert_eq!(t["parentTitle"], "Pastel Blues");
    assert_eq!(
        (t["index"].clone(), t["duration"].clone()),
        (9.into(), 622_000.into())
    );
    // A bad file stops the command with the reason.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "kind,title,colour\nmovie,X,red\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args(["sim", "--plex-listen", "127.0.0.1:0", "--library-file"])
        .arg(&bad)
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown column \"colour\""));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn sim_serves_a_plextv_whose_account_tokens_the_server_takes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args(["sim", "--plex-listen", "127.0.0.1:0"])
        .args(["--plextv-listen", "127.0.0.1:0"])
        .args(["--tracks", "50", "--movies", "3", "--shows", "1"])
        .args(["--no-cost", "--json"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cachearr runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    // A guard against a hang, not a timing assertion.
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the banner is printed")
        .expect("read")
        .expect("a line");
    let banner: serde_json::Value = serde_json::from_str(&line).expect("--json banner");
    let plex = banner["plex_url"].as_str().expect("plex url").to_string();
    let plextv = banner["plextv_url"]
        .as_str()
        .expect("plextv url")
        .to_string();
    let alice = banner["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["name"] == "alice")
        .expect("alice");
    let account_token = alice["plextv_account_token"].as_str().expect("token");
    assert_ne!(Some(account_token), alice["plex_token"].as_str());
    let client = reqwest::Client::new();
    let on_server = |token: &str| {
        client
            .get(format!("{plex}/library/sections"))
            .header("X-Plex-Token", token)
            .send()
    };
    assert_eq!(on_server(account_token).await.expect("plex").status(), 200);
    let r = client
        .get(format!("{plextv}/api/v2/user"))
        .header("X-Plex-Token", account_token)
        .send()
        .await
        .expect("plex.tv");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("body").contains("username=\"alice\""));
    let r = client
        .delete(format!("{plextv}/_sim/plextv/shares/alice"))
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), 200);
    assert_eq!(on_server(account_token).await.expect("plex").status(), 401);
}
