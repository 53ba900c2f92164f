# hpo_client.visualization._slice: plot_slice over /columns.
from ._plotly import COLOR_SCALE, go, make_subplots
from ._utils import (_log, check_plot_args, complete_trials, filter_nonfinite, is_log_scale,
                     sorted_params, target_or_value)


def _scatter(trials, param, value):
    have = [t for t in trials if param in t.params]
    xs = [t.params[param] for t in have]
    ys = [value(t) for t in have]
    return go.Scatter(
        x=["None" if x is None else x for x in xs],
        y=["None" if y is None else y for y in ys],
        mode="markers",
        marker={"line": {"width": 0.5, "color": "Grey"},
                "color": [t.number for t in have],
                "colorscale": COLOR_SCALE,
                "colorbar": {"title": "Trial", "x": 1.0, "xpad": 40}},
        showlegend=False)


def plot_slice(study, params=None, *, target=None, target_name="Objective Value"):
    """Optuna's plot_slice: for each param (all, or ``params``) the COMPLETE trials' objective
    against the param's value, colored by trial number; log params on log axes."""
    check_plot_args(study, target, target_name)
    trials = filter_nonfinite(complete_trials(study), target)
    layout = go.Layout(title="Slice Plot")
    if not trials:
        _log.warning("Your study does not have any completed trials.")
        return go.Figure(data=[], layout=layout)
    names = sorted_params(trials, params)
    value = target_or_value(target)
    if not names:
        return go.Figure(data=[], layout=layout)
    if len(names) == 1:
        fig = go.Figure(data=[_scatter(trials, names[0], value)], layout=layout)
        fig.update_xaxes(title_text=names[0])
        fig.update_yaxes(title_text=target_name)
        if is_log_scale(trials, names[0]):
            fig.update_xaxes(type="log")
        return fig
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True)
    fig.update_layout(layout)
    for col, p in enumerate(names, start=1):
        trace = _scatter(trials, p, value)
        trace.update(marker={"showscale": col == 1})
        fig.add_trace(trace, row=1, col=col)
        fig.update_xaxes(title_text=p, row=1, col=col)
        if col == 1:
            fig.update_yaxes(title_text=target_name, row=1, col=col)
        if is_log_scale(trials, p):
            fig.update_xaxes(type="log", row=1, col=col)
    if len(names) > 3:
        fig.update_layout(width=300 * len(names))
    return fig
