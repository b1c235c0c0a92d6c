//! The name rules: what may become a Nix identifier, an attribute, a folder under `pkgs/`, a
//! Home Assistant domain, one file name, or a relative path inside `$out`. A leaf: every room
//! that writes or checks a name asks here, so the lock's validation and the Nix writer can
//! never disagree on what is a name.

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or",
];

/// Whether `name` can stand as a Nix identifier (attribute and argument names we write bare).
pub fn is_nix_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'))
        && !KEYWORDS.contains(&name)
}

/// Whether `name` can be a component's attribute: a Nix identifier that is also a plain path
/// component (`[A-Za-z_][A-Za-z0-9_-]*`), since it names the folder `pkgs/<attr>/` and stands
/// bare in `pkgs/default.nix` (`./<attr>`: a `'` would end the path).
pub fn is_path_attribute(name: &str) -> bool {
    is_nix_identifier(name) && !name.contains('\'')
}

/// Nix argument names the generated files take themselves (components, cards, themes and
/// Python packages, and `pkgs/default.nix`'s `callPackage`); a dependency or a generated
/// package of one of these names would shadow the builder or fetcher it stands for.
pub const RESERVED_ARGUMENTS: &[&str] = &[
    "lib",
    "buildHomeAssistantComponent",
    "buildPythonPackage",
    "callPackage",
    "fetchFromGitHub",
    "fetchPypi",
    "fetchurl",
    "fetchzip",
    "python",
    // Home Assistant itself, given to the checks of Python packages that import it.
    "home-assistant",
];

/// Home Assistant core's `valid_domain`: `^(?!.+__)(?!_)[\da-z_]+(?<!_)$`. Also what makes a
/// domain safe as a folder name and as a word in nixpkgs' install phase.
pub fn valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !domain.starts_with('_')
        && !domain.ends_with('_')
        && !domain.contains("__")
}

/// A name that becomes one file in `$out`: no path, nothing special.
pub fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.chars().any(char::is_control)
}

/// A folder rename the generator may write: one folder name (no separator, not `.` or `..`)
/// to a valid domain.
pub fn valid_rename(folder: &str, domain: &str) -> bool {
    valid_domain(domain)
        && !folder.is_empty()
        && folder != "."
        && folder != ".."
        && !folder.contains(['/', '\0'])
}

/// A relative path of plain components (each a [`valid_file_name`]): a file a theme installs,
/// kept at its place under the theme's folder.
pub fn valid_relative_path(path: &str) -> bool {
    path.split('/').all(valid_file_name)
}

/// A GitHub repository as pins record it: `owner/name`, each a plain name.
pub fn check_repo(repo: &str) -> Result<(), String> {
    match repo.split_once('/') {
        Some((owner, name)) if valid_file_name(owner) && valid_file_name(name) => Ok(()),
        _ => Err(format!(
            "the repository `{}` is not owner/name",
            repo.escape_debug()
        )),
    }
}

/// Names a generated file takes as function arguments: identifiers, none twice, none of the
/// generator's own ([`RESERVED_ARGUMENTS`]).
pub fn check_arguments<'a>(names: impl IntoIterator<Item = &'a String>) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        if !is_nix_identifier(name) {
            return Err(format!("`{}` is not a Nix identifier", name.escape_debug()));
        }
        if RESERVED_ARGUMENTS.contains(&name.as_str()) {
            return Err(format!(
                "`{name}` would shadow the generated file's own `{name}` argument"
            ));
        }
        if !seen.insert(name) {
            return Err(format!("`{name}` is named twice"));
        }
    }
    Ok(())
}
