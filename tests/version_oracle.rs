//! The manifest `version` rule against the real thing: a few hundred generated version strings
//! (prefixes, separators, leading zeros, pre/post/dev/local parts, white space, CalVer shapes)
//! judged by our code and by the `awesomeversion` package from PyPI, exactly as Home Assistant's
//! loader calls it. `.ci/run` installs it into `.venv-oracle`; `HACS_NIX_ORACLE_PYTHON` names
//! another interpreter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use hacs_nix::manifest::version;
use serde_json::Value;

fn oracle(values: &[Value]) -> Vec<bool> {
    support::builder::version_verdicts(values)
}

/// Deterministic combinations of the parts versions are made of.
fn generated() -> Vec<String> {
    let prefixes = ["", "v", "V", "v.", "version ", " ", "\t"];
    let cores = [
        "1",
        "0",
        "01",
        "1.0",
        "1.2.3",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "0.0.0",
        "1.2.3.4",
        "10.20.30.40.50",
        "2024.1",
        "2024.01.5",
        "24.1.0",
        "2026.8.0",
        "20230604",
        "20230604.1",
        "1.2",
        "999999999",
        "1..2",
        ".1",
        "1.",
        "1.2.",
        "x.y.z",
        "1.2.x",
    ];
    let suffixes = [
        "",
        "-beta",
        "-beta.2",
        "-rc.1",
        "-0",
        "-01",
        "-alpha-1",
        "b1",
        "rc1",
        "a0",
        ".dev0",
        ".post1",
        "-post1",
        "_rc1",
        "+local",
        "+c3galmet1",
        "+build.5",
        "+UPPER",
        "dev",
        "-dev",
        "beta",
        "beta2",
        "preview3",
        "c1",
        "r2",
        "rev3",
        "a",
        " ",
        "\n",
        "-",
        "+",
        "!",
        ".",
        "b1.post2.dev3",
        "B1",
        "RC1",
    ];
    let mut out = Vec::new();
    for (i, core) in cores.iter().enumerate() {
        for (j, suffix) in suffixes.iter().enumerate() {
            // Every core with every suffix, with prefixes cycling so all meet each other.
            let prefix = prefixes[(i + j) % prefixes.len()];
            out.push(format!("{prefix}{core}{suffix}"));
        }
    }
    out.extend(
        [
            "",
            " ",
            "main",
            "master",
            "latest",
            "dev",
            "stable",
            "beta",
            "%%%VERSION%%%",
            "${VERSION}",
            "0x1A",
            "0xZZ",
            "1!2.0",
            "0!1.0",
            "1.0.0-beta.2",
            "5.0.0-beta.2",
            "3.2.4.2",
            "1.0.0b1",
            "v1.25.0",
            "0.5",
            "2026.8.0+c3galmet1",
            "١٢٣",
            "v١.٢",
            "1.0\u{a0}",
            "\u{2003}1.0",
            "1.0\x1c",
            "12.3a4",
            "12.3abc4",
            "2024.1.1.1",
            "99.12.31abc1",
            "1.0.0-",
            "1.0.0+",
            "1.0.0-+",
            "v",
            "V.1",
            "vv1",
            "1_0",
            "1-0",
            "1,0",
            "1.0.0.0.0.0",
            "2024.13",
            "24.123",
        ]
        .map(str::to_owned),
    );
    out
}

#[test]
fn version_verdicts_match_awesomeversion() {
    let mut values: Vec<Value> = generated().into_iter().map(Value::from).collect();
    // Non-string values reach AwesomeVersion through str().
    values.extend([
        Value::from(1),
        Value::from(0),
        Value::from(-1),
        Value::from(1.5),
        Value::from(2.0),
        Value::Null,
        Value::from(true),
        serde_json::json!(["1.0"]),
    ]);
    assert!(values.len() >= 300, "{}", values.len());
    let expected = oracle(&values);
    let mut mismatches = Vec::new();
    for (value, want) in values.iter().zip(&expected) {
        let got = version::verdict(value).strategy.is_some();
        if got != *want {
            mismatches.push(format!("{value}: ours {got}, awesomeversion {want}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        values.len(),
        mismatches.join("\n")
    );
    let accepted = expected.iter().filter(|b| **b).count();
    assert!(
        accepted > 50 && accepted < values.len() - 50,
        "the sample must hold both verdicts: {accepted} accepted"
    );
}
