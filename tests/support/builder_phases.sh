# The builder model's phases, written here from the facts in
# shared/reference/nixpkgs-builder.md (nixpkgs' manifest check hook, buildHomeAssistantComponent's
# install phase); sourced by tests/support/builder.rs after it has declared the derivation's
# attributes the way stdenv does in the derivation's mode.

# The hook: exactly these three patterns, relative to the unpacked source.
manifestCheckPhase() {
  local -a manifests=()
  local f
  shopt -s nullglob
  for f in ./manifest.json ./custom_components/*/manifest.json ./custom_components/*/integrations/*/manifest.json; do
    [ -f "$f" ] && manifests+=("$f")
  done
  shopt -u nullglob
  if ((${#manifests[@]} == 0)); then
    echo "No component manifests found" >&2
    return 1
  fi
  # As the hook does: each element of "${ignoreVersionRequirement[@]}" appended to one string,
  # passed unquoted. (Guarded for an absent or empty attribute, which builds in nixpkgs.)
  local args=""
  local package
  if [ -n "${ignoreVersionRequirement-}" ]; then
    for package in "${ignoreVersionRequirement[@]}"; do
      args+=" --ignore-version-requirement ${package}"
    done
  fi
  # shellcheck disable=SC2068,SC2086
  "$MODEL_PYTHON" "$MODEL_CHECK" ${manifests[@]} $args
}

# buildHomeAssistantComponent's install phase.
installPhase() {
  mkdir -p "$out/custom_components"
  if [ -f ./manifest.json ]; then
    cp -R . "$out/custom_components/${domain}"
  else
    cp -r ./custom_components/ "$out/"
  fi
  if [ -e ./custom_sentences ]; then
    cp -r ./custom_sentences "$out/"
  fi
}

# stdenv's fixup check `noBrokenSymlinks` (nixpkgs 2025+): a link in $out whose target does not
# exist, or that points to itself, fails the build. In the sandbox only the store exists, so a
# target outside $out (absolute, or relative climbing out) dangles too.
noBrokenSymlinks() {
  local link resolved
  while IFS= read -r -d '' link; do
    resolved=$(readlink -m "$link")
    if [ "$resolved" = "$link" ]; then
      echo "noBrokenSymlinks: the symlink $link points to itself" >&2
      return 1
    fi
    case "$resolved" in
      "$out"/*) ;;
      *)
        echo "noBrokenSymlinks: the symlink $link points to a missing target: $(readlink "$link")" >&2
        return 1
        ;;
    esac
    if [ ! -e "$link" ]; then
      echo "noBrokenSymlinks: the symlink $link points to a missing target: $(readlink "$link")" >&2
      return 1
    fi
  done < <(find "$out" -type l -print0)
}

# stdenv's default configurePhase (pkgs/stdenv/generic/setup.sh): `./configure` with the
# prefix when it is executable, unless dontConfigure; no Python hook replaces it for
# `pyproject = false`.
configurePhase() {
  if [ -x ./configure ]; then
    ./configure --prefix="$out"
  fi
}

# stdenv's default buildPhase: `make` when a Makefile of one of its three names exists.
buildPhase() {
  if [ -e Makefile ] || [ -e makefile ] || [ -e GNUmakefile ]; then
    make SHELL="$BASH"
  fi
}

# The order of a real build: patch, configure, build, install, fixup, then the install check
# that runs the hook.
cd "$MODEL_SOURCE"
echo "@@phase patch" >&2
if [ -n "${postPatch-}" ]; then
  eval "$postPatch"
fi
echo "@@phase configure" >&2
if [ -z "${dontConfigure-}" ]; then
  configurePhase
fi
echo "@@phase build" >&2
if [ -z "${dontBuild-}" ]; then
  buildPhase
fi
echo "@@phase install" >&2
installPhase
echo "@@phase fixup" >&2
noBrokenSymlinks
echo "@@phase manifest-check" >&2
manifestCheckPhase
