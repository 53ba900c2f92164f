#!/usr/bin/python3
# nsga2_population_reference: prints, as C initialisers, what Optuna 3.1's
# NSGAIISampler._collect_parent_population returns on fixed studies for
# test_nsga2_population.c: the parent generation and the parent trials' numbers in the order of
# its list. Each study (two objectives: minimize, maximize) holds trials numbered 0..n-1 with a
# state, values (COMPLETE ones), the generation system attribute ("nsga2:generation"; some
# trials have none) and constraints as Optuna 3.1 stores them (system_attrs["constraints"], a
# tuple; some COMPLETE trials have none). Every (study, population size, constraints on/off) is
# asked of a fresh copy of the study: the method caches its answer in the study's system attrs.
# Run: /usr/bin/python3 tests/unit/nsga2_population_reference.py
import random
import warnings

import optuna
from optuna.samplers._base import _CONSTRAINTS_KEY
from optuna.samplers.nsgaii._sampler import _GENERATION_KEY
from optuna.trial import TrialState, create_trial

warnings.simplefilter("ignore")
optuna.logging.set_verbosity(optuna.logging.ERROR)

# hpo_trial_state's numbering
HPO_STATE = {TrialState.RUNNING: 0, TrialState.WAITING: 1, TrialState.COMPLETE: 2,
             TrialState.PRUNED: 3, TrialState.FAIL: 4}


def make_case(seed, n, per_gen, levels, none_gen=0.08, straggle=0.2, n_cons=0, none_cons=0.1,
              states=(0.78, 0.07, 0.06, 0.06, 0.03)):
    """n trials: (state, generation or None, values or None, constraints or None). Generations
    grow with the number (per_gen trials each on average), a trial now and then belonging to
    the generation before (a straggler a slow worker finished late). levels: values are
    integers below it (ties) or, when 0, continuous."""
    r = random.Random(seed)
    out = []
    kinds = [TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED, TrialState.RUNNING,
             TrialState.WAITING]
    for i in range(n):
        state = r.choices(kinds, weights=states)[0]
        gen = int(i / per_gen)
        if gen > 0 and r.random() < straggle:
            gen -= 1
        if r.random() < none_gen:
            gen = None
        values = cons = None
        if state == TrialState.COMPLETE:
            values = [float(r.randrange(levels)) if levels else round(r.uniform(-5, 5), 3)
                      for _ in range(2)]
            if n_cons and r.random() >= none_cons:
                cons = tuple(float(r.choice([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]))
                             for _ in range(n_cons))
        out.append((state, gen, values, cons))
    return out


def fixed_case():
    """Generation 0 with exactly 4 COMPLETE trials among failed and running ones, generation 1
    with 6 (more than a population of 4), generation 2 incomplete, a trial without generation."""
    C, F, P, R = TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED, TrialState.RUNNING
    rows = [(C, 0, [1, 5]), (F, 0, None), (C, 0, [2, 2]), (R, 0, None), (C, 0, [3, 9]),
            (C, None, [0, 99]), (C, 0, [0, 1]), (C, 1, [1, 6]), (P, 1, None), (C, 1, [2, 2]),
            (C, 1, [0, 0]), (C, 1, [4, 9]), (C, 1, [1, 5]), (C, 1, [5, 10]), (C, 2, [0, 8]),
            (R, 2, None), (C, 2, [1, 1]), (C, 2, [2, 3])]
    return [(s, g, None if v is None else [float(x) for x in v], None) for s, g, v in rows]


# name, trials, population sizes, number of constraints per trial (0: none given)
CASES = [
    ("fixed", fixed_case(), [2, 3, 4, 5, 7], 0),
    ("ties", make_case(1, 60, 5.5, 4), [2, 4, 5], 0),
    ("continuous", make_case(2, 90, 7.0, 0), [3, 5, 6, 8], 0),
    ("crowded", make_case(3, 120, 13.0, 3, straggle=0.35), [4, 7, 10, 12], 0),
    ("constrained", make_case(4, 80, 6.0, 5, n_cons=2), [3, 4, 5], 2),
    ("constrained3", make_case(5, 100, 9.0, 0, n_cons=3, none_cons=0.2), [4, 6, 8], 3),
    ("sparse", make_case(6, 70, 8.0, 6, none_gen=0.3,
                         states=(0.5, 0.15, 0.15, 0.15, 0.05)), [2, 3, 4], 1),
    ("empty", [], [2], 0),
]


def cnum(v):
    return "NAN" if v is None else repr(float(v))


def study_of(trials):
    study = optuna.create_study(directions=["minimize", "maximize"])
    for state, gen, values, cons in trials:
        attrs = {}
        if gen is not None:
            attrs[_GENERATION_KEY] = gen
        if cons is not None:
            attrs[_CONSTRAINTS_KEY] = cons
        study.add_trial(create_trial(state=state, values=values, system_attrs=attrs))
    return study


def run(name, trials, pop_sizes, n_cons):
    p = name.upper()
    n = len(trials)
    out = [f"/* {name}: {n} trials */"]

    def arr(suffix, ctype, items):
        body = ", ".join(items) if items else ("0" if ctype == "int" else "NAN")
        out.append(f"static const {ctype} {p}_{suffix}[] = {{{body}}};")

    arr("STATES", "int", [str(HPO_STATE[t[0]]) for t in trials])
    arr("GENS", "int", [str(-1 if t[1] is None else t[1]) for t in trials])
    arr("VALUES", "double", [cnum(None if t[2] is None else t[2][j])
                             for t in trials for j in range(2)])
    k = max(n_cons, 1)
    arr("CONS", "double", [cnum(None if t[3] is None else t[3][j])
                           for t in trials for j in range(k)])
    expect = []
    for size in pop_sizes:
        for constrained in ([False, True] if n_cons else [False]):
            cfunc = (lambda t: (0.0,)) if constrained else None
            sampler = optuna.samplers.NSGAIISampler(population_size=size,
                                                    constraints_func=cfunc)
            gen, parents = sampler._collect_parent_population(study_of(trials))
            expect.append([size, int(constrained), gen + 1, len(parents)]
                          + [t.number for t in parents])
    arr("EXPECT", "int", [str(x) for e in expect for x in e])
    entry = (f'    {{"{name}", {n}, {n_cons}, {p}_STATES, {p}_GENS, {p}_VALUES, {p}_CONS, '
             f'{p}_EXPECT, {len(expect)}}},')
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
