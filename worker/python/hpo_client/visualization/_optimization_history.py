# hpo_client.visualization._optimization_history: plot_optimization_history over /history.
import math

from .. import _plotdata
from ._plotly import go
from ._utils import _log, as_studies, check_plot_args, complete_trials


def _series(study, n_studies, target, target_name):
    """(numbers, values, label, best values or None, best label) of one study."""
    label = target_name if n_studies == 1 else "%s of %s" % (target_name, study.study_name)
    if target is not None:
        trials = complete_trials(study)
        return [t.number for t in trials], [target(t) for t in trials], label, None, None
    h = _plotdata.history(study, 0)
    best_label = "Best Value" if n_studies == 1 else "Best Value of %s" % study.study_name
    return list(h["number"]), list(h["value"]), label, list(h["best"]), best_label


def _mean_std(xs):
    m = math.fsum(xs) / len(xs)
    return m, math.sqrt(math.fsum((x - m) ** 2 for x in xs) / len(xs))


def _aggregate(series, which, n_max):
    """Per trial number over the studies: (numbers, means, stds) of the values (which=1) or
    of the best values (which=3)."""
    per = [[] for _ in range(n_max)]
    for s in series:
        for number, v in zip(s[0], s[which]):
            per[number].append(v)
    numbers = [i for i in range(n_max) if per[i]]
    ms = [_mean_std(per[i]) for i in numbers]
    return numbers, [m for m, _ in ms], [sd for _, sd in ms]


def plot_optimization_history(study, *, target=None, target_name="Objective Value",
                              error_bar=False):
    """Optuna's plot_optimization_history: the COMPLETE trials' values by trial number and the
    best value so far (from the server's /history), for one study or several (``error_bar``:
    their mean and standard deviation per trial number). ``target`` (a function of a
    FrozenTrial) plots another value, without the best-value line."""
    studies = as_studies(study)
    check_plot_args(studies, target, target_name)
    series = [_series(s, len(studies), target, target_name) for s in studies]
    if not studies:
        _log.warning("There are no studies.")
    if sum(len(s[0]) for s in series) == 0:
        _log.warning("There are no complete trials.")
        series = []

    layout = go.Layout(title="Optimization History Plot", xaxis={"title": "Trial"},
                       yaxis={"title": target_name})
    traces = []
    if error_bar and series:
        n_max = max(n for s in series for n in s[0]) + 1
        numbers, means, stds = _aggregate(series, 1, n_max)
        traces.append(go.Scatter(x=numbers, y=means, mode="markers", name=target_name,
                                 error_y={"type": "data", "array": stds, "visible": True}))
        if target is None:
            _, bmeans, bstds = _aggregate(series, 3, n_max)
            traces.append(go.Scatter(x=numbers, y=bmeans, name="Best Value"))
            traces.append(go.Scatter(x=numbers, y=[m + s for m, s in zip(bmeans, bstds)],
                                     mode="lines", line={"width": 0.01}, showlegend=False))
            traces.append(go.Scatter(x=numbers, y=[m - s for m, s in zip(bmeans, bstds)],
                                     mode="none", showlegend=False, fill="tonexty",
                                     fillcolor="rgba(255,0,0,0.2)"))
    else:
        for numbers, values, label, best, best_label in series:
            traces.append(go.Scatter(x=numbers, y=values, mode="markers", name=label))
            if best is not None:
                traces.append(go.Scatter(x=numbers, y=best, name=best_label))
    return go.Figure(data=traces, layout=layout)
