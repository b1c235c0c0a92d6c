//! Themes: HACS's rule for what a theme repository installs ([`rule`]), the check of each file
//! Home Assistant loads, and pinning one from GitHub ([`pin_theme`]). The lock keeps a
//! [`ThemeEntry`]; the Nix writer installs its files under `$out/themes/<attribute>/`.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::finding::Finding;
use crate::meta::Meta;
use crate::names::valid_relative_path;
use crate::release_source::SourceError;

mod pin;
pub mod rule;

pub use pin::pin_theme;
pub use rule::NoTheme;

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
    /// Every file installed, relative to the repository's root: all of `themes/` (sub-folders
    /// kept), or one root `.yaml` with `content_in_root`.
    pub files: Vec<String>,
    /// The theme names they define.
    pub themes: Vec<String>,
    pub meta: Meta,
}

impl ThemeEntry {
    /// The folder of the source the files are installed from: `themes`, or the root.
    pub fn folder(&self) -> &'static str {
        if self.files.first().is_some_and(|f| !f.contains('/')) {
            ""
        } else {
            "themes"
        }
    }

    /// The files' paths under [`Self::folder`]: where they land under the theme's folder.
    pub fn installed_paths(&self) -> Vec<&str> {
        let folder = self.folder();
        self.files
            .iter()
            .map(|f| {
                if folder.is_empty() {
                    f.as_str()
                } else {
                    &f[folder.len() + 1..]
                }
            })
            .collect()
    }

    /// What every theme pin must be for its derivation to be written: the one rule the lock's
    /// loading and the Nix writer share.
    pub fn check(&self) -> Result<(), String> {
        crate::names::check_repo(&self.repo)?;
        if self.files.is_empty() {
            return Err("it installs no file".to_owned());
        }
        if let Some(bad) = self.files.iter().find(|f| !valid_relative_path(f)) {
            return Err(format!(
                "`{}` is not a relative path of plain names",
                bad.escape_debug()
            ));
        }
        let rooted = self.files.iter().any(|f| !f.contains('/'));
        let valid = if rooted {
            self.files.len() == 1 && self.files[0].ends_with(".yaml")
        } else {
            self.files.iter().all(|f| f.starts_with("themes/"))
        };
        if !valid {
            return Err(
                "its files are neither all under `themes/` nor one root `.yaml` (content_in_root)"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

#[derive(Debug, Error)]
pub enum ThemeError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    NoTheme(#[from] NoTheme),
    #[error("{}: {} ({} error{})", .0.location, .0.message, .1, if *.1 == 1 { "" } else { "s" })]
    Invalid(Box<Finding>, usize),
    #[error("{0}")]
    Io(String),
}

impl ThemeError {
    pub fn rule_id(&self) -> &'static str {
        match self {
            Self::Source(e) => e.rule_id(),
            Self::NoTheme(_) => "theme-none",
            Self::Invalid(finding, _) => finding.rule,
            Self::Io(_) => "io",
        }
    }
}

impl crate::release_source::Pinned for ThemeEntry {
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
