//! The harnesses the gateway's tests share: a real gateway on loopback ([`serve_gateway`]) in
//! front of a small scripted upstream ([`proxy_common`]), of a simulator with Redis shared by
//! several gateways ([`redis_common`]), or of the simulator (`sim_gateway/`, which each test
//! module that uses it includes as its own submodule, since each adds methods of its own to
//! the harness's `Running`). They need the gateway crate, so they live beside its tests; what
//! any crate's tests can use (ports, polling, child processes, `redis-server`, JSON over HTTP)
//! is in `cachearr-testkit`.

pub mod proxy_common;
pub mod redis_common;
pub mod serve_gateway;
pub(crate) mod sim_users;
