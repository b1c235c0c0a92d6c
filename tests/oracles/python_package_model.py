"""A model of what nixpkgs' Python builder checks of a package built from one index file,
written from the facts in shared/reference (no nixpkgs file copied):

- pythonRuntimeDepsCheck: every requirement of the built distribution's metadata whose marker
  holds on the target (Linux, Home Assistant's Python) must be installed among the package's
  dependencies, at a version its specifier admits (pre-releases admitted), read with real
  `packaging` and `importlib.metadata`;
- pythonImportsCheck: each listed name imports from what the file installs.

usage: python_package_model.py FILE SITE-PACKAGES [IMPORT...]
"""
import email.parser
import importlib
import importlib.metadata
import re
import sys
import tarfile
import tempfile
import zipfile

from packaging.requirements import Requirement

ENVIRONMENT = {
    "python_version": "3.14",
    "python_full_version": "3.14.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}


def fail(phase, message):
    print(f"@@phase {phase}", file=sys.stderr)
    print(message, file=sys.stderr)
    sys.exit(1)


def requires_txt(text):
    out, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section is None:
            out.append(line)
            continue
        extra, _, marker = section.partition(":")
        clauses = []
        if marker:
            clauses.append(f"({marker})")
        if extra:
            clauses.append(f'extra == "{extra}"')
        out.append(f"{line}; {' and '.join(clauses)}" if clauses else line)
    return out


def metadata_and_root(path, into):
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as z:
            z.extractall(into)
            names = z.namelist()
        meta = next(n for n in names if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
        text = open(f"{into}/{meta}", encoding="utf-8").read()
        return email.parser.Parser().parsestr(text).get_all("Requires-Dist") or [], into
    with tarfile.open(path) as t:
        t.extractall(into, filter="data")
        names = t.getnames()
    top = names[0].split("/")[0]
    text = open(f"{into}/{top}/PKG-INFO", encoding="utf-8").read()
    requires = email.parser.Parser().parsestr(text).get_all("Requires-Dist") or []
    if not requires:
        # setuptools writes the built metadata from setup.py, which the egg-info mirrors.
        for name in names:
            if re.fullmatch(rf"{re.escape(top)}/(src/)?[^/]+\.egg-info/requires\.txt", name):
                requires = requires_txt(open(f"{into}/{name}", encoding="utf-8").read())
    root = f"{into}/{top}"
    if any(n.startswith(f"{top}/src/") for n in names):
        root = f"{root}/src"
    return requires, root


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def main():
    path, site, imports = sys.argv[1], sys.argv[2], sys.argv[3:]
    installed = {
        normalize(d.metadata["Name"]): d.version
        for d in importlib.metadata.distributions(path=[site])
    }
    with tempfile.TemporaryDirectory() as tmp:
        requires, root = metadata_and_root(path, tmp)
        for text in requires:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate(ENVIRONMENT):
                continue
            version = installed.get(normalize(req.name))
            if version is None:
                fail("pythonRuntimeDepsCheck", f"{req.name} not installed")
            if not req.specifier.contains(version, prereleases=True):
                fail(
                    "pythonRuntimeDepsCheck",
                    f"{req.name}{req.specifier} not satisfied by version {version}",
                )
        sys.path.insert(0, root)
        for name in imports:
            try:
                importlib.import_module(name)
            except Exception as e:  # noqa: BLE001 - report whatever the import raised
                fail("pythonImportsCheck", f"import {name}: {e!r}")


main()
