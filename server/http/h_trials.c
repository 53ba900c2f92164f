/* h_trials: the trials collection of a study: ask (POST), list with filter and pages, get one. */
#include <string.h>

#include "hpo_codec.h"
#include "hpo_routes.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000

static json_t *trial_json(const hpo_trial *t, const char *study)
{
    return hpo_trial_to_json(t, study, t->n_values > 1 ? t->n_values : 1);
}

void hpo_h_ask(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    static const char *const allowed[] = {"worker", "idempotency_key", "params", NULL};
    hpo_error err = {0};
    hpo_ask_request ask = {0};
    hpo_trial t = {0};
    hpo_ask_info info = {0};
    bool replayed = false;
    hpo_rc rc = hpo_body_only(req, allowed, &err);
    if (!rc)
        rc = hpo_body_string(req, "worker", false, 256, &ask.worker, &err);
    if (!rc)
        rc = hpo_body_string(req, "idempotency_key", false, 128, &ask.idempotency_key, &err);
    json_t *params = json_object_get(req->body, "params");
    hpo_fixed_params fixed = {0};
    if (!rc && params && !json_is_null(params) &&
        !(rc = hpo_json_to_fixed_params(params, "params", &fixed, &err)))
        ask.params = &fixed;
    if (!rc)
        rc = hpo_service_ask(svc, req->study, &ask, &t, &replayed, &info, &err);
    hpo_fixed_params_clear(&fixed);
    if (rc) {
        hpo_response_error(res, &err);
    } else {
        json_t *j = trial_json(&t, req->study);
        const hpo_resource *resource = &info.resource;
        if (resource->set) {
            /* ASHA: train from `from` to `to`; a promoted trial resumes from the checkpoint its
             * run saved on pausing at `from`: "checkpoint-<from>", one name per rung, so a
             * promotion never picks up an older rung's checkpoint still in place */
            json_object_set_new(j, "resource", json_pack("{s:I,s:I}", "from",
                                                         (json_int_t)resource->from, "to",
                                                         (json_int_t)resource->to));
            char resume[48];
            snprintf(resume, sizeof resume, "checkpoint-%lld", (long long)resource->from);
            json_object_set_new(j, "resume", resource->from > 0 ? json_string(resume)
                                                                : json_null());
        }
        /* where the pruner may judge: a worker sending reports in batches ends them there */
        json_object_set_new(j, "decides", hpo_decides_to_json(&info.decides));
        hpo_response_json(res, replayed ? 200 : 201, j);
    }
    hpo_trial_clear(&t);
}

void hpo_h_trial_list(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    int64_t limit = LIST_DEFAULT, after = -1;
    int state = -1;
    hpo_rc rc = hpo_query_int(req, "limit", 1, LIST_MAX, &limit, &err);
    if (!rc)
        rc = hpo_query_int(req, "after", -1, INT64_MAX - 1, &after, &err);
    const char *s = hpo_request_query(req, "state");
    hpo_trial_state st;
    if (!rc && s) {
        if (hpo_trial_state_parse(s, &st))
            rc = hpo_error_set(&err, HPO_E_INVALID, "state",
                               "state must be running, waiting, complete, pruned, fail or paused");
        else
            state = (int)st;
    }
    hpo_trial *list = NULL;
    size_t n = 0;
    bool more = false;
    if (!rc)
        rc = hpo_service_trials(svc, req->study, state, after, (size_t)limit, &list, &n, &more,
                                &err);
    if (rc) {
        hpo_response_error(res, &err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, trial_json(&list[i], req->study));
    json_t *next = more && n > 0 ? json_integer(list[n - 1].number) : json_null();
    hpo_trials_free(list, n);
    hpo_response_json(res, 200, json_pack("{s:o,s:o}", "trials", arr, "next_after", next));
}

void hpo_h_trial_get(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_trial t = {0};
    if (hpo_service_trial(svc, req->study, req->number, &t, &err))
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 200, trial_json(&t, req->study));
    hpo_trial_clear(&t);
}
