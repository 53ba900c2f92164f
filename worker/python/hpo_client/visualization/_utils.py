# hpo_client.visualization._utils: what the plots share (argument checks, trials, axes kinds).
"""Helpers of the plot functions: the studies given, the checks Optuna makes on ``target``,
the trials a plot uses and how a param's axis is drawn (log, categorical, numerical)."""

import math
import warnings

from .. import _plotdata
from ..distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from ..logging import get_logger
from ..study import Study, StudyDirection
from ..trial import TrialState

_log = get_logger("hpo_client.visualization")

DEFAULT_TARGET_NAME = "Objective Value"


def as_studies(study):
    """[study] for one Study, the list of a sequence of them."""
    if isinstance(study, Study):
        return [study]
    if isinstance(study, (str, bytes)) or not hasattr(study, "__iter__"):
        _plotdata.check_study(study)  # raises TypeError
    studies = list(study)
    for s in studies:
        _plotdata.check_study(s)
    return studies


def check_plot_args(study, target, target_name):
    """Optuna's checks: a multi-objective study needs ``target``; a ``target`` with the default
    ``target_name`` warns."""
    for s in as_studies(study):
        if target is None and _plotdata.n_objectives(s) > 1:
            raise ValueError("If the `study` is being used for multi-objective optimization, "
                             "please specify the `target`.")
    if target is not None and target_name == DEFAULT_TARGET_NAME:
        warnings.warn("`target` is specified, but `target_name` is the default value, "
                      "'Objective Value'.")


def value_of(trial):
    return trial.value


def target_or_value(target):
    return value_of if target is None else target


def complete_trials(study):
    """The study's COMPLETE trials (FrozenTrials by number), from /columns."""
    return _plotdata.trials(study, (TrialState.COMPLETE,))


def filter_nonfinite(trials, target=None, with_message=True):
    """The trials whose target value is finite (Optuna leaves out inf and NaN with a
    message); a value that is not a number raises."""
    target = target_or_value(target)
    out = []
    for t in trials:
        value = target(t)
        try:
            value = float(value)
        except (TypeError, ValueError):
            warnings.warn("Trial%d's target value %r could not be cast to float."
                          % (t.number, value))
            raise
        if math.isfinite(value):
            out.append(t)
        elif with_message:
            _log.warning("Trial %d is omitted in visualization because its objective value is "
                         "inf or nan." % t.number)
    return out


def is_reverse_scale(study, target):
    """The color scale runs reversed for a custom target or a minimized objective."""
    return target is not None or study.directions[0] == StudyDirection.MINIMIZE


def is_log_scale(trials, param):
    for t in trials:
        if param in t.params:
            d = t.distributions.get(param)
            if isinstance(d, (FloatDistribution, IntDistribution)) and d.log:
                return True
    return False


def is_categorical(trials, param):
    return any(isinstance(t.distributions.get(param), CategoricalDistribution)
               for t in trials if param in t.params)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_numerical(trials, param):
    return all(is_number(t.params[param]) for t in trials if param in t.params)


def sorted_params(trials, params):
    """The params a plot shows, sorted: all the trials' params, or ``params`` (each must be
    in a trial: ValueError)."""
    present = {p for t in trials for p in t.params}
    if params is None:
        return sorted(present)
    for p in params:
        if p not in present:
            raise ValueError("Parameter %s does not exist in your study." % p)
    return sorted(set(params))


def quantile(sorted_values, q):
    """The q-quantile with linear interpolation (numpy's default)."""
    n = len(sorted_values)
    pos = (n - 1) * q
    lo = int(math.floor(pos))
    hi = min(lo + 1, n - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def linspace(start, stop, num):
    """numpy.linspace(start, stop, num) as floats."""
    if num == 1:
        return [float(start)]
    step = (stop - start) / (num - 1)
    out = [start + i * step for i in range(num)]
    out[-1] = stop
    return [float(x) for x in out]
