//! One theme from GitHub to a pin: the release chosen as HACS would, the tag's source archive
//! (pinned with its NAR hash, for `fetchFromGitHub`), the files HACS installs
//! ([`super::rule::theme_files`]), each one Home Assistant loads checked as it will load it.

use super::rule::{check_theme, theme_files};
use super::{ThemeEntry, ThemeError};
use crate::forge::{Choice, GitHub, RepoId};
use crate::meta::Meta;
use crate::release_source::{Next, SourceError, choose, source_tree};

/// Pins `repo` as a theme; `previous` is kept without a download when the release's commit
/// is the same. Returns the entry and whether anything was downloaded.
pub async fn pin_theme(
    github: &GitHub,
    repo: &RepoId,
    choice: &Choice,
    previous: Option<&ThemeEntry>,
) -> Result<(ThemeEntry, bool), ThemeError> {
    let (chosen, info, hacs) = match choose(github, repo, choice, previous)
        .await
        .map_err(SourceError::from)?
    {
        Next::Keep(previous) => return Ok((previous, false)),
        Next::Pin(release) => *release,
    };
    let content_in_root = hacs.is_some_and(|h| h.content_in_root);
    let (mut tree, hash, _) = source_tree(github, repo, &chosen).await?;
    let found = theme_files(&tree.file_paths(), content_in_root)?;
    let mut themes = Vec::new();
    let mut errors = Vec::new();
    for path in &found.loaded {
        let bytes = tree
            .read_file(path)
            .map_err(|e| ThemeError::Io(format!("cannot read `{path}` of the archive: {e}")))?
            .ok_or_else(|| ThemeError::Io(format!("`{path}` is not a file of the archive")))?;
        let (names, findings) = check_theme(path, &bytes);
        themes.extend(names);
        errors.extend(findings);
    }
    let count = errors.len();
    if let Some(first) = errors.into_iter().next() {
        return Err(ThemeError::Invalid(Box::new(first), count));
    }
    themes.sort();
    let entry = ThemeEntry {
        repo: repo.to_string(),
        version: chosen.version.clone(),
        commit: chosen.commit.clone(),
        is_tag: chosen.is_tag,
        reference: chosen.reference.clone(),
        hash,
        files: found.files,
        themes,
        meta: Meta::from_github(repo, &info, &chosen),
    };
    entry.check().map_err(ThemeError::Io)?;
    Ok((entry, true))
}
