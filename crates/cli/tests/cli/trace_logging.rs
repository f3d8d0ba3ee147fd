//! `RUST_LOG=trace` never prints a token: `cachearr serve` with both owner tokens in front of
//! `cachearr sim`, at trace level (the websocket handshakes of the change notifications, the
//! HTTP client, the crawl), plus a client request carrying its token in the query; the whole
//! log is searched for both tokens.

#![allow(
    clippy::disallowed_methods,
    reason = "a real server process's deadlines are real time"
)]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use cachearr_testkit::free_port;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn trace_logs_of_serve_never_hold_a_token() {
    let mut sim = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args([
            "sim",
            "--plex-listen",
            "127.0.0.1:0",
            "--jellyfin-listen",
            "127.0.0.1:0",
            "--tracks",
            "60",
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
    let mut banner = BufReader::new(sim.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), banner.next_line())
        .await
        .expect("the banner is printed")
        .unwrap()
        .unwrap();
    let banner: serde_json::Value = serde_json::from_str(&line).unwrap();
    let plex = banner["plex_url"].as_str().unwrap().to_string();
    let jellyfin = banner["jellyfin_url"].as_str().unwrap().to_string();
    let plex_token = banner["users"][0]["plex_token"]
        .as_str()
        .unwrap()
        .to_string();
    let jellyfin_token = banner["users"][0]["jellyfin_token"]
        .as_str()
        .unwrap()
        .to_string();

    let data = tempfile::tempdir().unwrap();
    let (proxy, admin) = (free_port(), free_port());
    let mut serve = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args([
            "serve",
            "--plex",
            &plex,
            "--jellyfin",
            &jellyfin,
            "--data-dir",
            data.path().to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{proxy}"),
            "--admin-listen",
            &format!("127.0.0.1:{admin}"),
        ])
        .env("CACHEARR_PLEX_TOKEN", &plex_token)
        .env("CACHEARR_JELLYFIN_TOKEN", &jellyfin_token)
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cachearr runs");
    let mut log = BufReader::new(serve.stderr.take().unwrap()).lines();
    let mut lines: Vec<String> = Vec::new();
    let mut sockets = 0;
    // A guard against a hang, not a timing assertion.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && sockets < 2 {
        let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_millis(500), log.next_line()).await
        else {
            continue;
        };
        if line.contains("notification socket connected") {
            sockets += 1;
        }
        lines.push(line);
    }
    assert_eq!(
        sockets,
        2,
        "both notification sockets connect:\n{}",
        lines.join("\n")
    );
    // A client request with the token in the query, through the proxy.
    let r = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{proxy}/library/sections?X-Plex-Token={plex_token}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    // What the request logged, then stop.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        if let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_millis(200), log.next_line()).await
        {
            lines.push(line);
        }
    }
    serve.kill().await.unwrap();
    sim.kill().await.unwrap();
    let all = lines.join("\n");
    assert!(all.contains("TRACE"), "the log is at trace level:\n{all}");
    for token in [&plex_token, &jellyfin_token] {
        let at: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains(token.as_str()))
            .collect();
        assert!(at.is_empty(), "a token is in the log:\n{at:#?}");
    }
}
