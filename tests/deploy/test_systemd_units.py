#!/usr/bin/python3
"""test_systemd_units: hpo-server.service and hpo-worker@.service as `meson install` puts them.

usage: test_systemd_units.py BUILD_DIR HPO_SERVER_BIN

The build is installed into a temporary root (with the host's systemd units beside it, which
`systemd-analyze verify --root` needs for the targets), then:
- `systemd-analyze verify` of both units (the worker as an instance) prints nothing: no unknown
  directive, no bad value, ExecStart an executable in that root, the man page of
  Documentation= found;
- copies with a misspelt directive or a missing binary are caught (so the check can fail);
- the hardening and stop settings are there: a dedicated user (hpo) or a dynamic one,
  NoNewPrivileges, ProtectSystem=strict, ProtectHome, PrivateTmp, StateDirectory, Restart,
  credentials for the secrets (the token, the PostgreSQL password file), SIGTERM with a stop
  timeout above the server's drain (its --help default) and above the worker's grace, the
  worker's --requeue-on-exit and KillMode=mixed, the ordering after the network and PostgreSQL;
- `systemd-analyze security --offline` rates both at most 5.0 (systemd's "OK").
systemd is not started: this runs where PID 1 is not systemd too."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ANALYZE = shutil.which("systemd-analyze")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(argv, env=None, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})), **kw)


def read_unit(path):
    """{section: {key: [values]}} of a unit file (continuation lines joined)."""
    units = {}
    section = None
    with open(path, encoding="utf-8") as f:
        text = f.read().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = units.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            section.setdefault(key.strip(), []).append(value.strip())
    return units


def seconds(value):
    m = re.fullmatch(r"(\d+)(s|min)?", value)
    if not m:
        fail("cannot read the time span '%s'" % value)
    return int(m.group(1)) * (60 if m.group(2) == "min" else 1)


def env_of(service):
    env = {}
    for value in service.get("Environment", []):
        for m in re.finditer(r'"([^"]*)"|(\S+)', value):
            k, _, v = (m.group(1) or m.group(2)).partition("=")
            env[k] = v
    return env


def verify(root, unit, manpath):
    p = run([ANALYZE, "verify", "--root=" + root, unit], env={"MANPATH": manpath},
            cwd=root)
    return p.returncode, (p.stdout + p.stderr).strip()


def check_settings(path, problems, drain_default_s):
    u = read_unit(path)
    name = os.path.basename(path)
    unit, service = u.get("Unit", {}), u.get("Service", {})
    one = lambda k: (service.get(k) or [""])[-1]

    def want(key, ok, what):
        if not ok(one(key)):
            problems.append("%s: %s=%s, expected %s" % (name, key, one(key), what))

    want("NoNewPrivileges", lambda v: v == "yes", "yes")
    want("ProtectSystem", lambda v: v == "strict", "strict")
    want("ProtectHome", lambda v: v in ("yes", "read-only", "tmpfs"), "yes, read-only or tmpfs")
    want("PrivateTmp", lambda v: v == "yes", "yes")
    want("StateDirectory", lambda v: v != "", "a directory")
    want("Restart", lambda v: v == "on-failure", "on-failure")
    want("KillSignal", lambda v: v == "SIGTERM", "SIGTERM")
    want("RestartPreventExitStatus", lambda v: "2" in v.split(), "2 (bad settings)")
    after = " ".join(unit.get("After", [])).split()
    if "network-online.target" not in after or "network-online.target" not in " ".join(
            unit.get("Wants", [])):
        problems.append("%s: not after (and wanting) network-online.target" % name)
    if "WantedBy" not in u.get("Install", {}):
        problems.append("%s: no [Install] WantedBy=" % name)
    creds = {c.split(":", 1)[0] for c in service.get("LoadCredential", [])}
    env = env_of(service)
    stop_s = seconds(one("TimeoutStopSec") or "0")
    if name.startswith("hpo-server"):
        want("User", lambda v: v == "hpo", "hpo (the system user the package makes)")
        if "postgresql.service" not in after:
            problems.append("%s: not ordered after postgresql.service" % name)
        if "pgpass" not in creds or env.get("PGPASSFILE") != "%d/pgpass":
            problems.append("%s: the password file is not the credential PGPASSFILE names"
                            % name)
        if not env.get("HPO_ARTIFACT_DIR", "").startswith("%S/"):
            problems.append("%s: artifacts are not under the state directory" % name)
        if stop_s <= drain_default_s:
            problems.append("%s: TimeoutStopSec=%ds does not leave the server its drain (%d s)"
                            % (name, stop_s, drain_default_s))
    else:
        want("DynamicUser", lambda v: v == "yes", "yes")
        want("KillMode", lambda v: v == "mixed", "mixed (the worker stops its commands itself)")
        want("EnvironmentFile", lambda v: "%i" in v and not v.startswith("-"),
             "a required file per instance (%i)")
        if "token" not in creds or env.get("HPO_TOKEN_FILE") != "%d/token":
            problems.append("%s: the token is not the credential HPO_TOKEN_FILE names" % name)
        if "--requeue-on-exit" not in one("ExecStart").split():
            problems.append("%s: ExecStart lacks --requeue-on-exit" % name)
        grace_s = int(env.get("HPO_GRACE_MS", "5000")) / 1000
        if stop_s < grace_s + 30:
            problems.append("%s: TimeoutStopSec=%ds is not 30 s above the grace (%g s)"
                            % (name, stop_s, grace_s))
    return u


def main():
    if len(sys.argv) != 3:
        fail("usage: test_systemd_units.py BUILD_DIR HPO_SERVER_BIN")
    build, server_bin = sys.argv[1:]
    if not ANALYZE:
        fail("systemd-analyze is not installed (Debian: systemd; bash deploy/install-deps.sh "
             "--tests)")
    pid1 = open("/proc/1/comm").read().strip()
    print("PID 1 is %s: the units are verified offline%s" %
          (pid1, "" if pid1 != "systemd" else " (systemd runs here, but is not asked to start "
                                              "them)"))
    m = re.search(r"--drain-seconds\s.*?default (\d+)",
                  run([server_bin, "--help"]).stdout, re.S)
    if not m:
        fail("no --drain-seconds default in hpo-server --help")
    drain_default_s = int(m.group(1))

    problems = []
    with tempfile.TemporaryDirectory(prefix="hpo-units-") as tmp:
        root = os.path.join(tmp, "root")
        p = run(["meson", "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", root])
        if p.returncode:
            fail("meson install failed:\n" + p.stdout + p.stderr)
        found = {}
        for dirpath, _, files in os.walk(root):
            for f in files:
                if f in ("hpo-server.service", "hpo-worker@.service"):
                    found[f] = os.path.join(dirpath, f)
        if len(found) != 2:
            fail("meson install put %s, not both units (-Dsystemd_units=false?)" % sorted(found))
        man_dirs = [d for d, _, files in os.walk(root) if "hpo-server.8" in files]
        if not man_dirs:
            fail("meson install put no hpo-server.8")
        manpath = os.path.dirname(man_dirs[0])
        # the host's units (targets), and ours where systemd looks for them (the prefix may not
        # be one of its directories)
        sysdir = os.path.join(root, "usr/lib/systemd/system")
        shutil.copytree("/usr/lib/systemd/system", sysdir, symlinks=True, dirs_exist_ok=True,
                        ignore=lambda d, names: [n for n in names if n in found])
        etc = os.path.join(root, "etc/systemd/system")
        os.makedirs(etc, exist_ok=True)
        for f, path in found.items():
            if os.path.dirname(path) != sysdir:
                os.symlink(os.path.relpath(path, etc), os.path.join(etc, f))

        for unit in ("hpo-server.service", "hpo-worker@gpu0.service"):
            rc, out = verify(root, unit, manpath)
            if rc or out:
                problems.append("systemd-analyze verify %s (exit %d):\n%s" % (unit, rc, out))
            else:
                print("verify %s: clean" % unit)

        # the check can fail: a misspelt directive, an ExecStart that is not there
        with open(found["hpo-server.service"], encoding="utf-8") as f:
            text = f.read()
        mutants = {
            "hpo-typo.service": (text.replace("ProtectSystem=", "ProtectSytem="),
                                 "Unknown key 'ProtectSytem'"),
            "hpo-noexec.service": (re.sub(r"^ExecStart=(\S+)", r"ExecStart=\1-missing", text,
                                          flags=re.M), "is not executable"),
        }
        for unit, (content, expected) in mutants.items():
            with open(os.path.join(etc, unit), "w", encoding="utf-8") as f:
                f.write(content)
            rc, out = verify(root, unit, manpath)
            if expected not in out:
                problems.append("verify did not catch %s (expected '%s'):\n%s"
                                % (unit, expected, out))
            os.unlink(os.path.join(etc, unit))

        for f in sorted(found):
            check_settings(found[f], problems, drain_default_s)

        for unit in ("hpo-server.service", "hpo-worker@gpu0.service"):
            p = run([ANALYZE, "security", "--offline=true", "--root=" + root, unit], cwd=root)
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout + p.stderr)
            if not m:
                problems.append("systemd-analyze security %s gave no exposure level:\n%s%s"
                                % (unit, p.stdout[-2000:], p.stderr))
            elif float(m.group(1)) > 5.0:
                problems.append("%s: exposure %s, above 5.0" % (unit, m.group(1)))
            else:
                print("security %s: exposure %s" % (unit, m.group(1)))

    if problems:
        print("\n".join("FAIL: " + p for p in problems))
        return 1
    print("units: verified, hardened, and a broken copy is caught")
    return 0


if __name__ == "__main__":
    sys.exit(main())
