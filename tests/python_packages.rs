//! Requirements Home Assistant's set lacks, packaged from a loopback Python index end to end:
//! `update-components` chooses, hashes and writes `pkgs/python/<attr>`, the index hands them to
//! the component, and the builder model builds the component (manifest check with the packages
//! installed at the chosen versions) and each package (fetchPypi's file and hash, nixpkgs'
//! runtime dependency check, imports). A rerun downloads nothing; a nixpkgs that gains a
//! package switches to it and deletes the generated one; `deps` and `lint` see the same.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

use support::index::{Sdist, Served, serve_index, wheel};
use support::pipeline::{Case, command, manifest, shown, source_component};

/// The index: every case the packaging meets.
fn index() -> support::index::Index {
    // Old setuptools sdists: PKG-INFO without Requires-Dist, the list in requires.txt.
    let micloud = |version: &'static str| {
        Sdist {
        name: "micloud",
        version,
        requires_txt: Some("pycryptodome>=3\nclick-lite>=2\n\n[dev]\npytest\n"),
        // As micloud's own: the metadata in setup.py (a real setuptools builds it).
        setup_py: Some(Box::leak(
            format!(
                "from setuptools import setup\nsetup(name='micloud', version='{version}', packages=['micloud'], install_requires=['pycryptodome>=3', 'click-lite>=2'], extras_require={{'dev': ['pytest']}})\n"
            )
            .into_boxed_str(),
        )),
        packages: vec!["micloud"],
        top_level_txt: true,
        license: Some("MIT"),
        summary: "Xiaomi cloud connect library.",
        ..Sdist::default()
    }
    };
    let served = |s: &Sdist| Served::new(s.filename(), s.build());
    let mut yanked = served(&micloud("0.7"));
    yanked.yanked = true;
    let mut too_new = served(&micloud("0.8"));
    too_new.requires_python = Some("<3.14");
    let (wheel_name, wheel_bytes) = wheel("micloud", "0.6", &["click-lite"], &["micloud"]);
    // A wheel its backend (flit-core) built.
    let (click_name, click_bytes) = Sdist {
        name: "click-lite",
        version: "2.1",
        pyproject: Some(
            "[build-system]\nrequires = [\"flit_core>=3.2\"]\nbuild-backend = \"flit_core.buildapi\"\n",
        ),
        packages: vec!["click_lite"],
        summary: "Click, lighter",
        ..Sdist::default()
    }
    .build_wheel();
    let hatchy = Sdist {
        name: "hatchy",
        version: "1.2",
        requires: vec!["pycryptodome", "colorama; sys_platform == \"win32\""],
        pyproject: Some(
            "[build-system]\nrequires = [\"hatchling\", \"hatch-vcs\"]\nbuild-backend = \"hatchling.build\"\n",
        ),
        packages: vec!["hatchy"],
        src_layout: true,
        license: Some("Apache-2.0"),
        summary: "A hatchling package with a src layout",
        ..Sdist::default()
    };
    let poetic = Sdist {
        name: "poetic",
        version: "3.0",
        requires: vec!["aiohttp>=3.9"],
        pyproject: Some(
            "[build-system]\nrequires = [\"poetry-core>=1.0.0\"]\nbuild-backend = \"poetry.core.masonry.api\"\n",
        ),
        packages: vec!["poetic"],
        summary: "A poetry-core package",
        ..Sdist::default()
    };
    let native = Sdist {
        name: "fastnative",
        version: "1.0",
        setup_py: Some(
            "from setuptools import Extension, setup\nsetup(ext_modules=[Extension('fastnative._speed', ['speed.c'])])\n",
        ),
        extra_files: vec![("speed.c", "int speed(void) { return 1; }\n")],
        packages: vec!["fastnative"],
        summary: "Compiled",
        ..Sdist::default()
    };
    serve_index(&[
        (
            "micloud",
            vec![
                served(&micloud("0.5")),
                served(&micloud("0.6")),
                Served::new(wheel_name, wheel_bytes),
                yanked,
                too_new,
            ],
        ),
        ("click-lite", vec![Served::new(click_name, click_bytes)]),
        ("hatchy", vec![served(&hatchy)]),
        ("poetic", vec![served(&poetic)]),
        ("fastnative", vec![served(&native)]),
    ])
}

fn run(case: &Case, index: &str, args: &[&str]) -> std::process::Output {
    command(env!("CARGO_BIN_EXE_hacs-nix"), case.dir.path(), &case.mock)
        .env("HACS_NIX_PYTHON_INDEX", index)
        .args(args)
        .output()
        .unwrap()
}

/// A project of one of the cases: version 1.0, MIT, its `pyproject.toml`'s build
/// system, its requirements and packages.
fn project(
    name: &'static str,
    pyproject: &'static str,
    requires: Vec<&'static str>,
    packages: Vec<&'static str>,
) -> Sdist {
    Sdist {
        name,
        version: "1.0",
        requires,
        pyproject: Some(pyproject),
        packages,
        summary: "A case of the issue",
        license: Some("MIT"),
        ..Sdist::default()
    }
}

/// A checkout wanting one component `o/<domain>` (release 1.0.0) that needs `requirements`.
fn wanting(domain: &str, description: &str, requirements: &[&str]) -> Case {
    let mut case = Case::new();
    case.source_release(
        &format!("o/{domain}"),
        "1.0.0",
        description,
        source_component(domain, requirements),
    );
    case.want(&format!("[{domain}]\nrepo = \"o/{domain}\"\n"));
    case
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sha256sum(bytes: &[u8]) -> String {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("f");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("sha256sum")
        .arg(&path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn missing_requirements_are_packaged_and_the_component_builds() {
    let index = index();
    let mut case = Case::new();
    case.source_release(
        "o/cloudy",
        "1.0.0",
        "Needs packages nixpkgs lacks",
        source_component(
            "cloudy",
            &["micloud>=0.5", "hatchy==1.2", "poetic", "aiohttp>=3"],
        ),
    );
    case.source_release(
        "o/nativer",
        "1.0.0",
        "Needs compiled code",
        source_component("nativer", &["fastnative==1.0"]),
    );
    case.want("[cloudy]\nrepo = \"o/cloudy\"\n\n[nativer]\nrepo = \"o/nativer\"\n");
    let report = case.dir.path().join("report.md");
    let out = run(
        &case,
        &index.url,
        &["update-components", "--report", report.to_str().unwrap()],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "nativer fails: {}", shown(&out));
    let report = read(&report);
    assert!(
        report.contains("### Python packages generated from the Python index")
            && report.contains(
                "| `micloud` | **0.6** (new) | sdist, setuptools | `cloudy: micloud>=0.5` |"
            )
            && report.contains(
                "| `click-lite` | **2.1** (new) | pure-Python wheel | `micloud: click-lite>=2` |"
            ),
        "{report}"
    );
    for line in [
        "+ python/micloud",
        "0.6 (packaged: sdist, setuptools)",
        "+ python/click-lite",
        "2.1 (packaged: pure-Python wheel)",
        "1.2 (packaged: sdist, hatch-vcs + hatchling)",
        "3.0 (packaged: sdist, poetry-core)",
    ] {
        assert!(stdout.contains(line), "{line}: {}", shown(&out));
    }
    assert!(
        stdout.contains("nativer") && stdout.contains("ext_modules"),
        "the refusal says why: {}",
        shown(&out)
    );
    let pkgs = case.pkgs();
    assert!(!pkgs.join("python/fastnative").exists());
    assert!(!pkgs.join("nativer").exists());

    // The lock: each file and its hash, the hash that of the file as served (sha256sum), and
    // why each package is there.
    let lock: serde_json::Value =
        serde_json::from_str(&read(&pkgs.join("components.lock.json"))).unwrap();
    let python = lock["python"].as_object().unwrap();
    assert_eq!(
        python.keys().collect::<Vec<_>>(),
        ["click-lite", "hatchy", "micloud", "poetic"]
    );
    for (attr, package) in python {
        let file = package["file"].as_str().unwrap();
        let digest =
            hacs_nix::hash::Sha256Digest::parse(package["hash"].as_str().unwrap()).unwrap();
        assert_eq!(digest.to_hex(), sha256sum(&index.files[file]), "{attr}");
    }
    assert_eq!(
        python["micloud"]["file"], "micloud-0.6.tar.gz",
        "0.7 is yanked, 0.8 excludes Python 3.14"
    );
    assert_eq!(
        python["micloud"]["needed_by"],
        serde_json::json!(["cloudy: micloud>=0.5"])
    );
    assert_eq!(
        python["click-lite"]["needed_by"],
        serde_json::json!(["micloud: click-lite>=2"])
    );
    assert_eq!(
        python["micloud"]["dependencies"],
        serde_json::json!(["click-lite", "pycryptodome"])
    );
    assert_eq!(
        python["hatchy"]["import_names"],
        serde_json::json!(["hatchy"]),
        "from src/"
    );
    assert_eq!(
        lock["components"]["cloudy"]["dependencies"],
        serde_json::json!(["aiohttp", "hatchy", "micloud", "poetic"])
    );

    // Golden files.
    insta::assert_snapshot!("python_index_default_nix", read(&pkgs.join("default.nix")));
    for attr in ["micloud", "click-lite", "hatchy", "poetic"] {
        insta::assert_snapshot!(
            format!("python_{attr}_default_nix"),
            read(&pkgs.join(format!("python/{attr}/default.nix")))
        );
    }

    // The builder model: each package as nixpkgs' Python builder checks it, then the component
    // with them installed.
    let files = |name: &str| index.files.get(name).cloned();
    for attr in ["micloud", "click-lite", "hatchy", "poetic"] {
        let args = support::builder::build_python(case.dir.path(), attr, &files)
            .unwrap_or_else(|e| panic!("{attr}: {e}"));
        assert_eq!(args["src"]["fetcher"], "fetchPypi");
    }
    let built = case.build("cloudy").unwrap();
    let installed: Vec<(String, String)> = built.args["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["pname"].as_str().unwrap().to_owned(),
                d["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        installed.contains(&("micloud".to_owned(), "0.6".to_owned())),
        "{installed:?}"
    );
    assert!(
        installed.contains(&("hatchy".to_owned(), "1.2".to_owned())),
        "{installed:?}"
    );

    // A rerun: the index is asked, nothing downloaded, nothing written.
    let before = index.file_requests();
    let out = run(
        &case,
        &index.url,
        &["update-components", "--only", "cloudy"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Nothing to do"));
    assert_eq!(index.file_requests(), before, "no file downloaded again");

    // lint agrees offline; a hand edit of a generated package is caught.
    let lint = run(&case, &index.url, &["lint"]);
    assert!(
        !String::from_utf8_lossy(&lint.stderr).contains("lint-python"),
        "{}",
        shown(&lint)
    );
    let hatchy = pkgs.join("python/hatchy/default.nix");
    let original = read(&hatchy);
    std::fs::write(&hatchy, original.replace("1.2", "1.3")).unwrap();
    let lint = run(&case, &index.url, &["lint"]);
    assert!(
        String::from_utf8_lossy(&lint.stderr).contains("lint-generated-drift"),
        "{}",
        shown(&lint)
    );
    std::fs::write(&hatchy, original).unwrap();

    // nixpkgs gains micloud: lint says so; the next run (offline: no index needed) switches to
    // the set's package and deletes the generated ones nothing needs any more.
    let set_path = pkgs.join("python-set.json");
    let mut set: serde_json::Value = serde_json::from_str(&read(&set_path)).unwrap();
    set["packages"]["micloud"] = serde_json::json!({ "pname": "micloud", "version": "0.6.1" });
    std::fs::write(&set_path, serde_json::to_string_pretty(&set).unwrap()).unwrap();
    let lint = run(&case, &index.url, &["lint"]);
    assert!(
        String::from_utf8_lossy(&lint.stderr).contains("lint-python-now-in-set"),
        "{}",
        shown(&lint)
    );
    let out = run(
        &case,
        support::pipeline::NO_PYTHON_INDEX,
        &["update-components", "--offline", "--only", "cloudy"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("- python/micloud")
            && stdout.contains("Home Assistant's set has it now: micloud 0.6.1"),
        "{}",
        shown(&out)
    );
    assert!(
        stdout.contains("- python/click-lite") && stdout.contains("no component needs it any more")
    );
    assert!(!pkgs.join("python/micloud").exists() && !pkgs.join("python/click-lite").exists());
    assert!(pkgs.join("python/hatchy/default.nix").exists());
    let built = case.build("cloudy").unwrap();
    let micloud = built.args["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["pname"] == "micloud")
        .unwrap()
        .clone();
    assert_eq!(micloud["version"], "0.6.1", "the set's package now");
}

/// `deps` packages what is missing and says so; `--offline` leaves it missing; a component with
/// `package-missing = false` is refused with that reason.
#[test]
fn deps_packages_and_the_switch_turns_it_off() {
    let index = index();
    let mut case = Case::new();
    let manifest_path = case.dir.path().join("manifest.json");
    std::fs::write(
        &manifest_path,
        manifest("cloudy", "1.0.0", &["micloud>=0.5", "poetic"]),
    )
    .unwrap();
    let manifest_arg = manifest_path.to_str().unwrap();
    let out = run(&case, &index.url, &["deps", manifest_arg]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(
        stdout.contains("missing → packaged: micloud 0.6 (sdist, setuptools)")
            && stdout.contains("missing → packaged: click-lite 2.1 (pure-Python wheel)")
            && stdout.contains("missing → packaged: poetic 3.0 (sdist, poetry-core)"),
        "{}",
        shown(&out)
    );
    let out = run(
        &case,
        &index.url,
        &["deps", manifest_arg, "--format", "json"],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["packaged"].as_array().unwrap().len(), 3);
    let out = run(&case, &index.url, &["deps", manifest_arg, "--offline"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));

    case.source_release(
        "o/cloudy",
        "1.0.0",
        "x",
        source_component("cloudy", &["micloud>=0.5"]),
    );
    case.want("[cloudy]\nrepo = \"o/cloudy\"\npackage-missing = false\n");
    let out = run(&case, &index.url, &["update-components"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(
        shown(&out).contains("package-missing = false"),
        "{}",
        shown(&out)
    );
    assert_eq!(
        index.file_requests(),
        6,
        "only the two online deps runs downloaded (three files each)"
    );

    // `[python.micloud] version` pins the release; `provided` takes the set's attribute.
    case.want("[cloudy]\nrepo = \"o/cloudy\"\n\n[python.micloud]\nversion = \"0.5\"\n");
    let out = run(&case, &index.url, &["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("+ python/micloud"));
    let lock: serde_json::Value =
        serde_json::from_str(&read(&case.pkgs().join("components.lock.json"))).unwrap();
    assert_eq!(lock["python"]["micloud"]["version"], "0.5");
    case.want("[cloudy]\nrepo = \"o/cloudy\"\n\n[python.micloud]\nprovided = true\n");
    let out = run(&case, &index.url, &["update-components"]);
    assert!(shown(&out).contains("deps-provided"), "{}", shown(&out));
    assert!(!case.pkgs().join("python/micloud").exists());
    let lock: serde_json::Value =
        serde_json::from_str(&read(&case.pkgs().join("components.lock.json"))).unwrap();
    assert!(lock.get("python").is_none(), "{lock}");
    assert_eq!(
        lock["components"]["cloudy"]["dependencies"],
        serde_json::json!(["micloud"])
    );
}

/// A requirement whose attribute would be one of the generated files' own arguments (here
/// `fetchzip`, the fetcher of zip releases): generating it would hand the package to the
/// component in the fetcher's place. It is refused with the reason, although the index has it.
#[test]
fn a_package_named_like_a_builder_argument_is_not_generated() {
    let (name, bytes) = wheel("fetchzip", "1.0", &[], &["fetchzip"]);
    let (ok_name, ok_bytes) = wheel("click-lite", "2.1", &[], &["click_lite"]);
    let index = serve_index(&[
        ("fetchzip", vec![Served::new(name, bytes)]),
        ("click-lite", vec![Served::new(ok_name, ok_bytes)]),
    ]);
    let case = Case::new();
    let manifest_path = case.dir.path().join("manifest.json");
    std::fs::write(
        &manifest_path,
        manifest("zippy", "1.0.0", &["fetchzip>=1", "click-lite"]),
    )
    .unwrap();
    let out = run(
        &case,
        &index.url,
        &["deps", manifest_path.to_str().unwrap()],
    );
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("missing → not packaged: fetchzip")
            && text.contains("would shadow the `fetchzip` argument"),
        "{text}"
    );
    assert!(
        text.contains("missing → packaged: click-lite 2.1"),
        "{text}"
    );
}

/// The cap is per requirement tree: twenty components, each needing one package the set
/// lacks, all pin (a cap of 16 over the whole run refused four of them, depending on what else
/// the checkout held), while one requirement whose tree would take 17 packages is refused
/// with the packages it would have taken.
#[test]
fn the_cap_is_per_requirement_tree_not_per_run() {
    let names: Vec<String> = (1..=20).map(|i| format!("lib-{i:02}")).collect();
    let leaves: Vec<String> = (1..=16).map(|i| format!("leaf-{i:02}")).collect();
    let mut projects: Vec<(String, Vec<Served>)> = Vec::new();
    for name in names.iter().chain(&leaves) {
        let module = name.replace('-', "_");
        let (file, bytes) = wheel(name, "1.0", &[], &[module.as_str()]);
        projects.push((name.clone(), vec![Served::new(file, bytes)]));
    }
    let leaf_refs: Vec<&str> = leaves.iter().map(String::as_str).collect();
    let (file, bytes) = wheel("greedy-lib", "1.0", &leaf_refs, &["greedy_lib"]);
    projects.push(("greedy-lib".to_owned(), vec![Served::new(file, bytes)]));
    let borrowed: Vec<(&str, Vec<Served>)> = projects
        .iter()
        .map(|(n, s)| (n.as_str(), s.clone()))
        .collect();
    let index = serve_index(&borrowed);

    let mut case = Case::new();
    let mut wanted = String::new();
    for (i, name) in names.iter().enumerate() {
        let domain = format!("small_{i:02}");
        case.source_release(
            &format!("o/{domain}"),
            "1.0.0",
            "Needs one package",
            source_component(&domain, &[name.as_str()]),
        );
        wanted.push_str(&format!("[{domain}]\nrepo = \"o/{domain}\"\n\n"));
    }
    case.source_release(
        "o/greedy",
        "1.0.0",
        "Needs a package that needs sixteen more",
        source_component("greedy", &["greedy-lib"]),
    );
    wanted.push_str("[greedy]\nrepo = \"o/greedy\"\n");
    case.want(&wanted);
    let out = run(&case, &index.url, &["update-components"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "only greedy fails: {text}");
    let lock: serde_json::Value =
        serde_json::from_str(&read(&case.pkgs().join("components.lock.json"))).unwrap();
    for i in 0..20 {
        let domain = format!("small_{i:02}");
        assert!(
            lock["components"].get(&domain).is_some(),
            "{domain} is pinned: {text}"
        );
    }
    assert!(lock["components"].get("greedy").is_none(), "{text}");
    assert_eq!(lock["python"].as_object().unwrap().len(), 20, "{text}");
    // Each of the twenty generated packages (real flit-core wheels) builds for real.
    let files = |name: &str| index.files.get(name).cloned();
    for attr in lock["python"].as_object().unwrap().keys() {
        support::builder::build_python(case.dir.path(), attr, &files)
            .unwrap_or_else(|e| panic!("{attr}: {e}"));
    }
    assert!(
        text.contains("its requirement tree would generate 17 packages (greedy-lib, leaf-01,")
            && text.contains("more than the limit of 16 per requirement"),
        "{text}"
    );

    // survey, judging each repository on its own, calls packageable exactly what was pinned.
    let mut repos: Vec<String> = (0..20).map(|i| format!("o/small_{i:02}")).collect();
    repos.push("o/greedy".to_owned());
    let data: serde_json::Map<String, serde_json::Value> = repos
        .iter()
        .enumerate()
        .map(|(i, name)| {
            (
                i.to_string(),
                serde_json::json!({ "full_name": name, "stargazers_count": i }),
            )
        })
        .collect();
    support::catalogue::serve(
        &case.mock,
        &support::catalogue::Served {
            list: repos,
            data: serde_json::Value::Object(data),
            blacklist: Vec::new(),
            removed: serde_json::json!([]),
        },
    );
    let out = run(
        &case,
        &index.url,
        &["survey", "--format", "json", "--package-missing"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for result in report["results"].as_array().unwrap() {
        let repo = result["repo"].as_str().unwrap();
        let domain = repo.trim_start_matches("o/");
        assert_eq!(
            result["packageable"].as_bool(),
            Some(lock["components"].get(domain).is_some()),
            "survey and update-components agree on {repo}: {result}"
        );
    }
    assert_eq!(report["results"].as_array().unwrap().len(), 21);
}

/// A generated package pinning a release of the set's package that the set does not have:
/// within the same major version it is relaxed with `pythonRelaxDeps` (the requirement as its
/// metadata spells it) and a warning says so, as nixpkgs' maintainers relax such pins; a pin
/// to another major version is refused with that reason. (It used to refuse both, with advice
/// to write the relaxation by hand.)
#[test]
fn pins_the_set_misses_within_a_major_version_are_relaxed() {
    let (pinned, pinned_bytes) = wheel("pinny", "1.0", &["AioHTTP==3.8.1"], &["pinny"]);
    let (major, major_bytes) = wheel("old-api", "1.0", &["aiohttp<3"], &["old_api"]);
    let index = serve_index(&[
        ("pinny", vec![Served::new(pinned, pinned_bytes)]),
        ("old-api", vec![Served::new(major, major_bytes)]),
    ]);
    let mut case = Case::new();
    case.source_release(
        "o/pinned",
        "1.0.0",
        "Needs a package that pins aiohttp",
        source_component("pinned", &["pinny"]),
    );
    case.source_release(
        "o/oldapi",
        "1.0.0",
        "Needs a package that wants aiohttp 2",
        source_component("oldapi", &["old-api"]),
    );
    case.want("[pinned]\nrepo = \"o/pinned\"\n\n[oldapi]\nrepo = \"o/oldapi\"\n");
    let out = run(&case, &index.url, &["update-components"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "only oldapi fails: {text}");
    assert!(
        text.contains("warning[python-relaxed]")
            && text.contains(
                "pinny 1.0 requires `AioHTTP==3.8.1`; Home Assistant's set has aiohttp 3.12.15"
            ),
        "{text}"
    );
    assert!(
        text.contains("old-api 1.0 requires `aiohttp<3`, but Home Assistant's set has aiohttp 3.12.15, another major version"),
        "{text}"
    );
    let lock: serde_json::Value =
        serde_json::from_str(&read(&case.pkgs().join("components.lock.json"))).unwrap();
    assert!(lock["components"].get("pinned").is_some(), "{text}");
    assert!(lock["components"].get("oldapi").is_none(), "{text}");
    assert_eq!(
        lock["python"]["pinny"]["relax_deps"],
        serde_json::json!(["AioHTTP"])
    );
    let args = support::builder::evaluate_python(case.pkgs().parent().unwrap(), "pinny").unwrap();
    assert_eq!(
        args["pythonRelaxDeps"],
        serde_json::json!(["AioHTTP"]),
        "{args}"
    );
    // It builds for real: nixpkgs' runtime dependency check passes with the pin relaxed.
    let files = |name: &str| index.files.get(name).cloned();
    support::builder::build_python(case.dir.path(), "pinny", &files)
        .unwrap_or_else(|e| panic!("pinny: {e}"));
    // lint, offline, agrees: a relaxed pin is no unmet requirement (it used to say one was).
    let lint = run(&case, &index.url, &["lint"]);
    assert!(
        !String::from_utf8_lossy(&lint.stderr).contains("lint-python-requirement-unmet"),
        "{}",
        shown(&lint)
    );
}

/// fetchPypi asks for the file by the name and version its own name spells: a file named
/// `calver-2024.01.5.tar.gz` whose metadata says `2024.1.5` (the normalised spelling) is
/// fetched as it is named; the version used to come from the metadata, so fetchPypi asked for
/// `calver-2024.1.5.tar.gz`, a file the index does not have.
#[test]
fn fetch_pypi_names_the_file_as_the_index_does() {
    use support::craft::{dir, file as tar_file, tar_gz};
    let sdist = tar_gz(&[
        dir("calver-2024.01.5/"),
        tar_file(
            "calver-2024.01.5/PKG-INFO",
            b"Metadata-Version: 2.1\nName: calver\nVersion: 2024.1.5\n",
        ),
        tar_file("calver-2024.01.5/calver/__init__.py", b"X = 1\n"),
        tar_file(
            "calver-2024.01.5/setup.py",
            b"from setuptools import setup\nsetup(name='calver')\n",
        ),
    ]);
    let index = serve_index(&[(
        "calver",
        vec![Served::new("calver-2024.01.5.tar.gz".to_owned(), sdist)],
    )]);
    let case = wanting(
        "dated",
        "Needs a calendar-versioned package",
        &["calver>=2024.1"],
    );
    let out = run(&case, &index.url, &["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let files = |name: &str| index.files.get(name).cloned();
    let args = support::builder::build_python(case.dir.path(), "calver", &files)
        .unwrap_or_else(|e| panic!("calver: {e}"));
    assert_eq!(args["src"]["version"], "2024.01.5", "{args}");
}

/// Every case the issue met in real packages, as real sdists built by real backends, packaged
/// by `update-components` and then each generated package built for real (its backend offline,
/// install, nixpkgs' runtime dependency check, `pythonImportsCheck`):
/// - `tidy` (hatchling): a `tests/` package and a stray `test_tidy.py` in the sdist;
/// - `serialish` (setuptools): a Rust extension only Windows and macOS build, its
///   `setuptools-rust` build requirement behind a marker (serialx's shape; it used to be
///   refused as compiled code), and `find_packages()` installing `tests` too;
/// - `flitty` (flit-core): `flit_core>=3.2,<4` against the set's flit-core 4;
/// - `pinny2` (poetry-core): an exact pin of aiohttp the set misses within its major version;
/// - `uvy` (uv-build): a backend the set has beyond the old table.
#[test]
fn every_case_builds_with_its_real_backend() {
    let mut tidy = project(
        "tidy",
        "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n",
        vec![],
        vec!["tidy"],
    );
    tidy.extra_files = vec![("test_tidy.py", "import tidy\n")];
    let mut serialish = project(
        "serialish",
        "[build-system]\nrequires = [\"setuptools>=64\", \"setuptools-rust>=1.7; sys_platform == 'win32' or sys_platform == 'darwin'\"]\nbuild-backend = \"setuptools.build_meta\"\n",
        vec!["tidy>=1"],
        vec!["serialish"],
    );
    serialish.setup_py = Some(
        "import sysconfig\nimport setuptools\n\nif sysconfig.get_platform().startswith((\"win\", \"macosx-\")):\n    from setuptools_rust import RustExtension\n\n    setuptools.setup(\n        packages=setuptools.find_packages(),\n        rust_extensions=[RustExtension(\"serialish._rust\")],\n    )\nelse:\n    setuptools.setup(packages=setuptools.find_packages())\n",
    );
    let flitty = project(
        "flitty",
        "[build-system]\nrequires = [\"flit_core>=3.2,<4\"]\nbuild-backend = \"flit_core.buildapi\"\n",
        vec![],
        vec!["flitty"],
    );
    let pinny2 = project(
        "pinny2",
        "[build-system]\nrequires = [\"poetry-core>=2\"]\nbuild-backend = \"poetry.core.masonry.api\"\n",
        vec!["aiohttp==3.12.0"],
        vec!["pinny2"],
    );
    let mut uvy = project(
        "uvy",
        "[build-system]\nrequires = [\"uv_build>=0.8,<0.9\"]\nbuild-backend = \"uv_build\"\n",
        vec![],
        vec!["uvy"],
    );
    uvy.src_layout = true;
    let all = [&tidy, &serialish, &flitty, &pinny2, &uvy];
    let projects: Vec<(&str, Vec<Served>)> = all
        .iter()
        .map(|s| (s.name, vec![Served::new(s.filename(), s.build())]))
        .collect();
    let index = serve_index(&projects);
    let case = wanting(
        "cases",
        "Needs every case",
        &["serialish", "flitty", "pinny2", "uvy"],
    );
    let out = run(&case, &index.url, &["update-components"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("warning[python-relaxed]") && text.contains("flit_core"),
        "{text}"
    );
    let lock: serde_json::Value =
        serde_json::from_str(&read(&case.pkgs().join("components.lock.json"))).unwrap();
    let python = lock["python"].as_object().unwrap();
    assert_eq!(
        python.keys().collect::<Vec<_>>(),
        ["flitty", "pinny2", "serialish", "tidy", "uvy"],
        "{text}"
    );
    for attr in python.keys() {
        assert_eq!(
            python[attr]["import_names"],
            serde_json::json!([attr]),
            "no tests, no test_*: {text}"
        );
    }
    assert_eq!(
        python["serialish"]["build_system"],
        serde_json::json!(["setuptools"]),
        "setuptools-rust is for other systems"
    );
    let files = |name: &str| index.files.get(name).cloned();
    for attr in python.keys() {
        support::builder::build_python(case.dir.path(), attr, &files)
            .unwrap_or_else(|e| panic!("{attr}: {e}"));
    }
    // The relaxations are what makes them build: without them the real build and check fail.
    for (attr, phase) in [("flitty", "build"), ("pinny2", "runtime-deps-check")] {
        let file = case.pkgs().join(format!("python/{attr}/default.nix"));
        let text = read(&file);
        let unrelaxed = match attr {
            "flitty" => {
                let start = text.find("  postPatch").unwrap();
                let end = start + text[start..].find("'';\n").unwrap() + 4;
                format!("{}{}", &text[..start], &text[end..])
            }
            _ => text.replace("  pythonRelaxDeps = [ \"aiohttp\" ];\n", ""),
        };
        assert_ne!(unrelaxed, text, "{attr}: {text}");
        std::fs::write(&file, unrelaxed).unwrap();
        let err = support::builder::build_python(case.dir.path(), attr, &files).unwrap_err();
        assert_eq!(err.phase, phase, "{attr}: {err}");
        std::fs::write(&file, text).unwrap();
    }
}

/// What real packages need besides their declared requirements, packaged and then built for
/// real:
/// - `plugged` (setuptools) builds with `verhelp`, a build helper the set lacks (its
///   `setup.py` imports it): `verhelp` is generated and built first, and `plugged` with it
///   (a build requirement outside the set used to refuse the package);
/// - `vthermy`'s package imports `homeassistant` (as `vtherm-api` does) and, through a module
///   of its own, `pytz`, which its metadata does not declare (as `ims-envista` does): Home
///   Assistant is given to its checks and pytz, which the set has, added to its dependencies;
/// - `halfy` installs two packages, one importing a module nothing provides: that one is left
///   out of `pythonImportsCheck`, the other still checked;
/// - `hareq` requires `homeassistant>=2099.1`: Home Assistant is given to its checks (never
///   packaged from the index), the pin relaxed.
///
/// Each repair is what makes its package build: with it undone, the real build fails in the
/// phase it is for.
#[test]
fn build_helpers_and_imports_the_metadata_misses() {
    const SETUPTOOLS: &str = "[build-system]\nrequires = [\"setuptools>=64\"]\nbuild-backend = \"setuptools.build_meta\"\n";
    let mut verhelp = project(
        "verhelp",
        "[build-system]\nrequires = [\"flit_core>=3.9\"]\nbuild-backend = \"flit_core.buildapi\"\n",
        vec![],
        vec!["verhelp"],
    );
    verhelp.extra_files = vec![(
        "verhelp/__init__.py",
        "\"\"\"A build helper.\"\"\"\n__version__ = \"1.0\"\n\ndef version():\n    return \"1.0\"\n",
    )];
    let mut plugged = project(
        "plugged",
        "[build-system]\nrequires = [\"setuptools>=64\", \"verhelp>=1\"]\nbuild-backend = \"setuptools.build_meta\"\n",
        vec![],
        vec!["plugged"],
    );
    plugged.setup_py = Some(
        "import setuptools\nimport verhelp\n\nassert verhelp.version() == \"1.0\"\nsetuptools.setup(packages=[\"plugged\"])\n",
    );
    let mut vthermy = project("vthermy", SETUPTOOLS, vec![], vec!["vthermy"]);
    vthermy.extra_files = vec![
        (
            "vthermy/__init__.py",
            "\"\"\"The API.\n\nimport not_an_import_in_a_docstring\n\"\"\"\nimport logging\nfrom homeassistant.core import HomeAssistant\n\nfrom .const import DOMAIN\n\ntry:\n    import optional_speedup\nexcept ImportError:\n    pass\n",
        ),
        ("vthermy/const.py", "import pytz\n\nDOMAIN = \"vthermy\"\n"),
    ];
    let mut halfy = project("halfy", SETUPTOOLS, vec![], vec!["halfy", "halfy_ok"]);
    halfy.setup_py =
        Some("import setuptools\nsetuptools.setup(packages=[\"halfy\", \"halfy_ok\"])\n");
    halfy.extra_files = vec![("halfy/__init__.py", "import not_on_any_index\n")];
    let hareq = project(
        "hareq",
        SETUPTOOLS,
        vec!["homeassistant>=2099.1"],
        vec!["hareq"],
    );
    let served = |s: &Sdist, bytes: Vec<u8>| (s.name, vec![Served::new(s.filename(), bytes)]);
    let index = serve_index(&[
        served(&verhelp, verhelp.build()),
        served(&plugged, plugged.build_with(&[&verhelp])),
        served(&vthermy, vthermy.build()),
        served(&halfy, halfy.build()),
        served(&hareq, hareq.build()),
    ]);
    let case = wanting(
        "needs",
        "Needs what metadata misses",
        &["plugged", "vthermy", "halfy", "hareq"],
    );
    let out = run(&case, &index.url, &["update-components"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for said in [
        "warning[python-import-check]",
        "vthermy 1.0: `vthermy` imports `homeassistant`: Home Assistant is given to its import check (`nativeCheckInputs`)",
        "vthermy 1.0: `vthermy` imports `pytz`, which its metadata does not declare; Home Assistant's set has pytz 2025.2: added to its dependencies",
        "halfy 1.0: `halfy` imports `not_on_any_index` when imported, which neither its metadata nor Home Assistant's set provides: left out of `pythonImportsCheck`",
        "hareq 1.0 requires `homeassistant>=2099.1`; this nixpkgs has Home Assistant 2026.11.2: relaxed with `pythonRelaxDeps`",
    ] {
        assert!(text.contains(said), "{said}\n---\n{text}");
    }
    assert!(
        !text.contains("optional_speedup") && !text.contains("not_an_import_in_a_docstring"),
        "{text}"
    );
    let lock: serde_json::Value =
        serde_json::from_str(&read(&case.pkgs().join("components.lock.json"))).unwrap();
    let python = &lock["python"];
    assert_eq!(
        python.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["halfy", "hareq", "plugged", "verhelp", "vthermy"],
        "{text}"
    );
    assert_eq!(
        python["plugged"]["build_system"],
        serde_json::json!(["setuptools", "verhelp"])
    );
    assert_eq!(
        python["verhelp"]["needed_by"],
        serde_json::json!(["plugged (its build): verhelp>=1"])
    );
    // A rerun reuses every package from the lock (no download) and places the same: the
    // generated build helper is kept, the import check's repairs made again.
    let before = read(&case.pkgs().join("components.lock.json"));
    let files_before: Vec<String> = ["plugged", "verhelp", "vthermy", "halfy", "hareq"]
        .iter()
        .map(|a| read(&case.pkgs().join(format!("python/{a}/default.nix"))))
        .collect();
    let again = run(&case, &index.url, &["update-components"]);
    assert_eq!(again.status.code(), Some(0), "{}", shown(&again));
    assert_eq!(read(&case.pkgs().join("components.lock.json")), before);
    let files_after: Vec<String> = ["plugged", "verhelp", "vthermy", "halfy", "hareq"]
        .iter()
        .map(|a| read(&case.pkgs().join(format!("python/{a}/default.nix"))))
        .collect();
    assert_eq!(files_after, files_before);
    // A lock entry an older hacs-nix wrote (its files never read for the import check) is
    // downloaded and read again, and placed the same.
    let lock_path = case.pkgs().join("components.lock.json");
    let mut older: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert!(
        older["python"]["vthermy"]["module_imports"].is_object(),
        "{before}"
    );
    older["python"]["vthermy"]
        .as_object_mut()
        .unwrap()
        .remove("module_imports");
    std::fs::write(&lock_path, serde_json::to_string_pretty(&older).unwrap()).unwrap();
    let again = run(&case, &index.url, &["update-components"]);
    assert_eq!(again.status.code(), Some(0), "{}", shown(&again));
    let relocked: serde_json::Value = serde_json::from_str(&read(&lock_path)).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert_eq!(relocked, expected);
    let dir = case.pkgs().parent().unwrap().to_owned();
    let eval = |attr: &str| support::builder::evaluate_python(&dir, attr).unwrap();
    let vthermy_args = eval("vthermy");
    assert_eq!(
        vthermy_args["nativeCheckInputs"][0]["pname"], "homeassistant",
        "{vthermy_args}"
    );
    assert_eq!(
        vthermy_args["dependencies"][0]["pname"], "pytz",
        "{vthermy_args}"
    );
    assert_eq!(
        eval("halfy")["pythonImportsCheck"],
        serde_json::json!(["halfy_ok"])
    );
    let hareq_args = eval("hareq");
    assert_eq!(
        hareq_args["pythonRelaxDeps"],
        serde_json::json!(["homeassistant"])
    );
    assert_eq!(hareq_args["nativeCheckInputs"][0]["pname"], "homeassistant");
    let files = |name: &str| index.files.get(name).cloned();
    for attr in ["plugged", "vthermy", "halfy", "hareq"] {
        support::builder::build_python(&dir, attr, &files)
            .unwrap_or_else(|e| panic!("{attr}: {e}"));
    }
    // Each repair undone: the real build fails where it was needed.
    let undo = |attr: &str, from: &str, to: &str, phase: &str| {
        let file = case.pkgs().join(format!("python/{attr}/default.nix"));
        let text = read(&file);
        assert!(text.contains(from), "{attr}: {from}\n{text}");
        std::fs::write(&file, text.replace(from, to)).unwrap();
        let err = support::builder::build_python(&dir, attr, &files).unwrap_err();
        assert_eq!(err.phase, phase, "{attr} without `{from}`: {err}");
        std::fs::write(&file, text).unwrap();
    };
    undo(
        "plugged",
        "  build-system = [\n    setuptools\n    verhelp\n  ];\n",
        "  build-system = [ setuptools ];\n",
        "build",
    );
    undo(
        "vthermy",
        "  nativeCheckInputs = [ home-assistant ];\n",
        "",
        "imports-check",
    );
    undo(
        "vthermy",
        "  dependencies = [ pytz ];\n",
        "",
        "imports-check",
    );
    undo(
        "halfy",
        "  pythonImportsCheck = [ \"halfy_ok\" ];\n",
        "  pythonImportsCheck = [\n    \"halfy\"\n    \"halfy_ok\"\n  ];\n",
        "imports-check",
    );
    undo(
        "hareq",
        "  pythonRelaxDeps = [ \"homeassistant\" ];\n",
        "",
        "runtime-deps-check",
    );
    undo(
        "hareq",
        "  nativeCheckInputs = [ home-assistant ];\n",
        "",
        "runtime-deps-check",
    );
}
