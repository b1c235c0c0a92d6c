//! One run per checkout, and writes that stay below `pkgs/` and survive interruptions: two runs
//! at once, leftovers of killed runs, a symlinked `pkgs/`, an interrupted fallback swap, and a
//! hand-edited lock that names a path outside.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use support::craft::{dir, file, tar_gz};
use support::pipeline::{Case, command, manifest, shown};

fn repo(case: &mut Case, attr: &str, version: &str) {
    let top = format!("{attr}-{version}");
    let archive = tar_gz(&[
        dir(&format!("{top}/")),
        file(
            &format!("{top}/custom_components/{attr}/manifest.json"),
            manifest(attr, version, &[]).as_bytes(),
        ),
    ]);
    case.source_release(&format!("o/{attr}"), version, attr, archive);
}

fn two_components() -> Case {
    let mut case = Case::new();
    repo(&mut case, "alpha", "1.0.0");
    repo(&mut case, "beta", "2.0.0");
    case.want("[alpha]\nrepo = \"o/alpha\"\n\n[beta]\nrepo = \"o/beta\"\n");
    case
}

fn spawn(case: &Case, args: &[&str]) -> std::process::Child {
    command(env!("CARGO_BIN_EXE_hacs-nix"), case.dir.path(), &case.mock)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn lock(case: &Case) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(case.pkgs().join("components.lock.json")).unwrap(),
    )
    .unwrap()
}

#[test]
fn two_runs_at_once_wait_for_each_other_and_both_land() {
    let case = two_components();
    case.mock.state.lock().unwrap().latency = Duration::from_millis(150);
    let a = spawn(&case, &["update-components", "--only", "alpha"]);
    let b = spawn(&case, &["update-components", "--only", "beta"]);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_eq!(a.status.code(), Some(0), "{}", shown(&a));
    assert_eq!(b.status.code(), Some(0), "{}", shown(&b));
    let lock = lock(&case);
    assert_eq!(lock["components"]["alpha"]["version"], "1.0.0");
    assert_eq!(lock["components"]["beta"]["version"], "2.0.0");
    let index = std::fs::read_to_string(case.pkgs().join("default.nix")).unwrap();
    assert!(
        index.contains("alpha = ") && index.contains("beta = "),
        "{index}"
    );
    // The lock, the index and every file agree: lint finds no drift.
    let lint = case.run(&["lint"]);
    assert_eq!(lint.status.code(), Some(0), "{}", shown(&lint));
}

#[test]
fn a_second_run_that_cannot_wait_fails_naming_the_holder() {
    let case = two_components();
    case.mock.state.lock().unwrap().latency = Duration::from_millis(600);
    let before = std::fs::read_to_string(case.pkgs().join("components.toml")).unwrap();
    let first = spawn(&case, &["update-components", "--only", "alpha"]);
    // Let the first take the lock.
    let lock_file = case.dir.path().join(".pkgs.lock");
    for _ in 0..100 {
        if std::fs::read_to_string(&lock_file).is_ok_and(|t| !t.is_empty()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = first.id().to_string();
    let second = case.run(&["update-components", "--only", "beta", "--lock-wait", "0.2"]);
    let text = shown(&second);
    assert_eq!(second.status.code(), Some(2), "{text}");
    assert!(
        text.contains("error[pkgs-busy]") && text.contains(&format!("process {pid}")),
        "{text}"
    );
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", shown(&first));
    assert_eq!(
        std::fs::read_to_string(case.pkgs().join("components.toml")).unwrap(),
        before
    );
    assert!(lock(&case)["components"].get("beta").is_none());
}

#[test]
fn leftovers_of_killed_runs_never_reach_pkgs() {
    let case = two_components();
    // A staging folder named with a live PID (this test's own), full of stale files.
    let stale = case
        .dir
        .path()
        .join(format!(".pkgs.staging-{}", std::process::id()));
    std::fs::create_dir_all(stale.join("stale")).unwrap();
    std::fs::write(stale.join("stale/default.nix"), "stale").unwrap();
    std::fs::write(stale.join("components.toml"), "stale").unwrap();
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(!stale.exists(), "cleared under the lock");
    assert!(!case.pkgs().join("stale").exists());
    assert_ne!(
        std::fs::read_to_string(case.pkgs().join("components.toml")).unwrap(),
        "stale"
    );
}

#[test]
fn a_symlinked_pkgs_is_written_where_it_points() {
    let case = two_components();
    let real = case.dir.path().join("real-pkgs");
    std::fs::rename(case.pkgs(), &real).unwrap();
    std::os::unix::fs::symlink("real-pkgs", case.pkgs()).unwrap();
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(
        std::fs::symlink_metadata(case.pkgs())
            .unwrap()
            .file_type()
            .is_symlink(),
        "pkgs/ is still the user's symlink"
    );
    assert!(real.join("alpha/default.nix").exists());
}

#[test]
fn an_interrupted_fallback_swap_is_recovered() {
    let case = two_components();
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let before = lock(&case);
    // Killed between the two renames of the fallback: no pkgs/, a backup, a staging folder.
    let backup = case.dir.path().join(".pkgs.old-1-1");
    std::fs::rename(case.pkgs(), &backup).unwrap();
    let staging = case.dir.path().join(".pkgs.staging-1-2");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("components.toml"), "half").unwrap();
    let out = case.run(&["update-components", "--offline"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_eq!(lock(&case), before, "the previous pkgs/ is back, whole");
    assert!(!backup.exists() && !staging.exists());
}

#[test]
fn a_lock_that_names_a_path_outside_is_refused() {
    let case = two_components();
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let victim = case.dir.path().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("precious"), "keep").unwrap();
    let path = case.pkgs().join("components.lock.json");
    let mut lock = lock(&case);
    let entry = lock["components"]["alpha"].clone();
    lock["components"]
        .as_object_mut()
        .unwrap()
        .insert("../victim".to_owned(), entry);
    std::fs::write(&path, serde_json::to_string_pretty(&lock).unwrap()).unwrap();
    let out = case.run(&["update-components", "--offline"]);
    let text = shown(&out);
    // The entry is left out and named; the others are untouched by it.
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error[lock-entry-invalid]")
            && text.contains("components.lock.json")
            && text.contains("../victim")
            && text.contains("not pinned"),
        "{text}"
    );
    let written = self::lock(&case);
    assert!(
        written["components"].get("../victim").is_none(),
        "{written}"
    );
    assert!(written["components"].get("alpha").is_some(), "{written}");
    assert!(
        victim.join("precious").exists(),
        "nothing outside pkgs/ is touched"
    );
}

/// The lock's entries and the Nix writer follow one rule. An entry with two
/// `ignoreVersionRequirement` names (nixpkgs' hook can pass one) used to load, fail to render,
/// stay called from `pkgs/default.nix` without its file (nix-instantiate: "getting status of
/// …/pkgs/alpha") and be reported `kept`. Now the run fails that component, says it is not
/// pinned, and `pkgs/` evaluates with real `nix-instantiate`, every file it calls read.
#[test]
fn an_entry_that_cannot_be_rendered_fails_its_component_and_pkgs_evaluates() {
    let case = two_components();
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let path = case.pkgs().join("components.lock.json");
    let mut lock = lock(&case);
    lock["components"]["alpha"]["ignore_version_requirement"] =
        serde_json::json!(["aiohttp", "yarl"]);
    std::fs::write(&path, serde_json::to_string_pretty(&lock).unwrap()).unwrap();
    std::fs::remove_dir_all(case.pkgs().join("alpha")).unwrap();

    let out = case.run(&["update-components", "--offline"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error[lock-entry-invalid]")
            && text.contains("components.alpha")
            && text.contains("several names for `ignoreVersionRequirement` (aiohttp, yarl)")
            && text.contains("not pinned"),
        "{text}"
    );
    assert!(!text.contains("kept"), "alpha was not kept: {text}");
    let index = support::nixos::eval_json(&format!(
        "builtins.mapAttrs (_: f: builtins.attrNames (builtins.functionArgs f)) (import {}/default.nix {{ callPackage = p: _: import p; }})",
        case.pkgs().display()
    ));
    assert_eq!(
        index.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["beta"],
        "{index}"
    );
    // The lint agrees: alpha is wanted and not pinned, and nothing else is wrong.
    let out = case.run(&["lint"]);
    let text = shown(&out);
    assert!(
        text.contains("error[lint-unpinned]") && text.contains("`alpha`"),
        "{text}"
    );
}
