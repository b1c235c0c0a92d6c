//! What a generated package's `pythonImportsCheck` needs besides the package itself, placed
//! against Home Assistant's set on every run: each outside module its checked modules import
//! when imported (`Package::module_imports`, read from its files) is
//! - provided by what it declares (its dependencies and theirs): nothing to do;
//! - `homeassistant`: Home Assistant is given to its checks (`nativeCheckInputs`), as
//!   nixpkgs' own `vtherm-api` has it (pkgs/development/python-modules/vtherm-api): the
//!   package runs inside Home Assistant, which need not be one of its run-time inputs;
//! - a module of a package the set has but the metadata does not declare (`ims-envista`
//!   imports `pytz`): added to its dependencies, with a warning;
//! - anything else: the module is left out of `pythonImportsCheck`, with a warning, since the
//!   check would fail the build on a module nothing provides.

use std::collections::{BTreeMap, BTreeSet};

use super::Package;
use crate::pyset::{NameIndex, import_names_of};

/// The attribute Home Assistant's checks are given by (`home-assistant`, the top-level
/// package nixpkgs' Python set's `callPackage` reaches).
pub const HOME_ASSISTANT: &str = "home-assistant";

/// The placement of one package's outside imports.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Placed {
    /// Set attributes to add to its dependencies.
    pub added: Vec<String>,
    /// Attributes for `nativeCheckInputs`.
    pub check_inputs: Vec<String>,
    /// Modules left out of `pythonImportsCheck`.
    pub left_out: Vec<String>,
    /// One sentence for each, said as a warning.
    pub warnings: Vec<String>,
}

/// Places `package`'s outside imports; `generated` are the run's generated packages (its
/// generated dependencies' modules count as declared).
pub fn place(
    package: &Package,
    generated: &BTreeMap<String, Package>,
    names: &NameIndex<'_>,
) -> Placed {
    let provided = declared_modules(package, generated, names);
    let mut out = Placed::default();
    let mut added = BTreeSet::new();
    for module in &package.import_names {
        let Some(outside) = package.module_imports.as_ref().and_then(|m| m.get(module)) else {
            continue;
        };
        let mut unprovided = Vec::new();
        for name in outside {
            if provided.contains(name) || provided.contains(&name.to_lowercase()) {
                continue;
            }
            if name == "homeassistant" {
                if !out.check_inputs.iter().any(|c| c == HOME_ASSISTANT) {
                    out.check_inputs.push(HOME_ASSISTANT.to_owned());
                    out.warnings.push(format!(
                        "{} {}: `{module}` imports `homeassistant`: Home Assistant is given to its import check (`nativeCheckInputs`), as nixpkgs does for such packages",
                        package.attr, package.version
                    ));
                }
                continue;
            }
            match names.providing(name) {
                Some((attr, found)) => {
                    if added.insert(attr.to_owned()) {
                        out.warnings.push(format!(
                            "{} {}: `{module}` imports `{name}`, which its metadata does not declare; Home Assistant's set has {attr} {}: added to its dependencies",
                            package.attr, package.version, found.version
                        ));
                    }
                }
                None => unprovided.push(name.as_str()),
            }
        }
        if !unprovided.is_empty() {
            out.left_out.push(module.clone());
            out.warnings.push(format!(
                "{} {}: `{module}` imports {} when imported, which neither its metadata nor Home Assistant's set provides: left out of `pythonImportsCheck` (the module fails to import in Home Assistant too; package what it needs with [python.<name>] or an overlay)",
                package.attr,
                package.version,
                unprovided
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    out.added = added.into_iter().collect();
    out
}

/// The top-level modules `package` has with what it declares: its own, and those of its
/// dependencies and theirs (generated ones by their import names, the set's by
/// `pythonImportsCheck` and name).
fn declared_modules(
    package: &Package,
    generated: &BTreeMap<String, Package>,
    names: &NameIndex<'_>,
) -> BTreeSet<String> {
    let mut modules: BTreeSet<String> = package.import_names.iter().cloned().collect();
    modules.extend(
        package
            .module_imports
            .iter()
            .flat_map(|m| m.keys().cloned()),
    );
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&String> = package.dependencies.iter().collect();
    while let Some(dep) = stack.pop() {
        if !seen.insert(dep.clone()) {
            continue;
        }
        if let Some(other) = generated.get(dep) {
            modules.extend(other.import_names.iter().cloned());
            stack.extend(other.dependencies.iter());
        } else if let Some((_, found)) = names.find(dep) {
            modules.extend(import_names_of(found));
        }
        modules.insert(dep.replace('-', "_"));
    }
    modules
}
