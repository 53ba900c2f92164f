#!/usr/bin/python3
# qmc_reference: prints, as C initialisers, the points test_qmc.c compares against: plain
# Sobol' and Halton sequences as scipy.stats.qmc (Optuna's QMCSampler's engine) draws them, with
# fast_forward as Optuna uses it. Run: /usr/bin/python3 tests/unit/qmc_reference.py
import numpy as np
from scipy.stats import qmc

DIMS = [0, 1, 2, 3, 9, 99, 511, 1023]
INDEXES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 100, 1000, 4097, 65535, 1000003]


def points(engine_cls):
    d = max(DIMS) + 1
    rows = []
    for k in INDEXES:
        e = engine_cls(d, scramble=False)
        if k:
            e.fast_forward(k)
        p = e.random(1)[0]
        rows.append([float(p[i]) for i in DIMS])
    return rows


print("static const size_t REF_DIMS[] = {" + ", ".join(map(str, DIMS)) + "};")
print("static const uint64_t REF_INDEXES[] = {" + ", ".join(map(str, INDEXES)) + "};")
for name, cls in (("SOBOL", qmc.Sobol), ("HALTON", qmc.Halton)):
    print(f"static const double REF_{name}[{len(INDEXES)}][{len(DIMS)}] = {{")
    for row in points(cls):
        print("    {" + ", ".join(repr(x) for x in row) + "},")
    print("};")
