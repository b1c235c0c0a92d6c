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
    in
    {
      overlays.default = final: prev: {
        home-assistant-custom-components =
          (prev.home-assistant-custom-components or { }) // componentsFor final.home-assistant;
      };

      packages = forAllSystems (pkgs: componentsFor pkgs.home-assistant);

      checks = forAllSystems (pkgs: componentsFor pkgs.home-assistant);
    };
}
