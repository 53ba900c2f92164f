# seed_replay.py: checks hpo's median and successive-halving decisions against Optuna 3.1's pruners on the very same trial history.
#
#   python3 tests/bench/seed_replay.py RESULTS.jsonl     (the lines seed_hpo.py printed)
#
# Each hpo run line carries its trials' intermediate values and final states. For the median and
# successive-halving runs, the trials are replayed in order into an in-memory Optuna study with
# MedianPruner(2, 5, 3) or SuccessiveHalvingPruner(): each trial reports hpo's values step by step
# and asks should_prune() after each, and is then told the outcome hpo gave it (complete with its
# value, or pruned), so both pruners always judge the same history. A decision agrees when Optuna
# would first prune at exactly the step where hpo pruned (or never, for a completed trial).
# Successive-halving runs are also replayed through SuccessiveHalvingPruner(min_resource=1), which
# isolates hpo's documented departure for min_resource "auto" (see PRUNERS below).
# Prints one JSON line per run: {"pruner", "seed", "trials", "agree", "disagreements": [...],
# and for successive halving "agree_min_resource_1", "disagreements_min_resource_1"}.
import json
import sys

import optuna

PRUNERS = {
    "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=5,
                                                  interval_steps=3),
    "sh": lambda: optuna.pruners.SuccessiveHalvingPruner(),
    # hpo's documented departure (server/algo/hpo_pruner.h): with min_resource "auto", reports made
    # before the first trial completed count as rung records in hpo, never in Optuna; the same
    # pruner with min_resource=1 (what "auto" resolves to here) records them as hpo does.
    "sh_min1": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1),
}


def replay(pruner, history):
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0),
                                pruner=PRUNERS[pruner]())
    agree, dis = 0, []
    for h in history:
        t = study.ask()
        optuna_step = None
        for step, value in h["iv"]:
            t.report(value, step)
            if optuna_step is None and t.should_prune():
                optuna_step = step
        hpo_step = h["iv"][-1][0] if h["state"] == "pruned" and h["iv"] else None
        if h["state"] not in ("complete", "pruned"):
            dis.append(f"trial {h['number']}: state {h['state']}")
        elif optuna_step == hpo_step:
            agree += 1
        else:
            dis.append(f"trial {h['number']}: hpo {'pruned at step %d' % hpo_step if hpo_step else h['state']}, "
                       f"Optuna {'prunes at step %d' % optuna_step if optuna_step else 'does not prune'}")
        if h["state"] == "complete":
            study.tell(t, h["value"])
        else:
            study.tell(t, state=optuna.trial.TrialState.PRUNED)
    return agree, dis


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for line in open(sys.argv[1]):
        if not line.strip():
            continue
        r = json.loads(line)
        if r.get("side") != "hpo" or r["pruner"] not in ("median", "sh"):
            continue
        agree, dis = replay(r["pruner"], r["history"])
        out = {"pruner": r["pruner"], "seed": r["seed"], "trials": len(r["history"]),
               "agree": agree, "disagreements": dis}
        if r["pruner"] == "sh":
            out["agree_min_resource_1"], out["disagreements_min_resource_1"] = \
                replay("sh_min1", r["history"])
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
