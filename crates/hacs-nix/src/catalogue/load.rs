//! Fetching the catalogue's documents: HACS's default lists and its data service, each kept
//! with its ETag in the cache, so a rerun costs `304`s and `--offline` works from the cache.

use super::{Catalogue, CatalogueError, Category, Documents};
use crate::forge::{EtagCache, JsonSource, RetryPolicy};

/// Where the lists and the data come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// Holds `integration`, `plugin`, `theme`, `blacklist`, `removed` (raw files of
    /// `hacs/default`).
    pub lists: String,
    /// Holds `<category>/data.json`.
    pub data: String,
}

/// The raw files of `hacs/default`'s default branch.
pub const DEFAULT_LISTS: &str = "https://raw.githubusercontent.com/hacs/default/master";
/// HACS's data service.
pub const DEFAULT_DATA: &str = "https://data-v2.hacs.xyz";

impl Default for Sources {
    fn default() -> Self {
        Self {
            lists: DEFAULT_LISTS.to_owned(),
            data: DEFAULT_DATA.to_owned(),
        }
    }
}

impl Sources {
    /// `HACS_NIX_HACS_LISTS` and `HACS_NIX_HACS_DATA` override the defaults (mirrors, tests).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            lists: var("HACS_NIX_HACS_LISTS").unwrap_or_else(|| DEFAULT_LISTS.to_owned()),
            data: var("HACS_NIX_HACS_DATA").unwrap_or_else(|| DEFAULT_DATA.to_owned()),
        }
    }

    fn urls(&self, category: Category) -> [String; 4] {
        let lists = self.lists.trim_end_matches('/');
        [
            format!("{lists}/{category}"),
            format!("{}/{category}/data.json", self.data.trim_end_matches('/')),
            format!("{lists}/blacklist"),
            format!("{lists}/removed"),
        ]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// Ask each server (with the cached ETag: `304` costs nothing).
    Online,
    /// The cache only.
    Offline,
}

/// The catalogue of one category. `cache` is the folder for the documents (normally
/// `$XDG_CACHE_HOME/hacs-nix/catalogue`); returns the catalogue and the requests sent.
pub async fn load(
    sources: &Sources,
    category: Category,
    mode: LoadMode,
    cache: Option<EtagCache>,
) -> Result<(Catalogue, u64), CatalogueError> {
    let source = JsonSource::new(cache, RetryPolicy::default())?;
    let [list, data, blacklist, removed] = sources.urls(category);
    let get = |url: String| {
        let source = &source;
        async move {
            let text = match mode {
                LoadMode::Offline => source.cached(&url),
                LoadMode::Online => source.get(&url).await?,
            };
            Ok::<_, CatalogueError>((url, text))
        }
    };
    let (list, data, blacklist, removed) =
        futures_util::future::join4(get(list), get(data), get(blacklist), get(removed)).await;
    let required = |(url, text): (String, Option<String>)| match (text, mode) {
        (Some(text), _) => Ok(text),
        (None, LoadMode::Offline) => Err(CatalogueError::NotCached { url }),
        (None, LoadMode::Online) => Err(CatalogueError::Missing { url }),
    };
    let docs = Documents {
        list: required(list?)?,
        // The store's facts are welcome, not required: names alone still resolve and survey.
        data: data.ok().and_then(|(_, text)| text),
        blacklist: required(blacklist?)?,
        removed: required(removed?)?,
    };
    let catalogue = Catalogue::parse(category, &docs)?;
    Ok((catalogue, source.requests()))
}

/// `$XDG_CACHE_HOME/hacs-nix/catalogue`.
pub fn default_cache() -> Option<EtagCache> {
    Some(EtagCache::new(crate::cache_home()?.join("catalogue")))
}
