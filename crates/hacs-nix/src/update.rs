//! The main job as a pure plan: wanted list + current lock + Home Assistant's Python set +
//! GitHub → the new lock, the files to write and delete, what changed, and every finding. The
//! caller writes the plan (atomically) or prints it (`--dry-run`); nothing here touches `pkgs/`.
//!
//! A component that cannot be pinned correctly (its download fails, its manifest has errors
//! that no fix covers, a requirement cannot be met) keeps its previous pin and files; the others
//! are still updated.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::{Components, Wanted};
use crate::deps::{self, DepsOptions};
use crate::download::Progress;
use crate::fetch::{self, FetchRequest, Fetched, Fetcher, Pin};
use crate::finding::{Finding, Severity};
use crate::forge::{GitHub, RepoId};
use crate::layout::{self, Fix, LayoutOptions, SourceKind};
use crate::lock::{AcceptedFinding, Lock, LockEntry, Meta, Patches, Phases, Verified};
use crate::manifest;
use crate::nixgen;
use crate::pypi;
use crate::pyset::PythonSet;

mod diff;
mod frontend;
mod missing;
mod renderable;

pub use missing::{PYTHON_FINDINGS, resolve_packaging};

#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    /// Only these attributes (all when empty).
    pub only: Vec<String>,
    pub jobs: usize,
    /// No network: regenerate files from the lock (re-checking dependencies against the set).
    pub offline: bool,
    /// The Python index's base URL; `None`: as the user's pip is configured.
    pub python_index: Option<String>,
    /// How far packaging missing requirements may reach.
    pub python_limits: pypi::resolve::Limits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Added,
    Updated,
    /// Same release; dependencies or generated text changed (e.g. nixpkgs moved).
    Regenerated,
    Removed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub attr: String,
    pub repo: String,
    pub kind: ChangeKind,
    pub old_version: Option<String>,
    pub new_version: Option<String>,
}

/// A component that kept its previous pin (or got none), and why.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub attr: String,
    pub rule: String,
    pub message: String,
}

/// A failure as the reports show it: whether a previous pin stays in its place ("kept"), or
/// the component was never pinned ("not pinned").
#[derive(Debug, Clone, Serialize)]
pub struct ShownFailure<'a> {
    #[serde(flatten)]
    pub failure: &'a Failure,
    pub kept: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub lock: Lock,
    /// Path relative to `pkgs/` → new content; only files whose bytes change.
    pub writes: BTreeMap<String, String>,
    /// Folders under `pkgs/` to delete (components no longer wanted).
    pub removals: Vec<String>,
    pub changes: Vec<Change>,
    pub failures: Vec<Failure>,
    /// Findings per attribute (warnings accepted with the pin, and the errors of failures).
    pub findings: BTreeMap<String, Vec<Finding>>,
    /// Downloads made (0 on a rerun with nothing new).
    pub downloads: usize,
    /// The releases newly pinned, for the pull-request report.
    pub releases: BTreeMap<String, ReleaseInfo>,
    /// GitHub could not be reached, or answered only server errors, and nothing was learned:
    /// the plan writes nothing.
    pub network_down: bool,
    /// Generated Python packages added, updated or dropped.
    pub python_changes: Vec<PythonChange>,
    /// Files downloaded from the Python index.
    pub python_downloads: usize,
}

/// A generated Python package that changed.
#[derive(Debug, Clone, Serialize)]
pub struct PythonChange {
    pub attr: String,
    pub kind: ChangeKind,
    pub old_version: Option<String>,
    pub new_version: Option<String>,
    /// `sdist, setuptools` or `pure-Python wheel`; why it was dropped.
    pub detail: String,
}

/// What a front end adds to a plan before it is written (see [`Plan::finish`]).
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// `add`: the attribute added and the new text of `components.toml`.
    pub adding: Option<(String, String)>,
    /// Home Assistant's Python set was evaluated: its snapshot (`python-set.json`).
    pub evaluated_set: Option<String>,
}

/// What the report says of a newly pinned release.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseInfo {
    pub tag: String,
    pub url: Option<String>,
    pub notes: Option<String>,
}

impl Plan {
    pub fn is_noop(&self) -> bool {
        self.writes.is_empty() && self.removals.is_empty()
    }

    /// The failures, each with whether the new lock still holds a pin for it: "kept" only
    /// where a pin stays (a generated package's failure is named `python.<attr>`).
    pub fn shown_failures(&self) -> Vec<ShownFailure<'_>> {
        self.failures
            .iter()
            .map(|failure| {
                let attr = failure.attr.as_str();
                let kept = self.lock.pins(attr)
                    || attr
                        .strip_prefix("python.")
                        .is_some_and(|a| self.lock.python.contains_key(a));
                ShownFailure { failure, kept }
            })
            .collect()
    }

    /// The policy of what a run writes, whichever front end runs it:
    /// - `add` writes `components.toml` only when its component was pinned, and nothing at all
    ///   when it was not (the user's list stays as it was);
    /// - a freshly evaluated Python set is saved when its snapshot differs from `existing`;
    /// - GitHub unreachable and nothing downloaded: nothing is written, nothing removed.
    pub fn finish(&mut self, existing: &Existing, extras: Extras) {
        if let Some((attr, text)) = extras.adding {
            let pinned = (self.lock.components.contains_key(&attr)
                || self.lock.cards.contains_key(&attr)
                || self.lock.themes.contains_key(&attr))
                && !self.failures.iter().any(|f| f.attr == attr);
            if !pinned {
                self.writes.clear();
                self.removals.clear();
                return;
            }
            self.writes.insert("components.toml".to_owned(), text);
        }
        if let Some(json) = extras.evaluated_set
            && existing.get("python-set.json") != Some(&json)
        {
            self.writes.insert("python-set.json".to_owned(), json);
        }
        // No answer, or only server errors: GitHub told nothing about any component.
        self.network_down = !self.failures.is_empty()
            && self.failures.iter().all(|f| {
                matches!(
                    f.rule.as_str(),
                    "github-unreachable" | "github-server-error"
                )
            })
            && self.downloads == 0;
        if self.network_down {
            // Nothing was learned: leave every byte as it is.
            self.writes.clear();
            self.removals.clear();
        }
    }
}

/// What is on disk now: `path relative to pkgs/` → content, for the files the plan may touch.
pub type Existing = BTreeMap<String, String>;

pub async fn plan<P, B>(
    components: &Components,
    old: &Lock,
    existing: &Existing,
    set: Option<&PythonSet>,
    github: &GitHub,
    options: &UpdateOptions,
    progress: P,
) -> Plan
where
    P: Fn(&RepoId) -> B,
    B: Progress,
{
    let mut draft = Draft {
        lock: Lock {
            schema: old.schema.max(crate::lock::LOCK_SCHEMA),
            components: BTreeMap::new(),
            python: BTreeMap::new(),
            cards: BTreeMap::new(),
            themes: BTreeMap::new(),
            refused: Vec::new(),
        },
        ..Draft::default()
    };
    let (attrs, requests) = draft.requests(components, old, set, options);
    // Each component is analysed in its worker while its tree is in memory; the tree is gone
    // before the worker takes the next one, and results are settled as they complete.
    let analyse = |index: usize, result: Result<Fetched, fetch::FetchError>| {
        let attr = attrs.get(index).map_or("", String::as_str);
        match components.entries.get(attr) {
            Some(wanted) => analyse(attr, wanted, result, set),
            None => Analysed::of(result),
        }
    };
    let progress = &progress;
    let mut results = std::pin::pin!(fetch::fetch_each(
        github,
        &requests,
        options.jobs.max(1),
        progress,
        &analyse,
    ));
    while let Some((index, analysed)) = futures_util::StreamExt::next(&mut results).await {
        let Some((attr, wanted)) = attrs
            .get(index)
            .and_then(|a| Some((a, components.entries.get(a)?)))
        else {
            continue;
        };
        draft.settle(attr, wanted, old.components.get(attr), analysed, set);
    }
    draft.pending.sort_by(|a, b| a.attr.cmp(&b.attr));
    draft.pin_frontend(components, old, github, options).await;
    if let Some(set) = set {
        draft.resolve(components, old, set, options).await;
    }
    draft.keep_python(old, set, components);
    draft.into_plan(old, existing, set)
}

/// A plan being made: the new lock and what was learned on the way.
#[derive(Debug, Default)]
struct Draft {
    lock: Lock,
    failures: Vec<Failure>,
    findings: BTreeMap<String, Vec<Finding>>,
    downloads: usize,
    releases: BTreeMap<String, ReleaseInfo>,
    /// Pins whose requirements are resolved once every component is known, so the missing
    /// ones can be packaged together.
    pending: Vec<Pending>,
    /// Python packages generated in this run.
    packaged: BTreeMap<String, pypi::Package>,
    /// Files downloaded from the Python index.
    python_downloads: usize,
}

/// A pin waiting for its requirements to be resolved.
#[derive(Debug)]
struct Pending {
    attr: String,
    wanted: Wanted,
    /// The entry without its dependency fixes.
    entry: LockEntry,
    previous: Option<LockEntry>,
    /// A new release (its failure keeps the previous pin) or a pin re-checked.
    new_pin: bool,
}

impl Draft {
    /// What to fetch: selected and not frozen (online). Everything else keeps its entry,
    /// re-checked against the set; offline, a component never pinned is a failure.
    fn requests(
        &mut self,
        components: &Components,
        old: &Lock,
        set: Option<&PythonSet>,
        options: &UpdateOptions,
    ) -> (Vec<String>, Vec<FetchRequest>) {
        let selected =
            |attr: &str| options.only.is_empty() || options.only.iter().any(|o| o == attr);
        let mut requests = Vec::new();
        let mut attrs = Vec::new();
        for (attr, wanted) in &components.entries {
            if wanted.kind != crate::config::Kind::Integration {
                continue;
            }
            let previous = old.components.get(attr);
            if !selected(attr) {
                if let Some(entry) = previous {
                    self.lock.components.insert(attr.clone(), entry.clone());
                }
                continue;
            }
            let fetchable = !(options.offline || wanted.frozen && previous.is_some());
            match (fetchable, wanted.repo_id()) {
                (true, Some(repo)) => {
                    let previous_pin = previous.filter(|p| p.repo == wanted.repo).and_then(pin_of);
                    requests.push(FetchRequest {
                        repo,
                        choice: wanted.choice(),
                        source: wanted.source,
                        previous: previous_pin,
                    });
                    attrs.push(attr.clone());
                }
                (false, _) if previous.is_none() => self.failures.push(Failure {
                    attr: attr.clone(),
                    rule: "offline-unpinned".to_owned(),
                    message: "not pinned yet: run `cargo xtask update-components` online to pin it"
                        .to_owned(),
                }),
                _ => {
                    if let Some(entry) = previous {
                        let kept = self.kept(attr, wanted, entry, set);
                        self.lock.components.insert(attr.clone(), kept);
                    }
                }
            }
        }
        (attrs, requests)
    }

    /// A pin that stays: re-checked against the set when there is one.
    fn kept(
        &mut self,
        attr: &str,
        wanted: &Wanted,
        entry: &LockEntry,
        set: Option<&PythonSet>,
    ) -> LockEntry {
        if set.is_some() {
            let mut base = entry.clone();
            base.findings.retain(|f| !f.rule.starts_with("deps-"));
            self.pending.push(Pending {
                attr: attr.to_owned(),
                wanted: wanted.clone(),
                entry: base,
                previous: Some(entry.clone()),
                new_pin: false,
            });
        }
        entry.clone()
    }

    /// One fetched component: unchanged pins are re-checked, new releases pinned; a failure
    /// keeps the previous pin.
    fn settle(
        &mut self,
        attr: &str,
        wanted: &Wanted,
        previous: Option<&LockEntry>,
        analysed: Analysed,
        set: Option<&PythonSet>,
    ) {
        if !analysed.findings.is_empty() {
            self.findings
                .entry(attr.to_owned())
                .or_default()
                .extend(analysed.findings);
        }
        let outcome = match analysed.fetched {
            Err(e) => Err(Failure {
                attr: attr.to_owned(),
                rule: e.rule_id().to_owned(),
                message: e.to_string(),
            }),
            Ok(fetched) => {
                if analysed.downloaded {
                    self.downloads += 1;
                    if let Some(release) = &fetched.chosen.release {
                        let info = ReleaseInfo {
                            tag: release.tag_name.clone(),
                            url: release.html_url.clone(),
                            notes: release.body.clone(),
                        };
                        self.releases.insert(attr.to_owned(), info);
                    }
                }
                match (analysed.downloaded, previous, analysed.pinned) {
                    (false, Some(entry), _) => Ok(self.kept(attr, wanted, entry, set)),
                    (_, _, Some(pinned)) => pinned.map(|entry| {
                        self.pending.push(Pending {
                            attr: attr.to_owned(),
                            wanted: wanted.clone(),
                            entry: entry.clone(),
                            previous: previous.cloned(),
                            new_pin: true,
                        });
                        // Stands until its requirements are resolved.
                        previous.cloned().unwrap_or(entry)
                    }),
                    (_, _, None) if set.is_none() => Err(Failure {
                        attr: attr.to_owned(),
                        rule: "pyset-none".to_owned(),
                        message: format!(
                            "{} {} is new, but without Home Assistant's Python set its requirements cannot be checked; pass --nixpkgs or keep flake.lock beside pkgs/",
                            fetched.repo, fetched.pin.version
                        ),
                    }),
                    (_, _, None) => Err(Failure {
                        attr: attr.to_owned(),
                        rule: "internal".to_owned(),
                        message: "nothing was downloaded for a new pin".to_owned(),
                    }),
                }
            }
        };
        match outcome {
            Ok(entry) => {
                self.lock.components.insert(attr.to_owned(), entry);
            }
            Err(failure) => {
                self.failures.push(failure);
                if let Some(entry) = previous {
                    self.lock.components.insert(attr.to_owned(), entry.clone());
                }
            }
        }
    }

    /// The files the new lock generates, compared with what is on disk. Components no longer
    /// wanted are dropped (the others were carried over in `requests`).
    fn into_plan(mut self, old: &Lock, existing: &Existing, set: Option<&PythonSet>) -> Plan {
        self.keep_renderable(old);
        // Components finish in any order; the plan reads the same whatever it was.
        self.failures.sort_by(|a, b| a.attr.cmp(&b.attr));
        let (writes, removals) = files(&self.lock, old, existing, &mut self.failures);
        let mut changes = changes(old, &self.lock, &writes);
        changes.extend(frontend::frontend_changes(old, &self.lock));
        let python_changes = python_changes(old, &self.lock, set);
        self.releases.retain(|attr, _| {
            changes
                .iter()
                .any(|c| c.attr == *attr && c.kind != ChangeKind::Regenerated)
        });
        Plan {
            lock: self.lock,
            writes,
            removals,
            changes,
            failures: self.failures,
            findings: self.findings,
            downloads: self.downloads,
            releases: self.releases,
            network_down: false,
            python_changes,
            python_downloads: self.python_downloads,
        }
    }
}

fn pin_of(entry: &LockEntry) -> Option<Pin> {
    Some(Pin {
        version: entry.version.clone(),
        commit: entry.commit.clone()?,
        url: entry.url.clone(),
        fetcher: entry.fetcher,
        strip_root: entry.strip_root,
        hash: entry.hash.clone(),
    })
}

fn deps_options(wanted: &Wanted) -> DepsOptions {
    DepsOptions {
        ignore: wanted
            .ignore
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        machine: String::new(),
        provided: Vec::new(),
    }
}

/// The requirements of an entry resolved against `set` (Home Assistant's, with the generated
/// packages when there are any).
pub(crate) fn resolve_entry(
    entry: &LockEntry,
    wanted: &Wanted,
    set: &PythonSet,
    provided: &[String],
) -> deps::DepsReport {
    let manifests: Vec<(String, Vec<String>)> = entry
        .requirements
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let minimum = entry
        .home_assistant_min
        .as_deref()
        .map(|m| (m, "hacs.json"));
    let mut options = deps_options(wanted);
    options.provided = provided.to_vec();
    deps::resolve(&manifests, minimum, set, &options)
}

/// The first `extra-dependencies` entry the set lacks.
pub(crate) fn missing_extra<'a>(wanted: &'a Wanted, set: &PythonSet) -> Option<&'a String> {
    wanted
        .extra_dependencies
        .iter()
        .find(|d| !set.packages.contains_key(*d))
}

fn apply_deps(entry: &mut LockEntry, report: &deps::DepsReport, wanted: &Wanted, set: &PythonSet) {
    let mut dependencies: BTreeSet<String> = report.dependencies.iter().cloned().collect();
    // `settle_requirements` has refused any extra the set lacks: none is dropped here.
    debug_assert!(missing_extra(wanted, set).is_none());
    dependencies.extend(wanted.extra_dependencies.iter().cloned());
    entry.dependencies = dependencies.into_iter().collect();
    entry.ignore_version_requirement = report.ignore_version_requirement.clone();
    let mut drops: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut relax: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for r in &report.resolutions {
        match &r.fix {
            Some(deps::DepFix::DropRequirement { requirement }) => drops
                .entry(r.manifest.clone())
                .or_default()
                .push(requirement.clone()),
            Some(deps::DepFix::RelaxRequirement {
                requirement,
                relaxed,
            }) => {
                relax
                    .entry(r.manifest.clone())
                    .or_default()
                    .insert(requirement.clone(), relaxed.clone());
            }
            _ => {}
        }
    }
    entry.patches.drop_requirements = drops;
    entry.patches.relax_requirements = relax;
}

/// Accepted findings for the lock: warnings of `findings`, plus the kept ones of `old`.
fn accepted(
    findings: &[Finding],
    old: &[AcceptedFinding],
    keep_old: impl Fn(&str) -> bool,
) -> Vec<AcceptedFinding> {
    let mut out: Vec<AcceptedFinding> = old.iter().filter(|f| keep_old(&f.rule)).cloned().collect();
    out.extend(
        findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| AcceptedFinding {
                rule: f.rule.to_owned(),
                message: f.message.clone(),
            }),
    );
    out.sort_by(|a, b| (&a.rule, &a.message).cmp(&(&b.rule, &b.message)));
    out.dedup();
    out
}

/// Errors the generator's fixes take care of.
fn fixed_by(rule: &str, fixes: &[Fix]) -> bool {
    let stamps = fixes.iter().any(|f| matches!(f, Fix::StampVersion { .. }));
    let unlinks = fixes.iter().any(|f| matches!(f, Fix::RemoveSymlink { .. }));
    match rule {
        "manifest-version-invalid" | "manifest-version-missing" => stamps,
        "layout-broken-symlink" => unlinks,
        "layout-stdenv-make" => fixes.iter().any(|f| matches!(f, Fix::SkipBuild { .. })),
        "layout-stdenv-configure" => fixes.iter().any(|f| matches!(f, Fix::SkipConfigure { .. })),
        _ => false,
    }
}

/// A fetched component after its worker analysed it: the tree is gone.
#[derive(Debug)]
pub(crate) struct Analysed {
    /// The fetch's outcome, its tree dropped.
    pub fetched: Result<Fetched, fetch::FetchError>,
    pub downloaded: bool,
    /// A new release's pin, or why it cannot be pinned (only with a Python set).
    pub pinned: Option<Result<LockEntry, Failure>>,
    pub findings: Vec<Finding>,
}

impl Analysed {
    fn of(result: Result<Fetched, fetch::FetchError>) -> Self {
        let mut fetched = result;
        let downloaded = fetched.as_ref().is_ok_and(|f| !f.unchanged());
        if let Ok(f) = &mut fetched {
            f.tree = None;
        }
        Self {
            fetched,
            downloaded,
            pinned: None,
            findings: Vec::new(),
        }
    }
}

/// What the worker does with a download: pin it (when there is a set to check against).
pub(crate) fn analyse(
    attr: &str,
    wanted: &Wanted,
    result: Result<Fetched, fetch::FetchError>,
    set: Option<&PythonSet>,
) -> Analysed {
    match (result, set) {
        (Ok(mut fetched), Some(_)) if !fetched.unchanged() => {
            let mut findings = Vec::new();
            let pinned = pin_component(attr, wanted, &mut fetched, &mut findings);
            fetched.tree = None;
            Analysed {
                fetched: Ok(fetched),
                downloaded: true,
                pinned: Some(pinned),
                findings,
            }
        }
        (other, _) => Analysed::of(other),
    }
}

/// A new release, downloaded: analysed as nixpkgs would build it, its requirements resolved,
/// and turned into a lock entry with the fixes it needs, or refused with the reason.
pub(crate) fn pin_component(
    attr: &str,
    wanted: &Wanted,
    fetched: &mut Fetched,
    findings: &mut Vec<Finding>,
) -> Result<LockEntry, Failure> {
    let fail = |rule: &str, message: String| Failure {
        attr: attr.to_owned(),
        rule: rule.to_owned(),
        message,
    };
    let Some(mut tree) = fetched.tree.take() else {
        return Err(fail(
            "internal",
            "nothing was downloaded for a new pin".to_owned(),
        ));
    };
    let analysis = analyse_fetched(&mut tree, fetched);
    let requirements = hook_requirements(&mut tree, &analysis);
    drop(tree);
    if let Err(failure) = refuse_blocking(&analysis, &fail) {
        findings.extend(analysis.findings);
        return Err(failure);
    }
    let Some(domain) = analysis.manifest.as_ref().and_then(|m| m.domain.clone()) else {
        return Err(fail(
            "manifest-domain-missing",
            "the integration's manifest has no domain".to_owned(),
        ));
    };
    let minimum = minimum_home_assistant(&analysis, fetched);
    findings.extend(analysis.findings.iter().cloned());
    Ok(LockEntry {
        repo: wanted.repo.clone(),
        version: fetched.pin.version.clone(),
        commit: Some(fetched.pin.commit.clone()),
        url: fetched.pin.url.clone(),
        fetcher: fetched.pin.fetcher,
        strip_root: fetched.pin.strip_root,
        hash: fetched.pin.hash.clone(),
        domain,
        home_assistant_min: minimum,
        requirements,
        dependencies: Vec::new(),
        ignore_version_requirement: Vec::new(),
        patches: patches_for(&analysis.fixes),
        phases: phases_for(&analysis.fixes),
        meta: meta_of(fetched),
        findings: accepted(&analysis.findings, &[], |_| false),
        verified: Verified::Downloaded,
    })
}

/// The downloaded tree as nixpkgs' builder and HACS see it; hacs.json read through the API at
/// the tag counts too (a release asset rarely carries it).
fn analyse_fetched(tree: &mut crate::tree::Tree, fetched: &Fetched) -> layout::Layout {
    let kind = match fetched.pin.fetcher {
        Fetcher::FetchFromGitHub => SourceKind::SourceArchive,
        Fetcher::Fetchzip => SourceKind::ReleaseAsset,
    };
    let label = fetched
        .pin
        .url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let tag = fetched
        .chosen
        .is_tag
        .then(|| fetched.chosen.version.clone());
    let mut analysis = layout::analyse(
        tree,
        kind,
        &LayoutOptions {
            tag,
            prefix: String::new(),
            label,
        },
    );
    if analysis.hacs.is_none()
        && let Some(bytes) = &fetched.hacs_json
    {
        analysis
            .findings
            .extend(manifest::check_hacs_json("hacs.json", bytes).findings);
    }
    analysis
}

/// The first error no generated fix covers, as the component's failure.
fn refuse_blocking(
    analysis: &layout::Layout,
    fail: &dyn Fn(&str, String) -> Failure,
) -> Result<(), Failure> {
    let blocking: Vec<&Finding> = analysis
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error && !fixed_by(f.rule, &analysis.fixes))
        .collect();
    match blocking.first() {
        None => Ok(()),
        Some(first) => Err(fail(
            first.rule,
            format!(
                "{} ({} error{})",
                first.message,
                blocking.len(),
                if blocking.len() == 1 { "" } else { "s" }
            ),
        )),
    }
}

/// Requirements of every manifest nixpkgs' check reads.
fn hook_requirements(
    tree: &mut crate::tree::Tree,
    analysis: &layout::Layout,
) -> BTreeMap<String, Vec<String>> {
    let mut requirements = BTreeMap::new();
    for path in &analysis.hook_manifests {
        if let Ok(Some(bytes)) = tree.read_file(path)
            && let Some(m) = manifest::check_manifest(path, &bytes).value
        {
            requirements.insert(path.clone(), m.requirements);
        }
    }
    requirements
}

/// hacs.json's minimum Home Assistant, from the tree or from the API.
fn minimum_home_assistant(analysis: &layout::Layout, fetched: &Fetched) -> Option<String> {
    let api_hacs = fetched
        .hacs_json
        .as_deref()
        .and_then(|b| manifest::check_hacs_json("hacs.json", b).value);
    analysis
        .hacs
        .as_ref()
        .or(api_hacs.as_ref())
        .and_then(|h| h.homeassistant.clone())
}

/// The layout fixes as the lock records them (the dependency fixes come from `apply_deps`).
fn patches_for(fixes: &[Fix]) -> Patches {
    let mut patches = Patches::default();
    for fix in fixes {
        match fix {
            Fix::StampVersion { manifest, version } => {
                patches
                    .stamp_version
                    .insert(manifest.clone(), version.clone());
            }
            Fix::InstallAsDomain { folder, domain } => {
                patches.rename_folder = Some((folder.clone(), domain.clone()))
            }
            Fix::RemoveSymlink { path } => patches.remove_symlinks.push(path.clone()),
            Fix::SkipBuild { .. } | Fix::SkipConfigure { .. } => {}
        }
    }
    patches
}

/// The stdenv phases the layout fixes turn off.
fn phases_for(fixes: &[Fix]) -> Phases {
    let mut phases = Phases::default();
    for fix in fixes {
        match fix {
            Fix::SkipBuild { file } => phases.dont_build = Some(file.clone()),
            Fix::SkipConfigure { file } => phases.dont_configure = Some(file.clone()),
            _ => {}
        }
    }
    phases
}

fn meta_of(fetched: &Fetched) -> Meta {
    Meta::from_github(&fetched.repo, &fetched.info, &fetched.chosen)
}

/// The files of the new lock compared with what is on disk.
fn files(
    lock: &Lock,
    old: &Lock,
    existing: &Existing,
    failures: &mut Vec<Failure>,
) -> (BTreeMap<String, String>, Vec<String>) {
    // A component that failed keeps its old pin and its files exactly as they are.
    let failed: BTreeSet<String> = failures.iter().map(|f| f.attr.clone()).collect();
    let (mut wanted_files, errors) = nixgen::render_all(lock);
    wanted_files.retain(|path, _| {
        let attr = path.split('/').next().unwrap_or_default();
        !(failed.contains(attr) && path.ends_with("/default.nix") && existing.contains_key(path))
    });
    for (attr, e) in errors {
        failures.push(Failure {
            attr,
            rule: "nixgen".to_owned(),
            message: e.to_string(),
        });
    }
    match lock.to_json() {
        Ok(text) => {
            wanted_files.insert("components.lock.json".to_owned(), text);
        }
        Err(e) => {
            // Without the lock nothing else may be written: pins and files must agree.
            failures.push(Failure {
                attr: "components.lock.json".to_owned(),
                rule: "lock-serialise".to_owned(),
                message: e.to_string(),
            });
            return (BTreeMap::new(), Vec::new());
        }
    }
    let writes = wanted_files
        .into_iter()
        .filter(|(path, text)| existing.get(path) != Some(text))
        .collect();
    let pinned = |a: &String| lock.pins(a);
    let removals = old
        .components
        .keys()
        .chain(old.cards.keys())
        .chain(old.themes.keys())
        .filter(|a| !pinned(a))
        .cloned()
        .chain(
            old.python
                .keys()
                .filter(|a| !lock.python.contains_key(*a))
                .map(|a| format!("{}/{a}", crate::config::PYTHON_TABLE)),
        )
        .collect();
    (writes, removals)
}

fn python_changes(old: &Lock, new: &Lock, set: Option<&PythonSet>) -> Vec<PythonChange> {
    let moved = |a: &pypi::Package, b: &pypi::Package| a.version != b.version || a.hash != b.hash;
    diff::diff(&old.python, &new.python, moved, |_| false)
        .into_iter()
        .map(|d| {
            let detail = match d.new {
                Some(package) => package.built_from(),
                None => d
                    .old
                    .and_then(|p| {
                        let (attr, found) = set?.index().find(&p.pname)?;
                        Some(format!(
                            "Home Assistant's set has it now: {attr} {}",
                            found.version
                        ))
                    })
                    .unwrap_or_else(|| "no component needs it any more".to_owned()),
            };
            PythonChange {
                attr: d.attr.clone(),
                kind: d.kind,
                old_version: d.old.map(|p| p.version.clone()),
                new_version: d.new.map(|p| p.version.clone()),
                detail,
            }
        })
        .collect()
}

fn changes(old: &Lock, new: &Lock, writes: &BTreeMap<String, String>) -> Vec<Change> {
    let moved = |a: &LockEntry, b: &LockEntry| a.version != b.version || a.hash != b.hash;
    let rewritten = |attr: &str| writes.contains_key(&format!("{attr}/default.nix"));
    diff::diff(&old.components, &new.components, moved, rewritten)
        .into_iter()
        .map(|d| {
            let entry = d.new.or(d.old);
            Change {
                attr: d.attr.clone(),
                repo: entry.map(|e| e.repo.clone()).unwrap_or_default(),
                kind: d.kind,
                old_version: d.old.map(|e| e.version.clone()),
                new_version: d.new.map(|e| e.version.clone()),
            }
        })
        .collect()
}
