//! The Python package index, as the user's `pip` is configured to reach it: which index, the
//! files of a project (PEP 691 JSON), and which release and file to package for a missing
//! requirement. The first room of the "package missing requirements" work: it chooses; reading
//! the chosen file's own metadata and writing Nix come next.
//!
//! Facts: the simple API answers `<index>/<normalised name>/` with
//! `Accept: application/vnd.pypi.simple.v1+json` as `{ "files": [ { "filename", "url",
//! "hashes": { "sha256" }, "requires-python", "yanked" } ] }`; `yanked` is `false` or `true` or a
//! reason. pip skips yanked files unless pinned with `==`, files whose `Requires-Python` excludes
//! the interpreter, and pre-releases unless the specifier names one (or nothing else matches).

mod compiles;
pub mod import_check;
mod imports;
pub mod metadata;
pub mod resolve;
pub mod stdlib;

use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use serde::Deserialize;
use thiserror::Error;

use crate::pyset::PythonSet;
use crate::requirement::{self, Containment, Requirement, Semantics};

/// Points the tool (and its tests) at an index of their own.
pub const INDEX_VARIABLE: &str = "HACS_NIX_PYTHON_INDEX";

#[derive(Debug, Error)]
pub enum PypiError {
    #[error(
        "no Python package index configured: set PIP_INDEX_URL or pip's `global.index-url`, or {INDEX_VARIABLE} ({0})"
    )]
    NoIndex(String),
    #[error("{url}: {detail}")]
    Http { url: String, detail: String },
    #[error("{url}: not an index answer: {detail}")]
    BadAnswer { url: String, detail: String },
}

/// The index's base URL, found as pip finds it: our variable, `PIP_INDEX_URL`, pip's
/// configuration, then pip's own default (asked of pip, so no host is written here).
pub fn index_url(python: &str) -> Result<String, PypiError> {
    index_url_with(&|name| std::env::var(name).ok(), python)
}

/// [`index_url`] with the environment given (tests).
pub fn index_url_with(
    environment: &dyn Fn(&str) -> Option<String>,
    python: &str,
) -> Result<String, PypiError> {
    let env = |name: &str| environment(name).filter(|v| !v.trim().is_empty());
    if let Some(url) = env(INDEX_VARIABLE).or_else(|| env("PIP_INDEX_URL")) {
        return Ok(url.trim().trim_end_matches('/').to_owned());
    }
    let ask = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new(python)
            .args(args)
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        let text = text
            .trim()
            .trim_matches('\'')
            .trim_end_matches('/')
            .to_owned();
        (out.status.success() && text.starts_with("http")).then_some(text)
    };
    ask(&["-m", "pip", "config", "get", "global.index-url"])
        .or_else(|| {
            ask(&[
                "-c",
                "from pip._internal.models.index import PyPI; print(PyPI.simple_url)",
            ])
        })
        .ok_or_else(|| PypiError::NoIndex(format!("asked {python} -m pip")))
}

/// One distribution file of a project.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct File {
    pub filename: String,
    pub url: String,
    #[serde(default)]
    pub hashes: std::collections::BTreeMap<String, String>,
    #[serde(default, rename = "requires-python")]
    pub requires_python: Option<String>,
    #[serde(default)]
    pub yanked: Yanked,
}

/// `false`, `true` or the reason.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(untagged)]
pub enum Yanked {
    #[default]
    No,
    Flag(bool),
    Reason(String),
}

impl Yanked {
    pub fn is_yanked(&self) -> bool {
        !matches!(self, Self::No | Self::Flag(false))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub files: Vec<File>,
}

/// What a file is, read from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Sdist,
    /// A wheel for any Python 3 and any platform: no compiled code.
    PureWheel,
    /// Any other wheel: not something to package from its binary.
    OtherWheel,
}

/// A file's version and kind from its name; `None` for names of another project or format.
pub fn parse_filename(filename: &str, normalized: &str) -> Option<(Version, Kind)> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        let parts: Vec<&str> = stem.split('-').collect();
        if !(5..=6).contains(&parts.len()) || requirement::normalize(parts[0]) != normalized {
            return None;
        }
        let version = Version::from_str(parts[1]).ok()?;
        let [python, abi, platform] = parts[parts.len() - 3..] else {
            return None;
        };
        let pure = abi == "none"
            && platform == "any"
            && python
                .split('.')
                .any(|tag| tag == "py3" || tag == "py2.py3");
        return Some((
            version,
            if pure {
                Kind::PureWheel
            } else {
                Kind::OtherWheel
            },
        ));
    }
    let stem = [".tar.gz", ".zip", ".tar.bz2"]
        .iter()
        .find_map(|ext| filename.strip_suffix(ext))?;
    let (name, version) = stem.rsplit_once('-')?;
    if requirement::normalize(name) != normalized {
        return None;
    }
    Some((Version::from_str(version).ok()?, Kind::Sdist))
}

/// The release and file chosen for a requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub version: Version,
    pub file: File,
    pub kind: Kind,
    /// SHA-256 (hex) as the index reports it; the download is verified against it.
    pub sha256: String,
}

/// Why nothing could be chosen, naming what was seen.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NotChosen {
    #[error("no release of `{0}` satisfies the requirement")]
    NoMatchingRelease(String),
    #[error(
        "every release of `{name}` that satisfies the requirement excludes Python {python} (Requires-Python)"
    )]
    PythonExcluded { name: String, python: String },
    #[error(
        "the newest matching release of `{name}`, {version}, has no sdist and no pure-Python wheel: it ships compiled code only"
    )]
    NoBuildableFile { name: String, version: String },
}

/// pip's choice for `req` on Python `python` (e.g. `3.14.0`): the newest release that satisfies
/// the specifier (finals first, pre-releases only if the specifier names one or nothing else
/// matches), not yanked (unless pinned with `==`), whose `Requires-Python` admits `python`,
/// taking its sdist, else a pure-Python wheel.
pub fn choose(project: &Project, req: &Requirement, python: &str) -> Result<Chosen, NotChosen> {
    choose_file(project, req, python, false)
}

/// [`choose`], taking the pure-Python wheel over the sdist when `prefer_wheel` (the user's
/// `wheel = true`).
pub fn choose_file(
    project: &Project,
    req: &Requirement,
    python: &str,
    prefer_wheel: bool,
) -> Result<Chosen, NotChosen> {
    let pinned = req
        .specifiers
        .as_ref()
        .is_some_and(|s| s.iter().any(|s| s.operator().to_string() == "=="));
    let python_version = Version::from_str(python).ok();
    let mut candidates: Vec<(Version, Kind, &File)> = project
        .files
        .iter()
        .filter(|f| pinned || !f.yanked.is_yanked())
        .filter_map(|f| {
            let (version, kind) = parse_filename(&f.filename, &req.normalized)?;
            Some((version, kind, f))
        })
        .collect();
    candidates.sort_by(|a, b| b.0.cmp(&a.0));
    let admits = |version: &Version, semantics| {
        let specifiers = req
            .specifiers
            .clone()
            .unwrap_or_else(VersionSpecifiers::empty);
        requirement::contains(&specifiers, &version.to_string(), semantics)
            == Containment::Satisfied
    };
    // Finals (packaging 25's rule: pre-releases only when named); else any match.
    let mut matching: Vec<&(Version, Kind, &File)> = candidates
        .iter()
        .filter(|c| admits(&c.0, Semantics::Packaging25))
        .collect();
    if matching.is_empty() {
        matching = candidates
            .iter()
            .filter(|c| admits(&c.0, Semantics::Packaging26))
            .collect();
    }
    if matching.is_empty() {
        return Err(NotChosen::NoMatchingRelease(req.name.clone()));
    }
    let python_ok = |file: &File| {
        let Some(text) = file
            .requires_python
            .as_deref()
            .filter(|t| !t.trim().is_empty())
        else {
            return true;
        };
        match (VersionSpecifiers::from_str(text), &python_version) {
            (Ok(specifiers), Some(version)) => specifiers.contains(version),
            // An unparsable Requires-Python is ignored by pip.
            _ => true,
        }
    };
    let runnable: Vec<&&(Version, Kind, &File)> =
        matching.iter().filter(|c| python_ok(c.2)).collect();
    let Some(newest) = runnable.first().map(|c| c.0.clone()) else {
        return Err(NotChosen::PythonExcluded {
            name: req.name.clone(),
            python: python.to_owned(),
        });
    };
    let of_newest = || runnable.iter().filter(|c| c.0 == newest);
    let (first, second) = if prefer_wheel {
        (Kind::PureWheel, Kind::Sdist)
    } else {
        (Kind::Sdist, Kind::PureWheel)
    };
    let pick = of_newest()
        .find(|c| c.1 == first)
        .or_else(|| of_newest().find(|c| c.1 == second))
        .ok_or_else(|| NotChosen::NoBuildableFile {
            name: req.name.clone(),
            version: newest.to_string(),
        })?;
    Ok(Chosen {
        version: newest.clone(),
        file: pick.2.clone(),
        kind: pick.1.clone(),
        sha256: pick.2.hashes.get("sha256").cloned().unwrap_or_default(),
    })
}

/// An HTTP client for the index (TLS provider installed, a user agent, timeouts).
/// The index to ask (`index`, else as the user's pip is configured) and a client for it.
pub fn reach(index: Option<&str>) -> Result<(String, reqwest::Client), PypiError> {
    let url = match index {
        Some(url) => url.to_owned(),
        None => index_url("python3")?,
    };
    Ok((url, client()?))
}

pub fn client() -> Result<reqwest::Client, PypiError> {
    crate::forge::install_tls_provider();
    reqwest::Client::builder()
        .user_agent(concat!("hacs-nix/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .read_timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| PypiError::Http {
            url: String::new(),
            detail: crate::download::error_chain(&e),
        })
}

/// The project's files from the index (PEP 691 JSON), the page capped as GitHub's answers are.
pub async fn project(
    client: &reqwest::Client,
    index: &str,
    normalized: &str,
) -> Result<Project, PypiError> {
    let url = format!("{}/{normalized}/", index.trim_end_matches('/'));
    let http = |detail: String| PypiError::Http {
        url: url.clone(),
        detail,
    };
    let response = client
        .get(&url)
        .header(
            reqwest::header::ACCEPT,
            "application/vnd.pypi.simple.v1+json",
        )
        .send()
        .await
        .map_err(|e| http(crate::download::error_chain(&e)))?;
    if !response.status().is_success() {
        return Err(http(format!("the index answered {}", response.status())));
    }
    let body = crate::forge::read_capped(response)
        .await
        .map_err(|unread| match unread {
            crate::forge::Unread::TooLarge(size) => {
                http(crate::forge::Unread::too_large_message(&size))
            }
            crate::forge::Unread::Broken(why) => http(why),
        })?;
    let mut project: Project = serde_json::from_str(&body).map_err(|e| PypiError::BadAnswer {
        url: url.clone(),
        detail: e.to_string(),
    })?;
    // File URLs may be relative to the page (PEP 503/691).
    if let Ok(page) = reqwest::Url::parse(&url) {
        for file in &mut project.files {
            if let Ok(absolute) = page.join(&file.url) {
                file.url = absolute.to_string();
            }
        }
    }
    Ok(project)
}

/// Downloads the chosen file into `out` and checks it against the digest the index reported:
/// that SHA-256 is what `fetchPypi` will check, so a mismatch is an error, never a pin. Returns
/// the digest (for the lock and the Nix hash).
pub async fn download(
    client: &reqwest::Client,
    chosen: &Chosen,
    out: &mut std::fs::File,
) -> Result<crate::hash::Sha256Digest, PypiError> {
    let url = &chosen.file.url;
    let http = |detail: String| PypiError::Http {
        url: url.clone(),
        detail,
    };
    let expected = crate::hash::Sha256Digest::parse(&chosen.sha256).map_err(|_| {
        http(format!(
            "the index gives no usable SHA-256 (`{}`)",
            chosen.sha256
        ))
    })?;
    let attempt = crate::download::attempt(client, url, None, out, &())
        .await
        .map_err(|e| http(format!("cannot write the download: {e}")))?;
    match attempt {
        crate::download::Attempt::Complete { digest, .. } if digest == expected => Ok(digest),
        crate::download::Attempt::Complete { digest, .. } => Err(http(format!(
            "the file's SHA-256 is {}, the index says {}: nothing was packaged",
            digest.to_hex(),
            expected.to_hex()
        ))),
        crate::download::Attempt::Status(status, _) => {
            Err(http(format!("the index answered {status}")))
        }
        crate::download::Attempt::Unsent(why) => Err(http(why)),
        crate::download::Attempt::Broken { got, error, .. } => {
            Err(http(error.unwrap_or_else(|| {
                format!("the download broke off after {got} bytes")
            })))
        }
    }
}

/// A package the generator writes for a requirement Home Assistant's set lacks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Package {
    /// The attribute (PEP 503 name).
    pub attr: String,
    /// The name as the file spells it (what `fetchPypi` puts in the URL).
    pub pname: String,
    pub version: String,
    /// The file packaged, as the index names it.
    pub file: String,
    /// The file's URL, where `fetchPypi` cannot name the file (a wheel with a build tag):
    /// fetched with `fetchurl` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `tar.gz`, `zip`, or `whl` (a pure-Python wheel).
    pub extension: String,
    /// A wheel's Python tag (`py3`, `py2.py3`): `fetchPypi`'s `python` and `dist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python_tag: Option<String>,
    /// SRI SHA-256 of the file as downloaded.
    pub hash: String,
    /// Attributes of the set (or other generated packages) for `build-system`.
    pub build_system: Vec<String>,
    /// `[build-system].requires` entries the set lacked, as written: generated packages in
    /// `build_system`, asked for again whenever the package is reused from the lock.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_missing: Vec<String>,
    /// `[build-system].requires` entries relaxed in `pyproject.toml` (as written, what they
    /// become): the set's release is outside their bounds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_relax: Vec<(String, String)>,
    /// Attributes of the set (or other generated packages) for `dependencies`.
    pub dependencies: Vec<String>,
    /// The file's own requirements needed on Home Assistant's Python (markers evaluated), as
    /// written: what `dependencies` was resolved from, kept so an unchanged file is not
    /// downloaded again.
    #[serde(default)]
    pub requires: Vec<String>,
    pub import_names: Vec<String>,
    /// For each import name, the outside modules importing it runs, as its files say (only
    /// names with some): placed against the set on every run (declared, added from the set,
    /// Home Assistant, or the module left out of `pythonImportsCheck`). `None` in a lock
    /// entry written before the files were read for it: such an entry is read again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_imports: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// Attributes for `nativeCheckInputs`: `home-assistant` where a module imports
    /// `homeassistant`, as nixpkgs gives it to such packages' checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_inputs: Vec<String>,
    /// Import names left out of `pythonImportsCheck`: they import what nothing provides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports_left_out: Vec<String>,
    /// Requirements of its metadata the set meets at another release of the same major
    /// version, as the metadata spells them: `pythonRelaxDeps`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relax_deps: Vec<String>,
    pub summary: Option<String>,
    pub homepage: Option<String>,
    /// SPDX identifier, when the file gives one.
    pub license: Option<String>,
    /// What needs it: `component: requirement` or `package: requirement`.
    #[serde(default)]
    pub needed_by: Vec<String>,
}

impl Package {
    /// What a generated package must be for its derivation to be written: the one rule the
    /// lock's loading, the plan and the Nix writer share.
    pub fn check(&self) -> Result<(), String> {
        if !crate::names::is_path_attribute(&self.attr)
            || crate::names::RESERVED_ARGUMENTS.contains(&self.attr.as_str())
        {
            return Err(format!(
                "`{}` cannot be a generated package's attribute",
                self.attr.escape_debug()
            ));
        }
        crate::names::check_arguments(self.needs())?;
        if let Some(other) = self
            .check_inputs
            .iter()
            .find(|c| c.as_str() != import_check::HOME_ASSISTANT)
        {
            return Err(format!(
                "`{}` cannot be given to a generated package's checks (only `{}`)",
                other.escape_debug(),
                import_check::HOME_ASSISTANT
            ));
        }
        if crate::hash::Sha256Digest::parse(&self.hash).is_err() {
            return Err(format!(
                "`hash` `{}` is not a SHA-256",
                self.hash.escape_debug()
            ));
        }
        Ok(())
    }

    /// What it is built with and needs at run time: the attributes its derivation takes.
    pub fn needs(&self) -> impl Iterator<Item = &String> {
        self.build_system.iter().chain(&self.dependencies)
    }

    /// The modules `pythonImportsCheck` imports.
    pub fn checked_imports(&self) -> impl Iterator<Item = &String> {
        self.import_names
            .iter()
            .filter(|m| !self.imports_left_out.contains(m))
    }

    /// How it is built, for people: `sdist, setuptools` or `pure-Python wheel`.
    pub fn built_from(&self) -> String {
        if self.extension == "whl" {
            "pure-Python wheel".to_owned()
        } else {
            format!("sdist, {}", self.build_system.join(" + "))
        }
    }
}

/// The generated packages Home Assistant's set still lacks (by name or attribute), leaving out
/// those the user says nixpkgs provides: the ones worth generating against `set`.
pub fn still_missing(
    packages: &std::collections::BTreeMap<String, Package>,
    set: &crate::pyset::PythonSet,
    provided: &[String],
) -> std::collections::BTreeMap<String, Package> {
    let names = set.index();
    packages
        .iter()
        .filter(|(attr, p)| {
            names.find(&p.pname).is_none() && names.find(attr).is_none() && !provided.contains(attr)
        })
        .map(|(a, p)| (a.clone(), p.clone()))
        .collect()
}

/// `set` with generated `packages` added, as the components that get them see it.
pub fn extend(
    set: &crate::pyset::PythonSet,
    packages: &std::collections::BTreeMap<String, Package>,
) -> crate::pyset::PythonSet {
    set.with_packages(
        packages
            .iter()
            .map(|(a, p)| (a.as_str(), p.pname.as_str(), p.version.as_str())),
    )
}

/// What a package's `[build-system].requires` becomes: the set's attributes, and the bounds
/// relaxed where the set's release is outside them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSystem {
    pub attrs: Vec<String>,
    /// (the requirement as `pyproject.toml` writes it, what it becomes), for `postPatch`.
    pub relax: Vec<(String, String)>,
    /// One sentence per relaxation, said as a warning.
    pub warnings: Vec<String>,
    /// Entries the set lacks, as written (in `attrs` by their PEP 503 name): generated like a
    /// missing runtime requirement, and the package built with them.
    pub missing: Vec<String>,
}

/// `[build-system].requires` resolved in Home Assistant's set like runtime requirements:
/// markers evaluated for Linux and the set's Python (a build requirement for Windows or macOS
/// only is no requirement), each found by its name in the set, its bounds checked against the
/// set's release and relaxed in `pyproject.toml` when outside them, as nixpkgs' maintainers do
/// with `substituteInPlace`. An entry the set lacks is to be generated (in `missing`), as nixpkgs
/// packages a hatchling plugin like any package. What compiles code is refused; `wheel` is
/// nixpkgs' own tooling.
pub fn build_system(metadata: &metadata::Metadata, set: &PythonSet) -> Result<BuildSystem, String> {
    const NATIVE: &[&str] = &[
        "maturin",
        "scikit-build-core",
        "meson-python",
        "cmake",
        "cython",
        "setuptools-rust",
        "pybind11",
        "cffi",
    ];
    let names = set.index();
    let semantics = set.semantics();
    let mut out = BuildSystem::default();
    let mut attrs = std::collections::BTreeSet::new();
    let requires: Vec<&str> = if metadata.build_requires.is_empty() {
        // No pyproject.toml, or one without requires: setuptools, as pip would.
        vec!["setuptools"]
    } else {
        metadata.build_requires.iter().map(String::as_str).collect()
    };
    for text in requires {
        let Ok(req) = requirement::parse(text) else {
            return Err(format!(
                "`{text}` in [build-system].requires cannot be read"
            ));
        };
        let applies = crate::deps::FLAKE_MACHINES
            .iter()
            .any(|machine| req.marker_holds(&set.python, &set.python_full, machine));
        let name = req.normalized.as_str();
        if !applies || name == "wheel" {
            continue;
        }
        if NATIVE.contains(&name) {
            return Err(format!(
                "its build needs `{name}` on Linux: it compiles code, which hacs-nix does not package"
            ));
        }
        let Some((attr, found)) = names.find(&req.name) else {
            if req.url.is_some() {
                return Err(format!(
                    "its build needs `{text}` from a URL, which a Nix build cannot fetch"
                ));
            }
            if attrs.insert(req.normalized.clone()) {
                out.missing.push(text.to_owned());
            }
            continue;
        };
        if req.admits(&found.version, semantics) != requirement::Containment::Satisfied {
            if text.contains(['"', '\\', '\'']) || req.specifiers.is_none() {
                return Err(format!(
                    "its build needs `{text}`, but Home Assistant's set has {attr} {}",
                    found.version
                ));
            }
            let bare = match req.extras.as_slice() {
                [] => req.name.clone(),
                extras => format!("{}[{}]", req.name, extras.join(",")),
            };
            out.warnings.push(format!(
                "{}'s build needs `{text}`; Home Assistant's set has {attr} {}: relaxed to `{bare}` in pyproject.toml",
                metadata.name, found.version
            ));
            out.relax.push((text.to_owned(), bare));
        }
        attrs.insert(attr.to_owned());
    }
    out.attrs = attrs.into_iter().collect();
    Ok(out)
}
