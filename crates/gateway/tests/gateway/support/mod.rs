//! The harnesses the gateway's tests share: a real gateway on loopback in front of a small
//! scripted upstream ([`proxy_common`]), or of a simulator with Redis shared by several
//! gateways ([`redis_common`]). Both build on `cachearr_testkit::sim_gateway`, which serves the
//! gateway as shipped (and puts one in front of the simulator for the tests that drive it over
//! HTTP); what any crate's tests can use (ports, polling, child processes, `redis-server`, JSON
//! over HTTP) is in `cachearr-testkit` too.

pub(crate) mod emby_sync;
pub mod proxy_common;
pub mod redis_common;
