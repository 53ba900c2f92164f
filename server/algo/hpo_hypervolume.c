/* hpo_hypervolume: WFG over sets of points, each set in one block of memory. */
#include "hpo_hypervolume.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double *p; /* n rows of m */
    size_t n;
} set;

/* Rows compare by their first value (any objective serves: the volume is the same). */
static int by_first(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int by_first_desc(const void *a, const void *b)
{
    return by_first(b, a);
}

/* Two objectives: sorted by the first, each point adds the strip below the best second value so
 * far. */
static double hv2(set s, const double *ref)
{
    qsort(s.p, s.n, 2 * sizeof(double), by_first);
    double v = 0, y = ref[1];
    for (size_t i = 0; i < s.n; i++)
        if (s.p[2 * i + 1] < y) {
            v += (ref[0] - s.p[2 * i]) * (y - s.p[2 * i + 1]);
            y = s.p[2 * i + 1];
        }
    return v;
}

static bool dominates_weakly(const double *a, const double *b, size_t m)
{
    for (size_t k = 0; k < m; k++)
        if (a[k] > b[k])
            return false;
    return true;
}

/* The points of s[from..] each pushed up to p (componentwise max), keeping the non-dominated
 * ones, into out (room for s.n - from rows). */
static size_t limit_set(const set *s, size_t from, const double *p, size_t m, double *out)
{
    size_t n = 0;
    for (size_t i = from; i < s->n; i++) {
        double *q = out + n * m;
        for (size_t k = 0; k < m; k++)
            q[k] = fmax(s->p[i * m + k], p[k]);
        bool dominated = false;
        for (size_t j = 0; j < n && !dominated; j++)
            dominated = dominates_weakly(out + j * m, q, m);
        if (dominated)
            continue;
        size_t kept = 0; /* q may dominate some already kept */
        for (size_t j = 0; j < n; j++)
            if (!dominates_weakly(q, out + j * m, m)) {
                if (kept != j)
                    memmove(out + kept * m, out + j * m, m * sizeof(double));
                kept++;
            }
        if (kept != n)
            memmove(out + kept * m, q, m * sizeof(double));
        n = kept + 1;
    }
    return n;
}

static double box(const double *p, const double *ref, size_t m)
{
    double v = 1;
    for (size_t k = 0; k < m; k++)
        v *= ref[k] - p[k];
    return v;
}

/* hv(S) = the sum over i of what p_i adds beyond p_(i+1), ...: its box less the volume of the
 * later points limited to it. Sorting worst first (in one objective) keeps the limit sets
 * small. */
static double wfg(set s, const double *ref, size_t m)
{
    if (s.n == 0)
        return 0;
    if (m == 2)
        return hv2(s, ref);
    if (s.n == 1)
        return box(s.p, ref, m);
    qsort(s.p, s.n, m * sizeof(double), by_first_desc);
    double *buf = malloc(s.n * m * sizeof(double));
    if (!buf)
        return -1;
    double v = 0;
    for (size_t i = 0; i < s.n && v >= 0; i++) {
        set l = {buf, limit_set(&s, i + 1, s.p + i * m, m, buf)};
        double inner = wfg(l, ref, m);
        v = inner < 0 ? -1 : v + box(s.p + i * m, ref, m) - inner;
    }
    free(buf);
    return v;
}

double hpo_hypervolume(const double *points, size_t n, size_t m, const double *ref)
{
    if (m == 0)
        return 0;
    double *p = malloc((n ? n : 1) * m * sizeof(double));
    if (!p)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool inside = true;
        for (size_t j = 0; j < m; j++)
            inside = inside && points[i * m + j] < ref[j];
        if (inside)
            memcpy(p + k++ * m, points + i * m, m * sizeof(double));
    }
    double v;
    if (m == 1) {
        double best = ref[0];
        for (size_t i = 0; i < k; i++)
            best = fmin(best, p[i]);
        v = ref[0] - best;
    } else {
        set s = {p, k};
        v = wfg(s, ref, m);
    }
    free(p);
    return v;
}

void hpo_hypervolume_default_ref(const double *points, size_t n, size_t m, double zero,
                                 double *ref)
{
    for (size_t j = 0; j < m; j++) {
        double w = -INFINITY;
        for (size_t i = 0; i < n; i++)
            w = fmax(w, points[i * m + j]);
        double r = n ? fmax(1.1 * w, 0.9 * w) : 0;
        ref[j] = r == 0 ? zero : r;
    }
}
