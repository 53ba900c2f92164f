# seed_optuna.py: the seed's experiment (seed_objective.py) run with Optuna 3.1 in memory, the reference for seed_hpo.py.
#
#   python3 tests/bench/seed_optuna.py --pruners none,median,sh --seeds 0,1,2 [--trials 40]
#
# For every (pruner, seed): optuna.create_study(direction="maximize", sampler=TPESampler(seed=seed),
# pruner=NopPruner() | MedianPruner(2, 5, 3) | SuccessiveHalvingPruner() | sh_min1 =
# SuccessiveHalvingPruner(min_resource=1)), in-memory storage, and
# study.optimize over `trials` trials of the same objective as the hpo side: 20 epochs, the
# validation accuracy reported at step = epochs trained so far (1..20), should_prune after each
# report, the last accuracy returned. Prints one JSON line per run (best value, epochs, wall s).
import argparse
import json
import sys
import time

import optuna

import seed_objective as obj

PRUNERS = {
    "none": lambda: optuna.pruners.NopPruner(),
    "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=5,
                                                  interval_steps=3),
    "sh": lambda: optuna.pruners.SuccessiveHalvingPruner(),
    # what hpo's successive halving with min_resource "auto" decides like (see seed_replay.py)
    "sh_min1": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1),
}


def run(pruner, seed, trials):
    epochs = 0

    def objective(trial):
        nonlocal epochs
        params = {
            "model": trial.suggest_categorical("model", list(obj.MODELS)),
            "optimizer": trial.suggest_categorical("optimizer", list(obj.OPTIMIZERS)),
            "learning_rate": trial.suggest_float("learning_rate", obj.LR_LOW, obj.LR_HIGH,
                                                 log=True),
        }
        model = obj.new_model(params, seed)
        acc = None
        for epoch in range(1, obj.EPOCHS + 1):
            acc = obj.train_epoch(model)
            epochs += 1
            trial.report(acc, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return acc

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=PRUNERS[pruner]())
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    wall = time.perf_counter() - t0
    states = [t.state for t in study.trials]
    S = optuna.trial.TrialState
    return {"side": "optuna", "pruner": pruner, "seed": seed, "trials": trials,
            "best": study.best_value, "best_params": study.best_params, "epochs": epochs,
            "wall_s": round(wall, 3),
            "counts": {"complete": states.count(S.COMPLETE), "pruned": states.count(S.PRUNED),
                       "fail": states.count(S.FAIL)},
            "optuna": optuna.__version__}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pruners", default="none,median,sh")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--trials", type=int, default=40)
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for seed in [int(s) for s in a.seeds.split(",")]:
        for p in a.pruners.split(","):
            r = run(p, seed, a.trials)
            print(json.dumps(r), flush=True)
            print(f"seed_optuna: {p} seed {seed}: best {r['best']} epochs {r['epochs']} "
                  f"wall {r['wall_s']} s counts {r['counts']}", file=sys.stderr)


if __name__ == "__main__":
    main()
