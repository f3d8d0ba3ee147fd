//! The simulator's users as the gateway's tests send requests as them: each with the token of
//! the server under test.

/// A simulated user.
pub(crate) struct SimUser {
    /// The simulator's id, which its play state is kept under.
    pub(crate) id: u32,
    pub(crate) name: String,
    /// The user's token on the server under test.
    pub(crate) token: String,
    /// Jellyfin's id, which paths and `UserId=` name.
    pub(crate) jellyfin_id: String,
}

/// `users` with their Jellyfin tokens (`jellyfin`) or their Plex ones.
pub(crate) fn sim_users(users: &[cachearr_sim::state::User], jellyfin: bool) -> Vec<SimUser> {
    users
        .iter()
        .map(|u| SimUser {
            id: u.id,
            name: u.name.clone(),
            token: if jellyfin {
                u.jellyfin_token.clone()
            } else {
                u.plex_token.clone()
            },
            jellyfin_id: u.jellyfin_id.clone(),
        })
        .collect()
}
