# tests/python/test_visualization_e2e.py: hpo_client.visualization against the real hpo-server's
# plot-data endpoints: worker/examples/visualization/plot_study.py (Optuna's plot_study example,
# the import swapped) writes its figures as HTML under the build directory; the figures of the
# study it ran equal Optuna's own drawn from the same trials; importances, ASHA rungs.
import os
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

import hpo_client as optuna
from hpo_client import _plotdata as hpo_client_plotdata
from hpo_client.trial import TrialState

from hpotest import URL, name
from test_visualization import diff, plain

import optuna as real_optuna   # Debian's python3-optuna (deploy/install-deps.sh)
from hpo_client import visualization as viz   # Debian's python3-plotly

real_optuna.logging.set_verbosity(real_optuna.logging.ERROR)

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "worker", "examples", "visualization", "plot_study.py")
FIGURES = ["optimization_history", "intermediate_values", "parallel_coordinate",
           "parallel_coordinate_lr_init_n_units_l0", "contour", "contour_n_units_l0_n_units_l1",
           "slice", "slice_n_units_l0_n_units_l1", "param_importances", "edf", "rank",
           "timeline"]


def out_dir():
    """<build dir>/tests/python/visualization (HPO_TEST_BUILD_DIR, from meson), else a
    temporary directory."""
    root = os.environ.get("HPO_TEST_BUILD_DIR") or tempfile.mkdtemp(prefix="hpo-viz-")
    return os.path.join(root, "visualization")


def to_optuna(study):
    """An Optuna in-memory study holding the same trials (read through /trials)."""
    def dist(d):
        if isinstance(d, optuna.distributions.FloatDistribution):
            return real_optuna.distributions.FloatDistribution(d.low, d.high, log=d.log,
                                                               step=d.step)
        if isinstance(d, optuna.distributions.IntDistribution):
            return real_optuna.distributions.IntDistribution(d.low, d.high, log=d.log,
                                                             step=d.step)
        return real_optuna.distributions.CategoricalDistribution(d.choices)

    states = {TrialState.COMPLETE: real_optuna.trial.TrialState.COMPLETE,
              TrialState.PRUNED: real_optuna.trial.TrialState.PRUNED,
              TrialState.FAIL: real_optuna.trial.TrialState.FAIL,
              TrialState.RUNNING: real_optuna.trial.TrialState.RUNNING}
    ref = real_optuna.create_study(study_name=study.study_name,
                                   directions=[d.name.lower() for d in study.directions])
    for t in study.trials:
        ref.add_trial(real_optuna.trial.create_trial(
            state=states[t.state], params=t.params,
            values=t.values if t.state in (TrialState.COMPLETE, TrialState.PRUNED) else None,
            distributions={k: dist(d) for k, d in t.distributions.items()},
            intermediate_values=t.intermediate_values))
    return ref


class TestPlotStudy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.out = out_dir()
        cls.study_name = name("plotstudy")
        cls.proc = subprocess.run(
            [sys.executable, EXAMPLE, "--out", cls.out, "--trials", "30", "--study",
             cls.study_name], capture_output=True, text=True, timeout=300,
            env=dict(os.environ, HPO_SERVER=URL))
        cls.study = optuna.load_study(study_name=cls.study_name, storage=URL)

    def test_example_writes_every_figure(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr[-3000:])
        self.assertTrue(os.path.isfile(os.path.join(self.out, "plotly.min.js")))
        for f in FIGURES:
            path = os.path.join(self.out, f + ".html")
            self.assertIn(path, self.proc.stdout)
            with open(path) as fh:
                html = fh.read()
            self.assertIn('src="plotly.min.js"', html, f)
            self.assertIn("Plotly.newPlot", html, f)
        self.assertEqual(len(self.study.trials), 30)
        self.assertGreater(len(self.study.get_trials(states=[TrialState.PRUNED])), 0)

    def test_figures_equal_optunas_from_the_same_trials(self):
        ref = to_optuna(self.study)
        checks = [("plot_optimization_history", {}), ("plot_intermediate_values", {}),
                  ("plot_parallel_coordinate", {}),
                  ("plot_parallel_coordinate", {"params": ["lr_init", "n_units_l0"]}),
                  ("plot_contour", {"params": ["lr_init", "n_units_l0"]}),
                  ("plot_contour", {}), ("plot_slice", {}), ("plot_edf", {})]
        for fn, kw in checks:
            ours = getattr(viz, fn)(self.study, **kw)
            d = diff(plain(ours), plain(getattr(real_optuna.visualization, fn)(ref, **kw)))
            self.assertIsNone(d, "%s(%s): %s" % (fn, kw, d))
        fig = viz.plot_slice(self.study, params=["lr_init"])
        self.assertEqual(fig.layout.xaxis.type, "log")
        fig = viz.plot_optimization_history(self.study)
        self.assertEqual(len(fig.data[0].x),
                         len(self.study.get_trials(states=[TrialState.COMPLETE])))
        self.assertEqual(fig.data[1].y[-1], self.study.best_value)

    def test_importances_and_lazy_module(self):
        for ev in (None, optuna.importance.FanovaImportanceEvaluator(seed=0),
                   real_optuna.importance.FanovaImportanceEvaluator(seed=0),
                   optuna.importance.PedAnovaImportanceEvaluator()):
            imp = optuna.importance.get_param_importances(self.study, evaluator=ev)
            self.assertEqual(set(imp), {"lr_init", "n_units_l0", "n_units_l1", "n_units_l2"},
                             ev)
            self.assertAlmostEqual(sum(imp.values()), 1.0, places=6)
            self.assertEqual(list(imp.values()), sorted(imp.values(), reverse=True))
            if not isinstance(ev, optuna.importance.PedAnovaImportanceEvaluator):
                self.assertEqual(next(iter(imp)), "lr_init", imp)   # it decides the accuracy
        # `import hpo_client as optuna; optuna.visualization.plot_...` as Optuna code writes it
        fig = optuna.visualization.plot_param_importances(self.study, params=["lr_init",
                                                                              "n_units_l0"])
        self.assertEqual(sorted(fig.data[0].y), ["lr_init", "n_units_l0"])
        with self.assertRaises(ValueError):
            optuna.importance.get_param_importances(self.study, params=["nope"])


class TestIncremental(unittest.TestCase):
    def test_a_study_object_reads_only_what_changed(self):
        study = optuna.create_study(storage=URL, study_name=name("vizinc"),
                                    sampler=optuna.samplers.RandomSampler(seed=2))
        study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)
        running = study.ask()
        running.suggest_float("x", -1, 1)
        seen = []
        real_get = hpo_client_plotdata.get

        def spy(st, endpoint, **q):
            ans = real_get(st, endpoint, **q)
            seen.append((endpoint, q, ans))
            return ans

        with mock.patch.object(hpo_client_plotdata, "get", spy):
            fig = viz.plot_timeline(study)
            self.assertEqual(len(fig.data[1].y), 1)                # RUNNING
            study.tell(running, 0.25)
            study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=4)
            fig = viz.plot_timeline(study)
            self.assertEqual([tr.name for tr in fig.data], ["COMPLETE"])
            self.assertEqual(len(fig.data[0].y), 10)
            again = viz.plot_slice(study)
        cols = [(q, ans) for e, q, ans in seen if e == "columns"]
        self.assertEqual(len(cols), 3)
        self.assertIsNone(cols[0][0].get("since"))
        self.assertTrue(cols[0][1]["full"])
        self.assertEqual(cols[1][0]["since"], cols[0][1]["version"])
        self.assertFalse(cols[1][1]["full"])
        self.assertEqual(len(cols[1][1]["trials"]["number"]), 5)   # the told one and 4 new
        self.assertEqual(len(cols[2][1]["trials"]["number"]), 0)   # nothing changed since
        # the same figure as a fresh Study object reading everything
        fresh = optuna.load_study(study_name=study.study_name, storage=URL)
        self.assertIsNone(diff(plain(again), plain(viz.plot_slice(fresh))))


class TestAshaRungs(unittest.TestCase):
    def test_plot_asha(self):
        def objective(trial):
            lr = trial.suggest_float("lr", 0.01, 0.5, log=True)
            res = trial.resource
            loss = 10.0 * (1 - lr) ** res["from"]
            for epoch in range(res["from"] + 1, res["to"] + 1):
                loss *= 1 - lr
                trial.report(loss, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            return loss

        study = optuna.create_study(
            storage=URL, study_name=name("ashaviz"), max_trials=9,
            sampler=optuna.samplers.RandomSampler(seed=4),
            pruner=optuna.pruners.ASHAPruner(min_resource=1, max_resource=9, reduction_factor=3))
        study.optimize(objective)
        fig = viz.plot_asha(study)
        self.assertEqual([tr.name for tr in fig.data], ["reached", "paused", "promoted"])
        self.assertEqual(list(fig.data[0].x)[:2], ["0 (1)", "1 (3)"])
        self.assertEqual(fig.data[0].y[0], 9)          # every trial reached the first rung
        self.assertGreater(fig.data[2].y[0], 0)        # and some went on from it
        fig = viz.plot_intermediate_values(study)
        self.assertEqual(len(fig.data), 9)
        fig = viz.plot_timeline(study)
        self.assertEqual(sum(len(tr.y) for tr in fig.data), 9)


if __name__ == "__main__":
    unittest.main()
