# hpo_client.visualization._param_importances: plot_param_importances over /importance.
from .. import _plotdata
from .. import importance as _importance
from ..trial import TrialState
from ._plotly import go, plotly
from ._utils import _log, check_plot_args, filter_nonfinite


def plot_param_importances(study, evaluator=None, params=None, *, target=None,
                           target_name="Objective Value"):
    """Optuna's plot_param_importances: the params' importances as the server computes them
    (``evaluator``: hpo_client.importance.FanovaImportanceEvaluator (default) or
    PedAnovaImportanceEvaluator, Optuna's evaluators of those names, or "fanova" /
    "ped_anova"), as horizontal bars, the most important on top. ``target`` must select an
    objective (``lambda t: t.values[k]``): the server computes from the objective's values."""
    check_plot_args(study, target, target_name)
    cols = _plotdata.columns(study, intermediate=False)
    complete = [t for t in cols.trials if t.state == TrialState.COMPLETE]
    layout = go.Layout(title="Hyperparameter Importances",
                       xaxis={"title": "Importance for %s" % target_name},
                       yaxis={"title": "Hyperparameter"}, showlegend=False)
    if not filter_nonfinite(complete, target):
        _log.warning("Study instance does not contain completed trials.")
        return go.Figure(data=[], layout=layout)
    importances = _importance.get_param_importances(study, evaluator=evaluator, params=params,
                                                    target=target)
    if not importances:
        return go.Figure(data=[], layout=layout)
    items = list(importances.items())[::-1]  # the most important last: drawn on top
    names = [p for p, _ in items]
    values = [v for _, v in items]
    hover = ["%s (%s): %s<extra></extra>"
             % (p, type(cols.distributions[p]).__name__ if p in cols.distributions else "?", v)
             for p, v in items]
    bar = go.Bar(x=values, y=names,
                 text=["%.2f" % v if v >= 0.01 else "<0.01" for v in values],
                 textposition="outside", cliponaxis=False, hovertemplate=hover,
                 marker_color=plotly.colors.sequential.Blues[-4], orientation="h")
    return go.Figure(data=[bar], layout=layout)
