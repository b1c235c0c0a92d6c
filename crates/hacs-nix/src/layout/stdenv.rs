//! What stdenv's generic builder does by default with a component's source root, and which of
//! it can fail the build (docs/builder.md has every phase, with its nixpkgs source).
//!
//! `buildHomeAssistantComponent` sets neither `dontConfigure` nor `dontBuild`, and with
//! `pyproject = false` (`format = "other"`) no Python hook replaces either phase
//! (`mk-python-derivation.nix` adds build and install hooks only for the other formats). So
//! stdenv's `setup.sh` runs its defaults in the unpacked source:
//! - `configurePhase` runs `./configure` when it is executable (`-x`: a directory passes too);
//! - `buildPhase` runs `make` when `Makefile`, `makefile` or `GNUmakefile` exists (`-e`: any
//!   kind of entry), and then `installCheckPhase` tries `make installcheck` as well.
//!
//! Releases ship developer Makefiles whose default target lints, formats or bumps versions with
//! tools the sandbox does not have. The install phase only copies files, so turning both phases
//! off loses nothing.

use super::Fix;
use crate::finding::{Finding, Location};
use crate::tree::{Node, Tree};

/// The names `buildPhase` looks for, in its order.
const MAKEFILES: [&str; 3] = ["Makefile", "makefile", "GNUmakefile"];

/// Predicts stdenv's default configure and build phases on the source root.
pub(super) fn default_phases(
    tree: &Tree,
    file: &dyn Fn(&str) -> String,
    findings: &mut Vec<Finding>,
    fixes: &mut Vec<Fix>,
) {
    if let Some(name) = MAKEFILES.into_iter().find(|n| tree.lookup(n).is_some()) {
        findings.push(Finding::error(
            "layout-stdenv-make",
            Location::file(file(name)),
            format!("the source root has `{name}`, so stdenv's default buildPhase runs `make` (its first target) in nixpkgs' sandbox, where a developer's lint, format or release target fails the build"),
            "the generator sets `dontBuild = true` (the install phase only copies files, so nothing is lost)",
        ));
        fixes.push(Fix::SkipBuild {
            file: name.to_owned(),
        });
    }
    let configure = match tree.lookup("configure") {
        Some(Node::File(f)) => f.executable,
        Some(Node::Directory(_) | Node::Symlink { .. }) => true,
        None => false,
    };
    if configure {
        findings.push(Finding::error(
            "layout-stdenv-configure",
            Location::file(file("configure")),
            "the source root has an executable `configure`, so stdenv's default configurePhase runs `./configure --prefix=$out` in nixpkgs' sandbox".to_owned(),
            "the generator sets `dontConfigure = true` (nothing of a component is configured)",
        ));
        fixes.push(Fix::SkipConfigure {
            file: "configure".to_owned(),
        });
    }
}
