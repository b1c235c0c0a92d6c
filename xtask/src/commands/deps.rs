//! `cargo xtask deps <PATH|ARCHIVE|manifest.json>`: every requirement against Home Assistant's
//! own Python set of the pinned nixpkgs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hacs_nix::deps::{self, DepsOptions, DepsReport, Outcome};
use hacs_nix::layout::{self, LayoutOptions};
use hacs_nix::manifest;
use hacs_nix::pypi::Package;
use hacs_nix::pypi::resolve::{Limits, Packaged};
use hacs_nix::pyset::{self, PythonSet};
use hacs_nix::update;

use crate::output::{Failure, colour_on_stderr, eprint, print_stdout, render_findings, summary};

#[derive(Debug, clap::Args)]
#[command(
    about = "Check every Python requirement against Home Assistant's own Python set",
    after_help = "Examples:\n  cargo xtask deps custom_components/spook/manifest.json      # against pkgs/python-set.json\n  \
                  cargo xtask deps ./hacs.zip --nixpkgs ~/src/nixpkgs        # evaluate a nixpkgs checkout\n  \
                  cargo xtask deps ./repo --nixpkgs github:NixOS/nixpkgs/<rev> --format json\n\n\
                  The set comes from the snapshot when it matches the nixpkgs asked for (by default the one\n\
                  locked in ./flake.lock); otherwise Nix evaluates it and the snapshot is rewritten.\n\
                  Requirements the set lacks are packaged from the Python index your pip is configured for
                  (PIP_INDEX_URL, pip's config; HACS_NIX_PYTHON_INDEX overrides both), unless --offline.
                  Exit codes: 0 every requirement satisfied, fixed by the generator or packaged, 1 otherwise,
                  2 cannot run."
)]
pub struct Args {
    /// A manifest.json, a checkout folder, or an archive (zip: release asset; tar.gz: source).
    source: String,
    /// The nixpkgs to check against: a folder, `github:OWNER/REPO/REV`, or a tarball URL.
    /// Default: the `nixpkgs` input of ./flake.lock.
    #[arg(long, conflicts_with = "flake_lock")]
    nixpkgs: Option<String>,
    /// Check against the nixpkgs this flake.lock locks (e.g. your homelab's), not ./flake.lock's.
    #[arg(long)]
    flake_lock: Option<PathBuf>,
    /// The Python-set snapshot to read, and to write when it is refreshed.
    #[arg(long, default_value = "pkgs/python-set.json")]
    snapshot: PathBuf,
    /// `platform_machine` for environment markers (default: every system the flake builds,
    /// x86_64 and aarch64: a requirement needed on any of them is kept).
    #[arg(long, default_value = "")]
    machine: String,
    /// Do not reach the Python index: requirements the set lacks stay missing.
    #[arg(long)]
    offline: bool,
    #[arg(long, value_enum, default_value_t = Format_::Human)]
    format: Format_,
}

/// The JSON answer: the report, and what was packaged for it.
#[derive(serde::Serialize)]
struct Answer<'a> {
    #[serde(flatten)]
    report: &'a DepsReport,
    packaged: Vec<&'a Package>,
    not_packaged: &'a std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format_ {
    Human,
    Json,
}

pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let (manifests, minimum) = read_manifests(&args.source)?;
    let which = match (&args.nixpkgs, &args.flake_lock) {
        (Some(reference), _) => pyset::Which::Reference(reference),
        (None, Some(lock)) => pyset::Which::FlakeLock(lock),
        (None, None) => pyset::Which::Checkout,
    };
    let set = python_set(which, &args.snapshot)?;
    let minimum_ref = minimum.as_ref().map(|(v, f)| (v.as_str(), f.as_str()));
    let options = DepsOptions {
        machine: args.machine.clone(),
        ..DepsOptions::default()
    };
    let (report, packaged) = if args.offline {
        (
            deps::resolve(&manifests, minimum_ref, &set, &options),
            Packaged::default(),
        )
    } else {
        super::runtime()?.block_on(update::resolve_packaging(
            &manifests,
            minimum_ref,
            &set,
            &options,
            None,
            Limits::default(),
        ))
    };
    match args.format {
        Format_::Json => {
            let answer = Answer {
                report: &report,
                packaged: packaged.packages.values().collect(),
                not_packaged: &packaged.refused,
            };
            let text = serde_json::to_string_pretty(&answer)
                .map_err(|e| Failure::could_not_run("internal", e.to_string(), None, None))?;
            print_stdout(&format!("{text}\n"))?;
        }
        Format_::Human => print_table(&report, &packaged)?,
    }
    Ok(if report.buildable() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

type Manifests = (Vec<(String, Vec<String>)>, Option<(String, String)>);

/// The requirements of every manifest nixpkgs' check reads, and hacs.json's minimum version.
fn read_manifests(source: &str) -> Result<Manifests, Failure> {
    let path = Path::new(source);
    let unreadable = |e: &dyn std::fmt::Display| {
        Failure::could_not_run(
            "input-unreadable",
            e.to_string(),
            Some(source.to_owned()),
            Some("check the path"),
        )
    };
    if path.extension().is_some_and(|e| e == "json") {
        let bytes = std::fs::read(path).map_err(|e| unreadable(&e))?;
        let checked = manifest::check_manifest(source, &bytes);
        let manifest = checked.value.ok_or_else(|| {
            unreadable(&"the manifest cannot be read; run `cargo xtask check` on it")
        })?;
        return Ok((vec![(source.to_owned(), manifest.requirements)], None));
    }
    let (mut tree, kind) = super::load_tree(path, None).map_err(|e| unreadable(&e))?;
    let label = if path.is_dir() {
        String::new()
    } else {
        source.to_owned()
    };
    let layout = layout::analyse(
        &mut tree,
        kind,
        &LayoutOptions {
            label: label.clone(),
            ..LayoutOptions::default()
        },
    );
    let mut manifests = Vec::new();
    for hook_path in &layout.hook_manifests {
        let Ok(Some(bytes)) = tree.read_file(hook_path) else {
            continue;
        };
        let file = if label.is_empty() {
            hook_path.clone()
        } else {
            format!("{label}!{hook_path}")
        };
        if let Some(m) = manifest::check_manifest(&file, &bytes).value {
            manifests.push((file, m.requirements));
        }
    }
    if manifests.is_empty() {
        return Err(unreadable(
            &"no manifest that nixpkgs' check would read; run `cargo xtask check` on it",
        ));
    }
    let minimum = layout.hacs.and_then(|h| h.homeassistant).map(|v| {
        (
            v,
            if label.is_empty() {
                "hacs.json".to_owned()
            } else {
                format!("{label}!hacs.json")
            },
        )
    });
    Ok((manifests, minimum))
}

/// The set of the nixpkgs asked for (./flake.lock's by default); a fresh evaluation is saved.
fn python_set(which: pyset::Which<'_>, snapshot: &Path) -> Result<PythonSet, Failure> {
    let obtained = pyset::obtain(which, Path::new("flake.lock"), snapshot, true).map_err(|e| {
        let rule = if matches!(e, pyset::PySetError::NoSet(_)) {
            "pyset-none"
        } else {
            "pyset"
        };
        Failure::could_not_run(
            rule,
            e.to_string(),
            Some(snapshot.display().to_string()),
            Some("see `cargo xtask deps --help`"),
        )
    })?;
    if let pyset::Obtained::Evaluated(set) = &obtained {
        write_atomically(snapshot, set.to_json().as_bytes())?;
    }
    Ok(obtained.into_set())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: &dyn std::fmt::Display| {
        Failure::could_not_run(
            "io",
            format!("cannot write the snapshot: {e}"),
            Some(path.display().to_string()),
            None,
        )
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
    std::io::Write::write_all(&mut file, bytes).map_err(|e| fail(&e))?;
    file.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}

fn print_table(report: &DepsReport, packaged: &Packaged) -> Result<(), Failure> {
    let mut rows = vec![[
        "requirement".to_owned(),
        "status".to_owned(),
        "attribute".to_owned(),
        "version".to_owned(),
    ]];
    for r in &report.resolutions {
        let (status, attr, version) = match &r.outcome {
            Outcome::Satisfied { attr, version } if packaged.packages.contains_key(attr) => {
                ("packaged", attr.clone(), version.clone())
            }
            Outcome::Satisfied { attr, version } => ("satisfied", attr.clone(), version.clone()),
            Outcome::VersionConflict { attr, version, .. } => {
                let status = match r.fix {
                    Some(hacs_nix::deps::DepFix::RelaxRequirement { .. }) => "conflict (relaxed)",
                    Some(hacs_nix::deps::DepFix::DropRequirement { .. }) => "conflict (removed)",
                    _ => "version conflict",
                };
                (status, attr.clone(), version.clone())
            }
            Outcome::Missing { .. } => ("missing", "-".to_owned(), "-".to_owned()),
            Outcome::Unparsable { attr, .. } => (
                "unparsable",
                attr.clone().unwrap_or_else(|| "-".to_owned()),
                "-".to_owned(),
            ),
            Outcome::NotNeeded { .. } => ("not needed (marker)", "-".to_owned(), "-".to_owned()),
            Outcome::Ignored { .. } => ("ignored", "-".to_owned(), "-".to_owned()),
        };
        rows.push([r.requirement.clone(), status.to_owned(), attr, version]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = format!(
        "Home Assistant {} (Python {}); {}\n",
        report.home_assistant, report.python, report.semantics
    );
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text.push_str(&format!(
        "\ndependencies = [ {} ];\n",
        report.dependencies.join(" ")
    ));
    if !report.ignore_version_requirement.is_empty() {
        let names: Vec<String> = report
            .ignore_version_requirement
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect();
        text.push_str(&format!(
            "ignoreVersionRequirement = [ {} ];\n",
            names.join(" ")
        ));
    }
    if !report.relax_requirements.is_empty() {
        text.push_str(
            "relaxed in the manifest (postPatch), since nixpkgs' hook takes one ignoreVersionRequirement name:\n",
        );
        for (from, to) in &report.relax_requirements {
            text.push_str(&format!("  {from} -> {to}\n"));
        }
    }
    for package in packaged.packages.values() {
        let kind = package.built_from();
        text.push_str(&format!(
            "missing → packaged: {} {} ({kind})\n",
            package.attr, package.version
        ));
    }
    for (name, why) in &packaged.refused {
        text.push_str(&format!("missing → not packaged: {name}: {why}\n"));
    }
    print_stdout(&text)?;
    for note in packaged
        .notes
        .iter()
        .chain(&packaged.relaxed)
        .chain(&packaged.imports)
    {
        eprint(&format!("note: {note}\n"));
    }
    eprint(&render_findings(&report.findings, colour_on_stderr()));
    let verdict = if report.buildable() {
        "every requirement is met or fixed"
    } else {
        "not buildable as is"
    };
    eprint(&format!("{verdict} ({})\n", summary(&report.findings)));
    Ok(())
}
