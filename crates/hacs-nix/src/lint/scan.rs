//! Hand-written Nix, read with a real Nix parser (rnix): `buildHomeAssistantComponent` calls
//! that take Python packages from `python3Packages`, `python3xxPackages` or `python3.pkgs`
//! instead of Home Assistant's own set (the "Python version mismatch"), that switch the manifest
//! check off, that give `ignoreVersionRequirement` several names, or that turn on structured
//! attributes (which hide `domain` from the check).

use std::sync::LazyLock;

use regex::Regex;
use rnix::{SyntaxKind, SyntaxNode};
use rowan::ast::AstNode;

use crate::finding::{Finding, Location};

/// A Python set other than Home Assistant's: `python3Packages`, `python313Packages`,
/// `python3.pkgs`, `python313.pkgs` (with any prefix such as `pkgs.`), but not
/// `home-assistant.python3Packages` / `home-assistant.python.pkgs`.
static FOREIGN_SET: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // a constant pattern
    Regex::new(r"(?:^|\.)(?:python3\d*Packages|python3\d*\.pkgs)(?:\.|$)").expect("valid pattern")
});

fn foreign(text: &str) -> bool {
    let text: String = text.split_whitespace().collect();
    FOREIGN_SET.is_match(&text) && !text.contains("home-assistant.")
}

/// Scans one file's text; `file` names it in findings.
pub fn scan(file: &str, text: &str) -> Vec<Finding> {
    let parsed = rnix::Root::parse(text);
    let mut findings = Vec::new();
    let at = |offset: usize| Location::at_offset(file, text.as_bytes(), offset);
    if let Some(error) = parsed.errors().first() {
        findings.push(Finding::warning(
            "lint-nix-unparsable",
            Location::file(file),
            format!("not valid Nix ({error}); it was not scanned"),
            "fix the syntax (`nix-instantiate --parse` shows where)",
        ));
        return findings;
    }
    let root = parsed.tree();
    for node in root.syntax().descendants() {
        match node.kind() {
            SyntaxKind::NODE_APPLY => {
                let mut children = node.children();
                let (Some(function), Some(argument)) = (children.next(), children.next()) else {
                    continue;
                };
                if !function
                    .text()
                    .to_string()
                    .trim()
                    .ends_with("buildHomeAssistantComponent")
                {
                    continue;
                }
                let Some(set) = attr_set(&argument) else {
                    continue;
                };
                check_component(&set, &at, &mut findings);
            }
            // `with pkgs.python313Packages; …` around a component or its dependencies.
            SyntaxKind::NODE_WITH => {
                let Some(namespace) = node.children().next() else {
                    continue;
                };
                let body = node.children().nth(1);
                let around_component = body
                    .as_ref()
                    .is_some_and(|b| b.text().to_string().contains("buildHomeAssistantComponent"));
                let in_dependencies = node.ancestors().any(|a| is_dependencies_value(&a));
                if foreign(&namespace.text().to_string()) && (around_component || in_dependencies) {
                    let offset = usize::from(node.text_range().start());
                    findings.push(mismatch(at(offset), &namespace.text().to_string()));
                }
            }
            _ => {}
        }
    }
    findings.sort_by_key(|f| (f.location.line, f.location.column));
    findings.dedup();
    findings
}

/// The attribute set passed to the builder (through `rec` and parentheses).
fn attr_set(node: &SyntaxNode) -> Option<SyntaxNode> {
    match node.kind() {
        SyntaxKind::NODE_ATTR_SET => Some(node.clone()),
        SyntaxKind::NODE_PAREN => node.children().next().and_then(|c| attr_set(&c)),
        _ => None,
    }
}

fn key_of(entry: &SyntaxNode) -> String {
    entry
        .children()
        .next()
        .map(|k| k.text().to_string())
        .unwrap_or_default()
}

fn is_dependencies_value(node: &SyntaxNode) -> bool {
    node.kind() == SyntaxKind::NODE_ATTRPATH_VALUE
        && matches!(
            key_of(node).as_str(),
            "dependencies" | "propagatedBuildInputs"
        )
}

fn mismatch(location: Location, what: &str) -> Finding {
    Finding::error(
        "lint-python-mismatch",
        location,
        format!(
            "a Home Assistant component takes Python packages from `{}`, not from Home Assistant's own set: the build fails with \"Python version mismatch\"",
            what.trim()
        ),
        "take them from `home-assistant.python3Packages` (`home-assistant.python.pkgs` before 2026), or call the file with its `callPackage`",
    )
}

fn check_component(set: &SyntaxNode, at: &dyn Fn(usize) -> Location, findings: &mut Vec<Finding>) {
    let entries: Vec<SyntaxNode> = set
        .children()
        .filter(|c| c.kind() == SyntaxKind::NODE_ATTRPATH_VALUE)
        .collect();
    let structured = entries
        .iter()
        .any(|e| key_of(e) == "__structuredAttrs" && value_text(e) == "true");
    // The check is off with `dontCheckManifest = true`, and silently when `installCheckPhase`
    // is defined.
    let manifest_checked = !entries.iter().any(|e| {
        (key_of(e) == "dontCheckManifest" && value_text(e) == "true")
            || key_of(e) == "installCheckPhase"
    });
    for entry in &entries {
        let key = key_of(entry);
        let offset = usize::from(entry.text_range().start());
        match key.as_str() {
            "dependencies" | "propagatedBuildInputs" => {
                for node in entry.descendants().filter(|n| n.kind() == SyntaxKind::NODE_SELECT) {
                    // Only the outermost selection (`python3Packages.foo`, not its parts).
                    if node.parent().is_some_and(|p| p.kind() == SyntaxKind::NODE_SELECT) {
                        continue;
                    }
                    // `with python3Packages; …` is reported once, at the `with`.
                    if node.parent().is_some_and(|p| {
                        p.kind() == SyntaxKind::NODE_WITH && p.children().next().as_ref() == Some(&node)
                    }) {
                        continue;
                    }
                    let text = node.text().to_string();
                    if foreign(&text) {
                        findings.push(mismatch(at(usize::from(node.text_range().start())), &text));
                    }
                }
            }
            "dontCheckManifest" if value_text(entry) == "true" => findings.push(Finding::warning(
                "lint-dont-check-manifest",
                at(offset),
                "`dontCheckManifest = true` switches off nixpkgs' check of requirements and domain".to_owned(),
                "remove it and let `cargo xtask deps` say what fails; use ignoreVersionRequirement for real conflicts",
            )),
            "ignoreVersionRequirement" => {
                let items = entry.children().nth(1).filter(|v| v.kind() == SyntaxKind::NODE_LIST).map_or(0, |l| l.children().count());
                if items > 1 {
                    findings.push(Finding::error(
                        "lint-ignore-several",
                        at(offset),
                        format!("`ignoreVersionRequirement` has {items} names: nixpkgs' hook passes the list to the check unquoted, so without structured attributes the check fails with \"unrecognized arguments\", and with them it cannot see `domain`"),
                        format!(
                            "keep at most one name; relax the other requirements in the manifest instead (each as the manifest spells it, then its bare name), with `python` among the arguments: postPatch = ''${{python.interpreter}} -c '{}' ${{lib.escapeShellArgs [ \"custom_components/<domain>/manifest.json\" \"\" \"numpy==1.26.4\" \"numpy\" \"dictor==0.1.11\" \"dictor\" ]}}'';",
                            crate::nixgen::EDIT_MANIFEST
                        ),
                    ));
                }
            }
            "__structuredAttrs" if structured && manifest_checked => findings.push(Finding::error(
                "lint-structured-attrs",
                at(offset),
                "`__structuredAttrs = true` with the manifest check on: under structured attributes stdenv exports only `env`, so the check cannot see `domain` and fails with \"Derivation attribute domain (None) should match manifest domain\"".to_owned(),
                "remove `__structuredAttrs` (and `env.domain` is no way out: mkDerivation refuses `env` names that are also arguments); for several version conflicts relax the requirements in postPatch",
            )),
            _ => {}
        }
    }
}

fn value_text(entry: &SyntaxNode) -> String {
    entry
        .children()
        .nth(1)
        .map(|v| v.text().to_string().trim().to_owned())
        .unwrap_or_default()
}
