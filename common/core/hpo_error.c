/* hpo_error: the one table of result codes (wire code, HTTP status, retry) and the filling of
 * the error struct (code, message, field). */
#include "hpo_error.h"

#include <stdio.h>
#include <string.h>

/* The one table of result codes. The wire codes and statuses are the contract of
 * proto/errors.md: never change one, append rows. Retriable: 503 (the database is away) and 204
 * (no work now), both answered with Retry-After. */
#define ROW(rc, name, status, retriable, by_status, alias) \
    [-(rc)] = {(rc), (name), (status), (retriable), (by_status), (alias)}
static const hpo_rc_info table[] = {
    ROW(HPO_OK, "ok", 200, false, true, false),
    ROW(HPO_E_INVALID, "invalid_argument", 400, false, true, false),
    ROW(HPO_E_NOT_FOUND, "not_found", 404, false, true, false),
    ROW(HPO_E_EXISTS, "already_exists", 409, false, false, false),
    ROW(HPO_E_CONFLICT, "conflict", 409, false, true, false),
    ROW(HPO_E_FINISHED, "trial_finished", 409, false, false, false),
    ROW(HPO_E_COMPLETE, "study_complete", 409, false, false, false),
    ROW(HPO_E_TOO_LARGE, "too_large", 413, false, true, false),
    ROW(HPO_E_UNAVAILABLE, "unavailable", 503, true, true, false),
    ROW(HPO_E_NOMEM, "internal", 500, false, false, true), /* out of memory: internal */
    ROW(HPO_E_INTERNAL, "internal", 500, false, true, false),
    ROW(HPO_E_NO_WORK, "no_work", 204, true, true, false), /* not an error: 204, no body */
    ROW(HPO_E_UNAUTHENTICATED, "unauthenticated", 401, false, true, false),
    ROW(HPO_E_PERMISSION, "permission_denied", 403, false, true, false),
    ROW(HPO_E_LIMIT, "limit_exceeded", 409, false, false, false),
    ROW(HPO_E_METHOD, "method_not_allowed", 405, false, true, false),
};
#undef ROW
#define N_ROWS (sizeof table / sizeof table[0])

const hpo_rc_info *hpo_rc_table(size_t *ret_n)
{
    *ret_n = N_ROWS;
    return table;
}

const hpo_rc_info *hpo_rc_info_of(hpo_rc rc)
{
    long i = -(long)rc; /* rows are indexed by -rc */
    if (i < 0 || (size_t)i >= N_ROWS || !table[i].name)
        return &table[-HPO_E_INTERNAL];
    return &table[i];
}

const char *hpo_rc_name(hpo_rc rc)
{
    return hpo_rc_info_of(rc)->name;
}

int hpo_rc_http_status(hpo_rc rc)
{
    return hpo_rc_info_of(rc)->http_status;
}

bool hpo_rc_retriable(hpo_rc rc)
{
    return hpo_rc_info_of(rc)->retriable;
}

hpo_rc hpo_rc_parse(const char *name, hpo_rc *ret)
{
    for (size_t i = 0; name && i < N_ROWS; i++)
        if (table[i].name && !table[i].alias && strcmp(table[i].name, name) == 0) {
            *ret = table[i].rc;
            return HPO_OK;
        }
    return HPO_E_INVALID;
}

hpo_rc hpo_rc_of_http_status(int status)
{
    for (size_t i = 0; i < N_ROWS; i++)
        if (table[i].name && table[i].by_status && table[i].http_status == status)
            return table[i].rc;
    return HPO_E_INTERNAL;
}

void hpo_error_clear(hpo_error *err)
{
    if (!err)
        return;
    err->code = HPO_OK;
    err->message[0] = '\0';
    err->field[0] = '\0';
}

hpo_rc hpo_error_setv(hpo_error *err, hpo_rc code, const char *field, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    if (fmt)
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    else
        err->message[0] = '\0';
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    return code;
}

hpo_rc hpo_error_set(hpo_error *err, hpo_rc code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hpo_error_setv(err, code, field, fmt, ap);
    va_end(ap);
    return code;
}
