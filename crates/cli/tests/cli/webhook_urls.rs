//! Where the operator finds the webhook secret: `cachearr serve` makes it at first start and
//! prints each upstream's webhook URL with `SECRET` in its place and the file it is in;
//! `cachearr config check` says the same from the data directory (and when it is not made
//! yet). Neither prints the secret itself.

#![allow(
    clippy::disallowed_methods,
    reason = "a real server process's deadlines are real time"
)]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

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

/// A `cachearr serve` stopped when the test ends, whether it passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_and_config_check_print_the_webhook_urls_and_where_the_secret_is_not_it() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap().to_owned();
    let before = config_check(&dir);
    assert!(before.contains("webhook secret: not made yet"), "{before}");

    let (proxy, admin) = (free_port(), free_port());
    let mut child = KillOnDrop(
        cachearr()
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
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let rx = cachearr_testkit::log_lines(stderr);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    // The next line of serve's stderr that holds `wanted`; the lines before it go to `seen`.
    let mut line_with = |wanted: &str| loop {
        assert!(Instant::now() < deadline, "no {wanted:?} in {seen:#?}");
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains(wanted) => return line,
            Ok(line) => seen.push(line),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                panic!("serve ended without {wanted:?}: {seen:#?}")
            }
        }
    };
    let url_line = line_with("webhook URL");
    // Made before the URLs are printed.
    let secret = std::fs::read_to_string(data.path().join("webhook_secret"))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(secret.len(), 32);
    assert!(
        !url_line.contains(&secret),
        "the secret printed at start: {url_line}"
    );
    assert!(
        url_line.contains(&format!(
            "http://127.0.0.1:{admin}/webhooks/plex/plex?secret=SECRET"
        )),
        "{url_line}"
    );
    let file = data.path().join("webhook_secret").display().to_string();
    let where_line = line_with(&file);
    assert!(where_line.contains("SECRET is"), "{where_line}");
    drop(child);
    for line in seen.iter().chain([&where_line]) {
        assert!(
            !line.contains(&secret),
            "the secret printed at start: {line}"
        );
    }
    let after = config_check(&dir);
    assert!(after.contains(&file), "{after}");
    assert!(
        after.contains("/webhooks/plex/plex?secret=SECRET"),
        "{after}"
    );
    assert!(!after.contains(&secret), "{after}");
}
