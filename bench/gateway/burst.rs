//! burst: N clients request one URL at the same instant; prints their latencies as JSON.
//!
//! Usage: burst HOST:PORT PATH N [HEADER:VALUE ...]
//!
//! How it measures, and why:
//! * Every connection is opened first, then the client sleeps `BURST_SETTLE_MS` (default
//!   500 ms) so the server has accepted them all: neither connection set-up nor the server's
//!   accept loop is inside the measurement (a real client pool reuses warm connections).
//! * One thread sends and reads: it writes one request, then takes whatever answers the kernel
//!   reports readable (`epoll_wait` with no wait), and so on; after the last request it waits
//!   for the rest. An answer is read as soon as it is there, while later requests are still
//!   being sent, and the client never needs a second core. Earlier versions each put the
//!   client's own scheduling into the measured latency: sending all N requests before reading
//!   any gave every latency a 13–15 ms floor (the send loop's length on a 2-core machine); a
//!   sender and a reader thread sharing the client's one core left the reader off the CPU
//!   until the scheduler switched from the sender, so even the first answers of an idle server
//!   read ~5 ms late and the tail moved with the scheduler's slices (seen with a trace like
//!   `BURST_TRACE`'s added to that client);
//!   one blocking thread per client put the scheduling of 1,000 threads into the tail.
//! * The sockets are non-blocking and watched by one level-triggered epoll set. A request is a
//!   few hundred bytes, so its `write` never waits for the server.
//! * Each request is timed from its own `write` to its last byte: the end of the body by
//!   `Content-Length` (or the terminal chunk, or EOF for a close-delimited body), not the
//!   connection's close. Requests are keep-alive, as a client library would send them.
//!
//! Output: `{"clients","ok","failed","p50_ms","p99_ms","max_ms","spread_ms"}`; `spread_ms` is
//! the time from the first write to the last write (the burst's own width); with
//! `BURST_YARDSTICK`, also `"yardstick_ms"` (below).
//!
//! `BURST_YARDSTICK=HOST:PORT/PATH`: also send one request for PATH straight to HOST:PORT (with
//! the same headers) just before the burst, on a connection opened with the others, and print
//! its latency as `yardstick_ms`. For a cold burst, that is the upstream's own time under the
//! same load on the client's core (the simulator shares it), to measure the waiters against: a
//! yardstick taken apart from the burst leaves out the delay the burst's own sending puts on
//! the upstream.
//!
//! `BURST_TRACE=FILE`: also write each request's send and answer times to FILE, in the order
//! they were sent, to see in what order a server answers a burst.
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
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// How a response's body ends, once its head has been read.
enum Framing {
    /// The head is not complete yet.
    Head,
    /// `Content-Length`: this many body bytes in all.
    Length(usize),
    /// `Transfer-Encoding: chunked`: at the terminal chunk.
    Chunked,
    /// Neither: at the server's close.
    UntilClose,
}

/// One client's response as it arrives. The head is parsed once, when it is complete; a body
/// of known length is counted, not kept, so that reading an answer costs the client little
/// beyond the read itself (the client's own cost per answer bounds how fast it can see a
/// server release 1,000 waiters at once).
struct Client {
    /// The head while it arrives; for a chunked body, everything (to find the terminal chunk).
    bytes: Vec<u8>,
    framing: Framing,
    /// Body bytes read so far.
    body_read: usize,
    /// The status line says 200.
    status_ok: bool,
    /// Once the response ended: when its last byte was read (after the burst's start), and
    /// whether it was a whole 200 answer.
    done: Option<(Duration, bool)>,
}

impl Client {
    fn new() -> Client {
        Client {
            bytes: Vec::with_capacity(1024),
            framing: Framing::Head,
            body_read: 0,
            status_ok: false,
            done: None,
        }
    }

    /// Takes the next bytes read from the socket.
    fn feed(&mut self, data: &[u8]) {
        match self.framing {
            Framing::Length(_) | Framing::UntilClose => self.body_read += data.len(),
            Framing::Chunked => self.bytes.extend_from_slice(data),
            Framing::Head => {
                self.bytes.extend_from_slice(data);
                let Some(head_end) = self.bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
                    return;
                };
                let head = String::from_utf8_lossy(&self.bytes[..head_end]).to_ascii_lowercase();
                self.status_ok =
                    head.starts_with("http/1.1 200") || head.starts_with("http/1.0 200");
                self.framing = Framing::UntilClose;
                for line in head.lines().skip(1) {
                    if let Some(v) = line.strip_prefix("content-length:") {
                        // An unreadable length can never be complete: the answer fails at EOF.
                        self.framing = Framing::Length(v.trim().parse().unwrap_or(usize::MAX));
                    } else if line.starts_with("transfer-encoding:") && line.contains("chunked") {
                        self.framing = Framing::Chunked;
                    }
                }
                let body = self.bytes.len() - (head_end + 4);
                if matches!(self.framing, Framing::Chunked) {
                    self.bytes.drain(..head_end + 4);
                } else {
                    self.body_read = body;
                    self.bytes = Vec::new();
                }
            }
        }
    }

    /// Whether the whole response is in; `eof` when the peer closed.
    fn complete(&self, eof: bool) -> bool {
        match self.framing {
            Framing::Head => false,
            Framing::Length(n) => self.body_read >= n,
            Framing::Chunked => self.bytes.ends_with(b"0\r\n\r\n"),
            Framing::UntilClose => eof,
        }
    }
}

/// Writes all of `buf` to a non-blocking socket, retrying whenever its buffer is full (it is
/// not expected to be: a request is a few hundred bytes on an idle connection).
fn write_all_nonblocking(s: &mut &TcpStream, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        match s.write(buf) {
            Ok(0) => return false,
            Ok(k) => buf = &buf[k..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// Writes one line per request, in the order they were sent: its index, when it was sent and
/// when its answer was complete (ms after the burst's start; `-` if it never was), under a line
/// giving the start's wall-clock time (to line the trace up with a server's own log).
fn write_trace(path: &str, started: SystemTime, clients: &[Client], sent_at: &[Option<Duration>]) {
    let epoch = started.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut out = format!(
        "# started at {:.6} s since the epoch\nrequest sent_ms answered_ms\n",
        epoch.as_secs_f64()
    );
    for (i, c) in clients.iter().enumerate() {
        let sent = sent_at[i].map_or(f64::NAN, |t| t.as_secs_f64() * 1000.0);
        match c.done {
            Some((at, true)) => {
                out.push_str(&format!("{i} {sent:.3} {:.3}\n", at.as_secs_f64() * 1000.0))
            }
            _ => out.push_str(&format!("{i} {sent:.3} -\n")),
        }
    }
    if let Err(e) = std::fs::write(path, out) {
        eprintln!("BURST_TRACE {path}: {e}");
    }
}

/// A keep-alive GET of `path` with the given `Header: value` lines.
fn request_bytes(addr: &str, path: &str, headers: &[String]) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.into_bytes()
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
    let request = request_bytes(&addr, &path, &args[4..]);

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
    // The yardstick's own connection, opened with the others: one request straight to another
    // server (the upstream), sent just before the burst, so that it waits under the same load
    // on the client's core as the upstream fetch a cold burst causes.
    let burst_n = streams.len();
    let mut yardstick_request = None;
    if let Ok(spec) = std::env::var("BURST_YARDSTICK") {
        let Some((yard_addr, yard_path)) = spec.find('/').map(|i| spec.split_at(i)) else {
            eprintln!("BURST_YARDSTICK must be HOST:PORT/PATH");
            std::process::exit(2);
        };
        match TcpStream::connect(yard_addr) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                streams.push(s);
                yardstick_request = Some(request_bytes(yard_addr, yard_path, &args[4..]));
            }
            Err(e) => {
                eprintln!("BURST_YARDSTICK {yard_addr}: {e}");
                std::process::exit(1);
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
    let live = streams.len();
    // When each request was written, after the burst's start (None: not yet).
    let mut sent_at: Vec<Option<Duration>> = vec![None; live];
    let start = Instant::now();
    let started = SystemTime::now();

    // 2. One loop: send the next request, then read whatever is readable without waiting;
    //    once everything is sent, wait for the rest.
    let mut clients: Vec<Client> = (0..live).map(|_| Client::new()).collect();
    let mut pending = live;
    // The order of sending: the yardstick (the last stream) first, then the burst.
    let order: Vec<usize> = yardstick_request
        .as_ref()
        .map(|_| burst_n)
        .into_iter()
        .chain(0..burst_n)
        .collect();
    let mut next = 0usize;
    let mut spread = Duration::ZERO;
    let mut send_failed = Vec::new();
    let mut events = vec![EpollEvent { events: 0, data: 0 }; 1024];
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut chunk = vec![0u8; 64 * 1024];
    while pending > 0 && Instant::now() < deadline {
        let wait_ms = if next < order.len() {
            let i = order[next];
            let bytes = match &yardstick_request {
                Some(yard) if i == burst_n => yard,
                _ => &request,
            };
            sent_at[i] = Some(start.elapsed());
            let mut s = &streams[i];
            if !write_all_nonblocking(&mut s, bytes) {
                send_failed.push(i);
            }
            next += 1;
            if next == order.len() {
                spread = start.elapsed();
            }
            0
        } else {
            1000
        };
        // SAFETY: `events` has room for `events.len()` entries.
        let ready = unsafe { epoll_wait(epfd, events.as_mut_ptr(), events.len() as i32, wait_ms) };
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
            // Read until the answer is complete or the socket has nothing more for now; a
            // complete answer is not followed by a read that would only say "nothing more".
            loop {
                match s.read(&mut chunk) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(k) => {
                        c.feed(&chunk[..k]);
                        if c.complete(false) {
                            break;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        eof = true;
                        break;
                    }
                }
            }
            if c.complete(eof) || eof {
                c.done = Some((start.elapsed(), c.complete(eof) && c.status_ok));
                pending -= 1;
                let mut none = EpollEvent { events: 0, data: 0 };
                // SAFETY: as above.
                unsafe { epoll_ctl(epfd, EPOLL_CTL_DEL, s.as_raw_fd(), &mut none) };
            }
        }
    }
    // A broken connection also reads as EOF above; this covers one the server never closed.
    for i in send_failed {
        if clients[i].done.is_none() {
            clients[i].done = Some((Duration::ZERO, false));
        }
    }

    if let Ok(trace) = std::env::var("BURST_TRACE") {
        write_trace(&trace, started, &clients[..burst_n], &sent_at);
    }

    let mut latencies: Vec<f64> = Vec::with_capacity(n);
    let mut ok = 0;
    // A request's latency: from its own write to its answer's last byte.
    let latency_ms = |i: usize| {
        let (at, good) = clients[i].done?;
        let sent = sent_at[i].unwrap_or(Duration::ZERO);
        good.then(|| at.saturating_sub(sent).as_secs_f64() * 1000.0)
    };
    let yardstick_ms = yardstick_request.as_ref().and_then(|_| latency_ms(burst_n));
    for i in 0..burst_n {
        match latency_ms(i) {
            Some(ms) => {
                ok += 1;
                latencies.push(ms);
            }
            None => failed += 1, // no answer, or not a whole 200
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
    let yardstick = match (&yardstick_request, yardstick_ms) {
        (None, _) => String::new(),
        (Some(_), Some(ms)) => format!(",\"yardstick_ms\":{ms:.2}"),
        (Some(_), None) => ",\"yardstick_ms\":null".to_string(),
    };
    println!(
        "{{\"clients\":{n},\"ok\":{ok},\"failed\":{failed},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2},\"spread_ms\":{:.2}{yardstick}}}",
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
