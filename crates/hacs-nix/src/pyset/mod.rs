//! Home Assistant's Python set of one nixpkgs: Home Assistant's version, the Python version, and
//! every package's attribute, `pname` and `version`. Obtained by evaluating real nixpkgs with
//! `nix-instantiate` (through xshell), and kept as a snapshot (`pkgs/python-set.json`) keyed by
//! which nixpkgs it came from, so later runs and the offline lint need no evaluation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::requirement::{Semantics, normalize};

/// 2: each package carries its `pythonImportsCheck`. An older snapshot still loads; it is
/// evaluated again where it can be (offline it serves as it is).
pub const SNAPSHOT_SCHEMA: u32 = 2;
const EXPRESSION: &str = include_str!("python-set.nix");

#[derive(Debug, Error)]
pub enum PySetError {
    #[error("cannot run nix-instantiate: {0} (install Nix, e.g. `apt-get install nix-bin`)")]
    NixMissing(String),
    #[error("evaluating Home Assistant's Python set failed:\n{0}")]
    Evaluation(String),
    #[error("nix-instantiate printed something that is not the expected JSON: {0}")]
    Output(String),
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{path}: {message}")]
    FlakeLock { path: String, message: String },
    #[error(
        "`{0}` is not a nixpkgs this tool can evaluate: give a folder, `github:OWNER/REPO/REV`, or a tarball URL"
    )]
    Reference(String),
    #[error(
        "no Python-set snapshot at {0} and no flake.lock to evaluate one from; pass --nixpkgs <folder|github:OWNER/REPO/REV>"
    )]
    NoSet(String),
    #[error("the snapshot at {0} is of another nixpkgs, and evaluating is off (--offline)")]
    StaleOffline(String),
}

/// Where [`obtain`] got the set from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Obtained {
    /// The snapshot is of the nixpkgs asked for.
    Snapshot(PythonSet),
    /// No nixpkgs to compare with (no reference, no flake.lock): the snapshot as it is.
    Unchecked(PythonSet),
    /// Evaluated just now; the caller saves it as the new snapshot.
    Evaluated(PythonSet),
    /// Of a nixpkgs other than the one flake.lock locks (`--nixpkgs` elsewhere): kept in the
    /// user's cache, never written over the checkout's snapshot.
    AdHoc(PythonSet),
}

impl Obtained {
    pub fn set(&self) -> &PythonSet {
        match self {
            Self::Snapshot(set)
            | Self::Unchecked(set)
            | Self::Evaluated(set)
            | Self::AdHoc(set) => set,
        }
    }

    pub fn into_set(self) -> PythonSet {
        match self {
            Self::Snapshot(set)
            | Self::Unchecked(set)
            | Self::Evaluated(set)
            | Self::AdHoc(set) => set,
        }
    }
}

/// Which nixpkgs's Python set is asked for.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// The one the checkout's flake.lock locks (else the snapshot as it is).
    Checkout,
    /// A `--nixpkgs` argument.
    Reference(&'a str),
    /// The nixpkgs another flake.lock locks (`--flake-lock`, e.g. the user's homelab).
    FlakeLock(&'a Path),
}

/// Home Assistant's Python set of the nixpkgs `which` names. The checkout's snapshot serves the
/// nixpkgs its own `flake_lock` locks (evaluated when stale, unless `evaluate` is false); any
/// other nixpkgs comes from, or goes to, the user's cache and never replaces the snapshot. With
/// neither a reference nor a flake.lock, the snapshot as it is.
pub fn obtain(
    which: Which<'_>,
    flake_lock: &Path,
    snapshot: &Path,
    evaluate: bool,
) -> Result<Obtained, PySetError> {
    let saved = PythonSet::load(snapshot)?;
    let nixpkgs = match which {
        Which::Reference(reference) => Nixpkgs::parse(reference)?,
        Which::FlakeLock(lock) => Nixpkgs::from_flake_lock(lock)?,
        Which::Checkout if flake_lock.exists() => Nixpkgs::from_flake_lock(flake_lock)?,
        Which::Checkout => {
            return saved
                .map(Obtained::Unchecked)
                .ok_or_else(|| PySetError::NoSet(snapshot.display().to_string()));
        }
    };
    let key = nixpkgs.key()?;
    let locked = match which {
        Which::Checkout => true,
        _ if flake_lock.exists() => {
            let locked = Nixpkgs::from_flake_lock(flake_lock)?.key()?;
            same_nixpkgs(&locked, &key)
        }
        // Without a flake.lock the checkout's snapshot follows whatever --nixpkgs says.
        Which::Reference(_) => true,
        Which::FlakeLock(_) => false,
    };
    if !locked {
        return ad_hoc(&nixpkgs, &key, evaluate);
    }
    match saved {
        Some(set) if set.nixpkgs == key && (set.is_current() || !evaluate) => {
            Ok(Obtained::Snapshot(set))
        }
        _ if !evaluate => Err(PySetError::StaleOffline(snapshot.display().to_string())),
        _ => self::evaluate(&nixpkgs).map(Obtained::Evaluated),
    }
}

/// The same nixpkgs, whether or not both references carry its NAR hash.
fn same_nixpkgs(a: &NixpkgsKey, b: &NixpkgsKey) -> bool {
    a.source == b.source
        && a.rev == b.rev
        && (a.nar_hash == b.nar_hash || a.nar_hash.is_empty() || b.nar_hash.is_empty())
}

/// The set of a nixpkgs the checkout does not lock: from the cache
/// (`$XDG_CACHE_HOME/hacs-nix/python-sets/`), else evaluated and cached there (best effort).
fn ad_hoc(nixpkgs: &Nixpkgs, key: &NixpkgsKey, evaluate: bool) -> Result<Obtained, PySetError> {
    let path = crate::cache_home().map(|home| {
        let id = serde_json::to_string(key).unwrap_or_default();
        home.join("python-sets").join(format!(
            "{}.json",
            crate::hash::Sha256Digest::of(id.as_bytes()).to_hex()
        ))
    });
    if let Some(path) = &path
        && let Ok(Some(set)) = PythonSet::load(path)
        && set.nixpkgs == *key
        && (set.is_current() || !evaluate)
    {
        return Ok(Obtained::AdHoc(set));
    }
    if !evaluate {
        return Err(PySetError::StaleOffline(key.source.clone()));
    }
    let set = self::evaluate(nixpkgs)?;
    if let Some(dir) = path.as_deref().and_then(Path::parent) {
        let now = std::time::SystemTime::now();
        crate::forge::prune(dir, now, crate::forge::MAX_AGE, crate::forge::MAX_BYTES);
    }
    if let Some(path) = &path {
        crate::forge::write_best_effort(path, set.to_json().as_bytes());
    }
    Ok(Obtained::AdHoc(set))
}

/// Which nixpkgs to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nixpkgs {
    /// A folder holding nixpkgs (or a nixpkgs-shaped fixture).
    Path(PathBuf),
    /// A tarball, as flake.lock locks a GitHub input: URL and NAR hash.
    Tarball {
        url: String,
        sha256: Option<String>,
        rev: Option<String>,
    },
}

/// What a snapshot was made from; a different key makes it stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NixpkgsKey {
    /// The reference as given (folder, URL).
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// The NAR hash of the nixpkgs source (SRI).
    pub nar_hash: String,
}

impl Nixpkgs {
    /// A `--nixpkgs` argument: a folder, `github:OWNER/REPO/REV`, or an http(s) tarball URL.
    pub fn parse(reference: &str) -> Result<Self, PySetError> {
        if let Some(rest) = reference.strip_prefix("github:") {
            let parts: Vec<&str> = rest.split('/').collect();
            return match parts.as_slice() {
                [owner, repo, rev] if !owner.is_empty() && !repo.is_empty() && !rev.is_empty() => {
                    Ok(Self::Tarball {
                        url: format!("https://github.com/{owner}/{repo}/archive/{rev}.tar.gz"),
                        sha256: None,
                        rev: Some((*rev).to_owned()),
                    })
                }
                _ => Err(PySetError::Reference(reference.to_owned())),
            };
        }
        if reference.starts_with("https://") || reference.starts_with("http://") {
            return Ok(Self::Tarball {
                url: reference.to_owned(),
                sha256: None,
                rev: None,
            });
        }
        let path = Path::new(reference);
        if path.is_dir() {
            return path
                .canonicalize()
                .map(Self::Path)
                .map_err(|e| PySetError::File {
                    path: reference.to_owned(),
                    message: e.to_string(),
                });
        }
        Err(PySetError::Reference(reference.to_owned()))
    }

    /// The `nixpkgs` input locked in a `flake.lock` (the one the user's Home Assistant uses).
    pub fn from_flake_lock(path: &Path) -> Result<Self, PySetError> {
        let bad = |message: String| PySetError::FlakeLock {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let lock: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let root = lock["root"].as_str().unwrap_or("root");
        let input = &lock["nodes"][root]["inputs"]["nixpkgs"];
        let node_name = match input {
            serde_json::Value::String(name) => name.clone(),
            // `follows`: a path of input names from the root; its last node is the one.
            serde_json::Value::Array(path) => path
                .last()
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
            _ => return Err(bad("the flake has no `nixpkgs` input".to_owned())),
        };
        let locked = &lock["nodes"][node_name.as_str()]["locked"];
        let field = |name: &str| locked[name].as_str().map(str::to_owned);
        let nar_hash = field("narHash");
        match locked["type"].as_str() {
            Some("github") => {
                let (owner, repo, rev) = (field("owner"), field("repo"), field("rev"));
                let (Some(owner), Some(repo), Some(rev)) = (owner, repo, rev) else {
                    return Err(bad(format!(
                        "the `{node_name}` input lacks owner, repo or rev"
                    )));
                };
                Ok(Self::Tarball {
                    url: format!("https://github.com/{owner}/{repo}/archive/{rev}.tar.gz"),
                    sha256: nar_hash,
                    rev: Some(rev),
                })
            }
            Some("tarball") => match field("url") {
                Some(url) => Ok(Self::Tarball {
                    url,
                    sha256: nar_hash,
                    rev: field("rev"),
                }),
                None => Err(bad(format!("the `{node_name}` input has no url"))),
            },
            Some("path") => field("path")
                .map(|p| Self::Path(PathBuf::from(p)))
                .ok_or_else(|| bad("no path".to_owned())),
            other => Err(bad(format!(
                "the `{node_name}` input is of type {other:?}; only github, tarball and path are supported"
            ))),
        }
    }

    /// The key a snapshot of this nixpkgs carries. A folder is identified by its NAR hash, a
    /// tarball by its locked hash (or, unlocked, by its URL alone).
    pub fn key(&self) -> Result<NixpkgsKey, PySetError> {
        match self {
            Self::Path(path) => {
                let digest = crate::nar::hash_path(path).map_err(|e| PySetError::File {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                Ok(NixpkgsKey {
                    source: path.display().to_string(),
                    rev: None,
                    nar_hash: digest.to_sri(),
                })
            }
            Self::Tarball { url, sha256, rev } => Ok(NixpkgsKey {
                source: url.clone(),
                rev: rev.clone(),
                nar_hash: sha256.clone().unwrap_or_default(),
            }),
        }
    }
}

/// One package of the set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub pname: String,
    pub version: String,
    /// Its `pythonImportsCheck`, the modules nixpkgs' maintainers import to check it: what a
    /// generated package's undeclared import is matched to (`yaml` is pyyaml's). Snapshots
    /// from before it was read have none; names are still matched to pnames.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
}

/// The snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonSet {
    pub schema: u32,
    pub nixpkgs: NixpkgsKey,
    pub home_assistant: String,
    /// `3.14`
    pub python: String,
    /// `3.14.0`
    pub python_full: String,
    /// `python3Packages` (2026) or `python.pkgs` (older): where components take dependencies from.
    pub shape: String,
    /// pnames of what Home Assistant itself depends on.
    pub core: Vec<String>,
    /// attribute → package, sorted.
    pub packages: BTreeMap<String, Package>,
    /// Normalised pname → attributes, built on first use (lint resolves many components).
    #[serde(skip)]
    by_pname: IndexCache,
}

/// A derived cache: never part of a set's identity or equality.
#[derive(Debug, Clone, Default)]
struct IndexCache(std::sync::OnceLock<BTreeMap<String, Vec<String>>>);

impl PartialEq for IndexCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for IndexCache {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Evaluated {
    home_assistant: String,
    python: String,
    python_full: String,
    shape: String,
    core: Vec<String>,
    packages: BTreeMap<String, Package>,
}

/// Evaluates the set with real Nix.
pub fn evaluate(nixpkgs: &Nixpkgs) -> Result<PythonSet, PySetError> {
    let key = nixpkgs.key()?;
    let sh = xshell::Shell::new().map_err(|e| PySetError::NixMissing(e.to_string()))?;
    let base = xshell::cmd!(
        sh,
        "nix-instantiate --eval --strict --json --expr {EXPRESSION}"
    );
    let cmd = match nixpkgs {
        Nixpkgs::Path(path) => base.arg("--argstr").arg("path").arg(path),
        Nixpkgs::Tarball { url, sha256, .. } => {
            let cmd = base.arg("--argstr").arg("url").arg(url);
            match sha256 {
                Some(hash) => cmd.arg("--argstr").arg("sha256").arg(hash),
                None => cmd,
            }
        }
    };
    let output = cmd
        .ignore_status()
        .quiet()
        .output()
        .map_err(|e| PySetError::NixMissing(e.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Nix's traces are long; the last lines say what failed.
        let tail: Vec<&str> = stderr
            .lines()
            .rev()
            .take(12)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(PySetError::Evaluation(tail.join("\n")));
    }
    let evaluated: Evaluated =
        serde_json::from_slice(&output.stdout).map_err(|e| PySetError::Output(e.to_string()))?;
    let mut core: Vec<String> = evaluated.core.iter().map(|p| normalize(p)).collect();
    core.sort();
    core.dedup();
    Ok(PythonSet {
        schema: SNAPSHOT_SCHEMA,
        nixpkgs: key,
        home_assistant: evaluated.home_assistant,
        python: evaluated.python,
        python_full: evaluated.python_full,
        shape: evaluated.shape,
        core,
        packages: evaluated.packages,
        by_pname: IndexCache::default(),
    })
}

impl PythonSet {
    /// Reads a snapshot; `Ok(None)` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, PySetError> {
        let bad = |message: String| PySetError::File {
            path: path.display().to_string(),
            message,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(bad(e.to_string())),
        };
        let set: Self = serde_json::from_str(&text)
            .map_err(|e| bad(format!("not a Python-set snapshot: {e}")))?;
        if !(1..=SNAPSHOT_SCHEMA).contains(&set.schema) {
            return Err(bad(format!(
                "snapshot schema {} is not one this hacs-nix reads (1 to {SNAPSHOT_SCHEMA}): a newer hacs-nix wrote it; update hacs-nix, or delete the file to evaluate it again",
                set.schema
            )));
        }
        Ok(Some(set))
    }

    /// Whether it says all this hacs-nix reads of a set (an older schema lacks the
    /// packages' `pythonImportsCheck`).
    pub fn is_current(&self) -> bool {
        self.schema == SNAPSHOT_SCHEMA
    }

    /// The snapshot's bytes: pretty, sorted, newline-terminated (stable across runs).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// This set with more packages (the generated ones), as the components see them.
    pub fn with_packages<'p>(
        &self,
        extra: impl IntoIterator<Item = (&'p str, &'p str, &'p str)>,
    ) -> Self {
        let mut set = Self {
            by_pname: IndexCache::default(),
            ..self.clone()
        };
        for (attr, pname, version) in extra {
            set.packages.insert(
                attr.to_owned(),
                Package {
                    pname: pname.to_owned(),
                    version: version.to_owned(),
                    imports: Vec::new(),
                },
            );
        }
        set
    }

    /// How this set's `packaging` evaluates specifiers (it runs nixpkgs' manifest check).
    pub fn semantics(&self) -> Semantics {
        let version = self.packages.get("packaging").map(|p| p.version.as_str());
        Semantics::of_packaging(version)
    }

    pub fn index(&self) -> NameIndex<'_> {
        let by_pname = self.by_pname.0.get_or_init(|| {
            let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (attr, package) in &self.packages {
                map.entry(normalize(&package.pname))
                    .or_default()
                    .push(attr.clone());
            }
            map
        });
        NameIndex {
            set: self,
            by_pname,
        }
    }
}

/// Known PyPI names whose nixpkgs package has another name (facts from nixpkgs' own
/// component updater), keyed by the normalised PyPI name.
const OVERRIDES: &[(&str, &str)] = &[
    ("ha-av", "av"),
    ("slackclient", "slack-sdk"),
    ("ollama-hass", "ollama"),
    ("pysuezv2", "pysuez"),
    ("tensorflow-cpu", "tensorflow"),
];

/// Looks packages up by their PyPI name.
#[derive(Debug)]
pub struct NameIndex<'a> {
    set: &'a PythonSet,
    by_pname: &'a BTreeMap<String, Vec<String>>,
}

impl<'a> NameIndex<'a> {
    /// The attribute providing a PyPI name: the known exceptions first, then by `pname`
    /// (preferring the attribute named like the package when aliases share a pname), then by
    /// attribute name, then without a `python-` prefix.
    pub fn find(&self, name: &str) -> Option<(&'a str, &'a Package)> {
        let normalized = normalize(name);
        let lookup = |n: &str| -> Option<(&'a str, &'a Package)> {
            if let Some(attrs) = self.by_pname.get(n) {
                // Aliases share a pname: prefer the attribute spelled like the normalised name.
                let attr = attrs
                    .iter()
                    .find(|a| a.as_str() == n)
                    .or_else(|| attrs.iter().find(|a| normalize(a) == n))
                    .or_else(|| attrs.first())?;
                return self
                    .set
                    .packages
                    .get_key_value(attr.as_str())
                    .map(|(k, v)| (k.as_str(), v));
            }
            self.set
                .packages
                .get_key_value(n)
                .map(|(k, v)| (k.as_str(), v))
        };
        if let Some((_, attr)) = OVERRIDES.iter().find(|(pypi, _)| *pypi == normalized)
            && let Some(found) = self.set.packages.get_key_value(*attr)
        {
            return Some((found.0.as_str(), found.1));
        }
        lookup(&normalized).or_else(|| normalized.strip_prefix("python-").and_then(lookup))
    }

    /// The set's package a top-level import name belongs to: the one whose
    /// `pythonImportsCheck` names it (or a submodule of it), else the one whose name it is
    /// (`pytz`, `aiohttp`; `-` written `_`).
    pub fn providing(&self, module: &str) -> Option<(&'a str, &'a Package)> {
        self.set
            .packages
            .iter()
            .find(|(_, p)| {
                p.imports
                    .iter()
                    .any(|i| i.split('.').next() == Some(module))
            })
            .map(|(a, p)| (a.as_str(), p))
            // (`find` normalises as PEP 503 does: `ulid_transform` is `ulid-transform`.)
            .or_else(|| self.find(module))
    }
}

/// The top-level names a package of the set installs, as far as the set says:
/// its `pythonImportsCheck` (first components), and its name written as a module.
pub fn import_names_of(package: &Package) -> Vec<String> {
    let mut names: Vec<String> = package
        .imports
        .iter()
        .filter_map(|i| i.split('.').next())
        .map(str::to_owned)
        .collect();
    names.push(normalize(&package.pname).replace('-', "_"));
    names.sort();
    names.dedup();
    names
}
