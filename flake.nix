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

      # The components of a generated folder (this flake's `pkgs/`, or a homelab's own, e.g.
      # `./hass`), built with Home Assistant's own Python set (never python3Packages: "Python
      # version mismatch"; `python3Packages` since 2026, `python.pkgs` before) and with a builder
      # bound to that same Home Assistant, so an overridden Home Assistant gets components built
      # against it.
      componentsIn =
        folder: pkgs: home-assistant:
        let
          callPackage =
            home-assistant.python3Packages.callPackage or home-assistant.python.pkgs.callPackage;
          buildHomeAssistantComponent = pkgs.buildHomeAssistantComponent.override {
            inherit home-assistant;
          };
        in
        # The builder goes only to the components: the generated Python packages
        # (<folder>/python/) take the set's own buildPythonPackage.
        import folder {
          callPackage =
            path: overrides:
            callPackage path (
              builtins.intersectAttrs (builtins.functionArgs (import path)) { inherit buildHomeAssistantComponent; }
              // overrides
            );
        };
      componentsFor = componentsIn ./pkgs;

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

      # The NixOS module: `services.home-assistant.hacs-nix.enable = true;` installs every
      # component of a generated folder (`pkgs`: this flake's own by default, or a homelab's),
      # built with the Python set of the Home Assistant the host runs
      # (`services.home-assistant.package`): integrations into `customComponents`, Lovelace cards
      # into `customLovelaceModules`, themes into `themes` (or, on a nixpkgs whose module has no
      # `themes`, into `frontend.themes` as users did before it existed); `only` picks attributes.
      #
      # The module system reads the attribute names of every definition before any value, so
      # what is defined here may depend on `options` (declarations) but never on `config`:
      # everything that depends on `config` sits inside a value, under `mkIf`.
      nixosModules.default =
        {
          config,
          options,
          lib,
          pkgs,
          ...
        }:
        let
          ha = config.services.home-assistant;
          cfg = ha.hacs-nix;
          haOptions = options.services.home-assistant;
          # Which generation of nixpkgs' Home Assistant module this is, from its declarations.
          hasThemesOption = haOptions ? themes;
          configOptions = haOptions.config.type.getSubOptions [ ];
          setsResourceMode = configOptions ? lovelace.resource_mode;

          all = componentsIn cfg.pkgs pkgs ha.package;
          names = builtins.attrNames all;
          asked = if cfg.only == null then names else cfg.only;
          known = name: builtins.elem name names;
          unknown = builtins.filter (name: !(known name)) asked;
          chosen = map (name: all.${name}) (builtins.filter known asked);
          # What each package is, by the marker its builder sets.
          themes = builtins.filter (p: p.isHomeAssistantTheme or false) chosen;
          cards = builtins.filter (p: (p.hacsNixKind or null) == "card") chosen;
          integrations = builtins.filter (p: p.isHomeAssistantComponent or false) chosen;
          list = builtins.concatStringsSep ", ";

          # Before nixpkgs had `services.home-assistant.themes`, users included a folder of
          # themes from configuration.yaml; the same here, at default priority, so a user's own
          # `frontend.themes` wins and the assertion below says how to merge the two.
          themesDir = pkgs.buildEnv {
            name = "hacs-nix-themes";
            paths = themes;
          };
          themesInclude = "!include_dir_merge_named ${themesDir}/themes";
          userConfig = if ha.config == null then { } else ha.config;
          userThemes = userConfig.frontend.themes or null;

          # Lovelace takes resources from YAML only with `resource_mode: yaml` (Home Assistant
          # 2026.2 and later) or, before, with the whole dashboard in YAML (`lovelace.mode`).
          haVersion = ha.package.version or "0";
          knowsResourceMode = lib.versionAtLeast haVersion "2026.2";
          yamlDashboard = (userConfig.lovelace.mode or null) == "yaml";
          resourceUrls = list (
            map (card: "/local/nixos-lovelace-modules/${card.entrypoint}") cards
          );
        in
        {
          options.services.home-assistant.hacs-nix = {
            enable = lib.mkEnableOption "the Home Assistant components pinned by hacs-nix";
            only = lib.mkOption {
              type = lib.types.nullOr (lib.types.listOf lib.types.str);
              default = null;
              example = [ "hacs" ];
              description = "Attributes of the generated folder to install (null: all of them).";
            };
            pkgs = lib.mkOption {
              type = lib.types.path;
              default = ./pkgs;
              defaultText = lib.literalExpression "the pkgs/ folder of the hacs-nix flake";
              example = lib.literalExpression "./hass";
              description = ''
                The folder `hacs-nix update-components --pkgs <folder>` writes: a homelab's own
                list (`components.toml` and what is generated from it). By default the folder
                shipped with hacs-nix.
              '';
            };
          };
          config = lib.mkIf cfg.enable (
            lib.mkMerge [
              {
                assertions = [
                  {
                    assertion = unknown == [ ];
                    message = "services.home-assistant.hacs-nix.only names ${list unknown}, which ${toString cfg.pkgs} does not pin (it pins: ${list names}).";
                  }
                  {
                    assertion = hasThemesOption || themes == [ ] || userThemes == themesInclude;
                    message = ''
                      services.home-assistant.config.frontend.themes is set (to ${builtins.toJSON userThemes}), so the themes hacs-nix pins cannot be included there. Either remove your setting (hacs-nix then sets it to ${themesInclude}), or keep your own themes in the same folder: frontend.themes = "!include_dir_merge_named ''${pkgs.buildEnv { name = "themes"; paths = [ <your themes> ] ++ <hacs-nix's theme packages>; }}/themes".'';
                  }
                ];
                warnings = lib.optional (
                  cards != [ ] && !setsResourceMode && !knowsResourceMode && !yamlDashboard
                ) "hacs-nix installs the Lovelace cards ${resourceUrls}, but Home Assistant ${haVersion} loads Lovelace resources from configuration.yaml only when the dashboard is in YAML (services.home-assistant.config.lovelace.mode = \"yaml\", with services.home-assistant.lovelaceConfig). Set that, or add each URL once under Settings → Dashboards → Resources (type: JavaScript module).";
                services.home-assistant.customComponents = integrations;
                services.home-assistant.customLovelaceModules = cards;
              }
              (
                if hasThemesOption then
                  { services.home-assistant.themes = themes; }
                else
                  {
                    services.home-assistant.config = lib.mkIf (themes != [ ]) {
                      frontend.themes = lib.mkDefault themesInclude;
                    };
                  }
              )
              # nixpkgs' newer module sets `lovelace.resource_mode` itself when cards are installed.
              (lib.optionalAttrs (!setsResourceMode) {
                services.home-assistant.config = lib.mkIf (cards != [ ] && knowsResourceMode) {
                  lovelace.resource_mode = lib.mkDefault "yaml";
                };
              })
            ]
          );
        };

      # For a Home Assistant overridden without an overlay
      # (`services.home-assistant.package = pkgs.home-assistant.override { … }`):
      # `hacs-nix.lib.componentsFor pkgs config.services.home-assistant.package`, or for a
      # homelab's own folder `hacs-nix.lib.componentsIn ./hass pkgs config.services.home-assistant.package`.
      lib = { inherit componentsFor componentsIn; };

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
          # The module in a real NixOS system of this nixpkgs (HACS, a card, a theme): the Home
          # Assistant unit's preStart and configuration.yaml forced, assertions and warnings
          # checked. Evaluation only; the text is written without its store references, so
          # nothing is fetched or built.
          module =
            let
              host = nixpkgs.lib.nixosSystem {
                inherit (pkgs.stdenv.hostPlatform) system;
                modules = [
                  self.nixosModules.default
                  {
                    boot.isContainer = true;
                    system.stateVersion = lib.trivial.release;
                    services.home-assistant = {
                      enable = true;
                      config.homeassistant.name = "hacs-nix check";
                      hacs-nix = {
                        enable = true;
                        pkgs = ./tests/fixtures/module-check;
                      };
                    };
                  }
                ];
              };
              inherit (host) config;
              ha = config.services.home-assistant;
              failed = map (a: a.message) (builtins.filter (a: !a.assertion) config.assertions);
              seen = {
                inherit (config.systemd.services.home-assistant) preStart;
                configuration = config.environment.etc."home-assistant/configuration.yaml".source.drvPath;
                components = map (p: p.domain) ha.customComponents;
                cards = map (p: p.entrypoint) ha.customLovelaceModules;
                themes = map (p: p.name) (ha.themes or [ ]);
                inherit (config) warnings;
              };
            in
            assert lib.assertMsg (failed == [ ]) (builtins.concatStringsSep "\n" failed);
            pkgs.writeText "hacs-nix-module" (builtins.unsafeDiscardStringContext (builtins.toJSON seen));
          formatting = pkgs.runCommand "hacs-nix-formatting" { nativeBuildInputs = [ pkgs.nixfmt ]; } ''
            nixfmt --check ${./flake.nix}
            touch $out
          '';
        }
      );
    };
}
