/* store_internal: helpers shared by the store's query files (row values <-> text); seen only in
 * server/store. */
#ifndef HPO_STORE_INTERNAL_H
#define HPO_STORE_INTERNAL_H

#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_rng.h"
#include "hpo_store.h"

/* Low-level: runs one SQL statement (no `;`-separated lists) with text-format parameters ($1..;
 * a NULL entry is SQL NULL) on the transaction's connection. For the store's own files and its tests. Maps SQLSTATE: 23505 -> HPO_E_EXISTS, 23503 -> HPO_E_NOT_FOUND, 40001/40P01 ->
 * HPO_E_UNAVAILABLE and marks the transaction for a retry by hpo_store_tx, a lost connection
 * (class 08, 57P01-57P03) and class 53 -> HPO_E_UNAVAILABLE, anything else -> HPO_E_INTERNAL with
 * the server's message. After an error PostgreSQL refuses further statements in the transaction,
 * and hpo_store_tx rolls it back even if fn returns HPO_OK. On success *ret_res (may be NULL) gets
 * the libpq result (a PGresult, owned: PQclear it). */
struct pg_result;
hpo_rc hpo_db_exec(hpo_db *db, const char *sql, int n_params, const char *const *params,
                   struct pg_result **ret_res, hpo_error *err);

/* hpo_db_exec with every column of the result in binary: for large numeric results, which then
 * skip float8 <-> text on both sides. Read them with get_bin_i64 / get_bin_double. */
hpo_rc store_exec_binary(hpo_db *db, const char *sql, int n_params, const char *const *params,
                         struct pg_result **ret_res, hpo_error *err);

/* ---- the pool and error mapping (hpo_store.c), for the store's other files ---- */

/* Takes a free pooled connection (waiting a bounded time; a broken one is reset first). */
hpo_rc store_pool_acquire(hpo_store *s, int *ret_slot, PGconn **ret_conn, hpo_error *err);
void store_pool_release(hpo_store *s, int slot);
/* Flags of what a file of the store prepared on a pooled session (cleared when the pool resets
 * it); only the caller holding the slot may touch them. */
unsigned *store_slot_prepared(hpo_store *s, int slot);
/* Reconnects (a new session, set up as every session is). */
void store_conn_reset(PGconn *c);
/* Sleeps before retry number attempt of a transaction that met a serialization failure or a
 * deadlock: a random 0.5 ms to 2^attempt ms (at most ~128 ms), so colliding ones spread out. */
void store_backoff(hpo_rng *rng, int attempt);
/* Maps a failed result (r may be NULL) to an hpo_rc as hpo_db_exec does; *ret_lost tells whether
 * the connection is gone (then the outcome of what was sent is unknown). */
hpo_rc store_result_error(PGconn *c, PGresult *r, bool *ret_lost, hpo_error *err);

/* ---- text encodings shared by the query files (hpo_queries.c) ---- */
struct json_t;
/* Compact JSON in insertion order; takes j (decref'd). Owned; NULL on OOM. */
char *store_json_text(struct json_t *j);
/* "{v1,v2,...}": a float8[] / bigint[] literal of n values, the i-th at byte offset i * stride
 * from v (sizeof *v for a plain array, or the size of the structs they are fields of). Owned;
 * NULL on OOM. */
char *store_float_array(const double *v, size_t n, size_t stride);
char *store_i64_array(const int64_t *v, size_t n, size_t stride);

/* The model keeps epoch milliseconds (0 = not set); the schema keeps timestamptz. */
#define TS(n) "(timestamptz 'epoch' + $" #n "::bigint * interval '1 millisecond')"
#define MS(col) "floor(extract(epoch FROM " col ") * 1000)::bigint"

/* ---- values <-> text ---- */

typedef struct {
    char s[32];
} numbuf;

/* %.17g round-trips every finite double; float8 reads 'NaN' and '[-]Infinity'. */
static inline const char *fmt_double(numbuf *b, double v)
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "Infinity" : "-Infinity";
    snprintf(b->s, sizeof b->s, "%.17g", v);
    return b->s;
}

static inline const char *fmt_i64(numbuf *b, int64_t v)
{
    snprintf(b->s, sizeof b->s, "%" PRId64, v);
    return b->s;
}

/* NULL (SQL NULL) for 0, the "not set" time. */
static inline const char *fmt_ms(numbuf *b, int64_t ms)
{
    return ms == 0 ? NULL : fmt_i64(b, ms);
}

static inline const char *get_text(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static inline int64_t get_i64(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* PostgreSQL prints float8 in the shortest form that reads back exactly (extra_float_digits 1). */
static inline double get_double(PGresult *r, int row, int col)
{
    return strtod(PQgetvalue(r, row, col), NULL);
}

/* int8 / float8 columns of a binary result: 8 bytes, network order. */
static inline uint64_t get_bin_u64(PGresult *r, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline int64_t get_bin_i64(PGresult *r, int row, int col)
{
    return (int64_t)get_bin_u64(r, row, col);
}

static inline double get_bin_double(PGresult *r, int row, int col)
{
    uint64_t u = get_bin_u64(r, row, col);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline hpo_rc dup_text(PGresult *r, int row, int col, char **ret)
{
    const char *v = get_text(r, row, col);
    *ret = NULL;
    if (!v)
        return HPO_OK;
    *ret = strdup(v);
    return *ret ? HPO_OK : HPO_E_NOMEM;
}

static inline long affected_rows(PGresult *r)
{
    return strtol(PQcmdTuples(r), NULL, 10);
}

static inline hpo_rc nomem(hpo_error *err)
{
    return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
}

#endif
