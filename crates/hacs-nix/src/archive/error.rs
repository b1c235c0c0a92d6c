use thiserror::Error;

/// Why an archive was refused. Every variant that concerns one entry names it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ArchiveError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("not an archive: the file is {head}")]
    NotAnArchive { head: String },
    #[error("{0}-compressed archives are not supported")]
    UnsupportedFormat(&'static str),
    #[error("the archive is truncated or corrupt: {detail}")]
    Corrupt { detail: String },
    #[error("entry `{entry}` has an absolute path")]
    AbsolutePath { entry: String },
    #[error("entry `{entry}` has a `..` component")]
    ParentComponent { entry: String },
    #[error("entry `{entry}` has a NUL byte in its name")]
    NulInName { entry: String },
    #[error("entry `{entry}` uses `\\` in its name, which unzip may take as a separator")]
    BackslashInName { entry: String },
    #[error("entry `{entry}` is a {kind}, which a Nix store path cannot hold")]
    UnsupportedEntryType { entry: String, kind: String },
    #[error("entry `{entry}` is a hard link to `{target}`, which is not earlier in the archive")]
    HardLinkTargetMissing { entry: String, target: String },
    #[error("entry `{entry}` is a hard link to the directory `{target}`")]
    HardLinkToDirectory { entry: String, target: String },
    #[error("entry `{entry}` is a symlink with an empty target")]
    EmptySymlinkTarget { entry: String },
    #[error("entry `{entry}` appears more than once with different contents or types")]
    ConflictingDuplicate { entry: String },
    #[error("the zip's central directory lists the same name twice (entry `{entry}`)")]
    DuplicateZipName { entry: String },
    #[error("entry `{entry}` lies below `{parent}`, which is not a directory")]
    ParentNotDirectory { entry: String, parent: String },
    #[error("entry `{entry}` is nested deeper than {limit} directories")]
    TooDeep { entry: String, limit: usize },
    #[error("the archive has more than {limit} entries")]
    TooManyEntries { limit: u64 },
    #[error("the archive unpacks to more than {limit} bytes (at entry `{entry}`)")]
    TooLarge { entry: String, limit: u64 },
    #[error(
        "the archive expands more than {limit}:1 (at entry `{entry}`: {unpacked} bytes from {compressed})"
    )]
    RatioExceeded {
        entry: String,
        unpacked: u64,
        compressed: u64,
        limit: u64,
    },
    #[error("entry `{entry}` is encrypted")]
    Encrypted { entry: String },
    #[error("entry `{entry}` uses the compression method {method}, which unzip cannot inflate")]
    UnsupportedCompression { entry: String, method: String },
    #[error("entry `{entry}` declares {declared} bytes but holds {actual}")]
    SizeMismatch {
        entry: String,
        declared: u64,
        actual: u64,
    },
    #[error("the archive is empty")]
    Empty,
    #[error("stripRoot needs exactly one top-level entry, but the archive has {count}: {names}")]
    NotSingleRoot { count: usize, names: String },
    #[error("the only top-level entry `{entry}` is a symlink")]
    RootIsSymlink { entry: String },
}

impl ArchiveError {
    /// A stable identifier for the rule this error enforces.
    pub fn rule_id(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::NotAnArchive { .. } => "archive-not-an-archive",
            Self::UnsupportedFormat(_) => "archive-unsupported-format",
            Self::Corrupt { .. } => "archive-corrupt",
            Self::AbsolutePath { .. } => "archive-absolute-path",
            Self::ParentComponent { .. } => "archive-parent-component",
            Self::NulInName { .. } => "archive-nul-in-name",
            Self::BackslashInName { .. } => "archive-backslash-in-name",
            Self::UnsupportedEntryType { .. } => "archive-special-file",
            Self::HardLinkTargetMissing { .. } => "archive-hard-link-missing",
            Self::HardLinkToDirectory { .. } => "archive-hard-link-directory",
            Self::EmptySymlinkTarget { .. } => "archive-empty-symlink",
            Self::ConflictingDuplicate { .. } | Self::DuplicateZipName { .. } => {
                "archive-duplicate-entry"
            }
            Self::ParentNotDirectory { .. } => "archive-parent-not-directory",
            Self::TooDeep { .. } => "archive-too-deep",
            Self::TooManyEntries { .. } => "archive-too-many-entries",
            Self::TooLarge { .. } => "archive-too-large",
            Self::RatioExceeded { .. } => "archive-compression-ratio",
            Self::Encrypted { .. } => "archive-encrypted",
            Self::UnsupportedCompression { .. } => "archive-unsupported-compression",
            Self::SizeMismatch { .. } => "archive-size-mismatch",
            Self::Empty => "archive-empty",
            Self::NotSingleRoot { .. } => "archive-not-single-root",
            Self::RootIsSymlink { .. } => "archive-root-is-symlink",
        }
    }

    /// One line on what to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            Self::Io { .. } => "check that the file exists and is readable",
            Self::NotAnArchive { .. } => {
                "fetchzip unpacks .tar.gz, .tar and .zip; for a plain file use --flat (fetchurl)"
            }
            Self::UnsupportedFormat(_) => {
                "release archives on GitHub are .tar.gz or .zip; report the repository if this is one"
            }
            Self::Corrupt { .. } | Self::SizeMismatch { .. } => {
                "download the archive again; if it stays broken, the release asset itself is damaged"
            }
            Self::NotSingleRoot { .. } => {
                "use --no-strip-root (fetchzip's `stripRoot = false`) for archives whose files sit at the top level"
            }
            Self::RootIsSymlink { .. } => "use --no-strip-root to keep the symlink as an entry",
            Self::TooLarge { .. }
            | Self::TooManyEntries { .. }
            | Self::RatioExceeded { .. }
            | Self::TooDeep { .. } => {
                "this looks like an archive bomb; if it is genuine, raise the limit explicitly"
            }
            Self::Empty => "an empty archive cannot be a component; check the URL",
            _ => "this archive cannot be unpacked safely into a Nix store path; report it upstream",
        }
    }

    pub(crate) fn corrupt(detail: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            detail: detail.to_string(),
        }
    }
}
