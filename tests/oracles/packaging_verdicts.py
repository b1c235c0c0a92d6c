"""What `packaging` (the release on sys.path) makes of requirement strings and of
`version in SpecifierSet(spec)`, as nixpkgs' manifest check evaluates them.

stdin: {"requirements": [str], "pairs": [[version, specifier]]}
stdout: {"packaging": version, "requirements": [{"valid", "name", "url"}],
         "pairs": ["satisfied" | "not-satisfied" | "raises"]}"""
import json
import sys

import packaging
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet


def requirement(text):
    try:
        r = Requirement(text)
    except InvalidRequirement:
        return {"valid": False, "name": None, "url": None}
    return {"valid": True, "name": r.name, "url": r.url}


def pair(version, spec):
    try:
        return "satisfied" if version in SpecifierSet(spec) else "not-satisfied"
    except Exception:  # InvalidVersion before packaging 26
        return "raises"


data = json.load(sys.stdin)
print(json.dumps({
    "packaging": packaging.__version__,
    "requirements": [requirement(r) for r in data["requirements"]],
    "pairs": [pair(v, s) for v, s in data["pairs"]],
}))
