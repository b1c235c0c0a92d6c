//! The Python package index room: which index (as pip is configured), a project's files over a
//! loopback index (PEP 691 JSON), and pip's choice of release and file for a requirement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use hacs_nix::pypi::{self, Kind, NotChosen, Project};
use serde_json::json;
use support::http::{Reply, serve};
use support::index::{Served, fixture_set, serve_index, wanted};

fn file(name: &str, requires_python: Option<&str>, yanked: serde_json::Value) -> serde_json::Value {
    json!({
        "filename": name,
        "url": format!("https://files.example/{name}"),
        "hashes": { "sha256": format!("{:064x}", name.len()) },
        "requires-python": requires_python,
        "yanked": yanked
    })
}

fn project(files: Vec<serde_json::Value>) -> Project {
    serde_json::from_value(json!({ "name": "x", "files": files })).unwrap()
}

fn choose(project: &Project, requirement: &str) -> Result<pypi::Chosen, NotChosen> {
    pypi::choose(
        project,
        &hacs_nix::requirement::parse(requirement).unwrap(),
        "3.14.0",
    )
}

#[test]
fn chooses_as_pip_would() {
    let micloud = project(vec![
        file("micloud-0.5.tar.gz", None, json!(false)),
        file("micloud-0.6.tar.gz", Some(">=3.7"), json!(false)),
        file("micloud-0.6-py3-none-any.whl", Some(">=3.7"), json!(false)),
        // Yanked, a pre-release, and one that excludes Home Assistant's Python.
        file("micloud-0.7.tar.gz", None, json!("broken upload")),
        file("micloud-0.8b1.tar.gz", None, json!(false)),
        file("micloud-0.9.tar.gz", Some("<3.14"), json!(false)),
    ]);
    let chosen = choose(&micloud, "micloud").unwrap();
    assert_eq!(chosen.version.to_string(), "0.6");
    assert_eq!(chosen.kind, Kind::Sdist, "the sdist before the wheel");
    assert_eq!(chosen.file.filename, "micloud-0.6.tar.gz");
    assert_eq!(chosen.sha256.len(), 64);
    // The specifier rules.
    assert_eq!(
        choose(&micloud, "micloud<0.6").unwrap().version.to_string(),
        "0.5"
    );
    assert_eq!(
        choose(&micloud, "micloud>=0.8b1,<0.9")
            .unwrap()
            .version
            .to_string(),
        "0.8b1",
        "a named pre-release"
    );
    assert_eq!(
        choose(&micloud, "micloud==0.7")
            .unwrap()
            .version
            .to_string(),
        "0.7",
        "a yanked release only when pinned"
    );
    assert_eq!(
        choose(&micloud, "micloud>=0.9"),
        Err(NotChosen::PythonExcluded {
            name: "micloud".to_owned(),
            python: "3.14.0".to_owned()
        })
    );
    assert_eq!(
        choose(&micloud, "micloud>=2"),
        Err(NotChosen::NoMatchingRelease("micloud".to_owned()))
    );

    // Names spelled otherwise, a pure wheel when there is no sdist, compiled wheels refused.
    let mixed = project(vec![
        file("Py_Thing-1.0-py2.py3-none-any.whl", None, json!(false)),
        file(
            "py_thing-2.0-cp314-cp314-manylinux_2_17_x86_64.whl",
            None,
            json!(false),
        ),
        file("other-3.0.tar.gz", None, json!(false)),
    ]);
    assert_eq!(choose(&mixed, "py-thing<2").unwrap().kind, Kind::PureWheel);
    assert_eq!(
        choose(&mixed, "PY.THING"),
        Err(NotChosen::NoBuildableFile {
            name: "PY.THING".to_owned(),
            version: "2.0".to_owned()
        })
    );
}

#[test]
fn reads_a_project_from_a_loopback_index() {
    let page = json!({
        "meta": { "api-version": "1.1" }, "name": "micloud",
        "files": [ file("micloud-0.6.tar.gz", Some(">=3.7"), json!(false)) ]
    })
    .to_string();
    let server = serve(vec![("/simple/micloud/", Reply::Ok(page.into_bytes()))]);
    let index = format!("{}/simple", server.base);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = pypi::client().unwrap();
    let project = rt
        .block_on(pypi::project(&client, &index, "micloud"))
        .unwrap();
    assert_eq!(project.files[0].filename, "micloud-0.6.tar.gz");
    let err = rt
        .block_on(pypi::project(&client, &index, "absent"))
        .unwrap_err();
    assert!(err.to_string().contains("/simple/absent/"), "{err}");
}

#[test]
fn the_index_is_found_as_pip_finds_it() {
    let python = support::builder::oracle_python();
    // Without any configuration: pip's own default, asked of pip (an https simple index).
    let default = pypi::index_url_with(&|_| None, &python).unwrap();
    assert!(
        default.starts_with("https://") && default.ends_with("/simple"),
        "{default}"
    );
    // Ours first, then pip's variable.
    let env = |name: &str| match name {
        "HACS_NIX_PYTHON_INDEX" => Some("http://127.0.0.1:9/simple/".to_owned()),
        "PIP_INDEX_URL" => Some("http://127.0.0.1:8/simple".to_owned()),
        _ => None,
    };
    assert_eq!(
        pypi::index_url_with(&env, &python).unwrap(),
        "http://127.0.0.1:9/simple"
    );
    let pip_only =
        |name: &str| (name == "PIP_INDEX_URL").then(|| "http://127.0.0.1:8/simple".to_owned());
    assert_eq!(
        pypi::index_url_with(&pip_only, &python).unwrap(),
        "http://127.0.0.1:8/simple"
    );
}

/// The file's own metadata, trusted over the index: an old setuptools sdist whose PKG-INFO has
/// no Requires-Dist (its requirements in egg-info/requires.txt, sections included), a modern
/// sdist with pyproject.toml, and a pure wheel.
#[test]
fn reads_the_files_own_metadata() {
    use hacs_nix::pypi::metadata;
    use support::craft::{dir, file as tar_file, tar_gz};
    let work = tempfile::tempdir().unwrap();
    let python = ("3.14", "3.14.0");

    let old = tar_gz(&[
        dir("micloud-0.6/"),
        tar_file(
            "micloud-0.6/PKG-INFO",
            b"Metadata-Version: 1.2\nName: micloud\nVersion: 0.6\nSummary: Xiaomi cloud connect library\nHome-page: https://example.org/micloud\nLicense: MIT\n",
        ),
        tar_file(
            "micloud-0.6/micloud.egg-info/requires.txt",
            b"click\nrequests>=2\ntzlocal\n\n[:python_version < \"3.8\"]\nimportlib-metadata\n\n[cli]\nrich\n",
        ),
        tar_file("micloud-0.6/micloud.egg-info/top_level.txt", b"micloud\n"),
    ]);
    let path = work.path().join("micloud-0.6.tar.gz");
    std::fs::write(&path, old).unwrap();
    let m = metadata::read(&path, "micloud-0.6.tar.gz", &[], python).unwrap();
    assert_eq!((m.name.as_str(), m.version.as_str()), ("micloud", "0.6"));
    assert_eq!(m.requires, ["click", "requests>=2", "tzlocal"]);
    assert_eq!(m.import_names, ["micloud"]);
    assert_eq!(m.license.as_deref(), Some("MIT"));
    assert!(
        m.build_backend.is_none(),
        "no pyproject.toml: setuptools by default"
    );
    let with_cli =
        metadata::read(&path, "micloud-0.6.tar.gz", &["cli".to_owned()], python).unwrap();
    assert!(with_cli.requires.iter().any(|r| r.starts_with("rich")));

    let modern = tar_gz(&[
        dir("thing-1.2/"),
        tar_file(
            "thing-1.2/PKG-INFO",
            b"Metadata-Version: 2.3\nName: Thing\nVersion: 1.2\nLicense-Expression: Apache-2.0\nProject-URL: Homepage, https://example.org/thing\nRequires-Dist: aiohttp>=3\nRequires-Dist: uvloop; sys_platform == \"win32\"\nRequires-Dist: numpy; platform_machine == \"aarch64\"\n",
        ),
        tar_file(
            "thing-1.2/pyproject.toml",
            b"[build-system]\nrequires = [\"hatchling>=1.18\"]\nbuild-backend = \"hatchling.build\"\n",
        ),
    ]);
    let path = work.path().join("thing-1.2.tar.gz");
    std::fs::write(&path, modern).unwrap();
    let m = metadata::read(&path, "thing-1.2.tar.gz", &[], python).unwrap();
    assert_eq!(m.build_backend.as_deref(), Some("hatchling.build"));
    assert_eq!(m.build_requires, ["hatchling>=1.18"]);
    assert_eq!(m.homepage.as_deref(), Some("https://example.org/thing"));
    assert_eq!(m.license.as_deref(), Some("Apache-2.0"));
    assert_eq!(
        m.requires,
        ["aiohttp>=3", "numpy; platform_machine == \"aarch64\""],
        "Windows-only dropped; needed on any flake system kept"
    );

    let wheel = support::craft::zip(&[
        ("pure/__init__.py", 0o644, b"".as_slice()),
        (
            "pure-2.0.dist-info/METADATA",
            0o644,
            b"Metadata-Version: 2.1\nName: pure\nVersion: 2.0\nRequires-Dist: attrs\n".as_slice(),
        ),
        (
            "pure-2.0.dist-info/top_level.txt",
            0o644,
            b"pure\n".as_slice(),
        ),
    ]);
    let path = work.path().join("pure-2.0-py3-none-any.whl");
    std::fs::write(&path, wheel).unwrap();
    let m = metadata::read(&path, "pure-2.0-py3-none-any.whl", &[], python).unwrap();
    assert_eq!(
        (m.name.as_str(), m.requires.as_slice()),
        ("pure", ["attrs".to_owned()].as_slice())
    );
    assert_eq!(m.import_names, ["pure"]);
}

/// `pythonImportsCheck` names what the built distribution installs, never a test suite or a
/// build helper: `tests` in `top_level.txt` (nixpkgs removes `site-packages/tests` before the
/// check), a stray top-level `test_*.py` of an sdist (its wheel does not install it),
/// `setup`, `versioneer`, `hatch_build`; and a modern wheel without `top_level.txt` is read from
/// its `RECORD` (it used to get no import check at all).
#[test]
fn import_names_are_what_installs_without_tests_or_build_helpers() {
    use hacs_nix::pypi::metadata;
    use support::craft::{dir, file as tar_file, tar_gz};
    let work = tempfile::tempdir().unwrap();
    let python = ("3.13", "3.13.2");
    let info = b"Metadata-Version: 2.1\nName: real\nVersion: 1.0\n".as_slice();

    let listed = tar_gz(&[
        dir("real-1.0/"),
        tar_file("real-1.0/PKG-INFO", info),
        tar_file(
            "real-1.0/real.egg-info/top_level.txt",
            b"conftest\nreal\ntests\ntest_real\n",
        ),
    ]);
    let path = work.path().join("real-1.0.tar.gz");
    std::fs::write(&path, listed).unwrap();
    let m = metadata::read(&path, "real-1.0.tar.gz", &[], python).unwrap();
    assert_eq!(m.import_names, ["real"]);

    let stray = tar_gz(&[
        dir("pickledb-1.0/"),
        tar_file(
            "pickledb-1.0/PKG-INFO",
            b"Metadata-Version: 2.1\nName: pickledb\nVersion: 1.0\n",
        ),
        tar_file("pickledb-1.0/pickledb.py", b"X = 1\n"),
        tar_file("pickledb-1.0/test_pickledb.py", b"import pytest\n"),
        tar_file("pickledb-1.0/setup.py", b"from setuptools import setup\n"),
        tar_file("pickledb-1.0/versioneer.py", b""),
        tar_file("pickledb-1.0/hatch_build.py", b""),
    ]);
    let path = work.path().join("pickledb-1.0.tar.gz");
    std::fs::write(&path, stray).unwrap();
    let m = metadata::read(&path, "pickledb-1.0.tar.gz", &[], python).unwrap();
    assert_eq!(m.import_names, ["pickledb"]);

    let record = "modern/__init__.py,sha256=x,1\nmodern/core.py,sha256=x,1\nsingle.py,sha256=x,1\ntests/__init__.py,sha256=x,1\n\"odd,name.py\",sha256=x,1\nmodern-1.0.dist-info/METADATA,sha256=x,1\nmodern-1.0.dist-info/RECORD,,\n";
    let wheel = support::craft::zip(&[
        ("modern/__init__.py", 0o644, b"".as_slice()),
        ("modern/core.py", 0o644, b"".as_slice()),
        ("single.py", 0o644, b"".as_slice()),
        ("tests/__init__.py", 0o644, b"".as_slice()),
        (
            "modern-1.0.dist-info/METADATA",
            0o644,
            b"Metadata-Version: 2.4\nName: modern\nVersion: 1.0\n".as_slice(),
        ),
        ("modern-1.0.dist-info/RECORD", 0o644, record.as_bytes()),
    ]);
    let path = work.path().join("modern-1.0-py3-none-any.whl");
    std::fs::write(&path, wheel).unwrap();
    let m = metadata::read(&path, "modern-1.0-py3-none-any.whl", &[], python).unwrap();
    assert_eq!(m.import_names, ["modern", "single"]);
}

/// The chosen file is downloaded and checked against the index's SHA-256 (what `fetchPypi`
/// checks); a file that does not match is refused.
#[test]
fn downloads_are_checked_against_the_index_digest() {
    let body = b"pretend sdist bytes".to_vec();
    let digest = hacs_nix::hash::Sha256Digest::of(&body).to_hex();
    let server = serve(vec![
        ("/files/good-1.0.tar.gz", Reply::Ok(body.clone())),
        ("/files/bad-1.0.tar.gz", Reply::Ok(b"tampered".to_vec())),
    ]);
    let chosen = |name: &str| pypi::Chosen {
        version: "1.0".parse().unwrap(),
        file: serde_json::from_value(json!({
            "filename": format!("{name}-1.0.tar.gz"),
            "url": format!("{}/files/{name}-1.0.tar.gz", server.base),
            "hashes": { "sha256": digest },
        }))
        .unwrap(),
        kind: Kind::Sdist,
        sha256: digest.clone(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = pypi::client().unwrap();
    let mut out = tempfile::tempfile().unwrap();
    let got = rt
        .block_on(pypi::download(&client, &chosen("good"), &mut out))
        .unwrap();
    assert_eq!(got.to_hex(), digest);
    let mut out = tempfile::tempfile().unwrap();
    let err = rt
        .block_on(pypi::download(&client, &chosen("bad"), &mut out))
        .unwrap_err();
    assert!(err.to_string().contains("nothing was packaged"), "{err}");
}

/// The generated package, evaluated by real Nix against stubs: fetchPypi gets the file's own
/// spelling, version and hash; the build system and dependencies are the set's attributes;
/// upstream text stays text.
#[test]
fn generated_python_packages_evaluate() {
    use hacs_nix::pypi::{Package, build_system, metadata::Metadata};
    let sdist = Package {
        attr: "micloud".to_owned(),
        pname: "micloud".to_owned(),
        version: "0.6".to_owned(),
        file: "micloud-0.6.tar.gz".to_owned(),
        url: None,
        extension: "tar.gz".to_owned(),
        python_tag: None,
        requires: Vec::new(),
        needed_by: Vec::new(),
        hash: "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
        build_system: build_system(&Metadata::default(), &fixture_set())
            .unwrap()
            .attrs,
        build_relax: vec![("flit_core<4,>=3.9".to_owned(), "flit_core".to_owned())],
        dependencies: vec!["click".to_owned(), "requests".to_owned()],
        import_names: vec!["micloud".to_owned(), "micloud_cli".to_owned()],
        module_imports: Some(std::collections::BTreeMap::new()),
        check_inputs: vec!["home-assistant".to_owned()],
        imports_left_out: vec!["micloud_cli".to_owned()],
        build_missing: Vec::new(),
        relax_deps: vec!["Click".to_owned()],
        summary: Some("Xiaomi ${builtins.currentSystem} '' \"cloud\".".to_owned()),
        homepage: Some("https://example.org/micloud".to_owned()),
        license: Some("MIT".to_owned()),
    };
    let wheel = Package {
        attr: "pure".to_owned(),
        pname: "pure".to_owned(),
        extension: "whl".to_owned(),
        python_tag: Some("py2.py3".to_owned()),
        build_system: Vec::new(),
        dependencies: Vec::new(),
        ..sdist.clone()
    };
    // A wheel with a build tag: fetchPypi cannot name it, so its own URL.
    let tagged = Package {
        attr: "tagged".to_owned(),
        pname: "tagged".to_owned(),
        file: "tagged-1.0-1-py3-none-any.whl".to_owned(),
        url: Some("http://127.0.0.1:9/files/tagged-1.0-1-py3-none-any.whl".to_owned()),
        ..wheel.clone()
    };
    let work = tempfile::tempdir().unwrap();
    for (name, package) in [("sdist", &sdist), ("wheel", &wheel), ("tagged", &tagged)] {
        let text = hacs_nix::nixgen::render_python_package(package).unwrap();
        std::fs::write(work.path().join(format!("{name}.nix")), text).unwrap();
    }
    // nixpkgs' real `lib` quotes the shell words where it is at hand; else the same quoting,
    // always quoted (what older nixpkgs wrote).
    let lib = match support::nixos::real_nixpkgs() {
        Some(nixpkgs) => format!(
            "(import {}/lib) // {{ licenses.mit = \"mit\"; }}",
            nixpkgs.display()
        ),
        None => r#"rec {
          licenses.mit = "mit";
          escapeShellArg = arg: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString arg) + "'";
          escapeShellArgs = args: builtins.concatStringsSep " " (map escapeShellArg args);
        }"#
        .to_owned(),
    };
    let expr = r#"
      let
        stubs = {
          lib = LIB;
          buildPythonPackage = args: args;
          fetchPypi = args: args // { fetcher = "fetchPypi"; };
          fetchurl = args: args // { fetcher = "fetchurl"; };
          setuptools = "setuptools"; click = "click"; requests = "requests";
          home-assistant = "home-assistant";
        };
        call = p: let f = import p; in f (builtins.intersectAttrs (builtins.functionArgs f) stubs);
      in { sdist = call ./sdist.nix; wheel = call ./wheel.nix; tagged = call ./tagged.nix; }
    "#
    .replace("LIB", &lib);
    let out = std::process::Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", &expr])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &value["sdist"];
    assert_eq!(s["pyproject"], true);
    assert_eq!(
        (s["src"]["pname"].as_str(), s["src"]["version"].as_str()),
        (Some("micloud"), Some("0.6"))
    );
    assert_eq!(s["src"]["hash"], sdist.hash);
    assert_eq!(s["build-system"], json!(["setuptools"]));
    assert_eq!(s["dependencies"], json!(["click", "requests"]));
    // A module left out of the check is not imported; Home Assistant is given to the checks.
    assert_eq!(s["pythonImportsCheck"], json!(["micloud"]));
    assert_eq!(s["nativeCheckInputs"], json!(["home-assistant"]));
    assert_eq!(s["pythonRelaxDeps"], json!(["Click"]));
    assert_eq!(
        s["meta"]["description"],
        "Xiaomi ${builtins.currentSystem} '' \"cloud\""
    );
    assert_eq!(
        value["tagged"]["src"],
        json!({ "fetcher": "fetchurl", "url": tagged.url, "hash": tagged.hash })
    );
    let w = &value["wheel"];
    assert_eq!(
        (w["format"].as_str(), w["src"]["format"].as_str()),
        (Some("wheel"), Some("wheel"))
    );
    assert_eq!(
        (w["src"]["python"].as_str(), w["src"]["dist"].as_str()),
        (Some("py2.py3"), Some("py2.py3")),
        "the wheel's own Python tag, which fetchPypi puts in its URL"
    );
    assert!(w.get("build-system").is_none());

    // nixpkgs' lib leaves a word of safe characters bare; the fallback quotes every word.
    let post_patch = s["postPatch"].as_str().unwrap().trim();
    assert!(
        [
            "substituteInPlace pyproject.toml --replace-fail 'flit_core<4,>=3.9' flit_core",
            "substituteInPlace pyproject.toml --replace-fail 'flit_core<4,>=3.9' 'flit_core'",
        ]
        .contains(&post_patch),
        "{post_patch}"
    );
}

/// `[build-system].requires` resolved in Home Assistant's set like runtime requirements:
/// backends that compile code are refused; a requirement for Windows only is none; the set's
/// attribute is taken by name (`uv-build`, which no table listed); a bound the set's release
/// is outside (`flit_core<4` against flit-core 4.0.1) is relaxed with a warning (it used to
/// pass unchecked, and `python -m build --no-isolation` then failed: "Unmet dependencies"); a
/// build requirement the set lacks is to be generated, one from a URL refused.
#[test]
fn build_requirements_are_resolved_in_the_set() {
    use hacs_nix::pypi::{build_system, metadata::Metadata};
    let set = fixture_set();
    let meta = |requires: &[&str]| Metadata {
        name: "pkg".to_owned(),
        build_requires: requires.iter().map(|s| (*s).to_owned()).collect(),
        ..Metadata::default()
    };
    assert!(
        build_system(&meta(&["maturin>=1,<2"]), &set)
            .unwrap_err()
            .contains("maturin")
    );
    let hatch = build_system(&meta(&["hatchling", "hatch-vcs", "wheel"]), &set).unwrap();
    assert_eq!(hatch.attrs, ["hatch-vcs", "hatchling"]);
    assert!(hatch.relax.is_empty());
    let rust_on_windows = build_system(
        &meta(&[
            "setuptools>=61",
            "setuptools-rust; sys_platform == 'win32' or sys_platform == 'darwin'",
        ]),
        &set,
    )
    .unwrap();
    assert_eq!(rust_on_windows.attrs, ["setuptools"]);
    let uv = build_system(&meta(&["uv_build>=0.8.0,<0.9"]), &set).unwrap();
    assert_eq!(uv.attrs, ["uv-build"]);
    let flit = build_system(&meta(&["flit_core<4,>=3.9"]), &set).unwrap();
    assert_eq!(flit.attrs, ["flit-core"]);
    assert_eq!(
        flit.relax,
        [("flit_core<4,>=3.9".to_owned(), "flit_core".to_owned())]
    );
    assert!(
        flit.warnings[0].contains("Home Assistant's set has flit-core 4.0.1"),
        "{:?}",
        flit.warnings
    );
    // A build requirement the set lacks is to be generated (it used to refuse the package).
    let plugin = build_system(&meta(&["hatchling", "hatch-regex-commit>=0.0.3"]), &set).unwrap();
    assert_eq!(plugin.attrs, ["hatch-regex-commit", "hatchling"]);
    assert_eq!(plugin.missing, ["hatch-regex-commit>=0.0.3"]);
    assert!(
        build_system(&meta(&["helper @ https://example.org/helper.tar.gz"]), &set)
            .unwrap_err()
            .contains("from a URL")
    );
    assert_eq!(
        build_system(&meta(&[]), &set).unwrap().attrs,
        ["setuptools"]
    );
}

/// Missing requirements packaged recursively from a loopback index: `alpha` (an sdist) needs
/// `beta` (a pure wheel, also missing) and `aiohttp` (in the set); `cyc-a` and `cyc-b` need
/// each other; `native` ships compiled wheels only, and `needs-native` needs it.
#[test]
fn missing_requirements_are_packaged_recursively() {
    use support::craft::{dir, file as tar_file, tar_gz};
    let sdist = |name: &str, requires: &[&str]| {
        let top = format!("{name}-1.0");
        let mut info =
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nSummary: {name}\n");
        for r in requires {
            info.push_str(&format!("Requires-Dist: {r}\n"));
        }
        tar_gz(&[
            dir(&format!("{top}/")),
            tar_file(&format!("{top}/PKG-INFO"), info.as_bytes()),
        ])
    };
    // What is generated is built by its real backend, and built for real below.
    let alpha = support::index::Sdist {
        name: "alpha",
        version: "1.0",
        requires: vec![
            "beta>=2",
            "aiohttp>=3",
            "winonly; sys_platform == \"win32\"",
        ],
        packages: vec!["alpha"],
        summary: "alpha",
        ..support::index::Sdist::default()
    };
    let (beta_file, beta) = support::index::wheel("beta", "2.0", &[], &["beta"]);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("alpha-1.0.tar.gz", alpha.build()),
        (beta_file.as_str(), beta),
        ("cyc-a-1.0.tar.gz", sdist("cyc-a", &["cyc-b"])),
        ("cyc-b-1.0.tar.gz", sdist("cyc-b", &["cyc-a"])),
        (
            "needs-native-1.0.tar.gz",
            sdist("needs-native", &["native"]),
        ),
    ];
    let mut projects: std::collections::BTreeMap<String, Vec<Served>> = Default::default();
    for (name, bytes) in &files {
        let project = hacs_nix::requirement::normalize(
            name.split_once("-1.0")
                .or_else(|| name.split_once("-2.0"))
                .unwrap()
                .0,
        );
        projects
            .entry(project)
            .or_default()
            .push(Served::new((*name).to_owned(), bytes.clone()));
    }
    projects.insert(
        "native".to_owned(),
        vec![Served::new(
            "native-1.0-cp314-cp314-manylinux_2_17_x86_64.whl".to_owned(),
            b"compiled".to_vec(),
        )],
    );
    let projects: Vec<(&str, Vec<Served>)> = projects
        .iter()
        .map(|(p, f)| (p.as_str(), f.clone()))
        .collect();
    let index = serve_index(&projects);
    let set = fixture_set();
    let missing = wanted(&["alpha", "cyc-a", "needs-native"], "test");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let packaged = rt.block_on(pypi::resolve::package_missing(
        &pypi::client().unwrap(),
        &index.url,
        &set,
        &missing,
        pypi::resolve::Context::default(),
    ));
    let attrs: Vec<&str> = packaged.packages.keys().map(String::as_str).collect();
    assert_eq!(attrs, ["alpha", "beta"], "{:?}", packaged.refused);
    let alpha = &packaged.packages["alpha"];
    assert_eq!(
        alpha.dependencies,
        ["aiohttp", "beta"],
        "the set's attribute, the new package; win32 dropped"
    );
    assert_eq!(alpha.build_system, ["setuptools"]);
    assert_eq!(
        alpha.hash,
        hacs_nix::hash::Sha256Digest::of(&files[0].1).to_sri(),
        "the hash of the file as served"
    );
    assert_eq!(
        (
            packaged.packages["beta"].extension.as_str(),
            packaged.packages["beta"].pname.as_str()
        ),
        ("whl", "beta")
    );
    let served = |name: &str| index.files.get(name).cloned();
    support::pybuild::build_generated(&packaged.packages, &set, &served)
        .unwrap_or_else(|e| panic!("{e}"));
    // A cycle is joined (each fetched once), then refused: nixpkgs cannot build it.
    for attr in ["cyc-a", "cyc-b"] {
        assert!(
            packaged.refused[attr].contains("cyc-a → cyc-b → cyc-a"),
            "{:?}",
            packaged.refused
        );
    }
    assert!(
        packaged.refused["native"].contains("compiled"),
        "{:?}",
        packaged.refused
    );
    // The refusal of what needs it carries the reason, not only the name.
    let needs = &packaged.refused["needs-native"];
    assert!(
        needs.starts_with("it needs `native`, which could not be packaged (")
            && needs.contains("compiled"),
        "{needs}"
    );
}

#[allow(clippy::print_stderr)] // which interpreter was compared must be seen
/// The standard library the import check leaves out is the real interpreter's: against the
/// build environment's Python (Home Assistant's 3.13 where the machine has it), every public
/// top-level module of `sys.stdlib_module_names` is in the list, and the list names nothing
/// else but what 3.14 adds.
#[test]
fn the_standard_library_list_is_the_interpreters() {
    let python = support::pybuild::build_env().join("bare/bin/python");
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import sys; print(*sys.version_info[:2]); print(*sorted(n for n in sys.stdlib_module_names if not n.startswith('_')))",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let version: Vec<u32> = lines
        .next()
        .unwrap()
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let real: std::collections::BTreeSet<&str> = lines.next().unwrap().split(' ').collect();
    let ours: std::collections::BTreeSet<&str> = pypi::stdlib::MODULES.iter().copied().collect();
    let invented: Vec<&&str> = ours
        .difference(&real)
        .filter(|n| !["annotationlib", "compression"].contains(n))
        .collect();
    assert!(
        invented.is_empty(),
        "not in Python {version:?}'s standard library: {invented:?}"
    );
    if version >= vec![3, 13] {
        let lacking: Vec<&&str> = real.difference(&ours).collect();
        assert!(
            lacking.is_empty(),
            "Python {version:?} has these too: {lacking:?}"
        );
        assert!(pypi::stdlib::has("asyncio") && pypi::stdlib::has("_thread"));
        assert!(!pypi::stdlib::has("pytz") && !pypi::stdlib::has("homeassistant"));
    } else {
        eprintln!(
            "\n!!! the build environment's Python is {version:?}, not 3.13: only checked that the list invents no module\n"
        );
    }
}
