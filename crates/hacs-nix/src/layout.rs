//! Where the integration is in a source tree, which manifests nixpkgs' build will read, and what
//! would make the build fail there — predicted before anything is built.
//!
//! Facts (nixpkgs' `buildHomeAssistantComponent` and its manifest check hook):
//! - the hook reads exactly `./manifest.json`, `./custom_components/*/manifest.json` and
//!   `./custom_components/*/integrations/*/manifest.json`, and does `manifest["domain"]` on each:
//!   a file without `domain` fails the build with `KeyError: 'domain'`; none found fails it with
//!   "No component manifests found". Older nixpkgs (the 25.05 era) read every `manifest.json`
//!   anywhere, which is how HACS's bundled web-app manifest broke builds.
//! - the install phase copies the whole source to `custom_components/<domain>` when
//!   `./manifest.json` exists, else copies `./custom_components/`.
//! - HACS installs the first directory under `custom_components/` in alphabetical order, or the
//!   root with `content_in_root` or a `zip_release` asset, as `custom_components/<domain>`.

use serde::Serialize;

use crate::finding::{Finding, Location};
use crate::manifest::{self, HacsJson, Manifest};
use crate::tree::{Node, Tree};

mod stdenv;

/// How the tree reached the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// The tag's source archive (`fetchFromGitHub`), its top directory stripped.
    SourceArchive,
    /// A release asset (`zip_release`), whose root is the integration folder itself.
    ReleaseAsset,
}

/// What the generator will do about a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fix {
    /// Write the release version into the manifest in `postPatch`.
    StampVersion { manifest: String, version: String },
    /// Install the folder under its domain's name.
    InstallAsDomain { folder: String, domain: String },
    /// Remove a symlink that would dangle in `$out` (nixpkgs' `noBrokenSymlinks` fails on it).
    RemoveSymlink { path: String },
    /// Turn off stdenv's default `buildPhase`, which would run `make` for this file.
    SkipBuild { file: String },
    /// Turn off stdenv's default `configurePhase`, which would run this `./configure`.
    SkipConfigure { file: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    pub kind: SourceKind,
    /// The integration's folder relative to the source root (`""` for the root).
    pub integration_dir: Option<String>,
    pub manifest: Option<Manifest>,
    pub hacs: Option<HacsJson>,
    /// The manifests nixpkgs' hook reads today, relative to the build's source root.
    pub hook_manifests: Vec<String>,
    /// Every `manifest.json` in the tree (what older hooks read).
    pub all_manifests: Vec<String>,
    pub fixes: Vec<Fix>,
    pub findings: Vec<Finding>,
}

/// Options of the analysis.
#[derive(Debug, Clone, Default)]
pub struct LayoutOptions {
    /// The release tag, to compare the manifest's version with.
    pub tag: Option<String>,
    /// Where the tree's root lands in the build's source root (`""` normally). A non-empty
    /// prefix models a source unpacked one level off, e.g. `custom_components`.
    pub prefix: String,
    /// Names findings' files, e.g. the archive's name.
    pub label: String,
}

pub fn analyse(tree: &mut Tree, kind: SourceKind, options: &LayoutOptions) -> Layout {
    let mut findings = Vec::new();
    let file = |path: &str| {
        if options.label.is_empty() {
            path.to_owned()
        } else {
            format!("{}!{path}", options.label)
        }
    };

    // hacs.json decides where HACS looks; a release asset rarely carries it.
    let hacs = read(tree, "hacs.json").and_then(|bytes| {
        let checked = manifest::check_hacs_json(&file("hacs.json"), &bytes);
        findings.extend(checked.findings);
        checked.value
    });
    let content_in_root = hacs.as_ref().is_some_and(|h| h.content_in_root);

    let component_dirs = subdirectories(tree, "custom_components");
    let integration_dir = match kind {
        SourceKind::ReleaseAsset => Some(String::new()),
        SourceKind::SourceArchive if content_in_root => Some(String::new()),
        SourceKind::SourceArchive => component_dirs
            .first()
            .map(|d| format!("custom_components/{d}")),
    };
    if kind == SourceKind::SourceArchive && !content_in_root {
        let with_manifest: Vec<&String> = component_dirs
            .iter()
            .filter(|d| is_file(tree, &format!("custom_components/{d}/manifest.json")))
            .collect();
        if with_manifest.len() > 1 {
            findings.push(Finding::warning(
                "layout-several-integrations",
                Location::file(file("custom_components")),
                format!(
                    "the repository holds {} integrations ({}); HACS installs only `{}`, the first alphabetically, but the Nix build installs them all",
                    with_manifest.len(),
                    with_manifest.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", "),
                    with_manifest[0]
                ),
                "pin each integration from its own repository, or accept that all are installed",
            ));
        }
    }

    let mut fixes = Vec::new();
    let manifest = match &integration_dir {
        None => {
            findings.push(Finding::error(
                "layout-no-integration",
                Location::file(file("custom_components")),
                "there is no `custom_components/<name>/` folder and `content_in_root` is not set"
                    .to_owned(),
                "HACS and the Nix build find nothing to install; check the repository's layout",
            ));
            None
        }
        Some(dir) => {
            let path = join(dir, "manifest.json");
            match read(tree, &path) {
                None => {
                    findings.push(Finding::error(
                        "layout-manifest-missing",
                        Location::file(file(&path)),
                        format!(
                            "the integration folder `{}` has no manifest.json",
                            if dir.is_empty() { "." } else { dir }
                        ),
                        "an integration needs a manifest.json beside its __init__.py",
                    ));
                    None
                }
                Some(bytes) => {
                    let checked = manifest::check_manifest(&file(&path), &bytes);
                    findings.extend(checked.findings);
                    checked.value
                }
            }
        }
    };

    if let (Some(m), Some(dir)) = (&manifest, &integration_dir) {
        let folder = dir.rsplit('/').next().unwrap_or_default();
        if let Some(domain) = m
            .domain
            .as_deref()
            .filter(|d| !dir.is_empty() && *d != folder)
        {
            findings.push(Finding::warning(
                "layout-domain-folder-mismatch",
                Location::file(file(&join(dir, "manifest.json"))),
                format!("the folder is `{folder}` but the domain is `{domain}`: HACS installs it as `custom_components/{domain}`, the Nix builder would keep `{folder}`"),
                "the generator installs it under the domain's name",
            ));
            fixes.push(Fix::InstallAsDomain {
                folder: folder.to_owned(),
                domain: domain.to_owned(),
            });
        }
        if let Some(fix) = version_against_tag(
            m,
            options.tag.as_deref(),
            &file(&join(dir, "manifest.json")),
            &mut findings,
        ) {
            fixes.push(Fix::StampVersion {
                manifest: join(dir, "manifest.json"),
                version: fix,
            });
        }
    }

    if options.prefix.trim_matches('/').is_empty() {
        installed_symlinks(tree, &file, &mut findings, &mut fixes);
        stdenv::default_phases(tree, &file, &mut findings, &mut fixes);
    }

    if kind == SourceKind::SourceArchive
        && let Some(filename) = hacs
            .as_ref()
            .filter(|h| h.zip_release)
            .and_then(|h| h.filename.clone())
    {
        zip_release_first(&mut findings, &file, &filename);
    }

    let all_manifests = manifests_anywhere(tree.root(), &mut String::new());
    let hook_manifests = hook_matches(&all_manifests, &options.prefix);
    predict_hook(
        tree,
        options,
        &file,
        &hook_manifests,
        &all_manifests,
        &mut findings,
    );

    Layout {
        kind,
        integration_dir,
        manifest,
        hacs,
        hook_manifests,
        all_manifests,
        fixes,
        findings,
    }
}

/// Compares the manifest's version with the release tag (or, without one, looks for a
/// placeholder); returns the version the generator should stamp.
///
/// Upstream's manifest is what Home Assistant shows, and a tag can be a typo that would
/// downgrade it: a valid version is never rewritten. Only a placeholder, or a version the loader
/// rejects (or none), is stamped, and only with a version derived from the tag that the loader
/// accepts.
pub fn version_against_tag(
    manifest: &Manifest,
    tag: Option<&str>,
    file: &str,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let at = Location {
        file: file.to_owned(),
        key: Some("version".to_owned()),
        ..Location::default()
    };
    let version = manifest.version.as_deref();
    let placeholder = version.is_some_and(is_placeholder);
    let Some(tag) = tag else {
        if let Some(version) = version.filter(|_| placeholder) {
            findings.push(Finding::warning(
                "layout-version-placeholder",
                at,
                format!("the manifest's version `{version}` looks like a placeholder stamped at release time"),
                "pin a release: the generator stamps the tag's version in postPatch",
            ));
        }
        return None;
    };
    let derived = tag_version(tag);
    if let Some(version) = version
        && (version == tag || strip_v(version) == derived)
    {
        return None;
    }
    let loadable = version.is_some() && manifest.version_valid;
    let shown = version.unwrap_or("(none)");
    let derived_ok = manifest::version::classify(derived).is_some();
    if loadable && !placeholder {
        findings.push(Finding::warning(
            "layout-version-drift",
            at,
            format!("the manifest's version `{shown}` differs from the release tag `{tag}`; Home Assistant and HACS would show `{shown}`"),
            "both are valid versions, so the manifest is left as upstream wrote it (a tag can be a typo); tell upstream if they should agree",
        ));
        return None;
    }
    let what = if placeholder {
        "is a placeholder"
    } else {
        "is not a version Home Assistant loads"
    };
    if !derived_ok {
        findings.push(Finding::warning(
            "layout-version-unstampable",
            at,
            format!("the manifest's version `{shown}` {what}, but the release tag `{tag}` gives no version Home Assistant accepts either"),
            "nothing is stamped; pin a release with a version-shaped tag, or ask upstream to fix the manifest",
        ));
        return None;
    }
    let rule = if placeholder {
        "layout-version-placeholder"
    } else {
        "layout-version-stamped"
    };
    findings.push(Finding::warning(
        rule,
        at,
        format!("the manifest's version `{shown}` {what}; the release tag is `{tag}`"),
        format!("the generator stamps \"version\": \"{derived}\" in postPatch"),
    ));
    Some(derived.to_owned())
}

/// `v1.2`, `V1.2`, `v.1.2` → `1.2`.
fn tag_version(tag: &str) -> &str {
    let rest = strip_v(tag);
    rest.strip_prefix('.')
        .filter(|r| rest.len() < tag.len() && r.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(rest)
}

fn strip_v(text: &str) -> &str {
    text.strip_prefix(['v', 'V']).unwrap_or(text)
}

/// Versions kept in git by projects that stamp the real one at release time: `0.0.0`, `v0.0.0`,
/// `0.0.0-dev`, `0.0.0.dev0`, `0`, `dev`.
fn is_placeholder(version: &str) -> bool {
    let v = strip_v(version.trim());
    if v == "dev" {
        return true;
    }
    let end = v.find(|c: char| !(c == '0' || c == '.')).unwrap_or(v.len());
    let (zeros, suffix) = v.split_at(end);
    let zeros_ok = zeros
        .trim_end_matches('.')
        .split('.')
        .all(|part| part == "0");
    let suffix = suffix.trim_start_matches(['-', '.', '_']);
    zeros_ok
        && !zeros.is_empty()
        && (suffix.is_empty()
            || suffix
                .strip_prefix("dev")
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
}

/// A source archive of a `zip_release` repository is not what HACS installs: say so first, and
/// mark the version findings a release workflow typically rewrites in the asset.
fn zip_release_first(findings: &mut Vec<Finding>, file: &dyn Fn(&str) -> String, filename: &str) {
    for f in findings.iter_mut() {
        if f.rule.starts_with("layout-version-") || f.rule.starts_with("manifest-version-") {
            f.message = format!(
                "{} (in this source archive; a release workflow usually stamps the version into the `{filename}` asset HACS installs)",
                f.message.replace(
                    "Home Assistant and HACS would show",
                    "this archive would show"
                )
            );
        }
    }
    findings.insert(
        0,
        Finding::warning(
            "layout-zip-release",
            Location::file(file("hacs.json")),
            format!("hacs.json says `zip_release`: HACS installs the release asset `{filename}`, not this source archive"),
            "check the asset (`cargo xtask check <asset URL>`); `update-components` pins the asset",
        ),
    );
}

/// What the install phase copies into `$out`: the whole source when `./manifest.json` exists,
/// else `custom_components/`; and `custom_sentences/`.
fn installed_roots(tree: &Tree) -> Vec<&'static str> {
    let mut roots = Vec::new();
    if is_file(tree, "manifest.json") {
        roots.push("");
    } else {
        if has_dir(tree, "custom_components") {
            roots.push("custom_components");
        }
        if tree.lookup("custom_sentences").is_some() {
            roots.push("custom_sentences");
        }
    }
    roots
}

/// Where a symlink leads inside `root`, following links; `Err` says why it would dangle in
/// `$out` (where only the installed subtree and the store exist).
fn follow(tree: &Tree, root: &str, link: &str) -> Result<(), &'static str> {
    let mut path = link.to_owned();
    for _ in 0..40 {
        let Some(Node::Symlink { target }) = tree.lookup(&path) else {
            return match tree.lookup(&path) {
                Some(_) => Ok(()),
                None => Err("its target does not exist"),
            };
        };
        let target = String::from_utf8_lossy(target);
        if target.starts_with('/') {
            return Err("it points to an absolute path, which the Nix store does not hold");
        }
        let mut parts: Vec<&str> = path.split('/').collect();
        parts.pop();
        for part in target.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts
                        .pop()
                        .ok_or("it points outside the installed folder")?;
                }
                other => parts.push(other),
            }
        }
        let next = parts.join("/");
        let inside = root.is_empty() || next == root || next.starts_with(&format!("{root}/"));
        if !inside {
            return Err("it points outside the installed folder");
        }
        if next == path {
            return Err("it points to itself");
        }
        path = next;
    }
    Err("it points to itself through a loop of links")
}

/// Symlinks the install phase copies that nixpkgs' `noBrokenSymlinks` fixup check would refuse;
/// the generator removes them in `postPatch`.
fn installed_symlinks(
    tree: &Tree,
    file: &dyn Fn(&str) -> String,
    findings: &mut Vec<Finding>,
    fixes: &mut Vec<Fix>,
) {
    for root in installed_roots(tree) {
        let mut links = Vec::new();
        if let Some(node) = tree.lookup(root) {
            symlinks_under(node, &mut root.to_owned(), &mut links);
        }
        for (path, target) in links {
            if let Err(why) = follow(tree, root, &path) {
                findings.push(Finding::error(
                    "layout-broken-symlink",
                    Location::file(file(&path)),
                    format!("the symlink `{path}` → `{target}` would be installed, but {why}: nixpkgs' `noBrokenSymlinks` check fails the build"),
                    "the generator removes the link in postPatch",
                ));
                fixes.push(Fix::RemoveSymlink { path });
            }
        }
    }
}

fn symlinks_under(node: &Node, path: &mut String, out: &mut Vec<(String, String)>) {
    match node {
        Node::Symlink { target } => {
            out.push((path.clone(), String::from_utf8_lossy(target).into_owned()));
        }
        Node::Directory(entries) => {
            for (name, child) in entries {
                let before = path.len();
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str(&String::from_utf8_lossy(name));
                symlinks_under(child, path, out);
                path.truncate(before);
            }
        }
        Node::File(_) => {}
    }
}

/// The hook's three patterns, applied to tree paths placed under `prefix`.
fn hook_matches(all: &[String], prefix: &str) -> Vec<String> {
    let prefix = prefix.trim_matches('/');
    all.iter()
        .map(|p| {
            if prefix.is_empty() {
                p.clone()
            } else {
                format!("{prefix}/{p}")
            }
        })
        .filter(|p| {
            let parts: Vec<&str> = p.split('/').collect();
            matches!(
                parts.as_slice(),
                ["manifest.json"]
                    | ["custom_components", _, "manifest.json"]
                    | ["custom_components", _, "integrations", _, "manifest.json"]
            )
        })
        .collect()
}

fn predict_hook(
    tree: &mut Tree,
    options: &LayoutOptions,
    file: &dyn Fn(&str) -> String,
    hook: &[String],
    all: &[String],
    findings: &mut Vec<Finding>,
) {
    let prefix = options.prefix.trim_matches('/');
    let tree_path = |build_path: &str| -> String {
        if prefix.is_empty() {
            build_path.to_owned()
        } else {
            build_path[prefix.len() + 1..].to_owned()
        }
    };
    if hook.is_empty() {
        findings.push(Finding::error(
            "layout-no-manifests",
            Location::file(file(".")),
            "nixpkgs' manifest check will fail with \"No component manifests found\": no manifest.json at `./`, `custom_components/*/` or `custom_components/*/integrations/*/`".to_owned(),
            "the source is unpacked at the wrong level: a release asset needs `stripRoot = false`, a source archive the default",
        ));
        return;
    }
    if !is_file(tree, &join(prefix, "manifest.json"))
        && !has_dir(tree, "custom_components")
        && prefix.is_empty()
    {
        findings.push(Finding::error(
            "layout-nothing-to-install",
            Location::file(file(".")),
            "there is neither a manifest.json at the root nor a custom_components/ folder: buildHomeAssistantComponent installs nothing".to_owned(),
            "check which archive is pinned and how it is unpacked",
        ));
    }
    for path in all {
        let in_hook = hook.iter().any(|h| tree_path(h) == *path);
        let domain = read(tree, path).map(|bytes| domain_state(&bytes));
        match domain {
            Some(DomainState::Present) | None => {}
            Some(state) if in_hook => findings.push(Finding::error(
                "layout-hook-keyerror",
                Location::file(file(path)),
                match state {
                    DomainState::Unreadable => format!("nixpkgs' manifest check reads `{path}`, which is not valid JSON: the build fails"),
                    _ => format!("nixpkgs' manifest check reads `{path}`, which has no `domain`: the build fails with `KeyError: 'domain'`"),
                },
                "this file is not the integration's manifest; unpack the source at the integration's level",
            )),
            Some(_) => findings.push(Finding::warning(
                "layout-legacy-hook-keyerror",
                Location::file(file(path)),
                format!("`{path}` has no `domain`: nixpkgs of the 25.05 era read every manifest.json and fail with `KeyError: 'domain'`; current nixpkgs does not read it"),
                "use a nixpkgs from 25.11 on, or remove the file in postPatch",
            )),
        }
    }
}

enum DomainState {
    Present,
    Missing,
    Unreadable,
}

fn domain_state(bytes: &[u8]) -> DomainState {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(map)) if map.contains_key("domain") => DomainState::Present,
        Ok(_) => DomainState::Missing,
        Err(_) => DomainState::Unreadable,
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn read(tree: &mut Tree, path: &str) -> Option<Vec<u8>> {
    let size = match tree.lookup(path) {
        Some(Node::File(f)) => f.size,
        _ => return None,
    };
    // A "manifest" of many megabytes is reported by the JSON reader from its size alone.
    if size > manifest::MAX_JSON_BYTES as u64 {
        return Some(vec![b' '; manifest::MAX_JSON_BYTES + 1]);
    }
    tree.read_file(path).ok().flatten()
}

fn is_file(tree: &Tree, path: &str) -> bool {
    matches!(tree.lookup(path), Some(Node::File(_)))
}

fn has_dir(tree: &Tree, path: &str) -> bool {
    matches!(tree.lookup(path), Some(Node::Directory(_)))
}

/// Directory names under `path`, in byte order (HACS sorts names).
fn subdirectories(tree: &Tree, path: &str) -> Vec<String> {
    match tree.lookup(path) {
        Some(Node::Directory(entries)) => entries
            .iter()
            .filter(|(_, node)| matches!(node, Node::Directory(_)))
            .map(|(name, _)| String::from_utf8_lossy(name).into_owned())
            .collect(),
        _ => Vec::new(),
    }
}

fn manifests_anywhere(node: &Node, path: &mut String) -> Vec<String> {
    let mut found = Vec::new();
    if let Node::Directory(entries) = node {
        for (name, child) in entries {
            let name = String::from_utf8_lossy(name);
            let before = path.len();
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(&name);
            match child {
                Node::File(_) if name == "manifest.json" => found.push(path.clone()),
                Node::Directory(_) => found.extend(manifests_anywhere(child, path)),
                _ => {}
            }
            path.truncate(before);
        }
    }
    found
}
