//! `cargo xtask check <PATH|ARCHIVE|URL>`: validate manifest.json, hacs.json and the layout the
//! Nix build will see, before anything is built.

use std::path::Path;
use std::process::ExitCode;

use hacs_nix::archive::ArchiveError;
use hacs_nix::finding::{Finding, has_errors};
use hacs_nix::layout::{self, Layout, LayoutOptions};
use hacs_nix::manifest;
use serde::Serialize;

use crate::output::{Failure, colour_on_stderr, eprint, print_stdout, render_findings, summary};

#[derive(Debug, clap::Args)]
#[command(
    about = "Validate manifest.json, hacs.json and the layout the Nix build will see",
    after_help = "Examples:\n  cargo xtask check ./hass-browser_mod                    # a checkout\n  \
                  cargo xtask check custom_components/spook/manifest.json\n  \
                  cargo xtask check ./hacs.zip --tag 2.0.5                # a zip_release asset\n  \
                  cargo xtask check ./lovelace-card-mod --card lovelace-card-mod   # a card's checkout\n  \
                  cargo xtask check ./themes-repo.tar.gz --theme\n  \
                  cargo xtask check https://github.com/frenck/spook/archive/refs/tags/v5.0.0.tar.gz --format json\n\n\
                  Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 the input cannot be read."
)]
pub struct Args {
    /// A checkout folder, a manifest.json or hacs.json, an archive, or an http(s) URL.
    source: String,
    /// The release tag, to compare the manifest's version with (taken from GitHub URLs).
    #[arg(long)]
    tag: Option<String>,
    /// Treat the archive as a release asset (its root is the integration folder).
    #[arg(long, conflicts_with = "source_archive")]
    asset: bool,
    /// Treat the archive as the tag's source archive (top folder stripped).
    #[arg(long)]
    source_archive: bool,
    /// What a single JSON file is; by default `manifest.json`, or `hacs.json` when the name
    /// ends in `hacs.json` and the content has no `domain`.
    #[arg(long, value_enum)]
    kind: Option<JsonKind>,
    /// Check it as a Lovelace card whose repository is named NAME (HACS's plugin rule: the
    /// candidate files, the root, then `dist/`).
    #[arg(long, value_name = "NAME", conflicts_with = "theme")]
    card: Option<String>,
    /// Check it as a theme (`themes/*.yaml`, each loaded as Home Assistant loads it).
    #[arg(long)]
    theme: bool,
    #[arg(long, value_enum, default_value_t = Format_::Human)]
    format: Format_,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum JsonKind {
    Manifest,
    HacsJson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format_ {
    Human,
    Json,
}

#[derive(Serialize)]
struct Report<'a> {
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    layout: Option<&'a Layout>,
    findings: &'a [Finding],
    errors: usize,
    warnings: usize,
}

pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let is_url = super::Input::is_url(&args.source);
    let tag = args.tag.clone().or_else(|| {
        if is_url {
            tag_from_url(&args.source)
        } else {
            None
        }
    });
    let input = super::Input::open(&args.source)?;
    let path = input.path();
    let label = args.source.clone();
    let unreadable = |e: &dyn std::fmt::Display| {
        Failure::could_not_run(
            "input-unreadable",
            e.to_string(),
            Some(label.clone()),
            Some("check the path or URL"),
        )
    };

    let (layout, findings) = if is_json_file(path) && !path.is_dir() {
        let bytes = std::fs::read(path).map_err(|e| unreadable(&e))?;
        let kind = args.kind.unwrap_or_else(|| guess_kind(path, &bytes));
        let findings = match kind {
            JsonKind::HacsJson => manifest::check_hacs_json(&label, &bytes).findings,
            JsonKind::Manifest => {
                let checked = manifest::check_manifest(&label, &bytes);
                let mut findings = checked.findings;
                if let Some(m) = &checked.value {
                    layout::version_against_tag(m, tag.as_deref(), &label, &mut findings);
                }
                findings
            }
        };
        (None, findings)
    } else {
        let asset = if args.asset {
            Some(true)
        } else if args.source_archive {
            Some(false)
        } else {
            None
        };
        let (mut tree, kind) = super::load_tree(path, asset).map_err(|e| match e {
            // A folder that cannot be read, or a file that is no archive: unreadable input.
            _ if path.is_dir() => unreadable(&e),
            ArchiveError::Io { .. }
            | ArchiveError::NotAnArchive { .. }
            | ArchiveError::UnsupportedFormat(_) => unreadable(&e),
            e => Failure::could_not_run(
                e.rule_id(),
                e.to_string(),
                Some(label.clone()),
                Some(e.help()),
            ),
        })?;
        let label = if path.is_dir() {
            String::new()
        } else {
            label.clone()
        };
        if args.card.is_some() || args.theme {
            let findings = frontend_findings(&mut tree, args.card.as_deref(), &label);
            return finish(&args, None, findings);
        }
        let options = LayoutOptions {
            tag,
            prefix: String::new(),
            label,
        };
        let layout = layout::analyse(&mut tree, kind, &options);
        let findings = layout.findings.clone();
        (Some(layout), findings)
    };

    finish(&args, layout.as_ref(), findings)
}

/// A card or a theme: HACS's rule for what it installs, and each theme file checked.
fn frontend_findings(
    tree: &mut hacs_nix::tree::Tree,
    card: Option<&str>,
    label: &str,
) -> Vec<Finding> {
    use hacs_nix::finding::Location;
    let paths = tree.file_paths();
    let hacs = tree
        .read_file("hacs.json")
        .ok()
        .flatten()
        .and_then(|b| manifest::check_hacs_json("hacs.json", &b).value);
    let at = |file: &str| {
        Location::file(if label.is_empty() {
            file.to_owned()
        } else {
            format!("{label}: {file}")
        })
    };
    let Some(name) = card else {
        return theme_findings(tree, &paths, hacs.as_ref(), label, &at);
    };
    match hacs_nix::card::rule::locate(name, hacs.as_ref(), None, &paths) {
        Ok(source) => {
            eprint(&format!(
                "card: `{}` with {} file(s) HACS installs ({})\n",
                source.entry(),
                source.files().len(),
                source.files().join(", ")
            ));
            Vec::new()
        }
        // A source archive cannot show the release's assets, where HACS looks first and
        // where built cards usually are: say so rather than call the card missing.
        Err(e) if !hacs.as_ref().is_some_and(|h| h.content_in_root) => {
            let names = e
                .looked_for
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let first = e.looked_for.first().map(String::as_str).unwrap_or_default();
            vec![Finding::warning(
                "plugin-card-in-release",
                at("."),
                format!(
                    "none of {names} is in this source's root or `dist/`; HACS looks first among the release's assets and takes the first of these names it finds there (`{first}` if the release ships it), and `update-components` pins the card from there; this source cannot show the release's assets"
                ),
                "check that the release has an asset of one of these names; if none has, publish one or name the file in hacs.json's `filename`",
            )]
        }
        Err(e) => vec![Finding::error(
            e.rule_id(),
            at("."),
            e.to_string(),
            "with content_in_root HACS takes the card from the repository's root only: put one of these files there, or name it in hacs.json's `filename`",
        )],
    }
}

/// A theme: HACS's rule for what it installs, and each file Home Assistant loads checked.
fn theme_findings(
    tree: &mut hacs_nix::tree::Tree,
    paths: &[String],
    hacs: Option<&manifest::HacsJson>,
    label: &str,
    at: &dyn Fn(&str) -> hacs_nix::finding::Location,
) -> Vec<Finding> {
    let content_in_root = hacs.is_some_and(|h| h.content_in_root);
    let found = match hacs_nix::theme::rule::theme_files(paths, content_in_root) {
        Ok(found) => found,
        Err(e) => {
            return vec![Finding::error(
                "theme-none",
                at("."),
                e.to_string(),
                "put the themes in themes/<name>.yaml (sub-folders are fine)",
            )];
        }
    };
    eprint(&format!(
        "theme: {} file(s) HACS installs, {} loaded as themes ({})\n",
        found.files.len(),
        found.loaded.len(),
        found.loaded.join(", ")
    ));
    let mut findings = Vec::new();
    for file in &found.loaded {
        let bytes = tree.read_file(file).ok().flatten().unwrap_or_default();
        let shown = if label.is_empty() {
            file.clone()
        } else {
            format!("{label}: {file}")
        };
        findings.extend(hacs_nix::theme::rule::check_theme(&shown, &bytes).1);
    }
    findings
}

fn finish(
    args: &Args,
    layout: Option<&Layout>,
    findings: Vec<Finding>,
) -> Result<ExitCode, Failure> {
    let errors = findings
        .iter()
        .filter(|f| f.severity == hacs_nix::finding::Severity::Error)
        .count();
    match args.format {
        Format_::Json => {
            let report = Report {
                source: &args.source,
                layout,
                findings: &findings,
                errors,
                warnings: findings.len() - errors,
            };
            let text = serde_json::to_string_pretty(&report)
                .map_err(|e| Failure::could_not_run("internal", e.to_string(), None, None))?;
            print_stdout(&format!("{text}\n"))?;
        }
        Format_::Human => {
            eprint(&render_findings(&findings, colour_on_stderr()));
            let verdict = if has_errors(&findings) {
                "will not build or load"
            } else {
                "ok"
            };
            eprint(&format!(
                "{}: {verdict} ({})\n",
                args.source,
                summary(&findings)
            ));
        }
    }
    Ok(if has_errors(&findings) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn guess_kind(path: &Path, bytes: &[u8]) -> JsonKind {
    let named_hacs = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with("hacs.json"));
    let has_domain =
        serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| v.get("domain").is_some());
    if named_hacs && !has_domain {
        JsonKind::HacsJson
    } else {
        JsonKind::Manifest
    }
}

fn is_json_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

/// The tag in GitHub's archive and release-asset URLs.
fn tag_from_url(url: &str) -> Option<String> {
    if let Some((_, rest)) = url.split_once("/releases/download/") {
        return rest.split('/').next().map(str::to_owned);
    }
    let (_, rest) = url.split_once("/archive/")?;
    let rest = rest.strip_prefix("refs/tags/").unwrap_or(rest);
    let tag = rest
        .strip_suffix(".tar.gz")
        .or_else(|| rest.strip_suffix(".zip"))?;
    Some(tag.to_owned())
}
