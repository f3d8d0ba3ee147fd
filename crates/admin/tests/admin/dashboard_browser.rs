//! The dashboard in a real browser: headless Chromium, driven through chromedriver, loads the
//! admin page of a real gateway in front of the Plex simulator and is checked for what a user
//! would see — no console errors, the numbers of `/api/stats`, charts that are drawn, numbers that
//! follow new traffic, the circuit breaker opening, a clear button that needs the admin token and
//! empties the cache — and then a second gateway's page with a Redis tier.
//!
//! Why plain WebDriver over HTTP: the test needs a handful of calls (new session, navigate,
//! execute script, find element, click, type, screenshot, browser log), each one JSON request to
//! chromedriver. reqwest and serde_json are already dev-dependencies, so this costs no new crate;
//! fantoccini or thirtyfour would add a WebDriver client and its dependency tree for the same few
//! calls, and the DevTools protocol would need a websocket client and Chromium's own lifecycle
//! handling that chromedriver already does.
//!
//! Chromium and chromedriver come from Debian's `chromium` and `chromium-driver` packages, which
//! `scripts/setup-test-env` installs. Without them the test fails and says so; set
//! `CACHEARR_SKIP_BROWSER_TEST=1` to skip it on a machine without a browser. `CACHEARR_CHROMIUM` and
//! `CACHEARR_CHROMEDRIVER` point at other binaries. The screenshot goes to
//! `target/tmp/dashboard.png` (cargo's `CARGO_TARGET_TMPDIR`).

#![allow(
    clippy::disallowed_methods,
    reason = "the browser's page is waited for in real time"
)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use cachearr_testkit::sim_gateway;

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cachearr_testkit::http::get_json;
use cachearr_testkit::redis::RedisServer;
use cachearr_testkit::{eventually, eventually_ok, free_port};
use serde_json::{Value, json};
use sim_gateway::Running;

const ADMIN_TOKEN: &str = "dashb0ard-admin-t0ken-for-tests";
/// Every wait in this test is bounded by this.
const WAIT: Duration = Duration::from_secs(15);
/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The browser binaries, or `None` when they are not installed.
fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let find = |var: &str, name: &str| -> Option<PathBuf> {
        if let Some(p) = std::env::var_os(var) {
            return Some(PathBuf::from(p)).filter(|p| p.is_file());
        }
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    };
    Some((
        find("CACHEARR_CHROMIUM", "chromium")?,
        find("CACHEARR_CHROMEDRIVER", "chromedriver")?,
    ))
}

/// A chromedriver process on a free loopback port; killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    /// Kills chromedriver and the Chromium it started (they share chromedriver's own process
    /// group), so a failed assertion leaves no browser behind.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        if !killed.is_ok_and(|s| s.success()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(chromedriver: &Path, log: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(chromedriver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let what = format!("chromedriver up (log: {})", log.display());
        eventually(&what, WAIT, async || {
            if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await
                && let Ok(v) = r.json::<Value>().await
            {
                v["value"]["ready"] == true
            } else {
                false
            }
        })
        .await;
        driver
    }
}

/// One WebDriver session: a headless Chromium window.
struct Browser {
    http: reqwest::Client,
    session: String,
}

impl Browser {
    async fn open(driver: &Driver, chromium: &Path, profile: &Path) -> Browser {
        let http = reqwest::Client::new();
        // The flags keep Chromium off the (closed) network and out of first-run work.
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-breakpad",
            "--window-size=1280,1400",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        }}});
        let r: Value = http
            .post(format!("{}/session", driver.url))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"));
        Browser {
            http,
            session: format!("{}/session/{id}", driver.url),
        }
    }

    /// One WebDriver command; its `value`, or a panic with the driver's error.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let response = req.send().await.unwrap();
        let status = response.status();
        let v: Value = response.json().await.unwrap();
        assert!(status.is_success(), "WebDriver {path}: {status} {v}");
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn eval(&self, script: &str) -> Value {
        let body = json!({ "script": script, "args": [] });
        self.call(reqwest::Method::POST, "/execute/sync", Some(body))
            .await
    }

    async fn find(&self, css: &str) -> String {
        let body = json!({ "using": "css selector", "value": css });
        let v = self
            .call(reqwest::Method::POST, "/element", Some(body))
            .await;
        v[ELEMENT].as_str().unwrap().to_owned()
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Evaluates `script` until it returns something truthy.
    async fn wait_for(&self, what: &str, script: &str) -> Value {
        eventually_ok(what, WAIT, async || {
            let v = self.eval(script).await;
            if v.is_null() || v == false || v == "" || v == 0 {
                Err(format!("the script returned {v}"))
            } else {
                Ok(v)
            }
        })
        .await
    }

    /// The browser console since the last call (chromedriver's log endpoint drains it).
    async fn console(&self) -> Vec<Value> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({ "type": "browser" })),
            )
            .await;
        v.as_array().cloned().unwrap_or_default()
    }

    async fn screenshot(&self) -> Vec<u8> {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64_decode(v.as_str().unwrap())
    }

    async fn close(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().filter(|&c| c != b'=').collect();
        let n = data
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | value(c) << (18 - 6 * i));
        let [_, a, b, c] = n.to_be_bytes();
        out.extend_from_slice(&[a, b, c][..data.len().saturating_sub(1)]);
    }
    out
}

/// What this module's tests do through the fixture's gateway.
trait DashboardRequests {
    async fn get(&self, path: &str) -> String;
    async fn status_of(&self, path: &str) -> u16;
}

impl DashboardRequests for Running {
    /// The `X-Cache` verdict of an XML `GET` through the proxy.
    async fn get(&self, path: &str) -> String {
        self.x_cache(path, false).await
    }

    async fn status_of(&self, path: &str) -> u16 {
        let response = self
            .client
            .get(format!("{}{path}", self.proxy))
            .header("X-Plex-Token", &self.sim.token)
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }
}

/// What the page shows, as numbers.
const READ_PAGE: &str = r##"
  const n = id => Number(document.getElementById(id).textContent.replace(/[^0-9]/g, ""));
  const total = [...document.querySelectorAll("#classes tr.total td")].map(td => td.textContent);
  return { hits: n("k-hits"), misses: n("k-misses"), made: n("k-upstream"),
           clients: n("k-client-requests"), toServer: n("k-to-server"),
           without: document.getElementById("k-without").textContent,
           entries: n("k-entries"), totalRow: total,
           circuit: document.querySelector("#upstreams .pill")?.textContent ?? null };
"##;

/// The page's numbers once they equal `/api/stats` (the page polls on its own); panics with both
/// when they never do.
async fn page_matches_stats(browser: &Browser, gw: &Running) -> (Value, Value) {
    eventually_ok("the page shows /api/stats", WAIT, async || {
        let stats = gw.stats().await;
        let page = browser.eval(READ_PAGE).await;
        let made: u64 = stats["upstreams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["requests_made"].as_u64().unwrap())
            .sum();
        let clients = &stats["headline"]["clients"];
        let want = (
            stats["total"]["hits"].as_u64().unwrap(),
            stats["total"]["misses"].as_u64().unwrap(),
            made,
            stats["total"]["entries"].as_u64().unwrap(),
            clients["requests"].as_u64().unwrap(),
            clients["to_server"].as_u64().unwrap(),
        );
        let got = (
            page["hits"].as_u64().unwrap_or(u64::MAX),
            page["misses"].as_u64().unwrap_or(u64::MAX),
            page["made"].as_u64().unwrap_or(u64::MAX),
            page["entries"].as_u64().unwrap_or(u64::MAX),
            page["clients"].as_u64().unwrap_or(u64::MAX),
            page["toServer"].as_u64().unwrap_or(u64::MAX),
        );
        if got == want {
            Ok((page, stats))
        } else {
            Err(format!("page {page}, stats {stats}"))
        }
    })
    .await
}

/// Console entries that are errors (Chromium reports uncaught exceptions and failed loads as
/// `SEVERE`).
fn errors(entries: &[Value]) -> Vec<&Value> {
    entries
        .iter()
        .filter(|e| e["level"] == "SEVERE" || e["level"] == "ERROR")
        .collect()
}

/// Pixels of a chart's canvas drawn in roughly this colour (uPlot antialiases its lines).
fn count_pixels_script(selector: &str, rgb: (u8, u8, u8)) -> String {
    format!(
        r#"const c = document.querySelector("{selector} canvas");
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
          if (Math.abs(d[i] - {}) < 40 && Math.abs(d[i+1] - {}) < 40 && Math.abs(d[i+2] - {}) < 40 && d[i+3] > 128) n++;
        return n;"#,
        rgb.0, rgb.1, rgb.2
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_real_browser_shows_stats_charts_and_clears_with_the_token() {
    let Some((chromium, chromedriver)) = browser_binaries() else {
        if std::env::var_os("CACHEARR_SKIP_BROWSER_TEST").is_some_and(|v| v == "1") {
            eprintln!("SKIPPED: no chromium/chromedriver and CACHEARR_SKIP_BROWSER_TEST=1");
            return;
        }
        panic!(
            "the dashboard test needs a real browser: /usr/bin/chromium and /usr/bin/chromedriver \
             (Debian's chromium and chromium-driver) were not found. Run scripts/setup-test-env, \
             which installs them, or set CACHEARR_SKIP_BROWSER_TEST=1 to skip this test locally."
        );
    };
    let started = Instant::now();
    let gw = sim_gateway::start(|config| {
        config.admin_token = Some(ADMIN_TOKEN.to_owned());
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let driver = Driver::start(&chromedriver, &out_dir.join("chromedriver.log")).await;
    let browser = Browser::open(&driver, &chromium, tmp.path()).await;

    // Some traffic before the page opens: one miss and three hits of one route, one of another.
    assert_eq!(gw.get("/library/sections").await, "MISS");
    for _ in 0..3 {
        assert_eq!(gw.get("/library/sections").await, "HIT");
    }
    assert_eq!(gw.get("/library/sections/1/all").await, "MISS");

    // A short poll interval so the page follows traffic within the test's few seconds.
    browser.goto(&format!("{}/?refresh=150", gw.admin)).await;
    assert_eq!(browser.eval("return document.title").await, "cachearr");
    let (page, stats) = page_matches_stats(&browser, &gw).await;
    assert!(stats["total"]["hits"].as_u64().unwrap() >= 3, "{stats}");
    assert!(stats["upstreams"][0]["requests_avoided"].as_u64().unwrap() >= 3);
    // The headline is the clients' view: five requests sent, three answered from the cache,
    // two sent on — whatever cachearr read through its cache for itself meanwhile.
    assert_eq!(page["clients"], 5, "{page} ({stats})");
    assert_eq!(page["toServer"], 2, "{page} ({stats})");
    assert_eq!(page["without"], "60.0 %", "{page} ({stats})");
    assert_eq!(page["circuit"], "closed", "{page}");
    let total_row = page["totalRow"].as_array().unwrap();
    assert_eq!(total_row[0], "total", "{page}");
    assert_eq!(
        total_row[1].as_str().unwrap().replace(',', ""),
        stats["total"]["hits"].to_string(),
        "the classes table's total row: {page}"
    );
    let classes_shown = browser
        .eval("return [...document.querySelectorAll('#classes td:first-child')].map(td => td.textContent)")
        .await;
    assert!(
        classes_shown
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "sections"),
        "{classes_shown}"
    );

    // More traffic: the page catches up on its own poll.
    for _ in 0..5 {
        assert_eq!(gw.get("/library/sections").await, "HIT");
    }
    let (page_after, stats_after) = page_matches_stats(&browser, &gw).await;
    assert!(
        page_after["hits"].as_u64().unwrap() >= page["hits"].as_u64().unwrap() + 5,
        "{page} → {page_after} ({stats_after})"
    );
    assert_eq!(page_after["clients"], 10, "{page_after} ({stats_after})");
    assert_eq!(
        page_after["without"], "80.0 %",
        "{page_after} ({stats_after})"
    );

    // The charts are uPlot canvases with a size, and after a few polls they hold drawn lines:
    // the clients' answers without the server (green) in the rate chart, their share (amber)
    // while there was traffic.
    let sizes = browser
        .eval(
            "return [...document.querySelectorAll('#chart-rps canvas, #chart-hit canvas')]
               .map(c => [c.width, c.height, c.getBoundingClientRect().width])",
        )
        .await;
    let sizes = sizes.as_array().unwrap();
    assert_eq!(sizes.len(), 2, "one canvas per chart: {sizes:?}");
    for s in sizes {
        for d in s.as_array().unwrap() {
            assert!(
                d.as_f64().unwrap() > 100.0,
                "a chart canvas is too small: {sizes:?}"
            );
        }
    }
    browser
        .wait_for(
            "the clients' answers without the server in the rate chart",
            &count_pixels_script("#chart-rps", (0x3f, 0xb9, 0x50)),
        )
        .await;
    // Traffic spread over a few polls, so the hit rate has points to draw between: each
    // request is shown by the page before the next is sent.
    for _ in 0..4 {
        gw.get("/library/sections").await;
        page_matches_stats(&browser, &gw).await;
    }
    browser
        .wait_for(
            "the line of the share answered without the server",
            &count_pixels_script("#chart-hit", (0xe5, 0xa0, 0x0d)),
        )
        .await;
    page_matches_stats(&browser, &gw).await;

    // Who costs the server what: the clients table shows /api/stats's clients, row for row.
    eventually_ok("the clients table shows /api/stats", WAIT, async || {
        let want: Vec<Value> = gw.stats().await["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                json!([
                    c["client"],
                    c["requests"].to_string(),
                    c["to_server"].to_string()
                ])
            })
            .collect();
        let shown = browser
            .eval(
                "return [...document.querySelectorAll('#clients tr')].slice(1)
                   .map(tr => [...tr.children].map(td => td.textContent))
                   .map(c => [c[0], c[2].replace(/,/g, ''), c[5].replace(/,/g, '')])",
            )
            .await;
        if !want.is_empty() && shown == Value::Array(want.clone()) {
            Ok(())
        } else {
            Err(format!("page {shown}, stats {want:?}"))
        }
    })
    .await;

    // Layout at 1,400 px: warnings first, above the numbers, and no table wider than its panel.
    browser
        .call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": 1400, "height": 1000})),
        )
        .await;
    let layout = browser
        .eval(
            "const w = document.getElementById('warnings-panel');
             const kpis = document.querySelector('.kpis');
             return { warningsShown: !w.hidden,
                       warningsFirst: w.getBoundingClientRect().top < kpis.getBoundingClientRect().top,
                       overflowing: [...document.querySelectorAll('.scroll')]
                         .filter(d => d.offsetParent && d.scrollWidth > d.clientWidth + 1)
                         .map(d => d.firstElementChild.id) }",
        )
        .await;
    assert_eq!(layout["warningsShown"], true, "{layout}");
    assert_eq!(layout["warningsFirst"], true, "{layout}");
    assert_eq!(layout["overflowing"], json!([]), "{layout}");

    // The upstream row: no owner token is configured, so the events column says webhooks only.
    let events_cell = browser
        .eval("return document.querySelector('#upstreams tr:nth-child(2) td:nth-child(8)').textContent")
        .await;
    assert_eq!(events_cell, "webhooks only");
    // The library index panel shows each upstream's index as /api/stats and /api/index report it,
    // the latest build error included.
    eventually_ok(
        "the index panel shows /api/stats and /api/index",
        WAIT,
        async || {
        let summary = gw.stats().await["index"][0].clone();
        let detail = get_json(&gw.client, &format!("{}/api/index", gw.admin)).await;
        let last_error = detail["upstreams"][0]["errors"]
            .as_array()
            .and_then(|e| e.last().cloned())
            .unwrap_or(json!(""));
        let row = browser
            .eval(
                "const p = document.getElementById('index-panel');
                 return p.hidden ? null
                   : [...document.querySelectorAll('#index tr:nth-child(2) td')].map(td => td.textContent)",
            )
            .await;
        let want = json!([
            summary["upstream"],
            summary["state"],
            summary["items"].to_string(),
        ]);
        if let Some(cells) = row.as_array()
            && cells.len() == 6
            && Value::Array(cells[..3].to_vec()) == want
            && cells[5] == last_error
        {
            Ok(())
        } else {
            Err(format!("page {row}, stats {summary}, index {detail}"))
        }
    })
    .await;

    let console = browser.console().await;
    assert!(
        errors(&console).is_empty(),
        "the dashboard logged errors: {console:?}"
    );

    let png = browser.screenshot().await;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "the screenshot is a PNG");
    let shot = out_dir.join("dashboard.png");
    std::fs::write(&shot, &png).unwrap();
    eprintln!("screenshot: {}", shot.display());

    // Clear without the token: refused, said on the page, nothing cleared.
    let entries_before = gw.stats().await["total"]["entries"].as_u64().unwrap();
    assert!(entries_before > 0);
    browser.click("#clear").await;
    let said = browser
        .wait_for(
            "the refusal",
            "const s = document.getElementById('clear-status');
             return s.className === 'bad' && s.textContent",
        )
        .await;
    assert!(said.as_str().unwrap().contains("admin token"), "{said}");
    assert_eq!(gw.get("/library/sections").await, "HIT", "nothing cleared");
    browser.type_into("#admin-token", "not-the-token").await;
    browser.click("#clear").await;
    browser
        .wait_for(
            "the wrong-token message",
            "return document.getElementById('clear-status').textContent === 'wrong admin token'",
        )
        .await;
    assert_eq!(gw.get("/library/sections").await, "HIT", "nothing cleared");

    // With the token: cleared, and /api/stats and the page say the cache is empty.
    browser.type_into("#admin-token", ADMIN_TOKEN).await;
    browser.click("#clear").await;
    browser
        .wait_for(
            "the confirmation",
            "const s = document.getElementById('clear-status');
             return s.className === 'ok' && s.textContent === 'cache cleared'",
        )
        .await;
    eventually_ok("/api/stats counts no entry", WAIT, async || {
        let stats = gw.stats().await;
        if stats["total"]["entries"] == 0 {
            Ok(())
        } else {
            Err(stats.to_string())
        }
    })
    .await;
    let (page_cleared, _) = page_matches_stats(&browser, &gw).await;
    assert_eq!(page_cleared["entries"], 0, "{page_cleared}");
    assert_eq!(
        gw.get("/library/sections").await,
        "MISS",
        "the cache was cleared"
    );

    // The server dies: the breaker opens after consecutive failures, and the page shows the
    // circuit as open (red) with a warning.
    gw.sim.sim.set_faults(cachearr_sim::control::Faults {
        refuse: true,
        drop_rate: 1.0,
        ..Default::default()
    });
    let mut item = 100;
    eventually("the breaker opens", WAIT, async || {
        if gw.stats().await["upstreams"][0]["circuit"] == "open" {
            return true;
        }
        let status = gw.status_of(&format!("/library/metadata/{item}")).await;
        assert!(status == 502 || status == 503, "{status}");
        item += 1;
        false
    })
    .await;
    let shown = browser
        .wait_for(
            "the open circuit",
            "const pill = document.querySelector('#upstreams .pill');
             const warned = [...document.querySelectorAll('#warnings li')]
               .some(li => li.textContent.includes('circuit breaker open'));
             return pill.textContent === 'open' && warned && pill.className",
        )
        .await;
    assert!(shown.as_str().unwrap().contains("bad"), "{shown}");
    let png = browser.screenshot().await;
    std::fs::write(out_dir.join("dashboard-circuit-open.png"), &png).unwrap();
    gw.sim
        .sim
        .set_faults(cachearr_sim::control::Faults::default());

    // The only console errors since: the two refused clears (the browser logs every 401).
    let console = browser.console().await;
    for e in errors(&console) {
        let message = e["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("/api/clear") && message.contains("401"),
            "unexpected console error: {e}"
        );
    }

    // A gateway with a Redis tier (a private redis-server): the Redis panel shows its state and
    // the numbers of /api/stats.
    let redis = RedisServer::start(&[]);
    let url = redis.url();
    let gw2 = sim_gateway::start(move |config| {
        config.cache.redis.url = Some(url);
        config.cache.redis.namespace = "dashboard-test".into();
    })
    .await;
    assert_eq!(gw2.get("/library/sections").await, "MISS");
    assert_eq!(gw2.get("/library/sections").await, "HIT");
    browser.goto(&format!("{}/?refresh=150", gw2.admin)).await;
    eventually_ok("the Redis panel shows /api/stats", WAIT, async || {
        let stats = gw2.stats().await;
        let redis = &stats["redis"];
        let row = browser
            .eval(
                "const p = document.getElementById('redis-panel');
                 return p.hidden ? null
                   : [...document.querySelectorAll('#redis tr:nth-child(2) td')].map(td => td.textContent)",
            )
            .await;
        let want = json!([
            redis["state"],
            redis["hits"].to_string(),
            redis["misses"].to_string(),
            redis["writes"].to_string(),
        ]);
        let got = row
            .as_array()
            .map(|cells| Value::Array(cells.iter().take(4).cloned().collect()));
        if redis["state"] == "up" && got.as_ref() == Some(&want) {
            Ok(())
        } else {
            Err(format!("page {row}, stats {redis}"))
        }
    })
    .await;
    let console = browser.console().await;
    assert!(
        errors(&console).is_empty(),
        "the dashboard logged errors: {console:?}"
    );
    std::fs::write(
        out_dir.join("dashboard-redis.png"),
        browser.screenshot().await,
    )
    .unwrap();

    browser.close().await;
    eprintln!("browser test took {:?}", started.elapsed());
}
