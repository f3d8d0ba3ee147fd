//! `cachearr stats`, `cachearr clear`, `cachearr warm`: clients of a running gateway's admin API.

use anyhow::Context as _;
use cachearr_admin::{CacheCounters, ClearReport, StatsReport, WarmReport};

/// Where the admin API is and how to authenticate (shared by the three commands).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct AdminTarget {
    /// Base URL of the gateway's admin listener.
    #[arg(
        long,
        env = "CACHEARR_ADMIN_URL",
        default_value = "http://127.0.0.1:8485"
    )]
    pub(crate) admin_url: String,
    /// The admin token, when the gateway has one (needed by `clear` and `warm`).
    #[arg(long, env = "CACHEARR_ADMIN_TOKEN", hide_env_values = true)]
    pub(crate) admin_token: Option<String>,
}

impl AdminTarget {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.admin_url.trim_end_matches('/'))
    }

    pub(crate) fn client() -> anyhow::Result<reqwest::Client> {
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .context("cannot build an HTTP client")
    }

    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        // The admin API refuses changes without this header (a guard against cross-site forms).
        let request = request.header("x-cachearr-request", "1");
        let request = match &self.admin_token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().await.with_context(|| {
            format!(
                "cannot reach the cachearr admin API at {} (is `cachearr serve` running? \
                 set --admin-url or CACHEARR_ADMIN_URL)",
                self.admin_url
            )
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        Err(AdminApiError::from_answer(status, &body).into())
    }
}

/// An error answer of the admin API: its status, its `kind` when it gave one, and the message
/// to show. Callers that wait for something (`playlist sync --wait`) look at the status, not
/// at the text.
#[derive(Debug)]
pub(crate) struct AdminApiError {
    /// The status it answered.
    pub(crate) status: reqwest::StatusCode,
    /// The stable name of what went wrong (`not_ready`, `unauthorized` …), when given.
    pub(crate) kind: Option<String>,
    /// The message for people: the answer's `error`, or its body.
    message: String,
}

impl AdminApiError {
    /// The error of an answer with `status` and `body` (JSON or not).
    pub(crate) fn from_answer(status: reqwest::StatusCode, body: &str) -> AdminApiError {
        let json = serde_json::from_str::<serde_json::Value>(body).ok();
        let field = |name: &str| {
            json.as_ref()
                .and_then(|v| v.get(name)?.as_str().map(str::to_owned))
        };
        AdminApiError {
            status,
            kind: field("kind"),
            message: field("error").unwrap_or_else(|| body.to_owned()),
        }
    }
}

impl std::fmt::Display for AdminApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.status == reqwest::StatusCode::UNAUTHORIZED {
            write!(
                f,
                "{} (pass --admin-token or set CACHEARR_ADMIN_TOKEN)",
                self.message
            )
        } else {
            write!(
                f,
                "the admin API answered {}: {}",
                self.status, self.message
            )
        }
    }
}

impl std::error::Error for AdminApiError {}

/// Arguments of `cachearr stats`.
#[derive(Debug, clap::Args)]
pub(crate) struct StatsArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// Print the raw JSON of `GET /api/stats` (for scripts).
    #[arg(long)]
    json: bool,
}

/// Arguments of `cachearr clear`.
#[derive(Debug, clap::Args)]
pub(crate) struct ClearArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// Clear only entries with this tag, e.g. `plex:section:3` or `plex:ondeck`.
    #[arg(long, conflicts_with = "prefix")]
    tag: Option<String>,
    /// Clear only entries whose cache key starts with this prefix.
    #[arg(long)]
    prefix: Option<String>,
    /// Print the JSON answer.
    #[arg(long)]
    json: bool,
}

/// Arguments of `cachearr warm`.
#[derive(Debug, clap::Args)]
pub(crate) struct WarmArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// Warm only this upstream (default: all).
    #[arg(long)]
    upstream: Option<String>,
    /// Print the JSON answer.
    #[arg(long)]
    json: bool,
}

/// Arguments of `cachearr health`.
#[derive(Debug, clap::Args)]
pub(crate) struct HealthArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
}

/// `cachearr health`: exits 0 when the gateway's `/health` answers 2xx, 1 otherwise, so that a
/// container's `HEALTHCHECK`, a systemd watchdog or a script needs no HTTP client of its own.
pub(crate) async fn health(args: HealthArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(args.timeout.max(1)))
        .build()
        .context("cannot build an HTTP client")?;
    let response = args
        .target
        .send(client.get(args.target.url("/health")))
        .await?;
    let text = response.text().await.unwrap_or_default();
    println!("{}", text.trim());
    Ok(())
}

/// `cachearr stats`.
pub(crate) async fn stats(args: StatsArgs) -> anyhow::Result<()> {
    let client = AdminTarget::client()?;
    let response = args
        .target
        .send(client.get(args.target.url("/api/stats")))
        .await?;
    let text = response.text().await.context("reading the stats answer")?;
    if args.json {
        println!("{text}");
        return Ok(());
    }
    let report: StatsReport = serde_json::from_str(&text)
        .context("the admin API answered something that is not stats")?;
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    print!("{}", render_stats(&args.target.admin_url, &report, &raw));
    Ok(())
}

/// The human-readable form of a stats report.
pub(crate) fn render_stats(from: &str, report: &StatsReport, raw: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let minutes = report.uptime_secs / 60;
    let _ = writeln!(
        out,
        "cachearr at {from}, up {}h{:02}m\n",
        minutes / 60,
        minutes % 60
    );
    render_headline(&mut out, report);
    render_background(&mut out, raw);
    let _ = writeln!(
        out,
        "\nthe cache, by class (cachearr's own reads through it included):"
    );
    let header = format!(
        "{:<16} {:>10} {:>9} {:>8} {:>9} {:>8} {:>9} {:>10}",
        "class", "hits", "misses", "stale", "coalesced", "hit rate", "entries", "bytes"
    );
    let row = |name: &str, c: &CacheCounters| {
        format!(
            "{:<16} {:>10} {:>9} {:>8} {:>9} {:>7.1}% {:>9} {:>10}",
            name,
            c.hits,
            c.misses,
            c.stale,
            c.coalesced,
            100.0 * c.hit_rate(),
            c.entries,
            human_bytes(c.bytes)
        )
    };
    let _ = writeln!(out, "{header}");
    for (name, counters) in &report.classes {
        let _ = writeln!(out, "{}", row(name, counters));
    }
    let _ = writeln!(out, "{}", row("total", &report.total));
    if !report.tiers.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<16} {:>10} {:>9} {:>9} {:>10}",
            "tier", "hits", "misses", "entries", "bytes"
        );
        for (name, t) in &report.tiers {
            let _ = writeln!(
                out,
                "{:<16} {:>10} {:>9} {:>9} {:>10}",
                name,
                t.hits,
                t.misses,
                t.entries,
                human_bytes(t.bytes)
            );
        }
    }
    out.push('\n');
    render_upstreams(&mut out, report);
    if !report.warnings.is_empty() {
        out.push_str("\nwarnings:\n");
        for warning in &report.warnings {
            let _ = writeln!(out, "  ! {warning}");
        }
    }
    out
}

/// A rate a minute, or a dash before there is one.
fn per_minute(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{r:.1}"))
}

/// What the clients got, in a line: requests, answered without the server and how.
fn clients_line(c: &cachearr_gateway::clients::ClientsView) -> String {
    format!(
        "{} requests, {} answered without the server ({:.1} %: {} from the cache, {} coalesced, \
         {} from the copy, {} from the index), {} sent to the server",
        c.requests,
        c.answered_without_server,
        100.0 * c.rate,
        c.hits,
        c.coalesced,
        c.from_copy,
        c.from_index,
        c.to_server
    )
}

/// What cachearr cost the server for itself, in a line.
fn own_line(o: &cachearr_admin::OwnReport) -> String {
    let reads = o
        .reads
        .map(|r| format!("{r} reads through its cache, "))
        .unwrap_or_default();
    format!(
        "{reads}{} server requests ({} on the background budget); server requests a minute: \
         clients {}, cachearr's own {}",
        o.server_requests,
        o.background_requests,
        per_minute(o.client_server_requests_per_minute),
        per_minute(o.server_requests_per_minute)
    )
}

/// The headline: what the clients got, then apart what cachearr cost for itself.
fn render_headline(out: &mut String, report: &StatsReport) {
    use std::fmt::Write as _;
    let h = &report.headline;
    let _ = writeln!(out, "clients:        {}", clients_line(&h.clients));
    let _ = writeln!(out, "cachearr's own: {}", own_line(&h.own));
}

/// cachearr's background requests in the last minute by kind (`feed[].background`) and its
/// role among gateways sharing a Redis (`background[]`), read from the answer as JSON: a
/// gateway that does not report them shows a dash.
fn render_background(out: &mut String, raw: &serde_json::Value) {
    use std::fmt::Write as _;
    let mut budgets = Vec::new();
    for feed in raw["feed"].as_array().into_iter().flatten() {
        let minute = &feed["background"]["last_minute"];
        let kinds: Vec<String> = ["signal", "probes", "samples", "other"]
            .iter()
            .filter_map(|kind| Some(format!("{kind} {}", minute[kind].as_u64()?)))
            .collect();
        if !kinds.is_empty() {
            let upstream = feed["upstream"].as_str().unwrap_or("?");
            budgets.push(format!("{upstream}: {}", kinds.join(", ")));
        }
    }
    let roles: Vec<String> = (raw["background"].as_array().into_iter().flatten())
        .filter_map(|r| {
            let role = r["role"].as_str()?;
            Some(format!("{}: {role}", r["upstream"].as_str().unwrap_or("?")))
        })
        .collect();
    let or_dash = |parts: Vec<String>| {
        if parts.is_empty() {
            "—".to_owned()
        } else {
            parts.join("; ")
        }
    };
    let _ = writeln!(
        out,
        "                background requests in the last minute by kind: {}; role: {}",
        or_dash(budgets),
        or_dash(roles)
    );
}

/// A line per upstream, then a table of the clients seen, when any.
fn render_upstreams(out: &mut String, report: &StatsReport) {
    use std::fmt::Write as _;
    for up in &report.upstreams {
        let _ = writeln!(
            out,
            "upstream {}: clients {}; cachearr's own {}",
            up.name,
            clients_line(&up.clients),
            own_line(&up.own)
        );
        let _ = writeln!(
            out,
            "upstream {} ({}): clients sent {}, {} went on to the server ({} avoided); \
             cachearr's own background requests {}; {} in flight, circuit {}, events socket {}",
            up.name,
            up.profile,
            up.client_requests,
            up.client_requests_to_server,
            up.requests_avoided,
            up.background_requests,
            up.in_flight,
            up.circuit,
            if !up.events_subscribed {
                "off (webhooks only)"
            } else if up.events_connected {
                "connected"
            } else {
                "not connected"
            }
        );
    }
    if !report.clients.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<32} {:<10} {:>9} {:>10} {:>9} {:>10} {:>12}",
            "client",
            "upstream",
            "requests",
            "from cache",
            "from index",
            "to server",
            "server time saved"
        );
        for c in &report.clients {
            let _ = writeln!(
                out,
                "{:<32} {:<10} {:>9} {:>10} {:>9} {:>10} {:>10.1} s",
                c.client,
                c.upstream,
                c.requests,
                c.from_cache,
                c.from_index,
                c.to_server,
                c.server_secs_saved_estimate
            );
        }
        out.push_str(
            "  (server time saved: answers from cache or index × the server's average time)\n",
        );
    }
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `cachearr clear`.
pub(crate) async fn clear(args: ClearArgs) -> anyhow::Result<()> {
    let client = AdminTarget::client()?;
    let mut query = Vec::new();
    if let Some(tag) = &args.tag {
        query.push(("tag", tag.as_str()));
    }
    if let Some(prefix) = &args.prefix {
        query.push(("prefix", prefix.as_str()));
    }
    let request = client.post(args.target.url("/api/clear")).query(&query);
    let report: ClearReport = args.target.send(request).await?.json().await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        match report.value {
            Some(value) => println!("cleared {} {value}", report.scope),
            None => println!("cleared everything"),
        }
    }
    Ok(())
}

/// `cachearr warm`.
pub(crate) async fn warm(args: WarmArgs) -> anyhow::Result<()> {
    let client = AdminTarget::client()?;
    let mut request = client.post(args.target.url("/api/warm"));
    if let Some(upstream) = &args.upstream {
        request = request.query(&[("upstream", upstream)]);
    }
    let report: WarmReport = args.target.send(request).await?.json().await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "warmed {} of {} requests for {} recently seen user(s); {} failed",
            report.warmed, report.requested, report.users, report.failed
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clients' figures lead, cachearr's own stand apart, and a rate not known yet is a
    /// dash, not a zero.
    #[test]
    fn stats_lead_with_what_the_clients_got() {
        let report = StatsReport {
            headline: cachearr_admin::Headline {
                clients: cachearr_gateway::clients::ClientsView {
                    requests: 6,
                    answered_without_server: 5,
                    hits: 3,
                    coalesced: 1,
                    from_copy: 1,
                    to_server: 1,
                    rate: 5.0 / 6.0,
                    ..Default::default()
                },
                own: cachearr_admin::OwnReport {
                    reads: Some(72),
                    server_requests: 14,
                    background_requests: 12,
                    server_requests_per_minute: Some(3.0),
                    client_server_requests_per_minute: None,
                },
            },
            total: CacheCounters {
                hits: 78,
                misses: 11,
                ..Default::default()
            },
            ..Default::default()
        };
        let text = render_stats("http://127.0.0.1:9090", &report, &serde_json::Value::Null);
        assert!(
            text.contains("by kind: —; role: —"),
            "absent figures are a dash: {text}"
        );
        let raw = serde_json::json!({
            "feed": [{"upstream": "plex", "background": {"last_minute":
                {"all": 9, "signal": 4, "probes": 3, "samples": 1, "other": 1}}}],
            "background": [{"upstream": "plex", "role": "holder"}],
        });
        let reported = render_stats("http://127.0.0.1:9090", &report, &raw);
        assert!(
            reported.contains(
                "by kind: plex: signal 4, probes 3, samples 1, other 1; role: plex: holder"
            ),
            "{reported}"
        );
        let clients = text.find("clients:        6 requests, 5 answered without the server (83.3 %: 3 from the cache, 1 coalesced, 1 from the copy, 0 from the index), 1 sent to the server").expect(&text);
        let own = text
            .find("cachearr's own: 72 reads through its cache, 14 server requests (12 on the background budget); server requests a minute: clients —, cachearr's own 3.0")
            .expect(&text);
        let classes = text.find("total").expect(&text);
        assert!(clients < own && own < classes, "{text}");
    }

    #[test]
    fn error_answers_keep_their_status_kind_and_message() {
        let e = AdminApiError::from_answer(
            reqwest::StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error": "the library index is not built yet", "kind": "not_ready", "status": 503}"#,
        );
        assert_eq!(e.kind.as_deref(), Some("not_ready"));
        assert_eq!(
            e.to_string(),
            "the admin API answered 503 Service Unavailable: the library index is not built yet"
        );
        let e = AdminApiError::from_answer(
            reqwest::StatusCode::UNAUTHORIZED,
            r#"{"error": "wrong admin token"}"#,
        );
        assert_eq!(e.kind, None);
        assert_eq!(
            e.to_string(),
            "wrong admin token (pass --admin-token or set CACHEARR_ADMIN_TOKEN)"
        );
        let e = AdminApiError::from_answer(reqwest::StatusCode::BAD_GATEWAY, "not json");
        assert!(e.to_string().ends_with(": not json"), "{e}");
    }
}
