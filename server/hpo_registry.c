/* hpo_registry: the service object, the registry of the studies held in memory (loaded on demand,
 * dropped when idle), the group commit that makes their changes durable, and study creation and
 * deletion. */
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_clock.h"
#include "hpo_files.h"
#include "hpo_hash.h"
#include "hpo_rng.h"
#include "service_internal.h"

#define N_BUCKETS HPO_SERVICE_BUCKETS

static unsigned bucket_of(const char *name)
{
    return (unsigned)(hpo_hash_name(name) % N_BUCKETS);
}

static void study_free(study *st)
{
    if (!st)
        return;
    study_snapshots_free(st); /* nobody reads them: the study has no references left */
    hpo_trials_free(st->trials, st->n);
    free(st->live);
    free(st->promotions);
    hpo_obs_free(st->obs);
    hpo_study_config_clear(&st->cfg);
    hpo_sampler_clear(&st->sampler);
    hpo_pruner_config_clear(&st->pruner);
    hpo_writes_free(st->pending);
    free(st->front);
    hpo_step_index_free(st->steps);
    pthread_cond_destroy(&st->commit_cv);
    pthread_mutex_destroy(&st->snap_mu);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

hpo_rc hpo_service_new(hpo_store *store, hpo_service **ret, hpo_error *err)
{
    hpo_service *svc = calloc(1, sizeof *svc);
    if (!svc)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    svc->store = store;
    svc->metrics = hpo_metrics_new();
    if (!svc->metrics) {
        free(svc);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    hpo_limits_default(&svc->limits);
    pthread_mutex_init(&svc->mu, NULL);
    pthread_mutex_init(&svc->artifact_mu, NULL);
    pthread_mutex_init(&svc->reaper_mu, NULL);
    pthread_mutex_init(&svc->pub_mu, NULL);
    pthread_cond_init(&svc->pub_cv, NULL);
    pthread_cond_init(&svc->reaper_cv, NULL);
    *ret = svc;
    return HPO_OK;
}

void hpo_service_free(hpo_service *svc)
{
    if (!svc)
        return;
    hpo_service_stop_reaper(svc);
    pthread_mutex_destroy(&svc->reaper_mu);
    pthread_cond_destroy(&svc->reaper_cv);
    hpo_token_cache_free(svc->tokens);
    free(svc->artifact_dir);
    free(svc->artifact_tmp);
    for (size_t b = 0; b < N_BUCKETS; b++) {
        study *st = svc->buckets[b];
        while (st) {
            study *next = st->next;
            study_free(st);
            st = next;
        }
    }
    pthread_mutex_destroy(&svc->artifact_mu);
    pthread_cond_destroy(&svc->pub_cv);
    pthread_mutex_destroy(&svc->pub_mu);
    pthread_mutex_destroy(&svc->mu);
    hpo_metrics_free(svc->metrics);
    free(svc);
}

hpo_metrics *hpo_service_metrics(hpo_service *svc)
{
    return svc->metrics;
}

static hpo_rc tx_ping(hpo_db *db, void *ctx, hpo_error *err)
{
    (void)db, (void)ctx, (void)err;
    return HPO_OK;
}

hpo_rc hpo_service_ping(hpo_service *svc, hpo_error *err)
{
    return hpo_store_tx(svc->store, tx_ping, NULL, err);
}

hpo_rc hpo_service_set_limits(hpo_service *svc, const hpo_limits *limits, hpo_error *err)
{
    hpo_rc rc = hpo_limits_validate(limits, err);
    if (rc == HPO_OK)
        svc->limits = *limits;
    return rc;
}

hpo_rc check_name(const hpo_limits *lim, const char *what, const char *name, const char *field,
                  hpo_error *err)
{
    size_t len = name ? strlen(name) : 0;
    if ((int64_t)len <= lim->name_length)
        return HPO_OK;
    return hpo_error_set(err, HPO_E_INVALID, field, "the %s has %zu bytes (at most %lld): "
                         "--max-name-length", what, len, (long long)lim->name_length);
}

hpo_rc check_choices(const hpo_limits *lim, const hpo_dist *d, const char *field, hpo_error *err)
{
    if (d->type != HPO_DIST_CATEGORICAL || (int64_t)d->n_choices <= lim->choices)
        return HPO_OK;
    return hpo_error_set(err, HPO_E_LIMIT, field, "the distribution has %zu choices (at most "
                         "%lld): --max-choices", d->n_choices, (long long)lim->choices);
}

hpo_rc trial_at(study *st, int64_t number, hpo_trial **ret, hpo_error *err)
{
    if (number < 0 || (uint64_t)number >= st->n)
        return hpo_error_set(err, HPO_E_NOT_FOUND, "number", "trial %lld of study '%s' not found",
                             (long long)number, st->cfg.name);
    *ret = &st->trials[number];
    return HPO_OK;
}

hpo_rc out_of_memory(hpo_error *err)
{
    return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
}

hpo_rc copy_out(hpo_trial *ret, const hpo_trial *t, hpo_error *err)
{
    return hpo_trial_copy(ret, t) ? out_of_memory(err) : HPO_OK;
}

/* ---- registry ---- */

/* Removes st from the registry (service mutex held). */
static void unregister_locked(hpo_service *svc, study *st)
{
    if (!st->in_registry)
        return;
    study **pp = &svc->buckets[bucket_of(st->cfg.name)];
    while (*pp && *pp != st)
        pp = &(*pp)->next;
    if (*pp)
        *pp = st->next;
    st->in_registry = false;
    st->next = NULL;
    svc->n_loaded--;
}

/* Gives a reference back; a use (used) restarts the study's idle time. */
static void release(hpo_service *svc, study *st, bool used)
{
    pthread_mutex_lock(&svc->mu);
    bool dead = --st->refs == 0 && !st->in_registry;
    if (used)
        st->last_used_ms = hpo_clock_monotonic_ms();
    pthread_mutex_unlock(&svc->mu);
    if (dead)
        study_free(st);
}

void study_release(hpo_service *svc, study *st)
{
    release(svc, st, true);
}

hpo_rc studies_hold_all(hpo_service *svc, study ***ret, size_t *ret_n, hpo_error *err)
{
    pthread_mutex_lock(&svc->mu);
    study **all = malloc((svc->n_loaded ? svc->n_loaded : 1) * sizeof *all);
    size_t n = 0;
    for (size_t b = 0; all && b < N_BUCKETS; b++)
        for (study *st = svc->buckets[b]; st && n < svc->n_loaded; st = st->next) {
            st->refs++;
            all[n++] = st;
        }
    pthread_mutex_unlock(&svc->mu);
    if (!all)
        return out_of_memory(err);
    *ret = all;
    *ret_n = n;
    return HPO_OK;
}

void study_release_unused(hpo_service *svc, study *st)
{
    release(svc, st, false);
}

typedef struct {
    const char *name;
    study *st;
} load_ctx;

static hpo_rc tx_load(hpo_db *db, void *vctx, hpo_error *err)
{
    load_ctx *ctx = vctx;
    study *st = ctx->st;
    hpo_study_config_clear(&st->cfg);
    hpo_trials_free(st->trials, st->n);
    st->trials = NULL;
    st->n = st->cap = 0;
    free(st->promotions);
    st->promotions = NULL;
    st->n_promotions = st->cap_promotions = 0;
    hpo_rc rc = hpo_db_study_load(db, ctx->name, &st->cfg, err);
    if (!rc)
        rc = hpo_db_trials_load(db, st->cfg.id, &st->trials, &st->n, err);
    if (!rc)
        rc = hpo_db_promotions_load(db, st->cfg.id, &st->promotions, &st->n_promotions, err);
    st->cap_promotions = st->n_promotions;
    return rc;
}

/* Loads a study from PostgreSQL into a new registry entry (nothing locked). */
static hpo_rc load_study(hpo_service *svc, const char *name, study **ret, hpo_error *err)
{
    study *st = calloc(1, sizeof *st);
    if (!st)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->snap_mu, NULL);
    pthread_cond_init(&st->commit_cv, NULL);
    st->pending_seq = 1;
    st->last_draw = -1;
    st->load_id = (uint32_t)hpo_rng_entropy();
    load_ctx ctx = {name, st};
    hpo_rc rc = hpo_store_tx(svc->store, tx_load, &ctx, err);
    atomic_store(&svc->trim_wanted, true); /* the results of a large study were as big as it */
    if (rc == HPO_OK) {
        st->cap = st->n;
        for (size_t i = 0; i < st->n; i++)
            if (st->trials[i].number != (int64_t)i) {
                rc = hpo_error_set(err, HPO_E_INTERNAL, NULL,
                                   "study '%s' has a gap in its trial numbers at %zu", name, i);
                break;
            }
    }
    if (!rc)
        rc = hpo_sampler_configure(st->cfg.sampler, &st->cfg, &st->sampler, NULL, err);
    if (!rc)
        rc = hpo_pruner_configure(st->cfg.pruner, &st->cfg, &st->pruner, NULL, err);
    snapshot *loaded = NULL;
    if (!rc && (study_derive(st) || study_capture(st, 0, &loaded)))
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    if (!rc)
        study_publish(svc, st, loaded); /* as loaded: all of it durable */
    if (rc) {
        study_free(st);
        return rc;
    }
    *ret = st;
    return HPO_OK;
}

hpo_rc study_acquire_for(hpo_service *svc, const char *name, bool reading, study **ret,
                         hpo_error *err)
{
    if (!name || hpo_study_name_validate(name, "study", NULL) != HPO_OK)
        return hpo_error_set(err, HPO_E_NOT_FOUND, "study", "study '%s' not found",
                             name ? name : "");
    unsigned b = bucket_of(name);
    for (int attempt = 0; attempt < 2; attempt++) {
        /* a stale study (another server changed it, or a commit of ours failed) stays registered
         * until a fresh load replaces it: while the database is out of reach, it is what reads
         * are served from (its last committed version) */
        study *old = NULL;
        pthread_mutex_lock(&svc->mu);
        for (study *st = svc->buckets[b]; st; st = st->next) {
            if (strcmp(st->cfg.name, name) != 0)
                continue;
            st->refs++;
            if (!st->stale) {
                pthread_mutex_unlock(&svc->mu);
                *ret = st;
                return HPO_OK;
            }
            old = st;
            break;
        }
        bool wait = old && reading && hpo_clock_monotonic_ms() < old->reload_after_ms;
        pthread_mutex_unlock(&svc->mu);
        if (wait) {
            *ret = old;
            return HPO_OK;
        }

        study *fresh = NULL;
        hpo_rc rc = load_study(svc, name, &fresh, err);
        if (rc && old && rc == HPO_E_UNAVAILABLE) {
            pthread_mutex_lock(&svc->mu);
            old->reload_after_ms = hpo_clock_monotonic_ms() + 1000;
            pthread_mutex_unlock(&svc->mu);
            if (reading) {
                *ret = old;
                return HPO_OK;
            }
        }
        if (rc) {
            if (old)
                study_release(svc, old);
            return rc;
        }
        pthread_mutex_lock(&svc->mu);
        if (old)
            unregister_locked(svc, old);
        bool raced = false;
        for (study *st = svc->buckets[b]; st; st = st->next)
            if (strcmp(st->cfg.name, name) == 0)
                raced = true;
        if (!raced) {
            fresh->next = svc->buckets[b];
            svc->buckets[b] = fresh;
            fresh->in_registry = true;
            fresh->refs = 1;
            svc->n_loaded++;
        }
        pthread_mutex_unlock(&svc->mu);
        if (old)
            study_release(svc, old);
        if (!raced) {
            *ret = fresh;
            return HPO_OK;
        }
        study_free(fresh); /* another thread loaded it first: use theirs */
    }
    return hpo_error_set(err, HPO_E_UNAVAILABLE, NULL, "study '%s' is being reloaded", name);
}

hpo_rc study_acquire(hpo_service *svc, const char *name, study **ret, hpo_error *err)
{
    return study_acquire_for(svc, name, false, ret, err);
}

size_t study_evict_idle(hpo_service *svc, int64_t now_ms, int64_t idle_ms)
{
    study *dead = NULL;
    size_t n = 0;
    pthread_mutex_lock(&svc->mu);
    for (size_t b = 0; b < N_BUCKETS; b++) {
        study **pp = &svc->buckets[b];
        while (*pp) {
            study *st = *pp;
            if (st->refs > 0 || now_ms - st->last_used_ms < idle_ms) {
                pp = &st->next;
                continue;
            }
            *pp = st->next; /* nobody holds it: no request waits on its commits */
            st->in_registry = false;
            st->next = dead;
            dead = st;
            svc->n_loaded--;
            n++;
        }
    }
    pthread_mutex_unlock(&svc->mu);
    while (dead) {
        study *next = dead->next;
        study_free(dead);
        dead = next;
    }
    if (n > 0)
        atomic_store(&svc->trim_wanted, true);
    return n;
}

void study_trim_memory(hpo_service *svc)
{
    /* walks the whole heap: worth it after a load or an eviction, not on a request's path */
    if (atomic_exchange(&svc->trim_wanted, false))
        malloc_trim(0);
}

size_t hpo_service_loaded_studies(hpo_service *svc)
{
    pthread_mutex_lock(&svc->mu);
    size_t n = svc->n_loaded;
    pthread_mutex_unlock(&svc->mu);
    return n;
}

/* ---- group commit ---- */

hpo_writes *study_writes(study *st)
{
    if (!st->pending)
        st->pending = hpo_writes_new();
    st->changed_seq = st->pending_seq;
    return st->pending;
}

hpo_rc study_break(study *st, hpo_rc rc, hpo_error *err)
{
    if (!st->broken) {
        st->broken = true;
        hpo_error_set(&st->broken_err, HPO_E_UNAVAILABLE, NULL, "study '%s' is being reloaded",
                      st->cfg.name);
    }
    st->stale = true;
    return hpo_error_set(err, rc, NULL, "out of memory");
}

/* The error of a request that finds or waits on a broken study. */
static hpo_rc broken_error(const study *st, hpo_error *err)
{
    if (err)
        *err = st->broken_err;
    return st->broken_err.code;
}

/* Waits (mutex held; released while PostgreSQL works) until commit `seq` has succeeded. The
 * first waiter to find no commit running commits whatever is pending. */
static hpo_rc commit_wait(hpo_service *svc, study *st, uint64_t seq, hpo_error *err)
{
    while (st->done_seq < seq) {
        if (st->broken)
            return broken_error(st, err);
        if (st->committing) {
            pthread_cond_wait(&st->commit_cv, &st->mu);
            continue;
        }
        hpo_writes *w = st->pending;
        uint64_t mine = st->pending_seq++;
        st->pending = NULL;
        /* the study now is exactly what this commit makes durable */
        snapshot *version = NULL;
        hpo_rc rc = study_capture(st, mine, &version);
        hpo_error cerr = {0};
        if (rc) {
            hpo_writes_free(w);
            hpo_error_set(&cerr, HPO_E_NOMEM, NULL, "out of memory");
        } else {
            st->committing = true;
            pthread_mutex_unlock(&st->mu);
            int64_t t0 = hpo_clock_monotonic_ns();
            rc = hpo_store_commit(svc->store, w, &cerr);
            if (rc == HPO_OK)
                hpo_metrics_commit(svc->metrics, hpo_clock_monotonic_ns() - t0);
            hpo_writes_free(w);
            pthread_mutex_lock(&st->mu);
            st->committing = false;
        }
        if (rc == HPO_OK) {
            st->done_seq = mine;
            study_publish(svc, st, version);
        } else {
            st->broken = true;
            st->stale = true;
            if (rc == HPO_E_NOT_FOUND) /* its trials are gone: another server deleted it */
                hpo_error_set(&st->broken_err, HPO_E_NOT_FOUND, "study", "study '%s' not found",
                              st->cfg.name);
            else if (rc == HPO_E_EXISTS) /* another server took a number or a key first */
                hpo_error_set(&st->broken_err, HPO_E_EXISTS, NULL, "%s", cerr.message);
            else
                hpo_error_set(&st->broken_err, HPO_E_UNAVAILABLE, NULL,
                              "the change was not stored (%s); retry", cerr.message);
        }
        pthread_cond_broadcast(&st->commit_cv);
    }
    return HPO_OK;
}

/* Runs fn once on the study as it is in memory. *ret_again: nothing of it reached PostgreSQL and
 * the study must be loaded again (another server changed it), so running it again is safe. */
static hpo_rc run_once(hpo_service *svc, const char *name, study_fn fn,
                       study_outside_fn outside, void *ctx, bool *ret_again, hpo_error *err)
{
    study *st;
    *ret_again = false;
    hpo_rc rc = study_acquire(svc, name, &st, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    if (st->broken) {
        *ret_again = true; /* fn did not run */
        rc = broken_error(st, err);
    } else {
        rc = fn(svc, st, ctx, err);
        if (rc == STUDY_RUN_OUTSIDE) {
            pthread_mutex_unlock(&st->mu);
            outside(ctx);
            pthread_mutex_lock(&st->mu);
            if (st->broken) { /* reloaded meanwhile: run all of it again on the new one */
                *ret_again = true;
                rc = broken_error(st, err);
            } else if ((rc = fn(svc, st, ctx, err)) == STUDY_RUN_OUTSIDE) {
                rc = hpo_error_set(err, HPO_E_INTERNAL, NULL, "work left outside twice");
            }
        }
        hpo_error cerr = {0};
        hpo_rc crc = commit_wait(svc, st, st->changed_seq, &cerr);
        if (crc) {
            *ret_again = crc == HPO_E_EXISTS;
            rc = crc;
            if (err)
                *err = cerr;
        }
    }
    pthread_mutex_unlock(&st->mu);
    study_release(svc, st);
    return rc;
}

#define STUDY_RUN_TRIES 4

hpo_rc with_study_outside(hpo_service *svc, const char *name, study_fn fn,
                          study_outside_fn outside, void *ctx, hpo_error *err)
{
    hpo_rc rc = HPO_OK;
    bool again = true;
    for (int attempt = 0; again && attempt < STUDY_RUN_TRIES; attempt++)
        rc = run_once(svc, name, fn, outside, ctx, &again, err);
    if (rc == HPO_E_EXISTS && again)
        rc = hpo_error_set(err, HPO_E_UNAVAILABLE, NULL, "study '%s' is changing on another "
                           "server; retry", name);
    return rc;
}

hpo_rc with_study(hpo_service *svc, const char *name, study_fn fn, void *ctx, hpo_error *err)
{
    return with_study_outside(svc, name, fn, NULL, ctx, err);
}

/* ---- studies: creation and deletion ---- */

/* The limits on a new study's name, search space and user_attrs keys. */
static hpo_rc check_study_config(const hpo_limits *lim, const hpo_study_config *c,
                                 hpo_error *err)
{
    hpo_rc rc = check_name(lim, "study name", c->name, "name", err);
    if (!rc && (c->retry.max_retries < 0 || c->retry.max_retries > HPO_RETRY_MAX ||
                (c->retry.on & ~(unsigned)HPO_RETRY_ALL)))
        rc = hpo_error_set(err, HPO_E_INVALID, "retry", "retry.max_retries must be from 0 to %d "
                           "and retry.on name known causes", HPO_RETRY_MAX);
    if (!rc && (int64_t)c->space.n > lim->params_per_trial)
        rc = hpo_error_set(err, HPO_E_LIMIT, "search_space", "the search space has %zu params "
                           "(at most %lld): --max-params-per-trial", c->space.n,
                           (long long)lim->params_per_trial);
    char field[HPO_ERROR_FIELD_MAX];
    for (size_t i = 0; !rc && i < c->space.n; i++) {
        const hpo_param_def *p = &c->space.items[i];
        snprintf(field, sizeof field, "search_space.%s", p->name);
        rc = check_name(lim, "param name", p->name, field, err);
        if (!rc) {
            snprintf(field, sizeof field, "search_space.%s.choices", p->name);
            rc = check_choices(lim, &p->dist, field, err);
        }
    }
    json_t *attrs = !rc && c->user_attrs ? json_loads(c->user_attrs, 0, NULL) : NULL;
    const char *key;
    json_t *val;
    json_object_foreach(attrs, key, val) {
        snprintf(field, sizeof field, "user_attrs.%s", key);
        if ((rc = check_name(lim, "user_attrs key", key, field, err)))
            break;
    }
    json_decref(attrs);
    return rc;
}

typedef struct {
    hpo_study_config *cfg;
    int64_t max_studies;
} study_insert_ctx;

/* Counts and inserts in one transaction, under the store's study-creation lock: the limit holds
 * across servers. A name that exists is left to the insert (load_if_exists still works). */
static hpo_rc tx_study_insert(hpo_db *db, void *vctx, hpo_error *err)
{
    study_insert_ctx *ctx = vctx;
    int64_t n = 0;
    bool exists = false;
    hpo_rc rc = hpo_db_study_count(db, ctx->cfg->name, &n, &exists, err);
    if (!rc && !exists && n >= ctx->max_studies)
        return hpo_error_set(err, HPO_E_LIMIT, "name", "the server has %lld studies: "
                             "--max-studies", (long long)n);
    return rc ? rc : hpo_db_study_insert(db, ctx->cfg, err);
}

hpo_rc hpo_service_study_create(hpo_service *svc, const hpo_study_config *cfg, bool load_if_exists,
                                hpo_study_info *ret, bool *ret_created, hpo_error *err)
{
    hpo_rc rc = hpo_study_name_validate(cfg->name, "name", err);
    if (!rc)
        rc = check_study_config(&svc->limits, cfg, err);
    if (rc)
        return rc;
    hpo_study_config c;
    rc = hpo_study_config_copy(&c, cfg);
    if (rc)
        return hpo_error_set(err, rc, NULL, "out of memory");
    if (!c.user_attrs && !(c.user_attrs = hpo_strdup("{}")))
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    if (!c.retry.on) /* a config that names no causes (not from the API, which always does) */
        c.retry.on = HPO_RETRY_DEFAULT.on;
    /* sampler and pruner are stored with every option spelled out */
    hpo_sampler sampler = {0};
    hpo_pruner_config pruner = {0};
    char *sampler_text = NULL, *pruner_text = NULL;
    if (!rc)
        rc = hpo_sampler_configure(cfg->sampler, &c, &sampler, &sampler_text, err);
    if (!rc)
        rc = hpo_pruner_configure(cfg->pruner, &c, &pruner, &pruner_text, err);
    hpo_sampler_clear(&sampler);
    hpo_pruner_config_clear(&pruner);
    free(c.sampler);
    free(c.pruner);
    c.sampler = sampler_text;
    c.pruner = pruner_text;
    study_insert_ctx ictx = {&c, svc->limits.studies};
    if (!rc)
        rc = hpo_store_tx(svc->store, tx_study_insert, &ictx, err);
    hpo_study_config_clear(&c);
    bool created = rc == HPO_OK;
    if (rc == HPO_E_EXISTS && load_if_exists)
        rc = HPO_OK;
    else if (rc == HPO_E_EXISTS)
        hpo_error_set(err, HPO_E_EXISTS, "name", "study '%s' already exists", cfg->name);
    if (rc)
        return rc;
    rc = hpo_service_study_get(svc, cfg->name, ret, err);
    if (rc == HPO_OK && ret_created)
        *ret_created = created;
    return rc;
}

static hpo_rc tx_study_delete(hpo_db *db, void *ctx, hpo_error *err)
{
    return hpo_db_study_delete(db, ctx, err);
}

hpo_rc hpo_service_study_delete(hpo_service *svc, const char *name, hpo_error *err)
{
    study *st;
    hpo_rc rc = study_acquire(svc, name, &st, err);
    if (rc)
        return rc;
    /* writes still queued fail in PostgreSQL (their trials are gone), not in memory */
    rc = hpo_store_tx(svc->store, tx_study_delete, st->cfg.name, err);
    if (rc == HPO_OK || rc == HPO_E_NOT_FOUND)
        st->stale = true;
    pthread_mutex_lock(&svc->mu);
    unregister_locked(svc, st);
    pthread_mutex_unlock(&svc->mu);
    if (rc == HPO_OK && svc->artifact_dir) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%lld", svc->artifact_dir, (long long)st->cfg.id);
        hpo_files_remove_tree(dir); /* files left by a failure are unreachable, not harmful */
    }
    study_release(svc, st);
    if (rc == HPO_E_NOT_FOUND)
        hpo_error_set(err, rc, "study", "study '%s' not found", name);
    return rc;
}
