//! Connecting: the URL forms (one server, a cluster's seeds, a Sentinel-monitored master),
//! TLS roots, password redaction for every message, and the connection each command uses.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, Value};
use tokio::sync::Notify;

use super::seal::RecordSeal;
use super::{Counters, RedisOptions, RedisTier, State};
use crate::clock::{Clock, SystemClock};
use crate::error::{EngineError, RedisStartError, RedisStartKind};
use crate::locks::LockUnpoisoned;
use crate::tally::Tally;

/// A connection to one server (reconnecting), to a cluster, or to the master that Sentinel
/// names.
#[derive(Clone)]
pub(super) enum Conn {
    Single(ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
    Sentinel(SentinelConn),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
            Conn::Sentinel(s) => Box::pin(async move {
                let mut c = s.connection().await?;
                let answer = c.req_packed_command(cmd).await;
                s.check(answer.as_ref().err());
                answer
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Sentinel(s) => Box::pin(async move {
                let mut c = s.connection().await?;
                let answer = c.req_packed_commands(pipeline, offset, count).await;
                s.check(answer.as_ref().err());
                answer
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
            Conn::Sentinel(s) => s.db,
        }
    }
}

/// The master of a Sentinel-monitored group: asks the Sentinels where it is, keeps one
/// multiplexed connection to it, and forgets that connection when it fails (dropped,
/// refused, timed out, or `READONLY` because the server was demoted), so the next command
/// asks the Sentinels again and follows a failover.
#[derive(Clone)]
pub(super) struct SentinelConn {
    sentinel: Arc<tokio::sync::Mutex<redis::sentinel::SentinelClient>>,
    current: Arc<Mutex<Option<redis::aio::MultiplexedConnection>>>,
    config: redis::AsyncConnectionConfig,
    db: i64,
}

impl SentinelConn {
    fn cached(&self) -> Option<redis::aio::MultiplexedConnection> {
        self.current.lock_unpoisoned().clone()
    }

    async fn connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        let mut sentinel = self.sentinel.lock().await;
        // Another command may have connected while this one waited for the lock.
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        let c = sentinel
            .get_async_connection_with_config(&self.config)
            .await?;
        *self.current.lock_unpoisoned() = Some(c.clone());
        Ok(c)
    }

    /// A client for the current master (for the event connection).
    pub(super) async fn master_client(&self) -> redis::RedisResult<redis::Client> {
        self.sentinel.lock().await.async_get_client().await
    }

    fn check(&self, failed: Option<&redis::RedisError>) {
        let Some(e) = failed else { return };
        let demoted = matches!(
            e.kind(),
            redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
        );
        if demoted || e.is_io_error() || e.is_timeout() || e.is_unrecoverable_error() {
            *self.current.lock_unpoisoned() = None;
        }
    }
}

/// Parses `redis+sentinel://[user:password@]host:port[,host:port…]/master[/db]`: the Sentinel
/// addresses, the master's name, its database and credentials (for the data nodes).
struct SentinelUrl {
    sentinels: Vec<String>,
    master: String,
    db: i64,
    username: Option<String>,
    password: Option<String>,
}

/// Why a Sentinel URL cannot be used; the message says what to write.
#[derive(Debug, thiserror::Error)]
enum SentinelError {
    #[error("a Sentinel URL starts with redis+sentinel://")]
    Scheme,
    #[error("name the master: redis+sentinel://host:port/master")]
    NoMaster,
    #[error("bad database {0:?}")]
    Database(String),
    #[error("no Sentinel given")]
    NoSentinel,
    #[error(transparent)]
    Client(#[from] redis::RedisError),
}

fn parse_sentinel_url(url: &str) -> Result<SentinelUrl, SentinelError> {
    let rest = url
        .strip_prefix("redis+sentinel://")
        .ok_or(SentinelError::Scheme)?;
    let (userinfo, rest) = match rest.rsplit_once('@') {
        Some((u, r)) => (Some(u), r),
        None => (None, rest),
    };
    let (hosts, path) = rest.split_once('/').ok_or(SentinelError::NoMaster)?;
    let mut path = path.split('/');
    let master = path.next().unwrap_or_default().to_owned();
    if master.is_empty() {
        return Err(SentinelError::NoMaster);
    }
    let db = match path.next() {
        Some(d) if !d.is_empty() => d
            .parse()
            .map_err(|_| SentinelError::Database(d.to_owned()))?,
        _ => 0,
    };
    let sentinels: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| format!("redis://{h}"))
        .collect();
    if sentinels.is_empty() {
        return Err(SentinelError::NoSentinel);
    }
    let (username, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((user, pass)) => (
                (!user.is_empty()).then(|| user.to_owned()),
                Some(pass.to_owned()),
            ),
            None => (None, Some(u.to_owned())),
        },
        None => (None, None),
    };
    Ok(SentinelUrl {
        sentinels,
        master,
        db,
        username,
        password,
    })
}

fn connect_sentinel(url: &str, options: &RedisOptions) -> Result<SentinelConn, SentinelError> {
    let parsed = parse_sentinel_url(url)?;
    let mut info = redis::RedisConnectionInfo::default().set_db(parsed.db);
    if let Some(user) = &parsed.username {
        info = info.set_username(user);
    }
    if let Some(password) = &parsed.password {
        info = info.set_password(password);
    }
    let node =
        redis::sentinel::SentinelNodeConnectionInfo::default().set_redis_connection_info(info);
    let client = redis::sentinel::SentinelClient::build(
        parsed.sentinels,
        parsed.master,
        Some(node),
        redis::sentinel::SentinelServerType::Master,
    )?;
    Ok(SentinelConn {
        sentinel: Arc::new(tokio::sync::Mutex::new(client)),
        current: Arc::new(Mutex::new(None)),
        config: redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.command_timeout)),
        db: parsed.db,
    })
}

/// `url` with any password replaced by `***`, for messages (each URL of a comma-separated
/// cluster list).
pub fn redact_url(url: &str) -> String {
    url.split(',').map(redact_one).collect::<Vec<_>>().join(",")
}

fn redact_one(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            let shown = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                "***".to_owned()
            };
            format!("{}{shown}{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Parses the URL list: one URL is a single server unless its scheme is
/// `redis+cluster://` / `rediss+cluster://`; several comma-separated URLs are cluster seeds.
fn parse_urls(url: &str) -> (Vec<String>, bool) {
    let parts: Vec<String> = url
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.replacen("+cluster://", "://", 1))
        .collect();
    let cluster = parts.len() > 1 || url.contains("+cluster://");
    (parts, cluster)
}

fn open_client(url: &str, root_cert: Option<&Vec<u8>>) -> redis::RedisResult<redis::Client> {
    match root_cert {
        Some(pem) if url.starts_with("rediss://") => redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.clone()),
            },
        ),
        _ => redis::Client::open(url),
    }
}

impl RedisTier {
    /// Connects to `url` and checks the server answers (`PING`), so a wrong password or an
    /// unreachable server is an error at start rather than a silent miss later.
    ///
    /// `url` is `redis://[user:password@]host:port/db` (`rediss://` for TLS) for one server,
    /// or a Redis Cluster given by its seed nodes: `redis+cluster://host:port` or several
    /// comma-separated URLs (`redis://a:7000,redis://b:7001`), or the master of a
    /// Sentinel-monitored group: `redis+sentinel://[user:password@]host:port[,host:port…]/
    /// master[/db]` (the credentials are the data nodes'; the Sentinels take none).
    ///
    /// # Errors
    /// [`EngineError::Redis`] with the reason (the password is never included).
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, EngineError> {
        Self::connect_with_clock(url, options, Arc::new(SystemClock)).await
    }

    /// [`Self::connect`] with the clock that entry expiry times are measured on (the
    /// engine's clock).
    ///
    /// # Errors
    /// As [`Self::connect`].
    pub async fn connect_with_clock(
        url: &str,
        options: RedisOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, EngineError> {
        let e = StartErrors {
            redacted: redact_url(url),
        };
        if let Some(problem) = config_problem(&options) {
            return Err(e.fail(RedisStartKind::Config, problem));
        }
        let sentinel = url.starts_with("redis+sentinel://");
        let (urls, cluster) = if sentinel {
            (Vec::new(), false)
        } else {
            parse_urls(url)
        };
        if urls.is_empty() && !sentinel {
            return Err(e.fail(RedisStartKind::Config, "no server given"));
        }
        if urls.iter().any(|u| u.starts_with("rediss://")) {
            install_crypto_provider();
        }
        let root = options.root_cert.as_ref();
        let event_clients = urls
            .iter()
            .map(|u| open_client(u, root))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| e.client(err))?;
        let conn = if sentinel {
            // The master is found (and the PING below reaches it) through the Sentinels.
            Conn::Sentinel(connect_sentinel(url, &options).map_err(|err| match err {
                SentinelError::Client(err) => e.client(err),
                other => e.fail(RedisStartKind::Config, &redact_url(&other.to_string())),
            })?)
        } else if cluster {
            open_cluster(urls, &options, &e).await?
        } else {
            open_single(&event_clients[0], &options, &e).await?
        };
        ping(&conn, &options, &e).await?;
        Ok(Self {
            s: Arc::new(State::new(conn, event_clients, &options, clock)),
        })
    }
}

/// What is wrong with `options` for a start, if anything.
fn config_problem(options: &RedisOptions) -> Option<&'static str> {
    if options.namespace.is_empty()
        || options
            .namespace
            .contains(['*', '?', '[', ']', '{', '}', ' '])
    {
        return Some("the namespace must be non-empty and free of * ? [ ] { } and spaces");
    }
    if options.secret.is_empty() {
        // Without a secret no record could be authenticated: anyone who can write to
        // Redis could have any answer served to anyone.
        return Some("no shared secret to authenticate records with (RedisOptions::secret)");
    }
    None
}

/// The errors of a start, each naming the server by its URL without the password.
struct StartErrors {
    redacted: String,
}

impl StartErrors {
    fn fail(&self, kind: RedisStartKind, reason: &str) -> EngineError {
        EngineError::Redis {
            url: self.redacted.clone(),
            source: RedisStartError::new(kind, reason),
        }
    }

    /// redis-rs may echo the URL in its messages; never let a password through.
    fn client(&self, e: redis::RedisError) -> EngineError {
        EngineError::Redis {
            url: self.redacted.clone(),
            source: RedisStartError::client(redact_url(&e.to_string()), e),
        }
    }

    fn timeout(&self, options: &RedisOptions) -> EngineError {
        self.fail(
            RedisStartKind::Timeout,
            &format!("no answer within {:?}", options.connect_timeout * 2),
        )
    }
}

/// A connection to the Redis Cluster whose seed nodes are `urls`.
async fn open_cluster(
    urls: Vec<String>,
    options: &RedisOptions,
    e: &StartErrors,
) -> Result<Conn, EngineError> {
    let mut b = redis::cluster::ClusterClientBuilder::new(urls)
        .connection_timeout(options.connect_timeout)
        .response_timeout(options.command_timeout)
        .retries(1);
    if let Some(pem) = options.root_cert.as_ref() {
        b = b.certs(redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.clone()),
        });
    }
    let cluster = b.build().map_err(|err| e.client(err))?;
    let c = tokio::time::timeout(options.connect_timeout * 2, cluster.get_async_connection())
        .await
        .map_err(|_| e.timeout(options))?
        .map_err(|err| e.client(err))?;
    Ok(Conn::Cluster(c))
}

/// A reconnecting connection to the one server `single` is a client of.
async fn open_single(
    single: &redis::Client,
    options: &RedisOptions,
    e: &StartErrors,
) -> Result<Conn, EngineError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(options.connect_timeout))
        .set_response_timeout(Some(options.command_timeout))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(1));
    let single = single.clone();
    let connect = single.get_connection_manager_with_config(config);
    let c = tokio::time::timeout(options.connect_timeout * 2, connect)
        .await
        .map_err(|_| e.timeout(options))?
        .map_err(|err| e.client(err))?;
    Ok(Conn::Single(c))
}

/// A PING through `conn` must come back PONG: an unreachable server is an error at start.
async fn ping(conn: &Conn, options: &RedisOptions, e: &StartErrors) -> Result<(), EngineError> {
    let mut probe = conn.clone();
    let pong: String = tokio::time::timeout(options.connect_timeout, async {
        redis::cmd("PING").query_async(&mut probe).await
    })
    .await
    .map_err(|_| e.fail(RedisStartKind::Timeout, "PING timed out"))?
    .map_err(|err| e.client(err))?;
    if pong != "PONG" {
        return Err(e.fail(
            RedisStartKind::BadAnswer,
            &format!("unexpected PING answer {pong:?}"),
        ));
    }
    Ok(())
}

impl State {
    /// The tier's state on a connection that answered, with a random origin that tells this
    /// instance's announcements from the others'.
    fn new(
        conn: Conn,
        event_clients: Vec<redis::Client>,
        options: &RedisOptions,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let ns = options.namespace.clone();
        let mut origin = [0u8; 8];
        let _ = getrandom::fill(&mut origin);
        let origin: String = origin.iter().map(|b| format!("{b:02x}")).collect();
        State {
            conn,
            event_clients,
            channel: format!("{{{ns}}}:events"),
            ns,
            seal: RecordSeal::new(&options.secret),
            rejected_tally: Tally::default(),
            origin,
            timeout: options.command_timeout,
            lock_ttl: options.lock_ttl,
            lock_wait: options.lock_wait,
            poll_every: options.poll_every,
            clock,
            c: Counters::default(),
            epoch: AtomicU64::new(0),
            clears_seen: AtomicU64::new(0),
            recent_clears: Mutex::new(Vec::new()),
            ver_seen: AtomicU64::new(0),
            subscribed: AtomicBool::new(false),
            last_error: Mutex::new(None),
            pending_tags: Mutex::new(HashSet::new()),
            pending_clears: Mutex::new(Vec::new()),
            waiters: Mutex::new(HashMap::new()),
            lock_seq: AtomicU64::new(0),
            releasing: AtomicU64::new(0),
            released: Notify::new(),
        }
    }
}

/// rustls needs one process-wide crypto provider; `ring` is the one compiled in.
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("redis://user:secret@h:6379/0"),
            "redis://user:***@h:6379/0"
        );
        assert_eq!(redact_url("redis://:secret@h:1"), "redis://:***@h:1");
        assert_eq!(redact_url("redis://h:1/2"), "redis://h:1/2");
        assert_eq!(
            redact_url("redis://:a@h:1,redis://:b@g:2"),
            "redis://:***@h:1,redis://:***@g:2"
        );
    }

    #[test]
    fn parses_sentinel_urls_and_refuses_bad_ones() {
        let u = parse_sentinel_url("redis+sentinel://:pw@a:26379, b:26380/mymaster/2").unwrap();
        assert_eq!(u.sentinels, ["redis://a:26379", "redis://b:26380"]);
        assert_eq!((u.master.as_str(), u.db), ("mymaster", 2));
        assert_eq!((u.username, u.password.as_deref()), (None, Some("pw")));
        let u = parse_sentinel_url("redis+sentinel://h:1/m").unwrap();
        assert_eq!((u.db, u.password), (0, None));
        for bad in [
            "redis+sentinel://h:1",
            "redis+sentinel://h:1/",
            "redis+sentinel:///m",
            "redis+sentinel://h:1/m/x",
            "redis://h:1/m",
        ] {
            assert!(parse_sentinel_url(bad).is_err(), "{bad}");
        }
        assert_eq!(
            redact_url("redis+sentinel://u:secret@a:1,b:2/m"),
            "redis+sentinel://u:***@a:1,b:2/m"
        );
    }

    #[test]
    fn parses_single_and_cluster_urls() {
        assert_eq!(
            parse_urls("redis://h:1/0"),
            (vec!["redis://h:1/0".to_owned()], false)
        );
        assert_eq!(
            parse_urls("redis+cluster://h:1"),
            (vec!["redis://h:1".to_owned()], true)
        );
        assert_eq!(
            parse_urls("redis://a:1, redis://b:2"),
            (
                vec!["redis://a:1".to_owned(), "redis://b:2".to_owned()],
                true
            )
        );
    }
}
