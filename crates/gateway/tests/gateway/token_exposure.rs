//! A token never reaches a cache key, a log line or a file: requests with tokens in every
//! form — nested inside a query value (python-plexapi's `transcodeImage`) at several encoding
//! depths included — through a gateway with the disk store on and every log line captured at
//! trace level; then the store's files and the log are searched for the token. The data
//! directory and everything in it is owner-only.
#![allow(clippy::unwrap_used)]

use crate::support::proxy_common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use cachearr_dialect::Profile;
use cachearr_sim::Sim;
use proxy_common::{header, start_gateway};

/// Every log line of this test binary.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    captured
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.push(path.clone());
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn nested_tokens_reach_no_key_log_or_file_and_the_store_is_owner_only() {
    let logs = capture_logs();
    let srv = Sim::start_plex_for_tests().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");
    let dir_for_config = data_dir.clone();
    let h = start_gateway(srv.addr, Profile::Plex, move |c| {
        c.cache.disk.enabled = true;
        c.data_dir = dir_for_config;
    })
    .await;
    let (token, item) = {
        let state = srv.sim.state();
        let admin = state.users().iter().find(|u| u.is_owner).unwrap();
        let lib = srv.sim.library();
        let item = lib.sections()[0]
            .items(cachearr_sim::library::ItemKind::Track)
            .first()
            .copied()
            .unwrap();
        (admin.plex_token.clone(), item)
    };
    let thumb = format!("/library/metadata/{item}/thumb/1700000000");
    let once: String = percent_encoding::utf8_percent_encode(
        &format!("{thumb}?X-Plex-Token={token}"),
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    let twice: String =
        percent_encoding::utf8_percent_encode(&once, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let targets = [
        // python-plexapi's transcodeImage: the token in the query and nested in `url=`.
        format!(
            "/photo/:/transcode?width=64&height=64&minSize=1&upscale=1&url={once}&X-Plex-Token={token}"
        ),
        format!("/photo/:/transcode?width=32&height=32&url={twice}"),
        format!("/library/sections?X-Plex-Token={token}"),
    ];
    for target in &targets {
        for _ in 0..2 {
            let r = h
                .client
                .get(h.url(target))
                .header("X-Plex-Token", &token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{target}");
            assert!(
                header(&r, "cache-status").starts_with("cachearr; "),
                "{target}"
            );
            r.bytes().await.unwrap();
        }
    }
    // A fill is stored after its answer has gone out: flushed until the store holds the
    // transcode answers (a loaded machine may queue their puts after the first flush).
    let paths = cachearr_testkit::eventually_ok(
        "the transcode answers written to the store",
        std::time::Duration::from_secs(30),
        async || {
            h.gateway.cache().flush().await;
            let mut paths = Vec::new();
            files_under(&data_dir, &mut paths);
            let stored = paths.iter().any(|p| {
                p.is_file()
                    && contains(&std::fs::read(p).unwrap_or_default(), b"/photo/:/transcode")
            });
            if stored {
                Ok(paths)
            } else {
                Err(format!("{} files, none with them", paths.len()))
            }
        },
    )
    .await;
    let mut stored_transcode = false;
    for path in &paths {
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777
        };
        if path.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
            continue;
        }
        assert_eq!(mode, 0o600, "{}", path.display());
        let bytes = std::fs::read(path).unwrap();
        assert!(
            !contains(&bytes, token.as_bytes()),
            "the token is in {}",
            path.display()
        );
        stored_transcode |= contains(&bytes, b"/photo/:/transcode");
    }
    assert!(
        stored_transcode,
        "the transcode answers were written to the store"
    );
    let data_mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&data_dir).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(data_mode, 0o700);
    let log = logs.0.lock().unwrap().clone();
    assert!(contains(&log, b"transcode"), "the requests were logged");
    assert!(
        !contains(&log, token.as_bytes()),
        "the token is in the log:\n{}",
        String::from_utf8_lossy(&log)
    );
}

/// A bearer token (RFC 6750's `access_token=`) in the query of a cached read, of a read
/// passed through and of a write reaches no log line, at trace level: every line that shows
/// the request's target shows the token's place redacted.
#[tokio::test]
async fn a_bearer_token_in_a_query_reaches_no_log_line() {
    let logs = capture_logs();
    let srv = Sim::start_plex_for_tests().await.unwrap();
    let h = start_gateway(srv.addr, Profile::Plex, |_| {}).await;
    let (token, item) = {
        let state = srv.sim.state();
        let admin = state.users().iter().find(|u| u.is_owner).unwrap();
        let lib = srv.sim.library();
        let item = lib.sections()[0]
            .items(cachearr_sim::library::ItemKind::Track)
            .first()
            .copied()
            .unwrap();
        (admin.plex_token.clone(), item)
    };
    let bearer = "bearer-7f3a9c2e51";
    let targets = [
        format!("/library/sections?access_token={bearer}"),
        format!("/library/metadata/{item}?includeExtras=1&access_token={bearer}"),
        format!(
            "/:/rate?key={item}&identifier=com.plexapp.plugins.library&rating=4&access_token={bearer}"
        ),
    ];
    for target in &targets {
        let r = h
            .client
            .put(h.url(target))
            .header("X-Plex-Token", &token)
            .send()
            .await
            .unwrap();
        r.bytes().await.unwrap();
        let r = h
            .client
            .get(h.url(target))
            .header("X-Plex-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{target}");
        r.bytes().await.unwrap();
    }
    let log = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    for shown in ["/library/sections", "/:/rate"] {
        assert!(log.contains(shown), "{shown} was logged:\n{log}");
    }
    assert!(log.contains("access_token=REDACTED"), "{log}");
    assert!(
        !log.contains(bearer),
        "the bearer token is in the log:\n{log}"
    );
}
