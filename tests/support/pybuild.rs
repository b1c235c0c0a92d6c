//! Python packages built for real, with their real build backends, the way nixpkgs'
//! `buildPythonPackage` builds them (`tests/oracles/build_python_package.py` runs the phases):
//! the build environments are the ones `scripts/oracles` installs under `.venv-oracle/build`
//! (each backend of the fixture set at the set's version, the front end `build` + `installer`,
//! and a venv with neither pip nor setuptools), and nixpkgs' own runtime dependency check hook
//! from `shared/nixpkgs/python`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};

use super::builder::Failed;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// `.venv-oracle/build` (or `HACS_NIX_BUILD_ENV`); a test that needs it fails without it.
pub fn build_env() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::var_os("HACS_NIX_BUILD_ENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(ROOT).join(".venv-oracle/build"));
        assert!(
            dir.join("bare/bin/python").exists()
                && dir.join("frontend/.done").exists()
                && dir.join("hook-wheel/.done").exists(),
            "no build environments at {}: run `bash scripts/oracles`",
            dir.display()
        );
        dir
    })
    .clone()
}

/// The folder holding build requirement `pname` at the set's `version` (any version when the
/// evaluation did not say, `"0"`).
fn backend(pname: &str, version: &str) -> Result<PathBuf, Failed> {
    let set = build_env().join("set");
    let exact = set.join(format!("{pname}-{version}"));
    if exact.join(".done").exists() {
        return Ok(exact);
    }
    let any: Vec<PathBuf> = fs::read_dir(&set)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(pname))
                .is_some_and(|rest| {
                    rest.starts_with('-') && rest[1..].starts_with(|c: char| c.is_ascii_digit())
                })
        })
        .collect();
    match any.as_slice() {
        [one] if version == "0" => Ok(one.clone()),
        _ => Err(Failed {
            phase: "build".into(),
            message: format!(
                "no build environment for {pname} {version} under {}: add it to scripts/oracles",
                set.display()
            ),
        }),
    }
}

#[allow(clippy::print_stderr)] // a build with the network must be seen in the test output
/// Whether `unshare -rn` can cut the network here (it can as root and in user namespaces).
fn unshare() -> Vec<String> {
    static WORKS: OnceLock<bool> = OnceLock::new();
    let works = *WORKS.get_or_init(|| {
        Command::new("unshare")
            .args(["-rn", "true"])
            .status()
            .is_ok_and(|s| s.success())
    });
    if works {
        vec!["unshare".into(), "-rn".into()]
    } else {
        eprintln!("\n!!! unshare -rn does not work here: builds run with the network\n");
        Vec::new()
    }
}

/// nixpkgs' `python-runtime-deps-check-hook.py`, where shared/nixpkgs is at hand.
fn deps_hook() -> Option<PathBuf> {
    let hook = std::env::var_os("HACS_NIX_NIXPKGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join("../shared/nixpkgs"))
        .join("python/python-runtime-deps-check-hook.py");
    hook.is_file().then_some(hook)
}

/// The file `src` fetches, as evaluated.
fn src_file(src: &Value) -> String {
    if let Some(url) = src["url"].as_str() {
        return url.rsplit('/').next().unwrap_or_default().to_owned();
    }
    super::builder::fetch_pypi_file(src)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

#[allow(clippy::print_stderr)] // a skipped check must be seen in the test output
/// Builds the evaluated generated package `args` and, first, each generated package it needs;
/// returns the `site-packages` folders it brings (its own and its dependencies', as nixpkgs
/// propagates them). `built` remembers what is built, by pname.
pub fn build(
    args: &Value,
    files: &dyn Fn(&str) -> Option<Vec<u8>>,
    work: &Path,
    built: &mut BTreeMap<String, Vec<PathBuf>>,
) -> Result<Vec<PathBuf>, Failed> {
    let pname = args["pname"].as_str().unwrap_or_default().to_owned();
    if let Some(done) = built.get(&pname) {
        return Ok(done.clone());
    }
    let failed = |phase: &str, message: String| Failed {
        phase: phase.into(),
        message: format!("{pname}: {message}"),
    };
    let set_site = work.join("set-site-packages");
    fs::create_dir_all(&set_site).unwrap();
    let mut deps: Vec<PathBuf> = vec![set_site.clone()];
    for dep in args["dependencies"].as_array().into_iter().flatten() {
        if dep["generated"] == Value::Bool(true) {
            add_new(&mut deps, build(dep, files, work, built)?);
        } else {
            set_package(&set_site, dep);
        }
    }
    // nativeCheckInputs (Home Assistant): on the path of the checks only, in a folder of
    // their own, so a package that does not name them cannot import them.
    let check_site = work.join(format!("{pname}-check-inputs"));
    fs::create_dir_all(&check_site).unwrap();
    for input in args["nativeCheckInputs"].as_array().into_iter().flatten() {
        set_package(&check_site, input);
    }
    // fetch: the file and its hash.
    let name = src_file(&args["src"]);
    let bytes = files(&name).ok_or_else(|| failed("fetch", format!("the index has no {name}")))?;
    let want = hacs_nix::hash::Sha256Digest::parse(args["src"]["hash"].as_str().unwrap_or(""))
        .map_err(|e| failed("fetch", e.to_string()))?;
    let dir = work.join(&pname);
    fs::create_dir_all(&dir).unwrap();
    let src = dir.join(&name);
    fs::write(&src, &bytes).unwrap();
    // The hash as a real tool computes it.
    let sum = Command::new("sha256sum").arg(&src).output().unwrap();
    let got = String::from_utf8_lossy(&sum.stdout);
    if got.split_whitespace().next() != Some(want.to_hex().as_str()) {
        return Err(failed("fetch", format!("{name}: hash mismatch, got {got}")));
    }
    let mut build_system = Vec::new();
    for b in args["build-system"].as_array().into_iter().flatten() {
        if b["generated"] == Value::Bool(true) {
            // A build requirement the set lacked, generated: built first, as nixpkgs builds
            // an input before the package that needs it.
            add_new(&mut build_system, build(b, files, work, built)?);
            continue;
        }
        let (p, v) = (
            b["pname"].as_str().unwrap_or_default(),
            b["version"].as_str().unwrap_or("0"),
        );
        build_system.push(backend(p, v)?);
    }
    let env = build_env();
    let hook = deps_hook();
    if hook.is_none() {
        eprintln!(
            "\n!!! SKIPPED for {pname}: nixpkgs' runtime dependency check hook was not found \
             (shared/nixpkgs/python beside the checkout, or HACS_NIX_NIXPKGS)\n"
        );
    }
    let spec = json!({
        "work": dir,
        "out": dir.join("out"),
        "python": env.join("bare/bin/python"),
        "frontend": env.join("frontend"),
        "hook_path": env.join("hook-26"),
        "wheel_hook": env.join("hook-wheel"),
        "deps_hook": hook,
        "src": src,
        "wheel": args["format"] == "wheel",
        "postPatch": args["postPatch"],
        "build_system": build_system,
        "unshare": unshare(),
        "relax": strings(&args["pythonRelaxDeps"]),
        "dependencies": deps,
        "check_inputs": [check_site],
        "imports": strings(&args["pythonImportsCheck"]),
    });
    let spec_file = dir.join("spec.json");
    fs::write(&spec_file, spec.to_string()).unwrap();
    let run = Command::new(super::builder::oracle_python())
        .arg(format!("{ROOT}/tests/oracles/build_python_package.py"))
        .arg(&spec_file)
        .output()
        .unwrap();
    if !run.status.success() {
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        let phase = stderr
            .lines()
            .find_map(|l| l.strip_prefix("@@phase "))
            .unwrap_or("build")
            .to_owned();
        return Err(failed(&phase, stderr));
    }
    let site = PathBuf::from(String::from_utf8_lossy(&run.stdout).trim());
    let mut sites = vec![site];
    sites.extend(deps.into_iter().filter(|d| d != &set_site));
    built.insert(pname, sites.clone());
    Ok(sites)
}

/// `sites` added to `path` in order, each once.
fn add_new(path: &mut Vec<PathBuf>, sites: Vec<PathBuf>) {
    for site in sites {
        if !path.contains(&site) {
            path.push(site);
        }
    }
}

/// A package of Home Assistant's set (or Home Assistant) as installed, as far as a generated
/// package's checks meet it: its `dist-info` at the set's version (what nixpkgs' runtime
/// dependency check reads), and a package for each module it installs (its
/// `pythonImportsCheck`, else its name) in which every submodule and name can be imported
/// (`from homeassistant.core import HomeAssistant`): the packages under test import their
/// dependencies, never use them while being imported.
fn set_package(site: &Path, dep: &Value) {
    let pname = dep["pname"].as_str().unwrap_or_default();
    let version = dep["version"].as_str().unwrap_or_default();
    if REAL_SET.load(std::sync::atomic::Ordering::Relaxed)
        && pname != "homeassistant"
        && let Some(installed) = real_set_package(pname, version)
    {
        // Linked in: the folder then holds the real package and what pip put beside it.
        for entry in fs::read_dir(&installed).unwrap().flatten() {
            let to = site.join(entry.file_name());
            if !to.exists() {
                std::os::unix::fs::symlink(entry.path(), to).unwrap();
            }
        }
        return;
    }
    super::builder::dist_info(site, pname, version);
    let mut modules: Vec<String> = strings(&dep["imports"])
        .iter()
        .filter_map(|i| i.split('.').next().map(str::to_owned))
        .collect();
    modules.push(hacs_nix::requirement::normalize(pname).replace('-', "_"));
    for module in modules {
        let dir = site.join(&module);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("__init__.py"), ANY_NAME).unwrap();
    }
}

static REAL_SET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on in this test binary, the set's packages a build needs are installed for real
/// (pip's wheels at the set's version for the build interpreter, with what pip resolves for
/// them), for packages that use a dependency while being imported (`pytz.timezone(…)` at the
/// top of a module). Home Assistant stays represented. Needs the index; the live tests use it.
pub fn install_set_packages_for_real() {
    REAL_SET.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// `pname==version` installed from the index by pip for the build interpreter, once.
fn real_set_package(pname: &str, version: &str) -> Option<PathBuf> {
    let env = build_env();
    let dir = env.join("runtime").join(format!("{pname}-{version}"));
    if dir.join(".done").exists() {
        return Some(dir);
    }
    let python = env.join("bare/bin/python");
    let tag = Command::new(&python)
        .args([
            "-c",
            "import sys; print(f'{sys.version_info[0]}{sys.version_info[1]}')",
        ])
        .output()
        .ok()?;
    let tag = String::from_utf8_lossy(&tag.stdout).trim().to_owned();
    let machine = Command::new("uname").arg("-m").output().ok()?;
    let machine = String::from_utf8_lossy(&machine.stdout).trim().to_owned();
    let pip = Path::new(ROOT).join(".venv-oracle/bin/pip");
    let done = Command::new(pip)
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
        ])
        .args(["--only-binary=:all:", "--implementation", "cp"])
        .args(["--python-version", &tag, "--abi", &format!("cp{tag}")])
        .args(["--platform", &format!("manylinux_2_17_{machine}")])
        .args(["--platform", &format!("manylinux2014_{machine}")])
        .arg("--target")
        .arg(&dir)
        .arg(format!("{pname}=={version}"))
        .output()
        .ok()?;
    if !done.status.success() {
        let _ = fs::remove_dir_all(&dir);
        return None;
    }
    fs::write(dir.join(".done"), "").ok()?;
    Some(dir)
}

/// A module in which every name is a class and every submodule importable.
const ANY_NAME: &str = r#"import importlib.abc, importlib.machinery, sys

def __getattr__(name):
    return type(name, (), {})

class _Submodules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.startswith(__name__ + "."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        module.__getattr__ = __getattr__
        module.__path__ = []

sys.meta_path.append(_Submodules())
"#;

/// A source tree packed into an sdist by its real backend (`python -m build --sdist
/// --no-isolation` with only `backends` on the path), once per test binary and tree.
pub fn sdist(tree: &[(String, String)], backends: &[String]) -> (String, Vec<u8>) {
    pack(tree, backends, "--sdist", &[])
}

/// [`sdist`] where some build requirements are none of the build environments' backends but
/// installed wheels (`plugins`: a build helper the set lacks, as upstream had it installed).
pub fn sdist_with(
    tree: &[(String, String)],
    backends: &[String],
    plugins: &[(String, Vec<u8>)],
) -> (String, Vec<u8>) {
    let installed: Vec<PathBuf> = plugins.iter().map(|(n, b)| unzip_wheel(n, b)).collect();
    pack(tree, backends, "--sdist", &installed)
}

/// The same tree built into a wheel (`--wheel`).
pub fn wheel(tree: &[(String, String)], backends: &[String]) -> (String, Vec<u8>) {
    pack(tree, backends, "--wheel", &[])
}

/// A pure wheel installed by unpacking it (what an installer does for one), once per wheel.
fn unzip_wheel(name: &str, bytes: &[u8]) -> PathBuf {
    static DIRS: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    let dirs = DIRS.get_or_init(Default::default);
    if let Some(dir) = dirs.lock().unwrap().get(name) {
        return dir.clone();
    }
    let dir = tempfile::tempdir().unwrap().keep();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    archive.extract(&dir).unwrap();
    dirs.lock().unwrap().insert(name.to_owned(), dir.clone());
    dir
}

/// `PATH` with each build input's `bin/` first, as stdenv puts build inputs' programs on it
/// (uv-build's Python shim runs its `uv-build` program from there).
fn bin_path(dirs: &[PathBuf]) -> std::ffi::OsString {
    let system = std::env::var_os("PATH").unwrap_or_default();
    let bins = dirs
        .iter()
        .map(|d| d.join("bin"))
        .chain(std::env::split_paths(&system));
    std::env::join_paths(bins).unwrap()
}

fn pack(
    tree: &[(String, String)],
    backends: &[String],
    kind: &str,
    plugins: &[PathBuf],
) -> (String, Vec<u8>) {
    type Packed = BTreeMap<String, (String, Vec<u8>)>;
    static CACHE: OnceLock<Mutex<Packed>> = OnceLock::new();
    let key = format!("{tree:?}{backends:?}{kind}{plugins:?}");
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap().get(&key) {
        return hit.clone();
    }
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("project");
    for (path, text) in tree {
        let file = root.join(path);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, text).unwrap();
    }
    let env = build_env();
    let mut path = vec![env.join("frontend")];
    path.extend(plugins.iter().cloned());
    for b in backends {
        let plugin = plugins.iter().any(|dir| {
            fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
                let name = e.file_name().to_string_lossy().to_ascii_lowercase();
                name.ends_with(".dist-info")
                    && name.starts_with(&format!("{}-", b.replace('-', "_")))
            })
        });
        if !plugin {
            path.push(backend(b, "0").unwrap_or_else(|e| panic!("{e}")));
        }
    }
    let joined = std::env::join_paths(&path).unwrap();
    let out = Command::new(env.join("bare/bin/python"))
        // Upstream built it with whatever release its bounds name (flit_core<4); the set's
        // backend packs the same tree, so its bounds are not checked here.
        .args([
            "-m",
            "build",
            "--no-isolation",
            "--skip-dependency-check",
            kind,
            "--outdir",
        ])
        .arg(work.path().join("dist"))
        .arg(&root)
        .env_clear()
        .env("PATH", bin_path(&path))
        .env("PYTHONPATH", joined)
        .env("SOURCE_DATE_EPOCH", "315532800")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the sdist of {tree:?} with {backends:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let file = fs::read_dir(work.path().join("dist"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let got = (
        file.file_name().unwrap().to_string_lossy().into_owned(),
        fs::read(&file).unwrap(),
    );
    cache.lock().unwrap().insert(key, got.clone());
    got
}

/// A checkout holding packages generated by the library (no checkout of their own), each
/// written as `update-components` writes it, with `set`'s snapshot.
pub fn write_generated(
    packages: &BTreeMap<String, hacs_nix::pypi::Package>,
    set: &hacs_nix::pyset::PythonSet,
) -> tempfile::TempDir {
    let checkout = tempfile::tempdir().unwrap();
    let pkgs = checkout.path().join("pkgs");
    fs::create_dir_all(&pkgs).unwrap();
    fs::write(pkgs.join("python-set.json"), set.to_json()).unwrap();
    for (attr, package) in packages {
        let dir = pkgs.join("python").join(attr);
        fs::create_dir_all(&dir).unwrap();
        let text = hacs_nix::nixgen::render_python_package(package).unwrap();
        fs::write(dir.join("default.nix"), text).unwrap();
    }
    checkout
}

/// [`write_generated`], then each package built for real against `set`.
pub fn build_generated(
    packages: &BTreeMap<String, hacs_nix::pypi::Package>,
    set: &hacs_nix::pyset::PythonSet,
    files: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<(), Failed> {
    let checkout = write_generated(packages, set);
    for attr in packages.keys() {
        super::builder::build_python(checkout.path(), attr, files)?;
    }
    Ok(())
}
