# hpo_client.visualization._edf: plot_edf over /edf.
import bisect

from .. import _plotdata
from ._plotly import go
from ._utils import (_log, as_studies, check_plot_args, complete_trials, filter_nonfinite,
                     linspace)

NUM_SAMPLES_X_AXIS = 100


def _values(study, target):
    """The study's COMPLETE trials' (finite) target values, ascending."""
    if target is None:
        return sorted(_plotdata.edf(study, 0)["values"])
    return sorted(float(target(t)) for t in filter_nonfinite(complete_trials(study), target))


def plot_edf(study, *, target=None, target_name="Objective Value"):
    """Optuna's plot_edf: the empirical distribution function of the COMPLETE trials' values
    (from the server's /edf) of one study or several, over 100 points from the smallest value to
    the largest."""
    studies = as_studies(study)
    check_plot_args(studies, target, target_name)
    layout = go.Layout(title="Empirical Distribution Function Plot",
                       xaxis={"title": target_name}, yaxis={"title": "Cumulative Probability"})
    if not studies:
        _log.warning("There are no studies.")
        return go.Figure(data=[], layout=layout)
    all_values = [_values(s, target) for s in studies]
    if all(len(v) == 0 for v in all_values):
        _log.warning("There are no complete trials.")
        return go.Figure(data=[], layout=layout)
    lo = min(v[0] for v in all_values if v)
    hi = max(v[-1] for v in all_values if v)
    xs = linspace(lo, hi, NUM_SAMPLES_X_AXIS)
    traces = []
    for s, values in zip(studies, all_values):
        n = len(values)
        ys = [bisect.bisect_right(values, x) / n if n else float("nan") for x in xs]
        traces.append(go.Scatter(x=xs, y=ys, name=s.study_name, mode="lines"))
    fig = go.Figure(data=traces, layout=layout)
    fig.update_yaxes(range=[0, 1])
    return fig
