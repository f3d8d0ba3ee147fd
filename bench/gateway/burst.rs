//! burst: N clients request one URL at the same instant; prints their latencies as JSON.
//!
//! Usage: burst HOST:PORT PATH N [HEADER:VALUE ...]
//!
//! How it measures, and why:
//! * Every connection is opened first, then the client sleeps `BURST_SETTLE_MS` (default
//!   500 ms) so the server has accepted them all: neither connection set-up nor the server's
//!   accept loop is inside the measurement (a real client pool reuses warm connections).
//! * Two threads: one sends, one reads, so a response is read as soon as the kernel reports it
//!   readable, while later requests are still being sent. An earlier version sent all N
//!   requests before reading any; the send loop took 13–15 ms on a 2-core machine, so every
//!   latency had that floor whatever the server did, and a proxy could not be measured below it.
//!   Before that, one blocking thread per client put the client's own scheduling of 1,000
//!   threads into the waiters' tail.
//! * The reader drives all N sockets with epoll (non-blocking, level-triggered). The sender
//!   writes the requests back to back (one `write` each; a request is a few hundred bytes, so
//!   the write never waits for the server).
//! * Each request is timed from its own `write` to its last byte: the end of the body by
//!   `Content-Length` (or the terminal chunk, or EOF for a close-delimited body), not the
//!   connection's close. Requests are keep-alive, as a client library would send them.
//!
//! Output: `{"clients","ok","failed","p50_ms","p99_ms","max_ms","spread_ms"}`; `spread_ms` is
//! the time from the first write to the last write (the burst's own width).
//!
//! `BURST_HOLD_MS`: keep the connections open this long after printing, so that a caller can
//! tell the server's work on the requests from its work closing them
//! (`bench/gateway/burst-phases.sh`).
//!
//! Standard library only (plus three libc calls declared below), so run.sh builds it with a bare
//! `rustc -O`; Linux only (epoll).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::io::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[cfg(target_arch = "x86_64")]
#[repr(C, packed)]
#[derive(Clone, Copy)]
struct EpollEvent {
    events: u32,
    data: u64,
}

#[cfg(not(target_arch = "x86_64"))]
#[repr(C)]
#[derive(Clone, Copy)]
struct EpollEvent {
    events: u32,
    data: u64,
}

unsafe extern "C" {
    fn epoll_create1(flags: i32) -> i32;
    fn epoll_ctl(epfd: i32, op: i32, fd: i32, event: *mut EpollEvent) -> i32;
    fn epoll_wait(epfd: i32, events: *mut EpollEvent, maxevents: i32, timeout: i32) -> i32;
}

const EPOLLIN: u32 = 0x001;
const EPOLL_CTL_ADD: i32 = 1;
const EPOLL_CTL_DEL: i32 = 2;

/// One client's progress, as the reader sees it. The socket itself is shared with the sender.
struct Client {
    response: Vec<u8>,
    done: Option<(Duration, bool)>,
}

/// When each request was written, in nanoseconds after the burst's start plus one (0: not yet
/// written), so the reader can time a response without a lock.
struct SendTimes(Vec<AtomicU64>);

impl SendTimes {
    fn mark(&self, i: usize, at: Duration) {
        self.0[i].store(at.as_nanos() as u64 + 1, Ordering::Release);
    }
    fn get(&self, i: usize) -> Option<Duration> {
        match self.0[i].load(Ordering::Acquire) {
            0 => None,
            n => Some(Duration::from_nanos(n - 1)),
        }
    }
}

/// Whether `buf` holds a complete HTTP/1.1 response; `eof` when the peer closed.
fn complete(buf: &[u8], eof: bool) -> bool {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let body = &buf[head_end + 4..];
    for line in head.lines().skip(1) {
        if let Some(v) = line.strip_prefix("content-length:") {
            return v.trim().parse::<usize>().is_ok_and(|n| body.len() >= n);
        }
        if line.starts_with("transfer-encoding:") && line.contains("chunked") {
            return body.ends_with(b"0\r\n\r\n");
        }
    }
    eof
}

/// Writes all of `buf` to a non-blocking socket, waiting briefly whenever its buffer is full.
fn write_all_nonblocking(s: &mut &TcpStream, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        match s.write(buf) {
            Ok(0) => return false,
            Ok(k) => buf = &buf[k..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: burst HOST:PORT PATH N [HEADER:VALUE ...]");
        std::process::exit(2);
    }
    let addr = args[1].clone();
    let path = args[2].clone();
    let n: usize = args[3].parse().unwrap_or_else(|_| {
        eprintln!("N must be a number");
        std::process::exit(2)
    });
    let settle_ms: u64 = std::env::var("BURST_SETTLE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for header in &args[4..] {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let request = request.into_bytes();

    // 1. Connect everything, then let the server accept it all.
    let mut streams = Vec::with_capacity(n);
    let mut failed = 0usize;
    for _ in 0..n {
        match TcpStream::connect(&addr) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                streams.push(s);
            }
            Err(e) => {
                if failed == 0 {
                    eprintln!("connect failed: {e}");
                }
                failed += 1;
            }
        }
    }
    std::thread::sleep(Duration::from_millis(settle_ms));
    // SAFETY: plain syscalls on descriptors we own; `events` outlives every call.
    let epfd = unsafe { epoll_create1(0) };
    if epfd < 0 {
        eprintln!("epoll_create1 failed");
        std::process::exit(1);
    }
    for (i, s) in streams.iter().enumerate() {
        // Non-blocking for the reader; the sender retries the (never expected) short write.
        let _ = s.set_nonblocking(true);
        let mut ev = EpollEvent {
            events: EPOLLIN,
            data: i as u64,
        };
        // SAFETY: as above.
        if unsafe { epoll_ctl(epfd, EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) } != 0 {
            eprintln!("epoll_ctl failed");
            std::process::exit(1);
        }
    }
    let streams = Arc::new(streams);
    let live = streams.len();
    let sent_at = Arc::new(SendTimes((0..live).map(|_| AtomicU64::new(0)).collect()));
    let start = Instant::now();

    // 2. The sender: every request back to back, while the reader below takes answers.
    let sender = {
        let (streams, sent_at) = (Arc::clone(&streams), Arc::clone(&sent_at));
        std::thread::spawn(move || {
            let mut send_failed = Vec::new();
            for (i, mut s) in streams.iter().enumerate() {
                sent_at.mark(i, start.elapsed());
                if !write_all_nonblocking(&mut s, &request) {
                    send_failed.push(i);
                }
            }
            (start.elapsed(), send_failed)
        })
    };

    // 3. The reader: whatever is readable, until every client has its whole response.
    let mut clients: Vec<Client> = (0..live)
        .map(|_| Client {
            response: Vec::with_capacity(32 * 1024),
            done: None,
        })
        .collect();
    let mut pending = live;
    let mut events = vec![EpollEvent { events: 0, data: 0 }; 1024];
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut chunk = vec![0u8; 64 * 1024];
    while pending > 0 && Instant::now() < deadline {
        // SAFETY: `events` has room for `events.len()` entries.
        let ready = unsafe { epoll_wait(epfd, events.as_mut_ptr(), events.len() as i32, 1000) };
        if ready < 0 {
            continue; // EINTR
        }
        for ev in &events[..ready as usize] {
            let i = ev.data as usize;
            let c = &mut clients[i];
            if c.done.is_some() {
                continue;
            }
            let mut eof = false;
            let mut s = &streams[i];
            loop {
                match s.read(&mut chunk) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(k) => c.response.extend_from_slice(&chunk[..k]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        eof = true;
                        break;
                    }
                }
            }
            if complete(&c.response, eof) || eof {
                let now = start.elapsed();
                let elapsed = sent_at.get(i).map_or(Duration::ZERO, |t| now.saturating_sub(t));
                let ok = complete(&c.response, eof)
                    && (c.response.starts_with(b"HTTP/1.1 200")
                        || c.response.starts_with(b"HTTP/1.0 200"));
                c.done = Some((elapsed, ok));
                pending -= 1;
                let mut none = EpollEvent { events: 0, data: 0 };
                // SAFETY: as above.
                unsafe { epoll_ctl(epfd, EPOLL_CTL_DEL, s.as_raw_fd(), &mut none) };
            }
        }
    }
    let (spread, send_failed) = sender.join().unwrap_or((Duration::ZERO, Vec::new()));
    // A broken connection also reads as EOF above; this covers one the server never closed.
    for i in send_failed {
        if clients[i].done.is_none() {
            clients[i].done = Some((Duration::ZERO, false));
        }
    }

    let mut latencies: Vec<f64> = Vec::with_capacity(n);
    let mut ok = 0;
    for c in &clients {
        match c.done {
            Some((d, good)) => {
                if good {
                    ok += 1;
                    latencies.push(d.as_secs_f64() * 1000.0);
                } else {
                    failed += 1;
                }
            }
            None => failed += 1,
        }
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        if latencies.is_empty() {
            return 0.0;
        }
        let idx = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[idx.min(latencies.len() - 1)]
    };
    println!(
        "{{\"clients\":{n},\"ok\":{ok},\"failed\":{failed},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2},\"spread_ms\":{:.2}}}",
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or(0.0),
        spread.as_secs_f64() * 1000.0
    );
    if let Some(hold_ms) = std::env::var("BURST_HOLD_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        // The line above is out already: standard output is line-buffered.
        std::thread::sleep(Duration::from_millis(hold_ms));
    }
}
