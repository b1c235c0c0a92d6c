//! What importing a package's module runs, read statically from its files: the top-level
//! `import` and `from … import` statements of the module and of every module of its own they
//! reach, followed through relative and absolute imports. `pythonImportsCheck` runs exactly
//! that, so an outside module named there must be importable in the build, or the check
//! fails ("ModuleNotFoundError: No module named 'pytz'").
//!
//! Only statements at the start of a line count: an import inside a function, a `try:` (an
//! optional dependency), an `if TYPE_CHECKING:` or a version test is indented, and never runs
//! unconditionally on import. Triple-quoted strings are skipped, so an example in a docstring
//! is no import. This is a reading of the text, not Python's parser: a full parser (no
//! maintained crate parses Python 3.14 without pulling in a compiler front end) would say
//! the same for the one statement form this needs.

use std::collections::{BTreeMap, BTreeSet};

use crate::tree::{Node, Tree};

/// The outside top-level modules importing `module` runs (standard library left out), for
/// each of `modules`, reading the files under `base` (`""`, `"src/"`). `own` are the
/// distribution's own top-level names.
pub fn outside_imports(
    tree: &mut Tree,
    base: &str,
    modules: &[String],
    own: &BTreeSet<String>,
) -> BTreeMap<String, Vec<String>> {
    modules
        .iter()
        .map(|m| {
            let found = Walk::new(tree, base, own).run(m);
            (m.clone(), found.into_iter().collect())
        })
        .collect()
}

struct Walk<'t> {
    tree: &'t mut Tree,
    base: &'t str,
    own: &'t BTreeSet<String>,
    seen: BTreeSet<String>,
    outside: BTreeSet<String>,
}

impl<'t> Walk<'t> {
    fn new(tree: &'t mut Tree, base: &'t str, own: &'t BTreeSet<String>) -> Self {
        Self {
            tree,
            base,
            own,
            seen: BTreeSet::new(),
            outside: BTreeSet::new(),
        }
    }

    fn run(mut self, module: &str) -> BTreeSet<String> {
        let mut queue = vec![module.to_owned()];
        while let Some(dotted) = queue.pop() {
            if !self.seen.insert(dotted.clone()) {
                continue;
            }
            let Some((text, is_package)) = self.source(&dotted) else {
                continue;
            };
            // Relative imports count from the package the module is in.
            let package = if is_package {
                dotted.clone()
            } else {
                parent(&dotted).to_owned()
            };
            for statement in statements(&text) {
                for target in targets(&statement, &package) {
                    let top = target.split('.').next().unwrap_or_default();
                    if self.own.contains(top) {
                        // Importing a.b.c runs a, a.b and a.b.c.
                        let mut prefix = String::new();
                        for part in target.split('.') {
                            if !prefix.is_empty() {
                                prefix.push('.');
                            }
                            prefix.push_str(part);
                            queue.push(prefix.clone());
                        }
                    } else if !top.is_empty() && !super::stdlib::has(top) {
                        self.outside.insert(top.to_owned());
                    }
                }
            }
        }
        self.outside
    }

    /// The text of `dotted`'s file and whether it is a package's `__init__.py`.
    fn source(&mut self, dotted: &str) -> Option<(String, bool)> {
        let path = dotted.replace('.', "/");
        for (file, is_package) in [
            (format!("{}{path}/__init__.py", self.base), true),
            (format!("{}{path}.py", self.base), false),
        ] {
            if matches!(self.tree.lookup(&file), Some(Node::File(_)))
                && let Ok(Some(bytes)) = self.tree.read_file(&file)
            {
                return Some((String::from_utf8_lossy(&bytes).into_owned(), is_package));
            }
        }
        None
    }
}

fn parent(dotted: &str) -> &str {
    dotted.rsplit_once('.').map_or("", |(p, _)| p)
}

/// The import statements that start a line outside triple-quoted strings, each joined into
/// one line (parenthesised name lists and backslash continuations).
fn statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_string: Option<&str> = None;
    let mut open: Option<String> = None;
    for line in text.lines() {
        if let Some(current) = open.as_mut() {
            current.push(' ');
            current.push_str(line.trim());
            if !continues(current) {
                out.push(open.take().unwrap_or_default());
            }
            continue;
        }
        let starts_statement =
            in_string.is_none() && (line.starts_with("import ") || line.starts_with("from "));
        in_string = string_state(line, in_string);
        if starts_statement {
            let statement = line.to_owned();
            if continues(&statement) {
                open = Some(statement);
            } else {
                out.push(statement);
            }
        }
    }
    out
}

/// Whether a statement goes on on the next line: an open parenthesis or a trailing `\`.
fn continues(statement: &str) -> bool {
    let code = statement.split('#').next().unwrap_or_default().trim_end();
    code.ends_with('\\') || code.matches('(').count() > code.matches(')').count()
}

/// The triple-quoted string a line leaves open, given the one it starts in. Quotes after a
/// `#` outside a string are a comment's.
fn string_state<'q>(line: &str, mut open: Option<&'q str>) -> Option<&'q str> {
    let mut rest = line;
    loop {
        match open {
            Some(quote) => match rest.find(quote) {
                Some(at) => {
                    rest = &rest[at + 3..];
                    open = None;
                }
                None => return open,
            },
            None => {
                let next = ["\"\"\"", "'''"]
                    .into_iter()
                    .filter_map(|q| rest.find(q).map(|at| (at, q)))
                    .min();
                let comment = rest.find('#');
                match next {
                    Some((at, quote)) if comment.is_none_or(|c| c > at) => {
                        rest = &rest[at + 3..];
                        open = Some(quote);
                    }
                    _ => return None,
                }
            }
        }
    }
}

/// The modules a statement imports, absolute (`from .x import y` in package `p` is `p.x`, and
/// `p.x.y` where `y` is a module of its own; the walk skips names that are no file).
fn targets(statement: &str, package: &str) -> Vec<String> {
    let code = statement.split('#').next().unwrap_or_default();
    let code = code.replace(['\\', '(', ')'], " ");
    let mut out = Vec::new();
    for part in code.split(';') {
        let part = part.trim();
        if let Some(names) = part.strip_prefix("import ") {
            for name in names.split(',') {
                if let Some(module) = name.split_whitespace().next() {
                    out.push(module.to_owned());
                }
            }
        } else if let Some(rest) = part.strip_prefix("from ") {
            let Some((from, names)) = rest.split_once(" import ") else {
                continue;
            };
            let from = from.trim();
            let dots = from.chars().take_while(|c| *c == '.').count();
            let base = if dots == 0 {
                from.to_owned()
            } else {
                let mut up = package;
                for _ in 1..dots {
                    up = parent(up);
                }
                match (up, &from[dots..]) {
                    ("", _) => continue,
                    (up, "") => up.to_owned(),
                    (up, rest) => format!("{up}.{rest}"),
                }
            };
            for name in names.split(',') {
                if let Some(name) = name.split_whitespace().next()
                    && name != "*"
                {
                    out.push(format!("{base}.{name}"));
                }
            }
            out.push(base);
        }
    }
    out.retain(|t| {
        !t.is_empty()
            && t.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_statements_that_run_on_import_count() {
        let text = r#""""A module.

import not_from_the_docstring
"""
import os, pytz as tz
from homeassistant.core import (
    HomeAssistant,
    callback,
)
from . import const  # a comment ( with a parenthesis
try:
    import optional_thing
except ImportError:
    pass
if TYPE_CHECKING:
    import typing_only
def f():
    import lazy
x = '''
import in_a_string
'''
from .sub.mod import thing; import aiohttp
"#;
        let found: Vec<Vec<String>> = statements(text).iter().map(|s| targets(s, "pkg")).collect();
        assert_eq!(
            found,
            [
                vec!["os", "pytz"],
                vec![
                    "homeassistant.core.HomeAssistant",
                    "homeassistant.core.callback",
                    "homeassistant.core"
                ],
                vec!["pkg.const", "pkg"],
                vec!["pkg.sub.mod.thing", "pkg.sub.mod", "aiohttp"],
            ]
        );
    }

    #[test]
    fn relative_imports_climb_from_the_package() {
        assert_eq!(targets("from ..x import y", "a.b"), ["a.x.y", "a.x"]);
        assert_eq!(targets("from .. import y", "a.b"), ["a.y", "a"]);
        // Beyond the top: no module (Python raises; nothing to look for).
        assert!(targets("from .. import y", "a").is_empty());
    }
}
