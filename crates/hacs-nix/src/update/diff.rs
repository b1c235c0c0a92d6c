//! What changed between two locks, one rule for every table: an entry is added, removed,
//! updated (another release), or regenerated (the same release, another entry or another
//! generated file), and otherwise unchanged.

use std::collections::BTreeMap;

use super::ChangeKind;

/// One entry that changed, with its old and new values.
pub(super) struct Diff<'a, E> {
    pub attr: &'a String,
    pub kind: ChangeKind,
    pub old: Option<&'a E>,
    pub new: Option<&'a E>,
}

/// The changes from `old` to `new`: `moved` says whether two entries are other releases,
/// `rewritten` whether an attribute's generated file changed although its entry did not.
pub(super) fn diff<'a, E: PartialEq>(
    old: &'a BTreeMap<String, E>,
    new: &'a BTreeMap<String, E>,
    moved: impl Fn(&E, &E) -> bool,
    rewritten: impl Fn(&str) -> bool,
) -> Vec<Diff<'a, E>> {
    let mut out = Vec::new();
    for (attr, entry) in new {
        let before = old.get(attr);
        let kind = match before {
            None => ChangeKind::Added,
            Some(prev) if moved(prev, entry) => ChangeKind::Updated,
            Some(prev) if prev != entry || rewritten(attr) => ChangeKind::Regenerated,
            Some(_) => continue,
        };
        out.push(Diff {
            attr,
            kind,
            old: before,
            new: Some(entry),
        });
    }
    for (attr, entry) in old {
        if !new.contains_key(attr) {
            out.push(Diff {
                attr,
                kind: ChangeKind::Removed,
                old: Some(entry),
                new: None,
            });
        }
    }
    out
}
