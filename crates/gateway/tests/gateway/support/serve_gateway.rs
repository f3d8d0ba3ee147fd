//! A real gateway served on loopback (proxy and admin listeners on free ports, its data in a
//! temporary directory): the one piece every gateway harness (`sim_gateway`, `proxy_common`,
//! `redis_common`) builds on. What is not about the gateway (free ports, polling,
//! `redis-server`) is in the `cachearr-testkit` crate.

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;

use cachearr_gateway::{Gateway, GatewayBuilder};

use cachearr_config::Config;

use cachearr_dialect::Profile;

/// A single-upstream config for `profile` in front of `upstream`: every listener on a free
/// loopback port, the data in `data_dir`.
pub fn loopback_config(profile: Profile, upstream: &str, data_dir: &Path) -> Config {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = Config::single(profile, upstream, any).unwrap();
    config.admin_listen = any;
    config.data_dir = data_dir.to_path_buf();
    // The play-state watch reads the server as soon as a user's answers are read: it runs
    // only in the tests about it (which run its rounds by hand or turn it on), so that the
    // others count only the requests they make.
    config.feed.play_state_probe = std::time::Duration::ZERO;
    config
}

/// A client builder that sends `X-Cachearr-Request: 1` with every request, as the `cachearr`
/// commands and the dashboard do: the admin API refuses changes without it (a guard against
/// cross-site forms).
pub fn admin_client_builder() -> reqwest::ClientBuilder {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-cachearr-request",
        reqwest::header::HeaderValue::from_static("1"),
    );
    reqwest::Client::builder().default_headers(headers)
}

/// [`admin_client_builder`], built.
pub fn admin_client() -> reqwest::Client {
    admin_client_builder().build().unwrap()
}

/// A gateway being served: its handle, addresses, the sender that stops it (sending or
/// dropping it stops the gateway), and the serving task (which ends once the gateway has
/// stopped, keepers included).
pub struct Served {
    pub gateway: Gateway,
    /// The first proxy listener's address.
    pub proxy_addr: SocketAddr,
    /// `http://` and [`Self::proxy_addr`].
    pub proxy: String,
    /// `http://` and the admin listener's address.
    pub admin: String,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Builds, binds and serves a gateway (until `stop` fires or is dropped). The config must
/// have an admin listener.
pub async fn serve(builder: GatewayBuilder) -> Served {
    let gateway = builder.build().await.unwrap();
    let bound = gateway.bind().await.unwrap();
    let proxy_addr = bound.proxy_addrs()[0].1;
    let admin = format!("http://{}", bound.admin_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        bound
            .serve(cachearr_admin::router, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Served {
        gateway,
        proxy_addr,
        proxy: format!("http://{proxy_addr}"),
        admin,
        stop,
        task,
    }
}
