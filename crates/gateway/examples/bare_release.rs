//! The floor under a cold burst: a bare single-flight HTTP/1 proxy with nothing of a gateway
//! in it (no routing, key, identity, cache headers or tiers), to tell what answering a thousand
//! waiters at once costs any server on this machine from what cachearr adds to it.
//!
//! The first request for a path fetches it from the upstream (the client's header lines
//! forwarded, on a connection of its own); every request for the path that comes while the
//! fetch runs waits for it; every later one is answered at once from memory with the same
//! bytes. The answer is the upstream's status, `Content-Type` and body, with `Content-Length`.
//! Two ways to release the waiters:
//!
//! * `loop`: the fetch's own task writes every waiter's answer, in the order they came, in one
//!   pass (non-blocking writes; a socket that cannot take it all gets a task to finish). No
//!   waiter's task is woken: what is left is the kernel's cost of a thousand writes.
//! * `tasks`: each waiter's task is woken in turn and writes its own answer, as cachearr's are
//!   (the first few at once, then each wakes the next before it writes).
//!
//! `bench/gateway/cold-burst.sh` measures it beside cachearr (`FLOOR_BIN`), pinned the same
//! way. Keep-alive, one request at a time per connection (no pipelining: a second request sent
//! before the first is answered would be answered first).
//!
//! ```text
//! cargo run --release -p cachearr-gateway --example bare_release -- 127.0.0.1:8080 127.0.0.1:32400 loop
//! ```

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// How the waiters of a fetch are answered.
#[derive(Clone, Copy, PartialEq)]
enum Release {
    Loop,
    Tasks,
}

/// One path's fetch and, once it ended, its answer.
#[derive(Default)]
struct Slot {
    answer: OnceLock<Bytes>,
    /// `loop`: the connections waiting, in the order they came.
    waiting: Mutex<Vec<Arc<TcpStream>>>,
    /// `tasks`: released in order, each waking the next.
    released: Notify,
}

/// Waiters released together when a fetch ends, as cachearr's engine does.
const RELEASED_AT_ONCE: usize = 16;

struct Proxy {
    upstream: String,
    release: Release,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bare_release LISTEN UPSTREAM [loop|tasks]";
    let listen = args.next().expect(usage);
    let upstream = args.next().expect(usage);
    let release = match args.next().as_deref() {
        None | Some("loop") => Release::Loop,
        Some("tasks") => Release::Tasks,
        Some(other) => panic!("{usage} (not {other})"),
    };
    let proxy = Arc::new(Proxy {
        upstream,
        release,
        slots: Mutex::new(HashMap::new()),
    });
    let listener = TcpListener::bind(&listen).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let _ = serve(proxy, Arc::new(stream)).await;
        });
    }
}

/// Serves one client connection until it closes.
async fn serve(proxy: Arc<Proxy>, stream: Arc<TcpStream>) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            stream.readable().await?;
            let mut chunk = [0u8; 4096];
            match stream.try_read(&mut chunk) {
                Ok(0) => return Ok(()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        };
        let head: Vec<u8> = buf.drain(..end).collect();
        let head = String::from_utf8_lossy(&head).into_owned();
        let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
        let (slot, first) = {
            let mut slots = proxy.slots.lock().unwrap_or_else(|e| e.into_inner());
            match slots.get(&path) {
                Some(slot) => (slot.clone(), false),
                None => {
                    let slot = Arc::new(Slot::default());
                    slots.insert(path.clone(), slot.clone());
                    (slot, true)
                }
            }
        };
        if let Some(answer) = slot.answer.get() {
            write_all(&stream, answer).await?;
            continue;
        }
        match proxy.release {
            Release::Loop => {
                let mut waiting = slot.waiting.lock().unwrap_or_else(|e| e.into_inner());
                match slot.answer.get() {
                    // Set between the look and the lock: answer it here.
                    Some(answer) => {
                        let answer = answer.clone();
                        drop(waiting);
                        write_all(&stream, &answer).await?;
                    }
                    None => waiting.push(stream.clone()),
                }
            }
            Release::Tasks => {
                let released = slot.released.notified();
                tokio::pin!(released);
                released.as_mut().enable();
                if first {
                    tokio::spawn(fetch(proxy.clone(), slot.clone(), path, head));
                }
                if slot.answer.get().is_none() {
                    released.await;
                    slot.released.notify_one();
                }
                let answer = slot.answer.get().cloned().unwrap_or_default();
                write_all(&stream, &answer).await?;
                continue;
            }
        }
        if first {
            tokio::spawn(fetch(proxy.clone(), slot, path, head));
        }
    }
}

/// Fetches `path` from the upstream with the client's header lines, sets the slot's answer and
/// releases its waiters.
async fn fetch(proxy: Arc<Proxy>, slot: Arc<Slot>, path: String, head: String) {
    let answer = match get(&proxy.upstream, &path, &head).await {
        Ok(answer) => answer,
        Err(e) => Bytes::from(format!(
            "HTTP/1.1 502 Bad Gateway\r\ncontent-length: {}\r\n\r\n{e}",
            e.to_string().len()
        )),
    };
    let _ = slot.answer.set(answer.clone());
    match proxy.release {
        Release::Loop => {
            let waiting =
                std::mem::take(&mut *slot.waiting.lock().unwrap_or_else(|e| e.into_inner()));
            for stream in waiting {
                let mut rest: &[u8] = &answer;
                while !rest.is_empty() {
                    match stream.try_write(rest) {
                        Ok(n) => rest = &rest[n..],
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            let rest = answer.slice(answer.len() - rest.len()..);
                            tokio::spawn(async move { write_all(&stream, &rest).await });
                            break;
                        }
                        Err(_) => break,
                    }
                }
            }
        }
        Release::Tasks => {
            for _ in 0..RELEASED_AT_ONCE {
                slot.released.notify_one();
            }
        }
    }
}

/// One GET from the upstream, on a connection of its own: the answer to send the clients.
async fn get(upstream: &str, path: &str, client_head: &str) -> io::Result<Bytes> {
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: {upstream}\r\nconnection: close\r\n");
    for line in client_head.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if name != "host" && name != "connection" {
            request.push_str(line);
            request.push_str("\r\n");
        }
    }
    request.push_str("\r\n");
    let mut conn = TcpStream::connect(upstream).await?;
    conn.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    conn.read_to_end(&mut response).await?;
    let bad = || io::Error::other("a malformed upstream answer");
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let mut raw = &response[end + 4..];
    let status = head.lines().next().unwrap_or("HTTP/1.1 502 Bad Gateway");
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let line_end = raw.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
            let size = std::str::from_utf8(&raw[..line_end]).map_err(|_| bad())?;
            let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad())?;
            raw = &raw[line_end + 2..];
            if size == 0 {
                break;
            }
            body.extend_from_slice(raw.get(..size).ok_or_else(bad)?);
            raw = raw.get(size + 2..).ok_or_else(bad)?;
        }
    } else {
        body.extend_from_slice(raw);
    }
    let mut answer = format!("{status}\r\n");
    if let Some(kind) = header("content-type") {
        answer.push_str(&format!("content-type: {kind}\r\n"));
    }
    answer.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut answer = answer.into_bytes();
    answer.extend_from_slice(&body);
    Ok(Bytes::from(answer))
}

/// Writes all of `bytes`, waiting for the socket when it is full.
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => stream.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
