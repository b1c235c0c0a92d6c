//! HACS's catalogue: the default lists of the `hacs/default` repository (one JSON array of
//! `owner/repo` per category, the `blacklist` and the `removed` list) and HACS's data service
//! (`<category>/data.json`, keyed by GitHub's repository id), and the store's search over them.
//!
//! The lists say what HACS offers; the data adds what the store shows (domain, name, last
//! version, stars). A listed repository the data service has not described yet is still an
//! entry, known by its name only.

mod load;
mod search;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use load::{DEFAULT_DATA, DEFAULT_LISTS, LoadMode, Sources, default_cache, load};
pub use search::{Resolution, fuzzy_contains};

use crate::forge::RepoId;

/// A category of HACS's default lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Integration,
    Plugin,
    Theme,
}

impl Category {
    /// The file name in `hacs/default` and the folder of the data service.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Integration => "integration",
            Self::Plugin => "plugin",
            Self::Theme => "theme",
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One repository HACS offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub full_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The integration's `name` (or the plugin's/theme's display name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_version: Option<String>,
    #[serde(default)]
    pub stars: u64,
    #[serde(default)]
    pub downloads: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
    /// False for a listed repository the data service has not described (yet).
    #[serde(default)]
    pub described: bool,
}

impl Entry {
    pub fn repo_id(&self) -> Option<RepoId> {
        RepoId::parse(&self.full_name)
    }

    /// The repository's name without its owner.
    pub fn repo_name(&self) -> &str {
        self.full_name
            .split_once('/')
            .map_or(self.full_name.as_str(), |(_, r)| r)
    }
}

/// Why HACS will not install a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    pub repository: String,
    /// `remove`, `archived`, `critical`, `replaced`, … as HACS's list says; `blacklist` for a
    /// name that is only on the blacklist.
    pub removal_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Removal {
    /// One line: what HACS says and where to read more.
    pub fn explain(&self) -> String {
        let reason = self
            .reason
            .as_deref()
            .map_or_else(String::new, |r| format!(": {r}"));
        let link = self
            .link
            .as_deref()
            .map_or_else(String::new, |l| format!(" ({l})"));
        format!(
            "HACS lists {} as {}{reason}{link}",
            self.repository, self.removal_type
        )
    }
}

/// A snapshot of one category of the catalogue.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Catalogue {
    /// In the list's order (case-insensitively sorted by HACS).
    pub entries: Vec<Entry>,
    /// Lower-cased `owner/repo` → why HACS refuses it.
    pub refused: BTreeMap<String, Removal>,
}

#[derive(Debug, Error)]
pub enum CatalogueError {
    #[error("{what}: not the JSON HACS publishes: {detail}")]
    Shape { what: String, detail: String },
    #[error(transparent)]
    Forge(#[from] crate::forge::ForgeError),
    #[error(
        "{url} is not cached: run once with the network (`cargo xtask search …` without --offline) to fetch HACS's catalogue"
    )]
    NotCached { url: String },
    #[error("{url}: not found")]
    Missing { url: String },
}

impl CatalogueError {
    pub fn rule_id(&self) -> &'static str {
        match self {
            Self::Shape { .. } => "catalogue-invalid",
            Self::Forge(e) => e.rule_id(),
            Self::NotCached { .. } => "catalogue-not-cached",
            Self::Missing { .. } => "catalogue-missing",
        }
    }
}

/// One value of the data service's `data.json`; fields it may lack are optional.
#[derive(Debug, Deserialize)]
struct Described {
    full_name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    manifest_name: Option<String>,
    #[serde(default)]
    manifest: Option<ManifestName>,
    #[serde(default)]
    last_version: Option<String>,
    #[serde(default)]
    stargazers_count: Option<u64>,
    #[serde(default)]
    downloads: Option<u64>,
    #[serde(default)]
    topics: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct ManifestName {
    #[serde(default)]
    name: Option<String>,
}

/// The raw documents of one category, as fetched.
#[derive(Debug, Clone, Default)]
pub struct Documents {
    /// `hacs/default`'s category file.
    pub list: String,
    /// The data service's `data.json` for the category (`None`: not available).
    pub data: Option<String>,
    pub blacklist: String,
    pub removed: String,
}

fn shape(what: &str, e: impl std::fmt::Display) -> CatalogueError {
    CatalogueError::Shape {
        what: what.to_owned(),
        detail: e.to_string(),
    }
}

impl Catalogue {
    /// Parses the documents of one category.
    pub fn parse(category: Category, docs: &Documents) -> Result<Self, CatalogueError> {
        let list: Vec<String> =
            serde_json::from_str(&docs.list).map_err(|e| shape(category.as_str(), e))?;
        let mut described: BTreeMap<String, Described> = BTreeMap::new();
        if let Some(data) = &docs.data {
            let what = format!("{category}/data.json");
            let object: BTreeMap<String, serde_json::Value> =
                serde_json::from_str(data).map_err(|e| shape(&what, e))?;
            for (id, value) in object {
                let d: Described = serde_json::from_value(value)
                    .map_err(|e| shape(&format!("{what}, key {id}"), e))?;
                described.insert(d.full_name.to_lowercase(), d);
            }
        }
        let blacklist: Vec<String> =
            serde_json::from_str(&docs.blacklist).map_err(|e| shape("blacklist", e))?;
        let removed: Vec<Removal> =
            serde_json::from_str(&docs.removed).map_err(|e| shape("removed", e))?;

        let mut refused = BTreeMap::new();
        for name in blacklist {
            refused.insert(
                name.to_lowercase(),
                Removal {
                    repository: name,
                    removal_type: "blacklist".to_owned(),
                    reason: None,
                    link: None,
                },
            );
        }
        // The removed list says why; it wins over the bare blacklist entry.
        for removal in removed {
            refused.insert(removal.repository.to_lowercase(), removal);
        }
        let entries = list
            .into_iter()
            .filter(|name| !refused.contains_key(&name.to_lowercase()))
            .map(
                |full_name| match described.remove(&full_name.to_lowercase()) {
                    Some(d) => Entry {
                        full_name,
                        domain: d.domain,
                        name: d.manifest_name.or(d.manifest.and_then(|m| m.name)),
                        description: d.description,
                        last_version: d.last_version,
                        stars: d.stargazers_count.unwrap_or(0),
                        downloads: d.downloads.unwrap_or(0),
                        topics: d.topics.unwrap_or_default(),
                        described: true,
                    },
                    None => Entry {
                        full_name,
                        domain: None,
                        name: None,
                        description: None,
                        last_version: None,
                        stars: 0,
                        downloads: 0,
                        topics: Vec::new(),
                        described: false,
                    },
                },
            )
            .collect();
        Ok(Self { entries, refused })
    }

    /// Why HACS refuses `owner/repo`, if it does.
    pub fn refusal(&self, repo: &RepoId) -> Option<&Removal> {
        self.refused.get(&repo.to_string().to_lowercase())
    }

    /// The entry of `owner/repo`, matched as GitHub matches names (case-insensitively).
    pub fn entry(&self, repo: &RepoId) -> Option<&Entry> {
        let wanted = repo.to_string().to_lowercase();
        self.entries
            .iter()
            .find(|e| e.full_name.to_lowercase() == wanted)
    }
}
