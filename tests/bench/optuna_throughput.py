# optuna_throughput.py: the hpo throughput workload run with Optuna 3.1 + RDBStorage, for comparison.
"""Optuna side of tests/bench/throughput.sh.

usage: /usr/bin/python3 optuna_throughput.py --storage URL --study NAME --workers N --trials T
                                             [--sampler random|tpe]

N worker processes (multiprocessing, spawn) share one study in RDBStorage (PostgreSQL). Each runs
study.optimize on an objective that suggests 4 floats x0..x3 in [-5, 5], reports 5 intermediate
values (trial.report + trial.should_prune, MedianPruner with its defaults) and returns the sum of
squares. The T trials are split as evenly as possible between the workers. The clock starts when
every worker has imported Optuna and loaded the study (a barrier) and stops when the last one is
done. Prints one JSON line with the same keys as bench_client; Optuna's optimize loop has no
separate ask call and talks SQL rather than HTTP, so requests_per_s, ask_p50_ms and ask_p99_ms
are null.
"""
import argparse
import json
import logging
import multiprocessing as mp
import sys
import time
import warnings

N_REPORTS = 5


def make_sampler(name):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler()
    return optuna.samplers.RandomSampler()


def objective(trial):
    import optuna

    xs = [trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(4)]
    v = sum(x * x for x in xs)
    for step in range(N_REPORTS):
        trial.report(v * (1.0 + 0.1 * (N_REPORTS - 1 - step)), step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return v


def worker(storage_url, study_name, sampler_name, n_trials, barrier, out):
    import optuna

    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    optuna.logging.disable_default_handler()
    storage = optuna.storages.RDBStorage(storage_url)
    study = optuna.load_study(
        study_name=study_name,
        storage=storage,
        sampler=make_sampler(sampler_name),
        pruner=optuna.pruners.MedianPruner(),
    )
    barrier.wait()
    t0 = time.time()
    if n_trials > 0:
        study.optimize(objective, n_trials=n_trials, gc_after_trial=False)
    out.put((t0, time.time(), n_trials))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--storage", required=True)
    ap.add_argument("--study", required=True)
    ap.add_argument("--workers", type=int, required=True)
    ap.add_argument("--trials", type=int, required=True)
    ap.add_argument("--sampler", choices=["random", "tpe"], default="random")
    a = ap.parse_args()

    import optuna

    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("sqlalchemy").setLevel(logging.ERROR)

    # Create the study (and the schema) once, before the workers start.
    storage = optuna.storages.RDBStorage(a.storage)
    optuna.create_study(study_name=a.study, storage=storage, direction="minimize")
    storage.remove_session()
    storage.engine.dispose()
    del storage

    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(a.workers)
    out = ctx.Queue()
    share = [a.trials // a.workers + (1 if i < a.trials % a.workers else 0) for i in range(a.workers)]
    procs = [
        ctx.Process(target=worker, args=(a.storage, a.study, a.sampler, share[i], barrier, out))
        for i in range(a.workers)
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    if any(p.exitcode != 0 for p in procs):
        print("optuna_throughput: a worker failed", file=sys.stderr)
        sys.exit(1)

    t0 = min(r[0] for r in results)
    t1 = max(r[1] for r in results)
    secs = t1 - t0

    # Count what the storage holds (every finished trial: complete or pruned).
    storage = optuna.storages.RDBStorage(a.storage)
    study = optuna.load_study(study_name=a.study, storage=storage)
    states = [t.state for t in study.get_trials(deepcopy=False)]
    done = sum(1 for s in states if s.is_finished())
    pruned = sum(1 for s in states if s == optuna.trial.TrialState.PRUNED)
    print(json.dumps({
        "workers": a.workers,
        "trials": done,
        "seconds": round(secs, 3),
        "trials_per_s": round(done / secs, 1) if secs > 0 else 0.0,
        "requests_per_s": None,
        "ask_p50_ms": None,
        "ask_p99_ms": None,
        "sampler": a.sampler,
        "pruned": pruned,
    }))


if __name__ == "__main__":
    main()
