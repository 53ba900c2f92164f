# hpo_client.study: Study (ask/tell/optimize against the server) and create/load/delete_study.
"""Optuna's Study API over the hpo server."""

import atexit
import copy
import enum
import gc
import math
import os
import shutil
import tempfile
import threading
import time
import uuid
import warnings

from . import distributions as _dist
from . import pruners as _pruners
from . import samplers as _samplers
from ._http import client_for, quote
from .exceptions import (NotFoundError, StudyCompleteError, TrialFinishedError, TrialPaused,
                         TrialPruned)
from .logging import get_logger
from .trial import GENERATION_KEYS, FrozenTrial, Trial, TrialState, parse_state, worker_name

_log = get_logger(__name__)


class StudyDirection(enum.Enum):
    """Optuna's StudyDirection."""

    NOT_SET = 0
    MINIMIZE = 1
    MAXIMIZE = 2

    def __repr__(self):
        return "StudyDirection.%s" % self.name


def _direction_word(d):
    if isinstance(d, StudyDirection):
        d = d.name
    if isinstance(d, str) and d.lower() in ("minimize", "maximize"):
        return d.lower()
    raise ValueError("Please set either 'minimize' or 'maximize' to direction (got %r)." % (d,))


class Study:
    """A study on an hpo server (Optuna's Study). Thread-safe: optimize(n_jobs=K) runs K
    threads."""

    def __init__(self, study_name, storage=None, config=None):
        self._client = client_for(storage)
        self.study_name = study_name
        self._path = "/studies/%s" % quote(study_name)
        self._config = config if config is not None else self._client.get(self._path)
        self._trial_user_attrs = {}
        self._enqueued = []
        self._user_attrs = dict(self._config.get("user_attrs") or {})
        self._stop_flag = False
        self._live = {}
        self._live_lock = threading.Lock()
        self._hb_thread = None
        self._ckpt_root = None
        self._ckpt_owned = False
        # the sampler's constraints_func (create_study / load_study): evaluated here at tell
        self._constraints_func = None

    # ---- configuration ----

    @property
    def directions(self):
        return [StudyDirection[d.upper()] for d in self._config["directions"]]

    @property
    def direction(self):
        ds = self.directions
        if len(ds) != 1:
            raise RuntimeError("This attribute is not available during multi-objective "
                               "optimization; use directions.")
        return ds[0]

    @property
    def _is_multi(self):
        return len(self._config["directions"]) > 1

    @property
    def sampler(self):
        """The server's sampler configuration (a dict with every option)."""
        return dict(self._config.get("sampler") or {})

    @property
    def pruner(self):
        """The server's pruner configuration (a dict with every option)."""
        return dict(self._config.get("pruner") or {})

    @property
    def retry(self):
        """The server's retry policy (a dict with every option)."""
        return dict(self._config.get("retry") or {})

    @property
    def search_space(self):
        return {k: _dist.from_json(v) for k, v in (self._config.get("search_space") or {}).items()}

    @property
    def max_trials(self):
        return self._config.get("max_trials")

    @property
    def user_attrs(self):
        return copy.deepcopy(self._user_attrs)

    @property
    def system_attrs(self):
        return {}

    def set_user_attr(self, key, value):
        """Kept in this process only (the server takes a study's user_attrs at creation:
        create_study(user_attrs=...))."""
        self._user_attrs[key] = value

    def set_system_attr(self, key, value):
        pass

    def refresh(self):
        """Reads the study's configuration and counts again."""
        self._config = self._client.get(self._path)
        return self._config

    @property
    def checkpoint_root(self):
        """The folder under which Trial.checkpoint_dir lies (a temp folder, removed at exit,
        unless you set one)."""
        if self._ckpt_root is None:
            self._ckpt_root = tempfile.mkdtemp(prefix="hpo-%s-" % self.study_name[:40])
            self._ckpt_owned = True
            atexit.register(shutil.rmtree, self._ckpt_root, True)
        return self._ckpt_root

    @checkpoint_root.setter
    def checkpoint_root(self, path):
        os.makedirs(path, exist_ok=True)
        self._ckpt_root = path
        self._ckpt_owned = False

    # ---- reading trials ----

    @property
    def _generation_key(self):
        """The system attribute Optuna's sampler keeps a trial's generation under, or None."""
        return GENERATION_KEYS.get((self._config.get("sampler") or {}).get("type"))

    def _frozen(self, d):
        return FrozenTrial.from_json(d, self._trial_user_attrs.get(d["number"]),
                                     self._generation_key)

    def _list(self, state=None):
        out, after = [], None
        while True:
            q = "?limit=1000"
            if state is not None:
                q += "&state=" + state.to_wire()
            if after is not None:
                q += "&after=%d" % after
            page = self._client.get(self._path + "/trials" + q)
            out.extend(self._frozen(t) for t in page["trials"])
            after = page.get("next_after")
            if after is None:
                return out

    def get_trials(self, deepcopy=True, states=None):
        """The trials, by number; ``states`` filters (a container of TrialState)."""
        if states is None:
            return self._list()
        states = [parse_state(s) for s in states]
        if len(states) == 1:
            return self._list(states[0])
        return sorted(t for t in self._list() if t.state in states)

    @property
    def trials(self):
        return self.get_trials()

    def get_trial(self, number):
        return self._frozen(self._client.get(self._path + "/trials/%d" % number))

    @property
    def best_trial(self):
        if self._is_multi:
            raise RuntimeError("A single best trial cannot be retrieved from a multi-objective "
                               "study. Consider using Study.best_trials.")
        try:
            return self._frozen(self._client.get(self._path + "/best"))
        except NotFoundError as e:
            if "feasible" in e.message:  # a constrained study (Optuna >= 4.0's wording)
                raise ValueError("No feasible trials are completed yet (%s)." % e.message) from e
            if "complete" in e.message or "best" in e.message:
                raise ValueError("No trials are completed yet (%s)." % e.message) from e
            raise

    @property
    def best_params(self):
        return self.best_trial.params

    @property
    def best_value(self):
        return self.best_trial.value

    @property
    def best_trials(self):
        """The Pareto front (several objectives) or [best_trial]."""
        if not self._is_multi:
            try:
                return [self.best_trial]
            except ValueError:
                return []
        return [self._frozen(t) for t in self._client.get(self._path + "/best")["trials"]]

    def trials_dataframe(self, attrs=("number", "value", "datetime_start", "datetime_complete",
                                      "duration", "params", "user_attrs", "state"),
                         multi_index=False):
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("trials_dataframe() needs pandas, which is not installed "
                              "(pip install pandas, or apt install python3-pandas)") from None
        rows = []
        for t in self.trials:
            row = {}
            for a in attrs:
                if a == "params":
                    row.update({"params_" + k: v for k, v in t.params.items()})
                elif a == "user_attrs":
                    row.update({"user_attrs_" + k: v for k, v in t.user_attrs.items()})
                elif a == "value" and self._is_multi:
                    for i, v in enumerate(t.values or []):
                        row["values_%d" % i] = v
                elif a == "state":
                    row["state"] = t.state.name
                else:
                    row[a] = getattr(t, a)
            rows.append(row)
        return pd.DataFrame(rows)

    # ---- ask / tell ----

    def _ask_raw(self, deadline=None, params=None):
        body = {"worker": worker_name(), "idempotency_key": uuid.uuid4().hex}
        if params:
            body["params"] = params
        while True:
            resp = self._client.post(self._path + "/trials", body, ok=(200, 201, 204))
            if resp.status != 204:
                return resp.body
            wait = min(max(resp.retry_after(1.0), 0.05), 5.0)
            if self._stop_flag or (deadline is not None and time.monotonic() + wait > deadline):
                return None
            time.sleep(wait)

    def _make_trial(self, data):
        t = Trial(self._client, self.study_name, data, study=self)
        with self._live_lock:
            self._live[t.number] = t
        if self._config.get("heartbeat_grace") is not None:
            self._start_heartbeats()
        return t

    def ask(self, fixed_distributions=None):
        """A trial to run: a promoted (ASHA), enqueued or new one. Waits while the server
        answers 204 (no work now); raises StudyCompleteError once no work can come."""
        t = self._make_trial(self._ask_raw())
        for name, d in (fixed_distributions or {}).items():
            t._suggest(name, _dist.from_json(d) if isinstance(d, dict) else d)
        return t

    def _running_frozen(self, number):
        """Trial ``number`` as a FrozenTrial before its finish (Optuna hands constraints_func
        the trial still RUNNING, without values): from this process's Trial when it has one."""
        with self._live_lock:
            live = self._live.get(number)
        if live is None:
            return self.get_trial(number)
        return FrozenTrial(number, TrialState.RUNNING, None, live.params, live.distributions,
                           live.intermediate_values, live.datetime_start, None,
                           self._trial_user_attrs.get(number), live.system_attrs,
                           study_name=self.study_name)

    def _constraints_of(self, number):
        """constraints_func's answer for trial ``number`` as a list of finite floats (Optuna's
        checks: NaN is refused; hpo refuses infinities too)."""
        con = self._constraints_func(self._running_frozen(number))
        if not isinstance(con, (tuple, list)):
            warnings.warn("Constraints should be a sequence of floats but got %s."
                          % type(con).__name__)
        out = [float(c) for c in con]
        if any(math.isnan(c) for c in out):
            raise ValueError("Constraint values cannot be NaN.")
        if not all(math.isfinite(c) for c in out):
            raise ValueError("Constraint values must be finite (got %r)." % (out,))
        if not out:
            raise ValueError("constraints_func returned no constraint.")
        return out

    def tell(self, trial, values=None, state=None, skip_if_finished=False, *, value=None,
             reason=None, constraints=None):
        """Finishes a trial: complete with the value(s), pruned (value: its last intermediate
        value) or fail (with ``reason``). Returns its FrozenTrial. A complete or pruned trial
        carries ``constraints`` (hpo: given here, else computed by the sampler's
        constraints_func, as Optuna's after_trial does)."""
        number = trial.number if isinstance(trial, (Trial, FrozenTrial)) else int(trial)
        if value is not None:
            if values is not None:
                raise ValueError("Specify only one of value and values.")
            values = value
        state = parse_state(state)
        if state is None:
            if values is None:  # Optuna's rule; Study.optimize passes COMPLETE (None fails)
                raise ValueError("No values were told. Values are required when state is "
                                 "TrialState.COMPLETE.")
            state = TrialState.COMPLETE
        body = None
        if state == TrialState.COMPLETE:
            vals, why = self._check_values(values)
            if why is None:
                body = ({"state": "complete", "values": vals} if self._is_multi
                        else {"state": "complete", "value": vals[0]})
            else:
                _log.warning("Trial %d failed because of the following error: %s", number, why)
                body = {"state": "fail", "reason": why}
        elif state == TrialState.PRUNED:
            if values is not None:
                raise ValueError("No values can be told with TrialState.PRUNED (the last "
                                 "intermediate value is used).")
            body = {"state": "pruned"}
        elif state == TrialState.FAIL:
            body = {"state": "fail"}
            if reason:
                body["reason"] = str(reason)[:4000]
        else:
            raise ValueError("Cannot tell with state %r (COMPLETE, PRUNED or FAIL)." % (state,))
        # as Optuna: a constraints_func that fails still lets the trial finish (without
        # constraints), then its error is raised
        con_error = None
        if body["state"] != "fail":
            if constraints is None and self._constraints_func is not None:
                try:
                    constraints = self._constraints_of(number)
                except Exception as e:
                    con_error = e
            if constraints is not None:
                body["constraints"] = [float(c) for c in constraints]
        try:
            d = self._client.post(self._path + "/trials/%d/finish" % number, body).body
        except TrialFinishedError:
            if not skip_if_finished:
                raise
            d = self._client.get(self._path + "/trials/%d" % number)
        finally:
            with self._live_lock:
                self._live.pop(number, None)
        ft = self._frozen(d)
        if ft.state == TrialState.COMPLETE:
            _log.info("Trial %d finished with %s: %s and parameters: %s.", number,
                      "values" if self._is_multi else "value",
                      ft.values if self._is_multi else ft.value, ft.params)
        elif ft.state == TrialState.PRUNED:
            _log.info("Trial %d pruned.", number)
        if con_error is not None:
            raise con_error
        return ft

    def _check_values(self, values):
        """(list of floats, None) or (None, why the trial fails), as Optuna does."""
        if values is None:
            return None, "The objective function returned None."
        seq = list(values) if isinstance(values, (list, tuple)) else [values]
        n = len(self._config["directions"])
        if len(seq) != n:
            return None, ("The number of the values %d did not match the number of the "
                          "objectives %d." % (len(seq), n))
        out = []
        for v in seq:
            try:
                f = float(v)
            except (TypeError, ValueError):
                return None, "The value %r could not be cast to float." % (v,)
            if not math.isfinite(f):
                return None, "The value %r is not acceptable (hpo needs finite values)." % f
            out.append(f)
        return out, None

    def enqueue_trial(self, params, user_attrs=None, skip_if_exists=False):
        """Queues a trial with these params; the next ask hands it out first."""
        if skip_if_exists:
            # The server lists a waiting trial's params only when the search space declares
            # them, so the params enqueued by this Study object are compared too.
            for p in self._enqueued + [t.params for t in self.trials]:
                if p == params:
                    _log.info("A trial with the same params exists; not enqueued.")
                    return None
        d = self._client.post(self._path + "/queue", {"params": dict(params)},
                              idempotent=False).body
        self._enqueued.append(dict(params))
        if user_attrs:
            self._trial_user_attrs[d["number"]] = dict(user_attrs)
        return None

    def add_trial(self, trial):
        """Adds a finished trial (made with hpo_client.create_trial): asks a new trial with its
        params fixed, then tells its state and value."""
        if not trial.state.is_finished():
            raise ValueError("add_trial needs a finished trial (COMPLETE, PRUNED or FAIL).")
        t = self._make_trial(self._ask_raw(params=trial.params))
        for name, d in trial.distributions.items():
            t._suggest(name, d)
        for step, v in sorted(trial.intermediate_values.items()):
            t.report(v, step)
        if trial.user_attrs:
            self._trial_user_attrs[t.number] = dict(trial.user_attrs)
        constraints = trial.system_attrs.get("constraints")
        if trial.state == TrialState.COMPLETE:
            self.tell(t, trial.values, constraints=constraints)
        else:
            self.tell(t, state=trial.state,
                      constraints=constraints if trial.state == TrialState.PRUNED else None)

    def add_trials(self, trials):
        for t in trials:
            self.add_trial(t)

    def stop(self):
        """Stops optimize() once the running trials end."""
        self._stop_flag = True

    # ---- heartbeats ----

    def _start_heartbeats(self):
        with self._live_lock:
            if self._hb_thread is not None and self._hb_thread.is_alive():
                return
            self._hb_thread = threading.Thread(target=self._heartbeats, daemon=True,
                                               name="hpo-heartbeat-%s" % self.study_name)
            self._hb_thread.start()

    def _heartbeats(self):
        period = max(0.05, float(self._config["heartbeat_grace"]) / 3.0)
        while True:
            time.sleep(period)
            with self._live_lock:
                live = list(self._live.values())
            if not live:
                return
            for t in live:
                try:
                    t.heartbeat()
                except TrialFinishedError:
                    with self._live_lock:
                        self._live.pop(t.number, None)
                except Exception as e:  # keep beating for the others
                    _log.debug("heartbeat of trial %d: %s", t.number, e)

    # ---- optimize ----

    def optimize(self, func, n_trials=None, timeout=None, n_jobs=1, catch=(), callbacks=None,
                 gc_after_trial=False, show_progress_bar=False):
        """Runs ``func(trial)`` on trials asked from the server until n_trials trials ran in this
        call (a promotion counts as one), timeout seconds passed, stop() was called or the study
        is complete (max_trials). Threads when n_jobs > 1 (-1: one per CPU)."""
        if isinstance(catch, type):
            catch = (catch,)
        catch = tuple(catch)
        if n_jobs == -1:
            n_jobs = os.cpu_count() or 1
        if n_jobs < 1:
            raise ValueError("n_jobs must be >= 1 or -1")
        self._stop_flag = False
        deadline = None if timeout is None else time.monotonic() + timeout
        lock = threading.Lock()
        state = {"started": 0, "error": None}

        def take():
            with lock:
                if state["error"] is not None or self._stop_flag:
                    return False
                if n_trials is not None and state["started"] >= n_trials:
                    return False
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                state["started"] += 1
                return True

        def loop():
            try:
                while take():
                    try:
                        data = self._ask_raw(deadline)
                    except StudyCompleteError:
                        self._stop_flag = True
                        return
                    if data is None:
                        return
                    ft = self._run_trial(func, self._make_trial(data), catch)
                    if ft is not None:
                        for cb in callbacks or ():
                            cb(self, ft)
                    if gc_after_trial:
                        gc.collect()
            except BaseException as e:
                with lock:
                    if state["error"] is None:
                        state["error"] = e
                self._stop_flag = True

        if n_jobs == 1:
            loop()
        else:
            threads = [threading.Thread(target=loop, name="hpo-optimize-%d" % i)
                       for i in range(n_jobs)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
        self._stop_flag = False
        if state["error"] is not None:
            raise state["error"]

    def _run_trial(self, func, trial, catch):
        """Runs the objective on one trial and finishes it; None when it was left paused."""
        try:
            result = func(trial)
        except TrialPruned as e:
            if trial.should_pause() or isinstance(e, TrialPaused):
                return self._leave_paused(trial)
            return self.tell(trial, state=TrialState.PRUNED)
        except Exception as e:
            reason = "%s: %s" % (type(e).__name__, e)
            ft = self.tell(trial, state=TrialState.FAIL, reason=reason, skip_if_finished=True)
            _log.warning("Trial %d failed because of the following error: %r", trial.number, e)
            if isinstance(e, catch):
                return ft
            raise
        except BaseException as e:  # KeyboardInterrupt, SystemExit
            self.tell(trial, state=TrialState.FAIL, reason=type(e).__name__,
                      skip_if_finished=True)
            raise
        if trial.should_pause():
            return self._leave_paused(trial)
        return self.tell(trial, result, state=TrialState.COMPLETE)

    def _leave_paused(self, trial):
        with self._live_lock:
            self._live.pop(trial.number, None)
        _log.info("Trial %d paused at resource %s; it waits to be promoted.", trial.number,
                  (trial.resource or {}).get("to"))
        return None

    def __repr__(self):
        return "Study(study_name=%r, url=%r)" % (self.study_name, self._client.url)


class MaxTrialsCallback:
    """Optuna's MaxTrialsCallback: stops optimize() once n_trials trials are in ``states``."""

    def __init__(self, n_trials, states=(TrialState.COMPLETE,)):
        self._n = n_trials
        self._states = states

    def __call__(self, study, trial):
        if len(study.get_trials(states=self._states)) >= self._n:
            study.stop()


def create_study(storage=None, sampler=None, pruner=None, study_name=None, direction=None,
                 load_if_exists=False, directions=None, *, search_space=None, max_trials=None,
                 heartbeat_grace=None, user_attrs=None, retry=None, token=None, token_file=None,
                 cacert=None):
    """Creates a study on the server at ``storage`` (default: env HPO_SERVER, else
    http://127.0.0.1:8080). Beyond Optuna: ``search_space`` ({name: distribution}) declares
    params sampled at ask, ``max_trials`` caps the study, ``heartbeat_grace`` (seconds) has the
    server fail trials that stop sending heartbeats (this client sends them), ``retry``
    (``{"max_retries": N, "on": [...], "keep_intermediate": bool}``) has the server run failed
    trials again with the same params. ``token`` or
    ``token_file`` (default: env HPO_TOKEN or HPO_TOKEN_FILE) authenticates, ``cacert``
    (default: env HPO_CACERT) verifies an https server; creating a study needs an admin
    token."""
    client = client_for(storage, token, token_file, cacert)
    if direction is not None and directions is not None:
        raise ValueError("Specify only one of `direction` and `directions`.")
    if study_name is None:
        study_name = "no-name-" + str(uuid.uuid4())
    body = {"name": study_name, "load_if_exists": bool(load_if_exists)}
    if directions is not None:
        body["directions"] = [_direction_word(d) for d in directions]
    elif direction is not None:
        body["direction"] = _direction_word(direction)
    space = {k: _dist.to_json(v) for k, v in (search_space or {}).items()}
    if isinstance(sampler, _samplers.GridSampler):
        for k, v in sampler.declared_space().items():
            if k in space and space[k] != v:
                raise ValueError("GridSampler's %r differs from search_space's" % k)
            space[k] = v
    if space:
        body["search_space"] = space
    s = _samplers.to_json(sampler)
    if s is not None:
        body["sampler"] = s
    p = _pruners.to_json(pruner)
    if p is not None:
        body["pruner"] = p
    if max_trials is not None:
        body["max_trials"] = max_trials
    if heartbeat_grace is not None:
        body["heartbeat_grace"] = heartbeat_grace
    if user_attrs is not None:
        body["user_attrs"] = user_attrs
    if retry is not None:
        body["retry"] = dict(retry)
    resp = client.post("/studies", body, idempotent=True)
    if resp.status == 200:
        _log.info("Using an existing study with name '%s' instead of creating a new one.",
                  study_name)
    else:
        _log.info("A new study created with name: %s", study_name)
    st = Study(study_name, client, resp.body)
    st._constraints_func = _samplers.constraints_func_of(sampler)
    return st


def load_study(study_name=None, storage=None, sampler=None, pruner=None, *, token=None,
               token_file=None, cacert=None):
    """Loads an existing study (NotFoundError, a KeyError, when there is none); token,
    token_file and cacert as for create_study (a read token can read it, asking needs a worker
    token)."""
    if study_name is None:
        raise ValueError("hpo needs a study_name to load")
    st = Study(study_name, client_for(storage, token, token_file, cacert))
    # the constraints_func runs in this process: it is taken whatever the server's sampler
    st._constraints_func = _samplers.constraints_func_of(sampler)
    if sampler is not None or pruner is not None:
        given = (_samplers.to_json(sampler), _pruners.to_json(pruner))
        warnings.warn("load_study: the study keeps the sampler and pruner it was created with "
                      "on the server (%r, %r); the ones given (%r, %r) are ignored"
                      % (st.sampler.get("type"), st.pruner.get("type"), *given), UserWarning, 2)
    return st


def delete_study(study_name=None, storage=None, *, token=None, token_file=None, cacert=None):
    """Deletes a study (an admin token)."""
    client_for(storage, token, token_file, cacert).delete("/studies/%s" % quote(study_name))


def get_all_study_summaries(storage=None, include_best_trial=True, *, token=None,
                            token_file=None, cacert=None):
    """The server's studies (dicts: name, directions, n_trials, counts, best_value, ...)."""
    return client_for(storage, token, token_file, cacert).get("/studies")["studies"]


def get_all_study_names(storage=None, *, token=None, token_file=None, cacert=None):
    return [s["name"] for s in get_all_study_summaries(storage, token=token,
                                                       token_file=token_file, cacert=cacert)]
