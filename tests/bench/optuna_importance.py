#!/usr/bin/python3
# optuna_importance.py: the Optuna side of tests/bench/importance.sh: writes the problems' random trials, and evaluates them with Optuna's importance evaluators.
"""usage:
  optuna_importance.py write --out DIR [--problems a,b] [--trials 1000] [--seed 0]
      one file DIR/NAME.txt per problem: N trials of uniformly random params (log-uniform for
      log params) and the problem's value (format: bench_importance.c)
  optuna_importance.py fanova [--procs 2] FILE...
      Optuna's FanovaImportanceEvaluator(seed=0) on each file's trials (an in-memory study of
      COMPLETE trials); one JSON line per file: importances in the file's param order and the
      seconds evaluate() took
  optuna_importance.py ped FILE...
      Optuna's PedAnovaImportanceEvaluator() (needs Optuna >= 3.6 on PYTHONPATH; Debian's 3.1 has
      none), normalised; one JSON line per file
"""
import argparse
import json
import math
import multiprocessing
import os
import sys
import time
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_problems  # noqa: E402


def flt(name, lo, hi, log=False):
    return (name, "float", lo, hi, log, 0)


def integer(name, lo, hi, log=False):
    return (name, "int", lo, hi, log, 1)


def cat(name, choices):
    return (name, "cat", choices)


def _logscale(v):
    lr, wd, momentum, batch = v
    return ((math.log10(lr) + 2.5) ** 2 + 0.3 * (math.log10(wd) + 4) ** 2
            + 0.5 * (momentum - 0.9) ** 2 + 0.05 * math.log2(batch))


def _mixed(v):
    lr, layers, opt, act, dropout = v
    return bench_problems.mixed([lr, layers, bench_problems.OPTIMIZERS[opt],
                                 bench_problems.ACTIVATIONS[act], dropout])


_KERNEL_COST = [0.0, 0.8, 2.0, 0.3, 1.2]


def _categorical(v):
    kernel, c, gamma = v
    return _KERNEL_COST[kernel] + 0.5 * (math.log10(c) - 1) ** 2 / 4 + 0.1 * gamma


# name -> (params, f(values in param order; a categorical as its index), description)
PROBLEMS = {
    "branin_dummy": (
        [flt("x1", -5, 10), flt("x2", 0, 15), flt("dummy", 0, 1)],
        lambda v: bench_problems.branin(v[:2]),
        "Branin(x1, x2) + an unused float"),
    "hartmann6": (
        [flt(f"x{i + 1}", 0, 1) for i in range(6)],
        bench_problems.hartmann6,
        "Hartmann6 on [0, 1]^6"),
    "mixed": (
        [flt("lr", 1e-4, 1e-1, log=True), integer("layers", 1, 8),
         cat("optimizer", bench_problems.OPTIMIZERS), cat("activation", bench_problems.ACTIVATIONS),
         flt("dropout", 0, 0.5)],
        _mixed,
        "the TPE benchmarks' mixed space (log float, int, 2 categoricals, float)"),
    "logscale": (
        [flt("lr", 1e-5, 1, log=True), flt("wd", 1e-6, 1e-2, log=True), flt("momentum", 0, 1),
         integer("batch", 16, 512, log=True)],
        _logscale,
        "(log10 lr + 2.5)² + 0.3 (log10 wd + 4)² + 0.5 (momentum − 0.9)² + 0.05 log2 batch"),
    "categorical": (
        [cat("kernel", ["linear", "rbf", "poly", "sigmoid", "laplace"]),
         flt("C", 1e-2, 1e4, log=True), flt("gamma", 0, 1)],
        _categorical,
        "kernel (5 choices, cost 0–2) + 0.125 (log10 C − 1)² + 0.1 gamma"),
    "rosenbrock5": (
        [flt(f"x{i + 1}", -2.048, 2.048) for i in range(5)],
        bench_problems.rosenbrock,
        "Rosenbrock-5D on [−2.048, 2.048]^5"),
}


def draw(p, rng):
    if p[1] == "cat":
        return int(rng.randint(len(p[2])))
    _, kind, lo, hi, log, _ = p
    if kind == "float":
        if log:
            return float(min(hi, max(lo, math.exp(rng.uniform(math.log(lo), math.log(hi))))))
        return float(rng.uniform(lo, hi))
    if log:  # as Optuna's RandomSampler draws a log int
        v = round(math.exp(rng.uniform(math.log(lo - 0.5), math.log(hi + 0.5))))
        return int(min(hi, max(lo, v)))
    return int(rng.randint(lo, hi + 1))


def write(args):
    os.makedirs(args.out, exist_ok=True)
    for name in args.problems.split(","):
        params, f, _ = PROBLEMS[name]
        rng = np.random.RandomState((zlib.crc32(name.encode()) ^ args.seed) & 0x7FFFFFFF)
        with open(os.path.join(args.out, name + ".txt"), "w") as out:
            out.write(f"problem {name}\n")
            for p in params:
                if p[1] == "cat":
                    out.write(f"param {p[0]} cat {len(p[2])} {' '.join(p[2])}\n")
                else:
                    out.write(f"param {p[0]} {p[1]} {p[2]!r} {p[3]!r} {int(p[4])} {p[5]!r}\n")
            out.write(f"trials {args.trials}\n")
            for _ in range(args.trials):
                v = [draw(p, rng) for p in params]
                out.write(" ".join(repr(float(x)) for x in v) + f" {float(f(v))!r}\n")


def load_study(path):
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with open(path) as f:
        lines = f.read().split("\n")
    name = lines[0].split()[1]
    dists, kinds = {}, []
    i = 1
    while lines[i].startswith("param "):
        w = lines[i].split()
        if w[2] == "cat":
            dists[w[1]] = CategoricalDistribution(w[4:4 + int(w[3])])
        elif w[2] == "int":
            dists[w[1]] = IntDistribution(int(float(w[3])), int(float(w[4])), log=w[5] == "1",
                                          step=int(float(w[6])))
        else:
            step = float(w[6])
            dists[w[1]] = FloatDistribution(float(w[3]), float(w[4]), log=w[5] == "1",
                                            step=step if step > 0 else None)
        kinds.append(w[2])
        i += 1
    n = int(lines[i].split()[1])
    study = optuna.create_study()
    names = list(dists)
    trials = []
    for row in lines[i + 1:i + 1 + n]:
        v = [float(x) for x in row.split()]
        params = {}
        for k, nm in enumerate(names):
            d = dists[nm]
            params[nm] = (d.choices[int(v[k])] if kinds[k] == "cat"
                          else int(v[k]) if kinds[k] == "int" else v[k])
        trials.append(optuna.trial.create_trial(params=params, distributions=dists, value=v[-1]))
    study.add_trials(trials)
    return name, names, study


def fanova_one(path):
    import optuna

    name, names, study = load_study(path)
    t0 = time.perf_counter()
    res = optuna.importance.FanovaImportanceEvaluator(seed=0).evaluate(study)
    dt = time.perf_counter() - t0
    return {"problem": name, "params": names, "optuna_fanova": [res[p] for p in names],
            "optuna_fanova_s": dt, "optuna_version": optuna.__version__}


def fanova(args):
    with multiprocessing.Pool(max(1, args.procs)) as pool:
        for row in pool.imap(fanova_one, args.files):
            print(json.dumps(row), flush=True)


def ped(args):
    import warnings

    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator

    warnings.simplefilter("ignore")
    for path in args.files:
        name, names, study = load_study(path)
        t0 = time.perf_counter()
        res = PedAnovaImportanceEvaluator().evaluate(study)
        dt = time.perf_counter() - t0
        s = sum(res.values())
        imp = [res[p] / s if s > 0 else 1 / len(names) for p in names]
        print(json.dumps({"problem": name, "optuna_ped_anova": imp, "optuna_ped_anova_s": dt,
                          "optuna_ped_version": optuna.__version__}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--out", required=True)
    w.add_argument("--problems", default=",".join(PROBLEMS))
    w.add_argument("--trials", type=int, default=1000)
    w.add_argument("--seed", type=int, default=0)
    f = sub.add_parser("fanova")
    f.add_argument("--procs", type=int, default=2)
    f.add_argument("files", nargs="+")
    p = sub.add_parser("ped")
    p.add_argument("files", nargs="+")
    args = ap.parse_args()
    {"write": write, "fanova": fanova, "ped": ped}[args.cmd](args)


if __name__ == "__main__":
    main()
