# optuna_all_trials.py: the anchor of dashboard_scale.sh: Optuna 3.1 reading a whole study from
# RDBStorage, as optuna-dashboard does on every poll of a study page.
"""Usage:
  optuna_all_trials.py make URL NAME    create study NAME with one complete trial (4 floats
                                        x0..x3 in [-5, 5], one intermediate value): the template
                                        of the rows dashboard_scale.sh copies in by SQL
  optuna_all_trials.py time URL NAME K  time storage.get_all_trials(study_id, deepcopy=False)
                                        K times on one storage object; prints JSON: first and
                                        median seconds, trials, params and intermediate values
                                        read (to check the copy)
"""
import json
import logging
import statistics
import sys
import time


def main():
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    cmd, url, name = sys.argv[1:4]
    if cmd == "make":
        study = optuna.create_study(storage=url, study_name=name, direction="minimize")

        def objective(trial):
            xs = [trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(4)]
            v = sum(x * x for x in xs)
            trial.report(v, 0)
            return v

        study.optimize(objective, n_trials=1)
        return
    k = int(sys.argv[4])
    storage = optuna.storages.RDBStorage(url)
    study_id = storage.get_study_id_from_name(name)
    times, trials = [], []
    for _ in range(k):
        t0 = time.perf_counter()
        trials = storage.get_all_trials(study_id, deepcopy=False)
        times.append(time.perf_counter() - t0)
    print(json.dumps({
        "optuna": optuna.__version__, "repeat": k, "first_s": times[0],
        "median_s": statistics.median(times), "trials": len(trials),
        "params": sum(len(t.params) for t in trials),
        "intermediate": sum(len(t.intermediate_values) for t in trials),
    }))


if __name__ == "__main__":
    main()
