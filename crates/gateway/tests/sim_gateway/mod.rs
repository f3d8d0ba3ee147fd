//! A real gateway (proxy + admin listener, temp data dir) in front of a Plex simulator, shared
//! by the end-to-end test files that drive it over HTTP. Each test file adds its own helper
//! methods to [`Running`] in an `impl` block of its own.

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::net::SocketAddr;

use cachearr_gateway::{Config, Gateway, Profile};
use cachearr_sim::{Sim, TestServer};

/// The simulator, the gateway's two base URLs, and a client; the gateway stops on drop.
pub struct Running {
    pub sim: TestServer,
    pub proxy: String,
    pub admin: String,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _data: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a simulator and a gateway in front of it on loopback; `configure` adjusts the
/// single-upstream config (admin listener and data dir are already set).
pub async fn start(configure: impl FnOnce(&mut Config)) -> Running {
    let sim = Sim::start_plex_for_tests().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = Config::single(Profile::Plex, &sim.base_url, any).unwrap();
    config.admin_listen = any;
    config.data_dir = data.path().to_path_buf();
    configure(&mut config);
    let bound = Gateway::builder(config)
        .build()
        .await
        .unwrap()
        .bind()
        .await
        .unwrap();
    let proxy = format!("http://{}", bound.proxy_addrs()[0].1);
    let admin = format!("http://{}", bound.admin_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve(async move {
        let _ = stopped.await;
    }));
    Running {
        sim,
        proxy,
        admin,
        client: reqwest::Client::new(),
        stop: Some(stop),
        _data: data,
    }
}
