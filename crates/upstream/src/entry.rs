//! The entry a cached read is kept as: its key and the route's engine policy with the tags
//! its answer hangs on (and, for a reading kept for repeats, that policy in each of the change
//! feed's stances: [`FeedPolicies`], made here). One place for what a client's read (the proxy's key phase), a read
//! the gateway makes as a user (the gateway's `fetch`) and a batch's part (its `batch`) must
//! agree on, so that they find each other's entries.

use std::sync::{Arc, OnceLock};

use cachearr_engine::{Key, Policy};

use crate::feed::{Feed, FeedPolicies, item_tagged};
use crate::keys::{KeyError, KeyInput, build_key};
use crate::users::UserRecord;
use cachearr_config::policy::ResolvedPolicy;

/// The entry a cached read is kept as: its key (from `input`, whose `user` is the scope the
/// caller decided) and the route's engine policy carrying the entry's `tags` (and `user`'s
/// play-state tag when the route's answers show per-user state), adjusted by the upstream's
/// change `feed` at `now_ms`.
pub fn cached_entry(
    feed: Option<&Arc<Feed>>,
    user: &UserRecord,
    input: &KeyInput<'_>,
    route: &ResolvedPolicy,
    tags: Vec<Arc<str>>,
    user_state: bool,
    now_ms: u64,
) -> Result<(Key, cachearr_engine::Policy), KeyError> {
    let (key, mut policy) = keyed_policy(user, input, route, tags, user_state)?;
    if let Some(feed) = feed {
        feed.adjust(route.class, &mut policy, now_ms);
    }
    Ok((key, policy))
}

/// The key of a cached read and the route's engine policy with its tags (the user's state tag
/// on user-scoped routes that show play state, the user's scope tag on every user-scoped
/// one): what [`cached_entry`] gives before the change
/// feed adjusts it for the moment of the request. A pure function of the request and the user.
pub fn keyed_policy(
    user: &UserRecord,
    input: &KeyInput<'_>,
    route: &ResolvedPolicy,
    mut tags: Vec<Arc<str>>,
    user_state: bool,
) -> Result<(Key, cachearr_engine::Policy), KeyError> {
    let key = Key::new(build_key(input)?);
    if user_state && input.user.is_some() {
        tags.push(user.state_tag.clone());
    }
    if input.user.is_some() && (user_state || item_tagged(route.class)) {
        tags.push(user.watch_tag.clone());
    }
    if input.user.is_some() {
        tags.push(user.scope_tag.clone());
    }
    let mut policy = route.engine.clone();
    policy.tags = tags;
    Ok((key, policy))
}

/// Made here, beside the policy it keeps: a cached read makes its reading in this module.
impl From<Policy> for FeedPolicies {
    fn from(routed: Policy) -> Self {
        Self {
            routed,
            adjusted: OnceLock::new(),
        }
    }
}
