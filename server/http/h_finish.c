/* h_finish: ends a running trial as complete (value/values), pruned or fail (reason, and
 * preempted when its worker was stopped); complete and pruned may carry constraints. */
#include <stdlib.h>

#include "hpo_codec.h"
#include "hpo_routes.h"

#define MAX_VALUES HPO_FINISH_MAX_VALUES

/* A list of 1 to max finite numbers into buf (*ret_n of them); fields "name[i]". */
static hpo_rc decode_numbers(const json_t *list, const char *name, size_t max, double *buf,
                             size_t *ret_n, hpo_error *err)
{
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > max)
        return hpo_error_set(err, HPO_E_INVALID, name, "%s must be a list of 1 to %zu numbers",
                             name, max);
    for (size_t i = 0; i < json_array_size(list); i++) {
        char field[32];
        snprintf(field, sizeof field, "%s[%zu]", name, i);
        hpo_rc rc = hpo_json_number(json_array_get(list, i), field, &buf[i], err);
        if (rc)
            return rc;
    }
    *ret_n = json_array_size(list);
    return HPO_OK;
}

hpo_rc hpo_h_finish_decode(const hpo_request *req, hpo_finish_request *fin, double *values,
                           double *constraints, hpo_error *err)
{
    static const char *const allowed[] = {"state", "value", "values", "reason", "preempted",
                                          "constraints", NULL};
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
    if (!rc && many && !json_is_null(many))
        rc = decode_numbers(many, "values", MAX_VALUES, values, &fin->n_values, err);
    if (!rc && fin->state == HPO_TRIAL_COMPLETE && fin->n_values == 0)
        rc = hpo_error_set(err, HPO_E_INVALID, "value", "a complete trial needs value or values");
    json_t *cons = json_object_get(req->body, "constraints");
    if (!rc && cons && !json_is_null(cons))
        rc = decode_numbers(cons, "constraints", HPO_CONSTRAINTS_MAX, constraints,
                            &fin->n_constraints, err);
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
    fin->constraints = constraints;
    return rc;
}

void hpo_h_finish(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    hpo_error err = {0};
    hpo_finish_request fin = {0};
    double values[MAX_VALUES], constraints[HPO_CONSTRAINTS_MAX];
    hpo_trial t = {0};
    hpo_rc rc = hpo_h_finish_decode(req, &fin, values, constraints, &err);
    if (!rc)
        rc = hpo_service_finish(svc, req->study, req->number, &fin, &t, &err);
    if (rc)
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 200, hpo_trial_to_json(&t, req->study,
                                                      t.n_values > 1 ? t.n_values : 1));
    hpo_trial_clear(&t);
}
