#!/usr/bin/env bash
# Benchmark of `cargo xtask lint` on a cold process: a checkout with 100 pinned components
# (each re-generated in memory, compared, and its requirements re-checked against a snapshot of
# 9,000 packages) and 50 hand-written .nix files parsed with rnix. Target: under 200 ms.
# Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$PWD/bench/work/lint
rm -rf "$work" && mkdir -p "$work/pkgs" "$work/modules"
cargo build --release --quiet -p xtask
xtask=$PWD/target/release/hacs-nix

python3 - "$work" <<'PY'
import json, sys
out = sys.argv[1]
packages = {f"pkg-{i}": {"pname": f"pkg-{i}", "version": f"{i % 7}.{i % 13}.{i % 5}"} for i in range(9000)}
packages["packaging"] = {"pname": "packaging", "version": "26.0"}
json.dump({"schema": 1, "nixpkgs": {"source": "bench", "nar_hash": "sha256-bench"}, "home_assistant": "2026.11.2",
           "python": "3.14", "python_full": "3.14.0", "shape": "python3Packages", "core": [], "packages": packages},
          open(f"{out}/pkgs/python-set.json", "w"), indent=2)
components, lock = [], {}
for i in range(100):
    deps = [f"pkg-{(i * 37 + k * 11) % 9000}" for k in range(3)]
    reqs = [f"{d}>={int(packages[d]['version'].split('.')[0])}" for d in deps]
    components.append(f"[c{i}]\nrepo = \"bench/c{i}\"\n")
    lock[f"c{i}"] = {
        "repo": f"bench/c{i}", "version": f"1.{i}.0", "commit": f"{i:040}",
        "url": f"https://github.com/bench/c{i}/archive/refs/tags/1.{i}.0.tar.gz", "fetcher": "fetchFromGitHub",
        "strip_root": True, "hash": "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "domain": f"c{i}",
        "home_assistant_min": "2025.1.0",
        "requirements": {f"custom_components/c{i}/manifest.json": reqs}, "dependencies": sorted(deps),
        "ignore_version_requirement": [],
        "patches": {"stamp_version": {f"custom_components/c{i}/manifest.json": f"1.{i}.0"}, "drop_requirements": {}, "rename_folder": None},
        "meta": {"description": f"Component {i}", "homepage": None, "license": "MIT", "changelog": None},
        "findings": [], "verified": "downloaded"}
open(f"{out}/pkgs/components.toml", "w").write("\n".join(components))
json.dump({"schema": 1, "components": lock}, open(f"{out}/pkgs/components.lock.json", "w"), indent=2)
module = """{ pkgs, lib, config, ... }:
let
  cfg = config.services.home-assistant;
in
{
  services.home-assistant = {
    enable = true;
    extraComponents = [ "met" "radio_browser" "mqtt" ];
    customComponents = [
      (pkgs.buildHomeAssistantComponent rec {
        owner = "someone";
        domain = "thing_%d";
        version = "1.0.%d";
        src = pkgs.fetchFromGitHub { owner = "someone"; repo = "thing"; rev = "v${version}"; hash = lib.fakeHash; };
        dependencies = with pkgs.home-assistant.python.pkgs; [ aiohttp numpy ];
      })
    ];
    config.homeassistant.name = "Home %d";
  };
  networking.firewall.allowedTCPPorts = lib.mkIf cfg.enable [ 8123 ];
}
"""
for i in range(50):
    open(f"{out}/modules/module{i}.nix", "w").write(module.replace("%d", str(i)) * 1)
PY
(cd "$work" && "$xtask" update-components --offline >/dev/null)
cd "$work"
"$xtask" lint --scan modules >/dev/null
hyperfine -N --warmup 3 --runs "${RUNS:-30}" --export-markdown "$work/lint.md" \
  -n "lint: 100 components, 50 hand-written files" "$xtask lint --scan modules"
