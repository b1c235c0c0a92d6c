//! `survey` end to end on the loopback GitHub: 31 repositories built to fall in every class,
//! each checked against the class it was built for; a rerun downloads nothing; the shards'
//! reports merged equal the unsharded run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use support::craft::{dir, file, tar_gz};
use support::github::{Repo, info, release};
use support::pipeline::{Case, manifest, shown};

/// A source archive `top/` with these files.
fn archive(files: &[(&str, &str)]) -> Vec<u8> {
    let mut members = vec![dir("src-1.0.0/")];
    for (path, text) in files {
        members.push(file(&format!("src-1.0.0/{path}"), text.as_bytes()));
    }
    tar_gz(&members)
}

fn component(domain: &str, version: &str, requirements: &[&str]) -> Vec<u8> {
    archive(&[
        (
            &format!("custom_components/{domain}/manifest.json"),
            &manifest(domain, version, requirements),
        ),
        (&format!("custom_components/{domain}/__init__.py"), ""),
    ])
}

/// The world: repo → the class it must get (and a rule, fix or package it must name).
fn world(case: &mut Case) -> BTreeMap<String, (&'static str, &'static str)> {
    let mut expected = BTreeMap::new();
    let mut add = |case: &mut Case, name: &str, bytes: Vec<u8>, class, detail| {
        let repo = format!("s/{name}");
        case.source_release(&repo, "v1.0.0", name, bytes);
        expected.insert(repo, (class, detail));
    };
    // Builds as it is.
    for (i, reqs) in [
        &[][..],
        &["aiohttp>=3.0"],
        &["numpy"],
        &["aiohttp"],
        &[],
        &["numpy>=2"],
        &[],
    ]
    .iter()
    .enumerate()
    {
        let d = format!("good_{i}");
        add(
            case,
            &format!("good-{i}"),
            component(&d, "1.0.0", reqs),
            "builds",
            "",
        );
    }
    // Builds with the generator's fixes.
    add(
        case,
        "placeholder",
        component("placeholder", "0.0.0", &[]),
        "builds-with-fixes",
        "stamp-version",
    );
    let no_version = json!({ "domain": "unversioned", "name": "x", "codeowners": [], "documentation": "https://e.org",
                             "iot_class": "local_polling", "issue_tracker": "https://e.org/i", "requirements": [] });
    add(
        case,
        "unversioned",
        archive(&[
            (
                "custom_components/unversioned/manifest.json",
                &no_version.to_string(),
            ),
            ("custom_components/unversioned/__init__.py", ""),
        ]),
        "builds-with-fixes",
        "stamp-version",
    );
    for (name, domain) in [("folder-a", "domain_a"), ("folder-b", "domain_b")] {
        add(
            case,
            name,
            archive(&[
                (
                    &format!("custom_components/{}/manifest.json", name.replace('-', "_")),
                    &manifest(domain, "1.0.0", &[]),
                ),
                (
                    &format!("custom_components/{}/__init__.py", name.replace('-', "_")),
                    "",
                ),
            ]),
            "builds-with-fixes",
            "install-as-domain",
        );
    }
    // A developer's Makefile at the root: stdenv would run `make lint` (issue 22).
    add(
        case,
        "dev-makefile",
        archive(&[
            (
                "custom_components/dev_makefile/manifest.json",
                &manifest("dev_makefile", "1.0.0", &[]),
            ),
            ("custom_components/dev_makefile/__init__.py", ""),
            ("Makefile", "lint:\n\tpre-commit run --all-files\n"),
        ]),
        "builds-with-fixes",
        "dont-build",
    );
    add(
        case,
        "old-aiohttp",
        component("old_aiohttp", "1.0.0", &["aiohttp==3.8.1"]),
        "builds-with-fixes",
        "ignore-version-requirement",
    );
    add(
        case,
        "two-conflicts",
        component(
            "two_conflicts",
            "1.0.0",
            &["aiohttp==3.8.1", "numpy==1.26.0"],
        ),
        "builds-with-fixes",
        "relax-requirement",
    );
    // Needs a package Home Assistant's set lacks.
    for i in 0..6 {
        let d = format!("needs_{i}");
        add(
            case,
            &format!("needs-{i}"),
            component(
                &d,
                "1.0.0",
                &[&format!("surely-not-packaged-{i}==1.0"), "aiohttp"],
            ),
            "needs-package",
            Box::leak(format!("surely-not-packaged-{i}").into_boxed_str()),
        );
    }
    // Will not build.
    let no_domain = json!({ "name": "x", "version": "1.0.0", "requirements": [] });
    add(
        case,
        "no-domain",
        archive(&[
            (
                "custom_components/nodomain/manifest.json",
                &no_domain.to_string(),
            ),
            ("custom_components/nodomain/__init__.py", ""),
        ]),
        "will-not-build",
        "",
    );
    add(
        case,
        "no-integration",
        archive(&[("README.md", "# nothing here")]),
        "will-not-build",
        "layout-no-integration",
    );
    add(
        case,
        "broken-json",
        archive(&[(
            "custom_components/broken/manifest.json",
            "{\"domain\": \"broken\",",
        )]),
        "will-not-build",
        "",
    );
    add(
        case,
        "too-new",
        archive(&[
            (
                "custom_components/too_new/manifest.json",
                &manifest("too_new", "1.0.0", &[]),
            ),
            (
                "hacs.json",
                r#"{"name": "Too new", "homeassistant": "2099.1.0"}"#,
            ),
        ]),
        "will-not-build",
        "deps-homeassistant-too-old",
    );
    add(
        case,
        "garbage",
        b"this is not a tarball at all".to_vec(),
        "will-not-build",
        "",
    );
    {
        // hacs.json asks for a release asset the release does not have.
        let sha = "ab".repeat(20);
        case.mock.add_repo(
            "s/missing-asset",
            Repo {
                info: info("x", Some("MIT")),
                releases: vec![release("v1.0.0", false, false, &[])],
                commits: [("v1.0.0".to_owned(), sha.clone()), ("main".to_owned(), sha)].into(),
                files: [(
                    ("v1.0.0".to_owned(), "hacs.json".to_owned()),
                    br#"{"name": "x", "zip_release": true, "filename": "x.zip"}"#.to_vec(),
                )]
                .into(),
            },
        );
        expected.insert(
            "s/missing-asset".to_owned(),
            ("will-not-build", "release-asset-missing"),
        );
    }
    // Could not check: gone from GitHub, or its download is.
    for i in 0..3 {
        expected.insert(
            format!("s/gone-{i}"),
            ("could-not-check", "github-not-found"),
        );
    }
    {
        let sha = "cd".repeat(20);
        case.mock.add_repo(
            "s/no-download",
            Repo {
                info: info("x", Some("MIT")),
                releases: vec![release("v1.0.0", false, false, &[])],
                commits: [("v1.0.0".to_owned(), sha.clone()), ("main".to_owned(), sha)].into(),
                ..Repo::default()
            },
        );
        expected.insert("s/no-download".to_owned(), ("could-not-check", ""));
    }
    expected.insert(
        "s/also-gone".to_owned(),
        ("could-not-check", "github-not-found"),
    );

    // The catalogue lists them all (and one blacklisted repository, which is not surveyed).
    let mut list: Vec<String> = expected.keys().cloned().collect();
    list.push("s/blacklisted".to_owned());
    list.sort_by_key(|s| s.to_lowercase());
    let data: serde_json::Map<String, Value> = list
        .iter()
        .enumerate()
        .map(|(i, name)| {
            (
                i.to_string(),
                json!({ "full_name": name, "stargazers_count": i }),
            )
        })
        .collect();
    case.mock.add_page(
        "/hacs-default/integration",
        serde_json::to_vec(&list).unwrap(),
    );
    case.mock.add_page(
        "/hacs-data/integration/data.json",
        serde_json::to_vec(&data).unwrap(),
    );
    case.mock
        .add_page("/hacs-default/blacklist", br#"["s/blacklisted"]"#.to_vec());
    case.mock.add_page("/hacs-default/removed", b"[]".to_vec());
    expected
}

fn survey(case: &Case, args: &[&str]) -> Value {
    let out = case.run(&[&["survey", "--format", "json", "--jobs", "4"][..], args].concat());
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_class_is_found_reruns_download_nothing_and_shards_merge_to_the_whole() {
    let mut case = Case::new();
    let expected = world(&mut case);
    assert!(expected.len() >= 30);

    let report = survey(&case, &[]);
    let results = report["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        expected.len(),
        "the blacklisted repository is not surveyed"
    );
    for r in results {
        let repo = r["repo"].as_str().unwrap();
        let (class, detail) = expected[repo];
        assert_eq!(r["class"], class, "{repo}: {r}");
        if !detail.is_empty() {
            let named = ["rules", "fixes", "packages"].iter().any(|k| {
                r[k].as_array()
                    .is_some_and(|a| a.iter().any(|x| x == detail))
            });
            assert!(named, "{repo} should name {detail}: {r}");
        }
        if class == "could-not-check" || class == "will-not-build" {
            assert!(
                r["reason"].is_string() && !r["rules"].as_array().unwrap().is_empty(),
                "{r}"
            );
        }
    }
    // The needs-package repositories name only what is missing (aiohttp is in the set).
    let needs = results.iter().find(|r| r["repo"] == "s/needs-0").unwrap();
    assert_eq!(needs["packages"], json!(["surely-not-packaged-0"]));

    // Nothing new upstream: the rerun downloads nothing (but retries what could not be
    // checked) and says the same.
    case.mock.clear_log();
    let again = survey(&case, &[]);
    assert_eq!(
        case.mock.downloads(),
        ["/dl/s/no-download/archive/refs/tags/v1.0.0.tar.gz"]
    );
    assert_eq!(again, report);

    // Shards cover the list once; their merge is the whole.
    let dir = case.dir.path();
    let mut files = Vec::new();
    for k in 1..=3 {
        let path = dir.join(format!("shard-{k}.json"));
        let shard = survey(
            &case,
            &[
                "--shard",
                &format!("{k}/3"),
                "--output",
                path.to_str().unwrap(),
            ],
        );
        assert!(
            !shard["results"].as_array().unwrap().is_empty(),
            "shard {k} is empty"
        );
        files.push(path.to_str().unwrap().to_owned());
    }
    let merged = survey(
        &case,
        &[
            &["--merge"][..],
            &files.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    );
    assert_eq!(merged["results"], report["results"]);
    assert_eq!(merged["shards"], json!(["1/3", "2/3", "3/3"]));

    // A shard given twice is refused, not counted twice.
    let out = case.run(&["survey", "--merge", &files[0], &files[0]]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[survey-merge]"));

    // The summary, as Markdown.
    let out = case.run(&[
        "survey", "--merge", &files[0], &files[1], &files[2], "--format", "markdown",
    ]);
    let md = String::from_utf8_lossy(&out.stdout);
    let count = |class: &str| expected.values().filter(|(c, _)| *c == class).count();
    assert!(
        md.contains(&format!("| builds | {} |", count("builds"))),
        "{md}"
    );
    assert!(
        md.contains(&format!("| needs a package | {} |", count("needs-package"))),
        "{md}"
    );
    // Four repositories gone and one download gone.
    assert!(md.contains("| `github-not-found` | 5 | 16.1% |"), "{md}");
    assert!(md.contains("| `dont-build` | 1 |"), "{md}");
    assert!(md.contains("| `stamp-version` | 2 |"), "{md}");
}

#[test]
fn package_missing_asks_the_python_index_what_the_generator_can_package() {
    use support::index::{Sdist, Served, serve_index};
    let mut case = Case::new();
    world(&mut case);
    let sdist = Sdist {
        name: "surely-not-packaged-0",
        version: "1.0",
        packages: vec!["surely_not_packaged_0"],
        summary: "On the index",
        ..Sdist::default()
    };
    let index = serve_index(&[(
        "surely-not-packaged-0",
        vec![Served::new(sdist.filename(), sdist.build())],
    )]);
    let out =
        support::pipeline::command(env!("CARGO_BIN_EXE_hacs-nix"), case.dir.path(), &case.mock)
            .env("HACS_NIX_PYTHON_INDEX", &index.url)
            .args(["survey", "--format", "json", "--package-missing"])
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = |repo: &str| {
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["repo"] == repo)
            .unwrap()
            .clone()
    };
    let on_index = result("s/needs-0");
    assert_eq!(on_index["class"], "needs-package");
    assert_eq!(on_index["packageable"], true, "{on_index}");
    assert_eq!(
        on_index["requirements"],
        json!(["surely-not-packaged-0==1.0"])
    );
    let absent = result("s/needs-1");
    assert_eq!(absent["packageable"], false, "{absent}");
    assert!(
        absent["unpackageable"]["surely-not-packaged-1"].is_string(),
        "{absent}"
    );
    // Only the needing ones are judged.
    assert!(result("s/good-0").get("packageable").is_none());
}

#[test]
fn a_survey_without_github_ends_with_a_clear_message() {
    let mut case = Case::new();
    world(&mut case);
    let out = case.run(&["survey", "--limit", "3"]);
    assert_eq!(out.status.code(), Some(0));
    let out =
        support::pipeline::command(env!("CARGO_BIN_EXE_hacs-nix"), case.dir.path(), &case.mock)
            .env("HACS_NIX_GITHUB_API", "http://127.0.0.1:9")
            .env("HACS_NIX_GITHUB_DOWNLOAD", "http://127.0.0.1:9")
            .args(["survey", "--limit", "3", "--offline-catalogue"])
            .output()
            .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error[github-unreachable]") && !err.contains("panicked"),
        "{err}"
    );
}
