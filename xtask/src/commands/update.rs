//! `cargo xtask update-components` and `cargo xtask add`: from the wanted list to pinned
//! derivations, through one plan that `--dry-run` prints and a real run writes atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::time::Duration;

use hacs_nix::apply::{ApplyError, Checkout};
use hacs_nix::config::{self, Components, Wanted};
use hacs_nix::forge::{GitHub, RepoId, Settings};
use hacs_nix::lock::Lock;
use hacs_nix::pyset::{self, Obtained};
use hacs_nix::update::{self, ChangeKind, Plan, ShownFailure, UpdateOptions};

use crate::output::{Failure, colour_on_stderr, eprint, print_stdout, render_findings};

#[derive(Debug, clap::Args)]
#[command(
    about = "Pin every component of pkgs/components.toml to its newest release, as Nix derivations",
    after_help = "Examples:\n  cargo xtask update-components\n  cargo xtask update-components --only hacs --dry-run\n  \
                  GITHUB_TOKEN=… cargo xtask update-components --jobs 16\n\n\
                  Exit codes: 0 done (updated or nothing to do), 1 some component failed and kept its\n\
                  previous pin (the others were written), 2 could not run (bad configuration, no network)."
)]
pub struct UpdateArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
#[command(
    about = "Add an integration (by domain, name or owner/repo) to pkgs/components.toml and pin it",
    after_help = "Examples:\n  cargo xtask add spook\n  cargo xtask add \"Adaptive Lighting\"\n  cargo xtask add frenck/spook\n  \
                  cargo xtask add thomasloven/hass-browser_mod --attr browser_mod\n  \
                  cargo xtask add kalkih/mini-graph-card          # a card: HACS lists it as a plugin\n  \
                  cargo xtask add catppuccin/home-assistant --kind theme\n\n\
                  A domain or a name is looked up in HACS's catalogue (several matches: the candidates are listed,\n\
                  exit 1). Repositories HACS blacklisted or removed are refused with HACS's reason unless --force.\n\
                  Any GitHub owner/repo can be added, listed in HACS or not.\n\
                  The attribute is the integration's domain unless --attr names it."
)]
pub struct AddArgs {
    /// A domain (`spook`), an integration's or repository's name, or `owner/repo` on GitHub.
    repo: String,
    /// Add it even though HACS blacklisted or removed it.
    #[arg(long)]
    force: bool,
    /// What it is (default: the HACS category that lists it, else an integration).
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// The attribute name (default: the integration's domain).
    #[arg(long)]
    attr: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum KindArg {
    Integration,
    Card,
    Theme,
}

impl From<KindArg> for config::Kind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Integration => Self::Integration,
            KindArg::Card => Self::Card,
            KindArg::Theme => Self::Theme,
        }
    }
}

/// A card's or theme's default attribute: its repository's name (a card's without
/// `lovelace-`), made an attribute name.
fn attr_from_repo(repo: &RepoId, kind: config::Kind) -> String {
    let name = match kind {
        config::Kind::Card => hacs_nix::card::card_folder(&repo.repo),
        _ => repo.repo.clone(),
    };
    let mut attr: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !attr.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        attr.insert(0, '_');
    }
    attr
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Only these attributes (repeatable).
    #[arg(long)]
    only: Vec<String>,
    /// Print the plan as a diff; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Components fetched at once.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// The nixpkgs whose Home Assistant Python set to check against (default: flake.lock's).
    #[arg(long, conflicts_with = "flake_lock")]
    nixpkgs: Option<String>,
    /// Check against the nixpkgs this flake.lock locks (e.g. your homelab's) instead of the
    /// checkout's; its set is cached, pkgs/python-set.json is left alone.
    #[arg(long)]
    flake_lock: Option<PathBuf>,
    /// No network: regenerate the files from the lock, re-checking dependencies.
    #[arg(long)]
    offline: bool,
    /// The folder holding components.toml and the generated files.
    #[arg(long, default_value = "pkgs")]
    pkgs: PathBuf,
    /// GitHub's API base (default: $HACS_NIX_GITHUB_API or https://api.github.com).
    #[arg(long)]
    github_api: Option<String>,
    /// Where downloads come from (default: $HACS_NIX_GITHUB_DOWNLOAD or https://github.com).
    #[arg(long)]
    github_download: Option<String>,
    #[arg(long, value_enum, default_value_t = Format_::Human)]
    format: Format_,
    /// Write a pull-request title and body (Markdown) here when anything changed; with it the
    /// exit codes are 0 updated, 3 nothing to do, 1 some component failed, 2 could not run.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the report as JSON (title, status, changes, failures, findings) here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Seconds to wait for another run on the same pkgs/ to finish before giving up (exit 2).
    #[arg(long, default_value_t = 30.0)]
    lock_wait: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format_ {
    Human,
    Json,
}

pub fn run_update(args: UpdateArgs) -> Result<ExitCode, Failure> {
    let checkout = lock_checkout(&args.common)?;
    let components_path = checkout.pkgs().join("components.toml");
    let text = read(&components_path)?;
    let components = parse_components(&components_path, &text)?;
    run(&args.common, checkout, components, None)
}

pub fn run_add(args: AddArgs) -> Result<ExitCode, Failure> {
    let common = args.common;
    let (repo, listed_domain, kind) = super::catalogue_add::resolve(
        &args.repo,
        args.force,
        common.offline,
        args.kind.map(Into::into),
    )?;
    let checkout = lock_checkout(&common)?;
    let components_path = checkout.pkgs().join("components.toml");
    let text = if components_path.exists() {
        read(&components_path)?
    } else {
        String::new()
    };
    let mut components = parse_components(&components_path, &text)?;
    if let Some((attr, _)) = components
        .entries
        .iter()
        .find(|(_, w)| w.repo_id().as_ref() == Some(&repo))
    {
        return Err(Failure::could_not_run(
            "add-exists",
            format!("{repo} is already wanted as `{attr}`"),
            Some(components_path.display().to_string()),
            Some("run update-components to update it"),
        ));
    }
    // Unlisted and not told: the repository's contents say what it is.
    let kind = match kind {
        Some(kind) => kind,
        None => learn(&github(&common)?, &repo)?,
    };
    let attr = match (args.attr, listed_domain, kind) {
        (Some(attr), _, _) => attr,
        (None, _, config::Kind::Card | config::Kind::Theme) => attr_from_repo(&repo, kind),
        (None, Some(domain), _) if hacs_nix::names::is_path_attribute(&domain) => domain,
        (None, _, _) => domain_of(&github(&common)?, &repo)?,
    };
    if let Some(why) = config::reserved_attribute(&attr) {
        return Err(Failure::could_not_run(
            "config-attribute-reserved",
            format!("`{attr}` would shadow one of the flake's own outputs: {why}"),
            None,
            Some("choose another name with --attr"),
        ));
    }
    if !hacs_nix::names::is_path_attribute(&attr) || components.entries.contains_key(&attr) {
        return Err(Failure::could_not_run(
            "add-attr",
            format!("`{attr}` is taken or not a valid attribute name"),
            None,
            Some("choose one with --attr"),
        ));
    }
    let mut new_text = text.clone();
    if !new_text.is_empty() && !new_text.ends_with('\n') {
        new_text.push('\n');
    }
    let kind_line = match kind {
        config::Kind::Integration => "",
        config::Kind::Card => "kind = \"card\"\n",
        config::Kind::Theme => "kind = \"theme\"\n",
    };
    new_text.push_str(&format!("\n[{attr}]\nrepo = \"{repo}\"\n{kind_line}"));
    let wanted: Wanted = toml::from_str(&format!("repo = \"{repo}\"\n{kind_line}"))
        .map_err(|e| Failure::could_not_run("internal", e.to_string(), None, None))?;
    components.entries.insert(attr.clone(), wanted);
    let common = Common {
        only: vec![attr],
        ..common
    };
    run(&common, checkout, components, Some(new_text))
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| {
        Failure::could_not_run(
            "config-unreadable",
            format!("cannot read it: {e}"),
            Some(path.display().to_string()),
            Some("run from the hacs-nix checkout, or pass --pkgs <folder>"),
        )
    })
}

fn parse_components(path: &Path, text: &str) -> Result<Components, Failure> {
    config::parse(&path.display().to_string(), text).map_err(|findings| {
        eprint(&render_findings(&findings, colour_on_stderr()));
        Failure::could_not_run(
            "config-invalid",
            format!(
                "{} has {} error(s); nothing was changed",
                path.display(),
                findings.len()
            ),
            None,
            None,
        )
    })
}

fn github(common: &Common) -> Result<GitHub, Failure> {
    let mut settings = Settings::from_env();
    if let Some(api) = &common.github_api {
        settings.api = api.clone();
    }
    if let Some(download) = &common.github_download {
        settings.download = download.clone();
    }
    GitHub::new(settings)
        .map_err(|e| Failure::could_not_run(e.rule_id(), e.to_string(), None, None))
}

/// What a repository's newest release holds: an integration when it has
/// `custom_components/`; else a theme when it has `themes/`; else a card when it has `dist/`
/// or a `.js` release asset; else an integration (whose domain `domain_of` then looks for).
fn learn(gh: &GitHub, repo: &RepoId) -> Result<config::Kind, Failure> {
    let runtime = super::runtime()?;
    let failed = |e: hacs_nix::forge::ForgeError| {
        Failure::could_not_run(e.rule_id(), e.to_string(), Some(repo.to_string()), None)
    };
    let learned = runtime.block_on(async {
        let chosen = gh
            .choose(repo, &hacs_nix::forge::Choice::Latest)
            .await
            .map_err(failed)?;
        let folders = gh
            .directories(repo, "", &chosen.reference)
            .await
            .map_err(failed)?
            .unwrap_or_default();
        let has = |name: &str| folders.iter().any(|f| f == name);
        let js_asset = chosen
            .release
            .as_ref()
            .is_some_and(|r| r.assets.iter().any(|a| a.name.ends_with(".js")));
        Ok::<_, Failure>(if has("custom_components") {
            config::Kind::Integration
        } else if has("themes") {
            config::Kind::Theme
        } else if has("dist") || js_asset {
            config::Kind::Card
        } else {
            config::Kind::Integration
        })
    })?;
    Ok(learned)
}

/// The domain of a repository's integration, read at its newest release through the API.
fn domain_of(gh: &GitHub, repo: &RepoId) -> Result<String, Failure> {
    let runtime = super::runtime()?;
    let failed = |e: hacs_nix::forge::ForgeError| {
        Failure::could_not_run(
            e.rule_id(),
            e.to_string(),
            Some(repo.to_string()),
            Some("pass --attr to name it yourself"),
        )
    };
    runtime.block_on(async {
        let chosen = gh
            .choose(repo, &hacs_nix::forge::Choice::Latest)
            .await
            .map_err(failed)?;
        let folder = gh
            .directories(repo, "custom_components", &chosen.reference)
            .await
            .map_err(failed)?
            .and_then(|d| d.into_iter().next());
        let path = folder.as_ref().map_or("manifest.json".to_owned(), |f| {
            format!("custom_components/{f}/manifest.json")
        });
        let bytes = gh
            .file(repo, &path, &chosen.reference)
            .await
            .map_err(failed)?;
        let domain = bytes
            .and_then(|b| hacs_nix::manifest::check_manifest(&path, &b).value)
            .and_then(|m| m.domain);
        domain.or(folder).ok_or_else(|| {
            Failure::could_not_run(
                "add-no-domain",
                format!("no integration manifest found in {repo}, and nothing of a card or a theme"),
                None,
                Some("pass --attr to name an integration, or say what it is with --kind integration|card|theme"),
            )
        })
    })
}

/// One run per checkout, from before anything in `pkgs/` is read until the plan is written.
fn lock_checkout(common: &Common) -> Result<Checkout, Failure> {
    let wait = Duration::try_from_secs_f64(common.lock_wait).unwrap_or(Duration::ZERO);
    Checkout::lock(&common.pkgs, wait).map_err(|e| {
        let rule = match e {
            ApplyError::Busy { .. } => "pkgs-busy",
            _ => "io",
        };
        Failure::could_not_run(rule, e.to_string(), None, None)
    })
}

fn run(
    common: &Common,
    checkout: Checkout,
    components: Components,
    new_components_text: Option<String>,
) -> Result<ExitCode, Failure> {
    let pkgs = checkout.pkgs();
    let lock_path = pkgs.join("components.lock.json");
    let old = Lock::load(&lock_path).map_err(|e| {
        Failure::could_not_run(
            "lock-invalid",
            e.to_string(),
            None,
            Some("restore it from git"),
        )
    })?;
    for only in &common.only {
        if !components.entries.contains_key(only) {
            return Err(Failure::could_not_run(
                "only-unknown",
                format!("--only {only}: no such component"),
                None,
                Some("name an attribute of components.toml"),
            ));
        }
    }
    let (obtained, set_note) = python_set(common, pkgs);
    let set = obtained.as_ref().map(Obtained::set);
    let gh = github(common)?;
    let existing = existing_files(pkgs, &old, &components);
    let options = UpdateOptions {
        only: common.only.clone(),
        jobs: common.jobs,
        offline: common.offline,
        ..UpdateOptions::default()
    };
    let runtime = super::runtime()?;
    let bars = super::Bars::new();
    let mut plan = runtime.block_on(update::plan(
        &components,
        &old,
        &existing,
        set,
        &gh,
        &options,
        |repo| bars.bar(&repo.to_string()),
    ));
    bars.clear();
    let notes: Vec<String> = set_note.iter().cloned().chain(gh.graphql_note()).collect();
    let adding = new_components_text.and_then(|text| Some((common.only.first()?.clone(), text)));
    let evaluated_set = match &obtained {
        Some(Obtained::Evaluated(set)) => Some(set.to_json()),
        _ => None,
    };
    plan.finish(
        &existing,
        update::Extras {
            adding,
            evaluated_set,
        },
    );

    match common.format {
        Format_::Json => {
            let summary = serde_json::json!({
                "changes": plan.changes, "failures": plan.shown_failures(), "findings": plan.findings,
                "writes": plan.writes.keys().collect::<Vec<_>>(), "removals": plan.removals,
                "downloads": plan.downloads, "dry_run": common.dry_run, "python_set": set_note,
                "notes": notes,
            });
            print_stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&summary).unwrap_or_default()
            ))?;
        }
        Format_::Human => report(&plan, pkgs, common.dry_run, &notes)?,
    }
    let reported = write_reports(common, &plan, &old)?;
    if !common.dry_run && !plan.is_noop() {
        checkout.apply(&plan.writes, &plan.removals).map_err(|e| {
            Failure::could_not_run(
                "io",
                format!(
                    "cannot write {}: {e}; it was left as it was",
                    pkgs.display()
                ),
                None,
                None,
            )
        })?;
    }
    if plan.network_down {
        return Err(github_down(&plan, pkgs));
    }
    Ok(match (plan.failures.is_empty(), reported) {
        (false, _) => ExitCode::from(1),
        (true, Some(false)) => ExitCode::from(3),
        (true, _) => ExitCode::SUCCESS,
    })
}

/// Writes `--report` and `--json`; `Some(changed)` when a report was asked for.
/// Every component failed for one reason of GitHub's: say which (no answer, or server errors)
/// with what to do; nothing was written.
fn github_down(plan: &Plan, pkgs: &Path) -> Failure {
    let unreachable = plan.failures.iter().all(|f| f.rule == "github-unreachable");
    let (rule, what, help) = if unreachable {
        (
            "github-unreachable",
            "GitHub could not be reached",
            "check the network, DNS and proxy (and HACS_NIX_GITHUB_API / HACS_NIX_GITHUB_DOWNLOAD); nothing was changed",
        )
    } else {
        (
            "github-server-error",
            "GitHub answered with server errors only",
            "GitHub was reached but failed on its side; run again later; nothing was changed",
        )
    };
    Failure::could_not_run(
        rule,
        format!("{what}; {} was left as it was", pkgs.display()),
        None,
        Some(help),
    )
}

fn write_reports(common: &Common, plan: &Plan, old: &Lock) -> Result<Option<bool>, Failure> {
    if common.report.is_none() && common.json.is_none() {
        return Ok(None);
    }
    let pr = hacs_nix::report::render(plan, old);
    let status = match (&pr, plan.failures.is_empty()) {
        (_, false) => "failed",
        (Some(_), true) => "updated",
        (None, true) => "nothing-to-do",
    };
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|e| {
            Failure::could_not_run(
                "io",
                format!("cannot write the report: {e}"),
                Some(path.display().to_string()),
                None,
            )
        })
    };
    if let (Some(path), Some(pr)) = (&common.report, &pr) {
        write(path, &pr.body)?;
    }
    if let Some(path) = &common.json {
        let doc = serde_json::json!({
            "status": status, "title": pr.as_ref().map(|p| p.title.clone()),
            "changes": plan.changes, "failures": plan.shown_failures(), "findings": plan.findings, "releases": plan.releases,
        });
        write(
            path,
            &format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ),
        )?;
    }
    Ok(Some(pr.is_some()))
}

/// The set of the nixpkgs asked for (flake.lock beside `pkgs/` by default), or why there is
/// none (then unchanged pins are kept and new pins fail), with a note for the user.
fn python_set(common: &Common, pkgs: &Path) -> (Option<Obtained>, Option<String>) {
    let flake_lock = pkgs.parent().unwrap_or(Path::new(".")).join("flake.lock");
    let which = match (&common.nixpkgs, &common.flake_lock) {
        (Some(reference), _) => pyset::Which::Reference(reference),
        (None, Some(lock)) => pyset::Which::FlakeLock(lock),
        (None, None) => pyset::Which::Checkout,
    };
    match pyset::obtain(
        which,
        &flake_lock,
        &pkgs.join("python-set.json"),
        !common.offline,
    ) {
        Ok(obtained) => {
            let note = match &obtained {
                Obtained::Snapshot(_) => None,
                Obtained::Unchecked(_) => {
                    Some("no flake.lock: the snapshot is used as it is".to_owned())
                }
                Obtained::Evaluated(_) => {
                    Some("Home Assistant's Python set was evaluated".to_owned())
                }
                Obtained::AdHoc(_) => Some(
                    "the nixpkgs asked for is not the one flake.lock locks: its Python set is used for this run and cached, pkgs/python-set.json is left alone".to_owned(),
                ),
            };
            (Some(obtained), note)
        }
        Err(e) => (None, Some(format!("{e}; new pins cannot be checked"))),
    }
}

fn existing_text(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn existing_files(pkgs: &Path, old: &Lock, components: &Components) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let attrs = old.components.keys().chain(components.entries.keys());
    let paths = [
        "default.nix".to_owned(),
        "components.lock.json".to_owned(),
        "python-set.json".to_owned(),
    ]
    .into_iter()
    .chain(attrs.map(|a| format!("{a}/default.nix")))
    .chain(old.python.keys().map(|a| format!("python/{a}/default.nix")));
    for path in paths {
        if let Some(text) = existing_text(&pkgs.join(&path)) {
            files.insert(path, text);
        }
    }
    files
}

fn report(plan: &Plan, pkgs: &Path, dry_run: bool, notes: &[String]) -> Result<(), Failure> {
    let colour = colour_on_stderr();
    for note in notes {
        eprint(&format!("note: {note}\n"));
    }
    for (attr, findings) in &plan.findings {
        if !findings.is_empty() {
            eprint(&format!("── {attr}\n"));
            eprint(&render_findings(findings, colour));
        }
    }
    let mut text = String::new();
    for change in &plan.changes {
        let line = match change.kind {
            ChangeKind::Added => format!(
                "+ {:<24} {} (added)",
                change.attr,
                change.new_version.as_deref().unwrap_or("?")
            ),
            ChangeKind::Updated => format!(
                "~ {:<24} {} → {}",
                change.attr,
                change.old_version.as_deref().unwrap_or("?"),
                change.new_version.as_deref().unwrap_or("?")
            ),
            ChangeKind::Regenerated => format!(
                "~ {:<24} {} (regenerated)",
                change.attr,
                change.new_version.as_deref().unwrap_or("?")
            ),
            ChangeKind::Removed => format!(
                "- {:<24} {} (removed)",
                change.attr,
                change.old_version.as_deref().unwrap_or("?")
            ),
        };
        text.push_str(&line);
        text.push('\n');
    }
    for change in &plan.python_changes {
        let name = format!("python/{}", change.attr);
        let line = match change.kind {
            ChangeKind::Added => format!(
                "+ {name:<24} {} (packaged: {})",
                change.new_version.as_deref().unwrap_or("?"),
                change.detail
            ),
            ChangeKind::Updated | ChangeKind::Regenerated => format!(
                "~ {name:<24} {} → {} ({})",
                change.old_version.as_deref().unwrap_or("?"),
                change.new_version.as_deref().unwrap_or("?"),
                change.detail
            ),
            ChangeKind::Removed => format!(
                "- {name:<24} {} (dropped: {})",
                change.old_version.as_deref().unwrap_or("?"),
                change.detail
            ),
        };
        text.push_str(&line);
        text.push('\n');
    }
    for ShownFailure { failure, kept } in plan.shown_failures() {
        let what = if kept { "kept" } else { "not pinned" };
        text.push_str(&format!(
            "! {:<24} {what}: error[{}]: {}\n",
            failure.attr, failure.rule, failure.message
        ));
    }
    if dry_run {
        for (path, new) in &plan.writes {
            let old = existing_text(&pkgs.join(path)).unwrap_or_default();
            let diff = similar::TextDiff::from_lines(&old, new);
            text.push_str(
                &diff
                    .unified_diff()
                    .header(
                        &format!("a/{}/{path}", pkgs.display()),
                        &format!("b/{}/{path}", pkgs.display()),
                    )
                    .to_string(),
            );
        }
        for removal in &plan.removals {
            text.push_str(&format!("delete {}/{removal}/\n", pkgs.display()));
        }
    }
    let verdict = match (plan.is_noop(), dry_run) {
        (true, _) if !plan.failures.is_empty() => {
            format!("Nothing was written to {}.", pkgs.display())
        }
        (true, _) => format!("Nothing to do: {} is up to date.", pkgs.display()),
        (false, true) => format!(
            "Dry run: {} file(s) would change; nothing was written.",
            plan.writes.len() + plan.removals.len()
        ),
        (false, false) => format!(
            "Wrote {} file(s) in {}.",
            plan.writes.len() + plan.removals.len(),
            pkgs.display()
        ),
    };
    text.push_str(&verdict);
    text.push('\n');
    print_stdout(&text)
}
