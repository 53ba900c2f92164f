# optuna_tpe_cost.py: Optuna 3.1's TPE sampling cost per trial (10 float params) against N completed trials, for tpe_cost.sh.
"""Optuna side of tests/bench/tpe_cost.sh.

usage: /usr/bin/python3 optuna_tpe_cost.py [--sizes 10,100,1000,10000] [--reps 5]
                                           [--large 10000] [--reps-large 3]

For each size N and for TPESampler(multivariate=False) then TPESampler(multivariate=True) (seed 0,
other options at their 3.1 defaults): an in-memory study is filled with N COMPLETE trials of 10
float params x0..x9 in [-5, 5] (uniform random, fixed seed; value = sum of squares) through
study.add_trials(create_trial(...)). Then one warm-up ask and `reps` timed asks (`reps-large` when
N >= `large`): the time of study.ask() plus the 10 suggest_float calls, i.e. everything Optuna
computes to sample one trial. Each probe trial is told FAIL, so it is not an observation and the
study keeps exactly N completed trials. Prints one JSON line per (N, mode):
  {"trials":N,"multivariate":false,"calls":5,"median_ms":...,"min_ms":...,"max_ms":...,
   "fill_s":...}
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
        pool.append((p, sum(v * v for v in p.values())))

    for n in sizes:
        for multi in (False, True):
            sampler = optuna.samplers.TPESampler(seed=0, multivariate=multi)
            study = optuna.create_study(sampler=sampler)
            t0 = time.perf_counter()
            study.add_trials([create_trial(params=p, distributions=dists, value=v) for p, v in pool[:n]])
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
            print(json.dumps({"trials": n, "multivariate": multi, "calls": reps,
                              "median_ms": statistics.median(times), "min_ms": min(times),
                              "max_ms": max(times), "fill_s": round(fill_s, 2)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
