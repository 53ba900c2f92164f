# hpo_client.distributions: Optuna-like parameter distributions and their hpo JSON form.
"""Distributions, as Optuna's (``FloatDistribution``, ``IntDistribution``,
``CategoricalDistribution``), convertible to and from the server's JSON
(``{"type": "float", "low": .., "high": .., "log": .., "step": ..}``)."""


class BaseDistribution:
    """A parameter's distribution."""

    def to_json(self):
        raise NotImplementedError

    def __eq__(self, other):
        return isinstance(other, BaseDistribution) and self.to_json() == other.to_json()

    def __hash__(self):
        return hash(repr(self))

    def __repr__(self):
        args = ", ".join("%s=%r" % (k, v) for k, v in self.to_json().items() if k != "type")
        return "%s(%s)" % (type(self).__name__, args)


class FloatDistribution(BaseDistribution):
    def __init__(self, low, high, log=False, step=None):
        self.low, self.high, self.log, self.step = float(low), float(high), bool(log), step
        if step is not None:
            self.step = float(step)

    def to_json(self):
        d = {"type": "float", "low": self.low, "high": self.high}
        if self.log:
            d["log"] = True
        if self.step is not None:
            d["step"] = self.step
        return d

    def to_external_repr(self, v):
        return float(v)


class IntDistribution(BaseDistribution):
    def __init__(self, low, high, log=False, step=1):
        self.low, self.high, self.log, self.step = int(low), int(high), bool(log), int(step)

    def to_json(self):
        d = {"type": "int", "low": self.low, "high": self.high, "step": self.step}
        if self.log:
            d["log"] = True
        return d

    def to_external_repr(self, v):
        return int(v)


class CategoricalDistribution(BaseDistribution):
    def __init__(self, choices):
        self.choices = tuple(choices)
        for c in self.choices:
            if c is not None and not isinstance(c, (bool, int, float, str)):
                raise ValueError("categorical choices must be None, bool, int, float or str "
                                 "(got %r)" % (c,))

    def to_json(self):
        return {"type": "categorical", "choices": list(self.choices)}

    def to_external_repr(self, v):
        """The choice itself (the one of ``choices``, keeping its Python type)."""
        for c in self.choices:
            if c == v and type(c) is type(v):
                return c
        for c in self.choices:
            if c == v:
                return c
        return v


def from_json(d):
    """A distribution from the server's JSON form."""
    if isinstance(d, BaseDistribution):
        return d
    t = d.get("type")
    if t == "float":
        return FloatDistribution(d["low"], d["high"], d.get("log", False), d.get("step"))
    if t == "int":
        return IntDistribution(d["low"], d["high"], d.get("log", False), d.get("step", 1))
    if t == "categorical":
        return CategoricalDistribution(d["choices"])
    raise ValueError("unknown distribution type %r" % (t,))


def to_json(d):
    """The server's JSON form of a distribution (a dict passes through)."""
    if isinstance(d, BaseDistribution):
        return d.to_json()
    if isinstance(d, dict):
        return dict(d)
    raise TypeError("not a distribution: %r" % (d,))
