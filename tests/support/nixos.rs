//! hacs-nix's NixOS module under nixpkgs' real module system and real Home Assistant module
//! (`module_eval.nix`), and what NixOS then does with the values, run for real: each package's
//! output built where the evaluation put it (the builder model for integrations, the card and
//! theme install phases by bash), nixpkgs' `buildEnv` as its symlink merge, and the Home
//! Assistant unit's `preStart` by bash against a config folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// nixpkgs' real `lib` and Home Assistant modules: `HACS_NIX_NIXPKGS`, else `../shared/nixpkgs`
/// beside the checkout. None (and a loud line on stderr) when neither holds them.
#[allow(clippy::print_stderr)] // a skipped check must be seen in the test output
pub fn real_nixpkgs() -> Option<PathBuf> {
    let candidates = std::env::var_os("HACS_NIX_NIXPKGS")
        .map(PathBuf::from)
        .into_iter()
        .chain([Path::new(ROOT).join("../shared/nixpkgs")]);
    for dir in candidates {
        if dir.join("lib/default.nix").is_file()
            && dir.join("nixos/home-assistant-2026.nix").is_file()
            && dir.join("nixos/home-assistant-2025.nix").is_file()
        {
            return Some(dir.canonicalize().unwrap_or(dir));
        }
    }
    eprintln!(
        "\n!!! SKIPPED: nixpkgs' real lib and Home Assistant modules were not found \
         (set HACS_NIX_NIXPKGS to a folder with lib/ and nixos/home-assistant-{{2025,2026}}.nix, \
         or put shared/nixpkgs beside the checkout); the NixOS module was NOT checked.\n"
    );
    None
}

/// One evaluation of a host.
pub struct Host<'a> {
    pub nixpkgs: &'a Path,
    pub generation: &'a str,
    /// The folder whose flake.nix is under test.
    pub flake: &'a Path,
    pub out_root: &'a Path,
    /// `services.home-assistant` settings, with `hacs-nix.pkgs` as a path string.
    pub settings: Value,
    pub ha_version: &'a str,
    pub ha_name: &'a str,
    /// fetchurl URL → local file.
    pub sources: BTreeMap<String, PathBuf>,
}

/// What the real modules made of a host: the JSON of `module_eval.nix`, and every `buildEnv`
/// (output → paths) and generated YAML file (name → value) the evaluation asked for.
#[derive(Debug)]
pub struct Evaluated {
    pub value: Value,
    pub envs: BTreeMap<String, Vec<String>>,
    pub generated: BTreeMap<String, Value>,
}

impl Evaluated {
    pub fn get(&self, pointer: &str) -> Value {
        self.value.pointer(pointer).cloned().unwrap_or(Value::Null)
    }

    /// The configuration.yaml nixpkgs' module renders.
    pub fn configuration(&self) -> Value {
        self.generated
            .get("configuration.yaml")
            .cloned()
            .unwrap_or(Value::Null)
    }
}

/// Evaluates `host`; Err with Nix's message when evaluation fails.
pub fn evaluate(host: &Host) -> Result<Evaluated, String> {
    let sources: BTreeMap<String, String> = host
        .sources
        .iter()
        .map(|(k, v)| (k.clone(), v.display().to_string()))
        .collect();
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(format!("{ROOT}/tests/support/module_eval.nix"))
        .args(["--argstr", "nixpkgs"])
        .arg(host.nixpkgs)
        .args(["--argstr", "generation", host.generation])
        .args(["--argstr", "flake"])
        .arg(host.flake)
        .args(["--argstr", "outRoot"])
        .arg(host.out_root)
        .args(["--argstr", "host", &host.settings.to_string()])
        .args(["--argstr", "haVersion", host.ha_version])
        .args(["--argstr", "haName", host.ha_name])
        .args([
            "--argstr",
            "sources",
            &serde_json::to_string(&sources).unwrap(),
        ])
        .env("NIX_CONFIG", "build-users-group =")
        .output()
        .expect("nix-instantiate (nix-bin)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(stderr);
    }
    let mut envs = BTreeMap::new();
    let mut generated = BTreeMap::new();
    for line in stderr.lines() {
        let Some(json) = line.strip_prefix("trace: ") else {
            continue;
        };
        let Ok(traced) = serde_json::from_str::<Value>(json) else {
            continue;
        };
        if let Some(env) = traced["env"].as_str() {
            let paths = traced["paths"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_owned())
                .collect();
            envs.insert(env.to_owned(), paths);
        } else if let Some(name) = traced["generated"].as_str() {
            generated.insert(name.to_owned(), traced["value"].clone());
        }
    }
    Ok(Evaluated {
        value: serde_json::from_slice(&out.stdout).unwrap(),
        envs,
        generated,
    })
}

/// nixpkgs' `buildEnv`: a folder of symlinks to every file of every path, sub-folders merged;
/// two paths with the same file are a collision and fail the build, as buildEnv's do.
pub fn build_env(out: &Path, paths: &[String]) -> Result<(), String> {
    std::fs::create_dir_all(out).unwrap();
    for path in paths {
        merge(Path::new(path), out)?;
    }
    Ok(())
}

fn merge(from: &Path, to: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            merge(&entry.path(), &target)?;
        } else if target.symlink_metadata().is_ok() {
            return Err(format!(
                "collision between {} and {}",
                entry.path().display(),
                std::fs::read_link(&target).unwrap_or_default().display()
            ));
        } else {
            std::os::unix::fs::symlink(entry.path(), &target).unwrap();
        }
    }
    Ok(())
}

/// A phase as stdenv runs it (in the unpacked source, or nowhere with dontUnpack), with
/// `substituteInPlace --replace-fail` modelled: a pattern not found fails the build.
pub fn install(phase: &str, src: Option<&Path>, out: &Path) -> Result<(), String> {
    let script = format!(
        r#"set -euo pipefail
runHook() {{ :; }}
substituteInPlace() {{
  local file="$1"; shift
  while [ $# -gt 0 ]; do
    [ "$1" = --replace-fail ] || {{ echo "unknown $1" >&2; return 1; }}
    local content; content="$(cat -- "$file"; printf x)"; content="${{content%x}}"
    case "$content" in *"$2"*) ;; *) echo "substituteInPlace: '$2' not found in $file" >&2; return 1;; esac
    printf '%s' "${{content//"$2"/"$3"}}" > "$file"
    shift 3
  done
}}
{phase}"#
    );
    let mut command = Command::new("bash");
    command.arg("-c").arg(&script).env("out", out);
    if let Some(src) = src {
        command.current_dir(src);
    }
    let result = command.output().unwrap();
    if result.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&result.stderr).into_owned())
    }
}

/// The Home Assistant unit's `preStart`, run by bash as systemd would (its config folder must
/// exist, as `users.users.hass.createHome` makes it).
pub fn run_pre_start(pre_start: &str, config_dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(config_dir).unwrap();
    let result = Command::new("bash")
        .args(["-e", "-c", pre_start])
        .current_dir(config_dir)
        .output()
        .unwrap();
    if result.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&result.stderr).into_owned())
    }
}

/// The relative imports of an ES module: `import … from "./x.js"`, `import("./x.js")`,
/// `export … from "./x.js"`.
pub fn relative_imports(js: &str) -> Vec<String> {
    let mut out = Vec::new();
    for quote in ['"', '\''] {
        for prefix in ["./", "../"] {
            let needle = format!("{quote}{prefix}");
            let mut rest = js;
            while let Some(at) = rest.find(&needle) {
                let after = &rest[at + 1..];
                let end = after.find(quote).unwrap_or(after.len());
                out.push(after[..end].to_owned());
                rest = &after[end..];
            }
        }
    }
    out
}

/// `nix-instantiate --eval --strict --json -E expr`, which must succeed.
pub fn eval_json(expr: &str) -> Value {
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", expr])
        .output()
        .expect("nix-instantiate (nix-bin)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
