//! burst: N clients request one URL at the same instant; prints their latencies as JSON.
//!
//! Usage: burst HOST:PORT PATH N [HEADER:VALUE ...]
//!
//! How it measures, and why:
//! * Every connection is opened first, then the client sleeps `BURST_SETTLE_MS` (default
//!   500 ms) so the server has accepted them all: neither connection set-up nor the server's
//!   accept loop is inside the measurement (a real client pool reuses warm connections).
//! * One thread drives all N sockets with epoll (non-blocking, level-triggered). An earlier
//!   version ran one blocking thread per client: on a 2-core machine, waking 1,000 threads after
//!   the answer landed put tens of milliseconds of the client's own scheduling into the
//!   waiters' tail. Here the sends go out back to back (one `write` each, a few µs apart) and
//!   each response is read as soon as the kernel reports it readable.
//! * Each request is timed from its own `write` to its last byte: the end of the body by
//!   `Content-Length` (or the terminal chunk, or EOF for a close-delimited body), not the
//!   connection's close. Requests are keep-alive, as a client library would send them.
//!
//! Output: `{"clients","ok","failed","p50_ms","p99_ms","max_ms","spread_ms"}`; `spread_ms` is
//! the time from the first write to the last write (the burst's own width).
//!
//! Standard library only (plus three libc calls declared below), so run.sh builds it with a bare
//! `rustc -O`; Linux only (epoll).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::io::AsRawFd;
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

/// One client's progress.
struct Client {
    stream: TcpStream,
    response: Vec<u8>,
    sent: Option<Instant>,
    done: Option<(Duration, bool)>,
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
    let mut clients = Vec::with_capacity(n);
    let mut failed = 0usize;
    for _ in 0..n {
        match TcpStream::connect(&addr) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                clients.push(Client {
                    stream: s,
                    response: Vec::with_capacity(32 * 1024),
                    sent: None,
                    done: None,
                });
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
    for (i, c) in clients.iter().enumerate() {
        let mut ev = EpollEvent {
            events: EPOLLIN,
            data: i as u64,
        };
        // SAFETY: as above.
        if unsafe { epoll_ctl(epfd, EPOLL_CTL_ADD, c.stream.as_raw_fd(), &mut ev) } != 0 {
            eprintln!("epoll_ctl failed");
            std::process::exit(1);
        }
    }

    // 2. Fire every request back to back. A request is a few hundred bytes: one blocking
    //    write each, into an empty socket buffer, never waits.
    let first = Instant::now();
    for c in clients.iter_mut() {
        c.sent = Some(Instant::now());
        if c.stream.write_all(&request).is_err() {
            c.done = Some((Duration::ZERO, false));
        }
    }
    let spread = first.elapsed();
    for c in clients.iter() {
        let _ = c.stream.set_nonblocking(true);
    }

    // 3. Read whatever is readable until every client has its whole response.
    let mut pending = clients.iter().filter(|c| c.done.is_none()).count();
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
            loop {
                match c.stream.read(&mut chunk) {
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
                let elapsed = c.sent.map_or(Duration::ZERO, |t| t.elapsed());
                let ok = complete(&c.response, eof)
                    && (c.response.starts_with(b"HTTP/1.1 200")
                        || c.response.starts_with(b"HTTP/1.0 200"));
                c.done = Some((elapsed, ok));
                pending -= 1;
                let mut none = EpollEvent { events: 0, data: 0 };
                // SAFETY: as above.
                unsafe { epoll_ctl(epfd, EPOLL_CTL_DEL, c.stream.as_raw_fd(), &mut none) };
            }
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
}
