/* bench_problems: the test functions of the TPE benchmarks (Branin, Hartmann6, Rosenbrock-5D, mixed), shared by bench_tpe_quality.c and bench_tpe_parallel.c; bench_problems.py is the same in Python. */
#ifndef BENCH_PROBLEMS_H
#define BENCH_PROBLEMS_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define BP_MAX_PARAMS 8

typedef enum { BP_FLOAT, BP_INT, BP_CAT } bp_kind;

typedef struct {
    const char *name;
    bp_kind kind;
    double low, high; /* FLOAT / INT */
    bool log;
    size_t n_choices; /* CAT */
    const char *choices[4];
} bp_param;

typedef struct {
    const char *name;  /* branin, hartmann6, rosenbrock5, mixed */
    const char *label; /* for the tables */
    double minimum;    /* the known global minimum */
    size_t n;
    bp_param params[BP_MAX_PARAMS];
} bp_problem;

/* Values: numbers for FLOAT / INT, the choice index for CAT, in the order of params. */
static inline double bp_branin(const double *x)
{
    const double pi = 3.14159265358979323846;
    double a = 1.0, b = 5.1 / (4.0 * pi * pi), c = 5.0 / pi, r = 6.0, s = 10.0,
           t = 1.0 / (8.0 * pi);
    double u = x[1] - b * x[0] * x[0] + c * x[0] - r;
    return a * u * u + s * (1.0 - t) * cos(x[0]) + s;
}

static inline double bp_hartmann6(const double *x)
{
    static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
    static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                   {0.05, 10, 17, 0.1, 8, 14},
                                   {3, 3.5, 1.7, 10, 17, 8},
                                   {17, 8, 0.05, 10, 0.1, 14}};
    static const double P[4][6] = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
                                   {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
                                   {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
                                   {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
    double sum = 0.0;
    for (int i = 0; i < 4; i++) {
        double e = 0.0;
        for (int j = 0; j < 6; j++)
            e += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
        sum += alpha[i] * exp(-e);
    }
    return -sum;
}

static inline double bp_rosenbrock(const double *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i + 1 < n; i++)
        s += 100.0 * (x[i + 1] - x[i] * x[i]) * (x[i + 1] - x[i] * x[i]) +
             (1.0 - x[i]) * (1.0 - x[i]);
    return s;
}

/* mixed: lr (log float [1e-4, 1e-1]), layers (int [1, 8]), optimizer (sgd, adam, rmsprop),
 * activation (relu, tanh), dropout (float [0, 0.5]).
 * f = (log10(lr) - log10(3e-3))^2 + 0.05 (layers - 4)^2 + {sgd 0.5, adam 0, rmsprop 0.2}
 *     + {relu 0, tanh 0.3} + 4 (dropout - 0.2)^2; minimum 0 at (3e-3, 4, adam, relu, 0.2). */
static inline double bp_mixed(const double *x)
{
    static const double opt_cost[3] = {0.5, 0.0, 0.2};
    static const double act_cost[2] = {0.0, 0.3};
    double l = log10(x[0]) - log10(3e-3);
    int o = (int)x[2], a = (int)x[3];
    return l * l + 0.05 * (x[1] - 4.0) * (x[1] - 4.0) + opt_cost[o] + act_cost[a] +
           4.0 * (x[4] - 0.2) * (x[4] - 0.2);
}

static const bp_problem BP_PROBLEMS[] = {
    {"branin", "Branin", 0.397887, 2,
     {{"x1", BP_FLOAT, -5, 10, false, 0, {0}}, {"x2", BP_FLOAT, 0, 15, false, 0, {0}}}},
    {"hartmann6", "Hartmann6", -3.32237, 6,
     {{"x1", BP_FLOAT, 0, 1, false, 0, {0}},
      {"x2", BP_FLOAT, 0, 1, false, 0, {0}},
      {"x3", BP_FLOAT, 0, 1, false, 0, {0}},
      {"x4", BP_FLOAT, 0, 1, false, 0, {0}},
      {"x5", BP_FLOAT, 0, 1, false, 0, {0}},
      {"x6", BP_FLOAT, 0, 1, false, 0, {0}}}},
    {"rosenbrock5", "Rosenbrock-5D [-2.048, 2.048]^5", 0.0, 5,
     {{"x1", BP_FLOAT, -2.048, 2.048, false, 0, {0}},
      {"x2", BP_FLOAT, -2.048, 2.048, false, 0, {0}},
      {"x3", BP_FLOAT, -2.048, 2.048, false, 0, {0}},
      {"x4", BP_FLOAT, -2.048, 2.048, false, 0, {0}},
      {"x5", BP_FLOAT, -2.048, 2.048, false, 0, {0}}}},
    {"rosenbrock5w", "Rosenbrock-5D [-5, 10]^5", 0.0, 5,
     {{"x1", BP_FLOAT, -5, 10, false, 0, {0}},
      {"x2", BP_FLOAT, -5, 10, false, 0, {0}},
      {"x3", BP_FLOAT, -5, 10, false, 0, {0}},
      {"x4", BP_FLOAT, -5, 10, false, 0, {0}},
      {"x5", BP_FLOAT, -5, 10, false, 0, {0}}}},
    {"mixed", "Mixed (log lr, int, 2 categorical, float)", 0.0, 5,
     {{"lr", BP_FLOAT, 1e-4, 1e-1, true, 0, {0}},
      {"layers", BP_INT, 1, 8, false, 0, {0}},
      {"optimizer", BP_CAT, 0, 0, false, 3, {"sgd", "adam", "rmsprop"}},
      {"activation", BP_CAT, 0, 0, false, 2, {"relu", "tanh"}},
      {"dropout", BP_FLOAT, 0, 0.5, false, 0, {0}}}},
};
#define BP_N_PROBLEMS (sizeof BP_PROBLEMS / sizeof BP_PROBLEMS[0])

static inline const bp_problem *bp_find(const char *name)
{
    for (size_t i = 0; i < BP_N_PROBLEMS; i++)
        if (strcmp(BP_PROBLEMS[i].name, name) == 0)
            return &BP_PROBLEMS[i];
    return NULL;
}

static inline double bp_eval(const bp_problem *p, const double *x)
{
    if (strcmp(p->name, "branin") == 0)
        return bp_branin(x);
    if (strcmp(p->name, "hartmann6") == 0)
        return bp_hartmann6(x);
    if (strncmp(p->name, "rosenbrock", 10) == 0)
        return bp_rosenbrock(x, p->n);
    return bp_mixed(x);
}

#endif
