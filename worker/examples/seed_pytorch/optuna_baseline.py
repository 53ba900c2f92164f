# optuna_baseline.py: the same PyTorch objective as train.py run by Optuna itself (in-memory
# storage, one process) for a side-by-side figure with hpo: TPE (seeded) + MedianPruner(2, 5, 3).
"""Usage: python3 optuna_baseline.py [--trials 40] [--epochs 20] [--seed 0] [--model-dir DIR]

Needs Debian's python3-optuna (3.1), python3-torch and python3-sklearn. Prints the wall time,
the counts, the best accuracy and params, and where the best trial's model is (each trial's best
epoch is saved as DIR/model_trial_<n>.pt, as the article does; DIR defaults to a temporary
directory that is kept)."""

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import train  # noqa: E402  (the objective, models and data of the example)

try:
    import optuna  # noqa: E402
except ImportError as e:
    sys.stderr.write("optuna_baseline.py: Optuna is not importable (%s); on Debian 12: "
                     "apt-get install python3-optuna\n" % e)
    sys.exit(3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--epochs", type=int, default=train.env_int("HPO_EXAMPLE_EPOCHS", 20))
    ap.add_argument("--seed", type=int, default=train.env_int("HPO_EXAMPLE_SEED", 0))
    ap.add_argument("--model-dir", default=None)
    args = ap.parse_args()
    train.torch.set_num_threads(1)
    model_dir = args.model_dir or tempfile.mkdtemp(prefix="optuna-seed-models-")
    os.makedirs(model_dir, exist_ok=True)

    def save(trial, state, final):
        if final and state is not None:
            with open(os.path.join(model_dir, "model_trial_%d.pt" % trial.number), "wb") as f:
                f.write(state)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=5,
                                           interval_steps=3))
    objective = train.make_objective(args.epochs, args.seed, optuna.TrialPruned, save)
    t0 = time.monotonic()
    study.optimize(objective, n_trials=args.trials)
    wall = time.monotonic() - t0
    states = [t.state for t in study.trials]
    n_complete = states.count(optuna.trial.TrialState.COMPLETE)
    n_pruned = states.count(optuna.trial.TrialState.PRUNED)
    epochs = sum(len(t.intermediate_values) for t in study.trials)
    print("optuna %s: %d trials (%d complete, %d pruned), %d epochs trained (of %d), %.1f s" % (
        optuna.__version__, len(study.trials), n_complete, n_pruned, epochs,
        args.trials * args.epochs, wall))
    print("Best accuracy: %r" % study.best_value)
    print("Best parameters: %r" % (study.best_params,))
    print("Best model: %s" % os.path.join(model_dir, "model_trial_%d.pt" % study.best_trial.number))
    return 0


if __name__ == "__main__":
    sys.exit(main())
