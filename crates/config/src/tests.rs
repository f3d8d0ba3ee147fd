//! The file format, its errors at their lines and the overrides.

use super::*;
use crate::policy::Class;

fn parse_ok(text: &str) -> Config {
    Config::from_toml(text, "t.toml").unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn parse_err(text: &str) -> (usize, String) {
    match Config::from_toml(text, "t.toml") {
        Err(ConfigError::Parse { line, message, .. }) => (line, message),
        other => panic!("{text}: {other:?}"),
    }
}

/// Fails unless `text` is refused at `line` with a message containing `says`.
fn assert_refused(text: &str, line: usize, says: &str) {
    let (at, message) = parse_err(text);
    assert_eq!(at, line, "{text}: {message}");
    assert!(message.contains(says), "{text}: {message}");
}

/// Fails unless `text` is refused at `line` and `column` with exactly `says`, both in the
/// error's fields and at the start of what it prints.
fn assert_refused_at(text: &str, line: usize, column: usize, says: &str) {
    let e = Config::from_toml(text, "t.toml").unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("t.toml:{line}:{column}: {says}\n")),
        "{e}"
    );
    match e {
        ConfigError::Parse {
            line: at,
            column: col,
            message,
            ..
        } => assert_eq!((at, col, message.as_str()), (line, column, says), "{text}"),
        other => panic!("{text}: {other:?}"),
    }
}

/// A configuration of one upstream, as the command line makes it.
fn single(profile: Profile, url: &str) -> Config {
    Config::single(profile, url, "127.0.0.1:0".parse().unwrap()).unwrap()
}

#[test]
fn example_parses_and_means_what_it_says() {
    let c = Config::from_toml(EXAMPLE, "example.toml").unwrap();
    assert_eq!(c.upstreams.len(), 1);
    let u = &c.upstreams[0];
    assert_eq!(u.name, "plex");
    assert_eq!(u.profile, Profile::Plex);
    assert_eq!(u.guard.breaker_failures, 5);
    assert_eq!(u.routes.len(), 2);
    assert_eq!(u.routes[1].policy.cache, Some(false));
    assert!(
        u.classes
            .iter()
            .any(|(c, p)| *c == Class::OnDeck && p.fresh == Some(Duration::from_secs(30)))
    );
    assert_eq!(c.cache.memory_max_bytes, 256 << 20);
    assert_eq!(c.index, IndexConfig::default());
    c.check_runnable().unwrap();
}

#[test]
fn index_table_and_no_index_flag() {
    let text = "[index]\nenabled = true\nbuild_timeout = \"2h\"\nrefresh_interval = \"6h\"\ncatch_up_after = \"1h\"\n\
                page_size = 200\n[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n";
    let mut c = parse_ok(text);
    assert!(c.index.enabled);
    assert_eq!(c.index.build_timeout, Duration::from_secs(7200));
    assert_eq!(c.index.refresh_interval, Duration::from_secs(6 * 3600));
    assert_eq!(c.index.catch_up_after, Duration::from_secs(3600));
    assert_eq!(c.index.page_size, 200);
    c.apply_overrides(ConfigOverrides {
        no_index: true,
        ..ConfigOverrides::default()
    })
    .unwrap();
    assert!(!c.index.enabled);
    let e = Config::from_toml("[index]\nenabeld = false\n", "t.toml").unwrap_err();
    assert!(e.to_string().contains("t.toml:2"), "{e}");
}

#[test]
fn errors_point_at_the_line() {
    let (line, _) =
        parse_err("[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\nlisten = \"nope\"\n");
    assert_eq!(line, 4);
    assert_refused(
        "[[upstream]]\nprofile = \"plex\"\nurl = \"ftp://x\"\n",
        3,
        "http://",
    );
    assert_refused("[policy.nonsense]\nfresh = \"1m\"\n", 1, "unknown class");
    assert_refused("[cache]\nmemroy_max = 5\n", 2, "memroy_max");
    let (line, _) = parse_err("[policy.sessions]\nfresh = \"ten seconds\"\n");
    assert_eq!(line, 2);
}

#[test]
fn durations_and_sizes() {
    assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
    assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
    assert_eq!(
        parse_duration("7d").unwrap(),
        Duration::from_secs(7 * 86400)
    );
    assert!(parse_duration("5 minutes").is_err());
    assert!(parse_duration("").is_err());
    assert_eq!(parse_byte_size("512MiB").unwrap(), 512 << 20);
    assert!(parse_byte_size("lots").is_err());
    assert!(parse_byte_size("99999999999999TiB").is_err());
}

#[test]
fn bad_route_paths_are_refused_at_their_line() {
    let config = |path: &str| {
        format!(
            "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n\n[[upstream.route]]\n\
             path = {path:?}\nclass = \"listing\"\n"
        )
    };
    for (path, says) in [
        ("library/sections", "must start with '/'"),
        ("/library/sections?type=1", "must not contain a query"),
        (
            "/library/{}/x",
            "route path \"/library/{}/x\" is refused by the router: ",
        ),
    ] {
        assert_refused(&config(path), 6, says);
    }
    // A good one is taken.
    let c = parse_ok(&config("/library/sections/{id}/all"));
    assert_eq!(
        c.upstreams[0].routes[0].pattern,
        "/library/sections/{id}/all"
    );
}

#[test]
fn huge_durations_are_refused_not_overflowed() {
    assert_refused(
        "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.guard]\n\
         read_timeout = \"99999999999999d\"\n",
        5,
        "too long",
    );
    let (line, _) = parse_err("token_trust = 18446744073709551615\n");
    assert_eq!(line, 1);
    assert!(parse_duration("3650d").is_ok());
    assert!(parse_duration("3651d").is_err());
    assert_refused(
        "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.guard]\n\
         retries = 4000000000\n",
        5,
        "at most",
    );
    // The largest accepted values start: the load timeout they make does not overflow.
    let c = parse_ok(
        "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.guard]\n\
         read_timeout = \"3650d\"\nretries = 10\n",
    );
    let g = &c.upstreams[0].guard;
    let _ = g
        .read_timeout
        .saturating_mul(g.retries.saturating_mul(2).saturating_add(3));
}

#[test]
fn zero_limits_are_refused_at_their_line() {
    for (table, key, value) in [
        ("limits", "max_uri", "0"),
        ("limits", "max_headers", "0"),
        ("limits", "max_body", "\"0\""),
        ("limits", "max_cached_body", "0"),
        ("limits", "max_connections", "0"),
        ("cache", "memory_max", "\"0MiB\""),
        ("cache", "disk_max", "0"),
        ("cache", "redis_timeout", "\"0\""),
        ("index", "page_size", "0"),
        ("index", "build_timeout", "0"),
    ] {
        let (line, message) = parse_err(&format!("# x\n[{table}]\n{key} = {value}\n"));
        assert_eq!(line, 3, "{key}");
        assert!(
            message.contains(key) && message.contains("greater than zero"),
            "{message}"
        );
    }
    for (key, value) in [
        ("max_concurrent", "0"),
        ("rate_per_sec", "0"),
        ("rate_per_sec", "-1.5"),
        ("burst", "0"),
        ("connect_timeout", "\"0\""),
        ("read_timeout", "0"),
        ("breaker_failures", "0"),
        ("background_max_concurrent", "0"),
        ("background_rate_per_sec", "0.0"),
    ] {
        let text = format!(
            "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.guard]\n{key} = {value}\n"
        );
        assert_refused(&text, 5, key);
    }
}

#[test]
fn an_empty_token_is_not_a_token() {
    assert_refused("# admin\nadmin_token = \"\"\n", 2, "empty");
    let (line, _) =
        parse_err("[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\ntoken = \"  \"\n");
    assert_eq!(line, 4);
    // From the environment or a flag, empty means not given (an unset ${VAR} in compose):
    // the admin listener beyond loopback is then refused, not opened with "" as its token.
    let mut c = single(Profile::Plex, "http://h:1");
    let token = secret_from(Some(""), None, "t").unwrap();
    assert_eq!(token, None);
    let e = c.apply_overrides(ConfigOverrides {
        admin_listen: Some("0.0.0.0:8485".parse().unwrap()),
        admin_token: token,
        ..ConfigOverrides::default()
    });
    assert!(e.is_err());
}

#[test]
fn single_brackets_say_to_use_two() {
    assert_refused(
        "data_dir = \"/d\"\n\n[upstream]\nprofile = \"plex\"\nurl = \"http://x:1\"\n",
        3,
        "[[upstream]]",
    );
    assert_refused(
        "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.route]\npath = \"/x\"\n",
        4,
        "[[upstream.route]]",
    );
}

#[test]
fn the_web_app_path_is_warned_about() {
    let w = single(Profile::Plex, "http://nas:32400/web").warnings();
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains("web app") && w[0].contains("http://nas:32400"),
        "{w:?}"
    );
    assert!(
        single(Profile::Plex, "http://nas:32400")
            .warnings()
            .is_empty()
    );
}

#[test]
fn owner_tokens_from_flags_env_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("plex_token");
    std::fs::write(&secret, "from-file\n").unwrap();
    let text = format!(
        "[[upstream]]\nname = \"living-room\"\nprofile = \"plex\"\nurl = \"http://x:1\"\n\
         token_file = \"{}\"\n\
         [[upstream]]\nprofile = \"jellyfin\"\nurl = \"http://y:1\"\ntoken = \"in-file\"\n",
        secret.display()
    );
    let mut c = parse_ok(&text);
    assert_eq!(c.upstreams[0].token.as_deref(), Some("from-file"));
    assert_eq!(c.upstreams[1].token.as_deref(), Some("in-file"));
    // --plex-token / --jellyfin-token beat the file; CACHEARR_UPSTREAM_<NAME>_TOKEN beats them.
    let env_file = dir.path().join("jf");
    std::fs::write(&env_file, "jf-from-env-file").unwrap();
    c.apply_overrides(ConfigOverrides {
        owner_tokens: vec![
            (Profile::Plex, "flag".into()),
            (Profile::Jellyfin, "flag-jf".into()),
        ],
        upstream_env: vec![
            ("CACHEARR_UPSTREAM_LIVING_ROOM_TOKEN".into(), "env".into()),
            (
                "CACHEARR_UPSTREAM_JELLYFIN_2_TOKEN_FILE".into(),
                env_file.display().to_string(),
            ),
        ],
        ..ConfigOverrides::default()
    })
    .unwrap();
    assert_eq!(c.upstreams[0].token.as_deref(), Some("env"));
    assert_eq!(c.upstreams[1].token.as_deref(), Some("jf-from-env-file"));
    // A variable naming no upstream is an error that lists the right names.
    let e = c
        .apply_overrides(ConfigOverrides {
            upstream_env: vec![("CACHEARR_UPSTREAM_LIVINGROOM_TOKEN".into(), "x".into())],
            ..ConfigOverrides::default()
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("CACHEARR_UPSTREAM_LIVING_ROOM_TOKEN"), "{e}");
    // --plex-token without a Plex upstream.
    let mut c = single(Profile::Jellyfin, "http://h:1");
    let e = c
        .apply_overrides(ConfigOverrides {
            owner_tokens: vec![(Profile::Plex, "t".into())],
            ..ConfigOverrides::default()
        })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--plex-token") && e.contains("no plex upstream"),
        "{e}"
    );
    // Secret files: missing or empty is an error naming the file, never the value.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, " \n").unwrap();
    let e = secret_from(None, Some(&empty), "Plex token file")
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty") && e.contains("Plex token file"), "{e}");
    assert!(secret_from(None, Some(&dir.path().join("nope")), "x").is_err());
    assert_eq!(
        secret_from(Some("direct"), Some(&empty), "x")
            .unwrap()
            .as_deref(),
        Some("direct")
    );
}

#[test]
fn https_upstreams_and_their_tls_settings() {
    assert!(parse_upstream_url("https://plex.example:32400").is_ok());
    assert_refused(
        "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\nca = \"/etc/ca.pem\"\n",
        4,
        "https",
    );
    assert_refused(
        "[[upstream]]\nprofile = \"plex\"\nurl = \"https://x:1\"\nca = \"/nonexistent/ca.pem\"\n",
        4,
        "cannot read",
    );
    let c = parse_ok(
        "[[upstream]]\nprofile = \"plex\"\nurl = \"https://192.168.1.10:32400\"\n\
         server_name = \"192-168-1-10.0123abcd.plex.direct\"\n",
    );
    assert_eq!(
        c.upstreams[0].tls.server_name.as_deref(),
        Some("192-168-1-10.0123abcd.plex.direct")
    );
}

#[test]
fn overrides_beat_the_file() {
    let mut c = Config::from_toml(EXAMPLE, "example.toml").unwrap();
    c.apply_overrides(ConfigOverrides {
        urls: vec![
            (Profile::Plex, "http://10.0.0.2:32400".into()),
            (Profile::Jellyfin, "http://10.0.0.3:8096".into()),
        ],
        listen: Some("127.0.0.1:9000".parse().unwrap()),
        no_disk: true,
        ..ConfigOverrides::default()
    })
    .unwrap();
    assert_eq!(c.upstreams[0].url, "http://10.0.0.2:32400");
    assert_eq!(c.upstreams[0].listen.port(), 9000);
    assert_eq!(c.upstreams[1].profile, Profile::Jellyfin);
    assert!(!c.cache.disk.enabled);
    let mut c = Config::empty();
    assert!(c.apply_overrides(ConfigOverrides::default()).is_err());
    let mut c = single(Profile::Plex, "http://h:1");
    let e = c.apply_overrides(ConfigOverrides {
        admin_listen: Some("0.0.0.0:8485".parse().unwrap()),
        ..ConfigOverrides::default()
    });
    assert!(e.is_err());
}

#[test]
fn each_section_takes_its_defaults_from_one_place() {
    let c = parse_ok(
        "[feed]\nsamples_per_minute = 99999\n[[upstream]]\nprofile = \"plex\"\n\
         url = \"http://x:1\"\n[upstream.prefetch]\nmax_per_listing = 3\n",
    );
    assert_eq!(c.feed.samples_per_minute, 6000, "bounded");
    assert_eq!(c.feed.horizon, FeedConfig::default().horizon);
    assert_eq!(
        c.upstreams[0].prefetch,
        PrefetchConfig {
            max_per_listing: 3,
            ..PrefetchConfig::default()
        }
    );
    // The Redis tier's knobs are the engine's: their defaults too.
    let engine = cachearr_engine::RedisOptions::default();
    assert_eq!(c.cache.redis.lock_wait, engine.lock_wait);
    assert_eq!(c.cache.redis.timeout, engine.command_timeout);
    assert_eq!(c.cache.redis.namespace, engine.namespace);
    let c = parse_ok(
        "[cache]\nredis = \"redis://r:6379\"\nredis_lock_wait = \"2s\"\nredis_namespace = \"farm\"\n",
    );
    let options = c.cache.redis.engine_options(None);
    assert_eq!(options.lock_wait, Duration::from_secs(2));
    assert_eq!(options.namespace, "farm");
    assert_eq!(options.connect_timeout, engine.connect_timeout);
    // Sections read straight into their type still point at the bad line.
    assert_refused("# x\n[feed]\nhorizon = \"soon\"\n", 3, "not a duration");
    assert_refused(
        "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.prefetch]\n\
         enabeld = true\n",
        5,
        "enabeld",
    );
}

#[test]
fn bad_values_are_typed_and_quote_the_input() {
    assert_eq!(
        parse_duration("5 minutes"),
        Err(ValueError::NotADuration("5 minutes".into()))
    );
    assert_eq!(
        parse_duration("3651d"),
        Err(ValueError::TooLong("3651d".into()))
    );
    assert_eq!(
        parse_byte_size("lots"),
        Err(ValueError::NotASize("lots".into()))
    );
    assert!(matches!(
        parse_upstream_url("ftp://x"),
        Err(UrlError::Scheme(url)) if url == "ftp://x"
    ));
    assert!(matches!(
        parse_upstream_url("http://a b"),
        Err(UrlError::NotAUrl { source, .. }) if !source.to_string().is_empty()
    ));
    let bad = Config::single(Profile::Plex, "ftp://x", "127.0.0.1:0".parse().unwrap());
    assert!(matches!(
        bad,
        Err(ConfigError::Url {
            source: UrlError::Scheme(_),
            ..
        })
    ));
    let missing = read_secret_file(Path::new("/nonexistent/token"), "token_file").unwrap_err();
    assert!(matches!(
        &missing,
        ConfigError::SecretFile { source, .. } if source.kind() == std::io::ErrorKind::NotFound
    ));
    assert!(
        missing
            .to_string()
            .starts_with("token_file: cannot read /nonexistent/token")
    );
    assert!(matches!(
        parse_upstream_url("http://u:p@x"),
        Err(UrlError::Credentials(_))
    ));
}

/// `[index]`, `[limits]` and `[upstream.guard]` refuse a bad value while it is read: toml places
/// the error at the value (line and column) and the message names the key.
#[test]
fn index_limits_and_guard_refuse_bad_values_at_their_line_and_column() {
    const ZERO: &str = "must be greater than zero";
    const RATE: &str = "must be a number greater than zero";
    let guard = "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.guard]\n";
    let (index, limits) = ("# x\n[index]\n", "# x\n[limits]\n");
    for (head, key, value, rule) in [
        (index, "page_size", "0", ZERO),
        (index, "build_timeout", "\"0s\"", ZERO),
        (index, "refresh_interval", "0", ZERO),
        (limits, "max_uri", "0", ZERO),
        (limits, "max_header", "\"0KiB\"", ZERO),
        (limits, "max_connections", "0", ZERO),
        (guard, "max_concurrent", "0", ZERO),
        (guard, "burst", "0", ZERO),
        (guard, "read_timeout", "\"0ms\"", ZERO),
        (guard, "rate_per_sec", "-2", RATE),
        (guard, "background_rate_per_sec", "nan", RATE),
        (guard, "retries", "11", "is at most 10"),
    ] {
        let says = format!("{key} {rule}");
        let text = format!("{head}{key} = {value}\n");
        assert_refused_at(&text, text.lines().count(), key.len() + 4, &says);
    }
    // The file's keys, not the fields' names.
    assert_refused("[limits]\nmax_uri_bytes = 5\n", 2, "max_uri_bytes");
}

/// What the three sections hold when the file leaves them out, or leaves them empty: the
/// defaults as they were when each section was read through a form of options.
#[test]
fn index_limits_and_guard_defaults_are_unchanged() {
    let index = IndexConfig {
        enabled: true,
        build_timeout: Duration::from_secs(180 * 60),
        refresh_interval: Duration::from_secs(24 * 3600),
        catch_up_after: Duration::ZERO,
        page_size: 500,
    };
    let limits = RequestLimits {
        max_uri_bytes: 8 * 1024,
        max_header_bytes: 64 * 1024,
        max_headers: 100,
        max_body_bytes: 64 * 1024 * 1024,
        max_cached_body_bytes: 32 * 1024 * 1024,
        max_connections: None,
    };
    let guard = GuardConfig {
        max_concurrent: 32,
        rate_per_sec: 200.0,
        burst: 400,
        connect_timeout: Duration::from_secs(3),
        read_timeout: Duration::from_secs(60),
        retries: 2,
        retry_backoff: Duration::from_millis(50),
        breaker_failures: 5,
        breaker_cooldown: Duration::from_secs(10),
        background_max_concurrent: 4,
        background_rate_per_sec: 20.0,
    };
    assert_eq!(IndexConfig::default(), index);
    assert_eq!(RequestLimits::default(), limits);
    assert_eq!(GuardConfig::default(), guard);
    let upstream = "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n";
    for text in [
        upstream.to_string(),
        format!("[index]\n[limits]\n{upstream}[upstream.guard]\n"),
    ] {
        let c = parse_ok(&text);
        assert_eq!(c.index, index, "{text}");
        assert_eq!(c.limits, limits, "{text}");
        assert_eq!(c.upstreams[0].guard, guard, "{text}");
    }
    // Values read as before: bounds raise or cap them, and unset keys keep their defaults.
    let c = parse_ok(&format!(
        "[index]\nbuild_timeout = \"500ms\"\nrefresh_interval = \"10s\"\npage_size = 5\n\
         [limits]\nmax_uri = \"16KiB\"\nmax_header = 100\nmax_connections = 64\n\
         {upstream}[upstream.guard]\nrate_per_sec = 5\nretries = 0\nbreaker_cooldown = \"0\"\n"
    ));
    assert_eq!(c.index.build_timeout, Duration::from_secs(1));
    assert_eq!(c.index.refresh_interval, Duration::from_secs(60));
    assert_eq!(c.index.page_size, 10);
    assert_eq!(c.index.catch_up_after, index.catch_up_after);
    assert_eq!(c.limits.max_uri_bytes, 16 * 1024);
    assert_eq!(c.limits.max_header_bytes, 8192, "at least 8 KiB");
    assert_eq!(c.limits.max_connections, Some(64));
    assert_eq!(c.limits.max_body_bytes, limits.max_body_bytes);
    let g = &c.upstreams[0].guard;
    assert_eq!((g.rate_per_sec, g.retries), (5.0, 0));
    assert_eq!(
        g.breaker_cooldown,
        Duration::ZERO,
        "a zero cool-down is allowed"
    );
    assert_eq!(g.burst, guard.burst);
    let c = parse_ok("[index]\npage_size = 20000\n");
    assert_eq!(c.index.page_size, 10_000);
}

/// `[cache]` refuses a bad value while it is read: toml places the error at the value (line and
/// column) and the message names the key, as for the other sections.
#[test]
fn cache_refuses_bad_values_at_their_line_and_column() {
    const ZERO: &str = "must be greater than zero";
    for (key, value, says) in [
        ("memory_max", "\"0MiB\"", format!("memory_max {ZERO}")),
        ("disk_max", "0", format!("disk_max {ZERO}")),
        ("redis_timeout", "\"0\"", format!("redis_timeout {ZERO}")),
        (
            "memory_max",
            "\"lots\"",
            ValueError::NotASize("lots".into()).to_string(),
        ),
        (
            "redis_lock_wait",
            "\"soon\"",
            ValueError::NotADuration("soon".into()).to_string(),
        ),
    ] {
        let text = format!("# x\n[cache]\ndisk = true\n{key} = {value}\n");
        assert_refused_at(&text, 4, key.len() + 4, &says);
    }
    // The file's keys, not the fields' names.
    assert_refused("[cache]\n\nmemory_max_bytes = 5\n", 3, "memory_max_bytes");
}

/// What `[cache]` holds when the file leaves it out, or leaves it empty: the defaults as they
/// were when the section was read through a form of options (the Redis ones are the engine's).
#[test]
fn cache_defaults_are_unchanged() {
    let cache = CacheConfig {
        memory_max_bytes: 256 * 1024 * 1024,
        disk: DiskConfig {
            enabled: true,
            max_bytes: 4 * 1024 * 1024 * 1024,
        },
        redis: RedisConfig {
            url: None,
            ca: None,
            lock_wait: Duration::from_secs(5),
            timeout: Duration::from_millis(250),
            namespace: "cachearr".into(),
        },
        sendfile_min_bytes: None,
    };
    assert_eq!(CacheConfig::default(), cache);
    for text in ["", "[cache]\n"] {
        let c = parse_ok(text);
        assert_eq!(c.cache, cache, "{text:?}");
    }
    // Values read as before, and unset keys keep their defaults.
    let c = parse_ok(
        "[cache]\nmemory_max = \"1GiB\"\ndisk = false\ndisk_max = 1000\n\
         redis = \"rediss://r:6380\"\nredis_timeout = \"1s500ms\"\nredis_ca = \"/etc/ca.pem\"\n\
         redis_lock_wait = 0\nsendfile_min = \"16KiB\"\n",
    );
    assert_eq!(
        c.cache,
        CacheConfig {
            memory_max_bytes: 1 << 30,
            disk: DiskConfig {
                enabled: false,
                max_bytes: 1000,
            },
            redis: RedisConfig {
                url: Some("rediss://r:6380".into()),
                ca: Some(PathBuf::from("/etc/ca.pem")),
                lock_wait: Duration::ZERO,
                timeout: Duration::from_millis(1500),
                namespace: "cachearr".into(),
            },
            sendfile_min_bytes: Some(16 * 1024),
        }
    );
    let c = parse_ok("[cache]\ndisk_max = \"10GB\"\n");
    assert_eq!(c.cache.disk.max_bytes, 10_000_000_000);
    assert_eq!(c.cache.memory_max_bytes, cache.memory_max_bytes);
    // Zero-copy answers: "off", or a size above zero; anything else is refused at its line.
    let c = parse_ok("[cache]\nsendfile_min = \"off\"\n");
    assert_eq!(c.cache.sendfile_min_bytes, None);
    let c = parse_ok("[cache]\nsendfile_min = 65536\n");
    assert_eq!(c.cache.sendfile_min_bytes, Some(65536));
    for bad in ["0", "\"0KiB\"", "\"sometimes\"", "true"] {
        assert_refused(
            &format!("[cache]\n\nsendfile_min = {bad}\n"),
            3,
            "sendfile_min",
        );
    }
}

#[test]
fn a_disk_max_below_what_the_disk_tier_can_keep_to_is_refused_naming_the_smallest() {
    let with = |cache: &str| {
        parse_ok(&format!(
            "[cache]\n{cache}\n[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n"
        ))
        .check_runnable()
    };
    let err = with("disk_max = \"16MiB\"").unwrap_err().to_string();
    assert!(err.contains("disk_max = \"32MiB\""), "{err}");
    with("disk_max = \"32MiB\"").unwrap();
    // Without a disk tier the setting bounds nothing.
    with("disk = false\ndisk_max = \"1MiB\"").unwrap();
}

#[test]
fn an_http_upstream_reads_its_operators_settings() {
    let text = r#"
[[upstream]]
name = "arr"
profile = "http"
url = "http://sonarr:8989"

[upstream.http]
credential_headers = ["X-Token"]
credential_params = ["token"]
heuristic_percent = 20
heuristic_max = "1h"

[[upstream.route]]
path = "/api/v3/calendar"
fresh = "5m"
override_origin = true
scope = "standard"
tags = ["calendar"]

[[upstream.route]]
path = "/graphql"
graphql = true
fresh = "1m"
[upstream.route.operations]
Stats = "30s"
"#;
    let c = parse_ok(text);
    let up = &c.upstreams[0];
    assert_eq!(up.http.credential_headers[0].as_str(), "x-token");
    assert_eq!(up.http.credential_params, vec!["token".to_owned()]);
    assert_eq!(up.http.heuristic.percent, 20);
    assert_eq!(up.http.heuristic.max_secs, 3600);
    assert!(up.routes[0].standard.override_origin);
    assert_eq!(up.routes[0].standard.tags, vec!["calendar".to_owned()]);
    assert_eq!(up.routes[0].policy.scope, None);
    assert!(up.routes[1].standard.graphql);
    assert_eq!(
        up.routes[1].standard.operations,
        vec![("Stats".to_owned(), std::time::Duration::from_secs(30))]
    );
}

#[test]
fn settings_of_one_profile_are_refused_on_another_at_their_line() {
    let head = |profile: &str| {
        format!(
            "[[upstream]]\nprofile = \"{profile}\"\nurl = \"http://x:1\"\n[[upstream.route]]\npath = \"/a\"\n"
        )
    };
    let cases = [
        (head("plex") + "tags = [\"x\"]\n", 6, "only to an http upstream"),
        (head("jellyfin") + "graphql = true\n", 6, "only to an http upstream"),
        (head("plex") + "scope = \"standard\"\n", 6, "\"standard\""),
        (head("http") + "class = \"metadata\"\n", 6, "does not apply"),
        (head("http") + "negative_ttl = \"1m\"\n", 6, "does not apply"),
        (head("http") + "override_origin = true\n", 6, "needs fresh"),
        (
            head("http") + "[upstream.route.operations]\nA = \"1s\"\n",
            6,
            "needs graphql",
        ),
        (
            "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\n[upstream.http]\ncredential_params = []\n"
                .to_owned(),
            4,
            "profile = \"http\"",
        ),
        (
            "[[upstream]]\nprofile = \"http\"\nurl = \"http://x:1\"\n[upstream.http]\ncredential_headers = [\"bad name\"]\n"
                .to_owned(),
            5,
            "not a header name",
        ),
    ];
    for (text, want_line, want) in cases {
        assert_refused(&text, want_line, want);
    }
}

#[test]
fn the_account_service_address_defaults_and_is_checked() {
    let c = single(Profile::Plex, "http://127.0.0.1:32400");
    let url = c.upstreams[0].account_service_url.as_ref().unwrap();
    assert_eq!(url.to_string(), "https://plex.tv/");
    assert!(
        single(Profile::Jellyfin, "http://127.0.0.1:8096").upstreams[0]
            .account_service_url
            .is_none()
    );
    let text = "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\nplextv_url = \"http://127.0.0.1:9/\"\n";
    let c = parse_ok(text);
    let url = c.upstreams[0].account_service_url.as_ref().unwrap();
    assert_eq!(url.authority().unwrap().as_str(), "127.0.0.1:9");
    assert_refused(
        "[[upstream]]\nprofile = \"plex\"\nurl = \"http://x:1\"\nplextv_url = \"ftp://h\"\n",
        4,
        "not an http(s) URL",
    );
    assert_refused(
        "[[upstream]]\nprofile = \"jellyfin\"\nurl = \"http://x:1\"\nplextv_url = \"http://h\"\n",
        4,
        "reads no shares",
    );
}
