/* hpo_plots: plot data from a study's latest published snapshot (hpo_plots.h). */
#include "hpo_plots.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_hypervolume.h"
#include "hpo_importance.h"
#include "hpo_pruner.h"
#include "service_internal.h"

/* ---- trials, whole or changed since a version ---- */

typedef struct {
    const char *since;
    hpo_trials_view_fn fn;
    void *ctx;
} view_ctx;

/* The commit of a version of this load, or -1 when it names another load (or none). */
static int64_t since_commit(const snapshot *s, const char *since)
{
    char *end;
    if (!since || strlen(since) < 10 || since[8] != '.')
        return -1;
    unsigned long load = strtoul(since, &end, 16);
    if (end != since + 8 || load != s->load_id)
        return -1;
    unsigned long long seq = strtoull(since + 9, &end, 10);
    return *end == '\0' && seq <= s->seq ? (int64_t)seq : -1;
}

static hpo_rc view_fn(const snapshot *s, void *vctx, hpo_error *err)
{
    view_ctx *ctx = vctx;
    hpo_trials_view v = {.config = s->cfg, .n_trials = (int64_t)s->n};
    snapshot_version(s, v.version, sizeof v.version);
    memcpy(v.counts, s->counts, sizeof v.counts);
    int64_t after = since_commit(s, ctx->since);
    v.full = after < 0;
    const hpo_trial **list = malloc((s->n ? s->n : 1) * sizeof *list);
    if (!list)
        return out_of_memory(err);
    for (size_t i = 0; i < s->n; i++) {
        const hpo_trial *t = snapshot_trial(s, i);
        if (v.full || t->version > (uint64_t)after)
            list[v.n++] = t;
    }
    v.trials = list;
    hpo_rc rc = ctx->fn(&v, ctx->ctx, err);
    free(list);
    return rc;
}

hpo_rc hpo_service_trials_view(hpo_service *svc, const char *study, const char *since,
                               hpo_trials_view_fn fn, void *ctx, hpo_error *err)
{
    view_ctx vctx = {since, fn, ctx};
    return with_snapshot(svc, study, view_fn, &vctx, err);
}

static hpo_rc version_fn(const snapshot *s, void *ctx, hpo_error *err)
{
    (void)err;
    snapshot_version(s, ctx, HPO_VERSION_MAX);
    return HPO_OK;
}

hpo_rc hpo_service_study_version(hpo_service *svc, const char *study,
                                 char ret[HPO_VERSION_MAX], hpo_error *err)
{
    return with_snapshot(svc, study, version_fn, ret, err);
}

uint64_t hpo_service_wait_published(hpo_service *svc, uint64_t seen, int64_t timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t ns = until.tv_nsec + (timeout_ms % 1000) * 1000000;
    until.tv_sec += (time_t)(timeout_ms / 1000 + ns / 1000000000);
    until.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&svc->pub_mu);
    while (seen != 0 && svc->pub_count == seen &&
           pthread_cond_timedwait(&svc->pub_cv, &svc->pub_mu, &until) == 0)
        ;
    uint64_t now = svc->pub_count;
    pthread_mutex_unlock(&svc->pub_mu);
    return now;
}

/* ---- history and EDF ---- */

/* The objective's value of trial t when it is COMPLETE with it. */
static bool complete_value(const hpo_trial *t, size_t objective, double *ret)
{
    if (t->state != HPO_TRIAL_COMPLETE || t->n_values <= objective)
        return false;
    *ret = t->values[objective];
    return true;
}

static hpo_rc check_objective(const snapshot *s, size_t objective, hpo_error *err)
{
    if (objective < s->cfg->n_directions)
        return HPO_OK;
    return hpo_error_set(err, HPO_E_INVALID, "objective",
                         "objective must be below %zu, the study's number of objectives",
                         s->cfg->n_directions);
}

typedef struct {
    size_t objective;
    hpo_history_data *out;
} history_ctx;

static hpo_rc history_fn(const snapshot *s, void *vctx, hpo_error *err)
{
    history_ctx *ctx = vctx;
    hpo_history_data *h = ctx->out;
    hpo_rc rc = check_objective(s, ctx->objective, err);
    if (rc)
        return rc;
    h->direction = s->cfg->directions[ctx->objective];
    size_t cap = (size_t)s->counts[HPO_TRIAL_COMPLETE] + 1;
    h->number = malloc(cap * sizeof *h->number);
    h->value = malloc(cap * sizeof *h->value);
    h->best = malloc(cap * sizeof *h->best);
    if (!h->number || !h->value || !h->best)
        return out_of_memory(err);
    for (size_t i = 0; i < s->n && h->n < cap; i++) {
        double v;
        if (!complete_value(snapshot_trial(s, i), ctx->objective, &v))
            continue;
        double prev = h->n ? h->best[h->n - 1] : v;
        h->number[h->n] = (int64_t)i;
        h->value[h->n] = v;
        h->best[h->n] = hpo_value_better(h->direction, v, prev) ? v : prev;
        h->n++;
    }
    return HPO_OK;
}

hpo_rc hpo_service_history(hpo_service *svc, const char *study, size_t objective,
                           hpo_history_data *ret, hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    history_ctx ctx = {objective, ret};
    hpo_rc rc = with_snapshot(svc, study, history_fn, &ctx, err);
    if (rc)
        hpo_history_data_clear(ret);
    return rc;
}

void hpo_history_data_clear(hpo_history_data *h)
{
    if (!h)
        return;
    free(h->number);
    free(h->value);
    free(h->best);
    memset(h, 0, sizeof *h);
}

/* ---- hypervolume ---- */

typedef struct {
    const double *ref; /* NULL: the default */
    size_t n_ref;
    bool history;
    hpo_hypervolume_data *out;
} hypervolume_ctx;

/* Trial t's values as losses (maximized objectives negated), when it is COMPLETE with all and,
 * in a constrained study, feasible (as the front counts trials). */
static bool loss_point(const snapshot *s, const hpo_trial *t, double *ret)
{
    size_t m = s->cfg->n_directions;
    if (t->state != HPO_TRIAL_COMPLETE || t->n_values < m ||
        (s->n_constraints && hpo_trial_violation(t) != 0))
        return false;
    for (size_t k = 0; k < m; k++)
        ret[k] = s->cfg->directions[k] == HPO_MAXIMIZE ? -t->values[k] : t->values[k];
    return true;
}

/* Adds p to the front (rows of m) unless a member dominates it weakly, dropping the members it
 * dominates. Returns whether the front changed. */
static bool front_add(double *front, size_t *n, const double *p, size_t m)
{
    for (size_t i = 0; i < *n; i++) {
        size_t k = 0;
        while (k < m && front[i * m + k] <= p[k])
            k++;
        if (k == m)
            return false;
    }
    size_t kept = 0;
    for (size_t i = 0; i < *n; i++) {
        size_t k = 0;
        while (k < m && p[k] <= front[i * m + k])
            k++;
        if (k < m)
            memmove(front + kept++ * m, front + i * m, m * sizeof *front);
    }
    memcpy(front + kept * m, p, m * sizeof *front);
    *n = kept + 1;
    return true;
}

static hpo_rc hypervolume_fn(const snapshot *s, void *vctx, hpo_error *err)
{
    hypervolume_ctx *ctx = vctx;
    hpo_hypervolume_data *h = ctx->out;
    size_t m = s->cfg->n_directions;
    if (m < 2)
        return hpo_error_set(err, HPO_E_INVALID, NULL, "study '%s' has one objective: its "
                             "history is GET history", s->cfg->name);
    if (m > HPO_HV_MAX_OBJECTIVES)
        return hpo_error_set(err, HPO_E_INVALID, NULL, "hypervolume takes at most %d objectives",
                             HPO_HV_MAX_OBJECTIVES);
    if (ctx->ref && ctx->n_ref != m)
        return hpo_error_set(err, HPO_E_INVALID, "reference_point",
                             "reference_point needs %zu numbers, one per objective", m);
    size_t cap = (size_t)s->counts[HPO_TRIAL_COMPLETE] + 1;
    double *pts = malloc(cap * m * sizeof *pts), *front = malloc(cap * m * sizeof *front);
    h->number = malloc(cap * sizeof *h->number);
    h->hypervolume = malloc(cap * sizeof *h->hypervolume);
    hpo_rc rc = pts && front && h->number && h->hypervolume ? HPO_OK : out_of_memory(err);
    size_t n_pts = 0;
    for (size_t i = 0; !rc && i < s->n && n_pts < cap; i++)
        if (loss_point(s, snapshot_trial(s, i), pts + n_pts * m))
            h->number[n_pts++] = (int64_t)i;
    double ref[HPO_HV_MAX_OBJECTIVES];
    if (!rc && ctx->ref) {
        for (size_t k = 0; k < m; k++)
            ref[k] = s->cfg->directions[k] == HPO_MAXIMIZE ? -ctx->ref[k] : ctx->ref[k];
    } else if (!rc) {
        hpo_hypervolume_default_ref(pts, n_pts, m, DBL_EPSILON, ref);
    }
    h->n_objectives = m;
    for (size_t k = 0; !rc && k < m; k++)
        h->reference_point[k] = s->cfg->directions[k] == HPO_MAXIMIZE ? -ref[k] : ref[k];
    /* the front grows trial by trial; with history the volume is computed again whenever it
     * changes, else once at the end */
    size_t n_front = 0;
    double v = 0;
    for (size_t i = 0; !rc && i < n_pts; i++) {
        if (front_add(front, &n_front, pts + i * m, m) && ctx->history &&
            (v = hpo_hypervolume(front, n_front, m, ref)) < 0)
            rc = out_of_memory(err);
        h->hypervolume[i] = v;
    }
    if (!rc && !ctx->history && (v = hpo_hypervolume(front, n_front, m, ref)) < 0)
        rc = out_of_memory(err);
    h->value = v;
    h->n = rc || !ctx->history ? 0 : n_pts;
    free(pts);
    free(front);
    return rc;
}

hpo_rc hpo_service_hypervolume(hpo_service *svc, const char *study, const double *ref,
                               size_t n_ref, bool history, hpo_hypervolume_data *ret,
                               hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    hypervolume_ctx ctx = {ref, n_ref, history, ret};
    hpo_rc rc = with_snapshot(svc, study, hypervolume_fn, &ctx, err);
    if (rc)
        hpo_hypervolume_data_clear(ret);
    return rc;
}

void hpo_hypervolume_data_clear(hpo_hypervolume_data *h)
{
    if (!h)
        return;
    free(h->number);
    free(h->hypervolume);
    memset(h, 0, sizeof *h);
}

typedef struct {
    size_t objective;
    hpo_edf_data *out;
} edf_ctx;

/* Ascending, NaN last. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

static hpo_rc edf_fn(const snapshot *s, void *vctx, hpo_error *err)
{
    edf_ctx *ctx = vctx;
    hpo_edf_data *e = ctx->out;
    hpo_rc rc = check_objective(s, ctx->objective, err);
    if (rc)
        return rc;
    size_t cap = (size_t)s->counts[HPO_TRIAL_COMPLETE] + 1;
    if (!(e->values = malloc(cap * sizeof *e->values)))
        return out_of_memory(err);
    for (size_t i = 0; i < s->n && e->n < cap; i++) {
        double v;
        if (complete_value(snapshot_trial(s, i), ctx->objective, &v))
            e->values[e->n++] = v;
    }
    qsort(e->values, e->n, sizeof *e->values, cmp_double);
    return HPO_OK;
}

hpo_rc hpo_service_edf(hpo_service *svc, const char *study, size_t objective, hpo_edf_data *ret,
                       hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    edf_ctx ctx = {objective, ret};
    hpo_rc rc = with_snapshot(svc, study, edf_fn, &ctx, err);
    if (rc)
        hpo_edf_data_clear(ret);
    return rc;
}

void hpo_edf_data_clear(hpo_edf_data *e)
{
    if (!e)
        return;
    free(e->values);
    memset(e, 0, sizeof *e);
}

/* ---- ASHA ---- */

static int promotion_cmp(const void *a, const void *b)
{
    const hpo_promotion *x = a, *y = b;
    if (x->number != y->number)
        return x->number < y->number ? -1 : 1;
    return (x->rung > y->rung) - (x->rung < y->rung);
}

static hpo_rc add_promotion(hpo_asha_data *a, size_t *cap, hpo_asha_promotion p, hpo_error *err)
{
    if (a->n_promotions == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        hpo_asha_promotion *np = realloc(a->promotions, *cap * sizeof *np);
        if (!np)
            return out_of_memory(err);
        a->promotions = np;
    }
    a->promotions[a->n_promotions++] = p;
    return HPO_OK;
}

/* The highest rung a trial's reports reached (-1 below the first). */
static int reached_rung(const hpo_pruner_config *p, int top, const hpo_trial *t)
{
    const hpo_report *last = hpo_trial_last_report(t);
    int reached = last ? hpo_asha_rung_of_step(p, last->step) : -1;
    return reached > top ? top : reached;
}

static hpo_rc asha_fn(const snapshot *s, void *vctx, hpo_error *err)
{
    hpo_asha_data *a = vctx;
    const hpo_pruner_config *p = s->pruner;
    if (p->type != HPO_PRUNER_ASHA)
        return HPO_OK;
    int top = hpo_asha_top_rung(p);
    a->n_rungs = (size_t)top + 1;
    if (!(a->rungs = calloc(a->n_rungs, sizeof *a->rungs)))
        return out_of_memory(err);
    for (int k = 0; k <= top; k++)
        a->rungs[k] = (hpo_asha_rung){.rung = k, .resource = hpo_asha_rung_resource(p, k)};
    /* the recorded promotions first, in the order made; a copy by (trial, rung) to look up */
    size_t cap = 0, nr = s->n_promotions;
    hpo_promotion *byk = malloc((nr ? nr : 1) * sizeof *byk);
    if (!byk)
        return out_of_memory(err);
    memcpy(byk, s->promotions, nr * sizeof *byk);
    qsort(byk, nr, sizeof *byk, promotion_cmp);
    hpo_rc rc = HPO_OK;
    for (size_t i = 0; i < nr && !rc; i++) {
        const hpo_promotion *q = &s->promotions[i];
        rc = add_promotion(a, &cap, (hpo_asha_promotion){q->number, q->rung, q->ms}, err);
        /* promoted, but no report past the rung yet (counted with the reports below otherwise) */
        if (!rc && q->rung <= top && (uint64_t)q->number < s->n &&
            reached_rung(p, top, snapshot_trial(s, (size_t)q->number)) <= q->rung)
            a->rungs[q->rung].promoted++;
    }
    for (size_t i = 0; i < s->n && !rc; i++) {
        const hpo_trial *t = snapshot_trial(s, i);
        int reached = reached_rung(p, top, t);
        for (int k = 0; k <= reached && !rc; k++) {
            a->rungs[k].reached++;
            if (k == reached)
                continue;
            /* it went on past rung k: promoted from it */
            a->rungs[k].promoted++;
            hpo_promotion key = {.number = t->number, .rung = k};
            if (!bsearch(&key, byk, nr, sizeof *byk, promotion_cmp))
                rc = add_promotion(a, &cap, (hpo_asha_promotion){t->number, k, 0}, err);
        }
        if (reached >= 0 && t->state == HPO_TRIAL_PAUSED)
            a->rungs[reached].paused++;
    }
    free(byk);
    return rc;
}

hpo_rc hpo_service_asha(hpo_service *svc, const char *study, hpo_asha_data *ret, hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    hpo_rc rc = with_snapshot(svc, study, asha_fn, ret, err);
    if (rc)
        hpo_asha_data_clear(ret);
    return rc;
}

void hpo_asha_data_clear(hpo_asha_data *a)
{
    if (!a)
        return;
    free(a->rungs);
    free(a->promotions);
    memset(a, 0, sizeof *a);
}

/* ---- importance ---- */

typedef struct {
    const hpo_importance_request *req;
    hpo_importance_data *out;
} importance_ctx;

/* The distribution param `name` is ranked with: the declared one, else the latest a COMPLETE
 * trial used (NULL when none). */
static const hpo_dist *param_dist(const snapshot *s, const hpo_trial *const *done, size_t n_done,
                                  const char *name)
{
    const hpo_param_def *def = hpo_space_find(&s->cfg->space, name);
    if (def)
        return &def->dist;
    for (size_t i = n_done; i-- > 0;) {
        const hpo_param *p = hpo_trial_param(done[i], name);
        if (p)
            return &p->dist;
    }
    return NULL;
}

/* The params to rank: those asked for, or those every COMPLETE trial has (in the first one's
 * order), each with its distribution. */
static hpo_rc ranked_space(const snapshot *s, const hpo_importance_request *req,
                           const hpo_trial *const *done, size_t n_done, hpo_space *ret,
                           hpo_error *err)
{
    hpo_rc rc = HPO_OK;
    if (req->n_params > 0) {
        for (size_t i = 0; !rc && i < req->n_params; i++) {
            const hpo_dist *d = param_dist(s, done, n_done, req->params[i]);
            if (!d)
                return hpo_error_set(err, HPO_E_INVALID, "params",
                                     "no complete trial of study '%s' has param '%s'",
                                     s->cfg->name, req->params[i]);
            if (hpo_space_find(ret, req->params[i]))
                return hpo_error_set(err, HPO_E_INVALID, "params", "param '%s' is named twice",
                                     req->params[i]);
            rc = hpo_space_add(ret, req->params[i], d);
        }
        return rc ? out_of_memory(err) : HPO_OK;
    }
    for (size_t k = 0; n_done > 0 && !rc && k < done[0]->n_params; k++) {
        const char *name = done[0]->params[k].name;
        bool everywhere = true;
        for (size_t i = 1; everywhere && i < n_done; i++)
            everywhere = hpo_trial_param(done[i], name) != NULL;
        if (everywhere)
            rc = hpo_space_add(ret, name, param_dist(s, done, n_done, name));
    }
    return rc ? out_of_memory(err) : HPO_OK;
}

static hpo_rc importance_fn(const snapshot *s, void *vctx, hpo_error *err)
{
    importance_ctx *ctx = vctx;
    const hpo_importance_request *req = ctx->req;
    hpo_importance_data *out = ctx->out;
    hpo_rc rc = check_objective(s, req->objective, err);
    if (rc)
        return rc;
    size_t cap = (size_t)s->counts[HPO_TRIAL_COMPLETE] + 1, n_done = 0;
    const hpo_trial **done = malloc(cap * sizeof *done);
    hpo_trial *flat = malloc(cap * sizeof *flat);
    hpo_space space = {0};
    double *imp = NULL;
    size_t *order = NULL;
    if (!done || !flat) {
        rc = out_of_memory(err);
        goto out;
    }
    for (size_t i = 0; i < s->n && n_done < cap; i++) {
        const hpo_trial *t = snapshot_trial(s, i);
        if (t->state == HPO_TRIAL_COMPLETE)
            done[n_done++] = t;
    }
    if ((rc = ranked_space(s, req, done, n_done, &space, err)))
        goto out;
    if (space.n == 0) {
        rc = hpo_error_set(err, HPO_E_INVALID, "params",
                           "study '%s' has no param that every complete trial has", s->cfg->name);
        goto out;
    }
    /* shallow copies: the algorithm reads them while the snapshot is held */
    for (size_t i = 0; i < n_done; i++) {
        flat[i] = *done[i];
        bool all = true;
        for (size_t k = 0; all && k < space.n; k++)
            all = hpo_trial_param(done[i], space.items[k].name) != NULL;
        out->n_trials += all;
    }
    hpo_importance_config cfg;
    hpo_importance_config_default(&cfg);
    cfg.evaluator = req->evaluator == HPO_EVALUATOR_PED_ANOVA ? HPO_IMPORTANCE_PED_ANOVA
                                                               : HPO_IMPORTANCE_FANOVA;
    cfg.target = req->objective;
    cfg.seed = req->seed;
    imp = malloc(space.n * sizeof *imp);
    order = malloc(space.n * sizeof *order);
    out->names = calloc(space.n, sizeof *out->names);
    out->importance = malloc(space.n * sizeof *out->importance);
    if (!imp || !order || !out->names || !out->importance) {
        rc = out_of_memory(err);
        goto out;
    }
    if ((rc = hpo_importance(&cfg, &space, flat, n_done, s->cfg->directions[req->objective], imp,
                             err)))
        goto out;
    for (size_t k = 0; k < space.n; k++) { /* by importance, descending; a few params */
        size_t at = k;
        for (; at > 0 && imp[order[at - 1]] < imp[k]; at--)
            order[at] = order[at - 1];
        order[at] = k;
    }
    for (size_t k = 0; k < space.n; k++) {
        if (!(out->names[k] = hpo_strdup(space.items[order[k]].name))) {
            rc = out_of_memory(err);
            goto out;
        }
        out->importance[k] = imp[order[k]];
        out->n = k + 1;
    }
out:
    free(done);
    free(flat);
    free(imp);
    free(order);
    hpo_space_clear(&space);
    return rc;
}

hpo_rc hpo_service_importance(hpo_service *svc, const char *study,
                              const hpo_importance_request *req, hpo_importance_data *ret,
                              hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    importance_ctx ctx = {req, ret};
    hpo_rc rc = with_snapshot(svc, study, importance_fn, &ctx, err);
    if (rc)
        hpo_importance_data_clear(ret);
    return rc;
}

void hpo_importance_data_clear(hpo_importance_data *d)
{
    if (!d)
        return;
    for (size_t i = 0; d->names && i < d->n; i++)
        free(d->names[i]);
    free(d->names);
    free(d->importance);
    memset(d, 0, sizeof *d);
}
