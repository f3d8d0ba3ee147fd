//! Jellyfin-style identifiers for the simulator's objects.
//!
//! Jellyfin names everything by a GUID, written on the wire in .NET's "N" format: 32 lowercase
//! hex digits, no dashes. Library items and users already have such ids in the core
//! ([`crate::library::Item::guid_id`], [`crate::state::User::jellyfin_id`]); the objects only
//! the Jellyfin side names (library views, playlists, playlist entries, device sessions,
//! track artists that are not library items) get theirs here: [`JfId`] maps
//! `(namespace, integer)` to a GUID and back, reversibly and deterministically:
//! the high 64 bits are a keyed mix of the integer (so ids look as random as real ones and a
//! client cannot page through them by counting), the low 64 bits carry the integer masked by
//! the high half. Decoding checks both halves, so a made-up or mistyped id is simply unknown
//! (404), and an id of one namespace is never mistaken for another's.

use std::fmt::Write as _;

/// What a Jellyfin id names; each namespace mixes with its own salt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IdSpace {
    /// A track artist known only by name (Jellyfin makes a `MusicArtist` of every artist tag);
    /// the number is a hash of the folded name.
    ArtistName,
    /// A library view / collection folder (one per library section).
    View,
    /// A playlist.
    Playlist,
    /// One entry of a playlist (`PlaylistItemId`).
    PlaylistEntry,
    /// A device session.
    Session,
    /// A genre or studio, known by name (the number is a hash of the folded name).
    Name,
}

impl IdSpace {
    const ALL: [IdSpace; 6] = [
        IdSpace::ArtistName,
        IdSpace::View,
        IdSpace::Playlist,
        IdSpace::PlaylistEntry,
        IdSpace::Session,
        IdSpace::Name,
    ];

    fn salt(self) -> u64 {
        match self {
            IdSpace::ArtistName => 0x6a09_e667_f3bc_c908,
            IdSpace::View => 0x3c6e_f372_fe94_f82b,
            IdSpace::Playlist => 0xa54f_f53a_5f1d_36f1,
            IdSpace::PlaylistEntry => 0x510e_527f_ade6_82d1,
            IdSpace::Session => 0x9b05_688c_2b3e_6c1f,
            IdSpace::Name => 0x1f83_d9ab_fb41_bd6b,
        }
    }
}

/// A decoded Jellyfin id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct JfId {
    /// What it names.
    pub(crate) space: IdSpace,
    /// The simulator's own number for it.
    pub(crate) number: u64,
}

/// splitmix64's finaliser: a fast bijective mix.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl JfId {
    /// An id in `space` for the simulator's `number`.
    pub(crate) fn new(space: IdSpace, number: u64) -> Self {
        JfId { space, number }
    }

    /// The 32-hex-digit wire form.
    pub(crate) fn encode(self) -> String {
        let high = mix(self.number ^ self.space.salt());
        let low = self.number ^ mix(high);
        let mut out = String::with_capacity(32);
        // Writing to a String cannot fail.
        let _ = write!(out, "{high:016x}{low:016x}");
        out
    }

    /// Decodes a wire id. Accepts the "N" form and the dashed "D" form in any case, as .NET's
    /// `Guid.Parse` does; anything that is not an id this simulator minted is `None`.
    pub(crate) fn decode(text: &str) -> Option<Self> {
        let hex: String = text.trim().chars().filter(|c| *c != '-').collect();
        let hex = hex.trim_start_matches('{').trim_end_matches('}');
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let high = u64::from_str_radix(hex.get(..16)?, 16).ok()?;
        let low = u64::from_str_radix(hex.get(16..)?, 16).ok()?;
        let number = low ^ mix(high);
        IdSpace::ALL
            .into_iter()
            .find(|space| mix(number ^ space.salt()) == high)
            .map(|space| JfId { space, number })
    }

    /// Decodes a wire id and requires it to be in `space`.
    pub(crate) fn decode_in(text: &str, space: IdSpace) -> Option<u64> {
        Self::decode(text)
            .filter(|id| id.space == space)
            .map(|id| id.number)
    }

    /// Whether `text` is syntactically a GUID (so a wrong id is a 404, a malformed one a 400).
    pub(crate) fn is_guid_syntax(text: &str) -> bool {
        let hex: String = text.trim().chars().filter(|c| *c != '-').collect();
        let hex = hex.trim_start_matches('{').trim_end_matches('}');
        hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// Shorthand: the wire id of `number` in `space`.
pub(crate) fn jf_id(space: IdSpace, number: u64) -> String {
    JfId::new(space, number).encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_every_space() {
        for space in IdSpace::ALL {
            for number in [0, 1, 2, 41, 1_000_000, u64::from(u32::MAX), u64::MAX] {
                let text = jf_id(space, number);
                assert_eq!(text.len(), 32);
                assert!(
                    text.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                );
                assert_eq!(JfId::decode(&text), Some(JfId { space, number }));
            }
        }
    }

    #[test]
    fn dashed_and_uppercase_forms_decode() {
        let text = jf_id(IdSpace::View, 77);
        let dashed = format!(
            "{}-{}-{}-{}-{}",
            &text[..8],
            &text[8..12],
            &text[12..16],
            &text[16..20],
            &text[20..]
        )
        .to_uppercase();
        assert_eq!(JfId::decode_in(&dashed, IdSpace::View), Some(77));
    }

    #[test]
    fn foreign_or_tampered_ids_are_unknown() {
        let text = jf_id(IdSpace::View, 5);
        assert_eq!(JfId::decode_in(&text, IdSpace::Playlist), None);
        let mut tampered = text.into_bytes();
        tampered[31] = if tampered[31] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert_eq!(JfId::decode(&tampered), None);
        assert_eq!(JfId::decode("not-a-guid"), None);
        assert_eq!(JfId::decode("00000000000000000000000000000000"), None);
        assert!(JfId::is_guid_syntax("00000000000000000000000000000000"));
        assert!(!JfId::is_guid_syntax("xyz"));
    }

    #[test]
    fn consecutive_numbers_do_not_look_consecutive() {
        let a = jf_id(IdSpace::View, 1);
        let b = jf_id(IdSpace::View, 2);
        assert_ne!(a[..16], b[..16]);
    }
}
