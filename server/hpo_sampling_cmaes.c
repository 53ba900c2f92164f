/* hpo_sampling_cmaes: the options of Optuna's CmaEsSampler as the cmaes sampler's JSON. */
#include "hpo_sampling_cmaes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo_codec.h"

/* CmaEsSampler's arguments hpo does not take, and why. */
static const char *const UNSUPPORTED[][2] = {
    {"use_separable_cma", "hpo runs the full-covariance CMA-ES only"},
    {"with_margin", "hpo runs CMA-ES without margin"},
    {"source_trials", "warm starting from other studies is not built"},
    {"independent_sampler", "params outside CMA-ES are always drawn at random"},
    {"warn_independent_sampling", "the server does not warn"},
};

static hpo_rc invalid(hpo_error *err, const char *option, const char *what)
{
    char field[HPO_ERROR_FIELD_MAX];
    snprintf(field, sizeof field, "sampler.%s", option);
    return hpo_error_set(err, HPO_E_INVALID, field, "sampler.%s must be %s", option, what);
}

static hpo_rc read_int(json_t *v, const char *option, long long lo, long long hi, long long *ret,
                       hpo_error *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char what[80];
        snprintf(what, sizeof what, "an integer in [%lld, %lld]", lo, hi);
        return invalid(err, option, what);
    }
    *ret = json_integer_value(v);
    return HPO_OK;
}

/* x0: {param: value} over the declared numeric params, into one internal value per declared
 * param (NaN: not given). */
static hpo_rc read_x0(json_t *v, const hpo_space *space, hpo_cmaes_options *o, hpo_error *err)
{
    if (json_is_null(v))
        return HPO_OK;
    if (!json_is_object(v))
        return invalid(err, "x0", "null or an object {param: value}");
    if (!(o->x0 = malloc((space->n ? space->n : 1) * sizeof *o->x0)))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    for (size_t i = 0; i < space->n; i++)
        o->x0[i] = NAN;
    const char *name;
    json_t *x;
    json_object_foreach(v, name, x) {
        const hpo_param_def *def = hpo_space_find(space, name);
        if (!def || def->dist.type == HPO_DIST_CATEGORICAL)
            return hpo_error_set(err, HPO_E_INVALID, "sampler.x0",
                                 "sampler.x0 names '%.100s', which is not a declared float or "
                                 "int param", name);
        if (!json_is_number(x) || !isfinite(json_number_value(x)))
            return hpo_error_set(err, HPO_E_INVALID, "sampler.x0",
                                 "sampler.x0.%.100s must be a number", name);
        o->x0[def - space->items] = json_number_value(x);
    }
    return HPO_OK;
}

static void write_options(const hpo_cmaes_options *o, const hpo_space *space, json_t *out)
{
    json_t *x0 = json_null();
    if (o->x0) {
        x0 = json_object();
        for (size_t i = 0; i < space->n; i++)
            if (!isnan(o->x0[i]))
                json_object_set_new(x0, space->items[i].name,
                                    space->items[i].dist.type == HPO_DIST_INT &&
                                            o->x0[i] == nearbyint(o->x0[i])
                                        ? json_integer((json_int_t)o->x0[i])
                                        : json_real(o->x0[i]));
    }
    json_object_set_new(out, "x0", x0);
    json_object_set_new(out, "sigma0", o->sigma0 > 0 ? json_real(o->sigma0) : json_null());
    json_object_set_new(out, "n_startup_trials", json_integer(o->n_startup_trials));
    json_object_set_new(out, "popsize",
                        o->popsize ? json_integer((json_int_t)o->popsize) : json_null());
    json_object_set_new(out, "restart_strategy", o->ipop ? json_string("ipop") : json_null());
    json_object_set_new(out, "inc_popsize", json_integer(o->inc_popsize));
    json_object_set_new(out, "consider_pruned_trials", json_boolean(o->consider_pruned_trials));
}

static hpo_rc read_option(const char *key, json_t *v, const hpo_space *space,
                          hpo_cmaes_options *o, hpo_error *err)
{
    long long n;
    hpo_rc rc;
    if (strcmp(key, "x0") == 0)
        return read_x0(v, space, o, err);
    if (strcmp(key, "sigma0") == 0) {
        if (json_is_null(v))
            return HPO_OK;
        if (!json_is_number(v) || !(json_number_value(v) > 0) || !isfinite(json_number_value(v)))
            return invalid(err, key, "null or a number > 0");
        o->sigma0 = json_number_value(v);
        return HPO_OK;
    }
    if (strcmp(key, "n_startup_trials") == 0) {
        if ((rc = read_int(v, key, 0, 1000000000, &n, err)))
            return rc;
        o->n_startup_trials = (int)n;
        return HPO_OK;
    }
    if (strcmp(key, "popsize") == 0) {
        if (json_is_null(v))
            return HPO_OK;
        if ((rc = read_int(v, key, 4, HPO_CMAES_POPSIZE_MAX, &n, err)))
            return rc;
        o->popsize = (size_t)n;
        return HPO_OK;
    }
    if (strcmp(key, "restart_strategy") == 0) {
        if (!json_is_null(v) && !(json_is_string(v) && strcmp(json_string_value(v), "ipop") == 0))
            return invalid(err, key, "null or \"ipop\"");
        o->ipop = !json_is_null(v);
        return HPO_OK;
    }
    if (strcmp(key, "inc_popsize") == 0) {
        if ((rc = read_int(v, key, 1, HPO_CMAES_INC_POPSIZE_MAX, &n, err)))
            return rc;
        o->inc_popsize = (int)n;
        return HPO_OK;
    }
    if (strcmp(key, "consider_pruned_trials") == 0) {
        if (!json_is_boolean(v))
            return invalid(err, key, "true or false");
        o->consider_pruned_trials = json_is_true(v);
        return HPO_OK;
    }
    char field[HPO_ERROR_FIELD_MAX];
    snprintf(field, sizeof field, "sampler.%s", key);
    for (size_t i = 0; i < sizeof UNSUPPORTED / sizeof UNSUPPORTED[0]; i++)
        if (strcmp(key, UNSUPPORTED[i][0]) == 0)
            return hpo_error_set(err, HPO_E_INVALID, field,
                                 "sampler.%s (an option of Optuna's CmaEsSampler) is not "
                                 "supported: %s", key, UNSUPPORTED[i][1]);
    return hpo_error_set(err, HPO_E_INVALID, field, "unknown option '%s' for sampler 'cmaes'", key);
}

hpo_rc hpo_sampling_cmaes_configure(json_t *j, const hpo_study_config *study, hpo_sampler *s,
                                    json_t *out, hpo_error *err)
{
    hpo_cmaes_options *o = &s->cmaes;
    hpo_cmaes_options_default(o);
    if (study->n_directions != 1)
        return hpo_error_set(err, HPO_E_INVALID, "sampler.type",
                             "the cmaes sampler takes one objective; use random for several");
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        if (strcmp(key, "type") == 0 || strcmp(key, "seed") == 0)
            continue;
        hpo_rc rc = read_option(key, v, &study->space, o, err);
        if (rc)
            return rc;
    }
    hpo_rc rc = hpo_cmaes_options_validate(o, &study->space, err);
    if (rc)
        return rc;
    if (!(s->cmaes_run = calloc(1, sizeof *s->cmaes_run)))
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    write_options(o, &study->space, out);
    return HPO_OK;
}
