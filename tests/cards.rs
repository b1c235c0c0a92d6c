//! Lovelace cards end to end on the loopback GitHub: each of HACS's cases (a release asset, a
//! `-bundle` asset with its companions, `dist/`, the root with `filename`, `content_in_root`,
//! nothing found), pinned by `update-components`; hashes against real Nix; the generated
//! derivation evaluated by real `nix-instantiate` and its install phase run by bash, with a
//! card whose JavaScript hard-codes HACS's `/hacsfiles/<repo>/` path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::nixos::install;
use support::oracle;
use support::pipeline::{Case, shown};

/// The nixpkgs functions the card derivation uses: `lib`'s quoting as nixpkgs writes it,
/// `fetchurl` and `fetchFromGitHub` answering with local paths, `mkDerivation` its arguments.
fn evaluate(
    pkgs: &Path,
    attr: &str,
    urls: &BTreeMap<String, PathBuf>,
    src: Option<&Path>,
) -> Value {
    let urls_json = pkgs.parent().unwrap().join("urls.json");
    std::fs::write(
        &urls_json,
        serde_json::to_string(
            &urls
                .iter()
                .map(|(k, v)| (k.clone(), v.display().to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
        .unwrap(),
    )
    .unwrap();
    let expr = format!(
        r#"let
          escapeShellArg = arg: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString arg) + "'";
          lib = {{
            inherit escapeShellArg;
            escapeShellArgs = args: builtins.concatStringsSep " " (map escapeShellArg args);
            concatMapStrings = f: list: builtins.concatStringsSep "" (map f list);
            licenses.mit = "mit";
          }};
          urls = builtins.fromJSON (builtins.readFile {urls});
          fetchurl = {{ url, hash }}: urls.${{url}};
          fetchFromGitHub = args: args // {{ outPath = "{src}"; }};
          stdenvNoCC.mkDerivation = args: args;
          f = import {pkgs}/{attr}/default.nix;
          drv = f (builtins.intersectAttrs (builtins.functionArgs f) {{ inherit lib stdenvNoCC fetchurl fetchFromGitHub; }});
        in {{
          inherit (drv) pname version installPhase passthru;
          src = if drv ? src then removeAttrs drv.src [ "outPath" ] else null;
          dontUnpack = drv.dontUnpack or false;
          index = builtins.attrNames (import {pkgs}/default.nix {{ callPackage = p: a: p; }});
        }}"#,
        urls = urls_json.display(),
        src = src.map_or(String::new(), |p| p.display().to_string()),
        pkgs = pkgs.display(),
    );
    support::nixos::eval_json(&expr)
}

fn lock(case: &Case) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(case.pkgs().join("components.lock.json")).unwrap(),
    )
    .unwrap()
}

fn flat_sri(bytes: &[u8], work: &Path) -> String {
    let path = work.join("flat");
    std::fs::write(&path, bytes).unwrap();
    to_sri(&oracle::nix_hash_flat_base32(&path))
}

/// Nix's own conversion of a hash (hex or base32) to SRI.
fn to_sri(hash: &str) -> String {
    let out = Command::new("nix")
        .args([
            "--extra-experimental-features",
            "nix-command",
            "hash",
            "to-sri",
            "--type",
            "sha256",
            hash,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn every_hacs_card_case_pins_builds_and_serves_its_files() {
    let mut case = Case::new();
    let work = tempfile::tempdir().unwrap();
    // 1. A `-bundle` release asset, its companions come along; the card loads a chunk through
    //    HACS's path.
    let bundle = b"import('/hacsfiles/mini-graph-card/chunk.js'); customElements.define('mini-graph-card', X);".to_vec();
    let gz = b"\x1f\x8b not really".to_vec();
    let chunk = b"export const chunk = 1;".to_vec();
    case.frontend_repo(
        "kalkih/mini-graph-card",
        "v0.12.1",
        &[
            ("mini-graph-card-bundle.js", &bundle),
            ("mini-graph-card-bundle.js.gz", &gz),
            ("chunk.js", &chunk),
        ],
        &[("src/main.ts", "ts")],
        None,
    );
    // 2. dist/: no asset matches, the repository's name without `lovelace-`.
    let dist_archive = case.frontend_repo(
        "thomasloven/lovelace-card-mod",
        "v3.4.4",
        &[("card-mod.zip", b"zip")],
        &[
            ("dist/card-mod.js", "card mod"),
            ("dist/card-mod.js.map", "{}"),
            ("src/x.ts", "x"),
            ("README.md", "r"),
        ],
        None,
    );
    // 3. The root with hacs.json's filename: every root *.js.
    let root_archive = case.frontend_repo(
        "someone/custom-card",
        "1.0.0",
        &[],
        &[
            ("my-card.js", "my card"),
            ("helper.js", "help"),
            ("custom-card.js", "not this one"),
            ("docs/x.js", "no"),
        ],
        Some(r#"{"name": "Custom", "filename": "my-card.js"}"#),
    );
    // 4. content_in_root: the matching asset is ignored, the root's file is taken.
    case.frontend_repo(
        "someone/rooted",
        "2.0.0",
        &[("rooted.js", b"asset")],
        &[("rooted.js", "root file")],
        Some(r#"{"name": "Rooted", "content_in_root": true}"#),
    );
    // 5. Nothing HACS would install.
    case.frontend_repo(
        "someone/nothing",
        "0.1.0",
        &[("other.js", b"x")],
        &[("src/nothing.ts", "ts")],
        None,
    );
    case.want(
        "[mini-graph-card]\nrepo = \"kalkih/mini-graph-card\"\nkind = \"card\"\n\n\
         [card-mod]\nrepo = \"thomasloven/lovelace-card-mod\"\nkind = \"card\"\n\n\
         [custom-card]\nrepo = \"someone/custom-card\"\nkind = \"card\"\n\n\
         [rooted]\nrepo = \"someone/rooted\"\nkind = \"card\"\n\n\
         [nothing]\nrepo = \"someone/nothing\"\nkind = \"card\"\n",
    );
    let out = case.run(&["update-components"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error[plugin-no-card]")
            && text.contains("`nothing.js`, `nothing.umd.js`, `nothing-bundle.js`"),
        "{text}"
    );
    let lock = lock(&case);
    let cards = &lock["cards"];
    assert!(cards.get("nothing").is_none());
    assert!(!case.pkgs().join("nothing").exists());

    // 1: every asset, each with the flat hash Nix computes.
    let mgc = &cards["mini-graph-card"];
    assert_eq!(mgc["entry"], "mini-graph-card-bundle.js");
    assert_eq!(mgc["files"]["from"], "release-assets");
    let assets = mgc["files"]["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 3);
    for (asset, bytes) in assets.iter().zip([&bundle, &gz, &chunk]) {
        assert_eq!(asset["hash"], flat_sri(bytes, work.path()), "{asset}");
    }
    assert_eq!(
        mgc["rewrites"],
        json!([{ "file": "mini-graph-card-bundle.js", "path": "/hacsfiles/mini-graph-card/",
                                          "replacement": "/local/nixos-lovelace-modules/mini-graph-card/" }])
    );
    // 2 and 3: the source archive's NAR hash as fetchFromGitHub computes it.
    let card_mod = &cards["card-mod"];
    assert_eq!(card_mod["entry"], "card-mod.js");
    assert_eq!(card_mod["files"]["folder"], "dist");
    assert_eq!(
        card_mod["files"]["files"],
        json!(["card-mod.js", "card-mod.js.map"])
    );
    let sri = |hex: &str| to_sri(hex);
    let archive_path = work.path().join("card-mod.tar.gz");
    std::fs::write(&archive_path, &dist_archive).unwrap();
    assert_eq!(
        card_mod["files"]["hash"],
        sri(&oracle::fetchzip_hash(&archive_path, true))
    );
    let custom = &cards["custom-card"];
    assert_eq!(custom["entry"], "my-card.js");
    assert_eq!(custom["files"]["folder"], "");
    assert_eq!(
        custom["files"]["files"],
        json!(["custom-card.js", "helper.js", "my-card.js"])
    );
    std::fs::write(&archive_path, &root_archive).unwrap();
    assert_eq!(
        custom["files"]["hash"],
        sri(&oracle::fetchzip_hash(&archive_path, true))
    );
    assert_eq!(cards["rooted"]["files"]["from"], "source-archive");

    // Golden files: the generated derivations as written.
    for attr in ["mini-graph-card", "card-mod", "custom-card"] {
        let text = std::fs::read_to_string(case.pkgs().join(attr).join("default.nix")).unwrap();
        insta::assert_snapshot!(format!("card-{attr}"), text);
    }

    // The derivations, evaluated and installed.
    let mut urls = BTreeMap::new();
    for (asset, bytes) in assets.iter().zip([&bundle, &gz, &chunk]) {
        let path = work
            .path()
            .join(format!("served-{}", asset["name"].as_str().unwrap()));
        std::fs::write(&path, bytes).unwrap();
        urls.insert(asset["url"].as_str().unwrap().to_owned(), path);
    }
    let drv = evaluate(&case.pkgs(), "mini-graph-card", &urls, None);
    assert_eq!(
        drv["passthru"],
        json!({ "entrypoint": "mini-graph-card/mini-graph-card-bundle.js", "hacsNixKind": "card" })
    );
    assert_eq!(drv["pname"], "mini-graph-card");
    assert_eq!(drv["version"], "0.12.1");
    assert_eq!(drv["dontUnpack"], true);
    assert_eq!(
        drv["index"],
        json!(["card-mod", "custom-card", "mini-graph-card", "rooted"])
    );
    let out_dir = work.path().join("out-mgc");
    install(drv["installPhase"].as_str().unwrap(), None, &out_dir).unwrap();
    // The entry stays beside its companions; nothing is copied to the top.
    assert!(!out_dir.join("mini-graph-card-bundle.js").exists());
    let top =
        std::fs::read_to_string(out_dir.join("mini-graph-card/mini-graph-card-bundle.js")).unwrap();
    assert!(
        top.contains("import('/local/nixos-lovelace-modules/mini-graph-card/chunk.js')"),
        "{top}"
    );
    assert!(!top.contains("/hacsfiles/"));
    for name in [
        "mini-graph-card-bundle.js",
        "mini-graph-card-bundle.js.gz",
        "chunk.js",
    ] {
        assert!(
            out_dir.join("mini-graph-card").join(name).is_file(),
            "{name}"
        );
    }
    assert_eq!(
        std::fs::read(out_dir.join("mini-graph-card/chunk.js")).unwrap(),
        chunk
    );

    // dist/: fetchFromGitHub's tree (fetchzip's unpack of the same archive) as the source.
    std::fs::write(&archive_path, &dist_archive).unwrap();
    let unpack = tempfile::tempdir().unwrap();
    let src = oracle::fetchzip_unpack(&archive_path, true, unpack.path());
    let drv = evaluate(&case.pkgs(), "card-mod", &BTreeMap::new(), Some(&src));
    assert_eq!(
        drv["src"],
        json!({ "owner": "thomasloven", "repo": "lovelace-card-mod", "tag": "v3.4.4", "hash": card_mod["files"]["hash"] })
    );
    let out_dir = work.path().join("out-card-mod");
    install(drv["installPhase"].as_str().unwrap(), Some(&src), &out_dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(out_dir.join("card-mod/card-mod.js")).unwrap(),
        "card mod"
    );
    assert!(out_dir.join("card-mod/card-mod.js.map").is_file());
    assert!(!out_dir.join("card-mod/x.ts").exists());
    assert_eq!(drv["passthru"]["entrypoint"], "card-mod/card-mod.js");

    // A rerun with nothing new downloads nothing (but the card that failed, tried again) and
    // changes nothing.
    case.mock.clear_log();
    let before = std::fs::read_to_string(case.pkgs().join("components.lock.json")).unwrap();
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert_eq!(
        case.mock.downloads(),
        ["/dl/someone/nothing/archive/refs/tags/0.1.0.tar.gz"]
    );
    assert_eq!(
        std::fs::read_to_string(case.pkgs().join("components.lock.json")).unwrap(),
        before
    );

    // The lint knows cards: the pinned ones are clean; only the one that never pinned is named.
    let out = case.run(&["lint"]);
    let text = shown(&out);
    assert!(
        text.contains("error[lint-unpinned]") && text.contains("`nothing` is wanted"),
        "{text}"
    );
    assert_eq!(text.matches("error[").count(), 1, "{text}");
}

/// HACS's order and `content_in_root`, each shaped like the real case: two assets that both
/// match (the first candidate wins, whatever order the release lists them in), and a card with
/// `content_in_root` whose `dist/` also holds the file (the root wins; `dist/` is never read).
#[test]
fn the_first_candidate_wins_and_content_in_root_means_the_root() {
    let mut case = Case::new();
    let work = tempfile::tempdir().unwrap();
    let short = b"customElements.define('twin-card', X);".to_vec();
    let long = b"// the other build".to_vec();
    case.frontend_repo(
        "someone/lovelace-twin-card",
        "1.0.0",
        &[("lovelace-twin-card.js", &long), ("twin-card.js", &short)],
        &[],
        None,
    );
    let rooted = case.frontend_repo(
        "someone/rooted-card",
        "2.0.0",
        &[],
        &[
            ("rooted-card.js", "root build"),
            ("helper.js", "helper"),
            ("dist/rooted-card.js", "dist build"),
        ],
        Some(r#"{"name": "Rooted", "content_in_root": true}"#),
    );
    case.want(
        "[twin]\nrepo = \"someone/lovelace-twin-card\"\nkind = \"card\"\n\n\
         [rooted]\nrepo = \"someone/rooted-card\"\nkind = \"card\"\n",
    );
    let out = case.run(&["update-components"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let lock = lock(&case);
    let twin = &lock["cards"]["twin"];
    assert_eq!(twin["entry"], "twin-card.js", "{twin}");
    let rooted_entry = &lock["cards"]["rooted"];
    assert_eq!(rooted_entry["files"]["folder"], "", "{rooted_entry}");
    assert_eq!(
        rooted_entry["files"]["files"],
        json!(["helper.js", "rooted-card.js"])
    );

    // Installed by bash: the twin's entry is the short name, both assets beside it.
    let mut urls = BTreeMap::new();
    for asset in twin["files"]["assets"].as_array().unwrap() {
        let name = asset["name"].as_str().unwrap();
        let path = work.path().join(format!("served-{name}"));
        std::fs::write(
            &path,
            if name == "twin-card.js" {
                &short
            } else {
                &long
            },
        )
        .unwrap();
        urls.insert(asset["url"].as_str().unwrap().to_owned(), path);
    }
    let drv = evaluate(&case.pkgs(), "twin", &urls, None);
    assert_eq!(drv["passthru"]["entrypoint"], "twin-card/twin-card.js");
    let out_dir = work.path().join("out-twin");
    install(drv["installPhase"].as_str().unwrap(), None, &out_dir).unwrap();
    assert_eq!(
        std::fs::read(out_dir.join("twin-card/twin-card.js")).unwrap(),
        short
    );
    assert!(out_dir.join("twin-card/lovelace-twin-card.js").is_file());

    let archive_path = work.path().join("rooted.tar.gz");
    std::fs::write(&archive_path, &rooted).unwrap();
    let unpack = tempfile::tempdir().unwrap();
    let src = oracle::fetchzip_unpack(&archive_path, true, unpack.path());
    let drv = evaluate(&case.pkgs(), "rooted", &BTreeMap::new(), Some(&src));
    let out_dir = work.path().join("out-rooted");
    install(drv["installPhase"].as_str().unwrap(), Some(&src), &out_dir).unwrap();
    assert_eq!(
        listing(&out_dir),
        ["rooted-card/helper.js", "rooted-card/rooted-card.js"]
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("rooted-card/rooted-card.js")).unwrap(),
        "root build"
    );
    for attr in ["twin", "rooted"] {
        let text = std::fs::read_to_string(case.pkgs().join(attr).join("default.nix")).unwrap();
        insta::assert_snapshot!(format!("card-rule-{attr}"), text);
    }
}

/// Two cards whose files would land in one folder: the second cannot be written. It fails
/// with the reason and is not pinned; `pkgs/default.nix` does not call it, so `pkgs/`
/// evaluates with real `nix-instantiate` (it used to call a file never written).
#[test]
fn a_pin_that_cannot_be_written_fails_and_pkgs_still_evaluates() {
    let mut case = Case::new();
    case.frontend_repo(
        "someone/lovelace-clock",
        "1.0.0",
        &[("clock.js", b"one")],
        &[],
        None,
    );
    case.frontend_repo("other/clock", "1.0.0", &[("clock.js", b"two")], &[], None);
    case.want(
        "[a-clock]\nrepo = \"someone/lovelace-clock\"\nkind = \"card\"\n\n\
         [b-clock]\nrepo = \"other/clock\"\nkind = \"card\"\n",
    );
    let out = case.run(&["update-components"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error[lock-entry-invalid]")
            && text.contains("b-clock")
            && text.contains("as the card `a-clock` does")
            && text.contains("not pinned"),
        "{text}"
    );
    assert!(!text.contains("kept"), "nothing was kept: {text}");
    let lock = lock(&case);
    assert!(lock["cards"].get("b-clock").is_none(), "{lock}");
    assert!(!case.pkgs().join("b-clock").exists());
    let index = support::nixos::eval_json(&format!(
        "builtins.attrNames (import {}/default.nix {{ callPackage = p: a: builtins.pathExists p; }})",
        case.pkgs().display()
    ));
    assert_eq!(index, json!(["a-clock"]));
    let every_file = support::nixos::eval_json(&format!(
        "builtins.all (x: x) (builtins.attrValues (import {}/default.nix {{ callPackage = p: a: builtins.pathExists p; }}))",
        case.pkgs().display()
    ));
    assert_eq!(every_file, json!(true));
}

#[test]
fn themes_are_checked_pinned_and_installed() {
    let mut case = Case::new();
    let work = tempfile::tempdir().unwrap();
    let latte = "catppuccin-latte:\n  primary-color: \"#8839ef\"\n  modes:\n    dark:\n      text: \"#fff\"\n";
    let vars = "primary-color: \"#8caaee\"\n";
    // Everything under themes/ is HACS's download: the file a theme `!include`s by relative
    // path and the notes beside it come along.
    let archive = case.frontend_repo(
        "catppuccin/home-assistant",
        "v2.1.2",
        &[],
        &[
            ("themes/catppuccin.yaml", latte),
            ("themes/frappe.yaml", "frappe: !include frappe-vars.yml\n"),
            ("themes/frappe-vars.yml", vars),
            ("README.md", "r"),
            ("themes/notes.txt", "n"),
        ],
        None,
    );
    // A real catalogue theme's shape: every file in a sub-folder of themes/, none beside it.
    let light = "Windows 10 Light:\n  primary-color: \"#0078d7\"\n";
    let windows_archive = case.frontend_repo(
        "mikosoft83/hass-windows10-themes",
        "1.1",
        &[],
        &[
            ("themes/windows10/light.yaml", light),
            (
                "themes/windows10/dark.yaml",
                "Windows 10 Dark:\n  primary-color: \"#000\"\n",
            ),
            ("themes/windows10/icons/start.svg", "<svg/>"),
            ("README.md", "r"),
        ],
        None,
    );
    // content_in_root: the first root `.yaml` only; the linters' dotfiles and the other root
    // files are no themes (the broken `zz.yaml` is never read).
    case.frontend_repo(
        "someone/rooted-theme",
        "1.0",
        &[],
        &[
            (".pre-commit-config.yaml", "repos: []\n"),
            (".yamllint.yaml", "extends: default\n"),
            ("rooted.yaml", "rooted:\n  a: b\n"),
            ("zz.yaml", "zz: [1, 2\n"),
            ("themes/rooted.yaml", "rooted:\n  a: b\n"),
        ],
        Some(r#"{"name": "R", "content_in_root": true}"#),
    );
    case.frontend_repo(
        "someone/broken-theme",
        "1.0",
        &[],
        &[("themes/broken.yaml", "broken:\n  a: [1, 2\n")],
        None,
    );
    case.frontend_repo(
        "someone/no-theme",
        "1.0",
        &[],
        &[("theme.yaml", "x:\n  a: b\n")],
        None,
    );
    case.want(
        "[catppuccin]\nrepo = \"catppuccin/home-assistant\"\nkind = \"theme\"\n\n\
         [windows]\nrepo = \"mikosoft83/hass-windows10-themes\"\nkind = \"theme\"\n\n\
         [rooted]\nrepo = \"someone/rooted-theme\"\nkind = \"theme\"\n\n\
         [broken]\nrepo = \"someone/broken-theme\"\nkind = \"theme\"\n\n\
         [none]\nrepo = \"someone/no-theme\"\nkind = \"theme\"\n",
    );
    let out = case.run(&["update-components"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error[theme-yaml-invalid]") && text.contains("themes/broken.yaml:3:1"),
        "{text}"
    );
    assert!(
        text.contains("error[theme-none]") && text.contains("a `.yaml` file is under `themes/`"),
        "{text}"
    );
    assert_eq!(text.matches("error[").count(), 2, "{text}");
    let lock = lock(&case);
    let themes = &lock["themes"];
    assert_eq!(
        themes.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["catppuccin", "rooted", "windows"]
    );
    let cat = &themes["catppuccin"];
    assert_eq!(
        cat["files"],
        json!([
            "themes/catppuccin.yaml",
            "themes/frappe-vars.yml",
            "themes/frappe.yaml",
            "themes/notes.txt"
        ])
    );
    assert_eq!(cat["themes"], json!(["catppuccin-latte", "frappe"]));
    assert_eq!(themes["rooted"]["files"], json!(["rooted.yaml"]));
    assert_eq!(themes["rooted"]["themes"], json!(["rooted"]));
    assert_eq!(
        themes["windows"]["themes"],
        json!(["Windows 10 Dark", "Windows 10 Light"])
    );
    let archive_path = work.path().join("theme.tar.gz");
    std::fs::write(&archive_path, &archive).unwrap();
    assert_eq!(
        cat["hash"],
        to_sri(&oracle::fetchzip_hash(&archive_path, true))
    );

    // The derivation is named by its attribute, not by the repository (`home-assistant`).
    let text = std::fs::read_to_string(case.pkgs().join("catppuccin/default.nix")).unwrap();
    insta::assert_snapshot!("theme-catppuccin", text);
    let unpack = tempfile::tempdir().unwrap();
    let src = oracle::fetchzip_unpack(&archive_path, true, unpack.path());
    let drv = evaluate(&case.pkgs(), "catppuccin", &BTreeMap::new(), Some(&src));
    assert_eq!(drv["pname"], "catppuccin");
    assert_eq!(drv["passthru"], json!({ "isHomeAssistantTheme": true }));
    assert_eq!(drv["src"]["tag"], "v2.1.2");
    assert_eq!(drv["index"], json!(["catppuccin", "rooted", "windows"]));
    let out_dir = work.path().join("out");
    install(drv["installPhase"].as_str().unwrap(), Some(&src), &out_dir).unwrap();
    let theme_dir = out_dir.join("themes/catppuccin");
    assert_eq!(
        listing(&out_dir.join("themes")),
        [
            "catppuccin/catppuccin.yaml",
            "catppuccin/frappe-vars.yml",
            "catppuccin/frappe.yaml",
            "catppuccin/notes.txt"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(theme_dir.join("catppuccin.yaml")).unwrap(),
        latte
    );
    // The relative `!include` resolves beside the file that names it.
    assert_eq!(
        std::fs::read_to_string(theme_dir.join("frappe-vars.yml")).unwrap(),
        vars
    );

    // The nested theme keeps its sub-folders.
    let windows_path = work.path().join("windows.tar.gz");
    std::fs::write(&windows_path, &windows_archive).unwrap();
    let unpack = tempfile::tempdir().unwrap();
    let src = oracle::fetchzip_unpack(&windows_path, true, unpack.path());
    let drv = evaluate(&case.pkgs(), "windows", &BTreeMap::new(), Some(&src));
    let out_dir = work.path().join("out-windows");
    install(drv["installPhase"].as_str().unwrap(), Some(&src), &out_dir).unwrap();
    assert_eq!(
        listing(&out_dir.join("themes")),
        [
            "windows/windows10/dark.yaml",
            "windows/windows10/icons/start.svg",
            "windows/windows10/light.yaml"
        ]
    );
    insta::assert_snapshot!(
        "theme-windows-nested",
        std::fs::read_to_string(case.pkgs().join("windows/default.nix")).unwrap()
    );

    let out = case.run(&["lint"]);
    let text = shown(&out);
    assert_eq!(
        text.matches("error[").count(),
        2,
        "only the two never pinned: {text}"
    );
}

/// Every file under `dir`, as relative paths in name order.
fn listing(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out
}

#[test]
fn add_learns_a_card_from_hacs_plugin_list_and_takes_kind_when_told() {
    let mut case = Case::new();
    let bundle = b"customElements.define('mini-graph-card', X);".to_vec();
    case.frontend_repo(
        "kalkih/mini-graph-card",
        "v0.12.1",
        &[("mini-graph-card-bundle.js", &bundle)],
        &[],
        None,
    );
    case.frontend_repo(
        "catppuccin/home-assistant",
        "v2.1.2",
        &[],
        &[("themes/catppuccin.yaml", "latte:\n  a: b\n")],
        None,
    );
    let page = |path: &str, value: Value| {
        case.mock
            .add_page(path, serde_json::to_vec(&value).unwrap())
    };
    page("/hacs-default/integration", json!(["frenck/spook"]));
    page(
        "/hacs-default/plugin",
        json!(["kalkih/mini-graph-card", "thomasloven/lovelace-card-mod"]),
    );
    page(
        "/hacs-data/plugin/data.json",
        json!({ "1": { "full_name": "kalkih/mini-graph-card", "stargazers_count": 3000 } }),
    );
    page("/hacs-default/blacklist", json!([]));
    page("/hacs-default/removed", json!([]));
    case.want("");

    let out = case.run(&["add", "mini-graph-card"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let toml = std::fs::read_to_string(case.pkgs().join("components.toml")).unwrap();
    assert!(
        toml.contains("[mini-graph-card]\nrepo = \"kalkih/mini-graph-card\"\nkind = \"card\"\n"),
        "{toml}"
    );
    assert_eq!(
        lock(&case)["cards"]["mini-graph-card"]["entry"],
        "mini-graph-card-bundle.js"
    );

    let out = case.run(&["add", "catppuccin/home-assistant", "--kind", "theme"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let toml = std::fs::read_to_string(case.pkgs().join("components.toml")).unwrap();
    assert!(
        toml.contains("[home-assistant]\nrepo = \"catppuccin/home-assistant\"\nkind = \"theme\"\n"),
        "{toml}"
    );
    assert_eq!(
        lock(&case)["themes"]["home-assistant"]["themes"],
        json!(["latte"])
    );
}

#[test]
fn check_learns_the_card_and_theme_rules() {
    let case = Case::new();
    let dir = tempfile::tempdir().unwrap();
    let card = dir.path().join("lovelace-card-mod");
    std::fs::create_dir_all(card.join("dist")).unwrap();
    std::fs::write(card.join("dist/card-mod.js"), "x").unwrap();
    let out = case.run(&[
        "check",
        card.to_str().unwrap(),
        "--card",
        "lovelace-card-mod",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(
        shown(&out).contains("card: `card-mod.js`"),
        "{}",
        shown(&out)
    );
    // A source without the card: HACS looks among the release's assets first, which a source
    // cannot show; the check says what HACS would take from there.
    let out = case.run(&["check", card.to_str().unwrap(), "--card", "other-card"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("warning[plugin-card-in-release]")
            && text.contains("`other-card.js`, `other-card.umd.js`, `other-card-bundle.js`")
            && text.contains("(`other-card.js` if the release ships it)")
            && text.contains("`update-components` pins the card from there"),
        "{text}"
    );
    // With content_in_root HACS never looks at the release: no card is an error.
    std::fs::write(
        card.join("hacs.json"),
        r#"{"name": "C", "content_in_root": true}"#,
    )
    .unwrap();
    let out = case.run(&[
        "check",
        card.to_str().unwrap(),
        "--card",
        "lovelace-card-mod",
    ]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error[plugin-no-card]")
            && text.contains("the repository's root")
            && !text.contains("`dist/`"),
        "content_in_root never reads dist/: {text}"
    );
    std::fs::remove_file(card.join("hacs.json")).unwrap();

    let theme = dir.path().join("theme");
    std::fs::create_dir_all(theme.join("themes")).unwrap();
    std::fs::write(theme.join("themes/good.yaml"), "good:\n  a: b\n").unwrap();
    std::fs::write(theme.join("themes/bad.yaml"), "- not\n- a mapping\n").unwrap();
    let out = case.run(&["check", theme.to_str().unwrap(), "--theme"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error[theme-not-a-mapping]") && text.contains("themes/bad.yaml"),
        "{text}"
    );
    std::fs::remove_file(theme.join("themes/bad.yaml")).unwrap();
    assert_eq!(
        case.run(&["check", theme.to_str().unwrap(), "--theme"])
            .status
            .code(),
        Some(0)
    );
    // A theme only in a sub-folder is a theme, as HACS takes it.
    std::fs::create_dir_all(theme.join("themes/nested")).unwrap();
    std::fs::rename(
        theme.join("themes/good.yaml"),
        theme.join("themes/nested/good.yaml"),
    )
    .unwrap();
    let out = case.run(&["check", theme.to_str().unwrap(), "--theme"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(
        shown(&out).contains("themes/nested/good.yaml"),
        "{}",
        shown(&out)
    );
    // content_in_root: the first root `.yaml`, never a linter's dotfile.
    std::fs::write(theme.join(".yamllint.yaml"), "extends: default\n").unwrap();
    std::fs::write(theme.join("root.yaml"), "root:\n  a: b\n").unwrap();
    std::fs::write(
        theme.join("hacs.json"),
        r#"{"name": "T", "content_in_root": true}"#,
    )
    .unwrap();
    let out = case.run(&["check", theme.to_str().unwrap(), "--theme"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(
        shown(&out).contains("1 loaded as themes (root.yaml)"),
        "{}",
        shown(&out)
    );
    std::fs::remove_file(theme.join("hacs.json")).unwrap();
    std::fs::remove_dir_all(theme.join("themes")).unwrap();
    let out = case.run(&["check", theme.to_str().unwrap(), "--theme"]);
    assert!(shown(&out).contains("error[theme-none]"), "{}", shown(&out));
}

#[test]
fn add_learns_what_an_unlisted_repository_is_from_its_contents() {
    let mut case = Case::new();
    case.frontend_repo(
        "someone/unlisted-card",
        "1.0.0",
        &[("unlisted-card.js", b"card")],
        &[],
        None,
    );
    case.frontend_repo(
        "someone/unlisted-theme",
        "1.0.0",
        &[],
        &[("themes/x.yaml", "x:\n  a: b\n")],
        None,
    );
    case.frontend_repo("someone/unknown", "1.0.0", &[], &[("README.md", "r")], None);
    // The API sees the tag's files too (for the folder listing).
    for (repo, path, text) in [
        ("someone/unlisted-theme", "themes/x.yaml", "x:\n  a: b\n"),
        ("someone/unknown", "README.md", "r"),
    ] {
        let mut state = case.mock.state.lock().unwrap();
        let r = state.repos.get_mut(repo).unwrap();
        r.files.insert(
            ("1.0.0".to_owned(), path.to_owned()),
            text.as_bytes().to_vec(),
        );
    }
    case.want("");
    let out = case.run(&["add", "someone/unlisted-card"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let out = case.run(&["add", "someone/unlisted-theme"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let toml = std::fs::read_to_string(case.pkgs().join("components.toml")).unwrap();
    assert!(
        toml.contains("[unlisted-card]\nrepo = \"someone/unlisted-card\"\nkind = \"card\"\n"),
        "{toml}"
    );
    assert!(
        toml.contains("[unlisted-theme]\nrepo = \"someone/unlisted-theme\"\nkind = \"theme\"\n"),
        "{toml}"
    );
    let out = case.run(&["add", "someone/unknown"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("--kind integration|card|theme"), "{text}");
    assert_eq!(
        std::fs::read_to_string(case.pkgs().join("components.toml")).unwrap(),
        toml
    );
}
