# bench_problems.py: the TPE benchmarks' test functions for the Optuna side (same as bench_problems.h).
"""Branin, Hartmann6, Rosenbrock-5D (two domains) and a mixed space, as Optuna objectives.

Each problem: name, known minimum, and suggest(trial) -> list of values in the order of
bench_problems.h (categoricals as their choice index), plus evaluate(values).
"""
import math

PI = math.pi


def branin(x):
    b = 5.1 / (4.0 * PI * PI)
    c = 5.0 / PI
    t = 1.0 / (8.0 * PI)
    u = x[1] - b * x[0] * x[0] + c * x[0] - 6.0
    return u * u + 10.0 * (1.0 - t) * math.cos(x[0]) + 10.0


_ALPHA = [1.0, 1.2, 3.0, 3.2]
_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
      [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
_P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
      [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
      [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
      [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(x):
    s = 0.0
    for i in range(4):
        e = sum(_A[i][j] * (x[j] - _P[i][j]) ** 2 for j in range(6))
        s += _ALPHA[i] * math.exp(-e)
    return -s


def rosenbrock(x):
    return sum(100.0 * (x[i + 1] - x[i] * x[i]) ** 2 + (1.0 - x[i]) ** 2 for i in range(len(x) - 1))


_OPT_COST = {"sgd": 0.5, "adam": 0.0, "rmsprop": 0.2}
_ACT_COST = {"relu": 0.0, "tanh": 0.3}
OPTIMIZERS = ["sgd", "adam", "rmsprop"]
ACTIVATIONS = ["relu", "tanh"]


def mixed(x):
    lr, layers, opt, act, dropout = x
    l = math.log10(lr) - math.log10(3e-3)
    return l * l + 0.05 * (layers - 4) ** 2 + _OPT_COST[opt] + _ACT_COST[act] + 4.0 * (dropout - 0.2) ** 2


def _floats(trial, bounds):
    return [trial.suggest_float(f"x{i + 1}", lo, hi) for i, (lo, hi) in enumerate(bounds)]


PROBLEMS = {
    "branin": (0.397887, lambda t: branin(_floats(t, [(-5, 10), (0, 15)]))),
    "hartmann6": (-3.32237, lambda t: hartmann6(_floats(t, [(0, 1)] * 6))),
    "rosenbrock5": (0.0, lambda t: rosenbrock(_floats(t, [(-2.048, 2.048)] * 5))),
    "rosenbrock5w": (0.0, lambda t: rosenbrock(_floats(t, [(-5, 10)] * 5))),
    "mixed": (0.0, lambda t: mixed([
        t.suggest_float("lr", 1e-4, 1e-1, log=True),
        t.suggest_int("layers", 1, 8),
        t.suggest_categorical("optimizer", OPTIMIZERS),
        t.suggest_categorical("activation", ACTIVATIONS),
        t.suggest_float("dropout", 0.0, 0.5),
    ])),
}


def objective(name):
    return PROBLEMS[name][1]


def minimum(name):
    return PROBLEMS[name][0]
