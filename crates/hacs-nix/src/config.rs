//! `pkgs/components.toml`: the components people want, one table per Nix attribute.
//!
//! ```toml
//! [hacs]
//! repo = "hacs/integration"
//! # tag = "2.0.5"                 pin a tag instead of following releases
//! # prerelease = true             follow pre-releases too
//! # source = "release-asset"      auto (what HACS installs) | release-asset | source-archive
//! # extra-dependencies = ["foo"]  more attributes of Home Assistant's Python set
//! # ignore = { numpy = "vendored" }  requirements to drop, with the reason
//! # frozen = true                 keep the current pin; never update
//! # package-missing = false       never package requirements Home Assistant's set lacks
//! # kind = "card"                 a Lovelace card (HACS's plugin rule), or "theme"; default "integration"
//!
//! # Python packages the tool generates for requirements Home Assistant's set lacks:
//! [python.micloud]
//! # version = "0.6"               this version (or a specifier such as ">=0.5,<0.7")
//! # wheel = true                  the pure-Python wheel, not the sdist
//! # build-inputs = ["cython"]     more attributes of the set for its build-system
//! # provided = true               your nixpkgs provides it now: never package it
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::fetch::SourcePreference;
use crate::finding::{Finding, Location};
use crate::forge::{Choice, RepoId};
use crate::names::{RESERVED_ARGUMENTS, is_nix_identifier, is_path_attribute};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Wanted {
    pub repo: String,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub prerelease: bool,
    #[serde(default)]
    pub source: SourcePreference,
    #[serde(default)]
    pub extra_dependencies: Vec<String>,
    #[serde(default)]
    pub ignore: BTreeMap<String, String>,
    #[serde(default)]
    pub frozen: bool,
    /// Package requirements Home Assistant's set lacks from the Python index.
    #[serde(default = "yes")]
    pub package_missing: bool,
    /// What HACS would install it as.
    #[serde(default)]
    pub kind: Kind,
}

/// HACS's categories this tool pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    #[default]
    Integration,
    /// A Lovelace plugin (HACS's category `plugin`).
    Card,
    /// A frontend theme.
    Theme,
}

fn yes() -> bool {
    true
}

/// `[python.<name>]`: how to package (or not) one Python package.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PythonChoice {
    /// A version (`0.6`) or a PEP 440 specifier (`>=0.5,<0.7`), instead of what components ask.
    #[serde(default)]
    pub version: Option<String>,
    /// Package the pure-Python wheel even when there is an sdist.
    #[serde(default)]
    pub wheel: bool,
    /// More attributes of Home Assistant's set for `build-system`.
    #[serde(default)]
    pub build_inputs: Vec<String>,
    /// The user's nixpkgs (or overlay) provides it under its PEP 503 name: never generated.
    #[serde(default)]
    pub provided: bool,
}

impl PythonChoice {
    /// The requirement text the choice stands for, for a package called `name`.
    pub fn requirement(&self, name: &str) -> Option<String> {
        let version = self.version.as_deref()?.trim();
        Some(if version.starts_with(|c: char| c.is_ascii_digit()) {
            format!("{name}=={version}")
        } else {
            format!("{name}{version}")
        })
    }
}

impl Wanted {
    pub fn repo_id(&self) -> Option<RepoId> {
        RepoId::parse(&self.repo)
    }

    pub fn choice(&self) -> Choice {
        match (&self.tag, self.prerelease) {
            (Some(tag), _) => Choice::Tag(tag.clone()),
            (None, true) => Choice::LatestIncludingPrereleases,
            (None, false) => Choice::Latest,
        }
    }
}

/// The wanted list, by attribute name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Components {
    pub entries: BTreeMap<String, Wanted>,
    /// `[python.<name>]` tables, keyed by the PEP 503 name.
    pub python: BTreeMap<String, PythonChoice>,
}

impl Components {
    /// PEP 503 names marked `[python.<name>] provided = true`.
    pub fn provided(&self) -> Vec<String> {
        self.python
            .iter()
            .filter(|(_, choice)| choice.provided)
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// The table holding Python package choices; no component may take its name (it is also the
/// folder of the generated packages, `pkgs/python/`).
pub const PYTHON_TABLE: &str = "python";

/// The flake's own outputs that pins are merged with (`packages.<system>`, `checks.<system>`):
/// a pin of one of these names would silently replace the tool or a check.
pub const FLAKE_OUTPUT_NAMES: &[(&str, &str)] = &[
    (
        "default",
        "`packages.<system>.default` is the hacs-nix tool",
    ),
    (
        "hacs-nix",
        "`packages.<system>.hacs-nix` is the hacs-nix tool",
    ),
    ("lint", "`checks.<system>.lint` is the offline lint"),
    (
        "formatting",
        "`checks.<system>.formatting` checks flake.nix's formatting",
    ),
    (
        "module",
        "`checks.<system>.module` evaluates the NixOS module",
    ),
];

/// Why `attr` cannot name a pin although it is a valid attribute, if it cannot.
pub fn reserved_attribute(attr: &str) -> Option<&'static str> {
    FLAKE_OUTPUT_NAMES
        .iter()
        .find(|(name, _)| *name == attr)
        .map(|(_, why)| *why)
}

/// The file's shape: component tables, and the `[python]` table of package choices. Read by
/// hand rather than with `#[serde(flatten)]`, which would lose the line of an error.
struct Document {
    python: BTreeMap<String, PythonChoice>,
    entries: BTreeMap<String, Wanted>,
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Tables;
        impl<'de> serde::de::Visitor<'de> for Tables {
            type Value = Document;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("tables of components")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Document, A::Error> {
                let mut document = Document {
                    python: BTreeMap::new(),
                    entries: BTreeMap::new(),
                };
                while let Some(key) = map.next_key::<String>()? {
                    if key == PYTHON_TABLE {
                        document.python = map.next_value()?;
                    } else {
                        let wanted = map.next_value()?;
                        document.entries.insert(key, wanted);
                    }
                }
                Ok(document)
            }
        }
        deserializer.deserialize_map(Tables)
    }
}

/// Parses the file; every problem is a finding naming the line (errors stop the run).
pub fn parse(file: &str, text: &str) -> Result<Components, Vec<Finding>> {
    let at = |offset: usize| Location::at_offset(file, text.as_bytes(), offset);
    let file_value: Document = toml::from_str(text).map_err(|e| {
        let location = e.span().map_or_else(|| Location::file(file), |span| at(span.start));
        vec![Finding::error(
            "config-invalid",
            location,
            e.message().trim().to_owned(),
            "each component is a table such as [hacs] with repo = \"hacs/integration\", and [python.<name>] tables hold Python package choices; see the README for the keys",
        )]
    })?;
    let entries = file_value.entries;
    let mut findings = Vec::new();
    let mut python = BTreeMap::new();
    for (name, choice) in file_value.python {
        let normalized = crate::requirement::normalize(&name);
        let mut location = text
            .find(&format!("[python.{name}]"))
            .map_or_else(|| Location::file(file), at);
        location.key = Some(format!("python.{name}"));
        if !is_nix_identifier(&normalized) {
            findings.push(Finding::error(
                "config-python-name",
                location.clone(),
                format!("`{name}` cannot be a Nix attribute name once normalised (`{normalized}`)"),
                "name the package as the Python index does, e.g. [python.micloud]",
            ));
        }
        if let Some(req) = choice.requirement(&normalized)
            && crate::requirement::parse(&req).is_err()
        {
            findings.push(Finding::error(
                "config-python-version",
                location.clone(),
                format!(
                    "`version = {:?}` is neither a version nor a specifier",
                    choice.version.as_deref().unwrap_or_default()
                ),
                "write a version such as \"0.6\" or a specifier such as \">=0.5,<0.7\"",
            ));
        }
        for input in &choice.build_inputs {
            if !is_nix_identifier(input) || RESERVED_ARGUMENTS.contains(&input.as_str()) {
                findings.push(Finding::error(
                    "config-python-build-input",
                    location.clone(),
                    format!("`{input}` in build-inputs is not a package attribute"),
                    "name attributes of Home Assistant's Python set, e.g. \"cython\"",
                ));
            }
        }
        if choice.provided
            && (choice.version.is_some() || choice.wheel || !choice.build_inputs.is_empty())
        {
            findings.push(Finding::error(
                "config-python-provided",
                location.clone(),
                "`provided = true` means the tool packages nothing, so the other keys mean nothing"
                    .to_owned(),
                "remove `provided`, or the other keys",
            ));
        }
        python.insert(normalized, choice);
    }
    // The line of an attribute's table header, for findings about its values.
    let header = |attr: &str| {
        let needle = format!("[{attr}]");
        text.find(&needle)
            .map_or_else(|| Location::file(file), at)
            .clone()
    };
    for (attr, wanted) in &entries {
        let mut location = header(attr);
        location.key = Some(attr.clone());
        if !is_path_attribute(attr) {
            findings.push(Finding::error(
                "config-attribute-name",
                location.clone(),
                format!("`{attr}` cannot be a Nix attribute name"),
                "use letters, digits, `_` and `-`, starting with a letter or `_` (e.g. the integration's domain)",
            ));
        }
        if let Some(why) = reserved_attribute(attr) {
            findings.push(Finding::error(
                "config-attribute-reserved",
                location.clone(),
                format!("`{attr}` would shadow one of the flake's own outputs: {why}"),
                "rename the table, e.g. after the integration's domain or the repository",
            ));
        }
        if wanted.repo_id().is_none() {
            findings.push(Finding::error(
                "config-repo",
                location.clone(),
                format!("`repo = \"{}\"` is not `owner/name`", wanted.repo),
                "write the GitHub repository as \"owner/name\", e.g. \"hacs/integration\"",
            ));
        }
        if wanted.tag.is_some() && wanted.prerelease {
            findings.push(Finding::error(
                "config-tag-and-prerelease",
                location.clone(),
                "`tag` pins one release, so `prerelease` means nothing here".to_owned(),
                "remove one of the two",
            ));
        }
        if wanted
            .tag
            .as_deref()
            .is_some_and(|t| t.trim().is_empty() || t.contains(char::is_whitespace))
        {
            findings.push(Finding::error(
                "config-tag",
                location.clone(),
                "`tag` is empty or has spaces".to_owned(),
                "write the tag exactly as on GitHub",
            ));
        }
        for dep in &wanted.extra_dependencies {
            if !is_nix_identifier(dep) || RESERVED_ARGUMENTS.contains(&dep.as_str()) {
                findings.push(Finding::error(
                    "config-extra-dependency",
                    location.clone(),
                    format!("`{dep}` in extra-dependencies is not a package attribute"),
                    "name attributes of Home Assistant's Python set, e.g. \"numpy\" (not the generator's own arguments such as `python` or `lib`)",
                ));
            }
        }
        for (name, reason) in &wanted.ignore {
            if reason.trim().is_empty() {
                findings.push(Finding::error(
                    "config-ignore-reason",
                    location.clone(),
                    format!("ignoring `{name}` needs a reason"),
                    format!("write ignore = {{ \"{name}\" = \"why it is safe\" }}"),
                ));
            }
        }
    }
    if findings.is_empty() {
        Ok(Components { entries, python })
    } else {
        Err(findings)
    }
}
