//! The plan's second half: every pin's requirements resolved together, so what Home
//! Assistant's set lacks is packaged from the Python index once for all components, and the
//! generated packages the lock keeps are exactly the ones some component still needs.
//!
//! Online, missing is judged against Home Assistant's set alone (a package nixpkgs has started
//! to ship replaces the generated one); the lock's packages are reused when the index still
//! serves the same file. Offline, the lock's packages stand in for the index.

use std::collections::{BTreeMap, BTreeSet};

use super::{Draft, Failure, Pending, UpdateOptions, accepted, apply_deps, resolve_entry};
use crate::config::{Components, PythonChoice};
use crate::deps::Outcome;
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
        let provided = provided(&components.python);
        let locked = usable(&old.python, set, &provided);
        let base = if options.offline {
            with(set, &locked)
        } else {
            set.clone()
        };
        let mut wanted = Vec::new();
        if !options.offline {
            for p in pending.iter().filter(|p| p.wanted.package_missing) {
                let report = resolve_entry(&p.entry, &p.wanted, &base, &provided);
                for r in &report.resolutions {
                    if let Outcome::Missing { .. } = r.outcome
                        && let Ok(req) = requirement::parse(&r.requirement)
                    {
                        wanted.push(Wanted {
                            requirement: req,
                            needed_by: format!("{}: {}", p.attr, r.requirement),
                        });
                    }
                }
            }
        }
        let mut refused = BTreeMap::new();
        if !wanted.is_empty() {
            let packaged = package(&wanted, set, old, components, options).await;
            self.python_downloads += packaged.downloads;
            for note in packaged.notes {
                self.findings
                    .entry(PYTHON_FINDINGS.to_owned())
                    .or_default()
                    .push(Finding::warning(
                        "python-index-unreachable",
                        Location::file("pkgs/components.lock.json"),
                        note,
                        "the next run with the index reachable checks for a newer release",
                    ));
            }
            refused = packaged.refused;
            self.packaged = packaged.packages;
        }
        let generated = with(&base, &self.packaged);
        for p in pending {
            let set = if p.wanted.package_missing {
                &generated
            } else {
                &base
            };
            self.settle_requirements(p, set, &provided, &refused);
        }
    }

    /// One pin: its dependencies applied, or its failure recorded and the previous pin kept.
    fn settle_requirements(
        &mut self,
        p: Pending,
        set: &PythonSet,
        provided: &[String],
        refused: &BTreeMap<String, String>,
    ) {
        let mut report = resolve_entry(&p.entry, &p.wanted, set, provided);
        // Say why a missing requirement was not packaged, where the check says it is missing.
        let switched_off = (!p.wanted.package_missing)
            .then_some("package-missing = false for this component in pkgs/components.toml");
        say_why_not_packaged(&mut report, refused, switched_off);
        let attr = p.attr.clone();
        self.findings
            .entry(attr.clone())
            .or_default()
            .extend(report.findings.iter().cloned());
        if report.buildable() {
            let mut entry = p.entry;
            apply_deps(&mut entry, &report, &p.wanted, set);
            entry.findings = accepted(&report.findings, &entry.findings, |_| true);
            self.lock.components.insert(attr, entry);
            return;
        }
        let message = if p.new_pin {
            format!("{}; the previous pin is kept", report.refusals().join("; "))
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
        match p.previous {
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
        choices: &BTreeMap<String, PythonChoice>,
    ) {
        let provided = provided(choices);
        let old_usable = match set {
            Some(set) => usable(&old.python, set, &provided),
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
                queue.extend(package.dependencies.iter().cloned());
                self.lock.python.insert(attr, package);
            }
        }
    }
}

/// `[python.<name>] provided = true` names.
fn provided(choices: &BTreeMap<String, PythonChoice>) -> Vec<String> {
    choices
        .iter()
        .filter(|(_, c)| c.provided)
        .map(|(n, _)| n.clone())
        .collect()
}

/// The lock's packages still worth generating: Home Assistant's set lacks them and the user
/// has not said nixpkgs provides them.
fn usable(
    locked: &BTreeMap<String, pypi::Package>,
    set: &PythonSet,
    provided: &[String],
) -> BTreeMap<String, pypi::Package> {
    let names = set.index();
    locked
        .iter()
        .filter(|(attr, p)| {
            names.find(&p.pname).is_none() && names.find(attr).is_none() && !provided.contains(attr)
        })
        .map(|(a, p)| (a.clone(), p.clone()))
        .collect()
}

/// `set` with `packages` added.
fn with(set: &PythonSet, packages: &BTreeMap<String, pypi::Package>) -> PythonSet {
    set.with_packages(
        packages
            .iter()
            .map(|(a, p)| (a.as_str(), p.pname.as_str(), p.version.as_str())),
    )
}

/// Packages `wanted` from the index the user's pip is configured for.
async fn package(
    wanted: &[Wanted],
    set: &PythonSet,
    old: &Lock,
    components: &Components,
    options: &UpdateOptions,
) -> pypi::resolve::Packaged {
    let reached = match &options.python_index {
        Some(url) => Ok(url.clone()),
        None => pypi::index_url("python3"),
    }
    .and_then(|index| pypi::client().map(|client| (index, client)));
    match reached {
        Ok((index, client)) => {
            pypi::resolve::package_missing(
                &client,
                &index,
                set,
                wanted,
                pypi::resolve::Context {
                    locked: Some(&old.python),
                    choices: Some(&components.python),
                    limits: options.python_limits,
                },
            )
            .await
        }
        // No index at all: what the lock already has stays; the rest cannot be packaged.
        Err(e) => {
            let packages = usable(&old.python, set, &[]);
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
    let wanted: Vec<Wanted> = first
        .resolutions
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Missing { .. }))
        .filter_map(|r| {
            Some(Wanted {
                requirement: requirement::parse(&r.requirement).ok()?,
                needed_by: format!("{}: {}", r.manifest, r.requirement),
            })
        })
        .collect();
    if wanted.is_empty() {
        return (first, pypi::resolve::Packaged::default());
    }
    let packaged = package(
        &wanted,
        set,
        &Lock::new(),
        &Components::default(),
        &UpdateOptions {
            python_index: python_index.map(str::to_owned),
            python_limits: limits,
            ..UpdateOptions::default()
        },
    )
    .await;
    let mut report =
        crate::deps::resolve(manifests, minimum, &with(set, &packaged.packages), options);
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
