//! Every `--format json` output (and the update report's JSON file) parses with a parser that
//! rejects duplicate keys: Python's `json` with an `object_pairs_hook` that refuses them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::craft::{dir, file, tar_gz};
use support::pipeline::{Case, manifest};

const STRICT: &str = r#"
import json, sys
def pairs(items):
    keys = [k for k, _ in items]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise SystemExit(f"duplicate keys: {sorted(dup)}")
    return dict(items)
json.loads(sys.stdin.read(), object_pairs_hook=pairs)
"#;

fn strict(what: &str, text: &[u8]) {
    let mut child = Command::new("python3")
        .args(["-c", STRICT])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(text)
    );
}

#[test]
fn every_json_output_has_unique_keys() {
    let mut case = Case::new();
    let archive = tar_gz(&[
        dir("s-1.0/"),
        file(
            "s-1.0/custom_components/strict/manifest.json",
            manifest("strict", "1.0", &["numpy==1.26.4", "dictor==0.1.11"]).as_bytes(),
        ),
        file("s-1.0/hacs.json", br#"{"name":"S"}"#),
    ]);
    std::fs::write(case.dir.path().join("s.tar.gz"), &archive).unwrap();
    case.source_release("o/strict", "1.0", "Strict", archive);
    case.want("[strict]\nrepo = \"o/strict\"\n");
    let report = case.dir.path().join("report.json");
    let report_arg = report.to_string_lossy().into_owned();
    let runs: Vec<Vec<&str>> = vec![
        vec![
            "update-components",
            "--format",
            "json",
            "--json",
            &report_arg,
        ],
        vec!["check", "s.tar.gz", "--format", "json"],
        vec![
            "check",
            "pkgs/../s.tar.gz",
            "--format",
            "json",
            "--tag",
            "v9",
        ],
        vec![
            "deps",
            "s.tar.gz",
            "--format",
            "json",
            "--snapshot",
            "pkgs/python-set.json",
        ],
        vec!["lint", "--format", "json"],
        vec!["prefetch", "s.tar.gz", "--format", "json"],
    ];
    for args in runs {
        let out = case.run(&args);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        strict(&args.join(" "), &out.stdout);
    }
    strict("the update report", &std::fs::read(&report).unwrap());
}
