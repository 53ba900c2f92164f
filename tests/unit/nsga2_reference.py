#!/usr/bin/python3
# nsga2_reference: prints, as C initialisers, what Optuna 3.1's NSGA-II functions compute on fixed
# populations for test_nsga2.c: NSGAIISampler._fast_non_dominated_sort (the fronts, in the order
# its lists hold them), _calc_crowding_distance and _crowding_distance_sort on each front (as the
# sort returned it) and on the whole population, and _select_elite_population for a few
# population sizes. Trials are built with optuna.trial.create_trial, numbered 0..n-1 in list
# order, constraints stored as Optuna 3.1 stores them (system_attrs["constraints"], a tuple;
# None: the trial has none).
# Run: /usr/bin/python3 tests/unit/nsga2_reference.py
import math
import random
import types
import warnings

import optuna
from optuna.samplers._base import _CONSTRAINTS_KEY
from optuna.samplers.nsgaii._sampler import _calc_crowding_distance, _crowding_distance_sort
from optuna.study import StudyDirection

warnings.simplefilter("ignore")
optuna.logging.set_verbosity(optuna.logging.ERROR)
MIN, MAX = StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE
INF = math.inf


def rnd_pop(seed, n, m, levels, inf_prob=0.0):
    r = random.Random(seed)
    out = []
    for _ in range(n):
        row = []
        for _ in range(m):
            u = r.random()
            if u < inf_prob / 2:
                row.append(INF)
            elif u < inf_prob:
                row.append(-INF)
            else:
                row.append(float(r.randrange(levels)) if levels else round(r.uniform(-5, 5), 3))
        out.append(row)
    return out


def rnd_constraints(seed, n, k, none_prob):
    r = random.Random(seed)
    out = []
    for _ in range(n):
        if r.random() < none_prob:
            out.append(None)
        else:
            # often feasible, violations often tied (small integers), some exactly 0
            choices = [-1.5, -1.0, 0.0, 0.0, 0.5, 1.0, 2.0]
            out.append(tuple(float(r.choice(choices)) for _ in range(k)))
    return out


# name, directions, values, constraints (None: no constraints function; else a list with a tuple
# or None per trial), population sizes for the elite
CASES = [
    ("two_min", [MIN, MIN],
     [[1, 5], [2, 4], [3, 3], [4, 2], [5, 1], [2, 5], [3, 4], [3, 4], [4, 4], [1, 5], [6, 6],
      [0, 7], [7, 0], [5, 5]], None, [1, 3, 5, 7, 8, 10, 14]),
    ("two_mixed_ties", [MIN, MAX], rnd_pop(1, 30, 2, 6), None, [4, 10, 15, 29, 30]),
    ("three_mixed_inf", [MAX, MIN, MIN], rnd_pop(2, 25, 3, 5, inf_prob=0.15), None, [5, 12, 20]),
    ("inf_width", [MIN, MIN],
     [[-INF, 1], [INF, 0], [-INF, 2], [INF, -1], [0, INF], [0, -INF], [-INF, -INF], [INF, INF],
      [3, 3], [3, 3]], None, [2, 3, 6, 9]),
    # fronts whose finite values leave no width (v_max - v_min = -inf or 0: width 1)
    ("inf_pairs", [MIN, MIN],
     [[-INF, 2], [INF, -3], [5, 0], [-INF, 2], [INF, INF], [5, 5], [INF, 5]], None, [1, 2, 4]),
    ("inf_only", [MIN, MAX], [[-INF, INF], [INF, -INF], [INF, INF], [-INF, -INF]], None, [1, 2]),
    ("all_equal", [MIN, MAX, MIN], [[1, 2, 3]] * 6, None, [1, 4, 6]),
    ("continuous3", [MIN, MIN, MAX], rnd_pop(3, 40, 3, 0), None, [10, 20, 33]),
    ("constrained", [MIN, MIN], rnd_pop(4, 30, 2, 5), rnd_constraints(5, 30, 2, 0.2),
     [3, 8, 15, 22]),
    ("constrained_max3", [MAX, MAX, MIN], rnd_pop(6, 35, 3, 4, inf_prob=0.05),
     rnd_constraints(7, 35, 3, 0.15), [5, 17, 30]),
    ("constrained_all_none", [MIN, MIN], rnd_pop(8, 12, 2, 4), [None] * 12, [4, 9]),
    ("single_objective", [MAX], [[v] for v in [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]], None, [3, 6]),
]


def cnum(v):
    if v == INF:
        return "INFINITY"
    if v == -INF:
        return "-INFINITY"
    if v != v:
        return "NAN"
    return repr(float(v))


def c_array(name, values, ctype="double"):
    vals = ", ".join(cnum(v) if ctype == "double" else str(int(v)) for v in values)
    return f"static const {ctype} {name}[] = {{{vals}}};"


def make_trials(values, constraints):
    trials = []
    for i, v in enumerate(values):
        attrs = {}
        if constraints is not None:
            attrs[_CONSTRAINTS_KEY] = constraints[i]
        t = optuna.trial.create_trial(values=[float(x) for x in v], system_attrs=attrs)
        t.number = i
        trials.append(t)
    return trials


def run(name, dirs, values, constraints, pop_sizes):
    n, m = len(values), len(dirs)
    study = types.SimpleNamespace(directions=dirs)
    cfunc = None if constraints is None else (lambda t: (0.0,))
    p = name.upper()
    out = [f"/* {name}: {n} individuals, {m} objectives */"]
    out.append(c_array(p + "_VALUES", [x for row in values for x in row]))
    out.append(c_array(p + "_DIRS", [1 if d == MAX else 0 for d in dirs], "int"))
    k = 0
    if constraints is not None:
        k = max((len(c) for c in constraints if c is not None), default=1)
        flat = []
        for c in constraints:
            flat.extend(c if c is not None else [math.nan] * k)
        out.append(c_array(p + "_CONSTRAINTS", flat))

    sampler = optuna.samplers.NSGAIISampler(population_size=max(2, n), constraints_func=cfunc)
    fronts = sampler._fast_non_dominated_sort(make_trials(values, constraints), dirs)
    rank, order, front_sizes = [0] * n, [], []
    for f, front in enumerate(fronts):
        front_sizes.append(len(front))
        for t in front:
            rank[t.number] = f
            order.append(t.number)
    out.append(c_array(p + "_RANK", rank, "int"))
    out.append(c_array(p + "_ORDER", order, "int"))
    out.append(c_array(p + "_FRONT_SIZES", front_sizes, "int"))

    # per front, in the order the sort left it: the distances (in that order), the crowding sort
    dist, csorted = [], []
    for front in fronts:
        d = _calc_crowding_distance(list(front))
        dist.extend(d[t.number] for t in front)
        f2 = list(front)
        _crowding_distance_sort(f2)
        csorted.extend(t.number for t in f2)
    # and on the whole population in list order (more ties and infinities in one list)
    d = _calc_crowding_distance(make_trials(values, constraints))
    dist.extend(d[i] for i in range(n))
    whole = make_trials(values, constraints)
    _crowding_distance_sort(whole)
    csorted.extend(t.number for t in whole)
    out.append(c_array(p + "_DIST", dist))
    out.append(c_array(p + "_CSORTED", csorted, "int"))

    elites = []
    for size in pop_sizes:
        sampler = optuna.samplers.NSGAIISampler(population_size=max(2, size),
                                                constraints_func=cfunc)
        sampler._population_size = size  # sizes below 2 too: the function itself allows them
        elite = sampler._select_elite_population(study, make_trials(values, constraints))
        elites.append([size, len(elite)] + [t.number for t in elite])
    out.append(c_array(p + "_ELITES", [x for e in elites for x in e], "int"))

    entry = (f'    {{"{name}", {n}, {m}, {k}, {p}_VALUES, {p}_DIRS, '
             f'{p + "_CONSTRAINTS" if constraints is not None else "NULL"}, {p}_RANK, {p}_ORDER, '
             f'{p}_FRONT_SIZES, {len(fronts)}, {p}_DIST, {p}_CSORTED, {p}_ELITES, '
             f'{len(pop_sizes)}}},')
    return "\n".join(out), entry


assert optuna.__version__.startswith("3.1"), optuna.__version__
entries = []
for case in CASES:
    arrays, entry = run(*case)
    print(arrays)
    entries.append(entry)
print("static const ref_case REF_CASES[] = {")
print("\n".join(entries))
print("};")
