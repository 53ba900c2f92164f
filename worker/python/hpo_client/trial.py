# hpo_client.trial: TrialState, FrozenTrial (a finished or listed trial) and Trial (a running one).
"""Trials, as Optuna's: :class:`Trial` is handed to the objective (define-by-run ``suggest_*``
through the server, ``report``/``should_prune``); :class:`FrozenTrial` is a snapshot read from
the server."""

import datetime
import decimal
import enum
import os
import socket
import tempfile
import threading
import warnings

from . import distributions as _dist
from ._http import quote
from .exceptions import ConflictError
from .logging import get_logger

_log = get_logger(__name__)

# Where Optuna keeps the generation an evolutionary sampler made a trial in (a system attribute),
# by the server's sampler type.
# (CMA-ES: Optuna counts per restart under "cma:restart_N:generation"; hpo counts on across
# restarts, so one key.)
GENERATION_KEYS = {"nsga2": "nsga2:generation", "cmaes": "cma:generation"}


class TrialState(enum.Enum):
    """Optuna's trial states (same numbers) plus hpo's PAUSED (ASHA, waiting at a rung)."""

    RUNNING = 0
    COMPLETE = 1
    PRUNED = 2
    FAIL = 3
    WAITING = 4
    PAUSED = 5

    def __repr__(self):
        return "TrialState.%s" % self.name

    def is_finished(self):
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

    @classmethod
    def from_wire(cls, s):
        return _FROM_WIRE[s]

    def to_wire(self):
        return _TO_WIRE[self]


_FROM_WIRE = {"running": TrialState.RUNNING, "complete": TrialState.COMPLETE,
              "pruned": TrialState.PRUNED, "fail": TrialState.FAIL,
              "waiting": TrialState.WAITING, "paused": TrialState.PAUSED}
_TO_WIRE = {v: k for k, v in _FROM_WIRE.items()}


def parse_state(state):
    """A TrialState from a TrialState, its name or the server's word."""
    if state is None or isinstance(state, TrialState):
        return state
    if isinstance(state, str):
        s = state.strip()
        if s.lower() in _FROM_WIRE:
            return _FROM_WIRE[s.lower()]
        return TrialState[s.upper()]
    raise TypeError("not a trial state: %r" % (state,))


def parse_time(s):
    """A timezone-aware UTC datetime from the server's ISO-8601 text (None stays None)."""
    if not s:
        return None
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def _from_ms(ms):
    """A timezone-aware UTC datetime from milliseconds since the epoch (None stays None)."""
    if ms is None:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)


class FrozenTrial:
    """A trial as the server last described it (Optuna's FrozenTrial)."""

    def __init__(self, number, state, values, params, distributions, intermediate_values,
                 datetime_start=None, datetime_complete=None, user_attrs=None,
                 system_attrs=None, fail_reason=None, worker=None, study_name=None,
                 datetime_created=None, retry_of=None, retried_by=None, preempted=False,
                 constraints=None, generation=None, generation_key=None):
        self.number = number
        self._trial_id = number
        self.state = state
        self.values = None if values is None else list(values)
        self.params = dict(params)
        self.distributions = dict(distributions)
        self.intermediate_values = dict(intermediate_values)
        self.datetime_start = datetime_start
        self.datetime_complete = datetime_complete
        self.datetime_created = datetime_created
        self.user_attrs = dict(user_attrs or {})
        self.system_attrs = dict(system_attrs or {})
        # the constraints told with the finish (constraints_func), where Optuna keeps them
        self.constraints = None if constraints is None else tuple(constraints)
        if self.constraints is not None:
            self.system_attrs["constraints"] = self.constraints
        # the generation an evolutionary sampler made the trial in (None: none), also where
        # Optuna's sampler keeps it (generation_key: "nsga2:generation" under NSGA-II)
        self.generation = generation
        if generation is not None and generation_key is not None:
            self.system_attrs[generation_key] = generation
        self.fail_reason = fail_reason
        self.worker = worker
        self.study_name = study_name
        # the study's retry policy: the failed trial this one runs again, the trial that runs
        # this one again (numbers or None), and whether it failed because its worker was stopped
        self.retry_of = retry_of
        self.retried_by = retried_by
        self.preempted = bool(preempted)

    @classmethod
    def from_json(cls, d, user_attrs=None, generation_key=None):
        dists = {k: _dist.from_json(v) for k, v in (d.get("distributions") or {}).items()}
        params = {}
        for k, v in (d.get("params") or {}).items():
            params[k] = dists[k].to_external_repr(v) if k in dists else v
        values = d.get("values")
        if values is None and d.get("value") is not None:
            values = [d["value"]]
        ivs = {int(iv["step"]): iv["value"] for iv in d.get("intermediate_values") or []}
        return cls(d["number"], TrialState.from_wire(d["state"]), values, params, dists, ivs,
                   parse_time(d.get("datetime_start")), parse_time(d.get("datetime_complete")),
                   user_attrs, None, d.get("fail_reason"), d.get("worker"), d.get("study"),
                   parse_time(d.get("datetime_created")), d.get("retry_of"),
                   d.get("retried_by"), d.get("preempted", False), d.get("constraints"),
                   d.get("generation"), generation_key)

    @classmethod
    def from_columns(cls, doc, user_attrs=None):
        """The FrozenTrials of a ``GET /studies/{s}/columns`` answer (trials in columnar form:
        one list per field, the params' distributions once at the top), by number.
        ``user_attrs``: {number: dict}, as this process keeps them."""
        dists = {k: _dist.from_json(v) for k, v in (doc.get("params") or {}).items()}
        cols = doc.get("trials") or {}
        numbers = cols.get("number") or []
        n = len(numbers)

        def col(name):
            c = cols.get(name)
            return c if c is not None else [None] * n

        states, values, starts, ends = col("state"), col("values"), col("started_ms"), \
            col("finished_ms")
        workers, reasons, curves = col("worker"), col("fail_reason"), col("intermediate")
        retry_of, retried_by, preempted = col("retry_of"), col("retried_by"), col("preempted")
        constraints = col("constraints")
        pcols = {k: v for k, v in (cols.get("params") or {}).items() if v is not None}
        out = []
        for i in range(n):
            params, pdists = {}, {}
            for k, c in pcols.items():
                v = c[i]
                if v is None:
                    continue
                d = dists.get(k)
                params[k] = d.to_external_repr(v) if d is not None else v
                if d is not None:
                    pdists[k] = d
            curve = curves[i] or {}
            ivs = {int(s): v for s, v in zip(curve.get("steps") or [], curve.get("values") or [])}
            out.append(cls(numbers[i], TrialState.from_wire(states[i]), values[i], params, pdists,
                           ivs, _from_ms(starts[i]), _from_ms(ends[i]),
                           (user_attrs or {}).get(numbers[i]), None, reasons[i], workers[i],
                           doc.get("study"), None, retry_of[i], retried_by[i],
                           preempted[i] or False, constraints[i]))
        return out

    @property
    def value(self):
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise RuntimeError("This attribute is not available during multi-objective "
                               "optimization; use values.")
        return self.values[0]

    @property
    def duration(self):
        if self.datetime_start and self.datetime_complete:
            return self.datetime_complete - self.datetime_start
        return None

    @property
    def last_step(self):
        return max(self.intermediate_values) if self.intermediate_values else None

    def __eq__(self, other):
        return isinstance(other, FrozenTrial) and self.__dict__ == other.__dict__

    def __lt__(self, other):
        return self.number < other.number

    def __repr__(self):
        return ("FrozenTrial(number=%d, state=%r, values=%r, params=%r, intermediate_values=%r)"
                % (self.number, self.state, self.values, self.params, self.intermediate_values))


def create_trial(*, state=TrialState.COMPLETE, value=None, values=None, params=None,
                 distributions=None, user_attrs=None, system_attrs=None,
                 intermediate_values=None):
    """A FrozenTrial to pass to Study.add_trial (Optuna's optuna.trial.create_trial)."""
    if value is not None and values is not None:
        raise ValueError("Specify only one of value and values.")
    if value is not None:
        values = [value]
    return FrozenTrial(-1, parse_state(state), values, params or {}, distributions or {},
                       intermediate_values or {}, user_attrs=user_attrs,
                       system_attrs=system_attrs)


def _adjust_high(low, high, step, kind):
    """Optuna's rule: shrink high onto the last point low + k*step (with a warning)."""
    if kind == "int":
        r = (high - low) % step
        if r == 0:
            return high
        new = high - r
    else:
        d_low, d_high, d_step = (decimal.Decimal(str(x)) for x in (low, high, step))
        r = (d_high - d_low) % d_step
        if r == 0:
            return high
        new = float((d_high - d_low) // d_step * d_step + d_low)
    warnings.warn("The distribution is specified by [%s, %s] and step=%s, but the range is not "
                  "divisible by `step`. It will be replaced by [%s, %s]."
                  % (low, high, step, low, new), UserWarning, stacklevel=4)
    return new


def worker_name():
    return "python/%s/%d" % (socket.gethostname(), os.getpid())


class Trial:
    """A running trial (Optuna's Trial), bound to the server.

    ``resource``/``resume`` come from ask under an ASHA pruner; ``checkpoint_dir`` is a folder
    to save model state in (per trial number, kept for the Study's lifetime; under hpo-worker,
    HPO_CHECKPOINT_DIR)."""

    def __init__(self, client, study_name, data, study=None, checkpoint_dir=None,
                 worker_mode=False):
        self._client = client
        self._study_name = study_name
        self.study = study
        self.number = int(data["number"])
        self._trial_id = self.number
        self._params = {}
        self._distributions = {}
        for k, v in (data.get("distributions") or {}).items():
            self._distributions[k] = _dist.from_json(v)
        for k, v in (data.get("params") or {}).items():
            d = self._distributions.get(k)
            self._params[k] = d.to_external_repr(v) if d else v
        self._suggested = {}
        self.resource = data.get("resource")
        self.resume = data.get("resume")
        self.datetime_start = parse_time(data.get("datetime_start"))
        self.intermediate_values = {int(iv["step"]): iv["value"]
                                    for iv in data.get("intermediate_values") or []}
        self.user_attrs = {}
        self.system_attrs = {}
        key = study._generation_key if study is not None else None
        if key is not None and data.get("generation") is not None:
            self.system_attrs[key] = data["generation"]
        self._action = "continue"
        self._checkpoint_dir = checkpoint_dir
        self._worker_mode = worker_mode
        self._lock = threading.Lock()
        self._path = "/studies/%s/trials/%d" % (quote(study_name), self.number)

    # ---- define-by-run ----

    @property
    def params(self):
        """The params the trial has (sampled at ask, and suggested since)."""
        return dict(self._params)

    @property
    def distributions(self):
        return dict(self._distributions)

    def _suggest(self, name, dist):
        if not isinstance(name, str):
            raise TypeError("a param name must be a str (got %r)" % (name,))
        dj = dist.to_json()
        with self._lock:
            cached = self._suggested.get(name)
        if cached is not None and cached[0] == dj:
            return cached[1]
        try:
            ans = self._client.post(self._path + "/suggest",
                                    {"name": name, "distribution": dj}).body
            value = dist.to_external_repr(ans["value"])
        except ConflictError as e:
            value = self._grid_value(name, dist, e)
        with self._lock:
            self._suggested[name] = (dj, value)
            self._params[name] = value
            self._distributions[name] = dist
        return value

    def _grid_value(self, name, dist, err):
        """GridSampler: the declared param is categorical (the grid's values); a suggest_float
        or suggest_int of the same name takes the grid's value."""
        if err.code != "conflict" or isinstance(dist, _dist.CategoricalDistribution):
            raise err
        cfg = self.study._config if self.study is not None else self._client.get(
            "/studies/%s" % quote(self._study_name))
        declared = (cfg.get("search_space") or {}).get(name)
        if ((cfg.get("sampler") or {}).get("type") != "grid" or not declared
                or declared.get("type") != "categorical" or name not in self._params):
            raise err
        value = self._params[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise err
        if not dist.low <= value <= dist.high:
            warnings.warn("The value `%r` is out of range of the parameter `%s`. The value will "
                          "be used but the actual distribution is: `%r`." % (value, name, dist),
                          UserWarning, stacklevel=3)
        return dist.to_external_repr(value)

    def suggest_float(self, name, low, high, *, step=None, log=False):
        if step is not None:
            if log:
                raise ValueError("The parameter `step` is not supported when `log` is true.")
            high = _adjust_high(low, high, step, "float")
        return self._suggest(name, _dist.FloatDistribution(low, high, log, step))

    def suggest_int(self, name, low, high, step=1, log=False):
        if step != 1:
            if log:
                raise ValueError("The parameter `step` > 1 is not supported when `log` is true.")
            high = _adjust_high(int(low), int(high), int(step), "int")
        return self._suggest(name, _dist.IntDistribution(low, high, log, step))

    def suggest_categorical(self, name, choices):
        return self._suggest(name, _dist.CategoricalDistribution(choices))

    def suggest_uniform(self, name, low, high):
        warnings.warn("suggest_uniform is deprecated; use suggest_float", FutureWarning, 2)
        return self.suggest_float(name, low, high)

    def suggest_loguniform(self, name, low, high):
        warnings.warn("suggest_loguniform is deprecated; use suggest_float(..., log=True)",
                      FutureWarning, 2)
        return self.suggest_float(name, low, high, log=True)

    def suggest_discrete_uniform(self, name, low, high, q):
        warnings.warn("suggest_discrete_uniform is deprecated; use suggest_float(..., step=q)",
                      FutureWarning, 2)
        return self.suggest_float(name, low, high, step=q)

    # ---- reports and pruning ----

    def report(self, value, step):
        """Reports an intermediate value at ``step`` (an int >= 0); the server's answer
        (continue / prune / pause) is kept for should_prune()."""
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError("The `value` argument is of type '%s' but supposed to be a float."
                            % type(value).__name__) from None
        if isinstance(step, bool) or not isinstance(step, int) and not (
                hasattr(step, "__index__")):
            raise TypeError("The `step` argument is of type '%s' but supposed to be an int."
                            % type(step).__name__)
        step = int(step)
        if step < 0:
            raise ValueError("The `step` argument is %d but cannot be negative." % step)
        if self._worker_mode:
            # hpo-worker reads this line too, so it knows the answer when the command exits.
            print("hpo: step=%d value=%r" % (step, value), flush=True)
        ans = self._client.post(self._path + "/reports", {"step": step, "value": value}).body
        self._action = ans.get("action", "continue")
        self.intermediate_values.setdefault(step, value)

    def heartbeat(self):
        """Tells the server the trial is alive; returns (and keeps) the pending action."""
        ans = self._client.post(self._path + "/heartbeat", {"worker": worker_name()}).body
        self._action = ans.get("action", "continue")
        return self._action

    @property
    def action(self):
        """The server's last answer to a report or heartbeat: continue, prune or pause."""
        return self._action

    def should_prune(self):
        """True when the last report (or heartbeat) answered prune, or pause under ASHA (stop
        training: Study.optimize then leaves a paused trial paused, not pruned)."""
        return self._action in ("prune", "pause")

    def should_pause(self):
        """True when the last report answered pause (ASHA: save a checkpoint and stop)."""
        return self._action == "pause"

    # ---- attributes ----

    def set_user_attr(self, key, value):
        """Kept in this process only (the server does not store trial attributes yet): shown in
        the FrozenTrials this Study object returns."""
        self.user_attrs[key] = value
        if self.study is not None:
            self.study._trial_user_attrs.setdefault(self.number, {})[key] = value

    def set_system_attr(self, key, value):
        self.system_attrs[key] = value

    @property
    def checkpoint_dir(self):
        """A folder for this trial's checkpoint: under hpo-worker HPO_CHECKPOINT_DIR (uploaded
        on pause, restored on resume by the worker); standalone, <temp>/<trial number> of the
        Study object, so a promoted trial finds what it saved when it paused in this process."""
        if self._checkpoint_dir is None:
            root = self.study.checkpoint_root if self.study is not None else tempfile.mkdtemp(
                prefix="hpo-ckpt-")
            self._checkpoint_dir = os.path.join(root, str(self.number))
        os.makedirs(self._checkpoint_dir, exist_ok=True)
        return self._checkpoint_dir

    def __repr__(self):
        return "Trial(study=%r, number=%d, params=%r)" % (self._study_name, self.number,
                                                          self._params)
