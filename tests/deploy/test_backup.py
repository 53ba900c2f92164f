# test_backup: the backup, restore and upgrade procedures of deploy/README.md, done as written
# there against the real hpo-server (test backup, suite deploy): pg_dump --format=custom while the
# server serves, then a copy of the artifact directory; pg_restore --no-owner into an empty
# database and the files put back; a second server over the restored database answers every
# trial, report and artifact exactly as the first did, its tokens still work, the trial that was
# running at the dump is reaped after the study's heartbeat grace and retried, and numbering goes
# on where it stopped. Then the upgrade guard: a server refuses a database whose schema is newer
# than it knows, and changes nothing. Needs HPO_TEST_PG, pg_dump and pg_restore (PostgreSQL's
# client, as the e2e suite), HPO_SERVER_BIN.
"""Usage: HPO_SERVER_BIN=build/server/hpo-server HPO_TEST_PG="host=... dbname=postgres" \
   python3 tests/deploy/test_backup.py"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from hpo_checks import check, finish  # noqa: E402
from hpo_testserver import TestServer, conninfo_with_db, psql  # noqa: E402

STUDY = "backup"
GRACE_S = 2


def call(url, method, path, token, body=None, raw=None):
    """(status, body bytes) of one request."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def ok(url, method, path, token, body=None, raw=None):
    status, out = call(url, method, path, token, body, raw)
    if status not in (200, 201):
        raise RuntimeError("%s %s: %d %r" % (method, path, status, out[:300]))
    return json.loads(out) if out else None


def trials(url, token):
    return ok(url, "GET", "/api/v1/studies/%s/trials?limit=1000" % STUDY, token)["trials"]


def artifacts(url, token, n):
    """{name: bytes} of trial n's artifacts, fetched through the API."""
    listed = ok(url, "GET", "/api/v1/studies/%s/trials/%d/artifacts" % (STUDY, n), token)
    out = {}
    for a in listed["artifacts"]:
        status, body = call(url, "GET", "/api/v1/studies/%s/trials/%d/artifacts/%s"
                            % (STUDY, n, a["name"]), token)
        if status != 200:
            raise RuntimeError("GET artifact %s of trial %d: %d" % (a["name"], n, status))
        out[a["name"]] = body
    return out


def tool(name):
    path = shutil.which(name)
    if not path:
        print("FAIL test_backup: %s is missing (PostgreSQL's client: apt-get install "
              "postgresql-client)" % name)
        sys.exit(1)
    return path


def fill(url, token):
    """A study of 4 trials: 3 complete with reports and an artifact each, the last left running
    (it is running when the dump is taken)."""
    ok(url, "POST", "/api/v1/studies", token,
       {"name": STUDY, "direction": "minimize", "sampler": {"type": "random", "seed": 7},
        "search_space": {"x": {"type": "float", "low": -5, "high": 5},
                         "opt": {"type": "categorical", "choices": ["sgd", "adam"]}},
        "heartbeat_grace": GRACE_S, "retry": {"max_retries": 1, "on": ["heartbeat_lost"]}})
    for i in range(4):
        t = ok(url, "POST", "/api/v1/studies/%s/trials" % STUDY, token, {"worker": "w%d" % i})
        n, x = t["number"], t["params"]["x"]
        for step in range(5):
            ok(url, "POST", "/api/v1/studies/%s/trials/%d/reports" % (STUDY, n), token,
               {"step": step, "value": x * x + 5 - step})
        ok(url, "PUT", "/api/v1/studies/%s/trials/%d/artifacts/model.bin" % (STUDY, n), token,
           raw=hashlib.sha256(b"%d" % n).digest() * 2000)
        if i < 3:
            ok(url, "POST", "/api/v1/studies/%s/trials/%d/finish" % (STUDY, n), token,
               {"state": "complete", "value": x * x})


def run(a, b, tmp):
    fill(a.url, a.token)
    before = trials(a.url, a.token)
    files_before = {t["number"]: artifacts(a.url, a.token, t["number"]) for t in before}

    # the backup, as deploy/README.md does it: the dump while serving, then the files
    dump = os.path.join(tmp, "hpo.dump")
    subprocess.run([tool("pg_dump"), "--format=custom", "--file=" + dump,
                    conninfo_with_db(a.pg, a.db)], check=True)
    copy = os.path.join(tmp, "artifacts-backup")
    shutil.copytree(a.artifacts, copy, symlinks=True)
    check(os.path.getsize(dump) > 0, "pg_dump --format=custom wrote the dump while serving")

    # the restore: an empty database, pg_restore --no-owner, the files back at their paths
    psql(b.pg, 'CREATE DATABASE "%s"' % b.db)
    subprocess.run([tool("pg_restore"), "--no-owner", "--dbname=" + conninfo_with_db(b.pg, b.db),
                    dump], check=True)
    shutil.rmtree(b.artifacts)
    shutil.copytree(copy, b.artifacts, symlinks=True)
    b.token = a.token  # the tokens table came with the dump
    b.launch()

    after = trials(b.url, b.token)
    check(after == before, "the restored server answers every trial (params, values, reports, "
          "states, times) as the first did", "%d vs %d trials" % (len(after), len(before)))
    files_after = {t["number"]: artifacts(b.url, b.token, t["number"]) for t in after}
    check(files_after == files_before and all(len(f) == 1 for f in files_after.values()),
          "every artifact comes back byte for byte from the restored files")
    status, _ = call(b.url, "GET", "/api/v1/studies/%s" % STUDY, "hpo_" + "A" * 43)
    check(status == 401, "an unknown token is still refused after the restore", status)

    # the trial running at the dump: reaped after the heartbeat grace, then retried
    running = [t["number"] for t in before if t["state"] == "running"]
    deadline = time.monotonic() + GRACE_S + 10
    state = None
    while time.monotonic() < deadline:
        t = ok(b.url, "GET", "/api/v1/studies/%s/trials/%d" % (STUDY, running[0]), b.token)
        state = (t["state"], t.get("fail_reason"), t.get("retried_by"))
        if state[0] != "running":
            break
        time.sleep(0.3)
    check(state is not None and state[0] == "fail" and state[1] == "heartbeat_lost",
          "the trial running at the dump is failed heartbeat_lost after the grace", state)
    retry = ok(b.url, "POST", "/api/v1/studies/%s/trials" % STUDY, b.token, {"worker": "w9"})
    check(retry.get("retry_of") == running[0] and retry["params"] == before[-1]["params"],
          "its retry is handed out first, with the same params",
          (retry.get("retry_of"), retry["number"]))
    check(retry["number"] == len(before), "numbering goes on after the restored trials",
          retry["number"])
    ok(b.url, "POST", "/api/v1/studies/%s/trials/%d/finish" % (STUDY, retry["number"]), b.token,
       {"state": "complete", "value": 1.0})
    rc, _ = b.terminate()
    check(rc == 0, "the restored server stops cleanly", rc)

    # the upgrade guard: a schema newer than this build is refused at start, nothing changed
    conn_b = conninfo_with_db(b.pg, b.db)
    psql(conn_b, "INSERT INTO hpo_schema_version (version) "
                 "SELECT max(version) + 1 FROM hpo_schema_version")
    r = subprocess.run([b.bin, "--db", conn_b, "--listen", "127.0.0.1:0", "--db-wait", "5",
                        "--artifact-dir", b.artifacts], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode != 0 and "newer than this build" in r.stderr,
          "a server refuses a database whose schema is newer than it knows",
          (r.returncode, r.stderr.strip()[-300:]))
    out = subprocess.run(["psql", conn_b, "-qAtc", "SELECT count(*) FROM trials"],
                         capture_output=True, text=True, check=True).stdout.strip()
    check(out == str(len(before) + 1), "and changes nothing", out)


def main():
    binary, pg = os.environ.get("HPO_SERVER_BIN"), os.environ.get("HPO_TEST_PG")
    if not binary or not pg:
        print("FAIL test_backup: HPO_SERVER_BIN and HPO_TEST_PG are required")
        sys.exit(1)
    tool("pg_dump")
    tool("pg_restore")
    a = TestServer(binary, pg, "backup")
    b = TestServer(binary, pg, "restored")
    b.db = "hpo_restored_%d_%s" % (os.getpid(), uuid.uuid4().hex[:8])
    tmp = tempfile.mkdtemp(prefix="hpo-backup-")
    try:
        a.start()
        run(a, b, tmp)
    finally:
        b.stop()
        a.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    finish(" (test_backup)")


if __name__ == "__main__":
    main()
