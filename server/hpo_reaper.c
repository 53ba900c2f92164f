/* hpo_reaper: a thread that, every interval, fails the running trials whose worker went silent
 * (no heartbeat, report or start for longer than the study's heartbeat grace), drops from
 * memory the studies nobody used for --study-idle-seconds and gives freed heap back. */
#include <stdlib.h>
#include <time.h>

#include "hpo_clock.h"
#include "hpo_log.h"
#include "service_internal.h"

typedef struct {
    int64_t now;
    char **names;
    size_t n;
} stale_ctx;

static hpo_rc tx_stale(hpo_db *db, void *vctx, hpo_error *err)
{
    stale_ctx *ctx = vctx;
    return hpo_db_stale_studies(db, ctx->now, &ctx->names, &ctx->n, err);
}

typedef struct {
    int64_t now;
    size_t failed;
} reap_ctx;

/* Fails the silent running trials of one study (and retries them as its policy says). Only
 * RUNNING trials: a paused ASHA trial waits for a promotion, not for its worker. */
static hpo_rc reap_fn(hpo_service *svc, study *st, void *vctx, hpo_error *err)
{
    reap_ctx *ctx = vctx;
    int64_t grace = st->cfg.heartbeat_grace_ms;
    if (grace <= 0)
        return HPO_OK;
    for (size_t i = 0; i < st->n; i++) {
        hpo_trial *t = &st->trials[i];
        int64_t seen = t->heartbeat_ms ? t->heartbeat_ms : t->started_ms;
        if (t->state != HPO_TRIAL_RUNNING || seen + grace >= ctx->now)
            continue;
        char *reason = hpo_strdup("heartbeat_lost");
        if (!reason || trial_set_string(st, t, &t->fail_reason, reason)) {
            free(reason);
            return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
        }
        study_set_state(st, t, HPO_TRIAL_FAIL);
        t->finished_ms = ctx->now;
        hpo_rc rc = study_retry_failed(svc, st, (int64_t)i, HPO_RETRY_HEARTBEAT_LOST, err);
        if (rc)
            return rc;
        t = &st->trials[i]; /* a retry may have moved the array */
        study_touch(st, t);
        hpo_writes *w = study_writes(st);
        if (!w || hpo_writes_trial_update(w, st->cfg.id, t))
            return study_break(st, HPO_E_NOMEM, err);
        ctx->failed++;
    }
    return HPO_OK;
}

hpo_rc hpo_service_reap(hpo_service *svc, int64_t now_ms, size_t *ret_failed, hpo_error *err)
{
    if (ret_failed)
        *ret_failed = 0;
    stale_ctx sctx = {now_ms, NULL, 0};
    hpo_rc rc = hpo_store_tx(svc->store, tx_stale, &sctx, err);
    for (size_t i = 0; i < sctx.n; i++) {
        reap_ctx ctx = {now_ms, 0};
        if (!rc)
            rc = with_study(svc, sctx.names[i], reap_fn, &ctx, err);
        if (!rc && ret_failed)
            *ret_failed += ctx.failed;
        free(sctx.names[i]);
    }
    free(sctx.names);
    return rc;
}

static void *reaper_main(void *arg)
{
    hpo_service *svc = arg;
    pthread_mutex_lock(&svc->reaper_mu);
    while (!svc->reaper_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + (svc->reaper_interval_ms % 1000) * 1000000;
        until.tv_sec += (time_t)(svc->reaper_interval_ms / 1000 + ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&svc->reaper_cv, &svc->reaper_mu, &until);
        if (svc->reaper_stop)
            break;
        pthread_mutex_unlock(&svc->reaper_mu);
        hpo_error err = {0};
        size_t failed = 0;
        /* errors (PostgreSQL away) are retried on the next pass */
        if (hpo_service_reap(svc, hpo_clock_now_ms(), &failed, &err))
            hpo_log(HPO_LOG_WARN, "reaper: pass failed: %s", err.message);
        else if (failed > 0)
            hpo_log(HPO_LOG_INFO, "reaper: %zu silent trial(s) failed (heartbeat_lost)", failed);
        study_evict_idle(svc, hpo_clock_monotonic_ms(), svc->limits.study_idle_s * 1000);
        study_trim_memory(svc);
        pthread_mutex_lock(&svc->reaper_mu);
    }
    pthread_mutex_unlock(&svc->reaper_mu);
    return NULL;
}

hpo_rc hpo_service_start_reaper(hpo_service *svc, int64_t interval_ms, hpo_error *err)
{
    if (svc->reaper_running)
        return HPO_OK;
    svc->reaper_interval_ms = interval_ms > 0 ? interval_ms : 1000;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_destroy(&svc->reaper_cv);
    pthread_cond_init(&svc->reaper_cv, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&svc->reaper, NULL, reaper_main, svc) != 0)
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "cannot start the reaper thread");
    svc->reaper_running = true;
    return HPO_OK;
}

void hpo_service_stop_reaper(hpo_service *svc)
{
    if (!svc->reaper_running)
        return;
    pthread_mutex_lock(&svc->reaper_mu);
    svc->reaper_stop = true;
    pthread_cond_signal(&svc->reaper_cv);
    pthread_mutex_unlock(&svc->reaper_mu);
    pthread_join(svc->reaper, NULL);
    svc->reaper_running = false;
}
