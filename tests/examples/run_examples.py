# tests/examples/run_examples.py: runs worker/examples/ against a real hpo-server on a fresh
# database (HPO_SERVER_BIN, HPO_WORKER_BIN, HPO_EXAMPLE_C_BIN, HPO_TEST_PG), then drops it.
"""The examples, each end to end with few trials and epochs, with auth on (the examples get the
server's admin token as HPO_TOKEN; hpo-worker a worker token for its study, in a file):

- seed_pytorch/train.py under `hpo-worker --parallel 2` (4 trials x 3 epochs): every trial
  finished (complete or pruned), each with a `log` and a loadable `model.pt` artifact;
- seed_pytorch/train.py standalone with the Python client (4 trials x 3 epochs): best > 0.5;
- c_objective (hpo-example-c) and shell_objective/run.sh: their studies complete.

PyTorch and scikit-learn must be importable by this Python (Debian's python3-torch and
python3-sklearn): when they are not, the PyTorch tests FAIL (they are never skipped).

Usage: HPO_SERVER_BIN=... HPO_WORKER_BIN=... HPO_EXAMPLE_C_BIN=... HPO_TEST_PG="host=... dbname=postgres" \
   /usr/bin/python3 tests/examples/run_examples.py [-k PATTERN]"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
EXAMPLES = os.path.join(ROOT, "worker", "examples")
TRAIN = os.path.join(EXAMPLES, "seed_pytorch", "train.py")
RUN_SH = os.path.join(EXAMPLES, "shell_objective", "run.sh")
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from hpo_testserver import TestServer  # noqa: E402

PYTHON = sys.executable  # the worker runs train.py with the Python running these tests

URL = None
SERVER = None


def die(msg):
    print("run_examples.py: " + msg, file=sys.stderr)
    sys.exit(1)


def env_bin(name, what):
    v = os.environ.get(name)
    if not v:
        die("%s is not set (%s)" % (name, what))
    if not os.access(v, os.X_OK):
        die("%s=%s is not an executable" % (name, v))
    return v


def auth():
    return {"Authorization": "Bearer " + SERVER.token}


def api(method, path, body=None):
    """(status, parsed JSON or None) of a request to the test server, as its admin."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **auth()})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


def name(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def download(path):
    """The bytes of GET path (an artifact), as the admin."""
    req = urllib.request.Request(URL + path, headers=auth())
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def token_file(scope, *args):
    """A 0600 file holding a new token of this scope (hpo-server token create ARGS...)."""
    path = os.path.join(SERVER.secrets, "%s-%s.token" % (scope, uuid.uuid4().hex[:8]))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(SERVER.create_token(scope, *args) + "\n")
    return path


def run(cmd, timeout, env=None, drop=()):
    """Runs cmd; returns (rc, combined output). A timeout is a test failure, not a hang. env is
    added to this process's environment, the names in drop removed from it."""
    e = {k: v for k, v in os.environ.items() if k not in drop}
    e.update(env or {})
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout, env=e, stdin=subprocess.DEVNULL)
        return r.returncode, r.stdout
    except subprocess.TimeoutExpired as ex:
        out = ex.stdout or ""
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        return -1, out + "\n[timed out after %d s]" % timeout


class ExampleTest(unittest.TestCase):
    maxDiff = None

    def trials(self, study):
        status, body = api("GET", "/api/v1/studies/%s/trials?limit=1000" % study)
        self.assertEqual(status, 200, body)
        return body["trials"]

    def assert_study_done(self, study, n, out, closed=True):
        """n trials, all finished; closed: the study has max_trials n, so ask answers 409."""
        status, st = api("GET", "/api/v1/studies/" + study)
        self.assertEqual(status, 200, st)
        counts = st["counts"]
        self.assertEqual(st["n_trials"], n, out)
        self.assertEqual(counts["complete"] + counts["pruned"], n,
                         "not every trial finished: %s\n%s" % (counts, out))
        self.assertGreaterEqual(counts["complete"], 1, out)
        if closed:
            status, _ = api("POST", "/api/v1/studies/%s/trials" % study, {})
            self.assertEqual(status, 409, "the study should be complete")
        return st


class TorchRequired(ExampleTest):
    """Base of the PyTorch tests: fail loudly when torch or sklearn is missing."""

    def setUp(self):
        rc, out = run([PYTHON, "-c", "import torch, sklearn.datasets"], 120)
        if rc != 0:
            self.fail("python3-torch / python3-sklearn are not importable by %s (%s); install "
                      "them: apt-get install python3-torch python3-sklearn "
                      "(deploy/install-deps.sh does)" % (PYTHON, out.strip().splitlines()[-1:]))


class TestSeedPytorch(TorchRequired):
    def test_under_hpo_worker(self):
        study = name("ex-torch-worker")
        space = {
            "model_name": {"type": "categorical", "choices": ["mlp", "mlp_wide", "cnn"]},
            "optimizer": {"type": "categorical", "choices": ["SGD", "Adam"]},
            "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        }
        status, body = api("POST", "/api/v1/studies", {
            "name": study, "direction": "maximize", "sampler": {"type": "tpe", "seed": 5},
            # warm-up 1 so 3 epochs can be pruned
            "pruner": {"type": "median", "n_startup_trials": 2, "n_warmup_steps": 1,
                       "interval_steps": 1},
            "search_space": space, "max_trials": 4, "heartbeat_grace": 60})
        self.assertEqual(status, 201, body)
        # a worker token for this study only, from a file: what a GPU host gets
        tok = token_file("worker", "--study", study, "--name", "examples worker")
        rc, out = run([os.environ["HPO_WORKER_BIN"], "--server", URL, "--token-file", tok,
                       "--study", study, "--parallel", "2", "--gpus", "none",
                       "--heartbeat-s", "1", "--", PYTHON, TRAIN, "--epochs", "3"], 300,
                      drop=("HPO_TOKEN",))
        self.assertEqual(rc, 0, out)
        self.assert_study_done(study, 4, out)
        models = 0
        for t in self.trials(study):
            status, arts = api("GET", "/api/v1/studies/%s/trials/%d/artifacts" % (
                study, t["number"]))
            self.assertEqual(status, 200, arts)
            names = {a["name"]: a for a in arts["artifacts"]}
            self.assertIn("log", names, "trial %d has no log artifact" % t["number"])
            if t["state"] == "complete":
                self.assertIn("model.pt", names, "trial %d has no model.pt" % t["number"])
                self.assertGreater(names["model.pt"]["size"], 0)
            if "model.pt" in names:
                models += 1
            # the log holds the report lines the worker read
            log = download("/api/v1/studies/%s/trials/%d/artifacts/log" % (
                study, t["number"])).decode("utf-8", "replace")
            self.assertIn("hpo: step=0 value=", log)
            if t["state"] == "complete":
                self.assertIn("hpo: value=", log)
                self.assertEqual(len(t["intermediate_values"]), 3, t)
        self.assertGreaterEqual(models, 1)

        # the best trial's model loads into its network
        status, best = api("GET", "/api/v1/studies/%s/best" % study)
        self.assertEqual(status, 200, best)
        tmp = tempfile.mkdtemp(prefix="hpo-ex-model-")
        try:
            path = os.path.join(tmp, "model.pt")
            with open(path, "wb") as f:
                f.write(download("/api/v1/studies/%s/trials/%d/artifacts/model.pt" % (
                    study, best["number"])))
            code = ("import sys, torch; sys.path.insert(0, %r); import train; "
                    "m = train.get_model(%r); m.load_state_dict(torch.load(%r)); "
                    "x, y = train.load_data()[2:]; print(train.accuracy(m, x, y))"
                    % (os.path.dirname(TRAIN), best["params"]["model_name"], path))
            rc, out = run([PYTHON, "-c", code], 120)
            self.assertEqual(rc, 0, out)
            # the saved model is the best epoch's: its accuracy is the trial's value
            self.assertAlmostEqual(float(out.strip().splitlines()[-1]), best["value"], places=5)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_standalone_python_client(self):
        study = name("ex-torch-alone")
        rc, out = run([PYTHON, TRAIN, "--server", URL, "--study", study, "--trials", "4",
                       "--epochs", "3"], 300)
        self.assertEqual(rc, 0, out)
        self.assertIn("Best accuracy:", out)
        st = self.assert_study_done(study, 4, out, closed=False)  # optimize(n_trials=4)
        self.assertEqual(st["pruner"]["type"], "median")
        self.assertEqual((st["pruner"]["n_startup_trials"], st["pruner"]["n_warmup_steps"],
                          st["pruner"]["interval_steps"]), (2, 5, 3))
        self.assertEqual(st["sampler"]["type"], "tpe")
        status, best = api("GET", "/api/v1/studies/%s/best" % study)
        self.assertEqual(status, 200, best)
        self.assertGreater(best["value"], 0.5, out)
        self.assertEqual(set(best["params"]), {"model_name", "optimizer", "lr"})
        status, arts = api("GET", "/api/v1/studies/%s/trials/%d/artifacts" % (
            study, best["number"]))
        self.assertEqual(status, 200, arts)
        self.assertIn("model.pt", [a["name"] for a in arts["artifacts"]], out)


class TestOtherExamples(ExampleTest):
    def test_c_objective(self):
        study = name("ex-c")
        rc, out = run([os.environ["HPO_EXAMPLE_C_BIN"], "--server", URL, "--study", study,
                       "--trials", "12", "--steps", "4"], 120)
        self.assertEqual(rc, 0, out)
        self.assertIn("study %s complete" % study, out)
        self.assert_study_done(study, 12, out)
        status, best = api("GET", "/api/v1/studies/%s/best" % study)
        self.assertEqual(status, 200, best)
        self.assertEqual(set(best["params"]), {"x", "layers", "activation"})

    def test_shell_objective(self):
        study = name("ex-shell")
        rc, out = run(["bash", RUN_SH, "--server", URL, "--study", study, "--trials", "10"], 120)
        self.assertEqual(rc, 0, out)
        self.assertIn("study %s complete" % study, out)
        self.assert_study_done(study, 10, out)
        status, best = api("GET", "/api/v1/studies/%s/best" % study)
        self.assertEqual(status, 200, best)
        self.assertIn("best trial %d:" % best["number"], out)

    def test_shell_objective_two_at_once(self):
        """Two copies of run.sh on one study share its trials (the server hands them out); their
        token from HPO_TOKEN_FILE."""
        study = name("ex-shell2")
        env = {k: v for k, v in os.environ.items() if k != "HPO_TOKEN"}
        env["HPO_TOKEN_FILE"] = SERVER.token_file
        procs = [subprocess.Popen(["bash", RUN_SH, "--server", URL, "--study", study,
                                   "--trials", "12"], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, env=env)
                 for _ in range(2)]
        outs = []
        for p in procs:
            out, _ = p.communicate(timeout=120)
            outs.append(out)
            self.assertEqual(p.returncode, 0, out)
        self.assert_study_done(study, 12, "\n".join(outs))


def main():
    global URL, SERVER
    env_bin("HPO_SERVER_BIN", "the hpo-server binary")
    env_bin("HPO_WORKER_BIN", "the hpo-worker binary")
    env_bin("HPO_EXAMPLE_C_BIN", "the hpo-example-c binary")
    pg = os.environ.get("HPO_TEST_PG")
    if not pg:
        die("HPO_TEST_PG is not set: these tests need a PostgreSQL server, e.g. "
            'HPO_TEST_PG="host=/tmp/hpo-pg port=54329 user=postgres dbname=postgres"')
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(ROOT, "worker", "python")] +
        [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    for k in ("HPO_STUDY", "HPO_TRIAL_NUMBER", "HPO_EXAMPLE_EPOCHS", "HPO_EXAMPLE_SEED"):
        os.environ.pop(k, None)
    args = sys.argv[1:]
    loader = unittest.TestLoader()
    if "-k" in args:
        loader.testNamePatterns = ["*%s*" % args[args.index("-k") + 1]]
    SERVER = TestServer(os.environ["HPO_SERVER_BIN"], pg, "ex")
    try:
        URL = SERVER.start()
    except RuntimeError as e:
        die(str(e))
    # the examples and the commands they start find the admin token here
    os.environ.pop("HPO_TOKEN_FILE", None)
    os.environ.pop("HPO_CACERT", None)
    os.environ["HPO_TOKEN"] = SERVER.token
    try:
        suite = loader.loadTestsFromModule(sys.modules[__name__])
        result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    finally:
        SERVER.stop()
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)


if __name__ == "__main__":
    main()
