/* hpo_error: names of result codes and filling of the error struct (code, message, field). */
#include "hpo_error.h"

#include <stdio.h>
#include <string.h>

const char *hpo_rc_name(hpo_rc rc)
{
    switch (rc) {
    case HPO_OK: return "ok";
    case HPO_E_INVALID: return "invalid_argument";
    case HPO_E_NOT_FOUND: return "not_found";
    case HPO_E_EXISTS: return "already_exists";
    case HPO_E_CONFLICT: return "conflict";
    case HPO_E_FINISHED: return "trial_finished";
    case HPO_E_COMPLETE: return "study_complete";
    case HPO_E_TOO_LARGE: return "too_large";
    case HPO_E_UNAVAILABLE: return "unavailable";
    case HPO_E_NOMEM: return "internal";
    case HPO_E_INTERNAL: return "internal";
    case HPO_E_NO_WORK: return "no_work";
    case HPO_E_UNAUTHENTICATED: return "unauthenticated";
    case HPO_E_PERMISSION: return "permission_denied";
    case HPO_E_LIMIT: return "limit_exceeded";
    }
    return "internal";
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
