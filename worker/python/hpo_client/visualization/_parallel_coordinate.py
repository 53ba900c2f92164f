# hpo_client.visualization._parallel_coordinate: plot_parallel_coordinate over /columns.
import math

from ._plotly import COLOR_SCALE, go
from ._utils import (_log, check_plot_args, complete_trials, filter_nonfinite, is_categorical,
                     is_log_scale, is_numerical, is_reverse_scale, sorted_params,
                     target_or_value)


def _label(name):
    return name if len(name) < 20 else name[:17] + "..."


def _log_dim(label, values):
    logs = [math.log10(v) for v in values]
    lo, hi = min(logs), max(logs)
    ticks = list(range(math.ceil(lo), math.ceil(hi)))
    if lo not in ticks:
        ticks = [lo] + ticks
    if hi not in ticks:
        ticks = ticks + [hi]
    return {"label": label, "values": tuple(logs), "range": (lo, hi), "tickvals": ticks,
            "ticktext": ["{:.3g}".format(10 ** x) for x in ticks]}


def _categorical_dim(label, values, numerical):
    """Choices as indices: numbers in ascending order, others in order of appearance."""
    if numerical:
        order = sorted(set(values))
    else:
        order = []
        for v in values:
            if v not in order:
                order.append(v)
    index = {}
    for v in order:
        index.setdefault(v, len(index))
    idx = [index[v] for v in values]
    return {"label": label, "values": tuple(idx), "range": (min(idx), max(idx)),
            "tickvals": list(range(len(index))), "ticktext": [str(v) for v in index]}


def plot_parallel_coordinate(study, params=None, *, target=None, target_name="Objective Value"):
    """Optuna's plot_parallel_coordinate: one axis for the objective and one per param (all,
    or ``params``) over the COMPLETE trials that have every param shown; log params on a log10
    axis, categorical ones as their choices."""
    check_plot_args(study, target, target_name)
    reverse = is_reverse_scale(study, target)
    trials = filter_nonfinite(complete_trials(study), target)
    names = sorted_params(trials, params)
    value = target_or_value(target)
    used = [t for t in trials if all(p in t.params for p in names)]
    objectives = tuple(value(t) for t in used)
    layout = go.Layout(title="Parallel Coordinate Plot")
    if not trials:
        _log.warning("Your study does not have any completed trials.")
        return go.Figure(data=[], layout=layout)
    if not objectives:
        _log.warning("Your study has only completed trials with missing parameters.")
        return go.Figure(data=[], layout=layout)
    if not names:
        return go.Figure(data=[], layout=layout)

    dims = [{"label": target_name, "values": objectives,
             "range": (min(objectives), max(objectives))}]
    numeric_categorical = []
    for p in names:
        values = [t.params[p] for t in used]
        if is_log_scale(trials, p):
            dims.append(_log_dim(_label(p), values))
        elif is_categorical(trials, p):
            numerical = is_numerical(trials, p)
            dims.append(_categorical_dim(_label(p), values, numerical))
            if numerical:
                numeric_categorical.append(len(dims) - 1)
        else:
            dims.append({"label": _label(p), "values": tuple(values),
                         "range": (min(values), max(values))})
    if numeric_categorical:
        # lines sorted by the numeric categorical axes (the first one first), as Optuna draws
        order = sorted(range(len(used)),
                       key=lambda i: tuple(dims[d]["values"][i] for d in numeric_categorical))
        for d in dims:
            d["values"] = tuple(d["values"][i] for i in order)

    trace = go.Parcoords(dimensions=dims, labelangle=30, labelside="bottom",
                         line={"color": dims[0]["values"], "colorscale": COLOR_SCALE,
                               "colorbar": {"title": target_name}, "showscale": True,
                               "reversescale": reverse})
    return go.Figure(data=[trace], layout=layout)
