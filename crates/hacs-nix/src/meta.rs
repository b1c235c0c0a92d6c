//! A pin's `meta`: what GitHub says of the repository and the release, in nixpkgs' style.
//! Shared by every kind of pin; the Nix writer only prints it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Meta {
    pub description: Option<String>,
    pub homepage: Option<String>,
    /// SPDX identifier.
    pub license: Option<String>,
    pub changelog: Option<String>,
}

impl Meta {
    /// The derivation's `meta` from what GitHub says of the repository and the release.
    pub fn from_github(
        repo: &crate::forge::RepoId,
        info: &crate::forge::RepoInfo,
        chosen: &crate::forge::Chosen,
    ) -> Self {
        Self {
            description: info.description.as_deref().and_then(Self::description),
            homepage: info
                .homepage
                .clone()
                .filter(|h| h.starts_with("http"))
                .or_else(|| Some(format!("https://github.com/{repo}"))),
            license: info.license.clone(),
            changelog: chosen
                .release
                .as_ref()
                .map(|r| format!("https://github.com/{repo}/releases/tag/{}", r.tag_name)),
        }
    }

    /// nixpkgs' description style: no trailing period, surrounding space trimmed, one line.
    pub fn description(text: &str) -> Option<String> {
        let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let trimmed = one_line.trim_end_matches('.').trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }
}
