//! Requirement parsing and specifier containment against the real `packaging`, both the
//! generation before 26.0 (pre-releases excluded unless named; non-PEP 440 versions raise) and
//! 26.x (pre-releases admitted; non-PEP 440 versions never satisfy). `.ci/run` installs both:
//! 26.4 in `.venv-oracle`, 25.0 in `.venv-oracle/packaging-25`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::str::FromStr;

use hacs_nix::requirement::{self, Containment, Semantics};
use pep508_rs::pep440_rs::VersionSpecifiers;
use serde_json::{Value, json};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn oracle(input: &Value, packaging_25: bool) -> Value {
    let python = std::env::var("HACS_NIX_ORACLE_PYTHON")
        .unwrap_or_else(|_| format!("{ROOT}/.venv-oracle/bin/python"));
    let mut cmd = Command::new(&python);
    cmd.arg(format!("{ROOT}/tests/oracles/packaging_verdicts.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if packaging_25 {
        cmd.env("PYTHONPATH", format!("{ROOT}/.venv-oracle/packaging-25"));
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}; run .ci/run"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

const VERSIONS: &[&str] = &[
    "1.0",
    "1.0.0",
    "1.0b1",
    "1.0rc1",
    "1.0.dev0",
    "1.0a1.dev1",
    "1.0.post1",
    "1.0+local",
    "1.0+local.7",
    "2.0",
    "0.9",
    "1.1",
    "3.20.0",
    "3.21.1",
    "4.0",
    "1!1.0",
    "2024.1.0",
    "0.14.11",
    "1.0.0rc1",
    "v1.0",
    "1.0-1",
    "20250128065759",
    "1.0.0.0",
    "0.1.12",
    "0.1.13",
    "0.2",
    "0.2.0b1",
    "22.10.1",
    "24.6.0",
    "unstable-2024-01-01",
    "1.0.0-beta",
    "V2.0",
];
const SPECIFIERS: &[&str] = &[
    "",
    ">=1.0",
    ">1.0",
    "<1.0",
    "<=1.0",
    "==1.0",
    "!=1.0",
    "==1.*",
    "!=1.0.*",
    "~=1.0",
    "~=3.20",
    ">=0.1.12,<0.2",
    ">=1.0b1",
    "<2.0a1",
    ">=1.0,<2",
    "==1.0+local",
    "===1.0",
    "==1.0.0rc1",
    ">1.0.post0",
    ">=1!0",
    "<1.0.post1",
    ">=22.10.1",
    "<1.0rc1",
    ">0.9,!=1.0b1",
    "==0.14.11",
    ">=1.0.dev0",
    "~=1.0.0",
    ">1.0,<1.0.post2",
];
const REQUIREMENTS: &[&str] = &[
    "aiogithubapi>=22.10.1",
    "hass-web-proxy-lib==0.0.7",
    "dictor>=0.1.12,<0.2",
    "ulid-transform",
    "python-miio>=0.5.12",
    "numpy>=1.21.1",
    "pyhOn==0.14.11",
    "ideenergy==1.0.0rc1",
    "pycryptodome~=3.20",
    "midea-lan@git+https://github.com/x/midea-lan.git@0123abc",
    "midea-lan @ git+https://github.com/x/midea-lan.git",
    "git+https://git.aubio.org/aubio/aubio/",
    "git+https://github.com/x/y.git#egg=y",
    "aiogithubapi>=2.0.0<3.0.0",
    "foo[bar,baz]>=1.0",
    "foo; python_version < \"3.8\"",
    "foo>=1; sys_platform == 'win32'",
    "Foo_Bar.baz==1.0",
    "foo==1.0.*",
    "foo===abc",
    "foo>=1,",
    "foo >= 1.0",
    "foo==",
    "1foo",
    "-foo",
    "foo bar",
    "foo>=1.0 ; extra == 'x'",
    "",
    "foo[",
    "foo@",
    "foo (>=1.0)",
    "foo~=1",
    "foo<=1.0,>=0.5,!=0.7",
];

#[test]
fn containment_matches_packaging_25_and_26() {
    let pairs: Vec<(&str, &str)> = VERSIONS
        .iter()
        .flat_map(|v| SPECIFIERS.iter().map(move |s| (*v, *s)))
        .collect();
    let input = json!({ "requirements": [], "pairs": pairs });
    for (packaging_25, semantics) in [
        (true, Semantics::Packaging25),
        (false, Semantics::Packaging26),
    ] {
        let answer = oracle(&input, packaging_25);
        let version = answer["packaging"].as_str().unwrap();
        assert_eq!(
            Semantics::of_packaging(Some(version)),
            semantics,
            "oracle is packaging {version}"
        );
        let mut mismatches = Vec::new();
        for ((v, s), want) in pairs.iter().zip(answer["pairs"].as_array().unwrap()) {
            let specifiers = VersionSpecifiers::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            let got = match requirement::contains(&specifiers, v, semantics) {
                Containment::Satisfied => "satisfied",
                Containment::NotSatisfied => "not-satisfied",
                Containment::Raises => "raises",
            };
            if got != want.as_str().unwrap() {
                mismatches.push(format!(
                    "{v:?} in {s:?}: ours {got}, packaging {version} {want}"
                ));
            }
        }
        assert!(
            mismatches.is_empty(),
            "{} of {} differ:\n{}",
            mismatches.len(),
            pairs.len(),
            mismatches.join("\n")
        );
    }
}

#[test]
fn parsing_matches_packaging() {
    let input = json!({ "requirements": REQUIREMENTS, "pairs": [] });
    let answer = oracle(&input, false);
    let mut mismatches = Vec::new();
    for (raw, want) in REQUIREMENTS
        .iter()
        .zip(answer["requirements"].as_array().unwrap())
    {
        let ours = requirement::parse(raw);
        let valid = want["valid"].as_bool().unwrap();
        match (&ours, valid) {
            (Ok(r), true) => {
                if r.name != want["name"].as_str().unwrap()
                    || r.url.is_some() == want["url"].is_null()
                {
                    mismatches.push(format!(
                        "{raw:?}: ours {} url={:?}, packaging {want}",
                        r.name, r.url
                    ));
                }
            }
            (Err(_), false) => {}
            _ => mismatches.push(format!(
                "{raw:?}: ours valid={}, packaging valid={valid}",
                ours.is_ok()
            )),
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
