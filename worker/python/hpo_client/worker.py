# hpo_client.worker: a training script run by hpo-worker — current_trial(), report_final().
"""Running under ``hpo-worker`` (which sets HPO_SERVER, HPO_STUDY, HPO_TRIAL_NUMBER,
HPO_RESOURCE, HPO_RESOURCE_FROM, HPO_CHECKPOINT_DIR, HPO_PARAMS_FILE for the command):

* :func:`current_trial` is a Trial bound to the trial the worker runs: ``suggest_*`` answers the
  values the server chose, ``report`` prints ``hpo: step=S value=V`` for the worker *and* sends
  the report to the server so that ``should_prune()`` reflects the answer; ``checkpoint_dir`` is
  HPO_CHECKPOINT_DIR; ``resource``/``resume`` come from HPO_RESOURCE(_FROM).
* :func:`report_final` prints ``hpo: value=V``; the worker finishes the trial with it.
* :func:`run_current` does both around an objective; the worker owns finish.
"""

import json
import math
import os
import threading

from ._http import client_for
from .exceptions import TrialPruned
from .trial import Trial

_current = None
_lock = threading.Lock()


def in_worker():
    """True when hpo-worker runs this process (HPO_STUDY and HPO_TRIAL_NUMBER are set)."""
    return bool(os.environ.get("HPO_STUDY")) and bool(os.environ.get("HPO_TRIAL_NUMBER"))


def _int_env(name):
    v = os.environ.get(name, "").strip()
    return int(v) if v else None


def current_trial():
    """The Trial hpo-worker runs this process for (RuntimeError outside hpo-worker)."""
    global _current
    with _lock:
        if _current is not None:
            return _current
        if not in_worker():
            raise RuntimeError("hpo_client.current_trial(): not running under hpo-worker "
                               "(HPO_STUDY and HPO_TRIAL_NUMBER are not set)")
        data = {"number": int(os.environ["HPO_TRIAL_NUMBER"]), "params": {}}
        pf = os.environ.get("HPO_PARAMS_FILE")
        if pf and os.path.exists(pf):
            with open(pf, encoding="utf-8") as f:
                data["params"] = json.load(f)
        to, frm = _int_env("HPO_RESOURCE"), _int_env("HPO_RESOURCE_FROM")
        if to is not None:
            data["resource"] = {"from": frm or 0, "to": to}
            data["resume"] = f"checkpoint-{frm}" if frm else None
        _current = Trial(client_for(os.environ.get("HPO_SERVER")), os.environ["HPO_STUDY"],
                         data, checkpoint_dir=os.environ.get("HPO_CHECKPOINT_DIR") or None,
                         worker_mode=True)
        return _current


def report_final(value):
    """Prints ``hpo: value=V`` for hpo-worker, which finishes the trial as complete with V
    (a NaN or infinite value, like no value, makes the trial fail)."""
    v = float(value)
    if not math.isfinite(v):
        print("hpo: final value %r is not finite; the trial will fail" % v, flush=True)
        return
    print("hpo: value=%r" % v, flush=True)


def run_current(objective):
    """Runs ``objective(current_trial())`` under hpo-worker and prints its value with
    report_final. When the server answered prune or pause (or the objective raised
    TrialPruned) no value is printed: the worker finishes the trial as pruned or leaves it
    paused. Returns the objective's value (None when pruned or paused)."""
    trial = current_trial()
    try:
        value = objective(trial)
    except TrialPruned:
        return None
    if trial.should_prune():
        return None
    report_final(value)
    return value
