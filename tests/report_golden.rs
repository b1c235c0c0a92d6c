//! The pull-request report: golden bodies for an update, a no-op, a failure and an oversized
//! body; and the exit codes a workflow uses to tell "updated", "nothing to do" and "failed" apart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use hacs_nix::finding::{Finding, Location};
use hacs_nix::lock::{Lock, LockEntry, Meta, Patches, Verified};
use hacs_nix::report::{self, BODY_LIMIT};
use hacs_nix::update::{Change, ChangeKind, Failure, Plan, ReleaseInfo};

fn entry(repo: &str, version: &str, deps: &[&str], ignore: &[&str]) -> LockEntry {
    LockEntry {
        repo: repo.into(),
        version: version.into(),
        commit: Some("1".repeat(40)),
        url: format!("https://github.com/{repo}/archive/refs/tags/{version}.tar.gz"),
        fetcher: hacs_nix::fetch::Fetcher::FetchFromGitHub,
        strip_root: true,
        hash: "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".into(),
        domain: repo.rsplit('/').next().unwrap().into(),
        home_assistant_min: None,
        requirements: BTreeMap::new(),
        dependencies: deps.iter().map(|d| (*d).to_owned()).collect(),
        ignore_version_requirement: ignore.iter().map(|d| (*d).to_owned()).collect(),
        patches: Patches::default(),
        phases: Default::default(),
        meta: Meta::default(),
        findings: vec![],
        verified: Verified::Downloaded,
    }
}

fn lock(entries: &[(&str, LockEntry)]) -> Lock {
    let mut lock = Lock::new();
    for (attr, e) in entries {
        lock.components.insert((*attr).to_owned(), e.clone());
    }
    lock
}

fn change(
    attr: &str,
    repo: &str,
    kind: ChangeKind,
    old: Option<&str>,
    new: Option<&str>,
) -> Change {
    Change {
        attr: attr.into(),
        repo: repo.into(),
        kind,
        old_version: old.map(Into::into),
        new_version: new.map(Into::into),
    }
}

fn plan(
    new: Lock,
    changes: Vec<Change>,
    releases: &[(&str, &str, &str)],
    failures: Vec<Failure>,
    findings: &[(&str, Finding)],
) -> Plan {
    let mut by_attr: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    for (attr, f) in findings {
        by_attr
            .entry((*attr).to_owned())
            .or_default()
            .push(f.clone());
    }
    Plan {
        network_down: false,
        python_changes: Vec::new(),
        python_downloads: 0,
        lock: new,
        writes: BTreeMap::new(),
        removals: vec![],
        changes,
        failures,
        findings: by_attr,
        downloads: releases.len(),
        releases: releases
            .iter()
            .map(|(attr, tag, notes)| {
                (
                    (*attr).to_owned(),
                    ReleaseInfo {
                        tag: (*tag).into(),
                        url: Some(format!("https://github.com/x/{attr}/releases/tag/{tag}")),
                        notes: Some((*notes).into()),
                    },
                )
            })
            .collect(),
    }
}

#[test]
fn an_update_with_release_notes_dependencies_and_a_nixpkgs_bump() {
    let old = lock(&[
        (
            "hacs",
            entry("hacs/integration", "2.0.4", &["aiogithubapi"], &[]),
        ),
        ("spook", entry("frenck/spook", "v5.0.0", &["numpy"], &[])),
    ]);
    let new = lock(&[
        (
            "hacs",
            entry(
                "hacs/integration",
                "2.0.5",
                &["aiogithubapi", "packaging"],
                &[],
            ),
        ),
        (
            "spook",
            entry("frenck/spook", "v5.0.0", &["numpy"], &["numpy"]),
        ),
    ]);
    let notes = "## What's changed\n\n* Fix the thing by @ludeeus in #4242\n* Thanks @frenck!\n\nNot a mention: foo@example.org, `@decorator`";
    let warning = Finding::warning(
        "deps-version-conflict",
        Location::file("manifest.json"),
        "`numpy==1.26.4` is not satisfied by Home Assistant's set: `numpy` is 2.3.4",
        "ignoreVersionRequirement",
    );
    let p = plan(
        new,
        vec![
            change(
                "hacs",
                "hacs/integration",
                ChangeKind::Updated,
                Some("2.0.4"),
                Some("2.0.5"),
            ),
            change(
                "spook",
                "frenck/spook",
                ChangeKind::Regenerated,
                Some("v5.0.0"),
                Some("v5.0.0"),
            ),
        ],
        &[("hacs", "2.0.5", notes)],
        vec![],
        &[("spook", warning)],
    );
    let pr = report::render(&p, &old).unwrap();
    assert_eq!(pr.title, "Update 2 Home Assistant components");
    assert!(
        !pr.body.contains("by @ludeeus") && pr.body.contains("@&#8203;ludeeus"),
        "mentions neutralised"
    );
    assert!(
        pr.body
            .contains("[#4242](https://github.com/hacs/integration/issues/4242)")
    );
    assert!(
        pr.body.contains("foo@example.org"),
        "e-mail addresses are not mentions"
    );
    insta::assert_snapshot!("report_update", format!("{}\n\n{}", pr.title, pr.body));
}

#[test]
fn no_change_no_report() {
    let old = lock(&[(
        "hacs",
        entry("hacs/integration", "2.0.5", &["aiogithubapi"], &[]),
    )]);
    let p = plan(old.clone(), vec![], &[], vec![], &[]);
    assert!(report::render(&p, &old).is_none());
}

#[test]
fn a_failure_beside_an_addition() {
    let old = lock(&[("broken", entry("o/broken", "0.9.0", &[], &[]))]);
    let new = lock(&[
        ("broken", entry("o/broken", "0.9.0", &[], &[])),
        ("spook", entry("frenck/spook", "v5.0.0", &[], &[])),
    ]);
    let failure = Failure {
        attr: "broken".into(),
        rule: "json-trailing-comma".into(),
        message: "a comma before the closing bracket (trailing comma)".into(),
    };
    let never_pinned = Failure {
        attr: "newcomer".into(),
        rule: "deps-unsatisfiable".into(),
        message: "it needs `nope`, which could not be packaged".into(),
    };
    let p = plan(
        new,
        vec![change(
            "spook",
            "frenck/spook",
            ChangeKind::Added,
            None,
            Some("v5.0.0"),
        )],
        &[("spook", "v5.0.0", "First release.")],
        vec![failure, never_pinned],
        &[],
    );
    let pr = report::render(&p, &old).unwrap();
    assert_eq!(pr.title, "Add spook v5.0.0");
    insta::assert_snapshot!("report_failure", format!("{}\n\n{}", pr.title, pr.body));
}

#[test]
fn an_oversized_body_is_trimmed_to_githubs_limit() {
    let old = lock(&[("hacs", entry("hacs/integration", "2.0.4", &[], &[]))]);
    let new = lock(&[("hacs", entry("hacs/integration", "2.0.5", &[], &[]))]);
    let huge = "A very long changelog line with ünïcödé.\n".repeat(5_000);
    let p = plan(
        new,
        vec![change(
            "hacs",
            "hacs/integration",
            ChangeKind::Updated,
            Some("2.0.4"),
            Some("2.0.5"),
        )],
        &[("hacs", "2.0.5", &huge)],
        vec![],
        &[],
    );
    let pr = report::render(&p, &old).unwrap();
    assert!(
        pr.body.chars().count() <= BODY_LIMIT,
        "{} characters",
        pr.body.chars().count()
    );
    assert!(
        pr.body.chars().count() > BODY_LIMIT - 200,
        "the room is used"
    );
    assert!(
        pr.body.contains("truncated to fit GitHub's limit")
            && pr.body.ends_with("before `nixos-rebuild`.\n")
    );
    assert!(
        pr.body.contains("### Upstream releases"),
        "the table survives; the notes are cut"
    );
    let last_lines: Vec<&str> = pr.body.lines().rev().take(4).collect();
    insta::assert_snapshot!("report_oversized_tail", last_lines.join("\n"));
}
