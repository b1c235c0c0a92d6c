//! `cargo xtask lint`: offline, before `nixos-rebuild`, whether the pinned set will build and
//! why not. Reads the checkout only: no network, no Nix evaluation (the Python set comes from
//! the snapshot).

mod scan;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use scan::scan;

use crate::config;
use crate::deps::{self, DepsOptions};
use crate::finding::{Finding, Location};
use crate::lock::Lock;
use crate::nixgen;
use crate::pyset::{Nixpkgs, PythonSet};

/// Where to look.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// The folder with components.toml, the lock and the generated files.
    pub pkgs: PathBuf,
    /// The checkout's root (flake.lock, other `.nix` files).
    pub root: PathBuf,
    /// Files or folders of hand-written Nix to scan; empty: every `.nix` file under `root`
    /// outside the generated ones.
    pub scan: Vec<PathBuf>,
    /// Re-check the pins against the nixpkgs this flake.lock locks (the user's own flake)
    /// instead of the checkout's snapshot.
    pub flake_lock: Option<PathBuf>,
}

/// Lints a checkout: one step per check, each adding its findings.
pub fn lint(options: &LintOptions) -> Vec<Finding> {
    let mut findings = Vec::new();
    let pkgs = &options.pkgs;
    let components = read_components(pkgs, &mut findings);
    let lock = read_lock(pkgs, &mut findings);
    if let Some(components) = &components {
        wanted_and_pinned(pkgs, components, &lock, &mut findings);
    }
    let generated = generated_files(pkgs, &lock, &mut findings);
    if let Some(set) = python_set(options, components.as_ref(), &lock, &mut findings) {
        requirements_still_met(pkgs, components.as_ref(), &lock, &set, &mut findings);
    }
    hand_written(options, &generated, &mut findings);
    findings
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

/// `components.toml`, parsed; its errors are findings.
fn read_components(pkgs: &Path, findings: &mut Vec<Finding>) -> Option<config::Components> {
    let components_path = pkgs.join("components.toml");
    match std::fs::read_to_string(&components_path) {
        Ok(text) => match config::parse(&show(&components_path), &text) {
            Ok(c) => Some(c),
            Err(errors) => {
                findings.extend(errors);
                None
            }
        },
        Err(e) => {
            findings.push(Finding::error(
                "lint-no-components",
                Location::file(show(&components_path)),
                format!("cannot read it: {e}"),
                "run lint from the checkout, or pass --pkgs",
            ));
            None
        }
    }
}

/// The lock; an entry it leaves out (it cannot be written as Nix) is a finding.
fn read_lock(pkgs: &Path, findings: &mut Vec<Finding>) -> Lock {
    let lock_path = pkgs.join("components.lock.json");
    match Lock::load(&lock_path) {
        Ok(lock) => {
            for refused in &lock.refused {
                findings.push(Finding::error(
                    "lint-lock-invalid",
                    Location::file(show(&lock_path)),
                    format!("{refused}: the entry cannot be written as Nix"),
                    "restore it from git, or delete the entry and run update-components",
                ));
            }
            lock
        }
        Err(e) => {
            findings.push(Finding::error(
                "lint-lock-invalid",
                Location::file(show(&lock_path)),
                e.to_string(),
                "restore it from git, or run update-components",
            ));
            Lock::new()
        }
    }
}

/// Wanted and pinned agree: every wanted attribute pinned, every pin (integration, card,
/// theme) wanted, of the same kind and repository.
fn wanted_and_pinned(
    pkgs: &Path,
    components: &config::Components,
    lock: &Lock,
    findings: &mut Vec<Finding>,
) {
    let components_path = pkgs.join("components.toml");
    let lock_path = pkgs.join("components.lock.json");
    let in_lock = |attr: &String| Location {
        file: show(&lock_path),
        key: Some(attr.clone()),
        ..Location::default()
    };
    for attr in components.entries.keys().filter(|a| {
        !lock.components.contains_key(*a)
            && !lock.cards.contains_key(*a)
            && !lock.themes.contains_key(*a)
    }) {
        findings.push(Finding::error(
            "lint-unpinned",
            Location {
                file: show(&components_path),
                key: Some(attr.clone()),
                ..Location::default()
            },
            format!("`{attr}` is wanted but not pinned"),
            "run `cargo xtask update-components`",
        ));
    }
    // Integrations and cards alike: (attribute, repository, what it is pinned as).
    let pinned = lock
        .components
        .iter()
        .map(|(a, e)| (a, &e.repo, crate::config::Kind::Integration))
        .chain(
            lock.cards
                .iter()
                .map(|(a, e)| (a, &e.repo, crate::config::Kind::Card)),
        )
        .chain(
            lock.themes
                .iter()
                .map(|(a, e)| (a, &e.repo, crate::config::Kind::Theme)),
        );
    for (attr, repo, kind) in pinned {
        match components.entries.get(attr) {
            None => findings.push(Finding::error(
                "lint-not-wanted",
                in_lock(attr),
                format!("`{attr}` is pinned but no longer in components.toml"),
                "run `cargo xtask update-components` to remove it",
            )),
            Some(wanted) if wanted.kind != kind => findings.push(Finding::error(
                "lint-kind-changed",
                in_lock(attr),
                format!(
                    "`{attr}` is pinned as {kind:?} but components.toml wants a {:?}",
                    wanted.kind
                ),
                "run `cargo xtask update-components`",
            )),
            Some(wanted) if wanted.repo != *repo => findings.push(Finding::error(
                "lint-repo-changed",
                in_lock(attr),
                format!(
                    "`{attr}` is pinned from {repo} but components.toml wants {}",
                    wanted.repo
                ),
                "run `cargo xtask update-components`",
            )),
            Some(_) => {}
        }
    }
}

/// Generated files are exactly what the lock generates; returns their paths.
fn generated_files(pkgs: &Path, lock: &Lock, findings: &mut Vec<Finding>) -> BTreeSet<PathBuf> {
    let lock_path = pkgs.join("components.lock.json");
    let (files, errors) = nixgen::render_all(lock);
    for (attr, e) in errors {
        let message = if attr.starts_with("python.") {
            format!("{attr}: {e}")
        } else {
            e.to_string()
        };
        findings.push(Finding::error(
            "lint-lock-invalid",
            Location::file(show(&lock_path)),
            message,
            "run update-components",
        ));
    }
    let expected: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|(path, text)| (pkgs.join(path), text))
        .collect();
    for (path, text) in &expected {
        match std::fs::read_to_string(path) {
            Ok(actual) if actual == *text => {}
            Ok(actual) => {
                let line = actual
                    .lines()
                    .zip(text.lines())
                    .position(|(a, b)| a != b)
                    .map_or(actual.lines().count().min(text.lines().count()) + 1, |i| {
                        i + 1
                    });
                findings.push(Finding::error(
                    "lint-generated-drift",
                    Location { file: show(path), line: Some(line), column: Some(1), key: None },
                    "this generated file differs from what the lock generates (edited by hand?)".to_owned(),
                    "put the change into components.toml and run `cargo xtask update-components --offline`, which rewrites it",
                ));
            }
            Err(_) => findings.push(Finding::error(
                "lint-generated-missing",
                Location::file(show(path)),
                "this generated file is missing".to_owned(),
                "run `cargo xtask update-components --offline`",
            )),
        }
    }
    expected.into_iter().map(|(p, _)| p).collect()
}

/// The Python set: present, fresh, and still satisfying every pin; or, with `flake_lock`, the
/// set of the nixpkgs the user's own flake locks; extended with the lock's generated packages.
fn python_set(
    options: &LintOptions,
    components: Option<&config::Components>,
    lock: &Lock,
    findings: &mut Vec<Finding>,
) -> Option<PythonSet> {
    let pkgs = &options.pkgs;
    let lock_path = pkgs.join("components.lock.json");
    let snapshot_path = pkgs.join("python-set.json");
    let set = match &options.flake_lock {
        Some(user_lock) => users_set(options, user_lock, &snapshot_path, &show, findings),
        None => checkout_set(options, lock, &snapshot_path, &show, findings),
    };
    let provided = components
        .map(config::Components::provided)
        .unwrap_or_default();
    set.map(|set| {
        findings.extend(python_packages(lock, &set, &provided, &show(&lock_path)));
        crate::pypi::extend(
            &set,
            &crate::pypi::still_missing(&lock.python, &set, &provided),
        )
    })
}

/// Every pin's requirements still resolve as the lock records them.
fn requirements_still_met(
    pkgs: &Path,
    components: Option<&config::Components>,
    lock: &Lock,
    set: &PythonSet,
    findings: &mut Vec<Finding>,
) {
    let lock_path = pkgs.join("components.lock.json");
    let provided = components
        .map(config::Components::provided)
        .unwrap_or_default();
    for (attr, entry) in &lock.components {
        let manifests: Vec<(String, Vec<String>)> = entry
            .requirements
            .iter()
            .map(|(k, v)| (format!("{attr}: {k}"), v.clone()))
            .collect();
        let ignore = components
            .as_ref()
            .and_then(|c| c.entries.get(attr))
            .map(|w| {
                w.ignore
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let minimum = entry
            .home_assistant_min
            .as_deref()
            .map(|m| (m, "hacs.json"));
        let report = deps::resolve(
            &manifests,
            minimum,
            set,
            &DepsOptions {
                ignore,
                machine: String::new(),
                provided: provided.clone(),
            },
        );
        findings.extend(
            report
                .findings
                .iter()
                .filter(|f| f.severity == crate::finding::Severity::Error)
                .cloned(),
        );
        let extra: BTreeSet<&String> = entry
            .dependencies
            .iter()
            .filter(|d| !report.dependencies.contains(d))
            .collect();
        let missing_attrs: Vec<&&String> = extra
            .iter()
            .filter(|d| !set.packages.contains_key(d.as_str()))
            .collect();
        if report.buildable()
            && (report
                .dependencies
                .iter()
                .any(|d| !entry.dependencies.contains(d))
                || !missing_attrs.is_empty()
                || report.ignore_version_requirement != entry.ignore_version_requirement
                || !same_relaxations(&report.relax_requirements, entry))
        {
            findings.push(Finding::error(
                "lint-dependencies-changed",
                Location { file: show(&lock_path), key: Some(attr.clone()), ..Location::default() },
                format!("`{attr}`'s dependencies no longer match Home Assistant's Python set (nixpkgs moved)"),
                "run `cargo xtask update-components` to re-resolve them",
            ));
        }
    }
}

/// Hand-written Nix elsewhere in the checkout, scanned.
fn hand_written(options: &LintOptions, generated: &BTreeSet<PathBuf>, findings: &mut Vec<Finding>) {
    let roots = if options.scan.is_empty() {
        vec![options.root.clone()]
    } else {
        options.scan.clone()
    };
    for file in nix_files(&roots, generated) {
        if let Ok(text) = std::fs::read_to_string(&file) {
            findings.extend(scan::scan(&show(&file), &text));
        }
    }
}

/// The generated Python packages of the lock, re-checked against Home Assistant's set offline:
/// each still missing from it (else the next update switches to the set's attribute), each
/// dependency provided by the set or another generated package, and each requirement of the
/// package's own metadata met by the set's version (nixpkgs' runtime dependency check).
fn python_packages(lock: &Lock, set: &PythonSet, provided: &[String], file: &str) -> Vec<Finding> {
    let names = set.index();
    let semantics = set.semantics();
    let mut findings = Vec::new();
    let at = |attr: &str| Location {
        file: file.to_owned(),
        key: Some(format!("python.{attr}")),
        ..Location::default()
    };
    for (attr, package) in &lock.python {
        if let Some((set_attr, found)) = names.find(&package.pname) {
            findings.push(Finding::warning(
                "lint-python-now-in-set",
                at(attr),
                format!(
                    "{attr} {} is generated, but Home Assistant's set now has {set_attr} {}",
                    package.version, found.version
                ),
                "run `cargo xtask update-components`: it switches to the set's package and deletes the generated one",
            ));
        }
        for dep in package.needs() {
            if !lock.python.contains_key(dep)
                && names.find(dep).is_none()
                && !provided.contains(dep)
            {
                findings.push(Finding::error(
                    "lint-python-dependency-missing",
                    at(attr),
                    format!("{attr} needs `{dep}`, which is neither in Home Assistant's set nor generated"),
                    "run `cargo xtask update-components` to package it",
                ));
            }
        }
        for text in &package.requires {
            let Ok(req) = crate::requirement::parse(text) else {
                continue;
            };
            // A pin written into `pythonRelaxDeps` is dropped before nixpkgs' check reads it.
            let relaxed = package
                .relax_deps
                .iter()
                .any(|r| crate::requirement::normalize(r) == req.normalized);
            if let Some((set_attr, found)) = names.find(&req.name)
                && !relaxed
                && req.admits(&found.version, semantics)
                    != crate::requirement::Containment::Satisfied
            {
                findings.push(Finding::error(
                    "lint-python-requirement-unmet",
                    at(attr),
                    format!(
                        "{attr} {} requires `{text}`, but Home Assistant's set has {set_attr} {}: nixpkgs' runtime dependency check fails",
                        package.version, found.version
                    ),
                    "run `cargo xtask update-components` to choose a release that fits, or pin one with [python.<name>] version",
                ));
            }
        }
    }
    findings
}

/// `.nix` files under the roots, leaving out generated files, `.git`, `target` and `node_modules`.
fn nix_files(roots: &[PathBuf], generated: &BTreeSet<PathBuf>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = roots.to_vec();
    while let Some(path) = stack.pop() {
        if path.is_file() {
            if path.extension().is_some_and(|e| e == "nix") && !generated.contains(&path) {
                out.push(path);
            }
            continue;
        }
        let skip = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
            matches!(n, ".git" | "target" | "node_modules" | "fixtures") || n.starts_with('.')
        });
        if skip && !roots.contains(&path) {
            continue;
        }
        if let Ok(entries) = std::fs::read_dir(&path) {
            stack.extend(entries.flatten().map(|e| e.path()));
        }
    }
    out.sort();
    out
}

/// The checkout's snapshot, checked against the nixpkgs its flake.lock locks.
fn checkout_set(
    options: &LintOptions,
    lock: &Lock,
    snapshot_path: &Path,
    show: &dyn Fn(&Path) -> String,
    findings: &mut Vec<Finding>,
) -> Option<PythonSet> {
    let set = match PythonSet::load(snapshot_path) {
        Ok(Some(set)) => Some(set),
        Ok(None) => {
            if !lock.components.is_empty() {
                findings.push(Finding::warning(
                    "lint-no-snapshot",
                    Location::file(show(snapshot_path)),
                    "there is no snapshot of Home Assistant's Python set: requirements were not re-checked".to_owned(),
                    "run `cargo xtask update-components` (or `cargo xtask deps … --nixpkgs …`) with flake.lock present",
                ));
            }
            None
        }
        Err(e) => {
            findings.push(Finding::error(
                "lint-snapshot-invalid",
                Location::file(show(snapshot_path)),
                e.to_string(),
                "refresh it with update-components",
            ));
            None
        }
    };
    let flake_lock = options.root.join("flake.lock");
    if let Some(set) = &set
        && flake_lock.exists()
    {
        // Only locked references can be keyed offline; a folder would need hashing, still offline.
        match Nixpkgs::from_flake_lock(&flake_lock).and_then(|n| n.key()) {
            Ok(key) if key != set.nixpkgs => findings.push(Finding::error(
                "lint-snapshot-stale",
                Location::file(show(snapshot_path)),
                format!("the snapshot is of another nixpkgs than flake.lock locks ({} → {})", set.nixpkgs.rev.as_deref().unwrap_or(&set.nixpkgs.source), key.rev.as_deref().unwrap_or(&key.source)),
                "refresh it: `cargo xtask update-components` (it re-evaluates and re-checks every pin)",
            )),
            Ok(_) => {}
            Err(e) => findings.push(Finding::warning("lint-flake-lock", Location::file(show(&flake_lock)), e.to_string(), "check flake.lock")),
        }
    }
    set
}

/// The set of the nixpkgs the user's own flake.lock locks: the snapshot when it is that
/// nixpkgs, else the user's cache, else evaluated once (and cached).
fn users_set(
    options: &LintOptions,
    user_lock: &Path,
    snapshot_path: &Path,
    show: &dyn Fn(&Path) -> String,
    findings: &mut Vec<Finding>,
) -> Option<PythonSet> {
    let which = crate::pyset::Which::FlakeLock(user_lock);
    match crate::pyset::obtain(which, &options.root.join("flake.lock"), snapshot_path, true) {
        Ok(obtained) => Some(obtained.into_set()),
        Err(e) => {
            findings.push(Finding::error(
                "lint-flake-lock",
                Location::file(show(user_lock)),
                format!("cannot obtain Home Assistant's Python set of the nixpkgs it locks: {e}"),
                "check the path; a nixpkgs not evaluated before needs Nix (and, for a GitHub input, the network) once",
            ));
            None
        }
    }
}

/// The relaxations the set calls for are the ones the pin's `postPatch` makes.
fn same_relaxations(wanted: &[(String, String)], entry: &crate::lock::LockEntry) -> bool {
    entry.patches.relaxations() == wanted
}
