//! Whether an sdist's `setup.py` compiles code on Linux, the only system the flake builds for.
//!
//! A text match is not enough: packages such as `serialx` declare a Rust extension only inside
//! `if sysconfig.get_platform().startswith(("win", "macosx-")):`, and are pure Python on Linux.
//! So each line that declares compiled code is followed up through the blocks that hold it
//! (Python's indentation): inside a branch whose condition tests the platform and names only
//! other systems, the line never runs on Linux. Anything the reading cannot decide counts as
//! compiling, so a doubtful package is refused rather than generated and broken.

/// Words of a `setup.py` that declare compiled code.
const NEEDLES: &[&str] = &["ext_modules", "Extension(", "cythonize", "rust_extensions"];

/// What a condition may probe to tell the platform.
const PROBES: &[&str] = &[
    "sys.platform",
    "platform.system(",
    "sysconfig.get_platform(",
    "os.name",
    "platform.platform(",
];

/// Platform names (as those probes spell them, or a prefix of that) that are not Linux.
const OTHER_SYSTEMS: &[&str] = &[
    "win",
    "win32",
    "win-",
    "cygwin",
    "msys",
    "darwin",
    "macosx",
    "macosx-",
    "macos",
    "windows",
    "nt",
    "java",
    "ios",
    "emscripten",
    "wasi",
];

/// Why `setup.py` compiles code on Linux (`its setup.py uses `Extension(``), if it does.
pub fn on_linux(setup_py: &str) -> Option<String> {
    let lines: Vec<&str> = setup_py.lines().collect();
    for (at, line) in lines.iter().enumerate() {
        let code = line.split('#').next().unwrap_or_default();
        let Some(needle) = NEEDLES.iter().find(|n| code.contains(*n)) else {
            continue;
        };
        if !runs_only_elsewhere(&lines, at) {
            return Some(format!(
                "its setup.py uses `{needle}` (line {}) where Linux runs it",
                at + 1
            ));
        }
    }
    None
}

fn indent(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    (!trimmed.is_empty() && !trimmed.starts_with('#')).then(|| line.len() - trimmed.len())
}

/// Whether line `at` sits inside a branch that Linux never takes.
fn runs_only_elsewhere(lines: &[&str], at: usize) -> bool {
    let Some(mut level) = indent(lines[at]) else {
        return false;
    };
    let mut i = at;
    while level > 0 && i > 0 {
        i -= 1;
        let Some(here) = indent(lines[i]) else {
            continue;
        };
        if here >= level {
            continue;
        }
        level = here;
        let header = lines[i].trim();
        if let Some(condition) = branch_condition(header)
            && never_on_linux(condition)
        {
            return true;
        }
        if header.starts_with("else") && header.trim_end_matches(':').trim() == "else" {
            // `else:` after `if <Linux only>:` is the other systems' branch.
            if let Some(condition) = chain_head(lines, i, here)
                && only_on_linux(condition)
            {
                return true;
            }
        }
    }
    false
}

/// The condition of an `if …:` or `elif …:` header.
fn branch_condition(header: &str) -> Option<&str> {
    let rest = header
        .strip_prefix("if ")
        .or_else(|| header.strip_prefix("elif "))?;
    Some(rest.trim_end().trim_end_matches(':'))
}

/// The condition of the `if` that an `else:` at line `at` (indentation `level`) closes, when
/// the chain is a single `if`.
fn chain_head<'a>(lines: &[&'a str], at: usize, level: usize) -> Option<&'a str> {
    let mut i = at;
    while i > 0 {
        i -= 1;
        match indent(lines[i]) {
            Some(here) if here == level => {
                let header = lines[i].trim();
                return header
                    .strip_prefix("if ")
                    .map(|c| c.trim_end().trim_end_matches(':'));
            }
            Some(here) if here < level => return None,
            _ => {}
        }
    }
    None
}

/// The string literals of a condition, lower-cased.
fn literals(condition: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = condition.chars();
    while let Some(c) = chars.next() {
        if c == '\'' || c == '"' {
            let text: String = chars.by_ref().take_while(|&d| d != c).collect();
            out.push(text.to_ascii_lowercase());
        }
    }
    out
}

/// A positive platform test (no `not`, no `!=`) that only other systems pass.
fn plain_platform_test(condition: &str) -> Option<Vec<String>> {
    let probes = PROBES.iter().any(|p| condition.contains(p));
    let negated = condition.contains("!=") || condition.split_whitespace().any(|w| w == "not");
    let names = literals(condition);
    (probes && !negated && !names.is_empty()).then_some(names)
}

fn never_on_linux(condition: &str) -> bool {
    plain_platform_test(condition)
        .is_some_and(|names| names.iter().all(|n| OTHER_SYSTEMS.contains(&n.as_str())))
}

fn only_on_linux(condition: &str) -> bool {
    plain_platform_test(condition).is_some_and(|names| names.iter().all(|n| n.starts_with("linux")))
}

#[cfg(test)]
mod tests {
    use super::on_linux;

    #[test]
    fn an_extension_only_for_other_systems_is_not_compiled_on_linux() {
        // serialx 1.15's setup.py, in shape.
        let serialx = "import sysconfig\nimport setuptools\n\nif __name__ == \"__main__\":\n    if sysconfig.get_platform().startswith((\"win\", \"macosx-\")):\n        from setuptools_rust import Binding, RustExtension\n\n        setuptools.setup(\n            rust_extensions=[\n                RustExtension(\n                    \"serialx._serialx_rust\",\n                )\n            ]\n        )\n    else:\n        setuptools.setup()\n";
        assert_eq!(on_linux(serialx), None);
        let windows = "import sys\nfrom setuptools import setup, Extension\nif sys.platform == 'win32':\n    setup(ext_modules=[Extension('a', ['a.c'])])\nelse:\n    setup()\n";
        assert_eq!(on_linux(windows), None);
        let other_branch = "import sys\nfrom setuptools import setup\nif sys.platform.startswith('linux'):\n    setup()\nelse:\n    from setuptools import Extension\n    setup(ext_modules=[Extension('a', ['a.c'])])\n";
        assert_eq!(on_linux(other_branch), None);
    }

    #[test]
    fn an_extension_linux_may_run_is_compiled() {
        let plain = "from setuptools import Extension, setup\nsetup(ext_modules=[Extension('a', ['a.c'])])\n";
        assert!(on_linux(plain).unwrap().contains("`ext_modules` (line 2)"));
        // Negated or mixed tests, and tests that are not of the platform, are not trusted.
        for condition in [
            "sys.platform != 'win32'",
            "not sys.platform.startswith('win')",
            "sys.platform in ('win32', 'linux')",
            "os.environ.get('WIN') == 'win'",
            "USE_C",
        ] {
            let text = format!(
                "from setuptools import Extension, setup\nif {condition}:\n    setup(ext_modules=[Extension('a', ['a.c'])])\n"
            );
            assert!(on_linux(&text).is_some(), "{condition}");
        }
        // A comment that mentions one is not code.
        assert_eq!(
            on_linux("from setuptools import setup\n# no ext_modules here\nsetup()\n"),
            None
        );
        // Defined at the top, used in a Windows branch: the definition runs on Linux.
        let top = "from setuptools import Extension, setup\nEXT = [Extension('a', ['a.c'])]\nimport sys\nif sys.platform == 'win32':\n    setup(ext_modules=EXT)\n";
        assert!(on_linux(top).is_some());
    }
}
