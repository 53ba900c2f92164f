/* hpo_writes: batches of trial writes and their commit. Each write becomes one parameterized
 * statement that addresses its trial by (study id, number); a batch is sent in libpq's pipeline
 * mode, so all its statements run in one implicit transaction that commits at the pipeline's
 * sync: one round trip for the whole batch, whatever its size. */
#include <inttypes.h>
#include <jansson.h>

#include "hpo_buf.h"
#include "hpo_codec.h"
#include "hpo_rng.h"
#include "store_internal.h"

#define MAX_PARAMS 21
#define COMMIT_MAX_TRIES 8

typedef enum {
    W_INSERT,
    W_UPDATE,
    W_PARAMS,
    W_REPORTS,
    W_HEARTBEAT,
    W_PROMOTION,
    W_KINDS
} write_kind;

typedef struct {
    write_kind kind;
    int n;
    char *params[MAX_PARAMS]; /* owned; NULL is SQL NULL */
} write_op;

struct hpo_writes {
    write_op *ops;
    size_t n, cap;
};

/* Every statement ends in "SELECT hpo_trial_required(count(*)) FROM t" (migration v5), which
 * raises no_data_found when its trial does not exist: the whole batch is then rolled back. */
#define TRIAL_KEY "study_id = $1::bigint AND number = $2::bigint"

static const char insert_sql[] =
    "WITH t AS (INSERT INTO trials (study_id, number, state, worker, idempotency_key,"
    "  fail_reason, fixed_params, created_at, started_at, finished_at, heartbeat_at,"
    "  retry_of, retried_by, preempted, generation)"
    " VALUES ($1::bigint, $2::bigint, $3, $4, $5, $6, $7::json, coalesce(" TS(8) ", now()),"
    "  " TS(9) ", " TS(10) ", " TS(11) ", $18::bigint, $19::bigint, $20::boolean, $21::bigint)"
    " RETURNING id),"
    " p AS (INSERT INTO trial_params (trial_id, name, distribution, value, position)"
    "  SELECT t.id, u.name, u.dist::json, u.value, u.pos - 1"
    "  FROM t, unnest($12::text[], $13::text[], $14::float8[]) WITH ORDINALITY"
    "   AS u(name, dist, value, pos)),"
    " v AS (INSERT INTO trial_values (trial_id, objective, value)"
    "  SELECT t.id, u.o - 1, u.v FROM t, unnest($15::float8[]) WITH ORDINALITY AS u(v, o)),"
    " r AS (INSERT INTO trial_intermediate_values (trial_id, step, value)"
    "  SELECT t.id, u.step, u.value FROM t, unnest($16::bigint[], $17::float8[]) AS u(step, value))"
    " SELECT hpo_trial_required(count(*)) FROM t";

/* Values only grow (none until a trial ends): upsert those given, drop any beyond them. retry_of
 * is set once, at the insert. */
static const char update_sql[] =
    "WITH t AS (UPDATE trials SET state = $3, worker = $4, fail_reason = $5,"
    "  started_at = " TS(6) ", finished_at = " TS(7) ", heartbeat_at = " TS(8) ","
    "  idempotency_key = $9, retried_by = $11::bigint, preempted = $12::boolean,"
    "  constraints = $13::float8[], generation = $14::bigint"
    "  WHERE " TRIAL_KEY " RETURNING id),"
    " d AS (DELETE FROM trial_values v USING t"
    "  WHERE v.trial_id = t.id AND v.objective >= cardinality($10::float8[])),"
    " i AS (INSERT INTO trial_values (trial_id, objective, value)"
    "  SELECT t.id, u.o - 1, u.v FROM t, unnest($10::float8[]) WITH ORDINALITY AS u(v, o)"
    "  ON CONFLICT (trial_id, objective) DO UPDATE SET value = EXCLUDED.value)"
    " SELECT hpo_trial_required(count(*)) FROM t";

static const char params_sql[] =
    "WITH t AS (SELECT id FROM trials WHERE " TRIAL_KEY "),"
    " p AS (INSERT INTO trial_params (trial_id, name, distribution, value, position)"
    "  SELECT t.id, u.name, u.dist::json, u.value, $3::int + u.pos - 1"
    "  FROM t, unnest($4::text[], $5::text[], $6::float8[]) WITH ORDINALITY"
    "   AS u(name, dist, value, pos))"
    " SELECT hpo_trial_required(count(*)) FROM t";

/* A step already stored keeps its first value. */
static const char reports_sql[] =
    "WITH t AS (UPDATE trials SET heartbeat_at = coalesce(" TS(3) ", heartbeat_at)"
    "  WHERE " TRIAL_KEY " RETURNING id),"
    " r AS (INSERT INTO trial_intermediate_values (trial_id, step, value)"
    "  SELECT t.id, u.step, u.value FROM t, unnest($4::bigint[], $5::float8[]) AS u(step, value)"
    "  ON CONFLICT (trial_id, step) DO NOTHING)"
    " SELECT hpo_trial_required(count(*)) FROM t";

static const char heartbeat_sql[] =
    "WITH t AS (UPDATE trials SET heartbeat_at = " TS(3) ", worker = coalesce($4, worker)"
    "  WHERE " TRIAL_KEY " RETURNING id)"
    " SELECT hpo_trial_required(count(*)) FROM t";

/* A rung is promoted past once; a commit run again writes the same row. */
static const char promotion_sql[] =
    "WITH t AS (SELECT id FROM trials WHERE " TRIAL_KEY "),"
    " p AS (INSERT INTO trial_promotions (trial_id, rung, promoted_at)"
    "  SELECT t.id, $3::int, " TS(4) " FROM t"
    "  ON CONFLICT (trial_id, rung) DO UPDATE SET promoted_at = EXCLUDED.promoted_at)"
    " SELECT hpo_trial_required(count(*)) FROM t";

/* Prepared once per session, as hpo_w0..hpo_w5 (parsed and planned once, not per write). */
static const char *const statements[W_KINDS] = {insert_sql,  update_sql,    params_sql,
                                                reports_sql, heartbeat_sql, promotion_sql};
static const char *const statement_names[W_KINDS] = {"hpo_w0", "hpo_w1", "hpo_w2",
                                                     "hpo_w3", "hpo_w4", "hpo_w5"};
#define ALL_PREPARED ((1u << W_KINDS) - 1)

hpo_writes *hpo_writes_new(void)
{
    return calloc(1, sizeof(hpo_writes));
}

static void op_clear(write_op *op)
{
    for (int i = 0; i < op->n; i++)
        free(op->params[i]);
}

void hpo_writes_free(hpo_writes *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        op_clear(&w->ops[i]);
    free(w->ops);
    free(w);
}

size_t hpo_writes_count(const hpo_writes *w)
{
    return w ? w->n : 0;
}

/* ---- encoding: each param is an owned string (NULL stays NULL) ---- */

typedef struct {
    write_op op;
    bool nomem;
} op_builder;

static void put(op_builder *b, const char *s)
{
    char *copy = NULL;
    if (s && !(copy = strdup(s)))
        b->nomem = true;
    b->op.params[b->op.n++] = copy;
}

/* s: a value just made, NULL meaning out of memory. */
static void put_owned(op_builder *b, char *s)
{
    if (!s)
        b->nomem = true;
    b->op.params[b->op.n++] = s;
}

static void put_i64(op_builder *b, int64_t v)
{
    numbuf nb;
    put(b, fmt_i64(&nb, v));
}

static void put_ref(op_builder *b, hpo_trial_ref r)
{
    if (r.set)
        put_i64(b, r.number);
    else
        put(b, NULL);
}

static void put_bool(op_builder *b, bool v)
{
    put(b, v ? "true" : "false");
}

static void put_ms(op_builder *b, int64_t ms)
{
    numbuf nb;
    put(b, fmt_ms(&nb, ms));
}

/* Appends s as a quoted element of an array literal. */
static hpo_rc array_add_text(hpo_buf *b, const char *s)
{
    hpo_rc rc = hpo_buf_append(b, b->len > 1 ? ",\"" : "\"", b->len > 1 ? 2 : 1);
    for (const char *p = s; *p && rc == HPO_OK; p++) {
        if (*p == '"' || *p == '\\')
            rc = hpo_buf_append(b, "\\", 1);
        if (rc == HPO_OK)
            rc = hpo_buf_append(b, p, 1);
    }
    return rc == HPO_OK ? hpo_buf_append(b, "\"", 1) : rc;
}

/* Three arrays (names, distributions as JSON, internal values) of params[first..n). */
static void put_params(op_builder *b, const hpo_param *p, size_t first, size_t n)
{
    hpo_buf names, dists;
    hpo_buf_init(&names, (size_t)1 << 30);
    hpo_buf_init(&dists, (size_t)1 << 30);
    hpo_rc rc = hpo_buf_append(&names, "{", 1);
    if (!rc)
        rc = hpo_buf_append(&dists, "{", 1);
    for (size_t i = first; i < n && !rc; i++) {
        char *dist = store_json_text(hpo_dist_to_json(&p[i].dist));
        rc = dist ? array_add_text(&dists, dist) : HPO_E_NOMEM;
        free(dist);
        if (!rc)
            rc = array_add_text(&names, p[i].name);
    }
    if (!rc)
        rc = hpo_buf_append(&names, "}", 2); /* with the terminating NUL */
    if (!rc)
        rc = hpo_buf_append(&dists, "}", 2);
    if (rc) {
        b->nomem = true;
        hpo_buf_free(&names);
        hpo_buf_free(&dists);
    }
    put_owned(b, rc ? NULL : names.data);
    put_owned(b, rc ? NULL : dists.data);
    put_owned(b, store_float_array(first < n ? &p[first].value : NULL, n - first, sizeof *p));
}

static void put_reports(op_builder *b, const hpo_report *r, size_t n)
{
    put_owned(b, store_i64_array(n ? &r[0].step : NULL, n, sizeof *r));
    put_owned(b, store_float_array(n ? &r[0].value : NULL, n, sizeof *r));
}

static hpo_rc add_op(hpo_writes *w, op_builder *b)
{
    if (!b->nomem && w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        write_op *ops = realloc(w->ops, cap * sizeof *ops);
        if (ops) {
            w->ops = ops;
            w->cap = cap;
        } else {
            b->nomem = true;
        }
    }
    if (b->nomem) {
        op_clear(&b->op);
        return HPO_E_NOMEM;
    }
    w->ops[w->n++] = b->op;
    return HPO_OK;
}

static void put_key(op_builder *b, write_kind kind, int64_t study_id, int64_t number)
{
    b->op.kind = kind;
    put_i64(b, study_id);
    put_i64(b, number);
}

hpo_rc hpo_writes_trial_insert(hpo_writes *w, int64_t study_id, const hpo_trial *t)
{
    op_builder b = {0};
    put_key(&b, W_INSERT, study_id, t->number);
    put(&b, hpo_trial_state_name(t->state));
    put(&b, t->worker);
    put(&b, t->idempotency_key);
    put(&b, t->fail_reason);
    put(&b, t->fixed_params);
    put_ms(&b, t->created_ms);
    put_ms(&b, t->started_ms);
    put_ms(&b, t->finished_ms);
    put_ms(&b, t->heartbeat_ms);
    put_params(&b, t->params, 0, t->n_params);
    put_owned(&b, store_float_array(t->values, t->n_values, sizeof *t->values));
    put_reports(&b, t->reports, t->n_reports);
    put_ref(&b, t->retry_of);
    put_ref(&b, t->retried_by);
    put_bool(&b, t->preempted);
    if (t->has_generation)
        put_i64(&b, t->generation);
    else
        put(&b, NULL);
    return add_op(w, &b);
}

hpo_rc hpo_writes_trial_update(hpo_writes *w, int64_t study_id, const hpo_trial *t)
{
    op_builder b = {0};
    put_key(&b, W_UPDATE, study_id, t->number);
    put(&b, hpo_trial_state_name(t->state));
    put(&b, t->worker);
    put(&b, t->fail_reason);
    put_ms(&b, t->started_ms);
    put_ms(&b, t->finished_ms);
    put_ms(&b, t->heartbeat_ms);
    put(&b, t->idempotency_key);
    put_owned(&b, store_float_array(t->values, t->n_values, sizeof *t->values));
    put_ref(&b, t->retried_by);
    put_bool(&b, t->preempted);
    if (t->n_constraints)
        put_owned(&b, store_float_array(t->constraints, t->n_constraints,
                                        sizeof *t->constraints));
    else
        put(&b, NULL);
    if (t->has_generation)
        put_i64(&b, t->generation);
    else
        put(&b, NULL);
    return add_op(w, &b);
}

hpo_rc hpo_writes_params_insert(hpo_writes *w, int64_t study_id, const hpo_trial *t,
                                size_t first)
{
    if (first >= t->n_params)
        return HPO_OK;
    op_builder b = {0};
    put_key(&b, W_PARAMS, study_id, t->number);
    put_i64(&b, (int64_t)first);
    put_params(&b, t->params, first, t->n_params);
    return add_op(w, &b);
}

hpo_rc hpo_writes_reports_insert(hpo_writes *w, int64_t study_id, int64_t number,
                                 const hpo_report *reports, size_t n, int64_t heartbeat_ms)
{
    op_builder b = {0};
    put_key(&b, W_REPORTS, study_id, number);
    put_ms(&b, heartbeat_ms);
    put_reports(&b, reports, n);
    return add_op(w, &b);
}

hpo_rc hpo_writes_heartbeat(hpo_writes *w, int64_t study_id, int64_t number,
                            int64_t heartbeat_ms, const char *worker)
{
    op_builder b = {0};
    put_key(&b, W_HEARTBEAT, study_id, number);
    put_ms(&b, heartbeat_ms);
    put(&b, worker);
    return add_op(w, &b);
}

hpo_rc hpo_writes_promotion(hpo_writes *w, int64_t study_id, const hpo_promotion *p)
{
    op_builder b = {0};
    put_key(&b, W_PROMOTION, study_id, p->number);
    put_i64(&b, p->rung);
    put_ms(&b, p->ms);
    return add_op(w, &b);
}

/* ---- the commit ---- */

/* Sends the batch and reads every answer. *ret_retry: a serialization failure or deadlock (nothing
 * committed). *ret_lost: the connection is gone or out of step; *ret_uncommitted then tells that
 * the batch certainly did not commit (the session ended before the sync was sent, or the server
 * answered a statement with an error, which comes before the sync it would commit at). */
static hpo_rc run_pipeline(PGconn *c, const hpo_writes *w, unsigned *prepared, bool *ret_retry,
                           bool *ret_lost, bool *ret_uncommitted, hpo_error *err)
{
    *ret_retry = *ret_lost = *ret_uncommitted = false;
    if (PQenterPipelineMode(c) != 1) {
        *ret_lost = PQstatus(c) != CONNECTION_OK;
        *ret_uncommitted = true;
        return store_result_error(c, NULL, ret_lost, err);
    }
    /* a new session prepares the statements first, in the same round trip */
    bool preparing = *prepared != ALL_PREPARED, sent = true;
    for (int k = 0; preparing && sent && k < W_KINDS; k++)
        sent = PQsendPrepare(c, statement_names[k], statements[k], 0, NULL) == 1;
    for (size_t i = 0; sent && i < w->n; i++)
        sent = PQsendQueryPrepared(c, statement_names[w->ops[i].kind], w->ops[i].n,
                                   (const char *const *)w->ops[i].params, NULL, NULL, 0) == 1;
    if (sent)
        sent = PQpipelineSync(c) == 1;
    hpo_rc rc = HPO_OK;
    if (!sent) {
        /* nothing reached the sync: PostgreSQL rolls back what it got when the session ends */
        rc = store_result_error(c, NULL, ret_lost, err);
        *ret_lost = *ret_uncommitted = true;
        return rc;
    }
    size_t n_results = w->n + (preparing ? W_KINDS : 0);
    for (size_t i = 0; i < n_results; i++) {
        PGresult *r = PQgetResult(c);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (preparing && i < W_KINDS && st == PGRES_COMMAND_OK)
            *prepared |= 1u << i;
        else if (st != PGRES_TUPLES_OK && st != PGRES_PIPELINE_ABORTED && rc == HPO_OK) {
            bool lost = false;
            rc = store_result_error(c, r, &lost, err);
            const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
            *ret_retry = state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0);
            if (lost) {
                /* 57P01 from a backend terminated while idle in the pool is read here, as the
                 * first statement's answer; an error libpq makes up (no SQLSTATE) for a
                 * connection that just closed proves nothing */
                *ret_lost = true;
                *ret_uncommitted = state != NULL;
                PQclear(r);
                return rc;
            }
        }
        PQclear(r);
        if (r)
            PQclear(PQgetResult(c)); /* the NULL that ends each statement's results */
    }
    PGresult *sync = PQgetResult(c);
    ExecStatusType st = sync ? PQresultStatus(sync) : PGRES_FATAL_ERROR;
    if (st != PGRES_PIPELINE_SYNC && rc == HPO_OK) {
        /* the commit itself failed or the connection went away at it: outcome unknown */
        rc = store_result_error(c, sync, ret_lost, err);
        *ret_lost = *ret_lost || PQstatus(c) != CONNECTION_OK;
    }
    PQclear(sync);
    if (PQexitPipelineMode(c) != 1)
        *ret_lost = true; /* out of step with the server: the pool resets it */
    return rc;
}

hpo_rc hpo_store_commit(hpo_store *s, const hpo_writes *w, hpo_error *err)
{
    if (!w || w->n == 0)
        return HPO_OK;
    hpo_rng rng;
    hpo_rc rc = HPO_E_INTERNAL;
    bool reconnected = false;
    for (int attempt = 0; attempt < COMMIT_MAX_TRIES; attempt++) {
        int slot;
        PGconn *c;
        hpo_error_clear(err);
        if ((rc = store_pool_acquire(s, &slot, &c, err)))
            return rc;
        bool retry, lost, uncommitted;
        unsigned *prepared = store_slot_prepared(s, slot);
        rc = run_pipeline(c, w, prepared, &retry, &lost, &uncommitted, err);
        if (lost && PQstatus(c) == CONNECTION_OK) {
            store_conn_reset(c); /* out of step with the server: not reusable as it is */
            *prepared = 0;
        }
        store_pool_release(s, slot);
        if (lost && uncommitted && !reconnected) {
            /* Typically a session that ended while idle in the pool (PostgreSQL restarted, the
             * backend terminated): nothing of the batch committed, so it runs once more on a new
             * session (the acquire resets a broken one), as hpo_store_tx does after a failed
             * BEGIN. */
            reconnected = true;
            attempt--;
            continue;
        }
        if (lost)
            return hpo_error_set(err, HPO_E_UNAVAILABLE, NULL,
                                 "database connection lost during a commit: outcome unknown");
        if (!retry)
            return rc;
        if (attempt == 0)
            hpo_rng_seed(&rng, hpo_rng_entropy());
        store_backoff(&rng, attempt);
    }
    return rc;
}
