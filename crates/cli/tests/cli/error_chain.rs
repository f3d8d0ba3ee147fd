//! What the binary prints when something fails: the error and each of its causes, each said
//! once — on `error:` and `caused by:` lines for a command that fails, on one line for a
//! warning in the log.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::{Command, Stdio};
use std::time::Duration;

use cachearr_testkit::{KillOnDrop, free_port};

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

/// Fails when one of `said` (an error's message and its causes' messages) repeats another.
fn each_said_once(said: &[&str], whole: &str) {
    assert!(said.len() >= 2, "an error and at least one cause: {whole}");
    for (i, a) in said.iter().enumerate() {
        for (j, b) in said.iter().enumerate() {
            assert!(i == j || !a.contains(b), "{b:?} said twice in {whole}");
        }
    }
}

#[test]
fn a_missing_config_file_says_the_file_then_why_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("cachearr.toml");
    let out = cachearr()
        .args(["config", "check", missing.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let said: Vec<&str> = err
        .lines()
        .filter_map(|l| {
            l.strip_prefix("error: ")
                .or_else(|| l.strip_prefix("  caused by: "))
        })
        .collect();
    assert_eq!(
        said.first().copied(),
        Some(format!("cannot read {}", missing.display()).as_str()),
        "{err}"
    );
    assert!(
        said.iter().any(|s| s.contains("No such file")),
        "the I/O error is a cause: {err}"
    );
    each_said_once(&said, &err);

    // The JSON form has the same chain on one line.
    let out = cachearr()
        .args(["config", "check", "--json", missing.to_str().unwrap()])
        .output()
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    let error = json["error"].as_str().unwrap();
    let said: Vec<&str> = error.split(": ").collect();
    each_said_once(&said, error);
}

#[test]
fn an_unreachable_upstream_is_reported_with_each_cause_once() {
    let data = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let closed = free_port();
    let mut child = KillOnDrop(
        cachearr()
            .args([
                "serve",
                "--plex",
                &format!("http://127.0.0.1:{closed}"),
                "--no-index",
                "--data-dir",
                data.path().to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{}", free_port()),
                "--admin-listen",
                &format!("127.0.0.1:{}", free_port()),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let rx = cachearr_testkit::log_lines(stderr);
    let line = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a start-up report of the upstream");
        if line.contains("does not answer") {
            break line;
        }
    };
    // "… does not answer (upstream plex: cannot connect: client error (Connect): …); …"
    let chain = line
        .split_once("does not answer (")
        .and_then(|(_, rest)| rest.rsplit_once("); "))
        .map(|(chain, _)| chain)
        .expect("the failure in parentheses");
    assert!(
        chain.starts_with("upstream plex: cannot connect: "),
        "{line}"
    );
    assert!(
        chain.contains("Connection refused"),
        "the OS error is a cause: {line}"
    );
    let said: Vec<&str> = chain.split(": ").collect();
    each_said_once(&said, chain);
}
