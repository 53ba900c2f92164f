#!/usr/bin/python3
"""test_python_install: `pip install worker/python` into a fresh venv, offline.

usage: test_python_install.py SOURCE_DIR(worker/python) PROJECT_VERSION

A copy of the directory is installed (the setuptools build writes build/ and *.egg-info next to
its pyproject.toml: none of that may land in the source tree, which is checked too) into a venv
made by `python3 -m venv` (no system site-packages), with the command worker/python/README.md
gives: `pip install --no-index --find-links /usr/share/python-wheels DIR` (setuptools and wheel
from Debian's python3-setuptools-whl and python3-wheel-whl). Then, from the venv's python with
no PYTHONPATH: hpo_client imports from the venv's site-packages (not the source tree), its
__version__ and the distribution's version are the project's, the subpackage
hpo_client.visualization is installed; `pip uninstall` removes it and the import fails."""
import os
import shutil
import subprocess
import sys
import tempfile

WHEELS = "/usr/share/python-wheels"


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def tree(path):
    out = set()
    for d, dirs, files in os.walk(path):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        out |= {os.path.relpath(os.path.join(d, f), path) for f in files + dirs}
    return out


def run(argv, env, cwd=None):
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, cwd=cwd)
    return p.returncode, p.stdout + p.stderr


def main():
    if len(sys.argv) != 3:
        fail("usage: test_python_install.py SOURCE_DIR PROJECT_VERSION")
    src, version = os.path.abspath(sys.argv[1]), sys.argv[2]
    for whl in ("setuptools", "wheel"):
        if not any(f.startswith(whl + "-") for f in os.listdir(WHEELS) if f.endswith(".whl")):
            fail("no %s wheel in %s (Debian: python3-%s-whl; bash deploy/install-deps.sh "
                 "--tests)" % (whl, WHEELS, whl))
    before = tree(src)
    # a clean environment: no PYTHONPATH, no pip configuration of this machine
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_INPUT="1")
    with tempfile.TemporaryDirectory(prefix="hpo-pip-") as tmp:
        copy = os.path.join(tmp, "python")
        shutil.copytree(src, copy, ignore=shutil.ignore_patterns(
            "__pycache__", "build", "*.egg-info"))
        venv = os.path.join(tmp, "venv")
        rc, out = run(["/usr/bin/python3", "-m", "venv", venv], env)
        if rc:
            fail("python3 -m venv failed (Debian: python3-venv):\n" + out)
        py = os.path.join(venv, "bin", "python")
        rc, out = run([py, "-m", "pip", "install", "--no-index", "--find-links", WHEELS, copy],
                      env)
        if rc:
            fail("pip install failed:\n" + out)
        probe = ("import hpo_client, importlib.metadata as m, importlib.util as u\n"
                 "print(hpo_client.__file__)\n"
                 "print(hpo_client.__version__)\n"
                 "print(m.version('hpo-client'))\n"
                 "print(u.find_spec('hpo_client.visualization').origin)\n"
                 "print(callable(hpo_client.create_study))\n")
        rc, out = run([py, "-c", probe], env, cwd=tmp)
        if rc:
            fail("import hpo_client from the venv failed:\n" + out)
        module, mod_version, dist_version, vis, callable_ = out.split("\n")[:5]
        site = os.path.join(os.path.realpath(venv), "lib")
        for path in (module, vis):
            if not os.path.realpath(path).startswith(site + os.sep):
                fail("%s is not inside the venv (%s)" % (path, site))
        if mod_version != version or dist_version != version:
            fail("versions: hpo_client.__version__ %s, distribution %s, project %s"
                 % (mod_version, dist_version, version))
        if callable_ != "True":
            fail("hpo_client.create_study is not callable")
        print("installed: %s, version %s" % (module, version))

        rc, out = run([py, "-m", "pip", "uninstall", "-y", "hpo-client"], env)
        if rc:
            fail("pip uninstall failed:\n" + out)
        rc, out = run([py, "-c", "import hpo_client"], env, cwd=tmp)
        if rc == 0 or "ModuleNotFoundError" not in out:
            fail("hpo_client still imports after pip uninstall:\n" + out)
        if os.path.exists(os.path.dirname(module)):
            fail("%s is left after pip uninstall" % os.path.dirname(module))
    added = tree(src) - before
    if added:
        fail("the install wrote into the source tree: %s" % sorted(added))
    print("pip install, import, uninstall: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
