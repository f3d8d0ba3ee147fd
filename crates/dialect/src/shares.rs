//! Where a server's shares are read when the server does not keep them itself: an account
//! service beside it (Plex: plex.tv, which since 2026 also vouches for invited users' account
//! tokens). The owner's token reads every share with its sections and filters
//! ([`ShareService::shares_path`]); a user's own token says which account it is
//! ([`ShareService::account_path`]). The reading of both answers is the dialect's; the reads,
//! their schedule and the fallback when the service cannot be had are
//! `cachearr_upstream::shares`'.

use crate::model::shares::Share;

/// A server's account service: its address, its paths and the reading of its answers.
pub trait ShareService: Send + Sync + std::fmt::Debug {
    /// The service's address when the configuration names none.
    fn default_url(&self) -> &'static str;

    /// The configuration key (in `[[upstream]]`) that names another address.
    fn config_key(&self) -> &'static str;

    /// The server's path that names the server to the service (anonymous).
    fn identity_path(&self) -> &'static str;

    /// The server's id at the service, from an answer of [`Self::identity_path`].
    fn server_id(&self, body: &[u8]) -> Option<String>;

    /// The service's path listing the shares of server `server_id` (the owner's token).
    fn shares_path(&self, server_id: &str) -> String;

    /// Every share of the server, from an answer of [`Self::shares_path`]; `None` when the
    /// answer does not read.
    fn shares(&self, body: &[u8]) -> Option<Vec<Share>>;

    /// The service's path answering with the asking token's own account.
    fn account_path(&self) -> &'static str;

    /// The account id in an answer of [`Self::account_path`].
    fn account_id(&self, body: &[u8]) -> Option<String>;
}
