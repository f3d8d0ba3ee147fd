//! Where the gateway's files live in the data directory, beside the cache's own store: the
//! library copy's files (its snapshots, element stores and frames), the refused tokens'
//! marks and the release each server was last seen at, one file per upstream. The disk tier counts this directory against `disk_max`.

use std::path::{Path, PathBuf};

/// The directory of every upstream's index files: `{data_dir}/library`.
pub fn library_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("library")
}

/// File names of one upstream's index files: `{data_dir}/library/{safe name}.{ext}`.
pub fn file_path(data_dir: &Path, upstream: &str, ext: &str) -> PathBuf {
    let safe: String = upstream
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    library_dir(data_dir).join(format!("{safe}.{ext}"))
}
