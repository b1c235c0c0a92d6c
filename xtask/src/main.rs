//! `hacs-nix <command>` (`cargo xtask <command>` in a checkout): the command line. Parses flags, wires the library, prints,
//! and chooses the exit code (0 fine, 1 findings at error level, 2 could not run).

mod commands;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hacs-nix",
    bin_name = "hacs-nix",
    version,
    about = "Pin Home Assistant custom components as Nix derivations that build the first time",
    after_help = "In a checkout of hacs-nix, `cargo xtask <command>` runs the same.\n\nExamples:\n  cargo xtask update-components\n  cargo xtask add frenck/spook\n  cargo xtask search adaptive lighting\n  cargo xtask survey --limit 50 --format markdown\n  cargo xtask lint\n  cargo xtask check ./hacs.zip --tag 2.0.5\n  cargo xtask prefetch https://github.com/hacs/integration/releases/download/2.0.5/hacs.zip --no-strip-root\n  cargo xtask prefetch ./release.tar.gz --json"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    UpdateComponents(commands::update::UpdateArgs),
    Add(commands::update::AddArgs),
    Lint(commands::lint::Args),
    Check(commands::check::Args),
    Deps(commands::deps::Args),
    Prefetch(commands::prefetch::Args),
    Search(commands::search::Args),
    Survey(commands::survey::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::UpdateComponents(args) => commands::update::run_update(args),
        Command::Add(args) => commands::update::run_add(args),
        Command::Lint(args) => commands::lint::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Deps(args) => commands::deps::run(args),
        Command::Prefetch(args) => commands::prefetch::run(args),
        Command::Search(args) => commands::search::run(args),
        Command::Survey(args) => commands::survey::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            output::report_failure(&failure);
            failure.exit_code()
        }
    }
}
