//! `pkgs/components.lock.json`: the pinned state, written by the tool. Schema-versioned, keys
//! sorted, pretty-printed with a final newline, no timestamps: a rerun with nothing new
//! upstream rewrites no byte.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use crate::card::{CardEntry, CardFiles, PinnedFile};
pub use crate::fetch::Fetcher;
pub use crate::meta::Meta;
use crate::names::{check_arguments, check_repo, is_path_attribute, valid_domain, valid_rename};
pub use crate::pypi::Package;
pub use crate::theme::ThemeEntry;

pub const LOCK_SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Lock {
    pub schema: u32,
    pub components: BTreeMap<String, LockEntry>,
    /// Python packages generated for requirements Home Assistant's set lacks, by attribute.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub python: BTreeMap<String, Package>,
    /// Lovelace cards, by attribute.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cards: BTreeMap<String, CardEntry>,
    /// Themes, by attribute.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub themes: BTreeMap<String, ThemeEntry>,
    /// Entries [`Lock::load`] found invalid and left out: never rendered, never written back.
    #[serde(skip)]
    pub refused: Vec<Invalid>,
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

impl LockEntry {
    /// What an integration's pin must be for its derivation to be written: the one rule the
    /// lock's loading, the plan and the Nix writer share.
    pub fn check(&self) -> Result<(), String> {
        check_repo(&self.repo)?;
        if !valid_domain(&self.domain) {
            return Err(format!(
                "`domain` `{}` is not a valid Home Assistant domain",
                self.domain.escape_debug()
            ));
        }
        check_arguments(&self.dependencies).map_err(|e| format!("dependencies: {e}"))?;
        if let Some((folder, domain)) = &self.patches.rename_folder
            && !valid_rename(folder, domain)
        {
            return Err(format!(
                "`rename_folder` `{}` → `{}` is not one folder and a domain",
                folder.escape_debug(),
                domain.escape_debug()
            ));
        }
        // nixpkgs' hook passes the list unquoted: one name is all it can carry (several are
        // relaxed in the manifest instead), and structured attributes would hide `domain`.
        if self.ignore_version_requirement.len() > 1 {
            return Err(format!(
                "several names for `ignoreVersionRequirement` ({}): nixpkgs' hook can pass only one; the next online run relaxes them in the manifest instead",
                self.ignore_version_requirement.join(", ")
            ));
        }
        Ok(())
    }
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedFinding {
    pub rule: String,
    pub message: String,
}

/// An entry that cannot be written as Nix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// `components`, `python`, `cards` or `themes`: the lock's table.
    pub kind: &'static str,
    pub attr: String,
    pub why: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}: {}",
            self.kind,
            self.attr.escape_debug(),
            self.why
        )
    }
}

/// An attribute becomes `pkgs/<attr>/` (`pkgs/python/<attr>/`): a plain name, and one pin's
/// alone among components, cards and themes.
fn attribute_of_its_own(
    kind: &'static str,
    attr: &str,
    owner: &mut BTreeMap<String, &'static str>,
) -> Result<(), String> {
    if !is_path_attribute(attr) {
        return Err("the key is not an attribute name ([A-Za-z_][A-Za-z0-9_-]*)".to_owned());
    }
    if kind == "python" {
        return Ok(());
    }
    match owner.insert(attr.to_owned(), kind) {
        Some(other) => Err(format!("the attribute is also one of the lock's {other}")),
        None => Ok(()),
    }
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
            refused: Vec::new(),
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
        // One entry that cannot be written as Nix does not stop the others: it is left out
        // and named, and the run that loads it says so for that attribute.
        let mut lock = lock;
        lock.refused = lock.invalid_entries();
        for refused in lock.refused.clone() {
            lock.remove(refused.kind, &refused.attr);
        }
        Ok(lock)
    }

    /// Every entry that cannot be written as Nix, as (`kind.attr`, attribute, why): the one
    /// validation, shared by loading (a hand-edited lock cannot reach outside `pkgs/` or into
    /// Nix code), the plan (an entry that cannot be rendered is a failure, never a file left
    /// out) and the Nix writer.
    pub fn invalid_entries(&self) -> Vec<Invalid> {
        let mut out = Vec::new();
        let mut owner: BTreeMap<String, &'static str> = BTreeMap::new();
        let mut note = |kind: &'static str, attr: &String, result: Result<(), String>| {
            let result = result.and_then(|()| attribute_of_its_own(kind, attr, &mut owner));
            if let Err(why) = result {
                out.push(Invalid {
                    kind,
                    attr: attr.clone(),
                    why,
                });
            }
        };
        for (attr, entry) in &self.components {
            note("components", attr, entry.check());
        }
        for (attr, package) in &self.python {
            let same = if package.attr == *attr {
                package.check()
            } else {
                Err(format!(
                    "the package's attribute is `{}`",
                    package.attr.escape_debug()
                ))
            };
            note("python", attr, same);
        }
        let mut folders: BTreeMap<String, &String> = BTreeMap::new();
        for (attr, card) in &self.cards {
            let folder = card.folder();
            let result = card.check().and_then(|()| match folders.get(&folder) {
                Some(other) => Err(format!(
                    "the card installs its files in `{folder}/`, as the card `{other}` does: NixOS serves every card from one folder, so the two would collide; keep one of them"
                )),
                None => {
                    folders.insert(folder.clone(), attr);
                    Ok(())
                }
            });
            note("cards", attr, result);
        }
        for (attr, theme) in &self.themes {
            note("themes", attr, theme.check());
        }
        out
    }

    /// Drops an entry of any kind (an invalid one: see [`Self::invalid_entries`]).
    pub fn remove(&mut self, kind: &str, attr: &str) {
        match kind {
            "components" => drop(self.components.remove(attr)),
            "python" => drop(self.python.remove(attr)),
            "cards" => drop(self.cards.remove(attr)),
            "themes" => drop(self.themes.remove(attr)),
            // `Invalid::kind` names one of the four tables; nothing else is an entry.
            _ => {}
        }
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
