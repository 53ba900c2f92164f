# tests/python/test_sampler_cmaes.py: hpo_client.samplers.CmaEsSampler: Optuna's arguments as the
# server's JSON, the ones hpo does not take refused, and a study optimized by the server's CMA-ES.
import math
import unittest

import hpo_client as optuna
from hpo_client.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)

from hpotest import URL, name

SPACE = {"lr": FloatDistribution(1e-4, 1, log=True), "k": IntDistribution(1, 8),
         "x": FloatDistribution(-5, 5), "c": CategoricalDistribution(["a", "b"])}


def objective(trial):
    lr = trial.suggest_float("lr", 1e-4, 1, log=True)
    k = trial.suggest_int("k", 1, 8)
    x = trial.suggest_float("x", -5, 5)
    c = trial.suggest_categorical("c", ["a", "b"])
    assert 1e-4 <= lr <= 1 and isinstance(k, int) and 1 <= k <= 8 and -5 <= x < 5
    assert c in ("a", "b")
    return (math.log10(lr) + 2) ** 2 + 0.25 * (k - 3) ** 2 + 0.25 * (x - 1) ** 2


class TestCmaEsSampler(unittest.TestCase):
    def test_arguments_as_the_servers_json(self):
        s = optuna.samplers.CmaEsSampler(x0={"x": 0.5}, sigma0=0.3, seed=4, popsize=6,
                                         restart_strategy="ipop", inc_popsize=3,
                                         consider_pruned_trials=True)
        self.assertEqual(s.to_json(), {"type": "cmaes", "x0": {"x": 0.5}, "sigma0": 0.3,
                                       "n_startup_trials": 1, "popsize": 6,
                                       "restart_strategy": "ipop", "inc_popsize": 3,
                                       "consider_pruned_trials": True, "seed": 4})
        self.assertEqual(optuna.samplers.CmaEsSampler().to_json()["type"], "cmaes")
        for kw in ({"use_separable_cma": True}, {"with_margin": True}, {"source_trials": []},
                   {"independent_sampler": optuna.samplers.RandomSampler()}):
            with self.assertRaises(NotImplementedError, msg=str(kw)):
                optuna.samplers.CmaEsSampler(**kw)
        with self.assertRaises(ValueError):
            optuna.samplers.CmaEsSampler(restart_strategy="bipop")
        # a bad value the server refuses names its field
        with self.assertRaises(optuna.exceptions.InvalidArgumentError) as e:
            optuna.create_study(storage=URL, study_name=name("cma-bad"), search_space=SPACE,
                                sampler=optuna.samplers.CmaEsSampler(popsize=2))
        self.assertEqual(e.exception.field, "sampler.popsize")

    def test_optimize_with_the_servers_cmaes(self):
        study = optuna.create_study(storage=URL, study_name=name("cma"), search_space=SPACE,
                                    sampler=optuna.samplers.CmaEsSampler(seed=3, popsize=4))
        self.assertEqual(study.sampler["type"], "cmaes")
        self.assertEqual(study.sampler["popsize"], 4)
        study.optimize(objective, n_trials=60)
        rnd = optuna.create_study(storage=URL, study_name=name("cma-rnd"), search_space=SPACE,
                                  sampler=optuna.samplers.RandomSampler(seed=3))
        rnd.optimize(objective, n_trials=60)
        self.assertEqual(len(study.trials), 60)
        self.assertLess(study.best_value, 0.05)
        self.assertLess(study.best_value * 5, rnd.best_value)


if __name__ == "__main__":
    unittest.main()
