# tests/python/test_optuna_style.py: Optuna-documentation-style code run against hpo-server
# through `import hpo_client as optuna` (quadratic, pruning, ask-and-tell, enqueue, threads...).
import math
import threading
import time
import unittest
import warnings

import hpo_client as optuna
from hpo_client.trial import TrialState

from hpotest import URL, name


class TestOptimize(unittest.TestCase):
    def test_quickstart_quadratic(self):
        # Optuna's quickstart, as written there but for the import and the storage.
        def objective(trial):
            x = trial.suggest_float("x", -10, 10)
            return (x - 2) ** 2

        study = optuna.create_study(study_name=name("quick"), storage=URL,
                                    sampler=optuna.samplers.TPESampler(seed=7))
        study.optimize(objective, n_trials=60)
        found_x = study.best_params["x"]
        self.assertLess(abs(found_x - 2), 0.5, "found x: %f" % found_x)
        self.assertEqual(len(study.trials), 60)
        self.assertAlmostEqual(study.best_value, (found_x - 2) ** 2)
        self.assertEqual(study.direction, optuna.study.StudyDirection.MINIMIZE)
        self.assertEqual(study.best_trial.state, TrialState.COMPLETE)
        self.assertEqual(min(t.value for t in study.trials), study.best_value)

    def test_mixed_space_types_and_trial_attributes(self):
        def objective(trial):
            x = trial.suggest_float("x", -10, 10)
            y = trial.suggest_int("y", -5, 5)
            op = trial.suggest_categorical("op", ["add", "mul", None])
            lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
            z = trial.suggest_float("z", 0, 1, step=0.25)
            assert isinstance(x, float) and isinstance(y, int) and op in ("add", "mul", None)
            assert 1e-5 <= lr <= 1e-1 and z in (0, 0.25, 0.5, 0.75, 1.0)
            trial.set_user_attr("double_y", 2 * y)
            return (x - 2) ** 2 + (y + 1) ** 2 + (0 if op == "add" else 1)

        study = optuna.create_study(direction="minimize", storage=URL, study_name=name("mixed"))
        study.optimize(objective, n_trials=30)
        trials = study.trials
        self.assertEqual([t.number for t in trials], list(range(30)))
        for t in trials:
            self.assertEqual(t.state, TrialState.COMPLETE)
            self.assertEqual(set(t.params), {"x", "y", "op", "lr", "z"})
            self.assertIsInstance(t.params["y"], int)
            self.assertEqual(t.user_attrs, {"double_y": 2 * t.params["y"]})
            self.assertIsNotNone(t.datetime_start)
            self.assertGreaterEqual(t.datetime_complete, t.datetime_start)
            self.assertEqual(t.distributions["y"], optuna.distributions.IntDistribution(-5, 5))
        self.assertEqual(study.best_value, min(t.value for t in trials))
        self.assertEqual(study.best_trial.params, study.best_params)

    def test_pruning_median(self):
        # Optuna's pruning example, with a closed-form "training" instead of scikit-learn.
        def objective(trial):
            lr = trial.suggest_float("lr", 1e-3, 0.5, log=True)
            loss = 10.0
            for step in range(20):
                loss = loss * (1 - lr)
                trial.report(loss, step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            return loss

        study = optuna.create_study(
            direction="minimize", storage=URL, study_name=name("prune"),
            sampler=optuna.samplers.RandomSampler(seed=1),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2))
        study.optimize(objective, n_trials=30)
        pruned = study.get_trials(deepcopy=False, states=[TrialState.PRUNED])
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        self.assertGreater(len(pruned), 0)
        self.assertEqual(len(pruned) + len(complete), 30)
        for t in pruned:
            self.assertLess(len(t.intermediate_values), 20)
            self.assertEqual(t.value, t.intermediate_values[t.last_step])
        for t in complete:
            self.assertEqual(sorted(t.intermediate_values), list(range(20)))
        self.assertEqual(study.pruner["type"], "median")
        self.assertEqual(study.pruner["n_warmup_steps"], 2)

    def test_ask_and_tell(self):
        study = optuna.create_study(direction="maximize", storage=URL, study_name=name("ask"))
        for _ in range(10):
            trial = study.ask()
            x = trial.suggest_float("x", -1, 1)
            study.tell(trial, -x ** 2)
        t = study.ask({"x": optuna.distributions.FloatDistribution(-1, 1),
                       "n": optuna.distributions.IntDistribution(1, 3)})
        self.assertEqual(set(t.params), {"x", "n"})
        ft = study.tell(t.number, state=TrialState.FAIL)
        self.assertEqual(ft.state, TrialState.FAIL)
        t = study.ask()
        t.report(0.5, 0)
        ft = study.tell(t, state=optuna.trial.TrialState.PRUNED)
        self.assertEqual((ft.state, ft.value), (TrialState.PRUNED, 0.5))
        t = study.ask()
        ft = study.tell(t, float("nan"))
        self.assertEqual(ft.state, TrialState.FAIL)
        self.assertEqual(len(study.trials), 13)
        self.assertEqual(study.best_value, max(t.value for t in study.get_trials(
            states=[TrialState.COMPLETE])))
        self.assertEqual(study.direction, optuna.study.StudyDirection.MAXIMIZE)

    def test_enqueue_trial(self):
        def objective(trial):
            x = trial.suggest_float("x", -10, 10)
            y = trial.suggest_int("y", -10, 10)
            return x ** 2 + y ** 2

        study = optuna.create_study(storage=URL, study_name=name("enq"))
        study.enqueue_trial({"x": 5.0, "y": 0})
        study.enqueue_trial({"x": 0.0, "y": 0}, user_attrs={"memo": "optimal"})
        study.enqueue_trial({"x": 0.0, "y": 0}, skip_if_exists=True)
        self.assertEqual(len(study.get_trials(states=[TrialState.WAITING])), 2)
        study.optimize(objective, n_trials=3)
        t0, t1 = study.trials[0], study.trials[1]
        self.assertEqual(t0.params, {"x": 5.0, "y": 0})
        self.assertEqual((t1.params, t1.value), ({"x": 0.0, "y": 0}, 0.0))
        self.assertEqual(t1.user_attrs, {"memo": "optimal"})
        self.assertEqual(study.best_params, {"x": 0.0, "y": 0})

    def test_load_study(self):
        n = name("load")
        study = optuna.create_study(study_name=n, storage=URL, direction="maximize")
        study.optimize(lambda t: t.suggest_int("a", 0, 3), n_trials=4)
        again = optuna.load_study(study_name=n, storage=URL)
        self.assertEqual(again.study_name, n)
        self.assertEqual(again.direction, optuna.study.StudyDirection.MAXIMIZE)
        self.assertEqual([t.params for t in again.trials], [t.params for t in study.trials])
        again.optimize(lambda t: t.suggest_int("a", 0, 3), n_trials=2)
        self.assertEqual(len(study.trials), 6)
        same = optuna.create_study(study_name=n, storage=URL, load_if_exists=True)
        self.assertEqual(len(same.trials), 6)
        self.assertIn(n, optuna.get_all_study_names(storage=URL))
        optuna.delete_study(study_name=n, storage=URL)
        with self.assertRaises(KeyError):
            optuna.load_study(study_name=n, storage=URL)

    def test_two_threads(self):
        seen = set()
        lock = threading.Lock()

        def objective(trial):
            x = trial.suggest_float("x", -10, 10)
            with lock:
                seen.add(threading.current_thread().name)
            time.sleep(0.02)
            return (x - 1) ** 2

        study = optuna.create_study(storage=URL, study_name=name("jobs"))
        study.optimize(objective, n_trials=20, n_jobs=2)
        trials = study.trials
        self.assertEqual(len(trials), 20)
        self.assertTrue(all(t.state == TrialState.COMPLETE for t in trials))
        self.assertEqual(len(seen), 2)

    def test_objective_errors_none_nan_and_catch(self):
        calls = []

        def objective(trial):
            x = trial.suggest_int("x", 0, 2)
            calls.append(x)
            if len(calls) == 1:
                raise ZeroDivisionError("boom")
            if len(calls) == 2:
                return None
            if len(calls) == 3:
                return float("nan")
            return float(x)

        study = optuna.create_study(storage=URL, study_name=name("err"))
        with self.assertRaises(ZeroDivisionError):
            study.optimize(objective, n_trials=5)
        ft = study.trials[0]
        self.assertEqual(ft.state, TrialState.FAIL)
        self.assertIn("boom", ft.fail_reason)
        study.optimize(objective, n_trials=3, catch=(ZeroDivisionError,))
        states = [t.state for t in study.trials]
        self.assertEqual(states, [TrialState.FAIL, TrialState.FAIL, TrialState.FAIL,
                                  TrialState.COMPLETE])

        def broken(trial):
            raise KeyError("k")

        study.optimize(broken, n_trials=2, catch=KeyError)  # one class works as catch too
        self.assertEqual([t.state for t in study.trials[4:]], [TrialState.FAIL] * 2)

    def test_callbacks_timeout_stop(self):
        done = []

        def cb(study, trial):
            done.append(trial.number)
            if len(done) == 3:
                study.stop()

        study = optuna.create_study(storage=URL, study_name=name("cb"))
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=10, callbacks=[cb])
        self.assertEqual(done, [0, 1, 2])
        start = time.monotonic()
        study.optimize(lambda t: time.sleep(0.2) or t.suggest_float("x", 0, 1), timeout=1.0)
        self.assertLess(time.monotonic() - start, 3.0)
        self.assertGreaterEqual(len(study.trials), 6)
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=50,
                       callbacks=[optuna.MaxTrialsCallback(12)])
        self.assertEqual(len(study.trials), 12)

    def test_max_trials_ends_optimize(self):
        study = optuna.create_study(storage=URL, study_name=name("max"), max_trials=4,
                                    search_space={"x": {"type": "float", "low": 0, "high": 1}})
        study.optimize(lambda t: t.params["x"], n_trials=10)
        self.assertEqual(len(study.trials), 4)
        self.assertEqual(study.max_trials, 4)
        with self.assertRaises(optuna.StudyCompleteError) as cm:
            study.ask()
        self.assertEqual(cm.exception.code, "study_complete")

    def test_multi_objective(self):
        def objective(trial):
            x = trial.suggest_float("x", 0, 5)
            y = trial.suggest_float("y", 0, 3)
            return 4 * x ** 2 + 4 * y ** 2, (x - 5) ** 2 + (y - 5) ** 2

        # TPE (Optuna 3.1's multi-objective TPE): the client leaves constant_liar to the server,
        # which turns it off for several objectives
        study = optuna.create_study(directions=["minimize", "minimize"], storage=URL,
                                    study_name=name("multi"),
                                    sampler=optuna.samplers.TPESampler(seed=4, n_startup_trials=5))
        self.assertEqual((study.sampler["type"], study.sampler["constant_liar"]), ("tpe", False))
        study.optimize(objective, n_trials=20)
        front = study.best_trials
        self.assertGreater(len(front), 0)
        for t in front:
            self.assertEqual(len(t.values), 2)
        with self.assertRaises(RuntimeError):
            study.direction
        with self.assertRaises(RuntimeError):
            study.best_trial

    def test_grid_sampler(self):
        search_space = {"x": [-1, 0, 1], "y": [10, 20]}

        def objective(trial):
            x = trial.suggest_float("x", -10, 10)
            y = trial.suggest_int("y", -100, 100)
            return x ** 2 + y

        study = optuna.create_study(sampler=optuna.samplers.GridSampler(search_space),
                                    storage=URL, study_name=name("grid"))
        study.optimize(objective)  # until the grid is exhausted
        pts = sorted((t.params["x"], t.params["y"]) for t in study.trials)
        self.assertEqual(pts, sorted((x, y) for x in [-1, 0, 1] for y in [10, 20]))
        self.assertEqual(study.best_params, {"x": 0, "y": 10})

    def test_qmc_sampler_define_by_run(self):
        def objective(trial):
            x = trial.suggest_float("x", 0, 1)
            c = trial.suggest_categorical("c", ["a", "b"])
            y = trial.suggest_float("y", -1, 1)
            return x + y + (c == "a")

        study = optuna.create_study(sampler=optuna.samplers.QMCSampler(qmc_type="sobol"),
                                    storage=URL, study_name=name("qmc"))
        study.optimize(objective, n_trials=8)
        # scipy.stats.qmc.Sobol(2, scramble=False), points 0 .. 7: the params in the order they
        # first appeared (the categorical one drawn at random)
        d0 = [0, 0.5, 0.75, 0.25, 0.375, 0.875, 0.625, 0.125]
        d1 = [0, 0.5, 0.25, 0.75, 0.375, 0.875, 0.125, 0.625]
        for t in study.trials:
            self.assertAlmostEqual(t.params["x"], d0[t.number], places=12)
            self.assertAlmostEqual(t.params["y"], -1 + 2 * d1[t.number], places=12)
        self.assertEqual(optuna.samplers.QMCSampler(qmc_type="halton", scramble=True,
                                                    seed=3).to_json(),
                         {"type": "qmc", "qmc_type": "halton", "scramble": True, "seed": 3})
        with self.assertRaises(ValueError):
            optuna.samplers.QMCSampler(qmc_type="faure")

    def test_gp_sampler(self):
        # Optuna 4's GPSampler over a declared search space: random start-up, then the GP; the
        # define-by-run "extra" is drawn at random.
        def objective(trial):
            x = trial.suggest_float("x", -5, 5)
            lr = trial.suggest_float("lr", 1e-4, 1, log=True)
            n = trial.suggest_int("n", 1, 8)
            c = trial.suggest_categorical("c", ["a", "b", "c"])
            extra = trial.suggest_float("extra", 0, 1)
            assert 0 <= extra <= 1
            return (x - 1) ** 2 + (math.log10(lr) + 2) ** 2 + 0.1 * (n - 5) ** 2 + (c != "b")

        dist = optuna.distributions
        space = {"x": dist.FloatDistribution(-5, 5),
                 "lr": dist.FloatDistribution(1e-4, 1, log=True),
                 "n": dist.IntDistribution(1, 8),
                 "c": dist.CategoricalDistribution(["a", "b", "c"])}
        sampler = optuna.samplers.GPSampler(seed=3, n_startup_trials=6)
        study = optuna.create_study(storage=URL, study_name=name("gp"), sampler=sampler,
                                    search_space=space)
        self.assertEqual(study.sampler, {"type": "gp", "seed": 3, "n_startup_trials": 6,
                                         "deterministic_objective": False})
        study.optimize(objective, n_trials=25)
        self.assertEqual(len(study.trials), 25)
        # after 25 trials, random search's median best here is about 1.5; the GP's, over 12
        # seeds, below 0.005
        self.assertLess(study.best_value, 0.05)
        self.assertEqual(study.best_params["c"], "b")
        self.assertEqual(optuna.samplers.GPSampler(deterministic_objective=True).to_json(),
                         {"type": "gp", "n_startup_trials": 10, "deterministic_objective": True})
        with self.assertRaises(ValueError):
            optuna.samplers.GPSampler(independent_sampler=optuna.samplers.RandomSampler())
        with self.assertRaises(ValueError):
            optuna.samplers.GPSampler(n_startup_trials=-1)
        with self.assertRaises(optuna.InvalidArgumentError):
            optuna.create_study(storage=URL, study_name=name("gp2"), sampler=sampler,
                                directions=["minimize", "maximize"])

    def test_auto_sampler_is_the_default(self):
        # No sampler: the server's auto. Over a declared numeric space it runs the GP (default
        # start-up of 10 random trials), so 30 trials get close to the optimum; a define-by-run
        # study (nothing declared) runs TPE for every param and works as in Optuna.
        def objective(trial):
            x = trial.suggest_float("x", -5, 5)
            lr = trial.suggest_float("lr", 1e-4, 1, log=True)
            return (x - 1) ** 2 + (math.log10(lr) + 2) ** 2

        dist = optuna.distributions
        space = {"x": dist.FloatDistribution(-5, 5),
                 "lr": dist.FloatDistribution(1e-4, 1, log=True)}
        study = optuna.create_study(storage=URL, study_name=name("auto"), search_space=space)
        self.assertEqual(study.sampler["type"], "auto")
        self.assertEqual(sorted(study.sampler), ["seed", "type"])
        study = optuna.create_study(storage=URL, study_name=name("auto1"), search_space=space,
                                    sampler=optuna.samplers.AutoSampler(seed=1))
        study.optimize(objective, n_trials=30)
        # random search's median best after 30 trials here is about 0.5; TPE's about 0.1
        self.assertLess(study.best_value, 0.05)
        study = optuna.create_study(storage=URL, study_name=name("auto-dbr"),
                                    sampler=optuna.samplers.AutoSampler(seed=2))
        self.assertEqual(study.sampler, {"type": "auto", "seed": 2})
        study.optimize(objective, n_trials=15)
        self.assertEqual(len(study.trials), 15)
        self.assertLess(study.best_value, 5)

    def test_deprecated_suggest_api_and_step_adjust(self):
        def objective(trial):
            a = trial.suggest_uniform("a", 0, 1)
            b = trial.suggest_loguniform("b", 1e-3, 1)
            c = trial.suggest_discrete_uniform("c", 0, 1, 0.5)
            d = trial.suggest_float("d", 0, 1, step=0.3)   # high adjusted to 0.9
            e = trial.suggest_int("e", 0, 10, step=3)        # high adjusted to 9
            assert 0 <= a <= 1 and 1e-3 <= b <= 1 and c in (0, 0.5, 1)
            assert round(d / 0.3, 6) == round(d / 0.3) and d <= 0.9 + 1e-9
            assert e in (0, 3, 6, 9)
            return a

        study = optuna.create_study(storage=URL, study_name=name("dep"))
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            study.optimize(objective, n_trials=5)
        self.assertTrue(any(issubclass(x.category, FutureWarning) for x in w))
        self.assertTrue(all(t.state == TrialState.COMPLETE for t in study.trials))
        self.assertEqual(study.trials[0].distributions["d"].high, 0.9)

    def test_heartbeats_keep_a_slow_trial_alive(self):
        study = optuna.create_study(storage=URL, study_name=name("hb"), heartbeat_grace=0.5)

        def objective(trial):
            x = trial.suggest_float("x", 0, 1)
            time.sleep(1.6)
            return x

        study.optimize(objective, n_trials=1)
        self.assertEqual(study.trials[0].state, TrialState.COMPLETE)


class TestErrors(unittest.TestCase):
    def test_duplicate_study(self):
        n = name("dup")
        optuna.create_study(study_name=n, storage=URL)
        with self.assertRaises(optuna.exceptions.DuplicatedStudyError) as cm:
            optuna.create_study(study_name=n, storage=URL)
        e = cm.exception
        self.assertIsInstance(e, optuna.ConflictError)
        self.assertEqual((e.code, e.status), ("already_exists", 409))
        self.assertIn(n, e.message)

    def test_not_found(self):
        with self.assertRaises(optuna.NotFoundError) as cm:
            optuna.load_study(study_name=name("none"), storage=URL)
        self.assertEqual(cm.exception.code, "not_found")
        self.assertTrue(cm.exception.message)

    def test_invalid_argument_carries_message_and_field(self):
        with self.assertRaises(optuna.InvalidArgumentError) as cm:
            optuna.create_study(study_name=name("bad"), storage=URL, search_space={
                "lr": {"type": "float", "low": 1, "high": 0}})
        e = cm.exception
        self.assertIsInstance(e, ValueError)
        self.assertEqual(e.field, "search_space.lr.low")
        self.assertIn("must not be greater than high", e.message)
        self.assertIn("search_space.lr.low", str(e))
        with self.assertRaises(optuna.InvalidArgumentError) as cm:
            optuna.create_study(study_name=name("bad"), storage=URL,
                                sampler={"type": "tpe", "n_ei_candidates": 0})
        self.assertTrue(cm.exception.field.startswith("sampler"))
        with self.assertRaises(ValueError):
            optuna.create_study(storage="sqlite:///example.db")

    def test_conflicts_and_finished(self):
        study = optuna.create_study(storage=URL, study_name=name("conf"))
        t = study.ask()
        t.suggest_float("x", 0, 1)
        self.assertEqual(t.suggest_float("x", 0, 1), t.params["x"])
        with self.assertRaises(optuna.ConflictError) as cm:
            t.suggest_int("x", 0, 1)
        self.assertEqual(cm.exception.code, "conflict")
        with self.assertRaises(optuna.InvalidArgumentError):
            t.report(float("nan"), 0)
        study.tell(t, 1.0)
        self.assertEqual(study.tell(t, 1.0).value, 1.0)  # the same finish again is harmless
        with self.assertRaises(optuna.TrialFinishedError) as cm:
            study.tell(t, 2.0)
        self.assertEqual(cm.exception.code, "trial_finished")
        self.assertEqual(study.tell(t, 2.0, skip_if_finished=True).value, 1.0)
        with self.assertRaises(optuna.TrialFinishedError):
            t.report(0.1, 1)
        with self.assertRaises(ValueError):
            study.tell(study.ask())
        with self.assertRaises(ValueError):
            optuna.create_study(storage=URL, study_name=name("e")).best_trial

    def test_unreachable_server(self):
        client = optuna.Client("http://127.0.0.1:9", retries=2, backoff=0.01)
        start = time.monotonic()
        with self.assertRaises(optuna.UnavailableError) as cm:
            optuna.create_study(storage=client)
        self.assertIn("127.0.0.1:9", str(cm.exception))
        self.assertLess(time.monotonic() - start, 5)


class TestConfigObjects(unittest.TestCase):
    def test_samplers_and_pruners_to_json(self):
        s, p = optuna.samplers, optuna.pruners
        self.assertEqual(s.RandomSampler(seed=3).to_json(), {"type": "random", "seed": 3})
        self.assertEqual(s.TPESampler(seed=1, n_startup_trials=5).to_json()["n_startup_trials"], 5)
        self.assertEqual(p.NopPruner().to_json(), {"type": "none"})
        self.assertEqual(p.PatientPruner(p.MedianPruner(), patience=2).to_json()["wrapped"]["type"],
                         "median")
        self.assertEqual(p.ASHAPruner(1, 27).to_json(),
                         {"type": "asha", "min_resource": 1, "max_resource": 27,
                          "reduction_factor": 3})
        for pr in (p.MedianPruner(), p.PercentilePruner(25.0), p.ThresholdPruner(upper=1.0),
                   p.PatientPruner(None, 3), p.SuccessiveHalvingPruner(),
                   p.HyperbandPruner(max_resource=27), p.ASHAPruner(1, 9), {"type": "none"}):
            st = optuna.create_study(storage=URL, study_name=name("cfg"), pruner=pr)
            expect = pr["type"] if isinstance(pr, dict) else pr.to_json()["type"]
            self.assertEqual(st.pruner["type"], expect)
        st = optuna.create_study(storage=URL, study_name=name("cfg"),
                                 sampler=s.TPESampler(seed=5, multivariate=True, group=True))
        self.assertEqual((st.sampler["seed"], st.sampler["group"]), (5, True))

    def test_generated_name(self):
        st = optuna.create_study(storage=URL)
        self.assertTrue(st.study_name.startswith("no-name-"))
        optuna.delete_study(study_name=st.study_name, storage=URL)

    def test_add_trial(self):
        study = optuna.create_study(storage=URL, study_name=name("add"))
        study.add_trial(optuna.create_trial(
            params={"x": 2.0}, distributions={"x": optuna.distributions.FloatDistribution(0, 10)},
            value=4.0))
        study.optimize(lambda t: t.suggest_float("x", 0, 10) ** 2, n_trials=3)
        self.assertEqual(study.trials[0].params, {"x": 2.0})
        self.assertEqual(study.trials[0].value, 4.0)


if __name__ == "__main__":
    unittest.main()
