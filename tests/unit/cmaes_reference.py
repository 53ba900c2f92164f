#!/usr/bin/python3
# cmaes_reference: prints, as C initialisers, the runs test_cmaes.c replays: cmaes.CMA (0.9.1,
# the engine of Optuna's CmaEsSampler) from a fixed mean, sigma and seed on a few functions, each
# generation's asked solutions and values, the state after each tell (mean, sigma, p_sigma, p_c,
# should_stop) and after the last one C, then D and C as the next ask decomposes them. The test
# feeds the same solutions to hpo_cmaes_tell (numpy's RNG is not ours, so it cannot ask them).
# Run: /usr/bin/python3 tests/unit/cmaes_reference.py
import numpy as np
from cmaes import CMA


def sphere(x):
    return float(np.sum(x**2))


def shifted_sphere(x):
    return float(np.sum((x - np.arange(len(x)) * 0.3) ** 2))


def rosenbrock(x):
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def linear(x):
    return float(x[0] + 2 * x[1])


def bounded_cov(n):
    a = np.full((n, n), 0.2) + np.diag(np.arange(1, n + 1) * 0.5)
    return (a + a.T) / 2


# name, function, mean, sigma, seed, generations, keyword arguments of CMA
CASES = [
    ("sphere3", sphere, [1.0, -2.0, 0.5], 1.3, 1, 25, {}),
    ("rosenbrock10", rosenbrock, [0.1 * i for i in range(10)], 0.5, 2, 30, {}),
    # as Optuna's sampler sets CMA up: the box's middle, min(width) / 6; the optimum (1, 1, 1) on
    # the upper bounds and 2 resamplings, so asks get clipped
    ("rosenbrock3_bounds", rosenbrock, [-0.5, -0.5, -0.25], 0.25, 3, 25,
     {"bounds": np.array([[-2.0, 1.0], [-2.0, 1.0], [-1.5, 1.0]]), "n_max_resampling": 2}),
    # odd popsize (a zero weight), an initial covariance
    ("sphere4_pop9_cov", shifted_sphere, [0.5, 0.5, 0.5, 0.5], 0.7, 4, 20,
     {"population_size": 9, "cov": bounded_cov(4)}),
    # a slope: p_sigma grows long (h_sigma = 0), sigma diverges until should_stop
    ("linear3", linear, [0.0, 0.0, 0.0], 2000.0, 5, 12, {}),
]


def c_array(name, values, ctype="double"):
    vals = ", ".join(repr(float(v)) if ctype == "double" else str(int(v)) for v in values)
    return f"static const {ctype} {name}[] = {{{vals}}};"


def run(name, f, mean, sigma, seed, gens, kw):
    opt = CMA(mean=np.array(mean), sigma=sigma, seed=seed, **kw)
    n, lam = opt.dim, opt.population_size
    xs, values, means, sigmas, ps, pcs, stops = [], [], [], [], [], [], []
    for _ in range(gens):
        sols = []
        for _ in range(lam):
            x = opt.ask()
            sols.append((x, f(x)))
        xs += [v for x, _ in sols for v in x]
        values += [y for _, y in sols]
        opt.tell(list(sols))
        c_told = opt._C.copy()
        means += list(opt._mean)
        sigmas.append(opt._sigma)
        ps += list(opt._p_sigma)
        pcs += list(opt._pc)
        stops.append(1 if opt.should_stop() else 0)  # decomposes C, as the next ask would
    p = name.upper()
    out = [f"/* {name}: n {n}, popsize {lam}, {gens} generations */"]
    out.append(c_array(p + "_MEAN0", mean))
    for key, val in (("BOUNDS", kw.get("bounds")), ("COV", kw.get("cov"))):
        if val is not None:
            out.append(c_array(f"{p}_{key}", np.asarray(val).T.ravel() if key == "BOUNDS"
                               else np.asarray(val).ravel()))
    out.append(c_array(p + "_WEIGHTS", opt._weights))
    out.append(c_array(p + "_X", xs))
    out.append(c_array(p + "_VALUES", values))
    out.append(c_array(p + "_MEAN", means))
    out.append(c_array(p + "_SIGMA", sigmas))
    out.append(c_array(p + "_P_SIGMA", ps))
    out.append(c_array(p + "_P_C", pcs))
    out.append(c_array(p + "_STOP", stops, "int"))
    out.append(c_array(p + "_C_TOLD", c_told.ravel()))
    out.append(c_array(p + "_D", opt._D))
    out.append(c_array(p + "_C_DECOMPOSED", opt._C.ravel()))
    has_b = "bounds" in kw
    entry = (
        f'    {{"{name}", {n}, {seed}, {kw.get("population_size", 0)}, '
        f'{kw.get("n_max_resampling", 0)}, {gens}, {sigma!r}, {p}_MEAN0, '
        f'{p + "_BOUNDS" if has_b else "NULL"}, {p + "_BOUNDS + " + str(n) if has_b else "NULL"}, '
        f'{p + "_COV" if "cov" in kw else "NULL"},\n'
        f"     {lam}, {opt._mu}, {opt._funhist_term}, {p}_WEIGHTS, {opt._mu_eff!r}, "
        f"{opt._c_sigma!r}, {opt._d_sigma!r}, {opt._cc!r}, {opt._c1!r}, {opt._cmu!r}, "
        f"{opt._chi_n!r},\n"
        f"     {p}_X, {p}_VALUES, {p}_MEAN, {p}_SIGMA, {p}_P_SIGMA, {p}_P_C, {p}_STOP, "
        f"{p}_C_TOLD, {p}_D, {p}_C_DECOMPOSED}},"
    )
    return "\n".join(out), entry


entries = []
for case in CASES:
    arrays, entry = run(*case)
    print(arrays)
    entries.append(entry)
print("static const ref_case REF_CASES[] = {")
print("\n".join(entries))
print("};")
