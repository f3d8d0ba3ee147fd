//! The webhook secret: webhooks change what the cache serves, so they are authenticated by
//! default, with no configuration. At first start a random secret (128 bits, 32 hex digits) is
//! written to `{data_dir}/webhook_secret` (mode 0600) and kept from then on; the media server
//! sends it in the webhook URL (`…/webhooks/plex?secret=S`), or a sender that can set headers
//! in `X-Cachearr-Webhook-Secret`. `cachearr serve` prints the URLs at start and `cachearr
//! config` shows them, each with `SECRET` in place of the secret and the file it is in
//! ([`url_template`], [`where_it_is`]): a service's log and terminal output reach people and
//! tools a secret must not. The dashboard (behind the admin token) shows the whole URLs.
//! Delete the file to make a new one (then update the URLs). A
//! file that is not a secret (truncated, overwritten) is moved aside as
//! `webhook_secret.damaged[-N]` and a new secret made, with a warning, as a damaged store is:
//! the webhooks it authenticated are refused until their URLs are updated, but the gateway
//! starts.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// The file name in the data directory.
pub const FILE_NAME: &str = "webhook_secret";

/// The header a webhook sender may use instead of `?secret=`.
pub const HEADER: &str = "x-cachearr-webhook-secret";

/// The installation's webhook secret.
#[derive(Clone)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

fn invalid(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "{} is not a cachearr webhook secret (32 hex digits); delete it to make a new one",
            path.display()
        ),
    )
}

impl WebhookSecret {
    /// A given secret (tests, or a caller that keeps it elsewhere).
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// Reads `{dir}/webhook_secret` without creating it: `Ok(None)` before the first start.
    ///
    /// # Errors
    /// I/O errors other than a missing file, or a file that is not a secret.
    pub fn read(dir: &Path) -> std::io::Result<Option<Self>> {
        let path = path_in(dir);
        let mut text = String::new();
        match std::fs::File::open(&path) {
            Ok(mut f) => f.read_to_string(&mut text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let secret = text.trim();
        if secret.len() != 32 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(&path));
        }
        Ok(Some(Self(secret.to_owned())))
    }

    /// Reads `{dir}/webhook_secret`, creating it (mode 0600) with a random secret on first
    /// start.
    ///
    /// # Errors
    /// I/O errors, a file that is not a secret, or no randomness from the OS.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        match Self::read(dir) {
            Ok(Some(s)) => return Ok(s),
            Ok(None) => {}
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                let aside = move_aside(&path_in(dir))?;
                tracing::warn!(
                    damaged = %aside.display(),
                    "the webhook secret file was not a secret: moved aside and made a new one; \
                     update the webhook URLs (`cachearr config` shows them)"
                );
            }
            Err(e) => return Err(e),
        }
        std::fs::create_dir_all(dir)?;
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| std::io::Error::other(format!("no randomness: {e}")))?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        match opts.open(path_in(dir)) {
            Ok(mut f) => {
                f.write_all(format!("{secret}\n").as_bytes())?;
                f.sync_all()?;
                Ok(Self(secret))
            }
            // Another process created it meanwhile: theirs stands.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::read(dir)?.ok_or_else(|| invalid(&path_in(dir)))
            }
            Err(e) => Err(e),
        }
    }

    /// The secret, for webhook URLs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares a presented secret in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        crate::auth::token_matches(&self.0, presented)
    }
}

/// A webhook URL as start-up and `cachearr config` print it: `SECRET` where the secret goes,
/// never the secret itself.
pub fn url_template(admin: impl std::fmt::Display, profile: &str, upstream: &str) -> String {
    format!("http://{admin}/webhooks/{profile}/{upstream}?secret=SECRET")
}

/// Where the operator reads the secret that [`url_template`]'s `SECRET` stands for.
pub fn where_it_is(dir: &Path) -> String {
    format!(
        "SECRET is the 32 hex digits in {} (readable by the gateway's user only; the \
         dashboard's Webhooks panel shows the whole URLs)",
        path_in(dir).display()
    )
}

/// Renames a damaged secret file to `webhook_secret.damaged` (or `-2`, `-3` … beside older ones).
fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let mut to = path.with_file_name(format!("{FILE_NAME}.damaged"));
    let mut n = 2;
    while to.exists() {
        to = path.with_file_name(format!("{FILE_NAME}.damaged-{n}"));
        n += 1;
    }
    std::fs::rename(path, &to)?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_kept_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        assert!(WebhookSecret::read(dir.path()).unwrap().is_none());
        let first = WebhookSecret::load_or_create(dir.path()).unwrap();
        assert_eq!(first.as_str().len(), 32);
        let again = WebhookSecret::load_or_create(dir.path()).unwrap();
        assert_eq!(first.as_str(), again.as_str());
        assert!(first.matches(again.as_str()));
        assert!(!first.matches("0123456789abcdef0123456789abcdef"));
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn printed_urls_name_the_file_not_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let secret = WebhookSecret::load_or_create(dir.path()).unwrap();
        let url = url_template("127.0.0.1:8485", "plex", "plex");
        assert_eq!(
            url,
            "http://127.0.0.1:8485/webhooks/plex/plex?secret=SECRET"
        );
        let hint = where_it_is(dir.path());
        assert!(hint.contains(&dir.path().join(FILE_NAME).display().to_string()));
        assert!(!url.contains(secret.as_str()) && !hint.contains(secret.as_str()));
    }

    #[test]
    fn a_damaged_secret_is_moved_aside_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        for (n, garbage) in [&b"not hex\n"[..], b"", b"\xff\xfe\x00 binary"]
            .into_iter()
            .enumerate()
        {
            std::fs::write(&path, garbage).unwrap();
            // `read` alone says what is wrong; starting moves it aside and goes on.
            assert!(WebhookSecret::read(dir.path()).is_err());
            let made = WebhookSecret::load_or_create(dir.path()).unwrap();
            assert_eq!(made.as_str().len(), 32);
            assert_eq!(
                WebhookSecret::read(dir.path()).unwrap().unwrap().as_str(),
                made.as_str()
            );
            let aside = match n {
                0 => format!("{FILE_NAME}.damaged"),
                _ => format!("{FILE_NAME}.damaged-{}", n + 1),
            };
            assert_eq!(std::fs::read(dir.path().join(aside)).unwrap(), garbage);
        }
    }
}
