//! `/metrics` stays a valid exposition whatever clients call themselves: requests whose
//! client names carry `"`, `\`, `}`, `=`, `,`, line-breaking and non-ASCII bytes, in every place
//! a name is read from (Plex `X-Plex-Product` and `X-Plex-Device-Name`, Jellyfin's `Client=`,
//! `User-Agent`), and the whole page is then read by a strict OpenMetrics parser (the Python
//! `prometheus_client` one, from `.venv`). One hostile name must not blind every later scrape.
#![allow(clippy::unwrap_used)]

use cachearr_testkit::sim_gateway;

use cachearr_dialect::Profile;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_testkit::venv_python;
use http::HeaderValue;
use sim_gateway::{Running, serve_sim, start_in_front_of};

/// Names meant to break out of a quoted label value, or to add a label of their own.
const HOSTILE: [&[u8]; 7] = [
    b"a\"b/1.0",
    b"Plex Web\",served=\"server\",spoofed=\"1",
    b"back\\slash\\",
    b"brace} x=1,y=\"2\"",
    b"trailing\\",
    b"caf\xc3\xa9 \xe2\x80\x94 \xff\xfe",
    b"quote\"\\\"twice",
];

fn sim() -> Sim {
    Sim::builder()
        .tracks(40)
        .movies(4)
        .shows(1)
        .seed(3)
        .cost(CostModel::zero())
        .build()
        .unwrap()
}

async fn gateway(profile: Profile) -> Running {
    let sim = sim();
    let server = serve_sim(&sim, profile).await;
    start_in_front_of(server, profile, |_| {}).await
}

/// Sends `GET path` with `headers`, the hostile value in `name`; any answer will do.
async fn send(running: &Running, path: &str, headers: &[(&str, &[u8])]) {
    let mut request = running.client.get(format!("{}{path}", running.proxy));
    for (name, value) in headers {
        request = request.header(*name, HeaderValue::from_bytes(value).unwrap());
    }
    request.send().await.unwrap();
}

/// Parses the page with the strict OpenMetrics parser; returns the `client` label values of
/// `cachearr_client_requests`, or fails with the parser's complaint.
async fn parse(page: &str) -> Vec<String> {
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
clients = set()
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        if family.name == "cachearr_client_requests":
            assert set(sample.labels) == {"upstream", "client", "served"}, sample.labels
            clients.add(sample.labels["client"])
print(json.dumps(sorted(clients)))
"#;
    let mut child = tokio::process::Command::new(venv_python(".venv"))
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, page.as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "the strict parser refused /metrics:\n{}\n--- page ---\n{page}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn metrics(running: &Running) -> String {
    let response = running
        .client
        .get(format!("{}/metrics", running.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn plex_client_names_cannot_break_or_extend_the_metrics_page() {
    let running = gateway(Profile::Plex).await;
    for name in HOSTILE {
        send(&running, "/identity", &[("user-agent", name)]).await;
        send(&running, "/identity", &[("x-plex-product", name)]).await;
        send(
            &running,
            "/identity",
            &[("x-plex-product", b"Plexamp"), ("x-plex-device-name", name)],
        )
        .await;
    }
    let page = metrics(&running).await;
    let clients = parse(&page).await;
    // The values survive the round trip as the names the gateway cleaned, not cut at a quote.
    for expected in [
        "a\"b",
        "Plex Web\",served=\"server\",spoofed=\"1",
        "back\\slash\\",
        "brace} x=1,y=\"2\"",
        "Plexamp (quote\"\\\"twice)",
    ] {
        assert!(
            clients.iter().any(|c| c == expected),
            "{expected:?} is not among {clients:?}"
        );
    }
    assert!(!page.contains("spoofed=\"1\""), "a label was injected");
}

#[tokio::test]
async fn jellyfin_client_names_cannot_break_the_metrics_page() {
    let running = gateway(Profile::Jellyfin).await;
    for name in HOSTILE {
        let mut authorization = b"MediaBrowser Client=\"".to_vec();
        authorization.extend_from_slice(name);
        authorization.extend_from_slice(b"\", Device=\"d\", DeviceId=\"x\", Version=\"1\"");
        send(
            &running,
            "/System/Info/Public",
            &[("authorization", &authorization)],
        )
        .await;
        send(&running, "/System/Info/Public", &[("user-agent", name)]).await;
    }
    let clients = parse(&metrics(&running).await).await;
    assert!(
        clients.iter().any(|c| c.contains("back\\slash")),
        "{clients:?}"
    );
    assert!(clients.iter().any(|c| c.contains("a\"b")), "{clients:?}");
}
