/* hpo_tpe_draw: the TPE sampler's draw (hpo_tpe_draw.h): the observations' values of the params
 * to sample, the two Parzen estimators over them and the best of the candidates drawn from
 * l(x); univariate, multivariate over the params every observation has, or per group. */
#include "hpo_tpe_draw.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hpo_arena.h"
#include "hpo_hash.h"
#include "hpo_parzen.h"

#define CAND_BLOCK 32       /* candidates evaluated per block: bounds the scratch memory */

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
static hpo_rc extract_values(tpe_obs *o, pref *ps, size_t np)
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

/* l(x) and g(x) over the np params from the observations that have all of them: below ones
 * (with their weights when o->weight is set) and above ones, transformed into the estimators'
 * space. The univariate estimator of one numeric param keeps its observations sorted. */
static hpo_rc build_pair(tpe_obs *o, const pref *ps, size_t np, bool multivariate, pz_mix *lmix,
                         pz_mix *gmix)
{
    hpo_arena *a = o->a;
    const hpo_tpe_config *c = o->cfg;
    pz_dim *proto = hpo_arena_alloc(a, np, sizeof(pz_dim));
    double **below = hpo_arena_alloc(a, np, sizeof(double *));
    double **above = hpo_arena_alloc(a, np, sizeof(double *));
    double *vals = hpo_arena_alloc(a, np, sizeof(double));
    double *wb = o->weight ? hpo_arena_alloc(a, o->m, sizeof(double)) : NULL;
    if (!proto || !below || !above || !vals || (o->weight && !wb))
        return HPO_E_NOMEM;
    for (size_t i = 0; i < np; i++) {
        memset(&proto[i], 0, sizeof(proto[i]));
        hpo_parzen_dim_init(ps[i].d, &proto[i]);
        below[i] = hpo_arena_alloc(a, o->m, sizeof(double));
        above[i] = hpo_arena_alloc(a, o->m, sizeof(double));
        if (!below[i] || !above[i])
            return HPO_E_NOMEM;
    }
    size_t nb = 0, na = 0;
    for (size_t j = 0; j < o->m; j++) {
        const double *row = o->vals + j * o->nv;
        bool all = true;
        for (size_t i = 0; i < np && all; i++)
            all = !isnan(vals[i] = row[ps[i].col]);
        if (!all)
            continue;
        if (o->below[j] && wb)
            wb[nb] = o->weight[j];
        double **dst = o->below[j] ? below : above;
        size_t at = o->below[j] ? nb++ : na++;
        for (size_t i = 0; i < np; i++)
            dst[i][at] = proto[i].kind == PZ_CAT ? vals[i]
                                                 : hpo_parzen_transform(&proto[i], vals[i]);
    }
    bool sorted = !multivariate;
    hpo_rc rc = hpo_parzen_mix_build(a, c, proto, np, below, nb, wb, multivariate, sorted, lmix);
    return rc != HPO_OK ? rc
                        : hpo_parzen_mix_build(a, c, proto, np, above, na, NULL, multivariate,
                                               sorted, gmix);
}

/* Samples the np params jointly (np == 1: univariate) from the observations that have all of
 * them: n_ei candidates from l(x), the one maximising log l(x) - log g(x) wins. */
static hpo_rc sample_joint(tpe_obs *o, const pref *ps, size_t np, bool multivariate)
{
    hpo_arena *a = o->a;
    const hpo_tpe_config *c = o->cfg;
    hpo_arena_mark mark = hpo_arena_save(a);
    pz_mix lmix, gmix;
    hpo_rc rc = build_pair(o, ps, np, multivariate, &lmix, &gmix);
    if (rc != HPO_OK)
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

double hpo_tpe_draw_single(const hpo_dist *d)
{
    return d->type == HPO_DIST_CATEGORICAL ? 0 : d->low;
}

/* Groups of params that always appear together (Optuna's _SearchSpaceGroup): label[p] is the
 * group of param p, or -1 when no COMPLETE/PRUNED observation has it. Returns the group count. */
static hpo_rc find_groups(tpe_obs *o, const pref *ps, size_t np, long *label, size_t *ret_groups)
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

hpo_rc hpo_tpe_draw_space(tpe_obs *o, const hpo_space *space, double *ret_values)
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
            ret_values[p] = hpo_tpe_draw_single(d);
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


hpo_rc hpo_tpe_draw_param(tpe_obs *o, const char *name, const hpo_dist *d, double *ret)
{
    /* the param's position differs from trial to trial: the hint only spares a scan */
    pref p = { name, d, 0, 0, ret };
    hpo_rc rc = extract_values(o, &p, 1);
    return rc == HPO_OK ? sample_joint(o, &p, 1, false) : rc;
}

hpo_rc hpo_tpe_draw_log_ratio(tpe_obs *o, const hpo_space *space, const double *xs, size_t nx,
                              double *ret)
{
    size_t np = space->n;
    pref *ps = hpo_arena_alloc(o->a, np, sizeof(pref));
    if (ps == NULL)
        return HPO_E_NOMEM;
    for (size_t p = 0; p < np; p++) {
        if (hpo_parzen_dist_single(&space->items[p].dist))
            return HPO_E_INVALID;
        ps[p] = (pref){ space->items[p].name, &space->items[p].dist, p, 0, NULL };
    }
    hpo_rc rc = extract_values(o, ps, np);
    pz_mix lmix, gmix;
    if (rc == HPO_OK)
        rc = build_pair(o, ps, np, o->cfg->multivariate, &lmix, &gmix);
    if (rc != HPO_OK)
        return rc;
    size_t kmax = lmix.K > gmix.K ? lmix.K : gmix.K;
    double *row = hpo_arena_alloc(o->a, kmax, sizeof(double));
    uint32_t *kept = hpo_arena_alloc(o->a, kmax, sizeof(uint32_t));
    double *lg = hpo_arena_alloc(o->a, nx, sizeof(double));
    if (!row || !kept || !lg || kmax > UINT32_MAX)
        return HPO_E_NOMEM;
    hpo_parzen_mix_log_pdf(&lmix, xs, nx, row, kept, ret);
    hpo_parzen_mix_log_pdf(&gmix, xs, nx, row, kept, lg);
    for (size_t j = 0; j < nx; j++)
        ret[j] -= lg[j];
    return HPO_OK;
}
