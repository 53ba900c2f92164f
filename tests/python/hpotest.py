# tests/python/hpotest.py: shared bits of the Python client's tests (server URL, its admin token,
# unique names).
import os
import uuid

import hpo_client

URL = os.environ.get("HPO_TEST_URL") or os.environ.get("HPO_SERVER") or "http://127.0.0.1:8080"
# run_tests.py sets them: the test server's admin token, and a 0600 file holding it
TOKEN = os.environ.get("HPO_TEST_TOKEN")
TOKEN_FILE = os.environ.get("HPO_TEST_TOKEN_FILE")
hpo_client.logging.set_verbosity(hpo_client.logging.ERROR)


def name(prefix="py"):
    """A study name no other test uses."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])
