//! seq: one keep-alive connection, one request at a time over a list of paths; prints each
//! request's latency summary and where the gateway said the answer came from, as JSON.
//!
//! Usage: seq HOST:PORT PATHS_FILE [HEADER:VALUE ...]
//!
//! * Sequential on purpose: it measures the latency of one request through the gateway (a
//!   Redis hit, a memory hit, a miss to the upstream), not throughput; wrk does that.
//! * Each request is timed from its `write` to the last byte of its body (`Content-Length`,
//!   or the terminal chunk).
//! * `detail` counts the `detail=` parameter of each answer's `Cache-Status` header
//!   (`memory`, `disk`, `redis`; `none` for a miss), so the report says what was measured.
//!
//! Output: `{"requests","ok","p50_us","p90_us","p99_us","max_us","detail":{...}}`.
//! Standard library only, so run.sh builds it with a bare `rustc -O`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: seq HOST:PORT PATHS_FILE [HEADER:VALUE ...]");
        std::process::exit(2);
    }
    let (addr, paths_file) = (&args[1], &args[2]);
    let headers: String = args[3..].iter().map(|h| format!("{h}\r\n")).collect();
    let paths: Vec<String> = std::fs::read_to_string(paths_file)
        .expect("paths file")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let mut micros = Vec::with_capacity(paths.len());
    let mut ok = 0u64;
    let mut detail: BTreeMap<String, u64> = BTreeMap::new();
    for path in &paths {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}\r\n");
        let sent = Instant::now();
        writer.write_all(request.as_bytes()).expect("write");
        let (status, cache_status) = read_response(&mut reader);
        micros.push(sent.elapsed().as_micros() as u64);
        if status == 200 {
            ok += 1;
        }
        let from = cache_status
            .split(';')
            .find_map(|p| p.trim().strip_prefix("detail="))
            .unwrap_or("none")
            .to_owned();
        *detail.entry(from).or_default() += 1;
    }
    micros.sort_unstable();
    let at = |q: f64| {
        micros
            .get(((micros.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0)
    };
    let detail_json: Vec<String> = detail.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    println!(
        "{{\"requests\":{},\"ok\":{ok},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"max_us\":{},\"detail\":{{{}}}}}",
        micros.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        micros.last().copied().unwrap_or(0),
        detail_json.join(",")
    );
}

/// Reads one response; its status and `Cache-Status` header.
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, String) {
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (mut length, mut chunked, mut cache_status) = (None, false, String::new());
    loop {
        line.clear();
        reader.read_line(&mut line).expect("header");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let Some((name, value)) = l.split_once(':') else {
            continue;
        };
        let (name, value) = (name.to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-length" => length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.contains("chunked"),
            "cache-status" => cache_status = value.to_owned(),
            _ => {}
        }
    }
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).expect("chunk size");
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .expect("chunk size");
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).expect("chunk");
            if size == 0 {
                break;
            }
        }
    } else if let Some(n) = length {
        let mut body = vec![0; n];
        reader.read_exact(&mut body).expect("body");
    }
    (status, cache_status)
}
