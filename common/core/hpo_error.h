/* hpo_error: the one result enum of the project and an error struct (code, message, field). */
#ifndef HPO_ERROR_H
#define HPO_ERROR_H

#include <stdarg.h>

/* 0 is success, negative is an error. Append-only: values are never renumbered. */
typedef enum {
    HPO_OK = 0,
    HPO_E_INVALID = -1,        /* invalid_argument (400) */
    HPO_E_NOT_FOUND = -2,      /* not_found (404) */
    HPO_E_EXISTS = -3,         /* already_exists (409) */
    HPO_E_CONFLICT = -4,       /* conflict (409) */
    HPO_E_FINISHED = -5,       /* trial_finished (409) */
    HPO_E_COMPLETE = -6,       /* study_complete (409) */
    HPO_E_TOO_LARGE = -7,      /* too_large (413) */
    HPO_E_UNAVAILABLE = -8,    /* unavailable (503) */
    HPO_E_NOMEM = -9,          /* internal (500) */
    HPO_E_INTERNAL = -10,      /* internal (500) */
    HPO_E_NO_WORK = -11,       /* no work now, retry later (204) */
    HPO_E_UNAUTHENTICATED = -12, /* unauthenticated (401): no token, or a bad one */
    HPO_E_PERMISSION = -13,    /* permission_denied (403): the token's scope or study */
    HPO_E_LIMIT = -14,         /* limit_exceeded (409): a configured server limit */
} hpo_rc;

#define HPO_ERROR_MESSAGE_MAX 512
#define HPO_ERROR_FIELD_MAX 160

typedef struct {
    hpo_rc code;
    char message[HPO_ERROR_MESSAGE_MAX];
    char field[HPO_ERROR_FIELD_MAX]; /* JSON path of the input at fault ("" when none) */
} hpo_error;

/* The snake_case code used on the wire ("invalid_argument", ...). Never NULL. */
const char *hpo_rc_name(hpo_rc rc);

/* Clears err (code HPO_OK, empty message and field). err may be NULL. */
void hpo_error_clear(hpo_error *err);

/* Fills err (which may be NULL) and returns code, so callers can `return hpo_error_set(...)`.
 * field may be NULL. */
hpo_rc hpo_error_set(hpo_error *err, hpo_rc code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
hpo_rc hpo_error_setv(hpo_error *err, hpo_rc code, const char *field, const char *fmt, va_list ap);

#endif
