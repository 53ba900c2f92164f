# tests/python/run_tests.py: runs the Python client's tests (test_*.py here) against a real
# hpo-server started on a fresh database (HPO_SERVER_BIN, HPO_TEST_PG), then drops it.
"""Usage: HPO_SERVER_BIN=build/server/hpo-server HPO_TEST_PG="host=... dbname=postgres" \
   PYTHONPATH=worker/python python3 tests/python/run_tests.py [-k PATTERN] [-v]"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from hpo_testserver import TestServer  # noqa: E402


def die(msg):
    print("run_tests.py: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    args = sys.argv[1:]
    pattern = None
    if "-k" in args:
        pattern = args[args.index("-k") + 1]
    binary, pg = os.environ.get("HPO_SERVER_BIN"), os.environ.get("HPO_TEST_PG")
    if not binary:
        die("HPO_SERVER_BIN is not set (the hpo-server binary)")
    if not pg:
        die("HPO_TEST_PG is not set: these tests need a PostgreSQL server, e.g. "
            'HPO_TEST_PG="host=/tmp/hpo-pg port=54329 user=postgres dbname=postgres"')
    server = TestServer(binary, pg, "py")
    try:
        url = server.start()
    except RuntimeError as e:
        die(str(e))
    os.environ["HPO_SERVER"] = url
    os.environ["HPO_TEST_URL"] = url
    # auth is on: the tests get the server's admin token as HPO_TOKEN (and HPO_TEST_TOKEN, and
    # HPO_TEST_TOKEN_FILE a 0600 file holding it); the client refuses HPO_TOKEN with HPO_TOKEN_FILE
    os.environ.pop("HPO_TOKEN_FILE", None)
    os.environ.pop("HPO_CACERT", None)
    os.environ["HPO_TOKEN"] = server.token
    os.environ["HPO_TEST_TOKEN"] = server.token
    os.environ["HPO_TEST_TOKEN_FILE"] = server.token_file
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
