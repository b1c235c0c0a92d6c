//! `cargo xtask update-components` end to end: the real binary against the loopback GitHub,
//! serving realistic repositories; the generated Nix checked by real Nix (parse, and evaluation
//! against stubs that record their arguments); hashes against `nix-prefetch-url`; the fixes run
//! for real; a rerun that downloads nothing and changes no byte; golden files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hacs_nix::pyset::{self, Nixpkgs};
use serde_json::Value;
use support::craft::{self, dir, file, tar_gz};
use support::github::{MockGitHub, Repo, info, release};
use support::pipeline::{shown, xtask};
use support::{builder, oracle};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const INJECTION: &str = r#"Quotes " and \ backslashes and ${builtins.abort "x"} stay text"#;

fn manifest(domain: &str, version: &str, requirements: &[&str]) -> String {
    serde_json::json!({
        "domain": domain, "name": domain, "codeowners": [], "documentation": "https://example.org",
        "iot_class": "local_polling", "issue_tracker": "https://example.org/issues",
        "requirements": requirements, "version": version
    })
    .to_string()
}

struct World {
    mock: MockGitHub,
    /// Downloads served: URL path under /dl → bytes.
    served: BTreeMap<String, Vec<u8>>,
}

fn commits(tag: &str, sha: &str) -> std::collections::HashMap<String, String> {
    [
        (tag.to_owned(), sha.to_owned()),
        ("main".to_owned(), sha.to_owned()),
    ]
    .into()
}

fn world() -> World {
    let mock = MockGitHub::start();
    let mut served = BTreeMap::new();
    let mut serve = |path: &str, bytes: Vec<u8>| {
        mock.add_download(path, bytes.clone());
        served.insert(path.to_owned(), bytes);
    };

    // HACS-like: zip_release, placeholder version in the zip, a web manifest without domain.
    let hacs_zip = craft::zip(&[
        ("__init__.py", 0o644, b"".as_slice()),
        (
            "manifest.json",
            0o644,
            manifest("hacs", "0.0.0", &["aiogithubapi>=22.10.1"]).as_bytes(),
        ),
        ("hacs_frontend/", 0o755, b""),
        (
            "hacs_frontend/manifest.json",
            0o644,
            br#"{"name": "HACS", "display": "standalone"}"#,
        ),
    ]);
    mock.add_repo("hacs/integration", Repo {
        info: info("HACS gives you a powerful UI to handle downloads of all your custom needs.", Some("MIT")),
        releases: vec![release("2.0.5", false, false, &[("hacs.zip", &hacs_zip, true)])],
        commits: commits("2.0.5", &"1".repeat(40)),
        files: [(("2.0.5".to_owned(), "hacs.json".to_owned()), br#"{"name":"HACS","zip_release":true,"filename":"hacs.zip","homeassistant":"2024.4.1"}"#.to_vec())].into(),
    });
    serve(
        "/hacs/integration/releases/download/2.0.5/hacs.zip",
        hacs_zip,
    );

    // Source archive whose folder differs from its domain; an injection in its description.
    let midea = tar_gz(&[
        dir("midea-v1.2.0/"),
        file(
            "midea-v1.2.0/custom_components/midea_ac_lan/manifest.json",
            manifest("midea_ac", "1.2.0", &["pyhOn==0.14.11"]).as_bytes(),
        ),
        file(
            "midea-v1.2.0/custom_components/midea_ac_lan/__init__.py",
            b"",
        ),
        file("midea-v1.2.0/hacs.json", br#"{"name":"Midea"}"#),
    ]);
    mock.add_repo(
        "o/midea",
        Repo {
            info: info(INJECTION, Some("Apache-2.0")),
            releases: vec![release("v1.2.0", false, false, &[])],
            commits: commits("v1.2.0", &"2".repeat(40)),
            ..Repo::default()
        },
    );
    serve("/o/midea/archive/refs/tags/v1.2.0.tar.gz", midea);

    // Two version conflicts: ignoreVersionRequirement with both names.
    let conflict = tar_gz(&[file(
        "c-3.0/custom_components/conflict/manifest.json",
        manifest("conflict", "3.0", &["numpy==1.26.4", "dictor==0.1.11"]).as_bytes(),
    )]);
    mock.add_repo(
        "o/conflict",
        Repo {
            info: info("Conflicts", Some("GPL-3.0")),
            releases: vec![release("3.0", false, false, &[])],
            commits: commits("3.0", &"3".repeat(40)),
            ..Repo::default()
        },
    );
    serve("/o/conflict/archive/refs/tags/3.0.tar.gz", conflict);

    // A requirement Home Assistant's set lacks.
    let missing = tar_gz(&[file(
        "m-1.0/custom_components/missing/manifest.json",
        manifest("missing", "1.0", &["not-in-nixpkgs==1.0"]).as_bytes(),
    )]);
    mock.add_repo(
        "o/missing",
        Repo {
            info: info("Missing", None),
            releases: vec![release("1.0", false, false, &[])],
            commits: commits("1.0", &"4".repeat(40)),
            ..Repo::default()
        },
    );
    serve("/o/missing/archive/refs/tags/1.0.tar.gz", missing);

    // A new release with a broken manifest (the old pin must stay).
    let broken = tar_gz(&[file(
        "b-1.0.0/custom_components/broken/manifest.json",
        b"{\"domain\": \"broken\", \"version\": \"1.0.0\",}",
    )]);
    mock.add_repo(
        "o/broken",
        Repo {
            info: info("Broken", None),
            releases: vec![
                release("1.0.0", false, false, &[]),
                release("0.9.0", false, false, &[]),
            ],
            commits: commits("1.0.0", &"5".repeat(40)),
            ..Repo::default()
        },
    );
    serve("/o/broken/archive/refs/tags/1.0.0.tar.gz", broken);

    // No releases: the default branch's commit.
    let sha = "6".repeat(40);
    let plain = tar_gz(&[file(
        "p-main/custom_components/plain/manifest.json",
        manifest("plain", "0.1.0", &[]).as_bytes(),
    )]);
    mock.add_repo(
        "o/plain",
        Repo {
            info: info("Plain", Some("MIT")),
            commits: commits("main", &sha),
            ..Repo::default()
        },
    );
    serve(&format!("/o/plain/archive/{sha}.tar.gz"), plain);

    World { mock, served }
}

const COMPONENTS: &str = r#"
[hacs]
repo = "hacs/integration"

[midea_ac]
repo = "o/midea"

[conflict]
repo = "o/conflict"

[missing]
repo = "o/missing"

[broken]
repo = "o/broken"

[plain]
repo = "o/plain"
"#;

/// A checkout with the components, the fixture's Python set, and an old pin for `broken`.
fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pkgs = dir.path().join("pkgs");
    std::fs::create_dir_all(pkgs.join("broken")).unwrap();
    std::fs::write(pkgs.join("components.toml"), COMPONENTS).unwrap();
    let set = pyset::evaluate(
        &Nixpkgs::parse(&format!("{ROOT}/tests/fixtures/nixpkgs/ha-2026")).unwrap(),
    )
    .unwrap();
    std::fs::write(pkgs.join("python-set.json"), set.to_json()).unwrap();
    let old_entry = serde_json::json!({
        "repo": "o/broken", "version": "0.9.0", "commit": "5".repeat(39) + "0",
        "url": "https://github.com/o/broken/archive/refs/tags/0.9.0.tar.gz", "fetcher": "fetchFromGitHub",
        "strip_root": true, "hash": "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "domain": "broken",
        "requirements": {}, "dependencies": [], "ignore_version_requirement": [],
        "patches": {"stamp_version": {}, "drop_requirements": {}, "rename_folder": null},
        "meta": {"description": "Broken", "homepage": null, "license": null, "changelog": null},
        "findings": [], "verified": "downloaded"
    });
    let lock = serde_json::json!({ "schema": 1, "components": { "broken": old_entry } });
    std::fs::write(
        pkgs.join("components.lock.json"),
        serde_json::to_string_pretty(&lock).unwrap() + "\n",
    )
    .unwrap();
    std::fs::write(
        pkgs.join("broken/default.nix"),
        "# the old, hand-checked pin\n{ }: { }\n",
    )
    .unwrap();
    dir
}

fn snapshot_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.join("pkgs")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn hash_hex(sri: &str) -> String {
    hacs_nix::hash::Sha256Digest::parse(sri).unwrap().to_hex()
}

#[test]
fn pins_realistic_repositories_and_reruns_as_a_no_op() {
    let world = world();
    let dir = checkout();
    let before_broken = std::fs::read(dir.path().join("pkgs/broken/default.nix")).unwrap();

    let out = xtask(dir.path(), &world.mock, &["update-components"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "two components fail, the others are written\n{stdout}\n{stderr}"
    );
    assert!(
        // Never pinned before: nothing is kept, and the line says so.
        stdout.contains("! missing") && stdout.contains("not pinned: error[deps-unsatisfiable]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("! broken") && stdout.contains("    kept: error[json-trailing-comma]"),
        "{stdout}"
    );
    assert!(
        stderr.contains("downloading hacs/integration ("),
        "a plain log line per download off a terminal: {stderr}"
    );

    // The broken release kept its old pin, byte for byte; the missing one got none.
    let pkgs = dir.path().join("pkgs");
    assert_eq!(
        std::fs::read(pkgs.join("broken/default.nix")).unwrap(),
        before_broken
    );
    let lock: Value =
        serde_json::from_str(&std::fs::read_to_string(pkgs.join("components.lock.json")).unwrap())
            .unwrap();
    assert_eq!(lock["components"]["broken"]["version"], "0.9.0");
    assert!(lock["components"].get("missing").is_none());
    assert!(!pkgs.join("missing").exists());

    // Real Nix parses every generated file...
    for attr in ["hacs", "midea_ac", "conflict", "plain"] {
        let path = pkgs.join(attr).join("default.nix");
        let parse = Command::new("nix-instantiate")
            .arg("--parse")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            parse.status.success(),
            "{attr}: {}",
            String::from_utf8_lossy(&parse.stderr)
        );
    }
    // ... and evaluates them; the values are what the builders would receive.
    let index = builder::evaluate_index(dir.path()).unwrap();
    let hacs = &index["hacs"];
    assert_eq!(
        (
            hacs["owner"].as_str(),
            hacs["domain"].as_str(),
            hacs["version"].as_str()
        ),
        (Some("hacs"), Some("hacs"), Some("2.0.5"))
    );
    assert_eq!(hacs["src"]["fetcher"], "fetchzip");
    assert_eq!(
        hacs["src"]["url"],
        "https://github.com/hacs/integration/releases/download/2.0.5/hacs.zip"
    );
    assert_eq!(hacs["src"]["stripRoot"], false);
    assert_eq!(builder::dependency_attrs(hacs), ["aiogithubapi"]);
    assert_eq!(hacs["meta"]["license"], "mit");
    assert_eq!(
        hacs["meta"]["description"],
        "HACS gives you a powerful UI to handle downloads of all your custom needs"
    );

    let midea = &index["midea_ac"];
    assert_eq!(
        (midea["domain"].as_str(), midea["version"].as_str()),
        (Some("midea_ac"), Some("1.2.0"))
    );
    assert_eq!(midea["src"]["fetcher"], "fetchFromGitHub");
    assert_eq!(
        (
            midea["src"]["owner"].as_str(),
            midea["src"]["repo"].as_str(),
            midea["src"]["tag"].as_str()
        ),
        (Some("o"), Some("midea"), Some("v1.2.0"))
    );
    assert_eq!(builder::dependency_attrs(midea), ["pyhon"]);
    // The injection evaluates to the literal text (nixpkgs style drops the final period only).
    assert_eq!(midea["meta"]["description"], INJECTION);

    // Two conflicts: relaxed in the manifest, no ignore list, no structured attributes.
    let conflict = &index["conflict"];
    assert!(
        conflict.get("ignoreVersionRequirement").is_none(),
        "{conflict}"
    );
    assert!(conflict.get("__structuredAttrs").is_none(), "{conflict}");
    assert_eq!(builder::dependency_attrs(conflict), ["dictor", "numpy"]);

    let plain = &index["plain"];
    assert_eq!(plain["src"]["rev"], "6".repeat(40));
    assert_eq!(plain["version"], "6666666");

    // The hashes are what Nix computes for the served bytes.
    let work = tempfile::tempdir().unwrap();
    for (attr, path, strip) in [
        (
            "hacs",
            "/hacs/integration/releases/download/2.0.5/hacs.zip",
            false,
        ),
        ("midea_ac", "/o/midea/archive/refs/tags/v1.2.0.tar.gz", true),
        ("conflict", "/o/conflict/archive/refs/tags/3.0.tar.gz", true),
    ] {
        let file = work.path().join(format!("{attr}.archive"));
        std::fs::write(&file, &world.served[path]).unwrap();
        let sri = index[attr]["src"]["hash"].as_str().unwrap();
        assert_eq!(
            hash_hex(sri),
            oracle::fetchzip_hash(&file, strip),
            "{attr} vs fetchzip's steps"
        );
        let prefetched = oracle::nix_prefetch_url_unpack(&file);
        assert_eq!(
            prefetched,
            hacs_nix::hash::Sha256Digest::parse(sri).unwrap().to_nix32(),
            "{attr} vs nix-prefetch-url --unpack"
        );
    }

    // Every generated derivation through the builder model: nixpkgs' build steps, then Home
    // Assistant's loader. The fixes run for real: the placeholder version is stamped, the
    // folder renamed, the conflicts relaxed.
    let served = |url: &str| {
        let path = url.strip_prefix("https://github.com")?;
        world.served.get(path).cloned()
    };
    let built = builder::build(dir.path(), "hacs", &served).unwrap();
    let stamped: Value = serde_json::from_slice(
        &std::fs::read(built.out.join("custom_components/hacs/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(stamped["version"], "2.0.5");
    assert_eq!(
        stamped["requirements"],
        serde_json::json!(["aiogithubapi>=22.10.1"])
    );
    let built = builder::build(dir.path(), "midea_ac", &served).unwrap();
    assert!(
        built
            .out
            .join("custom_components/midea_ac/manifest.json")
            .exists()
    );
    let built = builder::build(dir.path(), "conflict", &served).unwrap();
    let relaxed: Value = serde_json::from_slice(
        &std::fs::read(built.out.join("custom_components/conflict/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        relaxed["requirements"],
        serde_json::json!(["numpy", "dictor"])
    );
    builder::build(dir.path(), "plain", &served).unwrap();

    // Golden files, reviewed.
    insta::assert_snapshot!(
        "hacs_default_nix",
        std::fs::read_to_string(pkgs.join("hacs/default.nix")).unwrap()
    );
    insta::assert_snapshot!(
        "midea_default_nix",
        std::fs::read_to_string(pkgs.join("midea_ac/default.nix")).unwrap()
    );
    insta::assert_snapshot!(
        "conflict_default_nix",
        std::fs::read_to_string(pkgs.join("conflict/default.nix")).unwrap()
    );
    insta::assert_snapshot!(
        "plain_default_nix",
        std::fs::read_to_string(pkgs.join("plain/default.nix")).unwrap()
    );
    insta::assert_snapshot!(
        "index_default_nix",
        std::fs::read_to_string(pkgs.join("default.nix")).unwrap()
    );

    // A second run: nothing new upstream, so no download and not one byte changed.
    let before = snapshot_files(dir.path());
    world.mock.clear_log();
    let again = xtask(dir.path(), &world.mock, &["update-components"]);
    assert_eq!(again.status.code(), Some(1), "the same two still fail");
    let downloads = world.mock.downloads();
    let expected_downloads: Vec<String> = vec![
        "/dl/o/broken/archive/refs/tags/1.0.0.tar.gz".to_owned(),
        "/dl/o/missing/archive/refs/tags/1.0.tar.gz".to_owned(),
    ];
    let mut sorted = downloads.clone();
    sorted.sort();
    assert_eq!(
        sorted, expected_downloads,
        "only the components without a good pin are downloaded again"
    );
    assert_eq!(snapshot_files(dir.path()), before, "no byte changed");
    assert!(String::from_utf8_lossy(&again.stdout).contains("Nothing was written"));
}

#[test]
fn dry_run_only_and_add() {
    let world = world();
    let dir = checkout();
    let before = snapshot_files(dir.path());
    let out = xtask(
        dir.path(),
        &world.mock,
        &["update-components", "--only", "hacs", "--dry-run"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("+++ b/pkgs/hacs/default.nix") && stdout.contains("+  domain = \"hacs\";"),
        "{stdout}"
    );
    assert!(stdout.contains("Dry run"), "{stdout}");
    assert!(!stdout.contains("midea"), "--only limits the run");
    assert_eq!(
        snapshot_files(dir.path()),
        before,
        "a dry run writes nothing"
    );

    // `add`: the attribute is the integration's domain, read through the API.
    std::fs::write(
        dir.path().join("pkgs/components.toml"),
        "[hacs]\nrepo = \"hacs/integration\"\n",
    )
    .unwrap();
    world.mock.add_repo("o/midea", {
        let mut repo = world.mock.state.lock().unwrap().repos["o/midea"].clone();
        repo.files.insert(
            (
                "v1.2.0".to_owned(),
                "custom_components/midea_ac_lan/manifest.json".to_owned(),
            ),
            manifest("midea_ac", "1.2.0", &[]).into_bytes(),
        );
        repo
    });
    let mut listing = world.mock.state.lock().unwrap();
    let _ = &mut listing;
    drop(listing);
    let out = xtask(
        dir.path(),
        &world.mock,
        &["add", "o/midea", "--attr", "midea_ac"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let toml = std::fs::read_to_string(dir.path().join("pkgs/components.toml")).unwrap();
    assert!(
        toml.ends_with("\n[midea_ac]\nrepo = \"o/midea\"\n"),
        "{toml}"
    );
    assert!(dir.path().join("pkgs/midea_ac/default.nix").exists());
    let served = |url: &str| {
        world
            .served
            .get(url.strip_prefix("https://github.com")?)
            .cloned()
    };
    builder::build(dir.path(), "midea_ac", &served).unwrap();

    // Adding something that cannot be pinned writes nothing, not even components.toml.
    let before = snapshot_files(dir.path());
    let out = xtask(
        dir.path(),
        &world.mock,
        &["add", "o/missing", "--attr", "missing"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(snapshot_files(dir.path()), before);
}

#[test]
fn bad_configuration_is_refused_with_its_line() {
    let world = world();
    let dir = checkout();
    let cases: &[(&str, &[&str])] = &[
        (
            "[hacs]\nrepo = \"hacs/integration\"\nfrozn = true\n",
            &["error[config-invalid]", "frozn", "components.toml:3:1"],
        ),
        (
            "[\"bad attr\"]\nrepo = \"nope\"\n",
            &["config-attribute-name", "config-repo"],
        ),
        // A `'` is a Nix identifier character but ends a path: refused. So is a dependency
        // named like one of the generator's own arguments.
        (
            "[\"it's\"]\nrepo = \"o/r\"\n\n[ok]\nrepo = \"o/ok\"\nextra-dependencies = [\"python\"]\n",
            &["config-attribute-name", "config-extra-dependency"],
        ),
        // Names of the flake's own outputs, which a pin would silently replace.
        (
            "[default]\nrepo = \"o/d\"\n\n[lint]\nrepo = \"o/l\"\n",
            &[
                "error[config-attribute-reserved]",
                "`default` would shadow one of the flake's own outputs: `packages.<system>.default` is the hacs-nix tool",
                "`lint` would shadow",
                "`checks.<system>.lint` is the offline lint",
                "components.toml:1:1",
                "components.toml:4:1",
            ],
        ),
        // Python package choices: a version that is not one, `provided` with other keys.
        (
            "[hacs]\nrepo = \"hacs/integration\"\n\n[python.micloud]\nversion = \"not a version\"\n\n[python.pure]\nprovided = true\nwheel = true\n",
            &[
                "config-python-version",
                "components.toml:4:1",
                "config-python-provided",
            ],
        ),
        (
            "[hacs]\nrepo = \"hacs/integration\"\n\n[python.micloud]\nwheels = true\n",
            &["error[config-invalid]", "wheels", "components.toml:5:1"],
        ),
    ];
    for (toml, expected) in cases {
        std::fs::write(dir.path().join("pkgs/components.toml"), toml).unwrap();
        let before = snapshot_files(dir.path());
        let out = xtask(dir.path(), &world.mock, &["update-components"]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(expected.iter().all(|e| stderr.contains(e)), "{stderr}");
        assert_eq!(snapshot_files(dir.path()), before, "nothing written");
    }
}

#[test]
fn killed_mid_run_leaves_pkgs_as_it_was() {
    let world = world();
    world.mock.state.lock().unwrap().latency = std::time::Duration::from_millis(400);
    let dir = checkout();
    let before = snapshot_files(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_hacs-nix"))
        .arg("update-components")
        .current_dir(dir.path())
        .env("HACS_NIX_GITHUB_API", &world.mock.api)
        .env("HACS_NIX_GITHUB_DOWNLOAD", &world.mock.download)
        .env("XDG_CACHE_HOME", dir.path().join(".cache"))
        .env("HACS_NIX_PYTHON_INDEX", "http://127.0.0.1:9/simple")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(900));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        snapshot_files(dir.path()),
        before,
        "pkgs/ untouched by a killed run"
    );
}

#[test]
fn report_exit_codes_updated_nothing_to_do_failed() {
    let world = world();
    let dir = checkout();
    std::fs::write(
        dir.path().join("pkgs/components.toml"),
        "[hacs]\nrepo = \"hacs/integration\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pkgs/components.lock.json"),
        "{\n  \"schema\": 1,\n  \"components\": {}\n}\n",
    )
    .unwrap();
    std::fs::remove_dir_all(dir.path().join("pkgs/broken")).unwrap();
    let report = dir.path().join("report.md");
    let json = dir.path().join("report.json");
    let args = [
        "update-components",
        "--report",
        report.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    let out = xtask(dir.path(), &world.mock, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "updated: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body = std::fs::read_to_string(&report).unwrap();
    assert!(
        body.contains("### Upstream releases") && body.contains("`hacs`"),
        "{body}"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        (doc["status"].as_str(), doc["title"].as_str()),
        (Some("updated"), Some("Add hacs 2.0.5"))
    );
    let served = |url: &str| {
        world
            .served
            .get(url.strip_prefix("https://github.com")?)
            .cloned()
    };
    builder::build(dir.path(), "hacs", &served).unwrap();

    std::fs::remove_file(&report).unwrap();
    let out = xtask(dir.path(), &world.mock, &args);
    assert_eq!(out.status.code(), Some(3), "nothing to do");
    assert!(!report.exists(), "no report when nothing changed");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["status"], "nothing-to-do");

    std::fs::write(
        dir.path().join("pkgs/components.toml"),
        "[hacs]\nrepo = \"hacs/integration\"\n[missing]\nrepo = \"o/missing\"\n",
    )
    .unwrap();
    let out = xtask(dir.path(), &world.mock, &args);
    assert_eq!(out.status.code(), Some(1), "failed");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["status"], "failed");
}

/// A server on 127.0.0.1 that answers every request with `status`: a GitHub whose API is
/// failing (500) or does not do what is asked at all (501). Returns its API base.
fn always_answering(status: u16) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/api", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = format!(r#"{{"message":"answered {status} by design"}}"#);
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Status\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

#[test]
fn without_graphql_the_run_pins_over_rest_and_each_github_failure_is_named() {
    use support::github::Fault;
    use support::pipeline::{Case, command, source_component};
    let mut case = Case::new();
    case.source_release("o/spook", "v1.0.0", "Spook", source_component("spook", &[]));
    case.want("[spook]\nrepo = \"o/spook\"\n");
    // GraphQL answers 501 however often it is asked; REST works.
    case.mock.fault(
        "/api/graphql",
        vec![Fault::Status(501, vec![], "Not Implemented".into()); 10],
    );
    let out = command(env!("CARGO_BIN_EXE_hacs-nix"), case.dir.path(), &case.mock)
        .env("GITHUB_TOKEN", "t0ken")
        .arg("update-components")
        .output()
        .unwrap();
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let notes: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("note: ") && l.contains("GraphQL"))
        .collect();
    assert_eq!(notes.len(), 1, "{text}");
    assert!(
        notes[0].contains("501 Not Implemented")
            && notes[0].contains("over REST")
            && notes[0].contains("HACS_NIX_GRAPHQL=0"),
        "{text}"
    );
    assert_eq!(case.mock.count("/api/graphql"), 1, "501 is asked once");
    let lock = std::fs::read_to_string(case.pkgs().join("components.lock.json")).unwrap();
    assert!(lock.contains("\"spook\""), "{lock}");

    // Three ways of failing, three rules; a fresh checkout is left as it was each time.
    let fresh = Case::new();
    fresh.want("[spook]\nrepo = \"o/spook\"\n");
    let before = snapshot_files(fresh.dir.path());
    let server_error = always_answering(500);
    let not_implemented = always_answering(501);
    for (api, rule, exit, says) in [
        (
            "http://hacs-nix-test.invalid/api",
            "error[github-unreachable]",
            2,
            "GitHub could not be reached",
        ),
        (
            server_error.as_str(),
            "error[github-server-error]",
            2,
            "500 Internal Server Error on each of 4 attempts: answered 500 by design",
        ),
        (
            not_implemented.as_str(),
            "error[github-http]",
            1,
            "501 Not Implemented: answered 501 by design",
        ),
    ] {
        let out = command(
            env!("CARGO_BIN_EXE_hacs-nix"),
            fresh.dir.path(),
            &fresh.mock,
        )
        .env("HACS_NIX_GITHUB_API", api)
        .arg("update-components")
        .output()
        .unwrap();
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(exit), "{api}: {text}");
        assert!(text.contains(rule) && text.contains(says), "{api}: {text}");
        for other in ["github-unreachable", "github-server-error", "github-http"] {
            if !rule.contains(other) {
                assert!(!text.contains(other), "{api}: {text}");
            }
        }
        // Could not run: not one byte changed (a failed component, exit 1, writes the rest).
        if exit == 2 {
            assert!(
                snapshot_files(fresh.dir.path()) == before,
                "{api}: pkgs/ changed"
            );
        }
    }
}

/// `extra-dependencies` the set lacks: the same failure for a new release and for a pin that
/// is only re-checked (where it used to be dropped without a word); the previous pin stays.
#[test]
fn extra_dependencies_follow_one_rule_for_new_and_kept_pins() {
    use support::pipeline::{Case, source_component};
    let mut case = Case::new();
    case.source_release("o/spook", "v1.0.0", "Spook", source_component("spook", &[]));
    case.source_release("o/fresh", "v2.0.0", "Fresh", source_component("fresh", &[]));
    case.source_release("o/other", "v3.0.0", "Other", source_component("other", &[]));
    case.want("[spook]\nrepo = \"o/spook\"\nextra-dependencies = [\"aiohttp\"]\n");
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let lock_path = case.pkgs().join("components.lock.json");
    let lock: Value = serde_json::from_str(&std::fs::read_to_string(&lock_path).unwrap()).unwrap();
    assert_eq!(
        lock["components"]["spook"]["dependencies"],
        serde_json::json!(["aiohttp"])
    );
    let pinned = snapshot_files(case.dir.path());

    // The same release, re-checked, now with an extra the set lacks; and a new component.
    case.want(concat!(
        "[spook]\nrepo = \"o/spook\"\nextra-dependencies = [\"aiohttp\", \"no-such-package\"]\n",
        "[fresh]\nrepo = \"o/fresh\"\nextra-dependencies = [\"no-such-package\"]\n",
    ));
    let components = std::fs::read(case.pkgs().join("components.toml")).unwrap();
    let out = case.run(&["update-components"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for (attr, what) in [("spook", "kept"), ("fresh", "not pinned")] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("! {attr} ")))
            .unwrap_or_else(|| panic!("no line for {attr}: {text}"));
        assert!(
            line.contains(&format!("{what}: error[config-extra-dependency]"))
                && line.contains("`no-such-package`"),
            "{line}"
        );
    }
    // spook's pin, its files and the lock are as they were (components.toml is the user's).
    let mut now = snapshot_files(case.dir.path());
    now.remove(&case.pkgs().join("components.toml"));
    let mut before = pinned;
    before.remove(&case.pkgs().join("components.toml"));
    assert!(now == before, "a failed re-check changed pkgs/");
    assert_eq!(
        std::fs::read(case.pkgs().join("components.toml")).unwrap(),
        components
    );

    // The JSON and the pull-request report (written when something changes: `other` is
    // added) say the same: kept, or not pinned.
    let mut toml = String::from_utf8(components).unwrap();
    toml.push_str("[other]\nrepo = \"o/other\"\n");
    case.want(&toml);
    let report = case.dir.path().join("report.md");
    let out = case.run(&[
        "update-components",
        "--format",
        "json",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kept: BTreeMap<String, (bool, String)> = doc["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["attr"].as_str().unwrap().to_owned(),
                (
                    f["kept"].as_bool().unwrap(),
                    f["rule"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect();
    let rule = "config-extra-dependency".to_owned();
    assert_eq!(
        kept,
        BTreeMap::from([
            ("fresh".to_owned(), (false, rule.clone())),
            ("spook".to_owned(), (true, rule)),
        ])
    );
    let body = std::fs::read_to_string(&report).unwrap();
    let line = |attr: &str| {
        body.lines()
            .find(|l| l.contains(&format!("`{attr}`")) && l.contains("extra-dependencies"))
            .unwrap_or_else(|| panic!("{attr} in {body}"))
            .to_owned()
    };
    assert!(line("fresh").contains("(not pinned)"), "{body}");
    assert!(
        line("spook").contains("(the previous pin is kept)"),
        "{body}"
    );
}

/// Restores `pkgs/` to exactly `files` (a snapshot) and clears what killed runs left beside it.
fn restore_pkgs(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) {
    std::fs::remove_dir_all(dir.join("pkgs")).unwrap();
    for (path, bytes) in files {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    for leftover in leftovers(dir) {
        std::fs::remove_dir_all(leftover).unwrap();
    }
}

/// Staging folders and backups of a run beside `pkgs/`.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(".pkgs.staging-") || name.starts_with(".pkgs.old-")
        })
        .map(|e| e.path())
        .collect()
}

/// Kill points inside the apply step: the run is watched until it starts writing (a staging
/// folder appears, or anything under `pkgs/` changes), then killed after a delay. Whatever the
/// moment, `pkgs/` is either exactly as before or exactly the finished result, and the next
/// run completes it. (The test above kills during the network phase.)
#[test]
fn killed_inside_the_apply_step_leaves_pkgs_whole() {
    use support::pipeline::{Case, command, source_component};
    let mut case = Case::new();
    let mut toml = String::new();
    for i in 0..60 {
        let repo = format!("o/c{i}");
        case.source_release(
            &repo,
            "v1.0.0",
            "C",
            source_component(&format!("c{i}"), &[]),
        );
        toml.push_str(&format!("[c{i}]\nrepo = \"{repo}\"\n"));
    }
    case.want(&toml);
    let dir = case.dir.path();
    let before = snapshot_files(dir);
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let after = snapshot_files(dir);
    assert!(after.len() > 60, "{} files", after.len());

    let mut inside = 0;
    let mut outcomes = BTreeMap::new();
    for delay_us in [
        0u64, 0, 50, 100, 200, 300, 500, 800, 1200, 2000, 3000, 5000, 8000, 12_000, 20_000, 40_000,
        80_000, 160_000,
    ] {
        restore_pkgs(dir, &before);
        let mut child = command(env!("CARGO_BIN_EXE_hacs-nix"), dir, &case.mock)
            .arg("update-components")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Watch for the first write; the snapshot is cheap next to a run.
        let started = loop {
            if child.try_wait().unwrap().is_some() {
                break false;
            }
            if !leftovers(dir).is_empty() || snapshot_files(dir) != before {
                break true;
            }
            std::thread::sleep(std::time::Duration::from_micros(100));
        };
        assert!(started, "the run ended before it was seen writing");
        std::thread::sleep(std::time::Duration::from_micros(delay_us));
        let staged = !leftovers(dir).is_empty();
        let _ = child.kill();
        let status = child.wait().unwrap();
        let now = snapshot_files(dir);
        let outcome = if now == before {
            "as before"
        } else if now == after {
            "finished"
        } else {
            let changed: Vec<_> = now
                .keys()
                .chain(before.keys())
                .filter(|p| now.get(*p) != before.get(*p))
                .collect();
            panic!("killed after {delay_us} µs: pkgs/ is half written: {changed:?}");
        };
        if staged && now == before && status.code().is_none() {
            inside += 1;
        }
        *outcomes.entry(outcome).or_insert(0) += 1;
        // The next run, with whatever the killed one left, completes the job.
        let out = case.run(&["update-components"]);
        assert!(matches!(out.status.code(), Some(0 | 3)), "{}", shown(&out));
        assert!(
            snapshot_files(dir) == after,
            "the rerun after a kill at {delay_us} µs"
        );
        assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));
    }
    eprintln!("kill outcomes: {outcomes:?}, {inside} inside the apply step");
    assert!(
        inside >= 2,
        "no kill landed inside the apply step: {outcomes:?}"
    );
}
