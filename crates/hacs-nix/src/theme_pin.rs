//! One theme from GitHub to a pin: the release chosen as HACS would, the tag's source archive
//! (pinned with its NAR hash, for `fetchFromGitHub`), the files HACS installs
//! ([`crate::theme::theme_files`]), each checked as Home Assistant will load it.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::archive;
use crate::finding::Finding;
use crate::forge::{Choice, ForgeError, GitHub, RepoId};
use crate::lock::Meta;

use crate::theme::{check_theme, theme_files};

/// A pinned theme, as the lock keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeEntry {
    pub repo: String,
    pub version: String,
    pub commit: String,
    /// `tag` or `rev`, as `fetchFromGitHub` takes it.
    pub is_tag: bool,
    pub reference: String,
    /// The source archive's NAR hash (SRI).
    pub hash: String,
    /// The theme files, relative to the repository's root.
    pub files: Vec<String>,
    /// The theme names they define.
    pub themes: Vec<String>,
    pub meta: Meta,
}

#[derive(Debug, Error)]
pub enum ThemeError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error("{url}: {source}")]
    Archive {
        url: String,
        source: archive::ArchiveError,
    },
    #[error("no theme file HACS would install: looked for {looked_for}")]
    NoTheme { looked_for: &'static str },
    #[error("{}: {} ({} error{})", .0.location, .0.message, .1, if *.1 == 1 { "" } else { "s" })]
    Invalid(Box<Finding>, usize),
    #[error("{0}")]
    Io(String),
}

impl From<crate::card::CardError> for ThemeError {
    fn from(e: crate::card::CardError) -> Self {
        use crate::card::CardError;
        match e {
            CardError::Forge(e) => Self::Forge(e),
            CardError::Archive { url, source } => Self::Archive { url, source },
            other => Self::Io(other.to_string()),
        }
    }
}

impl ThemeError {
    pub fn rule_id(&self) -> &'static str {
        match self {
            Self::Forge(e) => e.rule_id(),
            Self::Archive { source, .. } => source.rule_id(),
            Self::NoTheme { .. } => "theme-none",
            Self::Invalid(finding, _) => finding.rule,
            Self::Io(_) => "io",
        }
    }
}

/// A theme file's path in the lock: relative, plain components, `.yaml`.
pub fn valid_theme_path(path: &str) -> bool {
    path.ends_with(".yaml")
        && path.split('/').all(crate::card::valid_file_name)
        && path.split('/').count() <= 2
}

/// Pins `repo` as a theme; `previous` is kept without a download when the release's commit
/// is the same. Returns the entry and whether anything was downloaded.
pub async fn pin_theme(
    github: &GitHub,
    repo: &RepoId,
    choice: &Choice,
    previous: Option<&ThemeEntry>,
) -> Result<(ThemeEntry, bool), ThemeError> {
    let previous_pin = previous.map(|p| (&p.repo, &p.commit));
    let (chosen, info, hacs) = match crate::card::choose(github, repo, choice, previous_pin).await?
    {
        None => {
            return previous
                .cloned()
                .map(|p| (p, false))
                .ok_or(ThemeError::Io("no previous pin".to_owned()));
        }
        Some((chosen, info, hacs)) => (chosen, info, hacs),
    };
    let content_in_root = hacs.is_some_and(|h| h.content_in_root);
    let (mut tree, hash, _) = crate::card::source_tree(github, repo, &chosen).await?;
    let files = theme_files(&crate::card::file_paths(&tree), content_in_root);
    if files.is_empty() {
        return Err(ThemeError::NoTheme {
            looked_for: if content_in_root {
                "`*.yaml` at the repository's root (content_in_root)"
            } else {
                "`themes/*.yaml`"
            },
        });
    }
    let mut themes = Vec::new();
    let mut errors = Vec::new();
    for path in &files {
        let bytes = tree
            .read_file(path)
            .map_err(|e| ThemeError::Io(e.to_string()))?
            .unwrap_or_default();
        let (names, findings) = check_theme(path, &bytes);
        themes.extend(names);
        errors.extend(findings);
    }
    let count = errors.len();
    if let Some(first) = errors.into_iter().next() {
        return Err(ThemeError::Invalid(Box::new(first), count));
    }
    themes.sort();
    let meta = Meta::from_github(repo, &info, &chosen);
    Ok((
        ThemeEntry {
            repo: repo.to_string(),
            version: chosen.version.clone(),
            commit: chosen.commit.clone(),
            is_tag: chosen.is_tag,
            reference: chosen.reference.clone(),
            hash,
            files,
            themes,
            meta,
        },
        true,
    ))
}
