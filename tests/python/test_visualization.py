# tests/python/test_visualization.py: hpo_client.visualization and hpo_client.importance against a
# fake server answering the plot-data endpoints (/columns, /history, /edf, /importance, /asha) in
# the contract's shape (no PostgreSQL needed). The figures of Optuna 3.1's functions are compared
# with Optuna's own (Debian's python3-optuna) drawing the same trials in memory; the others
# (plot_rank, plot_timeline, plot_asha) are checked trace by trace.
"""Run alone: PYTHONPATH=worker/python python3 tests/python/test_visualization.py"""

import datetime
import http.server
import json
import math
import os
import random
import subprocess
import sys
import threading
import unittest
import urllib.parse
import warnings

import hpo_client
from hpo_client._http import Client

# Debian's python3-plotly and python3-optuna (deploy/install-deps.sh): without them this fails
import plotly.graph_objects as go
import optuna
from hpo_client import visualization as viz

optuna.logging.set_verbosity(optuna.logging.ERROR)
hpo_client.logging.set_verbosity(hpo_client.logging.ERROR)

TOKEN = "hpo_" + "v1z-t0ken_" * 4 + "abc"
T0 = 1733480000000  # ms


class FakeStudy:
    """A study as the fake server holds it: distributions (JSON) and trials (dicts: number,
    state, values, params, steps, started_ms, finished_ms, changed), each trial stamped with the
    version that last changed it."""

    def __init__(self, name, directions=("minimize",), pruner=None):
        self.name = name
        self.directions = list(directions)
        self.pruner = pruner or {"type": "none"}
        self.dists = {}
        self.trials = []
        self.version = 0
        self.importances = {}   # (evaluator, objective) -> [(param, importance)]
        self.asha = {"rungs": [], "promotions": []}

    def add(self, state, values=None, params=None, steps=(), dur_ms=100, worker="w:0",
            reason=None, started=True):
        self.version += 1
        n = len(self.trials)
        start = T0 + 1000 * n if started else None
        finished = start + dur_ms if state in ("complete", "pruned", "fail") else None
        self.trials.append({"number": n, "state": state,
                            "values": None if values is None else list(values),
                            "params": dict(params or {}), "steps": list(steps),
                            "started_ms": start, "finished_ms": finished, "worker": worker,
                            "fail_reason": reason, "changed": self.version})
        return self.trials[-1]

    def config(self):
        return {"name": self.name, "directions": self.directions, "sampler": {"type": "tpe"},
                "pruner": self.pruner, "search_space": {}, "max_trials": None,
                "user_attrs": {}, "heartbeat_grace": None}

    def columns(self, q):
        since = q.get("since")
        intermediate = q.get("intermediate", "true") != "false"
        full = since is None or not since.startswith("v") or int(since[1:]) > self.version
        ts = [t for t in self.trials if full or t["changed"] > int(since[1:])]
        cols = {"number": [t["number"] for t in ts], "state": [t["state"] for t in ts],
                "values": [t["values"] for t in ts],
                "params": {p: [t["params"].get(p) for t in ts] for p in self.dists},
                "started_ms": [t["started_ms"] for t in ts],
                "finished_ms": [t["finished_ms"] for t in ts],
                "worker": [t["worker"] for t in ts],
                "fail_reason": [t["fail_reason"] for t in ts]}
        if intermediate:
            cols["intermediate"] = [{"steps": [s for s, _ in t["steps"]],
                                     "values": [v for _, v in t["steps"]]} for t in ts]
        counts = {s: 0 for s in ("running", "waiting", "complete", "pruned", "fail", "paused")}
        for t in self.trials:
            counts[t["state"]] += 1
        return {"study": self.name, "version": "v%d" % self.version, "full": full,
                "directions": self.directions, "n_trials": len(self.trials), "counts": counts,
                "params": self.dists, "trials": cols}

    def complete(self):
        return [t for t in self.trials if t["state"] == "complete"]

    def history(self, q):
        k = int(q.get("objective", "0"))
        d = self.directions[k]
        out = {"objective": k, "direction": d, "number": [], "value": [], "best": []}
        best = None
        for t in self.complete():
            v = t["values"][k]
            best = v if best is None else (min(best, v) if d == "minimize" else max(best, v))
            out["number"].append(t["number"])
            out["value"].append(v)
            out["best"].append(best)
        return out

    def edf(self, q):
        k = int(q.get("objective", "0"))
        vs = sorted(t["values"][k] for t in self.complete())
        return {"objective": k, "values": vs,
                "probability": [(i + 1) / len(vs) for i in range(len(vs))]}

    def importance(self, q):
        ev, k = q.get("evaluator", "fanova"), int(q.get("objective", "0"))
        if len(self.complete()) < 2:
            return 400, {"error": {"code": "invalid_argument",
                                   "message": "fewer than 2 usable trials"}}
        imps = self.importances[(ev, k)]
        if "params" in q:
            want = q["params"].split(",")
            imps = [(p, v) for p, v in imps if p in want]
            s = sum(v for _, v in imps)
            imps = [(p, v / s) for p, v in imps]
        return 200, {"evaluator": ev, "objective": k, "n_trials": len(self.complete()),
                     "importances": [{"param": p, "importance": v} for p, v in imps]}


class Fake(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    studies = {}
    seen = []   # (path, query dict, Authorization header)

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(parts.query))
        Fake.seen.append((parts.path, q, self.headers.get("Authorization")))
        segs = [urllib.parse.unquote(s) for s in parts.path.split("/")]
        status, body = 404, {"error": {"code": "not_found", "message": "no such path"}}
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            status, body = 401, {"error": {"code": "unauthenticated", "message": "no token"}}
        elif segs[:4] == ["", "api", "v1", "studies"] and len(segs) >= 5:
            st = Fake.studies.get(segs[4])
            if st is None:
                status, body = 404, {"error": {"code": "not_found", "message": "no study"}}
            elif len(segs) == 5:
                status, body = 200, st.config()
            elif segs[5] in ("columns", "history", "edf", "asha"):
                status = 200
                body = st.asha if segs[5] == "asha" else getattr(st, segs[5])(q)
            elif segs[5] == "importance":
                status, body = st.importance(q)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


# ---- the same trials as an Optuna in-memory study ----

def optuna_dist(d):
    if d["type"] == "float":
        return optuna.distributions.FloatDistribution(d["low"], d["high"], log=d.get("log", False),
                                                      step=d.get("step"))
    if d["type"] == "int":
        return optuna.distributions.IntDistribution(d["low"], d["high"], log=d.get("log", False),
                                                    step=d.get("step", 1))
    return optuna.distributions.CategoricalDistribution(d["choices"])


_OPTUNA_STATE = {"complete": optuna.trial.TrialState.COMPLETE,
                 "pruned": optuna.trial.TrialState.PRUNED,
                 "fail": optuna.trial.TrialState.FAIL,
                 "running": optuna.trial.TrialState.RUNNING}


def optuna_study(fs):
    st = optuna.create_study(study_name=fs.name, directions=fs.directions)
    for t in fs.trials:
        vals = t["values"] if t["state"] in ("complete", "pruned") else None
        st.add_trial(optuna.trial.create_trial(
            state=_OPTUNA_STATE[t["state"]], values=vals, params=t["params"],
            distributions={p: optuna_dist(fs.dists[p]) for p in t["params"]},
            intermediate_values=dict(t["steps"])))
    return st


def main_study(name="main", seed=5):
    """20-odd trials over a float, a log float, an int, a categorical of strings, a numeric
    categorical and a conditional param; complete, pruned (with curves), failed and running."""
    rng = random.Random(seed)
    fs = FakeStudy(name)
    fs.dists = {"x": {"type": "float", "low": -5.0, "high": 5.0},
                "lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
                "n": {"type": "int", "low": 1, "high": 8, "step": 1},
                "opt": {"type": "categorical", "choices": ["adam", "sgd", "rmsprop"]},
                "units": {"type": "categorical", "choices": [128, 32, 64]},
                "drop": {"type": "float", "low": 0.0, "high": 0.5}}
    for i in range(24):
        p = {"x": rng.uniform(-5, 5), "lr": 10 ** rng.uniform(-5, -1), "n": rng.randint(1, 8),
             "opt": rng.choice(["adam", "sgd", "rmsprop"]), "units": rng.choice([128, 32, 64])}
        if p["opt"] == "sgd":
            p["drop"] = rng.uniform(0, 0.5)
        loss = (p["x"] - 1) ** 2 + math.log10(p["lr"]) ** 2 / 10 + p["n"] / 4 + \
            (0.5 if p["opt"] == "sgd" else 0) + p["units"] / 128
        curve = [(s, loss + 4.0 / (s + 1)) for s in range(rng.randint(2, 6))]
        if i in (5, 11):
            fs.add("pruned", [curve[-1][1]], p, curve)
        elif i == 8:
            fs.add("fail", None, p, curve[:1], reason="ValueError: boom")
        elif i == 23:
            fs.add("running", None, p, curve[:2])
        else:
            fs.add("complete", [loss], p, curve)
    return fs


def plain(fig):
    return json.loads(fig.to_json())


def diff(a, b, path="fig"):
    """Where two JSON trees differ (floats compared to 1e-9 relative), or None."""
    if isinstance(a, bool) or isinstance(b, bool):
        return None if a == b else "%s: %r != %r" % (path, a, b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            return None
        return "%s: %r != %r" % (path, a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return "%s: keys %s != %s" % (path, sorted(a), sorted(b))
        for k in a:
            d = diff(a[k], b[k], "%s.%s" % (path, k))
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return "%s: length %d != %d" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    return None if a == b else "%s: %r != %r" % (path, a, b)


class FakeServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
        cls.th = threading.Thread(target=cls.srv.serve_forever, daemon=True)
        cls.th.start()
        cls.client = Client("http://127.0.0.1:%d" % cls.srv.server_address[1], token=TOKEN,
                            retries=0)

    @classmethod
    def tearDownClass(cls):
        cls.srv.shutdown()
        cls.srv.server_close()

    def setUp(self):
        Fake.studies, Fake.seen = {}, []
        warnings.simplefilter("ignore")

    def serve(self, fs):
        Fake.studies[fs.name] = fs
        return hpo_client.load_study(study_name=fs.name, storage=self.client)

    def assertSameFigure(self, ours, theirs):
        self.assertIsInstance(ours, go.Figure)
        d = diff(plain(ours), plain(theirs))
        self.assertIsNone(d, d)

    def endpoints(self):
        return [p.rsplit("/", 1)[-1] for p, _, _ in Fake.seen]


class TestAsOptuna(FakeServerTest):
    """Each of Optuna 3.1's functions draws the same figure as Optuna from the same trials."""

    def setUp(self):
        super().setUp()
        self.fs = main_study()
        self.study = self.serve(self.fs)
        self.ref = optuna_study(self.fs)

    def test_optimization_history(self):
        fig = viz.plot_optimization_history(self.study)
        self.assertSameFigure(fig, optuna.visualization.plot_optimization_history(self.ref))
        self.assertIn("history", self.endpoints())
        values, best = fig.data
        self.assertEqual((values.type, values.mode, best.type), ("scatter", "markers", "scatter"))
        self.assertEqual(len(values.x), len(self.fs.complete()))
        self.assertEqual(list(best.y), sorted(best.y, reverse=True))   # minimize: best falls
        self.assertEqual(fig.layout.xaxis.title.text, "Trial")
        self.assertEqual(fig.layout.yaxis.title.text, "Objective Value")

        def tgt(t):
            return t.params["x"]
        fig = viz.plot_optimization_history(self.study, target=tgt, target_name="x")
        self.assertSameFigure(fig, optuna.visualization.plot_optimization_history(
            self.ref, target=tgt, target_name="x"))
        self.assertEqual(len(fig.data), 1)   # no best line for a target

    def test_optimization_history_of_several_studies_and_error_bar(self):
        other = main_study("other", seed=9)
        s2, r2 = self.serve(other), optuna_study(other)
        for eb in (False, True):
            ours = viz.plot_optimization_history([self.study, s2], error_bar=eb)
            self.assertSameFigure(ours, optuna.visualization.plot_optimization_history(
                [self.ref, r2], error_bar=eb))
        self.assertEqual(len(ours.data), 4)   # values with error bars, best, upper, lower
        self.assertTrue(ours.data[0].error_y.visible)

    def test_intermediate_values(self):
        fig = viz.plot_intermediate_values(self.study)
        self.assertSameFigure(fig, optuna.visualization.plot_intermediate_values(self.ref))
        # complete, pruned and running trials with curves; not the failed one
        with_curves = [t for t in self.fs.trials if t["steps"] and t["state"] != "fail"]
        self.assertEqual(len(fig.data), len(with_curves))
        for tr, t in zip(fig.data, with_curves):
            self.assertEqual((tr.type, tr.mode, tr.name), ("scatter", "lines+markers",
                                                           "Trial%d" % t["number"]))
            self.assertEqual(list(tr.x), [s for s, _ in t["steps"]])
        self.assertEqual(fig.layout.xaxis.title.text, "Step")
        cols = [q for p, q, _ in Fake.seen if p.endswith("/columns")]
        self.assertEqual(cols[-1].get("intermediate"), "true")

    def test_parallel_coordinate(self):
        fig = viz.plot_parallel_coordinate(self.study)
        self.assertSameFigure(fig, optuna.visualization.plot_parallel_coordinate(self.ref))
        # "drop" is conditional: only the complete trials having every param are drawn
        self.assertEqual(fig.data[0].type, "parcoords")
        dims = {d.label: d for d in fig.data[0].dimensions}
        n = sum(1 for t in self.fs.complete() if "drop" in t["params"])
        self.assertEqual(len(dims["Objective Value"].values), n)
        self.assertEqual(list(dims["lr"].ticktext)[0], "{:.3g}".format(min(
            t["params"]["lr"] for t in self.fs.complete() if "drop" in t["params"])))
        for params in (["lr", "units"], ["opt", "x"], ["n", "units", "lr"]):
            fig = viz.plot_parallel_coordinate(self.study, params=params)
            self.assertSameFigure(fig, optuna.visualization.plot_parallel_coordinate(
                self.ref, params=params))
            self.assertEqual(len(fig.data[0].dimensions[0].values), len(self.fs.complete()))
        self.assertEqual(list(fig.data[0].dimensions[3].ticktext), ["32", "64", "128"])
        with self.assertRaises(ValueError):
            viz.plot_parallel_coordinate(self.study, params=["nope"])

    def test_contour(self):
        for params in (None, ["lr", "x"], ["opt", "units"], ["n", "x", "lr"]):
            fig = viz.plot_contour(self.study, params=params)
            self.assertSameFigure(fig, optuna.visualization.plot_contour(self.ref,
                                                                         params=params))
        fig = viz.plot_contour(self.study, params=["lr", "x"])
        contour, scatter = fig.data
        self.assertEqual((contour.type, scatter.type), ("contour", "scatter"))
        self.assertEqual(len(scatter.x), len(self.fs.complete()))
        self.assertEqual(fig.layout.xaxis.type, "log")     # lr is log
        self.assertEqual(fig.layout.xaxis.title.text, "lr")
        self.assertEqual(fig.layout.yaxis.title.text, "x")
        fig = viz.plot_contour(self.study, params=["opt", "units"])
        self.assertEqual((fig.layout.xaxis.type, fig.layout.yaxis.type), ("category", None))
        fig = viz.plot_contour(self.study)
        self.assertEqual(len(fig.data), 6 * 5 * 2 + 6)   # 6x6 cells: pairs and the diagonal

    def test_slice(self):
        for params in (None, ["lr"], ["opt", "x"]):
            fig = viz.plot_slice(self.study, params=params)
            self.assertSameFigure(fig, optuna.visualization.plot_slice(self.ref, params=params))
        fig = viz.plot_slice(self.study, params=["lr"])
        self.assertEqual(fig.layout.xaxis.type, "log")
        self.assertEqual(len(fig.data[0].x), len(self.fs.complete()))
        fig = viz.plot_slice(self.study)
        self.assertEqual(len(fig.data), 6)
        n_drop = sum(1 for t in self.fs.complete() if "drop" in t["params"])
        self.assertEqual(len(fig.data[0].x), n_drop)   # "drop" first: the trials having it

    def test_edf(self):
        fig = viz.plot_edf(self.study)
        self.assertSameFigure(fig, optuna.visualization.plot_edf(self.ref))
        self.assertIn("edf", self.endpoints())
        self.assertEqual(len(fig.data[0].x), 100)
        self.assertEqual(fig.data[0].y[-1], 1.0)
        other = main_study("other", seed=9)
        s2, r2 = self.serve(other), optuna_study(other)
        self.assertSameFigure(viz.plot_edf([self.study, s2]),
                              optuna.visualization.plot_edf([self.ref, r2]))

        def tgt(t):
            return t.params["n"]
        self.assertSameFigure(viz.plot_edf(self.study, target=tgt, target_name="n"),
                              optuna.visualization.plot_edf(self.ref, target=tgt,
                                                            target_name="n"))

    def test_param_importances(self):
        ev = optuna.importance.FanovaImportanceEvaluator(seed=3)
        ref = optuna.importance.get_param_importances(self.ref, evaluator=ev)
        self.fs.importances[("fanova", 0)] = list(ref.items())
        fig = viz.plot_param_importances(self.study)
        self.assertSameFigure(fig, optuna.visualization.plot_param_importances(
            self.ref, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=3)))
        bar = fig.data[0]
        self.assertEqual((bar.type, bar.orientation), ("bar", "h"))
        self.assertEqual(list(bar.y), list(ref)[::-1])   # most important on top
        # an Optuna evaluator object names the server's evaluator and passes its seed
        viz.plot_param_importances(self.study, evaluator=ev)
        q = [q for p, q, _ in Fake.seen if p.endswith("/importance")][-1]
        self.assertEqual((q["evaluator"], q["seed"], q["objective"]), ("fanova", "3", "0"))


class TestMultiObjective(FakeServerTest):
    def setUp(self):
        super().setUp()
        rng = random.Random(2)
        fs = FakeStudy("mo", directions=("minimize", "maximize"))
        fs.dists = {"a": {"type": "float", "low": 0.0, "high": 1.0},
                    "b": {"type": "int", "low": 1, "high": 100, "log": True}}
        for _ in range(15):
            p = {"a": rng.random(), "b": rng.randint(1, 100)}
            fs.add("complete", [p["a"] * p["b"], p["a"] - p["b"] / 100], p)
        fs.importances[("ped_anova", 1)] = [("b", 0.8), ("a", 0.2)]
        self.fs, self.study, self.ref = fs, self.serve(fs), optuna_study(fs)

    def test_target_is_needed_and_applied_client_side(self):
        for f in (viz.plot_optimization_history, viz.plot_slice, viz.plot_contour,
                  viz.plot_parallel_coordinate, viz.plot_edf, viz.plot_rank,
                  viz.plot_param_importances):
            with self.assertRaises(ValueError):
                f(self.study)

        def second(t):
            return t.values[1]
        for name in ("plot_slice", "plot_contour", "plot_parallel_coordinate", "plot_edf",
                     "plot_optimization_history"):
            ours = getattr(viz, name)(self.study, target=second, target_name="v1")
            theirs = getattr(optuna.visualization, name)(self.ref, target=second,
                                                         target_name="v1")
            self.assertSameFigure(ours, theirs)
        fig = viz.plot_slice(self.study, target=second, target_name="v1")
        self.assertEqual(fig.layout.xaxis2.type, "log")   # b: a log int

    def test_importance_of_a_selected_objective(self):
        fig = viz.plot_param_importances(
            self.study, evaluator=hpo_client.importance.PedAnovaImportanceEvaluator(),
            target=lambda t: t.values[1], target_name="v1")
        q = [q for p, q, _ in Fake.seen if p.endswith("/importance")][-1]
        self.assertEqual((q["evaluator"], q["objective"]), ("ped_anova", "1"))
        self.assertNotIn("seed", q)
        self.assertEqual(list(fig.data[0].y), ["a", "b"])
        self.assertEqual(fig.layout.xaxis.title.text, "Importance for v1")
        self.assertIn("IntDistribution", fig.data[0].hovertemplate[1])
        with self.assertRaises(ValueError):   # not one objective's values: not on the server
            viz.plot_param_importances(self.study, target=lambda t: t.values[0] * 2,
                                       target_name="2 v0")
        imp = hpo_client.importance.get_param_importances(
            self.study, evaluator="ped_anova", target=lambda t: t.values[1])
        self.assertEqual(list(imp.items()), [("b", 0.8), ("a", 0.2)])
        self.assertEqual(hpo_client.importance.get_param_importances(self.study, params=[],
                                                                     target=lambda t: 0), {})


class TestRankTimelineAsha(FakeServerTest):
    def setUp(self):
        super().setUp()
        self.fs = main_study()
        self.study = self.serve(self.fs)

    def test_rank(self):
        fig = viz.plot_rank(self.study, params=["lr", "opt"])
        pts, bar = fig.data
        complete = self.fs.complete()
        self.assertEqual((pts.type, pts.mode, len(pts.x)), ("scatter", "markers", len(complete)))
        self.assertEqual(fig.layout.xaxis.type, "log")
        self.assertEqual(fig.layout.yaxis.type, "category")
        self.assertEqual((fig.layout.xaxis.title.text, fig.layout.yaxis.title.text),
                         ("lr", "opt"))
        self.assertEqual(fig.layout.title.text, "Rank (Objective Value)")
        # the best trial is blue, the worst red
        values = [t["values"][0] for t in complete]
        self.assertEqual(pts.marker.color[values.index(min(values))], "rgb(49, 54, 149)")
        self.assertEqual(pts.marker.color[values.index(max(values))], "rgb(165, 0, 38)")
        self.assertTrue(bar.marker.showscale)
        self.assertEqual(bar.marker.colorbar.ticktext[0], "min. (%s)" % format(min(values), "3g"))
        fig = viz.plot_rank(self.study)
        self.assertEqual(len(fig.data), 6 * 6 + 1)
        self.assertEqual(len(fig.data[1].x),    # column drop, row lr: the trials having drop
                         sum(1 for t in complete if "drop" in t["params"]))

    def test_timeline(self):
        self.fs.add("paused", None, {"x": 0.0}, [(0, 1.0)])
        self.fs.add("waiting", None, {}, started=False)
        fig = viz.plot_timeline(self.study)
        by = {tr.name: tr for tr in fig.data}
        self.assertEqual(sorted(by), ["COMPLETE", "FAIL", "PAUSED", "PRUNED", "RUNNING",
                                      "WAITING"])
        self.assertEqual(len(by["COMPLETE"].y), len(self.fs.complete()))
        self.assertEqual(by["COMPLETE"].x[0], 100.0)   # ms
        self.assertEqual(by["FAIL"].marker.color, "red")
        first = datetime.datetime.fromtimestamp(T0 / 1000).isoformat()
        self.assertEqual(by["COMPLETE"].base[0], first)   # local time, as Optuna's
        self.assertEqual(fig.layout.xaxis.type, "date")
        self.assertEqual(by["RUNNING"].orientation, "h")
        self.assertIn('"number": 0', by["COMPLETE"].text[0])

    def test_asha(self):
        self.fs.asha = {"rungs": [{"rung": 0, "resource": 1, "reached": 9, "paused": 2,
                                   "promoted": 3},
                                  {"rung": 1, "resource": 3, "reached": 3, "paused": 1,
                                   "promoted": 0}],
                        "promotions": [{"number": 2, "rung": 0}]}
        fig = viz.plot_asha(self.study)
        self.assertEqual([tr.name for tr in fig.data], ["reached", "paused", "promoted"])
        self.assertEqual(list(fig.data[0].y), [9, 3])
        self.assertEqual(list(fig.data[0].x), ["0 (1)", "1 (3)"])
        self.fs.asha = {"rungs": [], "promotions": []}
        self.assertEqual(len(viz.plot_asha(self.study).data), 0)


class TestData(FakeServerTest):
    def test_columns_are_read_incrementally_with_the_token(self):
        fs = main_study()
        study = self.serve(fs)
        viz.plot_slice(study)
        viz.plot_contour(study, params=["x", "lr"])
        fs.trials[-1].update(state="complete", values=[0.5], finished_ms=T0 + 99999,
                             changed=fs.version + 1)
        fs.version += 1
        fig = viz.plot_slice(study, params=["x"])
        self.assertEqual(len(fig.data[0].x), len(fs.complete()))
        cols = [q for p, q, _ in Fake.seen if p.endswith("/columns")]
        self.assertNotIn("since", cols[0])
        self.assertEqual(cols[1]["since"], "v24")
        self.assertEqual(cols[2]["since"], "v24")
        self.assertTrue(all(a == "Bearer " + TOKEN for _, _, a in Fake.seen))
        # the learning curves were left out so far: read everything once with them
        viz.plot_intermediate_values(study)
        cols = [q for p, q, _ in Fake.seen if p.endswith("/columns")]
        self.assertEqual((cols[-1].get("since"), cols[-1]["intermediate"]), (None, "true"))

    def test_frozen_trials_from_columns(self):
        fs = main_study()
        study = self.serve(fs)
        trials = hpo_client._plotdata.trials(study, intermediate=True)
        self.assertEqual([t.number for t in trials], list(range(len(fs.trials))))
        t = trials[0]
        self.assertIsInstance(t, hpo_client.FrozenTrial)
        self.assertIsInstance(t.params["n"], int)
        self.assertIsInstance(t.params["units"], int)
        self.assertEqual(t.distributions["lr"],
                         hpo_client.distributions.FloatDistribution(1e-5, 1e-1, log=True))
        self.assertEqual(t.datetime_start, datetime.datetime.fromtimestamp(
            T0 / 1000, datetime.timezone.utc))
        self.assertEqual(t.duration, datetime.timedelta(milliseconds=100))
        self.assertEqual(t.intermediate_values, dict(fs.trials[0]["steps"]))
        self.assertEqual(trials[8].fail_reason, "ValueError: boom")
        self.assertEqual(trials[23].state, hpo_client.TrialState.RUNNING)

    def test_errors(self):
        study = self.serve(main_study())
        Fake.studies.clear()
        with self.assertRaises(hpo_client.NotFoundError):
            viz.plot_slice(study)
        with self.assertRaises(TypeError):
            viz.plot_slice("main")
        fs = FakeStudy("empty")
        fs.dists = {"x": {"type": "float", "low": 0.0, "high": 1.0}}
        study = self.serve(fs)
        for f in (viz.plot_optimization_history, viz.plot_intermediate_values,
                  viz.plot_parallel_coordinate, viz.plot_contour, viz.plot_slice, viz.plot_edf,
                  viz.plot_param_importances, viz.plot_rank, viz.plot_timeline):
            fig = f(study)
            self.assertEqual(len(fig.data), 0, f.__name__)
        fs.add("complete", [1.0], {"x": 0.5})
        with self.assertRaises(hpo_client.InvalidArgumentError):   # the server's 400
            hpo_client.importance.get_param_importances(study)

    def test_evaluators(self):
        q = hpo_client.importance.evaluator_query
        self.assertEqual(q(None), ("fanova", None))
        self.assertEqual(q("ped_anova"), ("ped_anova", None))
        self.assertEqual(q(hpo_client.importance.FanovaImportanceEvaluator(seed=7)),
                         ("fanova", 7))
        self.assertEqual(q(optuna.importance.FanovaImportanceEvaluator(seed=11)),
                         ("fanova", 11))
        with self.assertRaises(ValueError):
            q(optuna.importance.MeanDecreaseImpurityImportanceEvaluator())
        with self.assertRaises(ValueError):
            q("shap")
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            hpo_client.importance.FanovaImportanceEvaluator(n_trees=8)
        self.assertIn("n_trees=8", str(w[0].message))


class TestWithoutPlotly(unittest.TestCase):
    def test_import_error_names_the_package(self):
        # a subprocess in which `import plotly` fails
        code = ("import sys\n"
                "class Block:\n"
                "    def find_spec(self, name, path=None, target=None):\n"
                "        if name == 'plotly' or name.startswith('plotly.'):\n"
                "            raise ImportError('No module named ' + name)\n"
                "sys.meta_path.insert(0, Block())\n"
                "import hpo_client\n"
                "import hpo_client.importance\n"
                "try:\n"
                "    import hpo_client.visualization\n"
                "except ImportError as e:\n"
                "    print('ImportError:', e)\n"
                "try:\n"
                "    hpo_client.visualization\n"
                "except ImportError as e:\n"
                "    print('lazy:', e)\n")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=dict(os.environ), timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2, r.stdout)
        self.assertTrue(lines[0].startswith("ImportError:"), r.stdout)
        self.assertIn("python3-plotly", lines[0])
        self.assertTrue(lines[1].startswith("lazy:"), r.stdout)
        self.assertIn("python3-plotly", lines[1])


if __name__ == "__main__":
    unittest.main()
