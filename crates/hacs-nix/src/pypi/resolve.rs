//! Missing requirements → the packages to generate: each chosen on the index, downloaded and
//! verified, read from its own metadata, and its requirements resolved against Home
//! Assistant's set in turn, breadth first, within a depth and a count, cycles joined.
//!
//! A package already in the lock whose chosen file is unchanged is reused without a download;
//! when the index cannot be reached, the locked package stays (with a note).

use futures_util::StreamExt;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{Kind, Package, PypiError, build_system, choose_file, download, metadata, project};
use crate::config::PythonChoice;
use crate::pyset::PythonSet;
use crate::requirement::{self, Containment, Requirement};

/// How far the packaging may reach.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Levels of requirements below the component's own.
    pub depth: usize,
    /// Packages generated at most for one requirement tree (a component's missing requirement
    /// and everything it pulls in): a typo cannot package half the index, and a checkout's
    /// other components never change a component's verdict.
    pub count: usize,
    /// Requirements of one level looked up at once (index pages and downloads overlap);
    /// 1 is one after another. The verdicts are the same either way.
    pub jobs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 4,
            count: 16,
            jobs: 8,
        }
    }
}

/// What the packaging may reuse and what the user chose.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// Packages of the current lock, by attribute.
    pub locked: Option<&'a BTreeMap<String, Package>>,
    /// `[python.<name>]` choices, by PEP 503 name.
    pub choices: Option<&'a BTreeMap<String, PythonChoice>>,
    pub limits: Limits,
}

/// What could be packaged, and what not with the reason.
#[derive(Debug, Clone, Default)]
pub struct Packaged {
    /// Attribute → package, for every generated package.
    pub packages: BTreeMap<String, Package>,
    /// PEP 503 name → why it was not packaged.
    pub refused: BTreeMap<String, String>,
    /// Things the user should know that do not stop the packaging (a locked package kept
    /// because the index could not be reached).
    pub notes: Vec<String>,
    /// Files downloaded.
    pub downloads: usize,
    /// Pins of generated packages relaxed with `pythonRelaxDeps`, each said as a warning.
    pub relaxed: Vec<String>,
    /// What their import checks needed: an undeclared import added from the set, Home
    /// Assistant given to a check, a module left out; each said as a warning.
    pub imports: Vec<String>,
}

/// One missing requirement and who asked for it (`component: requirement`).
#[derive(Debug, Clone)]
pub struct Wanted {
    pub requirement: Requirement,
    pub needed_by: String,
}

/// Packages `missing` (requirements Home Assistant's set lacks) and, recursively, what they
/// need that the set lacks.
pub async fn package_missing(
    client: &reqwest::Client,
    index: &str,
    set: &PythonSet,
    missing: &[Wanted],
    context: Context<'_>,
) -> Packaged {
    let names = set.index();
    let semantics = set.semantics();
    let limits = context.limits;
    let mut out = Packaged::default();
    let mut needed_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut queue: VecDeque<(Requirement, usize)> = VecDeque::new();
    for wanted in missing {
        let name = &wanted.requirement.normalized;
        needed_by
            .entry(name.clone())
            .or_default()
            .insert(wanted.needed_by.clone());
        if !queue.iter().any(|(r, _)| &r.normalized == name) {
            queue.push_back((wanted.requirement.clone(), 0));
        }
    }
    let mut queued: BTreeSet<String> = queue.iter().map(|(r, _)| r.normalized.clone()).collect();
    let roots: Vec<String> = queued.iter().cloned().collect();
    // A bound on the whole walk: it is reached only when some tree is over the per-tree cap
    // (the trees together cannot hold more), which `cap_each_tree` then refuses.
    let walk_bound = limits
        .count
        .saturating_mul(roots.len().max(1))
        .saturating_add(1);
    while !queue.is_empty() {
        // One breadth-first level at a time: its requirements are looked up concurrently, and
        // the results taken in queue order, so every verdict is the one a walk one after
        // another gives (what a level adds goes behind it, as before).
        let level: Vec<(Requirement, usize, PythonChoice, Option<&Package>)> = queue
            .drain(..)
            .map(|(req, depth)| {
                let choice = context
                    .choices
                    .and_then(|c| c.get(&req.normalized))
                    .cloned()
                    .unwrap_or_default();
                let locked = context.locked.and_then(|l| l.get(&req.normalized));
                (req, depth, choice, locked)
            })
            .collect();
        let results: Vec<Result<Got, String>> = futures_util::stream::iter(
            level
                .iter()
                .map(|(req, _, choice, locked)| one(client, index, set, req, choice, *locked)),
        )
        .buffered(limits.jobs.max(1))
        .collect()
        .await;
        for ((req, depth, _, _), result) in level.into_iter().zip(results) {
            if out.packages.len() >= walk_bound {
                out.refused.insert(
                req.normalized.clone(),
                format!(
                    "not looked at: the requirement trees of this run reach more than {walk_bound} packages"
                ),
            );
                continue;
            }
            let package = match result {
                Ok(Got {
                    package,
                    downloaded,
                    note,
                    relaxed,
                }) => {
                    out.downloads += usize::from(downloaded);
                    out.notes.extend(note);
                    out.relaxed.extend(relaxed);
                    match place_requirements(&package, &names, semantics, &set.home_assistant) {
                        Err(reason) => {
                            out.refused.insert(req.normalized.clone(), reason);
                            continue;
                        }
                        Ok(Placed {
                            dependencies,
                            missing,
                            relax,
                            check_inputs,
                        }) => {
                            out.relaxed.extend(relax.iter().map(|(_, why)| why.clone()));
                            let relax_deps = relax.into_iter().map(|(name, _)| name).collect();
                            let (build_system, build_missing) = place_build(&package, &names);
                            let asked = missing
                                .into_iter()
                                .map(|dep| (format!("{}: {}", package.attr, dep.raw), dep))
                                .chain(build_missing.into_iter().map(|dep| {
                                    (format!("{} (its build): {}", package.attr, dep.raw), dep)
                                }));
                            for (by, dep) in asked {
                                needed_by
                                    .entry(dep.normalized.clone())
                                    .or_default()
                                    .insert(by);
                                if queued.insert(dep.normalized.clone()) {
                                    if depth + 1 > limits.depth {
                                        out.refused.insert(
                                        dep.normalized.clone(),
                                        format!(
                                            "needed {} levels below the component, beyond the limit of {}",
                                            depth + 2,
                                            limits.depth + 1
                                        ),
                                    );
                                    } else {
                                        queue.push_back((dep, depth + 1));
                                    }
                                }
                            }
                            Package {
                                dependencies,
                                relax_deps,
                                build_system,
                                check_inputs,
                                imports_left_out: Vec::new(),
                                ..package
                            }
                        }
                    }
                }
                Err(reason) => {
                    out.refused.insert(req.normalized.clone(), reason);
                    continue;
                }
            };
            out.packages.insert(package.attr.clone(), package);
        }
    }
    // Packages that need each other cannot be built by nixpkgs' Python builder (each would be
    // an input of the other's derivation).
    for cycle in cycles(&out.packages) {
        let path = cycle.join(" → ");
        for attr in &cycle {
            out.packages.remove(attr);
            out.refused.insert(
                attr.clone(),
                format!("its requirements form a cycle ({path} → {}), which nixpkgs cannot build: package it by hand", cycle[0]),
            );
        }
    }
    // A package needing one that could not be packaged cannot be built either.
    loop {
        let broken: Vec<(String, String, &str)> = out
            .packages
            .iter()
            .filter_map(|(attr, p)| {
                let lacking =
                    |d: &&String| names.find(d).is_none() && !out.packages.contains_key(d.as_str());
                p.dependencies
                    .iter()
                    .find(lacking)
                    .map(|d| (attr.clone(), d.clone(), "it needs"))
                    .or_else(|| {
                        p.build_system
                            .iter()
                            .find(lacking)
                            .map(|d| (attr.clone(), d.clone(), "its build needs"))
                    })
            })
            .collect();
        if broken.is_empty() {
            break;
        }
        for (attr, dep, needs) in broken {
            out.packages.remove(&attr);
            // The reason travels up: "could not be packaged" alone says nothing to act on.
            let why = out
                .refused
                .get(&dep)
                .map_or_else(String::new, |reason| format!(" ({reason})"));
            out.refused.insert(
                attr,
                format!("{needs} `{dep}`, which could not be packaged{why}"),
            );
        }
    }
    // What the import check needs, now that every generated package is known.
    let placed: Vec<(String, super::import_check::Placed)> = out
        .packages
        .iter()
        .map(|(attr, p)| {
            (
                attr.clone(),
                super::import_check::place(p, &out.packages, &names),
            )
        })
        .collect();
    for (attr, placed) in placed {
        if let Some(package) = out.packages.get_mut(&attr) {
            package.dependencies.extend(placed.added);
            package.dependencies.sort();
            package.dependencies.dedup();
            for input in placed.check_inputs {
                if !package.check_inputs.contains(&input) {
                    package.check_inputs.push(input);
                }
            }
            package.imports_left_out = placed.left_out;
            out.imports.extend(placed.warnings);
        }
    }
    cap_each_tree(&mut out, &roots, limits.count);
    for (attr, package) in &mut out.packages {
        package.needed_by = needed_by
            .get(attr)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
    }
    out
}

/// The generated packages `root` reaches, itself included, in name order.
fn tree_of(packages: &BTreeMap<String, Package>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(attr) = stack.pop() {
        if let Some(package) = packages.get(&attr)
            && seen.insert(attr)
        {
            stack.extend(package.needs().cloned());
        }
    }
    seen
}

/// The cap, per requirement tree: a missing requirement whose tree would generate more than
/// `count` packages is refused with the packages it would have taken; what no other tree
/// needs goes with it.
fn cap_each_tree(out: &mut Packaged, roots: &[String], count: usize) {
    let mut kept_roots = Vec::new();
    for root in roots {
        let tree = tree_of(&out.packages, root);
        if tree.len() > count {
            let names: Vec<String> = tree.into_iter().collect();
            out.refused.insert(
                root.clone(),
                format!(
                    "its requirement tree would generate {} packages ({}), more than the limit of {count} per requirement that keeps a typo from packaging half the index: package some of them by hand (`[python.<name>] provided = true` in components.toml names one you provide)",
                    names.len(),
                    names.join(", ")
                ),
            );
        } else if out.packages.contains_key(root) {
            kept_roots.push(root.clone());
        }
    }
    let needed: BTreeSet<String> = kept_roots
        .iter()
        .flat_map(|r| tree_of(&out.packages, r))
        .collect();
    out.packages.retain(|attr, _| needed.contains(attr));
}

/// Every cycle among the generated packages' dependencies, each as its members in order
/// (Tarjan's strongly connected components; a package needing itself counts).
fn cycles(packages: &BTreeMap<String, Package>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        packages: &'a BTreeMap<String, Package>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, attr: &'a str) {
            let n = self.index.len();
            self.index.insert(attr, n);
            self.low.insert(attr, n);
            self.stack.push(attr);
            let deps: Vec<&'a String> = self
                .packages
                .get(attr)
                .map(|p| p.needs().collect())
                .unwrap_or_default();
            for dep in deps
                .into_iter()
                .filter(|d| self.packages.contains_key(d.as_str()))
            {
                let dep = dep.as_str();
                let seen = self.index.get(dep).copied();
                let reach = match seen {
                    None => {
                        self.visit(dep);
                        self.low.get(dep).copied()
                    }
                    Some(n) if self.stack.contains(&dep) => Some(n),
                    Some(_) => None,
                };
                if let Some(reach) = reach
                    && reach < self.low.get(attr).copied().unwrap_or(usize::MAX)
                {
                    self.low.insert(attr, reach);
                }
            }
            if self.low.get(attr) == self.index.get(attr) {
                let mut members = Vec::new();
                while let Some(top) = self.stack.pop() {
                    members.push(top.to_owned());
                    if top == attr {
                        break;
                    }
                }
                let needs_itself = self
                    .packages
                    .get(attr)
                    .is_some_and(|p| p.needs().any(|d| d == attr));
                if members.len() > 1 || needs_itself {
                    members.reverse();
                    self.found.push(members);
                }
            }
        }
    }
    let mut walk = Walk {
        packages,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for attr in packages.keys() {
        if !walk.index.contains_key(attr.as_str()) {
            walk.visit(attr);
        }
    }
    walk.found
}

/// A package's requirements placed: attributes of the set (whose versions must satisfy them,
/// since nixpkgs' runtime-dependency check reads the built wheel's metadata) and the
/// requirements the set lacks, to package in turn.
/// Where a package's requirements are: the set's attributes (and the names to relax, with a
/// warning each), or missing (to package next).
struct Placed {
    dependencies: Vec<String>,
    missing: Vec<Requirement>,
    /// Names as the package's metadata spells them, for `pythonRelaxDeps`, and why.
    relax: Vec<(String, String)>,
    /// `home-assistant` where it requires `homeassistant` (`import_check::HOME_ASSISTANT`).
    check_inputs: Vec<String>,
}

/// Whether the requirement allows some release of the set's major version: then a pin to
/// another release of it (`grpcio==1.72.1` against 1.85.3, `eth-account<0.14` against 0.14.0)
/// is relaxed; a requirement that allows no release of that major (`aiohttp<3` against
/// 3.12, `aiofiles~=24.1` against 25.1) is the metadata saying it needs another major's API.
/// Probed at the major's first and a late release, and at the requirement's own versions of it.
fn allows_the_major(
    requirement: &Requirement,
    version: &str,
    semantics: requirement::Semantics,
) -> bool {
    let Ok(found) = version.parse::<pep440_rs::Version>() else {
        return false;
    };
    let Some(major) = found.release().first().copied() else {
        return false;
    };
    let mut probes = vec![format!("{major}.0"), format!("{major}.999999")];
    if let Some(specifiers) = &requirement.specifiers {
        probes.extend(
            specifiers
                .iter()
                .map(|s| s.version())
                .filter(|v| v.release().first() == Some(&major))
                .map(ToString::to_string),
        );
    }
    probes
        .iter()
        .any(|probe| requirement.admits(probe, semantics) == Containment::Satisfied)
}

fn place_requirements(
    package: &Package,
    names: &crate::pyset::NameIndex<'_>,
    semantics: requirement::Semantics,
    home_assistant: &str,
) -> Result<Placed, String> {
    let mut dependencies = BTreeSet::new();
    let mut missing = Vec::new();
    let mut relax = Vec::new();
    let mut check_inputs = Vec::new();
    for text in &package.requires {
        let dep = requirement::parse(text).map_err(|e| {
            format!(
                "{} {} requires `{text}`, which cannot be read ({}): package it by hand",
                package.attr, package.version, e.reason
            )
        })?;
        if dep.url.is_some() {
            return Err(format!(
                "{} {} requires `{text}` from a URL, which a Nix build cannot fetch: package it by hand",
                package.attr, package.version
            ));
        }
        if dep.normalized == "homeassistant" {
            // It runs inside Home Assistant, which is no package of the set: given to its
            // checks (nixpkgs' runtime dependency check reads it there), never packaged.
            let ha = super::import_check::HOME_ASSISTANT;
            if dep.admits(home_assistant, semantics) != Containment::Satisfied {
                relax.push((
                    dep.name.clone(),
                    format!(
                        "{} {} requires `{text}`; this nixpkgs has Home Assistant {home_assistant}: relaxed with `pythonRelaxDeps`",
                        package.attr, package.version
                    ),
                ));
            }
            if !check_inputs.iter().any(|c| c == ha) {
                check_inputs.push(ha.to_owned());
            }
            continue;
        }
        match names.find(&dep.name) {
            Some((attr, found)) => {
                if dep.admits(&found.version, semantics) != Containment::Satisfied {
                    if !allows_the_major(&dep, &found.version, semantics) {
                        return Err(format!(
                            "{} {} requires `{text}`, but Home Assistant's set has {} {}, another major version than it allows: nixpkgs' runtime dependency check would fail, and relaxing it would run it against an API it does not name; package it by hand",
                            package.attr, package.version, attr, found.version
                        ));
                    }
                    relax.push((
                        dep.name.clone(),
                        format!(
                            "{} {} requires `{text}`; Home Assistant's set has {} {}: relaxed with `pythonRelaxDeps`, as nixpkgs does for such pins",
                            package.attr, package.version, attr, found.version
                        ),
                    ));
                }
                dependencies.insert(attr.to_owned());
            }
            None => {
                dependencies.insert(dep.normalized.clone());
                missing.push(dep);
            }
        }
    }
    Ok(Placed {
        dependencies: dependencies.into_iter().collect(),
        missing,
        relax,
        check_inputs,
    })
}

/// A package's build requirements the set lacked (`build_missing`) placed again: where the
/// set has one by now, its attribute replaces the generated name; the others are asked for
/// (on a reuse from the lock too, so the generated build requirement is kept).
fn place_build(
    package: &Package,
    names: &crate::pyset::NameIndex<'_>,
) -> (Vec<String>, Vec<Requirement>) {
    let mut attrs: BTreeSet<String> = package.build_system.iter().cloned().collect();
    let mut missing = Vec::new();
    for text in &package.build_missing {
        let Ok(req) = requirement::parse(text) else {
            continue;
        };
        match names.find(&req.name) {
            Some((attr, _)) => {
                attrs.remove(&req.normalized);
                attrs.insert(attr.to_owned());
            }
            None => {
                attrs.insert(req.normalized.clone());
                missing.push(req);
            }
        }
    }
    (attrs.into_iter().collect(), missing)
}

struct Got {
    package: Package,
    downloaded: bool,
    note: Option<String>,
    /// Build requirements relaxed, one sentence each.
    relaxed: Vec<String>,
}

/// One requirement: chosen, downloaded, verified, read; or the locked package when its file is
/// still the one chosen (or the index cannot be reached).
async fn one(
    client: &reqwest::Client,
    index: &str,
    set: &PythonSet,
    req: &Requirement,
    choice: &PythonChoice,
    locked: Option<&Package>,
) -> Result<Got, String> {
    if !crate::names::is_nix_identifier(&req.normalized) {
        return Err(format!(
            "`{}` cannot be a Nix attribute name: package it by hand",
            req.normalized
        ));
    }
    if crate::names::RESERVED_ARGUMENTS.contains(&req.normalized.as_str()) {
        return Err(format!(
            "a generated package called `{}` would shadow the `{}` argument the generated files take; it cannot be generated: package it by hand in an overlay of Home Assistant's Python set",
            req.normalized, req.normalized
        ));
    }
    let pinned;
    let req = match choice.requirement(&req.normalized) {
        Some(text) => {
            pinned = requirement::parse(&text)
                .map_err(|e| format!("[python.{}] version: {}", req.normalized, e.reason))?;
            &pinned
        }
        None => req,
    };
    let files = match (project(client, index, &req.normalized).await, locked) {
        (Ok(files), _) => files,
        (Err(PypiError::Http { url, detail }), Some(package)) => {
            let package = package.clone();
            let note = format!(
                "{url}: {detail}; kept {} {} as locked",
                package.attr, package.version
            );
            return Ok(Got {
                package,
                downloaded: false,
                note: Some(note),
                relaxed: Vec::new(),
            });
        }
        (Err(e), _) => return Err(e.to_string()),
    };
    let chosen = choose_file(&files, req, &set.python_full, choice.wheel).map_err(|e| {
        format!(
            "{e}: package it by hand, or choose a version with [python.{}] version = \"…\"",
            req.normalized
        )
    })?;
    let extra_build = |mut package: Package| {
        package
            .build_system
            .extend(choice.build_inputs.iter().cloned());
        package.build_system.sort();
        package.build_system.dedup();
        package
    };
    // Reused without a download while its file is unchanged, once its files have been read
    // for the import check (an entry of an older hacs-nix has not).
    if let Some(package) = locked
        && package.module_imports.is_some()
        && package.file == chosen.file.filename
        && crate::hash::Sha256Digest::parse(&package.hash)
            .is_ok_and(|d| d.to_hex().eq_ignore_ascii_case(&chosen.sha256))
    {
        return Ok(Got {
            package: extra_build(package.clone()),
            downloaded: false,
            note: None,
            relaxed: Vec::new(),
        });
    }
    let mut file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    let digest = download(client, &chosen, file.as_file_mut())
        .await
        .map_err(|e| e.to_string())?;
    let meta = metadata::read(
        file.path(),
        &chosen.file.filename,
        &req.extras,
        (&set.python, &set.python_full),
    )
    .map_err(|e| e.to_string())?;
    let wheel = chosen.kind == Kind::PureWheel;
    let build = if wheel {
        super::BuildSystem::default()
    } else {
        if let Some(native) = &meta.native {
            return Err(format!(
                "{} {}: {native}, so it compiles code, which hacs-nix does not package: write it by hand",
                req.normalized, meta.version
            ));
        }
        build_system(&meta, set).map_err(|e| {
            format!(
                "{} {}: {e}: write it by hand (or add what it needs with [python.{}] build-inputs)",
                req.normalized, meta.version, req.normalized
            )
        })?
    };
    let named = spelling(&chosen.file.filename).ok_or_else(|| {
        format!(
            "{}: the file name `{}` is neither `<name>-<version>.<ext>` nor a wheel's: package it by hand",
            req.normalized, chosen.file.filename
        )
    })?;
    // The file itself names the version fetchPypi asks for; it must be the metadata's
    // release (a normalised spelling such as `2024.1.5` for `2024.01.5` is the same).
    let parsed = |v: &str| v.parse::<pep440_rs::Version>().ok();
    if named.version != meta.version
        && (parsed(&named.version).is_none() || parsed(&named.version) != parsed(&meta.version))
    {
        return Err(format!(
            "{}: the file `{}` is named for version {}, its metadata says {}: package it by hand",
            req.normalized, chosen.file.filename, named.version, meta.version
        ));
    }
    let Spelling {
        pname,
        version,
        extension,
        python_tag,
        fetch_pypi,
    } = named;
    let python_tag = if wheel { python_tag } else { None };
    // A file fetchPypi cannot name (a wheel with a build tag) is fetched from its own URL.
    let url = (!fetch_pypi).then(|| chosen.file.url.clone());
    let package = Package {
        attr: req.normalized.clone(),
        pname,
        version,
        file: chosen.file.filename.clone(),
        url,
        extension,
        python_tag,
        hash: digest.to_sri(),
        build_system: build.attrs,
        build_missing: build.missing,
        build_relax: build.relax,
        dependencies: Vec::new(),
        requires: meta.requires.clone(),
        import_names: meta.import_names.clone(),
        module_imports: Some(meta.module_imports.clone()),
        check_inputs: Vec::new(),
        imports_left_out: Vec::new(),
        relax_deps: Vec::new(),
        summary: meta.summary.clone(),
        homepage: meta.homepage.clone(),
        license: meta.license.clone(),
        needed_by: Vec::new(),
    };
    Ok(Got {
        package: extra_build(package),
        downloaded: true,
        note: None,
        relaxed: build.warnings,
    })
}

/// What a file's own name says: the name and version as it spells them (what `fetchPypi`
/// puts in its URL), the extension, a wheel's Python tag, and whether `fetchPypi` can name
/// the file at all (not a wheel with a build tag, nor one for another ABI or platform).
#[derive(Debug, PartialEq, Eq)]
struct Spelling {
    pname: String,
    version: String,
    extension: String,
    python_tag: Option<String>,
    fetch_pypi: bool,
}

fn spelling(filename: &str) -> Option<Spelling> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        // {name}-{version}(-{build})?-{python}-{abi}-{platform}
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, rest) = match parts.as_slice() {
            [name, version, rest @ ..] if rest.len() == 3 || rest.len() == 4 => {
                (*name, *version, rest)
            }
            _ => return None,
        };
        let tags = &rest[rest.len() - 3..];
        return Some(Spelling {
            pname: name.to_owned(),
            version: version.to_owned(),
            extension: "whl".to_owned(),
            python_tag: Some(tags[0].to_owned()),
            fetch_pypi: rest.len() == 3 && tags[1] == "none" && tags[2] == "any",
        });
    }
    for ext in ["tar.gz", "zip", "tar.bz2"] {
        if let Some(stem) = filename.strip_suffix(&format!(".{ext}")) {
            let (name, version) = stem.rsplit_once('-')?;
            return Some(Spelling {
                pname: name.to_owned(),
                version: version.to_owned(),
                extension: ext.to_owned(),
                python_tag: None,
                fetch_pypi: true,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_name_says_what_fetch_pypi_asks_for() {
        let s = spelling("foo_bar-2024.01.5.tar.gz").expect("an sdist");
        assert_eq!(
            (s.pname.as_str(), s.version.as_str()),
            ("foo_bar", "2024.01.5")
        );
        assert!(s.fetch_pypi);
        let s = spelling("legacy-name-1.0.zip").expect("an old sdist");
        assert_eq!(
            (s.pname.as_str(), s.version.as_str(), s.extension.as_str()),
            ("legacy-name", "1.0", "zip")
        );
        let s = spelling("pure-2.0-py2.py3-none-any.whl").expect("a wheel");
        assert_eq!(
            (s.version.as_str(), s.python_tag.as_deref()),
            ("2.0", Some("py2.py3"))
        );
        assert!(s.fetch_pypi);
        // A build tag: fetchPypi's URL cannot carry it.
        let s = spelling("pure-2.0-1-py3-none-any.whl").expect("a wheel with a build tag");
        assert_eq!(
            (s.version.as_str(), s.python_tag.as_deref()),
            ("2.0", Some("py3"))
        );
        assert!(!s.fetch_pypi);
        assert_eq!(spelling("noversion.tar.gz"), None);
        assert_eq!(spelling("x-1.0-py3.whl"), None);
    }
}
