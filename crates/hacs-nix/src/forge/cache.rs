//! An on-disk cache of API responses with their ETags, so that a run where nothing changed
//! costs only `304 Not Modified` answers (which GitHub does not count against the rate limit).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::hash::Sha256Digest;

#[derive(Debug, Clone)]
pub struct EtagCache {
    dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub etag: String,
    pub body: String,
    /// The `Link` header, for paginated lists.
    #[serde(default)]
    pub link: Option<String>,
}

/// Entries unused this long are removed.
pub const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// The most the ETag cache keeps on disk.
pub const MAX_BYTES: u64 = 64 << 20;

/// What a pruning removed and kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub removed: usize,
    pub kept: usize,
    pub kept_bytes: u64,
}

/// Writes a cache file whole (a temporary file renamed over it), or not at all: a cache that
/// cannot be written only costs work later.
pub(crate) fn write_best_effort(path: &Path, bytes: &[u8]) {
    let Some(dir) = path.parent() else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(mut file) = tempfile::NamedTempFile::new_in(dir) else {
        return;
    };
    if std::io::Write::write_all(&mut file, bytes).is_ok() {
        let _ = file.persist(path);
    }
}

/// Prunes the regular files of `dir` (best effort: a file that cannot be read or removed is
/// left for the next run).
pub fn prune(dir: &Path, now: SystemTime, max_age: Duration, max_bytes: u64) -> Pruned {
    let mut entries: Vec<(SystemTime, u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let meta = e.metadata().ok().filter(std::fs::Metadata::is_file)?;
            Some((meta.modified().ok()?, meta.len(), e.path()))
        })
        .collect();
    // Newest first: the tail is what goes when the folder is too big.
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut pruned = Pruned::default();
    for (modified, len, path) in entries {
        let stale = now.duration_since(modified).is_ok_and(|age| age > max_age);
        if stale || pruned.kept_bytes + len > max_bytes {
            if std::fs::remove_file(&path).is_ok() {
                pruned.removed += 1;
            }
        } else {
            pruned.kept += 1;
            pruned.kept_bytes += len;
        }
    }
    pruned
}

impl EtagCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/hacs-nix/http`, or `~/.cache/hacs-nix/http`.
    pub fn default_location() -> Option<Self> {
        Some(Self::new(crate::cache_home()?.join("http")))
    }

    /// Entries are keyed by URL, Accept header and whether a token was sent (answers differ).
    fn path(&self, url: &str, accept: &str, authenticated: bool) -> PathBuf {
        let key = Sha256Digest::of(format!("{url}\n{accept}\n{authenticated}").as_bytes()).to_hex();
        self.dir.join(format!("{key}.json"))
    }

    pub(crate) fn get(&self, url: &str, accept: &str, authenticated: bool) -> Option<Entry> {
        let path = self.path(url, accept, authenticated);
        let text = std::fs::read_to_string(&path).ok()?;
        // Its modification time is its last use: what pruning keeps.
        if let Ok(file) = std::fs::File::options().write(true).open(&path) {
            let _ = file.set_modified(std::time::SystemTime::now());
        }
        serde_json::from_str(&text).ok()
    }

    /// Keeps the cache bounded: entries unused for [`MAX_AGE`] go, then the least recently used
    /// until the folder holds at most [`MAX_BYTES`]. `now` is a parameter for tests.
    pub fn prune(&self, now: SystemTime) -> Pruned {
        prune(&self.dir, now, MAX_AGE, MAX_BYTES)
    }

    /// Best effort: a cache that cannot be written only costs API calls later.
    pub(crate) fn put(&self, url: &str, accept: &str, authenticated: bool, entry: &Entry) {
        if let Ok(text) = serde_json::to_string(entry) {
            write_best_effort(&self.path(url, accept, authenticated), text.as_bytes());
        }
    }
}
