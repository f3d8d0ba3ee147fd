//! The own HTTP/1.1 for the requests that make up nearly all of a proxy's traffic: a `GET`
//! with no body on a kept-alive connection. Everything else on the connection is handed to
//! hyper, which serves it from then on.
//!
//! Why not hyper for those too: a cached answer costs the gateway little, and around it hyper's
//! general machinery (its read and write buffers, the dispatcher, the service and body traits,
//! the request's future moved in and out, a header map built for every request and encoded
//! for every answer) cost more than the gateway's own work. Here a connection reads into one
//! small buffer, parses the head with `httparse` (the parser hyper uses) unless it repeats the
//! listener's last head byte for byte (`LastHead`), answers through the same
//! [`Service::answer`] as hyper's service, and writes the status line, the headers and the body
//! in one vectored write, which the connection's `SendfileStream` turns into `sendfile` for a
//! large cached body; a hit's head comes ready as bytes (the service's [`EncodedHead`], in
//! its [`Reply`]). A read that
//! empties the socket marks it not readable, so waiting costs no `recv` that would only say
//! `EAGAIN`. A cached 20 KB hit took 20,387 instructions through hyper and takes 10,125 here,
//! against 10,369 for a bare hyper server with a fixed body (docs/benchmarks.md, "Gateway").
//!
//! What this loop takes is deliberately narrow, and anything outside it goes to hyper with the
//! bytes read so far (given back to the stream: `SendfileStream::give_back`), so hyper's answers to the rest (`400`, `431`, bodies,
//! `Expect`, upgrades, HTTP/1.0, `HEAD`, methods that write) stay exactly what they were:
//! - a complete head of at most `max_header` bytes and `max_headers` lines;
//! - method `GET`, version HTTP/1.1, a target `http::Uri` accepts;
//! - no `Content-Length`, `Transfer-Encoding`, `Expect` or `Upgrade`, and a `Connection` that
//!   says at most `keep-alive` or `close`.
//!
//! Answers follow hyper's framing: a `Date` when the answer has none, `Content-Length` for a
//! known length (none for `204` and `304`), chunks for a stream of unknown length, and
//! `connection: close` (then the connection closes) when the client asked for it. Pipelined
//! requests are answered in order. While a connection waits for its next request it closes
//! when the listener stops or sheds it; a request in service is answered first.

use std::io::{self, IoSlice};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt as _, Either, Empty};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;

use crate::connections::{Registered, Tracker};
use crate::lines;
use crate::sendfile::SendfileStream;
use crate::service::{EncodedHead, HeadId, Reply, RequestBody, ResponseBody, Service, Via};

/// A connection's read buffer starts this large: requests are a few hundred bytes. It grows
/// (up to the header limit) only for a longer head.
const READ_BUFFER: usize = 2048;

/// httparse's header array: hyper's default limit. A higher configured limit sends heads with
/// more lines to hyper.
const MAX_PARSED_HEADERS: usize = 100;

/// Heads longer than this are not kept in a listener's [`LastHead`].
const MAX_KEPT_HEAD: usize = 4096;

/// What a connection needs to answer its requests.
pub(crate) struct ConnectionContext<S: Service> {
    pub(crate) service: Arc<S>,
    /// The service's state for this connection.
    pub(crate) connection: S::Connection,
    pub(crate) tracker: Tracker,
    /// The listener's last parsed head, shared by its connections.
    pub(crate) last_head: Arc<LastHead>,
    /// The listener's limits on a head this loop reads.
    pub(crate) head_limits: HeadLimits,
}

/// The last head a listener's connections parsed, byte for byte, with the request read from
/// it. Pollers and connection storms send the same head again and again: a head that starts
/// the buffer with exactly these bytes is the same request, so its target and header map are
/// cloned instead of parsed and built again (the parse is a pure function of the bytes).
#[derive(Default)]
pub(crate) struct LastHead(std::sync::Mutex<Option<KnownHead>>);

struct KnownHead {
    bytes: Box<[u8]>,
    uri: Uri,
    headers: HeaderMap,
    close: bool,
    /// Names these bytes for the listener's table of recent readings, which then need not
    /// compare them again.
    id: HeadId,
}

impl LastHead {
    /// The request at the start of `buf` if it is the kept head, and the head's id.
    fn recall(&self, buf: &[u8]) -> Option<(Parsed, HeadId)> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let known = kept.as_ref()?;
        let len = known.bytes.len();
        (buf.get(..len)? == &known.bytes[..]).then(|| {
            let request = get_request(known.uri.clone(), known.headers.clone());
            let parsed = Parsed::Get {
                request,
                len,
                close: known.close,
            };
            (parsed, known.id)
        })
    }

    /// Keeps `head` (the first `len` bytes of a buffer) and what was read from it; returns
    /// the id it is kept under (`None`: too long to keep).
    fn keep(&self, head: &[u8], request: &Request<RequestBody>, close: bool) -> Option<HeadId> {
        if head.len() > MAX_KEPT_HEAD {
            return None;
        }
        let (id, bytes) = HeadId::keep(head);
        let known = KnownHead {
            bytes,
            uri: request.uri().clone(),
            headers: request.headers().clone(),
            close,
            id,
        };
        // The head it replaces is dropped after the lock is let go.
        let _replaced = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(known);
        Some(id)
    }
}

/// How the loop left a connection.
pub(crate) enum Ended {
    /// Closed (by either side, or for shutdown or shedding).
    Closed,
    /// A request this loop does not take: hyper serves the connection from here on (the bytes
    /// read so far are given back to the stream).
    HandOff(SendfileStream),
}

/// Serves `stream` until it closes or a request needs hyper.
pub(crate) async fn serve<S: Service>(
    mut stream: SendfileStream,
    ctx: &ConnectionContext<S>,
    registered: &Registered,
    stop: &CancellationToken,
) -> Ended {
    let head_limits = &ctx.head_limits;
    let mut buf: Vec<u8> = Vec::with_capacity(READ_BUFFER);
    let mut out: Vec<u8> = Vec::with_capacity(512);
    // Made once for the connection's life, not at every wait for a request.
    let mut stopped = std::pin::pin!(stop.cancelled());
    let mut shed = std::pin::pin!(registered.shed());
    loop {
        match next_request(&ctx.last_head, &buf, head_limits) {
            (
                Parsed::Get {
                    request,
                    len,
                    close,
                },
                head,
            ) => {
                buf.drain(..len);
                let busy = ctx.tracker.busy();
                // Pinned where they are made and awaited through the pin. Awaited by value, a
                // future is moved into the loop's state, unless the compiler happens to build it
                // there: the answer's future (a request's whole path, kilobytes) was copied
                // twice per request, ~560 instructions of a hit (`bench/hitpath/callgrind.sh`).
                let Reply { response, head } = {
                    let answering = std::pin::pin!(ctx.service.answer(
                        &ctx.connection,
                        request,
                        Via::Own(head)
                    ));
                    answering.await
                };
                let written = {
                    let writing = std::pin::pin!(write_response(
                        &mut stream,
                        response,
                        head,
                        close,
                        &mut out
                    ));
                    writing.await
                };
                drop(busy);
                let keep = matches!(written, Ok(Framed::KeepAlive));
                if !keep || stop.is_cancelled() || registered.is_shed() {
                    let _ = stream.shutdown().await;
                    return Ended::Closed;
                }
                continue;
            }
            (Parsed::Other, _) => {
                stream.give_back(Bytes::from(buf));
                return Ended::HandOff(stream);
            }
            (Parsed::Partial, _) => {}
        }
        if buf.capacity() == buf.len() {
            buf.reserve(buf.len().max(READ_BUFFER));
        }
        // Waiting for a request: the connection is idle, so stopping or shedding closes it (a
        // client that sent half a head loses nothing it was promised).
        let read = tokio::select! {
            biased;
            r = stream.read_available(&mut buf) => r,
            () = &mut stopped => return Ended::Closed,
            () = &mut shed => return Ended::Closed,
        };
        match read {
            Ok(0) | Err(_) => return Ended::Closed,
            Ok(_) => {}
        }
    }
}

/// The request at the start of `buf`: recalled if it repeats the listener's `last` head byte
/// for byte, else parsed (and kept in `last` when it is a `GET` this loop answers); with the
/// id of the kept head it was read from.
fn next_request(last: &LastHead, buf: &[u8], limits: &HeadLimits) -> (Parsed, Option<HeadId>) {
    if buf.is_empty() {
        // Between requests: nothing to recall or parse (and no lock to take).
        return (Parsed::Partial, None);
    }
    if let Some((known, id)) = last.recall(buf) {
        return (known, Some(id));
    }
    let parsed = parse_head(buf, limits);
    let id = match &parsed {
        Parsed::Get {
            request,
            len,
            close,
        } => last.keep(&buf[..*len], request, *close),
        Parsed::Partial | Parsed::Other => None,
    };
    (parsed, id)
}

/// What the connection's own HTTP/1.1 makes of the bytes at the start of a read buffer, under
/// the listener's `[limits] max_header` (`max_bytes`) and `max_headers`: the same reading the
/// connection uses, the head recalled through a `LastHead` of its own (made for each call) as
/// well as parsed, and the two checked to agree. Public for the fuzz target
/// (`fuzz/fuzz_targets/http1_head.rs`).
pub fn read_head(buf: &[u8], max_bytes: usize, max_headers: usize) -> HeadRead {
    let limits = HeadLimits::new(max_bytes, max_headers);
    // Read twice as the connection reads: the first time parsed (and kept), the second
    // recalled from what the first kept.
    let last = LastHead::default();
    match next_request(&last, buf, &limits).0 {
        Parsed::Get {
            request,
            len,
            close,
        } => {
            let recalled = match last.recall(buf).map(|(parsed, _)| parsed) {
                Some(Parsed::Get {
                    request: again,
                    len: again_len,
                    close: again_close,
                }) => {
                    again_len == len
                        && again_close == close
                        && again.uri() == request.uri()
                        && again.headers() == request.headers()
                }
                // A head too long to keep is not recalled.
                _ => len > MAX_KEPT_HEAD,
            };
            let (parts, _) = request.into_parts();
            HeadRead::Get {
                request: Request::from_parts(parts, ()),
                len,
                close,
                recalled,
            }
        }
        Parsed::Partial => HeadRead::Partial,
        Parsed::Other => HeadRead::ForHyper,
    }
}

/// See [`read_head`].
// Read once per call and matched at once; not worth an allocation to shrink.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum HeadRead {
    /// A `GET` the connection answers itself.
    Get {
        /// The request read from the head.
        request: Request<()>,
        /// The head's length in bytes (what follows is the next request's).
        len: usize,
        /// The client asked to close after this answer.
        close: bool,
        /// Recalling the same bytes gave the same request.
        recalled: bool,
    },
    /// Not a whole head yet.
    Partial,
    /// Handed to hyper (a body, another method or version, a malformed or oversized head).
    ForHyper,
}

/// Limits a head must keep to for this loop; hyper answers the rest.
pub(crate) struct HeadLimits {
    max_bytes: usize,
    max_lines: usize,
}

impl HeadLimits {
    /// At most `max_bytes` in a head and `max_headers` lines (this loop parses at most
    /// [`MAX_PARSED_HEADERS`]; a head with more goes to hyper).
    pub(crate) fn new(max_bytes: usize, max_headers: usize) -> HeadLimits {
        HeadLimits {
            max_bytes,
            max_lines: max_headers.min(MAX_PARSED_HEADERS),
        }
    }
}

/// What the buffer's start holds.
// Made and matched once per request on the stack; boxing the request would cost every request
// an allocation to save moving a few hundred bytes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Parsed {
    /// A request this loop answers, `len` bytes long; `close` if the client asked to close.
    Get {
        request: Request<RequestBody>,
        len: usize,
        close: bool,
    },
    /// Not a whole head yet.
    Partial,
    /// Something for hyper.
    Other,
}

fn parse_head(buf: &[u8], limits: &HeadLimits) -> Parsed {
    if buf.is_empty() {
        return Parsed::Partial;
    }
    let mut lines = [httparse::EMPTY_HEADER; MAX_PARSED_HEADERS];
    let mut head = httparse::Request::new(&mut lines);
    let len = match head.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() <= limits.max_bytes => {
            // Only a GET is ours: say so as soon as the method is known.
            return match head.method {
                Some(m) if m != "GET" => Parsed::Other,
                _ => Parsed::Partial,
            };
        }
        _ => return Parsed::Other,
    };
    if len > limits.max_bytes
        || head.headers.len() > limits.max_lines
        || head.method != Some("GET")
        || head.version != Some(1)
    {
        return Parsed::Other;
    }
    let Some(Ok(uri)) = head
        .path
        .map(|p| Uri::from_maybe_shared(Bytes::copy_from_slice(p.as_bytes())))
    else {
        return Parsed::Other;
    };
    let mut headers = HeaderMap::with_capacity(head.headers.len());
    let mut close = false;
    for line in head.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(line.name.as_bytes()),
            HeaderValue::from_bytes(line.value),
        ) else {
            return Parsed::Other;
        };
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::EXPECT
            || name == header::UPGRADE
        {
            return Parsed::Other;
        }
        if name == header::CONNECTION {
            match connection_asks_close(&value) {
                Some(asks) => close |= asks,
                None => return Parsed::Other,
            }
        }
        headers.append(name, value);
    }
    Parsed::Get {
        request: get_request(uri, headers),
        len,
        close,
    }
}

/// An HTTP/1.1 `GET` of `uri` with `headers` and no body.
fn get_request(uri: Uri, headers: HeaderMap) -> Request<RequestBody> {
    let mut request = Request::new(Either::Right(Empty::new()));
    *request.method_mut() = Method::GET;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    request
}

/// Whether a `Connection` value asks to close: `Some(false)` for `keep-alive`, `None` for any
/// other option (an upgrade, hop-by-hop names): hyper decides those.
fn connection_asks_close(value: &HeaderValue) -> Option<bool> {
    let mut close = false;
    for option in value.as_bytes().split(|&b| b == b',') {
        let option = option.trim_ascii();
        if option.eq_ignore_ascii_case(b"close") {
            close = true;
        } else if !option.eq_ignore_ascii_case(b"keep-alive") && !option.is_empty() {
            return None;
        }
    }
    Some(close)
}

/// What writing an answer left the connection fit for.
#[derive(Debug, PartialEq, Eq)]
enum Framed {
    KeepAlive,
    Close,
}

/// Writes `response` on `stream` as HTTP/1.1, using `out` for the head; with `encoded`, the
/// head is what it writes (the response's map is empty) and only the framing and the `Date`
/// are added.
async fn write_response<S: AsyncWrite + Unpin, H: EncodedHead>(
    stream: &mut S,
    response: Response<ResponseBody>,
    encoded: Option<H>,
    close: bool,
    out: &mut Vec<u8>,
) -> io::Result<Framed> {
    let (parts, body) = response.into_parts();
    let bodiless = matches!(
        parts.status,
        StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED
    ) || parts.status.is_informational();
    out.clear();
    match body {
        Either::Left(full) => {
            let data = if bodiless {
                Bytes::new()
            } else {
                whole(full).await
            };
            let length = Length::Exactly((!bodiless).then_some(data.len() as u64));
            match encoded {
                Some(head) => {
                    let has_date = head.encode(out);
                    end_head(out, length, close, has_date);
                }
                None => encode_head(out, parts.status, &parts.headers, length, close),
            }
            write_all_vectored(stream, out, &data).await?;
        }
        Either::Right(mut stream_body) => {
            // The upstream's length if it gave one (or the body knows it), else chunks.
            let length = parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .or(http_body::Body::size_hint(&stream_body).exact());
            let framing = match (bodiless, length) {
                (true, _) => Length::Exactly(None),
                (false, Some(n)) => Length::Exactly(Some(n)),
                (false, None) => Length::Chunked,
            };
            encode_head(out, parts.status, &parts.headers, framing, close);
            write_all_vectored(stream, out, &[]).await?;
            if !bodiless {
                stream_frames(stream, &mut stream_body, length, out).await?;
            }
        }
    }
    stream.flush().await?;
    Ok(if close {
        Framed::Close
    } else {
        Framed::KeepAlive
    })
}

/// Writes a streamed body's frames: as they come when its `length` is known, else as chunks
/// (`out` holds each chunk's size line). A stream that breaks off or ends short of its length
/// is an error, and the connection closes (the client sees a short body, as with hyper).
async fn stream_frames<S: AsyncWrite + Unpin>(
    stream: &mut S,
    body: &mut hyper::body::Incoming,
    length: Option<u64>,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let mut sent: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(io::Error::other)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        sent += data.len() as u64;
        if length.is_some() {
            write_all_vectored(stream, &[], &data).await?;
        } else {
            out.clear();
            out.extend_from_slice(format!("{:X}\r\n", data.len()).as_bytes());
            write_all_vectored(stream, out, &data).await?;
            stream.write_all(b"\r\n").await?;
        }
    }
    match length {
        None => stream.write_all(b"0\r\n\r\n").await,
        Some(n) if sent != n => Err(io::Error::other("the body ended short of its length")),
        Some(_) => Ok(()),
    }
}

/// A full body's bytes (ready at once, and the very `Bytes` it holds: a registered cached
/// body keeps its address).
async fn whole(mut full: http_body_util::Full<Bytes>) -> Bytes {
    match full.frame().await {
        Some(Ok(frame)) => frame.into_data().unwrap_or_default(),
        Some(Err(never)) => match never {},
        None => Bytes::new(),
    }
}

/// How an answer's body is framed.
enum Length {
    /// `Content-Length` when `Some`; none for an answer without a body.
    Exactly(Option<u64>),
    Chunked,
}

/// The status line and headers of an answer, as hyper writes them (lower-case names, in the
/// map's order), with the framing and `Date` added.
fn encode_head(
    out: &mut Vec<u8>,
    status: StatusCode,
    headers: &HeaderMap,
    length: Length,
    close: bool,
) {
    lines::push_status_line(out, status);
    let has_date = lines::push_lines(out, headers, &[]);
    end_head(out, length, close, has_date);
}

/// The lines every answer ends its head with: its framing, `connection: close` when the
/// client asked, a `Date` unless the answer has one, and the blank line.
#[inline]
fn end_head(out: &mut Vec<u8>, length: Length, close: bool, has_date: bool) {
    match length {
        Length::Exactly(Some(n)) => {
            out.extend_from_slice(b"content-length: ");
            lines::push_u64(out, n);
            out.extend_from_slice(b"\r\n");
        }
        Length::Exactly(None) => {}
        Length::Chunked => lines::push_line(out, b"transfer-encoding", b"chunked"),
    }
    if close {
        lines::push_line(out, b"connection", b"close");
    }
    if !has_date {
        date::with_now(|date| lines::push_line(out, b"date", date));
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes `head` then `body` in vectored writes until both are out. The body stays its own
/// slice, so the connection's stream can send a registered cached body with `sendfile`.
async fn write_all_vectored<S: AsyncWrite + Unpin>(
    stream: &mut S,
    mut head: &[u8],
    mut body: &[u8],
) -> io::Result<()> {
    while !head.is_empty() || !body.is_empty() {
        let slices = [IoSlice::new(head), IoSlice::new(body)];
        let n = stream.write_vectored(&slices).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_head = n.min(head.len());
        head = &head[from_head..];
        body = &body[n - from_head..];
    }
    Ok(())
}

/// The `Date` header's value, formatted once a second per thread (as hyper does).
mod date {
    use std::cell::RefCell;
    use std::time::{SystemTime, UNIX_EPOCH};

    thread_local! {
        static CACHED: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
    }

    /// Calls `f` with the current `Date` value (IMF-fixdate, 29 bytes).
    #[allow(
        clippy::disallowed_methods,
        reason = "the Date header says when the answer was written"
    )]
    pub(super) fn with_now<R>(f: impl FnOnce(&[u8]) -> R) -> R {
        let now = SystemTime::now();
        let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        CACHED.with(|cached| {
            let mut cached = cached.borrow_mut();
            if cached.0 != second {
                let text = httpdate::fmt_http_date(now);
                if text.len() == 29 {
                    cached.1.copy_from_slice(text.as_bytes());
                    cached.0 = second;
                } else {
                    return f(text.as_bytes());
                }
            }
            f(&cached.1)
        })
    }
}

#[cfg(test)]
mod tests;
