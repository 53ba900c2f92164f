# hpo_testserver: the real hpo-server on a free loopback port over a fresh PostgreSQL database, with
# an admin token (auth is on), for the Python test runners (tests/python, tests/examples).
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid


def conninfo_with_db(base, dbname):
    """A libpq conninfo (key=value or URI) pointing at another database."""
    if base.startswith(("postgresql://", "postgres://")):
        parts = urllib.parse.urlsplit(base)
        return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))
    return base + " dbname=" + dbname  # the last dbname wins in a libpq key=value string


def psql(conninfo, sql):
    r = subprocess.run(["psql", conninfo, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("psql %s: %s" % (sql, r.stderr.strip()))


class TestServer:
    """hpo-server (binary) over a database of its own on the PostgreSQL server pg. After
    start(): url, token (an admin token) and token_file (a 0600 file holding it). args: more
    flags for the server; stderr: where its log goes (a file object; None: inherited)."""

    def __init__(self, binary, pg, prefix, args=(), stderr=None):
        self.bin, self.pg = binary, pg
        self.args, self.stderr = tuple(args), stderr
        self.db = "hpo_%s_%d_%s" % (prefix, os.getpid(), uuid.uuid4().hex[:8])
        self.proc = None
        self.url = None
        self.token = None
        self.token_file = None
        self.artifacts = tempfile.mkdtemp(prefix="hpo-%s-art-" % prefix)
        self.secrets = tempfile.mkdtemp(prefix="hpo-%s-tok-" % prefix)  # mkdtemp: mode 0700

    def create_token(self, scope, *args):
        """A new token from `hpo-server token create` (its first line of stdout), e.g.
        create_token("worker", "--study", "s"); RuntimeError when it fails."""
        r = subprocess.run([self.bin, "token", "create", "--db",
                            conninfo_with_db(self.pg, self.db), "--scope", scope, *args],
                           capture_output=True, text=True, timeout=60)
        token = r.stdout.split("\n", 1)[0].strip()
        if r.returncode != 0 or not token:
            raise RuntimeError("hpo-server token create --scope %s failed (exit %d): %s"
                               % (scope, r.returncode, r.stderr.strip()[-2000:]))
        return token

    def start(self):
        """Creates the database and an admin token, starts the server and returns its base
        URL; RuntimeError when it does not start."""
        psql(self.pg, 'CREATE DATABASE "%s"' % self.db)
        try:
            self.token = self.create_token("admin", "--name", "tests")
        except BaseException:
            self.stop()  # drops the database
            raise
        self.token_file = os.path.join(self.secrets, "admin.token")
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.token + "\n")
        return self.launch()

    def launch(self):
        """Starts hpo-server over this database (again, after terminate()); returns its URL."""
        self.proc = subprocess.Popen(
            [self.bin, "--db", conninfo_with_db(self.pg, self.db), "--listen", "127.0.0.1:0",
             "--threads", "8", "--log-level", "warn", "--artifact-dir", self.artifacts,
             *self.args],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on 127.0.0.1:"):
            self.stop()
            raise RuntimeError("hpo-server did not start (first line: %r)" % line)
        self.url = "http://" + line.split()[-1]
        return self.url

    def terminate(self, timeout=30):
        """SIGTERM, then waits for the exit; returns (exit status, seconds it took). The
        database stays: launch() starts a server over it again."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.proc = None
        return rc, time.monotonic() - t0

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        err = None
        for _ in range(10):
            try:
                psql(self.pg, 'DROP DATABASE IF EXISTS "%s"' % self.db)
                break
            except RuntimeError as e:
                err = e
                time.sleep(0.5)
        else:
            print("hpo_testserver: could not drop %s: %s" % (self.db, err), file=sys.stderr)
        shutil.rmtree(self.artifacts, ignore_errors=True)
        shutil.rmtree(self.secrets, ignore_errors=True)
