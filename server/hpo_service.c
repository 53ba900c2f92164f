/* hpo_service: the registry of active studies held in memory and the trial life cycle over them.
 * Each study has one mutex, held across the PostgreSQL write, so memory changes only after the
 * commit and every answer reflects committed state. */
#include "hpo_service.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hpo_clock.h"
#include "hpo_codec.h"
#include "hpo_files.h"
#include "hpo_pruning.h"
#include "hpo_sampling.h"
#include "service_internal.h"

#define N_BUCKETS HPO_SERVICE_BUCKETS
#define IDEMPOTENCY_KEY_MAX 128

typedef struct study {
    hpo_study_config cfg;
    pthread_mutex_t mu;
    hpo_trial *trials; /* trials[i].number == i: numbers are dense */
    size_t n, cap;
    hpo_sampler sampler;
    hpo_pruner_config pruner;
    atomic_bool stale; /* memory may differ from PostgreSQL: reload on next use */
    /* guarded by the service mutex */
    int refs;
    bool in_registry;
    struct study *next;
} study;


static unsigned bucket_of(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % N_BUCKETS;
}

static void study_free(study *st)
{
    if (!st)
        return;
    hpo_trials_free(st->trials, st->n);
    hpo_study_config_clear(&st->cfg);
    hpo_sampler_clear(&st->sampler);
    hpo_pruner_config_clear(&st->pruner);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

hpo_rc hpo_service_new(hpo_store *store, hpo_service **ret, hpo_error *err)
{
    hpo_service *svc = calloc(1, sizeof *svc);
    if (!svc)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    svc->store = store;
    hpo_limits_default(&svc->limits);
    pthread_mutex_init(&svc->mu, NULL);
    pthread_mutex_init(&svc->reaper_mu, NULL);
    pthread_cond_init(&svc->reaper_cv, NULL);
    *ret = svc;
    return HPO_OK;
}

void hpo_service_free(hpo_service *svc)
{
    if (!svc)
        return;
    if (svc->reaper_running) {
        pthread_mutex_lock(&svc->reaper_mu);
        svc->reaper_stop = true;
        pthread_cond_signal(&svc->reaper_cv);
        pthread_mutex_unlock(&svc->reaper_mu);
        pthread_join(svc->reaper, NULL);
    }
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
    pthread_mutex_destroy(&svc->mu);
    free(svc);
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
}

static void release(hpo_service *svc, study *st)
{
    pthread_mutex_lock(&svc->mu);
    bool dead = --st->refs == 0 && !st->in_registry;
    pthread_mutex_unlock(&svc->mu);
    if (dead)
        study_free(st);
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
    hpo_rc rc = hpo_db_study_load(db, ctx->name, &st->cfg, err);
    if (rc)
        return rc;
    return hpo_db_trials_load(db, st->cfg.id, &st->trials, &st->n, err);
}

/* Loads a study from PostgreSQL into a new registry entry (nothing locked). */
static hpo_rc load_study(hpo_service *svc, const char *name, study **ret, hpo_error *err)
{
    study *st = calloc(1, sizeof *st);
    if (!st)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    pthread_mutex_init(&st->mu, NULL);
    load_ctx ctx = {name, st};
    hpo_rc rc = hpo_store_tx(svc->store, tx_load, &ctx, err);
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
    if (rc) {
        study_free(st);
        return rc;
    }
    *ret = st;
    return HPO_OK;
}

/* Finds or loads a study and takes a reference to it. */
static hpo_rc acquire(hpo_service *svc, const char *name, study **ret, hpo_error *err)
{
    if (!name || hpo_study_name_validate(name, "study", NULL) != HPO_OK)
        return hpo_error_set(err, HPO_E_NOT_FOUND, "study", "study '%s' not found",
                             name ? name : "");
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_mutex_lock(&svc->mu);
        unsigned b = bucket_of(name);
        for (study *st = svc->buckets[b]; st; st = st->next) {
            if (strcmp(st->cfg.name, name) != 0)
                continue;
            if (st->stale) {
                unregister_locked(svc, st);
                if (st->refs == 0) {
                    pthread_mutex_unlock(&svc->mu);
                    study_free(st);
                    pthread_mutex_lock(&svc->mu);
                }
                break;
            }
            st->refs++;
            pthread_mutex_unlock(&svc->mu);
            *ret = st;
            return HPO_OK;
        }
        pthread_mutex_unlock(&svc->mu);

        study *fresh = NULL;
        hpo_rc rc = load_study(svc, name, &fresh, err);
        if (rc)
            return rc;
        pthread_mutex_lock(&svc->mu);
        bool raced = false;
        for (study *st = svc->buckets[b]; st; st = st->next)
            if (strcmp(st->cfg.name, name) == 0)
                raced = true;
        if (!raced) {
            fresh->next = svc->buckets[b];
            svc->buckets[b] = fresh;
            fresh->in_registry = true;
            fresh->refs = 1;
            pthread_mutex_unlock(&svc->mu);
            *ret = fresh;
            return HPO_OK;
        }
        pthread_mutex_unlock(&svc->mu);
        study_free(fresh); /* another thread loaded it first: use theirs */
    }
    return hpo_error_set(err, HPO_E_UNAVAILABLE, NULL, "study '%s' is being reloaded", name);
}

/* After a failed write whose outcome PostgreSQL may not have told us, memory cannot be trusted. */
static void mark_stale_on(study *st, hpo_rc rc)
{
    if (rc == HPO_E_UNAVAILABLE || rc == HPO_E_INTERNAL || rc == HPO_E_NOMEM)
        st->stale = true;
}

/* ---- limits ---- */

hpo_rc hpo_service_set_limits(hpo_service *svc, const hpo_limits *limits, hpo_error *err)
{
    hpo_rc rc = hpo_limits_validate(limits, err);
    if (rc == HPO_OK)
        svc->limits = *limits;
    return rc;
}

/* A name a client chose, against --max-name-length (its format may have a rule of its own). */
static hpo_rc check_name(const hpo_limits *lim, const char *what, const char *name,
                         const char *field, hpo_error *err)
{
    size_t len = name ? strlen(name) : 0;
    if ((int64_t)len <= lim->name_length)
        return HPO_OK;
    return hpo_error_set(err, HPO_E_INVALID, field, "the %s has %zu bytes (at most %lld): "
                         "--max-name-length", what, len, (long long)lim->name_length);
}

static hpo_rc check_choices(const hpo_limits *lim, const hpo_dist *d, const char *field,
                            hpo_error *err)
{
    if (d->type != HPO_DIST_CATEGORICAL || (int64_t)d->n_choices <= lim->choices)
        return HPO_OK;
    return hpo_error_set(err, HPO_E_LIMIT, field, "the distribution has %zu choices (at most "
                         "%lld): --max-choices", d->n_choices, (long long)lim->choices);
}

/* The limits on a new study's name, search space and user_attrs keys. */
static hpo_rc check_study_config(const hpo_limits *lim, const hpo_study_config *c,
                                 hpo_error *err)
{
    hpo_rc rc = check_name(lim, "study name", c->name, "name", err);
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

/* Trials are created (asked or enqueued) only while the study has room for one more. */
static hpo_rc check_trial_room(const hpo_limits *lim, const struct study *st, hpo_error *err)
{
    if ((int64_t)st->n < lim->trials_per_study)
        return HPO_OK;
    return hpo_error_set(err, HPO_E_LIMIT, NULL, "study '%s' has %zu trials: "
                         "--max-trials-per-study", st->cfg.name, st->n);
}

/* ---- studies ---- */

static void fill_info(const study *st, hpo_study_info *info)
{
    memset(info, 0, sizeof *info);
    hpo_study_config_copy(&info->config, &st->cfg);
    info->n_trials = (int64_t)st->n;
    const hpo_trial *best = NULL;
    for (size_t i = 0; i < st->n; i++) {
        const hpo_trial *t = &st->trials[i];
        info->counts[t->state]++;
        if (st->cfg.n_directions == 1 && t->state == HPO_TRIAL_COMPLETE && t->n_values == 1 &&
            (!best || hpo_value_better(st->cfg.directions[0], t->values[0], best->values[0])))
            best = t;
    }
    if (best && hpo_trial_copy(&info->best, best) == HPO_OK)
        info->has_best = true;
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

hpo_rc hpo_service_study_get(hpo_service *svc, const char *name, hpo_study_info *ret,
                             hpo_error *err)
{
    study *st;
    hpo_rc rc = acquire(svc, name, &st, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    fill_info(st, ret);
    pthread_mutex_unlock(&st->mu);
    release(svc, st);
    return HPO_OK;
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

static hpo_rc tx_study_delete(hpo_db *db, void *ctx, hpo_error *err)
{
    return hpo_db_study_delete(db, ctx, err);
}

hpo_rc hpo_service_study_delete(hpo_service *svc, const char *name, hpo_error *err)
{
    study *st;
    hpo_rc rc = acquire(svc, name, &st, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    rc = hpo_store_tx(svc->store, tx_study_delete, st->cfg.name, err);
    if (rc == HPO_OK || rc == HPO_E_NOT_FOUND)
        st->stale = true; /* operations still holding it fail in PostgreSQL, not in memory */
    if (rc == HPO_OK && svc->artifact_dir) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%lld", svc->artifact_dir, (long long)st->cfg.id);
        hpo_files_remove_tree(dir); /* files left by a failure are unreachable, not harmful */
    }
    pthread_mutex_unlock(&st->mu);
    pthread_mutex_lock(&svc->mu);
    unregister_locked(svc, st);
    pthread_mutex_unlock(&svc->mu);
    release(svc, st);
    if (rc == HPO_E_NOT_FOUND)
        hpo_error_set(err, rc, "study", "study '%s' not found", name);
    return rc;
}

/* ---- trials ---- */

static hpo_rc trial_at(study *st, int64_t number, hpo_trial **ret, hpo_error *err)
{
    if (number < 0 || (uint64_t)number >= st->n)
        return hpo_error_set(err, HPO_E_NOT_FOUND, "number", "trial %lld of study '%s' not found",
                             (long long)number, st->cfg.name);
    *ret = &st->trials[number];
    return HPO_OK;
}

/* A trial must be running to take reports, suggestions and heartbeats. */
static hpo_rc require_running(const study *st, const hpo_trial *t, hpo_error *err)
{
    if (t->state == HPO_TRIAL_RUNNING)
        return HPO_OK;
    if (t->state == HPO_TRIAL_WAITING || t->state == HPO_TRIAL_PAUSED)
        return hpo_error_set(err, HPO_E_CONFLICT, "number",
                             "trial %lld of study '%s' is %s: ask for it first",
                             (long long)t->number, st->cfg.name, hpo_trial_state_name(t->state));
    return hpo_error_set(err, HPO_E_FINISHED, "number", "trial %lld of study '%s' is already %s",
                         (long long)t->number, st->cfg.name, hpo_trial_state_name(t->state));
}

/* Reports and heartbeats also reach a paused trial (its command may still be saving). */
static hpo_rc require_live(const study *st, const hpo_trial *t, hpo_error *err)
{
    return t->state == HPO_TRIAL_PAUSED ? HPO_OK : require_running(st, t, err);
}

/* Hyperband: the sampler and the pruner see only the trials of one bracket. Returns a view of
 * shallow copies (free() the array only) with the index of `number` in *ret_self (SIZE_MAX when
 * absent), or NULL when the whole study is seen. */
static hpo_trial *bracket_view(const study *st, int64_t number, size_t *ret_n, size_t *ret_self,
                               int *ret_bracket)
{
    *ret_self = number >= 0 && (uint64_t)number < st->n ? (size_t)number : SIZE_MAX;
    *ret_n = st->n;
    *ret_bracket = -1;
    if (st->pruner.type != HPO_PRUNER_HYPERBAND)
        return NULL;
    int nb = hpo_hyperband_n_brackets(&st->pruner, st->trials, st->n);
    if (nb <= 0)
        return NULL; /* brackets are not known before a trial completes */
    hpo_trial *view = malloc((st->n ? st->n : 1) * sizeof *view);
    if (!view)
        return NULL;
    int mine = hpo_hyperband_bracket(&st->pruner, st->cfg.name, number, nb);
    *ret_bracket = mine;
    size_t n = 0;
    *ret_self = SIZE_MAX;
    for (size_t i = 0; i < st->n; i++) {
        if (hpo_hyperband_bracket(&st->pruner, st->cfg.name, st->trials[i].number, nb) != mine)
            continue;
        if (st->trials[i].number == number)
            *ret_self = n;
        view[n++] = st->trials[i];
    }
    *ret_n = n;
    return view;
}

/* What trial t should do now, by the study's pruner over t's bracket. */
static hpo_action decide(const study *st, const hpo_trial *t)
{
    if (st->pruner.type == HPO_PRUNER_NONE || st->cfg.n_directions != 1 || t->n_reports == 0)
        return HPO_ACTION_CONTINUE;
    size_t n, self;
    int bracket;
    hpo_trial *view = bracket_view(st, t->number, &n, &self, &bracket);
    hpo_direction dir = st->cfg.directions[0];
    hpo_action a = HPO_ACTION_CONTINUE;
    if (st->pruner.type != HPO_PRUNER_HYPERBAND)
        a = hpo_pruner_decide(&st->pruner, dir, st->trials, st->n, t);
    else if (view && self != SIZE_MAX)
        a = hpo_hyperband_decide(&st->pruner, dir, bracket, view, n, &view[self]);
    free(view);
    return a;
}

/* Fills the declared params t lacks, from the sampler over trial `number`'s bracket. */
static hpo_rc sample_params(const study *st, int64_t number, hpo_trial *t, hpo_error *err)
{
    size_t n, self;
    int bracket;
    hpo_trial *view = bracket_view(st, number, &n, &self, &bracket);
    hpo_rc rc = hpo_sampling_fill(&st->sampler, &st->cfg, view ? view : st->trials, n, number, t,
                                  err);
    free(view);
    return rc;
}

/* Under ASHA, the budget of a running trial: from the rung it reached to the next one. */
static void resource_of(const study *st, const hpo_trial *t, hpo_resource *ret)
{
    memset(ret, 0, sizeof *ret);
    if (st->pruner.type != HPO_PRUNER_ASHA)
        return;
    const hpo_report *last = hpo_trial_last_report(t);
    int k = last ? hpo_asha_rung_of_step(&st->pruner, last->step) : -1;
    int top = hpo_asha_top_rung(&st->pruner);
    ret->set = true;
    ret->from = k >= 0 ? hpo_asha_rung_resource(&st->pruner, k) : 0;
    ret->to = hpo_asha_rung_resource(&st->pruner, k + 1 < top ? k + 1 : top);
}

static hpo_rc append_trial(study *st, hpo_trial *t)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        hpo_trial *p = realloc(st->trials, cap * sizeof *p);
        if (!p)
            return HPO_E_NOMEM;
        st->trials = p;
        st->cap = cap;
    }
    st->trials[st->n++] = *t; /* moved: t's memory belongs to the study now */
    memset(t, 0, sizeof *t);
    return HPO_OK;
}

/* Splits fixed params {name: value}: names of the declared space become params of t (validated
 * against their distribution); the others are kept as JSON text in t->fixed_params. */
static hpo_rc apply_fixed_params(const study *st, const hpo_limits *lim, const json_t *params,
                                 const char *field, hpo_trial *t, hpo_error *err)
{
    if (!params)
        return HPO_OK;
    if (!json_is_object(params))
        return hpo_error_set(err, HPO_E_INVALID, field, "%s must be an object", field);
    json_t *rest = json_object();
    const char *name;
    json_t *val;
    hpo_rc rc = HPO_OK;
    json_object_foreach((json_t *)params, name, val) {
        char sub[HPO_ERROR_FIELD_MAX];
        snprintf(sub, sizeof sub, "%s.%s", field, name);
        if ((rc = hpo_param_name_validate(name, sub, err)) ||
            (rc = check_name(lim, "param name", name, sub, err)))
            break;
        const hpo_param_def *def = hpo_space_find(&st->cfg.space, name);
        if (!def) {
            json_object_set(rest, name, val);
            continue;
        }
        double internal;
        if ((rc = hpo_json_to_param_value(&def->dist, val, sub, &internal, err)))
            break;
        if ((rc = hpo_trial_add_param(t, name, &def->dist, internal)))
            break;
    }
    /* the trial gets every declared param, and the others at their suggest */
    size_t total = st->cfg.space.n + json_object_size(rest);
    if (!rc && (int64_t)total > lim->params_per_trial)
        rc = hpo_error_set(err, HPO_E_LIMIT, field, "the trial would have %zu params (at most "
                           "%lld): --max-params-per-trial", total,
                           (long long)lim->params_per_trial);
    if (!rc && json_object_size(rest) > 0) {
        free(t->fixed_params);
        t->fixed_params = hpo_json_dump(rest);
        if (!t->fixed_params)
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    json_decref(rest);
    return rc;
}

typedef struct {
    int64_t study_id;
    hpo_trial *trial;
    size_t first_new_param; /* params from here on are to be inserted for an existing trial */
} trial_write_ctx;

static hpo_rc tx_trial_create(hpo_db *db, void *vctx, hpo_error *err)
{
    trial_write_ctx *ctx = vctx;
    return hpo_db_trial_create(db, ctx->study_id, ctx->trial, err);
}

static hpo_rc tx_trial_start(hpo_db *db, void *vctx, hpo_error *err)
{
    trial_write_ctx *ctx = vctx;
    for (size_t i = ctx->first_new_param; i < ctx->trial->n_params; i++) {
        hpo_rc rc = hpo_db_param_insert(db, ctx->trial->id, &ctx->trial->params[i], err);
        if (rc)
            return rc;
    }
    return hpo_db_trial_update(db, ctx->trial, err);
}

static hpo_rc tx_trial_update(hpo_db *db, void *vctx, hpo_error *err)
{
    trial_write_ctx *ctx = vctx;
    return hpo_db_trial_update(db, ctx->trial, err);
}

/* Creates a trial in PostgreSQL and, once committed, in memory; *ret gets a copy. */
static hpo_rc create_trial(hpo_service *svc, study *st, hpo_trial *t, hpo_trial *ret,
                           hpo_error *err)
{
    trial_write_ctx ctx = {st->cfg.id, t, 0};
    hpo_rc rc = hpo_store_tx(svc->store, tx_trial_create, &ctx, err);
    if (rc) {
        mark_stale_on(st, rc);
        return rc;
    }
    rc = hpo_trial_copy(ret, t);
    if (t->number != (int64_t)st->n) {
        st->stale = true; /* another server added trials: reload before the next change */
        hpo_trial_clear(t);
    } else if (append_trial(st, t)) {
        st->stale = true;
        hpo_trial_clear(t);
    }
    if (rc)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    return HPO_OK;
}

static bool max_reached(const study *st)
{
    return st->cfg.max_trials > 0 && (int64_t)st->n >= st->cfg.max_trials;
}

static hpo_rc copy_out(hpo_trial *ret, const hpo_trial *t, hpo_error *err)
{
    return hpo_trial_copy(ret, t) ? hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory") : HPO_OK;
}

/* Hands an existing trial (waiting, or paused and promoted) to a worker: fills the declared
 * params it lacks, marks it running, writes it, and only then changes memory. */
static hpo_rc start_existing(hpo_service *svc, study *st, hpo_trial *w, const hpo_ask_request *req,
                             hpo_trial *ret, hpo_error *err)
{
    int64_t now = hpo_clock_now_ms();
    hpo_trial next;
    if (hpo_trial_copy(&next, w))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    hpo_rc rc = sample_params(st, w->number, &next, err);
    next.state = HPO_TRIAL_RUNNING;
    if (!next.started_ms)
        next.started_ms = now;
    next.heartbeat_ms = now;
    free(next.worker);
    next.worker = hpo_strdup(req->worker);
    free(next.idempotency_key);
    next.idempotency_key = hpo_strdup(req->idempotency_key);
    trial_write_ctx ctx = {st->cfg.id, &next, w->n_params};
    if (!rc)
        rc = hpo_store_tx(svc->store, tx_trial_start, &ctx, err);
    mark_stale_on(st, rc);
    if (!rc)
        rc = copy_out(ret, &next, err);
    if (!rc) {
        hpo_trial_clear(w);
        *w = next;
    } else {
        hpo_trial_clear(&next);
    }
    return rc;
}

typedef struct {
    hpo_trial *trials;
    size_t n;
} many_ctx;

static hpo_rc tx_update_many(hpo_db *db, void *vctx, hpo_error *err)
{
    many_ctx *ctx = vctx;
    for (size_t i = 0; i < ctx->n; i++) {
        hpo_rc rc = hpo_db_trial_update(db, &ctx->trials[i], err);
        if (rc)
            return rc;
    }
    return HPO_OK;
}

/* Writes n updated copies of trials in one transaction (unless rc already failed), then puts them
 * in place of the study's trials, or drops them on failure. Takes next (freed). */
static hpo_rc commit_updates(hpo_service *svc, study *st, hpo_trial *next, size_t n, hpo_rc rc,
                             hpo_error *err)
{
    if (!rc && n > 0) {
        many_ctx ctx = {next, n};
        rc = hpo_store_tx(svc->store, tx_update_many, &ctx, err);
        mark_stale_on(st, rc);
    }
    for (size_t i = 0; i < n; i++) {
        if (!rc) {
            hpo_trial *t = &st->trials[next[i].number];
            hpo_trial_clear(t);
            *t = next[i];
        } else {
            hpo_trial_clear(&next[i]);
        }
    }
    free(next);
    return rc;
}

/* ASHA with every configuration created and nothing running: no paused trial can be promoted
 * any more, so each is left behind as PRUNED with its value at its rung. */
static hpo_rc leave_paused_behind(hpo_service *svc, study *st, hpo_error *err)
{
    hpo_trial *next = calloc(st->n ? st->n : 1, sizeof *next);
    size_t n = 0;
    hpo_rc rc = next ? HPO_OK : hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    int64_t now = hpo_clock_now_ms();
    for (size_t i = 0; !rc && i < st->n; i++) {
        const hpo_trial *t = &st->trials[i];
        if (t->state != HPO_TRIAL_PAUSED)
            continue;
        if (hpo_trial_copy(&next[n], t)) {
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
            break;
        }
        hpo_trial *p = &next[n++];
        p->state = HPO_TRIAL_PRUNED;
        p->finished_ms = now;
        if (hpo_trial_last_report(t) && hpo_trial_set_values(p, &hpo_trial_last_report(t)->value, 1))
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    rc = commit_updates(svc, st, next, n, rc, err);
    return rc;
}

static bool any_in_state(const study *st, hpo_trial_state s)
{
    for (size_t i = 0; i < st->n; i++)
        if (st->trials[i].state == s)
            return true;
    return false;
}

static hpo_rc ask_locked(hpo_service *svc, study *st, const hpo_ask_request *req, hpo_trial *ret,
                         bool *ret_replayed, hpo_error *err)
{
    if (req->idempotency_key) {
        size_t klen = strlen(req->idempotency_key);
        if (klen == 0 || klen > IDEMPOTENCY_KEY_MAX)
            return hpo_error_set(err, HPO_E_INVALID, "idempotency_key",
                                 "idempotency_key must have 1 to %d characters",
                                 IDEMPOTENCY_KEY_MAX);
        for (size_t i = st->n; i-- > 0;)
            if (st->trials[i].idempotency_key &&
                strcmp(st->trials[i].idempotency_key, req->idempotency_key) == 0) {
                *ret_replayed = true;
                return copy_out(ret, &st->trials[i], err);
            }
    }
    /* a promotion first (ASHA), then an enqueued trial unless the caller fixed params */
    if (st->pruner.type == HPO_PRUNER_ASHA && !req->params) {
        int rung;
        size_t i = hpo_asha_pick_promotion(&st->pruner, st->cfg.directions[0], st->trials, st->n,
                                           &rung);
        if (i != SIZE_MAX)
            return start_existing(svc, st, &st->trials[i], req, ret, err);
    }
    for (size_t i = 0; !req->params && i < st->n; i++)
        if (st->trials[i].state == HPO_TRIAL_WAITING)
            return start_existing(svc, st, &st->trials[i], req, ret, err);

    if (max_reached(st)) {
        if (st->pruner.type == HPO_PRUNER_ASHA && any_in_state(st, HPO_TRIAL_RUNNING))
            return hpo_error_set(err, HPO_E_NO_WORK, NULL,
                                 "no work now: running trials may make paused ones promotable");
        hpo_rc rc = st->pruner.type == HPO_PRUNER_ASHA ? leave_paused_behind(svc, st, err) : HPO_OK;
        if (rc)
            return rc;
        return hpo_error_set(err, HPO_E_COMPLETE, NULL,
                             "study '%s' has reached max_trials (%lld)", st->cfg.name,
                             (long long)st->cfg.max_trials);
    }

    hpo_rc rc = check_trial_room(&svc->limits, st, err);
    if (rc)
        return rc;
    int64_t now = hpo_clock_now_ms();
    hpo_trial t = {0};
    t.state = HPO_TRIAL_RUNNING;
    t.created_ms = t.started_ms = t.heartbeat_ms = now;
    t.worker = hpo_strdup(req->worker);
    t.idempotency_key = hpo_strdup(req->idempotency_key);
    rc = apply_fixed_params(st, &svc->limits, req->params, "params", &t, err);
    if (!rc)
        rc = sample_params(st, (int64_t)st->n, &t, err);
    if (!rc)
        rc = create_trial(svc, st, &t, ret, err);
    hpo_trial_clear(&t);
    return rc;
}

hpo_rc hpo_service_ask(hpo_service *svc, const char *name, const hpo_ask_request *req,
                       hpo_trial *ret, bool *ret_replayed, hpo_resource *ret_resource,
                       hpo_error *err)
{
    study *st;
    hpo_rc rc = check_name(&svc->limits, "worker name", req->worker, "worker", err);
    if (!rc)
        rc = acquire(svc, name, &st, err);
    if (rc)
        return rc;
    *ret_replayed = false;
    pthread_mutex_lock(&st->mu);
    rc = ask_locked(svc, st, req, ret, ret_replayed, err);
    if (!rc && ret_resource)
        resource_of(st, ret, ret_resource);
    pthread_mutex_unlock(&st->mu);
    release(svc, st);
    return rc;
}

hpo_rc hpo_service_enqueue(hpo_service *svc, const char *name, const json_t *params,
                           hpo_trial *ret, hpo_error *err)
{
    if (!json_is_object(params))
        return hpo_error_set(err, HPO_E_INVALID, "params", "params must be an object");
    study *st;
    hpo_rc rc = acquire(svc, name, &st, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    hpo_trial t = {0};
    t.state = HPO_TRIAL_WAITING;
    t.created_ms = hpo_clock_now_ms();
    if (max_reached(st))
        rc = hpo_error_set(err, HPO_E_CONFLICT, NULL,
                           "study '%s' has reached max_trials (%lld): nothing more can be enqueued",
                           st->cfg.name, (long long)st->cfg.max_trials);
    if (!rc)
        rc = check_trial_room(&svc->limits, st, err);
    if (!rc)
        rc = apply_fixed_params(st, &svc->limits, params, "params", &t, err);
    if (!rc)
        rc = create_trial(svc, st, &t, ret, err);
    if (rc == HPO_E_COMPLETE)
        rc = hpo_error_set(err, HPO_E_CONFLICT, NULL, "study '%s' has reached max_trials",
                           st->cfg.name);
    hpo_trial_clear(&t);
    pthread_mutex_unlock(&st->mu);
    release(svc, st);
    return rc;
}

/* Optuna's rule: a name keeps its distribution's type across trials, and categorical choices. */
static hpo_rc check_compatible(const study *st, const char *name, const hpo_dist *d,
                               hpo_error *err)
{
    const hpo_param_def *def = hpo_space_find(&st->cfg.space, name);
    if (def && !hpo_dist_equal(&def->dist, d))
        return hpo_error_set(err, HPO_E_CONFLICT, "distribution",
                             "param '%s' is declared in the study's search space with another "
                             "distribution", name);
    for (size_t i = st->n; i-- > 0;) {
        const hpo_param *p = hpo_trial_param(&st->trials[i], name);
        if (!p)
            continue;
        if (p->dist.type != d->type ||
            (d->type == HPO_DIST_CATEGORICAL && !hpo_dist_equal(&p->dist, d)))
            return hpo_error_set(err, HPO_E_CONFLICT, "distribution",
                                 "param '%s' was used with an incompatible distribution in "
                                 "trial %lld", name, (long long)st->trials[i].number);
        break;
    }
    return HPO_OK;
}

typedef struct {
    int64_t trial_id;
    const hpo_param *param;
} param_ctx;

static hpo_rc tx_param_insert(hpo_db *db, void *vctx, hpo_error *err)
{
    param_ctx *ctx = vctx;
    return hpo_db_param_insert(db, ctx->trial_id, ctx->param, err);
}

static hpo_rc suggest_locked(hpo_service *svc, study *st, int64_t number, const char *name,
                             const hpo_dist *dist, double *ret, hpo_error *err)
{
    hpo_trial *t = NULL;
    hpo_rc rc = trial_at(st, number, &t, err);
    if (!rc)
        rc = require_running(st, t, err);
    if (rc)
        return rc;
    const hpo_param *have = hpo_trial_param(t, name);
    if (have) {
        if (!hpo_dist_equal(&have->dist, dist))
            return hpo_error_set(err, HPO_E_CONFLICT, "distribution",
                                 "param '%s' of trial %lld was suggested with another distribution",
                                 name, (long long)number);
        *ret = have->value;
        return HPO_OK;
    }
    if ((rc = check_compatible(st, name, dist, err)))
        return rc;
    if ((int64_t)t->n_params >= svc->limits.params_per_trial)
        return hpo_error_set(err, HPO_E_LIMIT, "name", "trial %lld of study '%s' has %zu params: "
                             "--max-params-per-trial", (long long)number, st->cfg.name,
                             t->n_params);

    double v = 0;
    bool fixed = false;
    json_t *fixed_params = t->fixed_params ? json_loads(t->fixed_params, 0, NULL) : NULL;
    json_t *fv = json_object_get(fixed_params, name);
    /* an enqueued value outside the distribution is ignored and the param sampled, as Optuna does */
    if (fv && hpo_json_to_param_value(dist, fv, name, &v, NULL) == HPO_OK)
        fixed = true;
    json_decref(fixed_params);
    if (!fixed)
        v = hpo_sampling_param(&st->sampler, &st->cfg, st->trials, st->n, number, name, dist);

    hpo_param p = {(char *)name, *dist, v};
    param_ctx ctx = {t->id, &p};
    rc = hpo_store_tx(svc->store, tx_param_insert, &ctx, err);
    mark_stale_on(st, rc);
    if (rc)
        return rc;
    if (hpo_trial_add_param(t, name, dist, v))
        st->stale = true;
    *ret = v;
    return HPO_OK;
}

hpo_rc hpo_service_suggest(hpo_service *svc, const char *name, int64_t number, const char *param,
                           const hpo_dist *dist, double *ret_internal, hpo_error *err)
{
    hpo_rc rc = hpo_param_name_validate(param, "name", err);
    if (!rc)
        rc = check_name(&svc->limits, "param name", param, "name", err);
    if (!rc)
        rc = check_choices(&svc->limits, dist, "distribution.choices", err);
    if (!rc)
        rc = hpo_dist_validate(dist, "distribution", err);
    if (rc)
        return rc;
    study *st;
    if ((rc = acquire(svc, name, &st, err)))
        return rc;
    pthread_mutex_lock(&st->mu);
    rc = suggest_locked(svc, st, number, param, dist, ret_internal, err);
    pthread_mutex_unlock(&st->mu);
    release(svc, st);
    return rc;
}

typedef struct {
    const hpo_trial *trial; /* with its new state */
    bool state_changed;
    const hpo_report *reports;
    size_t n;
} report_ctx;

static hpo_rc tx_reports(hpo_db *db, void *vctx, hpo_error *err)
{
    report_ctx *ctx = vctx;
    hpo_rc rc = hpo_db_reports_insert(db, ctx->trial->id, ctx->reports, ctx->n, err);
    if (rc)
        return rc;
    /* a report is a sign of life too: it keeps the reaper away */
    return ctx->state_changed ? hpo_db_trial_update(db, ctx->trial, err)
                              : hpo_db_heartbeat(db, ctx->trial->id, ctx->trial->heartbeat_ms,
                                                 NULL, err);
}

/* Stores reports and decides, in one transaction: the pruner judges the trial with its new
 * reports, and a pause (ASHA) is written together with the reports that reached the rung. */
static hpo_rc report_locked(hpo_service *svc, study *st, int64_t number, const hpo_report *reports,
                            size_t n, hpo_action *ret_action, hpo_error *err)
{
    hpo_trial *t = NULL;
    hpo_rc rc = trial_at(st, number, &t, err);
    if (!rc)
        rc = require_live(st, t, err);
    if (rc)
        return rc;
    hpo_trial next;
    if (hpo_trial_copy(&next, t))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        bool added;
        if (hpo_trial_add_report(&next, reports[i].step, reports[i].value, &added))
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    /* only new steps count: a repeated report on a full trial is still answered */
    if (!rc && next.n_reports > t->n_reports &&
        (int64_t)next.n_reports > svc->limits.reports_per_trial)
        rc = hpo_error_set(err, HPO_E_LIMIT, NULL, "trial %lld of study '%s' has %zu reports: "
                           "--max-reports-per-trial", (long long)number, st->cfg.name,
                           t->n_reports);
    next.heartbeat_ms = hpo_clock_now_ms();
    hpo_action action = HPO_ACTION_PAUSE;
    if (!rc && t->state == HPO_TRIAL_RUNNING) {
        hpo_trial saved = *t; /* judge the trial as it will be, in place */
        *t = next;
        action = decide(st, t);
        *t = saved;
        if (action == HPO_ACTION_PAUSE)
            next.state = HPO_TRIAL_PAUSED;
    }
    report_ctx ctx = {&next, next.state != t->state, reports, n};
    if (!rc) {
        rc = hpo_store_tx(svc->store, tx_reports, &ctx, err);
        mark_stale_on(st, rc);
    }
    if (!rc) {
        hpo_trial_clear(t);
        *t = next;
        *ret_action = action;
    } else {
        hpo_trial_clear(&next);
    }
    return rc;
}

hpo_rc hpo_service_report(hpo_service *svc, const char *name, int64_t number,
                          const hpo_report *reports, size_t n, hpo_action *ret_action,
                          hpo_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (reports[i].step < 0)
            return hpo_error_set(err, HPO_E_INVALID, "step", "step must be >= 0");
    study *st;
    hpo_rc rc = acquire(svc, name, &st, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    rc = report_locked(svc, st, number, reports, n, ret_action, err);
    pthread_mutex_unlock(&st->mu);
    release(svc, st);
    return rc;
}

typedef struct {
    int64_t trial_id, now;
    const char *worker;
} heartbeat_ctx;

static hpo_rc tx_heartbeat(hpo_db *db, void *vctx, hpo_error *err)
{
    heartbeat_ctx *ctx = vctx;
    return hpo_db_heartbeat(db, ctx->trial_id, ctx->now, ctx->worker, err);
}

hpo_rc hpo_service_heartbeat(hpo_service *svc, const char *name, int64_t number,
                             const char *worker, hpo_action *ret_action, hpo_error *err)
{
    study *st;
    hpo_rc rc = check_name(&svc->limits, "worker name", worker, "worker", err);
    if (!rc)
        rc = acquire(svc, name, &st, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    hpo_trial *t = NULL;
    rc = trial_at(st, number, &t, err);
    if (!rc)
        rc = require_live(st, t, err);
    if (!rc) {
        heartbeat_ctx ctx = {t->id, hpo_clock_now_ms(), worker};
        rc = hpo_store_tx(svc->store, tx_heartbeat, &ctx, err);
        mark_stale_on(st, rc);
        if (!rc) {
            t->heartbeat_ms = ctx.now;
            if (worker && (!t->worker || strcmp(t->worker, worker) != 0)) {
                free(t->worker);
                t->worker = hpo_strdup(worker);
            }
        }
    }
    /* the pending action: paused stays paused; a running trial is judged on its last report,
     * except under ASHA, where only a report reaching a rung pauses (a promoted trial's last
     * report still sits on the rung it left) */
    if (!rc)
        *ret_action = t->state == HPO_TRIAL_PAUSED     ? HPO_ACTION_PAUSE
                      : st->pruner.type == HPO_PRUNER_ASHA ? HPO_ACTION_CONTINUE
                                                           : decide(st, t);
    pthread_mutex_unlock(&st->mu);
    release(svc, st);
    return rc;
}

/* Whether a finish request describes the finish already recorded (idempotent repeat). */
static bool same_finish(const hpo_trial *t, const hpo_finish_request *req)
{
    if (t->state != req->state)
        return false;
    if (req->state != HPO_TRIAL_COMPLETE && req->n_values == 0)
        return true;
    if (t->n_values != req->n_values)
        return false;
    for (size_t i = 0; i < req->n_values; i++)
        if (t->values[i] != req->values[i])
            return false;
    return true;
}

static hpo_rc finish_locked(hpo_service *svc, study *st, int64_t number,
                            const hpo_finish_request *req, hpo_trial *ret, hpo_error *err)
{
    hpo_trial *t = NULL;
    hpo_rc rc = trial_at(st, number, &t, err);
    if (rc)
        return rc;
    if (hpo_trial_state_finished(t->state)) {
        if (!same_finish(t, req))
            return hpo_error_set(err, HPO_E_FINISHED, "state",
                                 "trial %lld of study '%s' already finished as %s",
                                 (long long)number, st->cfg.name, hpo_trial_state_name(t->state));
        return hpo_trial_copy(ret, t) ? hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory") : HPO_OK;
    }
    if ((rc = require_live(st, t, err)))
        return rc;

    hpo_trial next;
    if (hpo_trial_copy(&next, t))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    next.state = req->state;
    next.finished_ms = hpo_clock_now_ms();
    switch (req->state) {
    case HPO_TRIAL_COMPLETE:
        if (req->n_values != st->cfg.n_directions)
            rc = hpo_error_set(err, HPO_E_INVALID, req->n_values > 1 ? "values" : "value",
                               "the study has %zu objective(s) but %zu value(s) were given",
                               st->cfg.n_directions, req->n_values);
        else
            rc = hpo_trial_set_values(&next, req->values, req->n_values);
        break;
    case HPO_TRIAL_PRUNED:
        if (req->n_values > 1 || (req->n_values == 1 && st->cfg.n_directions != 1)) {
            rc = hpo_error_set(err, HPO_E_INVALID, "value",
                               "a pruned trial takes at most one value, in single-objective studies");
        } else if (req->n_values == 1) {
            rc = hpo_trial_set_values(&next, req->values, 1);
        } else if (hpo_trial_last_report(t) && st->cfg.n_directions == 1) {
            /* as Optuna does, a pruned trial's value is its last intermediate value */
            rc = hpo_trial_set_values(&next, &hpo_trial_last_report(t)->value, 1);
        }
        break;
    case HPO_TRIAL_FAIL:
        if (req->n_values)
            rc = hpo_error_set(err, HPO_E_INVALID, "value", "a failed trial takes no value");
        free(next.fail_reason);
        next.fail_reason = hpo_strdup(req->reason);
        break;
    default:
        rc = hpo_error_set(err, HPO_E_INVALID, "state",
                           "state must be complete, pruned or fail");
    }
    if (!rc) {
        trial_write_ctx ctx = {st->cfg.id, &next, 0};
        rc = hpo_store_tx(svc->store, tx_trial_update, &ctx, err);
        mark_stale_on(st, rc);
    }
    if (!rc && (rc = hpo_trial_copy(ret, &next)))
        hpo_error_set(err, rc, NULL, "out of memory");
    if (!rc) {
        hpo_trial_clear(t);
        *t = next;
    } else {
        hpo_trial_clear(&next);
    }
    return rc;
}

hpo_rc hpo_service_finish(hpo_service *svc, const char *name, int64_t number,
                          const hpo_finish_request *req, hpo_trial *ret, hpo_error *err)
{
    study *st;
    hpo_rc rc = acquire(svc, name, &st, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    rc = finish_locked(svc, st, number, req, ret, err);
    pthread_mutex_unlock(&st->mu);
    release(svc, st);
    return rc;
}

hpo_rc hpo_service_trials(hpo_service *svc, const char *name, int state, int64_t after,
                          size_t limit, hpo_trial **ret, size_t *ret_n, bool *ret_more,
                          hpo_error *err)
{
    study *st;
    hpo_rc rc = acquire(svc, name, &st, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    hpo_trial *out = calloc(limit ? limit : 1, sizeof *out);
    size_t n = 0;
    bool more = false;
    if (!out)
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    size_t start = after < 0 ? 0 : (size_t)after + 1;
    for (size_t i = start; !rc && i < st->n; i++) {
        const hpo_trial *t = &st->trials[i];
        if (state >= 0 && (int)t->state != state)
            continue;
        if (n == limit) {
            more = true;
            break;
        }
        if (hpo_trial_copy(&out[n], t))
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
        else
            n++;
    }
    pthread_mutex_unlock(&st->mu);
    release(svc, st);
    if (rc) {
        hpo_trials_free(out, n);
        return rc;
    }
    *ret = out;
    *ret_n = n;
    *ret_more = more;
    return HPO_OK;
}

hpo_rc hpo_service_trial(hpo_service *svc, const char *name, int64_t number, hpo_trial *ret,
                         hpo_error *err)
{
    study *st;
    hpo_rc rc = acquire(svc, name, &st, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    hpo_trial *t = NULL;
    rc = trial_at(st, number, &t, err);
    if (!rc && hpo_trial_copy(ret, t))
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    pthread_mutex_unlock(&st->mu);
    release(svc, st);
    return rc;
}

hpo_rc hpo_service_best(hpo_service *svc, const char *name, hpo_trial **ret, size_t *ret_n,
                        size_t *ret_n_directions, hpo_error *err)
{
    study *st;
    hpo_rc rc = acquire(svc, name, &st, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    const hpo_direction *dirs = st->cfg.directions;
    size_t nd = st->cfg.n_directions;
    /* indexes of the Pareto front (for one objective: the single best) */
    size_t *front = calloc(st->n ? st->n : 1, sizeof *front);
    size_t nf = 0;
    if (!front)
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    for (size_t i = 0; !rc && i < st->n; i++) {
        const hpo_trial *t = &st->trials[i];
        if (t->state != HPO_TRIAL_COMPLETE || t->n_values != nd)
            continue;
        if (nd == 1) {
            if (nf == 0 || hpo_value_better(dirs[0], t->values[0], st->trials[front[0]].values[0]))
                front[0] = i, nf = 1;
            continue;
        }
        bool dominated = false;
        for (size_t j = 0; j < st->n && !dominated; j++) {
            const hpo_trial *o = &st->trials[j];
            dominated = j != i && o->state == HPO_TRIAL_COMPLETE && o->n_values == nd &&
                        hpo_values_dominate(dirs, nd, o->values, t->values);
        }
        if (!dominated)
            front[nf++] = i;
    }
    hpo_trial *out = NULL;
    size_t n = 0;
    if (!rc && nd == 1 && nf == 0)
        rc = hpo_error_set(err, HPO_E_NOT_FOUND, NULL, "study '%s' has no completed trial yet",
                           st->cfg.name);
    if (!rc && !(out = calloc(nf ? nf : 1, sizeof *out)))
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    for (; !rc && n < nf; n++)
        if (hpo_trial_copy(&out[n], &st->trials[front[n]]))
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    pthread_mutex_unlock(&st->mu);
    release(svc, st);
    free(front);
    if (rc) {
        hpo_trials_free(out, n);
        return rc;
    }
    *ret = out;
    *ret_n = n;
    *ret_n_directions = nd;
    return HPO_OK;
}

/* ---- artifacts ---- */

#define ARTIFACT_DEFAULT_MAX ((int64_t)10 << 30)

hpo_rc hpo_service_set_artifact_dir(hpo_service *svc, const char *dir, int64_t max_bytes,
                                    hpo_error *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s/tmp", dir) >= (int)sizeof tmp)
        return hpo_error_set(err, HPO_E_INVALID, "artifact_dir", "artifact directory too long");
    if (hpo_files_mkdirs(tmp) != 0)
        return hpo_error_set(err, HPO_E_UNAVAILABLE, "artifact_dir", "cannot create %s: %s", tmp,
                             strerror(errno));
    free(svc->artifact_dir);
    free(svc->artifact_tmp);
    svc->artifact_dir = hpo_strdup(dir);
    svc->artifact_tmp = hpo_strdup(tmp);
    svc->artifact_max = max_bytes > 0 ? max_bytes : ARTIFACT_DEFAULT_MAX;
    if (!svc->artifact_dir || !svc->artifact_tmp)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    return HPO_OK;
}

const char *hpo_service_artifact_tmp_dir(const hpo_service *svc)
{
    return svc->artifact_tmp;
}

int64_t hpo_service_artifact_max_bytes(const hpo_service *svc)
{
    return svc->artifact_max;
}

hpo_rc hpo_artifact_name_validate(const char *name, hpo_error *err)
{
    size_t n = name ? strlen(name) : 0;
    bool ok = n >= 1 && n <= 128 && name[0] != '.';
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    if (!ok)
        return hpo_error_set(err, HPO_E_INVALID, "name",
                             "artifact names have 1 to 128 characters of letters, digits, '.', "
                             "'_' and '-', and do not start with '.'");
    return HPO_OK;
}

/* <dir>/<study id>/<trial number>/<name>: ids never repeat, so a deleted study's files and a
 * new study of the same name never meet. */
static void artifact_path(const hpo_service *svc, const study *st, int64_t number,
                          const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%lld/%lld%s%s", svc->artifact_dir, (long long)st->cfg.id,
             (long long)number, name ? "/" : "", name ? name : "");
}

typedef struct {
    int64_t trial_id;
    const char *name;
    int64_t size;
    const char *sha256;
    bool replaced;
    hpo_artifact found;
    hpo_artifact *list;
    size_t n;
    int64_t used_trial, used_study, used_total; /* bytes, without the artifact replaced */
} artifact_ctx;

static hpo_rc tx_artifact_put(hpo_db *db, void *vctx, hpo_error *err)
{
    artifact_ctx *ctx = vctx;
    return hpo_db_artifact_put(db, ctx->trial_id, ctx->name, ctx->size, ctx->sha256,
                               &ctx->replaced, err);
}

static hpo_rc tx_artifact_usage(hpo_db *db, void *vctx, hpo_error *err)
{
    artifact_ctx *ctx = vctx;
    return hpo_db_artifact_usage(db, ctx->trial_id, ctx->name, &ctx->used_trial,
                                 &ctx->used_study, &ctx->used_total, err);
}

/* Whether an upload of ctx->size bytes fits the artifact quotas (checked under the study's lock,
 * before the file replaces anything: uploads to other studies may overshoot the total by what
 * they store at the same moment). */
static hpo_rc check_artifact_room(hpo_service *svc, artifact_ctx *ctx, hpo_error *err)
{
    hpo_rc rc = hpo_store_tx(svc->store, tx_artifact_usage, ctx, err);
    if (rc)
        return rc;
    const hpo_limits *l = &svc->limits;
    static const char *const what[] = {"the trial's", "the study's", "all"};
    static const char *const flag[] = {"--max-artifact-bytes-per-trial",
                                       "--max-artifact-bytes-per-study",
                                       "--max-artifact-bytes-total"};
    const int64_t used[] = {ctx->used_trial, ctx->used_study, ctx->used_total};
    const int64_t max[] = {l->artifact_trial_bytes, l->artifact_study_bytes,
                           l->artifact_total_bytes};
    for (int i = 0; i < 3; i++)
        if (ctx->size > max[i] - used[i])
            return hpo_error_set(err, HPO_E_TOO_LARGE, NULL,
                                 "%s artifacts would take %lld bytes (at most %lld): %s", what[i],
                                 (long long)(used[i] + ctx->size), (long long)max[i], flag[i]);
    return HPO_OK;
}

static hpo_rc tx_artifact_get(hpo_db *db, void *vctx, hpo_error *err)
{
    artifact_ctx *ctx = vctx;
    free(ctx->found.name);
    ctx->found.name = NULL;
    return hpo_db_artifact_get(db, ctx->trial_id, ctx->name, &ctx->found, err);
}

static hpo_rc tx_artifact_list(hpo_db *db, void *vctx, hpo_error *err)
{
    artifact_ctx *ctx = vctx;
    hpo_artifacts_free(ctx->list, ctx->n);
    ctx->list = NULL;
    ctx->n = 0;
    return hpo_db_artifact_list(db, ctx->trial_id, &ctx->list, &ctx->n, err);
}

/* The study and trial an artifact call is about; takes a study reference (release it). */
static hpo_rc artifact_trial(hpo_service *svc, const char *name, int64_t number, study **ret_st,
                             int64_t *ret_trial_id, hpo_error *err)
{
    if (!svc->artifact_dir)
        return hpo_error_set(err, HPO_E_UNAVAILABLE, NULL, "the server keeps no artifacts");
    study *st;
    hpo_rc rc = acquire(svc, name, &st, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    hpo_trial *t = NULL;
    rc = trial_at(st, number, &t, err);
    if (!rc)
        *ret_trial_id = t->id;
    pthread_mutex_unlock(&st->mu);
    if (rc) {
        release(svc, st);
        return rc;
    }
    *ret_st = st;
    return HPO_OK;
}

hpo_rc hpo_service_artifact_commit(hpo_service *svc, const char *name, int64_t number,
                                   const char *artifact, const char *tmp_path, int64_t size,
                                   const char *sha256, hpo_artifact *ret, bool *ret_replaced,
                                   hpo_error *err)
{
    study *st = NULL;
    artifact_ctx ctx = {.name = artifact, .size = size, .sha256 = sha256};
    hpo_rc rc = hpo_artifact_name_validate(artifact, err);
    if (!rc)
        rc = check_name(&svc->limits, "artifact name", artifact, "name", err);
    if (!rc)
        rc = artifact_trial(svc, name, number, &st, &ctx.trial_id, err);
    if (rc) {
        unlink(tmp_path);
        return rc;
    }
    char dir[4096], path[4096];
    artifact_path(svc, st, number, NULL, dir, sizeof dir);
    artifact_path(svc, st, number, artifact, path, sizeof path);
    /* the file first, then the row: a row always has its file (a crash leaves at most a file) */
    pthread_mutex_lock(&st->mu);
    rc = check_artifact_room(svc, &ctx, err);
    if (!rc && (hpo_files_mkdirs(dir) != 0 || rename(tmp_path, path) != 0))
        rc = hpo_error_set(err, HPO_E_INTERNAL, NULL, "cannot store artifact: %s",
                           strerror(errno));
    if (!rc)
        rc = hpo_store_tx(svc->store, tx_artifact_put, &ctx, err);
    pthread_mutex_unlock(&st->mu);
    release(svc, st);
    if (rc) {
        unlink(tmp_path);
        return rc;
    }
    memset(ret, 0, sizeof *ret);
    ret->name = hpo_strdup(artifact);
    ret->size = size;
    snprintf(ret->sha256, sizeof ret->sha256, "%s", sha256);
    ret->created_ms = hpo_clock_now_ms();
    if (ret_replaced)
        *ret_replaced = ctx.replaced;
    return ret->name ? HPO_OK : hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
}

hpo_rc hpo_service_artifact_find(hpo_service *svc, const char *name, int64_t number,
                                 const char *artifact, hpo_artifact *ret, char **ret_path,
                                 hpo_error *err)
{
    study *st = NULL;
    artifact_ctx ctx = {.name = artifact};
    hpo_rc rc = hpo_artifact_name_validate(artifact, err);
    if (!rc)
        rc = artifact_trial(svc, name, number, &st, &ctx.trial_id, err);
    if (rc)
        return rc;
    rc = hpo_store_tx(svc->store, tx_artifact_get, &ctx, err);
    char path[4096];
    artifact_path(svc, st, number, artifact, path, sizeof path);
    release(svc, st);
    if (rc) {
        free(ctx.found.name);
        return rc;
    }
    *ret = ctx.found;
    if (!(*ret_path = hpo_strdup(path))) {
        free(ret->name);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    return HPO_OK;
}

hpo_rc hpo_service_artifact_list(hpo_service *svc, const char *name, int64_t number,
                                 hpo_artifact **ret, size_t *ret_n, hpo_error *err)
{
    study *st = NULL;
    artifact_ctx ctx = {0};
    hpo_rc rc = artifact_trial(svc, name, number, &st, &ctx.trial_id, err);
    if (rc)
        return rc;
    release(svc, st);
    rc = hpo_store_tx(svc->store, tx_artifact_list, &ctx, err);
    if (rc) {
        hpo_artifacts_free(ctx.list, ctx.n);
        return rc;
    }
    *ret = ctx.list;
    *ret_n = ctx.n;
    return HPO_OK;
}

/* ---- workers ---- */

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

/* ---- the reaper ---- */

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

/* Fails the silent running trials of one study (its lock held). */
static hpo_rc reap_locked(hpo_service *svc, study *st, int64_t now, size_t *ret_failed,
                          hpo_error *err)
{
    int64_t grace = st->cfg.heartbeat_grace_ms;
    if (grace <= 0)
        return HPO_OK;
    hpo_trial *next = calloc(st->n ? st->n : 1, sizeof *next);
    if (!next)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    size_t n = 0;
    hpo_rc rc = HPO_OK;
    for (size_t i = 0; !rc && i < st->n; i++) {
        const hpo_trial *t = &st->trials[i];
        int64_t seen = t->heartbeat_ms ? t->heartbeat_ms : t->started_ms;
        if (t->state != HPO_TRIAL_RUNNING || seen + grace >= now)
            continue;
        if (hpo_trial_copy(&next[n], t)) {
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
            break;
        }
        next[n].state = HPO_TRIAL_FAIL;
        next[n].finished_ms = now;
        free(next[n].fail_reason);
        next[n].fail_reason = hpo_strdup("heartbeat_lost");
        n++;
    }
    rc = commit_updates(svc, st, next, n, rc, err);
    if (!rc && ret_failed)
        *ret_failed += n;
    return rc;
}

hpo_rc hpo_service_reap(hpo_service *svc, int64_t now_ms, size_t *ret_failed, hpo_error *err)
{
    if (ret_failed)
        *ret_failed = 0;
    stale_ctx ctx = {now_ms, NULL, 0};
    hpo_rc rc = hpo_store_tx(svc->store, tx_stale, &ctx, err);
    for (size_t i = 0; i < ctx.n; i++) {
        study *st;
        if (!rc && (rc = acquire(svc, ctx.names[i], &st, err)) == HPO_OK) {
            pthread_mutex_lock(&st->mu);
            rc = reap_locked(svc, st, now_ms, ret_failed, err);
            pthread_mutex_unlock(&st->mu);
            release(svc, st);
        }
        free(ctx.names[i]);
    }
    free(ctx.names);
    return rc;
}

static void *reaper_main(void *arg)
{
    hpo_service *svc = arg;
    pthread_mutex_lock(&svc->reaper_mu);
    while (!svc->reaper_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
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
        (void)hpo_service_reap(svc, hpo_clock_now_ms(), &failed, &err);
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
    if (pthread_create(&svc->reaper, NULL, reaper_main, svc) != 0)
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "cannot start the reaper thread");
    svc->reaper_running = true;
    return HPO_OK;
}
