//! The gateway's error ([`GatewayError`]): what building the gateway, binding its listeners
//! and a read made on a user's behalf can fail with, each with its cause.

use std::net::SocketAddr;

/// Errors of the gateway library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] cachearr_config::ConfigError),
    /// The cache could not be built.
    #[error("the cache could not be built")]
    Cache(#[from] cachearr_engine::EngineError),
    /// An upstream cannot be built from its configuration (a route override, its TLS).
    #[error(transparent)]
    UpstreamSetup(#[from] cachearr_upstream::client::UpstreamSetupError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The data directory or the secret file is unusable.
    #[error("data directory {path} is unusable")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No such upstream.
    #[error("no upstream named {0:?}")]
    UnknownUpstream(String),
    /// A request made on a user's behalf was not valid.
    #[error("{0}")]
    BadRequest(String),
    /// The upstream failed a request made on a user's behalf (the cache's error says how:
    /// [`crate::error_answer::ErrorKind::of_engine`]).
    #[error(transparent)]
    Upstream(cachearr_engine::EngineError),
}
