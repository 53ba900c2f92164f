/* hpo_queries: the SQL the service reads and writes inside hpo_store_tx (studies, trial loads,
 * artifacts, workers); converts between rows and the model types of common/core. Trial writes are
 * batched in hpo_writes.c. */
#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_codec.h"

#include "store_internal.h"

/* Not hpo_json_dump, which sorts keys: the order of a search space matters. */
char *store_json_text(json_t *j)
{
    if (!j)
        return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

/* "{x,x,...}" of n doubles or int64s, the i-th at base + i * stride (read with memcpy, so base
 * may point into structs). */
static char *number_array(const void *base, size_t n, size_t stride, bool is_double)
{
    char *s = malloc(n * 26 + 3);
    if (!s)
        return NULL;
    size_t len = 0;
    s[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        const char *at = (const char *)base + i * stride;
        numbuf b;
        double d;
        int64_t k;
        if (is_double)
            memcpy(&d, at, sizeof d);
        else
            memcpy(&k, at, sizeof k);
        len += (size_t)sprintf(s + len, "%s%s", i ? "," : "",
                               is_double ? fmt_double(&b, d) : fmt_i64(&b, k));
    }
    s[len++] = '}';
    s[len] = '\0';
    return s;
}

char *store_float_array(const double *v, size_t n, size_t stride)
{
    return number_array(v, n, stride, true);
}

char *store_i64_array(const int64_t *v, size_t n, size_t stride)
{
    return number_array(v, n, stride, false);
}

/* A float8[] as PostgreSQL prints it ("{1.5,-2,3e-05}") into ret (room for max); returns how
 * many were read. */
static size_t parse_float_array(const char *text, double *ret, size_t max)
{
    size_t n = 0;
    const char *p = text + (*text == '{');
    while (n < max && *p && *p != '}') {
        char *end;
        ret[n++] = strtod(p, &end);
        if (end == p)
            break;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

/* ---- studies ---- */

#define STUDY_COLS                                                                        \
    "s.id, s.name, array_to_string(s.directions, ','), s.sampler, s.pruner, s.user_attrs, " \
    "s.search_space, s.max_trials, " MS("s.created_at") ", s.heartbeat_grace_ms, s.retry"
#define STUDY_NCOLS 11

static hpo_rc parse_directions(const char *text, hpo_study_config *c, hpo_error *err)
{
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    c->directions = calloc(n, sizeof *c->directions);
    if (!c->directions)
        return nomem(err);
    const char *p = text;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[16];
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, p, len);
        name[len] = '\0';
        if (hpo_direction_parse(name, &c->directions[i]) != HPO_OK)
            return hpo_error_set(err, HPO_E_INTERNAL, NULL, "stored direction '%s' unknown", name);
        c->n_directions = i + 1;
        p = end ? end + 1 : p + len;
    }
    return HPO_OK;
}

static hpo_rc parse_space(const char *text, hpo_space *ret, hpo_error *err)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "stored search space unreadable: %s",
                             jerr.text);
    hpo_error e;
    hpo_error_clear(&e);
    hpo_rc rc = hpo_json_to_space(j, "search_space", ret, &e);
    json_decref(j);
    if (rc != HPO_OK)
        return hpo_error_set(err, rc == HPO_E_NOMEM ? rc : HPO_E_INTERNAL, NULL,
                             "stored search space invalid: %s", e.message);
    return HPO_OK;
}

/* A stored retry policy; NULL (a study from before v7, or none given) is no retries. */
static hpo_rc parse_retry(const char *text, hpo_retry_policy *ret, hpo_error *err)
{
    *ret = HPO_RETRY_DEFAULT;
    if (!text)
        return HPO_OK;
    json_t *j = json_loads(text, 0, NULL);
    hpo_error e;
    hpo_error_clear(&e);
    hpo_rc rc = j ? hpo_json_to_retry(j, "retry", ret, &e) : HPO_E_INVALID;
    json_decref(j);
    if (rc != HPO_OK)
        return hpo_error_set(err, rc == HPO_E_NOMEM ? rc : HPO_E_INTERNAL, NULL,
                             "stored retry policy invalid: %s", e.message);
    return HPO_OK;
}

/* Fills *c (zeroed first) from a row of STUDY_COLS starting at column 0. */
static hpo_rc parse_study(PGresult *r, int row, hpo_study_config *c, hpo_error *err)
{
    memset(c, 0, sizeof *c);
    c->id = get_i64(r, row, 0);
    c->max_trials = get_i64(r, row, 7);
    c->created_ms = get_i64(r, row, 8);
    c->heartbeat_grace_ms = get_i64(r, row, 9);
    hpo_rc rc = dup_text(r, row, 1, &c->name);
    if (rc == HPO_OK)
        rc = dup_text(r, row, 3, &c->sampler);
    if (rc == HPO_OK)
        rc = dup_text(r, row, 4, &c->pruner);
    if (rc == HPO_OK)
        rc = dup_text(r, row, 5, &c->user_attrs);
    if (rc != HPO_OK)
        rc = nomem(err);
    if (rc == HPO_OK)
        rc = parse_directions(PQgetvalue(r, row, 2), c, err);
    if (rc == HPO_OK)
        rc = parse_space(PQgetvalue(r, row, 6), &c->space, err);
    if (rc == HPO_OK)
        rc = parse_retry(get_text(r, row, 10), &c->retry, err);
    if (rc != HPO_OK)
        hpo_study_config_clear(c);
    return rc;
}

hpo_rc hpo_db_study_insert(hpo_db *db, hpo_study_config *c, hpo_error *err)
{
    if (c->n_directions == 0)
        return hpo_error_set(err, HPO_E_INVALID, "directions", "at least one direction needed");
    size_t dlen = 0;
    for (size_t i = 0; i < c->n_directions; i++)
        dlen += strlen(hpo_direction_name(c->directions[i])) + 1;
    char *dirs = malloc(dlen);
    char *space = store_json_text(hpo_space_to_json(&c->space));
    char *retry = c->retry.max_retries > 0 ? store_json_text(hpo_retry_to_json(&c->retry)) : NULL;
    if (!dirs || !space || (c->retry.max_retries > 0 && !retry)) {
        free(dirs);
        free(space);
        free(retry);
        return nomem(err);
    }
    dirs[0] = '\0';
    for (size_t i = 0; i < c->n_directions; i++) {
        if (i)
            strcat(dirs, ",");
        strcat(dirs, hpo_direction_name(c->directions[i]));
    }
    numbuf mt, hg;
    const char *params[] = {
        c->name,
        dirs,
        c->sampler ? c->sampler : "{}",
        c->pruner ? c->pruner : "{}",
        space,
        c->max_trials > 0 ? fmt_i64(&mt, c->max_trials) : NULL,
        c->user_attrs ? c->user_attrs : "{}",
        c->heartbeat_grace_ms > 0 ? fmt_i64(&hg, c->heartbeat_grace_ms) : NULL,
        retry,
    };
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db,
                            "INSERT INTO studies (name, directions, sampler, pruner, search_space,"
                            " max_trials, user_attrs, heartbeat_grace_ms, retry)"
                            " VALUES ($1, string_to_array($2, ','), $3::json, $4::json, $5::json,"
                            " $6::bigint, $7::json, $8::bigint, $9::json)"
                            " ON CONFLICT (name) DO NOTHING"
                            " RETURNING id, " MS("created_at"),
                            9, params, &r, err);
    free(dirs);
    free(space);
    free(retry);
    if (rc != HPO_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return hpo_error_set(err, HPO_E_EXISTS, "name", "study '%s' already exists", c->name);
    }
    c->id = get_i64(r, 0, 0);
    c->created_ms = get_i64(r, 0, 1);
    PQclear(r);
    return HPO_OK;
}

hpo_rc hpo_db_study_load(hpo_db *db, const char *name, hpo_study_config *ret, hpo_error *err)
{
    const char *params[] = {name};
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db, "SELECT " STUDY_COLS " FROM studies s WHERE s.name = $1", 1,
                            params, &r, err);
    if (rc != HPO_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = hpo_error_set(err, HPO_E_NOT_FOUND, NULL, "study '%s' not found", name);
    else
        rc = parse_study(r, 0, ret, err);
    PQclear(r);
    return rc;
}

hpo_rc hpo_db_study_delete(hpo_db *db, const char *name, hpo_error *err)
{
    const char *params[] = {name};
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db, "DELETE FROM studies WHERE name = $1", 1, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    long n = affected_rows(r);
    PQclear(r);
    if (n == 0)
        return hpo_error_set(err, HPO_E_NOT_FOUND, NULL, "study '%s' not found", name);
    return HPO_OK;
}

/* Counts columns follow hpo_trial_state's order. The best trial of a single-objective study is
 * its lowest (minimize) or highest (maximize) objective-0 value over COMPLETE trials, NaN never
 * best, ties to the lower number; in a study where some trial gave constraints, over the
 * feasible ones (all constraints <= 0) only, as the service keeps it (hpo_trials.c): feasible
 * trials sort first, and an infeasible first one means none. */
static const char study_list_sql[] =
    "SELECT " STUDY_COLS ","
    " coalesce(c.running, 0), coalesce(c.waiting, 0), coalesce(c.complete, 0),"
    " coalesce(c.pruned, 0), coalesce(c.fail, 0), coalesce(c.paused, 0), b.number, b.value,"
    " coalesce(c.retries, 0)"
    " FROM studies s"
    " LEFT JOIN (SELECT study_id,"
    "   count(*) FILTER (WHERE state = 'running') AS running,"
    "   count(*) FILTER (WHERE state = 'waiting') AS waiting,"
    "   count(*) FILTER (WHERE state = 'complete') AS complete,"
    "   count(*) FILTER (WHERE state = 'pruned') AS pruned,"
    "   count(*) FILTER (WHERE state = 'fail') AS fail,"
    "   count(*) FILTER (WHERE state = 'paused') AS paused,"
    "   count(*) FILTER (WHERE retry_of IS NOT NULL) AS retries,"
    "   bool_or(constraints IS NOT NULL) AS constrained"
    "   FROM trials GROUP BY study_id) c ON c.study_id = s.id"
    " LEFT JOIN (SELECT DISTINCT ON (t.study_id) t.study_id, t.number, v.value,"
    "   coalesce(0 >= ALL(t.constraints), false) AS feasible"
    "   FROM trials t"
    "   JOIN studies s2 ON s2.id = t.study_id AND cardinality(s2.directions) = 1"
    "   JOIN trial_values v ON v.trial_id = t.id AND v.objective = 0"
    "   WHERE t.state = 'complete' AND v.value <> 'NaN'"
    "   ORDER BY t.study_id, coalesce(0 >= ALL(t.constraints), false) DESC,"
    "     CASE WHEN s2.directions[1] = 'maximize' THEN -v.value ELSE v.value END, t.number"
    " ) b ON b.study_id = s.id AND (b.feasible OR NOT c.constrained)"
    " ORDER BY s.name COLLATE \"C\"";

hpo_rc hpo_db_study_list(hpo_db *db, hpo_study_summary **ret, size_t *ret_n, hpo_error *err)
{
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db, study_list_sql, 0, NULL, &r, err);
    if (rc != HPO_OK)
        return rc;
    size_t n = (size_t)PQntuples(r);
    hpo_study_summary *out = calloc(n ? n : 1, sizeof *out);
    if (!out) {
        PQclear(r);
        return nomem(err);
    }
    size_t done = 0;
    for (; done < n; done++) {
        int row = (int)done;
        hpo_study_summary *s = &out[done];
        rc = parse_study(r, row, &s->config, err);
        if (rc != HPO_OK)
            break;
        for (int k = 0; k < HPO_TRIAL_STATE_COUNT; k++)
            s->counts[k] = get_i64(r, row, STUDY_NCOLS + k);
        int bcol = STUDY_NCOLS + HPO_TRIAL_STATE_COUNT;
        s->has_best = !PQgetisnull(r, row, bcol);
        if (s->has_best) {
            s->best_number = get_i64(r, row, bcol);
            s->best_value = get_double(r, row, bcol + 1);
        }
        s->n_retries = get_i64(r, row, bcol + 2);
    }
    PQclear(r);
    if (rc != HPO_OK) {
        hpo_study_summaries_free(out, done);
        return rc;
    }
    *ret = out;
    *ret_n = n;
    return HPO_OK;
}


/* ---- trials ---- */

typedef struct {
    int64_t id;
    size_t index;
} id_index;

static int id_index_cmp(const void *a, const void *b)
{
    int64_t x = ((const id_index *)a)->id, y = ((const id_index *)b)->id;
    return (x > y) - (x < y);
}

static hpo_trial *trial_by_id(const id_index *map, size_t n, hpo_trial *trials, int64_t id)
{
    id_index key = {.id = id};
    const id_index *hit = bsearch(&key, map, n, sizeof *map, id_index_cmp);
    return hit ? &trials[hit->index] : NULL;
}

/* Distributions repeat across trials (one per param name, as a rule): parse each text once. */
#define DIST_CACHE_MAX 64
typedef struct {
    size_t n;
    char *text[DIST_CACHE_MAX];
    hpo_dist dist[DIST_CACHE_MAX];
    hpo_dist scratch;
} dist_cache;

static void dist_cache_clear(dist_cache *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->text[i]);
        hpo_dist_clear(&c->dist[i]);
    }
    hpo_dist_clear(&c->scratch);
    c->n = 0;
}

/* A borrowed distribution parsed from text, valid until the next call. */
static hpo_rc dist_cache_get(dist_cache *c, const char *text, const hpo_dist **ret, hpo_error *err)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->text[i], text) == 0) {
            *ret = &c->dist[i];
            return HPO_OK;
        }
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "stored distribution unreadable: %s",
                             jerr.text);
    hpo_dist d;
    hpo_error e;
    hpo_error_clear(&e);
    hpo_rc rc = hpo_json_to_dist(j, "distribution", &d, &e);
    json_decref(j);
    if (rc != HPO_OK)
        return hpo_error_set(err, rc == HPO_E_NOMEM ? rc : HPO_E_INTERNAL, NULL,
                             "stored distribution invalid: %s", e.message);
    char *copy = c->n < DIST_CACHE_MAX ? strdup(text) : NULL;
    if (!copy) {
        hpo_dist_clear(&c->scratch);
        c->scratch = d;
        *ret = &c->scratch;
        return HPO_OK;
    }
    c->text[c->n] = copy;
    c->dist[c->n] = d;
    *ret = &c->dist[c->n++];
    return HPO_OK;
}

#define TRIAL_COLS                                                                          \
    "t.id, t.number, t.state, t.worker, t.idempotency_key, t.fail_reason, t.fixed_params, " \
    MS("t.created_at") ", " MS("t.started_at") ", " MS("t.finished_at") ", "                \
    MS("t.heartbeat_at") ", t.retry_of, t.retried_by, t.preempted, t.constraints, " \
    "t.generation"

/* A nullable trial number column. */
static hpo_trial_ref get_trial_ref(PGresult *r, int row, int col)
{
    return (hpo_trial_ref){!PQgetisnull(r, row, col), get_i64(r, row, col)};
}

static hpo_rc parse_trial(PGresult *r, int row, hpo_trial *t, hpo_error *err)
{
    t->id = get_i64(r, row, 0);
    t->number = get_i64(r, row, 1);
    if (hpo_trial_state_parse(PQgetvalue(r, row, 2), &t->state) != HPO_OK)
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "stored trial state '%s' unknown",
                             PQgetvalue(r, row, 2));
    if (dup_text(r, row, 3, &t->worker) != HPO_OK ||
        dup_text(r, row, 4, &t->idempotency_key) != HPO_OK ||
        dup_text(r, row, 5, &t->fail_reason) != HPO_OK ||
        dup_text(r, row, 6, &t->fixed_params) != HPO_OK)
        return nomem(err);
    t->created_ms = get_i64(r, row, 7);
    t->started_ms = get_i64(r, row, 8);
    t->finished_ms = get_i64(r, row, 9);
    t->heartbeat_ms = get_i64(r, row, 10);
    t->retry_of = get_trial_ref(r, row, 11);
    t->retried_by = get_trial_ref(r, row, 12);
    t->preempted = PQgetvalue(r, row, 13)[0] == 't';
    if (!PQgetisnull(r, row, 14)) {
        double c[HPO_CONSTRAINTS_MAX];
        size_t n = parse_float_array(PQgetvalue(r, row, 14), c, HPO_CONSTRAINTS_MAX);
        if (hpo_trial_set_constraints(t, c, n) != HPO_OK)
            return nomem(err);
    }
    t->has_generation = !PQgetisnull(r, row, 15);
    t->generation = t->has_generation ? get_i64(r, row, 15) : 0;
    return HPO_OK;
}

/* The child tables are read for the whole study at once and dealt out to the trials by id. */
/* The rows of a study's trials in a table keyed by (trial_id, ...): $1..$2 is the range of their
 * ids and $3 NULL when they fill most of it (one range scan; rows of other studies' trials in it
 * are skipped by the caller), else their ids (one index probe each). Either way no join, whose
 * plan could scan every study's rows, and no sort. */
#define STUDY_ROWS "trial_id BETWEEN $1 AND $2 AND ($3::bigint[] IS NULL OR trial_id = ANY($3))"

/* The trial of id, looked up once per run of rows of the same trial (rows come ordered by id). */
typedef struct {
    const id_index *map;
    size_t n;
    hpo_trial *trials;
    int64_t last_id;
    hpo_trial *last;
} trial_cursor;

static hpo_trial *cursor_trial(trial_cursor *c, int64_t id)
{
    if (!c->last || id != c->last_id) {
        c->last_id = id;
        c->last = trial_by_id(c->map, c->n, c->trials, id);
    }
    return c->last;
}

static hpo_rc load_params(hpo_db *db, const char *const *params, hpo_trial *trials,
                          const id_index *map, size_t n, hpo_error *err)
{
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db,
                            "SELECT trial_id, name, distribution, value FROM trial_params"
                            " WHERE " STUDY_ROWS " ORDER BY trial_id, position, name",
                            3, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    dist_cache cache = {0};
    trial_cursor cur = {map, n, trials, 0, NULL};
    for (int i = 0; i < PQntuples(r) && rc == HPO_OK; i++) {
        hpo_trial *t = cursor_trial(&cur, get_i64(r, i, 0));
        if (!t)
            continue; /* inserted after the trials were read (READ COMMITTED) */
        const hpo_dist *d = NULL;
        rc = dist_cache_get(&cache, PQgetvalue(r, i, 2), &d, err);
        if (rc == HPO_OK) {
            rc = hpo_trial_add_param(t, PQgetvalue(r, i, 1), d, get_double(r, i, 3));
            if (rc != HPO_OK)
                hpo_error_set(err, rc, NULL, "loading param '%s' of trial %" PRId64 " failed",
                              PQgetvalue(r, i, 1), t->number);
        }
    }
    dist_cache_clear(&cache);
    PQclear(r);
    return rc;
}

static hpo_rc load_values(hpo_db *db, const char *const *params, hpo_trial *trials,
                          const id_index *map, size_t n, hpo_error *err)
{
    PGresult *r = NULL;
    hpo_rc rc = store_exec_binary(db,
                                  "SELECT trial_id, value FROM trial_values"
                                  " WHERE " STUDY_ROWS " ORDER BY trial_id, objective",
                                  3, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    int rows = PQntuples(r);
    double *buf = malloc((size_t)(rows ? rows : 1) * sizeof *buf);
    if (!buf) {
        PQclear(r);
        return nomem(err);
    }
    for (int i = 0; i < rows && rc == HPO_OK;) {
        int64_t id = get_bin_i64(r, i, 0);
        size_t k = 0;
        for (; i < rows && get_bin_i64(r, i, 0) == id; i++)
            buf[k++] = get_bin_double(r, i, 1);
        hpo_trial *t = trial_by_id(map, n, trials, id);
        if (t && hpo_trial_set_values(t, buf, k) != HPO_OK)
            rc = nomem(err);
    }
    free(buf);
    PQclear(r);
    return rc;
}

/* The largest result of a load: binary, in the order of the primary key (trial, step), so each
 * report is appended to its trial. */
static hpo_rc load_reports(hpo_db *db, const char *const *params, hpo_trial *trials,
                           const id_index *map, size_t n, hpo_error *err)
{
    PGresult *r = NULL;
    hpo_rc rc = store_exec_binary(db,
                                  "SELECT trial_id, step, value FROM trial_intermediate_values"
                                  " WHERE " STUDY_ROWS " ORDER BY trial_id, step",
                                  3, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    trial_cursor cur = {map, n, trials, 0, NULL};
    int rows = PQntuples(r);
    for (int i = 0; i < rows && rc == HPO_OK;) {
        int64_t id = get_bin_i64(r, i, 0);
        int end = i + 1;
        while (end < rows && get_bin_i64(r, end, 0) == id)
            end++;
        hpo_trial *t = cursor_trial(&cur, id);
        /* a trial's reports in one allocation of their exact number */
        hpo_report *rep = t && !t->reports ? malloc((size_t)(end - i) * sizeof *rep) : NULL;
        if (rep) {
            t->reports = rep;
            t->cap_reports = (size_t)(end - i);
        }
        for (; i < end && rc == HPO_OK; i++)
            if (t && hpo_trial_add_report(t, get_bin_i64(r, i, 1), get_bin_double(r, i, 2), NULL))
                rc = nomem(err);
    }
    PQclear(r);
    return rc;
}

hpo_rc hpo_db_trials_load(hpo_db *db, int64_t study_id, hpo_trial **ret, size_t *ret_n,
                          hpo_error *err)
{
    numbuf sb;
    const char *params[] = {fmt_i64(&sb, study_id)};
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db,
                            "SELECT " TRIAL_COLS " FROM trials t WHERE t.study_id = $1"
                            " ORDER BY t.number",
                            1, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    size_t n = (size_t)PQntuples(r);
    hpo_trial *trials = calloc(n ? n : 1, sizeof *trials);
    id_index *map = calloc(n ? n : 1, sizeof *map);
    if (!trials || !map) {
        free(trials);
        free(map);
        PQclear(r);
        return nomem(err);
    }
    for (size_t i = 0; i < n && rc == HPO_OK; i++) {
        rc = parse_trial(r, (int)i, &trials[i], err);
        map[i] = (id_index){.id = trials[i].id, .index = i};
    }
    PQclear(r);
    qsort(map, n, sizeof *map, id_index_cmp);
    numbuf lo, hi;
    int64_t first = n ? map[0].id : 0, last = n ? map[n - 1].id : -1;
    bool dense = (uint64_t)(last - first + 1) <= 2 * (uint64_t)n;
    char *ids = rc == HPO_OK && !dense ? store_i64_array(&map[0].id, n, sizeof *map) : NULL;
    if (rc == HPO_OK && !dense && !ids)
        rc = nomem(err);
    const char *p1[] = {fmt_i64(&lo, first), fmt_i64(&hi, last), ids};
    if (rc == HPO_OK)
        rc = load_params(db, p1, trials, map, n, err);
    if (rc == HPO_OK)
        rc = load_values(db, p1, trials, map, n, err);
    if (rc == HPO_OK)
        rc = load_reports(db, p1, trials, map, n, err);
    free(ids);
    free(map);
    if (rc != HPO_OK) {
        hpo_trials_free(trials, n);
        return rc;
    }
    *ret = trials;
    *ret_n = n;
    return HPO_OK;
}

hpo_rc hpo_db_promotions_load(hpo_db *db, int64_t study_id, hpo_promotion **ret, size_t *ret_n,
                              hpo_error *err)
{
    numbuf sb;
    const char *params[] = {fmt_i64(&sb, study_id)};
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db,
                            "SELECT t.number, p.rung, " MS("p.promoted_at")
                            " FROM trial_promotions p JOIN trials t ON t.id = p.trial_id"
                            " WHERE t.study_id = $1 ORDER BY p.promoted_at, t.number, p.rung",
                            1, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    size_t n = (size_t)PQntuples(r);
    hpo_promotion *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        PQclear(r);
        return nomem(err);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (hpo_promotion){get_i64(r, (int)i, 0), (int)get_i64(r, (int)i, 1),
                               get_i64(r, (int)i, 2)};
    PQclear(r);
    *ret = p;
    *ret_n = n;
    return HPO_OK;
}

hpo_rc hpo_db_trial_id(hpo_db *db, int64_t study_id, int64_t number, int64_t *ret,
                       hpo_error *err)
{
    numbuf sb, nb;
    const char *params[] = {fmt_i64(&sb, study_id), fmt_i64(&nb, number)};
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db, "SELECT id FROM trials WHERE study_id = $1::bigint"
                            " AND number = $2::bigint", 2, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    bool found = PQntuples(r) == 1;
    *ret = found ? get_i64(r, 0, 0) : 0;
    PQclear(r);
    if (!found)
        return hpo_error_set(err, HPO_E_NOT_FOUND, "number", "trial %" PRId64 " not found",
                             number);
    return HPO_OK;
}

/* ---- artifacts ---- */

/* Trial, study and total usage leave out the artifact being replaced (its new size takes its
 * place). The study row's update also serializes uploads to one study across servers: its quota
 * holds exactly, the total one up to what other studies store at the same moment. xmax = 0 only
 * on a fresh insert: tells an insert from an update. A missing trial raises (no_data_found). */
static const char artifact_put_sql[] =
    "WITH t AS (SELECT id FROM trials WHERE study_id = $1::bigint AND number = $2::bigint),"
    " old AS (SELECT coalesce(sum(a.size), 0) AS size FROM artifacts a, t"
    "  WHERE a.trial_id = t.id AND a.name = $3),"
    " used AS (SELECT (SELECT coalesce(sum(a.size), 0) FROM artifacts a, t"
    "   WHERE a.trial_id = t.id) - old.size AS trial,"
    "  (SELECT artifact_bytes FROM studies WHERE id = $1::bigint) - old.size AS study,"
    "  (SELECT sum(artifact_bytes) FROM studies) - old.size AS total, old.size AS old FROM old),"
    " fit AS (SELECT used.*, EXISTS (SELECT 1 FROM t) AND $4::bigint <= $6::bigint - trial"
    "  AND $4::bigint <= $7::bigint - study AND $4::bigint <= $8::bigint - total AS ok FROM used),"
    " s AS (UPDATE studies SET artifact_bytes = artifact_bytes + $4::bigint - fit.old FROM fit"
    "  WHERE id = $1::bigint AND fit.ok),"
    " a AS (INSERT INTO artifacts (trial_id, name, size, sha256)"
    "  SELECT t.id, $3, $4::bigint, $5 FROM t, fit WHERE fit.ok"
    "  ON CONFLICT (trial_id, name) DO UPDATE SET size = EXCLUDED.size,"
    "  sha256 = EXCLUDED.sha256, created_at = now() RETURNING (xmax <> 0) AS replaced)"
    " SELECT hpo_trial_required((SELECT count(*) FROM t)), fit.ok, fit.trial, fit.study,"
    "  fit.total, coalesce((SELECT bool_or(replaced) FROM a), false) FROM fit";

hpo_rc hpo_db_artifact_put(hpo_db *db, hpo_artifact_put *a, hpo_error *err)
{
    numbuf b[6];
    const char *params[] = {fmt_i64(&b[0], a->study_id), fmt_i64(&b[1], a->number), a->name,
                            fmt_i64(&b[2], a->size),     a->sha256,
                            fmt_i64(&b[3], a->max[0]),   fmt_i64(&b[4], a->max[1]),
                            fmt_i64(&b[5], a->max[2])};
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db, artifact_put_sql, 8, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    a->stored = PQgetvalue(r, 0, 1)[0] == 't';
    for (int i = 0; i < 3; i++)
        a->used[i] = get_i64(r, 0, 2 + i);
    a->replaced = PQgetvalue(r, 0, 5)[0] == 't';
    PQclear(r);
    return HPO_OK;
}

static hpo_rc parse_artifact(PGresult *r, int row, hpo_artifact *a, hpo_error *err)
{
    memset(a, 0, sizeof *a);
    a->size = get_i64(r, row, 1);
    snprintf(a->sha256, sizeof a->sha256, "%s", PQgetvalue(r, row, 2));
    a->created_ms = get_i64(r, row, 3);
    return dup_text(r, row, 0, &a->name) == HPO_OK ? HPO_OK : nomem(err);
}

#define ARTIFACT_COLS "name, size, sha256, " MS("created_at")

hpo_rc hpo_db_artifact_get(hpo_db *db, int64_t trial_id, const char *name, hpo_artifact *ret,
                           hpo_error *err)
{
    numbuf tb;
    const char *params[] = {fmt_i64(&tb, trial_id), name};
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db,
                            "SELECT " ARTIFACT_COLS " FROM artifacts"
                            " WHERE trial_id = $1::bigint AND name = $2",
                            2, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = hpo_error_set(err, HPO_E_NOT_FOUND, "name", "no artifact '%s'", name);
    else
        rc = parse_artifact(r, 0, ret, err);
    PQclear(r);
    return rc;
}

hpo_rc hpo_db_artifact_list(hpo_db *db, int64_t trial_id, hpo_artifact **ret, size_t *ret_n,
                            hpo_error *err)
{
    numbuf tb;
    const char *params[] = {fmt_i64(&tb, trial_id)};
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db,
                            "SELECT " ARTIFACT_COLS " FROM artifacts WHERE trial_id = $1::bigint"
                            " ORDER BY name COLLATE \"C\"",
                            1, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    size_t n = (size_t)PQntuples(r), done = 0;
    hpo_artifact *out = calloc(n ? n : 1, sizeof *out);
    if (!out)
        rc = nomem(err);
    for (; rc == HPO_OK && done < n; done++)
        rc = parse_artifact(r, (int)done, &out[done], err);
    PQclear(r);
    if (rc != HPO_OK) {
        hpo_artifacts_free(out, done);
        return rc;
    }
    *ret = out;
    *ret_n = n;
    return HPO_OK;
}


/* ---- workers ---- */

hpo_rc hpo_db_worker_upsert(hpo_db *db, const char *id, const char *host, int slots,
                            const char *info, hpo_error *err)
{
    numbuf sb;
    const char *params[] = {id, host, fmt_i64(&sb, slots), info ? info : "{}"};
    return hpo_db_exec(db,
                       "INSERT INTO workers (id, host, slots, info) VALUES ($1, $2, $3::int,"
                       " $4::jsonb) ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host,"
                       " slots = EXCLUDED.slots, info = EXCLUDED.info, last_seen = now()",
                       4, params, NULL, err);
}

hpo_rc hpo_db_worker_list(hpo_db *db, hpo_worker_info **ret, size_t *ret_n, hpo_error *err)
{
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db,
                            "SELECT id, host, info::text, slots, " MS("first_seen") ", "
                            MS("last_seen") " FROM workers ORDER BY id COLLATE \"C\"",
                            0, NULL, &r, err);
    if (rc != HPO_OK)
        return rc;
    size_t n = (size_t)PQntuples(r), done = 0;
    hpo_worker_info *out = calloc(n ? n : 1, sizeof *out);
    if (!out)
        rc = nomem(err);
    for (; rc == HPO_OK && done < n; done++) {
        hpo_worker_info *w = &out[done];
        int row = (int)done;
        w->slots = (int)get_i64(r, row, 3);
        w->first_seen_ms = get_i64(r, row, 4);
        w->last_seen_ms = get_i64(r, row, 5);
        if (dup_text(r, row, 0, &w->id) || dup_text(r, row, 1, &w->host) ||
            dup_text(r, row, 2, &w->info))
            rc = nomem(err);
    }
    PQclear(r);
    if (rc != HPO_OK) {
        hpo_worker_infos_free(out, done);
        return rc;
    }
    *ret = out;
    *ret_n = n;
    return HPO_OK;
}


hpo_rc hpo_db_running_trials(hpo_db *db, hpo_running_trial **ret, size_t *ret_n, hpo_error *err)
{
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db,
                            "SELECT t.worker, s.name, t.number FROM trials t"
                            " JOIN studies s ON s.id = t.study_id"
                            " WHERE t.state = 'running' AND t.worker IS NOT NULL"
                            " ORDER BY t.worker COLLATE \"C\", s.name COLLATE \"C\", t.number",
                            0, NULL, &r, err);
    if (rc != HPO_OK)
        return rc;
    size_t n = (size_t)PQntuples(r), done = 0;
    hpo_running_trial *out = calloc(n ? n : 1, sizeof *out);
    if (!out)
        rc = nomem(err);
    for (; rc == HPO_OK && done < n; done++) {
        out[done].number = get_i64(r, (int)done, 2);
        if (dup_text(r, (int)done, 0, &out[done].worker) ||
            dup_text(r, (int)done, 1, &out[done].study))
            rc = nomem(err);
    }
    PQclear(r);
    if (rc != HPO_OK) {
        hpo_running_trials_free(out, done);
        return rc;
    }
    *ret = out;
    *ret_n = n;
    return HPO_OK;
}


hpo_rc hpo_db_stale_studies(hpo_db *db, int64_t now_ms, char ***ret, size_t *ret_n,
                            hpo_error *err)
{
    numbuf nb;
    const char *params[] = {fmt_i64(&nb, now_ms)};
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db,
                            "SELECT DISTINCT s.name FROM trials t JOIN studies s ON s.id = t.study_id"
                            " WHERE t.state = 'running' AND s.heartbeat_grace_ms IS NOT NULL"
                            " AND coalesce(t.heartbeat_at, t.started_at, t.created_at)"
                            "   < " TS(1) " - s.heartbeat_grace_ms * interval '1 millisecond'",
                            1, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    size_t n = (size_t)PQntuples(r), done = 0;
    char **out = calloc(n ? n : 1, sizeof *out);
    if (!out)
        rc = nomem(err);
    for (; rc == HPO_OK && done < n; done++)
        if (dup_text(r, (int)done, 0, &out[done]))
            rc = nomem(err);
    PQclear(r);
    if (rc != HPO_OK) {
        for (size_t i = 0; out && i < done; i++)
            free(out[i]);
        free(out);
        return rc;
    }
    *ret = out;
    *ret_n = n;
    return HPO_OK;
}
