# hpo_client.samplers: Optuna-like sampler objects that stand for the server's sampler config.
"""Samplers. hpo samples on the server, so these objects only carry the configuration: each
turns into the server's JSON with ``to_json()``. A plain dict (``{"type": "tpe", "seed": 1}``) is
accepted wherever a sampler is."""


class BaseSampler:
    """A sampler configuration for the server."""

    type = None

    def to_json(self):
        raise NotImplementedError

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self.to_json())


def _opts(d, **kw):
    for k, v in kw.items():
        if v is not None:
            d[k] = v
    return d


class TPESampler(BaseSampler):
    """Optuna 3.1's TPE, run by the server, for one objective or several (Optuna 3.1's
    multi-objective TPE). ``gamma`` is a number here (the fraction of good trials, with
    ``gamma_max``), not a function; ``constant_liar`` left as None takes the server's default:
    True for one objective (Optuna: False), False for several (Optuna 3.1 ignores it there, and
    the server refuses True).
    ``startup`` ("random", "sobol" or "halton"; hpo only) draws the start-up trials from a
    scrambled quasi-random sequence instead of at random.

    ``constraints_func`` (Optuna's): called by this client when a trial is told complete or
    pruned, with the trial as a FrozenTrial (still RUNNING, as Optuna passes it); it returns a
    sequence of numbers, feasible when all are <= 0, sent with the finish. The server's TPE then
    ranks feasible trials first (Optuna 3.1's constrained TPE) and best_trial / best_trials hold
    feasible trials only."""

    def __init__(self, consider_prior=True, prior_weight=1.0, consider_magic_clip=True,
                 consider_endpoints=False, n_startup_trials=10, n_ei_candidates=24, gamma=None,
                 weights=None, seed=None, *, multivariate=False, group=False,
                 warn_independent_sampling=True, constant_liar=None, constraints_func=None,
                 gamma_max=None, startup=None):
        if not consider_prior:
            raise ValueError("hpo's TPE always considers the prior (consider_prior=False is not "
                             "supported)")
        if gamma is not None and callable(gamma):
            raise ValueError("hpo's TPE takes gamma as a number in (0, 1] (with gamma_max), not "
                             "a function")
        if weights is not None:
            raise ValueError("hpo's TPE uses Optuna's default weights; weights cannot be changed")
        if constraints_func is not None and not callable(constraints_func):
            raise TypeError("constraints_func must be callable (a FrozenTrial in, a sequence of "
                            "numbers out)")
        self.seed = seed
        self.constraints_func = constraints_func
        self.options = _opts({}, prior_weight=prior_weight,
                             consider_magic_clip=consider_magic_clip,
                             consider_endpoints=consider_endpoints,
                             n_startup_trials=n_startup_trials, n_ei_candidates=n_ei_candidates,
                             gamma=gamma, gamma_max=gamma_max, multivariate=multivariate,
                             group=group, constant_liar=constant_liar, startup=startup,
                             constraints=True if constraints_func is not None else None)

    def to_json(self):
        return _opts({"type": "tpe", **self.options}, seed=self.seed)


class AutoSampler(BaseSampler):
    """hpo's default sampler (what a study gets when create_study is given none), run by the
    server: it picks by study, as OptunaHub's AutoSampler does: the Gaussian process and TPE by
    turns while the declared search space is numeric enough and the study has one objective, no
    constraints and fewer than 200 complete trials; TPE otherwise (multivariate multi-objective
    TPE for several objectives; TPE for every define-by-run param). Only ``seed`` can be set."""

    def __init__(self, seed=None):
        self.seed = seed

    def to_json(self):
        return _opts({"type": "auto"}, seed=self.seed)


class RandomSampler(BaseSampler):
    def __init__(self, seed=None):
        self.seed = seed

    def to_json(self):
        return _opts({"type": "random"}, seed=self.seed)


class QMCSampler(BaseSampler):
    """Optuna's QMCSampler, run by the server: trial k takes point k of a Sobol' or Halton
    sequence; categorical params are drawn at random (``independent_sampler`` cannot be
    changed)."""

    def __init__(self, *, qmc_type="sobol", scramble=False, seed=None, independent_sampler=None,
                 warn_asynchronous_seeding=True, warn_independent_sampling=True):
        if qmc_type not in ("sobol", "halton"):
            raise ValueError('qmc_type must be "sobol" or "halton" (got %r)' % (qmc_type,))
        if independent_sampler is not None:
            raise ValueError("hpo's QMC sampler draws independent params at random; "
                             "independent_sampler cannot be changed")
        self.qmc_type = qmc_type
        self.scramble = scramble
        self.seed = seed

    def to_json(self):
        return _opts({"type": "qmc", "qmc_type": self.qmc_type, "scramble": self.scramble},
                     seed=self.seed)


class GPSampler(BaseSampler):
    """Optuna 4's GPSampler (Gaussian-process Bayesian optimization), run by the server: a
    Matérn-5/2 GP with one lengthscale per param, fitted to the complete trials, proposes the
    point of largest log expected improvement; random until ``n_startup_trials`` trials are
    complete; one objective. ``deterministic_objective=True`` pins the noise variance to a tiny
    value. Running trials enter the GP at the mean it predicts for them (the kriging believer),
    so parallel workers get different points.

    The GP models the study's declared search space (``create_study(search_space=...)``);
    define-by-run params (``suggest_*`` of names not declared) are drawn at random, as Optuna's
    independent sampler draws the params outside its search space. ``independent_sampler`` cannot
    be changed."""

    def __init__(self, *, seed=None, independent_sampler=None, n_startup_trials=10,
                 deterministic_objective=False, constraints_func=None, warn_independent_sampling=True):
        if independent_sampler is not None:
            raise ValueError("hpo's GP sampler draws independent params at random; "
                             "independent_sampler cannot be changed")
        if constraints_func is not None:
            raise ValueError("hpo's GP sampler does not take constraints_func")
        if isinstance(n_startup_trials, bool) or not isinstance(n_startup_trials, int) \
                or n_startup_trials < 0:
            raise ValueError("n_startup_trials must be an integer >= 0 (got %r)"
                             % (n_startup_trials,))
        self.seed = seed
        self.n_startup_trials = n_startup_trials
        self.deterministic_objective = bool(deterministic_objective)

    def to_json(self):
        return _opts({"type": "gp", "n_startup_trials": self.n_startup_trials,
                      "deterministic_objective": self.deterministic_objective}, seed=self.seed)
class CmaEsSampler(BaseSampler):
    """Optuna 3.1's CmaEsSampler, run by the server over the study's declared float and int
    params (declare them with ``create_study(search_space=...)``: params first suggested inside
    a trial, and categorical ones, are drawn at random). The first ``n_startup_trials`` trials
    and any trial while fewer than two numeric params are declared are random too.
    ``x0`` ({param: value}) and ``sigma0`` set the first search distribution,
    ``restart_strategy="ipop"`` restarts it with ``inc_popsize`` times the population when it
    converges. The server rebuilds the optimizer from the trials' generations (no pickled state);
    with restarts the generation is one counter across them.

    Optuna's ``independent_sampler`` (always random here), ``use_separable_cma``, ``with_margin``
    and ``source_trials`` are not supported: setting them raises NotImplementedError.
    ``warn_independent_sampling`` is accepted and has no effect (the server does not warn)."""

    def __init__(self, x0=None, sigma0=None, n_startup_trials=1, independent_sampler=None,
                 warn_independent_sampling=True, seed=None, *, consider_pruned_trials=False,
                 restart_strategy=None, popsize=None, inc_popsize=2, use_separable_cma=False,
                 with_margin=False, source_trials=None):
        for arg, value, default in (("independent_sampler", independent_sampler, None),
                                    ("use_separable_cma", use_separable_cma, False),
                                    ("with_margin", with_margin, False),
                                    ("source_trials", source_trials, None)):
            if value != default:
                raise NotImplementedError("hpo's CmaEsSampler does not support %s (hpo runs "
                                          "plain CMA-ES, other params at random)" % arg)
        if restart_strategy not in (None, "ipop"):
            raise ValueError("restart_strategy={!r} is unsupported. Please specify: 'ipop' or "
                             "None.".format(restart_strategy))
        if x0 is not None and not isinstance(x0, dict):
            raise TypeError("x0 must be a dict {param: value} (got %r)" % (x0,))
        self.seed = seed
        self.options = {"x0": None if x0 is None else dict(x0), "sigma0": sigma0,
                        "n_startup_trials": n_startup_trials, "popsize": popsize,
                        "restart_strategy": restart_strategy, "inc_popsize": inc_popsize,
                        "consider_pruned_trials": consider_pruned_trials}

    def to_json(self):
        return _opts({"type": "cmaes", **self.options}, seed=self.seed)
class NSGAIISampler(BaseSampler):
    """Optuna 3.1's NSGAIISampler, run by the server for one or several objectives: generation
    0 at random, then each trial a child of the previous generation's elite (uniform crossover,
    then each param mutated, drawn at random, with ``mutation_prob``, None: 1 / the number of
    params). A trial's generation is ``trial.system_attrs["nsga2:generation"]``, as in Optuna.

    The server makes children over the study's declared params (``create_study(...,
    search_space=...)``); params the objective suggests without declaring them are drawn at
    random, as Optuna's independent sampler does. Only the uniform crossover is built (Optuna's
    default): a ``crossover`` other than None is an error. ``constraints_func``: as for
    TPESampler, called by this client at tell; the server then ranks by constrained domination
    (feasible first, then by violation)."""

    def __init__(self, *, population_size=50, mutation_prob=None, crossover=None,
                 crossover_prob=0.9, swapping_prob=0.5, seed=None, constraints_func=None):
        if not isinstance(population_size, int) or isinstance(population_size, bool):
            raise TypeError("`population_size` must be an integer value.")
        if population_size < 2:
            raise ValueError("`population_size` must be greater than or equal to 2.")
        if not (mutation_prob is None or 0.0 <= mutation_prob <= 1.0):
            raise ValueError("`mutation_prob` must be None or a float value within the range "
                             "[0.0, 1.0].")
        if not 0.0 <= crossover_prob <= 1.0:
            raise ValueError("`crossover_prob` must be a float value within the range "
                             "[0.0, 1.0].")
        if not 0.0 <= swapping_prob <= 1.0:
            raise ValueError("`swapping_prob` must be a float value within the range "
                             "[0.0, 1.0].")
        if crossover is not None:
            raise ValueError("hpo's NSGA-II makes children by uniform crossover only (Optuna's "
                             "default, crossover=None); crossover=%r is not available"
                             % (crossover,))
        if constraints_func is not None and not callable(constraints_func):
            raise TypeError("constraints_func must be callable (a FrozenTrial in, a sequence of "
                            "numbers out)")
        self.seed = seed
        self.constraints_func = constraints_func
        self.options = {"population_size": population_size, "mutation_prob": mutation_prob,
                        "crossover_prob": crossover_prob, "swapping_prob": swapping_prob}
        if constraints_func is not None:
            self.options["constraints"] = True

    def to_json(self):
        return _opts({"type": "nsga2", **self.options}, seed=self.seed)


class GridSampler(BaseSampler):
    """Optuna's GridSampler: every combination of ``search_space`` ({name: [values]}) once.

    The study declares each name as a categorical param of those values and uses the server's
    grid sampler; the objective may still call ``suggest_float``/``suggest_int`` for these names
    (the client answers the grid's value without asking the server)."""

    def __init__(self, search_space, seed=None):
        self.search_space = {k: list(v) for k, v in search_space.items()}
        self.seed = seed

    def declared_space(self):
        return {k: {"type": "categorical", "choices": v} for k, v in self.search_space.items()}

    def to_json(self):
        return _opts({"type": "grid"}, seed=self.seed)


def constraints_func_of(sampler):
    """The client-side constraints_func a sampler object carries, or None."""
    return getattr(sampler, "constraints_func", None)


def to_json(sampler):
    """The server's JSON of a sampler (object or dict), or None."""
    if sampler is None:
        return None
    if isinstance(sampler, dict):
        return dict(sampler)
    if isinstance(sampler, BaseSampler):
        return sampler.to_json()
    raise TypeError("sampler must be an hpo_client.samplers object or a dict like "
                    "{'type': 'tpe', 'seed': 1} (got %r)" % (sampler,))
