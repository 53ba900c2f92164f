/* hpo_space: the search-space model: distributions, validation, external <-> internal values. */
#ifndef HPO_SPACE_H
#define HPO_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include "hpo_error.h"

typedef enum { HPO_DIST_FLOAT = 0, HPO_DIST_INT = 1, HPO_DIST_CATEGORICAL = 2 } hpo_dist_type;

typedef enum {
    HPO_CHOICE_NULL = 0,
    HPO_CHOICE_BOOL = 1,
    HPO_CHOICE_NUMBER = 2,
    HPO_CHOICE_STRING = 3,
} hpo_choice_kind;

/* One categorical choice. str is owned by the choice (NULL unless kind is STRING). A number
 * choice keeps whether it was written as an integer so it goes back on the wire the same way. */
typedef struct {
    hpo_choice_kind kind;
    bool boolean;
    bool integer;
    double number;
    char *str;
} hpo_choice;

/* A distribution. For FLOAT and INT: low, high, step (0 = continuous float; INT defaults to 1),
 * log. For CATEGORICAL: choices (owned). */
typedef struct {
    hpo_dist_type type;
    double low, high, step;
    bool log;
    size_t n_choices;
    hpo_choice *choices;
} hpo_dist;

/* One named entry of a declared search space. */
typedef struct {
    char *name; /* owned */
    hpo_dist dist;
} hpo_param_def;

typedef struct {
    size_t n;
    hpo_param_def *items; /* owned */
} hpo_space;

/* Checks a distribution; on error sets err->field to `field` (or field + ".low" etc.) with a
 * precise message: low > high, log with low <= 0, log with step, step not fitting the range,
 * non-positive step, NaN/infinite bounds, int bounds not integers, empty or duplicate choices. */
hpo_rc hpo_dist_validate(const hpo_dist *d, const char *field, hpo_error *err);

/* Deep equality (same type, bounds, step, log, choices in order). */
bool hpo_dist_equal(const hpo_dist *a, const hpo_dist *b);
bool hpo_choice_equal(const hpo_choice *a, const hpo_choice *b);

/* Deep copy into *ret (owned by the caller; release with hpo_dist_clear). */
hpo_rc hpo_dist_copy(hpo_dist *ret, const hpo_dist *src);
/* Releases owned memory and zeroes *d. NULL is a no-op. */
void hpo_dist_clear(hpo_dist *d);

/* Whether an internal value belongs to the distribution: in [low, high] and on the step grid
 * for FLOAT/INT (INT: an integer; FLOAT: high always belongs), an index in [0, n_choices) for
 * CATEGORICAL. */
bool hpo_dist_contains(const hpo_dist *d, double internal);

/* Checks an external numeric value for FLOAT/INT and returns its internal value (equal to it).
 * HPO_E_INVALID naming `field` when outside the distribution. */
hpo_rc hpo_dist_number_to_internal(const hpo_dist *d, double value, const char *field,
                                   double *ret_internal, hpo_error *err);
/* The index of a choice equal to c; HPO_E_INVALID naming `field` when none is. */
hpo_rc hpo_dist_choice_to_internal(const hpo_dist *d, const hpo_choice *c, const char *field,
                                   double *ret_internal, hpo_error *err);
/* An external value (a number for FLOAT/INT, one of the choices for CATEGORICAL) -> its internal
 * value; HPO_E_INVALID naming `field` when it does not belong to the distribution. */
hpo_rc hpo_dist_value_to_internal(const hpo_dist *d, const hpo_choice *v, const char *field,
                                  double *ret_internal, hpo_error *err);
/* Rounds a raw internal value onto the distribution (step grid, integer, clip to bounds). */
double hpo_dist_round(const hpo_dist *d, double internal);

/* Space: find by name (NULL when absent; borrowed), add a copy of a distribution, free. */
const hpo_param_def *hpo_space_find(const hpo_space *s, const char *name);
hpo_rc hpo_space_add(hpo_space *s, const char *name, const hpo_dist *d);
hpo_rc hpo_space_copy(hpo_space *ret, const hpo_space *src);
void hpo_space_clear(hpo_space *s);

/* Param names: 1-256 bytes, no control characters. */
hpo_rc hpo_param_name_validate(const char *name, const char *field, hpo_error *err);

#endif
