# optuna_tpe_cost.py: Optuna 3.1's sampling cost per trial (10 float params) against N completed trials, TPE for tpe_cost.sh and every sampler for sampler_quality.sh.
"""Optuna side of tests/bench/tpe_cost.sh and of sampler_quality.sh's cost table.

usage: /usr/bin/python3 optuna_tpe_cost.py [--sizes 10,100,1000,10000] [--reps 5]
                                           [--large 10000] [--reps-large 3]
                                           [--samplers tpe,tpe-multi] [--objectives 1]

For each number of objectives, size N and sampler (tpe = TPESampler(), tpe-multi =
TPESampler(multivariate=True), random = RandomSampler(), qmc = QMCSampler(), nsga2 =
NSGAIISampler(); seed 0, other options at their 3.1 defaults; TPE with 2 objectives is MOTPE): an
in-memory study (all objectives minimized) is filled with N COMPLETE trials of 10 float params
x0..x9 in [-5, 5] (uniform random, fixed seed; values sum x_i^2 and sum (x_i - 1)^2; trial k in
NSGA-II's generation k // 50) through study.add_trials(create_trial(...)). Then one warm-up ask and `reps` timed asks (`reps-large` when
N >= `large`): the time of study.ask() plus the 10 suggest_float calls, i.e. everything Optuna
computes to sample one trial. Each probe trial is told FAIL, so it is not an observation and the
study keeps exactly N completed trials. Prints one JSON line per (objectives, N, sampler):
  {"sampler":"tpe","objectives":1,"trials":N,"multivariate":false,"calls":5,"median_ms":...,
   "min_ms":...,"max_ms":...,"fill_s":...}
"""
import argparse
import json
import random
import statistics
import sys
import time
import warnings

N_PARAMS = 10


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--large", type=int, default=10000)
    ap.add_argument("--reps-large", type=int, default=3)
    ap.add_argument("--samplers", default="tpe,tpe-multi")
    ap.add_argument("--objectives", default="1")
    a = ap.parse_args()

    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)

    sizes = [int(s) for s in a.sizes.split(",") if s]
    rng = random.Random(12345)
    dists = {f"x{i}": FloatDistribution(-5.0, 5.0) for i in range(N_PARAMS)}
    pool = []
    for _ in range(max(sizes)):
        p = {f"x{i}": rng.uniform(-5.0, 5.0) for i in range(N_PARAMS)}
        pool.append((p, [sum(v * v for v in p.values()), sum((v - 1.0) ** 2 for v in p.values())]))
    samplers = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=0),
        "tpe-multi": lambda: optuna.samplers.TPESampler(seed=0, multivariate=True),
        "random": lambda: optuna.samplers.RandomSampler(seed=0),
        "qmc": lambda: optuna.samplers.QMCSampler(seed=0),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=0),
    }

    runs = [(int(o), n, s) for o in a.objectives.split(",") for n in sizes for s in a.samplers.split(",")]
    for n_obj, n, name in runs:
        multi = name == "tpe-multi"
        study = optuna.create_study(sampler=samplers[name](), directions=["minimize"] * n_obj)
        t0 = time.perf_counter()
        # generations of NSGAIISampler's default population (50), as if it had made the trials
        study.add_trials([create_trial(params=p, distributions=dists, values=v[:n_obj],
                                       system_attrs={"nsga2:generation": k // 50})
                          for k, (p, v) in enumerate(pool[:n])])
        fill_s = time.perf_counter() - t0
        reps = a.reps_large if n >= a.large else a.reps
        times = []
        for k in range(reps + 1):
            t0 = time.perf_counter()
            trial = study.ask()
            for i in range(N_PARAMS):
                trial.suggest_float(f"x{i}", -5.0, 5.0)
            dt = (time.perf_counter() - t0) * 1e3
            study.tell(trial, state=TrialState.FAIL)
            if k > 0:
                times.append(dt)
        print(json.dumps({"sampler": name, "objectives": n_obj, "trials": n,
                          "multivariate": multi, "calls": reps,
                          "median_ms": statistics.median(times), "min_ms": min(times),
                          "max_ms": max(times), "fill_s": round(fill_s, 2)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
