#!/usr/bin/python3
# motpe_reference: prints, as C initialisers, what Optuna 3.1's multi-objective TPE computes on
# fixed studies for test_motpe.c: the trials (the same tables are pasted there), then per case
# the split (_get_observation_pairs without constant liar, _split_observation_pairs: which trials
# are below), the below weights (_calculate_weights_below_for_multi_objective) and the
# acquisition log l(x) - log g(x) at fixed candidates, built as TPESampler.sample_independent
# (one param) and _sample_relative (multivariate) build their two _ParzenEstimators. It also
# checks that _calculate_nondomination_rank gives the fronts of NSGA-II's
# _fast_non_dominated_sort (hpo takes them from hpo_nsga2.c: hpo_nsga2_first_fronts).
# Run: cd /tmp && /usr/bin/python3 <this file>
import math
import random
import warnings

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import NSGAIISampler
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import (
    _calculate_nondomination_rank,
    _calculate_weights_below_for_multi_objective,
    _get_observation_pairs,
    _split_observation_pairs,
    default_weights,
)
from optuna.study import StudyDirection
from optuna.trial import TrialState, create_trial

assert optuna.__version__.startswith("3.1"), optuna.__version__
optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.simplefilter("ignore")

C, P, R, F = TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.FAIL
MIN, MAX = StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE
STATE_C = {C: "HPO_TRIAL_COMPLETE", P: "HPO_TRIAL_PRUNED", R: "HPO_TRIAL_RUNNING",
           F: "HPO_TRIAL_FAIL"}

SPACE = {
    "x": FloatDistribution(0.0, 10.0),
    "k": IntDistribution(1, 8),
    "c": CategoricalDistribution(["a", "b", "c"]),
    "lx": FloatDistribution(1e-3, 1.0, log=True),
}
# candidates (internal values) at which the acquisition is compared
CANDIDATES = {
    "x": [0.0, 0.7, 2.5, 3.3, 5.0, 8.8, 10.0],
    "k": [1, 2, 4, 5, 8],
    "c": [0, 1, 2],
    "lx": [1e-3, 0.004, 0.05, 0.2, 1.0],
}


def params_of(number):
    """The params of trial `number`: fixed pseudo-random values; trial 13 lacks k."""
    r = random.Random(1000 + number)
    p = {"x": round(r.uniform(0, 10), 4), "k": r.randint(1, 8), "c": r.randrange(3),
         "lx": round(math.exp(r.uniform(math.log(1e-3), 0)), 6)}
    if number == 13:
        del p["k"]
    return p


# number: (state, values, constraints)
TABLE_2D = [
    (C, (4, 1), (-1.0, 0.0)),
    (C, (1, 4), (0.5, -1.0)),
    (C, (2, 2), (-2.0, -2.0)),
    (P, None, (-1.0, -1.0)),
    (C, (2, 2), (-1.0, -3.0)),
    (C, (3, 3), (0.0, 0.0)),
    (R, None, None),
    (C, (1, 5), (2.0, 0.0)),
    (C, (5, 1), (-1.0, -1.0)),
    (F, None, None),
    (C, (3, 1.5), (0.25, 0.25)),
    (C, (6, 6), (-1.0, -0.5)),
    (C, (2.5, 2.5), None),
    (C, (1.5, 3), (-0.5, 0.0)),
    (C, (4, 4), (1.0, 0.0)),
    (C, (0.5, 7), (-1.0, -1.0)),
    (C, (3, 3), (0.0, -0.5)),
    (C, (7, 0), (0.5, 0.0)),
]

TABLE_3D = [
    (C, (1, 2, 3), None),
    (C, (3, 2, 1), None),
    (P, None, None),
    (C, (2, 2, 2), None),
    (C, (2, 2, 2), None),
    (C, (1, 3, 2), None),
    (C, (3, 3, 3), None),
    (R, None, None),
    (C, (0, 4, 4), None),
    (C, (4, 0, 4), None),
    (C, (4, 4, 0), None),
    (C, (2.5, 2.5, 2.5), None),
    (C, (1.5, 1.5, 3.5), None),
    (C, (5, 5, 5), None),
    (C, (2, 3, 1.5), None),
    (C, (3, 1, 2.5), None),
]


def fmt(x):
    x = float(x)
    if math.isinf(x):
        return "INFINITY" if x > 0 else "-INFINITY"
    if math.isnan(x):
        return "NAN"
    return repr(x)


def emit(name, values):
    values = [fmt(v) for v in np.asarray(values, dtype=float).ravel()]
    body, line = "", "   "
    for v in values:
        if len(line) + len(v) + 2 > 98:
            body += line + "\n"
            line = "   "
        line += " " + v + ","
    body += line + "\n"
    print(f"static const double {name}[] = {{\n{body}}};")


def emit_table(name, table, m):
    print(f"static const mo_row {name}[] = {{")
    for number, (state, values, cons) in enumerate(table):
        p = params_of(number)
        vals = ", ".join(fmt(v) for v in values) if values else "0"
        cs = ", ".join(fmt(v) for v in cons) if cons else "0"
        print(f"    {{{STATE_C[state]}, {{{vals}}}, {len(cons) if cons else 0}, {{{cs}}}, "
              f"{fmt(p['x'])}, {p.get('k', -1)}, {p['c']}, {fmt(p['lx'])}}},")
    print("};")


def make_study(table, directions, with_constraints):
    study = optuna.create_study(directions=directions)
    for number, (state, values, cons) in enumerate(table):
        p = params_of(number)
        ext = {"n": float(number), "x": p["x"], "c": SPACE["c"].choices[p["c"]], "lx": p["lx"]}
        dists = {"n": FloatDistribution(0, 100), "x": SPACE["x"], "c": SPACE["c"],
                 "lx": SPACE["lx"]}
        if "k" in p:
            ext["k"], dists["k"] = p["k"], SPACE["k"]
        attrs = {"constraints": cons} if with_constraints and cons is not None else {}
        study.add_trial(create_trial(state=state, values=values, params=ext, distributions=dists,
                                     system_attrs=attrs))
    return study


def gamma_of(fraction, gmax=25):
    return lambda n: min(int(np.ceil(fraction * n)), gmax)


def estimator_params(multivariate):
    return _ParzenEstimatorParameters(True, 1.0, True, False, default_weights, multivariate)


def acquisition(study, names, gamma, constraints, multivariate, xs):
    """log l(xs) - log g(xs) as TPESampler builds l and g for the params `names` (one: as
    sample_independent; several: as _sample_relative with multivariate)."""
    values, scores, violations = _get_observation_pairs(study, names, False, constraints)
    n = sum(s < float("inf") for s, v in scores)
    below_idx, above_idx = _split_observation_pairs(scores, gamma(n), violations)
    cv = {k: np.asarray(v, dtype=float) for k, v in values.items()}
    mask = ~np.isnan(list(cv.values())[0])
    mb, ma = mask[below_idx], mask[above_idx]
    below = {k: v[below_idx[mb]] for k, v in cv.items()}
    above = {k: v[above_idx[ma]] for k, v in cv.items()}
    space = {k: SPACE[k] for k in names}
    wb = _calculate_weights_below_for_multi_objective(scores, below_idx, violations)[mb]
    pars = estimator_params(multivariate)
    lpe = _ParzenEstimator(below, space, pars, wb)
    gpe = _ParzenEstimator(above, space, pars)
    samples = {k: np.asarray(xs[k], dtype=int if k == "c" else float) for k in names}
    return lpe.log_pdf(samples) - gpe.log_pdf(samples)


def split_case(tag, study, fraction, constraints):
    values, scores, violations = _get_observation_pairs(study, ["n"], False, constraints)
    numbers = [int(v) for v in values["n"]]
    n = sum(s < float("inf") for s, v in scores)
    n_below = gamma_of(fraction)(n)
    below_idx, _ = _split_observation_pairs(scores, n_below, violations)
    w = _calculate_weights_below_for_multi_objective(scores, below_idx, violations)
    by_number = sorted(zip((numbers[i] for i in below_idx), w))
    print(f"    {{{tag}, {fmt(fraction)}, {n_below}, "
          f"{{{', '.join(str(k) for k, _ in by_number)}}},")
    print("     {" + ", ".join(fmt(x) for _, x in by_number) + "}},")


def check_ranks_match_nsga2():
    """_calculate_nondomination_rank == the fronts of NSGA-II's _fast_non_dominated_sort."""
    rs = random.Random(5)
    sampler = NSGAIISampler()
    for trial in range(200):
        m = rs.choice([2, 3, 4])
        n = rs.randrange(1, 40)
        vals = [[float(rs.randrange(4)) for _ in range(m)] for _ in range(n)]
        pop = [create_trial(values=v) for v in vals]
        for i, t in enumerate(pop):
            t.number = i
        fronts = sampler._fast_non_dominated_sort(list(pop), [MIN] * m)
        nsga = [0] * n
        for f, front in enumerate(fronts):
            for t in front:
                nsga[t.number] = f
        tpe = _calculate_nondomination_rank(np.asarray(vals))
        assert list(tpe) == nsga, (vals, list(tpe), nsga)


check_ranks_match_nsga2()

print("/* generated by tests/unit/motpe_reference.py with Optuna " + optuna.__version__ + " */")
print("/* {state, values, n_constraints, constraints, x, k (-1: none), c, lx} per trial number */")
emit_table("TABLE_2D", TABLE_2D, 2)
emit_table("TABLE_3D", TABLE_3D, 3)

print("/* the split: {case, gamma, n_below, the numbers below, their weights} */")
print("static const split_ref SPLITS[] = {")
s2 = make_study(TABLE_2D, [MIN, MIN], False)
s2max = make_study(TABLE_2D, [MIN, MAX], False)
s2con = make_study(TABLE_2D, [MIN, MIN], True)
s3 = make_study(TABLE_3D, [MIN, MIN, MIN], False)
s3mix = make_study(TABLE_3D, [MAX, MIN, MAX], False)
for f in (0.05, 0.1, 0.2, 0.3, 0.5, 0.6, 0.65, 1.0):
    split_case("CASE_2D", s2, f, False)
for f in (0.1, 0.2, 0.3, 0.6, 1.0):
    split_case("CASE_2D_MAX", s2max, f, False)
for f in (0.1, 0.2, 0.3, 0.5, 0.6, 0.65, 0.8, 1.0):
    split_case("CASE_2D_CONS", s2con, f, True)
for f in (0.1, 0.2, 0.3, 0.5, 0.6, 0.8, 1.0):
    split_case("CASE_3D", s3, f, False)
for f in (0.2, 0.4, 0.7):
    split_case("CASE_3D_MIX", s3mix, f, False)
print("};")

print("/* the acquisition log l(x) - log g(x) at CANDIDATES, per case and param */")
for name, xs in CANDIDATES.items():
    emit(f"CAND_{name.upper()}", xs)
for tag, study, frac, cons in (("2D", s2, 0.3, False), ("2D_MAX", s2max, 0.5, False),
                               ("2D_CONS", s2con, 0.3, True), ("2D_CONS_WIDE", s2con, 0.65, True),
                               ("3D", s3, 0.3, False)):
    for name in CANDIDATES:
        emit(f"ACQ_{tag}_{name.upper()}",
             acquisition(study, [name], gamma_of(frac), cons, False, CANDIDATES))
# multivariate over the params every trial has (Optuna's intersection search space: not k)
JOINT_NAMES = ["x", "c", "lx"]
joint = {k: [CANDIDATES[k][i % len(CANDIDATES[k])] for i in range(7)] for k in JOINT_NAMES}
for name in JOINT_NAMES:
    emit(f"JOINT_{name.upper()}", joint[name])
emit("ACQ_2D_JOINT", acquisition(s2, JOINT_NAMES, gamma_of(0.3), False, True, joint))
emit("ACQ_2D_CONS_JOINT", acquisition(s2con, JOINT_NAMES, gamma_of(0.5), True, True, joint))
emit("ACQ_3D_JOINT", acquisition(s3mix, JOINT_NAMES, gamma_of(0.4), False, True, joint))
