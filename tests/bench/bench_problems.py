# bench_problems.py: the sampler benchmarks' test functions for the Optuna side (same as bench_problems.h); `check BIN` compares them with the C ones.
"""Branin, Hartmann6, Rosenbrock-5D (two domains), Styblinski-Tang-8D, Ackley-5D, Levy-10D and a
mixed space (one objective); ZDT1 and Binh-Korn with its two constraints (two objectives), as
Optuna objectives.

Each problem: its search space (name, distribution in bench_problems.h's order), a function of
the values in that order (categoricals as their choice), the number of objectives (all
minimized) and constraints (feasible when all are <= 0), the known minimum (one objective) or the
hypervolume's reference point (two). objective(name) is the define-by-run Optuna objective; with
constraints it stores them as the trial's user attr "constraints", which constraints_func reads
(Optuna's documented pattern).

  /usr/bin/python3 bench_problems.py check BENCH_TPE_HTTP
evaluates every problem at random points and its optimum here and with `BENCH_TPE_HTTP eval`
(the C definitions) and exits 1 when they differ.
"""
import json
import math
import random
import subprocess
import sys

PI = math.pi


def branin(x):
    b = 5.1 / (4.0 * PI * PI)
    c = 5.0 / PI
    t = 1.0 / (8.0 * PI)
    u = x[1] - b * x[0] * x[0] + c * x[0] - 6.0
    return u * u + 10.0 * (1.0 - t) * math.cos(x[0]) + 10.0


_ALPHA = [1.0, 1.2, 3.0, 3.2]
_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
      [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
_P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
      [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
      [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
      [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(x):
    s = 0.0
    for i in range(4):
        e = sum(_A[i][j] * (x[j] - _P[i][j]) ** 2 for j in range(6))
        s += _ALPHA[i] * math.exp(-e)
    return -s


def rosenbrock(x):
    return sum(100.0 * (x[i + 1] - x[i] * x[i]) ** 2 + (1.0 - x[i]) ** 2 for i in range(len(x) - 1))


def styblinski_tang(x):
    return 0.5 * sum(v ** 4 - 16.0 * v * v + 5.0 * v for v in x)


def ackley(x):
    n = len(x)
    return (-20.0 * math.exp(-0.2 * math.sqrt(sum(v * v for v in x) / n))
            - math.exp(sum(math.cos(2.0 * PI * v) for v in x) / n) + 20.0 + math.e)


def levy(x):
    w = [1.0 + (v - 1.0) / 4.0 for v in x]
    s = math.sin(PI * w[0]) ** 2
    s += sum((wi - 1.0) ** 2 * (1.0 + 10.0 * math.sin(PI * wi + 1.0) ** 2) for wi in w[:-1])
    return s + (w[-1] - 1.0) ** 2 * (1.0 + math.sin(2.0 * PI * w[-1]) ** 2)


_OPT_COST = {"sgd": 0.5, "adam": 0.0, "rmsprop": 0.2}
_ACT_COST = {"relu": 0.0, "tanh": 0.3}
OPTIMIZERS = ["sgd", "adam", "rmsprop"]
ACTIVATIONS = ["relu", "tanh"]


def mixed(x):
    lr, layers, opt, act, dropout = x
    l = math.log10(lr) - math.log10(3e-3)
    return l * l + 0.05 * (layers - 4) ** 2 + _OPT_COST[opt] + _ACT_COST[act] + 4.0 * (dropout - 0.2) ** 2


def zdt1(x):
    g = 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)
    return (x[0], g * (1.0 - math.sqrt(x[0] / g)))


def binh_korn(x):
    """(objectives, constraints)."""
    a, b = x
    return ((4.0 * a * a + 4.0 * b * b, (a - 5.0) ** 2 + (b - 5.0) ** 2),
            ((a - 5.0) ** 2 + b * b - 25.0, 7.7 - (a - 8.0) ** 2 - (b + 3.0) ** 2))


def _xs(bounds):
    """Float params x1.. with their (low, high)."""
    return [(f"x{i + 1}", ("float", lo, hi)) for i, (lo, hi) in enumerate(bounds)]


class Problem:
    def __init__(self, space, f, minimum=None, objectives=1, constraints=0, reference=None,
                 optimum=None):
        self.space, self.f, self.minimum = space, f, minimum
        self.objectives, self.constraints, self.reference = objectives, constraints, reference
        self.optimum = optimum  # a point where the known minimum is (one objective)

    def evaluate(self, values):
        """(objectives tuple, constraints tuple) at values in the space's order."""
        r = self.f(values)
        if self.constraints:
            return tuple(r[0]), tuple(r[1])
        return (tuple(r) if self.objectives > 1 else (r,)), ()


PROBLEMS = {
    "branin": Problem(_xs([(-5, 10), (0, 15)]), branin, 0.397887, optimum=[PI, 2.275]),
    "hartmann6": Problem(_xs([(0, 1)] * 6), hartmann6, -3.32237,
                         optimum=[0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]),
    "rosenbrock5": Problem(_xs([(-2.048, 2.048)] * 5), rosenbrock, 0.0, optimum=[1.0] * 5),
    "rosenbrock5w": Problem(_xs([(-5, 10)] * 5), rosenbrock, 0.0, optimum=[1.0] * 5),
    "styblinski8": Problem(_xs([(-5, 5)] * 8), styblinski_tang, -39.16616570377141 * 8,
                           optimum=[-2.9035340286202334] * 8),
    "ackley5": Problem(_xs([(-32.768, 32.768)] * 5), ackley, 0.0, optimum=[0.0] * 5),
    "levy10": Problem(_xs([(-10, 10)] * 10), levy, 0.0, optimum=[1.0] * 10),
    "mixed": Problem([("lr", ("float", 1e-4, 1e-1, True)), ("layers", ("int", 1, 8)),
                      ("optimizer", ("cat", OPTIMIZERS)), ("activation", ("cat", ACTIVATIONS)),
                      ("dropout", ("float", 0.0, 0.5))], mixed, 0.0,
                     optimum=[3e-3, 4, "adam", "relu", 0.2]),
    "zdt1": Problem(_xs([(0, 1)] * 6), zdt1, objectives=2, reference=(1.1, 11.0)),
    "binhkorn": Problem([("x", ("float", 0, 5)), ("y", ("float", 0, 3))], binh_korn, objectives=2,
                        constraints=2, reference=(140.0, 50.0)),
}


def _suggest(trial, name, d):
    if d[0] == "float":
        return trial.suggest_float(name, d[1], d[2], log=len(d) > 3 and d[3])
    if d[0] == "int":
        return trial.suggest_int(name, d[1], d[2])
    return trial.suggest_categorical(name, d[1])


def objective(name):
    """The Optuna objective of a problem: a value, or a tuple of values for several objectives."""
    p = PROBLEMS[name]

    def f(trial):
        values, cons = p.evaluate([_suggest(trial, n, d) for n, d in p.space])
        if p.constraints:
            trial.set_user_attr("constraints", list(cons))
        return values if p.objectives > 1 else values[0]

    return f


def constraints_func(trial):
    """Optuna's constraints_func for the problems with constraints."""
    return trial.user_attrs["constraints"]


def minimum(name):
    return PROBLEMS[name].minimum


def hypervolume(points, reference):
    """The exact hypervolume that 2-objective points (minimized) dominate up to reference."""
    pts = sorted(p for p in points if p[0] < reference[0] and p[1] < reference[1])
    hv, y = 0.0, reference[1]
    for a, b in pts:
        if b < y:
            hv += (reference[0] - a) * (y - b)
            y = b
    return hv


def check(binary, n_points=20):
    """Evaluates every problem at n_points random points and its optimum in Python and in C
    (`binary eval`); returns the differences found (empty: they agree)."""
    rng = random.Random(7)
    bad = []
    for name, p in PROBLEMS.items():
        points = [[rng.choice(d[1]) if d[0] == "cat" else
                   rng.randint(d[1], d[2]) if d[0] == "int" else rng.uniform(d[1], d[2])
                   for _, d in p.space] for _ in range(n_points)]
        if p.optimum:
            points.append(p.optimum)
        lines = "".join(json.dumps({n: v for (n, _), v in zip(p.space, x)}) + "\n" for x in points)
        out = subprocess.run([binary, "eval", "--problem", name], input=lines, text=True,
                             capture_output=True, check=True).stdout.splitlines()
        if len(out) != len(points):
            bad.append(f"{name}: {len(points)} points, {len(out)} answers")
            continue
        for x, line in zip(points, out):
            c = json.loads(line)
            values, cons = p.evaluate(x)
            got = tuple(c["values"]) + tuple(c.get("constraints", []))
            want = values + cons
            if len(got) != len(want) or any(abs(g - w) > 1e-9 * max(1.0, abs(w))
                                             for g, w in zip(got, want)):
                bad.append(f"{name} at {x}: C {got}, Python {want}")
        if p.minimum is not None and p.optimum:
            at = p.evaluate(p.optimum)[0][0]
            if abs(at - p.minimum) > 1e-4 * max(1.0, abs(p.minimum)):
                bad.append(f"{name}: {at} at the optimum, minimum {p.minimum}")
    return bad


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "check":
        sys.exit("usage: bench_problems.py check BENCH_TPE_HTTP")
    errors = check(sys.argv[2])
    for e in errors:
        print(f"bench_problems: {e}", file=sys.stderr)
    print(f"bench_problems: C and Python agree on {len(PROBLEMS)} problems" if not errors
          else f"bench_problems: {len(errors)} disagreements", file=sys.stderr)
    sys.exit(1 if errors else 0)
