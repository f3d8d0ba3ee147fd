//! `https://` upstreams: cachearr in front of a server that only speaks TLS (Plex with "Secure
//! connections: Required", Jellyfin behind TLS). The simulator sits behind a TLS listener whose
//! certificate a private CA made in the test signed (with the `openssl` tool); cachearr trusts
//! it through `ca`, refuses it without, and checks a Plex-style `*.plex.direct` name given as
//! `server_name` while connecting to an IP address.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cachearr_dialect::Profile;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed (scripts/setup-test-env)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private CA (`ca.crt`) and a server certificate it signed for `names` (`server.crt`,
/// `server.key`); `names` is an openssl subjectAltName list.
fn private_ca(dir: &Path, names: &str) -> PathBuf {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=cachearr-test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=server",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        format!(
            "subjectAltName={names}\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        ),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            "server.crt",
            "-extfile",
            "server.ext",
        ],
    );
    dir.join("ca.crt")
}

/// A TLS listener on a free loopback port in front of `backend` (plain HTTP): what a server
/// with "Secure connections: Required" looks like from the outside.
async fn tls_front(dir: &Path, backend: String) -> u16 {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.crt"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let backend = backend.clone();
            tokio::spawn(async move {
                // A refused handshake (an untrusting client) just ends this connection.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(&backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

struct Setup {
    sim: Sim,
    _served: cachearr_sim::TestServer,
    dir: tempfile::TempDir,
    port: u16,
}

async fn setup(names: &str) -> Setup {
    let sim = Sim::builder()
        .tracks(20)
        .seed(3)
        .cost(CostModel::zero())
        .build()
        .unwrap();
    let served = sim_gateway::serve_sim(&sim, Profile::Plex).await;
    let backend = served.base_url.trim_start_matches("http://").to_string();
    let dir = tempfile::tempdir().unwrap();
    private_ca(dir.path(), names);
    let port = tls_front(dir.path(), backend).await;
    Setup {
        sim,
        _served: served,
        dir,
        port,
    }
}

/// Starts a gateway in front of `url` (TLS settings by `configure`) and GETs
/// `/library/sections` with the owner's token through it: (status, body).
async fn through_gateway(
    s: &Setup,
    url: &str,
    configure: impl FnOnce(&mut cachearr_config::Config),
) -> (u16, String) {
    let data = tempfile::tempdir().unwrap();
    let mut config = sim_gateway::loopback_config(Profile::Plex, url, data.path());
    config.index.enabled = false;
    config.upstreams[0].guard.retries = 0;
    configure(&mut config);
    let gw = sim_gateway::serve(sim_gateway::gateway_builder(config)).await;
    let token = s.sim.state().owner().plex_token.clone();
    let response = reqwest::Client::new()
        .get(format!("{}/library/sections", gw.proxy))
        .header("X-Plex-Token", token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let _ = gw.stop.send(());
    gw.task.await.unwrap();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_is_trusted_through_ca_and_refused_without() {
    let s = setup("DNS:localhost,IP:127.0.0.1").await;
    let url = format!("https://localhost:{}", s.port);
    let ca = s.dir.path().join("ca.crt");
    let (status, body) = through_gateway(&s, &url, |c| {
        c.upstreams[0].tls.ca_file = Some(ca.clone());
    })
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Directory"), "{body}");

    // The system's roots do not know the private CA: no answer from an unverified server.
    let (status, _) = through_gateway(&s, &url, |_| {}).await;
    assert_eq!(status, 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plex_direct_name_is_checked_while_connecting_to_the_address() {
    // Like Plex's certificates: issued for a *.plex.direct name, not for the LAN address.
    let s = setup("DNS:*.0123abcd.plex.direct").await;
    let url = format!("https://127.0.0.1:{}", s.port);
    let ca = s.dir.path().join("ca.crt");
    let (status, _) = through_gateway(&s, &url, |c| {
        c.upstreams[0].tls.ca_file = Some(ca.clone());
    })
    .await;
    assert_eq!(status, 502, "the address is not the certificate's name");
    let (status, body) = through_gateway(&s, &url, |c| {
        c.upstreams[0].tls.ca_file = Some(ca.clone());
        c.upstreams[0].tls.server_name = Some("127-0-0-1.0123abcd.plex.direct".into());
    })
    .await;
    assert_eq!(status, 200, "{body}");
    // A name the certificate does not carry is still refused.
    let (status, _) = through_gateway(&s, &url, |c| {
        c.upstreams[0].tls.ca_file = Some(ca.clone());
        c.upstreams[0].tls.server_name = Some("other.example".into());
    })
    .await;
    assert_eq!(status, 502);
}
