//! Generated derivations through the builder model (tests/support/builder.rs): nixpkgs' real
//! build steps, modelled from the facts with real Nix, bash, Python, `packaging` and
//! `awesomeversion`. Each case pins a repository from the loopback GitHub with the real binary,
//! then builds what was written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

use serde_json::Value;
use support::builder::Failed;
use support::craft::{dir, file, symlink, tar_gz};
use support::pipeline::{Case, manifest, shown};

fn lock(case: &Case) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(case.pkgs().join("components.lock.json")).unwrap(),
    )
    .unwrap()
}

fn installed(out: &Path, domain: &str) -> Value {
    let text =
        std::fs::read_to_string(out.join(format!("custom_components/{domain}/manifest.json")))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// No file whose name starts with `pwned` anywhere below `root`: no injected command ran.
fn nothing_ran(root: &Path) {
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with("pwned"),
                "a command ran: {}",
                e.path().display()
            );
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
}

fn source_archive(top: &str, folder: &str, manifest_text: &str) -> Vec<u8> {
    tar_gz(&[
        dir(&format!("{top}/")),
        file(
            &format!("{top}/custom_components/{folder}/manifest.json"),
            manifest_text.as_bytes(),
        ),
        file(
            &format!("{top}/custom_components/{folder}/__init__.py"),
            b"",
        ),
    ])
}

/// Pins one source-archive repository as `attr` and returns the case.
fn pinned(attr: &str, tag: &str, description: &str, archive: Vec<u8>) -> Case {
    let mut case = Case::new();
    case.source_release(&format!("o/{attr}"), tag, description, archive);
    case.want(&format!("[{attr}]\nrepo = \"o/{attr}\"\n"));
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    case
}

/// What the generator wrote for two version conflicts before the fix (structured attributes);
/// `{hash}` is the archive's.
const TWO_CONFLICTS_BEFORE: &str = r#"{
  lib,
  buildHomeAssistantComponent,
  fetchFromGitHub,
  dictor,
  numpy,
}:

buildHomeAssistantComponent {
  owner = "o";
  domain = "conflict";
  version = "3.0";

  src = fetchFromGitHub {
    owner = "o";
    repo = "conflict";
    tag = "3.0";
    hash = "{hash}";
  };

  dependencies = [
    dictor
    numpy
  ];

  ignoreVersionRequirement = [
    "dictor"
    "numpy"
  ];

  # Without structured attributes the check receives the names as one argument.
  __structuredAttrs = true;
}
"#;

#[test]
fn two_version_conflicts_fail_before_the_fix_and_build_after() {
    let case = pinned(
        "conflict",
        "3.0",
        "Conflicts",
        source_archive(
            "c-3.0",
            "conflict",
            &manifest("conflict", "3.0", &["numpy==1.26.4", "dictor==0.1.11"]),
        ),
    );
    let generated = std::fs::read_to_string(case.pkgs().join("conflict/default.nix")).unwrap();
    let lock = lock(&case);
    let entry = &lock["components"]["conflict"];

    // After: no structured attributes, no ignore list; the manifest is relaxed in postPatch.
    assert!(!generated.contains("__structuredAttrs"), "{generated}");
    assert!(
        !generated.contains("ignoreVersionRequirement"),
        "{generated}"
    );
    assert_eq!(
        entry["patches"]["relax_requirements"],
        serde_json::json!({
            "custom_components/conflict/manifest.json": { "dictor==0.1.11": "dictor", "numpy==1.26.4": "numpy" }
        })
    );
    let built = case
        .build("conflict")
        .unwrap_or_else(|e| panic!("{e}\n{generated}"));
    assert!(!built.structured);
    assert_eq!(
        installed(&built.out, "conflict")["requirements"],
        serde_json::json!(["numpy", "dictor"])
    );

    // Before: the same release, as the generator used to write it.
    let hash = entry["hash"].as_str().unwrap();
    let before = TWO_CONFLICTS_BEFORE.replace("{hash}", hash);
    let path = case.pkgs().join("conflict/default.nix");
    std::fs::write(&path, &before).unwrap();
    let Failed { phase, message } = case.build("conflict").unwrap_err();
    assert_eq!(phase, "manifest-check", "{message}");
    assert!(
        message.contains("Derivation attribute domain (None) should match manifest domain"),
        "structured attributes hide `domain` from the check: {message}"
    );
    // ... and without structured attributes the two names reach argparse as two words.
    let plain = before.replace(
        "  # Without structured attributes the check receives the names as one argument.\n  __structuredAttrs = true;\n",
        "",
    );
    std::fs::write(&path, &plain).unwrap();
    let Failed { phase, message } = case.build("conflict").unwrap_err();
    assert_eq!(phase, "manifest-check", "{message}");
    assert!(
        message.contains("unrecognized arguments: numpy"),
        "plain mode joins the list with a space: {message}"
    );
}

#[test]
fn one_conflict_uses_ignore_version_requirement() {
    let case = pinned(
        "one",
        "1.0",
        "One conflict",
        source_archive(
            "one-1.0",
            "one",
            &manifest("one", "1.0", &["numpy==1.26.4", "aiohttp>=3"]),
        ),
    );
    let built = case.build("one").unwrap();
    assert_eq!(
        built.args["ignoreVersionRequirement"],
        serde_json::json!(["numpy"])
    );
    assert_eq!(
        installed(&built.out, "one")["requirements"],
        serde_json::json!(["numpy==1.26.4", "aiohttp>=3"]),
        "the manifest is left as upstream wrote it"
    );
    // A requirement the model cannot satisfy makes it fail: the check is real.
    std::fs::write(
        case.pkgs().join("one/default.nix"),
        std::fs::read_to_string(case.pkgs().join("one/default.nix"))
            .unwrap()
            .replace("ignoreVersionRequirement = [ \"numpy\" ];", ""),
    )
    .unwrap();
    let failure = case.build("one").unwrap_err();
    assert!(
        failure
            .message
            .contains("numpy==1.26.4 not satisfied by version 2.3.4"),
        "{failure}"
    );
}

#[test]
fn zip_release_with_a_placeholder_version_is_stamped_and_loads() {
    let mut case = Case::new();
    let zip = support::craft::zip(&[
        ("__init__.py", 0o644, b"".as_slice()),
        (
            "manifest.json",
            0o644,
            manifest("zipped", "0.0.0", &["aiogithubapi>=22.10.1"]).as_bytes(),
        ),
        ("frontend/", 0o755, b""),
        ("frontend/manifest.json", 0o644, br#"{"name": "web app"}"#),
    ]);
    case.zip_release("o/zipped", "v2.1.0", "zipped.zip", zip);
    case.want("[zipped]\nrepo = \"o/zipped\"\n");
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let built = case.build("zipped").unwrap();
    assert_eq!(built.args["src"]["fetcher"], "fetchzip");
    let m = installed(&built.out, "zipped");
    assert_eq!(m["version"], "2.1.0");
    assert!(
        built
            .out
            .join("custom_components/zipped/frontend/manifest.json")
            .exists()
    );
}

#[test]
fn marker_false_requirement_is_dropped_folder_renamed_git_url_skipped() {
    let hostile_marker = r#"not-in-nixpkgs>=1; python_version < "3.8" and platform_release == "'$(touch pwned-marker)' ${x} '' `touch pwned-tick`""#;
    let case = pinned(
        "renamed",
        "v1.0.0",
        "Renamed",
        source_archive(
            "r-1.0.0",
            "old_folder",
            &manifest(
                "renamed",
                "1.0.0",
                &[
                    hostile_marker,
                    "aiohttp>=3",
                    "git+https://git.aubio.org/aubio/aubio/",
                    "x; touch pwned-unparsable",
                    "$(touch pwned-dollar)",
                ],
            ),
        ),
    );
    let built = case.build("renamed").unwrap();
    let m = installed(&built.out, "renamed");
    assert_eq!(
        m["requirements"],
        serde_json::json!([
            "aiohttp>=3",
            "git+https://git.aubio.org/aubio/aubio/",
            "x; touch pwned-unparsable",
            "$(touch pwned-dollar)"
        ]),
        "only the requirement whose marker is false is removed; unparsable ones stay, as the check skips them"
    );
    assert!(!built.out.join("custom_components/old_folder").exists());
    nothing_ran(built.work.path());
    nothing_ran(case.dir.path());
}

#[test]
fn content_in_root_installs_the_root_as_the_domain() {
    let archive = tar_gz(&[
        dir("root-1.0/"),
        file(
            "root-1.0/manifest.json",
            manifest("rooted", "1.0", &[]).as_bytes(),
        ),
        file("root-1.0/__init__.py", b""),
        file(
            "root-1.0/hacs.json",
            br#"{"name":"Rooted","content_in_root":true}"#,
        ),
    ]);
    let case = pinned("rooted", "1.0", "Rooted", archive);
    let built = case.build("rooted").unwrap();
    assert!(
        built
            .out
            .join("custom_components/rooted/__init__.py")
            .exists()
    );
}

#[test]
fn hostile_upstream_text_stays_data() {
    // A tag with a command substitution: not a version Home Assistant accepts, so it is never
    // stamped; the placeholder stays and the derivation still builds.
    let tag = "1.0.0$(touch pwned-tag)";
    let description = "Describes ${builtins.currentSystem} and $(touch pwned-description) '' it";
    let case = pinned(
        "hostile",
        tag,
        description,
        source_archive(
            "h",
            "hostile",
            &manifest(
                "hostile",
                "0.0.0",
                &[
                    r#"numpy==1.26.4; implementation_name != "'$(touch pwned-relax)' ${x} ''""#,
                    "dictor==0.1.11",
                ],
            ),
        ),
    );
    let built = case.build("hostile").unwrap();
    assert_eq!(built.args["src"]["tag"], tag);
    assert_eq!(built.args["meta"]["description"], description);
    let m = installed(&built.out, "hostile");
    assert_eq!(
        m["version"], "0.0.0",
        "a tag the loader rejects is never stamped"
    );
    assert_eq!(m["requirements"], serde_json::json!(["numpy", "dictor"]));
    let lock = lock(&case);
    let rules: Vec<&str> = lock["components"]["hostile"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"layout-version-unstampable"), "{rules:?}");
    nothing_ran(built.work.path());
    nothing_ran(case.dir.path());

    // A stamped tag with a quote-shaped version in the manifest (the loader rejects it).
    let case = pinned(
        "quoted",
        "v1.0.1",
        "Quoted",
        source_archive("q", "quoted", &manifest("quoted", "1.0'", &[])),
    );
    let built = case.build("quoted").unwrap();
    assert_eq!(installed(&built.out, "quoted")["version"], "1.0.1");
}

#[test]
fn invalid_domains_are_refused_before_any_nix_is_written() {
    for domain in [
        "../../evil",
        "pwn$(touch pwned-domain)",
        "Bad-Domain",
        "a__b",
    ] {
        let mut case = Case::new();
        case.source_release(
            "o/evil",
            "1.0",
            "Evil",
            source_archive("e-1.0", "evil", &manifest(domain, "1.0", &[])),
        );
        case.want("[evil]\nrepo = \"o/evil\"\n");
        let out = case.run(&["update-components"]);
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("manifest-domain-invalid"), "{text}");
        assert!(
            !case.pkgs().join("evil").exists(),
            "{domain}: no Nix written"
        );
        let names: Vec<String> = std::fs::read_dir(case.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| n == "pkgs" || n == ".cache" || n == ".pkgs.lock"),
            "{domain}: nothing written beside pkgs/: {names:?}"
        );
        nothing_ran(case.dir.path());
    }
}

#[test]
fn symlinks_that_would_dangle_in_out_are_removed() {
    let archive = tar_gz(&[
        dir("s-1.0/"),
        file(
            "s-1.0/custom_components/linked/manifest.json",
            manifest("linked", "1.0", &[]).as_bytes(),
        ),
        file("s-1.0/custom_components/linked/real.py", b""),
        file("s-1.0/LICENSE", b"MIT"),
        // A developer's link to a local Home Assistant checkout, a self-link, a link out of the
        // installed subtree, and a good relative link that must stay.
        symlink(
            "s-1.0/custom_components/linked/core",
            "/home/dev/homeassistant",
        ),
        symlink("s-1.0/custom_components/linked/self", "self"),
        symlink("s-1.0/custom_components/linked/LICENSE", "../../LICENSE"),
        symlink("s-1.0/custom_components/linked/alias.py", "real.py"),
        // Outside what the install phase copies: not our business.
        symlink("s-1.0/docs-link", "/nowhere"),
    ]);
    let case = pinned("linked", "1.0", "Linked", archive);
    let lock = lock(&case);
    assert_eq!(
        lock["components"]["linked"]["patches"]["remove_symlinks"],
        serde_json::json!([
            "custom_components/linked/LICENSE",
            "custom_components/linked/core",
            "custom_components/linked/self"
        ])
    );
    let built = case.build("linked").unwrap();
    let installed = built.out.join("custom_components/linked");
    assert!(installed.join("alias.py").exists());
    assert!(!installed.join("core").exists() && installed.join("core").symlink_metadata().is_err());

    // Without the fix the fixup check fails, as nixpkgs' does.
    let path = case.pkgs().join("linked/default.nix");
    let text = std::fs::read_to_string(&path).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("rm -- "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, text);
    std::fs::write(&path, without).unwrap();
    let failure = case.build("linked").unwrap_err();
    assert_eq!(failure.phase, "fixup", "{failure}");
}

/// Versions worth stamping, through the model: only placeholders, only with a version the
/// loader accepts; a valid manifest version is never rewritten, not even to a higher tag.
#[test]
fn versions_through_the_model() {
    let cases: &[(&str, &str, &str)] = &[
        // tag, manifest version, what Home Assistant loads
        ("v.3.4.2", "v0.0.0", "3.4.2"),
        ("1.69-Release", "0.0.0", "0.0.0"),
        ("v2.0.9", "2.1.0", "2.1.0"),
        ("${builtins.currentSystem}", "0.0.0-dev0", "0.0.0-dev0"),
    ];
    for (i, (tag, version, loaded)) in cases.iter().enumerate() {
        let attr = format!("v{i}");
        let case = pinned(
            &attr,
            tag,
            "Versions",
            source_archive("top", &attr, &manifest(&attr, version, &[])),
        );
        let built = case.build(&attr).unwrap_or_else(|e| panic!("{tag}: {e}"));
        assert_eq!(built.args["src"]["tag"], *tag, "the tag stays text");
        assert_eq!(installed(&built.out, &attr)["version"], *loaded, "{tag}");
    }
}

/// The build with the generator's stdenv fix lines taken out again (as the derivation was
/// written before the fix).
fn without_lines(case: &Case, attr: &str, unwanted: &[&str]) {
    let path = case.pkgs().join(attr).join("default.nix");
    let text = std::fs::read_to_string(&path).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !unwanted.iter().any(|u| l.contains(u)))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, text, "{unwanted:?} in {text}");
    std::fs::write(&path, without).unwrap();
}

/// stdenv's default phases: a developer's root Makefile whose first target calls a program the
/// sandbox lacks, and an executable `configure` that fails. `check` predicts both, the pin turns
/// both phases off, the model builds it, and fails without each fix.
#[test]
fn a_root_makefile_and_configure_are_predicted_and_turned_off() {
    use support::craft::tar_member;
    let archive = tar_gz(&[
        dir("m-1.0/"),
        file(
            "m-1.0/custom_components/maker/manifest.json",
            manifest("maker", "1.0", &[]).as_bytes(),
        ),
        file("m-1.0/custom_components/maker/__init__.py", b""),
        file(
            "m-1.0/Makefile",
            b"lint:\n\t.venv/bin/ruff-not-in-the-sandbox check .\n\ntest:\n\tpytest\n",
        ),
        tar_member(
            b"m-1.0/configure",
            b'0',
            0o755,
            b"#!/bin/sh\necho configure needs docker >&2\nexit 1\n",
            b"",
        ),
    ]);
    let work = tempfile::tempdir().unwrap();
    let archive_path = work.path().join("maker-1.0.tar.gz");
    std::fs::write(&archive_path, &archive).unwrap();

    let case = pinned("maker", "1.0", "Maker", archive.clone());
    let out = case.run(&["check", archive_path.to_str().unwrap(), "--tag", "1.0"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error[layout-stdenv-make]")
            && text.contains("`Makefile`, so stdenv's default buildPhase runs `make`")
            && text.contains("the generator sets `dontBuild = true`"),
        "{text}"
    );
    assert!(
        text.contains("error[layout-stdenv-configure]")
            && text.contains("the generator sets `dontConfigure = true`"),
        "{text}"
    );

    let lock = lock(&case);
    assert_eq!(
        lock["components"]["maker"]["phases"],
        serde_json::json!({ "dont_configure": "configure", "dont_build": "Makefile" })
    );
    let nix = std::fs::read_to_string(case.pkgs().join("maker/default.nix")).unwrap();
    assert!(
        nix.contains("  dontConfigure = true;\n  dontBuild = true;\n"),
        "{nix}"
    );
    let built = case.build("maker").unwrap();
    assert!(
        built
            .out
            .join("custom_components/maker/manifest.json")
            .is_file()
    );

    // As written before the fix, each default phase fails the build where nixpkgs' would.
    without_lines(&case, "maker", &["dontConfigure"]);
    let failure = case.build("maker").unwrap_err();
    assert_eq!(failure.phase, "configure", "{failure}");
    assert!(
        failure.message.contains("configure needs docker"),
        "{failure}"
    );
    without_lines(&case, "maker", &["dontBuild"]);
    std::fs::write(
        case.pkgs().join("maker/default.nix"),
        std::fs::read_to_string(case.pkgs().join("maker/default.nix"))
            .unwrap()
            .replace("  src = ", "  dontConfigure = true;\n  src = "),
    )
    .unwrap();
    let failure = case.build("maker").unwrap_err();
    assert_eq!(failure.phase, "build", "{failure}");
    assert!(
        failure.message.contains("ruff-not-in-the-sandbox"),
        "{failure}"
    );
}

/// A zip_release asset unpacks the integration's own files at the source root, where
/// `python -c` would import its `types.py` and `json.py` instead of the standard library's:
/// the generated manifest fix runs the interpreter isolated.
#[test]
fn the_manifest_fix_never_imports_the_components_own_files() {
    let mut case = Case::new();
    let zip = support::craft::zip(&[
        ("__init__.py", 0o644, b"".as_slice()),
        (
            "manifest.json",
            0o644,
            manifest("shadow", "0.0.0", &[]).as_bytes(),
        ),
        (
            "types.py",
            0o644,
            b"raise SystemExit('the component types.py was imported')",
        ),
        (
            "json.py",
            0o644,
            b"raise SystemExit('the component json.py was imported')",
        ),
    ]);
    case.zip_release("o/shadow", "v1.4.0", "shadow.zip", zip);
    case.want("[shadow]\nrepo = \"o/shadow\"\n");
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let nix = std::fs::read_to_string(case.pkgs().join("shadow/default.nix")).unwrap();
    assert!(nix.contains("${python.interpreter} -I -c '"), "{nix}");
    let built = case.build("shadow").unwrap();
    assert_eq!(installed(&built.out, "shadow")["version"], "1.4.0");

    // The interpreter as the generator called it before: the component's files shadow the
    // standard library and the patch phase fails.
    let path = case.pkgs().join("shadow/default.nix");
    std::fs::write(&path, nix.replace(" -I -c '", " -c '")).unwrap();
    let failure = case.build("shadow").unwrap_err();
    assert_eq!(failure.phase, "patch", "{failure}");
    assert!(failure.message.contains("was imported"), "{failure}");
}
