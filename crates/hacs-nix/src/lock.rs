//! `pkgs/components.lock.json`: the pinned state, written by the tool. Schema-versioned, keys
//! sorted, pretty-printed with a final newline, no timestamps: a rerun with nothing new
//! upstream rewrites no byte.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::{is_nix_identifier, is_path_attribute};
use crate::fetch::Fetcher;
use crate::manifest::valid_domain;

pub const LOCK_SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Lock {
    pub schema: u32,
    pub components: BTreeMap<String, LockEntry>,
    /// Python packages generated for requirements Home Assistant's set lacks, by attribute.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub python: BTreeMap<String, crate::pypi::Package>,
    /// Lovelace cards, by attribute.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cards: BTreeMap<String, crate::card::CardEntry>,
    /// Themes, by attribute.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub themes: BTreeMap<String, crate::theme_pin::ThemeEntry>,
}

/// How a pin was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verified {
    /// Downloaded and hashed by this tool.
    Downloaded,
    /// Taken from public NixOS configurations, not yet re-verified with network access.
    PublicConfigurations,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEntry {
    pub repo: String,
    /// The release tag (or 7-character commit) HACS records.
    pub version: String,
    /// `None` when not yet verified.
    pub commit: Option<String>,
    pub url: String,
    pub fetcher: Fetcher,
    pub strip_root: bool,
    /// fetchzip's hash (SRI).
    pub hash: String,
    pub domain: String,
    /// hacs.json's minimum Home Assistant version, re-checked when nixpkgs moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_assistant_min: Option<String>,
    /// Requirements of every manifest nixpkgs' check reads, by manifest path.
    pub requirements: BTreeMap<String, Vec<String>>,
    pub dependencies: Vec<String>,
    pub ignore_version_requirement: Vec<String>,
    pub patches: Patches,
    /// stdenv's default phases turned off because the source would make them fail.
    #[serde(default, skip_serializing_if = "Phases::is_default")]
    pub phases: Phases,
    pub meta: Meta,
    /// Warnings accepted with this pin (rule and message).
    pub findings: Vec<AcceptedFinding>,
    pub verified: Verified,
}

/// What the generated `postPatch` does.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Patches {
    /// Manifest path → version to write into it.
    pub stamp_version: BTreeMap<String, String>,
    /// Manifest path → requirements to remove from it.
    pub drop_requirements: BTreeMap<String, Vec<String>>,
    /// `custom_components/<folder>` renamed to the domain.
    pub rename_folder: Option<(String, String)>,
    /// Manifest path → requirement → the relaxed requirement written instead (several version
    /// conflicts, which `ignoreVersionRequirement` cannot carry).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub relax_requirements: BTreeMap<String, BTreeMap<String, String>>,
    /// Symlinks removed because they would dangle in `$out` (nixpkgs' `noBrokenSymlinks`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_symlinks: Vec<String>,
}

impl Patches {
    /// Every relaxation as (requirement, relaxed), sorted, whatever manifest it is in.
    pub fn relaxations(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self
            .relax_requirements
            .values()
            .flatten()
            .map(|(from, to)| (from.clone(), to.clone()))
            .collect();
        pairs.sort();
        pairs.dedup();
        pairs
    }

    pub fn is_empty(&self) -> bool {
        self.stamp_version.is_empty()
            && self.drop_requirements.values().all(Vec::is_empty)
            && self.rename_folder.is_none()
            && self.relax_requirements.values().all(BTreeMap::is_empty)
            && self.remove_symlinks.is_empty()
    }
}

/// stdenv's default phases the derivation turns off (`dontConfigure`, `dontBuild`), with the
/// file of the source root that would have run in each.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Phases {
    /// The `configure` that `configurePhase` would run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dont_configure: Option<String>,
    /// The Makefile `buildPhase` would run `make` for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dont_build: Option<String>,
}

impl Phases {
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Meta {
    pub description: Option<String>,
    pub homepage: Option<String>,
    /// SPDX identifier.
    pub license: Option<String>,
    pub changelog: Option<String>,
}

impl Meta {
    /// The derivation's `meta` from what GitHub says of the repository and the release.
    pub fn from_github(
        repo: &crate::forge::RepoId,
        info: &crate::forge::RepoInfo,
        chosen: &crate::forge::Chosen,
    ) -> Self {
        Self {
            description: info
                .description
                .as_deref()
                .and_then(crate::nixgen::description),
            homepage: info
                .homepage
                .clone()
                .filter(|h| h.starts_with("http"))
                .or_else(|| Some(format!("https://github.com/{repo}"))),
            license: info.license.clone(),
            changelog: chosen
                .release
                .as_ref()
                .map(|r| format!("https://github.com/{repo}/releases/tag/{}", r.tag_name)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedFinding {
    pub rule: String,
    pub message: String,
}

/// A folder rename the generator may write: one folder name (no separator, not `.` or `..`)
/// to a valid domain.
pub fn valid_rename(folder: &str, domain: &str) -> bool {
    valid_domain(domain)
        && !folder.is_empty()
        && folder != "."
        && folder != ".."
        && !folder.contains(['/', '\0'])
}

#[derive(Debug, Error)]
pub enum LockError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("components.lock.json cannot be written: {0}; nothing was changed")]
    Serialise(String),
}

impl Lock {
    /// Whether `attr` is pinned as an integration, a card or a theme.
    pub fn pins(&self, attr: &str) -> bool {
        self.components.contains_key(attr)
            || self.cards.contains_key(attr)
            || self.themes.contains_key(attr)
    }

    pub fn new() -> Self {
        Self {
            schema: LOCK_SCHEMA,
            components: BTreeMap::new(),
            python: BTreeMap::new(),
            cards: BTreeMap::new(),
            themes: BTreeMap::new(),
        }
    }

    /// Reads the lock; an absent file is an empty lock.
    pub fn load(path: &Path) -> Result<Self, LockError> {
        let invalid = |message: String| LockError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::new()),
            Err(e) => return Err(invalid(e.to_string())),
        };
        let lock: Self = serde_json::from_str(&text).map_err(|e| {
            invalid(format!(
                "{e}; it is written by `cargo xtask update-components`, not by hand"
            ))
        })?;
        if lock.schema != LOCK_SCHEMA {
            return Err(invalid(format!(
                "lock schema {} is not {LOCK_SCHEMA}; update hacs-nix",
                lock.schema
            )));
        }
        lock.validate().map_err(invalid)?;
        Ok(lock)
    }

    /// Names that become paths, folder names or Nix identifiers are checked before anything
    /// is built from them: a hand-edited lock cannot reach outside `pkgs/` or into Nix code.
    pub fn validate(&self) -> Result<(), String> {
        let help =
            "restore it from git, or delete the entry and run `cargo xtask update-components`";
        for (attr, entry) in &self.components {
            let at = |what: &str| format!("components.{attr}: {what}; {help}");
            if !is_path_attribute(attr) {
                return Err(format!(
                    "the key `{}` is not an attribute name ([A-Za-z_][A-Za-z0-9_-]*); {help}",
                    attr.escape_debug()
                ));
            }
            if !valid_domain(&entry.domain) {
                return Err(at(&format!(
                    "`domain` `{}` is not a valid Home Assistant domain",
                    entry.domain.escape_debug()
                )));
            }
            if let Some(bad) = entry.dependencies.iter().find(|d| !is_nix_identifier(d)) {
                return Err(at(&format!(
                    "the dependency `{}` is not an identifier",
                    bad.escape_debug()
                )));
            }
            if let Some((folder, domain)) = &entry.patches.rename_folder
                && !valid_rename(folder, domain)
            {
                return Err(at(&format!(
                    "`rename_folder` `{}` → `{}` is not one folder and a domain",
                    folder.escape_debug(),
                    domain.escape_debug()
                )));
            }
        }
        for (attr, package) in &self.python {
            let at = |what: &str| format!("python.{attr}: {what}; {help}");
            if !is_path_attribute(attr) || package.attr != *attr {
                return Err(format!(
                    "the key `python.{}` is not the attribute name of its package; {help}",
                    attr.escape_debug()
                ));
            }
            if let Some(bad) = package
                .dependencies
                .iter()
                .chain(&package.build_system)
                .find(|d| !is_nix_identifier(d))
            {
                return Err(at(&format!(
                    "`{}` is not an identifier",
                    bad.escape_debug()
                )));
            }
            if crate::hash::Sha256Digest::parse(&package.hash).is_err() {
                return Err(at(&format!(
                    "`hash` `{}` is not a SHA-256",
                    package.hash.escape_debug()
                )));
            }
        }
        for (attr, card) in &self.cards {
            let at = |what: &str| format!("cards.{attr}: {what}; {help}");
            if !is_path_attribute(attr) || self.components.contains_key(attr) {
                return Err(format!(
                    "the key `cards.{}` is not an attribute name of its own; {help}",
                    attr.escape_debug()
                ));
            }
            let names = card.file_names();
            if let Some(bad) = names
                .iter()
                .copied()
                .chain([card.entry.as_str()])
                .chain(card.rewrites.iter().map(|r| r.file.as_str()))
                .find(|n| !crate::card::valid_file_name(n))
            {
                return Err(at(&format!("`{}` is not a file name", bad.escape_debug())));
            }
            if !names.contains(&card.entry.as_str()) {
                return Err(at("the entry is not one of its files"));
            }
            if let crate::card::CardFiles::SourceArchive { folder, .. } = &card.files
                && !(folder.is_empty() || folder == "dist")
            {
                return Err(at(&format!(
                    "`{}` is not the root or `dist`",
                    folder.escape_debug()
                )));
            }
        }
        for (attr, theme) in &self.themes {
            if !is_path_attribute(attr)
                || self.components.contains_key(attr)
                || self.cards.contains_key(attr)
            {
                return Err(format!(
                    "the key `themes.{}` is not an attribute name of its own; {help}",
                    attr.escape_debug()
                ));
            }
            if let Some(bad) = theme
                .files
                .iter()
                .find(|f| !crate::theme_pin::valid_theme_path(f))
            {
                return Err(format!(
                    "themes.{attr}: `{}` is not a theme file's path; {help}",
                    bad.escape_debug()
                ));
            }
        }
        Ok(())
    }

    /// The lock's text. An error (never an empty text) when it cannot be serialised: an empty
    /// lock written would forget every pin.
    pub fn to_json(&self) -> Result<String, LockError> {
        let mut bytes = Vec::new();
        self.write_json(&mut bytes)?;
        String::from_utf8(bytes).map_err(|e| LockError::Serialise(e.to_string()))
    }

    fn write_json(&self, out: &mut impl std::io::Write) -> Result<(), LockError> {
        serde_json::to_writer_pretty(&mut *out, self)
            .map_err(|e| LockError::Serialise(e.to_string()))?;
        out.write_all(b"\n")
            .map_err(|e| LockError::Serialise(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A writer that takes a few bytes, then fails.
    struct Full(usize);

    impl std::io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("no space left"));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_lock_that_cannot_be_serialised_is_an_error_not_an_empty_text() {
        let lock = Lock::new();
        let err = lock.write_json(&mut Full(5)).unwrap_err();
        assert!(err.to_string().contains("no space left"), "{err}");
        let text = lock.to_json().unwrap();
        assert!(text.starts_with('{') && text.ends_with("}\n"), "{text}");
    }
}
