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

      # The NixOS module: `services.home-assistant.hacs-nix.enable = true;` installs every pinned
      # component, built with the Python set of the Home Assistant the host runs
      # (`services.home-assistant.package`): integrations into `customComponents`, Lovelace cards
      # into `customLovelaceModules`, themes into `themes`; `only` picks attributes by name.
      nixosModules.default =
        {
          config,
          options,
          lib,
          pkgs,
          ...
        }:
        let
          cfg = config.services.home-assistant.hacs-nix;
          all = componentsFor pkgs config.services.home-assistant.package;
          names = builtins.attrNames all;
          asked = if cfg.only == null then names else cfg.only;
          known = name: builtins.elem name names;
          unknown = builtins.filter (name: !(known name)) asked;
          chosen = map (name: all.${name}) (builtins.filter known asked);
          # What each package is, by the marker its builder sets.
          themes = builtins.filter (p: p.isHomeAssistantTheme or false) chosen;
          cards = builtins.filter (p: (p.hacsNixKind or null) == "card") chosen;
          integrations = builtins.filter (p: p.isHomeAssistantComponent or false) chosen;
        in
        {
          options.services.home-assistant.hacs-nix = {
            enable = lib.mkEnableOption "the Home Assistant components pinned by hacs-nix";
            only = lib.mkOption {
              type = lib.types.nullOr (lib.types.listOf lib.types.str);
              default = null;
              example = [ "hacs" ];
              description = "Attributes of hacs-nix's pkgs/ to install (null: all of them).";
            };
          };
          config = lib.mkIf cfg.enable (
            lib.mkMerge [
              {
                assertions = [
                  {
                    assertion = unknown == [ ];
                    message =
                      let
                        list = builtins.concatStringsSep ", ";
                      in
                      "services.home-assistant.hacs-nix.only names ${list unknown}, which hacs-nix does not pin (it pins: ${list names}).";
                  }
                  {
                    assertion = themes == [ ] || options.services.home-assistant ? themes;
                    message = "hacs-nix pins themes, but this nixpkgs has no services.home-assistant.themes: update nixpkgs, or leave the themes out with services.home-assistant.hacs-nix.only.";
                  }
                ];
                services.home-assistant.customComponents = integrations;
              }
              (lib.optionalAttrs (cards != [ ]) {
                services.home-assistant.customLovelaceModules = cards;
              })
              # Older nixpkgs has no `themes` option: set only when there is a theme (the
              # assertion above explains when the option is missing).
              (lib.optionalAttrs (themes != [ ] && options.services.home-assistant ? themes) {
                services.home-assistant.themes = themes;
              })
            ]
          );
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
