//! hacs-nix: pin Home Assistant custom components as Nix derivations that build the first time.
//!
//! The library holds all domain logic and never prints; the `xtask` binary wires it to a command
//! line. Rooms (modules) follow `docs/architecture.md`: one room per kind HACS installs
//! ([`card`], [`theme`], the integration rooms [`fetch`] and [`layout`], [`pypi`] for the Python
//! packages generated), the name rules as a leaf ([`names`]), the lock as plain data with one
//! validation ([`lock`]), the Nix writer that reads only the lock ([`nixgen`]), and the plan
//! above them all ([`update`]). Imports run one way (`tests/rooms.rs` fails on a circle).
//!
//! What a front end calls, one line per command:
//!
//! - [`plan`] (`update-components`, `add`): GitHub and the index → the new lock, the files to
//!   write and remove, changes and failures; [`Checkout::apply`] writes a plan whole or not at
//!   all.
//! - [`lint`] (`lint`): the offline checks of a checkout.
//! - [`analyse`] and [`check_manifest`] (`check`): where an integration is in a tree and what
//!   the build will see; [`card::rule::locate`] and [`theme::rule::theme_files`] for cards and
//!   themes.
//! - [`resolve_requirements`] (`deps`): requirements against Home Assistant's Python set.
//! - [`unpack`] and [`hash_tree`] (`prefetch`): an archive as fetchzip unpacks it, and its NAR
//!   hash.
//! - [`load_catalogue`] and [`Catalogue::search`] (`search`, `add` by name): HACS's lists.
//! - [`survey`] (`survey`): every repository of the catalogue classified without writing.

pub use apply::Checkout;
pub use archive::unpack;
pub use catalogue::{Catalogue, load as load_catalogue};
pub use deps::resolve as resolve_requirements;
pub use layout::analyse;
pub use lint::lint;
pub use manifest::check_manifest;
pub use nar::hash_tree;
pub use survey::survey;
pub use update::plan;

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
pub(crate) mod release_source;
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
