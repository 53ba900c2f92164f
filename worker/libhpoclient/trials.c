/* trials: ask (with an idempotency key kept across retries), enqueue, define-by-run suggest,
 * report, heartbeat, finish, and reading trials (every page) and the best one. */
#include "client_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 1000

void hpo_client_trial_free(hpo_client_trial *t)
{
    if (!t)
        return;
    free(t->study);
    json_decref(t->params);
    json_decref(t->json);
    free(t->resume);
    free(t);
}

/* An integer member >= min, or false. */
static bool int_member(const json_t *o, const char *name, int64_t min, int64_t *ret)
{
    const json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || json_integer_value(v) < min)
        return false;
    *ret = (int64_t)json_integer_value(v);
    return true;
}

/* The answer's "decides" (hpo_decides_to_json's shape); every step when absent or unknown. */
static hpo_decides decides_of(const json_t *j)
{
    hpo_decides d = HPO_DECIDES_ANY;
    if (hpo_decides_kind_parse(json_string_value(json_object_get(j, "kind")), &d.kind))
        return HPO_DECIDES_ANY;
    if (d.kind == HPO_DECIDES_GRID &&
        !(int_member(j, "start", 0, &d.start) && int_member(j, "interval", 1, &d.interval)))
        return HPO_DECIDES_ANY;
    if (d.kind == HPO_DECIDES_POWERS &&
        !(int_member(j, "start", 1, &d.start) && int_member(j, "factor", 2, &d.interval) &&
          (!json_object_get(j, "last") || int_member(j, "last", 0, &d.last))))
        return HPO_DECIDES_ANY;
    return hpo_decides_valid(&d) ? d : HPO_DECIDES_ANY;
}

hpo_rc hpoc_trial_of(json_t *j, const char *study, hpo_client_trial **ret, hpo_error *err)
{
    json_t *num = json_object_get(j, "number");
    const char *state = json_string_value(json_object_get(j, "state"));
    json_t *params = json_object_get(j, "params");
    hpo_trial_state st;
    if (!json_is_integer(num) || !state || hpo_trial_state_parse(state, &st) ||
        (params && !json_is_object(params))) {
        json_decref(j);
        return hpo_error_set(err, HPO_E_INTERNAL, NULL,
                             "the answer is not a trial (number, state, params)");
    }
    hpo_client_trial *t = calloc(1, sizeof *t);
    const char *s = json_string_value(json_object_get(j, "study"));
    if (!t || !(t->study = hpo_strdup(s ? s : study))) {
        free(t);
        json_decref(j);
        return hpoc_nomem(err);
    }
    t->number = json_integer_value(num);
    t->state = st;
    t->params = params ? json_incref(params) : json_object();
    t->json = j;
    json_t *res = json_object_get(j, "resource");
    json_t *from = json_object_get(res, "from"), *to = json_object_get(res, "to");
    if (json_is_integer(from) && json_is_integer(to)) {
        t->has_resource = true;
        t->resource_from = json_integer_value(from);
        t->resource_to = json_integer_value(to);
    }
    t->decides = decides_of(json_object_get(j, "decides"));
    const char *resume = json_string_value(json_object_get(j, "resume"));
    if ((resume && !(t->resume = strdup(resume))) || !t->params) {
        hpo_client_trial_free(t);
        return hpoc_nomem(err);
    }
    *ret = t;
    return HPO_OK;
}

/* Sets key to a deep copy of a borrowed value (the caller's may be shared with other threads). */
static int set_copy(json_t *obj, const char *key, const json_t *v)
{
    return json_object_set_new(obj, key, json_deep_copy(v));
}

hpo_rc hpo_client_ask(hpo_client *c, const char *study, const hpo_ask_options *opts,
                      hpo_client_trial **ret, int *ret_retry_after_s, hpo_error *err)
{
    hpo_error_clear(err);
    if (!c)
        return hpo_error_set(err, HPO_E_INVALID, NULL, "client is NULL");
    char key[33];
    const char *k = opts ? opts->idempotency_key : NULL;
    if (!k) {
        /* one key for this call: every retry of it names the same trial */
        hpoc_random_key(c, key, sizeof key);
        k = key;
    }
    hpo_buf p;
    hpo_rc rc = hpoc_path_study(&p, study, err);
    if (!rc && hpo_buf_appendf(&p, "/trials"))
        rc = hpoc_nomem(err);
    json_t *body = json_object();
    if (!rc && (!body || json_object_set_new(body, "idempotency_key", json_string(k)) ||
                (c->worker && json_object_set_new(body, "worker", json_string(c->worker))) ||
                (opts && opts->params && set_copy(body, "params", opts->params))))
        rc = hpoc_nomem(err);
    hpoc_req rq = {.method = "POST", .path = p.data, .body = body, .retry = HPOC_RETRY_ALL};
    hpoc_resp rs = {.retry_after_s = -1};
    hpo_buf_init(&rs.body, 0);
    if (!rc)
        rc = hpoc_perform(c, &rq, &rs, err);
    if (!rc && rs.status == 204) {
        int after = rs.retry_after_s > 0 ? rs.retry_after_s : 1;
        rc = hpo_error_set(err, HPO_E_NO_WORK, NULL, "no work now; ask again in %d s", after);
        if (ret_retry_after_s)
            *ret_retry_after_s = after;
    } else if (!rc && rs.status != 200 && rs.status != 201) {
        rc = hpoc_resp_error(&rs, err);
    } else if (!rc) {
        json_t *j = NULL;
        hpo_client_trial *t = NULL;
        rc = hpoc_resp_json(&rs, &j, err);
        if (!rc)
            rc = hpoc_trial_of(j, study, &t, err);
        if (!rc && ret)
            *ret = t;
        else
            hpo_client_trial_free(t);
    }
    hpoc_resp_free(&rs);
    hpo_buf_free(&p);
    json_decref(body);
    return rc;
}

hpo_rc hpo_client_enqueue(hpo_client *c, const char *study, const json_t *params,
                          int64_t *ret_number, hpo_error *err)
{
    hpo_error_clear(err);
    if (!json_is_object(params))
        return hpo_error_set(err, HPO_E_INVALID, "params", "params must be a JSON object");
    hpo_buf p;
    json_t *j = NULL, *body = json_object();
    hpo_rc rc = hpoc_path_study(&p, study, err);
    if (!rc && hpo_buf_appendf(&p, "/queue"))
        rc = hpoc_nomem(err);
    if (!rc && (!body || set_copy(body, "params", params)))
        rc = hpoc_nomem(err);
    /* each enqueue makes a trial: retried only when it surely did not reach the server */
    if (!rc)
        rc = hpoc_call(c, "POST", p.data, body, HPOC_RETRY_CONNECT, NULL, &j, err);
    json_t *num = json_object_get(j, "number");
    if (!rc && !json_is_integer(num))
        rc = hpo_error_set(err, HPO_E_INTERNAL, "number", "the answer has no trial number");
    if (!rc && ret_number)
        *ret_number = json_integer_value(num);
    json_decref(j);
    json_decref(body);
    hpo_buf_free(&p);
    return rc;
}

/* POST .../trials/{n}/{what} with body; *ret_json the answer. Takes the reference body. */
static hpo_rc trial_post(hpo_client *c, const char *study, int64_t number, const char *what,
                         json_t *body, json_t **ret_json, hpo_error *err)
{
    hpo_buf p;
    json_t *j = NULL;
    hpo_rc rc = hpoc_path_trial(&p, study, number, err);
    if (!rc && hpo_buf_appendf(&p, "/%s", what))
        rc = hpoc_nomem(err);
    if (!rc && !body)
        rc = hpoc_nomem(err);
    if (!rc)
        rc = hpoc_call(c, "POST", p.data, body, HPOC_RETRY_ALL, NULL, &j, err);
    if (!rc && !json_is_object(j))
        rc = hpo_error_set(err, HPO_E_INTERNAL, NULL, "%s: the answer is not a JSON object", what);
    if (!rc)
        *ret_json = j;
    else
        json_decref(j);
    json_decref(body);
    hpo_buf_free(&p);
    return rc;
}

/* suggest with a distribution (reference taken); *ret_value: the answer's value (new ref). */
static hpo_rc suggest(hpo_client *c, const char *study, int64_t number, const char *name,
                      json_t *dist, json_t **ret_value, hpo_error *err)
{
    if (!name) {
        json_decref(dist);
        return hpo_error_set(err, HPO_E_INVALID, "name", "name is required");
    }
    json_t *j = NULL;
    json_t *body = dist ? json_pack("{s:s,s:o}", "name", name, "distribution", dist) : NULL;
    hpo_rc rc = trial_post(c, study, number, "suggest", body, &j, err);
    json_t *v = json_object_get(j, "value");
    if (!rc && !v)
        rc = hpo_error_set(err, HPO_E_INTERNAL, "value", "the answer has no value");
    if (!rc)
        *ret_value = json_incref(v);
    json_decref(j);
    return rc;
}

hpo_rc hpo_client_suggest_float(hpo_client *c, const char *study, int64_t number,
                                const char *name, double low, double high, double step, bool log,
                                double *ret, hpo_error *err)
{
    hpo_error_clear(err);
    if (!isfinite(low) || !isfinite(high) || !isfinite(step) || step < 0)
        return hpo_error_set(err, HPO_E_INVALID, "distribution",
                             "low, high and step must be finite (step >= 0)");
    json_t *d = json_pack("{s:s,s:f,s:f,s:b}", "type", "float", "low", low, "high", high, "log",
                          log);
    if (d && step > 0 && json_object_set_new(d, "step", json_real(step))) {
        json_decref(d);
        d = NULL;
    }
    json_t *v = NULL;
    hpo_rc rc = suggest(c, study, number, name, d, &v, err);
    if (!rc && !json_is_number(v))
        rc = hpo_error_set(err, HPO_E_INTERNAL, "value", "the suggested value is not a number");
    if (!rc && ret)
        *ret = json_number_value(v);
    json_decref(v);
    return rc;
}

hpo_rc hpo_client_suggest_int(hpo_client *c, const char *study, int64_t number, const char *name,
                              int64_t low, int64_t high, int64_t step, bool log, int64_t *ret,
                              hpo_error *err)
{
    hpo_error_clear(err);
    json_t *d = json_pack("{s:s,s:I,s:I,s:I,s:b}", "type", "int", "low", (json_int_t)low, "high",
                          (json_int_t)high, "step", (json_int_t)(step ? step : 1), "log", log);
    json_t *v = NULL;
    hpo_rc rc = suggest(c, study, number, name, d, &v, err);
    double x = json_number_value(v);
    if (!rc && !(json_is_integer(v) || (json_is_real(v) && x == floor(x) && fabs(x) < 9e15)))
        rc = hpo_error_set(err, HPO_E_INTERNAL, "value", "the suggested value is not an integer");
    if (!rc && ret)
        *ret = json_is_integer(v) ? (int64_t)json_integer_value(v) : (int64_t)x;
    json_decref(v);
    return rc;
}

hpo_rc hpo_client_suggest_categorical(hpo_client *c, const char *study, int64_t number,
                                      const char *name, const json_t *choices, json_t **ret,
                                      hpo_error *err)
{
    hpo_error_clear(err);
    if (!json_is_array(choices))
        return hpo_error_set(err, HPO_E_INVALID, "distribution.choices",
                             "choices must be a JSON array");
    json_t *d = json_pack("{s:s,s:o}", "type", "categorical", "choices", json_deep_copy(choices));
    json_t *v = NULL;
    hpo_rc rc = suggest(c, study, number, name, d, &v, err);
    if (!rc && ret)
        *ret = v;
    else
        json_decref(v);
    return rc;
}

hpo_rc hpo_client_report(hpo_client *c, const char *study, int64_t number, int64_t step,
                         double value, hpo_action *ret_action, hpo_error *err)
{
    return hpo_client_reports(c, study, number, &(hpo_report){step, value}, 1, ret_action, err);
}

hpo_rc hpo_client_reports(hpo_client *c, const char *study, int64_t number,
                          const hpo_report *reports, size_t n, hpo_action *ret_action,
                          hpo_error *err)
{
    hpo_error_clear(err);
    if (!reports || n == 0 || n > 10000)
        return hpo_error_set(err, HPO_E_INVALID, "reports", "give 1 to 10000 reports");
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        if (reports[i].step < 0 || !isfinite(reports[i].value)) {
            json_decref(list);
            return hpo_error_set(err, HPO_E_INVALID, isfinite(reports[i].value) ? "step" : "value",
                                 "step must be >= 0 and value finite");
        }
        json_array_append_new(list, json_pack("{s:I,s:f}", "step", (json_int_t)reports[i].step,
                                              "value", reports[i].value));
    }
    json_t *j = NULL;
    hpo_action a = HPO_ACTION_CONTINUE;
    hpo_rc rc = trial_post(c, study, number, "reports", json_pack("{s:o}", "reports", list), &j,
                           err);
    if (!rc)
        rc = hpoc_parse_action(j, &a, err);
    if (!rc && ret_action)
        *ret_action = a;
    json_decref(j);
    return rc;
}

hpo_rc hpo_client_heartbeat(hpo_client *c, const char *study, int64_t number,
                            hpo_action *ret_action, hpo_error *err)
{
    hpo_error_clear(err);
    if (!c)
        return hpo_error_set(err, HPO_E_INVALID, NULL, "client is NULL");
    json_t *j = NULL;
    hpo_action a = HPO_ACTION_CONTINUE;
    json_t *body = c->worker ? json_pack("{s:s}", "worker", c->worker) : json_object();
    hpo_rc rc = trial_post(c, study, number, "heartbeat", body, &j, err);
    if (!rc)
        rc = hpoc_parse_action(j, &a, err);
    if (!rc && ret_action)
        *ret_action = a;
    json_decref(j);
    return rc;
}

/* Sets key to the JSON list of n numbers; non-zero when out of memory. */
static int set_numbers(json_t *obj, const char *key, const double *v, size_t n)
{
    json_t *list = json_array();
    int bad = !list;
    for (size_t i = 0; !bad && i < n; i++)
        bad = json_array_append_new(list, json_real(v[i]));
    if (bad) {
        json_decref(list);
        return -1;
    }
    return json_object_set_new(obj, key, list);
}

static hpo_rc finish_body(const hpo_finish_args *args, json_t **ret, hpo_error *err)
{
    if (!args || !hpo_trial_state_finished(args->state))
        return hpo_error_set(err, HPO_E_INVALID, "state", "state must be complete, pruned or fail");
    if (args->state == HPO_TRIAL_COMPLETE && args->n_values == 0)
        return hpo_error_set(err, HPO_E_INVALID, "value", "a complete trial needs a value");
    if (args->n_values && !args->values)
        return hpo_error_set(err, HPO_E_INVALID, "values", "values is NULL");
    for (size_t i = 0; i < args->n_values; i++)
        if (!isfinite(args->values[i]))
            return hpo_error_set(err, HPO_E_INVALID, "values", "values must be finite");
    if (args->n_constraints && args->state == HPO_TRIAL_FAIL)
        return hpo_error_set(err, HPO_E_INVALID, "constraints",
                             "constraints go with state complete or pruned");
    if (args->n_constraints > HPO_CONSTRAINTS_MAX)
        return hpo_error_set(err, HPO_E_INVALID, "constraints", "at most %d constraints",
                             HPO_CONSTRAINTS_MAX);
    if (args->n_constraints && !args->constraints)
        return hpo_error_set(err, HPO_E_INVALID, "constraints", "constraints is NULL");
    for (size_t i = 0; i < args->n_constraints; i++)
        if (!isfinite(args->constraints[i]))
            return hpo_error_set(err, HPO_E_INVALID, "constraints", "constraints must be finite");
    json_t *b = json_pack("{s:s}", "state", hpo_trial_state_name(args->state));
    int bad = !b;
    if (!bad && args->n_values == 1) {
        bad = json_object_set_new(b, "value", json_real(args->values[0]));
    } else if (!bad && args->n_values > 1) {
        bad = set_numbers(b, "values", args->values, args->n_values);
    }
    if (!bad && args->n_constraints)
        bad = set_numbers(b, "constraints", args->constraints, args->n_constraints);
    if (!bad && args->preempted) {
        if (args->state != HPO_TRIAL_FAIL) {
            json_decref(b);
            return hpo_error_set(err, HPO_E_INVALID, "preempted", "preempted goes with state fail");
        }
        bad = json_object_set_new(b, "preempted", json_true());
    }
    if (!bad && args->reason && args->state == HPO_TRIAL_FAIL)
        bad = json_object_set_new(b, "reason", json_string(args->reason));
    if (bad) {
        json_decref(b);
        return hpoc_nomem(err);
    }
    *ret = b;
    return HPO_OK;
}

hpo_rc hpo_client_finish(hpo_client *c, const char *study, int64_t number,
                         const hpo_finish_args *args, hpo_error *err)
{
    hpo_error_clear(err);
    json_t *body = NULL, *j = NULL;
    hpo_rc rc = finish_body(args, &body, err);
    if (!rc)
        rc = trial_post(c, study, number, "finish", body, &j, err);
    json_decref(j);
    return rc;
}

hpo_rc hpo_client_trials(hpo_client *c, const char *study, const char *state, json_t **ret,
                         hpo_error *err)
{
    hpo_error_clear(err);
    json_t *all = json_array();
    if (!all)
        return hpoc_nomem(err);
    hpo_rc rc = HPO_OK;
    long long after = -1;
    do {
        hpo_buf p;
        json_t *j = NULL;
        rc = hpoc_path_study(&p, study, err);
        if (!rc && hpo_buf_appendf(&p, "/trials?limit=%d", PAGE))
            rc = hpoc_nomem(err);
        if (!rc && state && hpo_buf_appendf(&p, "&state="))
            rc = hpoc_nomem(err);
        if (!rc && state)
            rc = hpoc_path_escape(&p, state, err);
        if (!rc && after >= 0 && hpo_buf_appendf(&p, "&after=%lld", after))
            rc = hpoc_nomem(err);
        if (!rc)
            rc = hpoc_call(c, "GET", p.data, NULL, HPOC_RETRY_ALL, NULL, &j, err);
        hpo_buf_free(&p);
        json_t *page = json_object_get(j, "trials"), *next = json_object_get(j, "next_after");
        if (!rc && !json_is_array(page))
            rc = hpo_error_set(err, HPO_E_INTERNAL, "trials", "the answer has no trials list");
        if (!rc && json_array_extend(all, page))
            rc = hpoc_nomem(err);
        after = json_is_integer(next) && json_integer_value(next) > after
                    ? (long long)json_integer_value(next) : -1;
        json_decref(j);
    } while (!rc && after >= 0);
    if (!rc && ret)
        *ret = all;
    else
        json_decref(all);
    return rc;
}

hpo_rc hpo_client_trial_get(hpo_client *c, const char *study, int64_t number, json_t **ret,
                            hpo_error *err)
{
    hpo_error_clear(err);
    hpo_buf p;
    json_t *j = NULL;
    hpo_rc rc = hpoc_path_trial(&p, study, number, err);
    if (!rc)
        rc = hpoc_call(c, "GET", p.data, NULL, HPOC_RETRY_ALL, NULL, &j, err);
    hpo_buf_free(&p);
    if (!rc && ret)
        *ret = j;
    else
        json_decref(j);
    return rc;
}

hpo_rc hpo_client_best(hpo_client *c, const char *study, json_t **ret, hpo_error *err)
{
    hpo_error_clear(err);
    hpo_buf p;
    json_t *j = NULL;
    hpo_rc rc = hpoc_path_study(&p, study, err);
    if (!rc && hpo_buf_appendf(&p, "/best"))
        rc = hpoc_nomem(err);
    if (!rc)
        rc = hpoc_call(c, "GET", p.data, NULL, HPOC_RETRY_ALL, NULL, &j, err);
    hpo_buf_free(&p);
    if (!rc && ret)
        *ret = j;
    else
        json_decref(j);
    return rc;
}
