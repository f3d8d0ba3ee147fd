//! plex.tv's records: the accounts behind the server's users, the owner's shares (their
//! settings, whether they still stand), managed users' restriction profiles, the owner's
//! webhooks, and what plex.tv was asked.
//!
//! What a share lets through (its sections and its `filterMovies`, `filterTelevision`,
//! `filterMusic`) is kept once, on the server's [`User`] (`sections`, `restrictions`), so the
//! simulated server applies exactly what plex.tv says: [`PlexTv::change_share`] writes there.
//! Everything else plex.tv knows and the server does not lives here.

use std::collections::{BTreeMap, BTreeSet};

use crate::rng::mix;
use crate::state::{PlexFilter, State, User};

/// plex.tv account id of the server's owner (the server itself calls its owner 1). Everyone
/// else keeps the server's account id, as a real server lists shared users under their
/// plex.tv ids.
pub const OWNER_ACCOUNT_ID: u32 = 10_000_001;

/// plex.tv's ids of the server's sections are the section keys plus this (plex.tv numbers
/// library sections over all servers; `Section id` and `key` differ on a real share too).
pub const SECTION_ID_BASE: u32 = 70_000;

/// Ids of shares (`SharedServer id`) are the user's account id plus this.
pub const SHARE_ID_BASE: u32 = 40_000_000;

/// Account ids of the managed Home users the owner creates during a run start above this.
pub const CREATED_HOME_ID_BASE: u32 = 20_000_000;

const TOKEN_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_";

/// What kind of plex.tv account stands behind a user of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// The server's owner (admin of the Plex Home).
    Owner,
    /// A friend the owner invited and shared the server with: since 2026 they reach the
    /// server with their own plex.tv account token, which the server checks with plex.tv.
    Invited,
    /// A managed user of the owner's Plex Home: no login of their own, a server-scoped token
    /// and a restriction profile.
    Managed,
}

impl AccountKind {
    /// The kind of `user`'s account.
    pub fn of(user: &User) -> Self {
        if user.is_owner {
            Self::Owner
        } else if user.home {
            Self::Managed
        } else {
            Self::Invited
        }
    }

    /// The name the control API uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Invited => "invited",
            Self::Managed => "managed",
        }
    }
}

/// A managed user's restriction profile, as plex.tv names it. Setting one sets the user's
/// movie and television filters to the ratings the profile admits, as plex.tv does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestrictionProfile {
    /// "Younger kid".
    LittleKid,
    /// "Older kid".
    OlderKid,
    /// "Teen".
    Teen,
}

impl RestrictionProfile {
    /// Parses plex.tv's name (`little_kid`, `older_kid`, `teen`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "little_kid" => Self::LittleKid,
            "older_kid" => Self::OlderKid,
            "teen" => Self::Teen,
            _ => return None,
        })
    }

    /// plex.tv's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::LittleKid => "little_kid",
            Self::OlderKid => "older_kid",
            Self::Teen => "teen",
        }
    }

    /// The content ratings the profile admits (each profile admits its younger ones' too).
    pub fn ratings(self) -> Vec<String> {
        let mut r = vec!["G", "TV-Y", "TV-G"];
        if matches!(self, Self::OlderKid | Self::Teen) {
            r.extend(["PG", "TV-Y7", "TV-PG"]);
        }
        if self == Self::Teen {
            r.extend(["PG-13", "TV-14"]);
        }
        r.into_iter().map(str::to_string).collect()
    }
}

/// A share's settings that do not change what the user sees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShareSettings {
    /// `allowSync`.
    pub allow_sync: bool,
    /// `allowCameraUpload`.
    pub allow_camera_upload: bool,
    /// `allowChannels`.
    pub allow_channels: bool,
}

/// An account's own settings on plex.tv.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountSettings {
    /// Watch state and ratings synced through plex.tv (`view_state_sync` consent).
    pub view_state_sync: bool,
    /// `optOutPlayback`.
    pub opt_out_playback: bool,
    /// `optOutLibraryStats`.
    pub opt_out_library_stats: bool,
}

/// A change to a share; `None` leaves that part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShareChange {
    /// Sections shared (server section keys); `Some(None)` shares them all.
    pub sections: Option<Option<Vec<u32>>>,
    /// `filterMovies`.
    pub filter_movies: Option<PlexFilter>,
    /// `filterTelevision`.
    pub filter_television: Option<PlexFilter>,
    /// `filterMusic`.
    pub filter_music: Option<PlexFilter>,
    /// A managed user's restriction profile (`Some(None)` makes it custom again).
    pub profile: Option<Option<RestrictionProfile>>,
    /// `allowSync`.
    pub allow_sync: Option<bool>,
    /// `allowCameraUpload`.
    pub allow_camera_upload: Option<bool>,
    /// `allowChannels`.
    pub allow_channels: Option<bool>,
    /// False revokes the share, true makes it stand again.
    pub active: Option<bool>,
}

/// Why plex.tv refused a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlexTvError {
    /// No account of that id (or name) shares the server.
    #[error("no shared account {0}")]
    NoSuchAccount(String),
    /// The owner has no share: they own the server.
    #[error("the owner's access cannot be shared or revoked")]
    Owner,
    /// A restriction profile belongs to managed users only.
    #[error("only a managed user has a restriction profile")]
    NotManaged,
}

/// A managed Home user the owner created during the run (`POST /api/home/users?title=`): a
/// plex.tv record only. plex.tv lists it, keeps its PIN and its share's sections and removes
/// it; the simulated server has no such user, so it is given no token for the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedHomeUser {
    /// Its plex.tv account id (above [`CREATED_HOME_ID_BASE`]).
    pub id: u32,
    /// Its name, as the owner gave it.
    pub title: String,
    /// Its plex.tv uuid.
    pub uuid: String,
    /// The server's sections shared with it (keys), once the owner shared any.
    pub sections: Option<Vec<u32>>,
}

/// plex.tv's own state for one simulator.
#[derive(Debug)]
pub struct PlexTv {
    pub(super) seed: u64,
    /// Accounts whose share the owner revoked (server account ids).
    revoked: BTreeSet<u32>,
    settings: BTreeMap<u32, ShareSettings>,
    profiles: BTreeMap<u32, RestrictionProfile>,
    account_settings: BTreeMap<u32, AccountSettings>,
    /// Account tokens signed out (`DELETE /api/v2/users/signout`).
    signed_out: BTreeSet<String>,
    webhooks: Vec<String>,
    /// Friends the owner invited into the Plex Home (`POST /api/home/users?invitedEmail=`)
    /// whose invitation stands (server account ids): listed as Home users.
    home_invited: BTreeSet<u32>,
    /// Home PINs by plex.tv account id (the owner's own, a managed user's).
    pins: BTreeMap<u32, String>,
    created_home: Vec<CreatedHomeUser>,
    /// Online media sources accounts changed, by (server account id, source key); see
    /// `opt_outs`.
    pub(super) opt_outs: BTreeMap<(u32, &'static str), super::OptOut>,
    /// PINs clients asked for to sign in (see `pins`), oldest first.
    pub(super) pin_logins: Vec<super::Pin>,
    /// PINs made so far (ids are not reused).
    pub(super) pins_made: u32,
    /// Home users created so far, removed ones included (ids are not reused).
    created_count: u32,
    /// plex.tv answers nothing but 503 while this is set (see the control API).
    down: bool,
    requests: BTreeMap<String, u64>,
    validations: u64,
}

impl PlexTv {
    /// plex.tv for the accounts of a simulator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            revoked: BTreeSet::new(),
            settings: BTreeMap::new(),
            profiles: BTreeMap::new(),
            account_settings: BTreeMap::new(),
            signed_out: BTreeSet::new(),
            webhooks: Vec::new(),
            home_invited: BTreeSet::new(),
            pins: BTreeMap::new(),
            created_home: Vec::new(),
            opt_outs: BTreeMap::new(),
            pin_logins: Vec::new(),
            pins_made: 0,
            created_count: 0,
            down: false,
            requests: BTreeMap::new(),
            validations: 0,
        }
    }

    /// Forgets every change (shares stand again, settings, profiles, webhooks, counters).
    pub fn reset(&mut self) {
        *self = Self::new(self.seed);
    }

    /// The plex.tv account id of `user`.
    pub fn account_id(user: &User) -> u32 {
        if user.is_owner {
            OWNER_ACCOUNT_ID
        } else {
            user.id
        }
    }

    /// An account's e-mail address (managed users have none).
    pub fn email(user: &User) -> String {
        super::render::email(user)
    }

    /// `user`'s plex.tv account token. The owner's is the token the server has always taken
    /// from them; everyone else's differs from their server-scoped token.
    pub fn account_token(&self, user: &User) -> String {
        if user.is_owner {
            return user.plex_token.clone();
        }
        let mut x = mix(self.seed ^ 0x504C_4558_5456 ^ (u64::from(user.id) << 16));
        (0..20)
            .map(|_| {
                x = mix(x);
                char::from(TOKEN_ALPHABET[(x % TOKEN_ALPHABET.len() as u64) as usize])
            })
            .collect()
    }

    /// `user`'s account UUID (16 hex digits, as plex.tv's are).
    pub fn account_uuid(&self, user: &User) -> String {
        format!("{:016x}", mix(self.seed ^ 0x5555_4944 ^ u64::from(user.id)))
    }

    /// The account an account token names, unless it was signed out.
    pub fn account_by_token<'s>(&self, state: &'s State, token: &str) -> Option<&'s User> {
        if token.is_empty() || self.signed_out.contains(token) {
            return None;
        }
        state
            .users()
            .iter()
            .find(|u| self.account_token(u) == token)
    }

    /// True while `user` may use the server: the owner always, anyone else while their share
    /// stands.
    pub fn admits(&self, user: &User) -> bool {
        user.is_owner || !self.revoked.contains(&user.id)
    }

    /// The server asks plex.tv whether `token` is an account allowed on it (an invited user's
    /// account token): the account when it is, counting the question either way.
    pub fn validate<'s>(&mut self, state: &'s State, token: &str) -> Option<&'s User> {
        if token.is_empty() {
            return None;
        }
        self.validations += 1;
        if self.down {
            return None;
        }
        self.account_by_token(state, token)
            .filter(|u| self.admits(u))
    }

    /// The share's settings.
    pub fn settings(&self, user: u32) -> ShareSettings {
        self.settings.get(&user).copied().unwrap_or_default()
    }

    /// A managed user's restriction profile (`None`: custom filters).
    pub fn profile(&self, user: u32) -> Option<RestrictionProfile> {
        self.profiles.get(&user).copied()
    }

    /// Changes `user`'s share (by server account id) on plex.tv and therefore on the server:
    /// sections and filters are written to the server's user.
    ///
    /// # Errors
    /// No such user, the owner, or a profile for a user who is not managed.
    pub fn change_share(
        &mut self,
        state: &mut State,
        user: u32,
        change: ShareChange,
    ) -> Result<(), PlexTvError> {
        let Some(current) = state.user(user).cloned() else {
            return Err(PlexTvError::NoSuchAccount(user.to_string()));
        };
        if current.is_owner {
            return Err(PlexTvError::Owner);
        }
        let mut restrictions = current.restrictions.clone();
        if let Some(profile) = change.profile {
            if !current.home {
                return Err(PlexTvError::NotManaged);
            }
            match profile {
                Some(p) => {
                    let f = PlexFilter {
                        allow_ratings: p.ratings(),
                        ..PlexFilter::default()
                    };
                    restrictions.plex_movies = f.clone();
                    restrictions.plex_television = f;
                    self.profiles.insert(user, p);
                }
                None => {
                    self.profiles.remove(&user);
                }
            }
        }
        let custom = change.filter_movies.is_some() || change.filter_television.is_some();
        if let Some(f) = change.filter_movies {
            restrictions.plex_movies = f;
        }
        if let Some(f) = change.filter_television {
            restrictions.plex_television = f;
        }
        if let Some(f) = change.filter_music {
            restrictions.plex_music = f;
        }
        if custom && change.profile.is_none() {
            // Filters set by hand make the profile custom, as plex.tv shows it.
            self.profiles.remove(&user);
        }
        state.set_restrictions(user, restrictions);
        if let Some(sections) = change.sections {
            state.set_sections(user, sections);
        }
        let s = self.settings.entry(user).or_default();
        s.allow_sync = change.allow_sync.unwrap_or(s.allow_sync);
        s.allow_camera_upload = change.allow_camera_upload.unwrap_or(s.allow_camera_upload);
        s.allow_channels = change.allow_channels.unwrap_or(s.allow_channels);
        match change.active {
            Some(false) => {
                self.revoked.insert(user);
            }
            Some(true) => {
                self.revoked.remove(&user);
            }
            None => {}
        }
        Ok(())
    }

    /// Account `user`'s own settings.
    pub fn account_settings(&self, user: u32) -> AccountSettings {
        self.account_settings
            .get(&user)
            .copied()
            .unwrap_or_default()
    }

    /// Changes account `user`'s own settings.
    pub fn change_account_settings(
        &mut self,
        user: u32,
        change: impl FnOnce(&mut AccountSettings),
    ) {
        change(self.account_settings.entry(user).or_default());
    }

    /// Signs an account token out: neither plex.tv nor the server take it any more.
    pub fn sign_out(&mut self, token: &str) {
        self.signed_out.insert(token.to_string());
    }

    /// The Home PIN of the account `account` (a plex.tv account id), if it has one.
    pub fn pin(&self, account: u32) -> Option<&str> {
        self.pins.get(&account).map(String::as_str)
    }

    /// Sets (`Some`) or removes (`None`) the Home PIN of the account `account`.
    pub fn set_pin(&mut self, account: u32, pin: Option<String>) {
        match pin {
            Some(pin) => self.pins.insert(account, pin),
            None => self.pins.remove(&account),
        };
    }

    /// The managed Home users created during the run, oldest first.
    pub fn created_home_users(&self) -> &[CreatedHomeUser] {
        &self.created_home
    }

    /// Creates a managed Home user named `title`.
    pub fn create_home_user(&mut self, title: &str) -> CreatedHomeUser {
        self.created_count += 1;
        let id = CREATED_HOME_ID_BASE + self.created_count;
        let user = CreatedHomeUser {
            id,
            title: title.to_string(),
            uuid: format!("{:016x}", mix(self.seed ^ 0x484F_4D45 ^ u64::from(id))),
            sections: None,
        };
        self.created_home.push(user.clone());
        user
    }

    /// Shares the server's sections `sections` with the created Home user `id`; false if
    /// there is no such user.
    pub fn share_with_created(&mut self, id: u32, sections: Vec<u32>) -> bool {
        match self.created_home.iter_mut().find(|u| u.id == id) {
            Some(u) => {
                u.sections = Some(sections);
                true
            }
            None => false,
        }
    }

    /// Removes the created Home user `id` with its PIN; false if there is no such user.
    pub fn remove_created_home_user(&mut self, id: u32) -> bool {
        let before = self.created_home.len();
        self.created_home.retain(|u| u.id != id);
        self.pins.remove(&id);
        self.created_home.len() < before
    }

    /// Whether `user`, a friend, has a standing invitation into the owner's Plex Home.
    pub fn home_invited(&self, user: u32) -> bool {
        self.home_invited.contains(&user)
    }

    /// Invites a friend into the owner's Plex Home (true) or withdraws the invitation
    /// (false); their share of the server stays as it is either way.
    pub fn set_home_invited(&mut self, user: u32, invited: bool) {
        if invited {
            self.home_invited.insert(user);
        } else {
            self.home_invited.remove(&user);
        }
    }

    /// The owner's webhook URLs.
    pub fn webhooks(&self) -> &[String] {
        &self.webhooks
    }

    /// Replaces the owner's webhook URLs.
    pub fn set_webhooks(&mut self, urls: Vec<String>) {
        self.webhooks = urls;
    }

    /// True while plex.tv answers nothing but 503.
    pub fn is_down(&self) -> bool {
        self.down
    }

    /// Takes plex.tv down (or brings it back).
    pub fn set_down(&mut self, down: bool) {
        self.down = down;
    }

    pub(crate) fn count_request(&mut self, route: String) {
        *self.requests.entry(route).or_default() += 1;
    }

    /// Requests per route (`GET /api/users`) since the last reset.
    pub fn requests(&self) -> &BTreeMap<String, u64> {
        &self.requests
    }

    /// How many times the server asked plex.tv about an account token.
    pub fn validations(&self) -> u64 {
        self.validations
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_tokens_differ_from_server_tokens_except_the_owners() {
        let state = State::new(3);
        let tv = PlexTv::new(3);
        for u in state.users() {
            let t = tv.account_token(u);
            assert_eq!(t.len(), 20);
            assert_eq!(u.is_owner, t == u.plex_token, "{}", u.name);
            assert_eq!(tv.account_by_token(&state, &t).map(|a| a.id), Some(u.id));
        }
    }

    #[test]
    fn a_revoked_share_is_refused_and_restored() {
        let mut state = State::new(3);
        let mut tv = PlexTv::new(3);
        let alice = state.user_by_name("alice").unwrap().clone();
        let token = tv.account_token(&alice);
        assert!(tv.validate(&state, &token).is_some());
        let revoke = ShareChange {
            active: Some(false),
            ..ShareChange::default()
        };
        tv.change_share(&mut state, alice.id, revoke).unwrap();
        assert!(tv.validate(&state, &token).is_none());
        assert!(!tv.admits(&alice));
        let restore = ShareChange {
            active: Some(true),
            ..ShareChange::default()
        };
        tv.change_share(&mut state, alice.id, restore).unwrap();
        assert!(tv.validate(&state, &token).is_some());
        assert_eq!(tv.validations(), 3);
    }

    #[test]
    fn a_profile_sets_the_managed_users_rating_filters() {
        let mut state = State::new(3);
        let mut tv = PlexTv::new(3);
        let emma = state.user_by_name("emma").unwrap().id;
        let change = ShareChange {
            profile: Some(Some(RestrictionProfile::OlderKid)),
            ..ShareChange::default()
        };
        tv.change_share(&mut state, emma, change).unwrap();
        let r = &state.user(emma).unwrap().restrictions;
        assert_eq!(
            r.plex_movies.to_plex_string(),
            "contentRating=G,TV-Y,TV-G,PG,TV-Y7,TV-PG"
        );
        assert_eq!(r.plex_television, r.plex_movies);
        assert_eq!(tv.profile(emma), Some(RestrictionProfile::OlderKid));
        let alice = state.user_by_name("alice").unwrap().id;
        let change = ShareChange {
            profile: Some(Some(RestrictionProfile::Teen)),
            ..ShareChange::default()
        };
        assert_eq!(
            tv.change_share(&mut state, alice, change),
            Err(PlexTvError::NotManaged)
        );
        assert_eq!(
            tv.change_share(&mut state, 1, ShareChange::default()),
            Err(PlexTvError::Owner)
        );
    }
}
