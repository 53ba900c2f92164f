# optuna_tpe_quality.py: Optuna 3.1 TPE (univariate and multivariate) best values on the bench problems, for tpe_quality.sh.
"""Optuna side of tests/bench/tpe_quality.sh.

usage: /usr/bin/python3 optuna_tpe_quality.py [--problems branin,hartmann6,...] [--seeds 10]
                                              [--trials 100] [--procs 2]

For each problem of bench_problems.py, mode (TPESampler(seed=s) and TPESampler(seed=s,
multivariate=True), other options at their 3.1 defaults) and seed s in 0..seeds-1: an in-memory
study minimised with study.optimize for `trials` trials. Runs are spread over `procs` processes.
Prints one JSON line per run, like bench_tpe_quality:
  {"problem":"branin","sampler":"optuna-tpe","seed":0,"best":...,"ms":...}
"""
import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def run(job):
    problem, multi, seed, n_trials = job
    import optuna
    import bench_problems

    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    t0 = time.perf_counter()
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, multivariate=multi))
    study.optimize(bench_problems.objective(problem), n_trials=n_trials, gc_after_trial=False)
    return {"problem": problem, "sampler": "optuna-tpe-multi" if multi else "optuna-tpe",
            "seed": seed, "best": study.best_value, "ms": round((time.perf_counter() - t0) * 1e3, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", default="branin,hartmann6,rosenbrock5,rosenbrock5w,mixed")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--procs", type=int, default=2)
    a = ap.parse_args()
    jobs = [(p, m, s, a.trials) for p in a.problems.split(",") if p for m in (False, True)
            for s in range(a.seeds)]
    with mp.get_context("fork").Pool(a.procs) as pool:
        for r in pool.imap(run, jobs):
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    sys.exit(main())
