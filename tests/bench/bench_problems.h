/* bench_problems: the test functions of the sampler benchmarks (Branin, Hartmann6, Rosenbrock-5D, Styblinski-Tang-8D, Ackley-5D, Levy-10D, mixed; ZDT1 and the constrained Binh-Korn with two objectives), shared by bench_tpe_quality.c and bench_tpe_http.c; bench_problems.py is the same in Python. */
#ifndef BENCH_PROBLEMS_H
#define BENCH_PROBLEMS_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define BP_MAX_PARAMS 10
#define BP_MAX_OBJECTIVES 2
#define BP_MAX_CONSTRAINTS 2

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
    const char *name;     /* branin, hartmann6, ..., zdt1, binhkorn */
    const char *label;    /* for the tables */
    double minimum;       /* one objective: the known global minimum */
    size_t n_objectives;  /* all minimized */
    size_t n_constraints; /* feasible when all are <= 0, as Optuna's constraints_func */
    double reference[BP_MAX_OBJECTIVES]; /* several objectives: the hypervolume's reference point */
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

/* Styblinski-Tang: 0.5 sum(x^4 - 16 x^2 + 5 x); minimum -39.16616570377141 n at x_i = -2.903534. */
static inline double bp_styblinski_tang(const double *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * x[i] * x[i] * x[i] - 16.0 * x[i] * x[i] + 5.0 * x[i];
    return 0.5 * s;
}

/* Ackley (a 20, b 0.2, c 2 pi); minimum 0 at 0. */
static inline double bp_ackley(const double *x, size_t n)
{
    const double pi = 3.14159265358979323846;
    double sq = 0.0, cs = 0.0;
    for (size_t i = 0; i < n; i++) {
        sq += x[i] * x[i];
        cs += cos(2.0 * pi * x[i]);
    }
    return -20.0 * exp(-0.2 * sqrt(sq / (double)n)) - exp(cs / (double)n) + 20.0 + exp(1.0);
}

/* Levy: w_i = 1 + (x_i - 1) / 4; minimum 0 at x_i = 1. */
static inline double bp_levy(const double *x, size_t n)
{
    const double pi = 3.14159265358979323846;
    double w0 = 1.0 + (x[0] - 1.0) / 4.0, wn = 1.0 + (x[n - 1] - 1.0) / 4.0;
    double s = sin(pi * w0) * sin(pi * w0);
    for (size_t i = 0; i + 1 < n; i++) {
        double w = 1.0 + (x[i] - 1.0) / 4.0, t = sin(pi * w + 1.0);
        s += (w - 1.0) * (w - 1.0) * (1.0 + 10.0 * t * t);
    }
    return s + (wn - 1.0) * (wn - 1.0) * (1.0 + sin(2.0 * pi * wn) * sin(2.0 * pi * wn));
}

/* ZDT1: f1 = x1, g = 1 + 9 sum(x_2..x_n) / (n - 1), f2 = g (1 - sqrt(f1 / g)). */
static inline void bp_zdt1(const double *x, size_t n, double *f)
{
    double s = 0.0;
    for (size_t i = 1; i < n; i++)
        s += x[i];
    double g = 1.0 + 9.0 * s / (double)(n - 1);
    f[0] = x[0];
    f[1] = g * (1.0 - sqrt(x[0] / g));
}

/* Binh and Korn: f1 = 4x^2 + 4y^2, f2 = (x-5)^2 + (y-5)^2; constraints (x-5)^2 + y^2 - 25 <= 0,
 * 7.7 - (x-8)^2 - (y+3)^2 <= 0 (Optuna's constraints_func example). */
static inline void bp_binh_korn(const double *x, double *f, double *c)
{
    f[0] = 4.0 * x[0] * x[0] + 4.0 * x[1] * x[1];
    f[1] = (x[0] - 5.0) * (x[0] - 5.0) + (x[1] - 5.0) * (x[1] - 5.0);
    c[0] = (x[0] - 5.0) * (x[0] - 5.0) + x[1] * x[1] - 25.0;
    c[1] = 7.7 - (x[0] - 8.0) * (x[0] - 8.0) - (x[1] + 3.0) * (x[1] + 3.0);
}

#define BP_X(name, lo, hi) {name, BP_FLOAT, lo, hi, false, 0, {0}}
#define BP_SINGLE(minimum) minimum, 1, 0, {0, 0}

static const bp_problem BP_PROBLEMS[] = {
    {"branin", "Branin", BP_SINGLE(0.397887), 2, {BP_X("x1", -5, 10), BP_X("x2", 0, 15)}},
    {"hartmann6", "Hartmann6", BP_SINGLE(-3.32237), 6,
     {BP_X("x1", 0, 1), BP_X("x2", 0, 1), BP_X("x3", 0, 1), BP_X("x4", 0, 1), BP_X("x5", 0, 1),
      BP_X("x6", 0, 1)}},
    {"rosenbrock5", "Rosenbrock-5D [-2.048, 2.048]^5", BP_SINGLE(0.0), 5,
     {BP_X("x1", -2.048, 2.048), BP_X("x2", -2.048, 2.048), BP_X("x3", -2.048, 2.048),
      BP_X("x4", -2.048, 2.048), BP_X("x5", -2.048, 2.048)}},
    {"rosenbrock5w", "Rosenbrock-5D [-5, 10]^5", BP_SINGLE(0.0), 5,
     {BP_X("x1", -5, 10), BP_X("x2", -5, 10), BP_X("x3", -5, 10), BP_X("x4", -5, 10),
      BP_X("x5", -5, 10)}},
    {"styblinski8", "Styblinski-Tang-8D [-5, 5]^8", BP_SINGLE(-39.16616570377141 * 8), 8,
     {BP_X("x1", -5, 5), BP_X("x2", -5, 5), BP_X("x3", -5, 5), BP_X("x4", -5, 5),
      BP_X("x5", -5, 5), BP_X("x6", -5, 5), BP_X("x7", -5, 5), BP_X("x8", -5, 5)}},
    {"ackley5", "Ackley-5D [-32.768, 32.768]^5", BP_SINGLE(0.0), 5,
     {BP_X("x1", -32.768, 32.768), BP_X("x2", -32.768, 32.768), BP_X("x3", -32.768, 32.768),
      BP_X("x4", -32.768, 32.768), BP_X("x5", -32.768, 32.768)}},
    {"levy10", "Levy-10D [-10, 10]^10", BP_SINGLE(0.0), 10,
     {BP_X("x1", -10, 10), BP_X("x2", -10, 10), BP_X("x3", -10, 10), BP_X("x4", -10, 10),
      BP_X("x5", -10, 10), BP_X("x6", -10, 10), BP_X("x7", -10, 10), BP_X("x8", -10, 10),
      BP_X("x9", -10, 10), BP_X("x10", -10, 10)}},
    {"mixed", "Mixed (log lr, int, 2 categorical, float)", BP_SINGLE(0.0), 5,
     {{"lr", BP_FLOAT, 1e-4, 1e-1, true, 0, {0}},
      {"layers", BP_INT, 1, 8, false, 0, {0}},
      {"optimizer", BP_CAT, 0, 0, false, 3, {"sgd", "adam", "rmsprop"}},
      {"activation", BP_CAT, 0, 0, false, 2, {"relu", "tanh"}},
      BP_X("dropout", 0, 0.5)}},
    {"zdt1", "ZDT1, 6 variables", 0.0, 2, 0, {1.1, 11.0}, 6,
     {BP_X("x1", 0, 1), BP_X("x2", 0, 1), BP_X("x3", 0, 1), BP_X("x4", 0, 1), BP_X("x5", 0, 1),
      BP_X("x6", 0, 1)}},
    {"binhkorn", "Binh-Korn, 2 constraints", 0.0, 2, 2, {140.0, 50.0}, 2,
     {BP_X("x", 0, 5), BP_X("y", 0, 3)}},
};
#define BP_N_PROBLEMS (sizeof BP_PROBLEMS / sizeof BP_PROBLEMS[0])
#undef BP_X
#undef BP_SINGLE

static inline const bp_problem *bp_find(const char *name)
{
    for (size_t i = 0; i < BP_N_PROBLEMS; i++)
        if (strcmp(BP_PROBLEMS[i].name, name) == 0)
            return &BP_PROBLEMS[i];
    return NULL;
}

/* The objectives (p->n_objectives of them) and constraints (p->n_constraints) at x. */
static inline void bp_evaluate(const bp_problem *p, const double *x, double *ret_values,
                               double *ret_constraints)
{
    if (strcmp(p->name, "zdt1") == 0)
        bp_zdt1(x, p->n, ret_values);
    else if (strcmp(p->name, "binhkorn") == 0)
        bp_binh_korn(x, ret_values, ret_constraints);
    else if (strcmp(p->name, "branin") == 0)
        ret_values[0] = bp_branin(x);
    else if (strcmp(p->name, "hartmann6") == 0)
        ret_values[0] = bp_hartmann6(x);
    else if (strncmp(p->name, "rosenbrock", 10) == 0)
        ret_values[0] = bp_rosenbrock(x, p->n);
    else if (strcmp(p->name, "styblinski8") == 0)
        ret_values[0] = bp_styblinski_tang(x, p->n);
    else if (strcmp(p->name, "ackley5") == 0)
        ret_values[0] = bp_ackley(x, p->n);
    else if (strcmp(p->name, "levy10") == 0)
        ret_values[0] = bp_levy(x, p->n);
    else
        ret_values[0] = bp_mixed(x);
}

/* The objective of a problem of one objective (the first objective of others). */
static inline double bp_eval(const bp_problem *p, const double *x)
{
    double v[BP_MAX_OBJECTIVES], c[BP_MAX_CONSTRAINTS];
    bp_evaluate(p, x, v, c);
    return v[0];
}

#endif
