# tests/python/test_worker_mode.py: hpo_client inside an hpo-worker command: current_trial(),
# report (printed for the worker and sent to the server), report_final; with the real hpo-worker
# when HPO_WORKER_BIN is set.
import json
import os
import subprocess
import sys
import tempfile
import unittest

import hpo_client as optuna
from hpo_client.trial import TrialState

from hpotest import TOKEN, TOKEN_FILE, URL, name

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "train_example.py")


def child_env(**extra):
    """The environment without any HPO_ variable (so no token) but the ones given."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("HPO_") and k not in ("HPO_TEST_URL",):
            del env[k]
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.update({k: str(v) for k, v in extra.items()})
    return env


class TestWorkerMode(unittest.TestCase):
    """The token reaches the commands three ways: HPO_TOKEN_FILE for the script by hand,
    hpo-worker --token-file, and HPO_TOKEN for hpo-worker (which hands it to its commands)."""

    def test_current_trial_outside_worker(self):
        if not optuna.in_worker():
            with self.assertRaises(RuntimeError):
                optuna.current_trial()

    def test_script_as_a_worker_command(self):
        """What hpo-worker does, by hand: ask, write the params file, run with HPO_* set."""
        study = optuna.create_study(storage=URL, study_name=name("wk"),
                                    search_space={"x": {"type": "float", "low": -10,
                                                        "high": 10}})
        t = study.ask()
        with tempfile.TemporaryDirectory() as d:
            pf = os.path.join(d, "params.json")
            with open(pf, "w") as f:
                json.dump(t.params, f)
            os.mkdir(os.path.join(d, "ckpt"))
            r = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True,
                               timeout=60,
                               env=child_env(HPO_SERVER=URL, HPO_TOKEN_FILE=TOKEN_FILE,
                                             HPO_STUDY=study.study_name,
                                             HPO_TRIAL_NUMBER=t.number, HPO_PARAMS_FILE=pf,
                                             HPO_CHECKPOINT_DIR=os.path.join(d, "ckpt"),
                                             HPO_RESOURCE="", HPO_RESOURCE_FROM=""))
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [l for l in r.stdout.splitlines() if l.startswith("hpo:")]
        x = t.params["x"]
        expect = (x - 2) ** 2 + 7.0
        self.assertEqual(len(lines), 4, r.stdout)
        for s, line in zip((1, 2, 3), lines):
            self.assertTrue(line.startswith("hpo: step=%d value=" % s), line)
            self.assertAlmostEqual(float(line.split("value=")[1]), (x - 2) ** 2 + 10.0 - s)
        self.assertTrue(lines[3].startswith("hpo: value="), lines[3])
        self.assertAlmostEqual(float(lines[3].split("value=")[1]), expect)
        ft = study.get_trial(t.number)
        self.assertEqual(ft.state, TrialState.RUNNING)  # the worker owns finish
        self.assertEqual(sorted(ft.intermediate_values), [1, 2, 3])
        self.assertEqual(ft.params["epochs"], 3)        # suggested through the API

    def test_with_real_hpo_worker(self):
        self.assertTrue(os.environ.get("HPO_WORKER_BIN"), "HPO_WORKER_BIN is not set")
        study = optuna.create_study(storage=URL, study_name=name("wkr"), max_trials=4,
                                    sampler=optuna.samplers.RandomSampler(seed=2),
                                    search_space={"x": {"type": "float", "low": -10,
                                                        "high": 10}})
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([os.environ["HPO_WORKER_BIN"], "--server", URL,
                                "--token-file", TOKEN_FILE, "--study",
                                study.study_name, "--gpus", "none", "--parallel", "2",
                                "--work-dir", d, "--log-level", "warn", "--",
                                sys.executable, SCRIPT],
                               capture_output=True, text=True, timeout=120, env=child_env())
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        trials = study.trials
        self.assertEqual(len(trials), 4)
        for ft in trials:
            self.assertEqual(ft.state, TrialState.COMPLETE, ft)
            self.assertAlmostEqual(ft.value, (ft.params["x"] - 2) ** 2 + 7.0)
            self.assertEqual(sorted(ft.intermediate_values), [1, 2, 3])

    def test_asha_with_real_hpo_worker(self):
        self.assertTrue(os.environ.get("HPO_WORKER_BIN"), "HPO_WORKER_BIN is not set")
        study = optuna.create_study(storage=URL, study_name=name("wka"), max_trials=6,
                                    sampler=optuna.samplers.RandomSampler(seed=5),
                                    pruner=optuna.pruners.ASHAPruner(1, 3, reduction_factor=3),
                                    search_space={"x": {"type": "float", "low": -10,
                                                        "high": 10}})
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([os.environ["HPO_WORKER_BIN"], "--server", URL, "--study",
                                study.study_name, "--gpus", "none", "--parallel", "1",
                                "--grace-ms", "20000", "--work-dir", d, "--log-level", "warn",
                                "--", sys.executable, SCRIPT],
                               capture_output=True, text=True, timeout=180,
                               env=child_env(HPO_TOKEN=TOKEN))
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        trials = study.trials
        self.assertEqual(len(trials), 6)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        self.assertGreaterEqual(len(complete), 1)
        for ft in complete:   # resumed from its checkpoint: the loss went on from rung 1
            self.assertEqual(sorted(ft.intermediate_values), [1, 2, 3])
            self.assertAlmostEqual(ft.value, (ft.params["x"] - 2) ** 2 + 7.0)
        for ft in trials:
            self.assertIn(ft.state, (TrialState.COMPLETE, TrialState.PRUNED), r.stderr[-2000:])


if __name__ == "__main__":
    unittest.main()
