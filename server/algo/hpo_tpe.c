/* hpo_tpe: Optuna 3.1's TPE sampler (univariate, multivariate, group-decomposed, constant liar)
 * over a study's trials: the observations and their split, then the candidates drawn from the
 * Parzen estimators (hpo_parzen.c) and scored; pure, no I/O. */
#include "hpo_tpe.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_arena.h"
#include "hpo_parzen.h"
#include "hpo_sampler.h"
#include "hpo_sort.h"

#define FLAT_WEIGHTS 25     /* the newest observations weighing 1 in default_weights */
#define CAND_BLOCK 32       /* candidates evaluated per block: bounds the scratch memory */

/* ------------------------------------------------------------------------------------------ */
/* Configuration and Optuna's default rules. */

void hpo_tpe_config_default(hpo_tpe_config *c)
{
    *c = (hpo_tpe_config){
        .n_startup_trials = 10,
        .n_ei_candidates = 24,
        .gamma_fraction = 0.1,
        .gamma_max = 25,
        .prior_weight = 1.0,
        .consider_magic_clip = true,
        .consider_endpoints = false,
        .multivariate = false,
        .group = false,
        .constant_liar = true,
    };
}

hpo_rc hpo_tpe_config_validate(const hpo_tpe_config *c, hpo_error *err)
{
    if (c->n_startup_trials < 0)
        return hpo_error_set(err, HPO_E_INVALID, "sampler.n_startup_trials",
                             "n_startup_trials must be >= 0 (got %d)", c->n_startup_trials);
    if (c->n_ei_candidates < 1)
        return hpo_error_set(err, HPO_E_INVALID, "sampler.n_ei_candidates",
                             "n_ei_candidates must be >= 1 (got %d)", c->n_ei_candidates);
    if (!(c->gamma_fraction > 0 && c->gamma_fraction <= 1))
        return hpo_error_set(err, HPO_E_INVALID, "sampler.gamma",
                             "gamma must be in (0, 1] (got %g)", c->gamma_fraction);
    if (c->gamma_max < 1)
        return hpo_error_set(err, HPO_E_INVALID, "sampler.gamma_max",
                             "gamma_max must be >= 1 (got %d)", c->gamma_max);
    if (!(c->prior_weight > 0 && isfinite(c->prior_weight)))
        return hpo_error_set(err, HPO_E_INVALID, "sampler.prior_weight",
                             "prior_weight must be a finite number > 0 (got %g)",
                             c->prior_weight);
    return HPO_OK;
}

size_t hpo_tpe_gamma(const hpo_tpe_config *c, size_t n)
{
    double g = ceil(c->gamma_fraction * (double)n);
    size_t gmax = c->gamma_max > 0 ? (size_t)c->gamma_max : 1;
    if (!(g >= 0))
        g = 0;
    size_t r = g >= (double)gmax ? gmax : (size_t)g;
    return r > n ? n : r;
}

void hpo_tpe_weights(size_t n, double *ret)
{
    if (n < FLAT_WEIGHTS) {
        for (size_t i = 0; i < n; i++)
            ret[i] = 1.0;
        return;
    }
    /* numpy.linspace(1/n, 1, n - 25), then 25 ones */
    size_t ramp = n - FLAT_WEIGHTS;
    double start = 1.0 / (double)n;
    double step = ramp > 1 ? (1.0 - start) / (double)(ramp - 1) : 0;
    for (size_t i = 0; i < ramp; i++)
        ret[i] = (double)i * step + start;
    if (ramp > 1)
        ret[ramp - 1] = 1.0;
    for (size_t i = ramp; i < n; i++)
        ret[i] = 1.0;
}

/* ------------------------------------------------------------------------------------------ */
/* Sorting: a stable merge sort of (k1, k2) keys, NaN last; used for ranking and bandwidths. */

typedef struct {
    double k1, k2;
    size_t idx;
} sort_item;

static bool key_less(const sort_item *x, const sort_item *y)
{
    if (x->k1 != y->k1)
        return x->k1 < y->k1;
    if (isnan(x->k2))
        return false;
    if (isnan(y->k2))
        return true;
    return x->k2 < y->k2;
}


/* Stable merge sort of v[0..n) by key (tmp: n items of scratch). */
HPO_SORT_DEFINE(sort_items, sort_item, key_less)

/* ------------------------------------------------------------------------------------------ */
/* Observations: the trials that count, in trial-number order, and which of them are below. */

typedef struct {
    const hpo_tpe_config *cfg;
    const hpo_trial *trials;
    size_t m;            /* observations (running ones included with constant_liar) */
    size_t n;            /* COMPLETE and PRUNED observations */
    size_t *trial;       /* m: index into trials, by trial number */
    unsigned char *below;/* m */
    unsigned char *running; /* m */
    hpo_arena *a;
    hpo_rng *rng;
    size_t nv;           /* columns of vals */
    double *vals;        /* m x nv internal values of the params sampled; NaN: missing */
} obs_set;

typedef struct {
    int64_t number;
    size_t idx;
} num_item;

static int num_cmp(const void *x, const void *y)
{
    const num_item *a = x, *b = y;
    if (a->number != b->number)
        return a->number < b->number ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Inserts item into the sorted best[0..*len) (capacity cap), keeping the earliest of ties. */
static void keep_best(sort_item *best, size_t *len, size_t cap, const sort_item *item)
{
    if (cap == 0)
        return;
    if (*len == cap && !key_less(item, &best[cap - 1]))
        return;
    size_t j = *len < cap ? (*len)++ : cap - 1;
    while (j > 0 && key_less(item, &best[j - 1])) {
        best[j] = best[j - 1];
        j--;
    }
    best[j] = *item;
}

static hpo_rc collect_observations(hpo_arena *a, const hpo_tpe_config *c, hpo_direction dir,
                                   const hpo_trial *trials, size_t n_trials, obs_set *ret)
{
    *ret = (obs_set){ .cfg = c, .trials = trials, .a = a };
    size_t *order = hpo_arena_alloc(a, n_trials, sizeof(size_t));
    sort_item *keys = hpo_arena_alloc(a, n_trials, sizeof(sort_item));
    ret->trial = hpo_arena_alloc(a, n_trials, sizeof(size_t));
    ret->below = hpo_arena_alloc(a, n_trials, 1);
    ret->running = hpo_arena_alloc(a, n_trials, 1);
    if (!order || !keys || !ret->trial || !ret->below || !ret->running)
        return HPO_E_NOMEM;

    bool sorted = true;
    for (size_t i = 0; i < n_trials; i++) {
        order[i] = i;
        if (i > 0 && trials[i].number < trials[i - 1].number)
            sorted = false;
    }
    if (!sorted) {
        num_item *items = hpo_arena_alloc(a, n_trials, sizeof(num_item));
        if (items == NULL)
            return HPO_E_NOMEM;
        for (size_t i = 0; i < n_trials; i++)
            items[i] = (num_item){ trials[i].number, i };
        qsort(items, n_trials, sizeof(*items), num_cmp);
        for (size_t i = 0; i < n_trials; i++)
            order[i] = items[i].idx;
    }

    /* Optuna's key: (-inf, value) for COMPLETE, (-last step, value at it; NaN -> inf) for
     * PRUNED, (1, 0) for PRUNED without reports, (inf, inf) for RUNNING; minimised. */
    double sign = dir == HPO_MAXIMIZE ? -1.0 : 1.0;
    size_t m = 0, n = 0;
    for (size_t oi = 0; oi < n_trials; oi++) {
        const hpo_trial *t = &trials[order[oi]];
        double k1, k2;
        bool run = false;
        if (t->state == HPO_TRIAL_COMPLETE) {
            if (t->n_values == 0 || t->values == NULL)
                continue;
            k1 = -INFINITY;
            k2 = sign * t->values[0];
        } else if (t->state == HPO_TRIAL_PRUNED) {
            const hpo_report *r = hpo_trial_last_report(t);
            if (r != NULL) {
                k1 = -(double)r->step;
                k2 = isnan(r->value) ? INFINITY : sign * r->value;
            } else {
                k1 = 1;
                k2 = 0;
            }
        } else if (t->state == HPO_TRIAL_RUNNING && c->constant_liar) {
            k1 = INFINITY;
            k2 = INFINITY;
            run = true;
        } else {
            continue;
        }
        ret->trial[m] = order[oi];
        ret->running[m] = run;
        ret->below[m] = 0;
        keys[m] = (sort_item){ k1, k2, m };
        m++;
        n += !run;
    }
    ret->m = m;
    ret->n = n;

    size_t nb = hpo_tpe_gamma(c, n);
    if (nb == 0)
        return HPO_OK;
    if (nb <= 64) {
        /* gamma is small: a bounded insertion pass beats sorting everything */
        sort_item best[64];
        size_t len = 0;
        for (size_t j = 0; j < m; j++)
            keep_best(best, &len, nb, &keys[j]);
        for (size_t j = 0; j < len; j++)
            ret->below[best[j].idx] = 1;
    } else {
        sort_item *tmp = hpo_arena_alloc(a, m, sizeof(sort_item));
        if (tmp == NULL)
            return HPO_E_NOMEM;
        sort_items(keys, tmp, m);
        for (size_t j = 0; j < nb && j < m; j++)
            ret->below[keys[j].idx] = 1;
    }
    return HPO_OK;
}

hpo_rc hpo_tpe_split(const hpo_tpe_config *c, hpo_direction dir, const hpo_trial *trials,
                     size_t n_trials, signed char *ret_side, size_t *ret_n)
{
    hpo_arena a = { 0 };
    obs_set o;
    hpo_rc rc = collect_observations(&a, c, dir, trials, n_trials, &o);
    if (rc == HPO_OK) {
        for (size_t i = 0; i < n_trials; i++)
            ret_side[i] = -1;
        for (size_t j = 0; j < o.m; j++)
            ret_side[o.trial[j]] = o.below[j] ? 0 : 1;
        *ret_n = o.n;
    }
    hpo_arena_free(&a);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Sampling. */

/* Whether two param names are equal (inline: names are short and mostly differ early). */
static bool name_eq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* A param to sample: its name, distribution, expected position in trials' params, its column
 * in the observations' value matrix, output. */
typedef struct {
    const char *name;
    const hpo_dist *d;
    size_t hint;
    size_t col;
    double *ret;
} pref;

/* The trial's internal value of p when it has p with a value inside p's distribution. */
static bool trial_value(const hpo_trial *t, const pref *p, double *ret)
{
    const hpo_param *tp = NULL;
    if (p->hint < t->n_params && name_eq(t->params[p->hint].name, p->name))
        tp = &t->params[p->hint];
    else
        tp = hpo_trial_param(t, p->name);
    if (tp == NULL || tp->dist.type != p->d->type)
        return false;
    double v = tp->value;
    if (!isfinite(v))
        return false;
    if (p->d->type == HPO_DIST_CATEGORICAL) {
        if (tp->dist.n_choices != p->d->n_choices || v < 0 || v >= (double)p->d->n_choices ||
            v != floor(v))
            return false;
    } else if (v < p->d->low || v > p->d->high) {
        return false;
    }
    *ret = v;
    return true;
}

/* Fills o->vals: every observation's value of every param, one pass over the trials (each
 * trial's params are read once, in order, while they are in cache). */
static hpo_rc extract_values(obs_set *o, pref *ps, size_t np)
{
    o->nv = np;
    o->vals = hpo_arena_alloc(o->a, o->m > 0 ? o->m : 1, np * sizeof(double));
    if (o->vals == NULL)
        return HPO_E_NOMEM;
    for (size_t j = 0; j < o->m; j++) {
        const hpo_trial *t = &o->trials[o->trial[j]];
        double *row = o->vals + j * np;
#if defined(__GNUC__)
        /* the trials' params and names are scattered on the heap: fetch ahead (the params
         * arrays 4 trials ahead, the names they point to 2 trials ahead) */
        if (j + 4 < o->m) {
            const hpo_trial *ta = &o->trials[o->trial[j + 4]];
            const char *pp = (const char *)ta->params;
            size_t bytes = ta->n_params * sizeof(hpo_param);
            for (size_t b = 0; b < bytes; b += 64)
                __builtin_prefetch(pp + b);
            __builtin_prefetch(&o->trials[o->trial[j + 8 < o->m ? j + 8 : j + 4]]);
        }
        if (j + 2 < o->m) {
            const hpo_trial *tb = &o->trials[o->trial[j + 2]];
            for (size_t i = 0; i < tb->n_params; i++)
                __builtin_prefetch(tb->params[i].name);
        }
#endif
        for (size_t i = 0; i < np; i++) {
            double v;
            row[i] = trial_value(t, &ps[i], &v) ? v : NAN;
        }
    }
    for (size_t i = 0; i < np; i++)
        ps[i].col = i;
    return HPO_OK;
}

/* Samples the np params jointly (np == 1: univariate) from the observations that have all of
 * them: n_ei candidates from l(x), the one maximising log l(x) - log g(x) wins. */
static hpo_rc sample_joint(obs_set *o, const pref *ps, size_t np, bool multivariate)
{
    hpo_arena *a = o->a;
    const hpo_tpe_config *c = o->cfg;
    hpo_arena_mark mark = hpo_arena_save(a);
    hpo_rc rc = HPO_E_NOMEM;

    pz_dim *proto = hpo_arena_alloc(a, np, sizeof(pz_dim));
    double **below = hpo_arena_alloc(a, np, sizeof(double *));
    double **above = hpo_arena_alloc(a, np, sizeof(double *));
    double *vals = hpo_arena_alloc(a, np, sizeof(double));
    if (!proto || !below || !above || !vals)
        goto out;
    for (size_t i = 0; i < np; i++) {
        memset(&proto[i], 0, sizeof(proto[i]));
        hpo_parzen_dim_init(ps[i].d, &proto[i]);
        below[i] = hpo_arena_alloc(a, o->m, sizeof(double));
        above[i] = hpo_arena_alloc(a, o->m, sizeof(double));
        if (!below[i] || !above[i])
            goto out;
    }
    size_t nb = 0, na = 0;
    for (size_t j = 0; j < o->m; j++) {
        const double *row = o->vals + j * o->nv;
        bool all = true;
        for (size_t i = 0; i < np && all; i++)
            all = !isnan(vals[i] = row[ps[i].col]);
        if (!all)
            continue;
        double **dst = o->below[j] ? below : above;
        size_t at = o->below[j] ? nb++ : na++;
        for (size_t i = 0; i < np; i++)
            dst[i][at] = proto[i].kind == PZ_CAT ? vals[i]
                                                 : hpo_parzen_transform(&proto[i], vals[i]);
    }

    pz_mix lmix, gmix;
    bool sorted = !multivariate;
    if ((rc = hpo_parzen_mix_build(a, c, proto, np, below, nb, NULL, multivariate, sorted,
                                   &lmix)) != HPO_OK ||
        (rc = hpo_parzen_mix_build(a, c, proto, np, above, na, NULL, multivariate, sorted,
                                   &gmix)) != HPO_OK)
        goto out;

    rc = HPO_E_NOMEM;
    size_t kmax = lmix.K > gmix.K ? lmix.K : gmix.K;
    double *row = hpo_arena_alloc(a, kmax, sizeof(double));
    uint32_t *kept = hpo_arena_alloc(a, kmax, sizeof(uint32_t));
    double *cand = hpo_arena_alloc(a, (size_t)CAND_BLOCK * np, sizeof(double));
    double *uniq = hpo_arena_alloc(a, (size_t)CAND_BLOCK * np, sizeof(double));
    double *best = hpo_arena_alloc(a, np, sizeof(double));
    double ll[CAND_BLOCK], lg[CAND_BLOCK], ul[CAND_BLOCK], ug[CAND_BLOCK];
    size_t same[CAND_BLOCK];
    if (!row || !kept || !cand || !uniq || !best || kmax > UINT32_MAX)
        goto out;
    double best_score = -INFINITY;
    bool have_best = false;
    for (size_t done = 0; done < (size_t)c->n_ei_candidates;) {
        size_t nc = (size_t)c->n_ei_candidates - done;
        nc = nc > CAND_BLOCK ? CAND_BLOCK : nc;
        for (size_t j = 0; j < nc; j++)
            hpo_parzen_mix_sample(&lmix, o->rng, cand + j * np);
        /* equal candidates (ints, steps, few choices) are evaluated once */
        size_t nu = 0;
        for (size_t j = 0; j < nc; j++) {
            const double *cj = cand + j * np;
            size_t u = 0;
            for (; u < nu; u++) {
                const double *cu = uniq + u * np;
                size_t i = 0;
                while (i < np && cu[i] == cj[i])
                    i++;
                if (i == np)
                    break;
            }
            if (u == nu)
                memcpy(uniq + nu++ * np, cj, np * sizeof(double));
            same[j] = u;
        }
        hpo_parzen_mix_log_pdf(&lmix, uniq, nu, row, kept, ul);
        hpo_parzen_mix_log_pdf(&gmix, uniq, nu, row, kept, ug);
        for (size_t j = 0; j < nc; j++) {
            ll[j] = ul[same[j]];
            lg[j] = ug[same[j]];
        }
        for (size_t j = 0; j < nc; j++) {
            double score = ll[j] - lg[j];
            if (!have_best || score > best_score) {
                have_best = !isnan(score);
                best_score = score;
                memcpy(best, cand + j * np, np * sizeof(double));
            }
        }
        done += nc;
    }
    for (size_t i = 0; i < np; i++)
        *ps[i].ret = best[i];
    rc = HPO_OK;
out:
    hpo_arena_restore(a, mark);
    return rc;
}

static double single_value(const hpo_dist *d)
{
    return d->type == HPO_DIST_CATEGORICAL ? 0 : d->low;
}

/* Groups of params that always appear together (Optuna's _SearchSpaceGroup): label[p] is the
 * group of param p, or -1 when no COMPLETE/PRUNED observation has it. Returns the group count. */
static hpo_rc find_groups(obs_set *o, const pref *ps, size_t np, long *label, size_t *ret_groups)
{
    hpo_arena *a = o->a;
    hpo_arena_mark mark = hpo_arena_save(a);
    unsigned char *in = hpo_arena_alloc(a, np, 1);
    long *id_in = hpo_arena_alloc(a, np + 1, sizeof(long));
    long *id_out = hpo_arena_alloc(a, np + 1, sizeof(long));
    if (!in || !id_in || !id_out) {
        hpo_arena_restore(a, mark);
        return HPO_E_NOMEM;
    }
    size_t groups = 0;
    for (size_t p = 0; p < np; p++)
        label[p] = -1;
    for (size_t j = 0; j < o->m; j++) {
        if (o->running[j])
            continue;
        const double *row = o->vals + j * o->nv;
        bool any_new = false;
        for (size_t g = 0; g < groups; g++)
            id_in[g] = id_out[g] = 0;
        for (size_t p = 0; p < np; p++) {
            in[p] = !isnan(row[ps[p].col]);
            if (label[p] < 0)
                any_new |= in[p];
            else if (in[p])
                id_in[label[p]] = 1;
            else
                id_out[label[p]] = 1;
        }
        /* Each group splits into its part in the trial and its part outside; then the new. */
        long next = 0;
        for (size_t g = 0; g < groups; g++) {
            id_in[g] = id_in[g] ? next++ : -1;
            id_out[g] = id_out[g] ? next++ : -1;
        }
        long id_new = any_new ? next++ : -1;
        for (size_t p = 0; p < np; p++) {
            if (label[p] < 0)
                label[p] = in[p] ? id_new : -1;
            else
                label[p] = in[p] ? id_in[label[p]] : id_out[label[p]];
        }
        groups = (size_t)next;
    }
    hpo_arena_restore(a, mark);
    *ret_groups = groups;
    return HPO_OK;
}

static hpo_rc sample_space(obs_set *o, const hpo_space *space, double *ret_values)
{
    const hpo_tpe_config *c = o->cfg;
    size_t np = space->n;
    pref *all = hpo_arena_alloc(o->a, np, sizeof(pref));
    pref *sel = hpo_arena_alloc(o->a, np, sizeof(pref));
    long *label = hpo_arena_alloc(o->a, np, sizeof(long));
    if (!all || !sel || !label)
        return HPO_E_NOMEM;
    size_t nv = 0; /* params that are not single-valued */
    for (size_t p = 0; p < np; p++) {
        const hpo_dist *d = &space->items[p].dist;
        if (hpo_parzen_dist_single(d)) {
            ret_values[p] = single_value(d);
            continue;
        }
        all[nv++] = (pref){ space->items[p].name, d, p, 0, &ret_values[p] };
    }
    if (nv == 0)
        return HPO_OK;
    hpo_rc rc = extract_values(o, all, nv);
    if (rc != HPO_OK)
        return rc;

    if (c->group || c->multivariate) {
        size_t groups = 0;
        if (c->group) {
            if ((rc = find_groups(o, all, nv, label, &groups)) != HPO_OK)
                return rc;
        } else {
            /* Optuna's intersection search space: the params every COMPLETE/PRUNED
             * observation has are sampled jointly; the others independently. */
            for (size_t p = 0; p < nv; p++)
                label[p] = o->n > 0 ? 0 : -1;
            for (size_t j = 0; j < o->m; j++) {
                if (o->running[j])
                    continue;
                const double *row = o->vals + j * o->nv;
                for (size_t p = 0; p < nv; p++)
                    if (label[p] == 0 && isnan(row[all[p].col]))
                        label[p] = -1;
            }
            groups = 1;
        }
        for (size_t g = 0; g < groups; g++) {
            size_t ns = 0;
            for (size_t p = 0; p < nv; p++)
                if (label[p] == (long)g)
                    sel[ns++] = all[p];
            if (ns > 0 && (rc = sample_joint(o, sel, ns, true)) != HPO_OK)
                return rc;
        }
        for (size_t p = 0; p < nv; p++)
            if (label[p] < 0 && (rc = sample_joint(o, &all[p], 1, false)) != HPO_OK)
                return rc;
        return HPO_OK;
    }
    for (size_t p = 0; p < nv; p++)
        if ((rc = sample_joint(o, &all[p], 1, false)) != HPO_OK)
            return rc;
    return HPO_OK;
}

hpo_rc hpo_tpe_sample(const hpo_tpe_config *c, const hpo_space *space, hpo_direction dir,
                      const hpo_trial *trials, size_t n_trials, hpo_rng *rng, double *ret_values,
                      hpo_error *err)
{
    hpo_rc rc = hpo_tpe_config_validate(c, err);
    if (rc != HPO_OK)
        return rc;
    if (space->n == 0)
        return HPO_OK;
    hpo_arena a = { 0 };
    obs_set o;
    double *out = hpo_arena_alloc(&a, space->n, sizeof(double));
    rc = out ? collect_observations(&a, c, dir, trials, n_trials, &o) : HPO_E_NOMEM;
    if (rc == HPO_OK) {
        o.rng = rng;
        if (o.n < (size_t)c->n_startup_trials) {
            for (size_t p = 0; p < space->n; p++)
                out[p] = hpo_sampler_random(&space->items[p].dist, rng);
        } else {
            rc = sample_space(&o, space, out);
        }
    }
    if (rc == HPO_OK)
        memcpy(ret_values, out, space->n * sizeof(double));
    else
        hpo_error_set(err, rc, NULL, "out of memory in the TPE sampler");
    hpo_arena_free(&a);
    return rc;
}

double hpo_tpe_sample_param(const hpo_tpe_config *c, const char *name, const hpo_dist *d,
                            hpo_direction dir, const hpo_trial *trials, size_t n_trials,
                            hpo_rng *rng)
{
    if (hpo_parzen_dist_single(d))
        return single_value(d);
    if (hpo_tpe_config_validate(c, NULL) != HPO_OK)
        return hpo_sampler_random(d, rng);
    hpo_arena a = { 0 };
    obs_set o;
    double value;
    hpo_rc rc = collect_observations(&a, c, dir, trials, n_trials, &o);
    if (rc == HPO_OK && o.n >= (size_t)c->n_startup_trials) {
        o.rng = rng;
        /* the param's position differs from trial to trial: the hint only spares a scan */
        pref p = { name, d, 0, 0, &value };
        rc = extract_values(&o, &p, 1);
        if (rc == HPO_OK)
            rc = sample_joint(&o, &p, 1, false);
    } else {
        rc = HPO_E_NO_WORK;
    }
    if (rc != HPO_OK)
        value = hpo_sampler_random(d, rng);
    hpo_arena_free(&a);
    return value;
}

