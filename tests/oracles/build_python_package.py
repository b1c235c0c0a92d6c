"""Builds one generated Python package for real, in the order nixpkgs' `buildPythonPackage`
runs its hooks (shared/nixpkgs/python: mk-python-derivation.nix and the hooks beside it):

1. unpack the fetched file (an sdist; a wheel goes straight to dist/, as wheelUnpackHook does);
2. postPatch, with real bash (`substituteInPlace --replace-fail` as stdenv defines it: each
   literal must be there, every occurrence replaced);
3. pypaBuildPhase: `python -m build --no-isolation --outdir dist/ --wheel`, with only `wheel`
   (which the hook propagates) and the declared `build-system` on the path, the front end on
   its own, and the network cut (`unshare -rn`);
4. pythonRelaxDeps: the listed names' version specifiers dropped from the wheel's METADATA,
   as nixpkgs' relax hook does before the checks;
5. pypaInstallPhase: `python -m installer --prefix $out`; site-packages/tests removed as
   nixpkgs' pythonRemoveTestsDir does;
6. pythonRuntimeDepsCheck: nixpkgs' own python-runtime-deps-check-hook.py on the wheel, with
   the package's dependencies (and theirs) on the path;
7. pythonImportsCheck: the hook's own command, from $out.

usage: build_python_package.py SPEC.json    (SPEC: see tests/support/pybuild.rs)
Exits 1 with `@@phase <name>` on stderr where a phase fails.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile

SUBSTITUTE = r'''
substituteInPlace() {
  local file=$1; shift
  while (($#)); do
    case $1 in
      --replace-fail)
        python3 - "$file" "$2" "$3" <<'PY' || return 1
import sys
path, old, new = sys.argv[1:]
text = open(path, encoding="utf-8").read()
if old not in text:
    sys.exit(f"substituteInPlace: pattern {old!r} doesn't match anything in file {path!r}")
open(path, "w", encoding="utf-8").write(text.replace(old, new))
PY
        shift 3;;
      *) echo "substituteInPlace: unsupported $1" >&2; return 1;;
    esac
  done
}
'''


def fail(phase, message):
    print(f"@@phase {phase}", file=sys.stderr)
    print(message, file=sys.stderr)
    sys.exit(1)


def run(phase, cmd, cwd, env):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        fail(phase, f"{' '.join(cmd)}\n{done.stdout}\n{done.stderr}")
    return done


def clean_env(path, programs=()):
    # Build inputs' programs on PATH, as stdenv puts them (uv-build's shim runs `uv-build`).
    system = os.environ.get("PATH", "/usr/bin:/bin")
    env = {"PATH": os.pathsep.join([os.path.join(p, "bin") for p in programs] + [system]),
           "HOME": "/homeless-shelter",
           "SOURCE_DATE_EPOCH": "315532800", "PYTHONNOUSERSITE": "1",
           "PYTHONDONTWRITEBYTECODE": "1"}
    env["PYTHONPATH"] = os.pathsep.join(path)
    return env


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def relax(wheel, names):
    """Drops the version specifiers of `names` from the wheel's Requires-Dist."""
    wanted = {normalize(n) for n in names}
    with zipfile.ZipFile(wheel) as z:
        items = [(info, z.read(info)) for info in z.infolist()]
    out = []
    for info, data in items:
        if re.fullmatch(r"[^/]+\.dist-info/METADATA", info.filename):
            lines = []
            for line in data.decode("utf-8").split("\n"):
                m = re.match(r"Requires-Dist: *([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?([^;]*)(;.*)?$", line)
                if m and normalize(m.group(1)) in wanted:
                    line = f"Requires-Dist: {m.group(1)}{m.group(2) or ''}" + (
                        f" {m.group(4)}" if m.group(4) else "")
                lines.append(line)
            data = "\n".join(lines).encode("utf-8")
        out.append((info, data))
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in out:
            z.writestr(info, data)


def main():
    spec = json.load(open(sys.argv[1], encoding="utf-8"))
    work, out, python = spec["work"], spec["out"], spec["python"]
    dist = os.path.join(work, "dist")
    os.makedirs(dist, exist_ok=True)
    if spec["wheel"]:
        shutil.copy(spec["src"], os.path.join(dist, os.path.basename(spec["src"])))
        root = work
    else:
        unpacked = os.path.join(work, "source")
        with tarfile.open(spec["src"]) as t:
            t.extractall(unpacked, filter="data")
        tops = os.listdir(unpacked)
        if len(tops) != 1:
            fail("unpack", f"the sdist holds {tops}, not one folder")
        root = os.path.join(unpacked, tops[0])
        if spec.get("postPatch"):
            run("patch", ["bash", "-euo", "pipefail", "-c", SUBSTITUTE + spec["postPatch"]],
                root, clean_env([]))
        # The front end on its own path (as nixpkgs runs pyproject-build, a program of its
        # own), so the backend's hooks see only `wheel` and the declared build system.
        front = "import sys; sys.path.insert(0, sys.argv.pop(1)); from build.__main__ import entrypoint; entrypoint()"
        build = [python, "-c", front, spec["frontend"], "--no-isolation", "--outdir", "dist/",
                 "--wheel"]
        run("build", spec["unshare"] + build, root,
            clean_env([spec["wheel_hook"]] + spec["build_system"], spec["build_system"]))
        for w in glob.glob(os.path.join(root, "dist", "*.whl")):
            shutil.move(w, dist)
    wheels = glob.glob(os.path.join(dist, "*.whl"))
    if len(wheels) != 1:
        fail("build", f"dist/ holds {wheels}")
    wheel = wheels[0]
    if spec["relax"]:
        relax(wheel, spec["relax"])
    run("install", [python, "-m", "installer", "--prefix", out, wheel], work,
        clean_env([spec["frontend"]]))
    sites = glob.glob(os.path.join(out, "lib", "python*", "site-packages"))
    if len(sites) != 1:
        fail("install", f"no site-packages in {out}")
    site = sites[0]
    shutil.rmtree(os.path.join(site, "tests"), ignore_errors=True)
    # nativeCheckInputs are inputs of the whole build when checks run (stdenv adds
    # nativeInstallCheckInputs to nativeBuildInputs): on the path of both checks.
    deps = spec["dependencies"] + spec.get("check_inputs", [])
    if spec["deps_hook"]:
        run("runtime-deps-check", [python, spec["deps_hook"], wheel], work,
            clean_env([spec["hook_path"], site] + deps))
    if spec["imports"]:
        code = "import sys; import importlib; list(map(lambda mod: importlib.import_module(mod), sys.argv[1:]))"
        run("imports-check", [python, "-c", code] + spec["imports"], out,
            clean_env([site] + deps))
    print(site)


main()
