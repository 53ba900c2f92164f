# hpo_checks: what the Python end-to-end runners (tests/e2e/test_*.py) share: checks that print
# "ok"/"FAIL" and are counted, the verdict at the end, a free loopback port, a command's output.
import socket
import subprocess
import sys

FAILED = []


def check(ok, what, detail=""):
    """Prints the check's line; a failed one is counted for finish(). Returns ok."""
    print("%s %s%s" % ("ok  " if ok else "FAIL", what, ": " + str(detail) if detail != "" else ""),
          flush=True)
    if not ok:
        FAILED.append(what)
    return ok


def finish(label=""):
    """Exits 1 when a check failed (naming them), else says all passed."""
    if FAILED:
        print("FAILED%s: %d check(s): %s" % (label, len(FAILED), "; ".join(FAILED)))
        sys.exit(1)
    print("all checks passed%s" % label)


def free_port():
    """A free loopback port, never 5500 or 5511 (other people's PostgreSQL on shared machines)."""
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        if p not in (5500, 5511):
            return p


def run(*cmd, as_postgres=False, check_rc=True):
    """A command's stdout (run from /, as the postgres user with as_postgres); RuntimeError
    with its stderr when it fails and check_rc."""
    if as_postgres:
        cmd = ("runuser", "-u", "postgres", "--") + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
    if check_rc and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr[-2000:]))
    return r.stdout
