//! The phases of a request that is not a repeat: **check** it, **decide** its route from the
//! table, **identify** who asks (once, for every path), and hand it to the path its route
//! takes — a cached read ([`super::read`]), an index search, a pass-through ([`super::pass`]),
//! an upgrade, or the HTTP caching standard ([`super::standard`]).

use std::sync::Arc;

use http::{Method, Request};

use super::pass::Bypass;
use super::read::ReadFrom;
use super::repeat::Fingerprint;
use super::validate::check_request;
use super::{Call, FirstRead, Who, WireHead, standard};
use crate::fetch::ClientBody;
use cachearr_config::policy::IndexSearch;
use cachearr_config::policy::{Decision, ResolvedPolicy};
use cachearr_dialect::{Identity, Trigger};
use cachearr_wire::Reply;

/// A search the library index may answer, as the route table decided it.
struct IndexRoute<'a> {
    search: IndexSearch,
    policy: &'a ResolvedPolicy,
    tags: Vec<Arc<str>>,
    user_state: bool,
    prefetch: Option<Trigger>,
}

impl Call<'_> {
    /// Checks the request, decides its route, identifies who asks and takes the route's path.
    pub(super) async fn route(
        &self,
        req: Request<ClientBody>,
        print: Option<Fingerprint>,
        first: FirstRead,
    ) -> Reply<WireHead> {
        if let Err(refused) = check_request(&self.gw.config().limits, &req) {
            return (*refused).into();
        }
        let (path, query) = (req.uri().path(), req.uri().query());
        let decision = self
            .up
            .routes
            .decide(req.method(), req.headers(), path, query);
        if let Decision::Standard(route) = decision {
            // The standard's own credentials decide who asks (`standard::identify`), the
            // server's token forms among them as the dialect read them.
            let head_bytes = self.via.takes_head_bytes();
            let (gw, up, peer) = (self.gw, self.up, self.peer);
            let serve =
                standard::serve(gw.reads(), up, route, req, peer, head_bytes, first.identity);
            return Box::pin(serve).await;
        }
        let FirstRead { identity, prefetch } = first;
        let who = self.identify(identity);
        match decision {
            Decision::Upgrade => Box::pin(self.upgrade(req)).await.into(),
            Decision::Range => self.pass(req, who.user(), Bypass::Range).await,
            Decision::Cache {
                policy,
                tags,
                user_state,
            } if req.method() == Method::GET => {
                let read = ReadFrom::Route {
                    who,
                    policy,
                    tags,
                    user_state,
                    remember: print,
                    copy: None,
                    prefetch,
                };
                self.read(req, read).await
            }
            Decision::AnswerFromIndex {
                search,
                policy,
                tags,
                user_state,
            } => {
                let route = IndexRoute {
                    search,
                    policy,
                    tags,
                    user_state,
                    prefetch,
                };
                self.search(req, print, who, route).await
            }
            Decision::Write {
                tags,
                user_state,
                heartbeat,
            } => {
                let why = Bypass::Write {
                    tags,
                    user_state,
                    heartbeat,
                };
                self.pass(req, who.user(), why).await
            }
            _ => self.pass(req, who.user(), Bypass::Uncacheable).await,
        }
    }

    /// Who the request is, as its dialect read it; a user is marked seen now.
    fn identify(&self, identity: Identity<'_>) -> Who {
        match identity {
            Identity::Token(token) => {
                let hash = self.gw.secret().user_of(&token);
                let now = self.gw.clock().now_ms();
                Who::User(self.up.users.touch(&self.up.name, hash, &token, now))
            }
            Identity::Anonymous => Who::NoToken,
            Identity::Ambiguous => Who::Ambiguous,
        }
    }

    /// A route the library index may answer. A walk (a section's listing, an item's children)
    /// is a cached read whose miss the library copy may answer instead of the server; a search
    /// (and `…/all?title=`) is answered from the index when it can, else it is a cached read,
    /// not remembered for a repeat (the index may answer the next).
    async fn search(
        &self,
        req: Request<ClientBody>,
        print: Option<Fingerprint>,
        who: Who,
        route: IndexRoute<'_>,
    ) -> Reply<WireHead> {
        let IndexRoute {
            search,
            policy,
            tags,
            user_state,
            prefetch,
        } = route;
        let library = self.gw.copy();
        let copy = library.and_then(|l| l.walk_copy(&self.up.name, search, req.uri().query()));
        if copy.is_none()
            && let Some(library) = library
            && let Some(answered) = library
                .answer_search(
                    self.gw.reads(),
                    self.up,
                    &req,
                    search,
                    who.user(),
                    self.started,
                )
                .await
        {
            return answered.into();
        }
        let read = ReadFrom::Route {
            who,
            policy,
            tags,
            user_state,
            remember: print.filter(|_| copy.is_some()),
            copy,
            prefetch,
        };
        self.read(req, read).await
    }
}
