//! `cargo xtask prefetch <PATH|URL>`: the Nix hash of an archive (fetchzip), a file (fetchurl,
//! `--flat`) or a directory (its NAR hash), computed in-process.

use std::fs::File;
use std::io::Seek;
use std::process::ExitCode;

use hacs_nix::archive::{self, ArchiveError, Format, UnpackOptions};
use hacs_nix::hash::{HashFormat, Sha256Digest, flat_hash};
use hacs_nix::nar::{self, NarError};
use hacs_nix::tree::TreeStats;
use serde::Serialize;

use crate::output::{Failure, print_stdout};

#[derive(Debug, clap::Args)]
#[command(
    about = "Print the Nix hash of an archive, file or directory (fetchzip semantics by default)",
    after_help = "Examples:\n  cargo xtask prefetch https://github.com/OWNER/REPO/archive/refs/tags/v1.0.tar.gz\n  \
                  cargo xtask prefetch ./hacs.zip --no-strip-root        # fetchzip { stripRoot = false; }\n  \
                  cargo xtask prefetch ./hacs.zip --flat                 # fetchurl\n  \
                  hash=$(cargo xtask prefetch ./src.tar.gz --format base32)"
)]
pub struct Args {
    /// An archive (.tar.gz, .tar, .zip: recognised by content), a file with --flat, a
    /// directory, or an http(s) URL to download first.
    source: String,
    /// Hash the bytes as they are, as `fetchurl` does, instead of unpacking.
    #[arg(long)]
    flat: bool,
    /// Keep the top level as it is, as `fetchzip { stripRoot = false; }` does.
    #[arg(long)]
    no_strip_root: bool,
    /// How to print the hash; `json` prints all encodings with the file count and size.
    #[arg(long, value_enum, default_value_t = OutputFormat::Sri)]
    format: OutputFormat,
    /// Shorthand for `--format json`.
    #[arg(long, conflicts_with = "format")]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
    Sri,
    Base32,
    Hex,
    Json,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    source: &'a str,
    /// `fetchzip`, `fetchurl`, or `nar` for a directory.
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<Format>,
    #[serde(skip_serializing_if = "Option::is_none")]
    strip_root: Option<bool>,
    sri: String,
    base32: String,
    hex: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    directories: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    symlinks: Option<u64>,
    /// Bytes of the regular files once unpacked (for `--flat`: the file's size).
    unpacked_size: u64,
}

pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let format = if args.json {
        OutputFormat::Json
    } else {
        args.format
    };
    let is_url = super::Input::is_url(&args.source);
    let input = super::Input::open(&args.source)?;
    let path = input.path();
    let location = args.source.clone();

    let (digest, method, detail) = if args.flat {
        let mut file = File::open(path).map_err(|e| unreadable(&location, &e))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Failure::could_not_run(
                "prefetch-flat-directory",
                "--flat hashes a file, but this is a directory",
                Some(location),
                Some("drop --flat to get the directory's NAR hash"),
            ));
        }
        file.rewind().map_err(|e| unreadable(&location, &e))?;
        let (digest, size) = flat_hash(file).map_err(|e| unreadable(&location, &e))?;
        (digest, "fetchurl", Detail::Flat(size))
    } else if !is_url && path.is_dir() {
        let digest = nar::hash_path(path).map_err(|e| nar_failure(e, &location))?;
        (digest, "nar", Detail::Directory)
    } else {
        let options = UnpackOptions {
            strip_root: !args.no_strip_root,
            ..UnpackOptions::default()
        };
        let (archive_format, mut tree) =
            archive::unpack_path(path, &options).map_err(|e| archive_failure(e, &location))?;
        let digest = nar::hash_tree(&mut tree).map_err(|e| nar_failure(e, &location))?;
        (
            digest,
            "fetchzip",
            Detail::Archive(archive_format, tree.stats(), options.strip_root),
        )
    };

    let text = match format {
        OutputFormat::Sri => digest.format(HashFormat::Sri),
        OutputFormat::Base32 => digest.format(HashFormat::Nix32),
        OutputFormat::Hex => digest.format(HashFormat::Hex),
        OutputFormat::Json => json_report(&args.source, method, digest, &detail)?,
    };
    print_stdout(&format!("{text}\n"))?;
    Ok(ExitCode::SUCCESS)
}

enum Detail {
    Flat(u64),
    Directory,
    Archive(Format, TreeStats, bool),
}

fn json_report(
    source: &str,
    method: &'static str,
    digest: Sha256Digest,
    detail: &Detail,
) -> Result<String, Failure> {
    let (format, strip_root, stats, size) = match *detail {
        Detail::Flat(size) => (None, None, None, size),
        Detail::Directory => (None, None, None, 0),
        Detail::Archive(format, stats, strip) => {
            (Some(format), Some(strip), Some(stats), stats.unpacked_bytes)
        }
    };
    let report = Report {
        source,
        method,
        format,
        strip_root,
        sri: digest.to_sri(),
        base32: digest.to_nix32(),
        hex: digest.to_hex(),
        files: stats.map(|s| s.files),
        directories: stats.map(|s| s.directories),
        symlinks: stats.map(|s| s.symlinks),
        unpacked_size: size,
    };
    serde_json::to_string_pretty(&report).map_err(|e| {
        Failure::could_not_run(
            "internal",
            format!("cannot serialise the report: {e}"),
            None,
            None,
        )
    })
}

fn unreadable(location: &str, error: &std::io::Error) -> Failure {
    Failure::could_not_run(
        "io",
        format!("cannot read: {error}"),
        Some(location.to_owned()),
        Some("check the path"),
    )
}

fn archive_failure(error: ArchiveError, location: &str) -> Failure {
    let code = if matches!(error, ArchiveError::Io { .. }) {
        2
    } else {
        1
    };
    Failure {
        rule: error.rule_id().to_owned(),
        message: error.to_string(),
        location: Some(location.to_owned()),
        help: Some(error.help().to_owned()),
        code,
    }
}

fn nar_failure(error: NarError, location: &str) -> Failure {
    match error {
        NarError::Archive(error) => archive_failure(error, location),
        other => Failure::could_not_run("nar", other.to_string(), Some(location.to_owned()), None),
    }
}
