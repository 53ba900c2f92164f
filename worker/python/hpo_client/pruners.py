# hpo_client.pruners: Optuna-like pruner objects that stand for the server's pruner config.
"""Pruners. hpo prunes on the server, so these objects only carry the configuration: each turns
into the server's JSON with ``to_json()``. A plain dict (``{"type": "median"}``) is accepted
wherever a pruner is. :class:`ASHAPruner` is hpo's promotion-based ASHA (trials pause at a rung
and are promoted later; see the README)."""


class BasePruner:
    """A pruner configuration for the server."""

    def to_json(self):
        raise NotImplementedError

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self.to_json())


class NopPruner(BasePruner):
    def to_json(self):
        return {"type": "none"}


class MedianPruner(BasePruner):
    def __init__(self, n_startup_trials=5, n_warmup_steps=0, interval_steps=1, *, n_min_trials=1):
        self.o = dict(n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps,
                      interval_steps=interval_steps, n_min_trials=n_min_trials)

    def to_json(self):
        return {"type": "median", **self.o}


class PercentilePruner(BasePruner):
    def __init__(self, percentile, n_startup_trials=5, n_warmup_steps=0, interval_steps=1, *,
                 n_min_trials=1):
        self.o = dict(percentile=percentile, n_startup_trials=n_startup_trials,
                      n_warmup_steps=n_warmup_steps, interval_steps=interval_steps,
                      n_min_trials=n_min_trials)

    def to_json(self):
        return {"type": "percentile", **self.o}


class ThresholdPruner(BasePruner):
    def __init__(self, lower=None, upper=None, n_warmup_steps=0, interval_steps=1):
        self.o = dict(lower=lower, upper=upper, n_warmup_steps=n_warmup_steps,
                      interval_steps=interval_steps)

    def to_json(self):
        return {"type": "threshold", **self.o}


class PatientPruner(BasePruner):
    def __init__(self, wrapped_pruner, patience, min_delta=0.0):
        self.wrapped = wrapped_pruner
        self.o = dict(patience=patience, min_delta=min_delta)

    def to_json(self):
        w = to_json(self.wrapped)
        return {"type": "patient", **self.o, "wrapped": w}


class SuccessiveHalvingPruner(BasePruner):
    def __init__(self, min_resource="auto", reduction_factor=4, min_early_stopping_rate=0,
                 bootstrap_count=0):
        self.o = dict(min_resource=min_resource, reduction_factor=reduction_factor,
                      min_early_stopping_rate=min_early_stopping_rate,
                      bootstrap_count=bootstrap_count)

    def to_json(self):
        return {"type": "successive_halving", **self.o}


class HyperbandPruner(BasePruner):
    def __init__(self, min_resource=1, max_resource="auto", reduction_factor=3,
                 bootstrap_count=0):
        self.o = dict(min_resource=min_resource, max_resource=max_resource,
                      reduction_factor=reduction_factor, bootstrap_count=bootstrap_count)

    def to_json(self):
        return {"type": "hyperband", **self.o}


class ASHAPruner(BasePruner):
    """hpo's promotion-based ASHA: rungs at min_resource * reduction_factor**k (the top one at
    max_resource). A trial trains to ``trial.resource["to"]``, its report there answers pause,
    and a later ask may promote it to the next rung."""

    def __init__(self, min_resource=1, max_resource=None, reduction_factor=3):
        if max_resource is None:
            raise ValueError("ASHAPruner needs max_resource")
        self.o = dict(min_resource=min_resource, max_resource=max_resource,
                      reduction_factor=reduction_factor)

    def to_json(self):
        return {"type": "asha", **self.o}


def to_json(pruner):
    """The server's JSON of a pruner (object or dict), or None."""
    if pruner is None:
        return None
    if isinstance(pruner, dict):
        return dict(pruner)
    if isinstance(pruner, BasePruner):
        return pruner.to_json()
    raise TypeError("pruner must be an hpo_client.pruners object or a dict like "
                    "{'type': 'median'} (got %r)" % (pruner,))
