//! A distribution file's own metadata, trusted over the index's: from an sdist its `PKG-INFO`,
//! `pyproject.toml`'s `[build-system]`, and (older setuptools sdists whose `PKG-INFO` lists no
//! `Requires-Dist`) `<name>.egg-info/requires.txt`; from a wheel its `*.dist-info/METADATA`.
//! Requirements come back with their markers evaluated for Home Assistant's Python on Linux
//! (for every machine the flake builds) and extras applied as asked.

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use crate::archive::{self, ArchiveError, UnpackOptions};
use crate::requirement;
use crate::tree::{Node, Tree};

#[derive(Debug, Error)]
pub enum MetadataError {
    #[error("{file}: {source}")]
    Archive { file: String, source: ArchiveError },
    #[error("{file}: no {what} in it")]
    Missing { file: String, what: &'static str },
    #[error("{file}: {detail}")]
    Invalid { file: String, detail: String },
}

/// What the generator needs of a release.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    pub name: String,
    pub version: String,
    pub summary: Option<String>,
    pub homepage: Option<String>,
    /// SPDX expression (`License-Expression`) or the free text of `License`.
    pub license: Option<String>,
    /// Requirements needed on Home Assistant's Python (markers true on some flake system).
    pub requires: Vec<String>,
    /// `[build-system].requires` (sdists); empty when the sdist has no pyproject.toml.
    pub build_requires: Vec<String>,
    pub build_backend: Option<String>,
    /// Top-level import names, from `top_level.txt` where there is one, else the packages and
    /// modules at the top of the sdist (or its `src/`).
    pub import_names: Vec<String>,
    /// Why the sdist compiles code on Linux, when its `setup.py` says so (`ext_modules`,
    /// `Extension(`, `cythonize`, outside branches only other systems take).
    pub native: Option<String>,
    /// For each import name, the outside top-level modules importing it runs (read from its
    /// files, standard library left out): what `pythonImportsCheck` needs besides itself.
    pub module_imports: BTreeMap<String, Vec<String>>,
}

/// Reads the metadata of the file at `path` (an sdist or a wheel, by its `filename`).
pub fn read(
    path: &std::path::Path,
    filename: &str,
    extras: &[String],
    python: (&str, &str),
) -> Result<Metadata, MetadataError> {
    let wheel = filename.ends_with(".whl");
    let options = UnpackOptions {
        strip_root: !wheel,
        ..UnpackOptions::default()
    };
    let (_, mut tree) =
        archive::unpack_path(path, &options).map_err(|source| MetadataError::Archive {
            file: filename.to_owned(),
            source,
        })?;
    let missing = |what| MetadataError::Missing {
        file: filename.to_owned(),
        what,
    };
    let (pkg_info, raw_requires) = if wheel {
        let dist_info = top_entries(&tree)
            .into_iter()
            .find(|n| n.ends_with(".dist-info"))
            .ok_or_else(|| missing("*.dist-info folder"))?;
        let text = text_of(&mut tree, &format!("{dist_info}/METADATA"))
            .ok_or_else(|| missing("METADATA"))?;
        let requires = headers(&text, "Requires-Dist");
        (text, requires)
    } else {
        let text = text_of(&mut tree, "PKG-INFO").ok_or_else(|| missing("PKG-INFO"))?;
        let mut requires = headers(&text, "Requires-Dist");
        if requires.is_empty()
            && let Some(egg) = egg_info(&tree)
            && let Some(requires_txt) = text_of(&mut tree, &format!("{egg}/requires.txt"))
        {
            requires = requires_txt_lines(&requires_txt);
        }
        (text, requires)
    };
    let first = |key: &str| headers(&pkg_info, key).into_iter().next();
    let mut metadata = Metadata {
        name: first("Name").ok_or_else(|| missing("Name header"))?,
        version: first("Version").ok_or_else(|| missing("Version header"))?,
        summary: first("Summary"),
        homepage: first("Home-page").or_else(|| {
            headers(&pkg_info, "Project-URL")
                .into_iter()
                .find_map(|u| u.split_once(',').map(|(_, url)| url.trim().to_owned()))
        }),
        license: first("License-Expression").or_else(|| first("License")),
        requires: needed(&raw_requires, extras, python),
        ..Metadata::default()
    };
    if !wheel && let Some(text) = text_of(&mut tree, "pyproject.toml") {
        let value: toml::Value = toml::from_str(&text).map_err(|e| MetadataError::Invalid {
            file: format!("{filename}!pyproject.toml"),
            detail: e.to_string(),
        })?;
        let build = value.get("build-system");
        metadata.build_requires = build
            .and_then(|b| b.get("requires"))
            .and_then(toml::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        metadata.build_backend = build
            .and_then(|b| b.get("build-backend"))
            .and_then(toml::Value::as_str)
            .map(str::to_owned);
    }
    let top_level = if wheel {
        top_entries(&tree)
            .into_iter()
            .find(|n| n.ends_with(".dist-info"))
            .map(|d| format!("{d}/top_level.txt"))
    } else {
        egg_info(&tree).map(|e| format!("{e}/top_level.txt"))
    };
    if let Some(text) = top_level.and_then(|p| text_of(&mut tree, &p)) {
        metadata.import_names = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.contains(['/', '.']) && importable(l))
            .map(str::to_owned)
            .collect();
    }
    if metadata.import_names.is_empty() && wheel {
        metadata.import_names = wheel_modules(&mut tree);
    }
    if metadata.import_names.is_empty() && !wheel {
        metadata.import_names = source_modules(&tree);
    }
    if !wheel && let Some(setup) = text_of(&mut tree, "setup.py") {
        metadata.native = super::compiles::on_linux(&setup);
    }
    metadata.import_names.sort();
    metadata.import_names.dedup();
    // Where the modules' files are: the wheel's top, or the sdist's `src/` or top.
    let base = if !wheel
        && metadata.import_names.iter().any(|m| {
            tree.lookup(&format!("src/{m}")).is_some()
                || tree.lookup(&format!("src/{m}.py")).is_some()
        }) {
        "src/"
    } else {
        ""
    };
    let mut own: BTreeSet<String> = metadata.import_names.iter().cloned().collect();
    own.extend(top_names(&tree, base));
    metadata.module_imports =
        super::imports::outside_imports(&mut tree, base, &metadata.import_names, &own);
    metadata
        .module_imports
        .retain(|_, outside| !outside.is_empty());
    Ok(metadata)
}

/// Top-level names that are never the package's own modules, whatever `top_level.txt` or an
/// sdist carries: test suites (nixpkgs removes `site-packages/tests` before the import check,
/// and a wheel does not install an sdist's stray `test_*.py`), and build or project helpers.
const NOT_MODULES: &[&str] = &[
    "test",
    "tests",
    "testing",
    "conftest",
    "doc",
    "docs",
    "example",
    "examples",
    "scripts",
    "benchmarks",
    "build",
    "dist",
    "setup",
    "hatch_build",
    "versioneer",
    "noxfile",
    "tasks",
    "fabfile",
];

/// Whether a top-level name is one to import in `pythonImportsCheck`.
fn importable(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('_')
        && !NOT_MODULES.contains(&name)
        && !name.starts_with("test_")
        && !name.ends_with("_test")
        && !name.ends_with("_tests")
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// Import names of a wheel without `top_level.txt` (modern backends write none): what its
/// `RECORD` installs at the top of `site-packages`, packages (`<name>/__init__.py`) and
/// modules (`<name>.py`), the metadata and data folders left out.
fn wheel_modules(tree: &mut Tree) -> Vec<String> {
    let record = top_entries(tree)
        .into_iter()
        .find(|n| n.ends_with(".dist-info"))
        .map(|d| format!("{d}/RECORD"))
        .and_then(|p| text_of(tree, &p));
    let paths: Vec<String> = match record {
        Some(text) => text
            .lines()
            .filter_map(|line| {
                // CSV: a path with a comma is quoted.
                match line.strip_prefix('"') {
                    Some(quoted) => quoted.split('"').next(),
                    None => line.split(',').next(),
                }
            })
            .map(str::to_owned)
            .collect(),
        None => tree.file_paths(),
    };
    let mut out = Vec::new();
    for path in &paths {
        let module = match path.split_once('/') {
            Some((top, "__init__.py")) => Some(top),
            Some(_) => None,
            None => path.strip_suffix(".py"),
        };
        if let Some(module) = module.filter(|m| importable(m))
            && !out.iter().any(|o| o == module)
        {
            out.push(module.to_owned());
        }
    }
    out
}

/// Import names of an sdist without `top_level.txt`: the packages (folders with
/// `__init__.py`) and modules (`*.py` other than `setup.py`) at its top, or under `src/`.
fn source_modules(tree: &Tree) -> Vec<String> {
    let at = |tree: &Tree, prefix: &str| -> Vec<String> {
        let entries: Vec<(String, bool)> = match tree.lookup(prefix.trim_end_matches('/')) {
            Some(Node::Directory(entries)) => entries
                .iter()
                .map(|(k, n)| {
                    (
                        String::from_utf8_lossy(k).into_owned(),
                        matches!(n, Node::Directory(_)),
                    )
                })
                .collect(),
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        for (name, is_dir) in entries {
            let module = if is_dir {
                let init = format!("{prefix}{name}/__init__.py");
                matches!(tree.lookup(&init), Some(Node::File(_))).then(|| name.clone())
            } else {
                name.strip_suffix(".py").map(str::to_owned)
            };
            if let Some(module) = module.filter(|m| importable(m)) {
                out.push(module);
            }
        }
        out
    };
    let mut found = at(tree, "src/");
    if found.is_empty() {
        found = at(tree, "");
    }
    found
}

/// Every top-level module name under `base`, test helpers included: a module importing one
/// of them imports its own distribution, not an outside one.
fn top_names(tree: &Tree, base: &str) -> Vec<String> {
    let dir = if base.is_empty() {
        Some(tree.root())
    } else {
        tree.lookup(base.trim_end_matches('/'))
    };
    match dir {
        Some(Node::Directory(entries)) => entries
            .iter()
            .filter_map(|(k, n)| {
                let name = String::from_utf8_lossy(k);
                match n {
                    Node::Directory(_) => Some(name.into_owned()),
                    _ => name.strip_suffix(".py").map(str::to_owned),
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn top_entries(tree: &Tree) -> Vec<String> {
    match tree.root() {
        Node::Directory(entries) => entries
            .keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect(),
        _ => Vec::new(),
    }
}

fn egg_info(tree: &Tree) -> Option<String> {
    let top = top_entries(tree)
        .into_iter()
        .find(|n| n.ends_with(".egg-info"));
    top.or_else(|| {
        // setuptools' src layout: src/<name>.egg-info
        match tree.lookup("src") {
            Some(Node::Directory(entries)) => entries
                .keys()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .find(|n| n.ends_with(".egg-info"))
                .map(|n| format!("src/{n}")),
            _ => None,
        }
    })
}

fn text_of(tree: &mut Tree, path: &str) -> Option<String> {
    let bytes = tree.read_file(path).ok().flatten()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The values of an RFC 822-style header, continuation lines folded, up to the body.
pub fn headers(text: &str, key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(i) = current {
                out[i].push(' ');
                out[i].push_str(line.trim());
            }
            continue;
        }
        current = None;
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case(key)
        {
            out.push(value.trim().to_owned());
            current = Some(out.len() - 1);
        }
    }
    out
}

/// `requires.txt`: unconditional lines, then `[extra]`, `[:marker]` or `[extra:marker]`
/// sections, turned into PEP 508 requirements with markers.
pub fn requires_txt_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut section: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (extra, marker) = inner.split_once(':').unwrap_or((inner, ""));
            section = Some((extra.trim().to_owned(), marker.trim().to_owned()));
            continue;
        }
        let requirement = match &section {
            None => line.to_owned(),
            Some((extra, marker)) => {
                let mut clauses = Vec::new();
                if !marker.is_empty() {
                    clauses.push(format!("({marker})"));
                }
                if !extra.is_empty() {
                    clauses.push(format!("extra == \"{extra}\""));
                }
                if clauses.is_empty() {
                    line.to_owned()
                } else {
                    format!("{line}; {}", clauses.join(" and "))
                }
            }
        };
        out.push(requirement);
    }
    out
}

/// The requirements needed with `extras` on Home Assistant's Python `(major.minor, full)`, on
/// Linux for any machine the flake builds; unparsable lines are kept as written.
fn needed(raw: &[String], extras: &[String], python: (&str, &str)) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for text in raw {
        let keep = match requirement::parse(text) {
            Ok(req) => crate::deps::FLAKE_MACHINES
                .iter()
                .any(|machine| req.marker_holds_with_extras(python.0, python.1, machine, extras)),
            Err(_) => true,
        };
        if keep && seen.insert(text.clone()) {
            out.push(text.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_txt_sections_become_markers() {
        let text = "requests>=2\n\n[socks]\nPySocks\n\n[:python_version < \"3.8\"]\nimportlib-metadata\n\n[fast:sys_platform == \"linux\"]\nuvloop\n";
        assert_eq!(
            requires_txt_lines(text),
            [
                "requests>=2",
                "PySocks; extra == \"socks\"",
                "importlib-metadata; (python_version < \"3.8\")",
                "uvloop; (sys_platform == \"linux\") and extra == \"fast\"",
            ]
        );
    }

    #[test]
    fn headers_fold_and_stop_at_the_body() {
        let text = "Name: x\nSummary: one\n  two\nRequires-Dist: a\nRequires-Dist: b; extra == \"t\"\n\nRequires-Dist: not-a-header\n";
        assert_eq!(headers(text, "summary"), ["one two"]);
        assert_eq!(headers(text, "Requires-Dist"), ["a", "b; extra == \"t\""]);
    }
}
