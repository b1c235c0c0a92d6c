#!/usr/bin/env bash
# Benchmark of `cargo xtask deps`: (1) the snapshot path, 100 requirements against a set the
# size of nixpkgs' Home Assistant set (about 9,000 packages), target under 50 ms; (2) the Nix
# evaluation of the fixture set in tests/fixtures/nixpkgs. Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$PWD/bench/work/deps
mkdir -p "$work"
cargo build --release --quiet -p xtask
xtask=$PWD/target/release/hacs-nix

# A snapshot with 9,000 packages and a manifest whose 100 requirements all resolve in it.
python3 - "$work" <<'PY'
import json, sys
out = sys.argv[1]
packages = {f"pkg-{i}": {"pname": f"Pkg_{i}", "version": f"{i % 7}.{i % 13}.{i % 5}"} for i in range(9000)}
packages["packaging"] = {"pname": "packaging", "version": "26.0"}
snapshot = {"schema": 1, "nixpkgs": {"source": "bench", "nar_hash": "sha256-bench"}, "home_assistant": "2026.11.2",
            "python": "3.14", "python_full": "3.14.0", "shape": "python3Packages", "core": ["aiohttp"], "packages": packages}
json.dump(snapshot, open(f"{out}/python-set.json", "w"), indent=2, sort_keys=True)
reqs = [f"pkg.{i * 89}>={(i * 89) % 7}.0,<99; python_version >= '3.12'" for i in range(100)]
json.dump({"domain": "bench", "name": "Bench", "requirements": reqs, "version": "1.0.0"}, open(f"{out}/manifest.json", "w"))
PY
"$xtask" deps "$work/manifest.json" --snapshot "$work/python-set.json" >/dev/null
cd "$work"
hyperfine --warmup 3 --runs "${RUNS:-30}" -N --export-markdown "$work/snapshot.md" \
  -n "deps, 100 requirements, snapshot of 9,000 packages" "$xtask deps manifest.json --snapshot python-set.json"

# Evaluation with real Nix: a fresh snapshot path every run forces it.
fixture=$OLDPWD/tests/fixtures/nixpkgs/ha-2026
hyperfine --warmup 1 --runs "${RUNS:-30}" --export-markdown "$work/evaluation.md" \
  --prepare "rm -f $work/fresh.json" \
  -n "deps with Nix evaluation of the fixture" "$xtask deps manifest.json --nixpkgs $fixture --snapshot $work/fresh.json || true"
