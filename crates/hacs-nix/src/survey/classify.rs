//! One fetched repository → its class, by the same analysis `update-components` pins with.

use std::collections::BTreeSet;

use super::{Class, RepoResult};
use crate::config::Wanted;
use crate::deps::{DepFix, Outcome};
use crate::fetch::{FetchError, Fetched, SourcePreference};
use crate::finding::Severity;
use crate::forge::RepoId;
use crate::pyset::PythonSet;
use crate::update::{pin_component, resolve_entry};

/// What HACS would install of `repo`, as `update-components` would pin it.
fn wanted(repo: &RepoId) -> Wanted {
    Wanted {
        repo: repo.to_string(),
        tag: None,
        prerelease: false,
        source: SourcePreference::Auto,
        extra_dependencies: Vec::new(),
        ignore: Default::default(),
        frozen: false,
        package_missing: true,
        kind: crate::config::Kind::Integration,
    }
}

fn result(repo: &RepoId, class: Class) -> RepoResult {
    RepoResult {
        repo: repo.to_string(),
        class,
        version: None,
        domain: None,
        rules: Vec::new(),
        fixes: Vec::new(),
        packages: Vec::new(),
        reason: None,
        requirements: Vec::new(),
        packageable: None,
        unpackageable: Default::default(),
    }
}

/// The class of a fetched repository (its tree is consumed). A failed fetch is "could not
/// check" when GitHub or the network failed, and "will not build" when what HACS would install
/// is itself broken (no such asset, an archive Nix cannot unpack).
pub fn classify(
    repo: &RepoId,
    fetched: Result<Fetched, FetchError>,
    set: &PythonSet,
) -> RepoResult {
    let mut fetched = match fetched {
        Ok(f) => f,
        Err(e) => {
            let class = match e {
                FetchError::Forge(_) | FetchError::Io(_) => Class::CouldNotCheck,
                _ => Class::WillNotBuild,
            };
            return RepoResult {
                rules: vec![e.rule_id().to_owned()],
                reason: Some(e.to_string()),
                ..result(repo, class)
            };
        }
    };
    let version = Some(fetched.pin.version.clone());
    let wanted = wanted(repo);
    let mut findings = Vec::new();
    let entry = match pin_component(&repo.repo, &wanted, &mut fetched, &mut findings) {
        Ok(entry) => entry,
        Err(failure) => {
            let mut rules: BTreeSet<String> = findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| f.rule.to_owned())
                .collect();
            rules.insert(failure.rule);
            return RepoResult {
                version,
                rules: rules.into_iter().collect(),
                reason: Some(failure.message),
                ..result(repo, Class::WillNotBuild)
            };
        }
    };
    let report = resolve_entry(&entry, &wanted, set, &[]);
    let base = RepoResult {
        version,
        domain: Some(entry.domain.clone()),
        ..result(repo, Class::Builds)
    };
    // A missing package is its own class: the generator can package it.
    let errors: BTreeSet<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error && f.rule != "deps-missing")
        .map(|f| f.rule.to_owned())
        .collect();
    if !errors.is_empty() {
        return RepoResult {
            rules: errors.into_iter().collect(),
            reason: report
                .findings
                .iter()
                .find(|f| f.severity == Severity::Error && f.rule != "deps-missing")
                .map(|f| f.message.clone()),
            ..base.with_class(Class::WillNotBuild)
        };
    }
    let missing: BTreeSet<String> = report
        .resolutions
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Missing { normalized } => Some(normalized.clone()),
            _ => None,
        })
        .collect();
    if !missing.is_empty() {
        let requirements = report
            .resolutions
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Missing { .. }))
            .map(|r| r.requirement.clone())
            .collect::<BTreeSet<String>>();
        return RepoResult {
            packages: missing.into_iter().collect(),
            requirements: requirements.into_iter().collect(),
            reason: report.refusals().into_iter().next(),
            ..base.with_class(Class::NeedsPackage)
        };
    }
    let mut fixes = BTreeSet::new();
    let patches = &entry.patches;
    if !patches.stamp_version.is_empty() {
        fixes.insert("stamp-version");
    }
    if patches.rename_folder.is_some() {
        fixes.insert("install-as-domain");
    }
    if !patches.remove_symlinks.is_empty() {
        fixes.insert("remove-broken-symlink");
    }
    if entry.phases.dont_build.is_some() {
        fixes.insert("dont-build");
    }
    if entry.phases.dont_configure.is_some() {
        fixes.insert("dont-configure");
    }
    for r in &report.resolutions {
        match r.fix {
            Some(DepFix::IgnoreVersion { .. }) => fixes.insert("ignore-version-requirement"),
            Some(DepFix::DropRequirement { .. }) => fixes.insert("drop-requirement"),
            Some(DepFix::RelaxRequirement { .. }) => fixes.insert("relax-requirement"),
            None => false,
        };
    }
    if fixes.is_empty() {
        base
    } else {
        RepoResult {
            fixes: fixes.into_iter().map(str::to_owned).collect(),
            ..base.with_class(Class::BuildsWithFixes)
        }
    }
}

impl RepoResult {
    fn with_class(self, class: Class) -> Self {
        Self { class, ..self }
    }
}
