# tests/e2e/test_failover.py: hpo-server through a PostgreSQL outage and a failover to a standby.
# Two real PostgreSQL clusters on this machine: a primary and a streaming standby made from it
# with pg_basebackup, replicating synchronously (a commit is acknowledged once the standby has it).
# hpo-server gets a conninfo naming both hosts with target_session_attrs=read-write, so it uses
# whichever is the primary. Checks:
#   - while no primary is reachable, a request that needs the database answers 503 unavailable
#     with Retry-After at once (never hangs), and reads of a loaded study are still served;
#   - after the standby is promoted, the server follows it by itself: writes succeed again, and
#     every report, finish and trial it acknowledged before the failover is there;
#   - a server started while the old primary is down comes up on the new one and serves it all.
# Needs root (the clusters run as the postgres user), PostgreSQL's server binaries and psql.
"""Usage: HPO_SERVER_BIN=build/server/hpo-server python3 tests/e2e/test_failover.py"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PG_SH = os.path.join(HERE, "..", "..", "deploy", "pg.sh")
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from hpo_checks import check, finish, free_port, run  # noqa: E402


def bindir():
    if os.environ.get("PG_BINDIR"):
        return os.environ["PG_BINDIR"]
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    if not found:
        sys.exit("test_failover.py: no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    return found[-1]


def psql(conninfo, sql):
    return run("psql", conninfo, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql).strip()


class Api:
    def __init__(self, url, token):
        self.url, self.token = url, token

    def call(self, method, path, body=None, timeout=30):
        req = urllib.request.Request(self.url + "/api/v1" + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read()
                return r.status, dict(r.headers), json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, dict(e.headers), json.loads(text) if text else None

    def ok(self, method, path, body=None):
        status, _, out = self.call(method, path, body)
        if status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, status, out))
        return out


def start_server(binary, conninfo, artifacts):
    proc = subprocess.Popen([binary, "--db", conninfo, "--listen", "127.0.0.1:0",
                             "--log-level", "error", "--artifact-dir", artifacts],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError("hpo-server did not start: %r" % line)
    return proc, "http://" + line.split()[-1]


def stop_server(proc):
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main():
    binary = os.environ.get("HPO_SERVER_BIN")
    if not binary:
        sys.exit("test_failover.py: HPO_SERVER_BIN must be set")
    binary = os.path.abspath(binary)
    if os.getuid() != 0:
        sys.exit("test_failover.py: must run as root (the clusters belong to the postgres user)")
    pg = bindir()
    top = tempfile.mkdtemp(prefix="hpo-failover-", dir="/tmp")
    os.chmod(top, 0o755)
    a_dir, b_dir = os.path.join(top, "a"), os.path.join(top, "b")
    pa, pb = free_port(), free_port()
    procs = []
    try:
        # the primary, with the database and a token; then its standby
        a = run("bash", PG_SH, "start", a_dir, str(pa)).strip()
        psql(a, "CREATE DATABASE hpo")
        os.makedirs(os.path.join(b_dir, "data"))
        shutil.chown(b_dir, "postgres")
        shutil.chown(os.path.join(b_dir, "data"), "postgres")
        os.chmod(os.path.join(b_dir, "data"), 0o700)
        run(os.path.join(pg, "pg_basebackup"), "-D", os.path.join(b_dir, "data"), "-h", a_dir,
            "-p", str(pa), "-U", "postgres", "-R", "-X", "stream", "-c", "fast", as_postgres=True)
        b = run("bash", PG_SH, "start", b_dir, str(pb)).strip()
        check(psql(b, "SELECT pg_is_in_recovery()") == "t", "the second cluster is a standby")
        psql(a, "ALTER SYSTEM SET synchronous_standby_names = '*'")
        psql(a, "SELECT pg_reload_conf()")
        deadline = time.monotonic() + 30
        while psql(a, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "1":
            if time.monotonic() > deadline:
                raise RuntimeError("the standby did not become synchronous")
            time.sleep(0.2)
        both = ("host=%s,%s port=%d,%d user=postgres dbname=hpo target_session_attrs=read-write"
                % (a_dir, b_dir, pa, pb))
        token = run(binary, "token", "create", "--db", both, "--scope", "admin").split("\n")[0]

        art = os.path.join(top, "artifacts")
        proc, url = start_server(binary, both, art)
        procs.append(proc)
        api = Api(url, token)
        api.ok("POST", "/studies", {"name": "f", "sampler": {"type": "random", "seed": 3},
                                    "search_space": {"x": {"type": "float", "low": 0, "high": 1}}})
        acked = {}  # trial number -> steps acknowledged
        for _ in range(4):
            n = api.ok("POST", "/studies/f/trials", {"worker": "w"})["number"]
            acked[n] = []
            for step in range(3):
                api.ok("POST", "/studies/f/trials/%d/reports" % n, {"step": step, "value": 1.0 / (step + 1)})
                acked[n].append(step)
        api.ok("POST", "/studies/f/trials/0/finish", {"state": "complete", "value": 0.5})

        # the primary dies: no read-write host is left until the standby is promoted
        run(os.path.join(pg, "pg_ctl"), "-D", os.path.join(a_dir, "data"), "-m", "immediate",
            "-w", "stop", as_postgres=True)
        t0 = time.monotonic()
        status, headers, body = api.call("POST", "/studies/f/trials/1/reports", {"step": 3, "value": 0.2})
        took = time.monotonic() - t0
        check(status == 503 and body["error"]["code"] == "unavailable" and "Retry-After" in headers
              and took < 15, "a write with no primary: 503 unavailable with Retry-After, at once",
              "%d after %.2f s: %s" % (status, took, body))
        status, _, body = api.call("GET", "/studies/f")
        check(status == 200 and body["name"] == "f", "a loaded study is still read", status)

        run(os.path.join(pg, "pg_ctl"), "-D", os.path.join(b_dir, "data"), "-w", "promote",
            as_postgres=True)
        t0 = time.monotonic()
        while True:
            status, _, body = api.call("POST", "/studies/f/trials/1/reports", {"step": 3, "value": 0.2})
            if status == 200 or time.monotonic() - t0 > 30:
                break
            time.sleep(0.2)
        check(status == 200, "after the promotion the server writes to the new primary by itself",
              "%d after %.1f s" % (status, time.monotonic() - t0))
        acked[1].append(3)
        n = api.ok("POST", "/studies/f/trials", {"worker": "w"})["number"]
        check(n == 4, "a new trial gets the next number", n)
        acked[n] = []

        def compare(what):
            trials = {t["number"]: t for t in api.ok("GET", "/studies/f/trials?limit=100")["trials"]}
            missing = [(k, s) for k, steps in acked.items() for s in steps
                       if s not in [iv["step"] for iv in trials.get(k, {}).get("intermediate_values", [])]]
            check(not missing and set(trials) == set(acked) and trials[0]["state"] == "complete",
                  what, missing or sorted(trials))
            rows = psql(b + " dbname=hpo", "SELECT count(*) FROM trial_intermediate_values")
            check(int(rows) == sum(len(s) for s in acked.values()),
                  what + " (in the new primary's tables)", rows)

        compare("every report acknowledged before and after the failover is served")
        stop_server(proc)
        procs.remove(proc)

        proc, url = start_server(binary, both, art)  # the first host is still down
        procs.append(proc)
        api = Api(url, token)
        compare("a server started with the old primary down comes up on the new one")
    finally:
        for p in procs:
            stop_server(p)
        for d in (a_dir, b_dir):
            run("bash", PG_SH, "stop", d, check_rc=False)
        shutil.rmtree(top, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
