//! The builder model: what nixpkgs does with a generated `pkgs/<attr>/default.nix`, step by step,
//! with real tools wherever they exist, written here from the facts in
//! `shared/reference/nixpkgs-builder.md` (no nixpkgs file is copied):
//!
//! 1. evaluate the file with real `nix-instantiate`, `callPackage`-style, against stubs that
//!    record their arguments (`lib.escapeShellArg(s)` as nixpkgs defines them, so `postPatch` is
//!    the exact text a build would run);
//! 2. fetch: the test's archive for `src`'s URL, unpacked as fetchzip does (GNU tar / `unzip`,
//!    `stripRoot`), its `nix-hash` compared with `src.hash`;
//! 3. set the environment as stdenv does in the derivation's mode: plain (every attribute an
//!    exported variable, lists joined by single spaces) or structured (bash variables, arrays
//!    for lists, only the members of `env` exported);
//! 4. run `postPatch` with real bash, the install phase, the fixup's `noBrokenSymlinks`, and the
//!    manifest check hook with a model of `check_manifest.py` (real argparse, real `packaging`,
//!    real `importlib.metadata` over fake `*.dist-info` of exactly the derivation's
//!    `dependencies`, versions from the test's Python set);
//! 5. Home Assistant's loader on what was installed: every folder with a manifest is loaded as
//!    its folder's domain, needs a `domain` equal to it and a version `awesomeversion` accepts.
//!
//! Everything runs below one temporary folder, with a clean environment; a canary beside the
//! build folder shows that nothing is written outside it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::oracle;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The Python with `packaging` and `awesomeversion` (`.ci/run` installs it).
pub fn oracle_python() -> String {
    std::env::var("HACS_NIX_ORACLE_PYTHON")
        .unwrap_or_else(|_| format!("{ROOT}/.venv-oracle/bin/python"))
}

/// `lib.licenses` attributes the generator may write.
const LICENSES: &[&str] = &[
    "mit",
    "asl20",
    "gpl3Only",
    "gpl3Plus",
    "gpl2Only",
    "gpl2Plus",
    "lgpl3Only",
    "lgpl3Plus",
    "lgpl21Only",
    "lgpl21Plus",
    "agpl3Only",
    "agpl3Plus",
    "bsd2",
    "bsd3",
    "bsd0",
    "mpl20",
    "isc",
    "unlicense",
    "cc0",
    "epl20",
    "zlib",
    "wtfpl",
    "eupl12",
];

/// A successful build: the installed tree and what was evaluated.
#[derive(Debug)]
pub struct Built {
    pub work: tempfile::TempDir,
    pub out: PathBuf,
    /// The arguments `buildHomeAssistantComponent` received.
    pub args: Value,
    pub structured: bool,
}

/// Where and why the build stopped.
#[derive(Debug)]
pub struct Failed {
    pub phase: String,
    pub message: String,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.phase, self.message)
    }
}

fn failed(phase: &str, message: impl Into<String>) -> Failed {
    Failed {
        phase: phase.to_owned(),
        message: message.into(),
    }
}

/// Evaluates `body` in `checkout` with `callPackage` bound as Home Assistant's would call a
/// component, against recording stubs; dependencies come back as `{ attr, pname, version }`.
fn eval_with_stubs(checkout: &Path, body: &str) -> Result<Value, Failed> {
    let licenses: String = LICENSES
        .iter()
        .map(|l| format!("{l} = \"{l}\"; "))
        .collect();
    // nixpkgs' `escapeShellArg`: left alone when it matches `[[:alnum:],._+:@%/-]+`, else
    // single-quoted with each `'` written as `'\''`.
    let expr = format!(
        r#"
      let
        snapshot = builtins.fromJSON (builtins.readFile ./pkgs/python-set.json);
        set = snapshot.packages;
        escapeShellArg = arg:
          let s = toString arg; in
          if builtins.match "[[:alnum:],._+:@%/-]+" s == null
          then "'${{builtins.replaceStrings [ "'" ] [ "'\\''" ] s}}'"
          else s;
        # Build tools every real set has (the fixture's snapshot lists only runtime packages).
        tools = builtins.listToAttrs (map (name: {{ inherit name; value = {{ attr = name; pname = name; version = "0"; }}; }})
          [ "setuptools" "setuptools-scm" "hatchling" "hatch-vcs" "hatch-fancy-pypi-readme" "poetry-core" "flit-core" "flit-scm" "pdm-backend" "cython" ]);
        stubs = tools // builtins.mapAttrs (name: p: {{ attr = name; inherit (p) pname version; imports = p.imports or [ ]; }}) set // {{
          # Home Assistant as nixpkgs' Python set's callPackage reaches it (top level).
          home-assistant = {{ attr = "home-assistant"; pname = "homeassistant"; version = snapshot.home_assistant; imports = [ "homeassistant" ]; }};
          lib = {{
            licenses = {{ {licenses} }};
            inherit escapeShellArg;
            escapeShellArgs = args: builtins.concatStringsSep " " (map escapeShellArg args);
          }};
          buildHomeAssistantComponent = args: args;
          buildPythonPackage = args: args // {{ attr = args.pname; generated = true; }};
          fetchPypi = args: args // {{ fetcher = "fetchPypi"; }};
          fetchFromGitHub = args: args // {{ fetcher = "fetchFromGitHub"; }};
          fetchzip = args: args // {{ fetcher = "fetchzip"; }};
          python = {{ interpreter = {python}; }};
        }};
        callPackage = path: overrides:
          let f = import path; in f (builtins.intersectAttrs (builtins.functionArgs f) stubs // overrides);
      in
      {body}
    "#,
        python = serde_json::to_string(&oracle_python()).unwrap(),
    );
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", &expr])
        .current_dir(checkout)
        .output()
        .map_err(|e| failed("evaluate", format!("cannot run nix-instantiate: {e}")))?;
    if !out.status.success() {
        return Err(failed("evaluate", String::from_utf8_lossy(&out.stderr)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| failed("evaluate", e.to_string()))
}

/// The arguments `pkgs/<attr>/default.nix` gives `buildHomeAssistantComponent`, called as the
/// index calls it (so the generated Python packages it needs are handed to it).
pub fn evaluate(checkout: &Path, attr: &str) -> Result<Value, Failed> {
    if checkout.join("pkgs/default.nix").exists() {
        eval_with_stubs(
            checkout,
            &format!("(import ./pkgs {{ inherit callPackage; }}).{attr}"),
        )
    } else {
        eval_with_stubs(checkout, &format!("callPackage ./pkgs/{attr} {{ }}"))
    }
}

/// The arguments the generated `pkgs/python/<attr>/default.nix` gives `buildPythonPackage`.
pub fn evaluate_python(checkout: &Path, attr: &str) -> Result<Value, Failed> {
    // As the index calls it: each argument that is a generated package is handed over.
    let body = format!(
        r#"
        let
          dir = name: ./pkgs/python + "/${{name}}";
          generated = name:
            callPackage (dir name) (builtins.listToAttrs (map (d: {{ name = d; value = generated d; }})
              (builtins.filter (d: builtins.pathExists (dir d)) (builtins.attrNames (builtins.functionArgs (import (dir name)))))));
        in generated {name}
        "#,
        name = serde_json::to_string(attr).unwrap()
    );
    eval_with_stubs(checkout, &body)
}

/// The file name `fetchPypi` asks the index's mirror for (its URL ends with it): the sdist
/// `<pname>-<version>.<extension>`, or the wheel `<pname>-<version>-<python>-<abi>-<platform>.whl`.
pub fn fetch_pypi_file(src: &Value) -> String {
    let s = |k: &str, default: &str| src[k].as_str().unwrap_or(default).to_owned();
    let (pname, version) = (s("pname", ""), s("version", ""));
    if s("format", "setuptools") == "wheel" {
        format!(
            "{pname}-{version}-{}-{}-{}.whl",
            s("python", "py2.py3"),
            s("abi", "none"),
            s("platform", "any")
        )
    } else {
        format!("{pname}-{version}.{}", s("extension", "tar.gz"))
    }
}

/// A generated Python package built for real, as nixpkgs' `buildPythonPackage` builds it
/// (`support::pybuild`): the file `src` fetches checked against `src.hash` with `sha256sum`,
/// built by its declared backend offline, installed, nixpkgs' runtime dependency check and
/// `pythonImportsCheck` run; each generated package it needs is built first. Returns the
/// evaluated arguments.
pub fn build_python(
    checkout: &Path,
    attr: &str,
    files: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<Value, Failed> {
    let args = evaluate_python(checkout, attr)?;
    let work = tempfile::tempdir().unwrap();
    super::pybuild::build(&args, files, work.path(), &mut BTreeMap::new())?;
    Ok(args)
}

/// The generated index `pkgs/default.nix`, every component evaluated.
pub fn evaluate_index(checkout: &Path) -> Result<Value, Failed> {
    eval_with_stubs(checkout, "import ./pkgs { inherit callPackage; }")
}

/// Attribute names of evaluated `dependencies`.
pub fn dependency_attrs(args: &Value) -> Vec<String> {
    args["dependencies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d["attr"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The URL fetchzip downloads for an evaluated `src`.
fn src_url(src: &Value) -> Result<String, Failed> {
    let s = |k: &str| src[k].as_str().map(str::to_owned);
    match src["fetcher"].as_str() {
        Some("fetchzip") => s("url").ok_or_else(|| failed("fetch", "fetchzip without url")),
        Some("fetchFromGitHub") => {
            let (owner, repo) = (
                s("owner").unwrap_or_default(),
                s("repo").unwrap_or_default(),
            );
            match (s("tag"), s("rev")) {
                (Some(tag), None) => Ok(format!(
                    "https://github.com/{owner}/{repo}/archive/refs/tags/{tag}.tar.gz"
                )),
                (None, Some(rev)) => Ok(format!(
                    "https://github.com/{owner}/{repo}/archive/{rev}.tar.gz"
                )),
                _ => Err(failed(
                    "fetch",
                    "fetchFromGitHub needs exactly one of tag and rev",
                )),
            }
        }
        other => Err(failed("fetch", format!("unknown fetcher {other:?}"))),
    }
}

/// A word for bash, single-quoted by hand: the model's own quoting, for values it declares.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// stdenv's string for an attribute in plain mode.
fn plain_value(value: &Value) -> Option<String> {
    Some(match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "1".to_owned(),
        Value::Bool(false) | Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|i| plain_value(i).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" "),
        // A dependency stands for its store path.
        Value::Object(o) if o.contains_key("pname") => format!(
            "/nix/store/00000000000000000000000000000000-python3-{}-{}",
            o["pname"].as_str().unwrap_or_default(),
            o["version"].as_str().unwrap_or_default()
        ),
        Value::Object(_) => return None,
    })
}

/// The declarations stdenv makes for the derivation's attributes.
fn environment(args: &Value, structured: bool) -> Result<String, Failed> {
    let mut script = String::new();
    let Value::Object(map) = args else {
        return Err(failed("evaluate", "the builder received no attribute set"));
    };
    for (name, value) in map {
        // Not derivation attributes: mkDerivation takes meta and passthru off; src is unpacked.
        if matches!(
            name.as_str(),
            "meta" | "passthru" | "src" | "__structuredAttrs"
        ) {
            continue;
        }
        if name == "env" {
            let Value::Object(env) = value else {
                return Err(failed("evaluate", "`env` is not an attribute set"));
            };
            for (k, v) in env {
                if map.contains_key(k) {
                    return Err(failed(
                        "evaluate",
                        format!("mkDerivation: `env.{k}` shadows a derivation argument"),
                    ));
                }
                let v = plain_value(v).unwrap_or_default();
                script.push_str(&format!("declare -x {k}={}\n", quote(&v)));
            }
            continue;
        }
        if structured {
            match value {
                Value::Array(items) => {
                    let items: Vec<String> = items
                        .iter()
                        .map(|i| quote(&plain_value(i).unwrap_or_default()))
                        .collect();
                    script.push_str(&format!("declare -a {name}=({})\n", items.join(" ")));
                }
                other => {
                    let v = plain_value(other).ok_or_else(|| {
                        failed("evaluate", format!("`{name}` cannot be a bash variable"))
                    })?;
                    script.push_str(&format!("declare {name}={}\n", quote(&v)));
                }
            }
        } else {
            let v = plain_value(value).ok_or_else(|| {
                failed(
                    "evaluate",
                    format!("cannot coerce the set `{name}` to a string (plain mode)"),
                )
            })?;
            script.push_str(&format!("export {name}={}\n", quote(&v)));
        }
    }
    Ok(script)
}

/// Fake distributions of exactly the derivation's dependencies.
fn site(args: &Value, dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for dep in args["dependencies"].as_array().into_iter().flatten() {
        dist_info(
            dir,
            dep["pname"].as_str().unwrap_or_default(),
            dep["version"].as_str().unwrap_or_default(),
        );
    }
}

/// A distribution as installed, as far as `importlib.metadata` reads it: its `*.dist-info`
/// with name and version.
pub fn dist_info(site: &Path, pname: &str, version: &str) {
    let folder: String = pname
        .chars()
        .map(|c| if matches!(c, '-' | '.') { '_' } else { c })
        .collect();
    let info = site.join(format!("{folder}-{version}.dist-info"));
    fs::create_dir_all(&info).unwrap();
    fs::write(
        info.join("METADATA"),
        format!("Metadata-Version: 2.1\nName: {pname}\nVersion: {version}\n"),
    )
    .unwrap();
}

/// Builds `attr` of `checkout`; `archive` gives the bytes behind a download URL.
pub fn build(
    checkout: &Path,
    attr: &str,
    archive: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<Built, Failed> {
    let args = evaluate(checkout, attr)?;
    let structured = args["__structuredAttrs"] == Value::Bool(true);
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("build");
    let canary = work.path().join("canary");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&canary).unwrap();

    // Fetch and verify, as fetchzip.
    let url = src_url(&args["src"])?;
    let bytes = archive(&url).ok_or_else(|| failed("fetch", format!("nothing served at {url}")))?;
    let file = root.join("download");
    fs::write(&file, bytes).unwrap();
    let strip = args["src"]["stripRoot"].as_bool().unwrap_or(true);
    let store = root.join("store");
    fs::create_dir_all(&store).unwrap();
    let unpacked = oracle::fetchzip_unpack(&file, strip, &store);
    let want = args["src"]["hash"].as_str().unwrap_or_default();
    let want = hacs_nix::hash::Sha256Digest::parse(want)
        .map_err(|e| failed("fetch", format!("bad hash {want}: {e}")))?
        .to_hex();
    let got = oracle::nix_hash(&unpacked);
    if got != want {
        return Err(failed(
            "fetch",
            format!("hash mismatch in fixed-output derivation: specified {want}, got {got}"),
        ));
    }
    // unpackPhase copies the store path and makes it writable.
    let source = root.join("source");
    let copy = Command::new("cp")
        .arg("-a")
        .arg(&unpacked)
        .arg(&source)
        .status()
        .unwrap();
    assert!(copy.success());
    Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&source)
        .status()
        .unwrap();

    let sitedir = root.join("site-packages");
    site(&args, &sitedir);
    let out = root.join("out");
    let mut script = environment(&args, structured)?;
    // stdenv's own variables: the output, and (from the Python setup hooks) the build inputs.
    script.push_str(&format!("declare out={}\n", quote(&out.to_string_lossy())));
    script.push_str(&format!(
        "export PYTHONPATH={}\n",
        quote(&sitedir.to_string_lossy())
    ));
    script.push_str(&format!(
        "source {}\n",
        quote(&format!("{ROOT}/tests/support/builder_phases.sh"))
    ));
    let run = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", &script])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", work.path().join("homeless-shelter"))
        .env("TMPDIR", &root)
        .env("MODEL_PYTHON", oracle_python())
        .env(
            "MODEL_CHECK",
            format!("{ROOT}/tests/oracles/check_manifest_model.py"),
        )
        .env("MODEL_SOURCE", &source)
        .current_dir(&root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    let phase = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("@@phase "))
        .unwrap_or("patch")
        .to_owned();
    if !run.status.success() {
        let message: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("@@")).collect();
        return Err(Failed {
            phase,
            message: message.join("\n"),
        });
    }
    assert!(
        fs::read_dir(&canary).unwrap().next().is_none(),
        "the build wrote outside its folder"
    );
    for entry in fs::read_dir(work.path()).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(
            name == "build" || name == "canary",
            "the build wrote {name:?} beside its folder"
        );
    }
    load(&out)?;
    Ok(Built {
        work,
        out,
        args,
        structured,
    })
}

/// Home Assistant's loader on `$out`: the NixOS module links every folder holding a
/// `manifest.json` into `custom_components/`, and each is loaded as that folder's domain.
pub fn load(out: &Path) -> Result<BTreeMap<String, Value>, Failed> {
    let mut manifests = BTreeMap::new();
    let components = out.join("custom_components");
    let entries = fs::read_dir(&components)
        .map_err(|e| failed("load", format!("no custom_components/ in $out: {e}")))?;
    for entry in entries {
        let entry = entry.unwrap();
        let folder = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path().join("manifest.json");
        if !path.is_file() {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let manifest: Value = serde_json::from_str(&text)
            .map_err(|e| failed("load", format!("{folder}/manifest.json is not JSON: {e}")))?;
        let domain = manifest["domain"].as_str().ok_or_else(|| {
            failed(
                "load",
                format!("{folder}/manifest.json: KeyError: 'domain'"),
            )
        })?;
        if domain != folder {
            return Err(failed(
                "load",
                format!("custom_components/{folder} holds the domain `{domain}`"),
            ));
        }
        manifests.insert(folder, manifest);
    }
    if manifests.is_empty() {
        return Err(failed("load", "no integration installed"));
    }
    let versions: Vec<Value> = manifests.values().map(|m| m["version"].clone()).collect();
    let verdicts = version_verdicts(&versions);
    for ((folder, manifest), ok) in manifests.iter().zip(verdicts) {
        if !ok {
            return Err(failed(
                "load",
                format!(
                    "{folder}: does not have a valid version key ({}) in the manifest file and was blocked from loading",
                    manifest["version"]
                ),
            ));
        }
    }
    Ok(manifests)
}

/// The `awesomeversion` oracle's verdicts (tests/oracles/ha_version.py).
pub fn version_verdicts(values: &[Value]) -> Vec<bool> {
    use std::io::Write;
    let mut child = Command::new(oracle_python())
        .arg(format!("{ROOT}/tests/oracles/ha_version.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the oracle Python (.ci/run installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(values).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}
