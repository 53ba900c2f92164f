/* hpo_tpe: Optuna 3.1's TPE sampler (univariate, multivariate, group-decomposed, constant liar)
 * over a study's observations (a view of its hpo_obs log and its running trials; the entry
 * points over a trials array build a temporary log): the observations in number order and
 * their split, then the candidates drawn from the Parzen estimators (hpo_parzen.c) and scored;
 * pure, no I/O. */
#include "hpo_tpe.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_arena.h"
#include "hpo_hash.h"
#include "hpo_obs.h"
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
        .startup = HPO_TPE_STARTUP_RANDOM,
        .n_ei_candidates = 24,
        .gamma_fraction = 0.1,
        .gamma_max = 25,
        .prior_weight = 1.0,
        .consider_magic_clip = true,
        .consider_endpoints = false,
        .multivariate = false,
        .group = false,
        .constant_liar = true,
        .constraints = true,
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
/* Sorting: a stable merge sort of (k0, k1, k2) keys, NaN k2 last; used for ranking. k0 is the
 * violation of constrained TPE (0 for every observation otherwise). */

typedef struct {
    double k0, k1, k2;
    size_t idx;
} sort_item;

static bool key_less(const sort_item *x, const sort_item *y)
{
    if (x->k0 != y->k0)
        return x->k0 < y->k0;
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
/* Observations: the log's rows and the running trials, in trial-number order, and which of them
 * are below. */

typedef struct {
    const hpo_tpe_config *cfg;
    const hpo_obs_view *log;
    const hpo_trial *run_trials; /* the running trials given (constant_liar) */
    size_t m;            /* observations (running ones included with constant_liar) */
    size_t n;            /* COMPLETE and PRUNED observations */
    size_t *src;         /* m, by trial number: a row of the log (< log->n_rows), or
                          * log->n_rows + the index of a running trial */
    const hpo_obs_row **row; /* m: the log's row; NULL for a running trial */
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

static bool num_less(const num_item *x, const num_item *y)
{
    return x->number < y->number;
}

/* Stable merge sort of v[0..n) by number (tmp: n items of scratch). */
HPO_SORT_DEFINE(sort_nums, num_item, num_less)

/* ret[0..m): the indexes of num[0..m) by number, ties in index order: as they are when already
 * sorted, by a counting placement when the numbers are dense (max - min < 4m: rows arrive in
 * finishing order, a permutation of nearly consecutive numbers), else by a merge sort. */
static hpo_rc number_order(hpo_arena *a, const int64_t *num, size_t m, size_t *ret)
{
    bool sorted = true;
    int64_t lo = m > 0 ? num[0] : 0, hi = lo;
    for (size_t i = 0; i < m; i++) {
        ret[i] = i;
        if (i > 0 && num[i] < num[i - 1])
            sorted = false;
        lo = num[i] < lo ? num[i] : lo;
        hi = num[i] > hi ? num[i] : hi;
    }
    if (sorted)
        return HPO_OK;
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    if (span / 4 < m) {
        size_t *at = hpo_arena_alloc(a, (size_t)span + 2, sizeof(size_t));
        if (at == NULL)
            return HPO_E_NOMEM;
        memset(at, 0, ((size_t)span + 2) * sizeof(size_t));
        for (size_t i = 0; i < m; i++)
            at[(uint64_t)num[i] - (uint64_t)lo + 1]++;
        for (size_t k = 1; k <= (size_t)span; k++)
            at[k] += at[k - 1];
        for (size_t i = 0; i < m; i++)
            ret[at[(uint64_t)num[i] - (uint64_t)lo]++] = i;
        return HPO_OK;
    }
    num_item *items = hpo_arena_alloc(a, m, sizeof(num_item));
    num_item *tmp = hpo_arena_alloc(a, m, sizeof(num_item));
    if (items == NULL || tmp == NULL)
        return HPO_E_NOMEM;
    for (size_t i = 0; i < m; i++)
        items[i] = (num_item){ num[i], i };
    sort_nums(items, tmp, m);
    for (size_t i = 0; i < m; i++)
        ret[i] = items[i].idx;
    return HPO_OK;
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

/* The observations of the log's prefix and, with constant_liar, of the running trials (at
 * equal numbers the log's rows first), ranked by the rows' keys, the running ones worst.
 * Constrained (Optuna 3.1's _split_observation_pairs with violations): feasible rows first, by
 * their keys; then the others by violation (rows without constraints and running trials: +inf),
 * equal violations in number order. Optuna splits in two cases (below filled by the feasible
 * ones, or by feasible and the least violating); ranking by this one order picks the same. */
static hpo_rc collect_observations(hpo_arena *a, const hpo_tpe_config *c, const hpo_obs_view *log,
                                   const hpo_trial *running, size_t n_running, obs_set *ret)
{
    *ret = (obs_set){ .cfg = c, .log = log, .run_trials = running, .a = a };
    size_t nl = log->n_rows, nr = c->constant_liar ? n_running : 0, m = nl + nr;
    const hpo_obs_row **rows = hpo_arena_alloc(a, nl, sizeof(*rows));
    int64_t *num = hpo_arena_alloc(a, m, sizeof(int64_t));
    sort_item *keys = hpo_arena_alloc(a, m, sizeof(sort_item));
    ret->src = hpo_arena_alloc(a, m, sizeof(size_t));
    ret->row = hpo_arena_alloc(a, m, sizeof(*ret->row));
    ret->below = hpo_arena_alloc(a, m, 1);
    ret->running = hpo_arena_alloc(a, m, 1);
    if (!rows || !num || !keys || !ret->src || !ret->row || !ret->below || !ret->running)
        return HPO_E_NOMEM;
    for (size_t i = 0; i < nl;) {
        size_t len;
        const hpo_obs_row *r = hpo_obs_view_rows(log, i, &len);
        for (size_t k = 0; k < len; k++, i++) {
            rows[i] = &r[k];
            num[i] = r[k].number;
        }
    }
    for (size_t k = 0; k < nr; k++)
        num[nl + k] = running[k].number;
    hpo_rc rc = number_order(a, num, m, ret->src);
    if (rc != HPO_OK)
        return rc;

    /* Optuna's key: the row's (COMPLETE and PRUNED), (inf, inf) for RUNNING; minimised. */
    bool constrained = c->constraints && log->n_constrained > 0;
    for (size_t j = 0; j < m; j++) {
        size_t s = ret->src[j];
        bool run = s >= nl;
        ret->row[j] = run ? NULL : rows[s];
        ret->running[j] = run;
        ret->below[j] = 0;
        double v = !constrained ? 0 : run ? INFINITY : rows[s]->violation;
        if (v > 0)
            keys[j] = (sort_item){ v, 0, 0, j };
        else
            keys[j] = run ? (sort_item){ 0, INFINITY, INFINITY, j }
                          : (sort_item){ 0, rows[s]->k1, rows[s]->k2, j };
    }
    ret->m = m;
    ret->n = nl;

    size_t nb = hpo_tpe_gamma(c, nl);
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

/* A log of trials[0..n) for the wrappers over a trials array: a row per finished trial in array
 * order (row_trial[r]: its index), and the RUNNING trials (shallow copies; run_trial[k]: their
 * index). All in arena a. */
typedef struct {
    hpo_obs *obs;
    hpo_obs_view view;
    hpo_trial *running;
    size_t n_running;
    size_t *row_trial, *run_trial;
} trials_log;

static hpo_rc trials_log_build(hpo_arena *a, hpo_direction dir, const hpo_trial *trials,
                               size_t n_trials, trials_log *ret)
{
    *ret = (trials_log){ .obs = hpo_obs_new_temp(dir, a) };
    ret->run_trial = hpo_arena_alloc(a, n_trials, sizeof(size_t));
    ret->row_trial = hpo_arena_alloc(a, n_trials, sizeof(size_t));
    if (!ret->obs || !ret->run_trial || !ret->row_trial)
        return HPO_E_NOMEM;
    size_t rows = 0, nr = 0;
    for (size_t i = 0; i < n_trials; i++) {
#if defined(__GNUC__)
        /* the trials' params, values and names are scattered on the heap: fetch ahead (the
         * params arrays and values 4 trials ahead, the names they point to 2 trials ahead) */
        if (i + 4 < n_trials) {
            const char *pp = (const char *)trials[i + 4].params;
            size_t bytes = trials[i + 4].n_params * sizeof(hpo_param);
            for (size_t b = 0; b < bytes; b += 64)
                __builtin_prefetch(pp + b);
            __builtin_prefetch(trials[i + 4].values);
        }
        if (i + 2 < n_trials)
            for (size_t k = 0; k < trials[i + 2].n_params; k++)
                __builtin_prefetch(trials[i + 2].params[k].name);
#endif
        if (trials[i].state == HPO_TRIAL_RUNNING) {
            ret->run_trial[nr++] = i;
            continue;
        }
        hpo_rc rc = hpo_obs_add(ret->obs, &trials[i]);
        if (rc != HPO_OK)
            return rc;
        if (hpo_obs_rows(ret->obs) > rows)
            ret->row_trial[rows++] = i;
    }
    ret->running = hpo_arena_alloc(a, nr, sizeof(hpo_trial));
    if (ret->running == NULL)
        return HPO_E_NOMEM;
    for (size_t k = 0; k < nr; k++)
        ret->running[k] = trials[ret->run_trial[k]];
    ret->n_running = nr;
    hpo_obs_view_take(ret->obs, &ret->view);
    return HPO_OK;
}

hpo_rc hpo_tpe_split(const hpo_tpe_config *c, hpo_direction dir, const hpo_trial *trials,
                     size_t n_trials, signed char *ret_side, size_t *ret_n)
{
    hpo_arena a = { 0 };
    trials_log tl;
    obs_set o;
    hpo_rc rc = trials_log_build(&a, dir, trials, n_trials, &tl);
    if (rc == HPO_OK)
        rc = collect_observations(&a, c, &tl.view, tl.running, tl.n_running, &o);
    if (rc == HPO_OK) {
        for (size_t i = 0; i < n_trials; i++)
            ret_side[i] = -1;
        for (size_t j = 0; j < o.m; j++) {
            size_t s = o.src[j];
            size_t t = s < tl.view.n_rows ? tl.row_trial[s] : tl.run_trial[s - tl.view.n_rows];
            ret_side[t] = o.below[j] ? 0 : 1;
        }
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

/* A param to sample: its name, distribution, expected position in running trials' params, its
 * column in the observations' value matrix, output. */
typedef struct {
    const char *name;
    const hpo_dist *d;
    size_t hint;
    size_t col;
    double *ret;
} pref;

/* Whether an observed value (of a param of type `type` with n_choices choices) counts for a
 * param of distribution d: the same type, the same number of choices, inside d. */
static inline bool value_fits(hpo_dist_type type, size_t n_choices, double v, const hpo_dist *d)
{
    if (type != d->type || !isfinite(v))
        return false;
    if (d->type == HPO_DIST_CATEGORICAL)
        return n_choices == d->n_choices && v >= 0 && v < (double)d->n_choices && v == floor(v);
    return !(v < d->low || v > d->high);
}

/* A running trial's internal value of p when it has p with a value inside p's distribution. */
static bool trial_value(const hpo_trial *t, const pref *p, double *ret)
{
    const hpo_param *tp = NULL;
    if (p->hint < t->n_params && name_eq(t->params[p->hint].name, p->name))
        tp = &t->params[p->hint];
    else
        tp = hpo_trial_param(t, p->name);
    if (tp == NULL || !value_fits(tp->dist.type, tp->dist.n_choices, tp->value, p->d))
        return false;
    *ret = tp->value;
    return true;
}

#define NO_COL SIZE_MAX

/* col[id] for each of the view's names: the index in ps of the param of that name, NO_COL for
 * names not sampled. A few params: a scan of the names each; many: an index of ps by name. */
static hpo_rc map_columns(hpo_arena *a, const hpo_obs_view *log, const pref *ps, size_t np,
                          size_t *col)
{
    for (size_t id = 0; id < log->n_names; id++)
        col[id] = NO_COL;
    if (np <= 16 || log->n_names <= 16) {
        for (size_t i = 0; i < np; i++) {
            int64_t id = hpo_obs_view_find(log, ps[i].name);
            if (id >= 0)
                col[id] = i;
        }
        return HPO_OK;
    }
    size_t cap = 32;
    while (cap < 2 * np)
        cap *= 2;
    hpo_arena_mark mark = hpo_arena_save(a);
    size_t *index = hpo_arena_alloc(a, cap, sizeof(size_t));
    if (index == NULL)
        return HPO_E_NOMEM;
    for (size_t h = 0; h < cap; h++)
        index[h] = NO_COL;
    for (size_t i = 0; i < np; i++) {
        size_t h = (size_t)hpo_hash_name(ps[i].name) & (cap - 1);
        while (index[h] != NO_COL)
            h = (h + 1) & (cap - 1);
        index[h] = i;
    }
    for (size_t id = 0; id < log->n_names; id++) {
        const char *name = hpo_obs_view_name(log, (uint32_t)id);
        size_t h = (size_t)hpo_hash_name(name) & (cap - 1);
        for (; index[h] != NO_COL; h = (h + 1) & (cap - 1)) {
            if (name_eq(ps[index[h]].name, name)) {
                col[id] = index[h];
                break;
            }
        }
    }
    hpo_arena_restore(a, mark);
    return HPO_OK;
}

/* Fills o->vals: every observation's value of every param: the rows' entries through their
 * name ids (no string compared per row), the running trials' params by name. */
static hpo_rc extract_values(obs_set *o, pref *ps, size_t np)
{
    const hpo_obs_view *log = o->log;
    o->nv = np;
    o->vals = hpo_arena_alloc(o->a, o->m > 0 ? o->m : 1, np * sizeof(double));
    size_t *col = hpo_arena_alloc(o->a, log->n_names, sizeof(size_t));
    if (o->vals == NULL || col == NULL)
        return HPO_E_NOMEM;
    hpo_rc rc = map_columns(o->a, log, ps, np, col);
    if (rc != HPO_OK)
        return rc;
    for (size_t i = 0; i < np; i++)
        ps[i].col = i;
    for (size_t j = 0; j < o->m; j++) {
        double *row = o->vals + j * np;
        for (size_t i = 0; i < np; i++)
            row[i] = NAN;
        if (o->row[j] == NULL) {
            const hpo_trial *t = &o->run_trials[o->src[j] - log->n_rows];
            for (size_t i = 0; i < np; i++) {
                double v;
                if (trial_value(t, &ps[i], &v))
                    row[i] = v;
            }
            continue;
        }
        size_t ne;
        const hpo_obs_entry *e = hpo_obs_view_entries(log, o->row[j], &ne);
        for (size_t k = 0; k < ne; k++) {
            size_t i = col[e[k].name];
            if (i != NO_COL && value_fits(hpo_obs_entry_type(&e[k]),
                                          hpo_obs_entry_choices(&e[k]), e[k].value, ps[i].d))
                row[i] = e[k].value;
        }
    }
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

/* The sampler over a view of a log and the running trials, in the caller's arena. */
static hpo_rc sample_obs(hpo_arena *a, const hpo_tpe_config *c, const hpo_space *space,
                         const hpo_obs_view *obs, const hpo_trial *running, size_t n_running,
                         hpo_rng *rng, double *ret_values)
{
    obs_set o;
    double *out = hpo_arena_alloc(a, space->n, sizeof(double));
    hpo_rc rc = out ? collect_observations(a, c, obs, running, n_running, &o) : HPO_E_NOMEM;
    if (rc == HPO_OK) {
        o.rng = rng;
        if (o.n < (size_t)c->n_startup_trials && c->startup != HPO_TPE_STARTUP_RANDOM) {
            rc = HPO_E_NO_WORK;
        } else if (o.n < (size_t)c->n_startup_trials) {
            for (size_t p = 0; p < space->n; p++)
                out[p] = hpo_sampler_random(&space->items[p].dist, rng);
        } else {
            rc = sample_space(&o, space, out);
        }
    }
    if (rc == HPO_OK)
        memcpy(ret_values, out, space->n * sizeof(double));
    return rc;
}

static hpo_rc sample_error(hpo_rc rc, hpo_error *err)
{
    return hpo_error_set(err, rc, NULL,
                         rc == HPO_E_NOMEM ? "out of memory in the TPE sampler"
                                           : "a trial has too many params for the TPE sampler");
}

hpo_rc hpo_tpe_sample_obs(const hpo_tpe_config *c, const hpo_space *space,
                          const hpo_obs_view *obs, const hpo_trial *running, size_t n_running,
                          hpo_rng *rng, double *ret_values, hpo_error *err)
{
    hpo_rc rc = hpo_tpe_config_validate(c, err);
    if (rc != HPO_OK)
        return rc;
    if (space->n == 0)
        return HPO_OK;
    hpo_arena a = { 0 };
    rc = sample_obs(&a, c, space, obs, running, n_running, rng, ret_values);
    hpo_arena_free(&a);
    return rc == HPO_OK || rc == HPO_E_NO_WORK ? rc : sample_error(rc, err);
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
    trials_log tl;
    rc = trials_log_build(&a, dir, trials, n_trials, &tl);
    if (rc == HPO_OK)
        rc = sample_obs(&a, c, space, &tl.view, tl.running, tl.n_running, rng, ret_values);
    hpo_arena_free(&a);
    return rc == HPO_OK || rc == HPO_E_NO_WORK ? rc : sample_error(rc, err);
}

/* One param over a view, in the caller's arena; HPO_E_NO_WORK before n_startup_trials. */
static hpo_rc sample_param_obs(hpo_arena *a, const hpo_tpe_config *c, const char *name,
                               const hpo_dist *d, const hpo_obs_view *obs,
                               const hpo_trial *running, size_t n_running, hpo_rng *rng,
                               double *ret)
{
    obs_set o;
    hpo_rc rc = collect_observations(a, c, obs, running, n_running, &o);
    if (rc != HPO_OK)
        return rc;
    if (o.n < (size_t)c->n_startup_trials)
        return HPO_E_NO_WORK;
    o.rng = rng;
    /* the param's position differs from trial to trial: the hint only spares a scan */
    pref p = { name, d, 0, 0, ret };
    rc = extract_values(&o, &p, 1);
    return rc == HPO_OK ? sample_joint(&o, &p, 1, false) : rc;
}

double hpo_tpe_sample_param_obs(const hpo_tpe_config *c, const char *name, const hpo_dist *d,
                                const hpo_obs_view *obs, const hpo_trial *running,
                                size_t n_running, hpo_rng *rng)
{
    if (hpo_parzen_dist_single(d))
        return single_value(d);
    if (hpo_tpe_config_validate(c, NULL) != HPO_OK)
        return hpo_sampler_random(d, rng);
    hpo_arena a = { 0 };
    double value;
    hpo_rc rc = sample_param_obs(&a, c, name, d, obs, running, n_running, rng, &value);
    if (rc != HPO_OK)
        value = hpo_sampler_random(d, rng);
    hpo_arena_free(&a);
    return value;
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
    trials_log tl;
    double value;
    hpo_rc rc = trials_log_build(&a, dir, trials, n_trials, &tl);
    if (rc == HPO_OK)
        rc = sample_param_obs(&a, c, name, d, &tl.view, tl.running, tl.n_running, rng, &value);
    if (rc != HPO_OK)
        value = hpo_sampler_random(d, rng);
    hpo_arena_free(&a);
    return value;
}
