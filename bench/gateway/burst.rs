//! burst: N clients request one URL at the same instant; prints their latencies as JSON.
//!
//! Usage: burst HOST:PORT PATH N [HEADER:VALUE ...]
//!
//! Every client connects first (so connection set-up is not measured), then all wait on a
//! barrier and send their request at once; each measures from its own write to the end of its
//! response. Standard library only, so run.sh builds it with a bare `rustc -O`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

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
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for header in &args[4..] {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let request = Arc::new(request.into_bytes());
    let barrier = Arc::new(Barrier::new(n));
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        let (addr, request, barrier) = (addr.clone(), Arc::clone(&request), Arc::clone(&barrier));
        let handle = std::thread::Builder::new().stack_size(128 * 1024).spawn(move || {
            let stream = TcpStream::connect(&addr);
            barrier.wait();
            let mut stream = match stream {
                Ok(s) => s,
                Err(_) => return None,
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
            let start = Instant::now();
            if stream.write_all(&request).is_err() {
                return None;
            }
            let mut response = Vec::with_capacity(32 * 1024);
            if stream.read_to_end(&mut response).is_err() {
                return None;
            }
            let elapsed = start.elapsed();
            let ok = response.starts_with(b"HTTP/1.1 200") || response.starts_with(b"HTTP/1.0 200");
            Some((elapsed, ok))
        });
        match handle {
            Ok(h) => handles.push(h),
            Err(e) => {
                eprintln!("cannot start client thread: {e}");
                std::process::exit(1);
            }
        }
    }
    let mut latencies: Vec<f64> = Vec::with_capacity(n);
    let mut ok = 0;
    let mut failed = 0;
    for h in handles {
        match h.join().ok().flatten() {
            Some((d, good)) => {
                latencies.push(d.as_secs_f64() * 1000.0);
                if good {
                    ok += 1;
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
        "{{\"clients\":{n},\"ok\":{ok},\"failed\":{failed},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2}}}",
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or(0.0)
    );
}
