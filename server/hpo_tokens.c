/* hpo_tokens: API tokens in the service: create, list and revoke them in PostgreSQL, and check a
 * request's token against an in-memory cache of the usable ones (sorted by hash), refreshed by a
 * thread that also writes the last-use times back. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hpo_clock.h"
#include "service_internal.h"

/* Unknown hashes remembered until the next refresh, and database look-ups of unknown tokens
 * allowed per second: a flood of made-up tokens costs PostgreSQL at most that many queries. */
#define MISSES_MAX 1024
#define LOOKUPS_PER_SECOND 20

typedef struct {
    char hash[HPO_TOKEN_HASH_HEX];
    hpo_token_grant grant;
    _Atomic int64_t used_ms; /* last use seen here */
    int64_t flushed_ms;      /* last use written to PostgreSQL */
} entry;

struct hpo_token_cache {
    hpo_store *store;
    pthread_rwlock_t lock; /* guards entries, n, misses, n_misses */
    entry *entries;        /* sorted by hash */
    size_t n;
    uint64_t revocations;  /* revokes so far: rows read before one may hold the revoked token */
    char (*misses)[HPO_TOKEN_HASH_HEX];
    size_t n_misses;
    pthread_mutex_t rate_mu; /* guards the two below */
    int64_t rate_second;
    int rate_used;
    /* the refresh thread */
    int64_t refresh_ms;
    pthread_t thread;
    bool running, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->hash, ((const entry *)b)->hash);
}

/* The entry with hash h (lock held) or NULL. */
static entry *find(const hpo_token_cache *c, const char *h)
{
    entry key;
    memcpy(key.hash, h, HPO_TOKEN_HASH_HEX);
    return bsearch(&key, c->entries, c->n, sizeof *c->entries, entry_cmp);
}

/* ---- transactions ---- */

typedef struct {
    bool usable_only;
    hpo_token_info *rows;
    size_t n;
} list_ctx;

static hpo_rc tx_list(hpo_db *db, void *vctx, hpo_error *err)
{
    list_ctx *ctx = vctx;
    return hpo_db_token_list(db, ctx->usable_only, &ctx->rows, &ctx->n, err);
}

typedef struct {
    const int64_t *ids, *ms;
    size_t n;
} touch_ctx;

static hpo_rc tx_touch(hpo_db *db, void *vctx, hpo_error *err)
{
    touch_ctx *ctx = vctx;
    return hpo_db_tokens_touch(db, ctx->ids, ctx->ms, ctx->n, err);
}

/* ---- the cache ---- */

/* The count of revokes, taken before reading rows from PostgreSQL. */
static uint64_t revocations(hpo_token_cache *c)
{
    pthread_rwlock_rdlock(&c->lock);
    uint64_t r = c->revocations;
    pthread_rwlock_unlock(&c->lock);
    return r;
}

/* Replaces the entries with rows (usable tokens from PostgreSQL, read when `revoked` revokes had
 * been made), keeping the last-use times seen here, and hands back the ones not yet written
 * (owned arrays, *ret_n of them). When a token was revoked since the rows were read they may
 * still hold it: they are dropped and the next refresh reads again. */
static hpo_rc cache_replace(hpo_token_cache *c, const hpo_token_info *rows, size_t n,
                            uint64_t revoked, int64_t **ret_ids, int64_t **ret_ms, size_t *ret_n)
{
    entry *next = calloc(n ? n : 1, sizeof *next);
    int64_t *ids = calloc(c->n ? c->n : 1, sizeof *ids);
    int64_t *ms = calloc(c->n ? c->n : 1, sizeof *ms);
    char(*misses)[HPO_TOKEN_HASH_HEX] = calloc(MISSES_MAX, sizeof *misses);
    if (!next || !ids || !ms || !misses) {
        free(next), free(ids), free(ms), free(misses);
        return HPO_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(next[i].hash, rows[i].hash, HPO_TOKEN_HASH_HEX);
        next[i].grant = rows[i].grant;
        atomic_init(&next[i].used_ms, rows[i].last_used_ms);
        next[i].flushed_ms = rows[i].last_used_ms;
    }
    qsort(next, n, sizeof *next, entry_cmp);
    size_t k = 0;
    pthread_rwlock_wrlock(&c->lock);
    if (c->revocations != revoked) {
        pthread_rwlock_unlock(&c->lock);
        free(next), free(misses);
        *ret_ids = ids, *ret_ms = ms, *ret_n = 0;
        return HPO_OK;
    }
    for (size_t i = 0; i < c->n; i++) {
        entry *old = &c->entries[i];
        int64_t used = atomic_load(&old->used_ms);
        if (used > old->flushed_ms)
            ids[k] = old->grant.id, ms[k] = used, k++;
        entry *now = bsearch(old, next, n, sizeof *next, entry_cmp);
        if (now && used > atomic_load(&now->used_ms))
            atomic_store(&now->used_ms, used);
        if (now)
            now->flushed_ms = used > now->flushed_ms ? used : now->flushed_ms;
    }
    free(c->entries);
    free(c->misses);
    c->entries = next;
    c->n = n;
    c->misses = misses;
    c->n_misses = 0;
    pthread_rwlock_unlock(&c->lock);
    *ret_ids = ids, *ret_ms = ms, *ret_n = k;
    return HPO_OK;
}

/* One refresh: the usable tokens from PostgreSQL in, the last-use times out. */
static hpo_rc refresh(hpo_token_cache *c, hpo_error *err)
{
    list_ctx lc = {.usable_only = true};
    uint64_t revoked = revocations(c);
    hpo_rc rc = hpo_store_tx(c->store, tx_list, &lc, err);
    if (rc != HPO_OK)
        return rc;
    int64_t *ids = NULL, *ms = NULL;
    size_t n = 0;
    rc = cache_replace(c, lc.rows, lc.n, revoked, &ids, &ms, &n);
    hpo_token_infos_free(lc.rows, lc.n);
    if (rc != HPO_OK)
        return hpo_error_set(err, rc, NULL, "out of memory");
    if (n > 0) {
        touch_ctx tc = {ids, ms, n};
        rc = hpo_store_tx(c->store, tx_touch, &tc, err);
    }
    free(ids);
    free(ms);
    return rc;
}

/* Adds one usable token (made here, or found in PostgreSQL after a miss, read when `revoked`
 * revokes had been made: not added when one came since), last used at used_ms. */
static hpo_rc cache_add(hpo_token_cache *c, const hpo_token_info *row, int64_t used_ms,
                        uint64_t revoked)
{
    pthread_rwlock_wrlock(&c->lock);
    hpo_rc rc = HPO_OK;
    if (c->revocations == revoked && !find(c, row->hash)) {
        entry *grown = realloc(c->entries, (c->n + 1) * sizeof *grown);
        if (!grown) {
            rc = HPO_E_NOMEM;
        } else {
            c->entries = grown;
            size_t at = 0;
            while (at < c->n && strcmp(c->entries[at].hash, row->hash) < 0)
                at++;
            memmove(&c->entries[at + 1], &c->entries[at], (c->n - at) * sizeof *grown);
            entry *e = &c->entries[at];
            memset(e, 0, sizeof *e);
            memcpy(e->hash, row->hash, HPO_TOKEN_HASH_HEX);
            e->grant = row->grant;
            atomic_init(&e->used_ms, used_ms > row->last_used_ms ? used_ms : row->last_used_ms);
            e->flushed_ms = row->last_used_ms;
            c->n++;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

static void cache_remove(hpo_token_cache *c, int64_t id)
{
    pthread_rwlock_wrlock(&c->lock);
    c->revocations++;
    for (size_t i = 0; i < c->n; i++) {
        if (c->entries[i].grant.id == id) {
            memmove(&c->entries[i], &c->entries[i + 1], (c->n - i - 1) * sizeof *c->entries);
            c->n--;
            break;
        }
    }
    pthread_rwlock_unlock(&c->lock);
}

static void *refresh_main(void *arg)
{
    hpo_token_cache *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + (c->refresh_ms % 1000) * 1000000;
        until.tv_sec += (time_t)(c->refresh_ms / 1000 + ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&c->cv, &c->mu, &until);
        bool stopping = c->stop;
        pthread_mutex_unlock(&c->mu);
        /* a failed refresh keeps the tokens known so far; the next one tries again */
        hpo_error err = {0};
        refresh(c, &err);
        pthread_mutex_lock(&c->mu);
        if (stopping)
            break;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

void hpo_token_cache_free(hpo_token_cache *c)
{
    if (!c)
        return;
    if (c->running) {
        pthread_mutex_lock(&c->mu);
        c->stop = true;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL); /* its last pass writes the last-use times */
    }
    pthread_rwlock_destroy(&c->lock);
    pthread_mutex_destroy(&c->rate_mu);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c->entries);
    free(c->misses);
    free(c);
}

hpo_rc hpo_service_auth_enable(hpo_service *svc, int64_t refresh_ms, hpo_error *err)
{
    if (svc->tokens)
        return HPO_OK;
    hpo_token_cache *c = calloc(1, sizeof *c);
    if (!c)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    c->store = svc->store;
    c->refresh_ms = refresh_ms > 0 ? refresh_ms : 2000;
    pthread_rwlock_init(&c->lock, NULL);
    pthread_mutex_init(&c->rate_mu, NULL);
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    hpo_rc rc = refresh(c, err);
    if (rc == HPO_OK && c->n == 0)
        rc = hpo_error_set(err, HPO_E_INVALID, NULL,
                           "the database holds no usable token: create one with "
                           "'hpo-server token create --scope admin --db ...' (or run with "
                           "--no-auth on a loopback address)");
    if (rc == HPO_OK && pthread_create(&c->thread, NULL, refresh_main, c) != 0)
        rc = hpo_error_set(err, HPO_E_INTERNAL, NULL, "cannot start the token refresh thread");
    if (rc != HPO_OK) {
        hpo_token_cache_free(c);
        return rc;
    }
    c->running = true;
    svc->tokens = c;
    return HPO_OK;
}

bool hpo_service_auth_enabled(const hpo_service *svc)
{
    return svc->tokens != NULL;
}

/* Whether an unknown hash may be looked up in PostgreSQL now (a few times a second in all). */
static bool lookup_allowed(hpo_token_cache *c, int64_t now_ms)
{
    pthread_mutex_lock(&c->rate_mu);
    if (now_ms / 1000 != c->rate_second)
        c->rate_second = now_ms / 1000, c->rate_used = 0;
    bool ok = c->rate_used < LOOKUPS_PER_SECOND;
    if (ok)
        c->rate_used++;
    pthread_mutex_unlock(&c->rate_mu);
    return ok;
}

static bool missed_before(hpo_token_cache *c, const char *h)
{
    for (size_t i = 0; i < c->n_misses; i++)
        if (hpo_token_hash_equal(c->misses[i], h))
            return true;
    return false;
}

typedef struct {
    const char *hash;
    hpo_token_info row;
} by_hash_ctx;

static hpo_rc tx_by_hash(hpo_db *db, void *vctx, hpo_error *err)
{
    by_hash_ctx *ctx = vctx;
    return hpo_db_token_by_hash(db, ctx->hash, &ctx->row, err);
}

static hpo_rc bad_token(hpo_error *err)
{
    return hpo_error_set(err, HPO_E_UNAUTHENTICATED, NULL,
                         "the token is not valid (unknown, revoked or expired)");
}

hpo_rc hpo_service_authenticate(hpo_service *svc, const char *token, size_t len,
                                hpo_token_grant *ret, hpo_error *err)
{
    hpo_token_cache *c = svc->tokens;
    if (!c)
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "authentication is off");
    if (!hpo_token_well_formed(token, len))
        return bad_token(err);
    char h[HPO_TOKEN_HASH_HEX];
    hpo_token_hash(token, len, h);
    int64_t now = hpo_clock_now_ms();
    pthread_rwlock_rdlock(&c->lock);
    entry *e = find(c, h);
    bool known = e && hpo_token_hash_equal(e->hash, h);
    if (known) {
        *ret = e->grant;
        atomic_store(&e->used_ms, now);
    }
    bool missed = !known && missed_before(c, h);
    pthread_rwlock_unlock(&c->lock);
    if (known)
        return HPO_OK; /* an expiry passed since the last refresh: hpo_token_permits refuses it */
    if (missed || !lookup_allowed(c, now))
        return bad_token(err);
    by_hash_ctx ctx = {.hash = h};
    hpo_error dberr = {0};
    uint64_t revoked = revocations(c);
    hpo_rc rc = hpo_store_tx(c->store, tx_by_hash, &ctx, &dberr);
    if (rc == HPO_E_NOT_FOUND) {
        pthread_rwlock_wrlock(&c->lock);
        if (c->misses && c->n_misses < MISSES_MAX)
            memcpy(c->misses[c->n_misses++], h, HPO_TOKEN_HASH_HEX);
        pthread_rwlock_unlock(&c->lock);
        return bad_token(err);
    }
    if (rc != HPO_OK)
        return hpo_error_set(err, rc == HPO_E_UNAVAILABLE ? rc : HPO_E_INTERNAL, NULL,
                             "cannot check the token now: %s", dberr.message);
    rc = cache_add(c, &ctx.row, now, revoked);
    *ret = ctx.row.grant;
    hpo_token_info_clear(&ctx.row);
    return rc == HPO_OK ? HPO_OK : hpo_error_set(err, rc, NULL, "out of memory");
}

/* ---- management ---- */

static hpo_rc validate_spec(const hpo_token_spec *spec, hpo_error *err)
{
    if (spec->scope < HPO_SCOPE_READ || spec->scope > HPO_SCOPE_ADMIN)
        return hpo_error_set(err, HPO_E_INVALID, "scope",
                             "scope must be 'read', 'worker' or 'admin'");
    if (spec->study && spec->study_prefix)
        return hpo_error_set(err, HPO_E_INVALID, "study_prefix",
                             "a token is limited to a study or to a prefix, not both");
    hpo_rc rc = HPO_OK;
    if (spec->study)
        rc = hpo_study_name_validate(spec->study, "study", err);
    if (rc == HPO_OK && spec->study_prefix)
        rc = hpo_study_name_validate(spec->study_prefix, "study_prefix", err);
    if (rc != HPO_OK)
        return rc;
    if (spec->name) {
        size_t n = strlen(spec->name);
        if (n == 0 || n > HPO_TOKEN_NAME_MAX)
            return hpo_error_set(err, HPO_E_INVALID, "name", "name must be 1 to %d bytes",
                                 HPO_TOKEN_NAME_MAX);
        for (const unsigned char *p = (const unsigned char *)spec->name; *p; p++)
            if (*p < 0x20 || *p == 0x7f)
                return hpo_error_set(err, HPO_E_INVALID, "name",
                                     "name must not hold control characters");
    }
    /* at most 100 years: the expiry must stay a representable time */
    if (spec->expires_in_s < 0 || spec->expires_in_s > 100LL * 366 * 86400)
        return hpo_error_set(err, HPO_E_INVALID, "expires_in",
                             "expires_in must be 1 second to 100 years (0 or absent: never)");
    return HPO_OK;
}

typedef struct {
    hpo_token_info *row;
} insert_ctx;

static hpo_rc tx_insert(hpo_db *db, void *vctx, hpo_error *err)
{
    insert_ctx *ctx = vctx;
    list_ctx lc = {.usable_only = true};
    hpo_rc rc = hpo_db_token_list(db, true, &lc.rows, &lc.n, err);
    if (rc != HPO_OK)
        return rc;
    hpo_token_infos_free(lc.rows, lc.n);
    if (lc.n >= HPO_TOKENS_MAX)
        return hpo_error_set(err, HPO_E_LIMIT, NULL,
                             "%d usable tokens exist already: revoke some first", HPO_TOKENS_MAX);
    return hpo_db_token_insert(db, ctx->row, err);
}

hpo_rc hpo_service_token_create(hpo_service *svc, const hpo_token_spec *spec,
                                char ret_text[HPO_TOKEN_TEXT_LEN + 1], hpo_token_info *ret,
                                hpo_error *err)
{
    hpo_rc vrc = validate_spec(spec, err);
    if (vrc != HPO_OK)
        return vrc;
    uint8_t random[HPO_TOKEN_RANDOM_BYTES];
    size_t got = 0;
    while (got < sizeof random) {
        ssize_t r = getrandom(random + got, sizeof random - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return hpo_error_set(err, HPO_E_INTERNAL, NULL, "no randomness for a token");
        got += (size_t)r;
    }
    char text[HPO_TOKEN_TEXT_LEN + 1];
    hpo_token_format(random, text);
    memset(random, 0, sizeof random);
    hpo_token_info row = {0};
    hpo_token_hash(text, strlen(text), row.hash);
    row.grant.scope = spec->scope;
    snprintf(row.grant.study, sizeof row.grant.study, "%s", spec->study ? spec->study : "");
    snprintf(row.grant.study_prefix, sizeof row.grant.study_prefix, "%s",
             spec->study_prefix ? spec->study_prefix : "");
    if (spec->expires_in_s > 0)
        row.grant.expires_ms = hpo_clock_now_ms() + spec->expires_in_s * 1000;
    if (spec->name && !(row.name = strdup(spec->name)))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    insert_ctx ctx = {&row};
    hpo_rc rc = hpo_store_tx(svc->store, tx_insert, &ctx, err);
    if (rc == HPO_OK && svc->tokens &&
        cache_add(svc->tokens, &row, 0, revocations(svc->tokens)) != HPO_OK)
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    if (rc != HPO_OK) {
        hpo_token_info_clear(&row);
        return rc;
    }
    memcpy(ret_text, text, sizeof text);
    *ret = row;
    return HPO_OK;
}

hpo_rc hpo_service_token_list(hpo_service *svc, hpo_token_info **ret, size_t *ret_n,
                              hpo_error *err)
{
    list_ctx lc = {.usable_only = false};
    hpo_rc rc = hpo_store_tx(svc->store, tx_list, &lc, err);
    if (rc != HPO_OK)
        return rc;
    /* last-use times seen here but not yet written */
    if (svc->tokens) {
        hpo_token_cache *c = svc->tokens;
        pthread_rwlock_rdlock(&c->lock);
        for (size_t i = 0; i < lc.n; i++) {
            entry *e = find(c, lc.rows[i].hash);
            int64_t used = e ? atomic_load(&e->used_ms) : 0;
            if (used > lc.rows[i].last_used_ms)
                lc.rows[i].last_used_ms = used;
        }
        pthread_rwlock_unlock(&c->lock);
    }
    *ret = lc.rows;
    *ret_n = lc.n;
    return HPO_OK;
}

typedef struct {
    int64_t id;
} revoke_ctx;

static hpo_rc tx_revoke(hpo_db *db, void *vctx, hpo_error *err)
{
    return hpo_db_token_revoke(db, ((revoke_ctx *)vctx)->id, err);
}

hpo_rc hpo_service_token_revoke(hpo_service *svc, int64_t id, hpo_error *err)
{
    revoke_ctx ctx = {id};
    hpo_rc rc = hpo_store_tx(svc->store, tx_revoke, &ctx, err);
    if (rc == HPO_OK && svc->tokens)
        cache_remove(svc->tokens, id);
    return rc;
}
