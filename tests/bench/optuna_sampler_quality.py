# optuna_sampler_quality.py: Optuna 3.1's samplers on the bench problems and the seed's digits experiment, sequential and with parallel workers, for sampler_quality.sh; with --hpo, the digits experiment through hpo-server by hpo_client.
"""Optuna side of tests/bench/sampler_quality.sh (and the hpo side of its digits problem).

usage: /usr/bin/python3 optuna_sampler_quality.py [--problems branin,...,zdt1,binhkorn,digits]
           [--seeds 30] [--digits-seeds 10] [--trials 100] [--workers 8] [--eval-ms 10] [--procs 2]
           [--hpo URL --samplers auto,tpe]

Optuna (default): for each problem, sampler, seed s and mode, an in-memory study run with
study.optimize: "seq" one thread (n_jobs=1), "par" `workers` threads (n_jobs=workers), every
evaluation of a bench function then sleeping eval-ms (the digits training takes its own time).
Samplers, other options at their 3.1 defaults:
  one objective:      tpe = TPESampler(seed=s) (Optuna's default), tpe-multi = TPESampler(seed=s,
                      multivariate=True), random = RandomSampler(seed=s), qmc = QMCSampler(seed=s,
                      scramble=True)
  several objectives: nsga2 = NSGAIISampler(seed=s) (Optuna's default), tpe = TPESampler(seed=s)
                      (MOTPE), random = RandomSampler(seed=s)
With constraints (binhkorn) TPE and NSGA-II get bench_problems.constraints_func.
--hpo URL: the digits problem only, through hpo-server with hpo_client (the same objective code,
`import hpo_client as optuna`): for each sampler type of --samplers a study with sampler
{"type": X, "seed": s}, the declared search space and max_trials = trials, run by optimize(n_jobs=1
or workers) until the server ends it; the token from HPO_TOKEN / HPO_TOKEN_FILE.
The digits problem (seed_objective.objective: 20 epochs, validation accuracy, maximize) runs
digits-seeds seeds. Runs are spread over `procs` processes. Prints one JSON line per run:
  {"side":"optuna","problem":"branin","sampler":"tpe","default":true,"seed":0,"mode":"seq",
   "r":{"workers":1,"trials":100,"distinct":100,"duplicates":0,"best":...,"seconds":...}}
like bench_tpe_http optimize: "best" (min; digits: max) for one objective, "points" (values of the
complete feasible trials) for several; {"refused": message} instead of "r" when hpo-server
refuses the sampler. Duplicates: trials whose params all equal an earlier trial's.
"""
import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(HERE, "..", "..", "worker", "python"))

SINGLE = ["tpe", "tpe-multi", "random", "qmc"]
MULTI = ["nsga2", "tpe", "random"]
DEFAULT = {1: "tpe", 2: "nsga2"}


def n_objectives(problem):
    if problem == "digits":
        return 1
    import bench_problems
    return bench_problems.PROBLEMS[problem].objectives


def optuna_sampler(optuna, name, seed, cf):
    s = optuna.samplers
    if name == "tpe":
        return s.TPESampler(seed=seed, constraints_func=cf)
    if name == "tpe-multi":
        return s.TPESampler(seed=seed, multivariate=True, constraints_func=cf)
    if name == "random":
        return s.RandomSampler(seed=seed)
    if name == "qmc":
        return s.QMCSampler(seed=seed, scramble=True)
    if name == "nsga2":
        return s.NSGAIISampler(seed=seed, constraints_func=cf)
    raise ValueError(name)


def objective_of(problem, seed, sleep_s):
    if problem == "digits":
        import seed_objective
        return seed_objective.objective(seed)
    import bench_problems
    f = bench_problems.objective(problem)
    if sleep_s <= 0:
        return f

    def slow(trial):
        v = f(trial)
        time.sleep(sleep_s)
        return v

    return slow


def result(optuna, problem, trials, seconds, workers):
    """bench_tpe_http optimize's answer for the trials of a finished study."""
    sigs = [tuple(sorted((k, repr(v)) for k, v in t.params.items())) for t in trials]
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    r = {"workers": workers, "trials": len(trials), "distinct": len(set(sigs)),
         "duplicates": len(sigs) - len(set(sigs))}
    if n_objectives(problem) > 1:
        def feasible(t):
            c = getattr(t, "constraints", None) or t.user_attrs.get("constraints")
            return c is None or all(x <= 0 for x in c)
        r["points"] = [list(t.values) for t in done if feasible(t)]
    else:
        vals = [t.value for t in done]
        r["best"] = (max(vals) if problem == "digits" else min(vals)) if vals else None
    r["seconds"] = round(seconds, 3)
    return r


def run(job):
    problem, sampler, seed, mode, a = job
    warnings.filterwarnings("ignore")
    if a.hpo:
        import hpo_client as optuna
        import hpo_client.exceptions
    else:
        import optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    workers = a.workers if mode == "par" else 1
    sleep_s = a.eval_ms / 1000.0 if mode == "par" and problem != "digits" else 0.0
    f = objective_of(problem, seed, sleep_s)
    n_obj = n_objectives(problem)
    out = {"side": "hpo" if a.hpo else "optuna", "problem": problem, "sampler": sampler,
           "default": not a.hpo and sampler == DEFAULT[n_obj], "seed": seed, "mode": mode}
    direction = {"direction": "maximize"} if problem == "digits" else \
        {"directions": ["minimize"] * n_obj} if n_obj > 1 else {"direction": "minimize"}
    if a.hpo:
        import seed_objective
        name = f"{problem}-{sampler}-{mode}-s{seed}"
        try:
            study = optuna.create_study(storage=a.hpo, study_name=name,
                                        sampler={"type": sampler, "seed": seed},
                                        search_space=seed_objective.SEARCH_SPACE,
                                        max_trials=a.trials, **direction)
        except hpo_client.exceptions.InvalidArgumentError as e:
            if not (e.field or "").startswith("sampler"):
                raise
            out["refused"] = e.message
            return out
        n_trials = None  # until the server answers study_complete
    else:
        import bench_problems
        cf = None
        if problem != "digits" and bench_problems.PROBLEMS[problem].constraints:
            cf = bench_problems.constraints_func
        study = optuna.create_study(sampler=optuna_sampler(optuna, sampler, seed, cf), **direction)
        n_trials = a.trials
    t0 = time.perf_counter()
    study.optimize(f, n_trials=n_trials, n_jobs=workers, gc_after_trial=False)
    seconds = time.perf_counter() - t0
    out["r"] = result(optuna, problem, study.get_trials(deepcopy=False), seconds, workers)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", default="branin,hartmann6,rosenbrock5,styblinski8,ackley5,"
                                          "levy10,mixed,digits,zdt1,binhkorn")
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--digits-seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--eval-ms", type=int, default=10)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--hpo", help="hpo-server URL: run the digits problem through it")
    ap.add_argument("--samplers", default="auto", help="with --hpo: the hpo sampler types")
    a = ap.parse_args()
    problems = [p for p in a.problems.split(",") if p]
    if a.hpo:
        problems = [p for p in problems if p == "digits"]
    jobs = []
    for p in problems:
        seeds = a.digits_seeds if p == "digits" else a.seeds
        samplers = a.samplers.split(",") if a.hpo else SINGLE if n_objectives(p) == 1 else MULTI
        jobs += [(p, s, seed, mode, a) for seed in range(seeds) for mode in ("seq", "par")
                 for s in samplers if s]
    # the digits runs first: they are the longest, so the pool ends together
    jobs.sort(key=lambda j: j[0] != "digits")
    with mp.get_context("fork").Pool(a.procs) as pool:
        for r in pool.imap_unordered(run, jobs):
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    sys.exit(main())
