//! Jellyfin users' restrictions as the library copy models them
//! ([`crate::model::restriction`]): every user's `Policy` from `GET /Users` (the
//! administrator's key), and what a kept `BaseItemDto` says of the item's tags and rating.
//!
//! Read from the policy: `EnableAllFolders` / `EnabledFolders`, `BlockedTags`, `AllowedTags`,
//! `MaxParentalRating`, `BlockUnratedItems`. A policy with an access schedule, a disabled
//! user, or a field of the model that does not read as the server writes it is not
//! modelled (`Restriction::unmodelled`): the server answers that user.

use serde_json::Value;

use crate::model::restriction::{ItemFilter, Marks, Restriction};

/// Where every user's policy is read (with the administrator's key).
pub const USERS_PATH: &str = "/Users";

/// Each user's id and restriction in a `GET /Users` answer; `None` for an answer that is not
/// a list of users. A user without a `Policy` is left out (their restriction is unknown).
pub fn parse_restrictions(body: &[u8]) -> Option<Vec<(String, Restriction)>> {
    let users: Value = serde_json::from_slice(body).ok()?;
    Some(
        users
            .as_array()?
            .iter()
            .filter_map(|user| {
                let id = user.get("Id")?.as_str()?.to_owned();
                Some((id, restriction(user.get("Policy")?)?))
            })
            .collect(),
    )
}

/// One user's restriction from their `Policy` (`None`: not an object).
fn restriction(policy: &Value) -> Option<Restriction> {
    policy.as_object()?;
    let mut unmodelled = Vec::new();
    let mut strings = |name: &'static str| -> Vec<String> {
        match policy.get(name) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|v| match v.as_str() {
                    Some(s) => Some(s.to_owned()),
                    None => {
                        unmodelled.push(name.to_owned());
                        None
                    }
                })
                .collect(),
            Some(_) => {
                unmodelled.push(name.to_owned());
                Vec::new()
            }
        }
    };
    let blocked_tags = strings("BlockedTags");
    let allowed_tags = strings("AllowedTags");
    let block_unrated = strings("BlockUnratedItems");
    let enabled_folders = strings("EnabledFolders");
    let schedules = policy.get("AccessSchedules");
    if schedules.is_some_and(|s| !(s.is_null() || s.as_array().is_some_and(Vec::is_empty))) {
        unmodelled.push("AccessSchedules".to_owned());
    }
    if policy.get("IsDisabled").and_then(Value::as_bool) == Some(true) {
        unmodelled.push("IsDisabled".to_owned());
    }
    let max_parental_rating = match policy.get("MaxParentalRating") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                unmodelled.push("MaxParentalRating".to_owned());
                None
            }
        },
    };
    let all_folders = policy
        .get("EnableAllFolders")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    Some(Restriction {
        sections: (!all_folders).then_some(enabled_folders),
        all: ItemFilter {
            max_parental_rating,
            block_unrated,
            allowed_tags,
            blocked_tags,
            ..ItemFilter::default()
        },
        unmodelled,
        ..Restriction::default()
    })
}

/// What a kept `BaseItemDto` says of the item for a restriction: its `Tags` and its own
/// rating (`CustomRating`, else `OfficialRating`), and the kind `BlockUnratedItems` counts it
/// as (`BaseItem.GetBlockUnratedType`). `None`: not a document.
pub fn document_marks(doc: &[u8]) -> Option<(Marks, &'static str)> {
    let doc: Value = serde_json::from_slice(doc).ok()?;
    let doc = doc.as_object()?;
    let text = |name: &str| {
        doc.get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let tags = doc
        .get("Tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let unrated_kind = match doc.get("Type").and_then(Value::as_str).unwrap_or("") {
        "Movie" => "Movie",
        "Series" | "Season" | "Episode" => "Series",
        "Audio" | "MusicAlbum" | "MusicArtist" | "MusicVideo" => "Music",
        "Book" | "AudioBook" => "Book",
        "Trailer" => "Trailer",
        _ => "Other",
    };
    Some((
        Marks {
            tags,
            rating: text("CustomRating").or_else(|| text("OfficialRating")),
        },
        unrated_kind,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_answer_reads_into_restrictions() {
        let body = br#"[
          {"Id":"a1","Policy":{"IsAdministrator":true,"EnableAllFolders":true,"EnabledFolders":[],
            "BlockedTags":[],"AllowedTags":[],"BlockUnratedItems":[],"AccessSchedules":[]}},
          {"Id":"c3","Policy":{"EnableAllFolders":false,"EnabledFolders":["f1","f2"],
            "BlockedTags":["Explicit"],"MaxParentalRating":13,"BlockUnratedItems":["Movie"]}},
          {"Id":"s9","Policy":{"AccessSchedules":[{"DayOfWeek":"Sunday"}]}},
          {"Id":"n0"}
        ]"#;
        let users = parse_restrictions(body).unwrap();
        assert_eq!(users.len(), 3, "a user without a policy is left out");
        let (id, open) = &users[0];
        assert_eq!(id, "a1");
        assert!(open.filters_nothing() && open.is_modelled() && open.sections.is_none());
        let carol = &users[1].1;
        assert_eq!(
            carol.sections.as_deref(),
            Some(&["f1".into(), "f2".into()][..])
        );
        assert_eq!(carol.all.blocked_tags, ["Explicit"]);
        assert_eq!(carol.all.max_parental_rating, Some(13));
        assert_eq!(carol.all.block_unrated, ["Movie"]);
        assert!(
            !users[2].1.is_modelled(),
            "an access schedule is not modelled"
        );
        assert!(parse_restrictions(b"{}").is_none());
        assert!(parse_restrictions(b"garbage").is_none());
    }

    #[test]
    fn a_policy_field_of_another_shape_is_not_modelled() {
        let body = br#"[{"Id":"x","Policy":{"BlockedTags":"Explicit","MaxParentalRating":-1}}]"#;
        let users = parse_restrictions(body).unwrap();
        assert_eq!(users[0].1.unmodelled, ["BlockedTags", "MaxParentalRating"]);
    }

    #[test]
    fn a_document_gives_its_tags_and_own_rating() {
        let (marks, kind) = document_marks(
            br#"{"Type":"Episode","Tags":["Explicit"],"OfficialRating":"TV-14","CustomRating":""}"#,
        )
        .unwrap();
        assert_eq!(marks.tags, ["Explicit"]);
        assert_eq!(marks.rating.as_deref(), Some("TV-14"));
        assert_eq!(kind, "Series");
        let (marks, kind) =
            document_marks(br#"{"Type":"Movie","OfficialRating":"R","CustomRating":"PG"}"#)
                .unwrap();
        assert_eq!(marks.rating.as_deref(), Some("PG"), "a custom rating wins");
        assert_eq!(kind, "Movie");
        assert!(document_marks(b"[]").is_none());
    }
}
