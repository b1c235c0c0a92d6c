//! The NixOS module as a NixOS user meets it: this flake's `nixosModules.default` evaluated by
//! nixpkgs' real `lib.evalModules` next to nixpkgs' real `services.home-assistant` module (both
//! generations found: 2025 without `themes`, 2026 with it), on a homelab whose own list
//! (`--pkgs hass`) was made by the real binary on the loopback GitHub. Then what NixOS does with
//! the values is run: each package built where the evaluation put it, buildEnv's merge, and the
//! Home Assistant unit's `preStart` by bash, so a resource URL that names no file, an integration
//! not linked, or a theme folder without its files fails here as it would on the host.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::nixos::{self, Evaluated, Host};
use support::oracle;
use support::pipeline::{Case, manifest, path_flake_lock, shown};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// A homelab made as the README says: an empty folder with its own flake.lock, and `add` of an
/// integration, a multi-file card (its entry imports a chunk by relative path and another
/// through HACS's hard-coded path) and a theme, each with `--pkgs hass`.
struct Homelab {
    case: Case,
    card_files: Vec<(String, Vec<u8>)>,
}

const CARD_ENTRY: &str = "import { chunk } from './chunk.js'; import('/hacsfiles/mini-graph-card/lazy.js'); customElements.define('mini-graph-card', X);";
const THEME: &str = "catppuccin-latte:\n  primary-color: \"#8839ef\"\n";

fn homelab() -> Homelab {
    let mut case = Case::new();
    let root = case.dir.path().to_owned();
    std::fs::remove_dir_all(root.join("pkgs")).unwrap();
    std::fs::write(
        root.join("flake.lock"),
        path_flake_lock(&format!("{ROOT}/tests/fixtures/nixpkgs/ha-2026")),
    )
    .unwrap();
    case.frontend_repo(
        "frenck/spook",
        "1.0.0",
        &[],
        &[
            (
                "custom_components/spook/manifest.json",
                &manifest("spook", "1.0.0", &[]),
            ),
            ("custom_components/spook/__init__.py", ""),
        ],
        None,
    );
    let card_files: Vec<(String, Vec<u8>)> = vec![
        (
            "mini-graph-card-bundle.js".to_owned(),
            CARD_ENTRY.as_bytes().to_vec(),
        ),
        ("chunk.js".to_owned(), b"export const chunk = 1;".to_vec()),
        ("lazy.js".to_owned(), b"export default 2;".to_vec()),
    ];
    let assets: Vec<(&str, &[u8])> = card_files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    case.frontend_repo(
        "kalkih/mini-graph-card",
        "v0.12.1",
        &assets,
        &[("src/main.ts", "ts")],
        None,
    );
    case.frontend_repo(
        "catppuccin/home-assistant",
        "v2.1.2",
        &[],
        &[("themes/catppuccin.yaml", THEME), ("README.md", "r")],
        None,
    );
    for repo in [
        "frenck/spook",
        "kalkih/mini-graph-card",
        "catppuccin/home-assistant",
    ] {
        let out = case.run(&["add", repo, "--pkgs", "hass"]);
        assert_eq!(out.status.code(), Some(0), "add {repo}: {}", shown(&out));
    }
    Homelab { case, card_files }
}

impl Homelab {
    fn root(&self) -> &Path {
        self.case.dir.path()
    }

    fn hass(&self) -> PathBuf {
        self.root().join("hass")
    }

    /// fetchurl's URLs (the card's assets) → files holding what GitHub serves there.
    fn sources(&self, work: &Path) -> BTreeMap<String, PathBuf> {
        let lock: Value = serde_json::from_str(
            &std::fs::read_to_string(self.hass().join("components.lock.json")).unwrap(),
        )
        .unwrap();
        let mut out = BTreeMap::new();
        for asset in lock["cards"]["mini-graph-card"]["files"]["assets"]
            .as_array()
            .unwrap()
        {
            let name = asset["name"].as_str().unwrap();
            let bytes = &self.card_files.iter().find(|(n, _)| n == name).unwrap().1;
            let path = work.join(format!("served-{name}"));
            std::fs::write(&path, bytes).unwrap();
            out.insert(asset["url"].as_str().unwrap().to_owned(), path);
        }
        out
    }
}

fn host<'a>(
    nixpkgs: &'a Path,
    generation: &'a str,
    out_root: &'a Path,
    settings: Value,
    sources: BTreeMap<String, PathBuf>,
) -> Host<'a> {
    Host {
        nixpkgs,
        generation,
        flake: Path::new(ROOT),
        out_root,
        settings,
        ha_version: "2026.3.1",
        ha_name: "home-assistant",
        sources,
    }
}

/// Builds every package of the homelab's folder at the `outPath` the evaluation gave it: the
/// integrations by the builder model, cards and themes by their install phases (a theme's
/// source archive unpacked as fetchFromGitHub does); then buildEnv's folders.
fn realise(lab: &Homelab, evaluated: &Evaluated, work: &Path, sources: &BTreeMap<String, PathBuf>) {
    // fetchurl's answers for the install phases, written once.
    let urls = work.join("phase-urls.json");
    std::fs::write(&urls, serde_json::to_string(sources).unwrap()).unwrap();
    let lock: Value = serde_json::from_str(
        &std::fs::read_to_string(lab.hass().join("components.lock.json")).unwrap(),
    )
    .unwrap();
    // The builder model reads `<checkout>/pkgs`: a checkout whose pkgs/ is the homelab's folder.
    let checkout = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(lab.hass(), checkout.path().join("pkgs")).unwrap();
    let fetch = |url: &str| {
        let path = url.strip_prefix("https://github.com")?;
        lab.case.served.get(path).cloned()
    };
    for (attr, out) in evaluated.get("/folderPackages").as_object().unwrap() {
        let out = PathBuf::from(out.as_str().unwrap());
        if lock["components"].get(attr).is_some() {
            let built = support::builder::build(checkout.path(), attr, &fetch)
                .unwrap_or_else(|e| panic!("{attr}: {e}"));
            copy_tree(&built.out, &out);
            continue;
        }
        let src = lock["themes"].get(attr).map(|entry| {
            let repo = entry["repo"].as_str().unwrap();
            let tag = entry["reference"].as_str().unwrap();
            let archive = work.join(format!("{attr}.tar.gz"));
            std::fs::write(
                &archive,
                fetch(&format!(
                    "https://github.com/{repo}/archive/refs/tags/{tag}.tar.gz"
                ))
                .unwrap(),
            )
            .unwrap();
            let unpack = work.join(format!("unpack-{attr}"));
            std::fs::create_dir_all(&unpack).unwrap();
            oracle::fetchzip_unpack(&archive, true, &unpack)
        });
        let phase = install_phase(lab, attr, &urls);
        nixos::install(&phase, src.as_deref(), &out).unwrap_or_else(|e| panic!("{attr}: {e}"));
    }
    for (env, paths) in &evaluated.envs {
        nixos::build_env(Path::new(env), paths).unwrap_or_else(|e| panic!("buildEnv {env}: {e}"));
    }
}

/// A card's or theme's install phase as Nix writes it out (fetchurl → the served files).
fn install_phase(lab: &Homelab, attr: &str, urls: &Path) -> String {
    let expr = format!(
        r#"let
          lib = import {nixpkgs}/lib;
          urls = builtins.fromJSON (builtins.readFile {urls});
          f = import {hass}/{attr};
          scope = {{
            inherit lib;
            fetchurl = {{ url, hash }}: urls.${{url}};
            fetchFromGitHub = args: args;
            stdenvNoCC.mkDerivation = a: a;
          }};
        in (f (builtins.intersectAttrs (builtins.functionArgs f) scope)).installPhase"#,
        nixpkgs = nixos::real_nixpkgs().unwrap().display(),
        urls = urls.display(),
        hass = lab.hass().display(),
    );
    nixos::eval_json(&expr).as_str().unwrap().to_owned()
}

fn copy_tree(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

/// After preStart: every integration linked, every resource URL a file whose relative imports
/// resolve, every theme file in the folder configuration.yaml includes.
fn assert_served(evaluated: &Evaluated, config_dir: &Path) {
    let manifest = config_dir.join("custom_components/spook/manifest.json");
    assert!(manifest.is_file(), "spook linked into custom_components/");
    let configuration = evaluated.configuration();
    let resources = configuration["lovelace"]["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{configuration}");
    for resource in resources {
        let url = resource["url"].as_str().unwrap();
        assert_eq!(resource["type"], "module");
        let path = url
            .strip_prefix("/local/")
            .unwrap()
            .split('?')
            .next()
            .unwrap();
        let file = config_dir.join("www").join(path);
        let js = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{url} → {}: {e}", file.display()));
        let imports = nixos::relative_imports(&js);
        assert!(!imports.is_empty(), "{js}");
        for import in imports {
            let target = file.parent().unwrap().join(&import);
            assert!(
                target.is_file(),
                "{url} imports {import}: no {}",
                target.display()
            );
        }
        assert!(
            js.contains("import('/local/nixos-lovelace-modules/mini-graph-card/lazy.js')"),
            "{js}"
        );
        let lazy = config_dir.join("www/nixos-lovelace-modules/mini-graph-card/lazy.js");
        assert!(lazy.is_file(), "HACS's path, rewritten, names a file");
    }
    let include = configuration["frontend"]["themes"].as_str().unwrap();
    let folder = include
        .strip_prefix("!include_dir_merge_named ")
        .unwrap_or_else(|| panic!("{include}"));
    assert_eq!(
        // `!include_dir_merge_named` reads the folder recursively: each theme in its own
        // folder, named by its attribute (`add` named it after the repository).
        std::fs::read_to_string(Path::new(folder).join("home-assistant/catppuccin.yaml")).unwrap(),
        THEME
    );
}

#[test]
fn a_homelab_list_installs_under_the_real_module_system_of_both_generations() {
    let Some(nixpkgs) = nixos::real_nixpkgs() else {
        return;
    };
    let lab = homelab();
    let toml = std::fs::read_to_string(lab.hass().join("components.toml")).unwrap();
    assert!(
        toml.contains("[spook]")
            && toml
                .contains("[mini-graph-card]\nrepo = \"kalkih/mini-graph-card\"\nkind = \"card\"")
            && toml.contains("kind = \"theme\""),
        "{toml}"
    );
    // The lint, from the homelab's root, against the homelab's own flake.lock.
    let out = lab.case.run(&["lint", "--pkgs", "hass"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(!shown(&out).contains("warning["), "{}", shown(&out));

    for generation in ["2026", "2025"] {
        let work = tempfile::tempdir().unwrap();
        let out_root = work.path().join("out");
        std::fs::create_dir_all(&out_root).unwrap();
        let config_dir = work.path().join("hass-config");
        let sources = lab.sources(work.path());
        let settings = json!({
            "configDir": config_dir,
            "config": { "homeassistant": { "name": "Home" } },
            "hacs-nix": { "enable": true, "pkgs": lab.hass() },
        });
        let evaluated = nixos::evaluate(&host(
            &nixpkgs,
            generation,
            &out_root,
            settings,
            sources.clone(),
        ))
        .unwrap_or_else(|e| panic!("{generation}: {e}"));
        assert_eq!(
            evaluated.get("/failedAssertions"),
            json!([]),
            "{generation}"
        );
        assert_eq!(evaluated.get("/warnings"), json!([]), "{generation}");
        assert_eq!(
            evaluated.get("/customComponents/0/builtWith"),
            "home-assistant-2026.3.1"
        );
        assert_eq!(
            evaluated.get("/customLovelaceModules/0/entrypoint"),
            "mini-graph-card/mini-graph-card-bundle.js"
        );
        let configuration = evaluated.configuration();
        if generation == "2026" {
            assert_eq!(evaluated.get("/themes").as_array().unwrap().len(), 1);
            assert_eq!(configuration["lovelace"]["resource_mode"], "yaml");
        } else {
            // No `themes` option: the include users wrote before it existed.
            assert_eq!(evaluated.get("/themes"), json!([]));
            assert!(
                configuration["frontend"]["themes"]
                    .as_str()
                    .unwrap()
                    .ends_with("env-hacs-nix-themes/themes"),
                "{configuration}"
            );
            // Home Assistant 2026.3 reads resource_mode; the old module does not set it.
            assert_eq!(configuration["lovelace"]["resource_mode"], "yaml");
        }
        realise(&lab, &evaluated, work.path(), &sources);
        let pre_start = evaluated.get("/preStart");
        nixos::run_pre_start(pre_start.as_str().unwrap(), &config_dir)
            .unwrap_or_else(|e| panic!("{generation} preStart: {e}"));
        assert_served(&evaluated, &config_dir);
    }
}

/// Evaluation only: what the module defines for each choice a user makes.
#[test]
fn the_module_follows_enable_only_the_host_home_assistant_and_the_module_generation() {
    let Some(nixpkgs) = nixos::real_nixpkgs() else {
        return;
    };
    let lab = homelab();
    let work = tempfile::tempdir().unwrap();
    let sources = lab.sources(work.path());
    let eval = |generation: &str, hacs: Value, extra: Value, ha_version: &str, ha_name: &str| {
        let mut settings = json!({ "configDir": work.path().join("config"), "hacs-nix": hacs });
        for (k, v) in extra.as_object().unwrap() {
            settings[k] = v.clone();
        }
        let mut h = host(&nixpkgs, generation, work.path(), settings, sources.clone());
        h.ha_version = ha_version;
        h.ha_name = ha_name;
        nixos::evaluate(&h)
    };
    let hass = lab.hass();
    let domains = |e: &Evaluated| -> Vec<String> {
        e.get("/customComponents")
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["domain"].as_str().unwrap().to_owned())
            .collect()
    };
    let config = json!({ "config": { "homeassistant": { "name": "Home" } } });

    for generation in ["2025", "2026"] {
        // Disabled: nothing is added.
        let e = eval(
            generation,
            json!({ "enable": false, "pkgs": hass }),
            config.clone(),
            "2026.3.1",
            "home-assistant",
        )
        .unwrap();
        assert_eq!(e.get("/customComponents"), json!([]), "{generation}");
        assert_eq!(e.get("/customLovelaceModules"), json!([]), "{generation}");
        assert_eq!(e.get("/themes"), json!([]), "{generation}");
        assert_eq!(e.get("/failedAssertions"), json!([]), "{generation}");
        assert!(e.configuration()["frontend"].is_null(), "{generation}");
        assert!(e.configuration()["lovelace"].get("resource_mode").is_none());

        // `only`: the integration and the card, not the theme.
        let e = eval(
            generation,
            json!({ "enable": true, "pkgs": hass, "only": ["spook", "mini-graph-card"] }),
            config.clone(),
            "2026.3.1",
            "home-assistant",
        )
        .unwrap();
        assert_eq!(domains(&e), ["spook"]);
        assert_eq!(
            e.get("/customLovelaceModules/0/entrypoint"),
            "mini-graph-card/mini-graph-card-bundle.js"
        );
        assert_eq!(e.get("/themes"), json!([]));
        assert!(e.configuration()["frontend"].is_null(), "{generation}");

        // A name the folder does not pin: the assertion lists it and what is pinned.
        let e = eval(
            generation,
            json!({ "enable": true, "pkgs": hass, "only": ["spook", "nope"] }),
            config.clone(),
            "2026.3.1",
            "home-assistant",
        )
        .unwrap();
        let failed = e.get("/failedAssertions").to_string();
        assert!(
            failed.contains("only names nope, which")
                && failed.contains("(it pins: home-assistant, mini-graph-card, spook)"),
            "{failed}"
        );

        // An overridden Home Assistant: components are built against it.
        let e = eval(
            generation,
            json!({ "enable": true, "pkgs": hass }),
            config.clone(),
            "2026.3.1",
            "my-home-assistant",
        )
        .unwrap();
        assert_eq!(
            e.get("/customComponents/0/builtWith"),
            "my-home-assistant-2026.3.1"
        );

        // This flake's own folder by default: the shipped HACS.
        let e = eval(
            generation,
            json!({ "enable": true }),
            config.clone(),
            "2026.3.1",
            "home-assistant",
        )
        .unwrap();
        assert_eq!(domains(&e), ["hacs"]);
        assert_eq!(e.get("/failedAssertions"), json!([]));
    }

    // The older module with the user's own frontend.themes: an assertion says how to merge.
    let e = eval(
        "2025",
        json!({ "enable": true, "pkgs": hass }),
        json!({ "config": { "frontend": { "themes": "!include_dir_merge_named themes" } } }),
        "2026.3.1",
        "home-assistant",
    )
    .unwrap();
    let failed = e.get("/failedAssertions").to_string();
    assert!(
        failed.contains("frontend.themes is set (to \\\"!include_dir_merge_named themes\\\")")
            && failed.contains("env-hacs-nix-themes/themes"),
        "{failed}"
    );

    // A Home Assistant older than 2026.2 has no resource_mode: nothing is set, a warning says
    // exactly what to do; with the dashboard in YAML the resources load and nothing is said.
    let e = eval(
        "2025",
        json!({ "enable": true, "pkgs": hass }),
        config.clone(),
        "2025.12.4",
        "home-assistant",
    )
    .unwrap();
    assert!(e.configuration()["lovelace"].get("resource_mode").is_none());
    let warnings = e.get("/warnings").to_string();
    assert!(
        warnings
            .contains("/local/nixos-lovelace-modules/mini-graph-card/mini-graph-card-bundle.js")
            && warnings.contains("lovelace.mode = \\\"yaml\\\"")
            && warnings.contains("Settings → Dashboards → Resources"),
        "{warnings}"
    );
    let e = eval(
        "2025",
        json!({ "enable": true, "pkgs": hass }),
        json!({ "config": { "lovelace": { "mode": "yaml" } } }),
        "2025.12.4",
        "home-assistant",
    )
    .unwrap();
    assert_eq!(e.get("/warnings"), json!([]));
}
