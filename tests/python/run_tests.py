# tests/python/run_tests.py: runs the Python client's tests (test_*.py here) against a real
# hpo-server started on a fresh database (HPO_SERVER_BIN, HPO_TEST_PG), then drops it.
"""Usage: HPO_SERVER_BIN=build/server/hpo-server HPO_TEST_PG="host=... dbname=postgres" \
   PYTHONPATH=worker/python python3 tests/python/run_tests.py [-k PATTERN] [-v]"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))


def die(msg):
    print("run_tests.py: " + msg, file=sys.stderr)
    sys.exit(1)


def conninfo_with_db(base, dbname):
    """HPO_TEST_PG (key=value or URI) pointing at another database."""
    if base.startswith(("postgresql://", "postgres://")):
        parts = urllib.parse.urlsplit(base)
        return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))
    return base + " dbname=" + dbname  # the last dbname wins in a libpq key=value string


def psql(conninfo, sql):
    r = subprocess.run(["psql", conninfo, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("psql %s: %s" % (sql, r.stderr.strip()))


class Server:
    """hpo-server on 127.0.0.1:<free port> over a database of its own."""

    def __init__(self):
        self.bin = os.environ.get("HPO_SERVER_BIN")
        self.pg = os.environ.get("HPO_TEST_PG")
        if not self.bin:
            die("HPO_SERVER_BIN is not set (the hpo-server binary)")
        if not self.pg:
            die("HPO_TEST_PG is not set: these tests need a PostgreSQL server, e.g. "
                'HPO_TEST_PG="host=/tmp/hpo-pg port=54329 user=postgres dbname=postgres"')
        self.db = "hpo_py_%d_%s" % (os.getpid(), uuid.uuid4().hex[:8])
        self.proc = None
        self.artifacts = tempfile.mkdtemp(prefix="hpo-py-art-")

    def start(self):
        psql(self.pg, 'CREATE DATABASE "%s"' % self.db)
        self.proc = subprocess.Popen(
            [self.bin, "--db", conninfo_with_db(self.pg, self.db), "--listen", "127.0.0.1:0",
             "--threads", "8", "--log-level", "warn", "--artifact-dir", self.artifacts],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on 127.0.0.1:"):
            self.stop()
            die("hpo-server did not start (first line: %r)" % line)
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
        for _ in range(10):
            try:
                psql(self.pg, 'DROP DATABASE IF EXISTS "%s"' % self.db)
                break
            except RuntimeError as e:
                err = e
                time.sleep(0.5)
        else:
            print("run_tests.py: could not drop %s: %s" % (self.db, err), file=sys.stderr)
        shutil.rmtree(self.artifacts, ignore_errors=True)


def main():
    args = sys.argv[1:]
    pattern = None
    if "-k" in args:
        pattern = args[args.index("-k") + 1]
    server = Server()
    url = server.start()
    os.environ["HPO_SERVER"] = url
    os.environ["HPO_TEST_URL"] = url
    sys.path.insert(0, HERE)
    try:
        loader = unittest.TestLoader()
        if pattern:
            loader.testNamePatterns = ["*%s*" % pattern]
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
        result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    finally:
        server.stop()
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)


if __name__ == "__main__":
    main()
