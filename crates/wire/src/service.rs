//! What the wire asks of the code that answers its requests, and what passes between them as
//! values: the request's body ([`RequestBody`]) and how it came ([`Via`], with the kept head it
//! was read from, [`HeadId`]); the answer ([`Reply`]: a response with a [`ResponseBody`], and
//! its head as bytes when the service wrote it so, [`EncodedHead`]).
//!
//! A listener is generic over its [`Service`]: the answering code is called directly, and a
//! hit's future and head are the service's own types, monomorphised into the loop (no box, no
//! dynamic call, nothing handed over through the connection's state).

use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{Either, Empty, Full};
use hyper::body::Incoming;

use crate::sendfile::SendSlot;

/// The body of a client's request: hyper's stream, or none for a request the own HTTP/1.1
/// read (a `GET` without a body, see [`crate::http1`]).
pub type RequestBody = Either<Incoming, Empty<Bytes>>;

/// The body of an answer: whole bytes (the very `Bytes` are written, so a body registered in
/// the connection's [`SendSlot`] is recognised by its address) or a stream of unknown or
/// declared length.
pub type ResponseBody = Either<Full<Bytes>, Incoming>;

/// Answers a listener's requests. The listener makes one [`Service::Connection`] per accepted
/// connection and hands every request on it to [`Service::answer`], whichever of its readers
/// (the own HTTP/1.1 or hyper) read it.
pub trait Service: Send + Sync + 'static {
    /// What the service keeps for one client connection, made when it is accepted.
    type Connection: Send + Sync + 'static;
    /// An answer's head given as bytes (only to [`Via::Own`]).
    type Head: EncodedHead + Send + 'static;

    /// The state of a connection just accepted from `peer`, whose stream sends the bodies
    /// registered in `slot` without copying them.
    fn connect(&self, peer: SocketAddr, slot: Arc<SendSlot>) -> Self::Connection;

    /// Answers `request`, which came on `connection` `via` one of the connection's readers.
    /// One lifetime for the service and the connection: the answer may hold both.
    fn answer<'a>(
        &'a self,
        connection: &'a Self::Connection,
        request: Request<RequestBody>,
        via: Via,
    ) -> impl Future<Output = Reply<Self::Head>> + Send + 'a;
}

/// An answer's status line and header lines as bytes, written by the service (a cached
/// answer's head kept as bytes, say). The own HTTP/1.1 adds the framing, `connection: close`
/// when asked, a `Date` when the head has none, and the blank line.
pub trait EncodedHead {
    /// Appends the status line and the header lines (each ending `\r\n`; no framing lines, no
    /// blank line) to `out`; whether a `Date` is among them.
    fn encode(&self, out: &mut Vec<u8>) -> bool;
}

/// Names one head that a listener's HTTP/1.1 loop kept (`http1::LastHead`), byte for byte:
/// requests read from the same kept head are the same request, since reading a head is a pure
/// function of its bytes. Ids are never reused in a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadId(NonZeroU64);

impl HeadId {
    /// Keeps a copy of `head` and names it: the one way to have an id, so that an id always
    /// names bytes that were kept, and no code can hand a service an id that would let it
    /// skip comparing bytes it never saw.
    pub fn keep(head: &[u8]) -> (HeadId, Box<[u8]>) {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        (
            HeadId(NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN)),
            head.into(),
        )
    }
}

/// How a request reached the service, handed with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// The connection's own HTTP/1.1, which read it from the kept head named (if any) and
    /// writes a head given as bytes ([`Reply::head`]).
    Own(Option<HeadId>),
    /// hyper, which writes every answer from its header map.
    Hyper,
}

impl Via {
    /// The kept head the request was read from.
    #[inline]
    pub fn head(self) -> Option<HeadId> {
        match self {
            Via::Own(head) => head,
            Via::Hyper => None,
        }
    }

    /// Whether the writer takes an answer's head as bytes (the response's map then empty).
    #[inline]
    pub fn takes_head_bytes(self) -> bool {
        matches!(self, Via::Own(_))
    }
}

/// An answer: the response and, when the service wrote its head as bytes (only for
/// [`Via::Own`]), that head `H`; the response's own header map is then left empty and not
/// written.
#[derive(Debug)]
pub struct Reply<H> {
    /// The status, the header map (empty with `head`), the body.
    pub response: Response<ResponseBody>,
    /// The head as bytes, written in place of the response's status and map.
    pub head: Option<H>,
}

impl<H> From<Response<ResponseBody>> for Reply<H> {
    #[inline]
    fn from(response: Response<ResponseBody>) -> Self {
        Reply {
            response,
            head: None,
        }
    }
}
