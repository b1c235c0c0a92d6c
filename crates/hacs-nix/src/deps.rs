//! Requirements × Home Assistant's Python set → for each requirement the attribute that
//! satisfies it, or exactly why not and what the generator will do about it.
//!
//! The verdicts are nixpkgs' manifest check's: every requirement of every manifest it reads
//! must be installed in the component's own build environment (Home Assistant's interpreter
//! plus `dependencies`, so packages Home Assistant ships must still be listed), and its version
//! must satisfy the specifier unless the name is in `ignoreVersionRequirement` (compared as
//! spelled). Unparsable requirements are skipped by the check. Markers and extras are ignored by
//! the check, but a requirement whose marker is false for Home Assistant's Python is not needed
//! at run time.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::finding::{Finding, Location};
use crate::pyset::PythonSet;
use crate::requirement::{self, Containment, Semantics};

/// What the generator does about a requirement it cannot satisfy as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DepFix {
    /// `ignoreVersionRequirement = [ name ]`, the name as the manifest spells it.
    IgnoreVersion { name: String },
    /// Remove the requirement from the manifest in `postPatch`.
    DropRequirement { requirement: String },
    /// Rewrite the requirement in the manifest in `postPatch` (its bare name, extras kept), so
    /// the check only needs it installed: how several conflicts are fixed, since nixpkgs' hook
    /// cannot take more than one `ignoreVersionRequirement` name.
    RelaxRequirement {
        requirement: String,
        relaxed: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    Satisfied {
        attr: String,
        version: String,
    },
    VersionConflict {
        attr: String,
        version: String,
        specifier: String,
        crashes_check: bool,
    },
    Missing {
        normalized: String,
    },
    /// `attr` is the package its name still points at (put in `dependencies`), if any.
    Unparsable {
        reason: String,
        attr: Option<String>,
    },
    /// The marker is false for Home Assistant's Python.
    NotNeeded {
        marker: String,
    },
    /// The user's configuration ignores it.
    Ignored {
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Resolution {
    pub requirement: String,
    /// The manifest it came from.
    pub manifest: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<DepFix>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DepsReport {
    pub home_assistant: String,
    pub python: String,
    pub semantics: Semantics,
    pub resolutions: Vec<Resolution>,
    /// Attributes of Home Assistant's set to put in `dependencies`, sorted.
    pub dependencies: Vec<String>,
    /// Names for `ignoreVersionRequirement`, as spelled in the manifests.
    pub ignore_version_requirement: Vec<String>,
    /// Requirements to remove from the manifests in `postPatch`.
    pub drop_requirements: Vec<String>,
    /// Requirements to rewrite in the manifests in `postPatch`: original → relaxed.
    pub relax_requirements: Vec<(String, String)>,
    pub findings: Vec<Finding>,
}

/// Options from the user's configuration.
#[derive(Debug, Clone, Default)]
pub struct DepsOptions {
    /// Requirement names (any spelling) to ignore, with the reason given.
    pub ignore: Vec<(String, String)>,
    /// `platform_machine` for markers; empty: every machine the flake builds for.
    pub machine: String,
    /// PEP 503 names the user's nixpkgs provides though the set snapshot lacks them
    /// (`[python.<name>] provided = true`): taken as the attribute of that name.
    pub provided: Vec<String>,
}

/// `platform_machine` of the systems `flake.nix` builds (x86_64-linux, aarch64-linux).
pub const FLAKE_MACHINES: &[&str] = &["x86_64", "aarch64"];

/// Resolves the requirements of each `(manifest file, requirement strings)` against `set`;
/// `min_home_assistant` is hacs.json's `homeassistant` with its file.
pub fn resolve(
    manifests: &[(String, Vec<String>)],
    min_home_assistant: Option<(&str, &str)>,
    set: &PythonSet,
    options: &DepsOptions,
) -> DepsReport {
    let index = set.index();
    let semantics = set.semantics();
    // A requirement is needed if its marker holds on any system the flake builds.
    let machines: Vec<&str> = if options.machine.is_empty() {
        FLAKE_MACHINES.to_vec()
    } else {
        vec![options.machine.as_str()]
    };
    let context = Context {
        set,
        index: &index,
        semantics,
        machines: &machines,
        options,
    };
    let mut findings = Vec::new();
    let mut resolutions = Vec::new();
    for (file, requirements) in manifests {
        for (i, raw) in requirements.iter().enumerate() {
            let location = Location {
                file: file.clone(),
                key: Some(format!("requirements[{i}]")),
                ..Location::default()
            };
            let (name, outcome, fix) = classify(raw, &location, &context, &mut findings);
            resolutions.push(Resolution {
                requirement: raw.clone(),
                manifest: file.clone(),
                name,
                outcome,
                fix,
            });
        }
    }
    let conflicting: BTreeSet<String> = resolutions
        .iter()
        .filter_map(|r| match &r.fix {
            Some(DepFix::IgnoreVersion { name }) => Some(name.clone()),
            _ => None,
        })
        .collect();
    if conflicting.len() > 1 {
        relax_conflicts(
            &mut resolutions,
            &mut findings,
            &index,
            semantics,
            &conflicting,
        );
    }
    if let Some((minimum, file)) = min_home_assistant {
        check_minimum(minimum, file, &set.home_assistant, &mut findings);
    }
    summarize(set, resolutions, findings)
}

/// The report's lists, read off the resolutions: what goes into `dependencies`, the names for
/// `ignoreVersionRequirement`, and what `postPatch` removes or relaxes.
fn summarize(set: &PythonSet, resolutions: Vec<Resolution>, findings: Vec<Finding>) -> DepsReport {
    let mut dependencies = BTreeSet::new();
    let mut ignore_version = BTreeSet::new();
    let mut drop = BTreeSet::new();
    let mut relax = BTreeSet::new();
    for r in &resolutions {
        match &r.outcome {
            Outcome::Satisfied { attr, .. }
            | Outcome::VersionConflict { attr, .. }
            | Outcome::Unparsable {
                attr: Some(attr), ..
            } => {
                dependencies.insert(attr.clone());
            }
            _ => {}
        }
        match &r.fix {
            Some(DepFix::IgnoreVersion { name }) => {
                ignore_version.insert(name.clone());
            }
            Some(DepFix::DropRequirement { requirement }) => {
                drop.insert(requirement.clone());
            }
            Some(DepFix::RelaxRequirement {
                requirement,
                relaxed,
            }) => {
                relax.insert((requirement.clone(), relaxed.clone()));
            }
            None => {}
        }
    }
    DepsReport {
        home_assistant: set.home_assistant.clone(),
        python: set.python.clone(),
        semantics: set.semantics(),
        resolutions,
        dependencies: dependencies.into_iter().collect(),
        ignore_version_requirement: ignore_version.into_iter().collect(),
        drop_requirements: drop.into_iter().collect(),
        relax_requirements: relax.into_iter().collect(),
        findings,
    }
}

/// What a resolution needs besides the requirement.
struct Context<'a> {
    set: &'a PythonSet,
    index: &'a crate::pyset::NameIndex<'a>,
    semantics: Semantics,
    machines: &'a [&'a str],
    options: &'a DepsOptions,
}

/// One requirement: its name, what nixpkgs' check will say of it, and the generator's fix.
fn classify(
    raw: &str,
    location: &Location,
    context: &Context<'_>,
    findings: &mut Vec<Finding>,
) -> (Option<String>, Outcome, Option<DepFix>) {
    match requirement::parse(raw) {
        Err(unparsable) => {
            findings.push(Finding::warning(
                "deps-unparsable",
                location.clone(),
                format!("`{raw}` is not a valid requirement ({}): nixpkgs' check skips it, Home Assistant logs it as invalid", unparsable.reason),
                match &unparsable.name_hint {
                    Some(n) => format!("write it as `{n}>=…` or `{n}@git+https://…`; hacs-nix leaves it out of the dependencies"),
                    None => "ask upstream for a PEP 508 requirement (`name@git+https://…`)".to_owned(),
                },
            ));
            let attr = unparsable
                .name_hint
                .as_deref()
                .and_then(|n| context.index.find(n))
                .map(|(a, _)| a.to_owned());
            (
                unparsable.name_hint.clone(),
                Outcome::Unparsable {
                    reason: unparsable.reason,
                    attr,
                },
                None,
            )
        }
        Ok(req) => {
            let ignored = context
                .options
                .ignore
                .iter()
                .find(|(n, _)| requirement::normalize(n) == req.normalized);
            if let Some((_, reason)) = ignored {
                let fix = DepFix::DropRequirement {
                    requirement: raw.to_owned(),
                };
                (
                    Some(req.name.clone()),
                    Outcome::Ignored {
                        reason: reason.clone(),
                    },
                    Some(fix),
                )
            } else if !context
                .machines
                .iter()
                .any(|m| req.marker_holds(&context.set.python, &context.set.python_full, m))
            {
                let marker = req.marker.clone().unwrap_or_default();
                findings.push(Finding::warning(
                    "deps-marker-false",
                    location.clone(),
                    format!("`{raw}` is not needed with Python {} (`{marker}`), but nixpkgs' check ignores markers and would require it installed", context.set.python),
                    "the generator removes it from the manifest in postPatch",
                ));
                let fix = DepFix::DropRequirement {
                    requirement: raw.to_owned(),
                };
                (
                    Some(req.name.clone()),
                    Outcome::NotNeeded { marker },
                    Some(fix),
                )
            } else if context.index.find(&req.name).is_none()
                && context.options.provided.contains(&req.normalized)
            {
                findings.push(Finding::warning(
                    "deps-provided",
                    location.clone(),
                    format!("`{raw}` is taken as `{}`, which pkgs/components.toml says your nixpkgs provides; its version is not checked here", req.normalized),
                    format!("remove [python.{}] provided = true if it is not in your Home Assistant's Python set", req.normalized),
                ));
                (
                    Some(req.name.clone()),
                    Outcome::Satisfied {
                        attr: req.normalized.clone(),
                        version: "provided".to_owned(),
                    },
                    None,
                )
            } else {
                let (outcome, fix) = check_one(
                    &req,
                    raw,
                    context.index,
                    context.semantics,
                    location,
                    findings,
                );
                if context.set.core.contains(&req.normalized) {
                    core_rule(&req, raw, location, findings);
                }
                (Some(req.name.clone()), outcome, fix)
            }
        }
    }
}

fn check_one(
    req: &requirement::Requirement,
    raw: &str,
    index: &crate::pyset::NameIndex<'_>,
    semantics: Semantics,
    location: &Location,
    findings: &mut Vec<Finding>,
) -> (Outcome, Option<DepFix>) {
    let Some((attr, package)) = index.find(&req.name) else {
        findings.push(Finding::error(
            "deps-missing",
            location.clone(),
            format!("`{}` is not in Home Assistant's Python set: nixpkgs' check fails with \"{} not installed\"", req.name, req.name),
            format!(
                "package it (an overlay on Home Assistant's `packageOverrides`), or ignore it in pkgs/components.toml with a reason: `ignore = {{ \"{}\" = \"why\" }}`",
                req.name
            ),
        ));
        return (
            Outcome::Missing {
                normalized: req.normalized.clone(),
            },
            None,
        );
    };
    match req.admits(&package.version, semantics) {
        Containment::Satisfied => (
            Outcome::Satisfied {
                attr: attr.to_owned(),
                version: package.version.clone(),
            },
            None,
        ),
        containment => {
            let specifier = req
                .specifiers
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            let crashes_check = containment == Containment::Raises;
            let what = if crashes_check {
                format!(
                    "its version `{}` is not PEP 440, and the set's `packaging` raises on it",
                    package.version
                )
            } else {
                format!("`{}` is {}", attr, package.version)
            };
            findings.push(Finding::warning(
                "deps-version-conflict",
                location.clone(),
                format!("`{raw}` is not satisfied by Home Assistant's set: {what}"),
                format!(
                    "the generator adds `ignoreVersionRequirement = [ \"{}\" ]` (the name as the manifest spells it); check the integration works with {} {}",
                    req.name, attr, package.version
                ),
            ));
            let outcome = Outcome::VersionConflict {
                attr: attr.to_owned(),
                version: package.version.clone(),
                specifier,
                crashes_check,
            };
            (
                outcome,
                Some(DepFix::IgnoreVersion {
                    name: req.name.clone(),
                }),
            )
        }
    }
}

/// Several names conflict. nixpkgs' hook cannot take them through `ignoreVersionRequirement`:
/// without structured attributes the list reaches the check as one word ("unrecognized
/// arguments"), with them `domain` is no longer exported ("Derivation attribute domain (None)").
/// So each conflicting requirement is rewritten to its bare name (extras kept), which the check
/// accepts when the package is installed; where even the bare name would fail (a version that is
/// not PEP 440), the requirement is removed from the manifest and stays in `dependencies`.
fn relax_conflicts(
    resolutions: &mut [Resolution],
    findings: &mut Vec<Finding>,
    index: &crate::pyset::NameIndex<'_>,
    semantics: Semantics,
    names: &BTreeSet<String>,
) {
    for r in resolutions.iter_mut() {
        if !matches!(r.fix, Some(DepFix::IgnoreVersion { .. })) {
            continue;
        }
        let Ok(req) = requirement::parse(&r.requirement) else {
            continue;
        };
        let relaxed = if req.extras.is_empty() {
            req.name.clone()
        } else {
            format!("{}[{}]", req.name, req.extras.join(","))
        };
        let installed = index.find(&req.name).map(|(_, p)| p.version.clone());
        let accepted = installed.as_deref().is_some_and(|v| {
            requirement::parse(&relaxed)
                .is_ok_and(|bare| bare.admits(v, semantics) == Containment::Satisfied)
        });
        let help = if accepted {
            format!(
                "the generator rewrites it to `{relaxed}` in the manifest (postPatch), so nixpkgs' check only needs it installed"
            )
        } else {
            "its installed version is not PEP 440, so not even the bare name passes nixpkgs' check: the generator removes it from the manifest (postPatch) and keeps the package in `dependencies`".to_owned()
        };
        if let Some(finding) = findings.iter_mut().find(|f| {
            f.rule == "deps-version-conflict"
                && f.location.file == r.manifest
                && f.message.contains(&format!("`{}`", r.requirement))
        }) {
            finding.help = help;
        }
        r.fix = Some(if accepted {
            DepFix::RelaxRequirement {
                requirement: r.requirement.clone(),
                relaxed,
            }
        } else {
            DepFix::DropRequirement {
                requirement: r.requirement.clone(),
            }
        });
    }
    findings.push(Finding::warning(
        "deps-relaxed",
        Location::file(resolutions.first().map(|r| r.manifest.clone()).unwrap_or_default()),
        format!(
            "{} names conflict with Home Assistant's set ({}); nixpkgs' hook passes `ignoreVersionRequirement` to the check unquoted, so it takes only one name",
            names.len(),
            names.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        "the generator relaxes these requirements in the manifest instead (postPatch); structured attributes are no way out, as they hide `domain` from the check",
    ));
}

/// hassfest (2026-09): a custom integration may not list, or exact-pin, a package Home Assistant
/// itself depends on.
fn core_rule(
    req: &requirement::Requirement,
    raw: &str,
    location: &Location,
    findings: &mut Vec<Finding>,
) {
    let pinned = req
        .specifiers
        .as_ref()
        .is_some_and(|s| s.iter().any(|s| s.operator().to_string() == "=="));
    let (rule, message, help) = if pinned {
        (
            "deps-core-pin",
            format!("`{raw}` pins a package Home Assistant itself depends on"),
            "hassfest rejects this: use a minimum version (`>=`) or drop the requirement",
        )
    } else {
        (
            "deps-core-dependency",
            format!("`{raw}` is a dependency of Home Assistant itself"),
            "hassfest rejects listing it; it still goes into `dependencies`, which nixpkgs' check needs",
        )
    };
    findings.push(Finding::warning(rule, location.clone(), message, help));
}

fn check_minimum(minimum: &str, file: &str, pinned: &str, findings: &mut Vec<Finding>) {
    use std::str::FromStr;
    let parse = |v: &str| pep508_rs::pep440_rs::Version::from_str(v.trim()).ok();
    let (Some(min), Some(have)) = (parse(minimum), parse(pinned)) else {
        return;
    };
    if have < min {
        findings.push(Finding::error(
            "deps-homeassistant-too-old",
            Location { file: file.to_owned(), key: Some("homeassistant".to_owned()), ..Location::default() },
            format!("the integration needs Home Assistant {minimum} or newer, but the pinned nixpkgs has {pinned}"),
            "update nixpkgs (flake.lock), or pin an older release of the integration",
        ));
    }
}

impl DepsReport {
    /// True when every requirement is satisfied, or the generator has a fix for it.
    pub fn buildable(&self) -> bool {
        !crate::finding::has_errors(&self.findings)
            && self.resolutions.iter().all(|r| match &r.outcome {
                Outcome::Missing { .. } => false,
                // nixpkgs' check skips what it cannot parse; so does the build.
                _ => true,
            })
    }

    /// Why the build would fail, naming each requirement: empty when buildable.
    pub fn refusals(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .findings
            .iter()
            .filter(|f| f.severity == crate::finding::Severity::Error)
            .map(|f| f.message.clone())
            .collect();
        for r in &self.resolutions {
            if let Outcome::Missing { .. } = r.outcome
                && !out.iter().any(|m| m.contains(&r.requirement))
            {
                out.push(format!(
                    "`{}` is not in Home Assistant's Python set",
                    r.requirement
                ));
            }
        }
        out
    }
}
