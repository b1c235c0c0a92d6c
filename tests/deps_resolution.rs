//! Requirements against Home Assistant's Python set, evaluated by real Nix from the
//! nixpkgs-shaped fixtures in tests/fixtures/nixpkgs (the 2026 `python3Packages` shape with
//! packaging 26, the older `python.pkgs` shape with packaging 25).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use hacs_nix::deps::{self, DepFix, DepsOptions, Outcome};
use hacs_nix::manifest::check_manifest;
use hacs_nix::pyset::{self, Nixpkgs, PythonSet};
use hacs_nix::requirement::{self, Semantics};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn fixture(shape: &str) -> PathBuf {
    PathBuf::from(format!("{ROOT}/tests/fixtures/nixpkgs/ha-{shape}"))
}

fn set(shape: &str) -> &'static PythonSet {
    static SETS: OnceLock<(PythonSet, PythonSet)> = OnceLock::new();
    let (new, old) = SETS.get_or_init(|| {
        let eval =
            |s| pyset::evaluate(&Nixpkgs::parse(fixture(s).to_str().unwrap()).unwrap()).unwrap();
        (eval("2026"), eval("2025"))
    });
    if shape == "2026" { new } else { old }
}

#[test]
fn evaluates_both_shapes_with_real_nix() {
    let new = set("2026");
    assert_eq!(
        (
            new.home_assistant.as_str(),
            new.python.as_str(),
            new.python_full.as_str()
        ),
        ("2026.11.2", "3.14", "3.14.0")
    );
    assert_eq!(new.shape, "python3Packages");
    assert_eq!(new.semantics(), Semantics::Packaging26);
    let old = set("2025");
    assert_eq!(
        (old.home_assistant.as_str(), old.python.as_str()),
        ("2025.6.3", "3.13")
    );
    assert_eq!(old.shape, "python.pkgs");
    assert_eq!(old.semantics(), Semantics::Packaging25);
    for s in [new, old] {
        // Throwing attributes, functions and plain values are skipped; the alias is kept.
        for skipped in [
            "broken",
            "alsoBroken",
            "brokenVersion",
            "callPackage",
            "notAPackage",
            "pythonVersion",
        ] {
            assert!(!s.packages.contains_key(skipped), "{skipped}");
        }
        assert_eq!(s.packages["pyhon"].pname, "pyhOn");
        assert_eq!(s.packages["pyhOn"], s.packages["pyhon"]);
        assert_eq!(s.packages["midea-lan"].version, "unstable-2024-01-01");
        assert_eq!(s.core, ["aiohttp", "jinja2"]);
    }
}

#[test]
fn snapshot_round_trip_and_staleness() {
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join("nixpkgs");
    std::fs::create_dir_all(copy.join("ha-2026")).unwrap();
    std::fs::copy(
        format!("{ROOT}/tests/fixtures/nixpkgs/common.nix"),
        copy.join("common.nix"),
    )
    .unwrap();
    std::fs::copy(
        fixture("2026").join("default.nix"),
        copy.join("ha-2026/default.nix"),
    )
    .unwrap();
    let nixpkgs = Nixpkgs::parse(copy.join("ha-2026").to_str().unwrap()).unwrap();
    let evaluated = pyset::evaluate(&nixpkgs).unwrap();
    let file = work.path().join("python-set.json");
    std::fs::write(&file, evaluated.to_json()).unwrap();
    let loaded = PythonSet::load(&file).unwrap().unwrap();
    assert_eq!(loaded, evaluated);
    assert_eq!(loaded.to_json(), evaluated.to_json(), "stable bytes");
    assert_eq!(
        loaded.nixpkgs,
        nixpkgs.key().unwrap(),
        "fresh while nixpkgs is unchanged"
    );
    // Each package's pythonImportsCheck is read (a string where a list belongs is none).
    assert_eq!(evaluated.packages["pyyaml"].imports, ["yaml", "yaml.cyaml"]);
    assert!(evaluated.packages["dictor-string-check"].imports.is_empty());
    // A snapshot of the schema before (no imports) still loads; it is evaluated again where
    // it can be, and serves as it is offline.
    let mut old: serde_json::Value = serde_json::from_str(&evaluated.to_json()).unwrap();
    old["schema"] = 1.into();
    for package in old["packages"].as_object_mut().unwrap().values_mut() {
        package.as_object_mut().unwrap().remove("imports");
    }
    let old_file = work.path().join("old-python-set.json");
    std::fs::write(&old_file, old.to_string()).unwrap();
    let reference = copy.join("ha-2026").display().to_string();
    let absent = work.path().join("no-flake.lock");
    match pyset::obtain(
        pyset::Which::Reference(&reference),
        &absent,
        &old_file,
        true,
    )
    .unwrap()
    {
        pyset::Obtained::Evaluated(set) => {
            assert!(set.is_current());
            assert_eq!(set.packages["pyyaml"].imports, ["yaml", "yaml.cyaml"]);
        }
        other => panic!("an old snapshot is evaluated again: {other:?}"),
    }
    match pyset::obtain(
        pyset::Which::Reference(&reference),
        &absent,
        &old_file,
        false,
    )
    .unwrap()
    {
        pyset::Obtained::Snapshot(set) => assert!(!set.is_current()),
        other => panic!("offline, the old snapshot serves: {other:?}"),
    }
    old["schema"] = 99.into();
    std::fs::write(&old_file, old.to_string()).unwrap();
    let err = PythonSet::load(&old_file).unwrap_err().to_string();
    assert!(err.contains("a newer hacs-nix wrote it"), "{err}");
    // The key is the NAR hash of the folder: real Nix agrees.
    let hex = hacs_nix::hash::Sha256Digest::parse(&loaded.nixpkgs.nar_hash)
        .unwrap()
        .to_hex();
    let out = Command::new("nix-hash")
        .args(["--type", "sha256"])
        .arg(copy.join("ha-2026"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), hex);
    std::fs::write(
        copy.join("ha-2026/default.nix"),
        "import ../common.nix \"2025\"\n",
    )
    .unwrap();
    assert_ne!(
        loaded.nixpkgs,
        nixpkgs.key().unwrap(),
        "a changed nixpkgs makes the snapshot stale"
    );
    assert!(
        PythonSet::load(&work.path().join("absent.json"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn flake_lock_names_the_locked_nixpkgs() {
    let work = tempfile::tempdir().unwrap();
    let lock = work.path().join("flake.lock");
    std::fs::write(
        &lock,
        r#"{"nodes":{"nixpkgs":{"locked":{"lastModified":1,"narHash":"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","owner":"NixOS","repo":"nixpkgs","rev":"0123456789abcdef0123456789abcdef01234567","type":"github"},"original":{"owner":"NixOS","ref":"nixos-unstable","repo":"nixpkgs","type":"github"}},"root":{"inputs":{"nixpkgs":"nixpkgs"}}},"root":"root","version":7}"#,
    )
    .unwrap();
    let nixpkgs = Nixpkgs::from_flake_lock(&lock).unwrap();
    let key = nixpkgs.key().unwrap();
    assert_eq!(
        key.source,
        "https://github.com/NixOS/nixpkgs/archive/0123456789abcdef0123456789abcdef01234567.tar.gz"
    );
    assert_eq!(
        key.rev.as_deref(),
        Some("0123456789abcdef0123456789abcdef01234567")
    );
    assert_eq!(
        key.nar_hash,
        "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    );
    std::fs::write(
        &lock,
        r#"{"nodes":{"root":{"inputs":{}}},"root":"root","version":7}"#,
    )
    .unwrap();
    assert!(
        Nixpkgs::from_flake_lock(&lock)
            .unwrap_err()
            .to_string()
            .contains("no `nixpkgs` input")
    );
}

/// Requirement strings seen in real manifests.
#[test]
fn requirement_edge_cases() {
    struct Case {
        raw: &'static str,
        name: &'static str,
        normalized: &'static str,
        specifier: &'static str,
        url: bool,
        marker_holds: bool,
    }
    let cases = [
        Case {
            raw: "pyhOn==0.14.11",
            name: "pyhOn",
            normalized: "pyhon",
            specifier: "==0.14.11",
            url: false,
            marker_holds: true,
        },
        Case {
            raw: "ideenergy==1.0.0rc1",
            name: "ideenergy",
            normalized: "ideenergy",
            specifier: "==1.0.0rc1",
            url: false,
            marker_holds: true,
        },
        Case {
            raw: "dictor>=0.1.12,<0.2",
            name: "dictor",
            normalized: "dictor",
            specifier: ">=0.1.12, <0.2",
            url: false,
            marker_holds: true,
        },
        Case {
            raw: "pycryptodome~=3.20",
            name: "pycryptodome",
            normalized: "pycryptodome",
            specifier: "~=3.20",
            url: false,
            marker_holds: true,
        },
        Case {
            raw: "Foo_Bar.baz[extra1,extra2]>=1",
            name: "Foo_Bar.baz",
            normalized: "foo-bar-baz",
            specifier: ">=1",
            url: false,
            marker_holds: true,
        },
        Case {
            raw: "old-lib>=1; python_version < \"3.10\"",
            name: "old-lib",
            normalized: "old-lib",
            specifier: ">=1",
            url: false,
            marker_holds: false,
        },
        Case {
            raw: "new-lib; python_version >= \"3.14\"",
            name: "new-lib",
            normalized: "new-lib",
            specifier: "",
            url: false,
            marker_holds: true,
        },
        Case {
            raw: "winlib; sys_platform == \"win32\"",
            name: "winlib",
            normalized: "winlib",
            specifier: "",
            url: false,
            marker_holds: false,
        },
        Case {
            raw: "midea-lan@git+https://github.com/x/midea-lan.git@0123abc",
            name: "midea-lan",
            normalized: "midea-lan",
            specifier: "",
            url: true,
            marker_holds: true,
        },
        Case {
            raw: "ulid-transform",
            name: "ulid-transform",
            normalized: "ulid-transform",
            specifier: "",
            url: false,
            marker_holds: true,
        },
    ];
    for c in cases {
        let r = requirement::parse(c.raw).unwrap_or_else(|e| panic!("{}: {e:?}", c.raw));
        assert_eq!(
            (r.name.as_str(), r.normalized.as_str()),
            (c.name, c.normalized),
            "{}",
            c.raw
        );
        assert_eq!(
            r.specifiers
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            c.specifier,
            "{}",
            c.raw
        );
        assert_eq!(r.url.is_some(), c.url, "{}", c.raw);
        assert_eq!(
            r.marker_holds("3.14", "3.14.0", "x86_64"),
            c.marker_holds,
            "{}",
            c.raw
        );
    }
    for bad in [
        "aiogithubapi>=2.0.0<3.0.0",
        "git+https://git.aubio.org/aubio/aubio/",
        "git+https://github.com/x/y.git#egg=y",
    ] {
        assert!(requirement::parse(bad).is_err(), "{bad}");
    }
    let extras = requirement::parse("Foo_Bar.baz[extra1,extra2]>=1")
        .unwrap()
        .extras;
    assert_eq!(extras, ["extra1", "extra2"]);
}

fn resolve(
    shape: &str,
    requirements: &[&str],
    ignore: &[(&str, &str)],
    min: Option<&str>,
) -> deps::DepsReport {
    let manifests = vec![(
        "manifest.json".to_owned(),
        requirements.iter().map(|r| (*r).to_owned()).collect(),
    )];
    let options = DepsOptions {
        ignore: ignore
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect(),
        ..DepsOptions::default()
    };
    deps::resolve(
        &manifests,
        min.map(|m| (m, "hacs.json")),
        set(shape),
        &options,
    )
}

fn status(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Satisfied { attr, .. } => format!("satisfied:{attr}"),
        Outcome::VersionConflict {
            attr,
            crashes_check,
            ..
        } => format!(
            "conflict:{attr}{}",
            if *crashes_check { ":crashes" } else { "" }
        ),
        Outcome::Missing { .. } => "missing".to_owned(),
        Outcome::Unparsable { attr, .. } => {
            format!("unparsable:{}", attr.as_deref().unwrap_or("-"))
        }
        Outcome::NotNeeded { .. } => "not-needed".to_owned(),
        Outcome::Ignored { .. } => "ignored".to_owned(),
    }
}

#[test]
fn resolution_table_under_both_packaging_generations() {
    // (requirement, with packaging 26 (2026 set), with packaging 25 (2025 set))
    let table: &[(&str, &str, &str)] = &[
        (
            "aiogithubapi>=22.10.1",
            "satisfied:aiogithubapi",
            "satisfied:aiogithubapi",
        ),
        ("pyhOn==0.14.11", "satisfied:pyhon", "satisfied:pyhon"),
        (
            "HAP-python==5.0.0",
            "satisfied:hap-python",
            "satisfied:hap-python",
        ),
        ("slack_sdk>=3", "satisfied:slack-sdk", "satisfied:slack-sdk"),
        (
            "slackclient>=2",
            "satisfied:slack-sdk",
            "satisfied:slack-sdk",
        ),
        ("ha-av==13.1.0", "satisfied:av", "satisfied:av"),
        (
            "ideenergy==1.0.0rc1",
            "satisfied:ideenergy",
            "satisfied:ideenergy",
        ),
        (
            "ideenergy>=0.9",
            "satisfied:ideenergy",
            "conflict:ideenergy",
        ),
        (
            "python-miio>=0.5.12",
            "satisfied:python-miio",
            "conflict:python-miio",
        ),
        (
            "dictor>=0.1.12,<0.2",
            "satisfied:dictor",
            "satisfied:dictor",
        ),
        (
            "pycryptodome~=3.20",
            "satisfied:pycryptodome",
            "satisfied:pycryptodome",
        ),
        ("numpy==1.26.4", "conflict:numpy", "conflict:numpy"),
        (
            "ulid-transform",
            "satisfied:ulid-transform",
            "satisfied:ulid-transform",
        ),
        (
            "midea-lan@git+https://github.com/x/midea-lan.git@0123abc",
            "satisfied:midea-lan",
            "conflict:midea-lan:crashes",
        ),
        (
            "midea-lan>=1.0",
            "conflict:midea-lan",
            "conflict:midea-lan:crashes",
        ),
        ("not-in-nixpkgs==1.0", "missing", "missing"),
        (
            "aiogithubapi>=2.0.0<3.0.0",
            "unparsable:aiogithubapi",
            "unparsable:aiogithubapi",
        ),
        (
            "git+https://git.aubio.org/aubio/aubio/",
            "unparsable:-",
            "unparsable:-",
        ),
        (
            "old-lib>=1; python_version < \"3.10\"",
            "not-needed",
            "not-needed",
        ),
    ];
    for (shape, column) in [("2026", 1), ("2025", 2)] {
        let requirements: Vec<&str> = table.iter().map(|row| row.0).collect();
        let report = resolve(shape, &requirements, &[], None);
        for (row, resolution) in table.iter().zip(&report.resolutions) {
            let want = if column == 1 { row.1 } else { row.2 };
            assert_eq!(
                status(&resolution.outcome),
                want,
                "{} with the {shape} set",
                row.0
            );
            match &resolution.outcome {
                // Several names conflict: each is relaxed to its bare name, or removed where
                // even that fails; never ignored by name.
                Outcome::VersionConflict { version, .. } => {
                    let name = resolution.name.clone().unwrap();
                    // Even a bare name fails under packaging 25, which raises on a version
                    // that is not PEP 440 and excludes pre-releases; 26 accepts both.
                    let dropped = shape == "2025"
                        && (version.starts_with("unstable")
                            || version.contains("rc")
                            || version.contains("dev"));
                    let expected = if dropped {
                        DepFix::DropRequirement {
                            requirement: row.0.to_owned(),
                        }
                    } else {
                        DepFix::RelaxRequirement {
                            requirement: row.0.to_owned(),
                            relaxed: name,
                        }
                    };
                    assert_eq!(resolution.fix, Some(expected), "{}", row.0);
                }
                Outcome::NotNeeded { .. } => assert!(matches!(
                    resolution.fix,
                    Some(DepFix::DropRequirement { .. })
                )),
                _ => assert_eq!(resolution.fix, None, "{}", row.0),
            }
        }
        assert!(!report.buildable(), "a missing package cannot be built");
        assert!(report.findings.iter().any(|f| f.rule == "deps-missing"));
        assert!(
            report.findings.iter().any(|f| f.rule == "deps-relaxed"),
            "several conflicts are relaxed in the manifest"
        );
        assert!(report.ignore_version_requirement.is_empty());
        assert!(
            report
                .relax_requirements
                .contains(&("numpy==1.26.4".to_owned(), "numpy".to_owned()))
        );
        assert!(
            report.dependencies.contains(&"aiogithubapi".to_owned())
                && report.dependencies.contains(&"slack-sdk".to_owned())
        );
        assert!(
            !report.dependencies.contains(&"pyhOn".to_owned()),
            "the alias is not chosen over the real attribute"
        );
    }
}

#[test]
fn one_conflict_is_ignored_by_name_and_unparsable_requirements_are_skipped() {
    let report = resolve(
        "2026",
        &[
            "numpy==1.26.4",
            "numpy[extra]>=1,<2; python_version >= \"3\"",
            "git+https://git.aubio.org/aubio/aubio/",
            "x; touch pwned",
        ],
        &[],
        None,
    );
    // The same name twice is still one name: the nixpkgs convention.
    assert_eq!(report.ignore_version_requirement, ["numpy"]);
    assert!(report.relax_requirements.is_empty());
    assert!(
        report.buildable(),
        "nixpkgs' check skips what it cannot parse: {:?}",
        report.findings
    );
    assert!(report.refusals().is_empty());

    // Two names: relaxed, extras kept.
    let report = resolve(
        "2026",
        &[
            "numpy[extra]>=1,<2; python_version >= \"3\"",
            "dictor==0.1.11",
        ],
        &[],
        None,
    );
    assert!(report.ignore_version_requirement.is_empty());
    assert_eq!(
        report.relax_requirements,
        [
            ("dictor==0.1.11".to_owned(), "dictor".to_owned()),
            (
                "numpy[extra]>=1,<2; python_version >= \"3\"".to_owned(),
                "numpy[extra]".to_owned()
            )
        ]
    );
    let missing = resolve("2026", &["not-in-nixpkgs==1.0"], &[], None);
    assert!(
        missing
            .refusals()
            .iter()
            .any(|r| r.contains("not-in-nixpkgs")),
        "a refusal names the requirement: {:?}",
        missing.refusals()
    );
}

#[test]
fn markers_are_evaluated_for_every_system_the_flake_builds() {
    let report = resolve(
        "2026",
        &[
            "numpy; platform_machine == \"aarch64\"",
            "dictor; platform_machine == \"x86_64\"",
            "not-in-nixpkgs; platform_machine == \"riscv64\"",
        ],
        &[],
        None,
    );
    assert_eq!(status(&report.resolutions[0].outcome), "satisfied:numpy");
    assert_eq!(status(&report.resolutions[1].outcome), "satisfied:dictor");
    assert_eq!(status(&report.resolutions[2].outcome), "not-needed");
    assert!(report.buildable());
}

#[test]
fn ignore_list_core_rule_and_minimum_home_assistant() {
    let report = resolve(
        "2026",
        &["not-in-nixpkgs==1.0", "aiohttp>=3.9", "jinja2==3.1.6"],
        &[("Not_In_Nixpkgs", "vendored")],
        Some("2026.1.0b0"),
    );
    assert_eq!(status(&report.resolutions[0].outcome), "ignored");
    assert_eq!(report.drop_requirements, ["not-in-nixpkgs==1.0"]);
    let rules: Vec<_> = report.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["deps-core-dependency", "deps-core-pin"]);
    assert!(report.buildable(), "{:#?}", report.findings);
    // A core package is still listed: nixpkgs' check only sees the component's own inputs.
    assert_eq!(report.dependencies, ["aiohttp", "jinja2"]);

    let too_new = resolve("2025", &["aiogithubapi>=22.10.1"], &[], Some("2025.7.0"));
    assert_eq!(
        too_new.findings.iter().map(|f| f.rule).collect::<Vec<_>>(),
        ["deps-homeassistant-too-old"]
    );
    assert!(!too_new.buildable());
    assert!(
        resolve("2025", &[], &[], Some("2025.6.0"))
            .findings
            .is_empty()
    );
}

#[test]
fn corpus_manifests_against_the_fixture_set() {
    let expected: &[(&str, &[&str])] = &[
        ("hacs.json", &["satisfied:aiogithubapi"]),
        ("adaptive_lighting.json", &["satisfied:ulid-transform"]),
        (
            "alexa_media.json",
            &[
                "missing",
                "satisfied:packaging",
                "missing",
                "satisfied:dictor",
            ],
        ),
        ("frigate.json", &["satisfied:hass-web-proxy-lib", "missing"]),
        ("powercalc.json", &["satisfied:numpy"]),
        (
            "xiaomi_miot.json",
            &["missing", "satisfied:python-miio", "missing"],
        ),
        ("browser_mod.json", &[]),
        ("spook.json", &[]),
    ];
    for (file, statuses) in expected {
        let bytes = std::fs::read(format!("{ROOT}/tests/fixtures/corpus/{file}")).unwrap();
        let manifest = check_manifest(file, &bytes).value.unwrap();
        let report = deps::resolve(
            &[(file.to_string(), manifest.requirements)],
            None,
            set("2026"),
            &DepsOptions::default(),
        );
        let got: Vec<String> = report
            .resolutions
            .iter()
            .map(|r| status(&r.outcome))
            .collect();
        assert_eq!(got, *statuses, "{file}");
    }
}

fn xtask(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hacs-nix"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HACS_NIX_PYTHON_INDEX", "http://127.0.0.1:9/simple")
        .output()
        .unwrap()
}

#[test]
fn deps_command_evaluates_once_then_reads_the_snapshot() {
    let work = tempfile::tempdir().unwrap();
    let nixpkgs = fixture("2026");
    let nixpkgs = nixpkgs.to_str().unwrap();
    let manifest = format!("{ROOT}/tests/fixtures/corpus/hacs.json");
    let out = xtask(&["deps", &manifest, "--nixpkgs", nixpkgs], work.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("aiogithubapi>=22.10.1")
            && stdout.contains("satisfied")
            && stdout.contains("dependencies = [ aiogithubapi ];"),
        "{stdout}"
    );
    let snapshot = work.path().join("pkgs/python-set.json");
    let saved = PythonSet::load(&snapshot)
        .unwrap()
        .expect("the snapshot is written");

    // A fresh snapshot is used as is: change it and the command reports the change.
    let edited = saved.to_json().replace("\"24.6.0\"", "\"1.0.0\"");
    std::fs::write(&snapshot, edited).unwrap();
    let out = xtask(
        &["deps", &manifest, "--nixpkgs", nixpkgs, "--format", "json"],
        work.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["resolutions"][0]["status"], "version-conflict");
    assert_eq!(json["ignore_version_requirement"][0], "aiogithubapi");

    // Without --nixpkgs and without flake.lock the snapshot alone is used.
    let out = xtask(
        &[
            "deps",
            &format!("{ROOT}/tests/fixtures/corpus/alexa_media.json"),
        ],
        work.path(),
    );
    assert_eq!(out.status.code(), Some(1), "missing packages");
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[deps-missing]"));

    let empty = tempfile::tempdir().unwrap();
    let out = xtask(&["deps", &manifest], empty.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--nixpkgs"));
}

/// `--nixpkgs` elsewhere than flake.lock's nixpkgs: evaluated for this run and cached in the
/// user's cache, never written over the checkout's snapshot.
#[test]
fn an_ad_hoc_nixpkgs_never_replaces_the_snapshot() {
    let work = tempfile::tempdir().unwrap();
    let locked = fixture("2026");
    let elsewhere = fixture("2025");
    std::fs::write(
        work.path().join("flake.lock"),
        support::pipeline::path_flake_lock(locked.to_str().unwrap()),
    )
    .unwrap();
    let manifest = format!("{ROOT}/tests/fixtures/corpus/hacs.json");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hacs-nix"))
            .args(args)
            .current_dir(work.path())
            .env("NO_COLOR", "1")
            .env("XDG_CACHE_HOME", work.path().join("cache"))
            .env("HACS_NIX_PYTHON_INDEX", "http://127.0.0.1:9/simple")
            .output()
            .unwrap()
    };
    // The locked nixpkgs: evaluated and saved as the snapshot.
    let out = run(&["deps", &manifest]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snapshot = work.path().join("pkgs/python-set.json");
    let before = std::fs::read(&snapshot).unwrap();

    // Elsewhere: the answer is that nixpkgs' (Home Assistant 2025.6.3), the snapshot untouched.
    let out = run(&["deps", &manifest, "--nixpkgs", elsewhere.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Home Assistant 2025.6.3"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        std::fs::read(&snapshot).unwrap(),
        before,
        "the snapshot is flake.lock's"
    );
    let cached: Vec<_> = std::fs::read_dir(work.path().join("cache/hacs-nix/python-sets"))
        .unwrap()
        .collect();
    assert_eq!(cached.len(), 1, "the ad-hoc set is cached");

    // The locked nixpkgs named explicitly is still the snapshot's.
    let out = run(&["deps", &manifest, "--nixpkgs", locked.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Home Assistant 2026.11.2"));
    assert_eq!(std::fs::read(&snapshot).unwrap(), before);
}
