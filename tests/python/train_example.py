# tests/python/train_example.py: a training script that runs both standalone (Study.optimize)
# and as an hpo-worker command (current_trial / report_final); used by test_worker_mode.py.
import json
import os
import sys

import hpo_client as optuna


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    epochs = trial.suggest_int("epochs", 3, 3)
    res = trial.resource or {"from": 0, "to": epochs}
    ckpt = os.path.join(trial.checkpoint_dir, "state.json")
    loss = (x - 2) ** 2 + 10.0
    start = res["from"]
    if trial.resume and os.path.exists(ckpt):
        with open(ckpt) as f:
            loss = json.load(f)["loss"]
    for step in range(start + 1, res["to"] + 1):
        loss -= 1.0
        trial.report(loss, step)
        if trial.should_prune():
            with open(ckpt, "w") as f:
                json.dump({"loss": loss}, f)
            raise optuna.TrialPruned()
    return loss


if __name__ == "__main__":
    if optuna.in_worker():                 # hpo-worker runs us for one trial
        optuna.run_current(objective)
    else:                                  # standalone: a whole study in this process
        study = optuna.create_study(study_name=sys.argv[1] if len(sys.argv) > 1 else None)
        study.optimize(objective, n_trials=5)
        print("best:", study.best_params)
