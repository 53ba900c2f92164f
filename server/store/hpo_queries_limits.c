/* hpo_queries_limits: the SQL that counts what a server limit caps: studies (artifact bytes are
 * counted by the statement that stores an artifact, hpo_queries.c). */
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
