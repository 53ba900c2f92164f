# hpo_client._plotdata: the server's plot-data endpoints (/columns, /history, /edf, /importance,
# /asha) read through a Study's client, for hpo_client.visualization and hpo_client.importance.
"""Reads the plot-data endpoints of a study (standard library only).

``columns(study)`` keeps the study's trials per Study object and, once it has them, asks the
server only for the trials that changed since the version it holds (``/columns?since=V``), so
plotting a large study again costs what changed, not the whole study.
"""

import collections
import copy
import threading
import urllib.parse
import weakref

from .distributions import from_json
from .study import Study
from .trial import FrozenTrial, TrialState

Columns = collections.namedtuple("Columns", "trials distributions directions counts version")
Columns.__doc__ = """The trials of a study (FrozenTrials by number), its params' distributions
({name: distribution}), its directions (["minimize", ...]), its counts by state and the
server's version of it."""


def check_study(study):
    """``study`` must be an hpo_client Study (one read from the server)."""
    if not isinstance(study, Study):
        raise TypeError("expected an hpo_client Study (from hpo_client.create_study or "
                        "load_study), got %s" % type(study).__name__)


def n_objectives(study):
    return len(study._config.get("directions") or ["minimize"])


def get(study, endpoint, **query):
    """GET /studies/{study}/{endpoint}?query through the study's client (None values left
    out, booleans as true/false)."""
    q = {}
    for k, v in query.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, (list, tuple)):
            v = ",".join(str(x) for x in v)
        q[k] = v
    path = study._path + "/" + endpoint
    if q:
        path += "?" + urllib.parse.urlencode(q)
    return study._client.get(path)


class _Cache:
    def __init__(self):
        self.lock = threading.Lock()
        self.version = None
        self.intermediate = False
        self.trials = {}
        self.distributions = {}
        self.directions = None
        self.counts = {}


_caches = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def columns(study, intermediate=True):
    """The study's trials (a Columns), from ``/columns``: the first call reads them all, a later
    one only those that changed since (upserted by number). ``intermediate=False`` leaves the
    learning curves out of a first read."""
    check_study(study)
    with _caches_lock:
        cache = _caches.get(study)
        if cache is None:
            cache = _caches[study] = _Cache()
    with cache.lock:
        since = cache.version
        if intermediate and not cache.intermediate:
            since = None  # the curves were left out so far: read everything once with them
        want = bool(intermediate or (since is not None and cache.intermediate))
        doc = get(study, "columns", since=since, intermediate=want)
        fresh = FrozenTrial.from_columns(doc)
        if since is None or doc.get("full", True):
            cache.trials = {}
        for t in fresh:
            cache.trials[t.number] = t
        cache.distributions.update({k: from_json(v)
                                    for k, v in (doc.get("params") or {}).items()})
        cache.version = doc.get("version")
        cache.intermediate = want
        cache.directions = list(doc.get("directions") or study._config.get("directions")
                                or ["minimize"])
        cache.counts = dict(doc.get("counts") or {})
        trials = []
        for n in sorted(cache.trials):
            t = copy.copy(cache.trials[n])
            # user attributes live in this process (Trial.set_user_attr): as they are now
            t.user_attrs = dict(study._trial_user_attrs.get(n) or {})
            t.params = dict(t.params)
            t.distributions = dict(t.distributions)
            t.intermediate_values = dict(t.intermediate_values)
            trials.append(t)
        return Columns(trials, dict(cache.distributions), list(cache.directions),
                       dict(cache.counts), cache.version)


def trials(study, states=None, intermediate=False):
    """The study's FrozenTrials by number, only those in ``states`` (TrialStates) if given."""
    ts = columns(study, intermediate).trials
    if states is None:
        return ts
    states = tuple(states)
    return [t for t in ts if t.state in states]


def complete_trials(study):
    return trials(study, (TrialState.COMPLETE,))


def history(study, objective=0):
    """``/history``: {objective, direction, number: [...], value: [...], best: [...]} of the
    COMPLETE trials in number order."""
    check_study(study)
    return get(study, "history", objective=objective)


def edf(study, objective=0):
    """``/edf``: {objective, values: [ascending], probability: [...]} of the COMPLETE
    trials."""
    check_study(study)
    return get(study, "edf", objective=objective)


def importance(study, evaluator="fanova", params=None, objective=0, seed=None):
    """``/importance``: {evaluator, objective, n_trials, importances: [{param, importance},
    ...]} sorted descending."""
    check_study(study)
    return get(study, "importance", evaluator=evaluator, params=params, objective=objective,
               seed=seed)


def asha(study):
    """``/asha``: {rungs: [{rung, resource, reached, paused, promoted}], promotions: [...]}."""
    check_study(study)
    return get(study, "asha")
