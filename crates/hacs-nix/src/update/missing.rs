//! The plan's second half: every pin's requirements resolved together, so what Home
//! Assistant's set lacks is packaged from the Python index once for all components, and the
//! generated packages the lock keeps are exactly the ones some component still needs.
//!
//! Online, missing is judged against Home Assistant's set alone (a package nixpkgs has started
//! to ship replaces the generated one); the lock's packages are reused when the index still
//! serves the same file. Offline, the lock's packages stand in for the index.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::{
    Draft, Failure, Pending, UpdateOptions, accepted, apply_deps, missing_extra, resolve_entry,
};
use crate::config::Components;
use crate::deps::{DepsReport, Outcome, Resolution};
use crate::finding::{Finding, Location};
use crate::lock::Lock;
use crate::pypi::{self, resolve::Wanted};
use crate::pyset::PythonSet;
use crate::requirement;

/// Where findings about generated packages (not one component's) are filed.
pub const PYTHON_FINDINGS: &str = crate::config::PYTHON_TABLE;

impl Draft {
    /// Resolves every pending pin; packages what is missing when the run is online.
    pub(super) async fn resolve(
        &mut self,
        components: &Components,
        old: &Lock,
        set: &PythonSet,
        options: &UpdateOptions,
    ) {
        let pending = std::mem::take(&mut self.pending);
        let provided = components.provided();
        let base = if options.offline {
            Cow::Owned(pypi::extend(
                set,
                &pypi::still_missing(&old.python, set, &provided),
            ))
        } else {
            Cow::Borrowed(set)
        };
        let reports: Vec<DepsReport> = pending
            .iter()
            .map(|p| resolve_entry(&p.entry, &p.wanted, &base, &provided))
            .collect();
        let mut wanted = Vec::new();
        if !options.offline {
            for (p, report) in pending.iter().zip(&reports) {
                if p.wanted.package_missing {
                    wanted.extend(missing_of(report, |r| {
                        format!("{}: {}", p.attr, r.requirement)
                    }));
                }
            }
        }
        let mut refused = BTreeMap::new();
        if !wanted.is_empty() {
            let context = pypi::resolve::Context {
                locked: Some(&old.python),
                choices: Some(&components.python),
                limits: options.python_limits,
            };
            let packaged = package(&wanted, set, options.python_index.as_deref(), context).await;
            self.python_downloads += packaged.downloads;
            self.file_python_warnings(packaged.notes, packaged.relaxed, packaged.imports);
            refused = packaged.refused;
            self.packaged = packaged.packages;
        }
        // Only a pin that missed something can resolve differently with the new packages.
        let generated = (!self.packaged.is_empty()).then(|| pypi::extend(&base, &self.packaged));
        for (p, report) in pending.into_iter().zip(reports) {
            match &generated {
                Some(generated) if p.wanted.package_missing && misses(&report) => {
                    let report = resolve_entry(&p.entry, &p.wanted, generated, &provided);
                    self.settle_requirements(p, report, generated, &refused);
                }
                _ => self.settle_requirements(p, report, &base, &refused),
            }
        }
    }

    /// What the packaging says without stopping: the index unreachable (locked packages
    /// kept), pins relaxed; filed under the generated packages' findings.
    fn file_python_warnings(
        &mut self,
        notes: Vec<String>,
        relaxed: Vec<String>,
        imports: Vec<String>,
    ) {
        const UNREACHABLE: &str =
            "the next run with the index reachable checks for a newer release";
        const RELAXED: &str = "nothing to do if it works; the next nixpkgs may meet the pin";
        const IMPORTS: &str =
            "read from the package's own files; tell its authors what its metadata misses";
        let warnings = notes
            .into_iter()
            .map(|n| (n, "python-index-unreachable", UNREACHABLE))
            .chain(relaxed.into_iter().map(|r| (r, "python-relaxed", RELAXED)))
            .chain(
                imports
                    .into_iter()
                    .map(|i| (i, "python-import-check", IMPORTS)),
            );
        let filed = self.findings.entry(PYTHON_FINDINGS.to_owned()).or_default();
        for (message, rule, help) in warnings {
            filed.push(Finding::warning(
                rule,
                Location::file("pkgs/components.lock.json"),
                message,
                help,
            ));
        }
    }

    /// One pin: its dependencies applied, or its failure recorded and the previous pin kept.
    fn settle_requirements(
        &mut self,
        p: Pending,
        mut report: DepsReport,
        set: &PythonSet,
        refused: &BTreeMap<String, String>,
    ) {
        // Say why a missing requirement was not packaged, where the check says it is missing.
        let switched_off = (!p.wanted.package_missing)
            .then_some("package-missing = false for this component in pkgs/components.toml");
        say_why_not_packaged(&mut report, refused, switched_off);
        let attr = p.attr.clone();
        self.findings
            .entry(attr.clone())
            .or_default()
            .extend(report.findings.iter().cloned());
        // The same rule for a new release and a pin re-checked: an extra the set lacks fails
        // the component (its previous pin, if any, stays), never silently dropped.
        if let Some(extra) = missing_extra(&p.wanted, set) {
            let message = format!(
                "extra-dependencies in pkgs/components.toml names `{extra}`, which Home Assistant's Python set lacks; remove it or name an attribute of the set"
            );
            self.failures.push(Failure {
                attr: attr.clone(),
                rule: "config-extra-dependency".to_owned(),
                message,
            });
            self.restore(attr, p.previous);
            return;
        }
        if report.buildable() {
            let mut entry = p.entry;
            apply_deps(&mut entry, &report, &p.wanted, set);
            entry.findings = accepted(&report.findings, &entry.findings, |_| true);
            self.lock.components.insert(attr, entry);
            return;
        }
        let message = if p.new_pin {
            report.refusals().join("; ")
        } else {
            format!(
                "its requirements are no longer met by Home Assistant's Python set: {}",
                report.refusals().join("; ")
            )
        };
        self.failures.push(Failure {
            attr: attr.clone(),
            rule: "deps-unsatisfiable".to_owned(),
            message,
        });
        self.restore(attr, p.previous);
    }

    /// A failed pin: the previous entry stands, or nothing is pinned.
    fn restore(&mut self, attr: String, previous: Option<crate::lock::LockEntry>) {
        match previous {
            Some(previous) => {
                self.lock.components.insert(attr, previous);
            }
            None => {
                self.lock.components.remove(&attr);
            }
        }
    }

    /// The generated packages the new lock keeps: those some component's dependencies reach,
    /// taken from this run's packaging, else from the old lock (components not re-resolved,
    /// offline runs) unless Home Assistant's set now has them.
    pub(super) fn keep_python(
        &mut self,
        old: &Lock,
        set: Option<&PythonSet>,
        components: &Components,
    ) {
        let old_usable = match set {
            Some(set) => pypi::still_missing(&old.python, set, &components.provided()),
            None => old.python.clone(),
        };
        let mut queue: Vec<String> = self
            .lock
            .components
            .values()
            .flat_map(|e| e.dependencies.iter().cloned())
            .collect();
        let mut seen = BTreeSet::new();
        while let Some(attr) = queue.pop() {
            if !seen.insert(attr.clone()) {
                continue;
            }
            let package = self
                .packaged
                .get(&attr)
                .or_else(|| old_usable.get(&attr))
                .cloned();
            if let Some(package) = package {
                queue.extend(package.needs().cloned());
                self.lock.python.insert(attr, package);
            }
        }
    }
}

/// The requirements of `report` Home Assistant's set lacks, to package; `needed_by` says who
/// asked for each.
fn missing_of(report: &DepsReport, needed_by: impl Fn(&Resolution) -> String) -> Vec<Wanted> {
    report
        .resolutions
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Missing { .. }))
        .filter_map(|r| {
            Some(Wanted {
                requirement: requirement::parse(&r.requirement).ok()?,
                needed_by: needed_by(r),
            })
        })
        .collect()
}

/// Whether a report has something generated packages could change: a missing requirement, or an
/// unparsable one whose name matched nothing.
fn misses(report: &DepsReport) -> bool {
    report.resolutions.iter().any(|r| {
        matches!(
            r.outcome,
            Outcome::Missing { .. } | Outcome::Unparsable { attr: None, .. }
        )
    })
}

/// Packages `wanted` from the index the user's pip is configured for.
async fn package(
    wanted: &[Wanted],
    set: &PythonSet,
    index: Option<&str>,
    context: pypi::resolve::Context<'_>,
) -> pypi::resolve::Packaged {
    let reached = pypi::reach(index);
    match reached {
        Ok((index, client)) => {
            pypi::resolve::package_missing(&client, &index, set, wanted, context).await
        }
        // No index at all: what the lock already has stays; the rest cannot be packaged.
        Err(e) => {
            let packages = context
                .locked
                .map(|locked| pypi::still_missing(locked, set, &[]))
                .unwrap_or_default();
            let refused = wanted
                .iter()
                .filter(|w| !packages.contains_key(&w.requirement.normalized))
                .map(|w| (w.requirement.normalized.clone(), e.to_string()))
                .collect();
            let notes = if packages.is_empty() {
                Vec::new()
            } else {
                vec![format!(
                    "{e}; the generated packages of the lock are kept as they are"
                )]
            };
            pypi::resolve::Packaged {
                packages,
                refused,
                notes,
                downloads: 0,
                relaxed: Vec::new(),
                imports: Vec::new(),
            }
        }
    }
}

/// `deps` with packaging: the report of `manifests` against `set`, the requirements the set
/// lacks packaged from the index first (and the report made against the set with them), with a
/// `deps-not-packaged` error naming why for each that could not be.
pub async fn resolve_packaging(
    manifests: &[(String, Vec<String>)],
    minimum: Option<(&str, &str)>,
    set: &PythonSet,
    options: &crate::deps::DepsOptions,
    python_index: Option<&str>,
    limits: pypi::resolve::Limits,
) -> (crate::deps::DepsReport, pypi::resolve::Packaged) {
    let first = crate::deps::resolve(manifests, minimum, set, options);
    let wanted = missing_of(&first, |r| format!("{}: {}", r.manifest, r.requirement));
    if wanted.is_empty() {
        return (first, pypi::resolve::Packaged::default());
    }
    let context = pypi::resolve::Context {
        limits,
        ..pypi::resolve::Context::default()
    };
    let packaged = package(&wanted, set, python_index, context).await;
    let mut report = crate::deps::resolve(
        manifests,
        minimum,
        &pypi::extend(set, &packaged.packages),
        options,
    );
    say_why_not_packaged(&mut report, &packaged.refused, None);
    (report, packaged)
}

/// A `deps-not-packaged` error for each requirement still missing, with the reason it was not
/// packaged (`otherwise` when the packaging did not try).
fn say_why_not_packaged(
    report: &mut crate::deps::DepsReport,
    refused: &BTreeMap<String, String>,
    otherwise: Option<&str>,
) {
    for r in &report.resolutions {
        if let Outcome::Missing { normalized } = &r.outcome
            && let Some(why) = refused.get(normalized).map(String::as_str).or(otherwise)
        {
            report.findings.push(Finding::error(
                "deps-not-packaged",
                Location {
                    file: r.manifest.clone(),
                    ..Location::default()
                },
                format!("`{}` could not be packaged: {why}", r.requirement),
                format!(
                    "package it by hand and mark it with [python.{normalized}] provided = true, or ignore it in pkgs/components.toml with a reason"
                ),
            ));
        }
    }
}
