//! `cachearr serve` under a low open-file limit, flooded with idle client sockets (more than
//! the process may hold descriptors): new clients are still answered, because the gateway
//! raised its soft limit to the hard one at start, caps connections per listener below it and
//! closes the connection idle the longest to make room, instead of failing `accept` until
//! the idle sockets time out. The same holds for the admin port: sockets held open there stay
//! within the admin listener's own small cap, so they never take the descriptors that cached
//! proxy hits need.

#![allow(
    clippy::disallowed_methods,
    reason = "a real server process's deadlines and answer times are real time"
)]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Read as _;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use cachearr_testkit::{KillOnDrop, free_port};

const SOFT: u32 = 100;
const HARD: u32 = 160;
const IDLE_SOCKETS: usize = 300;

/// Starts `cachearr serve` with `args` under `ulimit -n` (soft `SOFT`, hard `HARD`), with its
/// log lines sent to the returned channel.
fn serve_with_low_fd_limit(args: &[String]) -> (KillOnDrop, Receiver<String>) {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            "ulimit -S -n {SOFT} && ulimit -H -n {HARD} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_cachearr"))
        .arg("serve")
        .args(args)
        .env("RUST_LOG", "info");
    for (k, _) in std::env::vars() {
        if k.starts_with("CACHEARR_") {
            c.env_remove(k);
        }
    }
    let mut child = KillOnDrop(
        c.stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let rx = cachearr_testkit::log_lines(stderr);
    (child, rx)
}

/// Reads log lines until one contains `what` (panics after 60 s); returns the lines read.
fn wait_for_line(rx: &Receiver<String>, what: &str, lines: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let done = line.contains(what);
                lines.push(line);
                if done {
                    return;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            // The child ended.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("no line with {what:?} in {lines:#?}");
}

/// One plain HTTP/1.1 request on a fresh connection; the status line, or why not.
fn get(port: u16, path: &str, timeout: Duration) -> Result<String, String> {
    use std::io::Write as _;
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout)).unwrap();
    s.set_write_timeout(Some(timeout)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut head = [0u8; 64];
    let n = s.read(&mut head).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&head[..n]).into_owned();
    text.lines()
        .next()
        .map(str::to_owned)
        .filter(|l| l.starts_with("HTTP/1.1 "))
        .ok_or_else(|| format!("no status line: {text:?}"))
}

/// New clients on `port` until five have been answered `200` (fails after 10 s); returns how
/// long that took.
fn five_answered(port: u16, path: &str, what: &str) -> Duration {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(10);
    let mut answered = 0;
    let mut last_error = String::new();
    while answered < 5 {
        assert!(
            Instant::now() < deadline,
            "{answered} of 5 new {what} clients answered in 10 s with {IDLE_SOCKETS} idle sockets \
             open (last: {last_error})"
        );
        match get(port, path, Duration::from_secs(2)) {
            Ok(status) if status.contains(" 200 ") => answered += 1,
            Ok(status) => last_error = status,
            Err(e) => last_error = e,
        }
    }
    started.elapsed()
}

/// One request on `port` answered `200` before the flood, so a later failure is the flood's.
fn assert_answered(port: u16, path: &str) {
    let status = get(port, path, Duration::from_secs(10)).unwrap();
    assert!(status.contains(" 200 "), "{status}");
}

/// `IDLE_SOCKETS` connections to `port`, oldest first, none sending a byte.
fn idle_sockets(port: u16) -> Vec<TcpStream> {
    (0..IDLE_SOCKETS)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect()
}

/// Fails unless the gateway closed `socket` (end of file or a reset within 10 s).
fn assert_closed(mut socket: TcpStream, what: &str) {
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 1];
    let read = socket.read(&mut buf);
    assert!(
        matches!(&read, Ok(0))
            || read
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the oldest idle {what} socket is still open: {read:?}"
    );
}

/// `cachearr serve` under the low open-file limit, proxying a simulated Plex server, with its
/// proxy and admin listeners on free ports.
struct Gateway {
    proxy: u16,
    admin: u16,
    logs: Receiver<String>,
    // Fields drop in order: the gateway is stopped before its upstream and runtime go.
    _serving: KillOnDrop,
    _data: tempfile::TempDir,
    // The simulated server lives in this process (which has descriptors to spare).
    _upstream: cachearr_sim::TestServer,
    _runtime: tokio::runtime::Runtime,
}

fn start_gateway() -> Gateway {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let upstream = runtime
        .block_on(cachearr_sim::Sim::start_plex_for_tests())
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let (proxy, admin) = (free_port(), free_port());
    let (serving, logs) = serve_with_low_fd_limit(&[
        "--plex".into(),
        upstream.base_url.clone(),
        "--no-index".into(),
        "--no-disk".into(),
        "--data-dir".into(),
        data.path().to_str().unwrap().into(),
        "--listen".into(),
        format!("127.0.0.1:{proxy}"),
        "--admin-listen".into(),
        format!("127.0.0.1:{admin}"),
    ]);
    Gateway {
        proxy,
        admin,
        logs,
        _serving: serving,
        _data: data,
        _upstream: upstream,
        _runtime: runtime,
    }
}

#[test]
fn idle_sockets_on_the_admin_port_leave_proxy_clients_answered() {
    let gateway = start_gateway();
    let (proxy, admin) = (gateway.proxy, gateway.admin);
    wait_for_line(
        &gateway.logs,
        &format!("127.0.0.1:{admin}"),
        &mut Vec::new(),
    );
    assert_answered(proxy, "/identity");

    // Ten times the admin listener's cap, and more than the process may hold descriptors.
    let idle = idle_sockets(admin);
    five_answered(proxy, "/identity", "proxy");
    // The admin port itself answers too: its oldest idle sockets make room.
    five_answered(admin, "/health", "admin");
    assert_closed(idle.into_iter().next().unwrap(), "admin");
}

#[test]
fn idle_sockets_beyond_the_open_file_limit_do_not_lock_out_new_clients() {
    let gateway = start_gateway();
    let proxy = gateway.proxy;
    let mut lines = Vec::new();
    wait_for_line(&gateway.logs, &format!("127.0.0.1:{proxy}"), &mut lines);
    let raised = lines
        .iter()
        .find(|l| l.contains("raised the open-file limit"))
        .unwrap_or_else(|| panic!("no limit line in {lines:#?}"));
    assert!(
        raised.contains(&format!("from={SOFT}")) && raised.contains(&format!("to={HARD}")),
        "{raised}"
    );
    assert_answered(proxy, "/identity");

    // More idle sockets than the gateway may hold descriptors, none sending a byte.
    let idle = idle_sockets(proxy);
    // New clients are answered, promptly: well before the idle sockets' header timeout (30 s)
    // would have given their descriptors back.
    let took = five_answered(proxy, "/identity", "proxy");
    eprintln!("5 new clients answered in {took:?} with {IDLE_SOCKETS} idle sockets open");
    // The first idle sockets were the ones closed to make room.
    assert_closed(idle.into_iter().next().unwrap(), "proxy");
}
