//! Shared by the end-to-end tests: the real-Nix oracles, and random trees written to disk and
//! archived by real writers (GNU tar, Info-ZIP zip, git archive, the tar and zip crates).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod builder;
pub mod catalogue;
pub mod craft;
pub mod github;
pub mod http;
pub mod index;
pub mod nixos;
pub mod oracle;
pub mod pipeline;
pub mod pybuild;
pub mod trees;
