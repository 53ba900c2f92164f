/* hpo_queries_tokens: the SQL of API tokens (insert, list, look-up by hash, revoke, last use). */
#include "store_internal.h"

#define TOKEN_COLS                                                                      \
    "id, hash, scope, study, study_prefix, name, " MS("created_at") ", " MS("expires_at") \
    ", " MS("last_used_at") ", " MS("revoked_at")
#define USABLE "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"

static void copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static hpo_rc parse_token(PGresult *r, int row, hpo_token_info *t, hpo_error *err)
{
    memset(t, 0, sizeof *t);
    t->grant.id = get_i64(r, row, 0);
    copy_field(t->hash, sizeof t->hash, get_text(r, row, 1));
    int scope = hpo_scope_parse(get_text(r, row, 2));
    t->grant.scope = scope > 0 ? (hpo_scope)scope : HPO_SCOPE_READ;
    copy_field(t->grant.study, sizeof t->grant.study, get_text(r, row, 3));
    copy_field(t->grant.study_prefix, sizeof t->grant.study_prefix, get_text(r, row, 4));
    t->created_ms = get_i64(r, row, 6);
    t->grant.expires_ms = get_i64(r, row, 7);
    t->last_used_ms = get_i64(r, row, 8);
    t->revoked_ms = get_i64(r, row, 9);
    if (dup_text(r, row, 5, &t->name))
        return nomem(err);
    return HPO_OK;
}

hpo_rc hpo_db_token_insert(hpo_db *db, hpo_token_info *t, hpo_error *err)
{
    numbuf eb;
    const char *params[] = {t->hash,
                            hpo_scope_name(t->grant.scope),
                            t->grant.study[0] ? t->grant.study : NULL,
                            t->grant.study_prefix[0] ? t->grant.study_prefix : NULL,
                            t->name,
                            fmt_ms(&eb, t->grant.expires_ms)};
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db,
                            "INSERT INTO tokens (hash, scope, study, study_prefix, name, expires_at)"
                            " VALUES ($1, $2, $3, $4, $5, " TS(6) ") RETURNING id, "
                            MS("created_at"),
                            6, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    t->grant.id = get_i64(r, 0, 0);
    t->created_ms = get_i64(r, 0, 1);
    PQclear(r);
    return HPO_OK;
}

hpo_rc hpo_db_token_list(hpo_db *db, bool usable_only, hpo_token_info **ret, size_t *ret_n,
                         hpo_error *err)
{
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db,
                            usable_only ? "SELECT " TOKEN_COLS " FROM tokens WHERE " USABLE
                                          " ORDER BY id"
                                        : "SELECT " TOKEN_COLS " FROM tokens ORDER BY id",
                            0, NULL, &r, err);
    if (rc != HPO_OK)
        return rc;
    size_t n = (size_t)PQntuples(r), done = 0;
    hpo_token_info *out = calloc(n ? n : 1, sizeof *out);
    if (!out)
        rc = nomem(err);
    for (; rc == HPO_OK && done < n; done++)
        rc = parse_token(r, (int)done, &out[done], err);
    PQclear(r);
    if (rc != HPO_OK) {
        hpo_token_infos_free(out, done);
        return rc;
    }
    *ret = out;
    *ret_n = n;
    return HPO_OK;
}

hpo_rc hpo_db_token_by_hash(hpo_db *db, const char *hash, hpo_token_info *ret, hpo_error *err)
{
    const char *params[] = {hash};
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db, "SELECT " TOKEN_COLS " FROM tokens WHERE hash = $1 AND " USABLE,
                            1, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = hpo_error_set(err, HPO_E_NOT_FOUND, NULL, "no such token");
    else
        rc = parse_token(r, 0, ret, err);
    PQclear(r);
    return rc;
}

hpo_rc hpo_db_token_revoke(hpo_db *db, int64_t id, hpo_error *err)
{
    numbuf ib;
    const char *params[] = {fmt_i64(&ib, id)};
    PGresult *r = NULL;
    hpo_rc rc = hpo_db_exec(db,
                            "UPDATE tokens SET revoked_at = coalesce(revoked_at, now())"
                            " WHERE id = $1::bigint",
                            1, params, &r, err);
    if (rc != HPO_OK)
        return rc;
    long n = affected_rows(r);
    PQclear(r);
    return n == 0 ? hpo_error_set(err, HPO_E_NOT_FOUND, NULL, "no token with id %lld",
                                  (long long)id)
                  : HPO_OK;
}

/* "{1,2,3}": a bigint[] literal. Owned; NULL on OOM. */
static char *i64_array(const int64_t *v, size_t n)
{
    char *s = malloc(n * 21 + 3);
    if (!s)
        return NULL;
    size_t len = 0;
    s[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(s + len, "%s%" PRId64, i ? "," : "", v[i]);
    s[len++] = '}';
    s[len] = '\0';
    return s;
}

hpo_rc hpo_db_tokens_touch(hpo_db *db, const int64_t *ids, const int64_t *ms, size_t n,
                           hpo_error *err)
{
    if (n == 0)
        return HPO_OK;
    char *id_text = i64_array(ids, n), *ms_text = i64_array(ms, n);
    hpo_rc rc = HPO_OK;
    if (!id_text || !ms_text)
        rc = nomem(err);
    else {
        const char *params[] = {id_text, ms_text};
        rc = hpo_db_exec(db,
                         "UPDATE tokens t SET last_used_at = greatest(t.last_used_at,"
                         " timestamptz 'epoch' + u.ms * interval '1 millisecond')"
                         " FROM unnest($1::bigint[], $2::bigint[]) AS u (id, ms)"
                         " WHERE t.id = u.id",
                         2, params, NULL, err);
    }
    free(id_text);
    free(ms_text);
    return rc;
}
