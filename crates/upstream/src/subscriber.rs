//! cachearr's own subscription to a server's change notifications.
//!
//! With the owner's token from the config, [`spawn`] keeps one websocket open per upstream —
//! at the path its server's [`ServerEvents`] names — reads every frame with that server's
//! reader and hands the events to an [`EventSink`]. A dropped
//! connection is retried with capped exponential backoff and full jitter; after a reconnect we
//! may have missed events, so the listings are invalidated once (the TTLs backstop the rest).
//! Where the server sends its live sessions list only when asked (Jellyfin's `SessionsStart`),
//! every connection asks once the server has answered.
//!
//! The token travels in a request header, so that no error message or log line can carry it;
//! a server that ties its socket to a session only by a query parameter (Emby's `api_key`,
//! [`ServerEvents::socket_token_param`]) gets it there too, and that URL is never logged.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use cachearr_dialect::events::{Change, ChangeEvent, ServerEvents};

/// Where change events go (the gateway invalidates their tags).
pub trait EventSink: Send + Sync + 'static {
    /// Applies one event from upstream `upstream`.
    fn apply(&self, upstream: &str, event: &ChangeEvent);
}

/// One subscription: which upstream, where, and with which token.
#[derive(Clone)]
pub struct Subscription {
    /// The upstream's name (the first part of its tags).
    pub upstream: String,
    /// Its server's events (`cachearr_dialect::DialectFacts::events`).
    pub server: &'static dyn ServerEvents,
    /// Its base URL, `http://host:port` (the websocket URL is derived from it).
    pub base_url: String,
    /// The owner's token. Never logged; [`std::fmt::Debug`] redacts it.
    pub token: String,
    /// How a dead connection is told from a quiet one.
    pub liveness: Liveness,
}

/// How often the subscription probes its socket and how long a silent one lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Liveness {
    /// A websocket ping (and the server's keep-alive message, if it has one) is sent this
    /// often; sooner when the server asks for keep-alives more often (half its announced
    /// timeout).
    pub probe_every: Duration,
    /// Probe periods without a single frame from the server after which the connection is
    /// dead.
    pub misses: u32,
}

impl Default for Liveness {
    /// A probe every 15 s, dead after 3 without an answer: a dead socket is noticed within
    /// 45 s.
    fn default() -> Self {
        Liveness {
            probe_every: Duration::from_secs(15),
            misses: 3,
        }
    }
}

impl Liveness {
    /// The silence after which a connection is dead: `misses` probe periods.
    pub fn dead_after(&self) -> Duration {
        self.probe_every.saturating_mul(self.misses.max(1))
    }

    /// The probe period on a connection whose server announced a keep-alive timeout of
    /// `server_timeout`: at most half of it, so that the server never drops us.
    fn period(&self, server_timeout: Option<Duration>) -> Duration {
        let period = match server_timeout {
            Some(timeout) => self.probe_every.min(timeout / 2),
            None => self.probe_every,
        };
        period.max(Duration::from_millis(10))
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("upstream", &self.upstream)
            .field("server", &self.server)
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("liveness", &self.liveness)
            .finish()
    }
}

/// Live state of a subscription, for `/ready`, `/api/stats` and the metrics.
#[derive(Debug, Default)]
pub struct SubscriberStatus {
    /// The websocket is open right now and the server has sent something on it.
    pub connected: AtomicBool,
    /// The server has sent the live sessions list on the connection open now: the
    /// subscription to it (`ServerEvents::sessions_subscription`) was accepted, so the list's
    /// changes arrive.
    pub sessions_listed: AtomicBool,
    /// Connections opened (and answered by the server) since start.
    pub connects: AtomicU64,
    /// Connections closed because nothing arrived on them for [`Liveness::dead_after`].
    pub silent: AtomicU64,
    /// Frames received.
    pub frames: AtomicU64,
    /// Events applied.
    pub events: AtomicU64,
    /// Frames that could not be parsed.
    pub malformed: AtomicU64,
}

/// Reconnect delays: the first retry after `BACKOFF_MIN`, doubling up to `BACKOFF_MAX`.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A connection that lasted this long was healthy: the next failure starts the backoff over.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the subscription on the current runtime; abort the handle to stop it.
pub fn spawn(
    subscription: Subscription,
    sink: Arc<dyn EventSink>,
    status: Arc<SubscriberStatus>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(subscription, sink, status))
}

async fn run(subscription: Subscription, sink: Arc<dyn EventSink>, status: Arc<SubscriberStatus>) {
    let mut failures: u32 = 0;
    loop {
        let started = tokio::time::Instant::now();
        let reconnect = status.connects.load(Ordering::Relaxed) > 0;
        let outcome = connect_and_listen(&subscription, sink.as_ref(), &status, reconnect).await;
        status.connected.store(false, Ordering::Relaxed);
        status.sessions_listed.store(false, Ordering::Relaxed);
        match outcome {
            Ok(()) => {
                tracing::debug!(upstream = %subscription.upstream, "notification socket closed")
            }
            Err(err) => {
                tracing::warn!(upstream = %subscription.upstream, error = %cachearr_engine::Chain(&err), "notification socket failed")
            }
        }
        if started.elapsed() >= HEALTHY_AFTER {
            failures = 0;
        }
        let delay = backoff(failures, jitter_seed());
        failures = failures.saturating_add(1);
        tokio::time::sleep(delay).await;
    }
}

/// The delay before retry number `failures` (0-based): full jitter over a capped exponential,
/// so that many gateways restarted together do not reconnect in lockstep.
pub fn backoff(failures: u32, seed: u64) -> Duration {
    let cap = BACKOFF_MIN
        .saturating_mul(1u32 << failures.min(16))
        .min(BACKOFF_MAX);
    let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX).max(1);
    // Between half the cap and the cap: jittered, but never a hot loop.
    Duration::from_millis(millis / 2 + seed % (millis / 2 + 1))
}

fn jitter_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    hasher.finish()
}

/// Why the notification socket failed; the subscription tries again after a back-off
/// whatever the reason (only [`SocketError::NotHttp`] and [`SocketError::BadToken`], which are
/// configuration, never heal by themselves).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SocketError {
    /// The upstream URL is not `http(s)://…`.
    #[error("upstream URL {0:?} is not http:// or https://")]
    NotHttp(String),
    /// The websocket URL made from it is not one.
    #[error("bad websocket URL")]
    BadUrl(#[source] tokio_tungstenite::tungstenite::Error),
    /// The token cannot be sent as a header.
    #[error("the configured token is not a valid header value")]
    BadToken,
    /// No connection within the connect time-out.
    #[error("connect timed out")]
    ConnectTimeout,
    /// Nothing arrived on the connection for this long although it was probed: a relay on
    /// the way dropped it.
    #[error("no frame for {0:?} although probed: the connection is dead")]
    Silent(Duration),
    /// The connection, its handshake or a frame failed (the error names the failure — refused,
    /// 401 … — never the request headers).
    #[error(transparent)]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
}

/// The websocket URL and request for a subscription.
///
/// # Errors
/// When the base URL is not `http(s)://…` or the token is not a valid header value.
pub fn request(
    subscription: &Subscription,
) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, SocketError> {
    let base = subscription.base_url.trim_end_matches('/');
    let ws_base = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        return Err(SocketError::NotHttp(base.to_owned()));
    };
    let mut url = format!("{ws_base}{}", subscription.server.socket_path());
    // A server that ties its socket to a session by a query parameter alone gets the token
    // there too; the URL is then never written anywhere (an error names the failure only).
    if let Some(param) = subscription.server.socket_token_param() {
        let separator = if url.contains('?') { '&' } else { '?' };
        let token = percent_encoding::utf8_percent_encode(
            &subscription.token,
            percent_encoding::NON_ALPHANUMERIC,
        );
        url = format!("{url}{separator}{param}={token}");
    }
    let mut request = url.into_client_request().map_err(SocketError::BadUrl)?;
    let (name, value) = subscription
        .server
        .socket_sign_in(&subscription.token)
        .map_err(|_| SocketError::BadToken)?;
    request.headers_mut().insert(name, value);
    Ok(request)
}

async fn connect_and_listen(
    subscription: &Subscription,
    sink: &dyn EventSink,
    status: &SubscriberStatus,
    reconnect: bool,
) -> Result<(), SocketError> {
    let request = request(subscription)?;
    let (mut socket, _) =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(request))
            .await
            .map_err(|_| SocketError::ConnectTimeout)??;
    tracing::debug!(upstream = %subscription.upstream, "notification socket open, waiting for the server");
    let mut reader = subscription.server.socket_reader();
    let liveness = subscription.liveness;
    let mut period = liveness.period(None);
    // The first probe goes at once: a server that sends nothing by itself (Plex) answers it.
    let mut probe = tokio::time::interval(period);
    let mut last_frame = tokio::time::Instant::now();
    let mut answered = false;
    loop {
        let dead_at = last_frame + period.saturating_mul(liveness.misses.max(1));
        tokio::select! {
            frame = socket.next() => {
                last_frame = tokio::time::Instant::now();
                if !answered {
                    answered = true;
                    status.connected.store(true, Ordering::Relaxed);
                    status.connects.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(upstream = %subscription.upstream, "notification socket connected");
                    if reconnect {
                        // Events may have been missed while we were away.
                        let missed = ChangeEvent::new(Change::ScanFinished);
                        sink.apply(&subscription.upstream, &missed);
                    }
                    if let Some(sessions) = subscription.server.sessions_subscription() {
                        socket.send(Message::text(sessions.start)).await?;
                    }
                }
                let text = match frame {
                    None => return Ok(()),
                    Some(Err(e)) => return Err(e.into()),
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) => return Ok(()),
                    // Pongs, pings (answered by the library) and anything else: alive.
                    Some(Ok(_)) => continue,
                };
                status.frames.fetch_add(1, Ordering::Relaxed);
                let events = reader.read(&text).map(|message| {
                    if let Some(secs) = message.keep_alive_secs {
                        let asked = liveness.period(Some(Duration::from_secs(secs.clamp(2, 600))));
                        if asked != period {
                            period = asked;
                            probe = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                        }
                    }
                    (message.events, message.sessions_listed)
                });
                match events {
                    Ok((events, sessions_listed)) => {
                        for event in &events {
                            sink.apply(&subscription.upstream, event);
                        }
                        status.events.fetch_add(events.len() as u64, Ordering::Relaxed);
                        // After its change is applied: what was cached before the first
                        // list is gone before the list is followed.
                        if sessions_listed {
                            status.sessions_listed.store(true, Ordering::Relaxed);
                        }
                    }
                    Err(err) => {
                        status.malformed.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(upstream = %subscription.upstream, error = %err, "unparsable notification");
                    }
                }
            }
            _ = probe.tick() => {
                socket.send(Message::Ping(Default::default())).await?;
                if let Some(keep_alive) = subscription.server.keep_alive_message() {
                    socket.send(Message::text(keep_alive)).await?;
                }
            }
            () = tokio::time::sleep_until(dead_at) => {
                status.silent.fetch_add(1, Ordering::Relaxed);
                return Err(SocketError::Silent(dead_at - last_frame));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachearr_dialect::Dialect;
    use cachearr_dialect::jellyfin::Jellyfin;
    use cachearr_dialect::plex::Plex;

    #[test]
    fn backoff_grows_is_capped_and_jittered_within_bounds() {
        for failures in 0..40 {
            for seed in [0, 1, 12345, u64::MAX] {
                let d = backoff(failures, seed);
                assert!(d <= BACKOFF_MAX, "{failures}: {d:?}");
                assert!(d >= BACKOFF_MIN / 2, "{failures}: {d:?}");
            }
        }
        assert!(backoff(10, 0) > backoff(0, u64::MAX));
    }

    #[test]
    fn liveness_probes_at_most_at_half_the_servers_timeout() {
        let liveness = Liveness::default();
        assert_eq!(liveness.dead_after(), Duration::from_secs(45));
        assert_eq!(liveness.period(None), Duration::from_secs(15));
        // Jellyfin's 60 s timeout leaves the 15 s probe; a 20 s one asks for 10 s.
        assert_eq!(
            liveness.period(Some(Duration::from_secs(60))),
            Duration::from_secs(15)
        );
        assert_eq!(
            liveness.period(Some(Duration::from_secs(20))),
            Duration::from_secs(10)
        );
        let never = Liveness {
            probe_every: Duration::ZERO,
            misses: 0,
        };
        assert!(never.period(None) > Duration::ZERO);
        assert_eq!(never.dead_after(), Duration::ZERO);
    }

    #[test]
    fn request_carries_token_in_header_not_url() {
        let sub = Subscription {
            upstream: "p".into(),
            server: Plex.facts().events,
            base_url: "http://127.0.0.1:32400/".into(),
            token: "sekrit".into(),
            liveness: Liveness::default(),
        };
        let req = request(&sub).unwrap();
        assert_eq!(
            req.uri().to_string(),
            "ws://127.0.0.1:32400/:/websockets/notifications"
        );
        assert_eq!(req.headers()["X-Plex-Token"], "sekrit");
        assert!(!format!("{sub:?}").contains("sekrit"));
        let jf = Subscription {
            server: Jellyfin.facts().events,
            ..sub.clone()
        };
        let req = request(&jf).unwrap();
        assert!(!req.uri().to_string().contains("sekrit"));
        assert!(
            req.headers()["Authorization"]
                .to_str()
                .unwrap()
                .contains("Token=\"sekrit\"")
        );
        let bad = Subscription {
            base_url: "ftp://x".into(),
            ..sub
        };
        assert!(request(&bad).is_err());
    }
}
