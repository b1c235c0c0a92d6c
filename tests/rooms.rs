//! The library's rooms import one way: every `crate::<module>` a file of one top-level module
//! names (in `use` lines and in paths written inline) is an arrow to that module, and the
//! arrows may not run in a circle. Read from the source itself, so a new import that closes a
//! circle fails here with the circle spelled out.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/forge/http.rs` → `forge`); `lib.rs` is the
/// crate's root, which may name every room.
fn room_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_owned())
}

/// Every `crate::name` in the code of a file (comments and doc links are not imports), and
/// the names inside `use crate::{a, b::c}` groups.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `hacs_nix_crate::…`, not ours
            }
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a, b::c};` on one line (rustfmt splits long ones per line,
                // which the per-line `crate::` scan does not see: handled below).
                let inner = group.split('}').next().unwrap_or_default();
                for item in inner.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.insert(name);
                    }
                }
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    // Multi-line groups: `use crate::{` then one item per line until `};`.
    let mut in_group = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("use crate::{") && !trimmed.contains('}') {
            in_group = true;
            continue;
        }
        if in_group {
            if trimmed.starts_with('}') {
                in_group = false;
                continue;
            }
            let name: String = trimmed
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/hacs-nix/src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let rooms: BTreeSet<String> = files.iter().filter_map(|f| room_of(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(room) = room_of(&src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let targets = graph.entry(room.clone()).or_default();
        for name in imports(&text) {
            if name != room && rooms.contains(&name) {
                targets.insert(name);
            }
        }
    }
    graph
}

/// Every circle of the graph, each spelled from its smallest module (Tarjan's strongly
/// connected components: a component of more than one module holds a circle).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn the_rooms_import_one_way() {
    let graph = graph();
    assert!(graph.len() > 10, "the scan found no rooms: {graph:?}");
    let circles = circles(&graph);
    let spelled: Vec<String> = circles
        .iter()
        .map(|c| {
            let arrows: Vec<String> = c
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|b| c.contains(b))
                        .map(move |b| format!("{a} → {b}"))
                })
                .collect();
            format!("{{{}}}: {}", c.join(", "), arrows.join(", "))
        })
        .collect();
    assert!(
        circles.is_empty(),
        "modules that import each other in a circle:\n{}",
        spelled.join("\n")
    );
}

#[test]
fn the_scan_sees_every_form_of_import() {
    let text = "use crate::a::X;\nuse crate::{b, c::Y};\nuse crate::{\n    d::Z,\n    e,\n};\nfn f() { crate::g::h(); }\n// crate::comment\n/// [`crate::doc`]\nlet s = my_crate::i;\n";
    let found: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(found, ["a", "b", "c", "d", "e", "g"]);
    // A circle is found and a line is not.
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("x".into()).or_default().insert("y".into());
    g.entry("y".into()).or_default().insert("z".into());
    g.entry("z".into()).or_default().insert("x".into());
    g.entry("w".into()).or_default().insert("x".into());
    assert_eq!(circles(&g), [vec!["x", "y", "z"]]);
    g.get_mut("z").unwrap().clear();
    assert!(circles(&g).is_empty());
}

/// The functions of the library, with their length in lines (`fn` line to closing brace).
fn function_lengths() -> Vec<(String, usize)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/hacs-nix/src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let relative = file.strip_prefix(&src).unwrap().display().to_string();
        for (i, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            let indent = line.len() - code.len();
            let head = code
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub(super) ")
                .trim_start_matches("pub ")
                .trim_start_matches("async ");
            let Some(rest) = head.strip_prefix("fn ") else {
                continue;
            };
            if line.trim_end().ends_with(';') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let end = lines[i + 1..]
                .iter()
                .position(|l| {
                    l.len() - l.trim_start().len() == indent && l.trim_start().starts_with('}')
                })
                .map_or(lines.len(), |p| i + 1 + p);
            out.push((format!("{relative}::{name}"), end - i + 1));
        }
    }
    out
}

/// Functions longer than about 80 lines, not yet split into one function per check or step.
/// The list only shrinks: a new long function fails here, and so does a listed one that was
/// split (take it off the list).
const LONG_FUNCTIONS: &[&str] = &[
    "archive/tar.rs::read",
    "archive/zip.rs::read",
    "card/rule.rs::every_case_of_the_rule",
    "config.rs::parse",
    "deps.rs::classify",
    "fetch.rs::fetch_discovered",
    "forge/graphql.rs::discover_batch",
    "forge/graphql.rs::graphql",
    "forge/http.rs::download_retrying",
    "forge/http.rs::try_get",
    "layout.rs::analyse",
    "manifest/hacs.rs::check_hacs_json",
    "pypi/metadata.rs::read",
    "pypi/mod.rs::choose_file",
    "pypi/resolve.rs::one",
    "pypi/resolve.rs::package_missing",
    "survey/classify.rs::classify",
    "survey/run.rs::survey",
    "theme/rule.rs::check_theme",
];

#[test]
fn no_new_function_runs_past_80_lines() {
    let lengths = function_lengths();
    assert!(
        lengths.len() > 200,
        "the scan found few functions: {}",
        lengths.len()
    );
    let long: BTreeSet<&str> = lengths
        .iter()
        .filter(|(_, n)| *n > 80)
        .map(|(f, _)| f.as_str())
        .collect();
    let listed: BTreeSet<&str> = LONG_FUNCTIONS.iter().copied().collect();
    let new: Vec<String> = lengths
        .iter()
        .filter(|(f, n)| *n > 80 && !listed.contains(f.as_str()))
        .map(|(f, n)| format!("{f} ({n} lines)"))
        .collect();
    assert!(
        new.is_empty(),
        "split these into one function per check or step: {new:?}"
    );
    let split: Vec<&&str> = listed.iter().filter(|f| !long.contains(**f)).collect();
    assert!(
        split.is_empty(),
        "no longer long: take them off LONG_FUNCTIONS: {split:?}"
    );
}
