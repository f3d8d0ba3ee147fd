//! `cachearr serve` and `cachearr config check` as an installer runs them: owner tokens from the
//! environment and secret files, one validation for both commands, the messages for common
//! set-up mistakes, log formats, and `index status` failing while the index has failed.

#![allow(
    clippy::disallowed_methods,
    reason = "a real server process's deadlines are real time"
)]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cachearr_testkit::{KillOnDrop, eventually_blocking, free_port, output_within};

fn cachearr() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cachearr"));
    // The tests set what they need; nothing from the caller's environment leaks in.
    for (k, _) in std::env::vars() {
        if k.starts_with("CACHEARR_") {
            c.env_remove(k);
        }
    }
    c.env_remove("RUST_LOG");
    c
}

/// Runs a command that must end by itself: one that hangs fails the test with what it said.
fn run(c: &mut Command) -> (bool, String, String) {
    let out = output_within(c, Duration::from_secs(120));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `serve` with `args` and reads its log until a line contains `until`; returns the
/// lines read.
fn serve_until(args: &[&str], envs: &[(&str, &str)], until: &str) -> (KillOnDrop, Vec<String>) {
    let mut c = cachearr();
    c.arg("serve").args(args).envs(envs.iter().copied());
    let mut child = KillOnDrop(
        c.stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let rx = cachearr_testkit::log_lines(stderr);
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let done = line.contains(until);
                lines.push(line);
                if done {
                    return (child, lines);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    panic!("no line with {until:?} in {lines:#?}");
}

#[test]
fn config_check_reads_tokens_from_env_and_secret_files_and_never_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cachearr.toml");
    std::fs::write(
        &file,
        "[[upstream]]\nname = \"living-room\"\nprofile = \"plex\"\nurl = \"http://127.0.0.1:32400\"\n\
         [[upstream]]\nprofile = \"jellyfin\"\nurl = \"http://127.0.0.1:8096\"\n",
    )
    .unwrap();
    let secret = dir.path().join("jellyfin_token");
    std::fs::write(&secret, "jf-secret-value\n").unwrap();
    let (ok, out, err) = run(cachearr()
        .args(["config", "check", "--json"])
        .arg(&file)
        .env("CACHEARR_UPSTREAM_LIVING_ROOM_TOKEN", "plex-secret-value")
        .env("CACHEARR_JELLYFIN_TOKEN_FILE", &secret));
    assert!(ok, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["upstreams"][0]["owner_token"], true);
    assert_eq!(report["upstreams"][1]["owner_token"], true);
    assert!(!out.contains("secret-value") && !err.contains("secret-value"));

    // Without them, the text report says what works without a token.
    let (ok, out, _) = run(cachearr().args(["config", "check"]).arg(&file));
    assert!(ok);
    assert!(out.contains("owner token not set"), "{out}");
    assert!(out.contains("no library index"), "{out}");

    // A per-upstream variable with a typo is an error naming the right variable.
    let (ok, _, err) = run(cachearr()
        .args(["config", "check"])
        .arg(&file)
        .env("CACHEARR_UPSTREAM_LIVINGROOM_TOKEN", "x"));
    assert!(!ok);
    assert!(err.contains("CACHEARR_UPSTREAM_LIVING_ROOM_TOKEN"), "{err}");
}

#[test]
fn config_check_and_serve_refuse_the_same_things() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cachearr.toml");
    std::fs::write(
        &file,
        "[[upstream]]\nprofile = \"plex\"\nurl = \"http://127.0.0.1:32400\"\n",
    )
    .unwrap();
    // The admin listener beyond loopback without a token, set in the environment: both refuse
    // (the check used to read the file alone and say ok).
    for cmd in [&["config", "check"][..], &["serve", "--config"][..]] {
        let (ok, _, err) = run(cachearr()
            .args(cmd)
            .arg(&file)
            .env("CACHEARR_ADMIN_LISTEN", "0.0.0.0:8485")
            .env("CACHEARR_DATA_DIR", dir.path().join("data")));
        assert!(!ok, "{cmd:?}");
        assert!(err.contains("not on loopback"), "{cmd:?}: {err}");
    }
    // An empty admin token in the environment is no token.
    let (ok, _, err) = run(cachearr()
        .args(["config", "check"])
        .arg(&file)
        .env("CACHEARR_ADMIN_LISTEN", "0.0.0.0:8485")
        .env("CACHEARR_ADMIN_TOKEN", ""));
    assert!(!ok);
    assert!(err.contains("not on loopback"), "{err}");
    // A huge duration: an error at its line from both, not a panic at start.
    std::fs::write(
        &file,
        "[[upstream]]\nprofile = \"plex\"\nurl = \"http://127.0.0.1:32400\"\n[upstream.guard]\n\
         read_timeout = \"9999999999999d\"\nretries = 10\n",
    )
    .unwrap();
    for cmd in [&["config", "check"][..], &["serve", "--config"][..]] {
        let (ok, _, err) = run(cachearr().args(cmd).arg(&file));
        assert!(!ok, "{cmd:?}");
        assert!(
            err.contains(":5:") && err.contains("too long"),
            "{cmd:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn single_bracket_upstream_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cachearr.toml");
    std::fs::write(
        &file,
        "[upstream]\nprofile = \"plex\"\nurl = \"http://127.0.0.1:32400\"\n",
    )
    .unwrap();
    let (ok, _, err) = run(cachearr().args(["config", "check"]).arg(&file));
    assert!(!ok);
    assert!(err.contains(":1:") && err.contains("[[upstream]]"), "{err}");
}

#[test]
fn web_app_url_warns_and_json_logs_have_no_colour() {
    let data = tempfile::tempdir().unwrap();
    let (proxy, admin) = (free_port(), free_port());
    let (_serving, lines) = serve_until(
        &[
            "--plex",
            "http://127.0.0.1:9/web",
            "--no-index",
            "--data-dir",
            data.path().to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{proxy}"),
            "--admin-listen",
            &format!("127.0.0.1:{admin}"),
            "--log-format",
            "json",
        ],
        &[],
        "web app",
    );
    let warning = lines.iter().find(|l| l.contains("web app")).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(warning).expect("a JSON log line");
    assert_eq!(parsed["level"], "WARN");
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "{lines:#?}");
}

#[test]
fn a_second_cachearr_on_the_same_data_dir_is_told_so() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap().to_string();
    let (p1, a1, p2, a2) = (free_port(), free_port(), free_port(), free_port());
    let (_first, _) = serve_until(
        &[
            "--plex",
            "http://127.0.0.1:9",
            "--no-index",
            "--data-dir",
            &dir,
            "--listen",
            &format!("127.0.0.1:{p1}"),
            "--admin-listen",
            &format!("127.0.0.1:{a1}"),
        ],
        &[],
        "admin →",
    );
    let (ok, _, err) = run(cachearr().args([
        "serve",
        "--plex",
        "http://127.0.0.1:9",
        "--no-index",
        "--data-dir",
        &dir,
        "--listen",
        &format!("127.0.0.1:{p2}"),
        "--admin-listen",
        &format!("127.0.0.1:{a2}"),
    ]));
    assert!(!ok);
    assert!(
        err.contains("another cachearr is using the data directory"),
        "{err}"
    );
}

#[test]
fn index_status_fails_while_the_index_has_failed() {
    let data = tempfile::tempdir().unwrap();
    let (proxy, admin) = (free_port(), free_port());
    let dead = free_port();
    let (_serving, _) = serve_until(
        &[
            "--plex",
            &format!("http://127.0.0.1:{dead}"),
            "--data-dir",
            data.path().to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{proxy}"),
            "--admin-listen",
            &format!("127.0.0.1:{admin}"),
        ],
        &[("CACHEARR_PLEX_TOKEN", "owner-token-value")],
        "trying again later",
    );
    let admin_url = format!("http://127.0.0.1:{admin}");
    let (ok, out, err) = run(cachearr().args(["index", "status", "--admin-url", &admin_url]));
    assert!(!ok, "{out}");
    assert!(out.contains("next try"), "{out}");
    assert!(err.contains("failed"), "{err}");
    let (ok, out, _) =
        run(cachearr().args(["index", "status", "--json", "--admin-url", &admin_url]));
    assert!(!ok);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["upstreams"][0]["state"], "failed");
}

#[test]
fn health_exits_zero_for_a_running_gateway_and_one_without_it() {
    let data = tempfile::tempdir().unwrap();
    let (proxy, admin) = (free_port(), free_port());
    let admin_url = format!("http://127.0.0.1:{admin}");
    // Nothing listens yet: exit 1 with a message that says what to check.
    let (ok, _, err) = run(cachearr().args(["health", "--admin-url", &admin_url]));
    assert!(!ok);
    assert!(err.contains("cannot reach the cachearr admin API"), "{err}");

    let (_serving, _) = serve_until(
        &[
            "--plex",
            "http://127.0.0.1:9",
            "--no-index",
            "--data-dir",
            data.path().to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{proxy}"),
            "--admin-listen",
            &format!("127.0.0.1:{admin}"),
        ],
        &[],
        "cachearr: admin",
    );
    // The line is printed as the listener binds: allow it a moment, with a deadline.
    let mut last = (false, String::new(), String::new());
    eventually_blocking("`cachearr health` answers", Duration::from_secs(30), || {
        last = run(cachearr()
            .args(["health"])
            .env("CACHEARR_ADMIN_URL", &admin_url));
        last.0
    });
    let (ok, out, err) = last;
    assert!(ok, "{out}\n{err}");
    assert!(!out.trim().is_empty(), "the health answer is printed");
}

/// A service whose log reader goes away (its stderr pipe closed, as when a log shipper it
/// writes to restarts) keeps serving, and still stops cleanly when told to.
#[test]
fn serve_outlives_its_closed_log_pipe() {
    let data = tempfile::tempdir().unwrap();
    let (proxy, admin) = (free_port(), free_port());
    let mut child = KillOnDrop(
        cachearr()
            .args([
                "serve",
                "--plex",
                "http://127.0.0.1:9",
                "--no-index",
                "--data-dir",
                data.path().to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{proxy}"),
                "--admin-listen",
                &format!("127.0.0.1:{admin}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut log = std::io::BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("admin →") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut log, &mut line).unwrap() > 0,
            "serve ended before saying where its admin API is"
        );
    }
    drop(log);
    let admin_url = format!("http://127.0.0.1:{admin}");
    eventually_blocking("`cachearr health` answers", Duration::from_secs(30), || {
        run(cachearr().args(["health", "--admin-url", &admin_url])).0
    });
    // Its last line ("shutting down") goes to the closed pipe: a clean exit all the same.
    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exit = None;
    eventually_blocking("serve exits", Duration::from_secs(60), || {
        exit = child.0.try_wait().unwrap();
        exit.is_some()
    });
    let exit = exit.unwrap();
    assert!(exit.success(), "{exit:?}");
}
