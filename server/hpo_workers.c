/* hpo_workers: registered workers and the running trials that name them (PostgreSQL). */
#include <string.h>

#include "service_internal.h"

typedef struct {
    const char *id, *host, *info;
    int slots;
    hpo_worker_info *rows;
    size_t n;
    hpo_running_trial *running;
    size_t n_running;
} worker_ctx;

static hpo_rc tx_worker_register(hpo_db *db, void *vctx, hpo_error *err)
{
    worker_ctx *ctx = vctx;
    return hpo_db_worker_upsert(db, ctx->id, ctx->host, ctx->slots, ctx->info, err);
}

static hpo_rc tx_workers(hpo_db *db, void *vctx, hpo_error *err)
{
    worker_ctx *ctx = vctx;
    hpo_worker_infos_free(ctx->rows, ctx->n);
    hpo_running_trials_free(ctx->running, ctx->n_running);
    ctx->rows = NULL;
    ctx->running = NULL;
    ctx->n = ctx->n_running = 0;
    hpo_rc rc = hpo_db_worker_list(db, &ctx->rows, &ctx->n, err);
    return rc ? rc : hpo_db_running_trials(db, &ctx->running, &ctx->n_running, err);
}

hpo_rc hpo_service_worker_register(hpo_service *svc, const char *id, const char *host, int slots,
                                   const char *info, hpo_error *err)
{
    size_t n = id ? strlen(id) : 0;
    if (n < 1 || n > 128)
        return hpo_error_set(err, HPO_E_INVALID, "id", "id must have 1 to 128 characters");
    if (slots < 0 || slots > 1 << 20)
        return hpo_error_set(err, HPO_E_INVALID, "slots", "slots must be from 0 to 1048576");
    hpo_rc rc = check_name(&svc->limits, "worker id", id, "id", err);
    if (!rc)
        rc = check_name(&svc->limits, "worker host", host, "host", err);
    if (rc)
        return rc;
    worker_ctx ctx = {.id = id, .host = host, .info = info, .slots = slots};
    return hpo_store_tx(svc->store, tx_worker_register, &ctx, err);
}

hpo_rc hpo_service_workers(hpo_service *svc, hpo_worker_info **ret, size_t *ret_n,
                           hpo_running_trial **ret_running, size_t *ret_n_running, hpo_error *err)
{
    worker_ctx ctx = {0};
    hpo_rc rc = hpo_store_tx(svc->store, tx_workers, &ctx, err);
    if (rc) {
        hpo_worker_infos_free(ctx.rows, ctx.n);
        hpo_running_trials_free(ctx.running, ctx.n_running);
        return rc;
    }
    *ret = ctx.rows;
    *ret_n = ctx.n;
    *ret_running = ctx.running;
    *ret_n_running = ctx.n_running;
    return HPO_OK;
}

