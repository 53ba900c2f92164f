# tests/python/test_nsga2.py: Optuna's NSGA-II through `import hpo_client as optuna` against
# hpo-server: the constrained multi-objective example (Binh and Korn) with constraints_func, the
# trials' generations where Optuna keeps them, and the sampler's arguments checked as Optuna
# checks them.
import unittest

import hpo_client as optuna
from hpo_client.trial import TrialState

from hpotest import URL, name


# Optuna's constrained multi-objective example, as its documentation writes it.
def objective(trial):
    # Binh and Korn function with constraints.
    x = trial.suggest_float("x", -15, 30)
    y = trial.suggest_float("y", -15, 30)

    # Constraints which are considered feasible if less than or equal to zero.
    # The feasible region is basically the intersection of a circle centered at (x=5, y=0)
    # and the complement to a circle centered at (x=8, y=-3).
    c0 = (x - 5) ** 2 + y ** 2 - 25
    c1 = -((x - 8) ** 2) - (y + 3) ** 2 + 7.7

    # Store the constraints as user attributes so that they can be restored after optimization.
    trial.set_user_attr("constraint", (c0, c1))

    v0 = 4 * x ** 2 + 4 * y ** 2
    v1 = (x - 5) ** 2 + (y - 5) ** 2

    return v0, v1


def constraints(trial):
    return trial.user_attrs["constraint"]


def feasible(t):
    return all(c <= 0 for c in t.system_attrs["constraints"])


GEN = "nsga2:generation"


class TestNSGAII(unittest.TestCase):
    def test_constrained_binh_korn(self):
        sampler = optuna.samplers.NSGAIISampler(population_size=10, constraints_func=constraints,
                                                seed=1)
        # hpo's NSGA-II makes children over the declared params: the same space, declared
        space = {"x": optuna.distributions.FloatDistribution(-15, 30),
                 "y": optuna.distributions.FloatDistribution(-15, 30)}
        study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler,
                                    storage=URL, study_name=name("nsga2"), search_space=space)
        study.optimize(objective, n_trials=100, timeout=600)

        conf = study.sampler
        self.assertEqual(conf["type"], "nsga2")
        self.assertEqual(conf["population_size"], 10)
        self.assertTrue(conf["constraints"])
        self.assertIsNone(conf["mutation_prob"])
        self.assertEqual((conf["crossover_prob"], conf["swapping_prob"]), (0.9, 0.5))
        self.assertEqual(conf["seed"], 1)

        trials = study.trials
        self.assertEqual(len(trials), 100)
        gens = [t.system_attrs[GEN] for t in trials]
        # one worker: 10 trials per generation, each generation complete before the next
        self.assertEqual(gens, [n // 10 for n in range(100)])
        for t in trials:
            self.assertEqual(t.state, TrialState.COMPLETE)
            self.assertEqual(t.generation, t.system_attrs[GEN])
            self.assertEqual(t.system_attrs["constraints"], t.user_attrs["constraint"])
        # the front holds feasible trials only; the feasible region (4% of the space) fills
        # the later generations: over seeds 0-9, 0-3 of the first 20 trials feasible and 3-10
        # of the last 20 (Optuna 3.1's NSGAIISampler: 0-3 and 4-10)
        front = study.best_trials
        self.assertTrue(front)
        self.assertTrue(all(feasible(t) for t in front))
        first = sum(feasible(t) for t in trials[:20])
        last = sum(feasible(t) for t in trials[80:])
        self.assertGreater(last, first)

        # a running trial shows its generation as well, and reloading keeps it
        t = study.ask()
        self.assertEqual(t.system_attrs[GEN], 10)
        study.tell(t, state=TrialState.FAIL)
        again = optuna.load_study(study_name=study.study_name, storage=URL)
        self.assertEqual(again.get_trial(25).system_attrs[GEN], 2)

    def test_define_by_run_params_are_random_but_counted(self):
        # without a declared space the params are drawn at random (Optuna's independent
        # sampler); the trials still form generations
        study = optuna.create_study(
            directions=["minimize", "maximize"],
            sampler=optuna.samplers.NSGAIISampler(population_size=3, seed=4),
            storage=URL, study_name=name("nsga2-dbr"))
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_int("k", 0, 9)),
                       n_trials=7)
        self.assertEqual([t.system_attrs[GEN] for t in study.trials], [0, 0, 0, 1, 1, 1, 2])

    def test_arguments(self):
        s = optuna.samplers.NSGAIISampler()
        self.assertEqual(s.to_json(), {"type": "nsga2", "population_size": 50,
                                       "mutation_prob": None, "crossover_prob": 0.9,
                                       "swapping_prob": 0.5})
        s = optuna.samplers.NSGAIISampler(population_size=8, mutation_prob=0.2,
                                          crossover_prob=0.5, swapping_prob=0.1, seed=3)
        self.assertEqual(s.to_json(), {"type": "nsga2", "population_size": 8,
                                       "mutation_prob": 0.2, "crossover_prob": 0.5,
                                       "swapping_prob": 0.1, "seed": 3})
        with self.assertRaises(ValueError):
            optuna.samplers.NSGAIISampler(population_size=1)
        with self.assertRaises(TypeError):
            optuna.samplers.NSGAIISampler(population_size=4.0)
        with self.assertRaises(ValueError):
            optuna.samplers.NSGAIISampler(mutation_prob=1.5)
        with self.assertRaises(ValueError):
            optuna.samplers.NSGAIISampler(crossover_prob=-0.1)
        with self.assertRaises(ValueError):
            optuna.samplers.NSGAIISampler(swapping_prob=2)
        with self.assertRaisesRegex(ValueError, "uniform crossover only"):
            optuna.samplers.NSGAIISampler(crossover="SBXCrossover()")
        with self.assertRaises(TypeError):
            optuna.samplers.NSGAIISampler(constraints_func=3)
        # the server checks the options too
        with self.assertRaises(optuna.exceptions.InvalidArgumentError) as cm:
            optuna.create_study(directions=["minimize", "minimize"], storage=URL,
                                study_name=name("nsga2-bad"),
                                sampler={"type": "nsga2", "population_size": 1})
        self.assertEqual(cm.exception.field, "sampler.population_size")


if __name__ == "__main__":
    unittest.main()
