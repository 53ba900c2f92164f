#!/usr/bin/python3
# gp_reference: prints, as C initialisers, the numbers test_gp.c checks hpo's Gaussian-process
# sampler against:
#   - the kernel matrix, log marginal likelihood and its gradient at fixed hyperparameters, and the
#     posterior mean and variance, from scikit-learn 1.2's GaussianProcessRegressor with
#     ConstantKernel(scale) * Matern(length_scale, nu=2.5) + WhiteKernel(noise). hpo's
#     parameters translate as length_scale = 1 / sqrt(isl); d/dlog isl = -1/2 d/dlog
#     length_scale. A categorical dimension (hpo: isl [x != x'] in r^2) is sklearn's one-hot
#     encoding with length scale 1 / sqrt(isl / 2) on each of its columns (two one-hot vectors
#     that differ do so in two columns), its gradient the sum over those columns;
#   - log h(z) = log(phi(z) + z Phi(z)) evaluated in 80-digit decimal arithmetic (Phi by its
#     Taylor series for z >= -3, by Laplace's continued fraction of the Mills ratio below),
#     cross-checked here against scipy (log(z ndtr(z) + phi(z)) for moderate z; log phi(z) +
#     log(1 - t R(t)) with R from erfcx, and log_ndtr, down to z = -40);
#   - the best fit's objective, the log marginal likelihood alone and plus hpo's priors (Optuna
#     4's), maximized over hpo's parameters and bounds by scipy's L-BFGS-B from 30 starts (the
#     likelihood alone, for continuous data, also by sklearn's own optimizer, which must not do
#     better);
#   - the maximizer of log EI on a small continuous problem and a mixed one (continuous, int,
#     categorical), by a dense grid refined with L-BFGS-B over the continuous dimension(s).
# Run: /usr/bin/python3 tests/unit/gp_reference.py
import decimal
import math
import warnings

import numpy as np
import scipy
import scipy.optimize
import scipy.special
import sklearn
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

warnings.simplefilter("ignore")
assert sklearn.__version__.startswith("1.2"), sklearn.__version__
assert scipy.__version__.startswith("1.10"), scipy.__version__

MIN_NOISE = 1e-6


def cnum(v):
    return repr(float(v))


def c_array(name, values, ctype="double"):
    vals = ", ".join(cnum(v) if ctype == "double" else str(int(v)) for v in values)
    return f"static const {ctype} {name}[] = {{{vals}}};"


# ---- data, hpo's coordinates and sklearn's encoding ----

def encode(x, cat):
    """hpo coordinates (categorical dims hold an index) -> sklearn columns (one-hot)."""
    cols = []
    for j, c in enumerate(cat):
        if c:
            for k in range(c):
                cols.append((x[:, j] == k).astype(float))
        else:
            cols.append(x[:, j])
    return np.stack(cols, axis=1)


def length_scales(isl, cat):
    ls = []
    for v, c in zip(isl, cat):
        ls.extend([1 / math.sqrt(v / 2)] * c if c else [1 / math.sqrt(v)])
    return np.array(ls)


WIDE = (1e-12, 1e12)  # bounds that leave theta (and its gradient) every hyperparameter


def kernel(scale, isl, noise, cat, ls_bounds=WIDE, c_bounds=WIDE, n_bounds=WIDE):
    return (ConstantKernel(scale, c_bounds) *
            Matern(length_scales(isl, cat), ls_bounds, nu=2.5) +
            WhiteKernel(noise, n_bounds))


def gpr_at(x, y, scale, isl, noise, cat):
    g = GaussianProcessRegressor(kernel(scale, isl, noise, cat), alpha=0.0, optimizer=None,
                                 normalize_y=False)
    return g.fit(encode(x, cat), y)


def hpo_grad(sk_grad, cat):
    """sklearn's gradient (log c, log l per column, log noise) -> hpo's (log isl.., log scale,
    log noise)."""
    out, col = [], 1
    for c in cat:
        width = c if c else 1
        out.append(-0.5 * sum(sk_grad[col:col + width]))
        col += width
    return out + [sk_grad[0], sk_grad[-1]]


def standardized(v):
    v = np.asarray(v, float)
    return (v - v.mean()) / v.std()


def dataset(seed, n, d, cat, f, noise_sd):
    r = np.random.RandomState(seed)
    x = np.empty((n, d))
    for j in range(d):
        x[:, j] = r.randint(cat[j], size=n) if cat[j] else r.uniform(size=n)
    y = np.array([f(row) for row in x]) + noise_sd * r.normal(size=n)
    return x, standardized(y)


# ---- the model at fixed hyperparameters ----

MODEL_CASES = [
    # name, seed, n, d, categorical (0 or the number of choices), f, noise sd, isl, scale, noise
    ("cont3", 1, 12, 3, [0, 0, 0],
     lambda x: math.sin(5 * x[0]) + x[1] ** 2 - 0.5 * x[2], 0.05, [2.0, 0.5, 7.0], 1.3, 0.01),
    ("cont1", 2, 8, 1, [0], lambda x: math.cos(9 * x[0]), 0.0, [10.0], 0.8, 1e-4),
    ("mixed", 3, 15, 3, [0, 3, 0],
     lambda x: math.sin(4 * x[0]) + 0.7 * (x[1] == 1) + x[2], 0.02, [3.0, 1.5, 0.4], 1.1, 0.03),
]


def model_case(name, seed, n, d, cat, f, noise_sd, isl, scale, noise):
    x, y = dataset(seed, n, d, cat, f, noise_sd)
    g = gpr_at(x, y, scale, isl, noise, cat)
    k = g.kernel_(encode(x, cat))
    lml, grad = g.log_marginal_likelihood(g.kernel_.theta, eval_gradient=True)
    r = np.random.RandomState(seed + 100)
    q = np.empty((5, d))
    for j in range(d):
        q[:, j] = r.randint(cat[j], size=5) if cat[j] else r.uniform(size=5)
    mean, std = g.predict(encode(q, cat), return_std=True)
    var = std ** 2 - noise  # sklearn's variance includes the WhiteKernel's noise
    p = name.upper()
    out = [f"/* {name}: n = {n}, d = {d} */",
           c_array(p + "_X", x.ravel()), c_array(p + "_Y", y),
           c_array(p + "_CAT", [1 if c else 0 for c in cat], "int"),
           c_array(p + "_HP", list(isl) + [scale, noise]),
           c_array(p + "_K", k.ravel()),
           c_array(p + "_GRAD", hpo_grad(grad, cat)),
           c_array(p + "_Q", q.ravel()), c_array(p + "_MEAN", mean), c_array(p + "_VAR", var)]
    entry = (f'    {{"{name}", {n}, {d}, {p}_X, {p}_Y, {p}_CAT, {p}_HP, {p}_K, {cnum(lml)}, '
             f'{p}_GRAD, {p}_Q, {p}_MEAN, {p}_VAR}},')
    return "\n".join(out), entry


# ---- log h(z) in high precision ----

decimal.getcontext().prec = 80
D = decimal.Decimal
PI = D("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899")


def dphi(z):
    return (-(z * z) / 2).exp() / (2 * PI).sqrt()


def dPhi_taylor(z):
    # Phi(z) = 1/2 + phi(z) sum_k z^(2k+1) / (1 3 5 ... (2k+1))
    term, s, k = z, z, 0
    while abs(term) > D(10) ** -90:
        k += 1
        term = term * z * z / (2 * k + 1)
        s += term
    return D(1) / 2 + dphi(z) * s


def dmills(t, terms):
    # Laplace: R(t) = 1 / (t + 1 / (t + 2 / (t + 3 / (t + ...))))
    acc = t
    for k in range(terms, 0, -1):
        acc = t + k / acc
    return 1 / acc


def log_h_ref(z):
    z = D(repr(z))
    if z >= -3:
        h = dphi(z) + z * dPhi_taylor(z)
        return float(h.ln())
    t = -z
    r1, r2 = dmills(t, 4000), dmills(t, 8000)
    assert abs(r1 - r2) < D(10) ** -60 * r1, float(z)
    return float((-(z * z) / 2 - (2 * PI).sqrt().ln() + (1 - t * r2).ln()))


def log_h_scipy(z):
    if z > -5:
        return math.log(z * scipy.special.ndtr(z) + math.exp(-z * z / 2) / math.sqrt(2 * math.pi))
    t = -z
    mills = math.sqrt(math.pi / 2) * scipy.special.erfcx(t / math.sqrt(2))
    # log h = log Phi(z) + log(1 - t R) - log(t R)... in the form log phi + log(1 - t R), and the
    # same through log_ndtr: log Phi(z) = log phi(z) + log R(t)
    a = -z * z / 2 - 0.5 * math.log(2 * math.pi) + math.log1p(-t * mills)
    b = scipy.special.log_ndtr(z) - math.log(mills) + math.log1p(-t * mills)
    assert abs(a - b) < 1e-9 * abs(a), (z, a, b)
    return a


Z_VALUES = [8.0, 3.0, 1.0, 0.25, 0.0, -0.5, -1.0, -2.0, -3.0, -4.5, -6.0, -8.0, -9.99, -10.01,
            -12.0, -15.0, -20.0, -25.0, -30.0, -40.0, -100.0, -1e4]


def log_h_cases():
    ref = [log_h_ref(z) for z in Z_VALUES]
    for z, v in zip(Z_VALUES, ref):
        if z >= -40:
            s = log_h_scipy(z)
            # the double formulas lose about z^2 ulps to cancellation
            assert abs(s - v) <= 1e-13 * max(1.0, abs(v)) * max(1.0, z * z), (z, s, v)
    return "\n".join([c_array("LOG_H_Z", Z_VALUES), c_array("LOG_H_REF", ref)])


# ---- the fit ----

def log_prior(isl, scale, noise):
    # Optuna 4's default priors, up to a constant (as hpo_gp_log_prior)
    return (-np.sum(0.1 / isl + 0.1 * isl) + (2 - 1) * math.log(scale) - scale +
            (1.1 - 1) * math.log(noise) - 30 * noise)


FIT_CASES = [
    # name, seed, n, d, categorical, f, noise sd
    ("fit1", 4, 15, 1, [0], lambda x: math.sin(7 * x[0]) + x[0], 0.01),
    ("fit3", 5, 30, 3, [0, 0, 0], lambda x: math.sin(5 * x[0]) * x[1] + 0.3 * x[2], 0.1),
    ("fit5", 6, 40, 5, [0, 0, 3, 0, 0],
     lambda x: (x[0] - 0.3) ** 2 * 4 + math.cos(3 * x[1]) + 0.5 * (x[2] == 2) + 0.2 * x[4], 0.05),
]


def fit_case(name, seed, n, d, cat, f, noise_sd):
    x, y = dataset(seed, n, d, cat, f, noise_sd)
    base = gpr_at(x, y, 1.0, [1.0] * d, 1.0, cat)

    # the optimum over hpo's log-parameters (log isl per dim, log scale, log noise) and bounds,
    # by scipy from many starts, with and without the priors
    def objective(u, prior):
        isl, scale, noise = np.exp(u[:d]), math.exp(u[d]), math.exp(u[d + 1])
        ker = kernel(scale, isl, noise, cat)
        lml, grad = base.log_marginal_likelihood(ker.theta, eval_gradient=True)
        gr = np.array(hpo_grad(grad, cat))
        if prior:
            lml += log_prior(isl, scale, noise)
            gr[:d] += 0.1 / isl - 0.1 * isl
            gr[d] += 1 - scale
            gr[d + 1] += 0.1 - 30 * noise
        return -lml, -gr

    bounds = [(math.log(1e-6), math.log(1e6))] * (d + 1) + [(math.log(MIN_NOISE), math.log(10))]
    best = {}
    for prior in (False, True):
        r = np.random.RandomState(seed)
        for start in range(30):
            u0 = np.zeros(d + 2) if start == 0 else r.uniform(-3, 3, size=d + 2)
            res = scipy.optimize.minimize(objective, u0, args=(prior,), jac=True,
                                          method="L-BFGS-B", bounds=bounds,
                                          options={"gtol": 1e-10, "ftol": 1e-14, "maxiter": 2000})
            best[prior] = max(best.get(prior, -math.inf), -res.fun)
    lml_best = best[False]
    if not any(cat):
        # sklearn's own optimizer agrees (or does better: then it is the reference); its
        # length scales may not leave hpo's isl in [1e-6, 1e6]
        k0 = kernel(1.0, [1.0] * d, 1.0, cat, ls_bounds=(1e-3, 1e3), c_bounds=(1e-6, 1e6),
                    n_bounds=(MIN_NOISE, 10.0))
        g = GaussianProcessRegressor(k0, alpha=0.0, normalize_y=False, n_restarts_optimizer=20,
                                     random_state=0).fit(encode(x, cat), y)
        assert g.log_marginal_likelihood_value_ <= lml_best + 1e-6 * abs(lml_best), name
        lml_best = max(lml_best, g.log_marginal_likelihood_value_)
    p = name.upper()
    out = [f"/* {name}: n = {n}, d = {d} */",
           c_array(p + "_X", x.ravel()), c_array(p + "_Y", y),
           c_array(p + "_CAT", [1 if c else 0 for c in cat], "int")]
    entry = (f'    {{"{name}", {n}, {d}, {p}_X, {p}_Y, {p}_CAT, {cnum(lml_best)}, '
             f'{cnum(best[True])}}},')
    return "\n".join(out), entry


# ---- the acquisition's maximizer ----

def log_ei(mean, var, best):
    sigma = np.sqrt(np.maximum(var, 0) + 1e-12)
    z = (mean - best) / sigma
    return np.log(sigma) + np.array([log_h_scipy(v) for v in np.atleast_1d(z)])


ACQ_CASES = [
    # name, seed, n, kinds ('f' float in [0, 1], 'i5' int 0..4, 'c3' categorical of 3), f,
    # isl, scale, noise
    ("acq2", 7, 7, ["f", "f"], lambda v: -((v[0] - 0.7) ** 2 + (v[1] - 0.2) ** 2) * 3,
     [6.0, 4.0], 1.0, 1e-4),
    ("acqmix", 8, 10, ["f", "i5", "c3"],
     lambda v: -(v[0] - 0.4) ** 2 * 4 - 0.2 * (v[1] - 3) ** 2 + 0.5 * (v[2] == 1),
     [5.0, 2.0, 1.0], 1.0, 1e-3),
]


def acq_case(name, seed, n, kinds, f, isl, scale, noise):
    r = np.random.RandomState(seed)
    cat = [int(k[1:]) if k[0] == "c" else 0 for k in kinds]
    values = np.empty((n, len(kinds)))  # internal values
    x = np.empty_like(values)           # hpo's coordinates
    for j, k in enumerate(kinds):
        if k == "f":
            values[:, j] = x[:, j] = r.uniform(size=n)
        elif k[0] == "i":
            m = int(k[1:])
            values[:, j] = r.randint(m, size=n)
            x[:, j] = (values[:, j] + 0.5) / m  # the centre of the value's cell
        else:
            values[:, j] = x[:, j] = r.randint(int(k[1:]), size=n)
    y = standardized([f(v) for v in values])
    g = gpr_at(x, y, scale, isl, noise, cat)
    best = y.max()

    def score(pts):
        mean, std = g.predict(encode(pts, cat), return_std=True)
        return log_ei(mean, std ** 2 - noise, best)

    # the discrete part enumerated, the continuous dims gridded then refined
    cont = [j for j, k in enumerate(kinds) if k == "f"]
    discrete = [[(v + 0.5) / int(k[1:]) for v in range(int(k[1:]))] if k[0] == "i"
                else list(range(int(k[1:]))) for k in kinds if k != "f"]
    grid1 = np.linspace(0, 1, 201 if len(cont) == 2 else 2001)
    top = None
    for combo in np.array(np.meshgrid(*discrete)).reshape(len(discrete), -1).T \
            if discrete else [[]]:
        mesh = np.array(np.meshgrid(*[grid1] * len(cont))).reshape(len(cont), -1).T
        pts = np.empty((len(mesh), len(kinds)))
        pts[:, cont] = mesh
        pts[:, [j for j in range(len(kinds)) if j not in cont]] = combo
        s = score(pts)
        i = int(np.argmax(s))
        start = pts[i].copy()

        def neg(u, start=start):
            p = start.copy()
            p[cont] = u
            return -score(p[None, :])[0]

        res = scipy.optimize.minimize(neg, start[cont], method="L-BFGS-B",
                                      bounds=[(0, 1)] * len(cont),
                                      options={"ftol": 1e-15, "gtol": 1e-12})
        p = start.copy()
        p[cont] = res.x
        v = -res.fun
        if s[i] > v:
            p, v = start, s[i]
        if top is None or v > top[1]:
            top = (p, v)
    pname = name.upper()
    out = [f"/* {name}: n = {n}, dims {' '.join(kinds)} */",
           c_array(pname + "_X", x.ravel()), c_array(pname + "_Y", y),
           c_array(pname + "_HP", list(isl) + [scale, noise]),
           c_array(pname + "_ARGMAX", top[0])]
    entry = (f'    {{"{name}", {n}, {len(kinds)}, "{" ".join(kinds)}", {pname}_X, {pname}_Y, '
             f'{pname}_HP, {cnum(best)}, {pname}_ARGMAX, {cnum(top[1])}}},')
    return "\n".join(out), entry


def emit(cases, fn, type_name, table):
    entries = []
    for c in cases:
        arrays, entry = fn(*c)
        print(arrays)
        entries.append(entry)
    print(f"static const {type_name} {table}[] = {{")
    print("\n".join(entries))
    print("};")


emit(MODEL_CASES, model_case, "model_case", "MODEL_CASES")
print(log_h_cases())
emit(FIT_CASES, fit_case, "fit_case", "FIT_CASES")
emit(ACQ_CASES, acq_case, "acq_case", "ACQ_CASES")
