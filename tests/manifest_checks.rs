//! manifest.json and hacs.json checks: the real corpus with its expected findings, one crafted
//! bad input per rule and per real failure shape (rule id and location asserted), exit codes of
//! `cargo xtask check`, and arbitrary bytes that must never panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use hacs_nix::finding::{Finding, Severity};
use hacs_nix::layout;
use hacs_nix::manifest::{check_hacs_json, check_manifest};
use proptest::prelude::*;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/corpus");

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(format!("{CORPUS}/{name}")).unwrap()
}

fn rules(findings: &[Finding]) -> Vec<&'static str> {
    let mut rules: Vec<_> = findings.iter().map(|f| f.rule).collect();
    rules.sort_unstable();
    rules
}

/// The corpus at each file's release tag (see the corpus README), with every finding expected.
#[test]
fn corpus_manifests_have_exactly_the_expected_findings() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("frigate.json", "v5.15.2", &[]),
        ("alexa_media.json", "v5.15.7", &[]),
        ("adaptive_lighting.json", "v1.31.0", &[]),
        ("xiaomi_miot.json", "v1.1.4", &[]),
        (
            "browser_mod.json",
            "v3.2.0",
            &["manifest-issue-tracker-missing"],
        ),
        ("localtuya.json", "v5.2.4", &["layout-version-drift"]),
        ("hacs.json", "2.0.5", &["layout-version-placeholder"]),
        ("spook.json", "v5.0.0", &["layout-version-placeholder"]),
        (
            "spook_inverse.json",
            "v5.0.0",
            &["layout-version-placeholder"],
        ),
        // powercalc keeps 0.1.1 in git and stamps the zip_release asset: a valid version, so the
        // source archive's is left alone.
        ("powercalc.json", "v1.25.0", &["layout-version-drift"]),
    ];
    for (file, tag, expected) in cases {
        let checked = check_manifest(file, &corpus(file));
        let manifest = checked
            .value
            .unwrap_or_else(|| panic!("{file} should parse"));
        let mut findings = checked.findings;
        let stamp = layout::version_against_tag(&manifest, Some(tag), file, &mut findings);
        assert_eq!(rules(&findings), *expected, "{file}: {findings:#?}");
        assert!(manifest.version_valid, "{file}");
        // Only placeholders are stamped: a valid version that drifts is left alone.
        assert_eq!(
            stamp.is_some(),
            expected.contains(&"layout-version-placeholder"),
            "{file}"
        );
    }
    let hacs = check_manifest("hacs.json", &corpus("hacs.json"))
        .value
        .unwrap();
    assert_eq!(hacs.domain.as_deref(), Some("hacs"));
    assert_eq!(hacs.requirements, ["aiogithubapi>=22.10.1"]);
    let browser_mod = check_manifest("browser_mod.json", &corpus("browser_mod.json"))
        .value
        .unwrap();
    assert!(
        browser_mod.codeowners.is_empty(),
        "an empty codeowners list is allowed"
    );
}

#[test]
fn corpus_hacs_json_files_are_clean_and_typed() {
    for entry in std::fs::read_dir(CORPUS).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".hacs.json") {
            continue;
        }
        let checked = check_hacs_json(&name, &std::fs::read(&path).unwrap());
        assert!(
            checked.findings.is_empty(),
            "{name}: {:#?}",
            checked.findings
        );
        let hacs = checked.value.unwrap();
        assert!(hacs.name.is_some(), "{name}");
    }
    let hacs = check_hacs_json("hacs.hacs.json", &corpus("hacs.hacs.json"))
        .value
        .unwrap();
    assert!(hacs.zip_release);
    assert_eq!(hacs.filename.as_deref(), Some("hacs.zip"));
    assert_eq!(hacs.homeassistant.as_deref(), Some("2024.4.1"));
}

const GOOD: &str = r#"{
  "domain": "demo",
  "name": "Demo",
  "codeowners": ["@someone"],
  "config_flow": true,
  "documentation": "https://github.com/someone/demo",
  "iot_class": "cloud_polling",
  "issue_tracker": "https://github.com/someone/demo/issues",
  "requirements": ["demo-lib==1.0.0"],
  "version": "1.0.0"
}"#;

/// Replaces the first occurrence of `from` in the good manifest.
fn edit(from: &str, to: &str) -> Vec<u8> {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1).into_bytes()
}

enum At {
    /// line, column
    Pos(usize, usize),
    Key(&'static str),
    File,
}

fn case(bytes: Vec<u8>, rule: &str, severity: Severity, at: At) -> (Vec<u8>, String, Severity, At) {
    (bytes, rule.to_owned(), severity, at)
}

#[test]
fn one_crafted_manifest_per_rule_and_failure_shape() {
    use Severity::{Error as E, Warning as W};
    let cases = vec![
        // Failure shapes of the JSON itself, with the position Home Assistant's parser stops at.
        case(
            edit("\"1.0.0\"\n}", "\"1.0.0\",\n}"),
            "json-trailing-comma",
            E,
            At::Pos(11, 1),
        ),
        case(
            edit("\"Demo\",", "\"Demo\""),
            "json-missing-comma",
            E,
            At::Pos(4, 3),
        ),
        case(
            edit("\"cloud_polling\"", "cloud_polling"),
            "json-unquoted-value",
            E,
            At::Pos(7, 16),
        ),
        case(
            edit("\"name\"", "name"),
            "json-unquoted-key",
            E,
            At::Pos(3, 3),
        ),
        case(
            edit("\"Demo\"", "'Demo'"),
            "json-single-quotes",
            E,
            At::Pos(3, 11),
        ),
        case(
            edit("  \"name\"", "  // the name\n  \"name\""),
            "json-comment",
            E,
            At::Pos(3, 3),
        ),
        case(
            [b"\xef\xbb\xbf".as_slice(), GOOD.as_bytes()].concat(),
            "json-bom",
            E,
            At::Pos(1, 1),
        ),
        case(
            b"<!DOCTYPE html>\n<html><body>404</body></html>".to_vec(),
            "json-html",
            E,
            At::Pos(1, 1),
        ),
        case(
            edit("Demo", "D\u{e9}mo")
                .into_iter()
                .map(|b| if b == 0xc3 { 0xe9 } else { b })
                .filter(|&b| b != 0xa9)
                .collect(),
            "json-not-utf8",
            E,
            At::Pos(3, 13),
        ),
        case(Vec::new(), "json-empty", E, At::File),
        case(b" \n\t ".to_vec(), "json-empty", E, At::File),
        case(
            GOOD.as_bytes()[..GOOD.len() / 2].to_vec(),
            "json-truncated",
            E,
            At::Pos(7, 3),
        ),
        case(
            format!("{GOOD}\n{{}}").into_bytes(),
            "json-trailing-characters",
            E,
            At::Pos(12, 1),
        ),
        case(
            edit("\"1.0.0\"", "1.0.0"),
            "json-missing-comma",
            E,
            At::Pos(10, 17),
        ),
        case(
            format!("{{\"domain\": \"{}\"}}", "x".repeat(2 << 20)).into_bytes(),
            "json-too-large",
            E,
            At::File,
        ),
        case(
            edit("\"Demo\",", "\"Demo\",,"),
            "json-extra-comma",
            E,
            At::Pos(3, 18),
        ),
        case(
            edit("\"config_flow\": true", "\"config_flow\": -"),
            "json-syntax",
            E,
            At::Pos(5, 19),
        ),
        // The model.
        case(
            b"[\"domain\"]".to_vec(),
            "manifest-not-object",
            E,
            At::Pos(1, 1),
        ),
        case(
            edit("\"domain\": \"demo\",", ""),
            "manifest-domain-missing",
            E,
            At::Pos(1, 1),
        ),
        case(
            edit("\"demo\",", "7,"),
            "manifest-domain-type",
            E,
            At::Key("domain"),
        ),
        case(
            edit("\"demo\",", "\"Demo-Thing\","),
            "manifest-domain-invalid",
            E,
            At::Key("domain"),
        ),
        case(
            edit("\"demo\",", "\"../../evil\","),
            "manifest-domain-invalid",
            E,
            At::Key("domain"),
        ),
        case(
            edit("\"demo\",", "\"pwn$(touch x)\","),
            "manifest-domain-invalid",
            E,
            At::Key("domain"),
        ),
        case(
            edit("\"demo\",", "\"a__b\","),
            "manifest-domain-invalid",
            E,
            At::Key("domain"),
        ),
        case(
            edit("\"demo\",", "\"demo_\","),
            "manifest-domain-invalid",
            E,
            At::Key("domain"),
        ),
        case(
            edit(",\n  \"version\": \"1.0.0\"", ""),
            "manifest-version-missing",
            E,
            At::Pos(1, 1),
        ),
        case(
            edit("\"1.0.0\"", "\"\""),
            "manifest-version-invalid",
            E,
            At::Key("version"),
        ),
        case(
            edit("\"1.0.0\"", "\"main\""),
            "manifest-version-invalid",
            E,
            At::Key("version"),
        ),
        case(
            edit("\"1.0.0\"", "\"%%%VERSION%%%\""),
            "manifest-version-invalid",
            E,
            At::Key("version"),
        ),
        case(
            edit("\"1.0.0\"", "null"),
            "manifest-version-invalid",
            E,
            At::Pos(10, 3),
        ),
        case(
            edit("\"1.0.0\"", "\"0x1A\""),
            "manifest-version-invalid",
            E,
            At::Key("version"),
        ),
        case(
            edit("\"1.0.0\"", "\"latest\""),
            "manifest-version-invalid",
            E,
            At::Key("version"),
        ),
        case(
            edit("\"1.0.0\"", "2"),
            "manifest-version-type",
            W,
            At::Key("version"),
        ),
        case(
            edit("\"name\": \"Demo\",", ""),
            "manifest-name-missing",
            W,
            At::Pos(1, 1),
        ),
        case(
            edit("\"Demo\"", "[\"Demo\"]"),
            "manifest-key-type",
            W,
            At::Key("name"),
        ),
        case(
            edit(
                "  \"documentation\": \"https://github.com/someone/demo\",\n",
                "",
            ),
            "manifest-documentation-missing",
            W,
            At::Pos(1, 1),
        ),
        case(
            edit(
                "https://github.com/someone/demo\"",
                "http://github.com/someone/demo\"",
            ),
            "manifest-url-invalid",
            W,
            At::Pos(6, 3),
        ),
        case(
            edit(
                "https://github.com/someone/demo\"",
                "https://www.home-assistant.io/integrations/demo\"",
            ),
            "manifest-documentation-core-page",
            W,
            At::Key("documentation"),
        ),
        case(
            edit(
                "  \"issue_tracker\": \"https://github.com/someone/demo/issues\",\n",
                "",
            ),
            "manifest-issue-tracker-missing",
            W,
            At::Pos(1, 1),
        ),
        case(
            edit("https://github.com/someone/demo/issues", "not a url"),
            "manifest-url-invalid",
            W,
            At::Key("issue_tracker"),
        ),
        case(
            edit("  \"codeowners\": [\"@someone\"],\n", ""),
            "manifest-codeowners-missing",
            W,
            At::Pos(1, 1),
        ),
        case(
            edit("[\"@someone\"]", "\"@someone\""),
            "manifest-key-type",
            W,
            At::Key("codeowners"),
        ),
        case(
            edit("  \"iot_class\": \"cloud_polling\",\n", ""),
            "manifest-iot-class-missing",
            W,
            At::Pos(1, 1),
        ),
        case(
            edit("\"cloud_polling\"", "\"cloud\""),
            "manifest-enum-invalid",
            W,
            At::Key("iot_class"),
        ),
        case(
            edit(
                "\"config_flow\": true",
                "\"config_flow\": true, \"integration_type\": \"gadget\"",
            ),
            "manifest-enum-invalid",
            W,
            At::Key("integration_type"),
        ),
        case(
            edit("\"config_flow\": true", "\"config_flow\": \"yes\""),
            "manifest-key-type",
            W,
            At::Key("config_flow"),
        ),
        case(
            edit("[\"demo-lib==1.0.0\"]", "\"demo-lib==1.0.0\""),
            "manifest-requirements-type",
            E,
            At::Key("requirements"),
        ),
        case(
            edit("[\"demo-lib==1.0.0\"]", "[\"demo-lib==1.0.0\", 5]"),
            "manifest-requirements-type",
            E,
            At::Key("requirements"),
        ),
        case(
            edit(
                "\"demo-lib==1.0.0\"",
                "\"demo-lib @ git+https://github.com/x/demo-lib\"",
            ),
            "manifest-requirement-space",
            W,
            At::Pos(9, 20),
        ),
        case(
            edit(
                "\"config_flow\": true",
                "\"config_flow\": true, \"homeassistant\": \"2024.1.0\"",
            ),
            "manifest-unknown-key",
            W,
            At::Key("homeassistant"),
        ),
        case(
            edit(
                "  \"domain\": \"demo\",\n  \"name\": \"Demo\",",
                "  \"name\": \"Demo\",\n  \"domain\": \"demo\",",
            ),
            "manifest-key-order",
            W,
            At::Pos(1, 1),
        ),
        case(
            edit(
                "  \"codeowners\": [\"@someone\"],\n  \"config_flow\": true,",
                "  \"config_flow\": true,\n  \"codeowners\": [\"@someone\"],",
            ),
            "manifest-key-order",
            W,
            At::Pos(1, 1),
        ),
    ];
    assert!(cases.len() >= 40);
    let dir = tempfile::tempdir().unwrap();
    for (i, (bytes, rule, severity, at)) in cases.iter().enumerate() {
        // The command's exit code: 1 with an error, 0 with warnings only.
        let path = dir.path().join(format!("case-{i}.json"));
        std::fs::write(&path, bytes).unwrap();
        let code = xtask(&["check", path.to_str().unwrap(), "--kind", "manifest"])
            .status
            .code();
        let has_error = check_manifest("manifest.json", bytes)
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error);
        assert_eq!(
            code,
            Some(if has_error { 1 } else { 0 }),
            "case {i} ({rule}): exit code"
        );
        if *severity == Severity::Error {
            assert_eq!(code, Some(1), "case {i} ({rule})");
        }

        let findings = check_manifest("manifest.json", bytes).findings;
        let found = findings
            .iter()
            .find(|f| f.rule == rule)
            .unwrap_or_else(|| panic!("case {i}: expected {rule}, got {findings:#?}"));
        assert_eq!(found.severity, *severity, "case {i} ({rule})");
        assert!(!found.help.is_empty() && !found.message.is_empty());
        match at {
            At::Pos(line, column) => {
                assert_eq!(
                    (found.location.line, found.location.column),
                    (Some(*line), Some(*column)),
                    "case {i} ({rule}): {found:#?}"
                )
            }
            At::Key(key) => {
                assert_eq!(
                    found.location.key.as_deref(),
                    Some(*key),
                    "case {i} ({rule})"
                );
                assert!(
                    found.location.line.is_some(),
                    "case {i}: a key's line is known"
                );
            }
            At::File => assert_eq!(found.location.line, None, "case {i} ({rule})"),
        }
        // Syntax failures are reported alone; model rules never drown the one that matters.
        if rule.starts_with("json-") {
            assert_eq!(findings.len(), 1, "case {i}: {findings:#?}");
        }
    }
    assert!(
        check_manifest("manifest.json", GOOD.as_bytes())
            .findings
            .is_empty()
    );
}

#[test]
fn one_crafted_hacs_json_per_rule() {
    let cases: &[(&str, &str, Severity, Option<&str>)] = &[
        (
            r#"{"name": "X", "zip_release": true}"#,
            "hacs-zip-release-filename",
            Severity::Error,
            Some("zip_release"),
        ),
        (
            r#"{"name": "X", "zip_release": true, "filename": "x.tar.gz"}"#,
            "hacs-zip-release-filename",
            Severity::Error,
            Some("filename"),
        ),
        (
            r#"{"name": "X", "filename": "x.zip"}"#,
            "hacs-filename-without-zip-release",
            Severity::Warning,
            Some("filename"),
        ),
        (
            r#"{"zip_release": false}"#,
            "hacs-name-missing",
            Severity::Warning,
            None,
        ),
        (
            r#"{"name": "X", "domains": ["sensor"]}"#,
            "hacs-removed-key",
            Severity::Warning,
            Some("domains"),
        ),
        (
            r#"{"name": "X", "iot_class": "Cloud Polling"}"#,
            "hacs-removed-key",
            Severity::Warning,
            Some("iot_class"),
        ),
        (
            r#"{"name": "X", "zip_relase": true}"#,
            "hacs-unknown-key",
            Severity::Warning,
            Some("zip_relase"),
        ),
        (
            r#"{"name": "X", "country": "NLD"}"#,
            "hacs-country-invalid",
            Severity::Warning,
            Some("country"),
        ),
        (
            r#"{"name": "X", "country": ["NL", "xx"]}"#,
            "hacs-country-invalid",
            Severity::Warning,
            Some("country[1]"),
        ),
        (
            r#"{"name": "X", "country": 31}"#,
            "hacs-key-type",
            Severity::Warning,
            Some("country"),
        ),
        (
            r#"{"name": "X", "homeassistant": "soon"}"#,
            "hacs-minimum-version-invalid",
            Severity::Warning,
            Some("homeassistant"),
        ),
        (
            r#"{"name": "X", "hacs": "x.y"}"#,
            "hacs-minimum-version-invalid",
            Severity::Warning,
            Some("hacs"),
        ),
        (
            r#"{"name": "X", "content_in_root": "true"}"#,
            "hacs-key-type",
            Severity::Warning,
            Some("content_in_root"),
        ),
        (r#"["name"]"#, "hacs-json-not-object", Severity::Error, None),
        (
            r#"{"name": "X",}"#,
            "json-trailing-comma",
            Severity::Error,
            None,
        ),
    ];
    for (text, rule, severity, key) in cases {
        let findings = check_hacs_json("hacs.json", text.as_bytes()).findings;
        let found = findings
            .iter()
            .find(|f| f.rule == *rule)
            .unwrap_or_else(|| panic!("{text}: expected {rule}, got {findings:#?}"));
        assert_eq!(found.severity, *severity, "{text}");
        assert_eq!(found.location.key.as_deref(), *key, "{text}");
    }
    let ok = check_hacs_json(
        "hacs.json",
        br#"{"name": "X", "country": ["NL", "BE"], "homeassistant": "2025.3.0b0"}"#,
    );
    assert!(ok.findings.is_empty(), "{:#?}", ok.findings);
}

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hacs-nix"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn check_exit_codes_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let clean = write("manifest.json", GOOD.as_bytes());
    assert_eq!(xtask(&["check", &clean]).status.code(), Some(0));

    let warned = write("warned.json", &corpus("browser_mod.json"));
    let out = xtask(&["check", &warned]);
    assert_eq!(out.status.code(), Some(0), "warnings alone pass");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning[manifest-issue-tracker-missing]")
            && stderr.contains("0 errors, 1 warning"),
        "{stderr}"
    );

    let broken = write("broken.json", &edit("\"1.0.0\"\n}", "\"1.0.0\",\n}"));
    let out = xtask(&["check", &broken]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error[json-trailing-comma]"), "{stderr}");
    assert!(
        stderr.contains(&format!("--> {broken}:11:1")),
        "compiler-style location: {stderr}"
    );
    assert!(stderr.contains("help: remove the comma"), "{stderr}");

    let out = xtask(&["check", &broken, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["errors"], 1);
    assert_eq!(json["findings"][0]["rule"], "json-trailing-comma");
    assert_eq!(json["findings"][0]["location"]["line"], 11);

    assert_eq!(
        xtask(&["check", "/nonexistent/manifest.json"])
            .status
            .code(),
        Some(2)
    );
    let garbage = write("garbage.tar.gz", b"\x1f\x8b\x08\x00garbage");
    assert_eq!(xtask(&["check", &garbage]).status.code(), Some(2));

    let hacs = write("hacs.json", br#"{"name": "X", "zip_release": true}"#);
    let out = xtask(&["check", &hacs]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hacs-zip-release-filename"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary bytes: always a value or a finding, never a panic.
    #[test]
    fn parsers_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let m = check_manifest("manifest.json", &bytes);
        prop_assert!(m.value.is_some() || !m.findings.is_empty());
        let h = check_hacs_json("hacs.json", &bytes);
        prop_assert!(h.value.is_some() || !h.findings.is_empty());
    }

    /// Real manifests with bytes deleted, duplicated or replaced: the shapes a broken edit leaves.
    #[test]
    fn parsers_never_panic_on_damaged_manifests(
        file in proptest::sample::select(vec!["hacs.json", "spook.json", "alexa_media.json", "browser_mod.json"]),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..6),
    ) {
        let mut bytes = corpus(file);
        for (index, op, byte) in edits {
            if bytes.is_empty() { break; }
            let at = index.index(bytes.len());
            match op {
                0 => { bytes.remove(at); }
                1 => bytes.insert(at, bytes[at]),
                _ => bytes[at] = byte,
            }
        }
        let m = check_manifest("manifest.json", &bytes);
        prop_assert!(m.value.is_some() || !m.findings.is_empty());
        for f in &m.findings {
            prop_assert!(f.location.line.is_none_or(|l| l >= 1));
        }
    }
}
