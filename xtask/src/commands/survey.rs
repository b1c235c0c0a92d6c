//! `cargo xtask survey`: which of HACS's integrations would build, and what stops the rest.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hacs_nix::catalogue::Category;
use hacs_nix::forge::{GitHub, RepoId, Settings};
use hacs_nix::pyset::{self, Obtained};
use hacs_nix::survey::{self, Class, Report, Shard, SurveyOptions};

use crate::output::{Failure, eprint, print_stdout};

#[derive(Debug, clap::Args)]
#[command(
    about = "Classify HACS's catalogue: builds, builds with fixes, needs a package, will not build",
    after_help = "Examples:\n  cargo xtask survey --limit 50\n  GITHUB_TOKEN=… cargo xtask survey --shard 3/8 --output survey-3.json --format markdown\n  \
                  cargo xtask survey --merge survey-*.json --format markdown\n\n\
                  Nothing in pkgs/ is written. Each repository's release is chosen as HACS would, downloaded,\n\
                  hashed, checked as nixpkgs' builder checks it and its requirements resolved against Home\n\
                  Assistant's Python set (pkgs/python-set.json, or --nixpkgs). Verdicts are cached by release\n\
                  under $XDG_CACHE_HOME/hacs-nix/survey: a rerun with nothing new downloads nothing.\n\
                  --shard K/M takes the repositories whose name hashes to shard K of M, so a CI matrix covers\n\
                  the catalogue once; --merge joins the shards' JSON reports into one.\n\
                  Exit codes: 0 surveyed (whatever the verdicts), 2 could not run (no catalogue, no GitHub)."
)]
pub struct Args {
    #[arg(long, value_enum, default_value_t = super::search::CategoryArg::Integration)]
    category: super::search::CategoryArg,
    /// Only the first N repositories of the list (after sharding).
    #[arg(long)]
    limit: Option<usize>,
    /// K/M: only the K-th of M shards.
    #[arg(long)]
    shard: Option<String>,
    /// Repositories checked at once.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// What stdout gets: progress and the summary for people, the JSON report, or the
    /// summary as Markdown.
    #[arg(long, value_enum, default_value_t = Format_::Human)]
    format: Format_,
    /// Also write the JSON report here (what --merge reads).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Merge these JSON reports (of shards) instead of surveying.
    #[arg(long, num_args = 1.., value_name = "FILES")]
    merge: Vec<PathBuf>,
    /// Ask the Python index (as pip is configured) whether the generator can package what
    /// Home Assistant's set lacks; downloads those packages' files (writes nothing).
    #[arg(long)]
    package_missing: bool,
    /// The cached catalogue only (GitHub is still asked).
    #[arg(long)]
    offline_catalogue: bool,
    /// The nixpkgs whose Home Assistant Python set to judge against (default: the checkout's).
    #[arg(long)]
    nixpkgs: Option<String>,
    /// The folder holding python-set.json.
    #[arg(long, default_value = "pkgs")]
    pkgs: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format_ {
    Human,
    Json,
    Markdown,
}

pub fn run(args: Args) -> Result<ExitCode, Failure> {
    if !args.merge.is_empty() {
        return merge(&args);
    }
    let category: Category = args.category.into();
    if category != Category::Integration {
        return Err(Failure::could_not_run(
            "survey-category",
            format!("surveying {category}s is not supported yet: only integrations are pinned"),
            None,
            Some("use --category integration"),
        ));
    }
    let shard = args
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(|e| Failure::could_not_run("survey-shard", e.to_string(), None, None))?;
    let set = python_set(&args)?;
    let catalogue = super::search::load(category, args.offline_catalogue)?;
    let mut repos: Vec<RepoId> = catalogue
        .entries
        .iter()
        .filter(|e| shard.is_none_or(|s| s.holds(&e.full_name)))
        .filter_map(|e| e.repo_id())
        .collect();
    if let Some(limit) = args.limit {
        repos.truncate(limit);
    }
    let github = GitHub::new(Settings::from_env())
        .map_err(|e| Failure::could_not_run(e.rule_id(), e.to_string(), None, None))?;
    let options = SurveyOptions {
        jobs: args.jobs,
        cache: hacs_nix::cache_home().map(|c| c.join("survey")),
        package_missing: args.package_missing,
        python_index: None,
    };
    let total = repos.len();
    let human = args.format == Format_::Human;
    let mut done = 0;
    let runtime = super::runtime()?;
    let (results, downloads) =
        runtime.block_on(survey::survey(&github, &repos, &set, &options, |result| {
            done += 1;
            if human {
                let width = total.to_string().len();
                eprint(&format!(
                    "[{done:>width$}/{total}] {:<17} {} {}\n",
                    result.class.as_str(),
                    result.repo,
                    result
                        .version
                        .as_deref()
                        .and_then(super::search::one_line)
                        .unwrap_or_default()
                ));
            }
        }));
    let unreachable = !results.is_empty()
        && results.iter().all(|r| {
            r.class == Class::CouldNotCheck && r.rules.iter().any(|x| x == "github-unreachable")
        });
    if unreachable {
        return Err(Failure::could_not_run(
            "github-unreachable",
            format!("GitHub could not be reached: none of the {total} repositories was checked"),
            None,
            Some("check the network (and HACS_NIX_GITHUB_API / HACS_NIX_GITHUB_DOWNLOAD)"),
        ));
    }
    let mut report = Report {
        schema: survey::SURVEY_SCHEMA,
        category,
        home_assistant: set.home_assistant.clone(),
        python: set.python.clone(),
        shards: shard.map(|s| vec![s.to_string()]).unwrap_or_default(),
        results,
    };
    report.sort();
    if let Some(note) = github.graphql_note() {
        eprint(&format!("note: {note}\n"));
    }
    if human {
        eprint(&format!(
            "{downloads} download(s), {} GitHub request(s)\n",
            github.requests()
        ));
    }
    emit(&args, &report)
}

fn merge(args: &Args) -> Result<ExitCode, Failure> {
    let mut reports = Vec::new();
    for path in &args.merge {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::could_not_run(
                "io",
                format!("cannot read it: {e}"),
                Some(name.clone()),
                None,
            )
        })?;
        let report = Report::from_json(&name, &text).map_err(|e| {
            Failure::could_not_run("survey-report", e.to_string(), Some(name.clone()), None)
        })?;
        reports.push((name, report));
    }
    let merged = Report::merge(reports)
        .map_err(|e| Failure::could_not_run("survey-merge", e.to_string(), None, None))?;
    emit(args, &merged)
}

fn emit(args: &Args, report: &Report) -> Result<ExitCode, Failure> {
    if let Some(path) = &args.output {
        write(path, &report.to_json())?;
    }
    match args.format {
        Format_::Json => print_stdout(&report.to_json())?,
        Format_::Markdown | Format_::Human => print_stdout(&report.to_markdown())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()).map(|()| f))
        .map_err(|e| {
            Failure::could_not_run(
                "io",
                format!("cannot write it: {e}"),
                Some(path.display().to_string()),
                None,
            )
        })?;
    let _ = std::io::Write::flush(&mut file);
    file.persist(path).map(|_| ()).map_err(|e| {
        Failure::could_not_run(
            "io",
            format!("cannot write it: {e}"),
            Some(path.display().to_string()),
            None,
        )
    })
}

/// Home Assistant's Python set: the checkout's snapshot (checked against flake.lock when there
/// is one), or the nixpkgs asked for.
fn python_set(args: &Args) -> Result<hacs_nix::pyset::PythonSet, Failure> {
    let flake_lock = args
        .pkgs
        .parent()
        .unwrap_or(Path::new("."))
        .join("flake.lock");
    let which = match &args.nixpkgs {
        Some(reference) => pyset::Which::Reference(reference),
        None => pyset::Which::Checkout,
    };
    pyset::obtain(which, &flake_lock, &args.pkgs.join("python-set.json"), true)
        .map(Obtained::into_set)
        .map_err(|e| {
            Failure::could_not_run(
                "pyset-none",
                format!("no Home Assistant Python set to judge against: {e}"),
                None,
                Some("run from the checkout (pkgs/python-set.json), or pass --nixpkgs"),
            )
        })
}
