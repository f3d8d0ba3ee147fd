//! Zero-copy answers for large cached bodies: `sendfile(2)` from a sealed memfd, when
//! `[cache] sendfile_min` turns it on (off by default).
//!
//! Why it exists: on a memory hit the gateway's own work is small and the kernel's dominates;
//! part of that is copying the body from our heap into socket buffers. nginx avoids the copy
//! with `sendfile on`, and so can we: a hot entry's body (at least `sendfile_min` bytes) is
//! written once into a sealed, anonymous in-memory file ([`BodyFile`]); answers then hand the
//! kernel references to those pages instead of copying the bytes.
//!
//! Why it is off by default: whether the page references cost less than the copy depends on
//! the machine. On one 2-core machine `sendfile` made a 20 KB hit 5 % cheaper; on another,
//! with the same kernel, every hit from 20 KB to 1 MB cost 14–22 % more than copying it (the
//! shmem page lookups and the splice pipe's page references outweighed the copy, with the
//! client on the same core or on the other), and the files' pages take a second share of
//! `memory_max` (docs/benchmarks.md, "Gateway"). Copying is the default that never loses much;
//! `bench/gateway/run.sh` measures both ways (`BENCH_SENDFILE_MIN`).
//!
//! How it fits hyper without forking it: each proxy connection's socket is wrapped in a
//! `SendfileStream`. When the service answers from such an entry it registers the body's
//! `Bytes` (a clone, which keeps that memory alive and unchanged) and its file in the
//! connection's [`SendSlot`] (handed to it by [`crate::Service::connect`]). The own HTTP/1.1
//! or hyper writes the response with vectored writes whose body slice
//! points into that same `Bytes`; the stream recognises the slice by address, sends the bytes
//! before it with `MSG_MORE` (so head and body leave in one segment, as nginx's `tcp_nopush`),
//! and sends the slice itself with `sendfile` from the matching offset of the file. Anything it
//! does not recognise goes through the ordinary vectored write. The file's content equals the
//! body byte for byte (written from it, then sealed against writes), and a registered `Bytes`
//! cannot be freed or reused while registered, so an address match always means the same bytes.
//!
//! Budget: files cost a descriptor and a second copy of the body in memory (shmem pages), so
//! at most [`MAX_FILES`] files and [`MAX_BYTES`] bytes (less when the caller gives a smaller
//! bound to [`BodyFile::create`]) exist at once; past that, answers are copied as before.

use std::io::{self, IoSlice, Write as _};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::{Buf as _, Bytes};
use rustix::fd::OwnedFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// The smallest body worth a file when zero-copy answers are on: below it, one copy costs
/// less than the extra system call. A suggestion for `sendfile_min`, used by the tests.
#[cfg(test)]
pub(crate) const MIN_BODY: usize = 16 * 1024;

/// At most this many body files at once (each holds a file descriptor).
pub const MAX_FILES: usize = 256;
/// At most this many bytes in body files at once.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;

static LIVE_FILES: AtomicUsize = AtomicUsize::new(0);
static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);

/// Bytes held in body files now (whole process).
pub fn live_bytes() -> u64 {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// A cached body in a sealed memfd.
pub struct BodyFile {
    fd: OwnedFd,
    len: usize,
}

impl std::fmt::Debug for BodyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyFile").field("len", &self.len).finish()
    }
}

impl BodyFile {
    /// A file holding `body`, or `None` if the body is shorter than `min_len`, the budget is
    /// spent or the kernel refuses (the caller then copies, as it would anyway).
    /// `max_bytes` bounds what all body files hold together (the process-wide count).
    pub fn create(body: &Bytes, min_len: u64, max_bytes: u64) -> Option<Arc<BodyFile>> {
        let len = body.len();
        if (len as u64) < min_len {
            return None;
        }
        // Reserve budget first; give it back on any failure.
        if LIVE_FILES.fetch_add(1, Ordering::AcqRel) >= MAX_FILES {
            LIVE_FILES.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let bytes = len as u64;
        if LIVE_BYTES.fetch_add(bytes, Ordering::AcqRel) + bytes > max_bytes.min(MAX_BYTES) {
            LIVE_BYTES.fetch_sub(bytes, Ordering::AcqRel);
            LIVE_FILES.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        match Self::write_sealed(body) {
            Ok(fd) => Some(Arc::new(BodyFile { fd, len })),
            Err(e) => {
                tracing::debug!(error = %e, "body file not created; answers are copied");
                LIVE_BYTES.fetch_sub(bytes, Ordering::AcqRel);
                LIVE_FILES.fetch_sub(1, Ordering::AcqRel);
                None
            }
        }
    }

    fn write_sealed(body: &Bytes) -> io::Result<OwnedFd> {
        use rustix::fs::{MemfdFlags, SealFlags};
        let fd = rustix::fs::memfd_create(
            "cachearr-body",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )?;
        let mut file = std::fs::File::from(fd);
        file.write_all(body)?;
        let fd = OwnedFd::from(file);
        rustix::fs::fcntl_add_seals(
            &fd,
            SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL,
        )?;
        Ok(fd)
    }
}

impl Drop for BodyFile {
    fn drop(&mut self) {
        LIVE_BYTES.fetch_sub(self.len as u64, Ordering::AcqRel);
        LIVE_FILES.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Bodies registered for zero-copy sending on one connection.
#[derive(Default)]
pub struct SendSlot {
    /// At most two: the response being written and, with pipelining, the next one.
    bodies: Mutex<Vec<(Bytes, Arc<BodyFile>)>>,
}

impl SendSlot {
    /// Registers `body` (a clone of the answer's body, which keeps it alive) and its file.
    pub fn register(&self, body: Bytes, file: Arc<BodyFile>) {
        let mut b = self.bodies.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() >= 2 {
            b.remove(0);
        }
        b.push((body, file));
    }

    /// The file and offset of a slice that lies inside a registered body.
    fn find(&self, slice: &[u8]) -> Option<(Arc<BodyFile>, u64)> {
        let start = slice.as_ptr() as usize;
        let end = start + slice.len();
        let b = self.bodies.lock().unwrap_or_else(|e| e.into_inner());
        b.iter().find_map(|(body, file)| {
            let base = body.as_ptr() as usize;
            (start >= base && end <= base + body.len() && body.len() == file.len)
                .then(|| (file.clone(), (start - base) as u64))
        })
    }
}

/// A proxy connection's socket: reads as usual; writes recognise registered bodies and send
/// them with `sendfile`.
pub(crate) struct SendfileStream {
    inner: TcpStream,
    slot: Arc<SendSlot>,
    /// Bytes read ahead from the socket and given back ([`Self::give_back`]): reads return
    /// them before anything more from the socket.
    unread: Bytes,
}

impl SendfileStream {
    pub(crate) fn new(inner: TcpStream, slot: Arc<SendSlot>) -> Self {
        Self {
            inner,
            slot,
            unread: Bytes::new(),
        }
    }

    /// Gives back `bytes` read from the socket but not used, so that the next reader (hyper,
    /// taking a connection over from the gateway's own HTTP/1.1) reads them first.
    pub(crate) fn give_back(&mut self, bytes: Bytes) {
        debug_assert!(self.unread.is_empty(), "bytes given back twice");
        self.unread = bytes;
    }

    /// Appends what the socket holds to `buf` (up to its spare capacity), waiting for it if
    /// there is nothing yet; `Ok(0)` when the client has closed.
    ///
    /// A read that returns fewer bytes than it had room for has emptied the socket, so the
    /// socket is marked not readable at once (as nginx does): the next wait goes to the poller
    /// instead of a `recv` that would only answer `EAGAIN`, one system call less per request.
    /// The mark uses the readiness seen before the read, so data that arrives after it is
    /// never missed (tokio keeps the newer readiness).
    pub(crate) async fn read_available(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        loop {
            self.inner.readable().await?;
            let room = buf.capacity() - buf.len();
            let mut got = 0;
            let read = self.inner.try_io(Interest::READABLE, || {
                let (_, n) = rustix::net::recv(
                    &self.inner,
                    rustix::buffer::spare_capacity(&mut *buf),
                    rustix::net::RecvFlags::empty(),
                )?;
                got = n;
                if n > 0 && n < room {
                    // Emptied: let tokio forget the readiness it had before this read.
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(n)
            });
            match read {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => return Ok(got),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends `head` (the slices before the body, with `MSG_MORE`) then `len` bytes of `file`
    /// from `offset`. Returns the bytes written; `WouldBlock` only if nothing was.
    fn send_zero_copy(
        &self,
        head: &[IoSlice<'_>],
        file: &BodyFile,
        offset: u64,
        len: usize,
    ) -> io::Result<usize> {
        use rustix::net::SendFlags;
        let mut written = 0;
        for slice in head {
            if slice.is_empty() {
                continue;
            }
            match rustix::net::send(&self.inner, slice, SendFlags::MORE | SendFlags::NOSIGNAL) {
                Ok(n) => {
                    written += n;
                    if n < slice.len() {
                        return Ok(written);
                    }
                }
                Err(e) if written > 0 && e == rustix::io::Errno::AGAIN => return Ok(written),
                Err(e) => return Err(e.into()),
            }
        }
        let mut off = offset;
        match rustix::fs::sendfile(&self.inner, &file.fd, Some(&mut off), len) {
            Ok(n) => Ok(written + n),
            Err(e) if written > 0 && e == rustix::io::Errno::AGAIN => Ok(written),
            Err(e) => Err(e.into()),
        }
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.unread.is_empty() {
            let n = self.unread.len().min(buf.remaining());
            buf.put_slice(&self.unread[..n]);
            self.unread.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let found = bufs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.len() >= 4096)
            .find_map(|(i, s)| self.slot.find(s).map(|(f, off)| (i, f, off)));
        let Some((index, file, offset)) = found else {
            return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        };
        let (head, len) = (&bufs[..index], bufs[index].len());
        loop {
            ready!(self.inner.poll_write_ready(cx))?;
            let this = &*self;
            match this.inner.try_io(Interest::WRITABLE, || {
                this.send_zero_copy(head, &file, offset, len)
            }) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return Poll::Ready(other),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bodies_get_no_file() {
        assert!(
            BodyFile::create(
                &Bytes::from(vec![b'x'; MIN_BODY - 1]),
                MIN_BODY as u64,
                MAX_BYTES
            )
            .is_none()
        );
    }

    #[test]
    fn a_registered_body_is_found_by_address_and_nothing_else() {
        let body = Bytes::from(vec![7u8; MIN_BODY * 2]);
        let file = BodyFile::create(&body, MIN_BODY as u64, MAX_BYTES).expect("memfd");
        let slot = SendSlot::default();
        slot.register(body.clone(), file);
        let (_, off) = slot.find(&body[100..200]).expect("inside");
        assert_eq!(off, 100);
        // Same content, other memory: not ours.
        let copy = body.to_vec();
        assert!(slot.find(&copy[..]).is_none());
        // A sub-slice ending at the body's end is still inside.
        let (_, off) = slot.find(&body.slice(10..)).expect("tail");
        assert_eq!(off, 10);
    }
}
