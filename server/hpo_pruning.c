/* hpo_pruning: pruner options from JSON, one table of options per pruner type. */
#include "hpo_pruning.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_codec.h"

typedef enum { OPT_INT, OPT_STEPS, OPT_NUMBER, OPT_RESOURCE, OPT_BOUND, OPT_WRAPPED } opt_kind;

typedef struct {
    const char *name;
    opt_kind kind;
    size_t offset; /* into hpo_pruner_config */
} option;

#define OPT(name, kind, member) {name, kind, offsetof(hpo_pruner_config, member)}

static const option MEDIAN_OPTS[] = {
    OPT("n_startup_trials", OPT_INT, n_startup_trials),
    OPT("n_warmup_steps", OPT_STEPS, n_warmup_steps),
    OPT("interval_steps", OPT_STEPS, interval_steps),
    OPT("n_min_trials", OPT_INT, n_min_trials),
    {NULL, OPT_INT, 0},
};
static const option PERCENTILE_OPTS[] = {
    OPT("percentile", OPT_NUMBER, percentile),
    OPT("n_startup_trials", OPT_INT, n_startup_trials),
    OPT("n_warmup_steps", OPT_STEPS, n_warmup_steps),
    OPT("interval_steps", OPT_STEPS, interval_steps),
    OPT("n_min_trials", OPT_INT, n_min_trials),
    {NULL, OPT_INT, 0},
};
static const option THRESHOLD_OPTS[] = {
    OPT("lower", OPT_BOUND, lower),
    OPT("upper", OPT_BOUND, upper),
    OPT("n_warmup_steps", OPT_STEPS, n_warmup_steps),
    OPT("interval_steps", OPT_STEPS, interval_steps),
    {NULL, OPT_INT, 0},
};
static const option PATIENT_OPTS[] = {
    OPT("patience", OPT_STEPS, patience),
    OPT("min_delta", OPT_NUMBER, min_delta),
    OPT("wrapped", OPT_WRAPPED, wrapped),
    {NULL, OPT_INT, 0},
};
static const option SH_OPTS[] = {
    OPT("min_resource", OPT_RESOURCE, min_resource),
    OPT("reduction_factor", OPT_INT, reduction_factor),
    OPT("min_early_stopping_rate", OPT_INT, min_early_stopping_rate),
    OPT("bootstrap_count", OPT_INT, bootstrap_count),
    {NULL, OPT_INT, 0},
};
static const option HYPERBAND_OPTS[] = {
    OPT("min_resource", OPT_STEPS, min_resource),
    OPT("max_resource", OPT_RESOURCE, max_resource),
    OPT("reduction_factor", OPT_INT, reduction_factor),
    OPT("bootstrap_count", OPT_INT, bootstrap_count),
    {NULL, OPT_INT, 0},
};
static const option ASHA_OPTS[] = {
    OPT("min_resource", OPT_STEPS, min_resource),
    OPT("max_resource", OPT_STEPS, max_resource),
    OPT("reduction_factor", OPT_INT, reduction_factor),
    {NULL, OPT_INT, 0},
};
static const option NO_OPTS[] = {{NULL, OPT_INT, 0}};

static const struct {
    const char *name;
    hpo_pruner_type type;
    const option *opts;
} TYPES[] = {
    {"none", HPO_PRUNER_NONE, NO_OPTS},
    {"median", HPO_PRUNER_MEDIAN, MEDIAN_OPTS},
    {"percentile", HPO_PRUNER_PERCENTILE, PERCENTILE_OPTS},
    {"threshold", HPO_PRUNER_THRESHOLD, THRESHOLD_OPTS},
    {"patient", HPO_PRUNER_PATIENT, PATIENT_OPTS},
    {"successive_halving", HPO_PRUNER_SUCCESSIVE_HALVING, SH_OPTS},
    {"hyperband", HPO_PRUNER_HYPERBAND, HYPERBAND_OPTS},
    {"asha", HPO_PRUNER_ASHA, ASHA_OPTS},
};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])

/* Fills `out` with every option's effective value, so a stored config reads the same forever. */
static void spell_out(const hpo_pruner_config *c, json_t *out)
{
    const option *opts = NO_OPTS;
    for (size_t t = 0; t < N_TYPES; t++)
        if (TYPES[t].type == c->type)
            opts = TYPES[t].opts;
    for (const option *o = opts; o->name; o++) {
        if (json_object_get(out, o->name))
            continue;
        const char *at = (const char *)c + o->offset;
        switch (o->kind) {
        case OPT_INT:
            json_object_set_new(out, o->name, json_integer(*(const int *)at));
            break;
        case OPT_STEPS:
            json_object_set_new(out, o->name, json_integer(*(const int64_t *)at));
            break;
        case OPT_RESOURCE:
            json_object_set_new(out, o->name, *(const int64_t *)at
                                                  ? json_integer(*(const int64_t *)at)
                                                  : json_string("auto"));
            break;
        case OPT_NUMBER:
            json_object_set_new(out, o->name, json_real(*(const double *)at));
            break;
        case OPT_BOUND:
        case OPT_WRAPPED:
            json_object_set_new(out, o->name, json_null());
            break;
        }
    }
}

static hpo_rc parse(json_t *j, const char *field, int depth, hpo_pruner_config *c, json_t *out,
                    hpo_error *err);

static hpo_rc read_option(const option *o, json_t *v, const char *field, int depth,
                          hpo_pruner_config *c, json_t *out, hpo_error *err)
{
    char *at = (char *)c + o->offset;
    switch (o->kind) {
    case OPT_INT:
    case OPT_STEPS:
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > (o->kind == OPT_INT ? 1000000000 : (json_int_t)1 << 50))
            return hpo_error_set(err, HPO_E_INVALID, field, "%s must be an integer >= 0", field);
        if (o->kind == OPT_STEPS)
            *(int64_t *)at = json_integer_value(v);
        else
            *(int *)at = (int)json_integer_value(v);
        json_object_set(out, o->name, v);
        return HPO_OK;
    case OPT_RESOURCE: /* "auto" (0) or an integer >= 1 */
        if (json_is_string(v) && strcmp(json_string_value(v), "auto") == 0) {
            *(int64_t *)at = 0;
        } else if (json_is_integer(v) && json_integer_value(v) >= 1 &&
                   json_integer_value(v) <= (json_int_t)1 << 40) {
            *(int64_t *)at = json_integer_value(v);
        } else {
            return hpo_error_set(err, HPO_E_INVALID, field,
                                 "%s must be \"auto\" or an integer >= 1", field);
        }
        json_object_set(out, o->name, v);
        return HPO_OK;
    case OPT_NUMBER: {
        hpo_rc rc = hpo_json_number(v, field, (double *)at, err);
        if (!rc)
            json_object_set(out, o->name, v);
        return rc;
    }
    case OPT_BOUND: {
        bool lower = o->offset == offsetof(hpo_pruner_config, lower);
        if (json_is_null(v))
            return HPO_OK;
        hpo_rc rc = hpo_json_number(v, field, (double *)at, err);
        if (rc)
            return rc;
        if (lower)
            c->has_lower = true;
        else
            c->has_upper = true;
        json_object_set(out, o->name, v);
        return HPO_OK;
    }
    case OPT_WRAPPED: {
        if (json_is_null(v))
            return HPO_OK;
        if (depth >= 4)
            return hpo_error_set(err, HPO_E_INVALID, field, "pruners nest at most 4 deep");
        hpo_pruner_config *w = calloc(1, sizeof *w);
        json_t *wout = json_object();
        hpo_rc rc = !w || !wout ? hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory")
                                : parse(v, field, depth + 1, w, wout, err);
        c->wrapped = w; /* owned by c even on error, so _clear frees it */
        if (!rc)
            json_object_set(out, o->name, wout);
        json_decref(wout);
        return rc;
    }
    }
    return HPO_OK;
}

static hpo_rc parse(json_t *j, const char *field, int depth, hpo_pruner_config *c, json_t *out,
                    hpo_error *err)
{
    char sub[HPO_ERROR_FIELD_MAX];
    if (!json_is_object(j))
        return hpo_error_set(err, HPO_E_INVALID, field, "%s must be an object", field);
    snprintf(sub, sizeof sub, "%s.type", field);
    const char *type = json_string_value(json_object_get(j, "type"));
    size_t t = 0;
    while (type && t < N_TYPES && strcmp(TYPES[t].name, type) != 0)
        t++;
    if (!type || t == N_TYPES)
        return hpo_error_set(err, HPO_E_INVALID, sub,
                             "%s must be one of none, median, percentile, threshold, patient, "
                             "successive_halving, hyperband, asha", sub);
    hpo_pruner_config_default(TYPES[t].type, c);
    json_object_set_new(out, "type", json_string(type));
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        if (strcmp(key, "type") == 0)
            continue;
        snprintf(sub, sizeof sub, "%s.%s", field, key);
        const option *o = TYPES[t].opts;
        while (o->name && strcmp(o->name, key) != 0)
            o++;
        if (!o->name)
            return hpo_error_set(err, HPO_E_INVALID, sub, "unknown option '%s' for pruner '%s'",
                                 key, type);
        hpo_rc rc = read_option(o, v, sub, depth, c, out, err);
        if (rc)
            return rc;
    }
    spell_out(c, out);
    return HPO_OK;
}

hpo_rc hpo_pruner_configure(const char *text, const hpo_study_config *study,
                            hpo_pruner_config *ret, char **ret_text, hpo_error *err)
{
    json_t *j = text ? json_loads(text, 0, NULL) : json_pack("{s:s}", "type", "none");
    json_t *out = json_object();
    hpo_pruner_config c = {0};
    hpo_rc rc = parse(j, "pruner", 0, &c, out, err);
    json_decref(j);
    if (!rc)
        rc = hpo_pruner_config_validate(&c, err);
    if (!rc && c.type != HPO_PRUNER_NONE && study->n_directions != 1)
        rc = hpo_error_set(err, HPO_E_INVALID, "pruner.type",
                           "pruners need a single objective; use none for several");
    if (!rc && ret_text && !(*ret_text = hpo_json_dump(out)))
        rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    json_decref(out);
    if (rc) {
        hpo_pruner_config_clear(&c);
        return rc;
    }
    *ret = c;
    return HPO_OK;
}
