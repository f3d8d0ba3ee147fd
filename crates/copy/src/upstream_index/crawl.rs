//! The crawl of one upstream: the owner's token, requests on the **background budget**, the
//! sections, one stream of pages per (section, item type), and the journal that lets an
//! interrupted build resume.
//!
//! # Requests
//! Every request goes through [`Upstream::send_idempotent`] with [`Budget::Background`]: the
//! guard's background semaphore and rate limit bound it, and it waits while clients use more
//! than half of their budget, so a crawl never starves clients. Pages are read one at a time.
//!
//! # Journal (`{data_dir}/library/{upstream}.crawl`)
//! A header frame (profile, sections) and then one frame per page fetched (stream number, the
//! next start, the stream's total, the page's records); each frame is `length u32 LE, CRC-32
//! u32 LE, postcard payload`. A build started over an existing journal reads its frames (up to
//! the first damaged one: a crash mid-write costs that page only), continues every stream from
//! its cursor and appends. The journal is deleted once the index is saved.

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use cachearr_library::index::IndexBuilder;
use cachearr_library::{ItemKind, ItemRecord};
use http::HeaderValue;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod error;
pub use error::{CrawlError, JournalError};

use super::elements::ElementStore;
use cachearr_dialect::Profile;
use cachearr_dialect::ServerLibrary;
use cachearr_dialect::model::library::SectionInfo;
use cachearr_upstream::client::{Budget, Upstream};

/// Largest answer read from the server (a page of 10,000 items is a few MiB).
const MAX_BODY: usize = 256 * 1024 * 1024;
/// Ids asked for per request when fetching items named by change events.
const IDS_PER_REQUEST: usize = 100;

/// Reads one upstream as its owner, on the background budget.
pub struct Client {
    up: Arc<Upstream>,
    token: HeaderValue,
    requests: AtomicU64,
    /// The server's time (its `Date`, Unix seconds) when its first answer was read; 0 before.
    first_answered_at: AtomicI64,
    /// Where the items' listing elements are kept (Plex), when the store is open.
    elements: Option<Arc<ElementStore>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("upstream", &self.up.name)
            .finish_non_exhaustive()
    }
}

/// One paged listing: a section's items of one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    /// The section (library) id.
    pub section: String,
    /// The kind of item.
    pub kind: ItemKind,
    /// The server's type parameter (Plex type number, Jellyfin item type).
    pub type_param: String,
}

/// One page of a stream.
#[derive(Debug, Default)]
pub struct Page {
    /// Items the page held (of any kind).
    pub count: u64,
    /// The stream's total, as the server says.
    pub total: Option<u64>,
    /// The records of the kinds the index keeps.
    pub records: Vec<ItemRecord>,
}

/// The streams to read for these sections, in a stable order (the journal refers to them by
/// position).
pub fn streams(profile: Profile, sections: &[SectionInfo]) -> Vec<Stream> {
    let library = cachearr_dialect::of(profile).library();
    let mut out = Vec::new();
    for section in sections {
        for (kind, type_param) in library.index_kinds(&section.kind) {
            out.push(Stream {
                section: section.id.clone(),
                kind: *kind,
                type_param: (*type_param).to_string(),
            });
        }
    }
    out
}

impl Client {
    /// A client for `up` with its configured owner token.
    ///
    /// # Errors
    /// When no token is configured or it is not a valid header value.
    pub fn new(up: Arc<Upstream>) -> Result<Client, CrawlError> {
        let Some(token) = up.config.token.as_deref().filter(|t| !t.is_empty()) else {
            return Err(CrawlError::NoToken {
                upstream: up.name.to_string(),
            });
        };
        let token = HeaderValue::from_str(token).map_err(|_| CrawlError::BadToken {
            upstream: up.name.to_string(),
        })?;
        Ok(Client {
            up,
            token,
            requests: AtomicU64::new(0),
            first_answered_at: AtomicI64::new(0),
            elements: None,
        })
    }

    /// Keeps the listing element of every item read into `store`, when the server's
    /// elements are kept
    /// ([`LibraryFacts::keeps_elements`](cachearr_dialect::library::LibraryFacts::keeps_elements)).
    #[must_use]
    pub fn with_elements(mut self, store: Option<Arc<ElementStore>>) -> Client {
        self.elements = store.filter(|_| self.library().facts().keeps_elements);
        self
    }

    /// The upstream's profile.
    pub fn profile(&self) -> Profile {
        self.up.profile
    }

    /// How the server's library reads.
    fn library(&self) -> &'static dyn ServerLibrary {
        cachearr_dialect::of(self.up.profile).library()
    }

    /// Requests made so far (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// GETs `path_and_query` as JSON on the background budget.
    async fn get(&self, path_and_query: &str) -> Result<Value, CrawlError> {
        let body = self.get_bytes(path_and_query).await?;
        Self::json(&self.up.name, &body)
    }

    fn json(name: &str, body: &[u8]) -> Result<Value, CrawlError> {
        serde_json::from_slice(body).map_err(|source| CrawlError::NotJson {
            upstream: name.to_string(),
            source,
        })
    }

    /// GETs `path_and_query` (JSON asked for) on the background budget: the body.
    async fn get_bytes(&self, path_and_query: &str) -> Result<bytes::Bytes, CrawlError> {
        let upstream = || self.up.name.to_string();
        let uri = self
            .up
            .uri_for(path_and_query)
            .map_err(|source| CrawlError::BadTarget {
                upstream: upstream(),
                source,
            })?;
        let make = || {
            self.requests.fetch_add(1, Ordering::Relaxed);
            Ok(self
                .up
                .owner_request(&uri, Some(&self.token), "cachearr-index"))
        };
        let response = self.up.send_idempotent(&make, Budget::Background).await?;
        let status = response.status();
        if let Some(at) = (response.headers().get(http::header::DATE))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok())
        {
            let _ = (self.first_answered_at).compare_exchange(
                0,
                at,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        if status == http::StatusCode::UNAUTHORIZED || status == http::StatusCode::FORBIDDEN {
            return Err(CrawlError::TokenRefused {
                upstream: upstream(),
                status: status.as_u16(),
            });
        }
        if !status.is_success() {
            let path = path_and_query.split('?').next().unwrap_or("");
            return Err(CrawlError::Status {
                upstream: upstream(),
                status: status.as_u16(),
                path: path.to_string(),
            });
        }
        let read = http_body_util::Limited::new(response.into_body(), MAX_BODY).collect();
        let body = tokio::time::timeout(self.up.guard.config().read_timeout, read)
            .await
            .map_err(|_| CrawlError::BodyTimeout {
                upstream: upstream(),
            })?
            .map_err(|source| CrawlError::Body {
                upstream: upstream(),
                source,
            })?
            .to_bytes();
        Ok(body)
    }

    /// The server's time (its `Date` header, Unix seconds) when it answered this client's
    /// first request, if it said. What a build or pass started from this client read is
    /// everything the server had saved by then: the next pass asks for what it saved since
    /// (a Jellyfin item's answer does not say when it was last saved, so the stamps read
    /// cannot tell).
    pub fn first_answered_at(&self) -> Option<i64> {
        Some(self.first_answered_at.load(Ordering::Relaxed)).filter(|&at| at > 0)
    }

    /// The server's sections (libraries).
    ///
    /// # Errors
    /// [`CrawlError`] when the request fails.
    pub async fn sections(&self) -> Result<Vec<SectionInfo>, CrawlError> {
        let library = self.library();
        let body = self.get(library.facts().sections_path).await?;
        Ok(library.parse_sections(&body))
    }

    /// One page of `stream` from `start`; `since` asks only for items changed since then.
    ///
    /// # Errors
    /// [`CrawlError`] when the request fails.
    pub async fn page(
        &self,
        stream: &Stream,
        start: u64,
        size: u64,
        since: Option<i64>,
    ) -> Result<Page, CrawlError> {
        let library = self.library();
        let path = library.page_path(&stream.section, &stream.type_param, start, size, since);
        let bytes = self.get_bytes(&path).await?;
        if let Some(store) = &self.elements {
            store.put_answer(&bytes);
        }
        let body = Self::json(&self.up.name, &bytes)?;
        let (count, records) = library.parse_items(&body, Some(&stream.section));
        Ok(Page {
            count,
            total: library.listing_total(&body),
            records,
        })
    }

    /// How many items `stream` has now (one request for an empty page).
    ///
    /// # Errors
    /// [`CrawlError`] when the request fails or the server gives no total.
    pub async fn total(&self, stream: &Stream) -> Result<u64, CrawlError> {
        self.page(stream, 0, 0, None)
            .await?
            .total
            .ok_or_else(|| CrawlError::NoTotal {
                upstream: self.up.name.to_string(),
                section: stream.section.clone(),
            })
    }

    /// The total of the listing at `path` ([`ServerLibrary::listing_total`]); `None` when the
    /// answer gives none.
    ///
    /// # Errors
    /// [`CrawlError`] when the request fails.
    pub async fn count(&self, path: &str) -> Result<Option<u64>, CrawlError> {
        let body = self.get(path).await?;
        Ok(self.library().listing_total(&body))
    }

    /// The kinds a client's walk lists that each of `sections` (and the whole server) holds
    /// none of, counted as the owner ([`ServerLibrary::walked_types`]; a request each).
    /// Nothing for a server whose dialect names none.
    ///
    /// # Errors
    /// [`CrawlError`] when a request fails.
    pub async fn none_of(
        &self,
        sections: &[SectionInfo],
    ) -> Result<super::none_of::NoneOf, CrawlError> {
        let library = self.library();
        // Owned, made before the first request: nothing borrowed is held across one.
        let mut counts: Vec<(Option<String>, &'static str, String)> = Vec::new();
        let mut libraries: Vec<(Option<String>, Option<String>)> = Vec::new();
        for section in sections {
            libraries.push((Some(section.id.clone()), Some(section.kind.clone())));
        }
        libraries.push((None, None));
        for (id, kind) in libraries {
            for &item_type in library.walked_types(kind.as_deref()) {
                if let Some(path) = library.type_count_path(id.as_deref(), item_type) {
                    counts.push((id.clone(), item_type, path));
                }
            }
        }
        let mut none = super::none_of::NoneOf::default();
        for (id, item_type, path) in counts {
            if self.count(&path).await? == Some(0) {
                none.insert(id.as_deref(), item_type);
            }
        }
        Ok(none)
    }

    /// Keeps the elements of the parents of every section (the dialect's
    /// [`ServerLibrary::parent_types`]: Plex's shows and seasons, Jellyfin's series and
    /// seasons), reading each listing page by page: the copy's children listings repeat what
    /// these elements say, and a parent's count of its children changes with no word of its
    /// own. Nothing is indexed here. `fresh_streams`: the listings the index's own streams
    /// have just read (a build's) are not read again. Returns how many were kept.
    ///
    /// # Errors
    /// [`CrawlError`] when a request fails.
    pub async fn keep_parents(
        &self,
        sections: &[SectionInfo],
        page_size: u64,
        fresh_streams: bool,
    ) -> Result<u64, CrawlError> {
        let Some(store) = &self.elements else {
            return Ok(0);
        };
        let library = self.library();
        let mut kept = 0u64;
        for section in sections {
            for type_param in library.parent_types(&section.kind) {
                let streamed = library
                    .index_kinds(&section.kind)
                    .iter()
                    .any(|(_, t)| t == type_param);
                if fresh_streams && streamed {
                    continue;
                }
                let mut start = 0u64;
                loop {
                    let path = library.page_path(&section.id, type_param, start, page_size, None);
                    let bytes = self.get_bytes(&path).await?;
                    let n = store.put_answer(&bytes) as u64;
                    kept += n;
                    let body = Self::json(&self.up.name, &bytes)?;
                    let total = library.listing_total(&body).unwrap_or(0);
                    start += page_size;
                    if n == 0 || start >= total {
                        break;
                    }
                }
            }
        }
        Ok(kept)
    }

    /// The items with these ids, as records (for change events), by the requests the
    /// server's library gives ([`ServerLibrary::items_requests`]: Plex names each item's
    /// section; Jellyfin does not, so each crawled library is asked for the ids in turn).
    ///
    /// # Errors
    /// [`CrawlError`] when a request fails.
    pub async fn items(
        &self,
        ids: &[String],
        sections: &[SectionInfo],
    ) -> Result<Vec<ItemRecord>, CrawlError> {
        let library = self.library();
        let mut out = Vec::new();
        let kept_as_read = library.facts().items_answer_is_kept;
        for chunk in ids.chunks(IDS_PER_REQUEST) {
            if kept_as_read && let Some(store) = &self.elements {
                store.remove(chunk);
            }
            for request in library.items_requests(chunk, sections) {
                let bytes = match self.get_bytes(&request.path).await {
                    Ok(bytes) => bytes,
                    // None of the items exists any more.
                    Err(CrawlError::Status { status: 404, .. }) if request.gone_when_not_found => {
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let body = Self::json(&self.up.name, &bytes)?;
                let records = library.parse_items(&body, request.section.as_deref()).1;
                if kept_as_read {
                    // The answer is the form the crawl keeps (Jellyfin's documents).
                    if let Some(store) = &self.elements {
                        store.put_answer(&bytes);
                    }
                    out.extend(records);
                } else {
                    let parents = self.refresh_elements(chunk, &records).await?;
                    out.extend(records);
                    out.extend(parents);
                }
            }
        }
        Ok(out)
    }

    /// After change events: the metadata answer that named the items is not their listing
    /// form, so their kept elements are dropped and read again from their sections' listings
    /// (`id=` filter), one request per section and type. Their parents' elements are read
    /// again too (a season's count of episodes changes with them); the parents' records
    /// those listings give are returned, for an index that holds their kinds (Plex's shows
    /// and seasons) to be updated with them: an element newer than its record is not written.
    async fn refresh_elements(
        &self,
        ids: &[String],
        records: &[ItemRecord],
    ) -> Result<Vec<ItemRecord>, CrawlError> {
        let mut parent_records = Vec::new();
        let Some(store) = &self.elements else {
            return Ok(parent_records);
        };
        store.remove(ids);
        let mut groups: Vec<((&str, ItemKind), Vec<&str>)> = Vec::new();
        for r in records {
            let key = (r.section_id.as_str(), r.kind);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(&r.id),
                None => groups.push((key, vec![&r.id])),
            }
        }
        // A child's change may be its parent's (a season's episode count, a show's date):
        // the parents whose elements are kept are read again with it.
        let mut parents: Vec<(&str, &'static str, Vec<&str>)> = Vec::new();
        for r in records.iter().filter(|r| r.kind == ItemKind::Episode) {
            // An episode's show and season, in the order the dialect names their types.
            let types = self.library().parent_types("shows");
            for (type_param, id) in types
                .iter()
                .zip([r.grandparent_id.as_deref(), r.parent_id.as_deref()])
            {
                let Some(id) = id else { continue };
                match parents
                    .iter_mut()
                    .find(|(s, t, _)| *s == r.section_id && t == type_param)
                {
                    Some((_, _, ids)) if ids.contains(&id) => {}
                    Some((_, _, ids)) => ids.push(id),
                    None => parents.push((&r.section_id, type_param, vec![id])),
                }
            }
        }
        for (section, type_param, ids) in parents {
            if let Some(path) = self
                .library()
                .parents_by_ids_path(section, type_param, &ids)
                && let Ok(bytes) = self.get_bytes(&path).await
            {
                store.put_answer(&bytes);
                let indexed = |r: &ItemRecord| {
                    self.library()
                        .index_kinds("shows")
                        .iter()
                        .any(|(kind, _)| *kind == r.kind)
                };
                if let Ok(body) = Self::json(&self.up.name, &bytes) {
                    let (_, listed) = self.library().parse_items(&body, Some(section));
                    parent_records.extend(listed.into_iter().filter(indexed));
                }
            }
        }
        for ((section, kind), list) in groups {
            let Some(path) = self.library().listing_by_ids_path(section, kind, &list) else {
                continue;
            };
            match self.get_bytes(&path).await {
                Ok(bytes) => {
                    store.put_answer(&bytes);
                }
                // Their answers go to the server until the next listing read keeps them.
                Err(CrawlError::Status { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(parent_records)
    }
}

/// The journal's first frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalHeader {
    /// Bumped when the frames change shape.
    pub format: u32,
    /// `plex` or `jellyfin`: a journal of another profile is not resumed.
    pub profile: String,
    /// When the build started (ms since the epoch).
    pub started_at_ms: u64,
    /// The sections as listed when the build started (the streams derive from them).
    pub sections: Vec<SectionInfo>,
    /// Each stream's total as counted when the build started.
    pub totals: Vec<u64>,
}

/// 2: Plex show sections stream their shows and seasons too, so the streams a journal's
/// sections derive no longer line up with its totals and pages; a journal of format 1 starts
/// the build afresh.
pub(crate) const JOURNAL_FORMAT: u32 = 2;

/// One page in the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalPage {
    /// The stream's position in [`streams`].
    pub stream: u32,
    /// Where the stream continues.
    pub next_start: u64,
    /// The page's records.
    pub records: Vec<ItemRecord>,
}

/// An open journal being appended to.
#[derive(Debug)]
pub struct Journal {
    file: std::fs::File,
    path: PathBuf,
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn journal_error(action: &'static str, path: &Path, e: impl Into<JournalError>) -> CrawlError {
    CrawlError::Journal {
        action,
        path: path.to_path_buf(),
        source: e.into(),
    }
}

impl Journal {
    /// Starts a new journal (replacing any old one) with its header.
    ///
    /// # Errors
    /// [`CrawlError`] when the file cannot be written.
    pub fn create(path: &Path, header: &JournalHeader) -> Result<Journal, CrawlError> {
        let payload =
            postcard::to_stdvec(header).map_err(|e| journal_error("encoding", path, e))?;
        let mut file =
            std::fs::File::create(path).map_err(|e| journal_error("creating", path, e))?;
        file.write_all(&frame(&payload))
            .map_err(|e| journal_error("writing", path, e))?;
        Ok(Journal {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing journal for appending after `valid_len` bytes (the damaged tail, if
    /// any, is cut off).
    ///
    /// # Errors
    /// [`CrawlError`] when the file cannot be opened.
    pub fn append_to(path: &Path, valid_len: u64) -> Result<Journal, CrawlError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| journal_error("opening", path, e))?;
        file.set_len(valid_len)
            .map_err(|e| journal_error("truncating", path, e))?;
        let mut journal = Journal {
            file,
            path: path.to_path_buf(),
        };
        std::io::Seek::seek(&mut journal.file, std::io::SeekFrom::End(0))
            .map_err(|e| journal_error("seeking", path, e))?;
        Ok(journal)
    }

    /// Appends one page (written through to the OS before the next page is asked for).
    ///
    /// # Errors
    /// [`CrawlError`] when the file cannot be written.
    pub fn append(&mut self, page: &JournalPage) -> Result<(), CrawlError> {
        let payload =
            postcard::to_stdvec(page).map_err(|e| journal_error("encoding", &self.path, e))?;
        self.file
            .write_all(&frame(&payload))
            .map_err(|e| journal_error("writing", &self.path, e))
    }
}

/// What a journal on disk holds, read frame by frame into a builder.
#[derive(Debug)]
pub struct Resumed {
    /// The header.
    pub header: JournalHeader,
    /// Per stream: where it continues (0 when no page was fetched).
    pub cursors: Vec<u64>,
    /// Records read back.
    pub records: u64,
    /// The newest `updated_at` among them.
    pub high_water: i64,
    /// Bytes of whole, valid frames (appending continues there).
    pub valid_len: u64,
}

/// Reads a journal into `builder`; `None` when there is none, or it is unreadable, of another
/// format or of another profile (then the build starts over).
pub fn read_journal(path: &Path, profile: Profile, builder: &mut IndexBuilder) -> Option<Resumed> {
    let file = std::fs::File::open(path).ok()?;
    let mut reader = BufReader::new(file);
    let mut next_frame = |valid: &mut u64| -> Option<Vec<u8>> {
        let mut head = [0u8; 8];
        reader.read_exact(&mut head).ok()?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len > MAX_BODY * 4 {
            return None;
        }
        let mut payload = vec![0u8; len];
        reader.read_exact(&mut payload).ok()?;
        if crc32fast::hash(&payload) != crc {
            return None;
        }
        *valid += 8 + len as u64;
        Some(payload)
    };
    let mut valid_len = 0u64;
    let header: JournalHeader = postcard::from_bytes(&next_frame(&mut valid_len)?).ok()?;
    if header.format != JOURNAL_FORMAT || header.profile != profile.as_str() {
        return None;
    }
    let stream_count = streams(profile, &header.sections).len();
    // Streams derived otherwise than when the journal was written: its pages' positions
    // would name other streams.
    if header.totals.len() != stream_count {
        return None;
    }
    let mut resumed = Resumed {
        cursors: vec![0; stream_count],
        records: 0,
        high_water: 0,
        valid_len,
        header,
    };
    let mut valid = valid_len;
    while let Some(payload) = next_frame(&mut valid) {
        let Ok(page) = postcard::from_bytes::<JournalPage>(&payload) else {
            break;
        };
        let Some(cursor) = resumed.cursors.get_mut(page.stream as usize) else {
            break;
        };
        *cursor = page.next_start;
        for record in &page.records {
            if builder.push(record).is_err() {
                return None;
            }
            resumed.high_water = resumed.high_water.max(record.updated_at);
        }
        resumed.records += page.records.len() as u64;
        resumed.valid_len = valid;
    }
    Some(resumed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections() -> Vec<SectionInfo> {
        vec![
            SectionInfo {
                id: "1".into(),
                title: "Music".into(),
                kind: "music".into(),
                changed_at: None,
            },
            SectionInfo {
                id: "2".into(),
                title: "Photos".into(),
                kind: "other".into(),
                changed_at: None,
            },
            SectionInfo {
                id: "3".into(),
                title: "Films".into(),
                kind: "movies".into(),
                changed_at: None,
            },
        ]
    }

    #[test]
    fn streams_per_section_kind() {
        let plex = streams(Profile::Plex, &sections());
        assert_eq!(plex.len(), 4);
        assert_eq!(plex[2].type_param, "10");
        assert_eq!(plex[3].kind, ItemKind::Movie);
        let jf = streams(Profile::Jellyfin, &sections());
        assert_eq!(jf[2].type_param, "Audio");
    }

    #[test]
    fn journal_resumes_from_the_last_whole_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plex.crawl");
        let header = JournalHeader {
            format: JOURNAL_FORMAT,
            profile: "plex".into(),
            started_at_ms: 5,
            sections: sections(),
            totals: vec![1, 1, 4, 0],
        };
        let mut journal = Journal::create(&path, &header).unwrap();
        for (n, stream) in [(0u64, 2u32), (2, 2)] {
            let records = (n..n + 2)
                .map(|i| {
                    let mut r = ItemRecord::track(&i.to_string(), "1", "A", "T");
                    r.updated_at = i as i64 * 10;
                    r
                })
                .collect();
            journal
                .append(&JournalPage {
                    stream,
                    next_start: n + 2,
                    records,
                })
                .unwrap();
        }
        drop(journal);
        // A torn last frame: half of a third page.
        let whole = std::fs::metadata(&path).unwrap().len();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 9, 9]).unwrap();
        drop(f);

        let mut builder = IndexBuilder::new();
        let resumed = read_journal(&path, Profile::Plex, &mut builder).unwrap();
        assert_eq!(resumed.cursors, vec![0, 0, 4, 0]);
        assert_eq!((resumed.records, resumed.high_water), (4, 30));
        assert_eq!(resumed.valid_len, whole);
        assert_eq!(builder.len(), 4);
        // Appending continues after the last whole frame.
        let mut journal = Journal::append_to(&path, resumed.valid_len).unwrap();
        journal
            .append(&JournalPage {
                stream: 3,
                next_start: 0,
                records: Vec::new(),
            })
            .unwrap();
        drop(journal);
        let mut builder = IndexBuilder::new();
        assert_eq!(
            read_journal(&path, Profile::Plex, &mut builder)
                .unwrap()
                .records,
            4
        );
        // Another profile's journal is not resumed.
        assert!(read_journal(&path, Profile::Jellyfin, &mut IndexBuilder::new()).is_none());
        assert!(read_journal(&dir.path().join("none"), Profile::Plex, &mut builder).is_none());
    }

    /// A journal whose streams no longer line up with its sections (written before a kind
    /// was indexed: fewer totals than streams), or of an older format, starts the build
    /// afresh rather than reading its pages into other streams.
    #[test]
    fn a_journal_of_other_streams_is_not_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plex.crawl");
        let write = |format: u32, totals: Vec<u64>| {
            let header = JournalHeader {
                format,
                profile: "plex".into(),
                started_at_ms: 5,
                sections: sections(),
                totals,
            };
            drop(Journal::create(&path, &header).unwrap());
        };
        write(JOURNAL_FORMAT, vec![1, 1, 4, 0]);
        assert!(read_journal(&path, Profile::Plex, &mut IndexBuilder::new()).is_some());
        write(JOURNAL_FORMAT, vec![1, 1, 4]);
        assert!(read_journal(&path, Profile::Plex, &mut IndexBuilder::new()).is_none());
        write(JOURNAL_FORMAT - 1, vec![1, 1, 4, 0]);
        assert!(read_journal(&path, Profile::Plex, &mut IndexBuilder::new()).is_none());
    }

    /// A server on loopback that answers every request with `status` and an empty body, and
    /// counts the requests.
    async fn answering(status: u16) -> (Arc<Upstream>, Arc<AtomicU64>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicU64::new(0));
        let counted = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = socket.read(&mut buf).await {
                        seen.extend_from_slice(&buf[..n]);
                        // Bodiless GETs: each head ends a request.
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            counted.fetch_add(1, Ordering::Relaxed);
                            let head = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                            if socket.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        let url = format!("http://{addr}").parse().unwrap();
        let mut config = cachearr_config::UpstreamConfig::new(
            "plex",
            Profile::Plex,
            url,
            "127.0.0.1:0".parse().unwrap(),
        );
        config.token = Some("owner".into());
        let up = Upstream::new(config, Arc::new(cachearr_engine::SystemClock)).unwrap();
        (Arc::new(up), requests)
    }

    #[tokio::test]
    async fn changed_items_that_answer_404_are_skipped_by_the_variant() {
        // Plex answers 404 when none of the items asked for exists any more: nothing to add,
        // not a failed fetch.
        let (up, requests) = answering(404).await;
        let client = Client::new(up).unwrap();
        let ids = vec!["5".to_string(), "6".to_string()];
        let records = client.items(&ids, &[]).await.unwrap();
        assert!(records.is_empty());
        assert_eq!(requests.load(Ordering::Relaxed), 1);
        // The same request read straight: a `Status` error carrying the 404.
        match client
            .get(&cachearr_dialect::plex::crawl::items_path(&ids))
            .await
        {
            Err(CrawlError::Status {
                status: 404, path, ..
            }) => {
                assert_eq!(path, "/library/metadata/5,6", "the path without its query");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn other_statuses_fail_the_fetch_with_their_status() {
        let (up, _) = answering(500).await;
        let client = Client::new(up).unwrap();
        let e = client.items(&["5".to_string()], &[]).await.unwrap_err();
        assert!(matches!(e, CrawlError::Status { status: 500, .. }), "{e:?}");
        assert!(e.to_string().contains("answered 500"), "{e}");
        let (up, _) = answering(401).await;
        let e = Client::new(up)
            .unwrap()
            .items(&["5".to_string()], &[])
            .await
            .unwrap_err();
        assert!(
            matches!(e, CrawlError::TokenRefused { status: 401, .. }),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn a_client_needs_an_owner_token() {
        let (up, _) = answering(200).await;
        let mut config = up.config.clone();
        config.token = None;
        let up = Upstream::new(config, Arc::new(cachearr_engine::SystemClock)).unwrap();
        let e = Client::new(Arc::new(up)).unwrap_err();
        assert!(matches!(e, CrawlError::NoToken { .. }), "{e:?}");
    }
}
