# plot_study.py: Optuna's examples/visualization/plot_study.py against an hpo server, the import
# swapped: a small study, then its figures written as HTML files.
"""Usage: HPO_SERVER=http://127.0.0.1:8080 HPO_TOKEN_FILE=admin.token \\
   PYTHONPATH=worker/python python3 plot_study.py [--out DIR] [--trials 40] [--study NAME]

Optuna's visualization example optimizes a multi-layer perceptron on Fashion-MNIST (downloaded);
here the "training" is a closed-form learning curve over the same search space (three layer
widths, a log-scale initial learning rate), so it runs offline in seconds. The study is
maximized with a median pruner, each trial reports its validation accuracy every step, and every
plot function of hpo_client.visualization draws the study from the server's plot-data endpoints.
The figures go to DIR (default ./plot_study_html) as HTML, with one plotly.min.js beside them
(open them offline in a browser). Needs Debian's python3-plotly; a token with worker scope at
least (the study is created: admin scope, unless --study names an existing one)."""

import argparse
import math
import os
import random
import sys

import hpo_client as optuna

try:
    from hpo_client.visualization import plot_contour
    from hpo_client.visualization import plot_edf
    from hpo_client.visualization import plot_intermediate_values
    from hpo_client.visualization import plot_optimization_history
    from hpo_client.visualization import plot_parallel_coordinate
    from hpo_client.visualization import plot_param_importances
    from hpo_client.visualization import plot_rank
    from hpo_client.visualization import plot_slice
    from hpo_client.visualization import plot_timeline
except ImportError as e:
    sys.stderr.write("plot_study.py: %s\n" % e)
    sys.exit(3)

N_STEPS = 30


def objective(trial):
    widths = [trial.suggest_int("n_units_l{}".format(i), 32, 64) for i in range(3)]
    lr = trial.suggest_float("lr_init", 1e-5, 1e-1, log=True)

    # The accuracy a network of these widths reaches, and how fast (best near lr = 3e-3).
    rng = random.Random(trial.number)
    peak = 0.9 - 0.04 * (math.log10(lr) + 2.5) ** 2 + 0.0015 * (sum(widths) - 96)
    speed = min(1.0, 40 * lr) + 0.02
    for step in range(N_STEPS):
        value = peak * (1 - math.exp(-speed * (step + 1))) + rng.gauss(0, 0.003)

        # Report intermediate objective value.
        trial.report(value, step)

        # Handle pruning based on the intermediate value.
        if trial.should_prune():
            raise optuna.TrialPruned()

    return value


def figures(study):
    """(file name, figure) of each plot, as Optuna's example shows them plus the others."""
    return [
        # Visualize the optimization history.
        ("optimization_history", plot_optimization_history(study)),
        # Visualize the learning curves of the trials.
        ("intermediate_values", plot_intermediate_values(study)),
        # Visualize high-dimensional parameter relationships.
        ("parallel_coordinate", plot_parallel_coordinate(study)),
        # Select parameters to visualize.
        ("parallel_coordinate_lr_init_n_units_l0",
         plot_parallel_coordinate(study, params=["lr_init", "n_units_l0"])),
        # Visualize hyperparameter relationships.
        ("contour", plot_contour(study)),
        # Select parameters to visualize.
        ("contour_n_units_l0_n_units_l1", plot_contour(study, params=["n_units_l0",
                                                                      "n_units_l1"])),
        # Visualize individual hyperparameters.
        ("slice", plot_slice(study)),
        # Select parameters to visualize.
        ("slice_n_units_l0_n_units_l1", plot_slice(study, params=["n_units_l0",
                                                                  "n_units_l1"])),
        # Beyond Optuna's example: importances, the EDF, ranks and the timeline.
        ("param_importances", plot_param_importances(study)),
        ("edf", plot_edf(study)),
        ("rank", plot_rank(study, params=["lr_init", "n_units_l0"])),
        ("timeline", plot_timeline(study)),
    ]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="plot_study_html", help="where the HTML files go")
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--study", default=None, help="the study's name (default: a new one)")
    args = ap.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    study = optuna.create_study(study_name=args.study, direction="maximize",
                                pruner=optuna.pruners.MedianPruner(), load_if_exists=True,
                                sampler=optuna.samplers.TPESampler(seed=1))
    study.optimize(objective, n_trials=args.trials, timeout=600)
    print("study %s: best value %.4f, params %s" % (study.study_name, study.best_value,
                                                    study.best_params))

    os.makedirs(args.out, exist_ok=True)
    for name, fig in figures(study):
        path = os.path.join(args.out, name + ".html")
        # "directory": one plotly.min.js next to the pages instead of 3 MB inside each
        fig.write_html(path, include_plotlyjs="directory")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
