/* hpo_tpe_mo: Optuna 3.1's multi-objective TPE split and below weights (samplers/_tpe/sampler.py
 * and _hypervolume/hssp.py) over the exact hypervolume of hpo_hypervolume.c and the fronts of
 * hpo_nsga2.c. */
#include "hpo_tpe_mo.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "hpo_hypervolume.h"
#include "hpo_model.h"
#include "hpo_nsga2.h"
#include "hpo_sort.h"

/* Rows idx[0..k) of loss, one after the other, into out. */
static void gather(const double *loss, size_t m, const size_t *idx, size_t k, double *out)
{
    for (size_t j = 0; j < k; j++)
        memcpy(out + j * m, loss + idx[j] * m, m * sizeof(double));
}

/* The volume of k points, HPO_E_NOMEM when hpo_hypervolume ran out of memory. */
static hpo_rc volume(const double *pts, size_t k, size_t m, const double *ref, double *ret)
{
    double v = hpo_hypervolume(pts, k, m, ref);
    if (v < 0)
        return HPO_E_NOMEM;
    *ret = v;
    return HPO_OK;
}

/* _solve_hssp: `want` of the k points pts (rows, in observation order) chosen greedily, each
 * time the one adding the most volume to those chosen (the earliest of equal gains, as
 * np.argmax), the gains updated as Optuna does: a point's gain loses what the newly chosen one
 * takes of it, the volume its box clipped to the chosen one's adds to those chosen before.
 * chosen[j] = 1 for the chosen. */
static hpo_rc hssp(hpo_arena *a, const double *pts, size_t k, size_t m, size_t want,
                   unsigned char *chosen)
{
    double *ref = hpo_arena_alloc(a, m, sizeof(double));
    double *gain = hpo_arena_alloc(a, k, sizeof(double));
    double *sel = hpo_arena_alloc(a, want + 1, m * sizeof(double));
    if (!ref || !gain || !sel)
        return HPO_E_NOMEM;
    hpo_hypervolume_default_ref(pts, k, m, HPO_TPE_MO_EPS, ref);
    hpo_rc rc;
    for (size_t j = 0; j < k; j++) {
        chosen[j] = 0;
        if ((rc = volume(pts + j * m, 1, m, ref, &gain[j])) != HPO_OK)
            return rc;
    }
    double hv_sel = 0;
    for (size_t n_sel = 0; n_sel < want && n_sel < k; n_sel++) {
        size_t best = SIZE_MAX;
        for (size_t j = 0; j < k; j++)
            if (!chosen[j] && (best == SIZE_MAX || gain[j] > gain[best]))
                best = j;
        chosen[best] = 1;
        const double *b = pts + best * m;
        double *p = sel + n_sel * m; /* after the chosen so far: the clipped box */
        for (size_t j = 0; j < k; j++) {
            if (chosen[j])
                continue;
            for (size_t d = 0; d < m; d++)
                p[d] = fmax(b[d], pts[j * m + d]);
            double with;
            if ((rc = volume(sel, n_sel + 1, m, ref, &with)) != HPO_OK)
                return rc;
            gain[j] -= with - hv_sel;
        }
        memcpy(p, b, m * sizeof(double));
        if ((rc = volume(sel, n_sel + 1, m, ref, &hv_sel)) != HPO_OK)
            return rc;
    }
    return HPO_OK;
}

/* The unconstrained split of the k observations idx[0..k) (ascending): below[idx[j]] = 1 for
 * the n_below chosen. */
static hpo_rc split_ranks(hpo_arena *a, const double *loss, size_t m, const size_t *idx, size_t k,
                          size_t n_below, unsigned char *below)
{
    if (n_below == 0)
        return HPO_OK;
    hpo_arena_mark mark = hpo_arena_save(a);
    double *pts = hpo_arena_alloc(a, k, m * sizeof(double));
    hpo_direction *dirs = hpo_arena_alloc(a, m, sizeof(hpo_direction));
    size_t *rank = hpo_arena_alloc(a, k, sizeof(size_t));
    size_t *count = hpo_arena_alloc(a, k, sizeof(size_t));
    size_t *cut = hpo_arena_alloc(a, k, sizeof(size_t));
    unsigned char *chosen = hpo_arena_alloc(a, k, 1);
    hpo_rc rc = HPO_E_NOMEM;
    if (!pts || !dirs || !rank || !count || !cut || !chosen)
        goto out;
    gather(loss, m, idx, k, pts);
    for (size_t d = 0; d < m; d++)
        dirs[d] = HPO_MINIMIZE;
    /* the fronts that fill n_below (the others are not needed: SIZE_MAX) */
    hpo_nsga2_pop pop = { .n = k, .m = m, .values = pts, .dirs = dirs, .violation = NULL };
    size_t n_fronts = 0;
    if ((rc = hpo_nsga2_first_fronts(&pop, n_below, rank, &n_fronts, NULL)) != HPO_OK)
        goto out;
    memset(count, 0, k * sizeof(size_t));
    for (size_t j = 0; j < k; j++)
        if (rank[j] < n_fronts)
            count[rank[j]]++;
    /* whole ranks while they fit, then the rank r that must be cut */
    size_t taken = 0, r = 0;
    while (taken < n_below && taken + count[r] <= n_below)
        taken += count[r++];
    for (size_t j = 0; j < k; j++)
        if (rank[j] < r)
            below[idx[j]] = 1;
    if (taken < n_below) {
        size_t nc = 0;
        for (size_t j = 0; j < k; j++)
            if (rank[j] == r)
                cut[nc++] = j;
        double *cut_pts = hpo_arena_alloc(a, nc, m * sizeof(double));
        if (cut_pts == NULL) {
            rc = HPO_E_NOMEM;
            goto out;
        }
        gather(pts, m, cut, nc, cut_pts);
        if ((rc = hssp(a, cut_pts, nc, m, n_below - taken, chosen)) != HPO_OK)
            goto out;
        for (size_t j = 0; j < nc; j++)
            if (chosen[j])
                below[idx[cut[j]]] = 1;
    }
    rc = HPO_OK;
out:
    hpo_arena_restore(a, mark);
    return rc;
}

/* Observations by violation, ties in observation order (numpy's stable argsort). */
typedef struct {
    double v;
    size_t idx;
} by_violation;

static bool violation_less(const by_violation *x, const by_violation *y)
{
    return x->v < y->v;
}

HPO_SORT_DEFINE(sort_violations, by_violation, violation_less)

static hpo_rc split(hpo_arena *a, const double *loss, size_t n, size_t m, const double *violation,
                    size_t n_below, unsigned char *below)
{
    hpo_arena_mark mark = hpo_arena_save(a);
    size_t *idx = hpo_arena_alloc(a, n, sizeof(size_t));
    by_violation *ord = hpo_arena_alloc(a, n, sizeof(by_violation));
    by_violation *tmp = hpo_arena_alloc(a, n, sizeof(by_violation));
    hpo_rc rc = HPO_E_NOMEM;
    if (!idx || !ord || !tmp)
        goto out;
    size_t k = 0;
    if (violation == NULL) {
        for (size_t i = 0; i < n; i++)
            idx[k++] = i;
    } else {
        for (size_t i = 0; i < n; i++)
            ord[i] = (by_violation){ violation[i], i };
        sort_violations(ord, tmp, n);
        if (n_below >= n || ord[n_below].v > 0) {
            /* below: the feasible ones and the least violating */
            for (size_t j = 0; j < n_below; j++)
                below[ord[j].idx] = 1;
            rc = HPO_OK;
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            if (violation[i] == 0)
                idx[k++] = i;
    }
    rc = split_ranks(a, loss, m, idx, k, n_below, below);
out:
    hpo_arena_restore(a, mark);
    return rc;
}

/* The weights of the below observations (below[i] set): the feasible ones by their hypervolume
 * contributions, the others HPO_TPE_MO_EPS. */
static hpo_rc weights(hpo_arena *a, const double *loss, size_t n, size_t m,
                      const double *violation, const unsigned char *below, double *weight)
{
    hpo_arena_mark mark = hpo_arena_save(a);
    size_t *fe = hpo_arena_alloc(a, n, sizeof(size_t));
    hpo_rc rc = HPO_E_NOMEM;
    if (!fe)
        goto out;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        weight[i] = 0;
        if (!below[i])
            continue;
        if (violation == NULL || violation[i] == 0)
            fe[k++] = i;
        else
            weight[i] = HPO_TPE_MO_EPS;
    }
    if (k == 1)
        weight[fe[0]] = 1.0;
    if (k > 1) {
        double *pts = hpo_arena_alloc(a, k, m * sizeof(double));
        double *rest = hpo_arena_alloc(a, k, m * sizeof(double));
        double *ref = hpo_arena_alloc(a, m, sizeof(double));
        double *contrib = hpo_arena_alloc(a, k, sizeof(double));
        if (!pts || !rest || !ref || !contrib)
            goto out;
        gather(loss, m, fe, k, pts);
        hpo_hypervolume_default_ref(pts, k, m, HPO_TPE_MO_EPS, ref);
        double hv, top = -INFINITY;
        if ((rc = volume(pts, k, m, ref, &hv)) != HPO_OK)
            goto out;
        for (size_t j = 0; j < k; j++) {
            /* the others: every row but j */
            memcpy(rest, pts, j * m * sizeof(double));
            memcpy(rest + j * m, pts + (j + 1) * m, (k - 1 - j) * m * sizeof(double));
            double without;
            if ((rc = volume(rest, k - 1, m, ref, &without)) != HPO_OK)
                goto out;
            contrib[j] = hv - without + HPO_TPE_MO_EPS;
            top = fmax(top, contrib[j]);
        }
        for (size_t j = 0; j < k; j++) {
            double w = contrib[j] / top;
            weight[fe[j]] = w < 0 ? 0 : w > 1 ? 1 : w;
        }
    }
    rc = HPO_OK;
out:
    hpo_arena_restore(a, mark);
    return rc;
}

hpo_rc hpo_tpe_mo_split(hpo_arena *a, const double *loss, size_t n, size_t m,
                        const double *violation, size_t n_below, unsigned char *ret_below,
                        double *ret_weight)
{
    for (size_t i = 0; i < n; i++)
        ret_below[i] = 0;
    if (n_below > n)
        n_below = n;
    hpo_rc rc = split(a, loss, n, m, violation, n_below, ret_below);
    return rc == HPO_OK ? weights(a, loss, n, m, violation, ret_below, ret_weight) : rc;
}
