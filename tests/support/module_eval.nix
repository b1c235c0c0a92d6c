# hacs-nix's NixOS module under nixpkgs' real module system: nixpkgs' own `lib.evalModules`
# and its own `services.home-assistant` module (one of two generations), next to this flake's
# `nixosModules.default`. Stubbed are only what a NixOS system and nixpkgs' package set would
# bring that these tests do not check: the other NixOS options the Home Assistant module sets
# (systemd, users, networking, …), and packages (a Home Assistant, the fetchers, stdenv,
# buildEnv, formats.yaml) whose outputs the Rust side then builds for real (the builder model,
# the card and theme install phases by bash, buildEnv's symlink merge) at the `outPath`s given
# here. `buildEnv` and `formats.yaml` report what they were given with `builtins.trace`.
{
  nixpkgs, # a folder holding nixpkgs' lib/ and nixos/home-assistant-<generation>.nix
  generation, # "2025" or "2026"
  flake, # the folder holding the flake.nix under test
  outRoot, # where the Rust side puts every package's output
  host, # JSON: services.home-assistant settings (hacs-nix's `pkgs` as a string path)
  haVersion ? "2026.3.1",
  haName ? "home-assistant",
  sources ? "{}", # JSON: fetchurl URL → local file
}:
let
  lib = import "${nixpkgs}/lib";
  inherit (lib) types;
  hostSettings = builtins.fromJSON host;
  urls = builtins.fromJSON sources;

  package = attrs: attrs // { type = "derivation"; };
  stubPackage = name: package {
    inherit name;
    pname = name;
    outPath = "${outRoot}/python-${name}";
  };

  # nixpkgs' formats.yaml type: the value types YAML can hold.
  yamlValue = types.nullOr (
    types.oneOf [
      types.bool
      types.int
      types.float
      types.str
      types.path
      (types.attrsOf yamlValue)
      (types.listOf yamlValue)
    ]
  );

  fetchFromGitHub =
    args:
    args
    // {
      outPath = "${outRoot}/source-${args.owner}-${args.repo}-${args.tag or args.rev}";
    };
  scope = {
    inherit lib fetchFromGitHub;
    fetchurl = { url, hash }: urls.${url} or (throw "no local file for ${url}");
    fetchzip = args: args // { outPath = "${outRoot}/zip-${baseNameOf args.url}"; };
    stdenvNoCC.mkDerivation =
      args:
      package (
        args
        // (args.passthru or { })
        // {
          name = "${args.pname}-${args.version}";
          outPath = "${outRoot}/${args.pname}-${args.version}";
        }
      );
  };
  callPackage =
    path: overrides:
    let
      f = import path;
      wanted = builtins.functionArgs f;
      given = builtins.mapAttrs (name: _: scope.${name} or (stubPackage name)) wanted;
    in
    f (given // overrides);

  homeAssistant = package {
    name = "${haName}-${haVersion}";
    pname = haName;
    version = haVersion;
    outPath = "${outRoot}/${haName}-${haVersion}";
    override = _: homeAssistant;
    extraComponents = [ ];
    # Home Assistant's own integrations, as far as the module names them by default.
    availableComponents = [
      "application_credentials" "frontend" "hardware" "logger" "network" "system_health"
      "automation" "person" "scene" "script" "tag" "zone" "counter" "input_boolean"
      "input_button" "input_datetime" "input_number" "input_select" "input_text" "schedule"
      "timer" "backup" "default_config" "met" "esphome" "rpi_power" "analytics" "lovelace"
    ];
    pythonPath = "";
  }
  // (
    if generation == "2026" then
      { python3Packages = { inherit callPackage; }; }
    else
      { python.pkgs = { inherit callPackage; }; }
  );

  pkgs = {
    inherit lib;
    home-assistant = homeAssistant;
    buildHomeAssistantComponent.override =
      { home-assistant }:
      args:
      package (
        args
        // {
          name = "${args.owner}-${args.domain}-${args.version}";
          outPath = "${outRoot}/component-${args.domain}";
          builtWith = home-assistant.name;
          isHomeAssistantComponent = true;
          propagatedBuildInputs = args.dependencies or [ ];
        }
      );
    buildEnv =
      { name, paths, ... }:
      let
        outPath = "${outRoot}/env-${name}";
      in
      builtins.trace (builtins.toJSON {
        env = outPath;
        paths = map toString paths;
      }) (package { inherit name paths outPath; });
    formats.yaml = _: {
      type = yamlValue;
      generate =
        name: value:
        builtins.trace (builtins.toJSON {
          generated = name;
          inherit value;
        }) "${outRoot}/generated-${name}";
    };
    runCommand = name: _: script: package {
      inherit name script;
      outPath = "${outRoot}/run-${name}";
    };
    runCommandLocal = pkgs.runCommand;
    stdenv.hostPlatform.isAarch = false;
  };

  # The rest of a NixOS system, as far as the Home Assistant module writes or reads it.
  nixosStubs = {
    options = {
      assertions = lib.mkOption {
        type = types.listOf types.unspecified;
        default = [ ];
      };
      warnings = lib.mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      meta = lib.mkOption { type = types.raw; };
    }
    // lib.genAttrs [ "systemd" "users" "networking" "ids" "time" ] (
      _:
      lib.mkOption {
        type = types.lazyAttrsOf types.anything;
        default = { };
      }
    )
    // {
      environment.etc = lib.mkOption {
        type = types.lazyAttrsOf types.anything;
        default = { };
      };
    };
    config.ids.uids.hass = 286;
    config.ids.gids.hass = 286;
  };

  flakeOutputs = (import "${flake}/flake.nix").outputs {
    self = { };
    nixpkgs = {
      inherit lib;
      legacyPackages = { };
    };
  };
  hacsModule = flakeOutputs.nixosModules.default;
  folder = if hostSettings.hacs-nix ? pkgs then /. + hostSettings.hacs-nix.pkgs else "${flake}/pkgs";

  hostModule = {
    services.home-assistant = builtins.removeAttrs hostSettings [ "hacs-nix" ] // {
      enable = true;
      package = homeAssistant;
      hacs-nix =
        hostSettings.hacs-nix
        // lib.optionalAttrs (hostSettings.hacs-nix ? pkgs) {
          pkgs = folder;
        };
    };
  };

  system = lib.evalModules {
    modules = [
      "${nixpkgs}/nixos/home-assistant-${generation}.nix"
      nixosStubs
      hacsModule
      hostModule
    ];
    specialArgs = {
      inherit pkgs;
      utils.escapeSystemdExecArgs = lib.escapeShellArgs;
    };
  };
  cfg = system.config.services.home-assistant;
  hass = system.config.systemd.services.home-assistant or { };
in
{
  failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) system.config.assertions);
  inherit (system.config) warnings;
  customComponents = map (p: {
    inherit (p) domain builtWith;
    path = toString p;
  }) cfg.customComponents;
  customLovelaceModules = map (p: {
    path = toString p;
    entrypoint = p.entrypoint or null;
  }) cfg.customLovelaceModules;
  themes = map toString (cfg.themes or [ ]);
  preStart = hass.preStart or null;
  configurationYaml = system.config.environment.etc."home-assistant/configuration.yaml".source.script or null;
  # Every package of the folder, by `lib.componentsIn`, where its output is expected.
  folderPackages = builtins.mapAttrs (_: toString) (flakeOutputs.lib.componentsIn folder pkgs homeAssistant);
  frontendThemes = if cfg.config == null then null else cfg.config.frontend.themes or null;
}
