//! HACS's rule for Lovelace plugins (cards): which file is the card and which files HACS
//! downloads with it. Pure: the caller lists the release's assets and the tag's files.
//!
//! The rule, as HACS applies it: the candidate names are `hacs.json`'s `filename` alone when
//! set, else `<repo without "lovelace-">.js`, `<repo>.js`, `<repo>.umd.js`, `<repo>-bundle.js`.
//! Unless `content_in_root`, the first candidate name that one of the release's assets has
//! wins, and every asset of that release is downloaded. Otherwise, per candidate in order, the
//! repository's root (all root `*.js` are downloaded), then, without `content_in_root` only,
//! `dist/` (all its files). (`custom_components/hacs/repositories/plugin.py`,
//! `update_filenames`; `base.py`, `gather_files_to_download`.)

use serde::{Deserialize, Serialize};

use crate::manifest::HacsJson;

/// Where HACS takes a card from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum CardSource {
    /// The release's assets: `entry` is the card, `files` every asset (entry included).
    ReleaseAssets { entry: String, files: Vec<String> },
    /// The tag's root: every root `*.js`.
    Root { entry: String, files: Vec<String> },
    /// The tag's `dist/` folder: every file in it (paths relative to `dist/`).
    Dist { entry: String, files: Vec<String> },
}

impl CardSource {
    pub fn entry(&self) -> &str {
        match self {
            Self::ReleaseAssets { entry, .. }
            | Self::Root { entry, .. }
            | Self::Dist { entry, .. } => entry,
        }
    }

    pub fn files(&self) -> &[String] {
        match self {
            Self::ReleaseAssets { files, .. }
            | Self::Root { files, .. }
            | Self::Dist { files, .. } => files,
        }
    }
}

/// No candidate was found: the names looked for, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no file HACS would install as the card: looked for {} in {}",
    names(.looked_for),
    .places.join(", ")
)]
pub struct NoCard {
    pub looked_for: Vec<String>,
    pub places: Vec<String>,
}

fn names(list: &[String]) -> String {
    list.iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl NoCard {
    pub fn rule_id(&self) -> &'static str {
        "plugin-no-card"
    }
}

/// The names HACS accepts for the card's file, in its order.
pub fn candidates(repo_name: &str, hacs: Option<&HacsJson>) -> Vec<String> {
    if let Some(filename) = hacs.and_then(|h| h.filename.as_deref()) {
        return vec![filename.to_owned()];
    }
    let mut out = Vec::new();
    for name in [
        format!("{}.js", repo_name.trim_start_matches("lovelace-")),
        format!("{repo_name}.js"),
        format!("{repo_name}.umd.js"),
        format!("{repo_name}-bundle.js"),
    ] {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// What HACS installs, given the release's asset names (`None`: no release, a branch or a tag
/// without one) and the tag's file paths (relative to the repository's root).
pub fn locate(
    repo_name: &str,
    hacs: Option<&HacsJson>,
    assets: Option<&[String]>,
    tree: &[String],
) -> Result<CardSource, NoCard> {
    let wanted = candidates(repo_name, hacs);
    let content_in_root = hacs.is_some_and(|h| h.content_in_root);
    let mut places = Vec::new();
    if !content_in_root && let Some(assets) = assets {
        places.push("the release's assets".to_owned());
        // HACS's order: the first candidate name some asset has, not the first asset that
        // has some candidate name (`[f for f in valid_filenames for asset in assets …][0]`).
        if let Some(entry) = wanted.iter().find(|name| assets.contains(name)) {
            return Ok(CardSource::ReleaseAssets {
                entry: entry.clone(),
                files: assets.to_vec(),
            });
        }
    }
    let root: Vec<String> = tree
        .iter()
        .filter(|p| !p.contains('/') && p.ends_with(".js"))
        .cloned()
        .collect();
    let dist: Vec<String> = tree
        .iter()
        .filter_map(|p| p.strip_prefix("dist/"))
        .map(str::to_owned)
        .collect();
    places.push("the repository's root".to_owned());
    if !content_in_root {
        places.push("`dist/`".to_owned());
    }
    for name in &wanted {
        if root.contains(name) {
            return Ok(CardSource::Root {
                entry: name.clone(),
                files: root,
            });
        }
        // HACS looks in `dist/` only without `content_in_root`.
        if !content_in_root && dist.contains(name) {
            return Ok(CardSource::Dist {
                entry: name.clone(),
                files: dist,
            });
        }
    }
    Err(NoCard {
        looked_for: wanted,
        places,
    })
}

/// Where NixOS serves every card's files: `customLovelaceModules` are merged into this folder.
pub const MODULES_URL: &str = "/local/nixos-lovelace-modules";

/// A path HACS serves a card's files under, hard-coded in one of its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardCoded {
    pub file: String,
    /// `/hacsfiles/<repo>/` or `/local/community/<repo>/`.
    pub path: String,
    /// What it becomes: the card's own folder under [`MODULES_URL`].
    pub replacement: String,
}

/// HACS installs a card under `www/community/<repo>/`, served as `/hacsfiles/<repo>/` and
/// `/local/community/<repo>/`; cards that load their other files through those paths need them
/// rewritten to where the NixOS module serves them (`folder`: the card's subfolder).
pub fn hard_coded_paths(
    repo_name: &str,
    folder: &str,
    files: &[(String, Vec<u8>)],
) -> Vec<HardCoded> {
    let replacement = format!("{MODULES_URL}/{folder}/");
    let needles = [
        format!("/hacsfiles/{repo_name}/"),
        format!("/local/community/{repo_name}/"),
    ];
    let mut out = Vec::new();
    for (file, bytes) in files {
        for needle in &needles {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                out.push(HardCoded {
                    file: file.clone(),
                    path: needle.clone(),
                    replacement: replacement.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hacs(filename: Option<&str>, content_in_root: bool) -> HacsJson {
        HacsJson {
            name: Some("Card".to_owned()),
            content_in_root,
            zip_release: false,
            filename: filename.map(str::to_owned),
            homeassistant: None,
            hacs: None,
            persistent_directory: None,
        }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn hard_coded_hacs_paths_are_found_per_file() {
        let files = vec![
            (
                "card.js".to_owned(),
                b"import(\"/hacsfiles/lovelace-card/chunk-1.js\"); fetch('/local/community/lovelace-card/i18n/en.json')".to_vec(),
            ),
            ("chunk-1.js".to_owned(), b"export const x = '/hacsfiles/other-card/a.js';".to_vec()),
        ];
        let found = hard_coded_paths("lovelace-card", "card", &files);
        assert_eq!(
            found
                .iter()
                .map(|h| (h.file.as_str(), h.path.as_str()))
                .collect::<Vec<_>>(),
            [
                ("card.js", "/hacsfiles/lovelace-card/"),
                ("card.js", "/local/community/lovelace-card/")
            ]
        );
        assert!(
            found
                .iter()
                .all(|h| h.replacement == "/local/nixos-lovelace-modules/card/")
        );
    }

    #[test]
    fn candidates_follow_hacs_order() {
        assert_eq!(
            candidates("lovelace-mushroom", None),
            strings(&[
                "mushroom.js",
                "lovelace-mushroom.js",
                "lovelace-mushroom.umd.js",
                "lovelace-mushroom-bundle.js"
            ])
        );
        assert_eq!(
            candidates("button-card", None),
            strings(&[
                "button-card.js",
                "button-card.umd.js",
                "button-card-bundle.js"
            ])
        );
        assert_eq!(
            candidates("x", Some(&hacs(Some("card.js"), false))),
            strings(&["card.js"])
        );
    }

    #[test]
    fn every_case_of_the_rule() {
        // A release asset wins, and every asset comes along.
        let assets = strings(&["mini-graph-card-bundle.js", "mini-graph-card-bundle.js.gz"]);
        assert_eq!(
            locate(
                "mini-graph-card",
                None,
                Some(&assets),
                &strings(&["src/main.ts"])
            ),
            Ok(CardSource::ReleaseAssets {
                entry: "mini-graph-card-bundle.js".to_owned(),
                files: assets.clone()
            })
        );
        // No matching asset: dist/ with all its files.
        let tree = strings(&["README.md", "dist/card.js", "dist/card.js.map", "src/a.ts"]);
        assert_eq!(
            locate("card", None, Some(&strings(&["other.zip"])), &tree),
            Ok(CardSource::Dist {
                entry: "card.js".to_owned(),
                files: strings(&["card.js", "card.js.map"])
            })
        );
        // The root before dist/, all root *.js.
        let tree = strings(&["card.js", "helper.js", "dist/card.js", "x/y.js"]);
        assert_eq!(
            locate("card", None, None, &tree),
            Ok(CardSource::Root {
                entry: "card.js".to_owned(),
                files: strings(&["card.js", "helper.js"])
            })
        );
        // content_in_root ignores the release's assets.
        let assets = strings(&["card.js"]);
        assert!(matches!(
            locate(
                "card",
                Some(&hacs(None, true)),
                Some(&assets),
                &strings(&["card.js"])
            ),
            Ok(CardSource::Root { .. })
        ));
        // Two assets that both match: the first candidate wins, whatever the assets' order.
        let assets = strings(&["lovelace-card.js", "card.js"]);
        assert_eq!(
            locate("lovelace-card", None, Some(&assets), &[]).map(|s| s.entry().to_owned()),
            Ok("card.js".to_owned())
        );
        // content_in_root with a dist/: the root only.
        let tree = strings(&["dist/card.js", "card.js", "helper.js"]);
        assert_eq!(
            locate("card", Some(&hacs(None, true)), None, &tree),
            Ok(CardSource::Root {
                entry: "card.js".to_owned(),
                files: strings(&["card.js", "helper.js"])
            })
        );
        let e = locate(
            "card",
            Some(&hacs(None, true)),
            None,
            &strings(&["dist/card.js"]),
        )
        .unwrap_err();
        assert_eq!(e.places, strings(&["the repository's root"]));
        // filename names the only candidate.
        assert_eq!(
            locate(
                "whatever",
                Some(&hacs(Some("w.js"), false)),
                Some(&strings(&["w.js"])),
                &[]
            )
            .map(|s| s.entry().to_owned()),
            Ok("w.js".to_owned())
        );
        // -bundle in dist/.
        assert_eq!(
            locate("c", None, None, &strings(&["dist/c-bundle.js"])).map(|s| s.entry().to_owned()),
            Ok("c-bundle.js".to_owned())
        );
        // Nothing: the names looked for and where.
        let e = locate("c", None, Some(&[]), &strings(&["src/c.ts"])).unwrap_err();
        assert_eq!(e.rule_id(), "plugin-no-card");
        assert!(
            e.to_string().contains("`c.js`, `c.umd.js`, `c-bundle.js`"),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("the release's assets, the repository's root, `dist/`"),
            "{e}"
        );
    }
}
