# hpo_client.visualization._timeline: plot_timeline over /columns.
import datetime
import json

from .. import _plotdata
from ..trial import TrialState
from ._plotly import go
from ._utils import _log

# Optuna's colors, plus hpo's PAUSED (ASHA: waiting at a rung)
COLORS = {"COMPLETE": "blue", "FAIL": "red", "PAUSED": "purple", "PRUNED": "orange",
          "RUNNING": "green", "WAITING": "gray"}


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _local(dt):
    """The local wall-clock time of an aware datetime, as Optuna shows its (naive, local)
    datetimes on the axis."""
    return dt.astimezone().replace(tzinfo=None)


def _hovertext(t):
    doc = {"number": t.number, "values": t.values, "params": t.params}
    if t.user_attrs:
        doc["user_attrs"] = t.user_attrs
    return json.dumps(doc, indent=2, default=str).replace("\n", "<br>")


def _latest(trials):
    """Where the bars of running trials end: now while a trial runs (one that started less
    than 5 times the longest run ago), else the last completion."""
    durations = [t.datetime_complete - t.datetime_start for t in trials
                 if t.datetime_complete is not None and t.datetime_start is not None]
    now = _now()
    if not durations:
        if trials:
            return now
    else:
        longest = max(durations).total_seconds()
        for t in trials:
            if t.state == TrialState.RUNNING and \
                    (now - (t.datetime_start or now)).total_seconds() < 5 * longest:
                return now
    return max((t.datetime_complete for t in trials if t.datetime_complete is not None),
               default=now)


def plot_timeline(study):
    """Optuna's plot_timeline: each trial as a horizontal bar from its start to its end
    (running ones up to now), colored by state, on a date axis."""
    _plotdata.check_study(study)
    trials = _plotdata.trials(study)
    latest = _latest(trials)
    bars = []
    for t in trials:
        start = t.datetime_start or latest
        if t.state == TrialState.RUNNING:
            end = latest + datetime.timedelta(seconds=1)
        else:
            end = t.datetime_complete or start
        if end < start:
            _log.warning("The start and end times for Trial %d seem to be reversed. The start "
                         "time is %s and the end time is %s." % (t.number, start, end))
        bars.append((t, start, end))
    if not bars:
        _log.warning("Your study does not have any trials.")

    fig = go.Figure()
    for state in sorted(TrialState, key=lambda s: s.name):
        group = [b for b in bars if b[0].state == state]
        if not group:
            continue
        name = state.name
        fig.add_trace(go.Bar(
            name=name,
            x=[(end - start).total_seconds() * 1000 for _, start, end in group],
            y=[t.number for t, _, _ in group],
            base=[_local(start).isoformat() for _, start, _ in group],
            text=[_hovertext(t) for t, _, _ in group],
            hovertemplate="%{text}<extra>" + name + "</extra>",
            orientation="h", marker={"color": COLORS.get(name, "gray")},
            textposition="none"))
    fig.update_xaxes(type="date")
    fig.update_layout(go.Layout(title="Timeline Plot", xaxis={"title": "Datetime"},
                                yaxis={"title": "Trial"}))
    fig.update_layout(showlegend=True)
    return fig
