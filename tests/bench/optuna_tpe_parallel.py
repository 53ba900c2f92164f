# optuna_tpe_parallel.py: Optuna 3.1 TPE with N worker processes on one RDBStorage study: duplicate configurations and best value, for tpe_parallel.sh.
"""Optuna side of tests/bench/tpe_parallel.sh.

usage: /usr/bin/python3 optuna_tpe_parallel.py --storage URL --study NAME --problem branin
           [--workers 8] [--trials 100] [--seed 0] [--seeds per-process|same] [--eval-ms 10]

Creates the study (minimize) in RDBStorage, then `workers` processes each load it with
TPESampler(seed=...) (3.1 defaults: univariate, constant_liar=False) and run study.optimize on the
problem of bench_problems.py, sleeping eval-ms in every evaluation; the trials are split evenly
between the processes. Seeds: "per-process" gives process w the seed seed*1000 + w (what a careful
user does; like the default seed=None, every process draws differently), "same" gives every process
the same seed. Then reads all trials back and prints one JSON line like bench_tpe_http optimize:
  {"workers":8,"trials":100,"distinct":...,"duplicates":...,"best":...,"seconds":...}
Two trials are duplicates when all their params are equal.
"""
import argparse
import json
import logging
import multiprocessing as mp
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def quiet():
    import optuna

    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("sqlalchemy").setLevel(logging.ERROR)


def create(a):
    import optuna

    quiet()
    optuna.create_study(study_name=a.study, storage=a.storage, direction="minimize")


def worker(a, w, n_trials, barrier):
    import optuna
    import bench_problems

    quiet()
    seed = a.seed * 1000 + w if a.seeds == "per-process" else a.seed
    study = optuna.load_study(study_name=a.study, storage=optuna.storages.RDBStorage(a.storage),
                              sampler=optuna.samplers.TPESampler(seed=seed))
    f = bench_problems.objective(a.problem)

    def objective(trial):
        v = f(trial)
        if a.eval_ms > 0:
            time.sleep(a.eval_ms / 1000.0)
        return v

    barrier.wait()
    if n_trials > 0:
        study.optimize(objective, n_trials=n_trials, gc_after_trial=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--storage", required=True)
    ap.add_argument("--study", required=True)
    ap.add_argument("--problem", required=True)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", choices=["per-process", "same"], default="per-process")
    ap.add_argument("--eval-ms", type=int, default=10)
    a = ap.parse_args()

    ctx = mp.get_context("fork")  # nothing touches the database before the workers are forked
    p = ctx.Process(target=create, args=(a,))
    p.start()
    p.join()
    if p.exitcode != 0:
        return 1
    barrier = ctx.Barrier(a.workers + 1)
    procs = []
    for w in range(a.workers):
        n = a.trials // a.workers + (1 if w < a.trials % a.workers else 0)
        procs.append(ctx.Process(target=worker, args=(a, w, n, barrier)))
        procs[-1].start()
    barrier.wait()
    t0 = time.time()
    for p in procs:
        p.join()
    secs = time.time() - t0
    if any(p.exitcode != 0 for p in procs):
        return 1

    import optuna

    quiet()
    trials = optuna.load_study(study_name=a.study, storage=a.storage).get_trials(deepcopy=False)
    sigs = [tuple(sorted((k, repr(v)) for k, v in t.params.items())) for t in trials]
    done = [t.value for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    print(json.dumps({"workers": a.workers, "trials": len(trials), "distinct": len(set(sigs)),
                      "duplicates": len(sigs) - len(set(sigs)), "best": min(done) if done else None,
                      "seconds": round(secs, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
