#!/usr/bin/python3
# importance_reference: prints, as C initialisers, the numbers test_importance.c compares against:
# Optuna 3.1's _FanovaTree on two hand-built trees, and Optuna 3.6's PedAnovaImportanceEvaluator
# on a fixed study (the same trials test_importance.c builds: ref_study there).
#
# Needs Optuna >= 3.6 for PED-ANOVA (Debian ships 3.1): a checkout of the v3.6.0 tag runs on
# Debian's dependencies, e.g.
#   git clone --depth 1 -b v3.6.0 https://github.com/optuna/optuna /tmp/optuna-3.6
#   cd /tmp && PYTHONPATH=/tmp/optuna-3.6 /usr/bin/python3 <this file>
# _FanovaTree is the same in 3.1 and 3.6.
import math

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.importance import PedAnovaImportanceEvaluator
from optuna.importance._fanova._tree import _FanovaTree

assert optuna.__version__.startswith("3.6"), optuna.__version__
optuna.logging.set_verbosity(optuna.logging.ERROR)


def emit(name, values):
    print(f"static const double {name}[] = {{" + ", ".join(repr(float(v)) for v in values) + "};")


# ---- fANOVA on hand-built trees (sklearn's layout: leaves have feature -2, children -1) ----
class Tree:
    def __init__(self, feature, threshold, left, right, value):
        self.feature = np.array(feature)
        self.threshold = np.array(threshold, dtype=float)
        self.children_left = np.array(left)
        self.children_right = np.array(right)
        self.value = np.array(value, dtype=float).reshape(-1, 1, 1)
        self.node_count = len(feature)
        self.n_features = None


def shares(tree, bounds, groups):
    tree.n_features = len(bounds)
    t = _FanovaTree(tree, np.array(bounds, dtype=float))
    return [t.get_marginal_variance(np.array(g)) / t.variance for g in groups]


# numeric: x0 <= 0.3 -> 1; else x1 <= 0.6 -> 2, else 4 (x0, x1 in [0, 1])
numeric = Tree([0, -2, 1, -2, -2], [0.3, -2, 0.6, -2, -2], [1, -1, 3, -1, -1],
               [2, -1, 4, -1, -1], [0, 1, 0, 2, 4])
emit("ref_tree_numeric", shares(numeric, [[0, 1], [0, 1]], [[0], [1]]))
# categorical one-hot (columns 0..2) and x (column 3): c0 > .5 -> 0; else c1 > .5 -> 1;
# else x <= 0.5 -> 4, else 6
cat = Tree([0, 1, 3, -2, -2, -2, -2], [0.5, 0.5, 0.5, -2, -2, -2, -2], [1, 2, 3, -1, -1, -1, -1],
           [6, 5, 4, -1, -1, -1, -1], [0, 0, 0, 4, 6, 1, 0])
emit("ref_tree_categorical", shares(cat, [[0, 1]] * 4, [[0, 1, 2], [3]]))


# ---- PED-ANOVA on a fixed study ----
def frac(i, p):
    a = math.sqrt(p) - math.floor(math.sqrt(p))
    v = (i + 1) * a
    return v - math.floor(v)


CHOICES = ["a", "b", "c", "d"]
DISTS = {
    "x": FloatDistribution(-5, 5),
    "lr": FloatDistribution(1e-4, 1, log=True),
    "k": IntDistribution(1, 20),
    "s": FloatDistribution(0, 1, step=0.1),
    "il": IntDistribution(1, 1000, log=True),
    "c": CategoricalDistribution(CHOICES),
}


def trial_params(i):
    x = -5 + 10 * frac(i, 2)
    lr = math.exp(math.log(1e-4) * (1 - frac(i, 3)))
    k = 1 + math.floor(frac(i, 5) * 20)
    s = round(frac(i, 7) * 10) / 10
    il = min(1000, max(1, round(math.exp(frac(i, 11) * math.log(1000)))))
    c = math.floor(frac(i, 13) * 4)
    y = ((x - 1) ** 2 + 3 * (math.log10(lr) + 2) ** 2 + 0.1 * k + 2 * s + 0.5 * math.log(il)
         + [0, 2, 5, 1][c])
    return {"x": x, "lr": lr, "k": k, "s": s, "il": il, "c": CHOICES[c]}, y


def ped(n, direction, **kw):
    study = optuna.create_study(direction=direction)
    for i in range(n):
        params, y = trial_params(i)
        study.add_trial(optuna.trial.create_trial(params=params, distributions=DISTS, value=y))
    res = PedAnovaImportanceEvaluator(**kw).evaluate(study)
    total = sum(res.values())
    return [res[name] / total for name in DISTS]


emit("ref_ped_min", ped(60, "minimize"))
emit("ref_ped_max", ped(60, "maximize"))
emit("ref_ped_global", ped(60, "minimize", evaluate_on_local=False))
emit("ref_ped_q30", ped(200, "minimize", baseline_quantile=0.3))
