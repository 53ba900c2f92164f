#!/usr/bin/python3
# cmaes_sampler_reference: prints, as C initialisers, studies run by Optuna 3.1's CmaEsSampler
# (cmaes 0.9.1) that test_cmaes_sampler.c replays: every trial (params lr, k, q, x, c; state,
# value, its two reports, the generation Optuna gave it) and each optimizer Optuna pickled into a
# trial's attributes (the state after the tell done at that trial's ask). The test rebuilds the
# optimizer from the trials before each one and compares generations and states.
# Run: /usr/bin/python3 tests/unit/cmaes_sampler_reference.py
import math
import pickle
import warnings

import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.simplefilter("ignore")
NAMES = ["lr", "k", "q", "x"]

# name, direction, CmaEsSampler arguments, trials, seed
CASES = [
    ("pruned_pop5", "minimize", {"popsize": 5, "consider_pruned_trials": True}, 40, 1),
    ("maximize", "maximize", {}, 45, 2),
    ("x0_sigma0", "minimize",
     {"sigma0": 0.3, "x0": {"lr": 0.01, "k": 2, "q": 0.5, "x": 0.0}, "n_startup_trials": 3}, 35, 3),
]


def study_of(direction, kw, n_trials, seed):
    def objective(t):
        lr = t.suggest_float("lr", 1e-4, 1, log=True)
        k = t.suggest_int("k", 1, 8)
        q = t.suggest_float("q", 0, 1, step=0.25)
        x = t.suggest_float("x", -5, 5)
        c = t.suggest_categorical("c", ["a", "b"])
        v = (math.log10(lr) + 2) ** 2 + 0.25 * (k - 3) ** 2 + q + 0.25 * (x - 1) ** 2 + (c == "a")
        v = -v if direction == "maximize" else v
        if t.number % 7 == 3:  # pruned, with its last report at step 2
            t.report(v + 1, 0)
            t.report(v + 0.5, 2)
            raise optuna.TrialPruned()
        return v

    st = optuna.create_study(direction=direction,
                             sampler=optuna.samplers.CmaEsSampler(seed=seed, **kw))
    st.optimize(objective, n_trials=n_trials)
    return st.trials


def c_array(name, values, ctype="double"):
    vals = ", ".join(("NAN" if math.isnan(v) else repr(float(v))) if ctype == "double"
                     else str(int(v)) for v in values)
    return f"static const {ctype} {name}[] = {{{vals}}};"


entries = []
for name, direction, kw, n_trials, seed in CASES:
    trials = study_of(direction, kw, n_trials, seed)
    p = name.upper()
    params, states, values, reports, gens, told_at = [], [], [], [], [], []
    mean, sigma, cov, p_sigma, p_c, popsize = [], [], [], [], [], 0
    for t in trials:
        params += [t.params[n] for n in NAMES] + [["a", "b"].index(t.params["c"])]
        states.append(0 if t.state == optuna.trial.TrialState.COMPLETE else 1)
        values.append(t.value if t.value is not None else math.nan)
        reports += [t.intermediate_values.get(0, math.nan), t.intermediate_values.get(2, math.nan)]
        gens.append(t.system_attrs.get("cma:generation", -1))
        attrs = {k: v for k, v in t.system_attrs.items() if k.startswith("cma:optimizer")}
        if attrs:
            o = pickle.loads(bytes.fromhex("".join(attrs["cma:optimizer:%d" % i]
                                                   for i in range(len(attrs)))))
            told_at.append(t.number)
            mean += list(o._mean)
            sigma.append(o._sigma)
            cov += list(o._C.ravel())
            p_sigma += list(o._p_sigma)
            p_c += list(o._pc)
            popsize = o.population_size
    print(f"/* {name}: {direction}, {kw}, seed {seed} */")
    for suffix, arr, ctype in (("PARAMS", params, "double"), ("STATES", states, "int"),
                               ("VALUES", values, "double"), ("REPORTS", reports, "double"),
                               ("GENS", gens, "int"), ("TOLD_AT", told_at, "int"),
                               ("MEAN", mean, "double"), ("SIGMA", sigma, "double"),
                               ("C", cov, "double"), ("P_SIGMA", p_sigma, "double"),
                               ("P_C", p_c, "double")):
        print(c_array(f"{p}_{suffix}", arr, ctype))
    x0 = kw.get("x0")
    x0s = ", ".join(repr(float(x0[n])) for n in NAMES) if x0 else "0"
    entries.append(
        f'    {{"{name}", {int(direction == "maximize")}, {kw.get("popsize", 0)}, '
        f'{kw.get("sigma0", 0.0)!r}, {kw.get("n_startup_trials", 1)}, '
        f'{int(kw.get("consider_pruned_trials", False))}, {int(x0 is not None)}, {{{x0s}}},\n'
        f"     {len(trials)}, {len(told_at)}, {popsize}, {p}_PARAMS, {p}_STATES, {p}_VALUES, "
        f"{p}_REPORTS, {p}_GENS,\n     {p}_TOLD_AT, {p}_MEAN, {p}_SIGMA, {p}_C, {p}_P_SIGMA, "
        f"{p}_P_C}},")
print("static const optuna_case OPTUNA_CASES[] = {")
print("\n".join(entries))
print("};")
