/* h_finish: ends a running trial as complete (value/values), pruned or fail (reason, and
 * preempted when its worker was stopped). */
#include <stdlib.h>

#include "hpo_codec.h"
#include "hpo_routes.h"

#define MAX_VALUES HPO_FINISH_MAX_VALUES

hpo_rc hpo_h_finish_decode(const hpo_request *req, hpo_finish_request *fin, double *values,
                           hpo_error *err)
{
    static const char *const allowed[] = {"state", "value", "values", "reason", "preempted",
                                          NULL};
    const char *state = NULL;
    hpo_rc rc = req->body ? hpo_body_only(req, allowed, err)
                          : hpo_error_set(err, HPO_E_INVALID, "state", "state is required");
    if (!rc)
        rc = hpo_body_string(req, "state", true, 32, &state, err);
    if (!rc && (hpo_trial_state_parse(state, &fin->state) ||
                !hpo_trial_state_finished(fin->state)))
        rc = hpo_error_set(err, HPO_E_INVALID, "state", "state must be complete, pruned or fail");
    json_t *one = json_object_get(req->body, "value"), *many = json_object_get(req->body, "values");
    if (!rc && one && many)
        rc = hpo_error_set(err, HPO_E_INVALID, "values", "give value or values, not both");
    if (!rc && one && !json_is_null(one)) {
        rc = hpo_json_number(one, "value", &values[0], err);
        fin->n_values = 1;
    }
    if (!rc && many && !json_is_null(many)) {
        if (!json_is_array(many) || json_array_size(many) == 0 || json_array_size(many) > MAX_VALUES)
            rc = hpo_error_set(err, HPO_E_INVALID, "values",
                               "values must be a list of 1 to %d numbers", MAX_VALUES);
        for (size_t i = 0; !rc && i < json_array_size(many); i++) {
            char field[32];
            snprintf(field, sizeof field, "values[%zu]", i);
            rc = hpo_json_number(json_array_get(many, i), field, &values[i], err);
            fin->n_values = i + 1;
        }
    }
    if (!rc && fin->state == HPO_TRIAL_COMPLETE && fin->n_values == 0)
        rc = hpo_error_set(err, HPO_E_INVALID, "value", "a complete trial needs value or values");
    if (!rc)
        rc = hpo_body_string(req, "reason", false, 4096, &fin->reason, err);
    if (!rc && fin->reason && fin->state != HPO_TRIAL_FAIL)
        rc = hpo_error_set(err, HPO_E_INVALID, "reason", "reason goes with state fail");
    json_t *preempted = json_object_get(req->body, "preempted");
    if (!rc && preempted && !json_is_boolean(preempted))
        rc = hpo_error_set(err, HPO_E_INVALID, "preempted", "preempted must be a boolean");
    fin->preempted = json_is_true(preempted);
    if (!rc && fin->preempted && fin->state != HPO_TRIAL_FAIL)
        rc = hpo_error_set(err, HPO_E_INVALID, "preempted", "preempted goes with state fail");
    fin->values = values;
    return rc;
}

void hpo_h_finish(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_finish_request fin = {0};
    double values[MAX_VALUES];
    hpo_trial t = {0};
    hpo_rc rc = hpo_h_finish_decode(req, &fin, values, &err);
    if (!rc)
        rc = hpo_service_finish(svc, req->study, req->number, &fin, &t, &err);
    if (rc)
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 200, hpo_trial_to_json(&t, req->study,
                                                      t.n_values > 1 ? t.n_values : 1));
    hpo_trial_clear(&t);
}
