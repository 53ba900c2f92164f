# hpo_testserver: the real hpo-server on a free loopback port over a fresh PostgreSQL database,
# for the Python test runners (tests/python, tests/examples); the database is dropped at stop.
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
    """hpo-server (binary) over a database of its own on the PostgreSQL server pg."""

    def __init__(self, binary, pg, prefix):
        self.bin, self.pg = binary, pg
        self.db = "hpo_%s_%d_%s" % (prefix, os.getpid(), uuid.uuid4().hex[:8])
        self.proc = None
        self.url = None
        self.artifacts = tempfile.mkdtemp(prefix="hpo-%s-art-" % prefix)

    def start(self):
        """Creates the database, starts the server and returns its base URL; RuntimeError when
        it does not start."""
        psql(self.pg, 'CREATE DATABASE "%s"' % self.db)
        self.proc = subprocess.Popen(
            [self.bin, "--db", conninfo_with_db(self.pg, self.db), "--listen", "127.0.0.1:0",
             "--threads", "8", "--log-level", "warn", "--artifact-dir", self.artifacts],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on 127.0.0.1:"):
            self.stop()
            raise RuntimeError("hpo-server did not start (first line: %r)" % line)
        self.url = "http://" + line.split()[-1]
        return self.url

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
