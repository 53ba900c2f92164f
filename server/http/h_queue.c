/* h_queue: enqueue a trial with given params (handed out first by ask). */
#include "hpo_codec.h"
#include "hpo_routes.h"

void hpo_h_queue(hpo_service *svc, const hpo_request *req, hpo_response *res)
{
    static const char *const allowed[] = {"params", NULL};
    hpo_error err = {0};
    hpo_trial t = {0};
    hpo_rc rc = req->body ? hpo_body_only(req, allowed, &err)
                          : hpo_error_set(&err, HPO_E_INVALID, "params", "params is required");
    json_t *params = json_object_get(req->body, "params");
    if (!rc && !params)
        rc = hpo_error_set(&err, HPO_E_INVALID, "params", "params is required");
    hpo_fixed_params fixed = {0};
    if (!rc)
        rc = hpo_json_to_fixed_params(params, "params", &fixed, &err);
    if (!rc)
        rc = hpo_service_enqueue(svc, req->study, &fixed, &t, &err);
    hpo_fixed_params_clear(&fixed);
    if (rc)
        hpo_response_error(res, &err);
    else
        hpo_response_json(res, 201, hpo_trial_to_json(&t, req->study, 1));
    hpo_trial_clear(&t);
}
