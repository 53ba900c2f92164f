/* hpo_reads: what GET answers: a study with its counts and best trial, the list of studies, a
 * trial, a page of trials and the best trials (the Pareto front). Reads copy what they answer
 * from the study's latest published snapshot, without its mutex: a consistent version that is
 * all durable, with what the trial changes keep up to date (counts, best, front; no scan). */
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"

static hpo_rc info_fn(const snapshot *s, void *vctx, hpo_error *err)
{
    hpo_study_info *info = vctx;
    if (hpo_study_config_copy(&info->config, s->cfg))
        return out_of_memory(err);
    memcpy(info->counts, s->counts, sizeof info->counts);
    info->n_trials = (int64_t)s->n;
    info->n_retries = s->n_retries;
    if (s->best != SIZE_MAX) {
        if (hpo_trial_copy(&info->best, snapshot_trial(s, s->best)))
            return out_of_memory(err);
        info->has_best = true;
    }
    return HPO_OK;
}

hpo_rc hpo_service_study_get(hpo_service *svc, const char *name, hpo_study_info *ret,
                             hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    hpo_rc rc = with_snapshot(svc, name, info_fn, ret, err);
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

static hpo_rc trials_fn(const snapshot *s, void *vctx, hpo_error *err)
{
    trials_ctx *ctx = vctx;
    if (!(ctx->out = calloc(ctx->limit ? ctx->limit : 1, sizeof *ctx->out)))
        return out_of_memory(err);
    size_t start = ctx->after < 0 ? 0 : (size_t)ctx->after + 1;
    for (size_t i = start; i < s->n; i++) {
        const hpo_trial *t = snapshot_trial(s, i);
        if (ctx->state >= 0 && (int)t->state != ctx->state)
            continue;
        if (ctx->n == ctx->limit) {
            ctx->more = true;
            break;
        }
        if (hpo_trial_copy(&ctx->out[ctx->n], t))
            return out_of_memory(err);
        ctx->n++;
    }
    return HPO_OK;
}

hpo_rc hpo_service_trials(hpo_service *svc, const char *name, int state, int64_t after,
                          size_t limit, hpo_trial **ret, size_t *ret_n, bool *ret_more,
                          hpo_error *err)
{
    trials_ctx ctx = {.state = state, .after = after, .limit = limit};
    hpo_rc rc = with_snapshot(svc, name, trials_fn, &ctx, err);
    if (rc) {
        hpo_trials_free(ctx.out, ctx.n);
        return rc;
    }
    *ret = ctx.out;
    *ret_n = ctx.n;
    *ret_more = ctx.more;
    return HPO_OK;
}

static hpo_rc trial_fn(const snapshot *s, void *vctx, hpo_error *err)
{
    trials_ctx *ctx = vctx;
    if (ctx->number < 0 || (uint64_t)ctx->number >= s->n)
        return hpo_error_set(err, HPO_E_NOT_FOUND, "number", "trial %lld of study '%s' not found",
                             (long long)ctx->number, s->cfg->name);
    return copy_out(ctx->out, snapshot_trial(s, (size_t)ctx->number), err);
}

hpo_rc hpo_service_trial(hpo_service *svc, const char *name, int64_t number, hpo_trial *ret,
                         hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    trials_ctx ctx = {.number = number, .out = ret};
    hpo_rc rc = with_snapshot(svc, name, trial_fn, &ctx, err);
    if (rc)
        hpo_trial_clear(ret);
    return rc;
}

typedef struct {
    hpo_trial *out;
    size_t n, n_directions;
} best_ctx;

static hpo_rc best_fn(const snapshot *s, void *vctx, hpo_error *err)
{
    best_ctx *ctx = vctx;
    ctx->n_directions = s->cfg->n_directions;
    bool one = s->cfg->n_directions == 1;
    const size_t *members = one ? &s->best : s->front;
    size_t n = one ? (s->best != SIZE_MAX) : s->n_front;
    if (one && n == 0)
        return hpo_error_set(err, HPO_E_NOT_FOUND, NULL, "study '%s' has no %scompleted trial yet",
                             s->cfg->name, s->n_constraints ? "feasible " : "");
    if (!(ctx->out = calloc(n ? n : 1, sizeof *ctx->out)))
        return out_of_memory(err);
    for (; ctx->n < n; ctx->n++)
        if (hpo_trial_copy(&ctx->out[ctx->n], snapshot_trial(s, members[ctx->n])))
            return out_of_memory(err);
    return HPO_OK;
}

hpo_rc hpo_service_best(hpo_service *svc, const char *name, hpo_trial **ret, size_t *ret_n,
                        size_t *ret_n_directions, hpo_error *err)
{
    best_ctx ctx = {0};
    hpo_rc rc = with_snapshot(svc, name, best_fn, &ctx, err);
    if (rc) {
        hpo_trials_free(ctx.out, ctx.n);
        return rc;
    }
    *ret = ctx.out;
    *ret_n = ctx.n;
    *ret_n_directions = ctx.n_directions;
    return HPO_OK;
}
