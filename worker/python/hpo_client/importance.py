# hpo_client.importance: Optuna's optuna.importance over the server's /importance endpoint.
"""Hyperparameter importances, computed by the hpo server (``GET /studies/{s}/importance``).

The evaluator classes only name the server's algorithm: :class:`FanovaImportanceEvaluator`
(``fanova``, the default, as in Optuna) and :class:`PedAnovaImportanceEvaluator`
(``ped_anova``). Optuna's own evaluator objects of those names, and the strings ``"fanova"`` and
``"ped_anova"``, work as well.
"""

import collections
import math
import warnings

from . import _plotdata

__all__ = ["BaseImportanceEvaluator", "FanovaImportanceEvaluator",
           "PedAnovaImportanceEvaluator", "get_param_importances"]


class BaseImportanceEvaluator:
    """An importance algorithm of the hpo server (``server_name``, ``seed``)."""

    server_name = None
    seed = None

    def evaluate(self, study, params=None, *, target=None):
        """The importances (an OrderedDict, descending, summing to 1) as the server computes
        them."""
        return get_param_importances(study, evaluator=self, params=params, target=target)

    def __repr__(self):
        return "%s(seed=%r)" % (type(self).__name__, self.seed)


def _ignored(cls, given, defaults):
    changed = {k: v for k, v in given.items() if v != defaults[k]}
    if changed:
        warnings.warn("%s: %s are not configurable, the hpo server's settings apply (ignored)"
                      % (cls, ", ".join("%s=%r" % kv for kv in sorted(changed.items()))),
                      UserWarning, stacklevel=3)


class FanovaImportanceEvaluator(BaseImportanceEvaluator):
    """fANOVA on a random forest fitted by the server (Optuna's default evaluator). ``seed``
    makes it reproducible; ``n_trees`` and ``max_depth`` are accepted for Optuna's signature
    only (a warning when they differ from Optuna's defaults)."""

    server_name = "fanova"

    def __init__(self, *, n_trees=64, max_depth=64, seed=None):
        _ignored(type(self).__name__, {"n_trees": n_trees, "max_depth": max_depth},
                 {"n_trees": 64, "max_depth": 64})
        self.seed = seed


class PedAnovaImportanceEvaluator(BaseImportanceEvaluator):
    """PED-ANOVA computed by the server. Optuna's ``baseline_quantile`` and
    ``evaluate_on_local`` are accepted for its signature only (a warning when they differ from
    Optuna's defaults)."""

    server_name = "ped_anova"

    def __init__(self, *, baseline_quantile=0.1, evaluate_on_local=True):
        _ignored(type(self).__name__,
                 {"baseline_quantile": baseline_quantile, "evaluate_on_local": evaluate_on_local},
                 {"baseline_quantile": 0.1, "evaluate_on_local": True})


_NAMES = {"fanova": "fanova", "fanovaimportanceevaluator": "fanova",
          "ped_anova": "ped_anova", "pedanova": "ped_anova", "ped-anova": "ped_anova",
          "pedanovaimportanceevaluator": "ped_anova"}


def _optuna_seed(ev):
    """The seed of an Optuna FanovaImportanceEvaluator (it keeps it in its forest)."""
    for path in (("_seed",), ("seed",), ("_evaluator", "_forest", "random_state"),
                 ("_evaluator", "_seed")):
        obj = ev
        for a in path:
            obj = getattr(obj, a, None)
            if obj is None:
                break
        if isinstance(obj, int) and not isinstance(obj, bool):
            return obj
    return None


def evaluator_query(evaluator):
    """(the server's evaluator name, seed or None) for an evaluator object, an Optuna evaluator
    of the same name, a string, or None (fANOVA)."""
    if evaluator is None:
        return "fanova", None
    if isinstance(evaluator, str):
        name = _NAMES.get(evaluator.strip().lower())
        if name is None:
            raise ValueError("unknown importance evaluator %r: the hpo server has 'fanova' and "
                             "'ped_anova'" % evaluator)
        return name, None
    if isinstance(evaluator, BaseImportanceEvaluator):
        return evaluator.server_name, evaluator.seed
    cls = type(evaluator).__name__
    name = _NAMES.get(cls.lower())
    if name is None:
        raise ValueError("the hpo server computes importances with FanovaImportanceEvaluator "
                         "('fanova') or PedAnovaImportanceEvaluator ('ped_anova'), not %s" % cls)
    return name, (_optuna_seed(evaluator) if name == "fanova" else None)


def objective_of_target(study, target):
    """The objective whose values ``target`` gives on the COMPLETE trials (e.g. ``lambda t:
    t.values[1]`` gives 1): the server computes importances from an objective's values, so
    another target cannot be evaluated there (ValueError)."""
    n = _plotdata.n_objectives(study)
    if target is None:
        if n > 1:
            raise ValueError("If the `study` is being used for multi-objective optimization, "
                             "please specify the `target`.")
        return 0
    pairs = []
    for t in _plotdata.complete_trials(study):
        v = target(t)
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ValueError("Trial%d's target value %r could not be cast to float."
                             % (t.number, v)) from None
        pairs.append((t, v))
    for k in range(n):
        if all(t.values is not None and len(t.values) > k
               and (t.values[k] == v or math.isclose(t.values[k], v, rel_tol=1e-12))
               for t, v in pairs):
            return k
    raise ValueError("the hpo server computes importances from one objective's values; this "
                     "target gives other values (use target=lambda t: t.values[k], or "
                     "target=None)")


def get_param_importances(study, *, evaluator=None, params=None, target=None, normalize=True):
    """Optuna's get_param_importances, computed by the server: an OrderedDict {param:
    importance} in descending order, summing to 1, over the COMPLETE trials that have every
    param in ``params`` (default: the params every COMPLETE trial has). ``target`` must select
    an objective (``lambda t: t.values[k]``); ``normalize=False`` is not available (the server
    answers normalized importances)."""
    _plotdata.check_study(study)
    if not normalize:
        raise ValueError("the hpo server answers normalized importances only (normalize=True)")
    name, seed = evaluator_query(evaluator)
    if params is not None:
        params = list(params)
        if not params:
            return collections.OrderedDict()
    objective = objective_of_target(study, target)
    ans = _plotdata.importance(study, name, params, objective, seed)
    return collections.OrderedDict((d["param"], float(d["importance"]))
                                   for d in ans.get("importances") or [])
