//! HACS's rule for themes and what a theme file must be for Home Assistant to load it: the
//! files are everything under `themes/` (one root `.yaml` with `content_in_root`); each
//! `.yaml` Home Assistant loads parses as one
//! YAML document whose top level maps theme names to their definitions (mappings of
//! variables; Home Assistant's `frontend: themes:` merges them by name).
//!
//! YAML is read with saphyr (YAML 1.2): Home Assistant's PyYAML reads 1.1, but what is checked
//! here (it parses, the shape of the top two levels) reads the same in both, and tags such as
//! `!include` or `!secret` are accepted as tags.

use saphyr::{LoadableYamlNode, Yaml};

use crate::finding::{Finding, Location};

/// What HACS installs of a theme repository, and what Home Assistant loads of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeFiles {
    /// Every file installed, relative to the repository's root, in name order.
    pub files: Vec<String>,
    /// The files `!include_dir_merge_named` loads as themes: the `.yaml` files, hidden ones
    /// and `secrets.yaml` left out as Home Assistant leaves them out.
    pub loaded: Vec<String>,
}

/// Why a repository holds no theme HACS would install.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoTheme {
    #[error(
        "no theme file HACS would install: HACS takes a repository as a theme only when a `.yaml` file is under `themes/` (sub-folders included), and none is"
    )]
    NoThemesFolder,
    #[error(
        "no theme file Home Assistant would load: every `.yaml` under `themes/` is hidden (a name starting with `.`) or `secrets.yaml`"
    )]
    NothingLoaded,
    #[error(
        "no theme file HACS would install: with `content_in_root` HACS takes the first `.yaml` of the repository's root, and there is none (dotfiles such as `.yamllint.yaml` are tool settings, not themes)"
    )]
    NoRootYaml,
}

/// HACS's theme rule (`repositories/theme.py`, `base.py`'s `gather_files_to_download`): the
/// repository is a theme when a path starts with `themes/` and ends with `.yaml`; everything
/// under `themes/` is downloaded, sub-folders kept (Home Assistant's
/// `!include_dir_merge_named` reads them recursively, and `!include` reaches files beside a
/// theme). With `content_in_root`, HACS's filter keeps one `.yaml`: here the first of the root
/// in name order, dotfiles excluded (HACS's own filter would take whatever `.yaml` its tree
/// lists first, `.pre-commit-config.yaml` included, which is never a theme).
pub fn theme_files(paths: &[String], content_in_root: bool) -> Result<ThemeFiles, NoTheme> {
    let mut paths: Vec<&String> = paths.iter().collect();
    paths.sort();
    if !paths
        .iter()
        .any(|p| p.starts_with("themes/") && p.ends_with(".yaml"))
    {
        return Err(NoTheme::NoThemesFolder);
    }
    if content_in_root {
        let first = paths
            .iter()
            .find(|p| !p.contains('/') && !p.starts_with('.') && is_yaml_name(p))
            .ok_or(NoTheme::NoRootYaml)?;
        return Ok(ThemeFiles {
            files: vec![(*first).clone()],
            loaded: vec![(*first).clone()],
        });
    }
    let files: Vec<String> = paths
        .iter()
        .filter(|p| p.starts_with("themes/"))
        .map(|p| (*p).clone())
        .collect();
    let loaded: Vec<String> = files
        .iter()
        .filter(|p| {
            let under = &p["themes/".len()..];
            is_yaml_name(under.rsplit('/').next().unwrap_or_default())
                && !under.split('/').any(|part| part.starts_with('.'))
                && !under.ends_with("/secrets.yaml")
                && under != "secrets.yaml"
        })
        .cloned()
        .collect();
    if loaded.is_empty() {
        return Err(NoTheme::NothingLoaded);
    }
    Ok(ThemeFiles { files, loaded })
}

/// `<something>.yaml`, as Home Assistant's `*.yaml` pattern matches it.
fn is_yaml_name(name: &str) -> bool {
    name.ends_with(".yaml") && name.len() > ".yaml".len()
}

/// The theme names a file defines, and what is wrong with it.
pub fn check_theme(file: &str, bytes: &[u8]) -> (Vec<String>, Vec<Finding>) {
    let error = |rule, message: String, help: &str| {
        Finding::error(rule, Location::file(file), message, help)
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return (
            Vec::new(),
            vec![error(
                "theme-not-utf8",
                "the file is not UTF-8".to_owned(),
                "save it as UTF-8",
            )],
        );
    };
    let documents = match Yaml::load_from_str(text) {
        Ok(documents) => documents,
        Err(e) => {
            let marker = e.marker();
            let location = Location {
                line: Some(marker.line()),
                column: Some(marker.col() + 1),
                ..Location::file(file)
            };
            return (
                Vec::new(),
                vec![Finding::error(
                    "theme-yaml-invalid",
                    location,
                    format!("not YAML: {}", e.info()),
                    "Home Assistant cannot load it; fix the file upstream or pin another release",
                )],
            );
        }
    };
    let mut findings = Vec::new();
    if documents.len() > 1 {
        findings.push(error(
            "theme-several-documents",
            format!(
                "{} YAML documents; Home Assistant reads one per file",
                documents.len()
            ),
            "one document per theme file",
        ));
    }
    let Some(Yaml::Mapping(themes)) = documents.into_iter().next() else {
        findings.push(error(
            "theme-not-a-mapping",
            "the top level is not a mapping of theme names".to_owned(),
            "a theme file maps each theme's name to its variables",
        ));
        return (Vec::new(), findings);
    };
    if themes.is_empty() {
        findings.push(error(
            "theme-empty",
            "the file defines no theme".to_owned(),
            "a theme file maps each theme's name to its variables",
        ));
    }
    let mut names = Vec::new();
    for (key, value) in &themes {
        let Some(name) = key.as_str().map(str::to_owned).or_else(|| scalar(key)) else {
            findings.push(error(
                "theme-name-invalid",
                "a theme's name is not text".to_owned(),
                "theme names are the top-level keys",
            ));
            continue;
        };
        if !matches!(untagged(value), Yaml::Mapping(_)) && !included(value) {
            findings.push(Finding::error(
                "theme-not-a-mapping",
                Location {
                    key: Some(name.clone()),
                    ..Location::file(file)
                },
                format!("theme `{name}` is not a mapping of variables"),
                "each theme maps variable names (`primary-color`, `modes`, …) to values",
            ));
        }
        names.push(name);
    }
    (names, findings)
}

/// A scalar key written as something other than a plain string (`2024: …`).
fn scalar(yaml: &Yaml<'_>) -> Option<String> {
    match yaml {
        Yaml::Representation(text, _, _) => Some(text.to_string()),
        Yaml::Value(v) => Some(format!("{v:?}")),
        _ => None,
    }
}

/// `!include file.yaml` (and Home Assistant's other `!include…` tags): loaded by Home
/// Assistant from another file, which cannot be checked from here.
fn included(yaml: &Yaml<'_>) -> bool {
    let tag = match yaml {
        Yaml::Tagged(tag, _) => Some(tag),
        Yaml::Representation(_, _, tag) => tag.as_ref(),
        _ => None,
    };
    tag.is_some_and(|t| t.handle == "!" && t.suffix.starts_with("include"))
}

fn untagged<'a, 'b>(yaml: &'a Yaml<'b>) -> &'a Yaml<'b> {
    match yaml {
        Yaml::Tagged(_, inner) => untagged(inner),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn files_hacs_installs() {
        let paths = strings(&[
            "README.md",
            "themes/a.yaml",
            "themes/b.yml",
            "themes/x/c.yaml",
            "themes/x/logo.png",
            "themes/.hidden/d.yaml",
            "themes/secrets.yaml",
            "root.yaml",
            "themes/.yaml",
        ]);
        let all = theme_files(&paths, false).unwrap();
        // Everything under themes/ is installed; Home Assistant loads the visible `.yaml`.
        assert_eq!(
            all.files,
            strings(&[
                "themes/.hidden/d.yaml",
                "themes/.yaml",
                "themes/a.yaml",
                "themes/b.yml",
                "themes/secrets.yaml",
                "themes/x/c.yaml",
                "themes/x/logo.png",
            ])
        );
        assert_eq!(all.loaded, strings(&["themes/a.yaml", "themes/x/c.yaml"]));
        // A theme only in a sub-folder is a theme.
        let nested = strings(&["themes/windows10/light.yaml", "themes/windows10/dark.yaml"]);
        assert_eq!(theme_files(&nested, false).unwrap().loaded.len(), 2);
        // content_in_root: the first root `.yaml`, dotfiles skipped.
        let rooted = strings(&[
            ".pre-commit-config.yaml",
            ".yamllint.yaml",
            "b.yaml",
            "a.yaml",
            "themes/t.yaml",
        ]);
        let one = theme_files(&rooted, true).unwrap();
        assert_eq!(
            (one.files, one.loaded),
            (strings(&["a.yaml"]), strings(&["a.yaml"]))
        );
        assert_eq!(
            theme_files(&strings(&[".yamllint.yaml", "themes/t.yaml"]), true),
            Err(NoTheme::NoRootYaml)
        );
        // HACS's validation wants a `.yaml` under themes/, content_in_root or not.
        assert_eq!(
            theme_files(&strings(&["a.yaml"]), true),
            Err(NoTheme::NoThemesFolder)
        );
        assert_eq!(
            theme_files(&strings(&["themes/.x.yaml"]), false),
            Err(NoTheme::NothingLoaded)
        );
    }

    #[test]
    fn a_theme_file_is_a_mapping_of_mappings() {
        let good = "catppuccin-latte:\n  primary-color: \"#8839ef\"\n  modes:\n    dark:\n      x: y\nnord: !include nord.yaml\nother:\n  card-mod-theme: other\n";
        let (names, findings) = check_theme("themes/c.yaml", good.as_bytes());
        // `nord` comes from another file (`!include`): Home Assistant loads it.
        assert_eq!(names, strings(&["catppuccin-latte", "nord", "other"]));
        assert_eq!(findings, []);
        let (_, findings) = check_theme("t.yaml", b"a:\n  x: 1\nb: !secret nope\n");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].location.key.as_deref(), Some("b"));

        let (_, findings) = check_theme("t.yaml", b"a:\n  b: [1, 2\n");
        assert_eq!(findings[0].rule, "theme-yaml-invalid");
        assert!(findings[0].location.line.is_some(), "{findings:?}");
        let (_, findings) = check_theme("t.yaml", b"- a\n- b\n");
        assert_eq!(findings[0].rule, "theme-not-a-mapping");
        let (_, findings) = check_theme("t.yaml", b"a: 1\n");
        assert_eq!(findings[0].rule, "theme-not-a-mapping");
        let (_, findings) = check_theme("t.yaml", b"{}\n");
        assert_eq!(findings[0].rule, "theme-empty");
        let (_, findings) = check_theme("t.yaml", b"a: {x: 1}\n---\nb: {y: 2}\n");
        assert_eq!(findings[0].rule, "theme-several-documents");
        let (_, findings) = check_theme("t.yaml", b"\xff\xfe");
        assert_eq!(findings[0].rule, "theme-not-utf8");
    }
}
