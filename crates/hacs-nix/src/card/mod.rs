//! One Lovelace card from GitHub to a pin: the release chosen as HACS would, then the files
//! HACS installs ([`rule::locate`]): the release's assets (each pinned with its flat
//! hash, for `fetchurl`), or the tag's root or `dist/` files (the source archive pinned with
//! its NAR hash, for `fetchFromGitHub`). Hard-coded HACS paths in the files are found so the
//! derivation can point them at where the NixOS module serves the card.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::forge::ForgeError;
use crate::meta::Meta;
use crate::names::valid_file_name;
use crate::release_source::SourceError;

mod pin;
pub mod rule;

pub use pin::pin_card;
use rule::{HardCoded, NoCard};

/// A pinned card, as the lock keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardEntry {
    pub repo: String,
    pub version: String,
    pub commit: String,
    /// The card's file: at the top of `$out`, and `passthru.entrypoint`.
    pub entry: String,
    pub files: CardFiles,
    /// Hard-coded HACS paths rewritten to the card's folder under the module's URL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrites: Vec<HardCoded>,
    pub meta: Meta,
}

/// Where the card's files come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum CardFiles {
    /// Every asset of the release, each fetched alone.
    ReleaseAssets { assets: Vec<PinnedFile> },
    /// Files of one folder (`""`: the root, or `dist`) of the tag's source archive.
    SourceArchive {
        url: String,
        /// `tag` or `rev`, as `fetchFromGitHub` takes it.
        is_tag: bool,
        reference: String,
        hash: String,
        folder: String,
        files: Vec<String>,
    },
}

/// A file fetched as it is (`fetchurl`), with its flat hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedFile {
    pub name: String,
    pub url: String,
    pub hash: String,
}

impl CardEntry {
    /// The folder of `$out` (and of NixOS's served folder) the card's files go to.
    pub fn folder(&self) -> String {
        card_folder(self.repo.rsplit('/').next().unwrap_or_default())
    }

    /// What every card pin must be for its derivation to be written: the one rule the lock's
    /// loading, the plan and the Nix writer share.
    pub fn check(&self) -> Result<(), String> {
        crate::names::check_repo(&self.repo)?;
        let names = self.file_names();
        let folder = self.folder();
        if let Some(bad) = names
            .iter()
            .copied()
            .chain([self.entry.as_str(), folder.as_str()])
            .chain(self.rewrites.iter().map(|r| r.file.as_str()))
            .find(|n| !valid_file_name(n))
        {
            return Err(format!("`{}` is not a file name", bad.escape_debug()));
        }
        if !names.contains(&self.entry.as_str()) {
            return Err("the entry is not one of its files".to_owned());
        }
        if let CardFiles::SourceArchive { folder, .. } = &self.files
            && !(folder.is_empty() || folder == "dist")
        {
            return Err(format!(
                "`{}` is not the root or `dist`",
                folder.escape_debug()
            ));
        }
        Ok(())
    }

    /// Every file name the card installs (the entry included).
    pub fn file_names(&self) -> Vec<&str> {
        match &self.files {
            CardFiles::ReleaseAssets { assets } => assets.iter().map(|a| a.name.as_str()).collect(),
            CardFiles::SourceArchive { files, .. } => files.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Error)]
pub enum CardError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    NoCard(#[from] NoCard),
    #[error(
        "`{0}` cannot be a file name in the card's folder (a path, `.`, `..` or a control character)"
    )]
    BadName(String),
    #[error("{0}")]
    Io(String),
}

impl CardError {
    pub fn rule_id(&self) -> &'static str {
        match self {
            Self::Forge(e) => e.rule_id(),
            Self::NoCard(e) => e.rule_id(),
            Self::Source(e) => e.rule_id(),
            Self::BadName(_) => "plugin-file-name",
            Self::Io(_) => "io",
        }
    }
}

/// The card's folder in `$out` (and under the module's URL): its repository's name without
/// `lovelace-`, so two cards cannot collide.
pub fn card_folder(repo_name: &str) -> String {
    repo_name.trim_start_matches("lovelace-").to_owned()
}

impl crate::release_source::Pinned for CardEntry {
    fn repo(&self) -> &str {
        &self.repo
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn commit(&self) -> &str {
        &self.commit
    }
}
