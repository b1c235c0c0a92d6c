//! `manifest.json` and `hacs.json` → typed values and every problem found.
//!
//! Errors are what stops a build (nixpkgs' manifest check reads `domain`) or stops Home
//! Assistant from loading the integration (no valid `version`, unreadable JSON). Warnings are
//! what hassfest or the HACS action would reject while the integration still runs.

mod hacs;
mod json;
pub mod version;

use serde::Serialize;
use serde_json::{Map, Value};

pub use hacs::{HacsJson, check_hacs_json};
pub use json::{Document, MAX_JSON_BYTES, parse};

use crate::finding::{Finding, Location};
use crate::names::valid_domain;

/// The facts of a manifest the rest of the pipeline needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Manifest {
    pub domain: Option<String>,
    pub name: Option<String>,
    /// The text Home Assistant sees, when present.
    pub version: Option<String>,
    /// True when Home Assistant's loader accepts the version.
    pub version_valid: bool,
    pub requirements: Vec<String>,
    pub dependencies: Vec<String>,
    pub documentation: Option<String>,
    pub issue_tracker: Option<String>,
    pub codeowners: Vec<String>,
    pub iot_class: Option<String>,
}

/// A checked file: its typed value when it could be read, and every finding.
#[derive(Debug, Clone, Serialize)]
pub struct Checked<T> {
    pub value: Option<T>,
    pub findings: Vec<Finding>,
}

const IOT_CLASSES: &[&str] = &[
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
];
const INTEGRATION_TYPES: &[&str] = &[
    "device", "entity", "hardware", "helper", "hub", "service", "system",
];
/// hassfest's schema for custom integrations; anything else is rejected.
const KNOWN_KEYS: &[&str] = &[
    "domain",
    "name",
    "after_dependencies",
    "bluetooth",
    "codeowners",
    "config_flow",
    "dependencies",
    "dhcp",
    "disabled",
    "documentation",
    "homekit",
    "import_executor",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "loggers",
    "mqtt",
    "quality_scale",
    "requirements",
    "single_config_entry",
    "ssdp",
    "usb",
    "version",
    "zeroconf",
];

/// Checks the bytes of a `manifest.json`; `file` names it in findings.
pub fn check_manifest(file: &str, bytes: &[u8]) -> Checked<Manifest> {
    let (doc, object) = match object_document(
        file,
        bytes,
        "manifest-not-object",
        "the manifest",
        "a manifest is an object: {\"domain\": …, \"name\": …, \"version\": …}",
    ) {
        Ok(parsed) => parsed,
        Err(findings) => {
            return Checked {
                value: None,
                findings,
            };
        }
    };
    let mut findings = Vec::new();
    let rules = Rules {
        doc: &doc,
        object: &object,
        findings: &mut findings,
    };
    let manifest = rules.run();
    Checked {
        value: Some(manifest),
        findings,
    }
}

struct Rules<'a> {
    doc: &'a Document,
    object: &'a Map<String, Value>,
    findings: &'a mut Vec<Finding>,
}

impl Rules<'_> {
    fn run(mut self) -> Manifest {
        let manifest = Manifest {
            domain: self.domain(),
            name: self.string(
                "name",
                "manifest-name-missing",
                "hassfest and the HACS action require a display name",
            ),
            version: None,
            version_valid: false,
            requirements: self.string_list("requirements", true),
            dependencies: self.string_list("dependencies", false),
            documentation: self.url("documentation", true),
            issue_tracker: self.url("issue_tracker", false),
            codeowners: self.codeowners(),
            iot_class: self.one_of("iot_class", IOT_CLASSES, true),
        };
        let (version, version_valid) = self.version();
        let manifest = Manifest {
            version,
            version_valid,
            ..manifest
        };
        self.one_of("integration_type", INTEGRATION_TYPES, false);
        self.string_list("after_dependencies", false);
        self.string_list("loggers", false);
        for key in ["config_flow", "single_config_entry", "import_executor"] {
            self.boolean(key);
        }
        self.requirement_spaces(&manifest.requirements);
        self.unknown_keys();
        self.key_order();
        manifest
    }

    fn at(&self, key: &str) -> Location {
        self.doc.at(key)
    }

    fn error(&mut self, rule: &'static str, key: &str, message: String, help: &str) {
        self.findings
            .push(Finding::error(rule, self.at(key), message, help));
    }

    fn warn(&mut self, rule: &'static str, key: &str, message: String, help: &str) {
        self.findings
            .push(Finding::warning(rule, self.at(key), message, help));
    }

    fn domain(&mut self) -> Option<String> {
        match self.object.get("domain") {
            None => {
                self.error(
                    "manifest-domain-missing",
                    "",
                    "the manifest has no `domain`: nixpkgs' manifest check fails with `KeyError: 'domain'` and Home Assistant cannot load it".to_owned(),
                    "add \"domain\": \"<folder name>\" as the first key",
                );
                None
            }
            Some(Value::String(domain)) => {
                if !valid_domain(domain) {
                    self.error(
                        "manifest-domain-invalid",
                        "domain",
                        format!(
                            "the domain `{}` is not a valid Home Assistant domain: the loader refuses it, and it would become a folder name and a word in nixpkgs' install phase",
                            domain.escape_debug()
                        ),
                        "a domain is lowercase letters, digits and single underscores, neither starting nor ending with `_`",
                    );
                    return None;
                }
                Some(domain.clone())
            }
            Some(other) => {
                self.error(
                    "manifest-domain-type",
                    "domain",
                    format!("`domain` is a {}, not a string", kind(other)),
                    "write the domain as a string",
                );
                None
            }
        }
    }

    fn version(&mut self) -> (Option<String>, bool) {
        let Some(value) = self.object.get("version") else {
            self.error(
                "manifest-version-missing",
                "",
                "the manifest has no `version`: Home Assistant blocks custom integrations without one from loading".to_owned(),
                "add \"version\": \"1.0.0\" (the generator stamps the release tag when it can)",
            );
            return (None, false);
        };
        let verdict = version::verdict(value);
        if verdict.strategy.is_none() {
            self.error(
                "manifest-version-invalid",
                "version",
                format!(
                    "Home Assistant blocks this integration from loading: `{}` is not a valid version (CalVer, SemVer, SimpleVer, BuildVer or PEP 440)",
                    verdict.text
                ),
                "use a version such as \"1.2.3\"",
            );
        } else if !value.is_string() {
            self.warn(
                "manifest-version-type",
                "version",
                format!("`version` is a {}, not a string", kind(value)),
                "hassfest requires a string: write \"version\": \"…\"",
            );
        }
        let valid = verdict.strategy.is_some();
        (Some(verdict.text), valid)
    }

    fn string(&mut self, key: &str, missing_rule: &'static str, why: &str) -> Option<String> {
        match self.object.get(key) {
            None => {
                self.warn(
                    missing_rule,
                    "",
                    format!("the manifest has no `{key}`"),
                    why,
                );
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.type_warning(key, other, "a string");
                None
            }
        }
    }

    fn type_warning(&mut self, key: &str, value: &Value, expected: &str) {
        self.warn(
            "manifest-key-type",
            key,
            format!("`{key}` is a {}, not {expected}", kind(value)),
            "hassfest rejects the manifest; fix the type",
        );
    }

    fn string_list(&mut self, key: &str, breaks_build: bool) -> Vec<String> {
        let Some(value) = self.object.get(key) else {
            return Vec::new();
        };
        let items = value
            .as_array()
            .map(|items| items.iter().map(Value::as_str).collect::<Option<Vec<_>>>());
        match items {
            Some(Some(items)) => items.into_iter().map(str::to_owned).collect(),
            _ if breaks_build => {
                self.error(
                    "manifest-requirements-type",
                    key,
                    format!(
                        "`{key}` must be a list of strings, but it is {}",
                        describe_list(value)
                    ),
                    "write it as [\"package==1.0\", …]",
                );
                Vec::new()
            }
            _ => {
                self.type_warning(key, value, "a list of strings");
                Vec::new()
            }
        }
    }

    fn url(&mut self, key: &str, required_by_hassfest: bool) -> Option<String> {
        let who = if required_by_hassfest {
            "hassfest and the HACS action require"
        } else {
            "the HACS action requires"
        };
        let url = match self.object.get(key) {
            None => {
                self.warn(
                    if key == "documentation" {
                        "manifest-documentation-missing"
                    } else {
                        "manifest-issue-tracker-missing"
                    },
                    "",
                    format!("the manifest has no `{key}`"),
                    &format!("{who} a URL here (the repository's README or issues page will do)"),
                );
                return None;
            }
            Some(Value::String(url)) => url.clone(),
            Some(other) => {
                self.type_warning(key, other, "a URL string");
                return None;
            }
        };
        let scheme_ok = if key == "documentation" {
            url.starts_with("https://")
        } else {
            url.starts_with("https://") || url.starts_with("http://")
        };
        let has_host = url
            .split("://")
            .nth(1)
            .is_some_and(|rest| rest.split('/').next().is_some_and(|h| h.contains('.')));
        if !scheme_ok || !has_host {
            self.warn(
                "manifest-url-invalid",
                key,
                format!(
                    "`{key}` is `{url}`, not an {} URL",
                    if key == "documentation" {
                        "https"
                    } else {
                        "http(s)"
                    }
                ),
                "use the full https:// address of the page",
            );
        } else if key == "documentation" && url.contains("home-assistant.io/integrations") {
            self.warn(
                "manifest-documentation-core-page",
                key,
                "`documentation` points at Home Assistant's own integrations pages".to_owned(),
                "custom integrations must link their own documentation (e.g. the repository README)",
            );
        }
        Some(url)
    }

    fn codeowners(&mut self) -> Vec<String> {
        match self.object.get("codeowners") {
            None => {
                self.warn(
                    "manifest-codeowners-missing",
                    "",
                    "the manifest has no `codeowners`".to_owned(),
                    "hassfest and the HACS action require a list of GitHub handles (it may be empty)",
                );
                Vec::new()
            }
            Some(_) => self.string_list("codeowners", false),
        }
    }

    fn one_of(&mut self, key: &str, allowed: &[&str], required: bool) -> Option<String> {
        match self.object.get(key) {
            None if required => {
                self.warn(
                    "manifest-iot-class-missing",
                    "",
                    format!("the manifest has no `{key}`"),
                    &format!("hassfest requires one of: {}", allowed.join(", ")),
                );
                None
            }
            None => None,
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Some(s.clone()),
            Some(other) => {
                let shown = other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_owned);
                self.warn(
                    "manifest-enum-invalid",
                    key,
                    format!("`{key}` is `{shown}`, which is not one of hassfest's values"),
                    &format!("use one of: {}", allowed.join(", ")),
                );
                None
            }
        }
    }

    fn boolean(&mut self, key: &str) {
        if let Some(value) = self.object.get(key).filter(|v| !v.is_boolean()) {
            self.type_warning(key, value, "true or false");
        }
    }

    fn requirement_spaces(&mut self, requirements: &[String]) {
        for (i, requirement) in requirements.iter().enumerate() {
            if requirement.contains(char::is_whitespace) {
                self.warn(
                    "manifest-requirement-space",
                    &format!("requirements[{i}]"),
                    format!("the requirement `{requirement}` contains white space"),
                    "hassfest rejects spaces: write `pkg@git+https://…` or `pkg>=1.0` without them",
                );
            }
        }
    }

    fn unknown_keys(&mut self) {
        let unknown: Vec<String> = self
            .object
            .keys()
            .filter(|k| !KNOWN_KEYS.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            self.warn(
                "manifest-unknown-key",
                &key,
                format!("`{key}` is not a manifest key hassfest knows"),
                "remove it, or check its spelling",
            );
        }
    }

    fn key_order(&mut self) {
        let keys: Vec<&str> = self.object.keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| *k != "domain" && *k != "name")
            .collect();
        expected.sort_unstable();
        for first in ["name", "domain"] {
            if keys.contains(&first) {
                expected.insert(0, first);
            }
        }
        if keys != expected {
            self.warn(
                "manifest-key-order",
                "",
                "the keys are not in hassfest's order".to_owned(),
                &format!(
                    "order them `domain`, `name`, then alphabetically: {}",
                    expected.join(", ")
                ),
            );
        }
    }
}

/// Parses a JSON file that must hold an object: the document (for positions) and the object,
/// or the one finding that says why not.
pub(crate) fn object_document(
    file: &str,
    bytes: &[u8],
    rule: &'static str,
    what: &str,
    help: &str,
) -> Result<(Document, Map<String, Value>), Vec<Finding>> {
    let mut doc = json::parse(file, bytes).map_err(|finding| vec![*finding])?;
    match std::mem::take(&mut doc.value) {
        Value::Object(object) => Ok((doc, object)),
        other => Err(vec![Finding::error(
            rule,
            doc.at(""),
            format!("{what} is a JSON {}, not an object", kind(&other)),
            help,
        )]),
    }
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

fn describe_list(value: &Value) -> String {
    match value {
        Value::Array(items) => match items.iter().find(|v| !v.is_string()) {
            Some(bad) => format!("a list holding a {}", kind(bad)),
            None => "a list".to_owned(),
        },
        other => format!("a {}", kind(other)),
    }
}
