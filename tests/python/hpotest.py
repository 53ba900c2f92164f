# tests/python/hpotest.py: shared bits of the Python client's tests (server URL, unique names).
import os
import uuid

import hpo_client

URL = os.environ.get("HPO_TEST_URL") or os.environ.get("HPO_SERVER") or "http://127.0.0.1:8080"
hpo_client.logging.set_verbosity(hpo_client.logging.ERROR)


def name(prefix="py"):
    """A study name no other test uses."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])
