{
  description = "Home Assistant custom components (HACS and any GitHub-released integration), pinned as Nix derivations";

  # Override with `inputs.hacs-nix.inputs.nixpkgs.follows = "nixpkgs";` so the components are
  # built against the same Home Assistant as the system.
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
      # Components must be built with Home Assistant's own Python set, never python3Packages
      # ("Python version mismatch"). The set is `python3Packages` since 2026, `python.pkgs` before.
      componentsFor =
        home-assistant:
        import ./pkgs {
          callPackage =
            home-assistant.python3Packages.callPackage or home-assistant.python.pkgs.callPackage;
        };
      # The tool itself (`xtask`), for the lint check. Its tests need real Nix, GNU tar, unzip
      # and Python oracles; they run in CI (`.ci/run`), not in the sandbox.
      tool =
        pkgs:
        pkgs.rustPlatform.buildRustPackage {
          pname = "hacs-nix";
          version = "0.1.0";
          src = lib.cleanSource ./.;
          cargoLock.lockFile = ./Cargo.lock;
          cargoBuildFlags = [
            "--package"
            "xtask"
          ];
          doCheck = false;
        };
    in
    {
      overlays.default = final: prev: {
        home-assistant-custom-components =
          (prev.home-assistant-custom-components or { }) // componentsFor final.home-assistant;
      };

      packages = forAllSystems (pkgs: componentsFor pkgs.home-assistant // { hacs-nix = tool pkgs; });

      # `nix flake check` builds every component and runs the offline lint.
      checks = forAllSystems (
        pkgs:
        componentsFor pkgs.home-assistant
        // {
          lint = pkgs.runCommand "hacs-nix-lint" { } ''
            cd ${./.}
            ${tool pkgs}/bin/xtask lint --pkgs pkgs --root .
            touch $out
          '';
        }
      );
    };
}
