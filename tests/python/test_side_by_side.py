# tests/python/test_side_by_side.py: the same Optuna code run with `import optuna` (in memory,
# Debian's python3-optuna) and with `import hpo_client as optuna` against hpo-server.
import unittest

import hpo_client

from hpotest import URL, name

# Debian's python3-optuna is installed by deploy/install-deps.sh: without it this test fails
import optuna as real_optuna

real_optuna.logging.set_verbosity(real_optuna.logging.ERROR)


def run_user_code(optuna, storage_kwargs):
    """Code as an Optuna user writes it; only the module differs."""

    def objective(trial):
        x = trial.suggest_float("x", -10, 10)
        n = trial.suggest_int("n", 1, 8, log=True)
        kind = trial.suggest_categorical("kind", ["a", "b"])
        loss = (x - 2) ** 2 + n + (0.5 if kind == "b" else 0.0)
        for step in range(5):
            trial.report(loss + 5 - step, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return loss

    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=3, n_startup_trials=5),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3),
                                **storage_kwargs)
    study.enqueue_trial({"x": 2.0, "n": 1, "kind": "a"})
    study.optimize(objective, n_trials=25)
    trial = study.ask()
    x = trial.suggest_float("x", -10, 10)
    study.tell(trial, x ** 2)
    summary = {
        "n_trials": len(study.trials),
        "states": {t.state.name for t in study.trials},
        "first_params": study.trials[0].params,
        "best_value": study.best_value,
        "best_params_keys": sorted(study.best_params),
        "best_is_min": study.best_value == min(
            t.value for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))),
        "types": {type(t.params["n"]).__name__ for t in study.trials if "n" in t.params},
        "last_step_of_complete": {max(t.intermediate_values) for t in study.trials
                                  if t.state == optuna.trial.TrialState.COMPLETE
                                  and t.intermediate_values},
        "direction": study.direction.name,
    }
    return summary


class TestSideBySide(unittest.TestCase):
    def test_same_code_both_ways(self):
        mem = run_user_code(real_optuna, {})
        hpo = run_user_code(hpo_client, {"storage": URL, "study_name": name("sbs")})
        for key in ("n_trials", "first_params", "best_params_keys", "types", "direction",
                    "last_step_of_complete", "best_is_min"):
            self.assertEqual(mem[key], hpo[key], key)
        self.assertEqual(mem["best_value"], 1.0)   # the enqueued optimum, both ways
        self.assertEqual(hpo["best_value"], 1.0)
        self.assertTrue(hpo["states"] <= {"COMPLETE", "PRUNED"})
        self.assertTrue(mem["states"] <= {"COMPLETE", "PRUNED"})


if __name__ == "__main__":
    unittest.main()
