# hpo_client.visualization._rank: plot_rank over /columns.
import math

from ._plotly import PLOTLY_VERSION, go, make_subplots, plotly
from ._utils import (_log, check_plot_args, complete_trials, is_log_scale, is_numerical,
                     quantile, target_or_value)

PADDING_RATIO = 0.05
COLORMAP = "RdYlBu_r"


class _Axis:
    """A param's padded range and kind (log, categorical) over the trials."""

    def __init__(self, trials, name):
        numerical = is_numerical(trials, name)
        present = [t.params[name] if numerical else str(t.params[name])
                   for t in trials if name in t.params]
        self.is_log = self.is_cat = False
        if is_log_scale(trials, name):
            lo, hi = float(min(present)), float(max(present))
            pad = (math.log10(hi) - math.log10(lo)) * PADDING_RATIO
            self.range = (10 ** (math.log10(lo) - pad), 10 ** (math.log10(hi) + pad))
            self.is_log = True
        elif numerical:
            lo, hi = float(min(present)), float(max(present))
            pad = (hi - lo) * PADDING_RATIO
            self.range = (lo - pad, hi + pad)
        else:
            span = len(set(present)) - 1
            pad = span * PADDING_RATIO
            self.range = (-pad, span + pad)
            self.is_cat = True


def _ranks(values):
    """Each value's rank among them (0 = the smallest), ties sharing their mean rank."""
    order = sorted(values)
    first, count = {}, {}
    for i, v in enumerate(order):
        first.setdefault(v, i)
        count[v] = count.get(v, 0) + 1
    return [first[v] + (count[v] - 1) / 2.0 for v in values]


def _hover(trial, target_name, value, raw_objectives):
    lines = ["Trial #%d" % trial.number]
    lines += ["%s: %s" % (k, v) for k, v in trial.params.items()]
    lines.append("<b>%s: %s</b>" % (target_name, value))
    if raw_objectives:
        lines += ["Objective #%d: %s" % (i, v) for i, v in enumerate(trial.values or [])]
    return "<br>".join(lines)


def _scatter(trials, values, colors, x_param, y_param, target_name, custom):
    idx = [i for i, t in enumerate(trials) if x_param in t.params and y_param in t.params]
    return go.Scatter(
        x=[trials[i].params[x_param] for i in idx],
        y=[trials[i].params[y_param] for i in idx],
        marker={"color": [colors[i] for i in idx], "cmin": 0, "cmax": 1,
                "line": {"width": 0.5, "color": "Grey"}},
        mode="markers", showlegend=False, hovertemplate="%{hovertext}<extra></extra>",
        hovertext=[_hover(trials[i], target_name, values[i], custom) for i in idx])


def _style_axes(fig, xaxis, yaxis, **cell):
    fig.update_xaxes(range=list(xaxis.range), **cell)
    fig.update_yaxes(range=list(yaxis.range), **cell)
    for axis, update in ((xaxis, fig.update_xaxes), (yaxis, fig.update_yaxes)):
        if axis.is_cat:
            update(type="category", **cell)
        if axis.is_log:
            update(range=[math.log10(p) for p in axis.range], type="log", **cell)


def plot_rank(study, params=None, *, target=None, target_name="Objective Value"):
    """Optuna's plot_rank: for each pair of params (all, or ``params``) the COMPLETE trials as
    points colored by the rank of their objective value (blue: lowest, red: highest), with a
    color bar labelled by the values' quantiles; log params on log axes."""
    if PLOTLY_VERSION < (5, 0, 0):
        raise ImportError("plot_rank needs plotly 5.0 or newer (found %s)" % plotly.__version__)
    check_plot_args(study, target, target_name)
    trials = complete_trials(study)
    present = {p for t in trials for p in t.params}
    if not trials:
        _log.warning("Your study does not have any completed trials.")
        names = []
    elif params is None:
        names = sorted(present)
    else:
        for p in params:
            if p not in present:
                raise ValueError("Parameter %s does not exist in your study." % p)
        names = list(params)
    if not names:
        _log.warning("params is an empty list.")
    layout = go.Layout(title="Rank (%s)" % target_name)
    if not names:
        return go.Figure(data=[], layout=layout)

    custom = target is not None
    value = target_or_value(target)
    values = [value(t) for t in trials]
    ranks = _ranks(values)
    n = len(trials)
    colors = plotly.colors.sample_colorscale(
        COLORMAP, [r / (n - 1) for r in ranks] if n >= 2 else [0.5] * n)
    axes = {p: _Axis(trials, p) for p in names}

    if len(names) == 2:
        xp, yp = names
        fig = go.Figure(data=[_scatter(trials, values, colors, xp, yp, target_name, custom)],
                        layout=layout)
        fig.update_xaxes(title_text=xp)
        fig.update_yaxes(title_text=yp)
        _style_axes(fig, axes[xp], axes[yp])
    else:
        k = len(names)
        fig = make_subplots(rows=k, cols=k, shared_xaxes=True, shared_yaxes=True,
                            horizontal_spacing=0.08 / k, vertical_spacing=0.08 / k)
        fig.update_layout(layout)
        for xi, xp in enumerate(names):
            for yi, yp in enumerate(names):
                cell = {"row": yi + 1, "col": xi + 1}
                fig.add_trace(_scatter(trials, values, colors, xp, yp, target_name, custom),
                              **cell)
                _style_axes(fig, axes[xp], axes[yp], **cell)
                if xi == 0:
                    fig.update_yaxes(title_text=yp, **cell)
                if yi == k - 1:
                    fig.update_xaxes(title_text=xp, **cell)

    ordered = sorted(values)
    qs = [0, 0.25, 0.5, 0.75, 1]
    labels = ["min.", "25%", "50%", "75%", "max."]
    ticktext = ["%s (%s)" % (lab, format(quantile(ordered, q), "3g"))
                for lab, q in zip(labels, qs)]
    fig.add_trace(go.Scatter(
        x=[None], y=[None], mode="markers", hoverinfo="none", showlegend=False,
        marker={"colorscale": COLORMAP, "showscale": True, "cmin": 0, "cmax": 1,
                "colorbar": {"thickness": 10, "tickvals": qs, "ticktext": ticktext}}))
    return fig
