//! cachearr-wire: the HTTP wire of cachearr's listeners. It reads requests and writes answers,
//! holds connections and sends bodies; it knows nothing of what it answers (no caching, no
//! media server, no gateway). What answers is a [`Service`], which the gateway implements; the
//! listener is generic over it, so the answering code is called directly and a hit costs no
//! box, no dynamic call and no hand-over through the connection's state.
//!
//! # Map
//! * [`service`] — what passes between the wire and its [`Service`]: the request and its body,
//!   how it came ([`Via`]: which reader, and the kept head it was read from, [`HeadId`]), the
//!   answer ([`Reply`]) with its head as bytes when the service wrote it so ([`EncodedHead`]).
//! * [`listener`] — the accept loops: [`listener::serve_proxy`] (each connection served by
//!   `http1` first, by hyper's HTTP/1.1 from the first request `http1` does not take) and
//!   [`listener::serve_admin`] (any tower service, by hyper), each with its connection cap,
//!   shedding, idle sweep, accept back-off and graceful shutdown.
//! * [`http1`] — the own HTTP/1.1 for `GET`s without a body: one read buffer, the head parsed
//!   with `httparse` (or recalled, when it repeats the listener's last head byte for byte), the
//!   answer written in one vectored write. [`http1::read_head`] is its reading, public for the
//!   fuzz target.
//! * [`connections`] — each listener's open connections: the cap, busy and idle, shedding the
//!   oldest idle one, the idle sweep, the accept back-off; the open-file limit and the caps
//!   sized from it.
//! * [`sendfile`] — zero-copy answers: a body registered in the connection's [`SendSlot`] is
//!   sent with `sendfile(2)` from its sealed memfd ([`sendfile::BodyFile`]).
//! * [`lines`] — HTTP/1.1 heads as bytes (status line, header lines, decimal numbers), a leaf
//!   shared by `http1` and a service that keeps an answer's head as bytes.

pub mod connections;
pub mod http1;
pub mod lines;
pub mod listener;
pub mod sendfile;
pub mod service;

pub use crate::sendfile::SendSlot;
pub use crate::service::{EncodedHead, HeadId, Reply, RequestBody, ResponseBody, Service, Via};
