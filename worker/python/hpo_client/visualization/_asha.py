# hpo_client.visualization._asha: plot_asha (hpo's, not Optuna's) over /asha.
from .. import _plotdata
from ._plotly import go


def plot_asha(study):
    """The rungs of a study whose pruner is ASHA (hpo's, not an Optuna function): per rung,
    the trials that reached it, that wait (paused) at it and that were promoted past it, as
    grouped bars. Empty for another pruner."""
    _plotdata.check_study(study)
    rungs = _plotdata.asha(study).get("rungs") or []
    layout = go.Layout(title="ASHA Rungs", xaxis={"title": "Rung (resource)"},
                       yaxis={"title": "Trials"}, barmode="group")
    if not rungs:
        return go.Figure(data=[], layout=layout)
    labels = ["%d (%s)" % (r["rung"], r["resource"]) for r in rungs]
    traces = [go.Bar(name=key, x=labels, y=[r.get(key, 0) for r in rungs])
              for key in ("reached", "paused", "promoted")]
    return go.Figure(data=traces, layout=layout)
