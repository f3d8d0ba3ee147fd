//! Who a token is, without the token: the installation [`Secret`] and the keyed hash of a
//! token by it, [`UserHash`]. The request path hashes a token once, when it identifies who
//! asks; cache keys, the user table and the Redis tier's record keys take the hash.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;

use siphasher::sip128::{Hasher128, SipHasher13};

/// The per-installation key of the token hash: 16 random bytes made at first start, stored in
/// `{data_dir}/secret` with owner-only permissions.
#[derive(Clone)]
pub struct Secret([u8; 16]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A secret from given bytes (tests).
    pub fn from_bytes(bytes: [u8; 16]) -> Secret {
        Secret(bytes)
    }

    /// Loads `{dir}/secret`, creating it (mode 0600) on first start.
    ///
    /// # Errors
    /// I/O errors, a malformed secret file, or no randomness from the OS.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Secret> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("secret");
        match std::fs::File::open(&path) {
            Ok(mut f) => {
                let mut text = String::new();
                f.read_to_string(&mut text)?;
                let bytes = decode_hex16(text.trim()).ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "{} is not a cachearr secret (32 hex digits)",
                            path.display()
                        ),
                    )
                })?;
                restrict_permissions(&path)?;
                Ok(Secret(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 16];
                getrandom::fill(&mut bytes)
                    .map_err(|e| std::io::Error::other(format!("no randomness: {e}")))?;
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(&path)?;
                let mut text = String::with_capacity(33);
                for b in bytes {
                    let _ = write!(text, "{b:02x}");
                }
                text.push('\n');
                f.write_all(text.as_bytes())?;
                f.sync_all()?;
                Ok(Secret(bytes))
            }
            Err(e) => Err(e),
        }
    }

    /// The secret's bytes, for keys derived from them: the Redis tier derives the key that
    /// authenticates its records from them (never this key itself). Never logged.
    pub fn expose(&self) -> &[u8; 16] {
        &self.0
    }

    /// The user hash of a token.
    pub fn user_of(&self, token: &str) -> UserHash {
        let mut h = SipHasher13::new_with_key(&self.0);
        std::hash::Hasher::write(&mut h, token.as_bytes());
        UserHash(h.finish128().as_u128())
    }

    /// The scope of the server user `user_id` of `upstream`: what the keys of answers scoped to
    /// the user hold once the server has said which user a token is, shared by all of that
    /// user's tokens. Keyed like [`Self::user_of`]; its input starts with a `0xff` byte, which
    /// no token (UTF-8 text) has, and names the upstream with its length, so a user's scope
    /// is never any token's hash nor another upstream's user's.
    pub fn scope_of_user(&self, upstream: &str, user_id: &str) -> UserHash {
        let mut h = SipHasher13::new_with_key(&self.0);
        std::hash::Hasher::write(&mut h, &[0xff]);
        std::hash::Hasher::write(&mut h, &(upstream.len() as u64).to_le_bytes());
        std::hash::Hasher::write(&mut h, upstream.as_bytes());
        std::hash::Hasher::write(&mut h, user_id.as_bytes());
        UserHash(h.finish128().as_u128())
    }
}

fn restrict_permissions(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

fn decode_hex16(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A keyed hash identifying a token ([`Secret::user_of`]) or a server user
/// ([`Secret::scope_of_user`]) without revealing either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserHash(pub u128);

impl UserHash {
    /// The 32 lower-case hex digits of the hash, without `core::fmt`: it is in every user-scoped
    /// key, so this runs on every hit (`u128`'s `LowerHex` showed in the hit path's profile).
    pub fn hex(&self) -> [u8; 32] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (i, byte) in self.0.to_be_bytes().iter().enumerate() {
            out[i * 2] = DIGITS[usize::from(byte >> 4)];
            out[i * 2 + 1] = DIGITS[usize::from(byte & 0x0f)];
        }
        out
    }
}

impl std::fmt::Display for UserHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex = self.hex();
        // Hex digits are ASCII.
        f.write_str(std::str::from_utf8(&hex).map_err(|_| std::fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A user's scope is neither a token's hash (whatever the token) nor the same user id's
    /// scope on another upstream, and it moves with the installation's secret.
    #[test]
    fn a_user_scope_is_apart_from_tokens_and_other_upstreams() {
        let secret = Secret::from_bytes([7; 16]);
        let scope = secret.scope_of_user("jf", "u1");
        assert_ne!(scope, secret.user_of("u1"));
        assert_ne!(scope, secret.user_of("jfu1"));
        assert_ne!(scope, secret.scope_of_user("jf2", "u1"));
        assert_ne!(scope, secret.scope_of_user("j", "fu1"));
        assert_ne!(scope, secret.scope_of_user("jf", "u2"));
        assert_ne!(scope, Secret::from_bytes([8; 16]).scope_of_user("jf", "u1"));
    }

    #[test]
    fn secret_is_created_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let a = Secret::load_or_create(dir.path()).unwrap();
        let b = Secret::load_or_create(dir.path()).unwrap();
        assert_eq!(a.user_of("t"), b.user_of("t"));
        assert_eq!(a.scope_of_user("jf", "u1"), b.scope_of_user("jf", "u1"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
