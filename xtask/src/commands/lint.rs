//! `cargo xtask lint`: offline, instant: will the pinned set build, and why not.

use std::path::PathBuf;
use std::process::ExitCode;

use hacs_nix::finding::{Finding, Severity, has_errors};
use hacs_nix::lint::{self, LintOptions};

use crate::output::{Failure, colour_on_stderr, eprint, print_stdout, render_findings, summary};

#[derive(Debug, clap::Args)]
#[command(
    about = "Check offline, before nixos-rebuild, that the pinned components will build",
    after_help = "Examples:\n  cargo xtask lint\n  cargo xtask lint --scan ~/homelab/modules --format github\n\n\
                  As a git pre-commit hook: printf '#!/bin/sh\\nexec cargo xtask lint\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit\n\
                  Exit codes: 0 clean (warnings allowed), 1 findings at error level, 2 could not run."
)]
pub struct Args {
    /// The folder with components.toml, the lock and the generated files.
    #[arg(long, default_value = "pkgs")]
    pkgs: PathBuf,
    /// The checkout's root (flake.lock; hand-written .nix files are scanned below it).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Scan these files or folders of hand-written Nix instead (repeatable), e.g. a homelab's modules.
    #[arg(long)]
    scan: Vec<PathBuf>,
    /// Check the pins against the nixpkgs this flake.lock locks (your homelab's flake), so the
    /// verdict holds for the nixpkgs you build with. Evaluated once, then cached.
    #[arg(long)]
    flake_lock: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format_::Human)]
    format: Format_,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format_ {
    Human,
    Json,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
}

pub fn run(args: Args) -> Result<ExitCode, Failure> {
    if !args.pkgs.is_dir() {
        return Err(Failure::could_not_run(
            "lint-no-pkgs",
            format!("{} is not a folder", args.pkgs.display()),
            None,
            Some("run from the hacs-nix checkout, or pass --pkgs <folder>"),
        ));
    }
    let findings = lint::lint(&LintOptions {
        pkgs: args.pkgs,
        root: args.root,
        scan: args.scan,
        flake_lock: args.flake_lock,
    });
    match args.format {
        Format_::Human => {
            eprint(&render_findings(&findings, colour_on_stderr()));
            let verdict = if has_errors(&findings) {
                "will not build as pinned"
            } else {
                "ok"
            };
            eprint(&format!("lint: {verdict} ({})\n", summary(&findings)));
        }
        Format_::Json => {
            let errors = findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count();
            let doc = serde_json::json!({ "findings": findings, "errors": errors, "warnings": findings.len() - errors });
            print_stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ))?;
        }
        Format_::Github => print_stdout(&findings.iter().map(annotation).collect::<String>())?,
    }
    Ok(if has_errors(&findings) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `::error file=…,line=…,col=…,title=…::message` with GitHub's escaping.
fn annotation(f: &Finding) -> String {
    let data = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let property = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut props = vec![format!("file={}", property(&f.location.file))];
    if let Some(line) = f.location.line {
        props.push(format!("line={line}"));
    }
    if let Some(col) = f.location.column {
        props.push(format!("col={col}"));
    }
    props.push(format!("title={}", property(f.rule)));
    format!(
        "::{level} {}::{}\n",
        props.join(","),
        data(&format!("{}\nhelp: {}", f.message, f.help))
    )
}
