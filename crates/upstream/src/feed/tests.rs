//! Tests of the change feed's validity: trust per class, health, the sampled proof.

use super::*;
use cachearr_config::IndexConfig;

fn plex() -> &'static dyn Dialect {
    cachearr_dialect::of(cachearr_dialect::Profile::Plex)
}

fn jf() -> &'static dyn Dialect {
    cachearr_dialect::of(cachearr_dialect::Profile::Jellyfin)
}

fn feed(index: bool) -> Feed {
    let index = IndexConfig {
        enabled: index,
        ..IndexConfig::default()
    };
    Feed::new("p", &FeedConfig::default(), &index)
}

#[test]
fn health_needs_events_and_a_recent_pass() {
    let f = feed(true);
    assert_eq!(f.unhealthy(1000), Some(Unhealthy::NoEvents));
    let socket = Arc::new(SubscriberStatus::default());
    f.attach_socket(socket.clone());
    socket.connected.store(true, Ordering::Relaxed);
    assert_eq!(f.unhealthy(1000), Some(Unhealthy::PassOverdue));
    f.note_pass(1000, 0);
    assert_eq!(f.unhealthy(2000), None);
    let two_days = 2 * 24 * 3600 * 1000;
    assert_eq!(
        f.unhealthy(1000 + two_days + 1),
        Some(Unhealthy::PassOverdue)
    );
    socket.connected.store(false, Ordering::Relaxed);
    assert_eq!(f.unhealthy(2000), Some(Unhealthy::NoEvents));
    // A webhook keeps it alive for the window.
    f.note_event("webhook", 3000);
    assert_eq!(f.unhealthy(4000), None);
    assert_eq!(
        f.unhealthy(3000 + 24 * 3600 * 1000 + 1),
        Some(Unhealthy::NoEvents)
    );
    // Without the index, events alone suffice.
    let g = feed(false);
    g.note_event("webhook", 10);
    assert_eq!(g.unhealthy(20), None);
}

#[test]
fn adjust_extends_feed_classes_only_while_trusted() {
    let f = feed(false);
    let base = Policy::new("metadata", Duration::from_secs(3600));
    let mut p = base.clone();
    f.adjust(Class::Metadata, &mut p, 5);
    assert_eq!(
        p.fresh_cap,
        Some(Duration::from_secs(3600)),
        "no events yet"
    );
    f.note_event("socket-less webhook", 5);
    f.note_event("webhook", 5);
    let mut p = base.clone();
    f.adjust(Class::Metadata, &mut p, 6);
    assert_eq!(
        (p.fresh, p.fresh_cap),
        (FeedConfig::default().horizon, None)
    );
    let mut p = Policy::new("ondeck", Duration::from_secs(60));
    f.adjust(Class::OnDeck, &mut p, 6);
    assert_eq!((p.fresh, p.fresh_cap), (Duration::from_secs(60), None));
    f.classes[Class::Metadata as usize]
        .distrusted
        .store(true, Ordering::Relaxed);
    let mut p = base.clone();
    f.adjust(Class::Metadata, &mut p, 6);
    assert_eq!(p.fresh_cap, Some(Duration::from_secs(3600)), "distrusted");
}

/// A read's policy picked among those kept is what `adjust` makes of the route's, in each
/// stance, and the adjusted forms are made once.
#[test]
fn the_kept_policies_give_what_adjust_makes_in_each_stance() {
    let f = feed(false);
    let base = Policy::new("metadata", Duration::from_secs(3600)).with_tag("item:1");
    let kept = FeedPolicies::from(base.clone());
    let adjusted = |class, now| {
        let mut p = base.clone();
        f.adjust(class, &mut p, now);
        p
    };
    let same = |a: &Policy, b: &Policy| {
        (a.fresh, a.fresh_cap, &a.tags, &a.class) == (b.fresh, b.fresh_cap, &b.tags, &b.class)
    };
    let capped = f.policy(&kept, Class::Metadata, 5);
    assert!(same(capped, &adjusted(Class::Metadata, 5)), "no events yet");
    f.note_event("webhook", 5);
    let vouched = f.policy(&kept, Class::Metadata, 6);
    assert!(same(vouched, &adjusted(Class::Metadata, 6)));
    assert_eq!(vouched.fresh_cap, None);
    assert!(std::ptr::eq(vouched, f.policy(&kept, Class::Metadata, 7)));
    assert!(!std::ptr::eq(capped, vouched));
    // A class the feed does not follow gets the route's own.
    assert!(std::ptr::eq(
        f.policy(&kept, Class::OnDeck, 6),
        kept.routed()
    ));
}

#[test]
fn value_tags_name_shown_and_parent_items() {
    let xml = br#"<MediaContainer key="9" grandparentRatingKey="8"><Track ratingKey="10" parentRatingKey="9" grandparentRatingKey="8" title="x"/><Track ratingKey="11" parentRatingKey="9"/></MediaContainer>"#;
    let json = br#"{"MediaContainer":{"Metadata":[{"ratingKey": "10","parentRatingKey":"9","grandparentRatingKey":"8"},{"ratingKey":"11","parentRatingKey":"9"}]}}"#;
    let want = vec![
        "p:item:10",
        "p:plays:10",
        "p:item:11",
        "p:plays:11",
        "p:item:8",
        "p:item:9",
    ];
    for body in [&xml[..], &json[..]] {
        let tags: Vec<String> = value_tags("p", plex(), false, body)
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(tags, want, "{}", String::from_utf8_lossy(body));
    }
    let jellyfin = br#"{"Items":[{"Id":"AA","AlbumId":"bb","ParentId":"bb","AlbumArtists":[{"Name":"n","Id":"cc"}],"UserData":{"Key":"Id"}}],"TotalRecordCount":1}"#;
    let tags: Vec<String> = value_tags("j", jf(), false, jellyfin)
        .iter()
        .map(|t| t.to_string())
        .collect();
    assert_eq!(tags, ["j:item:aa", "j:plays:aa", "j:item:bb", "j:item:cc"]);
    let one = br#"{"Id":"aa","SeriesId":"ss","SeasonId":"tt"}"#;
    assert_eq!(value_tags("j", jf(), true, one).len(), 4);
    // A film names its library folder as `ParentId` and shows nothing of it.
    let film = br#"{"Id":"ff","ParentId":"ee","UserData":{"Played":false}}"#;
    let tags: Vec<String> = value_tags("j", jf(), false, film)
        .iter()
        .map(|t| t.to_string())
        .collect();
    assert_eq!(tags, ["j:item:ff", "j:plays:ff"]);
    // Too many to tag one by one: the tag every item change bumps.
    let many: String = (0..2000)
        .map(|i| format!(r#"<Video ratingKey="{i}"/>"#))
        .collect();
    let tags = value_tags("p", plex(), false, many.as_bytes());
    assert_eq!(tags.len(), 1);
    assert_eq!(&*tags[0], "p:items");
}

#[test]
fn pass_tags_name_items_parents_sections() {
    let mut r = cachearr_library::ItemRecord::track("10", "2", "a", "t");
    r.parent_id = Some("9".into());
    r.grandparent_id = Some("8".into());
    let mut movie = cachearr_library::ItemRecord::track("12", "2", "a", "t");
    movie.parent_id = None;
    let edited = pass_tags("p", false, &[&r, &movie], &Default::default(), &[], &[]);
    assert_eq!(
        edited,
        vec![
            "p:item:10",
            "p:section:2",
            "p:item:12",
            "p:members:2",
            "p:recent",
            "p:section-times",
            "p:items"
        ],
        "an edit: the item, its section's lists, the plain listing for a top-level item, \
         the sections' update times (not the sections)"
    );
    let added = std::iter::once("10").collect();
    let tags = pass_tags("p", false, &[&r], &added, &["11".into()], &["3".into()]);
    assert_eq!(
        tags,
        vec![
            "p:item:10",
            "p:item:9",
            "p:oplays:9",
            "p:plays:9",
            "p:item:8",
            "p:oplays:8",
            "p:plays:8",
            "p:section:2",
            "p:members:2",
            "p:item:11",
            "p:section:3",
            "p:members:3",
            "p:recent",
            "p:sections",
            "p:items"
        ]
    );
    assert!(pass_tags("p", false, &[], &added, &[], &[]).is_empty());
}

#[test]
fn bounds_state_the_dead_socket_the_pass_and_the_ttls() {
    let f = feed(true).with_announce_delay(Duration::from_secs(30));
    let ttl = |class: Class| match class {
        Class::Sections => Duration::from_secs(300),
        _ => Duration::from_secs(3600),
    };
    let b = f.bounds(ttl);
    assert_eq!(b.dead_socket_secs, 45);
    assert_eq!(b.announced_secs, 75);
    assert_eq!(b.unannounced_secs, Some(2 * 24 * 3600));
    assert_eq!(b.down_secs["sections"], 300);
    assert_eq!(b.down_secs["metadata"], 3600);
    assert_eq!(feed(false).bounds(ttl).unannounced_secs, None);
    assert_eq!(f.report(0, ttl).bounds, b);
}

/// The stated staleness of what only a user's own probes see follows the watch's size: once
/// the active users' probes need more than their budget in a users' period, it is the time
/// the budget takes to go round them, and a period of the list of plays.
#[test]
fn the_users_bound_is_a_turn_of_the_probes_budget() {
    let config = FeedConfig {
        play_state_probes_per_minute: 3,
        ..FeedConfig::default()
    };
    let f = Feed::new("j", &config, &IndexConfig::default());
    let ttl = |_: Class| Duration::from_secs(300);
    let watching = |users: u64| f.count_play_round(|w| w.watched_users = users);
    // No user measured yet: the users' period (120 s) and the list's (15 s).
    watching(3);
    assert_eq!(f.bounds(ttl).play_state_user_secs, Some(135));
    // Three users of three probes each at three a minute: a turn takes 180 s.
    f.note_probe_turns(1, 3);
    assert_eq!(f.bounds(ttl).play_state_user_secs, Some(180 + 15));
    // 1,000 of them: 60,000 s (at the default 120 a minute, 1,500 s).
    watching(1_000);
    assert_eq!(f.bounds(ttl).play_state_user_secs, Some(60_000 + 15));
    // Two users fit in the period.
    watching(2);
    assert_eq!(f.bounds(ttl).play_state_user_secs, Some(135));
}

#[test]
fn a_class_is_drawn_in_proportion_to_its_traffic() {
    let weights = [
        (Class::Metadata, 3),
        (Class::Listing, 1),
        (Class::Search, 2),
    ];
    let drawn: Vec<Class> = (0..6).map(|at| draw(&weights, at).unwrap()).collect();
    assert_eq!(
        drawn,
        [
            Class::Metadata,
            Class::Metadata,
            Class::Metadata,
            Class::Listing,
            Class::Search,
            Class::Search
        ]
    );
    assert_eq!(draw(&[], 0), None);
}

/// The background budget: what the play-state watch and sampling count by kind, and every
/// background request the guard sent (the rest is `other`), per whole minute and in all; a
/// minute is turned only by the guard's reading, once a second.
#[test]
fn the_background_budget_is_counted_by_kind_per_minute() {
    let f = feed(true);
    f.note_background_all(100, 1_000);
    f.count_background(BackgroundKind::Signal, 1, 2_000);
    f.count_background(BackgroundKind::Probes, 8, 3_000);
    f.count_background(BackgroundKind::Samples, 1, 4_000);
    f.note_background_all(115, 30_000);
    assert_eq!(f.background().last_minute, BackgroundCounts::default());
    let total = f.background().total;
    assert_eq!((total.signal, total.probes, total.samples), (1, 8, 1));
    f.note_background_all(115, 61_000);
    let minute = f.background().last_minute;
    assert_eq!(
        minute,
        BackgroundCounts {
            all: 15,
            signal: 1,
            probes: 8,
            samples: 1,
            other: 5,
        }
    );
    // A quiet minute after it: nothing.
    f.note_background_all(115, 121_000);
    assert_eq!(f.background().last_minute.all, 0);
}

/// A user's first read of an answer showing play state, and their first after a pause, wake
/// the play-state watch; reads while they are active do not.
#[tokio::test]
async fn a_reader_who_was_not_active_wakes_the_play_watch() {
    let f = feed(true);
    let users = crate::users::Users::default();
    let user = users.touch("p", crate::keys::UserHash(7), "token", 1_000);
    let woke = |f: &Feed| {
        let waiting = f.play_reader_woke();
        futures_util::FutureExt::now_or_never(Box::pin(waiting)).is_some()
    };
    f.note_play_read(&user, 1_000);
    assert!(woke(&f), "a first read wakes the watch");
    f.note_play_read(&user, 5_000);
    assert!(!woke(&f), "an active user's read does not");
    f.note_play_read(&user, 5_000 + 181_000);
    assert!(woke(&f), "a read after `play_state_active` does");
}

/// Where the socket announces every change of the live sessions list, the list is cached
/// until it does while a socket is open (or the holder vouches), and falls back to its
/// lifetime as a read-time cap once none is; elsewhere its lifetime stands as routed, and
/// a webhook alone (which says nothing of progress) never keeps it.
#[test]
fn the_sessions_list_follows_a_socket_that_announces_it() {
    let ten = Duration::from_secs(10);
    let read = |f: &Feed, now: u64| {
        let mut p = Policy::new("sessions", ten);
        f.adjust(Class::Sessions, &mut p, now);
        p
    };
    let silent = feed(false);
    let socket = Arc::new(SubscriberStatus::default());
    silent.attach_socket(socket.clone());
    socket.connected.store(true, Ordering::Relaxed);
    let p = read(&silent, 5);
    assert_eq!(
        (p.fresh, p.fresh_cap),
        (ten, None),
        "a server that does not announce it"
    );

    let f = feed(false).with_sessions_announced(true);
    let p = read(&f, 5);
    assert_eq!(p.fresh_cap, Some(ten), "no socket: the lifetime caps");
    f.note_event("webhook", 5);
    assert_eq!(
        read(&f, 6).fresh_cap,
        Some(ten),
        "a webhook says nothing of progress"
    );
    let socket = Arc::new(SubscriberStatus::default());
    f.attach_socket(socket.clone());
    socket.connected.store(true, Ordering::Relaxed);
    let p = read(&f, 7);
    assert_eq!(
        (p.fresh, p.fresh_cap),
        (FeedConfig::default().horizon, None)
    );
    let policies = FeedPolicies::from(Policy::new("sessions", ten));
    assert_eq!(f.policy(&policies, Class::Sessions, 7).fresh_cap, None);
    socket.connected.store(false, Ordering::Relaxed);
    assert_eq!(read(&f, 8).fresh_cap, Some(ten), "the socket closed");
    assert_eq!(f.policy(&policies, Class::Sessions, 8).fresh_cap, Some(ten));
    f.vouch_until(100);
    assert_eq!(read(&f, 9).fresh_cap, None, "the holder's socket vouches");
    assert_eq!(
        read(&f, 100).fresh_cap,
        Some(ten),
        "until its heartbeat stops"
    );
}

/// Where the list comes only by subscription (Jellyfin's `SessionsStart`), it follows a
/// socket only once the server has sent a list on it, for as long as the subscription
/// promises (not the horizon); an open socket without a list (a refused subscription, or
/// none sent yet), a closed one and another gateway's heartbeat leave its lifetime.
#[test]
fn a_subscribed_sessions_list_follows_only_a_socket_that_sent_one() {
    let ten = Duration::from_secs(10);
    let minute = Duration::from_secs(60);
    let read = |f: &Feed, now: u64| {
        let mut p = Policy::new("sessions", ten);
        f.adjust(Class::Sessions, &mut p, now);
        p
    };
    let f = feed(false)
        .with_sessions_announced(true)
        .with_sessions_subscription(Some(minute));
    let policies = FeedPolicies::from(Policy::new("sessions", ten));
    let socket = Arc::new(SubscriberStatus::default());
    f.attach_socket(socket.clone());
    socket.connected.store(true, Ordering::Relaxed);
    assert_eq!(
        read(&f, 5).fresh_cap,
        Some(ten),
        "no list on the socket yet"
    );
    f.vouch_until(100);
    assert_eq!(
        read(&f, 6).fresh_cap,
        Some(ten),
        "the holder's heartbeat does not say its socket carries the list"
    );
    socket.sessions_listed.store(true, Ordering::Relaxed);
    let p = read(&f, 7);
    assert_eq!((p.fresh, p.fresh_cap), (minute, None));
    let p = f.policy(&policies, Class::Sessions, 7);
    assert_eq!((p.fresh, p.fresh_cap), (minute, None));
    socket.connected.store(false, Ordering::Relaxed);
    assert_eq!(read(&f, 8).fresh_cap, Some(ten), "the socket closed");
    assert_eq!(f.policy(&policies, Class::Sessions, 8).fresh_cap, Some(ten));
}
