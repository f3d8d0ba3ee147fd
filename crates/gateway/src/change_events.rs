//! Change events applied: the servers' notification sockets, to which cachearr subscribes
//! with each upstream's owner token ([`EventSubscriptions`]), and the webhooks the admin side
//! receives both go through one [`EventApplier`], which completes an event from the library
//! index (its section, its items' parents, ids in the case tags use), lets the index's keeper
//! fetch what changed, notes it in the change feed and bumps its tags.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::gateway::Gateway;
use cachearr_dialect::events::{Change, ChangeEvent};
use cachearr_dialect::tags;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::subscriber::{self, EventSink, SubscriberStatus, Subscription};

/// Invalidates the tags of events, counts them per upstream.
pub struct EventApplier {
    gateway: Gateway,
    /// Events applied per upstream, in configuration order.
    applied: Vec<(String, AtomicU64)>,
}

impl EventApplier {
    /// Applies `event` from `upstream`, come by `source` (`plex_socket`, `jellyfin_webhook`,
    /// …): completes it from the index, lets the index's keeper fetch what changed, notes it
    /// in the feed, bumps its tags and counts it. Returns the tags bumped.
    pub fn apply(&self, upstream: &str, source: &'static str, event: &ChangeEvent) -> Vec<String> {
        // A user's change names a user, not an item: nothing of the library completes it.
        let completed =
            (event.change != Change::UserChanged).then(|| self.complete(upstream, event));
        let event = completed.as_ref().and_then(Option::as_ref).unwrap_or(event);
        let mut tags = event.tags(upstream);
        if event.change == Change::UserChanged {
            tags.extend(self.user_scopes(upstream, event));
        }
        // The library index fetches what was added or changed and drops what was removed.
        let keeper = (self.gateway.copy()).is_some_and(|copy| copy.note_change(upstream, event));
        if keeper && event.change == Change::Added && event.section.is_none() {
            // A new item of a section the source did not name (Jellyfin's webhook): the keeper
            // fetches it and then refreshes that section's lists (and those spanning
            // sections), not every list.
            let every_list = tags::listings(upstream);
            tags.retain(|t| *t != every_list);
        }
        if let Some(feed) = self.gateway.feed(upstream) {
            let kind = if source.ends_with("socket") {
                "socket"
            } else {
                "webhook"
            };
            feed.note_event(kind, self.gateway.clock().now_ms());
        }
        self.gateway.invalidate_tags(upstream, &tags);
        let label = Arc::new(upstream.to_owned());
        self.gateway
            .metrics()
            .change_event(&label, source, event.change.as_str(), tags.len());
        if let Some((_, count)) = self.applied.iter().find(|(name, _)| name == upstream) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        tracing::debug!(upstream, source, change = %event.change, tags = tags.len(), "change event applied");
        tags
    }

    /// Events applied for `upstream` since start (webhooks and socket).
    pub fn applied(&self, upstream: &str) -> u64 {
        self.applied
            .iter()
            .find(|(name, _)| name == upstream)
            .map_or(0, |(_, count)| count.load(Ordering::Relaxed))
    }

    /// The scope tags of the users a [`Change::UserChanged`] names: every token the server
    /// said is theirs shares their scope (keyed by their server id, as the server writes it);
    /// a token whose user is still unknown may be theirs, so its own scope goes too. Every
    /// answer kept for them goes; the other users' stay.
    fn user_scopes(&self, upstream: &str, event: &ChangeEvent) -> Vec<String> {
        let Some(up) = self.gateway.upstream(upstream) else {
            return Vec::new();
        };
        let secret = self.gateway.secret();
        let mut scopes: Vec<String> = (event.own_items().iter())
            .map(|id| tags::user_scope(upstream, &secret.scope_of_user(upstream, id).to_string()))
            .collect();
        scopes.extend(
            (up.users.all().iter())
                .filter(|user| user.is_unnamed())
                .map(|user| user.scope_tag.to_string()),
        );
        scopes.sort_unstable();
        scopes.dedup();
        scopes
    }

    /// The event with what its source left out and the index knows, or `None` when it
    /// lacks nothing: its section, its items' parents, ids in the case answers' tags use.
    fn complete(&self, upstream: &str, event: &ChangeEvent) -> Option<ChangeEvent> {
        let mut completed = None;
        if let Some(e) = self.with_section(upstream, event) {
            completed = Some(e);
        }
        if let Some(e) = self.with_parents(upstream, completed.as_ref().unwrap_or(event)) {
            completed = Some(e);
        }
        if let Some(e) = self.lowered(upstream, completed.as_ref().unwrap_or(event)) {
            completed = Some(e);
        }
        completed
    }

    /// Jellyfin's events do not say the section: the index knows it for items it holds, so
    /// only that section's lists are refreshed instead of every list.
    fn with_section(&self, upstream: &str, event: &ChangeEvent) -> Option<ChangeEvent> {
        if event.section.is_some() || event.items.is_empty() {
            return None;
        }
        let index = self.gateway.copy()?.ready_index(upstream)?;
        let everything = cachearr_library::Visibility::everything();
        let sections: std::collections::BTreeSet<&str> = event
            .items
            .iter()
            .filter_map(|id| index.by_id(id, &everything).map(|v| v.section_id()))
            .collect();
        // One section for every item: the event is that section's. Items the index does
        // not hold (new ones) leave it unknown.
        let all_known = event
            .items
            .iter()
            .all(|id| index.by_id(id, &everything).is_some());
        (all_known && sections.len() == 1).then(|| ChangeEvent {
            section: sections.first().map(|s| (*s).to_owned()),
            ..event.clone()
        })
    }

    /// Events that name items without their parents (Jellyfin's): the index knows the
    /// parents, whose children listings and viewed counts change with their children.
    fn with_parents(&self, upstream: &str, event: &ChangeEvent) -> Option<ChangeEvent> {
        if !event.parents().is_empty() || event.own_items().is_empty() {
            return None;
        }
        let index = self.gateway.copy()?.ready_index(upstream)?;
        let everything = cachearr_library::Visibility::everything();
        let parents: Vec<&str> = event
            .own_items()
            .iter()
            .filter_map(|id| index.by_id(id, &everything))
            .flat_map(|v| [v.parent_id(), v.grandparent_id()])
            .flatten()
            .collect();
        (!parents.is_empty()).then(|| event.clone().with_parents(parents.into_iter().map(Some)))
    }

    /// A server that matches ids in any case (Jellyfin): answers' tags are lowercased, so
    /// an event naming ids in upper case is lowercased to meet them.
    fn lowered(&self, upstream: &str, event: &ChangeEvent) -> Option<ChangeEvent> {
        let upper = |s: &str| s.bytes().any(|b| b.is_ascii_uppercase());
        let ignore_case = self
            .gateway
            .upstream(upstream)
            .is_some_and(|up| cachearr_dialect::of(up.profile).ids_ignore_case());
        if !ignore_case
            || !(event.items.iter().any(|id| upper(id))
                || event.section.as_deref().is_some_and(upper))
        {
            return None;
        }
        let mut e = event.clone();
        for id in &mut e.items {
            id.make_ascii_lowercase();
        }
        if let Some(s) = &mut e.section {
            s.make_ascii_lowercase();
        }
        Some(e)
    }
}

/// Feeds one subscription's events to the [`EventApplier`].
struct SocketSink {
    applier: Arc<EventApplier>,
    source: &'static str,
}

impl EventSink for SocketSink {
    fn apply(&self, upstream: &str, event: &ChangeEvent) {
        if event.change == Change::ScanFinished
            && event.items.is_empty()
            && event.section.is_none()
            && let Some(up) = self.applier.gateway.upstream(upstream).cloned()
        {
            // The socket came back (or a scan finished): a server restarts to upgrade, so the
            // release it runs is read again.
            let gw = self.applier.gateway.clone();
            tokio::spawn(async move { read_server_version(&gw, &up).await });
        }
        self.applier.apply(upstream, self.source, event);
    }
}

/// The owner-token websocket subscriptions of a running gateway, one for every upstream with
/// an owner token, and the [`EventApplier`] their events and the webhooks' go through. The
/// gateway's start-up ([`crate::gateway::BoundGateway::serve`]) starts them and hands them to the admin
/// side, which reports on them and applies webhooks through the same applier; they stop when
/// this is dropped.
pub struct EventSubscriptions {
    applier: Arc<EventApplier>,
    subscribers: Vec<(String, Arc<SubscriberStatus>, tokio::task::JoinHandle<()>)>,
}

impl Drop for EventSubscriptions {
    fn drop(&mut self) {
        for (_, _, task) in &self.subscribers {
            task.abort();
        }
    }
}

/// Keeps `subscription` open while this gateway does the upstream's background work
/// ([`crate::background::Role::works`]): among gateways sharing a Redis only the holder keeps
/// the socket, and a follower that takes over opens it.
fn spawn_while_working(
    role: &Arc<crate::background::Role>,
    subscription: Subscription,
    sink: Arc<SocketSink>,
    status: &Arc<SubscriberStatus>,
) -> tokio::task::JoinHandle<()> {
    let mut works = role.watch_kind();
    let status = Arc::clone(status);
    tokio::spawn(async move {
        loop {
            while !works.borrow_and_update().works() {
                if works.changed().await.is_err() {
                    return;
                }
            }
            // Aborted when this task is (the subscriptions dropped) or the work moves.
            let mut task = AbortOnDrop(subscriber::spawn(
                subscription.clone(),
                sink.clone(),
                Arc::clone(&status),
            ));
            loop {
                tokio::select! {
                    _ = &mut task.0 => break,
                    changed = works.changed() => {
                        if changed.is_err() || !works.borrow_and_update().works() {
                            break;
                        }
                    }
                }
            }
            drop(task);
            status.connected.store(false, Ordering::Relaxed);
        }
    })
}

/// A task aborted when its handle is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl EventSubscriptions {
    /// Starts a notification subscription for every upstream of `gateway` with an owner token
    /// (when called inside a tokio runtime; outside one, none): kept open while this gateway
    /// does the upstream's background work.
    pub fn start(gateway: &Gateway) -> Self {
        let applied = gateway
            .upstreams()
            .iter()
            .map(|u| (u.name.to_string(), AtomicU64::new(0)))
            .collect();
        let applier = Arc::new(EventApplier {
            gateway: gateway.clone(),
            applied,
        });
        let mut subscribers = Vec::new();
        if tokio::runtime::Handle::try_current().is_ok() {
            for up in gateway.upstreams() {
                // The release the server runs, read once as the gateway starts (it answers
                // anyone): one kept from the last run is confirmed or followed at once.
                let (gw, read_up) = (gateway.clone(), Arc::clone(up));
                tokio::spawn(async move { read_server_version(&gw, &read_up).await });
                let Some(token) = up.config.token.clone().filter(|t| !t.is_empty()) else {
                    continue;
                };
                let server = cachearr_dialect::of(up.profile).events();
                let feed = &gateway.config().feed;
                let subscription = Subscription {
                    upstream: up.name.to_string(),
                    server,
                    base_url: up.config.url.to_string(),
                    token,
                    liveness: subscriber::Liveness {
                        probe_every: feed.socket_probe,
                        misses: feed.socket_probe_misses,
                    },
                };
                let source = server.socket_source();
                let sink = Arc::new(SocketSink {
                    applier: Arc::clone(&applier),
                    source,
                });
                let status = Arc::new(SubscriberStatus::default());
                if let Some(feed) = gateway.feed(&up.name) {
                    feed.attach_socket(Arc::clone(&status));
                }
                let task = match gateway.background().role(&up.name) {
                    Some(role) => spawn_while_working(role, subscription, sink, &status),
                    None => subscriber::spawn(subscription, sink, Arc::clone(&status)),
                };
                subscribers.push((up.name.to_string(), status, task));
            }
        }
        EventSubscriptions {
            applier,
            subscribers,
        }
    }

    /// What every change event goes through, the webhooks' included.
    pub fn applier(&self) -> &Arc<EventApplier> {
        &self.applier
    }

    /// The status of each subscription, by upstream name.
    pub fn statuses(&self) -> Vec<(String, Arc<SubscriberStatus>)> {
        self.subscribers
            .iter()
            .map(|(n, s, _)| (n.clone(), Arc::clone(s)))
            .collect()
    }
}

/// Reads the release `up`'s server runs ([`crate::server_version::read`]) and, when it is
/// another than before, has the library copy read the server again.
async fn read_server_version(gw: &Gateway, up: &Arc<Upstream>) {
    if crate::server_version::read(gw.cache(), up).await
        && let Some(copy) = gw.copy()
    {
        copy.server_changed(&up.name);
    }
}
