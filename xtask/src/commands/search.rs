//! `cargo xtask search <words…>`: HACS's store search over its catalogue, with what is pinned.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hacs_nix::catalogue::{self, Catalogue, Category, LoadMode};

use crate::output::{Failure, print_stdout};

#[derive(Debug, clap::Args)]
#[command(
    about = "Find integrations, cards and themes in HACS's catalogue, as HACS's store does",
    after_help = "Examples:\n  cargo xtask search adaptive lighting\n  cargo xtask search mushroom --category plugin\n  \
                  cargo xtask search tuya --format json\n\n\
                  Every word must match the name, description, domain, owner/repo or a topic; an approximate\n\
                  match is tried only when nothing matches exactly. Best (most stars) first.\n\
                  The catalogue is cached under $XDG_CACHE_HOME/hacs-nix/catalogue; --offline uses the cache.\n\
                  HACS_NIX_HACS_LISTS and HACS_NIX_HACS_DATA point at mirrors of its lists and data service."
)]
pub struct Args {
    /// The words to look for.
    #[arg(required = true)]
    words: Vec<String>,
    #[arg(long, value_enum, default_value_t = CategoryArg::Integration)]
    category: CategoryArg,
    /// At most this many results (0: all).
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// The cached catalogue only.
    #[arg(long)]
    offline: bool,
    /// The folder holding components.toml (to say what is pinned already).
    #[arg(long, default_value = "pkgs")]
    pkgs: PathBuf,
    #[arg(long, value_enum, default_value_t = Format_::Human)]
    format: Format_,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CategoryArg {
    Integration,
    Plugin,
    Theme,
}

impl From<CategoryArg> for Category {
    fn from(c: CategoryArg) -> Self {
        match c {
            CategoryArg::Integration => Self::Integration,
            CategoryArg::Plugin => Self::Plugin,
            CategoryArg::Theme => Self::Theme,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format_ {
    Human,
    Json,
}

/// HACS's catalogue of one category, from the network (ETag-cached) or the cache alone.
pub fn load(category: Category, offline: bool) -> Result<Catalogue, Failure> {
    let runtime = super::runtime()?;
    let mode = if offline {
        LoadMode::Offline
    } else {
        LoadMode::Online
    };
    let sources = catalogue::Sources::from_env();
    runtime
        .block_on(catalogue::load(
            &sources,
            category,
            mode,
            catalogue::default_cache(),
        ))
        .map(|(c, _)| c)
        .map_err(|e| {
            Failure::could_not_run(
                e.rule_id(),
                format!("cannot read HACS's catalogue: {e}"),
                None,
                Some(if offline {
                    "run once without --offline to cache it"
                } else {
                    "check the network (or HACS_NIX_HACS_LISTS / HACS_NIX_HACS_DATA); --offline uses the last cached catalogue"
                }),
            )
        })
}

/// `owner/repo` (lower-case) → the attribute pinning it.
pub fn pinned(pkgs: &Path) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(pkgs.join("components.toml")).unwrap_or_default();
    hacs_nix::config::parse("components.toml", &text)
        .map(|c| {
            c.entries
                .into_iter()
                .map(|(attr, w)| (w.repo.to_lowercase(), attr))
                .collect()
        })
        .unwrap_or_default()
}

pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let catalogue = load(args.category.into(), args.offline)?;
    let pinned = pinned(&args.pkgs);
    let mut found = catalogue.search(&args.words);
    let total = found.len();
    if args.limit > 0 {
        found.truncate(args.limit);
    }
    match args.format {
        Format_::Json => {
            let items: Vec<serde_json::Value> = found
                .iter()
                .map(|e| {
                    let mut value = serde_json::to_value(e).unwrap_or_default();
                    if let Some(object) = value.as_object_mut() {
                        object.insert(
                            "pinned_as".to_owned(),
                            pinned.get(&e.full_name.to_lowercase()).cloned().into(),
                        );
                    }
                    value
                })
                .collect();
            let doc = serde_json::json!({ "total": total, "results": items });
            print_stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ))?;
        }
        Format_::Human => {
            let mut text = String::new();
            for e in &found {
                let pin = pinned
                    .get(&e.full_name.to_lowercase())
                    .map_or_else(String::new, |a| format!("  [pinned as {a}]"));
                let field =
                    |s: Option<&str>| s.and_then(one_line).unwrap_or_else(|| "-".to_owned());
                text.push_str(&format!(
                    "{:<45} {:<24} {:<12} ★{:<6}{pin}\n",
                    field(Some(&e.full_name)),
                    field(e.domain.as_deref()),
                    field(e.last_version.as_deref()),
                    e.stars,
                ));
                if let Some(d) = e.description.as_deref().and_then(one_line) {
                    text.push_str(&format!("    {d}\n"));
                }
            }
            text.push_str(&match (total, found.len()) {
                (0, _) => "No match.\n".to_owned(),
                (t, s) if t > s => format!("{s} of {t} matches shown (--limit 0 shows all).\n"),
                (t, _) => format!("{t} match(es).\n"),
            });
            print_stdout(&text)?;
        }
    }
    Ok(if total == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The first line of a description, cut at 100 characters, control characters removed (it
/// comes from upstream and reaches a terminal).
pub fn one_line(text: &str) -> Option<String> {
    let line: String = text
        .lines()
        .next()?
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    (!line.trim().is_empty()).then(|| line.trim().to_owned())
}
