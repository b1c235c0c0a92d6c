//! `cargo xtask lint` over fixture checkouts: a clean one passes; each finding is produced by a
//! crafted case; the scanner reads realistic hand-written Nix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use hacs_nix::lint::scan;
use hacs_nix::lock::{Lock, LockEntry, Meta, Patches, Verified};
use hacs_nix::pyset::{self, Nixpkgs};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn entry() -> LockEntry {
    LockEntry {
        repo: "hacs/integration".into(),
        version: "2.0.5".into(),
        commit: Some("1".repeat(40)),
        url: "https://github.com/hacs/integration/releases/download/2.0.5/hacs.zip".into(),
        fetcher: hacs_nix::fetch::Fetcher::Fetchzip,
        strip_root: false,
        hash: "sha256-iMomioxH7Iydy+bzJDbZxt6BX31UkCvqhXrxYFQV8Gw=".into(),
        domain: "hacs".into(),
        home_assistant_min: Some("2024.4.1".into()),
        requirements: [(
            "manifest.json".to_owned(),
            vec!["aiogithubapi>=22.10.1".to_owned()],
        )]
        .into(),
        dependencies: vec!["aiogithubapi".into()],
        ignore_version_requirement: vec![],
        patches: Patches::default(),
        phases: Default::default(),
        meta: Meta {
            description: Some("HACS".into()),
            homepage: Some("https://hacs.xyz".into()),
            license: Some("MIT".into()),
            changelog: None,
        },
        findings: vec![],
        verified: Verified::Downloaded,
    }
}

/// A clean checkout: components.toml, lock, generated files, a fresh snapshot of the fixture.
fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pkgs = dir.path().join("pkgs");
    std::fs::create_dir_all(pkgs.join("hacs")).unwrap();
    std::fs::write(
        pkgs.join("components.toml"),
        "[hacs]\nrepo = \"hacs/integration\"\n",
    )
    .unwrap();
    write_lock(dir.path(), entry());
    let set = pyset::evaluate(
        &Nixpkgs::parse(&format!("{ROOT}/tests/fixtures/nixpkgs/ha-2026")).unwrap(),
    )
    .unwrap();
    std::fs::write(pkgs.join("python-set.json"), set.to_json()).unwrap();
    dir
}

fn write_lock(dir: &Path, entry: LockEntry) {
    let pkgs = dir.join("pkgs");
    let mut lock = Lock::new();
    std::fs::write(
        pkgs.join("hacs/default.nix"),
        hacs_nix::nixgen::render_component(&entry).unwrap(),
    )
    .unwrap();
    lock.components.insert("hacs".into(), entry);
    std::fs::write(
        pkgs.join("default.nix"),
        hacs_nix::nixgen::render_index([("hacs", &[][..])], &Default::default()).unwrap(),
    )
    .unwrap();
    std::fs::write(pkgs.join("components.lock.json"), lock.to_json().unwrap()).unwrap();
}

fn lint(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hacs-nix"))
        .arg("lint")
        .args(extra)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn rules(out: &Output) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_clean_checkout_passes() {
    let dir = checkout();
    let out = lint(dir.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("lint: ok (0 errors, 0 warnings)"));
}

#[test]
fn each_check_fires_on_its_case() {
    // A hand edit of a generated file, with the line where it starts to differ.
    let dir = checkout();
    let file = dir.path().join("pkgs/hacs/default.nix");
    let edited = std::fs::read_to_string(&file)
        .unwrap()
        .replace("version = \"2.0.5\";", "version = \"2.0.6\";");
    std::fs::write(&file, edited).unwrap();
    let out = lint(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[lint-generated-drift]")
            && stderr.contains("pkgs/hacs/default.nix:13:1"),
        "{stderr}"
    );

    type Setup = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Setup)> = vec![
        (
            "lint-generated-missing",
            Box::new(|d: &Path| std::fs::remove_file(d.join("pkgs/hacs/default.nix")).unwrap()),
        ),
        (
            "lint-unpinned",
            Box::new(|d: &Path| {
                std::fs::write(
                    d.join("pkgs/components.toml"),
                    "[hacs]\nrepo = \"hacs/integration\"\n[spook]\nrepo = \"frenck/spook\"\n",
                )
                .unwrap()
            }),
        ),
        (
            "lint-not-wanted",
            Box::new(|d: &Path| std::fs::write(d.join("pkgs/components.toml"), "").unwrap()),
        ),
        (
            "lint-repo-changed",
            Box::new(|d: &Path| {
                std::fs::write(
                    d.join("pkgs/components.toml"),
                    "[hacs]\nrepo = \"fork/integration\"\n",
                )
                .unwrap()
            }),
        ),
        (
            "config-invalid",
            Box::new(|d: &Path| {
                std::fs::write(d.join("pkgs/components.toml"), "[hacs]\nrepo = 5\n").unwrap()
            }),
        ),
        (
            "lint-lock-invalid",
            Box::new(|d: &Path| std::fs::write(d.join("pkgs/components.lock.json"), "{").unwrap()),
        ),
        (
            "lint-snapshot-stale",
            Box::new(|d: &Path| {
                std::fs::write(d.join("flake.lock"), r#"{"nodes":{"nixpkgs":{"locked":{"narHash":"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","owner":"NixOS","repo":"nixpkgs","rev":"0123456789abcdef0123456789abcdef01234567","type":"github"}},"root":{"inputs":{"nixpkgs":"nixpkgs"}}},"root":"root","version":7}"#).unwrap()
            }),
        ),
        (
            "lint-no-snapshot",
            Box::new(|d: &Path| std::fs::remove_file(d.join("pkgs/python-set.json")).unwrap()),
        ),
        (
            "deps-missing",
            Box::new(|d: &Path| {
                let path = d.join("pkgs/python-set.json");
                let mut set: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                set["packages"]
                    .as_object_mut()
                    .unwrap()
                    .remove("aiogithubapi");
                std::fs::write(path, serde_json::to_string_pretty(&set).unwrap()).unwrap();
            }),
        ),
        (
            "lint-dependencies-changed",
            Box::new(|d: &Path| {
                let path = d.join("pkgs/python-set.json");
                let text = std::fs::read_to_string(&path)
                    .unwrap()
                    .replace("\"24.6.0\"", "\"1.0.0\"");
                std::fs::write(path, text).unwrap();
            }),
        ),
        (
            "deps-homeassistant-too-old",
            Box::new(|d: &Path| {
                write_lock(
                    d,
                    LockEntry {
                        home_assistant_min: Some("2099.1.0".into()),
                        ..entry()
                    },
                )
            }),
        ),
        (
            "lint-python-mismatch",
            Box::new(|d: &Path| {
                std::fs::write(d.join("homelab.nix"), "{ pkgs, ... }: { x = pkgs.buildHomeAssistantComponent { dependencies = [ pkgs.python3Packages.aiogithubapi ]; }; }").unwrap()
            }),
        ),
    ];
    for (rule, setup) in cases {
        let dir = checkout();
        setup(dir.path());
        let out = lint(dir.path(), &["--format", "json"]);
        let found = rules(&out);
        assert!(found.iter().any(|r| r == rule), "{rule}: got {found:?}");
        let expected_code = if rule == "lint-no-snapshot" { 0 } else { 1 };
        assert_eq!(out.status.code(), Some(expected_code), "{rule}");
    }
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        lint(empty.path(), &[]).status.code(),
        Some(2),
        "no pkgs/: cannot run"
    );
}

#[test]
fn github_annotations() {
    let dir = checkout();
    std::fs::write(dir.path().join("module.nix"), "{ pkgs, ... }:\n{\n  c = pkgs.buildHomeAssistantComponent {\n    dontCheckManifest = true;\n  };\n}\n").unwrap();
    let out = lint(dir.path(), &["--format", "github"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("::warning file="), "{stdout}");
    assert!(
        stdout.contains("module.nix,line=4,col=5,title=lint-dont-check-manifest::"),
        "{stdout}"
    );
    assert!(
        stdout.contains("%0Ahelp%3A") || stdout.contains("%0Ahelp: "),
        "{stdout}"
    );
}

fn scan_rules(text: &str) -> Vec<(&'static str, usize)> {
    scan("f.nix", text)
        .iter()
        .map(|f| (f.rule, f.location.line.unwrap_or(0)))
        .collect()
}

/// The shapes people write by hand.
#[test]
fn scanner_on_realistic_nix() {
    let mismatches = [
        // `with` a foreign set as the dependency list.
        "{ pkgs, ... }:\n{\n  hacs = pkgs.buildHomeAssistantComponent rec {\n    owner = \"hacs\";\n    dependencies = with pkgs.python313Packages; [ aiogithubapi ];\n  };\n}\n",
        // A selection from python3Packages.
        "{ pkgs, buildHomeAssistantComponent }:\nbuildHomeAssistantComponent {\n  domain = \"x\";\n  dependencies = [\n    pkgs.python3Packages.aiogithubapi\n  ];\n}\n",
        // The old name and python3.pkgs.
        "{ python3, buildHomeAssistantComponent }:\nbuildHomeAssistantComponent {\n  propagatedBuildInputs = [ python3.pkgs.numpy ];\n}\n",
        // `with` around the whole call, inside a NixOS module.
        "{ pkgs, ... }:\n{\n  services.home-assistant.customComponents = [\n    (with pkgs.python312Packages; pkgs.buildHomeAssistantComponent { dependencies = [ numpy ]; })\n  ];\n}\n",
        // A pinned set from another channel.
        "{ pkgs-unstable, ... }:\n{\n  x = pkgs-unstable.buildHomeAssistantComponent {\n    dependencies = with pkgs-unstable.python3Packages; [\n      a\n      b\n    ];\n  };\n}\n",
    ];
    for text in mismatches {
        let found = scan_rules(text);
        assert!(
            found.iter().any(|(r, _)| *r == "lint-python-mismatch"),
            "{text}\n{found:?}"
        );
    }
    assert_eq!(
        scan_rules(mismatches[1]),
        [("lint-python-mismatch", 5)],
        "the line of the selection"
    );
    // One mistake, one finding: the `with` is reported once, not again as a selection.
    assert_eq!(
        scan_rules(mismatches[0]),
        [("lint-python-mismatch", 5)],
        "{:?}",
        scan_rules(mismatches[0])
    );
    assert_eq!(scan_rules(mismatches[4]).len(), 1);

    let clean = [
        "{ pkgs, ... }:\n{\n  x = pkgs.buildHomeAssistantComponent {\n    dependencies = [ pkgs.home-assistant.python.pkgs.aiogithubapi ];\n  };\n}\n",
        "{ pkgs-unstable, ... }:\n{\n  x = pkgs-unstable.buildHomeAssistantComponent {\n    dependencies = with pkgs-unstable.home-assistant.python3Packages; [ aiogithubapi ];\n  };\n}\n",
        "{ buildHomeAssistantComponent, aiogithubapi }:\nbuildHomeAssistantComponent {\n  dependencies = [ aiogithubapi ];\n  ignoreVersionRequirement = [ \"a\" ];\n}\n",
        // Structured attributes with the check off hide nothing the check needs.
        "{ buildHomeAssistantComponent }:\nbuildHomeAssistantComponent {\n  dontCheckManifest = false;\n  installCheckPhase = \"true\";\n  __structuredAttrs = true;\n}\n",
        // python3Packages elsewhere in a file is none of our business.
        "{ pkgs, ... }:\n{\n  environment.systemPackages = [ pkgs.python3Packages.black ];\n}\n",
    ];
    for text in clean {
        assert!(
            scan_rules(text).is_empty(),
            "{text}\n{:?}",
            scan_rules(text)
        );
    }
    assert_eq!(
        scan_rules(
            "{ b }:\nb.buildHomeAssistantComponent {\n  dontCheckManifest = true;\n  ignoreVersionRequirement = [ \"a\" \"b\" ];\n}\n"
        ),
        [("lint-dont-check-manifest", 3), ("lint-ignore-several", 4)]
    );
    // Several names fail with or without structured attributes; structured attributes with the
    // check on fail on their own (the check cannot see `domain`).
    assert_eq!(
        scan_rules(
            "{ buildHomeAssistantComponent, aiogithubapi }:\nbuildHomeAssistantComponent {\n  dependencies = [ aiogithubapi ];\n  ignoreVersionRequirement = [ \"a\" \"b\" ];\n  __structuredAttrs = true;\n}\n"
        ),
        [("lint-ignore-several", 4), ("lint-structured-attrs", 5)]
    );
    assert_eq!(
        scan_rules(
            "{ buildHomeAssistantComponent }:\nbuildHomeAssistantComponent {\n  domain = \"x\";\n  __structuredAttrs = true;\n}\n"
        ),
        [("lint-structured-attrs", 4)]
    );
    let several = scan(
        "f.nix",
        "{ b }:\nb.buildHomeAssistantComponent {\n  ignoreVersionRequirement = [ \"a\" \"b\" ];\n}\n",
    );
    assert!(
        several[0].help.contains("postPatch") && several[0].help.contains("lib.escapeShellArgs"),
        "the help shows the relaxation to write: {}",
        several[0].help
    );
    assert_eq!(scan_rules("{ a = ; }")[0].0, "lint-nix-unparsable");
}

/// `lint --flake-lock`: the pins checked against the nixpkgs the user's own flake locks. Two
/// lock files name the two fixture nixpkgs; `packaging>=26` is met by one set (26.0), not the
/// other (25.0).
#[test]
fn lint_against_the_users_own_flake_lock() {
    use support::craft::{dir, file, tar_gz};
    use support::pipeline::{Case, manifest, shown};
    let mut case = Case::new();
    case.source_release(
        "o/pinned",
        "1.0",
        "Pinned",
        tar_gz(&[
            dir("p/"),
            file(
                "p/custom_components/pinned/manifest.json",
                manifest("pinned", "1.0", &["packaging>=26"]).as_bytes(),
            ),
        ]),
    );
    case.want("[pinned]\nrepo = \"o/pinned\"\n");
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/nixpkgs");
    for shape in ["2025", "2026"] {
        let lock = support::pipeline::path_flake_lock(&format!("{fixtures}/ha-{shape}"));
        std::fs::write(case.dir.path().join(format!("homelab-{shape}.lock")), lock).unwrap();
    }
    let ok = case.run(&["lint", "--flake-lock", "homelab-2026.lock"]);
    assert_eq!(ok.status.code(), Some(0), "{}", shown(&ok));
    let moved = case.run(&["lint", "--flake-lock", "homelab-2025.lock"]);
    let text = shown(&moved);
    assert_eq!(moved.status.code(), Some(1), "{text}");
    assert!(text.contains("lint-dependencies-changed"), "{text}");
    assert!(
        !case.dir.path().join("flake.lock").exists(),
        "the checkout's own files are untouched"
    );
}
