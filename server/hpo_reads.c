/* hpo_reads: what GET answers: a study with its counts and best trial, the list of studies, a
 * trial, a page of trials and the best trials (the Pareto front). Reads copy under the study's
 * mutex what the trial changes keep up to date (no scan of the history) and answer once what they
 * saw is durable. */
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"

static hpo_rc info_fn(hpo_service *svc, study *st, void *vctx, hpo_error *err)
{
    (void)svc;
    hpo_study_info *info = vctx;
    hpo_study_info_clear(info); /* from an attempt that had to be run again */
    if (hpo_study_config_copy(&info->config, &st->cfg))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    memcpy(info->counts, st->counts, sizeof info->counts);
    info->n_trials = (int64_t)st->n;
    if (st->best != SIZE_MAX) {
        if (hpo_trial_copy(&info->best, &st->trials[st->best]))
            return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
        info->has_best = true;
    }
    return HPO_OK;
}

hpo_rc hpo_service_study_get(hpo_service *svc, const char *name, hpo_study_info *ret,
                             hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    hpo_rc rc = with_study(svc, name, info_fn, ret, err);
    if (rc)
        hpo_study_info_clear(ret);
    return rc;
}

void hpo_study_info_clear(hpo_study_info *info)
{
    if (!info)
        return;
    hpo_study_config_clear(&info->config);
    hpo_trial_clear(&info->best);
    memset(info, 0, sizeof *info);
}

typedef struct {
    hpo_study_summary *list;
    size_t n;
} list_ctx;

static hpo_rc tx_study_list(hpo_db *db, void *vctx, hpo_error *err)
{
    list_ctx *ctx = vctx;
    hpo_study_summaries_free(ctx->list, ctx->n);
    ctx->list = NULL;
    ctx->n = 0;
    return hpo_db_study_list(db, &ctx->list, &ctx->n, err);
}

hpo_rc hpo_service_study_list(hpo_service *svc, hpo_study_summary **ret, size_t *ret_n,
                              hpo_error *err)
{
    list_ctx ctx = {NULL, 0};
    hpo_rc rc = hpo_store_tx(svc->store, tx_study_list, &ctx, err);
    if (rc) {
        hpo_study_summaries_free(ctx.list, ctx.n);
        return rc;
    }
    *ret = ctx.list;
    *ret_n = ctx.n;
    return HPO_OK;
}

typedef struct {
    int state;
    int64_t after, number;
    size_t limit;
    hpo_trial *out;
    size_t n;
    bool more;
} trials_ctx;

static hpo_rc trials_fn(hpo_service *svc, study *st, void *vctx, hpo_error *err)
{
    (void)svc;
    trials_ctx *ctx = vctx;
    hpo_trials_free(ctx->out, ctx->n);
    ctx->n = 0;
    ctx->more = false;
    ctx->out = calloc(ctx->limit ? ctx->limit : 1, sizeof *ctx->out);
    if (!ctx->out)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    size_t start = ctx->after < 0 ? 0 : (size_t)ctx->after + 1;
    for (size_t i = start; i < st->n; i++) {
        const hpo_trial *t = &st->trials[i];
        if (ctx->state >= 0 && (int)t->state != ctx->state)
            continue;
        if (ctx->n == ctx->limit) {
            ctx->more = true;
            break;
        }
        if (hpo_trial_copy(&ctx->out[ctx->n], t))
            return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
        ctx->n++;
    }
    return HPO_OK;
}

hpo_rc hpo_service_trials(hpo_service *svc, const char *name, int state, int64_t after,
                          size_t limit, hpo_trial **ret, size_t *ret_n, bool *ret_more,
                          hpo_error *err)
{
    trials_ctx ctx = {.state = state, .after = after, .limit = limit};
    hpo_rc rc = with_study(svc, name, trials_fn, &ctx, err);
    if (rc) {
        hpo_trials_free(ctx.out, ctx.n);
        return rc;
    }
    *ret = ctx.out;
    *ret_n = ctx.n;
    *ret_more = ctx.more;
    return HPO_OK;
}

static hpo_rc trial_fn(hpo_service *svc, study *st, void *vctx, hpo_error *err)
{
    (void)svc;
    trials_ctx *ctx = vctx;
    hpo_trial_clear(ctx->out);
    hpo_trial *t = NULL;
    hpo_rc rc = trial_at(st, ctx->number, &t, err);
    return rc ? rc : copy_out(ctx->out, t, err);
}

hpo_rc hpo_service_trial(hpo_service *svc, const char *name, int64_t number, hpo_trial *ret,
                         hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    trials_ctx ctx = {.number = number, .out = ret};
    hpo_rc rc = with_study(svc, name, trial_fn, &ctx, err);
    if (rc)
        hpo_trial_clear(ret);
    return rc;
}

typedef struct {
    hpo_trial *out;
    size_t n, n_directions;
} best_ctx;

static hpo_rc best_fn(hpo_service *svc, study *st, void *vctx, hpo_error *err)
{
    (void)svc;
    best_ctx *ctx = vctx;
    hpo_trials_free(ctx->out, ctx->n);
    ctx->out = NULL;
    ctx->n = 0;
    ctx->n_directions = st->cfg.n_directions;
    bool one = st->cfg.n_directions == 1;
    const size_t *members = one ? &st->best : st->front;
    size_t n = one ? (st->best != SIZE_MAX) : st->n_front;
    if (one && n == 0)
        return hpo_error_set(err, HPO_E_NOT_FOUND, NULL, "study '%s' has no completed trial yet",
                             st->cfg.name);
    if (!(ctx->out = calloc(n ? n : 1, sizeof *ctx->out)))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    for (; ctx->n < n; ctx->n++)
        if (hpo_trial_copy(&ctx->out[ctx->n], &st->trials[members[ctx->n]]))
            return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    return HPO_OK;
}

hpo_rc hpo_service_best(hpo_service *svc, const char *name, hpo_trial **ret, size_t *ret_n,
                        size_t *ret_n_directions, hpo_error *err)
{
    best_ctx ctx = {0};
    hpo_rc rc = with_study(svc, name, best_fn, &ctx, err);
    if (rc) {
        hpo_trials_free(ctx.out, ctx.n);
        return rc;
    }
    *ret = ctx.out;
    *ret_n = ctx.n;
    *ret_n_directions = ctx.n_directions;
    return HPO_OK;
}
