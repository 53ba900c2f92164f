/* hpo_queries_limits: the SQL that counts what a server limit caps: studies and artifact bytes. */
#include "store_internal.h"

/* Taken by every study creation (with the count), so that two creations, on one server or two,
 * never both pass the last free place under --max-studies. Not the migration lock's key. */
#define STUDY_CREATE_LOCK_KEY "7525470402330538611"

hpo_rc hpo_db_study_count(hpo_db *db, const char *name, int64_t *ret_n, bool *ret_exists,
                          hpo_error *err)
{
    hpo_rc rc = hpo_db_exec(db, "SELECT pg_advisory_xact_lock(" STUDY_CREATE_LOCK_KEY ")", 0,
                            NULL, NULL, err);
    if (rc != HPO_OK)
        return rc;
    const char *params[] = {name};
    PGresult *r = NULL;
    rc = hpo_db_exec(db, "SELECT count(*), coalesce(bool_or(name = $1), false) FROM studies", 1,
                     params, &r, err);
    if (rc != HPO_OK)
        return rc;
    *ret_n = get_i64(r, 0, 0);
    *ret_exists = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    return HPO_OK;
}

hpo_rc hpo_db_artifact_usage(hpo_db *db, int64_t trial_id, const char *name,
                             int64_t *ret_trial, int64_t *ret_study, int64_t *ret_total,
                             hpo_error *err)
{
    numbuf tb;
    const char *params[] = {fmt_i64(&tb, trial_id), name};
    PGresult *r = NULL;
    /* the artifact being replaced does not count: its new size takes its place */
    hpo_rc rc = hpo_db_exec(db,
                            "SELECT coalesce(sum(a.size) FILTER (WHERE a.trial_id = $1::bigint), 0),"
                            " coalesce(sum(a.size) FILTER (WHERE t.study_id ="
                            "  (SELECT study_id FROM trials WHERE id = $1::bigint)), 0),"
                            " coalesce(sum(a.size), 0)"
                            " FROM artifacts a JOIN trials t ON t.id = a.trial_id"
                            " WHERE NOT (a.trial_id = $1::bigint AND a.name = $2)",
                            2, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    *ret_trial = get_i64(r, 0, 0);
    *ret_study = get_i64(r, 0, 1);
    *ret_total = get_i64(r, 0, 2);
    PQclear(r);
    return HPO_OK;
}
