//! hacs-nix: pin Home Assistant custom components as Nix derivations that build the first time.
//!
//! The library holds all domain logic and never prints; the `xtask` binary wires it to a command
//! line. Rooms (modules) follow `docs/architecture.md`:
//!
//! - [`archive`]: tar.gz / tar / zip bytes → a [`tree::Tree`] with exactly fetchzip's semantics.
//! - [`nar`]: a tree or a filesystem path → NAR bytes and their SHA-256, streamed.
//! - [`hash`]: SHA-256 digests and their Nix encodings (SRI, Nix base32, hex).
//! - [`manifest`]: `manifest.json` and `hacs.json` → typed values and [`finding::Finding`]s.
//! - [`download`]: fetching a URL to a file, with progress reported to the caller.

pub mod apply;
pub mod archive;
pub mod card;
pub mod catalogue;
pub mod config;
pub mod deps;
pub mod download;
pub mod fetch;
pub mod finding;
pub mod forge;
pub mod hash;
pub mod layout;
pub mod lint;
pub mod lock;
pub mod manifest;
pub mod meta;
pub mod names;
pub mod nar;
pub mod nixgen;
pub mod pypi;
pub mod pyset;
pub mod release_source;
pub mod report;
pub mod requirement;
pub mod survey;
pub mod theme;
pub mod tree;
pub mod update;

/// The user's cache folder for hacs-nix: `$XDG_CACHE_HOME/hacs-nix`, or `~/.cache/hacs-nix`.
pub fn cache_home() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache")))?;
    Some(base.join("hacs-nix"))
}
