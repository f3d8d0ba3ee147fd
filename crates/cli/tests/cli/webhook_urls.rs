//! Where the operator finds the webhook secret: `cachearr serve` makes it at first start and
//! prints each upstream's webhook URL with it; `cachearr config check` shows it from the data
//! directory (and says when it is not made yet).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use cachearr_testkit::free_port;

fn cachearr() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cachearr"));
    for (k, _) in std::env::vars() {
        if k.starts_with("CACHEARR_") {
            c.env_remove(k);
        }
    }
    c.env_remove("RUST_LOG");
    c
}

fn config_check(data: &str) -> String {
    let out = cachearr()
        .args([
            "config",
            "check",
            "--plex",
            "http://127.0.0.1:9",
            "--data-dir",
            data,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn serve_prints_the_webhook_urls_and_config_check_shows_the_secret() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap().to_owned();
    let before = config_check(&dir);
    assert!(before.contains("webhook secret: not made yet"), "{before}");

    let (proxy, admin) = (free_port(), free_port());
    let mut child = cachearr()
        .args([
            "serve",
            "--plex",
            "http://127.0.0.1:9",
            "--no-index",
            "--data-dir",
            &dir,
        ])
        .args(["--listen", &format!("127.0.0.1:{proxy}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let url_line = loop {
        assert!(Instant::now() < deadline, "no webhook URL in {seen:#?}");
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains("webhook URL") => break line,
            Ok(line) => seen.push(line),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                panic!("serve ended without a webhook URL: {seen:#?}")
            }
        }
    };
    let _ = child.kill();
    let _ = child.wait();

    let secret = std::fs::read_to_string(data.path().join("webhook_secret"))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(secret.len(), 32);
    assert!(
        url_line.contains(&format!(
            "http://127.0.0.1:{admin}/webhooks/plex/plex?secret={secret}"
        )),
        "{url_line}"
    );
    let after = config_check(&dir);
    assert!(
        after.contains(&format!("webhook secret: {secret}")),
        "{after}"
    );
    assert!(
        after.contains(&format!("/webhooks/plex/plex?secret={secret}")),
        "{after}"
    );
}
