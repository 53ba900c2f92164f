/* hpo_codec: JSON <-> model codecs (distributions, spaces, param values, trials, study configs,
 * errors) over jansson. Decoders validate and name the field at fault. */
#include "hpo_codec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hpo_clock.h"

/* Doubles that convert to json_int_t exactly and back. */
#define CODEC_INT_LIMIT 9223372036854775807.0

/* "<field><suffix>"; an empty or NULL field gives the suffix without its leading dot. */
static const char *subfield(char *out, size_t size, const char *field, const char *suffix)
{
    if (!field || !*field)
        snprintf(out, size, "%s", suffix[0] == '.' ? suffix + 1 : suffix);
    else
        snprintf(out, size, "%s%s", field, suffix);
    return out;
}

/* Sets key to a new reference; false when v is NULL (OOM upstream) or the set fails. */
static bool put(json_t *obj, const char *key, json_t *v)
{
    return v && json_object_set_new(obj, key, v) == 0;
}

static bool push(json_t *arr, json_t *v)
{
    return v && json_array_append_new(arr, v) == 0;
}

/* An integer as a JSON integer when it fits, else as a real. */
static json_t *integral_to_json(double x)
{
    if (isfinite(x) && floor(x) == x && fabs(x) < CODEC_INT_LIMIT)
        return json_integer((json_int_t)x);
    return isfinite(x) ? json_real(x) : json_null();
}

/* A double as a JSON real, or null when it is not finite (JSON has no NaN or Infinity). */
static json_t *real_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

json_t *hpo_json_time(int64_t ms)
{
    char buf[40];
    if (ms <= 0)
        return json_null();
    hpo_clock_iso8601(ms, buf, sizeof buf);
    return json_string(buf);
}

hpo_rc hpo_json_number(const json_t *v, const char *field, double *ret, hpo_error *err)
{
    double x;
    if (json_is_integer(v))
        x = (double)json_integer_value(v);
    else if (json_is_real(v))
        x = json_real_value(v);
    else
        return hpo_error_set(err, HPO_E_INVALID, field, "must be a finite number");
    if (!isfinite(x))
        return hpo_error_set(err, HPO_E_INVALID, field, "must be a finite number");
    if (ret)
        *ret = x;
    return HPO_OK;
}

/* An optional boolean: absent or null gives false. */
static hpo_rc get_bool(const json_t *obj, const char *key, const char *field, bool *ret,
                       hpo_error *err)
{
    char f[HPO_ERROR_FIELD_MAX];
    char suffix[64];
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *ret = false;
        return HPO_OK;
    }
    if (!json_is_boolean(v)) {
        snprintf(suffix, sizeof suffix, ".%s", key);
        return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, suffix),
                             "must be a boolean");
    }
    *ret = json_is_true(v);
    return HPO_OK;
}

/* A number under key; `required` says whether absent/null is an error (else *ret is kept). */
static hpo_rc get_number(const json_t *obj, const char *key, const char *field, bool required,
                         bool integer, double *ret, hpo_error *err)
{
    char f[HPO_ERROR_FIELD_MAX];
    char suffix[64];
    snprintf(suffix, sizeof suffix, ".%s", key);
    subfield(f, sizeof f, field, suffix);
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return hpo_error_set(err, HPO_E_INVALID, f, "%s is required", key);
        return HPO_OK;
    }
    double x;
    hpo_rc rc = hpo_json_number(v, f, &x, err);
    if (rc != HPO_OK)
        return rc;
    if (integer && floor(x) != x)
        return hpo_error_set(err, HPO_E_INVALID, f, "must be an integer (got %.17g)", x);
    *ret = x;
    return HPO_OK;
}

hpo_rc hpo_json_to_choice(const json_t *j, const char *field, hpo_choice *ret, hpo_error *err)
{
    hpo_choice c = { .kind = HPO_CHOICE_NULL };
    switch (json_typeof(j)) {
    case JSON_NULL:
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        c.kind = HPO_CHOICE_BOOL;
        c.boolean = json_is_true(j);
        break;
    case JSON_INTEGER:
        c.kind = HPO_CHOICE_NUMBER;
        c.integer = true;
        c.number = (double)json_integer_value(j);
        break;
    case JSON_REAL:
        c.kind = HPO_CHOICE_NUMBER;
        c.number = json_real_value(j);
        if (!isfinite(c.number))
            return hpo_error_set(err, HPO_E_INVALID, field, "must be a finite number");
        break;
    case JSON_STRING:
        c.kind = HPO_CHOICE_STRING;
        c.str = strdup(json_string_value(j));
        if (!c.str)
            return hpo_error_set(err, HPO_E_NOMEM, field, "out of memory");
        break;
    default:
        return hpo_error_set(err, HPO_E_INVALID, field,
                             "a choice must be a string, a number, a boolean or null");
    }
    *ret = c;
    return HPO_OK;
}

json_t *hpo_choice_to_json(const hpo_choice *c)
{
    switch (c->kind) {
    case HPO_CHOICE_NULL: return json_null();
    case HPO_CHOICE_BOOL: return json_boolean(c->boolean);
    case HPO_CHOICE_NUMBER:
        if (c->integer)
            return integral_to_json(c->number);
        return real_or_null(c->number);
    case HPO_CHOICE_STRING: return json_string(c->str ? c->str : "");
    }
    return json_null();
}

static bool key_allowed(const char *key, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(key, *allowed) == 0)
            return true;
    return false;
}

static hpo_rc decode_choices(const json_t *j, const char *field, hpo_dist *d, hpo_error *err)
{
    char f[HPO_ERROR_FIELD_MAX];
    char suffix[40];
    const json_t *arr = json_object_get(j, "choices");
    subfield(f, sizeof f, field, ".choices");
    if (!arr || json_is_null(arr))
        return hpo_error_set(err, HPO_E_INVALID, f, "choices is required");
    if (!json_is_array(arr))
        return hpo_error_set(err, HPO_E_INVALID, f, "must be an array");
    size_t n = json_array_size(arr);
    if (n == 0)
        return hpo_error_set(err, HPO_E_INVALID, f, "choices must hold at least one choice");
    d->choices = calloc(n, sizeof *d->choices);
    if (!d->choices)
        return hpo_error_set(err, HPO_E_NOMEM, f, "out of memory");
    for (size_t i = 0; i < n; i++) {
        snprintf(suffix, sizeof suffix, ".choices[%zu]", i);
        hpo_rc rc = hpo_json_to_choice(json_array_get(arr, i), subfield(f, sizeof f, field, suffix),
                                       &d->choices[i], err);
        if (rc != HPO_OK)
            return rc;
        d->n_choices = i + 1;
    }
    return HPO_OK;
}

hpo_rc hpo_json_to_dist(const json_t *j, const char *field, hpo_dist *ret, hpo_error *err)
{
    static const char *const numeric_keys[] = { "type", "low", "high", "log", "step", NULL };
    static const char *const categorical_keys[] = { "type", "choices", NULL };
    char f[HPO_ERROR_FIELD_MAX];
    char suffix[HPO_ERROR_FIELD_MAX];

    if (!json_is_object(j))
        return hpo_error_set(err, HPO_E_INVALID, field, "a distribution must be an object");
    const json_t *type = json_object_get(j, "type");
    subfield(f, sizeof f, field, ".type");
    if (!type || json_is_null(type))
        return hpo_error_set(err, HPO_E_INVALID, f, "type is required");
    if (!json_is_string(type))
        return hpo_error_set(err, HPO_E_INVALID, f, "must be a string");

    hpo_dist d = { 0 };
    const char *tname = json_string_value(type);
    if (strcmp(tname, "float") == 0)
        d.type = HPO_DIST_FLOAT;
    else if (strcmp(tname, "int") == 0)
        d.type = HPO_DIST_INT;
    else if (strcmp(tname, "categorical") == 0)
        d.type = HPO_DIST_CATEGORICAL;
    else
        return hpo_error_set(err, HPO_E_INVALID, f,
                             "unknown type \"%.64s\": must be \"float\", \"int\" or \"categorical\"",
                             tname);

    const char *const *allowed = d.type == HPO_DIST_CATEGORICAL ? categorical_keys : numeric_keys;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)j, key, value) {
        if (!key_allowed(key, allowed)) {
            snprintf(suffix, sizeof suffix, ".%.100s", key);
            return hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, suffix),
                                 "unknown key");
        }
    }

    hpo_rc rc;
    bool is_int = d.type == HPO_DIST_INT;
    if (d.type == HPO_DIST_CATEGORICAL) {
        rc = decode_choices(j, field, &d, err);
    } else {
        d.step = is_int ? 1 : 0;
        rc = get_number(j, "low", field, true, is_int, &d.low, err);
        if (rc == HPO_OK)
            rc = get_number(j, "high", field, true, is_int, &d.high, err);
        if (rc == HPO_OK)
            rc = get_number(j, "step", field, false, is_int, &d.step, err);
        /* For float a step of 0 means continuous internally, but an explicit 0 is a mistake. */
        if (rc == HPO_OK && d.type == HPO_DIST_FLOAT && d.step <= 0 &&
            json_is_number(json_object_get(j, "step")))
            rc = hpo_error_set(err, HPO_E_INVALID, subfield(f, sizeof f, field, ".step"),
                               "step must be > 0 (or absent for a continuous range)");
        if (rc == HPO_OK)
            rc = get_bool(j, "log", field, &d.log, err);
    }
    if (rc == HPO_OK)
        rc = hpo_dist_validate(&d, field, err);
    if (rc != HPO_OK) {
        hpo_dist_clear(&d);
        return rc;
    }
    *ret = d;
    return HPO_OK;
}

json_t *hpo_dist_to_json(const hpo_dist *d)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    bool ok = true;
    switch (d->type) {
    case HPO_DIST_FLOAT:
        ok = put(o, "type", json_string("float")) && put(o, "low", json_real(d->low)) &&
             put(o, "high", json_real(d->high)) && put(o, "log", json_boolean(d->log));
        if (ok && d->step > 0)
            ok = put(o, "step", json_real(d->step));
        break;
    case HPO_DIST_INT:
        ok = put(o, "type", json_string("int")) && put(o, "low", integral_to_json(d->low)) &&
             put(o, "high", integral_to_json(d->high)) &&
             put(o, "step", integral_to_json(d->step > 0 ? d->step : 1)) &&
             put(o, "log", json_boolean(d->log));
        break;
    case HPO_DIST_CATEGORICAL: {
        json_t *arr = json_array();
        ok = put(o, "type", json_string("categorical")) && put(o, "choices", arr);
        for (size_t i = 0; ok && i < d->n_choices; i++)
            ok = push(arr, hpo_choice_to_json(&d->choices[i]));
        break;
    }
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

hpo_rc hpo_json_to_space(const json_t *j, const char *field, hpo_space *ret, hpo_error *err)
{
    char f[HPO_ERROR_FIELD_MAX];
    char suffix[HPO_ERROR_FIELD_MAX];
    if (!json_is_object(j))
        return hpo_error_set(err, HPO_E_INVALID, field, "a search space must be an object");
    hpo_space s = { 0 };
    const char *name;
    json_t *value;
    json_object_foreach((json_t *)j, name, value) {
        snprintf(suffix, sizeof suffix, ".%.120s", name);
        subfield(f, sizeof f, field, suffix);
        hpo_dist d;
        hpo_rc rc = hpo_param_name_validate(name, f, err);
        if (rc == HPO_OK)
            rc = hpo_json_to_dist(value, f, &d, err);
        if (rc == HPO_OK) {
            rc = hpo_space_add(&s, name, &d);
            hpo_dist_clear(&d);
            if (rc != HPO_OK)
                hpo_error_set(err, rc, f, "%s", rc == HPO_E_EXISTS ? "duplicate name" : "out of memory");
        }
        if (rc != HPO_OK) {
            hpo_space_clear(&s);
            return rc;
        }
    }
    *ret = s;
    return HPO_OK;
}

json_t *hpo_space_to_json(const hpo_space *s)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        if (!put(o, s->items[i].name, hpo_dist_to_json(&s->items[i].dist))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *hpo_param_value_to_json(const hpo_dist *d, double internal)
{
    switch (d->type) {
    case HPO_DIST_FLOAT:
        return real_or_null(internal);
    case HPO_DIST_INT:
        return integral_to_json(nearbyint(internal));
    case HPO_DIST_CATEGORICAL:
        if (!hpo_dist_contains(d, internal))
            return json_null();
        return hpo_choice_to_json(&d->choices[(size_t)internal]);
    }
    return json_null();
}

hpo_rc hpo_json_to_param_value(const hpo_dist *d, const json_t *v, const char *field,
                               double *ret_internal, hpo_error *err)
{
    hpo_choice c;
    hpo_rc rc = d->type == HPO_DIST_CATEGORICAL || json_is_number(v)
                    ? hpo_json_to_choice(v, field, &c, err)
                    : hpo_error_set(err, HPO_E_INVALID, field, "must be a finite number");
    if (rc != HPO_OK)
        return rc;
    rc = hpo_dist_value_to_internal(d, &c, field, ret_internal, err);
    free(c.str);
    return rc;
}

hpo_rc hpo_json_to_fixed_params(const json_t *j, const char *field, hpo_fixed_params *ret,
                                hpo_error *err)
{
    memset(ret, 0, sizeof *ret);
    if (!json_is_object(j))
        return hpo_error_set(err, HPO_E_INVALID, field, "%s must be an object", field);
    size_t n = json_object_size(j);
    ret->items = calloc(n ? n : 1, sizeof *ret->items);
    if (!ret->items)
        return hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
    const char *name;
    json_t *val;
    json_object_foreach((json_t *)j, name, val) {
        char sub[HPO_ERROR_FIELD_MAX];
        hpo_fixed_param *p = &ret->items[ret->n];
        snprintf(sub, sizeof sub, "%s.%s", field, name);
        hpo_rc rc = hpo_json_to_choice(val, sub, &p->value, err);
        if (!rc && !(p->name = strdup(name))) {
            free(p->value.str);
            rc = hpo_error_set(err, HPO_E_NOMEM, NULL, "out of memory");
        }
        if (rc) {
            hpo_fixed_params_clear(ret);
            return rc;
        }
        ret->n++;
    }
    return HPO_OK;
}

json_t *hpo_fixed_params_to_json(const hpo_fixed_param *const *items, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        if (json_object_set_new(o, items[i]->name, hpo_choice_to_json(&items[i]->value))) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static json_t *values_to_json(const double *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (!push(arr, real_or_null(v[i]))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static bool trial_params_to_json(json_t *o, const hpo_trial *t)
{
    json_t *params = json_object();
    json_t *dists = json_object();
    bool ok = put(o, "params", params) && put(o, "distributions", dists);
    if (!ok && dists && !json_object_get(o, "distributions"))
        json_decref(dists);
    for (size_t i = 0; ok && i < t->n_params; i++) {
        const hpo_param *p = &t->params[i];
        ok = put(params, p->name, hpo_param_value_to_json(&p->dist, p->value)) &&
             put(dists, p->name, hpo_dist_to_json(&p->dist));
    }
    return ok;
}

static bool trial_reports_to_json(json_t *o, const hpo_trial *t)
{
    json_t *arr = json_array();
    if (!put(o, "intermediate_values", arr))
        return false;
    for (size_t i = 0; i < t->n_reports; i++) {
        json_t *r = json_object();
        if (!push(arr, r))
            return false;
        if (!put(r, "step", json_integer((json_int_t)t->reports[i].step)) ||
            !put(r, "value", real_or_null(t->reports[i].value)))
            return false;
    }
    return true;
}

static json_t *trial_ref_to_json(hpo_trial_ref r)
{
    return r.set ? json_integer((json_int_t)r.number) : json_null();
}

json_t *hpo_decides_to_json(const hpo_decides *d)
{
    json_t *j = json_pack("{s:s}", "kind", hpo_decides_kind_name(d->kind));
    if (!j)
        return NULL;
    if (d->kind == HPO_DECIDES_GRID || d->kind == HPO_DECIDES_POWERS) {
        json_object_set_new(j, "start", json_integer((json_int_t)d->start));
        json_object_set_new(j, d->kind == HPO_DECIDES_GRID ? "interval" : "factor",
                            json_integer((json_int_t)d->interval));
    }
    if (d->kind == HPO_DECIDES_POWERS && d->last >= 0)
        json_object_set_new(j, "last", json_integer((json_int_t)d->last));
    return j;
}

json_t *hpo_trial_to_json(const hpo_trial *t, const char *study, size_t n_directions)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    bool ok = put(o, "number", json_integer((json_int_t)t->number)) &&
              put(o, "state", json_string(hpo_trial_state_name(t->state))) &&
              trial_params_to_json(o, t) && trial_reports_to_json(o, t) &&
              put(o, "worker", t->worker ? json_string(t->worker) : json_null()) &&
              put(o, "datetime_start", hpo_json_time(t->started_ms)) &&
              put(o, "datetime_complete", hpo_json_time(t->finished_ms)) &&
              put(o, "datetime_created", hpo_json_time(t->created_ms));
    if (ok && t->fail_reason)
        ok = put(o, "fail_reason", json_string(t->fail_reason));
    ok = ok && put(o, "retry_of", trial_ref_to_json(t->retry_of)) &&
         put(o, "retried_by", trial_ref_to_json(t->retried_by)) &&
         put(o, "preempted", json_boolean(t->preempted)) &&
         put(o, "generation",
             t->has_generation ? json_integer((json_int_t)t->generation) : json_null());
    if (ok && study)
        ok = put(o, "study", json_string(study));
    if (ok && t->n_values == 0) {
        ok = put(o, "value", json_null()) && put(o, "values", json_null());
    } else if (ok) {
        if (n_directions <= 1)
            ok = put(o, "value", real_or_null(t->values[0]));
        if (ok)
            ok = put(o, "values", values_to_json(t->values, t->n_values));
    }
    if (ok)
        ok = put(o, "constraints", t->n_constraints
                                       ? values_to_json(t->constraints, t->n_constraints)
                                       : json_null());
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- retry policies ---- */

static hpo_rc retry_on_from_json(const json_t *on, const char *field, unsigned *ret,
                                 hpo_error *err)
{
    char sub[HPO_ERROR_FIELD_MAX];
    subfield(sub, sizeof sub, field, ".on");
    if (!json_is_array(on) || json_array_size(on) == 0)
        return hpo_error_set(err, HPO_E_INVALID, sub, "%s must be a non-empty list of \"fail\", "
                             "\"heartbeat_lost\", \"preempted\"", sub);
    *ret = 0;
    for (size_t i = 0; i < json_array_size(on); i++) {
        hpo_retry_cause c;
        if (hpo_retry_cause_parse(json_string_value(json_array_get(on, i)), &c))
            return hpo_error_set(err, HPO_E_INVALID, sub, "%s[%zu] must be \"fail\", "
                                 "\"heartbeat_lost\" or \"preempted\"", sub, i);
        if (*ret & c)
            return hpo_error_set(err, HPO_E_INVALID, sub, "%s lists \"%s\" twice", sub,
                                 hpo_retry_cause_name(c));
        *ret |= c;
    }
    return HPO_OK;
}

hpo_rc hpo_json_to_retry(const json_t *j, const char *field, hpo_retry_policy *ret,
                         hpo_error *err)
{
    char sub[HPO_ERROR_FIELD_MAX];
    hpo_retry_policy p = HPO_RETRY_DEFAULT;
    if (!json_is_object(j))
        return hpo_error_set(err, HPO_E_INVALID, field, "%s must be an object", field);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v) {
        if (strcmp(key, "max_retries") == 0) {
            subfield(sub, sizeof sub, field, ".max_retries");
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > HPO_RETRY_MAX)
                return hpo_error_set(err, HPO_E_INVALID, sub, "%s must be an integer from 0 to "
                                     "%d", sub, HPO_RETRY_MAX);
            p.max_retries = (int)json_integer_value(v);
        } else if (strcmp(key, "on") == 0) {
            hpo_rc rc = retry_on_from_json(v, field, &p.on, err);
            if (rc)
                return rc;
        } else if (strcmp(key, "keep_intermediate") == 0) {
            subfield(sub, sizeof sub, field, ".keep_intermediate");
            if (!json_is_boolean(v))
                return hpo_error_set(err, HPO_E_INVALID, sub, "%s must be a boolean", sub);
            p.keep_intermediate = json_is_true(v);
        } else {
            subfield(sub, sizeof sub, field, ".");
            snprintf(sub + strlen(sub), sizeof sub - strlen(sub), "%s", key);
            return hpo_error_set(err, HPO_E_INVALID, sub, "unknown key '%s' in %s: expected "
                                 "max_retries, on, keep_intermediate", key, field);
        }
    }
    *ret = p;
    return HPO_OK;
}

json_t *hpo_retry_to_json(const hpo_retry_policy *p)
{
    json_t *on = json_array();
    json_t *o = json_object();
    bool ok = o && put(o, "on", on);
    if (!ok)
        json_decref(on);
    for (unsigned c = 1; ok && c <= HPO_RETRY_ALL; c <<= 1)
        if (p->on & c)
            ok = push(on, json_string(hpo_retry_cause_name((hpo_retry_cause)c)));
    ok = ok && put(o, "max_retries", json_integer(p->max_retries)) &&
         put(o, "keep_intermediate", json_boolean(p->keep_intermediate));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* JSON object text -> a new reference; absent text gives an empty object, bad text null. */
static json_t *parse_object_text(const char *text)
{
    if (!text)
        return json_object();
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_null();
}

json_t *hpo_study_config_to_json(const hpo_study_config *c)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_t *dirs = json_array();
    bool ok = put(o, "name", json_string(c->name ? c->name : "")) && put(o, "directions", dirs);
    for (size_t i = 0; ok && i < c->n_directions; i++)
        ok = push(dirs, json_string(hpo_direction_name(c->directions[i])));
    if (ok && c->n_directions == 1)
        ok = put(o, "direction", json_string(hpo_direction_name(c->directions[0])));
    ok = ok && put(o, "sampler", parse_object_text(c->sampler)) &&
         put(o, "pruner", parse_object_text(c->pruner)) &&
         put(o, "search_space", hpo_space_to_json(&c->space)) &&
         put(o, "max_trials", c->max_trials > 0 ? json_integer((json_int_t)c->max_trials)
                                                : json_null()) &&
         put(o, "heartbeat_grace", c->heartbeat_grace_ms > 0
                                       ? json_real((double)c->heartbeat_grace_ms / 1000.0)
                                       : json_null()) &&
         put(o, "retry", hpo_retry_to_json(&c->retry)) &&
         put(o, "user_attrs", parse_object_text(c->user_attrs)) &&
         put(o, "datetime_created", hpo_json_time(c->created_ms));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A JSON string of s; bytes that are not valid UTF-8 (a message cut mid-character) become '?'. */
static json_t *lenient_string(const char *s)
{
    json_t *v = json_string(s);
    if (v)
        return v;
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(copy);
    free(copy);
    return v;
}

json_t *hpo_error_to_json(const hpo_error *err)
{
    json_t *o = json_object();
    json_t *inner = json_object();
    if (!o || !inner) {
        json_decref(o);
        json_decref(inner);
        return NULL;
    }
    bool ok = put(o, "error", inner) && put(inner, "code", json_string(hpo_rc_name(err->code))) &&
              put(inner, "message", lenient_string(err->message));
    if (ok && err->field[0])
        ok = put(inner, "field", lenient_string(err->field));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *hpo_json_dump(const json_t *j)
{
    if (!j)
        return NULL;
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}
