/* hpo_store: the connection pool, the statement helper that maps SQLSTATEs to hpo_rc, and the one
 * transaction runner (BEGIN ... COMMIT, retried on serialization failures and deadlocks). */
#include "store_internal.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hpo_rng.h"

#define TX_MAX_TRIES 8
#define POOL_WAIT_MS 5000      /* a caller waiting longer for a free connection gets UNAVAILABLE */
#define CONNECT_TIMEOUT_S "5"  /* libpq's connect_timeout: a (re)connect gives up after this */
#define STATEMENT_TIMEOUT_MS 30000 /* PostgreSQL cancels a statement running longer */

typedef struct {
    PGconn *conn;
    bool busy;
    unsigned prepared; /* statements prepared on this session (store_slot_prepared) */
} pool_slot;

struct hpo_store {
    char *conninfo;
    int n;
    pool_slot *slots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int in_use;        /* busy slots (under mu) */
    uint64_t waits;    /* acquires that found no free connection and waited (under mu) */
    uint64_t timeouts; /* of which gave up after POOL_WAIT_MS */
};

struct hpo_db {
    PGconn *conn;
    bool failed;    /* a statement failed: PostgreSQL aborted the transaction */
    hpo_rc failed_rc;
    bool retry;     /* the failure was a serialization failure or a deadlock */
    bool lost;      /* the connection is gone */
};

static void notice_ignore(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* library code does not log; NOTICEs ("already exists, skipping") are noise */
}

/* libpq's messages end with a newline; error texts do not. */
static void set_pq_error(hpo_error *err, hpo_rc code, const char *prefix, const char *msg)
{
    char buf[HPO_ERROR_MESSAGE_MAX];
    snprintf(buf, sizeof buf, "%s", msg ? msg : "");
    size_t len = strlen(buf);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    hpo_error_set(err, code, NULL, "%s%s", prefix, buf);
}

/* Every session gets a statement timeout, set again after each reset (a new session). */
static void setup_session(PGconn *c)
{
    if (PQstatus(c) != CONNECTION_OK)
        return;
    char sql[64];
    snprintf(sql, sizeof sql, "SET statement_timeout = %d", STATEMENT_TIMEOUT_MS);
    PQclear(PQexec(c, sql));
}

void store_conn_reset(PGconn *c)
{
    PQreset(c);
    setup_session(c);
}

/* The timeouts come before the caller's conninfo, which may set its own. Over TCP, a database
 * that stops answering (a network partition, a host gone) is noticed within seconds, not the
 * system's two hours of keepalive: unacknowledged data for TCP_USER_TIMEOUT_MS, or an idle
 * connection's keepalive probes unanswered, closes the connection and the request answers 503. */
#define TCP_USER_TIMEOUT_MS "10000"
static PGconn *connect_one(const char *conninfo)
{
    const char *const keys[] = {"connect_timeout", "tcp_user_timeout", "keepalives",
                                "keepalives_idle", "keepalives_interval", "keepalives_count",
                                "dbname", "fallback_application_name", "client_encoding", NULL};
    const char *const vals[] = {CONNECT_TIMEOUT_S, TCP_USER_TIMEOUT_MS, "1", "5", "2", "3",
                                conninfo, "hpo-server", "UTF8", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c) {
        PQsetNoticeProcessor(c, notice_ignore, NULL);
        setup_session(c);
    }
    return c;
}

hpo_rc hpo_store_open(const char *conninfo, int pool_size, hpo_store **ret, hpo_error *err)
{
    if (!conninfo || pool_size < 1)
        return hpo_error_set(err, HPO_E_INVALID, NULL, "store: conninfo and pool_size >= 1 needed");
    hpo_store *s = calloc(1, sizeof *s);
    if (!s)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    s->conninfo = strdup(conninfo);
    s->slots = calloc((size_t)pool_size, sizeof *s->slots);
    if (!s->conninfo || !s->slots) {
        free(s->conninfo);
        free(s->slots);
        free(s);
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    }
    s->n = pool_size;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    for (int i = 0; i < pool_size; i++) {
        s->slots[i].conn = connect_one(conninfo);
        if (!s->slots[i].conn) {
            hpo_store_close(s);
            return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
        }
        if (PQstatus(s->slots[i].conn) != CONNECTION_OK) {
            set_pq_error(err, HPO_E_UNAVAILABLE, "cannot connect to PostgreSQL: ",
                         PQerrorMessage(s->slots[i].conn));
            hpo_store_close(s);
            return HPO_E_UNAVAILABLE;
        }
    }
    *ret = s;
    return HPO_OK;
}

void hpo_store_close(hpo_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        if (s->slots[i].conn)
            PQfinish(s->slots[i].conn);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->slots);
    free(s->conninfo);
    free(s);
}

void hpo_store_pool_stats(hpo_store *s, int *ret_size, int *ret_in_use, uint64_t *ret_waits,
                          uint64_t *ret_timeouts)
{
    pthread_mutex_lock(&s->mu);
    *ret_size = s->n;
    *ret_in_use = s->in_use;
    *ret_waits = s->waits;
    *ret_timeouts = s->timeouts;
    pthread_mutex_unlock(&s->mu);
}

unsigned *store_slot_prepared(hpo_store *s, int slot)
{
    return &s->slots[slot].prepared;
}

hpo_rc store_pool_acquire(hpo_store *s, int *ret_slot, PGconn **ret_conn, hpo_error *err)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    int64_t ns = deadline.tv_nsec + (int64_t)(POOL_WAIT_MS % 1000) * 1000000;
    deadline.tv_sec += POOL_WAIT_MS / 1000 + ns / 1000000000;
    deadline.tv_nsec = (long)(ns % 1000000000);
    int slot = -1;
    bool waited = false;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (int i = 0; i < s->n; i++)
            if (!s->slots[i].busy) {
                slot = i;
                break;
            }
        if (slot >= 0)
            break;
        if (!waited)
            s->waits++;
        waited = true;
        if (pthread_cond_timedwait(&s->cv, &s->mu, &deadline) == ETIMEDOUT) {
            s->timeouts++;
            pthread_mutex_unlock(&s->mu);
            return hpo_error_set(err, HPO_E_UNAVAILABLE, NULL,
                                 "no database connection free after %d ms", POOL_WAIT_MS);
        }
    }
    s->slots[slot].busy = true;
    s->in_use++;
    pthread_mutex_unlock(&s->mu);

    /* The slot is ours now: a reset (which blocks) happens outside the lock. */
    PGconn *c = s->slots[slot].conn;
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE) {
        PGresult *r = PQexec(c, "ROLLBACK");
        PQclear(r);
    }
    if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE) {
        store_conn_reset(c);
        s->slots[slot].prepared = 0; /* a new session */
        if (PQstatus(c) != CONNECTION_OK) {
            set_pq_error(err, HPO_E_UNAVAILABLE, "cannot connect to PostgreSQL: ", PQerrorMessage(c));
            pthread_mutex_lock(&s->mu);
            s->slots[slot].busy = false;
            s->in_use--;
            pthread_cond_signal(&s->cv);
            pthread_mutex_unlock(&s->mu);
            return HPO_E_UNAVAILABLE;
        }
    }
    *ret_slot = slot;
    *ret_conn = c;
    return HPO_OK;
}

void store_pool_release(hpo_store *s, int slot)
{
    pthread_mutex_lock(&s->mu);
    s->slots[slot].busy = false;
    s->in_use--;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static bool sqlstate_is(const char *st, const char *want)
{
    return st && strcmp(st, want) == 0;
}

static bool sqlstate_class(const char *st, const char *cls)
{
    return st && strncmp(st, cls, 2) == 0;
}

static bool conn_lost(PGconn *c, const char *st)
{
    return PQstatus(c) != CONNECTION_OK || sqlstate_class(st, "08") || sqlstate_is(st, "57P01") ||
           sqlstate_is(st, "57P02") || sqlstate_is(st, "57P03");
}

/* Maps a failed result (r may be NULL) to an hpo_rc and records it on db. */
static hpo_rc db_fail(hpo_db *db, PGresult *r, hpo_error *err);

hpo_rc store_result_error(PGconn *c, PGresult *r, bool *ret_lost, hpo_error *err)
{
    hpo_db db = {.conn = c};
    hpo_rc rc = db_fail(&db, r, err);
    *ret_lost = db.lost;
    return rc;
}

static hpo_rc db_fail(hpo_db *db, PGresult *r, hpo_error *err)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    if (!msg)
        msg = PQerrorMessage(db->conn);
    hpo_rc rc;
    if (conn_lost(db->conn, st)) {
        db->lost = true;
        rc = HPO_E_UNAVAILABLE;
        set_pq_error(err, rc, "database connection lost: ", msg);
    } else if (sqlstate_is(st, "40001") || sqlstate_is(st, "40P01")) {
        db->retry = true;
        rc = HPO_E_UNAVAILABLE;
        set_pq_error(err, rc, "database conflict, retry: ", msg);
    } else if (sqlstate_is(st, "23505")) {
        rc = HPO_E_EXISTS;
        set_pq_error(err, rc, "already exists: ", detail ? detail : msg);
    } else if (sqlstate_is(st, "23503") || sqlstate_is(st, "P0002")) {
        rc = HPO_E_NOT_FOUND;
        set_pq_error(err, rc, "not found: ", detail ? detail : msg);
    } else if (sqlstate_class(st, "53")) {
        rc = HPO_E_UNAVAILABLE;
        set_pq_error(err, rc, "database overloaded: ", msg);
    } else {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "database error %s: ", st ? st : "(no SQLSTATE)");
        rc = HPO_E_INTERNAL;
        set_pq_error(err, rc, prefix, msg);
    }
    db->failed = true;
    db->failed_rc = rc;
    return rc;
}

static hpo_rc exec_format(hpo_db *db, const char *sql, int n_params, const char *const *params,
                          int result_format, struct pg_result **ret_res, hpo_error *err)
{
    if (db->lost)
        return hpo_error_set(err, HPO_E_UNAVAILABLE, NULL, "database connection lost");
    PGresult *r = PQexecParams(db->conn, sql, n_params, NULL, params, NULL, NULL, result_format);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (ret_res)
            *ret_res = r;
        else
            PQclear(r);
        return HPO_OK;
    }
    hpo_rc rc = db_fail(db, r, err);
    PQclear(r);
    return rc;
}

hpo_rc hpo_db_exec(hpo_db *db, const char *sql, int n_params, const char *const *params,
                   struct pg_result **ret_res, hpo_error *err)
{
    return exec_format(db, sql, n_params, params, 0, ret_res, err);
}

hpo_rc store_exec_binary(hpo_db *db, const char *sql, int n_params, const char *const *params,
                         struct pg_result **ret_res, hpo_error *err)
{
    return exec_format(db, sql, n_params, params, 1, ret_res, err);
}

/* Runs a transaction-control command outside fn's accounting. */
static hpo_rc db_command(hpo_db *db, const char *sql, PGresult **ret, hpo_error *err)
{
    PGresult *r = PQexec(db->conn, sql);
    if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
        if (ret)
            *ret = r;
        else
            PQclear(r);
        return HPO_OK;
    }
    hpo_rc rc = db_fail(db, r, err);
    PQclear(r);
    return rc;
}

void store_backoff(hpo_rng *rng, int attempt)
{
    /* 1..(2^attempt) ms, at most ~128 ms, randomised so that colliding transactions spread out. */
    uint64_t cap_us = 1000u << (attempt < 7 ? attempt : 7);
    uint64_t us = 500 + hpo_rng_below(rng, cap_us);
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

hpo_rc hpo_store_tx(hpo_store *s, hpo_tx_fn fn, void *ctx, hpo_error *err)
{
    hpo_rng rng;
    bool rng_ready = false;
    bool begin_retried = false;
    hpo_rc rc = HPO_E_INTERNAL;
    for (int attempt = 0; attempt < TX_MAX_TRIES; attempt++) {
        int slot = -1;
        PGconn *conn = NULL;
        hpo_error_clear(err);
        rc = store_pool_acquire(s, &slot, &conn, err);
        if (rc != HPO_OK)
            return rc;
        hpo_db db = {.conn = conn};

        rc = db_command(&db, "BEGIN", NULL, err);
        if (rc != HPO_OK) {
            store_pool_release(s, slot); /* a lost connection is reset on the next acquire */
            if (db.lost && !begin_retried) {
                /* Nothing of fn ran: PostgreSQL restarted since this connection was last used. */
                begin_retried = true;
                attempt--;
                continue;
            }
            return rc;
        }

        rc = fn(&db, ctx, err);
        if (rc == HPO_OK && db.failed) {
            rc = db.failed_rc; /* fn ignored a failed statement: the transaction is aborted */
            if (err && err->code == HPO_OK)
                hpo_error_set(err, rc, NULL, "a statement of the transaction failed");
        }
        if (db.lost) {
            store_pool_release(s, slot);
            return hpo_error_set(err, HPO_E_UNAVAILABLE, NULL,
                                 "database connection lost during the transaction: outcome unknown");
        }
        if (rc == HPO_OK) {
            PGresult *r = NULL;
            rc = db_command(&db, "COMMIT", &r, err);
            if (rc == HPO_OK) {
                /* COMMIT of a transaction that failed answers "ROLLBACK". */
                bool rolled_back = strcmp(PQcmdStatus(r), "ROLLBACK") == 0;
                PQclear(r);
                store_pool_release(s, slot);
                if (rolled_back)
                    return hpo_error_set(err, HPO_E_INTERNAL, NULL, "transaction rolled back");
                return HPO_OK;
            }
        } else if (!db.lost) {
            hpo_db rb = {.conn = db.conn};
            hpo_error ignored;
            db_command(&rb, "ROLLBACK", NULL, &ignored);
        }
        store_pool_release(s, slot);
        if (db.lost)
            return hpo_error_set(err, HPO_E_UNAVAILABLE, NULL,
                                 "database connection lost at commit: outcome unknown");
        if (!db.retry)
            return rc;
        if (!rng_ready) {
            hpo_rng_seed(&rng, hpo_rng_entropy());
            rng_ready = true;
        }
        store_backoff(&rng, attempt);
    }
    return rc; /* err describes the last serialization failure */
}
