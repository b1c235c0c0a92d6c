//! An on-disk cache of API responses with their ETags, so that a run where nothing changed
//! costs only `304 Not Modified` answers (which GitHub does not count against the rate limit).

use std::path::PathBuf;

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
        let text = std::fs::read_to_string(self.path(url, accept, authenticated)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Best effort: a cache that cannot be written only costs API calls later.
    pub(crate) fn put(&self, url: &str, accept: &str, authenticated: bool, entry: &Entry) {
        let Ok(text) = serde_json::to_string(entry) else {
            return;
        };
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let Ok(mut file) = tempfile::NamedTempFile::new_in(&self.dir) else {
            return;
        };
        if std::io::Write::write_all(&mut file, text.as_bytes()).is_ok() {
            let _ = file.persist(self.path(url, accept, authenticated));
        }
    }
}
