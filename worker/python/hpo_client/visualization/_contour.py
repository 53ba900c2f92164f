# hpo_client.visualization._contour: plot_contour over /columns.
import math

from ._plotly import COLOR_SCALE, go, make_subplots
from ._utils import (_log, check_plot_args, complete_trials, filter_nonfinite, is_log_scale,
                     is_numerical, is_reverse_scale, target_or_value)

PADDING_RATIO = 0.05


class _Axis:
    """One param's axis over the trials: its padded range, kind, grid points (``indices``) and
    each trial's value (None where the trial lacks the param)."""

    def __init__(self, trials, name):
        self.name = name
        numerical = is_numerical(trials, name)
        if numerical:
            self.values = [t.params.get(name) for t in trials]
        else:
            self.values = [str(t.params[name]) if name in t.params else None for t in trials]
        present = [v for v in self.values if v is not None]
        self.is_log = self.is_cat = False
        if is_log_scale(trials, name):
            lo, hi = float(min(present)), float(max(present))
            pad = (math.log10(hi) - math.log10(lo)) * PADDING_RATIO
            lo, hi = 10 ** (math.log10(lo) - pad), 10 ** (math.log10(hi) + pad)
            self.is_log = True
        elif numerical:
            lo, hi = float(min(present)), float(max(present))
            pad = (hi - lo) * PADDING_RATIO
            lo, hi = lo - pad, hi + pad
        else:
            span = len(set(present)) - 1
            pad = span * PADDING_RATIO
            lo, hi = -pad, span + pad
            self.is_cat = True
        self.range = (lo, hi)
        self.indices = sorted(set(present))
        if len(self.indices) >= 2 and numerical:
            self.indices = [lo] + self.indices + [hi]


class _Sub:
    def __init__(self, trials, x_param, y_param, target):
        self.xaxis = _Axis(trials, x_param)
        self.yaxis = _Axis(trials, y_param)
        self.z = {}
        if x_param == y_param:
            return
        for axis in (self.xaxis, self.yaxis):
            if len(axis.indices) < 2:
                _log.warning("Param %s unique value length is less than 2." % axis.name)
                return
        value = target_or_value(target)
        for i, t in enumerate(trials):
            if x_param not in t.params or y_param not in t.params:
                continue
            xi = self.xaxis.indices.index(self.xaxis.values[i])
            yi = self.yaxis.indices.index(self.yaxis.values[i])
            self.z[(xi, yi)] = value(t)


def _traces(sub, reverse, target_name):
    """(Contour, Scatter of the trials) of one pair of params; empty ones when an axis has
    fewer than 2 values."""
    xs, ys = sub.xaxis.indices, sub.yaxis.indices
    if len(xs) < 2 or len(ys) < 2:
        return go.Contour(), go.Scatter()
    z = [[float("nan")] * len(xs) for _ in ys]
    for (xi, yi), v in sub.z.items():
        z[yi][xi] = v
    points = [(x, y) for x, y in zip(sub.xaxis.values, sub.yaxis.values)
              if x is not None and y is not None]
    contour = go.Contour(x=xs, y=ys, z=z, colorbar={"title": target_name},
                         colorscale=COLOR_SCALE, connectgaps=True, contours_coloring="heatmap",
                         hoverinfo="none", line_smoothing=1.3, reversescale=reverse)
    scatter = go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points],
                         marker={"line": {"width": 2.0, "color": "Grey"}, "color": "black"},
                         mode="markers", showlegend=False)
    return contour, scatter


def _style_axes(fig, sub, **cell):
    """Range, category and log type of a cell's axes."""
    for axis, update in ((sub.xaxis, fig.update_xaxes), (sub.yaxis, fig.update_yaxes)):
        if axis.is_cat:
            update(type="category", **cell)
        if axis.is_log:
            update(range=[math.log10(p) for p in axis.range], type="log", **cell)


def plot_contour(study, params=None, *, target=None, target_name="Objective Value"):
    """Optuna's plot_contour: for each pair of params (all, or ``params``) the COMPLETE
    trials' objective as a contour over the two params' values, with the trials as points;
    log params on log axes, categorical ones as categories."""
    check_plot_args(study, target, target_name)
    trials = filter_nonfinite(complete_trials(study), target)
    present = {p for t in trials for p in t.params}
    if not trials:
        _log.warning("Your study does not have any completed trials.")
        names = []
    elif params is None:
        names = sorted(present)
    else:
        if len(params) <= 1:
            _log.warning("The length of params must be greater than 1.")
        for p in params:
            if p not in present:
                raise ValueError("Parameter %s does not exist in your study." % p)
        names = sorted(set(params))
    reverse = is_reverse_scale(study, target)
    layout = go.Layout(title="Contour Plot")
    if len(names) <= 1:
        return go.Figure(data=[], layout=layout)

    if len(names) == 2:
        sub = _Sub(trials, names[0], names[1], target)
        fig = go.Figure(data=_traces(sub, reverse, target_name), layout=layout)
        fig.update_xaxes(title_text=names[0], range=sub.xaxis.range)
        fig.update_yaxes(title_text=names[1], range=sub.yaxis.range)
        _style_axes(fig, sub)
        return fig

    n = len(names)
    fig = make_subplots(rows=n, cols=n, shared_xaxes=True, shared_yaxes=True)
    fig.update_layout(layout)
    showscale = True
    for xi, xp in enumerate(names):
        for yi, yp in enumerate(names):
            cell = {"row": yi + 1, "col": xi + 1}
            sub = _Sub(trials, xp, yp, target)
            if xp == yp:
                fig.add_trace(go.Scatter(), **cell)
            else:
                contour, scatter = _traces(sub, reverse, target_name)
                contour.update(showscale=showscale)
                showscale = False
                fig.add_trace(contour, **cell)
                fig.add_trace(scatter, **cell)
            fig.update_xaxes(range=sub.xaxis.range, **cell)
            fig.update_yaxes(range=sub.yaxis.range, **cell)
            _style_axes(fig, sub, **cell)
            if xi == 0:
                fig.update_yaxes(title_text=yp, **cell)
            if yi == n - 1:
                fig.update_xaxes(title_text=xp, **cell)
    return fig
