/* hpo_space: distributions (float, int, categorical), their validation with precise field names,
 * and the mapping between external values and the internal values the algorithms work on. */
#include "hpo_space.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integers beyond 2^53 cannot all be represented in a double. */
#define SPACE_INT_LIMIT 9007199254740992.0
/* Relative tolerance for "is on the step grid" and "step fits the range". */
#define SPACE_GRID_TOL 1e-8

/* "<field><suffix>" into out; an empty or NULL field gives the suffix without its leading dot. */
static const char *subfield(char *out, size_t size, const char *field, const char *suffix)
{
    if (!field || !*field)
        snprintf(out, size, "%s", suffix[0] == '.' ? suffix + 1 : suffix);
    else
        snprintf(out, size, "%s%s", field, suffix);
    return out;
}

static bool is_integral(double x)
{
    return isfinite(x) && floor(x) == x;
}

/* Whether x is (close to) an integer, relative to its size. */
static bool near_integer(double x)
{
    double r = nearbyint(x);
    return fabs(x - r) <= SPACE_GRID_TOL * fmax(1.0, fabs(r));
}

static const char *type_name(hpo_dist_type t)
{
    switch (t) {
    case HPO_DIST_FLOAT: return "float";
    case HPO_DIST_INT: return "int";
    case HPO_DIST_CATEGORICAL: return "categorical";
    }
    return "unknown";
}

static hpo_rc validate_bounds(const hpo_dist *d, const char *field, hpo_error *err)
{
    char f[HPO_ERROR_FIELD_MAX];
    bool is_int = d->type == HPO_DIST_INT;

    if (!isfinite(d->low))
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".low"),
                             "low must be a finite number");
    if (!isfinite(d->high))
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".high"),
                             "high must be a finite number");
    if (is_int && (!is_integral(d->low) || fabs(d->low) > SPACE_INT_LIMIT))
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".low"),
                             "low must be an integer (got %.17g)", d->low);
    if (is_int && (!is_integral(d->high) || fabs(d->high) > SPACE_INT_LIMIT))
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".high"),
                             "high must be an integer (got %.17g)", d->high);
    if (d->low > d->high)
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".low"),
                             "low (%.17g) must not be greater than high (%.17g)", d->low, d->high);
    return HPO_OK;
}

static hpo_rc validate_float(const hpo_dist *d, const char *field, hpo_error *err)
{
    char f[HPO_ERROR_FIELD_MAX];
    hpo_rc rc = validate_bounds(d, field, err);
    if (rc != HPO_OK)
        return rc;
    if (isnan(d->step) || d->step < 0 || isinf(d->step))
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".step"),
                             "step must be a finite number > 0 (or absent for a continuous range)");
    if (d->log && d->step > 0)
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".step"),
                             "step cannot be used together with log");
    if (d->log && d->low <= 0)
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".low"),
                             "low must be > 0 when log is true (got %.17g)", d->low);
    if (d->step > 0 && !near_integer((d->high - d->low) / d->step))
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".step"),
                             "step %.17g does not fit the range [%.17g, %.17g]: high - low must "
                             "be a multiple of step", d->step, d->low, d->high);
    return HPO_OK;
}

static hpo_rc validate_int(const hpo_dist *d, const char *field, hpo_error *err)
{
    char f[HPO_ERROR_FIELD_MAX];
    hpo_rc rc = validate_bounds(d, field, err);
    if (rc != HPO_OK)
        return rc;
    if (!is_integral(d->step) || d->step < 1 || d->step > SPACE_INT_LIMIT)
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".step"),
                             "step must be an integer >= 1 (got %.17g)", d->step);
    if (d->log && d->step != 1)
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".step"),
                             "step must be 1 when log is true (got %.17g)", d->step);
    if (d->log && d->low < 1)
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".low"),
                             "low must be >= 1 when log is true (got %.17g)", d->low);
    if (fmod(d->high - d->low, d->step) != 0)
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".step"),
                             "step %.17g does not fit the range [%.17g, %.17g]: high - low must "
                             "be a multiple of step", d->step, d->low, d->high);
    return HPO_OK;
}

static hpo_rc validate_categorical(const hpo_dist *d, const char *field, hpo_error *err)
{
    char f[HPO_ERROR_FIELD_MAX];
    char idx[32];
    if (d->n_choices == 0 || !d->choices)
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".choices"),
                             "choices must hold at least one choice");
    for (size_t i = 0; i < d->n_choices; i++) {
        const hpo_choice *c = &d->choices[i];
        snprintf(idx, sizeof idx, ".choices[%zu]", i);
        switch (c->kind) {
        case HPO_CHOICE_NULL:
        case HPO_CHOICE_BOOL:
            break;
        case HPO_CHOICE_NUMBER:
            if (!isfinite(c->number))
                return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, idx),
                                     "a number choice must be finite");
            break;
        case HPO_CHOICE_STRING:
            if (!c->str)
                return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, idx),
                                     "a string choice must have a string");
            break;
        default:
            return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, idx),
                                 "a choice must be a string, a number, a boolean or null");
        }
        for (size_t k = 0; k < i; k++)
            if (hpo_choice_equal(&d->choices[k], c))
                return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, idx),
                                     "duplicate choice: equal to choices[%zu]", k);
    }
    return HPO_OK;
}

hpo_rc hpo_dist_validate(const hpo_dist *d, const char *field, hpo_error *err)
{
    char f[HPO_ERROR_FIELD_MAX];
    switch (d->type) {
    case HPO_DIST_FLOAT: return validate_float(d, field, err);
    case HPO_DIST_INT: return validate_int(d, field, err);
    case HPO_DIST_CATEGORICAL: return validate_categorical(d, field, err);
    }
    return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".type"),
                         "type must be one of \"float\", \"int\", \"categorical\"");
}

bool hpo_choice_equal(const hpo_choice *a, const hpo_choice *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case HPO_CHOICE_NULL: return true;
    case HPO_CHOICE_BOOL: return a->boolean == b->boolean;
    case HPO_CHOICE_NUMBER: return a->number == b->number;
    case HPO_CHOICE_STRING:
        if (!a->str || !b->str)
            return a->str == b->str;
        return strcmp(a->str, b->str) == 0;
    }
    return false;
}

bool hpo_dist_equal(const hpo_dist *a, const hpo_dist *b)
{
    if (a->type != b->type)
        return false;
    if (a->type != HPO_DIST_CATEGORICAL)
        return a->low == b->low && a->high == b->high && a->step == b->step && a->log == b->log;
    if (a->n_choices != b->n_choices)
        return false;
    for (size_t i = 0; i < a->n_choices; i++)
        if (!hpo_choice_equal(&a->choices[i], &b->choices[i]))
            return false;
    return true;
}

hpo_rc hpo_dist_copy(hpo_dist *ret, const hpo_dist *src)
{
    hpo_dist d = *src;
    d.choices = NULL;
    d.n_choices = 0;
    if (src->type == HPO_DIST_CATEGORICAL && src->n_choices > 0) {
        d.choices = calloc(src->n_choices, sizeof *d.choices);
        if (!d.choices)
            return HPO_E_NOMEM;
        for (size_t i = 0; i < src->n_choices; i++) {
            d.choices[i] = src->choices[i];
            d.choices[i].str = NULL;
            if (src->choices[i].str) {
                d.choices[i].str = strdup(src->choices[i].str);
                if (!d.choices[i].str) {
                    d.n_choices = i;
                    hpo_dist_clear(&d);
                    return HPO_E_NOMEM;
                }
            }
        }
        d.n_choices = src->n_choices;
    }
    *ret = d;
    return HPO_OK;
}

void hpo_dist_clear(hpo_dist *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_choices && d->choices; i++)
        free(d->choices[i].str);
    free(d->choices);
    memset(d, 0, sizeof *d);
}

/* Whether x lies on low + k*step, with a tolerance relative to the step and to the magnitudes:
 * far from 0 a double cannot hold the points of a fine grid exactly, and the point
 * hpo_dist_round computes (low + k*step, rounded) must still be on it. */
static bool on_grid(double low, double step, double x)
{
    double k = nearbyint((x - low) / step);
    double slack = SPACE_GRID_TOL * step + 4 * DBL_EPSILON * fmax(fabs(low), fabs(x));
    return fabs(x - (low + k * step)) <= slack;
}

bool hpo_dist_contains(const hpo_dist *d, double internal)
{
    if (!isfinite(internal))
        return false;
    switch (d->type) {
    case HPO_DIST_FLOAT:
        if (internal < d->low || internal > d->high)
            return false;
        /* high belongs even when validation let it miss the grid by its relative tolerance
         * (a large (high - low) / step): hpo_dist_round clips to it */
        return d->step > 0 ? internal == d->high || on_grid(d->low, d->step, internal) : true;
    case HPO_DIST_INT:
        if (!is_integral(internal) || internal < d->low || internal > d->high)
            return false;
        return d->step <= 1 || fmod(internal - d->low, d->step) == 0;
    case HPO_DIST_CATEGORICAL:
        return is_integral(internal) && internal >= 0 && internal < (double)d->n_choices;
    }
    return false;
}

hpo_rc hpo_dist_number_to_internal(const hpo_dist *d, double value, const char *field,
                                   double *ret_internal, hpo_error *err)
{
    if (d->type == HPO_DIST_CATEGORICAL) {
        hpo_choice c = { .kind = HPO_CHOICE_NUMBER, .number = value, .integer = is_integral(value) };
        return hpo_dist_choice_to_internal(d, &c, field, ret_internal, err);
    }
    if (!isfinite(value))
        return hpo_error_set(err, HPO_E_INVALID, field, "value must be a finite number");
    if (d->type == HPO_DIST_INT && !is_integral(value))
        return hpo_error_set(err, HPO_E_INVALID, field, "value %.17g must be an integer", value);
    if (value < d->low || value > d->high)
        return hpo_error_set(err, HPO_E_INVALID, field, "value %.17g is outside [%.17g, %.17g]",
                             value, d->low, d->high);
    if (!hpo_dist_contains(d, value))
        return hpo_error_set(err, HPO_E_INVALID, field,
                             "value %.17g is not on the step grid (low %.17g, step %.17g)",
                             value, d->low, d->step);
    if (ret_internal)
        *ret_internal = value;
    return HPO_OK;
}

hpo_rc hpo_dist_choice_to_internal(const hpo_dist *d, const hpo_choice *c, const char *field,
                                   double *ret_internal, hpo_error *err)
{
    if (d->type != HPO_DIST_CATEGORICAL)
        return hpo_error_set(err, HPO_E_INVALID, field,
                             "value must be a number for a %s distribution", type_name(d->type));
    for (size_t i = 0; i < d->n_choices; i++) {
        if (hpo_choice_equal(&d->choices[i], c)) {
            if (ret_internal)
                *ret_internal = (double)i;
            return HPO_OK;
        }
    }
    return hpo_error_set(err, HPO_E_INVALID, field, "value is not one of the choices");
}

double hpo_dist_round(const hpo_dist *d, double internal)
{
    double x = internal;
    if (d->type == HPO_DIST_CATEGORICAL) {
        if (d->n_choices == 0 || isnan(x))
            return 0;
        x = nearbyint(x);
        if (x < 0)
            x = 0;
        if (x > (double)(d->n_choices - 1))
            x = (double)(d->n_choices - 1);
        return x;
    }
    if (isnan(x))
        return d->low;
    double step = d->type == HPO_DIST_INT ? fmax(d->step, 1.0) : d->step;
    if (step > 0 && isfinite(x))
        x = d->low + nearbyint((x - d->low) / step) * step;
    else if (d->type == HPO_DIST_INT && isfinite(x))
        x = nearbyint(x);
    if (x < d->low)
        x = d->low;
    if (x > d->high)
        x = d->high;
    return x;
}

const hpo_param_def *hpo_space_find(const hpo_space *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i].name, name) == 0)
            return &s->items[i];
    return NULL;
}

hpo_rc hpo_space_add(hpo_space *s, const char *name, const hpo_dist *d)
{
    if (hpo_space_find(s, name))
        return HPO_E_EXISTS;
    hpo_param_def *items = realloc(s->items, (s->n + 1) * sizeof *items);
    if (!items)
        return HPO_E_NOMEM;
    s->items = items;
    hpo_param_def def = { .name = strdup(name) };
    if (!def.name)
        return HPO_E_NOMEM;
    if (hpo_dist_copy(&def.dist, d) != HPO_OK) {
        free(def.name);
        return HPO_E_NOMEM;
    }
    s->items[s->n++] = def;
    return HPO_OK;
}

hpo_rc hpo_space_copy(hpo_space *ret, const hpo_space *src)
{
    hpo_space s = { 0 };
    for (size_t i = 0; i < src->n; i++) {
        hpo_rc rc = hpo_space_add(&s, src->items[i].name, &src->items[i].dist);
        if (rc != HPO_OK) {
            hpo_space_clear(&s);
            return rc;
        }
    }
    *ret = s;
    return HPO_OK;
}

void hpo_space_clear(hpo_space *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].name);
        hpo_dist_clear(&s->items[i].dist);
    }
    free(s->items);
    s->items = NULL;
    s->n = 0;
}

hpo_rc hpo_param_name_validate(const char *name, const char *field, hpo_error *err)
{
    if (!name || !*name)
        return hpo_error_set(err, HPO_E_INVALID, field, "a param name must not be empty");
    size_t len = strlen(name);
    if (len > 256)
        return hpo_error_set(err, HPO_E_INVALID, field,
                             "a param name must be at most 256 bytes (got %zu)", len);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 0x20 || ch == 0x7f)
            return hpo_error_set(err, HPO_E_INVALID, field,
                                 "a param name must not contain control characters");
    }
    return HPO_OK;
}

hpo_rc hpo_dist_value_to_internal(const hpo_dist *d, const hpo_choice *v, const char *field,
                                  double *ret_internal, hpo_error *err)
{
    if (d->type == HPO_DIST_CATEGORICAL)
        return hpo_dist_choice_to_internal(d, v, field, ret_internal, err);
    if (v->kind != HPO_CHOICE_NUMBER || !isfinite(v->number))
        return hpo_error_set(err, HPO_E_INVALID, field, "must be a finite number");
    return hpo_dist_number_to_internal(d, v->number, field, ret_internal, err);
}
