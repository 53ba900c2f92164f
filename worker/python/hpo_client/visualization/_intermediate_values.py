# hpo_client.visualization._intermediate_values: plot_intermediate_values over /columns.
from .. import _plotdata
from ..trial import TrialState
from ._plotly import go
from ._utils import _log

# Optuna's states, plus hpo's PAUSED (an ASHA trial waiting at a rung has a learning curve)
_STATES = (TrialState.PRUNED, TrialState.COMPLETE, TrialState.RUNNING, TrialState.PAUSED)


def plot_intermediate_values(study):
    """Optuna's plot_intermediate_values: the learning curve (intermediate values by step) of
    every PRUNED, COMPLETE, RUNNING or PAUSED trial that reported one."""
    _plotdata.check_study(study)
    trials = _plotdata.trials(study, _STATES, intermediate=True)
    curves = [(t.number, sorted(t.intermediate_values.items()))
              for t in trials if t.intermediate_values]
    if not trials:
        _log.warning("Study instance does not contain trials.")
    elif not curves:
        _log.warning("You need to set up the pruning feature to utilize "
                     "`plot_intermediate_values()`")
    layout = go.Layout(title="Intermediate Values Plot", xaxis={"title": "Step"},
                       yaxis={"title": "Intermediate Value"}, showlegend=False)
    traces = [go.Scatter(x=tuple(s for s, _ in curve), y=tuple(v for _, v in curve),
                         mode="lines+markers", marker={"maxdisplayed": 10},
                         name="Trial%d" % number)
              for number, curve in curves]
    return go.Figure(data=traces, layout=layout)
