//! The shares of a server as its account service keeps them (not the server: since 2026 a
//! Plex server asks plex.tv what an invited user may see): one [`Share`] per user, its
//! restriction in the copy's model ([`Restriction`]). Read by the dialect's
//! [`ShareService`](crate::shares::ShareService); kept and refreshed by
//! `cachearr_upstream::shares`. A leaf.

use super::restriction::Restriction;

/// One user's share of the server.
#[derive(Clone, PartialEq, Eq)]
pub struct Share {
    /// The account service's id of the user's account.
    pub account_id: String,
    /// The server-scoped token the share carries (managed users', and invited users' from
    /// before 2026), memory only; `None` when the share carries none.
    pub server_token: Option<String>,
    /// What the share lets the user see: its sections and filters.
    pub restriction: Restriction,
}

/// Never shows the token.
impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share")
            .field("account_id", &self.account_id)
            .field("server_token", &self.server_token.as_ref().map(|_| ".."))
            .field("restriction", &self.restriction)
            .finish()
    }
}
