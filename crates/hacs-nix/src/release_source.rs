//! What a card and a theme are pinned from: the release HACS would install (with the
//! repository's facts and `hacs.json` at its tag), and the tag's source archive unpacked as
//! `fetchFromGitHub` unpacks it, with its NAR hash. Below both rooms, so neither borrows from
//! the other.

use thiserror::Error;

use crate::archive::{self, UnpackOptions};
use crate::forge::{Choice, ForgeError, GitHub, RepoId};
use crate::manifest::{self, HacsJson};
use crate::tree::Tree;

#[derive(Debug, Error)]
pub enum SourceError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error("{url}: {source}")]
    Archive {
        url: String,
        source: archive::ArchiveError,
    },
    #[error("{0}")]
    Io(String),
}

impl SourceError {
    pub fn rule_id(&self) -> &'static str {
        match self {
            Self::Forge(e) => e.rule_id(),
            Self::Archive { source, .. } => source.rule_id(),
            Self::Io(_) => "io",
        }
    }
}

/// A release to pin, the repository's facts and `hacs.json` at its tag.
pub(crate) type Release = (
    crate::forge::Chosen,
    crate::forge::RepoInfo,
    Option<HacsJson>,
);

/// What the plan and the pinning read of a card's or a theme's pin.
pub trait Pinned: Clone + PartialEq {
    fn repo(&self) -> &str;
    fn version(&self) -> &str;
    fn commit(&self) -> &str;
}

/// What to do for a card or a theme.
pub(crate) enum Next<E> {
    /// GitHub still names the previous pin's commit: it stands, nothing is downloaded.
    Keep(E),
    /// A release to pin.
    Pin(Box<Release>),
}

/// The release HACS would install for a card or a theme, the repository's facts and
/// `hacs.json` at its tag; or the previous pin again when it is of this repository and GitHub
/// names its commit still (one rule for every kind pinned from a tag's source).
pub(crate) async fn choose<E: Pinned>(
    github: &GitHub,
    repo: &RepoId,
    choice: &Choice,
    previous: Option<&E>,
) -> Result<Next<E>, ForgeError> {
    let (chosen, info, hacs_json) = github.choose_with_file(repo, choice, "hacs.json").await?;
    if let Some(previous) = previous
        && previous.commit() == chosen.commit
        && previous.repo() == repo.to_string()
    {
        return Ok(Next::Keep(previous.clone()));
    }
    let hacs = hacs_json
        .as_deref()
        .and_then(|b| manifest::check_hacs_json("hacs.json", b).value);
    Ok(Next::Pin(Box::new((chosen, info, hacs))))
}

/// The tag's source archive, downloaded and unpacked as `fetchFromGitHub` unpacks it: the
/// tree, its NAR hash (SRI) and the canonical URL.
pub(crate) async fn source_tree(
    github: &GitHub,
    repo: &RepoId,
    chosen: &crate::forge::Chosen,
) -> Result<(Tree, String, String), SourceError> {
    let url = GitHub::source_archive_url(repo, chosen);
    let mut file = tempfile::tempfile().map_err(|e| SourceError::Io(e.to_string()))?;
    github.download(&url, None, None, &mut file, &()).await?;
    std::io::Seek::rewind(&mut file).map_err(|e| SourceError::Io(e.to_string()))?;
    let options = UnpackOptions {
        strip_root: true,
        ..UnpackOptions::default()
    };
    let (_, mut tree) =
        archive::unpack(Box::new(file), &options).map_err(|source| SourceError::Archive {
            url: url.clone(),
            source,
        })?;
    let hash = crate::nar::hash_tree(&mut tree).map_err(|e| SourceError::Io(e.to_string()))?;
    Ok((tree, hash.to_sri(), url))
}
