//! The repository's own Nix files, checked by real Nix: they parse, and the flake's outputs
//! evaluate against a stub nixpkgs of either Home Assistant shape.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn nix_instantiate(args: &[&str]) -> String {
    let out = Command::new("nix-instantiate")
        .args(args)
        .current_dir(root())
        .output()
        .expect("nix-instantiate (nix-bin)");
    assert!(
        out.status.success(),
        "nix-instantiate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn nix_files_parse() {
    for file in ["flake.nix", "pkgs/default.nix"] {
        nix_instantiate(&["--parse", file]);
    }
}

#[test]
fn flake_outputs_use_home_assistants_python_set() {
    // A stub nixpkgs whose Home Assistant records which set's callPackage was used.
    let expr = r#"
      let
        flake = import ./flake.nix;
        stubHa = shape: {
          python3Packages = if shape == "2026" then { callPackage = f: args: "python3Packages"; } else { };
          python = { pkgs = { callPackage = f: args: "python.pkgs"; }; };
        };
        lib = { genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names); };
        nixpkgs = shape: {
          inherit lib;
          legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (s: { home-assistant = stubHa shape; });
        };
        outputs = shape: flake.outputs { self = { }; nixpkgs = nixpkgs shape; };
        overlaid = (outputs "2026").overlays.default { home-assistant = stubHa "2025"; } { };
      in {
        systems = builtins.attrNames (outputs "2026").packages;
        overlayAttr = builtins.attrNames overlaid;
        checks = builtins.attrNames (outputs "2025").checks.x86_64-linux;
      }
    "#;
    let json = nix_instantiate(&["--eval", "--strict", "--json", "-E", expr]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value["systems"],
        serde_json::json!(["aarch64-linux", "x86_64-linux"])
    );
    assert_eq!(
        value["overlayAttr"],
        serde_json::json!(["home-assistant-custom-components"])
    );
    assert_eq!(value["checks"], serde_json::json!(["hacs", "lint"]));
}

/// The shipped default, HACS, through the flake: the overlay and `packages` build it with Home
/// Assistant's own set, with the pin from public configurations.
#[test]
fn shipped_hacs_pin_through_the_flake() {
    let expr = r#"
      let
        flake = import ./flake.nix;
        stubs = {
          lib.licenses.mit = "mit";
          buildHomeAssistantComponent = args: args;
          fetchzip = args: args // { fetcher = "fetchzip"; };
          aiogithubapi = "aiogithubapi (Home Assistant's set)";
        };
        callPackage = f: overrides: let fn = if builtins.isFunction f then f else import f; in fn (builtins.intersectAttrs (builtins.functionArgs fn) stubs // overrides);
        ha = { python3Packages = { inherit callPackage; }; };
        lib = { genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names); };
        nixpkgs = { inherit lib; legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (s: { home-assistant = ha; }); };
        outputs = flake.outputs { self = { }; inherit nixpkgs; };
      in {
        package = outputs.packages.x86_64-linux.hacs;
        overlaid = (outputs.overlays.default { home-assistant = ha; } { }).home-assistant-custom-components.hacs.domain;
      }
    "#;
    let value: serde_json::Value = serde_json::from_str(&nix_instantiate(&[
        "--eval", "--strict", "--json", "-E", expr,
    ]))
    .unwrap();
    let hacs = &value["package"];
    assert_eq!(
        hacs["src"]["url"],
        "https://github.com/hacs/integration/releases/download/2.0.5/hacs.zip"
    );
    assert_eq!(
        hacs["src"]["hash"],
        "sha256-iMomioxH7Iydy+bzJDbZxt6BX31UkCvqhXrxYFQV8Gw="
    );
    assert_eq!(hacs["src"]["stripRoot"], false);
    assert_eq!(
        hacs["dependencies"],
        serde_json::json!(["aiogithubapi (Home Assistant's set)"])
    );
    assert_eq!(value["overlaid"], "hacs");
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("pkgs/components.lock.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        lock["components"]["hacs"]["verified"], "public-configurations",
        "marked until a networked run re-verifies it"
    );
}

/// The shipped files are exactly what the generator makes from the shipped lock.
#[test]
fn shipped_files_match_the_generator() {
    let work = tempfile::tempdir().unwrap();
    let pkgs = work.path().join("pkgs");
    std::fs::create_dir_all(pkgs.join("hacs")).unwrap();
    for file in [
        "components.toml",
        "components.lock.json",
        "default.nix",
        "hacs/default.nix",
    ] {
        std::fs::copy(root().join("pkgs").join(file), pkgs.join(file)).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_hacs-nix"))
        .args(["update-components", "--offline"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Nothing to do"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
