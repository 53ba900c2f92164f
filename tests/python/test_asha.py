# tests/python/test_asha.py: ASHA promotion from Python: trial.resource / trial.resume, pause at a
# rung, checkpoints in trial.checkpoint_dir, promotion by a later ask, in Study.optimize and by hand.
import json
import os
import unittest

import hpo_client as optuna
from hpo_client.trial import TrialState

from hpotest import URL, name


class TestAsha(unittest.TestCase):
    def test_optimize_with_promotion_loop(self):
        runs = []

        def objective(trial):
            lr = trial.suggest_float("lr", 0.01, 0.5, log=True)
            res = trial.resource                      # {"from": epochs done, "to": train to}
            path = os.path.join(trial.checkpoint_dir, "state.json")
            if trial.resume:                          # promoted: go on from the checkpoint
                with open(path) as f:
                    state = json.load(f)
            else:
                state = {"epoch": 0, "loss": 10.0}
            runs.append((trial.number, res["from"], res["to"], trial.resume, state["epoch"]))
            for epoch in range(res["from"] + 1, res["to"] + 1):
                state["loss"] *= 1 - lr
                state["epoch"] = epoch
                trial.report(state["loss"], epoch)
                if trial.should_prune():              # "pause" at the rung: save and stop
                    with open(path, "w") as f:
                        json.dump(state, f)
                    raise optuna.TrialPruned()
            return state["loss"]

        study = optuna.create_study(
            direction="minimize", storage=URL, study_name=name("asha"), max_trials=9,
            sampler=optuna.samplers.RandomSampler(seed=4),
            pruner=optuna.pruners.ASHAPruner(min_resource=1, max_resource=9, reduction_factor=3))
        study.optimize(objective)                     # until the server says study_complete
        # every run resumed from where the last one of its trial stopped
        for number, frm, to, resume, epoch in runs:
            self.assertEqual(epoch, frm)
            self.assertEqual(resume, f"checkpoint-{frm}" if frm else None)
        promoted = [r for r in runs if r[1] > 0]
        self.assertGreater(len(promoted), 0)
        self.assertTrue({r[1] for r in promoted} <= {1, 3})
        trials = study.trials
        self.assertEqual(len(trials), 9)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        self.assertGreaterEqual(len(complete), 1)
        for t in complete:
            self.assertEqual(sorted(t.intermediate_values), list(range(1, 10)))
        for t in trials:
            self.assertIn(t.state, (TrialState.COMPLETE, TrialState.PRUNED))
        best_lr = max(t.params["lr"] for t in trials)
        self.assertEqual(study.best_params["lr"], best_lr)  # the fastest learner wins

    def test_optimize_threads_wait_through_204(self):
        def objective(trial):
            x = trial.suggest_float("x", 0, 1)
            res = trial.resource
            for step in range(res["from"] + 1, res["to"] + 1):
                trial.report(x + 1.0 / step, step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            return x

        study = optuna.create_study(storage=URL, study_name=name("asha-jobs"), max_trials=12,
                                    pruner=optuna.pruners.ASHAPruner(1, 9, 3))
        study.optimize(objective, n_jobs=3, timeout=60)
        trials = study.trials
        self.assertEqual(len(trials), 12)
        self.assertTrue(all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials))
        self.assertGreaterEqual(len([t for t in trials if t.state == TrialState.COMPLETE]), 1)

    def test_ask_tell_promotion(self):
        study = optuna.create_study(
            storage=URL, study_name=name("asha-ask"), max_trials=3,
            search_space={"x": {"type": "float", "low": 0, "high": 1}},
            pruner={"type": "asha", "max_resource": 3})
        trials = [study.ask() for _ in range(3)]
        for t in trials:
            self.assertEqual((t.resource, t.resume), ({"from": 0, "to": 1}, None))
        for t in trials:
            t.report(t.params["x"], 1)
            self.assertTrue(t.should_pause())
            self.assertTrue(t.should_prune())
        self.assertEqual(len(study.get_trials(states=[TrialState.PAUSED])), 3)
        best = min(trials, key=lambda t: t.params["x"])
        t = study.ask()                               # the promotion of the best
        self.assertEqual(t.number, best.number)
        self.assertEqual((t.resource, t.resume), ({"from": 1, "to": 3}, "checkpoint-1"))
        self.assertEqual(t.params, best.params)
        self.assertEqual(t.suggest_float("x", 0, 1), best.params["x"])
        t.report(t.params["x"] / 2, 3)
        self.assertFalse(t.should_prune())
        study.tell(t, t.params["x"] / 2)
        with self.assertRaises(optuna.StudyCompleteError):
            study.ask()
        states = sorted(ft.state.name for ft in study.trials)
        self.assertEqual(states, ["COMPLETE", "PRUNED", "PRUNED"])


if __name__ == "__main__":
    unittest.main()
