# Home Assistant's Python set of one nixpkgs, as JSON, for hacs-nix (`pkgs/python-set.json`).
# Arguments arrive with --argstr only, so no text from elsewhere is ever parsed as Nix:
# `path` (a nixpkgs folder) or `url` and `sha256` (a nixpkgs tarball, e.g. from flake.lock).
{
  path ? null,
  url ? null,
  sha256 ? null,
}:
let
  nixpkgs =
    if path != null then /. + path else builtins.fetchTarball ({ inherit url; } // (if sha256 == null then { } else { inherit sha256; }));
  pkgs = import nixpkgs {
    config = {
      allowAliases = false;
      allowUnfree = true;
    };
    overlays = [ ];
  };
  ha = pkgs.home-assistant;
  # `python3Packages` since 2026, `python.pkgs` before.
  set = ha.python3Packages or ha.python.pkgs;
  # Attributes that throw (removed aliases, broken packages) are skipped, not fatal.
  try =
    value:
    let
      result = builtins.tryEval (builtins.deepSeq value value);
    in
    if result.success then result.value else null;
  describe =
    name:
    try (
      let
        p = set.${name};
      in
      if
        builtins.isAttrs p
        && (p.type or null) == "derivation"
        && builtins.isString (p.pname or null)
        && builtins.isString (p.version or null)
      then
        {
          inherit (p) pname version;
          # What nixpkgs imports to check it: which modules it installs.
          # (tryEval catches throws, not type errors: anything but a list is no answer.)
          imports =
            let
              check = p.pythonImportsCheck or [ ];
            in
            if builtins.isList check then builtins.filter builtins.isString check else [ ];
        }
      else
        null
    );
  described = map (name: {
    inherit name;
    value = describe name;
  }) (builtins.attrNames set);
in
{
  homeAssistant = ha.version;
  python = ha.python.pythonVersion;
  pythonFull = ha.python.version;
  shape = if ha ? python3Packages then "python3Packages" else "python.pkgs";
  packages = builtins.listToAttrs (builtins.filter (e: e.value != null) described);
  # What Home Assistant itself depends on (hassfest forbids custom integrations to pin these).
  core = builtins.filter builtins.isString (
    map (p: try (p.pname or null)) (ha.propagatedBuildInputs or [ ])
  );
}
