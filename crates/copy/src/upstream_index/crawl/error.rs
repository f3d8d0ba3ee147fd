//! [`CrawlError`]: why a step of the crawl failed, one variant per cause, so the crawl and the
//! keeper decide by the variant (changed items that answer 404 are skipped) and the message is
//! only shown (the index status, the log).

use std::path::PathBuf;

use cachearr_library::LibraryError;

use cachearr_upstream::client::{BadTarget, BoxError, UpstreamError};

/// Why a crawl step failed. Callers tell the cases apart by variant (Plex's 404 for changed
/// items none of which exists any more is not a failure); the messages, which operators read
/// in the index status and the log, never carry the token or a URL with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrawlError {
    /// The upstream has no owner token to read the library with.
    #[error(
        "upstream {upstream}: no owner token configured (`token` in its [[upstream]] table), \
         so the library cannot be read"
    )]
    NoToken {
        /// The upstream.
        upstream: String,
    },
    /// The configured owner token cannot be sent in a header.
    #[error("upstream {upstream}: the configured token is not a valid header value")]
    BadToken {
        /// The upstream.
        upstream: String,
    },
    /// A crawl path does not make a valid URI with the upstream's address.
    #[error("upstream {upstream}: a crawl path cannot be asked")]
    BadTarget {
        /// The upstream.
        upstream: String,
        /// What was wrong.
        source: BadTarget,
    },
    /// No answer came back: open breaker, saturated budget, time-out or broken connection.
    /// The [`UpstreamError`] says which ([`UpstreamError::kind`]) and whether trying again
    /// may help ([`UpstreamError::is_retryable`]).
    #[error(transparent)]
    Unreachable(#[from] UpstreamError),
    /// The server refused the owner token (401 or 403).
    #[error("upstream {upstream} refused the owner token ({status})")]
    TokenRefused {
        /// The upstream.
        upstream: String,
        /// The status it answered.
        status: u16,
    },
    /// The server answered another status that is not a success.
    #[error("upstream {upstream} answered {status} to {path}")]
    Status {
        /// The upstream.
        upstream: String,
        /// The status it answered.
        status: u16,
        /// The path asked for, without its query (which may carry the token).
        path: String,
    },
    /// The answer's body did not arrive within the read timeout.
    #[error("upstream {upstream}: body not read within the read timeout")]
    BodyTimeout {
        /// The upstream.
        upstream: String,
    },
    /// The answer's body broke off or was larger than a page can be.
    #[error("upstream {upstream}: reading the body failed")]
    Body {
        /// The upstream.
        upstream: String,
        /// What the body stream said.
        source: BoxError,
    },
    /// The page could not be parsed.
    #[error("upstream {upstream} sent something that is not JSON")]
    NotJson {
        /// The upstream.
        upstream: String,
        /// What the parser said.
        source: serde_json::Error,
    },
    /// A page of a listing came without the listing's total.
    #[error("upstream {upstream} gave no total for section {section}")]
    NoTotal {
        /// The upstream.
        upstream: String,
        /// The section (library) id.
        section: String,
    },
    /// The journal could not be written, opened or encoded.
    #[error("{action} {} failed", path.display())]
    Journal {
        /// What was being done ("creating", "writing", …).
        action: &'static str,
        /// The journal file.
        path: PathBuf,
        /// Why it failed.
        source: JournalError,
    },
    /// A record could not be added to the index.
    #[error("a record could not be indexed")]
    Index(#[source] LibraryError),
    /// A blocking step (reading the journal, building the index) did not finish: it panicked
    /// or was cancelled.
    #[error("{step} did not finish")]
    Interrupted {
        /// The step ("reading the journal", "building the index").
        step: &'static str,
        /// How it ended.
        source: tokio::task::JoinError,
    },
}

/// Why the journal could not be written: the file, or encoding a frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The file system refused.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A frame could not be encoded.
    #[error(transparent)]
    Encode(#[from] postcard::Error),
}

impl CrawlError {
    /// The status the server answered, when it answered one that is not a success.
    pub fn status(&self) -> Option<u16> {
        match self {
            CrawlError::TokenRefused { status, .. } | CrawlError::Status { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// Whether the same request, sent again later, may succeed: what
    /// [`UpstreamError::is_retryable`] says of a request that got no answer, and a 502, 503
    /// or 504.
    pub fn is_retryable(&self) -> bool {
        match self {
            CrawlError::Unreachable(e) => e.is_retryable(),
            CrawlError::Status { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Every message, with its causes as the index status shows them, names what went wrong
    /// (the status the server answered, or the cause) and the upstream it came from, so an
    /// operator reading the index status needs nothing else; no cause is said twice.
    #[tokio::test]
    async fn each_message_names_the_status_or_the_cause() {
        let up = || "plex".to_string();
        let cancelled = {
            let task = tokio::spawn(std::future::pending::<()>());
            task.abort();
            task.await.unwrap_err()
        };
        let cases: Vec<(CrawlError, &[&str])> = vec![
            (
                CrawlError::NoToken { upstream: up() },
                &["upstream plex", "no owner token configured"],
            ),
            (
                CrawlError::BadToken { upstream: up() },
                &["upstream plex", "token is not a valid header value"],
            ),
            (
                CrawlError::BadTarget {
                    upstream: up(),
                    source: BadTarget,
                },
                &["upstream plex", "not a valid URI"],
            ),
            (
                CrawlError::Unreachable(UpstreamError::Timeout(up())),
                &["upstream plex", "did not answer within the read timeout"],
            ),
            (
                CrawlError::Unreachable(UpstreamError::CircuitOpen {
                    upstream: up(),
                    retry_after: Duration::from_secs(3),
                }),
                &["upstream plex", "circuit open"],
            ),
            (
                CrawlError::TokenRefused {
                    upstream: up(),
                    status: 401,
                },
                &["upstream plex", "refused the owner token (401)"],
            ),
            (
                CrawlError::Status {
                    upstream: up(),
                    status: 404,
                    path: "/library/metadata/5".into(),
                },
                &["upstream plex", "answered 404 to /library/metadata/5"],
            ),
            (
                CrawlError::BodyTimeout { upstream: up() },
                &["upstream plex", "body not read within the read timeout"],
            ),
            (
                CrawlError::Body {
                    upstream: up(),
                    source: "connection reset".into(),
                },
                &["upstream plex", "reading the body failed: connection reset"],
            ),
            (
                CrawlError::NotJson {
                    upstream: up(),
                    source: serde_json::from_slice::<serde_json::Value>(b"<MediaContainer/>")
                        .unwrap_err(),
                },
                &["upstream plex", "not JSON", "expected value"],
            ),
            (
                CrawlError::NoTotal {
                    upstream: up(),
                    section: "3".into(),
                },
                &["upstream plex", "no total for section 3"],
            ),
            (
                CrawlError::Journal {
                    action: "writing",
                    path: PathBuf::from("/data/library/plex.crawl"),
                    source: std::io::Error::other("no space left on device").into(),
                },
                &["writing /data/library/plex.crawl failed: no space left on device"],
            ),
            (
                CrawlError::Index(LibraryError::TooLarge("more than 4 GiB of text")),
                &["a record could not be indexed: the index is too large: more than 4 GiB of text"],
            ),
            (
                CrawlError::Interrupted {
                    step: "building the index",
                    source: cancelled,
                },
                &["building the index did not finish: ", "cancelled"],
            ),
        ];
        for (error, words) in cases {
            let message = cachearr_engine::Chain(&error).to_string();
            let said: Vec<&str> = message.split(": ").collect();
            for (i, a) in said.iter().enumerate() {
                assert!(
                    said[i + 1..]
                        .iter()
                        .all(|b| !b.contains(a) && !a.contains(b)),
                    "{message:?} says {a:?} twice"
                );
            }
            for word in words {
                assert!(message.contains(word), "{message:?} lacks {word:?}");
            }
        }
    }

    #[test]
    fn the_status_and_whether_to_retry_come_from_the_variant() {
        let status = |status| CrawlError::Status {
            upstream: "plex".into(),
            status,
            path: "/library/sections".into(),
        };
        assert_eq!(status(404).status(), Some(404));
        assert!(!status(404).is_retryable());
        assert!(status(503).is_retryable());
        let refused = CrawlError::TokenRefused {
            upstream: "plex".into(),
            status: 403,
        };
        assert_eq!(refused.status(), Some(403));
        assert!(!refused.is_retryable());
        let timeout = CrawlError::from(UpstreamError::Timeout("plex".into()));
        assert_eq!(timeout.status(), None);
        assert!(timeout.is_retryable());
        let saturated = CrawlError::from(UpstreamError::Saturated("plex".into()));
        assert!(!saturated.is_retryable());
        assert!(matches!(
            saturated,
            CrawlError::Unreachable(ref e) if e.kind() == cachearr_engine::LoadErrorKind::Saturated
        ));
    }
}
