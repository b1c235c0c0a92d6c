"""A model of nixpkgs' `check_manifest.py` for the builder model (tests/support/builder.rs),
written here from the facts in shared/reference/nixpkgs-builder.md, not copied:

- argparse: `manifests` (nargs="+", opened as files) and `--ignore-version-requirement`
  (action="append");
- at least one manifest's `domain` must equal `os.environ.get("domain")`; every manifest is read
  with `manifest["domain"]` (a file without it raises KeyError), short-circuiting like `any()`;
- every requirement of every manifest: unparsable by `packaging` -> skipped; not installed ->
  "X not installed"; version outside the specifier and the name (as spelled) not ignored ->
  "X... not satisfied by version V". Markers and extras are ignored.

The build environment is the derivation's own: only the distributions on PYTHONPATH (the model's
fake `*.dist-info` of exactly the derivation's `dependencies`) are installed, as nixpkgs' check
sees only the component's build inputs."""
import argparse
import json
import os
import sys
from importlib.metadata import PackageNotFoundError, version

from packaging.requirements import InvalidRequirement, Requirement

# From here on only the build environment's distributions are visible (the oracle's venv holds
# `packaging` itself, which a component's environment does not).
sys.path[:] = [p for p in os.environ.get("PYTHONPATH", "").split(":") if p] + [
    p for p in sys.path if "site-packages" not in p
]

parser = argparse.ArgumentParser()
parser.add_argument("manifests", nargs="+", type=argparse.FileType("r"))
parser.add_argument("--ignore-version-requirement", action="append", default=[])
args = parser.parse_args()

manifests = [json.load(f) for f in args.manifests]
derivation_domain = os.environ.get("domain")
if not any(m["domain"] == derivation_domain for m in manifests):
    sys.exit(
        f"Derivation attribute domain ({derivation_domain}) should match manifest domain "
        f"({', '.join(str(m.get('domain')) for m in manifests)})"
    )

ok = True
for manifest in manifests:
    for text in manifest.get("requirements", []):
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            print(f"{requirement.name} not installed", file=sys.stderr)
            ok = False
            continue
        if requirement.name in args.ignore_version_requirement:
            continue
        if installed not in requirement.specifier:
            print(f"{requirement} not satisfied by version {installed}", file=sys.stderr)
            ok = False
sys.exit(0 if ok else 1)
