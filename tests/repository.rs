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
        checks = (outputs "2025").checks.x86_64-linux;
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
    assert!(value["checks"].is_object());
}
