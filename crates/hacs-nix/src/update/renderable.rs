//! The plan's last gate before files are rendered: every entry of the new lock follows the
//! lock's one rule ([`Lock::invalid_entries`]), so what is written always evaluates. An entry
//! that breaks it fails its component, and the previous pin stands in for it when there is
//! one; an entry the old lock held but could not use is named too.

use std::collections::BTreeMap;

use super::{Draft, Failure};
use crate::finding::{Finding, Location};
use crate::lock::{Invalid, Lock};

/// How a failure names an entry: its attribute, `python.<attr>` for a generated package.
fn label(invalid: &Invalid) -> String {
    match invalid.kind {
        "python" => format!("python.{}", invalid.attr),
        _ => invalid.attr.clone(),
    }
}

impl Draft {
    pub(super) fn keep_renderable(&mut self, old: &Lock) {
        // A restored pin may meet another (two cards in one folder): a second pass drops what
        // still breaks the rule, with nothing to restore.
        let mut dropped: Vec<String> = old
            .refused
            .iter()
            .filter(|r| r.kind == "python")
            .map(|r| r.attr.clone())
            .collect();
        for pass in 0..2 {
            for invalid in self.lock.invalid_entries() {
                let restored = pass == 0 && self.restore_entry(old, &invalid);
                if invalid.kind == "python" && !restored {
                    dropped.push(invalid.attr.clone());
                }
                let outcome = if restored {
                    "the previous pin is kept"
                } else {
                    "not pinned"
                };
                self.failures.push(Failure {
                    attr: label(&invalid),
                    rule: "lock-entry-invalid".to_owned(),
                    message: format!(
                        "the new pin cannot be written as Nix: {}; {outcome}",
                        invalid.why
                    ),
                });
            }
        }
        self.drop_dangling_python(old, &dropped);
        for refused in &old.refused {
            let message =
                format!("pkgs/components.lock.json: {refused}; the entry was left out of this run");
            if self.lock.pins(&refused.attr) {
                self.findings
                    .entry(refused.attr.clone())
                    .or_default()
                    .push(Finding::warning(
                        "lock-entry-invalid",
                        Location::file("pkgs/components.lock.json"),
                        format!("{message} and pinned again from GitHub"),
                        "nothing to do: the new entry replaces it",
                    ));
            } else {
                self.failures.push(Failure {
                    attr: label(refused),
                    rule: "lock-entry-invalid".to_owned(),
                    message: format!(
                        "{message}: not pinned (run online to pin it again, or restore the lock from git)"
                    ),
                });
            }
        }
    }

    /// Puts the old lock's entry back in place of an invalid one; whether there was one.
    fn restore_entry(&mut self, old: &Lock, invalid: &Invalid) -> bool {
        fn put_back<E: Clone>(
            from: &BTreeMap<String, E>,
            to: &mut BTreeMap<String, E>,
            attr: &str,
        ) -> bool {
            from.get(attr)
                .map(|e| to.insert(attr.to_owned(), e.clone()))
                .is_some()
        }
        let attr = invalid.attr.as_str();
        self.lock.remove(invalid.kind, attr);
        match invalid.kind {
            "components" => put_back(&old.components, &mut self.lock.components, attr),
            "python" => put_back(&old.python, &mut self.lock.python, attr),
            "cards" => put_back(&old.cards, &mut self.lock.cards, attr),
            "themes" => put_back(&old.themes, &mut self.lock.themes, attr),
            _ => false,
        }
    }

    /// A component whose generated package was dropped as invalid would be called without it:
    /// it fails too, its previous pin kept when that one needs no dropped package. (A package
    /// dropped because Home Assistant's set has it now is no such case: the set provides it.)
    fn drop_dangling_python(&mut self, old: &Lock, dropped: &[String]) {
        if dropped.is_empty() {
            return;
        }
        let needs_dropped = |deps: &[String]| deps.iter().find(|d| dropped.contains(d)).cloned();
        let broken: Vec<(String, String)> = self
            .lock
            .components
            .iter()
            .filter_map(|(attr, e)| Some((attr.clone(), needs_dropped(&e.dependencies)?)))
            .collect();
        for (attr, package) in broken {
            self.lock.components.remove(&attr);
            let previous = old
                .components
                .get(&attr)
                .filter(|e| needs_dropped(&e.dependencies).is_none());
            let outcome = match previous {
                Some(previous) => {
                    self.lock.components.insert(attr.clone(), previous.clone());
                    "the previous pin is kept"
                }
                None => "not pinned",
            };
            self.failures.push(Failure {
                attr,
                rule: "lock-entry-invalid".to_owned(),
                message: format!(
                    "it needs the generated package `{package}`, which cannot be written as Nix; {outcome}"
                ),
            });
        }
    }
}
