/* hpo_ped_anova: PED-ANOVA's importances (Optuna 3.6's PedAnovaImportanceEvaluator and its
 * _ScottParzenEstimator; see hpo_importance.h). Per param, the trials' values are counted on a
 * grid (numeric: np.linspace(low, high, n_steps) in log space for log params, a value going to
 * the first grid point at or above value - step/2; categorical: the choices), a mixture is built
 * over the grid from the counts (a kernel per grid point seen, weighted by its count, plus a
 * prior), and the importance is the Pearson divergence sum_g p_local(g) (p_top(g) / p_local(g) -
 * 1)^2 of the top trials' mixture from all trials' one, times the top trials' fraction.
 *
 * Numeric kernels: normals of Scott's bandwidth 1.059 min(IQR / 1.34, sd) N^-0.2 (at least
 * 0.5 / 1.64 grid steps) on the grid indexes, truncated to [-0.5, n - 0.5], a grid point's
 * probability being the kernel's mass on [g - 0.5, g + 0.5]; the prior: mean (n - 1) / 2, sd n.
 * Categorical kernels: 1 + prior_weight / (m + 1) on the own choice and prior_weight / (m + 1) on
 * each (m: the choices seen), normalised; the prior's uniform. Every mass is taken through
 * hpo_tpe_log_gauss_mass, the numerics of Optuna's _truncnorm. */
#include <math.h>
#include <string.h>

#include "hpo_importance_eval.h"
#include "hpo_sort.h"
#include "hpo_tpe.h"

static inline bool dbl_less(const double *a, const double *b)
{
    return *a < *b;
}

HPO_SORT_DEFINE(pa_sort, double, dbl_less)

/* The grid of a numeric param: its size (n_steps, or fewer for int and stepped params) and the
 * grid points (in log space for log params). */
static size_t numeric_grid(const hpo_dist *d, int n_steps, double *grid)
{
    size_t ns = (size_t)n_steps;
    if (d->type == HPO_DIST_INT && d->log) {
        double l2 = ceil(log(d->high - d->low + 1) / log(2.0)) + 1;
        if (l2 < (double)ns)
            ns = (size_t)l2;
    } else if (d->type == HPO_DIST_INT || d->step > 0) {
        double steps = nearbyint((d->high - d->low) / d->step) + 1; /* Python's round */
        if (steps < (double)ns)
            ns = (size_t)steps;
    }
    if (ns < 2)
        ns = 2;
    double lo = d->log ? log(d->low) : d->low, hi = d->log ? log(d->high) : d->high;
    double step = (hi - lo) / (double)(ns - 1); /* np.linspace */
    for (size_t i = 0; i < ns; i++)
        grid[i] = (double)i * step + lo;
    grid[ns - 1] = hi;
    return ns;
}

/* The grid index of every value (those of trials with `sel` set, all when sel is NULL) counted. */
static void numeric_counts(const hpo_dist *d, const double *grid, size_t ns, const double *v,
                           size_t n, const unsigned char *sel, double *counts)
{
    double half = (grid[1] - grid[0]) / 2;
    memset(counts, 0, ns * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        if (sel != NULL && !sel[i])
            continue;
        double t = d->log ? log(v[i]) : v[i];
        size_t g = hpo_sort_search(grid, ns, t - half, false);
        counts[g < ns ? g : ns - 1] += 1;
    }
}

/* The estimator's probability of each of the ns grid points from the counts (Scott's rule). */
static void numeric_pdf(const double *counts, size_t ns, double prior_weight, double *scratch,
                        double *ret)
{
    double total = 0, mean = 0;
    for (size_t g = 0; g < ns; g++)
        total += counts[g];
    for (size_t g = 0; g < ns; g++)
        mean += (double)g * (counts[g] / total);
    double ss = 0;
    for (size_t g = 0; g < ns; g++)
        if (counts[g] > 0)
            ss += ((double)g - mean) * ((double)g - mean) * counts[g];
    double sd = sqrt(ss / (total - 1 > 1 ? total - 1 : 1));
    /* quartiles over the points seen: the first cumulative count >= floor(N / 4), and the first
     * > floor(3N / 4) (np.searchsorted left and right), clipped to the last point seen */
    double q25 = floor(total / 4), q75 = floor(total * 3 / 4), cum = 0;
    double mu25 = -1, mu75 = -1, last = 0;
    for (size_t g = 0; g < ns; g++) {
        if (!(counts[g] > 0))
            continue;
        cum += counts[g];
        last = (double)g;
        if (mu25 < 0 && cum >= q25)
            mu25 = (double)g;
        if (mu75 < 0 && cum > q75)
            mu75 = (double)g;
    }
    if (mu75 < 0)
        mu75 = last;
    double iqr = mu75 - mu25;
    double sigma = 1.059 * fmin(iqr / 1.34, sd) * pow(total, -0.2);
    if (!(sigma >= 0.5 / 1.64))
        sigma = 0.5 / 1.64;
    /* every observation kernel has this sigma and an integer mean: the mass of grid point g
     * under the kernel at mu depends on g - mu only (scratch[ns - 1 + g - mu]) */
    double *cell = scratch; /* 2 ns - 1 */
    for (size_t k = 0; k + 1 < 2 * ns; k++) {
        double off = (double)k - (double)(ns - 1);
        cell[k] = exp(hpo_tpe_log_gauss_mass((off - 0.5) / sigma, (off + 0.5) / sigma));
    }
    double wsum = total + prior_weight;
    for (size_t g = 0; g < ns; g++)
        ret[g] = 0;
    for (size_t m = 0; m < ns; m++) {
        if (!(counts[m] > 0))
            continue;
        double mu = (double)m;
        double z = exp(hpo_tpe_log_gauss_mass((-0.5 - mu) / sigma, ((double)ns - 0.5 - mu) / sigma));
        double w = counts[m] / wsum / z;
        for (size_t g = 0; g < ns; g++)
            ret[g] += w * cell[ns - 1 + g - m];
    }
    double pmu = 0.5 * (double)(ns - 1), ps = (double)ns;
    double pz = exp(hpo_tpe_log_gauss_mass((-0.5 - pmu) / ps, ((double)ns - 0.5 - pmu) / ps));
    double pw = prior_weight / wsum / pz;
    for (size_t g = 0; g < ns; g++) {
        double a = ((double)g - 0.5 - pmu) / ps, b = ((double)g + 0.5 - pmu) / ps;
        ret[g] += pw * exp(hpo_tpe_log_gauss_mass(a, b));
    }
}

/* The categorical estimator's probability of each of the k choices from the counts. */
static void categorical_pdf(const double *counts, size_t k, double prior_weight, double *ret)
{
    double total = 0;
    size_t seen = 0;
    for (size_t i = 0; i < k; i++) {
        total += counts[i];
        seen += counts[i] > 0;
    }
    double base = prior_weight / (double)(seen + 1); /* each kernel's prior part per choice */
    double row = (double)k * base + 1;              /* an observation kernel's sum */
    double wsum = total + prior_weight;
    double spread = 0; /* the observation kernels' common part, weighted */
    for (size_t i = 0; i < k; i++)
        if (counts[i] > 0)
            spread += counts[i] / wsum * base / row;
    for (size_t i = 0; i < k; i++)
        ret[i] = spread + (counts[i] > 0 ? counts[i] / wsum / row : 0) +
                 prior_weight / wsum / (double)k;
}

/* sum_g local(g) (top(g) / local(g) - 1)^2 with Optuna's 1e-12 on both estimators (none on the
 * uniform local distribution). */
static double pearson(const double *top, const double *local, size_t ns, bool uniform)
{
    double s = 0;
    for (size_t g = 0; g < ns; g++) {
        double pt = top[g] + 1e-12;
        double pl = uniform ? 1.0 / (double)ns : local[g] + 1e-12;
        double r = pt / pl - 1;
        s += pl * r * r;
    }
    return s;
}

hpo_rc hpo_ped_anova_importance(hpo_arena *a, const hpo_importance_config *c,
                                const hpo_importance_data *data, hpo_direction dir, double *ret,
                                hpo_error *err)
{
    size_t n = data->n, np = data->n_params;
    size_t max_k = (size_t)c->n_steps;
    for (size_t p = 0; p < np; p++)
        if (data->dists[p]->type == HPO_DIST_CATEGORICAL && data->dists[p]->n_choices > max_k)
            max_k = data->dists[p]->n_choices;
    double *loss = hpo_arena_alloc(a, n, sizeof(double));
    double *sorted = hpo_arena_alloc(a, n, sizeof(double));
    double *tmp = hpo_arena_alloc(a, n, sizeof(double));
    unsigned char *top = hpo_arena_alloc(a, n, 1);
    double *grid = hpo_arena_alloc(a, max_k, sizeof(double));
    double *ct = hpo_arena_alloc(a, max_k, sizeof(double));
    double *cl = hpo_arena_alloc(a, max_k, sizeof(double));
    double *pt = hpo_arena_alloc(a, max_k, sizeof(double));
    double *pl = hpo_arena_alloc(a, max_k, sizeof(double));
    double *scratch = hpo_arena_alloc(a, 2 * max_k, sizeof(double));
    if (!loss || !sorted || !tmp || !top || !grid || !ct || !cl || !pt || !pl || !scratch)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");

    /* the top trials: loss <= max(2nd smallest, ceil(q n)-th smallest), ties included */
    for (size_t i = 0; i < n; i++)
        loss[i] = dir == HPO_MAXIMIZE ? -data->y[i] : data->y[i];
    memcpy(sorted, loss, n * sizeof(double));
    pa_sort(sorted, tmp, n);
    double qi = ceil(c->baseline_quantile * (double)n) - 1;
    size_t k = qi < 1 ? 1 : (size_t)qi; /* at least min_n_top_trials = 2 */
    if (k > n - 1)
        k = n - 1;
    double cutoff = sorted[k];
    size_t n_top = 0;
    for (size_t i = 0; i < n; i++) {
        top[i] = loss[i] <= cutoff;
        n_top += top[i];
    }
    double fraction = (double)n_top / (double)n;

    for (size_t p = 0; p < np; p++) {
        const hpo_dist *d = data->dists[p];
        const double *v = data->x + p * n;
        size_t ns;
        if (d->type == HPO_DIST_CATEGORICAL) {
            ns = d->n_choices;
            memset(ct, 0, ns * sizeof(double));
            memset(cl, 0, ns * sizeof(double));
            for (size_t i = 0; i < n; i++) {
                cl[(size_t)v[i]] += 1;
                if (top[i])
                    ct[(size_t)v[i]] += 1;
            }
            categorical_pdf(ct, ns, c->prior_weight, pt);
            categorical_pdf(cl, ns, c->prior_weight, pl);
        } else {
            ns = numeric_grid(d, c->n_steps, grid);
            numeric_counts(d, grid, ns, v, n, top, ct);
            numeric_counts(d, grid, ns, v, n, NULL, cl);
            numeric_pdf(ct, ns, c->prior_weight, scratch, pt);
            numeric_pdf(cl, ns, c->prior_weight, scratch, pl);
        }
        ret[p] = fraction * pearson(pt, pl, ns, !c->evaluate_on_local);
    }
    return HPO_OK;
}
