{
  description = "Home Assistant custom components (HACS and any GitHub-released integration), pinned as Nix derivations";

  # Follow your own nixpkgs (`inputs.hacs-nix.inputs.nixpkgs.follows = "nixpkgs";`) so the
  # components are built against the Home Assistant you run, and check the pins against it
  # before each rebuild: `nix run github:hacs-nix/hacs-nix -- lint --flake-lock ./flake.lock`.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      workspace = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).workspace.package;

      # The components of pkgs/, built with Home Assistant's own Python set (never
      # python3Packages: "Python version mismatch"; `python3Packages` since 2026, `python.pkgs`
      # before) and with a builder bound to that same Home Assistant, so an overridden Home
      # Assistant gets components built against it.
      componentsFor =
        pkgs: home-assistant:
        let
          callPackage =
            home-assistant.python3Packages.callPackage or home-assistant.python.pkgs.callPackage;
          buildHomeAssistantComponent = pkgs.buildHomeAssistantComponent.override {
            inherit home-assistant;
          };
        in
        # The builder goes only to the components: the generated Python packages
        # (pkgs/python/) take the set's own buildPythonPackage.
        import ./pkgs {
          callPackage =
            path: overrides:
            callPackage path (
              builtins.intersectAttrs (builtins.functionArgs (import path)) { inherit buildHomeAssistantComponent; }
              // overrides
            );
        };

      # The command line. Its tests need real Nix, GNU tar, unzip and Python oracles; they run in
      # CI and in the dev shell (`nix develop -c cargo test --workspace --locked`).
      tool =
        pkgs:
        pkgs.rustPlatform.buildRustPackage {
          pname = "hacs-nix";
          inherit (workspace) version;
          # Only what the build reads, so a change to the README or the pins rebuilds nothing.
          src = lib.fileset.toSource {
            root = ./.;
            fileset = lib.fileset.unions [
              ./Cargo.toml
              ./Cargo.lock
              ./crates
              ./xtask
              # xtask/Cargo.toml declares the end-to-end tests; cargo wants their files.
              (lib.fileset.fileFilter (file: file.hasExt "rs") ./tests)
            ];
          };
          cargoLock.lockFile = ./Cargo.lock;
          cargoBuildFlags = [
            "--package"
            "xtask"
            "--bin"
            "hacs-nix"
          ];
          doCheck = false;
          meta = {
            description = "Pin Home Assistant custom components as Nix derivations that build the first time";
            homepage = "https://github.com/hacs-nix/hacs-nix";
            license = lib.licenses.mit;
            mainProgram = "hacs-nix";
          };
        };
    in
    {
      overlays.default = final: prev: {
        home-assistant-custom-components =
          (prev.home-assistant-custom-components or { }) // componentsFor final final.home-assistant;
      };

      # For a Home Assistant overridden without an overlay
      # (`services.home-assistant.package = pkgs.home-assistant.override { … }`):
      # `hacs-nix.lib.componentsFor pkgs config.services.home-assistant.package`.
      lib = { inherit componentsFor; };

      packages = forAllSystems (
        pkgs:
        componentsFor pkgs pkgs.home-assistant
        // {
          hacs-nix = tool pkgs;
          default = tool pkgs;
        }
      );

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${tool pkgs}/bin/hacs-nix";
          meta.description = "Pin Home Assistant custom components as Nix derivations";
        };
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.cargo
            pkgs.rustc
            pkgs.rustfmt
            pkgs.clippy
            pkgs.nix
            pkgs.unzip
            pkgs.zip
            pkgs.git
            pkgs.nodejs
            pkgs.python3
          ];
          # The Python oracles the tests compare against (awesomeversion, packaging 26 and 25),
          # installed from PyPI into .venv-oracle once, as CI does.
          shellHook = ''
            bash scripts/oracles
          '';
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt);

      # `nix flake check`: every component builds, the offline lint passes, and the
      # hand-written Nix is formatted (generated files are checked by the lint's drift check).
      checks = forAllSystems (
        pkgs:
        componentsFor pkgs pkgs.home-assistant
        // {
          lint = pkgs.runCommand "hacs-nix-lint" { } ''
            cd ${./.}
            ${tool pkgs}/bin/hacs-nix lint --pkgs pkgs --root .
            touch $out
          '';
          formatting = pkgs.runCommand "hacs-nix-formatting" { nativeBuildInputs = [ pkgs.nixfmt ]; } ''
            nixfmt --check ${./flake.nix}
            touch $out
          '';
        }
      );
    };
}
