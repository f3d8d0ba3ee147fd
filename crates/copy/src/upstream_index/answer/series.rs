//! Jellyfin's series walks answered from the copy: a series' episodes and seasons
//! (`/Shows/{id}/Episodes|Seasons`), written from the kept documents with the asking user's
//! `UserData` (the dialect's writing: `AnswerBody::Documents`), in headers proven on the
//! server's answers. How the request reads (what it asks, the user it names) and how a
//! season's document numbers it are the dialect's (`CopyAnswers::series_walk`,
//! `AnswerFacts::sibling_number`); which items, in which order and page, and the proof are
//! the copy's. The searches themselves (`/Items` with `SearchTerm`, `/Search/Hints`) are the
//! dialect's too (`jellyfin/answer.rs`).

use bytes::Bytes;
use cachearr_engine::CachedValue;
use cachearr_library::{ItemKind, Visibility};

use super::super::declined::{Declined, OrDeclined as _};
use super::frame::{Observed, Shape, Sources};
use super::{AnswerBody, Ctx, Turn};
use crate::upstream_index::user_state::own_user_id;
use cachearr_dialect::answers::{Documents, SeriesAsked};
use cachearr_gateway::fetch::CopyAnswer;
use cachearr_upstream::keys::UserHash;

impl Ctx<'_> {
    /// `/Shows/{id}/Episodes` (with `SeasonId`, paged by `StartIndex` / `Limit`) from the
    /// kept documents of the series' episodes, in season and episode order, or (`seasons`)
    /// `/Shows/{id}/Seasons` from its seasons' kept documents in season order, with the asking
    /// user's `UserData`, in the headers the server's answers of the same options were proven
    /// to have (the miss waits for them as its `turn` in the walk says). Given the server's
    /// answer to the same request (`server`), the answer written is compared with it instead
    /// (a proof; nothing answered). `Err`: the server answers, for that reason.
    pub(super) async fn show_walk(
        &self,
        series: &str,
        seasons: bool,
        params: &[(String, String)],
        server: Option<&CachedValue>,
        turn: Turn,
    ) -> Result<CopyAnswer, Declined> {
        let walk = (self.answers.series_walk(seasons, params, self.headers))
            .or_declined(Declined::UnmodelledParameter)?;
        // The token's own view only: another user named is the server's to answer.
        if let Some(named) = walk.named_user.as_deref() {
            let own =
                (own_user_id(self.up, self.user).await).or_declined(Declined::SectionsUnknown)?;
            if !self.answers.same_user(named, &own) {
                return Err(Declined::OtherUser);
            }
        }
        let asked = walk.asked.or_declined(Declined::UnmodelledParameter)?;
        let everything = Visibility::everything();
        let season = asked.season.as_deref();
        let mut episodes: Vec<_> = self
            .folded
            .grandchildren(series)
            .iter()
            .filter_map(|&no| self.index.item(no, &everything))
            .filter(|v| v.kind() == ItemKind::Episode)
            .filter(|v| season.is_none_or(|s| v.parent_id() == Some(s)))
            .collect();
        let library = (episodes.first())
            .or_declined(Declined::NotIndexed)?
            .section_id()
            .to_owned();
        if !self.held().contains(&library.as_str()) {
            return Err(self.not_held(&library));
        }
        if episodes.iter().any(|v| v.section_id() != library) {
            return Err(Declined::NotIndexed);
        }
        self.restrict_episodes(&library, series, &mut episodes)?;
        // The server's order: by season number, then episode number.
        episodes.sort_by(|a, b| {
            (a.parent_index(), a.index(), a.id()).cmp(&(b.parent_index(), b.index(), b.id()))
        });
        let ids: Vec<String> = if seasons {
            self.shown_seasons(&library, series)?
        } else {
            episodes.iter().map(|v| v.id().to_owned()).collect()
        };
        let (start, limit) = (asked.start, asked.limit);
        let total = ids.len();
        let items: Vec<(String, String)> = ids
            .into_iter()
            .skip(start.unwrap_or(0))
            .take(limit.unwrap_or(usize::MAX))
            .map(|id| (id, library.clone()))
            .collect();
        let shape = Shape {
            route: show_route(seasons),
            section: library,
            kind: ItemKind::Episode,
            order: "",
            json: true,
            guids: false,
            paged: start.is_some() || limit.is_some(),
            options: show_options(&asked, self.user.hash),
        };
        let proof_key = format!("{series}/{}", season.unwrap_or(""));
        let headers = self.show_walk_headers(&shape, server, turn).await?;
        let page = Documents {
            items,
            total,
            start: start.unwrap_or(0),
        };
        let body =
            AnswerBody::documents(page, params).or_declined(Declined::UnmodelledParameter)?;
        let written = (self.write_body(body, None).await).or_declined(Declined::UserStateUnread)?;
        let value = CachedValue {
            status: 200,
            headers,
            body: Bytes::from(written.text),
        };
        match server {
            None => Ok(CopyAnswer {
                value,
                ids: written.ids,
                tags: vec![shape.tag(&self.up.name)],
            }),
            Some(server) => {
                let mut theirs = server.headers.clone();
                theirs.sort();
                let same = value.body == server.body && value.headers == theirs;
                // (Episodes in the server's numbering: no rival order is checked or ruled out.)
                self.frames
                    .proof(&shape, (&proof_key, shape.rivals()), same, &self.up.name);
                // Learnt from, not answered: the server's answer stands.
                Err(Declined::FrameUnproven)
            }
        }
    }

    /// Only what the server shows the user of `series` (in `library`): its `episodes` the
    /// user's restriction lets through. `Err`: the series is hidden from the user (the server
    /// answers, as it does for any item it hides), or a verdict cannot be given.
    fn restrict_episodes(
        &self,
        library: &str,
        series: &str,
        episodes: &mut Vec<cachearr_library::index::ItemView<'_>>,
    ) -> Result<(), Declined> {
        let Some(restricted) = self.restricted else {
            return Ok(());
        };
        if !restricted.shows_id(library, series, &[]) {
            return Err(if restricted.unknown() {
                Declined::RestrictionUnknown
            } else {
                Declined::ItemHidden
            });
        }
        episodes.retain(|v| restricted.shows(v));
        if restricted.unknown() {
            return Err(Declined::RestrictionUnknown);
        }
        Ok(())
    }

    /// The seasons the crawl kept under `series` (in `library`), by number, that the user's
    /// restriction lets through ([`Self::season_ids`]).
    fn shown_seasons(&self, library: &str, series: &str) -> Result<Vec<String>, Declined> {
        let mut ids = self.season_ids(series).or_declined(Declined::NotKept)?;
        if let Some(restricted) = self.restricted {
            ids.retain(|id| restricted.shows_id(library, id, &[series]));
            if restricted.unknown() {
                return Err(Declined::RestrictionUnknown);
            }
        }
        Ok(ids)
    }

    /// The seasons the crawl kept under `series`, by number; one named but no longer kept
    /// makes the answer the server's (when it is written).
    fn season_ids(&self, series: &str) -> Option<Vec<String>> {
        let store = self.elements.as_ref()?;
        let number_of = self.answers.facts().sibling_number;
        let mut found: Vec<(i64, String)> = store
            .seasons_of(series)
            .into_iter()
            .map(|id| {
                let number = store
                    .read_document(&id, number_of)
                    .flatten()
                    .unwrap_or(i64::MAX);
                (number, id)
            })
            .collect();
        found.sort();
        Some(found.into_iter().map(|(_, id)| id).collect())
    }

    /// The headers a show walk of `shape` is answered in: the proven frame's (a miss whose
    /// `turn` is early answered only by a frame proven ahead, a later one waiting for a proof
    /// on its way: [`Turn::wait_for_proof`]), or, given the server's answer (`server`), the
    /// frame learnt from it. `Err`: the server answers (the frame is not proven, or the
    /// shape was refused).
    async fn show_walk_headers(
        &self,
        shape: &Shape,
        server: Option<&CachedValue>,
        turn: Turn,
    ) -> Result<Vec<(String, String)>, Declined> {
        Ok(match server {
            None => {
                turn.wait_for_proof(self.frames, shape).await?;
                match self.frames.proven(shape) {
                    Some(frame) => frame.headers().to_vec(),
                    None if self.frames.refused(shape) => return Err(Declined::FrameRefused),
                    None => return Err(Declined::FrameUnproven),
                }
            }
            Some(_) if self.frames.refused(shape) => return Err(Declined::FrameRefused),
            Some(v) => {
                let mut headers = v.headers.clone();
                headers.sort();
                let observed = Observed {
                    attrs: Vec::new(),
                    headers,
                };
                let frame = (self.frames)
                    .learn(shape, &observed, &Sources::default(), &self.up.name)
                    .or_declined(Declined::FrameRefused)?;
                frame.headers().to_vec()
            }
        })
    }
}

/// The route of a show walk's [`Shape`]: a series' seasons, or its episodes.
pub(super) fn show_route(seasons: bool) -> &'static str {
    if seasons {
        "Shows/Seasons"
    } else {
        "Shows/Episodes"
    }
}

/// The options of a show walk its frame is proven for: the options asked that change how
/// the items are written (the dialect's, sorted), and (when the fields asked are written per
/// user) the asking `user`.
pub(super) fn show_options(asked: &SeriesAsked, user: UserHash) -> String {
    // Fields the server may write otherwise for another user: proven on this user's own
    // answers.
    match (asked.per_user, asked.options.is_empty()) {
        (false, _) => asked.options.clone(),
        (true, true) => format!("user={:x}", user.0),
        (true, false) => format!("{}&user={:x}", asked.options, user.0),
    }
}
