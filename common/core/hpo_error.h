/* hpo_error: the one result enum of the project and an error struct (code, message, field). */
#ifndef HPO_ERROR_H
#define HPO_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* 0 is success, negative is an error. Append-only: values are never renumbered. Each value has
 * one row in the table of hpo_error.c (its wire code, HTTP status, and whether to retry). */
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
    HPO_E_METHOD = -15,        /* method_not_allowed (405): the path exists, not this method */
} hpo_rc;

#define HPO_ERROR_MESSAGE_MAX 512
#define HPO_ERROR_FIELD_MAX 160

typedef struct {
    hpo_rc code;
    char message[HPO_ERROR_MESSAGE_MAX];
    char field[HPO_ERROR_FIELD_MAX]; /* JSON path of the input at fault ("" when none) */
} hpo_error;

/* One row of the table of result codes: how the server answers a code and how a client reads it
 * back. proto/errors.md documents the same table for the wire. */
typedef struct {
    hpo_rc rc;
    const char *name;  /* the wire code, the JSON error.code ("invalid_argument", ...) */
    int http_status;   /* the status the server answers with */
    bool retriable;    /* the same request may succeed later (503, and 204: no work now) */
    bool by_status;    /* what a client reads from the bare status: a body without a known code */
    bool alias;        /* shares its name with another rc, which is what the name reads back as */
} hpo_rc_info;

/* The whole table (*ret_n rows), one row per hpo_rc value. */
const hpo_rc_info *hpo_rc_table(size_t *ret_n);
/* The row of rc; an unknown rc (a bug) gets the row of HPO_E_INTERNAL. Never NULL. */
const hpo_rc_info *hpo_rc_info_of(hpo_rc rc);

/* The snake_case code used on the wire ("invalid_argument", ...). Never NULL. */
const char *hpo_rc_name(hpo_rc rc);
/* The HTTP status the server answers rc with (200 for HPO_OK, 204 for HPO_E_NO_WORK; 500 for an
 * unknown rc). */
int hpo_rc_http_status(hpo_rc rc);
/* Whether a client may send the same request again later and expect another answer. */
bool hpo_rc_retriable(hpo_rc rc);
/* The rc of a wire code: HPO_OK and *ret, or HPO_E_INVALID (*ret unchanged) for a name not in the
 * table. "internal" reads back as HPO_E_INTERNAL. */
hpo_rc hpo_rc_parse(const char *name, hpo_rc *ret);
/* The rc a bare HTTP status stands for (409: HPO_E_CONFLICT); HPO_E_INTERNAL for a status the
 * table does not name (a proxy's 502, ...). */
hpo_rc hpo_rc_of_http_status(int status);

/* Clears err (code HPO_OK, empty message and field). err may be NULL. */
void hpo_error_clear(hpo_error *err);

/* Fills err (which may be NULL) and returns code, so callers can `return hpo_error_set(...)`.
 * field may be NULL. */
hpo_rc hpo_error_set(hpo_error *err, hpo_rc code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
hpo_rc hpo_error_setv(hpo_error *err, hpo_rc code, const char *field, const char *fmt, va_list ap);

#endif
